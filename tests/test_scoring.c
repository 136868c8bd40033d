/* test_scoring.c - score, rescore, results export, calibrate and metric
 * KPIs through the real binary on a real PostgreSQL */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/mem.h"
#include "helpers.h"

/* A fresh database with real-dev ingested; rubrics copied to DIR/rubrics. */
static int setup(void **state)
{
    struct cs_buf cmd = CS_BUF_INIT, cfg = CS_BUF_INIT;
    char *src = th_src("tests/data/real-dev");
    struct th_env *f;

    cs_buf_addf(&cfg, "{\"sentiment_lexicon\": \"%s/config/sentiment-"
                "lexicon.txt\"}", CS_SOURCE_DIR);
    f = th_env_new(cfg.ptr);
    cs_buf_addf(&cmd, "cp -r %s/rubrics %s/rubrics", src, f->dir);
    assert_int_equal(system(cmd.ptr), 0);
    cs_buf_addf(&f->env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics ", f->dir);
    cs_buf_reset(&cmd);
    cs_buf_addf(&cmd, "ingest %s/conversations.jsonl", src);
    assert_int_equal(th_run(f->env.ptr, cmd.ptr, NULL, NULL), 0);
    cs_buf_release(&cmd);
    cs_buf_release(&cfg);
    free(src);
    *state = f;
    return 0;
}

static long sql_long(struct th_env *f, const char *q)
{
    return th_sql_long(f->db, q);
}

/* o[a][b][c] (c may be NULL), borrowed or NULL. */
static json_t *json_at(json_t *o, const char *a, const char *b,
                       const char *c)
{
    o = json_object_get(json_object_get(o, a), b);
    return c ? json_object_get(o, c) : o;
}

/* Runs `args`, expects exit `rc`, returns stdout (new). */
#define run_ok th_run_ok

static void test_scoring__second_run_evaluates_nothing(void **state)
{
    struct th_env *f = *state;
    char *out;

    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, "scored 1040 conversations"));
    assert_non_null(strstr(out, "4160 evaluations written"));
    free(out);
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 0 evaluations written"));
    assert_non_null(strstr(out, "1040 up to date"));
    free(out);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results"), 4160);
    /* The export reads them in pages (of 2,000): every row, once. */
    out = run_ok(f, "results export --format jsonl", 0);
    {
        long lines = 0;
        char *prev = NULL;

        for (char *l = out, *nl; *l; l = nl + 1) {
            nl = strchr(l, '\n');
            assert_non_null(nl);
            *nl = '\0';
            if (prev)
                assert_true(strcmp(prev, l) != 0);
            prev = l;
            lines++;
        }
        assert_int_equal(lines, 4160);
    }
    free(out);
}

static void test_scoring__changed_rubric_rescores_only_it(void **state)
{
    struct th_env *f = *state;
    struct cs_buf p = CS_BUF_INIT;
    char *text, *out, *at;

    free(run_ok(f, "score", 0));
    /* A change of meaning: the definition. */
    cs_buf_addf(&p, "%s/rubrics/task_offered.json", f->dir);
    text = th_read(p.ptr);
    at = strstr(text, "proactively offered");
    assert_non_null(at);
    memcpy(at, "PROACTIVELY", 11);
    th_write(p.ptr, text, strlen(text));
    free(text);
    /* Replacing scored results is a deliberate choice: refused (exit 3,
     * nothing written) until the run says so. */
    {
        char *err = NULL;

        assert_int_equal(th_run(f->env.ptr, "score", NULL, &err), 3);
        assert_non_null(strstr(err, "the rubric set changes 1 metric "
                                    "already scored"));
        assert_non_null(strstr(err, "task_offered (1040)"));
        assert_non_null(strstr(err, "--rubrics-changed"));
        free(err);
        assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                     "NOT current"), 0);
    }
    out = run_ok(f, "score --rubrics-changed", 0);
    assert_non_null(strstr(out, "1040 evaluations written"));
    assert_non_null(strstr(out, "rubrics changed: task_offered (1040) "
                                "re-scored"));
    free(out);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE NOT "
                                 "current"), 1040);
    assert_int_equal(sql_long(f, "SELECT count(DISTINCT metric) FROM results"
                                 " WHERE NOT current"), 1);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE NOT "
                                 "current AND metric = 'task_offered'"),
                     1040);
    /* Whitespace and key order do not change the meaning. */
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/rubrics/call_reason.json", f->dir);
    text = th_read(p.ptr);
    {
        struct cs_buf t = CS_BUF_INIT;

        cs_buf_addf(&t, "\n\n%s\n   ", text);
        th_write(p.ptr, t.ptr, t.len);
        cs_buf_release(&t);
    }
    free(text);
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 0 evaluations written"));
    free(out);
    cs_buf_release(&p);
}

static void test_scoring__changed_conversation_is_rescored(void **state)
{
    struct th_env *f = *state;
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;
    const char *line = "{\"id\":\"sgd-dev-19_00030\",\"tenant\":"
        "\"lumen-entertainment\",\"started_at\":\"2026-09-01T13:10:24Z\","
        "\"turns\":[{\"role\":\"customer\",\"text\":\"I would like to "
        "reserve event tickets.\"},{\"role\":\"agent\",\"text\":\"Sorry, "
        "I couldn't make the reservation.\"}]}\n";
    char *v, *out;

    free(run_ok(f, "score", 0));
    cs_buf_addf(&p, "%s/one.jsonl", f->dir);
    th_write(p.ptr, line, strlen(line));
    cs_buf_addf(&a, "ingest %s", p.ptr);
    free(run_ok(f, a.ptr, 0));
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 4 evaluations written"));
    free(out);
    v = th_sql(f->db, "SELECT value::text FROM results WHERE current AND "
                      "conversation_id = 'sgd-dev-19_00030' AND metric = "
                      "'task_failure_reported'");
    assert_string_equal(v, "true");
    free(v);
    cs_buf_release(&p);
    cs_buf_release(&a);
}

static void test_scoring__rescore_keeps_history_and_export(void **state)
{
    struct th_env *f = *state;
    char *out, *line;
    json_t *o;
    long n = 0;

    free(run_ok(f, "score", 0));
    out = run_ok(f, "rescore --metric call_reason --tenant civic-assist", 0);
    assert_non_null(strstr(out, "196 conversations"));
    assert_non_null(strstr(out, "196 evaluations written"));
    free(out);
    out = run_ok(f, "results export --format jsonl --metric call_reason "
                    "--tenant civic-assist --history", 0);
    for (line = out; *line; line = strchr(line, '\n') + 1, n++) {
        o = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(o);
        /* The spec's result shape. */
        assert_non_null(json_object_get(o, "conversation_id"));
        assert_string_equal(json_string_value(json_object_get(o, "tenant")),
                            "civic-assist");
        assert_string_equal(json_string_value(json_object_get(o, "metric")),
                            "call_reason");
        assert_string_equal(json_string_value(json_object_get(o,
                                                              "evaluator")),
                            "rules");
        assert_non_null(json_object_get(o, "rubric_version"));
        assert_non_null(json_object_get(o, "evaluated_at"));
        assert_true(json_is_integer(json_object_get(o, "tokens_in")));
        assert_true(json_is_integer(json_object_get(o, "cached_tokens")));
        json_decref(o);
    }
    assert_int_equal(n, 2 * 196);
    free(out);
    out = run_ok(f, "results export --format csv --metric call_reason "
                    "--tenant civic-assist", 0);
    {
        static const char header[] =
            "conversation_id,tenant,metric,rubric_version,value,confidence,"
            "evidence,rationale,evaluator,tokens_in,tokens_out,"
            "cached_tokens,cost,evaluated_at,current\n";

        assert_int_equal(strncmp(out, header, strlen(header)), 0);
    }
    n = 0;
    for (char *c = out; *c; c++)
        n += *c == '\n';
    assert_int_equal(n, 196 + 1);
    free(out);
    assert_int_equal(th_run(f->env.ptr, "rescore", NULL, NULL), 2);
}

/* Figures from baseline_agreement_dev.txt: "== m: n=.. accuracy=A kappa=K |
 * gold-applicable n=.. accuracy=A2 kappa=K2". */
static void expect_at_least_baseline(const json_t *report)
{
    char *path = th_src("tests/data/real-dev/baseline_agreement_dev.txt");
    char *text = th_read(path);
    int checked = 0;

    assert_non_null(text);
    for (char *l = strstr(text, "== "); l; l = strstr(l + 3, "== ")) {
        char metric[64];
        double acc, kap, acc2, kap2;
        const json_t *m;

        if (sscanf(l, "== %63[^:]: n=%*d accuracy=%lf kappa=%lf | "
                      "gold-applicable n=%*d accuracy=%lf kappa=%lf",
                   metric, &acc, &kap, &acc2, &kap2) != 5)
            continue;
        m = json_object_get(report, metric);
        if (!m)
            fail_msg("calibrate reported nothing for %s", metric);
        if (json_real_value(json_object_get(m, "accuracy")) < acc - 5e-5 ||
            json_real_value(json_object_get(m, "kappa")) < kap - 5e-5)
            fail_msg("%s below the baseline", metric);
        m = json_object_get(m, "gold_applicable");
        if (json_real_value(json_object_get(m, "accuracy")) < acc2 - 5e-5 ||
            json_real_value(json_object_get(m, "kappa")) < kap2 - 5e-5)
            fail_msg("%s (gold-applicable) below the baseline", metric);
        checked++;
    }
    assert_int_equal(checked, 4);
    free(text);
    free(path);
}

static void test_scoring__calibration_meets_the_baseline(void **state)
{
    struct th_env *f = *state;
    struct cs_buf a = CS_BUF_INIT;
    char *labels = th_src("tests/data/real-dev/labels.jsonl");
    char *out;
    json_t *report;

    free(run_ok(f, "score", 0));
    cs_buf_addf(&a, "calibrate --format json --labels %s", labels);
    out = run_ok(f, a.ptr, 0);
    report = json_loads(out, 0, NULL);
    assert_non_null(report);
    expect_at_least_baseline(report);
    /* identity_verified has only null gold labels: not reported. */
    assert_null(json_object_get(report, "identity_verified"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(
                         report, "task_offered"), "unscored")), 0);
    json_decref(report);
    free(out);
    free(labels);
    cs_buf_release(&a);
}

static void test_scoring__invalid_rubric_set_is_refused(void **state)
{
    struct th_env *f = *state;
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;
    const char *bad = "{\"name\": \"Broken\", \"type\": \"boolean\", "
                      "\"definition\": \"x\", \"success\": \"a\", "
                      "\"failure\": \"b\", \"rules\": [{\"turn_matches\": "
                      "\"(unclosed\", \"role\": \"agent\", \"value\": "
                      "true}]}";
    char *out = NULL, *err = NULL;

    cs_buf_addf(&p, "%s/rubrics/broken.json", f->dir);
    th_write(p.ptr, bad, strlen(bad));
    assert_int_equal(th_run(f->env.ptr, "score", NULL, &err), 3);
    assert_non_null(strstr(err, "broken.json"));
    free(err);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results"), 0);
    cs_buf_addf(&a, "rubrics lint %s/rubrics", f->dir);
    assert_int_equal(th_run(NULL, a.ptr, &out, NULL), 3);
    assert_non_null(strstr(out, "broken.json: rules[0].turn_matches: "));
    assert_non_null(strstr(out, "offset"));
    free(out);
    assert_int_equal(th_run(f->env.ptr, "nightly --date 2026-10-01", NULL,
                            NULL), 3);
    cs_buf_release(&p);
    cs_buf_release(&a);
}

static void test_scoring__agent_logged_values_are_not_judged(void **state)
{
    struct th_env *f = *state;
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;
    const char *line = "{\"id\":\"ag-1\",\"tenant\":\"t\",\"started_at\":"
        "\"2026-10-01T10:00:00Z\",\"turns\":[{\"role\":\"agent\",\"text\":"
        "\"Would you like me to book it?\"}],\"metrics\":[{\"name\":"
        "\"task_offered\",\"value\":false},{\"name\":\"upsell_score\","
        "\"value\":7}]}\n";
    char *v;

    cs_buf_addf(&p, "%s/ag.jsonl", f->dir);
    th_write(p.ptr, line, strlen(line));
    cs_buf_addf(&a, "ingest %s", p.ptr);
    free(run_ok(f, a.ptr, 0));
    free(run_ok(f, "score --tenant t", 0));
    v = th_sql(f->db, "SELECT evaluator || ' ' || value::text FROM results "
                      "WHERE current AND conversation_id = 'ag-1' AND "
                      "metric = 'task_offered'");
    assert_string_equal(v, "agent false"); /* the rules would say true */
    free(v);
    v = th_sql(f->db, "SELECT value::text FROM results WHERE current AND "
                      "conversation_id = 'ag-1' AND metric = "
                      "'upsell_score'");
    assert_string_equal(v, "7");
    free(v);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "conversation_id = 'ag-1'"), 5);
    cs_buf_release(&p);
    cs_buf_release(&a);
}

/* Ingests `line` (one JSONL line) as DIR/<name>. */
static void ingest_line(struct th_env *f, const char *name, const char *line)
{
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/%s", f->dir, name);
    th_write(p.ptr, line, strlen(line));
    cs_buf_addf(&a, "ingest %s", p.ptr);
    free(run_ok(f, a.ptr, 0));
    cs_buf_release(&p);
    cs_buf_release(&a);
}

/* Current results that were not computed from their conversation's
 * stored content: there must never be any after a run. */
static long not_of_the_content(struct th_env *f)
{
    return sql_long(f, "SELECT count(*) FROM results r JOIN conversations "
                       "c ON c.tenant = r.tenant AND c.id = "
                       "r.conversation_id WHERE r.current AND "
                       "r.content_hash <> c.content_hash");
}

/* A value the agent logged, then no longer logs, stops being current (it
 * becomes history) and stops counting in the KPIs; a changed value is
 * stored anew for the new content; and `score` says what it did. */
static void test_scoring__agent_value_gone_is_no_longer_current(
    void **state)
{
    struct th_env *f = *state;
    const char *with =
        "{\"id\":\"rf-1\",\"tenant\":\"t\",\"started_at\":"
        "\"2026-10-01T10:00:00Z\",\"turns\":[{\"role\":\"customer\","
        "\"text\":\"I want my money back.\"}],\"metrics\":[{\"name\":"
        "\"refund_cents\",\"value\":5000},{\"name\":\"task_offered\","
        "\"value\":true}]}\n";
    const char *changed =
        "{\"id\":\"rf-1\",\"tenant\":\"t\",\"started_at\":"
        "\"2026-10-01T10:00:00Z\",\"turns\":[{\"role\":\"customer\","
        "\"text\":\"I want my money back, please.\"}],\"metrics\":[{\"name\":"
        "\"refund_cents\",\"value\":4000},{\"name\":\"task_offered\","
        "\"value\":true}]}\n";
    const char *without =
        "{\"id\":\"rf-1\",\"tenant\":\"t\",\"started_at\":"
        "\"2026-10-01T10:00:00Z\",\"turns\":[{\"role\":\"customer\","
        "\"text\":\"I want my money back, please.\"}],\"metrics\":[{\"name\":"
        "\"task_offered\",\"value\":true}]}\n";
    const char *kpis = "kpis --format json --from 2026-10-01 --to "
                       "2026-10-02 --tz UTC --tenant t --no-compare";
    char *out, *v;
    json_t *r;

    ingest_line(f, "rf.jsonl", with);
    out = run_ok(f, "score --tenant t", 0);
    assert_non_null(strstr(out, "5 evaluations written"));
    free(out);
    v = th_sql(f->db, "SELECT value::text FROM results WHERE current AND "
                      "conversation_id = 'rf-1' AND metric = "
                      "'refund_cents'");
    assert_string_equal(v, "5000");
    free(v);
    out = run_ok(f, kpis, 0);
    assert_non_null(strstr(out, "refund_cents"));
    free(out);

    /* The content changes, the agent's value with it. */
    ingest_line(f, "rf.jsonl", changed);
    out = run_ok(f, "score --tenant t", 0);
    assert_null(strstr(out, " 1 up to date"));
    assert_non_null(strstr(out, "5 evaluations written"));
    free(out);
    v = th_sql(f->db, "SELECT value::text FROM results WHERE current AND "
                      "conversation_id = 'rf-1' AND metric = "
                      "'refund_cents'");
    assert_string_equal(v, "4000");
    free(v);
    assert_int_equal(not_of_the_content(f), 0);

    /* The agent no longer logs it: history, and gone from the KPIs. */
    ingest_line(f, "rf.jsonl", without);
    out = run_ok(f, "score --tenant t", 0);
    assert_null(strstr(out, " 1 up to date"));
    free(out);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "current AND metric = 'refund_cents'"), 0);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "metric = 'refund_cents'"), 2);
    assert_int_equal(not_of_the_content(f), 0);
    out = run_ok(f, kpis, 0);
    r = json_loads(out, 0, NULL);
    assert_non_null(r);
    assert_null(json_at(json_object_get(json_object_get(r, "tenants"), "t"),
                        "metrics", "refund_cents", NULL));
    json_decref(r);
    free(out);
    out = run_ok(f, "results export --format jsonl --tenant t", 0);
    assert_null(strstr(out, "refund_cents"));
    free(out);

    /* And then it is up to date. */
    out = run_ok(f, "score --tenant t", 0);
    assert_non_null(strstr(out, " 0 evaluations written"));
    assert_non_null(strstr(out, " 1 up to date"));
    free(out);
}

/* At scale: after re-ingesting changed content, no result stays current
 * for the old content, and the run that follows has nothing to do. */
static void test_scoring__changed_content_leaves_no_stale_result(
    void **state)
{
    struct th_env *f = *state;
    struct cs_buf cmd = CS_BUF_INIT;
    char *out;

    /* Every conversation logs a value naming no rubric. */
    free(run_ok(f, "score", 0));
    cs_buf_addf(&cmd, "/usr/bin/python3 -c 'import json,sys\n"
                "for l in open(sys.argv[1]):\n"
                "  o = json.loads(l)\n"
                "  o[\"metrics\"] = [{\"name\": \"nps_said\", \"value\":"
                " len(o[\"turns\"])}]\n"
                "  print(json.dumps(o))' %s/tests/data/real-dev/"
                "conversations.jsonl >%s/more.jsonl", CS_SOURCE_DIR, f->dir);
    assert_int_equal(system(cmd.ptr), 0);
    cs_buf_reset(&cmd);
    cs_buf_addf(&cmd, "ingest %s/more.jsonl", f->dir);
    free(run_ok(f, cmd.ptr, 0));
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 0 up to date"));
    free(out);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "current AND metric = 'nps_said'"), 1040);
    assert_int_equal(not_of_the_content(f), 0);
    /* Back to the original lines: the agent values go, nothing stale. */
    cs_buf_reset(&cmd);
    cs_buf_addf(&cmd, "ingest %s/tests/data/real-dev/conversations.jsonl",
                CS_SOURCE_DIR);
    free(run_ok(f, cmd.ptr, 0));
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 0 up to date"));
    free(out);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "current AND metric = 'nps_said'"), 0);
    assert_int_equal(not_of_the_content(f), 0);
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 0 evaluations written"));
    assert_non_null(strstr(out, "1040 up to date"));
    free(out);
    cs_buf_release(&cmd);
}

/* A rubric removed from the set: its results stay current for the
 * content they were computed from, and stop being current when that
 * content changes (nothing computes them any more). */
static void test_scoring__removed_rubric_results_end_with_their_content(
    void **state)
{
    struct th_env *f = *state;
    const char *line = "{\"id\":\"sgd-dev-19_00030\",\"tenant\":"
        "\"lumen-entertainment\",\"started_at\":\"2026-09-01T13:10:24Z\","
        "\"turns\":[{\"role\":\"customer\",\"text\":\"I would like to "
        "reserve event tickets.\"}]}\n";
    struct cs_buf p = CS_BUF_INIT;
    char *out;

    free(run_ok(f, "score", 0));
    cs_buf_addf(&p, "%s/rubrics/task_offered.json", f->dir);
    assert_int_equal(unlink(p.ptr), 0);
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, "1040 up to date"));
    free(out);
    ingest_line(f, "one.jsonl", line);
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 3 evaluations written"));
    free(out);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "current AND metric = 'task_offered'"),
                     1039);
    assert_int_equal(not_of_the_content(f), 0);
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, "1040 up to date"));
    free(out);
    cs_buf_release(&p);
}

/* An agent value its rubric cannot have is stored as an error with the
 * reason, never as a label; it is not retried while the content stays. */
static void test_scoring__agent_value_outside_the_rubric_is_an_error(
    void **state)
{
    struct th_env *f = *state;
    const char *line =
        "{\"id\":\"bad-1\",\"tenant\":\"t\",\"started_at\":"
        "\"2026-10-01T10:00:00Z\",\"turns\":[{\"role\":\"customer\","
        "\"text\":\"I need a hotel room.\"}],\"metrics\":[{\"name\":"
        "\"call_reason\",\"value\":\"@SUM(A1)\"},{\"name\":\"task_offered\","
        "\"value\":\"yes\"}]}\n";
    char *v, *out;

    ingest_line(f, "bad.jsonl", line);
    out = run_ok(f, "score --tenant t", 4); /* 4: some errors */
    assert_non_null(strstr(out, "2 errors"));
    free(out);
    v = th_sql(f->db, "SELECT evaluator || ' ' || value::text || ' ' || "
                      "rationale FROM results WHERE current AND "
                      "conversation_id = 'bad-1' AND metric = "
                      "'call_reason'");
    assert_non_null(strstr(v, "agent \"error\" "));
    assert_non_null(strstr(v, "\"@SUM(A1)\" is not a category of "
                              "'call_reason' (restaurant, hotel"));
    free(v);
    v = th_sql(f->db, "SELECT value::text || ' ' || rationale FROM results "
                      "WHERE current AND conversation_id = 'bad-1' AND "
                      "metric = 'task_offered'");
    assert_non_null(strstr(v, "\"error\" "));
    assert_non_null(strstr(v, "must be true, false"));
    free(v);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "value::text = '\"@SUM(A1)\"'"), 0);
    out = run_ok(f, "score --tenant t", 0);
    assert_non_null(strstr(out, " 0 evaluations written"));
    free(out);
}

static void test_scoring__kpis_carry_metric_results(void **state)
{
    struct th_env *f = *state;
    char *out;
    json_t *r, *m;
    long applicable;

    free(run_ok(f, "score", 0));
    out = run_ok(f, "kpis --format json --from 2026-09-01 --to 2026-11-21 "
                    "--tz UTC --tenant civic-assist --no-compare", 0);
    r = json_loads(out, 0, NULL);
    assert_non_null(r);
    m = json_object_get(json_object_get(json_object_get(json_object_get(
            r, "tenants"), "civic-assist"), "metrics"), "task_completed");
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "type")),
                        "boolean");
    applicable = sql_long(f, "SELECT count(*) FROM results WHERE current AND "
                             "tenant = 'civic-assist' AND metric = "
                             "'task_completed' AND value::text NOT IN "
                             "('\"not_applicable\"', '\"error\"')");
    assert_int_equal(json_integer_value(json_object_get(m, "applicable")),
                     applicable);
    assert_true(fabs(json_real_value(json_object_get(m, "true_rate")) -
                     (double)sql_long(f, "SELECT count(*) FROM results WHERE "
                                         "current AND tenant = 'civic-assist'"
                                         " AND metric = 'task_completed' AND "
                                         "value = 'true'") /
                         (double)applicable) < 1e-9);
    m = json_object_get(json_object_get(json_object_get(json_object_get(
            r, "tenants"), "civic-assist"), "metrics"), "call_reason");
    assert_string_equal(json_string_value(json_object_get(m, "type")),
                        "categorical");
    assert_true(json_is_object(json_object_get(m, "labels")));
    json_decref(r);
    free(out);
    /* Per day, the metric counts add up to the period's. */
    out = run_ok(f, "kpis --format json --from 2026-10-01 --to 2026-10-11 "
                    "--tz UTC --tenant civic-assist --no-compare --by day", 0);
    r = json_loads(out, 0, NULL);
    assert_non_null(r);
    {
        json_t *t = json_object_get(json_object_get(r, "tenants"),
                                    "civic-assist");
        json_t *days = json_object_get(t, "by_day"), *d;
        const char *k;
        long sum = 0, scored = 0;

        json_object_foreach(days, k, d) {
            sum += (long)json_integer_value(json_at(d,
                "metrics", "task_completed", "applicable"));
            scored += (long)json_integer_value(json_at(d,
                "sentiment", "scored", NULL));
        }
        assert_true(json_object_size(days) > 1);
        assert_int_equal(sum, json_integer_value(json_at(t,
            "metrics", "task_completed", "applicable")));
        assert_int_equal(scored, json_integer_value(json_at(t,
            "sentiment", "scored", NULL)));
    }
    json_decref(r);
    free(out);
}

/* Three processes at once share the work: every (conversation, metric)
 * is scored exactly once. */
static void test_scoring__three_processes_share_the_work(void **state)
{
    struct th_env *f = *state;
    struct cs_buf cmd = CS_BUF_INIT, cfg = CS_BUF_INIT, p = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/small-pages.json", f->dir);
    cs_buf_addf(&cfg, "{\"score\": {\"page_size\": 16}, "
                "\"sentiment_lexicon\": \"%s/config/sentiment-lexicon.txt\"}",
                CS_SOURCE_DIR);
    th_write(p.ptr, cfg.ptr, cfg.len);
    cs_buf_addf(&cmd, "%s CALLSCOPE_CONFIG=%s sh -c '"
                "%s score -q >%s/1.out 2>&1 & %s score -q >%s/2.out 2>&1 & "
                "%s score -q >%s/3.out 2>&1 & wait'", f->env.ptr, p.ptr,
                CS_BINARY, f->dir, CS_BINARY, f->dir, CS_BINARY, f->dir);
    assert_int_equal(system(cmd.ptr), 0);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results"), 4160);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM (SELECT DISTINCT "
                                 "tenant, conversation_id, metric FROM "
                                 "results) d"), 4160);
    /* Their own counts add up, and more than one process did some. */
    {
        long sum = 0, busy = 0;

        for (int i = 1; i <= 3; i++) {
            char *out, *at;
            long n;

            cs_buf_reset(&p);
            cs_buf_addf(&p, "%s/%d.out", f->dir, i);
            out = th_read(p.ptr);
            at = strstr(out, "s: ");
            assert_non_null(at);
            n = strtol(at + 3, NULL, 10);
            sum += n;
            busy += n > 0;
            free(out);
        }
        assert_int_equal(sum, 4160);
        assert_true(busy >= 2);
    }
    cs_buf_release(&cmd);
    cs_buf_release(&cfg);
    cs_buf_release(&p);
}



/* Adds "min_kappa": k to rubric `key` of the sandbox's folder. */
static void set_min_kappa(struct th_env *f, const char *key, const char *k)
{
    struct cs_buf p = CS_BUF_INIT, t = CS_BUF_INIT;
    char *text;

    cs_buf_addf(&p, "%s/rubrics/%s.json", f->dir, key);
    text = th_read(p.ptr);
    assert_non_null(text);
    assert_true(text[0] == '{');
    cs_buf_addf(&t, "{\"min_kappa\": %s, %s", k, text + 1);
    th_write(p.ptr, t.ptr, t.len);
    free(text);
    cs_buf_release(&p);
    cs_buf_release(&t);
}

static void test_scoring__trust_in_the_judge(void **state)
{
    struct th_env *f = *state;
    struct cs_buf a = CS_BUF_INIT, sh = CS_BUF_INIT;
    char *labels = th_src("tests/data/real-dev/labels.jsonl");
    char *out, *v, *sum = NULL;
    json_t *j;

    free(run_ok(f, "score", 0));
    /* min_kappa is no change of meaning: nothing is re-scored. */
    set_min_kappa(f, "call_reason", "0.5");
    set_min_kappa(f, "task_completed", "0.7");
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 0 evaluations written"));
    free(out);
    /* Never measured: not yet verified. */
    out = run_ok(f, "kpis --from 2026-09-01 --to 2026-10-01 --tenant "
                    "lumen-entertainment --format json", 0);
    j = json_loads(out, 0, NULL);
    assert_true(json_is_false(th_json_path(
        j, "tenants.lumen-entertainment.metrics.call_reason.verified")));
    assert_null(th_json_path(
        j, "tenants.lumen-entertainment.metrics.task_offered.verified"));
    json_decref(j);
    free(out);
    /* A calibration is stored with its date, the labels file's hash and
     * the figures. */
    cs_buf_addf(&a, "calibrate --labels %s --metric call_reason --metric "
                "task_completed", labels);
    free(run_ok(f, a.ptr, 0));
    assert_int_equal(sql_long(f, "SELECT count(*) FROM calibrations"), 2);
    cs_buf_addf(&sh, "sha256sum %s | cut -c1-64", labels);
    assert_int_equal(th_sh(sh.ptr, &sum), 0);
    sum[strcspn(sum, "\n")] = '\0';
    v = th_sql(f->db, "SELECT labels_sha256 || ' ' || (measured_at::date = "
                      "current_date) || ' ' || n || ' ' || round(kappa::"
                      "numeric, 4) || ' ' || (rubric_version IS NOT NULL) "
                      "FROM calibrations WHERE metric = 'call_reason'");
    {
        struct cs_buf want = CS_BUF_INIT;

        cs_buf_addf(&want, "%s true 1040 0.6192 true", sum);
        assert_string_equal(v, want.ptr);
        cs_buf_release(&want);
    }
    free(v);
    /* call_reason reaches its 0.5, task_completed (0.53) not its 0.7. */
    out = run_ok(f, "kpis --from 2026-09-01 --to 2026-10-01 --tenant "
                    "lumen-entertainment --format json", 0);
    j = json_loads(out, 0, NULL);
    assert_true(json_is_true(th_json_path(
        j, "tenants.lumen-entertainment.metrics.call_reason.verified")));
    assert_true(json_is_false(th_json_path(
        j, "tenants.lumen-entertainment.metrics.task_completed.verified")));
    assert_true(fabs(json_number_value(th_json_path(
                         j, "tenants.lumen-entertainment.metrics.call_reason."
                            "calibration.kappa")) -
                     0.6192) < 1e-4);
    json_decref(j);
    free(out);
    out = run_ok(f, "kpis --from 2026-09-01 --to 2026-10-01 --tenant "
                    "lumen-entertainment", 0);
    assert_non_null(strstr(out, "true rate *"));
    assert_non_null(strstr(out, "* not yet verified against human labels"));
    free(out);
    /* The executive report marks it and lists each metric's agreement. */
    cs_buf_reset(&a);
    cs_buf_addf(&a, "%sCALLSCOPE_TEMPLATES_DIR=%s/templates", f->env.ptr,
                CS_SOURCE_DIR);
    assert_int_equal(th_run(a.ptr, "report executive --month 2026-09 "
                            "--tenant lumen-entertainment", &out, NULL), 0);
    {
        char *text = th_pdf_text(strtok(out, "\n"));

        assert_non_null(strstr(text, "\xe2\x80\xa0 Not yet verified against "
                                     "human labels"));
        assert_non_null(strstr(text, "kappa 0.62, accuracy 66.4 %, n 1040"));
        assert_non_null(strstr(text, "min 0.50: verified"));
        assert_non_null(strstr(text, "min 0.70: not yet verified"));
        assert_non_null(strstr(text, "never measured"));
        free(text);
    }
    free(out);
    /* A later version of the rubric is not verified by a measurement of
     * an earlier one. */
    {
        struct cs_buf p = CS_BUF_INIT, t = CS_BUF_INIT;
        char *text, *at;

        cs_buf_addf(&p, "%s/rubrics/call_reason.json", f->dir);
        text = th_read(p.ptr);
        at = strstr(text, "\"definition\": \"");
        assert_non_null(at);
        at += strlen("\"definition\": \"");
        cs_buf_add(&t, text, (size_t)(at - text));
        cs_buf_addf(&t, "In short: %s", at);
        th_write(p.ptr, t.ptr, t.len);
        free(text);
        cs_buf_release(&p);
        cs_buf_release(&t);
    }
    free(run_ok(f, "score --rubrics-changed", 0));
    out = run_ok(f, "kpis --from 2026-09-01 --to 2026-10-01 --tenant "
                    "lumen-entertainment --format json", 0);
    j = json_loads(out, 0, NULL);
    assert_true(json_is_false(th_json_path(
        j, "tenants.lumen-entertainment.metrics.call_reason.verified")));
    json_decref(j);
    free(out);
    free(sum);
    free(labels);
    cs_buf_release(&a);
    cs_buf_release(&sh);
}

/* ---- rubrics per tenant, scorecards ---- */

static void put(struct th_env *f, const char *rel, const char *text)
{
    struct cs_buf p = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/%s", f->dir, rel);
    th_write(p.ptr, text, strlen(text));
    cs_buf_release(&p);
}

#define TWO_TENANT_CONVS                                                   \
    "{\"id\":\"a1\",\"tenant\":\"acme\",\"started_at\":"                   \
    "\"2026-09-01T10:00:00Z\",\"turns\":[{\"role\":\"agent\",\"text\":"    \
    "\"Hello, you're booked.\"}]}\n"                                       \
    "{\"id\":\"a2\",\"tenant\":\"acme\",\"started_at\":"                   \
    "\"2026-09-01T11:00:00Z\",\"turns\":[{\"role\":\"agent\",\"text\":"    \
    "\"Hi.\"}]}\n"                                                         \
    "{\"id\":\"a3\",\"tenant\":\"acme\",\"started_at\":"                   \
    "\"2026-09-01T12:00:00Z\",\"turns\":[{\"role\":\"agent\",\"text\":"    \
    "\"Hello there.\"}]}\n"                                                \
    "{\"id\":\"b1\",\"tenant\":\"beta\",\"started_at\":"                   \
    "\"2026-09-01T10:00:00Z\",\"turns\":[{\"role\":\"agent\",\"text\":"    \
    "\"Hello, booked.\"}]}\n"                                              \
    "{\"id\":\"b2\",\"tenant\":\"beta\",\"started_at\":"                   \
    "\"2026-09-01T11:00:00Z\",\"turns\":[{\"role\":\"agent\",\"text\":"    \
    "\"Nothing.\"}]}\n"

#define RUBRIC(name, pattern, tenants)                                     \
    "{\"name\": \"" name "\", \"type\": \"boolean\", \"definition\": \"d\","\
    " \"success\": \"s\", \"failure\": \"f\", \"rules\": [{\"turn_matches\":"\
    " \"(?i)" pattern "\", \"role\": \"agent\", \"value\": true},"         \
    " {\"default\": false}]" tenants "}"

static void test_scoring__tenant_rubrics_and_scorecards(void **state)
{
    struct th_env *f = *state;
    char *out, *v;
    json_t *j;

    put(f, "convs.jsonl", TWO_TENANT_CONVS);
    put(f, "rubrics/greeted.json", RUBRIC("Greeted", "hello", ""));
    put(f, "rubrics/booked.json", RUBRIC("Booked", "booked", ""));
    put(f, "rubrics/qa.scorecard.json",
        "{\"key\": \"qa\", \"name\": \"Front desk QA\", \"tenants\": "
        "[\"acme\"], \"items\": [{\"metric\": \"greeted\", \"value\": true,"
        " \"points\": 50}, {\"metric\": \"booked\", \"value\": true, "
        "\"points\": 50}]}");
    cs_buf_addf(&f->env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics ", f->dir);
    {
        struct cs_buf a = CS_BUF_INIT;

        cs_buf_addf(&a, "ingest %s/convs.jsonl", f->dir);
        free(run_ok(f, a.ptr, 0));
        cs_buf_release(&a);
    }
    out = run_ok(f, "score", 0);
    /* 5 x 2 metrics, 3 scorecards (acme only). */
    assert_non_null(strstr(out, "13 evaluations written"));
    free(out);
    /* Scorecards against hand-computed scores: 100, 0, 50. */
    v = th_sql(f->db, "SELECT string_agg(conversation_id || '=' || "
                      "value::text, ' ' ORDER BY conversation_id) FROM "
                      "results WHERE current AND metric = 'qa' AND "
                      "evaluator = 'scorecard'");
    assert_string_equal(v, "a1=100.0 a2=0.0 a3=50.0");
    free(v);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "tenant = 'beta' AND metric = 'qa'"), 0);
    /* results export carries them. */
    out = run_ok(f, "results export --format jsonl --metric qa", 0);
    assert_non_null(strstr(out, "\"evaluator\":\"scorecard\""));
    assert_non_null(strstr(out, "\"value\":50.0"));
    free(out);

    /* Booked becomes acme's alone: its version does not change, nothing
     * is re-scored, and beta's booked results stay current (counted)
     * until --retire-missing. */
    put(f, "rubrics/booked.json", RUBRIC("Booked", "booked",
                                         ", \"tenants\": [\"acme\"]"));
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 0 evaluations written"));
    free(out);
    /* A tenant's KPIs list only its metrics. */
    out = run_ok(f, "kpis --from 2026-09-01 --to 2026-09-02 --format json "
                    "--no-compare", 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_non_null(th_json_path(j, "tenants.beta.metrics.greeted"));
    assert_null(th_json_path(j, "tenants.beta.metrics.booked"));
    assert_null(th_json_path(j, "tenants.beta.metrics.qa"));
    assert_non_null(th_json_path(j, "tenants.acme.metrics.booked"));
    assert_non_null(th_json_path(j, "tenants.acme.metrics.qa"));
    /* Per scorecard: the mean, the share below the pass mark (80) and
     * the 10-point buckets: 100, 0 and 50. */
    assert_string_equal(json_string_value(th_json_path(
                            j, "tenants.acme.metrics.qa.type")),
                        "scorecard");
    assert_true(json_number_value(th_json_path(
                    j, "tenants.acme.metrics.qa.mean")) == 50.0);
    assert_true(fabs(json_number_value(th_json_path(
                         j, "tenants.acme.metrics.qa.below_pass_rate")) -
                     2.0 / 3.0) < 1e-12);
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.acme.metrics.qa.buckets.0-10")), 1);
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.acme.metrics.qa.buckets.50-60")), 1);
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.acme.metrics.qa.buckets.90-100")), 1);
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.acme.metrics.qa.applicable")), 3);
    json_decref(j);
    free(out);
    /* The table and the CSV carry them too. */
    out = run_ok(f, "kpis --from 2026-09-01 --to 2026-09-02 --tenant acme "
                    "--no-compare", 0);
    assert_non_null(strstr(out, "Front desk QA: mean score"));
    assert_non_null(strstr(out, "Front desk QA: below pass mark (80)"));
    assert_non_null(strstr(out, "Front desk QA: distribution"));
    free(out);
    out = run_ok(f, "kpis --from 2026-09-01 --to 2026-09-02 --tenant acme "
                    "--no-compare --format csv", 0);
    assert_non_null(strstr(out, "metrics.qa.below_pass_rate"));
    assert_non_null(strstr(out, "metrics.qa.buckets.90-100"));
    free(out);
    out = run_ok(f, "score --retire-missing", 0);
    assert_non_null(strstr(out, "2 results of metrics not in the rubric "
                                "set made history"));
    free(out);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "current AND tenant = 'beta' AND metric = "
                                 "'booked'"), 0);

    /* A rubric for one tenant scores that tenant's conversations and
     * nothing of the others. */
    put(f, "rubrics/polite.json", RUBRIC("Polite", "hello|hi",
                                         ", \"tenants\": [\"beta\"]"));
    out = run_ok(f, "score", 0);
    assert_non_null(strstr(out, " 2 evaluations written"));
    free(out);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "tenant = 'acme' AND NOT current"), 0);
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "metric = 'polite' AND tenant = 'acme'"),
                     0);

    /* Another rubric folder that redefines a scored metric is refused;
     * nothing is replaced. */
    put(f, "other/greeted.json", RUBRIC("Greeted", "hello|good morning",
                                        ""));
    {
        struct cs_buf e = CS_BUF_INIT;
        char *err = NULL;

        cs_buf_addf(&e, "%sCALLSCOPE_RUBRICS_DIR=%s/other ", f->env.ptr,
                    f->dir);
        assert_int_equal(th_run(e.ptr, "score", NULL, &err), 3);
        assert_non_null(strstr(err, "greeted (5)"));
        free(err);
        assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                     "NOT current AND metric = 'greeted'"),
                         0);
        /* For one tenant, naming the metric is deliberate: only beta's
         * greeted results are replaced. */
        out = NULL;
        assert_int_equal(th_run(e.ptr, "score --tenant beta --metric "
                                "greeted", &out, NULL), 0);
        assert_non_null(strstr(out, " 2 evaluations written"));
        free(out);
        cs_buf_release(&e);
    }
    assert_int_equal(sql_long(f, "SELECT count(*) FROM results WHERE "
                                 "NOT current AND metric = 'greeted' AND "
                                 "tenant = 'acme'"), 0);
}

/* The sandbox with this file's own setup. */
/*
 * A rubric pattern with nested repeats (`^(\w+\s?)*$`) backtracks
 * exponentially on a turn of words ending in '!': each match stops at
 * score.match_limit, and a conversation's matching at
 * score.time_budget_ms. Either is a result "error" naming the setting,
 * never a hang, and the run goes on.
 */
static void test_scoring__rule_limits_are_errors(void **state)
{
    struct cs_buf cfg = CS_BUF_INIT, line = CS_BUF_INIT, path = CS_BUF_INIT,
                  words = CS_BUF_INIT;
    static const char rubric[] =
        "{\"name\": \"Words only\", \"type\": \"boolean\", "
        "\"definition\": \"Every customer turn is words.\", \"success\": "
        "\"s\", \"failure\": \"f\", \"rules\": [{\"turn_matches\": "
        "\"^(\\\\w+\\\\s?)*$\", \"role\": \"customer\", \"value\": true}, "
        "{\"default\": false}]}";
    struct th_env *f;
    char *v, *err = NULL;

    (void)state;
    /* 400 turns of 12 two-letter words: each match well under the step
     * limit, all of them together well over a budget of 5 ms. */
    for (int w = 0; w < 12; w++)
        cs_buf_adds(&words, "ab ");
    words.ptr[words.len - 1] = '!';
    for (int c = 0; c < 2; c++) {
        cs_buf_addf(&line, "{\"id\":\"%s\",\"tenant\":\"t\","
                    "\"started_at\":\"2026-10-01T10:00:00Z\",\"turns\":[",
                    c ? "long" : "short");
        for (int t = 0; t < (c ? 400 : 1); t++)
            cs_buf_addf(&line, "%s{\"role\":\"customer\",\"text\":"
                        "\"%s%s\"}", t ? "," : "", c ? "" : "x ",
                        c ? words.ptr : "word word word word word word word "
                                        "word word word word word word word "
                                        "word word word word word word word "
                                        "word word word word word word!");
        cs_buf_adds(&line, "]}\n");
    }
    cs_buf_adds(&cfg, "{\"score\": {\"match_limit\": 200000, "
                "\"time_budget_ms\": 5}}");
    f = th_env_new(cfg.ptr);
    cs_buf_addf(&path, "%s/rubrics/words_only.json", f->dir);
    th_write(path.ptr, rubric, strlen(rubric));
    cs_buf_addf(&f->env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics ", f->dir);
    ingest_line(f, "in.jsonl", line.ptr);
    assert_int_equal(th_run(f->env.ptr, "score", NULL, &err), 4);
    free(err);
    v = th_sql(f->db, "SELECT value::text || ' ' || rationale FROM results WHERE "
                      "conversation_id = 'short'");
    assert_non_null(strstr(v, "\"error\" rule 1: pattern match failed: "
                              "match limit of 200000 steps exceeded "
                              "(score.match_limit)"));
    free(v);
    v = th_sql(f->db, "SELECT value::text || ' ' || rationale FROM results WHERE "
                      "conversation_id = 'long'");
    assert_non_null(strstr(v, "\"error\" rule 1: the time budget of 5 ms "
                              "per conversation is spent "
                              "(score.time_budget_ms)"));
    free(v);
    /* The lint says why before any run. */
    cs_buf_reset(&path);
    cs_buf_addf(&path, "rubrics lint %s/rubrics", f->dir);
    assert_int_equal(th_run(f->env.ptr, path.ptr, NULL, &err), 0);
    free(err);
    v = run_ok(f, path.ptr, 0);
    assert_non_null(strstr(v, "warning: words_only.json: "
                              "rules[0].turn_matches: the group at offset 1 "
                              "repeats without bound"));
    free(v);
    th_env_free(f);
    cs_buf_release(&cfg);
    cs_buf_release(&line);
    cs_buf_release(&path);
    cs_buf_release(&words);
}

/*
 * Text from data that a spreadsheet would run (an id "-2+3", a tenant
 * "+t", a metric "@m" the agent logged with the value "=2+2", evidence
 * "=1+1 ...") reaches `results export --format csv` prefixed with "'"
 * (OWASP's advice): LibreOffice opens every such cell as text, no cell
 * as a formula, and the numbers stay numbers.
 */
static void test_scoring__csv_export_runs_no_formula(void **state)
{
    struct cs_buf path = CS_BUF_INIT, cmd = CS_BUF_INIT;
    static const char rubric[] =
        "{\"name\": \"Booking\", \"type\": \"boolean\", "
        "\"definition\": \"Booked.\", \"success\": \"s\", \"failure\": "
        "\"f\", \"rules\": [{\"turn_matches\": \"booking\", \"role\": "
        "\"customer\", \"value\": true}, {\"default\": false}]}";
    static const char line[] =
        "{\"id\":\"-2+3\",\"tenant\":\"+t\",\"started_at\":"
        "\"2026-10-01T10:00:00Z\",\"turns\":[{\"role\":\"customer\","
        "\"text\":\"=1+1 booking\"}],\"metrics\":[{\"name\":\"@m\","
        "\"value\":\"=2+2\"}]}\n";
    struct th_env *f;
    char *out, *cells;

    (void)state;
    f = th_env_new(NULL);
    cs_buf_addf(&path, "%s/rubrics/booking.json", f->dir);
    th_write(path.ptr, rubric, strlen(rubric));
    cs_buf_addf(&f->env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics ", f->dir);
    ingest_line(f, "in.jsonl", line);
    free(run_ok(f, "score", 0));
    out = run_ok(f, "results export --format csv", 0);
    assert_non_null(strstr(out, "'-2+3,'+t,'@m,agent,'=2+2,"));
    assert_non_null(strstr(out, "'-2+3,'+t,booking,"));
    assert_non_null(strstr(out, ",'=1+1 booking,"));
    cs_buf_reset(&path);
    cs_buf_addf(&path, "%s/export.csv", f->dir);
    th_write(path.ptr, out, strlen(out));
    free(out);
    /* LibreOffice's own reading of it, as a workbook: its cells. */
    cs_buf_addf(&cmd, "soffice --headless -env:UserInstallation=file://%s/lo"
                " --convert-to xlsx --outdir %s %s >%s/lo.log 2>&1 && "
                "/usr/bin/python3 -c 'import re, sys, zipfile\n"
                "z = zipfile.ZipFile(sys.argv[1])\n"
                "sh = z.read(\"xl/worksheets/sheet1.xml\").decode()\n"
                "ss = re.findall(r\"<t[^>]*>([^<]*)</t>\", "
                "z.read(\"xl/sharedStrings.xml\").decode())\n"
                "print(\"formulas\", sh.count(\"<f\"))\n"
                "for r, t, v in re.findall(r\"<c r=.([A-Z]+)2. [^>]*t=.(.). "
                "*>(?:<v>([^<]*)</v>)?\", sh):\n"
                "    print(r, t, ss[int(v)] if t == \"s\" else v)\n"
                "' %s/export.xlsx", f->dir, f->dir, path.ptr, f->dir,
                f->dir);
    assert_int_equal(th_sh(cmd.ptr, &cells), 0);
    assert_non_null(strstr(cells, "formulas 0\n"));
    /* Row 2 is the first result (sorted by metric: "@m" first). */
    assert_non_null(strstr(cells, "A s &apos;-2+3\n"));
    assert_non_null(strstr(cells, "B s &apos;+t\n"));
    assert_non_null(strstr(cells, "C s &apos;@m\n"));
    assert_non_null(strstr(cells, "E s &apos;=2+2\n"));
    assert_non_null(strstr(cells, "J n 0\n")); /* tokens_in, a number */
    free(cells);
    th_env_free(f);
    cs_buf_release(&path);
    cs_buf_release(&cmd);
}

#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, th_env_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_scoring__second_run_evaluates_nothing),
        ENV_TEST(test_scoring__changed_rubric_rescores_only_it),
        ENV_TEST(test_scoring__changed_conversation_is_rescored),
        ENV_TEST(test_scoring__rescore_keeps_history_and_export),
        ENV_TEST(test_scoring__calibration_meets_the_baseline),
        ENV_TEST(test_scoring__invalid_rubric_set_is_refused),
        ENV_TEST(test_scoring__agent_logged_values_are_not_judged),
        ENV_TEST(test_scoring__agent_value_gone_is_no_longer_current),
        ENV_TEST(test_scoring__changed_content_leaves_no_stale_result),
        ENV_TEST(test_scoring__agent_value_outside_the_rubric_is_an_error),
        ENV_TEST(test_scoring__removed_rubric_results_end_with_their_content),
        ENV_TEST(test_scoring__kpis_carry_metric_results),
        ENV_TEST(test_scoring__three_processes_share_the_work),
        cmocka_unit_test(test_scoring__rule_limits_are_errors),
        cmocka_unit_test(test_scoring__csv_export_runs_no_formula),
        TH_ENV_TEST(test_scoring__tenant_rubrics_and_scorecards),
        ENV_TEST(test_scoring__trust_in_the_judge),
    };

    return cmocka_run_group_tests_name("scoring", tests, NULL, NULL);
}
