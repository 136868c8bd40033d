/* test_pipeline.c - the nightly job end to end: inbox, reports, alerts */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "helpers.h"

/*
 * A nightly sandbox in `dir` with an empty inbox: `config` as
 * DIR/callscope.json, and in `env` the environment for the binary
 * (database `db`, the source tree's rubrics and templates), then `extra`.
 */
static void nightly_env(struct cs_buf *env, const char *dir, const char *db,
                        const char *config, const char *extra)
{
    struct cs_buf p = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/callscope.json", dir);
    th_write(p.ptr, config, strlen(config));
    cs_buf_addf(env, "CALLSCOPE_DATABASE_URL='%s' CALLSCOPE_DATA_DIR=%s/var"
                " CALLSCOPE_REPORTS_DIR=%s/reports CALLSCOPE_CONFIG=%s "
                "CALLSCOPE_RUBRICS_DIR=%s/rubrics CALLSCOPE_TEMPLATES_DIR=%s"
                "/templates %s ", db, dir, dir, p.ptr, CS_SOURCE_DIR,
                CS_SOURCE_DIR, extra ? extra : "");
    cs_buf_release(&p);
}

/* nightly_env with the real-dev conversations in the inbox. */
static void nightly_sandbox(struct cs_buf *env, const char *dir,
                            const char *db, const char *config,
                            const char *extra)
{
    char *src = th_src("tests/data/real-dev/conversations.jsonl");
    char *data = th_read(src);
    struct cs_buf p = CS_BUF_INIT;

    assert_non_null(data);
    cs_buf_addf(&p, "%s/var/inbox/real-dev.jsonl", dir);
    th_write(p.ptr, data, strlen(data));
    nightly_env(env, dir, db, config, extra);
    cs_buf_release(&p);
    free(data);
    free(src);
}

static void test_pipeline__nightly_ingests_inbox_and_writes_reports(
    void **state)
{
    char *dir = th_tmpdir();
    char *db = th_new_database();
    char *data2, *out = NULL, *daily_out = NULL;
    struct cs_buf env = CS_BUF_INIT, p = CS_BUF_INIT, bad = CS_BUF_INIT;
    json_t *report, *direct;
    json_error_t jerr;

    (void)state;
    cs_buf_addf(&bad, "%s/var/inbox/broken.jsonl", dir);
    th_write(bad.ptr, "{\"id\": 1}\n", 10);
    cs_buf_addf(&p, "{\"sentiment_lexicon\": \"%s/config/"
                "sentiment-lexicon.txt\"}", CS_SOURCE_DIR);
    nightly_sandbox(&env, dir, db, p.ptr, NULL);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/var/inbox/real-dev.jsonl", dir);
    /* One line was bad: the job finishes, and says so with exit 4. */
    cs_buf_reset(&bad);
    cs_buf_addf(&bad, "nightly --date 2026-10-15 --done %s/done", dir);
    assert_int_equal(th_run(env.ptr, bad.ptr, &out, NULL), 4);
    assert_non_null(strstr(out, "ingested 1040 conversations"));
    assert_non_null(strstr(out, "1 rejected"));
    /* The starter rubrics scored every conversation. */
    assert_non_null(strstr(out, "scored 1040 conversations"));
    free(out);
    assert_false(cs_fs_exists(p.ptr)); /* moved out of the inbox */
    cs_buf_reset(&bad);
    cs_buf_addf(&bad, "%s/done/real-dev.jsonl", dir);
    assert_true(cs_fs_exists(bad.ptr));

    /* The daily report carries exactly what `callscope kpis` says. */
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/daily/2026-10-15/kpis.json", dir);
    report = json_load_file(p.ptr, 0, &jerr);
    assert_non_null(report);
    assert_int_equal(th_run(env.ptr, "kpis --format json --from 2026-10-15 "
                            "--to 2026-10-16", &daily_out, NULL), 0);
    direct = json_loads(daily_out, 0, &jerr);
    assert_non_null(direct);
    {
        const char *name;
        json_t *t;

        assert_true(json_object_size(json_object_get(direct, "tenants")) > 0);
        json_object_foreach(json_object_get(direct, "tenants"), name, t) {
            json_t *r = json_object_get(json_object_get(report, "tenants"),
                                        name);

            assert_non_null(r);
            assert_true(json_equal(json_object_get(t, "conversations"),
                                   json_object_get(r, "conversations")));
            assert_true(json_equal(json_object_get(t, "net_savings"),
                                   json_object_get(r, "net_savings")));
            assert_true(json_equal(json_object_get(t, "alerts"),
                                   json_object_get(r, "alerts")));
            assert_non_null(json_object_get(r, "same_weekday_last_week"));
        }
    }
    /* The daily CSV carries each KPI once; the same weekday of last week
     * is a column holding what `kpis` says of that day. */
    {
        char *csv, *week_out = NULL;
        json_t *week;
        const char *name;
        json_t *t;

        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/reports/daily/2026-10-15/kpis.csv", dir);
        csv = th_read(p.ptr);
        assert_non_null(csv);
        assert_null(strstr(csv, ",same_weekday_last_week."));
        assert_null(strstr(csv, ",previous."));
        assert_int_equal(th_run(env.ptr, "kpis --format json --no-compare "
                                "--from 2026-10-08 --to 2026-10-09",
                                &week_out, NULL), 0);
        week = json_loads(week_out, 0, &jerr);
        assert_non_null(week);
        json_object_foreach(json_object_get(direct, "tenants"), name, t) {
            json_t *w = json_object_get(json_object_get(week, "tenants"),
                                        name);
            struct cs_buf row = CS_BUF_INIT;
            const char *at;
            int commas = 0;

            cs_buf_addf(&row, "\n%s,,conversations,Conversations,count,%lld,",
                        name, (long long)json_integer_value(
                                  json_object_get(t, "conversations")));
            at = strstr(csv, row.ptr);
            if (!at)
                fail_msg("no conversations row for %s", name);
            /* value, previous, change, then last week's value. */
            for (at += row.len; commas < 2; at++)
                commas += *at == ',';
            if (w)
                assert_int_equal(strtol(at, NULL, 10),
                                 json_integer_value(json_object_get(
                                     w, "conversations")));
            else
                assert_true(*at == ',');
            cs_buf_release(&row);
        }
        json_decref(week);
        free(week_out);
        free(csv);
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/reports/daily/2026-10-15/kpis.txt", dir);
        csv = th_read(p.ptr);
        assert_non_null(strstr(csv, "last week = 2026-10-08"));
        assert_non_null(strstr(csv, "  Answer rate "));
        free(csv);
    }
    /* The daily operations PDF of each tenant, valid for qpdf. */
    {
        const char *name;
        json_t *t;

        json_object_foreach(json_object_get(direct, "tenants"), name, t) {
            struct cs_buf cmd = CS_BUF_INIT;

            cs_buf_addf(&cmd, "qpdf --check %s/reports/daily/2026-10-15/"
                        "daily-%s.pdf >/dev/null", dir, name);
            assert_int_equal(system(cmd.ptr), 0);
            cs_buf_release(&cmd);
        }
    }
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/daily/2026-10-15/alerts.json", dir);
    assert_true(cs_fs_exists(p.ptr));
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/daily/2026-10-15/kpis.txt", dir);
    assert_true(cs_fs_exists(p.ptr));
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/period/2026-09-16_2026-10-16/kpis.csv",
                dir);
    assert_true(cs_fs_exists(p.ptr));

    /* A second run finds an empty inbox and rewrites the same report. */
    assert_int_equal(th_run(env.ptr, "nightly --date 2026-10-15", &out,
                            NULL), 0);
    free(out);
    /* A new file of an archived name keeps both: nothing is replaced. */
    cs_buf_reset(&bad);
    cs_buf_addf(&bad, "%s/var/inbox/broken.jsonl", dir);
    th_write(bad.ptr, "{\"id\": 2}\n", 10);
    cs_buf_reset(&bad);
    cs_buf_addf(&bad, "nightly --date 2026-10-15 --force --done %s/done",
                dir);
    assert_int_equal(th_run(env.ptr, bad.ptr, &out, NULL), 4);
    free(out);
    cs_buf_reset(&bad);
    cs_buf_addf(&bad, "%s/done/broken.jsonl", dir);
    data2 = th_read(bad.ptr);
    assert_string_equal(data2, "{\"id\": 1}\n");
    free(data2);
    cs_buf_reset(&bad);
    cs_buf_addf(&bad, "%s/done/broken-2.jsonl", dir);
    data2 = th_read(bad.ptr);
    assert_string_equal(data2, "{\"id\": 2}\n");
    free(data2);
    json_decref(report);
    json_decref(direct);
    free(daily_out);
    free(db);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&env);
    cs_buf_release(&p);
    cs_buf_release(&bad);
}

/* Results stored so far (0 before the schema exists). */
static long results_so_far(const char *db)
{
    if (th_sql_long(db, "SELECT count(*) FROM pg_class WHERE relname = "
                        "'results'") < 1)
        return 0;
    return th_sql_long(db, "SELECT count(*) FROM results");
}

/*
 * SIGTERM while the nightly job scores (a slow LLM judge): the job stops
 * in that stage, says so and what it did not do, writes no report of the
 * day, and exits 6; the inbox file it had ingested is in the done folder.
 */
static void test_pipeline__nightly_stops_on_sigterm(void **state)
{
    char *dir = th_tmpdir();
    char *db = th_new_database();
    const char *args[] = {"--latency-ms", "300", NULL};
    struct cs_buf env = CS_BUF_INIT, p = CS_BUF_INIT;
    struct th_double dbl;
    struct th_bg bg;
    struct timespec ts = {0, 200 * 1000 * 1000};
    char *out, *err;
    int i;

    (void)state;
    th_double_start(&dbl, dir, args);
    cs_buf_addf(&p, "CALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1",
                dbl.port);
    nightly_sandbox(&env, dir, db, "{\"llm\": {\"model\": \"judge-1\", "
                    "\"concurrency\": 4}}", p.ptr);
    th_bg_start(&bg, env.ptr, "nightly --date 2026-10-15", dir, "nightly");
    /* Once ingested, it is scoring. */
    for (i = 0; i < 300; i++) {
        nanosleep(&ts, NULL);
        if (results_so_far(db) > 0)
            break;
    }
    assert_true(i < 300);
    nanosleep(&ts, NULL);
    nanosleep(&ts, NULL);
    th_expect_exit(th_bg_end(&bg, SIGTERM, &out, &err), 6, out, err);
    assert_non_null(strstr(out, "ingested 1040 conversations"));
    assert_non_null(strstr(out, "score stopped after "));
    assert_non_null(strstr(out, "nightly stopped in stage 'score' "
                                "(interrupted by SIGTERM): the rest of the "
                                "scoring, the day's KPIs"));
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/daily/2026-10-15", dir);
    assert_false(cs_fs_exists(p.ptr));
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/var/inbox/real-dev.jsonl", dir);
    assert_false(cs_fs_exists(p.ptr));
    json_decref(th_double_stop(&dbl));
    free(out);
    free(err);
    free(db);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&env);
    cs_buf_release(&p);
}

/*
 * A config mistake stops the nightly job before any work: exit 3 naming
 * the file, line and key, the inbox untouched, nothing stored. Each
 * mistake the checks catch at load: an unknown key (with a suggestion),
 * a time zone that does not exist, an LLM URL that is not http(s).
 */
static void test_pipeline__nightly_bad_config_does_no_work(void **state)
{
    static const struct {
        const char *config;
        const char *says;
        const char *extra;      /* more environment */
    } cases[] = {
        {"{\"tenants\": {\"default\": {\n  \"human_cost_per_conversaton\""
         ": 4}}}",
         "callscope.json:2: 'tenants.default.human_cost_per_conversaton': "
         "unknown key; did you mean 'tenants.default."
         "human_cost_per_conversation'?", NULL},
        {"{\"llm\": {\"modle\": \"gpt-4o\"}}",
         "'llm.modle': unknown key; did you mean 'llm.model'?", NULL},
        {"{\n\"tenants\": {\n\"acme-dental\": {\n\"timezone\": "
         "\"America/New_Yrok\"}}}",
         "callscope.json:4: 'tenants.acme-dental.timezone': unknown time "
         "zone 'America/New_Yrok'", NULL},
        {"{\"llm\": {\"base_url\": \"ftp://127.0.0.1/v1\"}}",
         "'llm.base_url (CALLSCOPE_LLM_BASE_URL)': expected an http:// or "
         "https:// URL", NULL},
        {"{\"alerts\": {\"answer_rte\": {\"direction\": \"below\", "
         "\"warning\": 0.9}}}",
         "'alerts.answer_rte': no such KPI; did you mean "
         "'alerts.answer_rate'?", NULL},
        /* what the PDFs and mails need, before the ingest */
        {"{\"report\": {\"fonts\": {\"bold\": \"/nonexistent/b.ttf\"}}}",
         "'report.fonts.bold': '/nonexistent/b.ttf' does not exist", NULL},
        {"{}", "report.tmpl", "CALLSCOPE_TEMPLATES_DIR=/nonexistent"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *dir = th_tmpdir();
        char *db = th_new_database();
        struct cs_buf env = CS_BUF_INIT, p = CS_BUF_INIT;
        char *out = NULL, *err = NULL;

        nightly_sandbox(&env, dir, db, cases[i].config, cases[i].extra);
        assert_int_equal(th_run(env.ptr, "nightly --date 2026-10-15", &out,
                                &err), 3);
        if (!strstr(err, cases[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, err,
                     cases[i].says);
        /* Before any work: the inbox file is still there, not archived,
         * and no conversation was stored. */
        cs_buf_addf(&p, "%s/var/inbox/real-dev.jsonl", dir);
        assert_true(cs_fs_exists(p.ptr));
        assert_true(th_sql_long(db, "SELECT count(*) FROM "
                                    "information_schema.tables WHERE "
                                    "table_name = 'conversations'") <= 0 ||
                    th_sql_long(db, "SELECT count(*) FROM conversations") ==
                        0);
        assert_string_equal(out, "");
        free(out);
        free(err);
        th_rmtree(dir);
        free(dir);
        free(db);
        cs_buf_release(&env);
        cs_buf_release(&p);
    }
}

static void expect_in(const char *text, const char *part)
{
    if (!text || !strstr(text, part))
        fail_msg("'%s' not in:\n%s", part, text ? text : "(null)");
}

/*
 * Writes lines [from, to) of tests/data/import/<rel> (to 0: to the end)
 * into the inbox of `dir` as `name`.
 */
static void put_fixture(const char *dir, const char *rel, const char *name,
                        int from, int to)
{
    struct cs_buf src = CS_BUF_INIT, dst = CS_BUF_INIT;
    const char *start, *end;
    char *data;
    int line = 0;

    cs_buf_addf(&src, "%s/tests/data/import/%s", CS_SOURCE_DIR, rel);
    data = th_read(src.ptr);
    assert_non_null(data);
    for (start = data; *start && line < from; start++)
        line += *start == '\n';
    for (end = start; *end && (to == 0 || line < to); end++)
        line += *end == '\n';
    cs_buf_addf(&dst, "%s/var/inbox/%s", dir, name);
    th_write(dst.ptr, start, (size_t)(end - start));
    free(data);
    cs_buf_release(&src);
    cs_buf_release(&dst);
}

/* Writes `text` into the inbox of `dir` as `name`. */
static void put_inbox(const char *dir, const char *name, const char *text)
{
    struct cs_buf p = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/var/inbox/%s", dir, name);
    th_write(p.ptr, text, strlen(text));
    cs_buf_release(&p);
}

/* th_run, failing the test unless it exits `want`. */
static void night(const char *env, const char *args, int want, char **out,
                  char **err)
{
    int rc = th_run(env, args, out, err);

    if (rc != want)
        fail_msg("callscope %s: exit %d, not %d\nstdout: %s\nstderr: %s",
                 args, rc, want, *out ? *out : "", *err ? *err : "");
}

/* Whether DIR/<rel> exists. */
static int exists_in(const char *dir, const char *rel)
{
    struct cs_buf p = CS_BUF_INIT;
    int yes;

    cs_buf_addf(&p, "%s/%s", dir, rel);
    yes = cs_fs_exists(p.ptr);
    cs_buf_release(&p);
    return yes;
}

/* The inbox of one night: conversation records, a Vapi end-of-call
 * report, Retell webhooks and a file that is no conversation. */
static void vendor_inbox(const char *dir)
{
    static const char records[] =
        "{\"id\": \"hand-1\", \"tenant\": \"acme\", \"started_at\": "
        "\"2026-10-05T10:00:00Z\", \"outcome\": \"answered\", \"turns\": "
        "[]}\n"
        "{\"id\": \"hand-2\", \"tenant\": \"acme\", \"started_at\": "
        "\"2026-10-05T11:00:00Z\", \"turns\": []}\n";

    put_inbox(dir, "records.jsonl", records);
    put_fixture(dir, "vapi/answered_contained/input", "vapi-report.json", 0,
                0);
    put_fixture(dir, "retell/webhook_sequence/input", "retell-hooks.jsonl",
                0, 0);
    put_inbox(dir, "notes.json", "{\"hello\": \"world\"}\n");
}

/* The stored conversations `where`, as one text (new): "tenant/id/agent/
 * outcome/content hash ...". */
static char *stored(const char *db, const char *where)
{
    struct cs_buf q = CS_BUF_INIT;
    char *text;

    cs_buf_addf(&q, "SELECT string_agg(tenant || '/' || id || '/' || "
                "coalesce(agent, '-') || '/' || outcome || '/' || "
                "content_hash, ' ' ORDER BY tenant, id) FROM conversations "
                "%s", where);
    text = th_sql(db, q.ptr);
    cs_buf_release(&q);
    return text;
}

/*
 * The nightly inbox takes vendor payloads as `callscope import` does: a
 * Vapi report and Retell webhooks are detected, converted and stored
 * beside conversation records, each file is summed up and archived, a
 * file that is neither is named with its reason, rejected and moved (exit
 * 4), LiveKit events of a room not finished are held across nights, and
 * the same files again store nothing twice.
 */
static void test_pipeline__nightly_imports_vendor_files(void **state)
{
    char *dir = th_tmpdir();
    char *db = th_new_database();
    struct cs_buf env = CS_BUF_INIT, a = CS_BUF_INIT, x = CS_BUF_INIT;
    char *out = NULL, *err = NULL, *v, *before, *after;

    (void)state;
    cs_buf_addf(&a, "{\"sentiment_lexicon\": \"%s/config/"
                "sentiment-lexicon.txt\"}", CS_SOURCE_DIR);
    nightly_env(&env, dir, db, a.ptr, NULL);
    vendor_inbox(dir);
    /* A LiveKit room's first events (its room_finished comes tomorrow),
     * and a file that is not named as input. */
    put_fixture(dir, "livekit/answered_contained/input", "livekit-1.jsonl",
                0, 6);
    put_inbox(dir, "README.txt", "calls of the night\n");
    cs_buf_reset(&a);
    cs_buf_addf(&a, "nightly --date 2026-10-05 --done %s/done", dir);
    night(env.ptr, a.ptr, 4, &out, &err);

    /* One line per file, in name order. */
    cs_buf_addf(&x, "inbox 'notes.json': neither conversation records nor "
                "Vapi, Retell, PolyAI or LiveKit payloads (line 1: field "
                "'id': missing); 0 stored, 1 rejected; moved to %s/done/"
                "notes.json\n", dir);
    expect_in(out, x.ptr);
    cs_buf_reset(&x);
    cs_buf_addf(&x, "callscope: warning: inbox file '%s/var/inbox/notes.json'"
                " holds neither conversation records nor Vapi, Retell, "
                "PolyAI or LiveKit payloads (line 1: field 'id': missing): "
                "nothing stored, moved to %s/done/notes.json", dir, dir);
    expect_in(err, x.ptr);
    cs_buf_reset(&x);
    cs_buf_addf(&x, "inbox 'records.jsonl': conversation records; 2 stored, "
                "0 rejected; moved to %s/done/records.jsonl\n", dir);
    expect_in(out, x.ptr);
    cs_buf_reset(&x);
    cs_buf_addf(&x, "inbox 'vapi-report.json': read as vapi: 1 payloads; 1 "
                "stored, 0 rejected; moved to %s/done/vapi-report.json\n",
                dir);
    expect_in(out, x.ptr);
    /* Ended, then analysed: the analysed record is the one kept. */
    expect_in(out, "inbox 'retell-hooks.jsonl': read as retell: 5 payloads, "
                   "2 skipped (call_started 1, transcript_updated 1), 1 kept "
                   "the analysed record already read; 2 stored, 0 rejected; "
                   "moved to ");
    expect_in(out, "inbox 'livekit-1.jsonl': read as livekit: 6 payloads, 2 "
                   "skipped (track_published 2), 0 room(s) completed, 1 "
                   "pending (4 events kept); 0 stored, 0 rejected; moved "
                   "to ");
    expect_in(out, "inbox 'README.txt': not read (not *.jsonl or *.json, or "
                   ".gz of either); left in the inbox\n");
    expect_in(err, "README.txt' is not read");
    expect_in(out, "ingested 5 conversations from 5 file(s): 15 lines, 1 "
                   "rejected (rejects: ");
    /* The rest of the night ran on them. */
    expect_in(out, "scored 4 conversations");
    expect_in(out, "report for 2026-10-05 in ");
    free(out);
    free(err);

    /* Stored: the records, the Vapi call, the Retell call (analysed). */
    before = stored(db, "");
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM conversations"),
                     4);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM conversations "
                                     "WHERE tenant = 'acme' AND id IN "
                                     "('hand-1', 'hand-2')"), 2);
    v = th_sql(db, "SELECT agent || ' ' || outcome || ' ' || n_turns FROM "
                   "conversations WHERE id = "
                   "'c7f1c3b2-1d2e-4a5b-9c8d-0a1b2c3d4e01'");
    assert_string_equal(v, "Acme Reception v3 answered 4");
    free(v);
    v = th_sql(db, "SELECT agent || ' ' || caller || ' ' || (metadata #>> "
                   "'{retell,analyzed}') FROM conversations WHERE id = "
                   "'call_a1b2c3d4e5f60718293a4b5c6d7e8f16'");
    assert_string_equal(v, "Acme Receptionist +14155550123 true");
    free(v);
    /* The LiveKit room waits, its events held. */
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM import_pending"),
                     4);
    /* Archived, all but the file not named as input. */
    assert_true(exists_in(dir, "done/records.jsonl"));
    assert_true(exists_in(dir, "done/vapi-report.json"));
    assert_true(exists_in(dir, "done/retell-hooks.jsonl"));
    assert_true(exists_in(dir, "done/livekit-1.jsonl"));
    assert_true(exists_in(dir, "done/notes.json"));
    assert_false(exists_in(dir, "var/inbox/notes.json"));
    assert_true(exists_in(dir, "var/inbox/README.txt"));
    /* The bad file's reason is in the rejects file. */
    cs_buf_reset(&x);
    cs_buf_addf(&x, "cat %s/var/rejects/nightly-*.jsonl", dir);
    assert_int_equal(th_sh(x.ptr, &v), 0);
    cs_buf_reset(&x);
    cs_buf_addf(&x, "{\"file\":\"%s/var/inbox/notes.json\",\"line\":1,"
                "\"reason\":\"field 'id': missing\"", dir);
    expect_in(v, x.ptr);
    free(v);

    /* The next night: the same files again, and the room's end. */
    vendor_inbox(dir);
    put_fixture(dir, "livekit/answered_contained/input", "livekit-2.jsonl",
                6, 0);
    night(env.ptr, a.ptr, 4, &out, &err);
    cs_buf_reset(&x);
    cs_buf_addf(&x, "moved to %s/done/vapi-report-2.json\n", dir);
    expect_in(out, x.ptr);
    expect_in(out, "inbox 'livekit-2.jsonl': read as livekit: 4 payloads, 1 "
                   "room(s) completed, 0 pending (0 events kept); 1 stored");
    /* The call_ended of the first night's call does not replace it. */
    expect_in(out, "2 kept the analysed record already read; 1 stored");
    free(out);
    free(err);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM conversations"),
                     5);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM conversations "
                                     "WHERE id = 'RM_Answered0001' AND "
                                     "outcome = 'answered'"), 1);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM import_pending"),
                     0);
    after = stored(db, "WHERE id <> 'RM_Answered0001'");
    assert_string_equal(before, after);
    /* Both nights' files kept, none over another. */
    assert_true(exists_in(dir, "done/vapi-report.json"));
    assert_true(exists_in(dir, "done/vapi-report-2.json"));
    assert_true(exists_in(dir, "done/retell-hooks-2.jsonl"));
    assert_true(exists_in(dir, "done/records-2.jsonl"));
    assert_true(exists_in(dir, "done/notes-2.json"));
    assert_true(exists_in(dir, "done/livekit-2.jsonl"));
    free(before);
    free(after);
    free(db);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&env);
    cs_buf_release(&a);
    cs_buf_release(&x);
}

/* The call_reason results the daily KPIs of 2026-09-01 count, every
 * tenant. */
static long call_reasons(const char *dir)
{
    struct cs_buf p = CS_BUF_INIT;
    json_t *k, *t;
    const char *name;
    long n = 0;

    cs_buf_addf(&p, "%s/reports/daily/2026-09-01/kpis.json", dir);
    k = json_load_file(p.ptr, 0, NULL);
    assert_non_null(k);
    json_object_foreach(json_object_get(k, "tenants"), name, t) {
        json_t *m = json_object_get(json_object_get(t, "metrics"),
                                    "call_reason");

        n += (long)json_integer_value(json_object_get(m, "applicable"));
    }
    json_decref(k);
    cs_buf_release(&p);
    return n;
}

/*
 * The nightly job through the Batch API: night 1 (`--batch`) submits the
 * LLM requests and draws its reports without them; night 2 (score.batch
 * in the config) collects the batch, stores its results before drawing
 * the reports, and asks nothing again.
 */
static void test_pipeline__nightly_batch_submits_then_collects(
    void **state)
{
    char *dir = th_tmpdir();
    char *db = th_new_database();
    const char *args[] = {"--latency-ms", "5", NULL};
    struct cs_buf env = CS_BUF_INIT, p = CS_BUF_INIT, c = CS_BUF_INIT;
    struct th_double dbl;
    char *out = NULL, *err = NULL, *src = th_src("");
    long n, judged;
    json_t *stats;

    (void)state;
    th_double_start(&dbl, dir, args);
    cs_buf_addf(&p, "CALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1",
                dbl.port);
    cs_buf_addf(&c, "mkdir -p %s/var/inbox && head -n 12 %s/tests/data/"
                "real-dev/conversations.jsonl > %s/var/inbox/day.jsonl",
                dir, src, dir);
    assert_int_equal(th_sh(c.ptr, NULL), 0);
    nightly_env(&env, dir, db, "{\"llm\": {\"model\": \"judge-1\"}}",
                p.ptr);
    night(env.ptr, "nightly --batch --date 2026-09-01", 0, &out, &err);
    expect_in(out, "LLM batches: 0 collected (0 answers used), 0 still "
                   "open, 1 submitted (");
    free(out);
    free(err);
    assert_int_equal(call_reasons(dir), 0);
    n = th_sql_long(db, "SELECT count(DISTINCT custom_id) FROM "
                        "llm_batch_requests");
    assert_true(n > 0);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM results WHERE "
                                     "evaluator = 'llm:judge-1' AND value "
                                     "<> '\"not_applicable\"'"), 0);
    /* night 2: the batch is collected, its results stored */
    cs_buf_reset(&c);
    cs_buf_addf(&c, "%s/callscope.json", dir);
    {
        static const char cfg2[] = "{\"llm\": {\"model\": \"judge-1\"}, "
                                   "\"score\": {\"batch\": true}}";

        th_write(c.ptr, cfg2, strlen(cfg2));
    }
    night(env.ptr, "nightly --date 2026-09-01 --force", 0, &out, &err);
    expect_in(out, "LLM batches: 1 collected (");
    expect_in(out, "0 still open, 0 submitted (0 requests); 0 "
                   "conversations waiting");
    free(out);
    free(err);
    judged = th_sql_long(db, "SELECT count(DISTINCT conversation_id) FROM "
                             "results WHERE evaluator = 'llm:judge-1' AND "
                             "value <> '\"not_applicable\"' AND current");
    assert_true(judged > 0);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM results WHERE "
                                     "value = '\"error\"'"), 0);
    /* each (conversation, metric) judged once: one current result, and
     * the double answered each request once, in the one batch */
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM (SELECT 1 FROM "
                                     "results WHERE current GROUP BY "
                                     "tenant, conversation_id, metric "
                                     "HAVING count(*) > 1) d"), 0);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM results WHERE "
                                     "evaluator = 'llm:judge-1' AND NOT "
                                     "current AND value <> "
                                     "'\"not_applicable\"'"), 0);
    stats = th_double_stop(&dbl);
    assert_int_equal((long)json_integer_value(json_object_get(
                         stats, "chat_requests")), 0);
    assert_int_equal((long)json_integer_value(json_object_get(
                         stats, "batches")), 1);
    assert_int_equal((long)json_integer_value(json_object_get(
                         stats, "batch_requests")), n);
    assert_int_equal((long)json_integer_value(json_object_get(
                         stats, "files_held")), 0);
    json_decref(stats);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM "
                                     "llm_batch_requests"), 0);
    /* the day's report was drawn with them */
    assert_true(call_reasons(dir) > 0);
    free(src);
    free(db);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&env);
    cs_buf_release(&p);
    cs_buf_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_pipeline__nightly_ingests_inbox_and_writes_reports),
        cmocka_unit_test(test_pipeline__nightly_stops_on_sigterm),
        cmocka_unit_test(test_pipeline__nightly_bad_config_does_no_work),
        cmocka_unit_test(test_pipeline__nightly_imports_vendor_files),
        cmocka_unit_test(test_pipeline__nightly_batch_submits_then_collects),
    };

    /* CS_TEST_FILTER=pattern runs only the matching tests (iterating). */
    if (getenv("CS_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CS_TEST_FILTER"));
    return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
