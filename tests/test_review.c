/* test_review.c - conversations, show and explain through the real binary
 * on a real PostgreSQL (and the LLM test double) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/mem.h"
#include "helpers.h"

#define CONFIG_FMT                                                         \
    "{\"sentiment_lexicon\": \"%s/config/sentiment-lexicon.txt\","        \
    " \"tenants\": {\"acme-dental\": {\"timezone\": \"America/New_York\"}}}"

/* A fresh database with two weeks of sample conversations of three
 * tenants, scored with the starter rubrics. */
static int setup(void **state)
{
    struct cs_buf cfg = CS_BUF_INIT, cmd = CS_BUF_INIT;
    struct th_env *f;

    cs_buf_addf(&cfg, CONFIG_FMT, CS_SOURCE_DIR);
    f = th_env_new(cfg.ptr);
    cs_buf_addf(&f->env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics ", CS_SOURCE_DIR);
    cs_buf_addf(&cmd, "sample --seed 5 --start 2026-10-01 --days 14 "
                "--per-day 30 -o %s/s.jsonl", f->dir);
    assert_int_equal(th_run(f->env.ptr, cmd.ptr, NULL, NULL), 0);
    cs_buf_reset(&cmd);
    cs_buf_addf(&cmd, "ingest -q %s/s.jsonl", f->dir);
    assert_int_equal(th_run(f->env.ptr, cmd.ptr, NULL, NULL), 0);
    assert_int_equal(th_run(f->env.ptr, "score -q", NULL, NULL), 0);
    cs_buf_release(&cfg);
    cs_buf_release(&cmd);
    *state = f;
    return 0;
}

#define run_ok th_run_ok

/* "tenant/id" of every JSON line, sorted, one per line (new). */
static char *ids_of_jsonl(const char *jsonl)
{
    struct cs_buf b = CS_BUF_INIT;
    char *copy = cs_xstrdup(jsonl), *save = NULL, *line, *sorted;
    size_t n = 0;
    char **v = NULL;

    for (line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);

        assert_non_null(o);
        cs_buf_reset(&b);
        cs_buf_addf(&b, "%s/%s",
                    json_string_value(json_object_get(o, "tenant")),
                    json_string_value(json_object_get(o, "id")));
        v = cs_xrealloc(v, (n + 1) * sizeof(*v));
        v[n++] = cs_buf_detach(&b, NULL);
        json_decref(o);
    }
    /* Insertion sort: the lists are short. */
    for (size_t i = 1; i < n; i++) {
        char *x = v[i];
        size_t j = i;

        while (j > 0 && strcmp(v[j - 1], x) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    cs_buf_reset(&b);
    for (size_t i = 0; i < n; i++) {
        cs_buf_addf(&b, "%s\n", v[i]);
        free(v[i]);
    }
    free(v);
    free(copy);
    sorted = cs_buf_detach(&b, NULL);
    return sorted;
}

/* The same from SQL: `where` over conversations c (new). */
static char *ids_of_sql(struct th_env *f, const char *where)
{
    struct cs_buf q = CS_BUF_INIT;
    char *v;

    cs_buf_addf(&q, "SELECT coalesce(string_agg(tenant || '/' || id || "
                "E'\\n', '' ORDER BY tenant || '/' || id COLLATE \"C\"), '') "
                "FROM conversations c WHERE %s", where);
    v = th_sql(f->db, q.ptr);
    cs_buf_release(&q);
    return v ? v : cs_xstrdup("");
}

/* A current result of `metric` equal to `value` (SQL JSON text). */
#define HAS(metric, value)                                                 \
    "EXISTS (SELECT 1 FROM results r WHERE r.current AND r.tenant = "      \
    "c.tenant AND r.conversation_id = c.id AND r.metric = '" metric "' "   \
    "AND r.value = '" value "'::jsonb)"

static void check_filter(struct th_env *f, const char *args,
                         const char *where, long at_least)
{
    struct cs_buf a = CS_BUF_INIT;
    char *out, *got, *want;
    long n = 0;

    cs_buf_addf(&a, "conversations --format jsonl %s", args);
    out = run_ok(f, a.ptr, 0);
    got = ids_of_jsonl(out);
    want = ids_of_sql(f, where);
    if (strcmp(got, want) != 0)
        fail_msg("'%s' lists\n%s\nbut SQL says\n%s", args, got, want);
    for (const char *p = got; *p; p++)
        n += *p == '\n';
    if (n < at_least)
        fail_msg("'%s': only %ld conversations; the case tests little",
                 args, n);
    free(out);
    free(got);
    free(want);
    cs_buf_release(&a);
}

static void test_review__filters_match_independent_sql(void **state)
{
    struct th_env *f = *state;

    check_filter(f, "--tenant acme-dental --where handoff",
                 "tenant = 'acme-dental' AND handoff IS NOT NULL", 5);
    check_filter(f, "--where no-handoff --where outcome=answered",
                 "handoff IS NULL AND outcome = 'answered'", 50);
    check_filter(f, "--where outcome!=answered",
                 "outcome <> 'answered'", 5);
    check_filter(f, "--where tool-failed", "tools_ok < tools_total", 3);
    check_filter(f, "--where resolution_without_handoff=false "
                    "--where sentiment=negative",
                 HAS("resolution_without_handoff", "false") " AND "
                 HAS("customer_sentiment", "\"negative\""), 3);
    check_filter(f, "--where call_reason=billing --where direction=inbound",
                 HAS("call_reason", "\"billing\"") " AND direction = "
                 "'inbound'", 3);
    check_filter(f, "--where 'agent_empathy>=4'",
                 "EXISTS (SELECT 1 FROM results r WHERE r.current AND "
                 "r.tenant = c.tenant AND r.conversation_id = c.id AND "
                 "r.metric = 'agent_empathy' AND jsonb_typeof(r.value) = "
                 "'number' AND r.value::text::numeric >= 4)", 3);
    check_filter(f, "--where 'agent_empathy<3' --where handoff",
                 "handoff IS NOT NULL AND EXISTS (SELECT 1 FROM results r "
                 "WHERE r.current AND r.tenant = c.tenant AND "
                 "r.conversation_id = c.id AND r.metric = 'agent_empathy' "
                 "AND jsonb_typeof(r.value) = 'number' AND "
                 "r.value::text::numeric < 3)", 0);
    /* Local dates of each tenant's zone: acme-dental is in New York. */
    check_filter(f, "--from 2026-10-03 --to 2026-10-05",
                 "(started_at AT TIME ZONE CASE tenant WHEN 'acme-dental' "
                 "THEN 'America/New_York' ELSE 'UTC' END)::date "
                 "BETWEEN '2026-10-03' AND '2026-10-04'", 20);
    check_filter(f, "--tenant acme-dental --from 2026-10-03 --to 2026-10-04 "
                    "--where booking_completed=true",
                 "tenant = 'acme-dental' AND (started_at AT TIME ZONE "
                 "'America/New_York')::date = '2026-10-03' AND "
                 HAS("booking_completed", "true"), 1);
}

static void test_review__bad_conditions_are_usage_errors(void **state)
{
    struct th_env *f = *state;
    char *err = NULL;

    assert_int_equal(th_run(f->env.ptr, "conversations --where bogus", NULL,
                            &err), 2);
    assert_non_null(strstr(err, "expected METRIC=VALUE"));
    free(err);
    assert_int_equal(th_run(f->env.ptr, "conversations --where "
                            "call_reason=nonsense", NULL, &err), 2);
    assert_non_null(strstr(err, "is not a category of 'call_reason'"));
    free(err);
    assert_int_equal(th_run(f->env.ptr, "conversations --where "
                            "'call_reason<3x'", NULL, &err), 2);
    free(err);
    assert_int_equal(th_run(f->env.ptr, "conversations --where "
                            "no_such_metric=true", NULL, &err), 2);
    assert_non_null(strstr(err, "unknown metric 'no_such_metric'"));
    free(err);
    assert_int_equal(th_run(f->env.ptr, "conversations --tenant nobody",
                            NULL, &err), 2);
    free(err);
    assert_int_equal(th_run(f->env.ptr, "conversations --seed 3", NULL,
                            &err), 2);
    free(err);
}

static void test_review__samples_are_deterministic_subsets(void **state)
{
    struct th_env *f = *state;
    char *all = run_ok(f, "conversations --format jsonl --where no-handoff",
                       0);
    char *a = run_ok(f, "conversations --format jsonl --where no-handoff "
                        "--sample 25 --seed 11", 0);
    char *b = run_ok(f, "conversations --format jsonl --where no-handoff "
                        "--sample 25 --seed 11", 0);
    char *c = run_ok(f, "conversations --format jsonl --where no-handoff "
                        "--sample 25 --seed 12", 0);
    char *ia = ids_of_jsonl(a), *ic = ids_of_jsonl(c), *save = NULL, *line;
    long n = 0;
    char *out, *err = NULL;

    /* The same seed gives the same ids (and the same order). */
    assert_string_equal(a, b);
    /* Another seed, another sample (of 25 among hundreds). */
    assert_true(strcmp(ia, ic) != 0);
    /* A sample is a subset of the whole filter, of the size asked. */
    for (line = strtok_r(ia, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), n++) {
        struct cs_buf id = CS_BUF_INIT;

        cs_buf_addf(&id, "\"id\":\"%s\"", strchr(line, '/') + 1);
        assert_non_null(strstr(all, id.ptr));
        cs_buf_release(&id);
    }
    assert_int_equal(n, 25);
    /* Without --seed one is drawn and said, so the sample can be had
     * again. */
    assert_int_equal(th_run(f->env.ptr, "conversations --format jsonl "
                            "--where no-handoff --sample 5", &out, &err), 0);
    assert_non_null(strstr(err, "5 of "));
    assert_non_null(strstr(err, "(sample, --seed "));
    free(out);
    free(err);
    free(all);
    free(a);
    free(b);
    free(c);
    free(ia);
    free(ic);
}

static void test_review__table_and_csv(void **state)
{
    struct th_env *f = *state;
    char *out;

    out = run_ok(f, "conversations --tenant acme-dental --where "
                    "booking_completed=false --where handoff", 0);
    assert_true(strncmp(out, "id ", 3) == 0);
    assert_non_null(strstr(out, "started"));
    assert_non_null(strstr(out, "duration"));
    assert_non_null(strstr(out, "booking_completed=false"));
    free(out);
    out = run_ok(f, "conversations --where call_reason=billing --format "
                    "csv --sample 3 --seed 1", 0);
    assert_true(strncmp(out, "tenant,id,started_at,started,agent,channel,"
                             "direction,outcome,duration_s,handoff,"
                             "call_reason\n", 90) == 0);
    assert_non_null(strstr(out, ",billing\n"));
    free(out);
}

/* A conversation with every field of docs/conversation-format.md. */
#define FULL                                                               \
    "{\"id\":\"full-1\",\"tenant\":\"acme-dental\",\"agent\":"             \
    "\"receptionist-v3\",\"channel\":\"voice\",\"direction\":\"inbound\"," \
    "\"caller\":\"+12025550143\",\"callee\":\"+18005550100\","             \
    "\"started_at\":\"2026-11-02T14:14:03Z\",\"answered_at\":"             \
    "\"2026-11-02T14:14:05Z\",\"ended_at\":\"2026-11-02T14:17:40Z\","      \
    "\"outcome\":\"answered\",\"ring_s\":2.0,\"queue_wait_s\":1.5,"        \
    "\"sip_error_code\":486,\"handoff\":{\"type\":\"warm\",\"target\":"    \
    "\"front-desk\",\"at_s\":120,\"reason\":\"insurance question\"},"      \
    "\"turns\":[{\"role\":\"agent\",\"text\":\"Thanks for calling Acme "   \
    "Dental, how can I help?\",\"start_s\":0.0,\"end_s\":2.4},"            \
    "{\"role\":\"customer\",\"text\":\"I'd like to book a cleaning next "  \
    "Tuesday, call me on 202-555-0143.\",\"start_s\":3.1,\"end_s\":5.0},"  \
    "{\"role\":\"agent\",\"text\":\"You're booked for Tuesday at 10am.\"," \
    "\"start_s\":9.8,\"end_s\":13.0},{\"role\":\"system\",\"text\":"       \
    "\"Warm transfer started.\",\"start_s\":120,\"end_s\":120}],"          \
    "\"tool_calls\":[{\"name\":\"calendar.book\",\"ok\":true,"             \
    "\"latency_ms\":340,\"creates\":\"appointment\"},{\"name\":"           \
    "\"sms.send\",\"ok\":false,\"latency_ms\":120,\"creates\":null,"       \
    "\"error\":\"carrier timeout\"}],\"spans\":[{\"name\":\"stt\","        \
    "\"duration_ms\":180},{\"name\":\"llm\",\"duration_ms\":640}],"        \
    "\"costs\":{\"telephony\":0.014,\"llm\":0.011},\"csat\":4,\"nps\":9,"  \
    "\"topics\":[\"booking\",\"insurance\"],\"metrics\":[{\"name\":"       \
    "\"vapi_success\",\"value\":true}],\"metadata\":{\"crm_id\":"          \
    "\"CRM-77\"}}\n"

static void test_review__show_has_every_field(void **state)
{
    struct th_env *f = *state;
    static const char *const want[] = {
        "Conversation full-1 (tenant acme-dental)", "receptionist-v3",
        "voice, inbound", "+12025550143", "+18005550100",
        /* Times in the tenant's zone (New York), and UTC. */
        "2026-11-02 09:14:03 (America/New_York; UTC 2026-11-02T14:14:03",
        "2026-11-02 09:14:05", "2026-11-02 09:17:40 (3m 35s",
        "answered", "ring 2 s, queue 1.5 s, SIP error 486",
        "yes: warm to front-desk at 120 s, reason: insurance question",
        "telephony 0.014", "llm 0.011", "total 0.025", "CSAT 4, NPS 9",
        "booking, insurance",
        "[1] 0\xe2\x80\x93" "2.4 s", "agent    Thanks for calling Acme Dental",
        "customer I'd like to book a cleaning next Tuesday, call me on "
        "202-555-0143.",
        "[4] 120\xe2\x80\x93" "120 s  system   Warm transfer started.",
        "calendar.book", "ok", "340 ms, creates appointment",
        "sms.send", "FAILED", "error: carrier timeout",
        "stt 180 ms \xc2\xb7 llm 640 ms", "vapi_success = true",
        "booking_completed (Booking completed) = true", "rules \xc2\xb7 "
        "version ", "rationale: rule 1 matched agent turn 3",
        "evidence:  \"You're booked for Tuesday at 10am.\"",
        "Metadata", "\"crm_id\":\"CRM-77\""};
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;
    char *out;

    cs_buf_addf(&p, "%s/full.jsonl", f->dir);
    th_write(p.ptr, FULL, strlen(FULL));
    cs_buf_addf(&a, "ingest -q %s", p.ptr);
    free(run_ok(f, a.ptr, 0));
    free(run_ok(f, "score -q", 0));
    out = run_ok(f, "show full-1", 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!strstr(out, want[i]))
            fail_msg("show lacks '%s':\n%s", want[i], out);
    }
    /* The evidence turn is marked in plain text (piped: no escapes). */
    assert_non_null(strstr(out, "\xe2\x96\xb6 [3]"));
    assert_non_null(strstr(out, "\xe2\x97\x80 evidence: booking_completed"));
    assert_null(strstr(out, "\x1b["));
    free(out);
    /* As the LLM saw it: redacted turns, no caller, callee or metadata. */
    out = run_ok(f, "show full-1 --redact", 0);
    assert_non_null(strstr(out, "call me on [PHONE]."));
    assert_null(strstr(out, "202-555-0143"));
    assert_null(strstr(out, "+12025550143"));
    assert_null(strstr(out, "CRM-77"));
    assert_non_null(strstr(out, "(never sent to the LLM)"));
    free(out);
    /* A rescored metric leaves its earlier verdict in the history. */
    free(run_ok(f, "rescore -q --metric booking_completed --tenant "
                   "acme-dental", 0));
    out = run_ok(f, "show full-1 --tenant acme-dental", 0);
    assert_non_null(strstr(out, "History (earlier verdicts, newest first)"));
    free(out);
    /* On a terminal the evidence turn is highlighted. */
    cs_buf_reset(&a);
    cs_buf_addf(&a, "%s script -qec '%s show full-1' /dev/null", f->env.ptr,
                CS_BINARY);
    assert_int_equal(th_sh(a.ptr, &out), 0);
    assert_non_null(strstr(out, "\x1b[1;7m[3]"));
    free(out);
    /* Unknown ids are usage errors. */
    {
        char *err = NULL;

        assert_int_equal(th_run(f->env.ptr, "show nope", NULL, &err), 2);
        assert_non_null(strstr(err, "no conversation 'nope'"));
        free(err);
    }
    cs_buf_release(&p);
    cs_buf_release(&a);
}


/* ---- explain ---- */

/* The environment with the LLM test double in `mode` for explain. */
static char *with_double(struct th_env *f, const char *mode)
{
    const char *args[] = {"--explain-mode", mode, "--api-key", "sk-x", NULL};
    struct cs_buf e = CS_BUF_INIT;

    json_decref(th_double_stop(&f->dbl));
    th_double_start(&f->dbl, f->dir, args);
    cs_buf_addf(&e, "%sCALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1 "
                "CALLSCOPE_LLM_API_KEY=sk-x CALLSCOPE_LLM_MODEL=judge-1 ",
                f->env.ptr, f->dbl.port);
    return cs_buf_detach(&e, NULL);
}

#define EXPLAIN_ARGS                                                       \
    "explain --metric resolution_without_handoff --value false "          \
    "--tenant northwind-support --sample 12 --seed 3"

static long explanations(struct th_env *f)
{
    return th_sql_long(f->db, "SELECT count(*) FROM explanations");
}

static void test_review__explain_with_the_llm(void **state)
{
    struct th_env *f = *state;
    char *env = with_double(f, "ok"), *out = NULL, *err = NULL, *log, *v;
    json_t *e, *themes, *th;
    long total = 0;
    size_t i;

    assert_int_equal(th_run(env, EXPLAIN_ARGS " --format json", &out, &err),
                     0);
    e = json_loads(out, 0, NULL);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "evaluator")),
                        "llm:judge-1");
    assert_int_equal(json_integer_value(json_object_get(e, "sampled")), 12);
    themes = json_object_get(e, "themes");
    assert_true(json_array_size(themes) >= 1 &&
                json_array_size(themes) <= 8);
    /* Counts add up; every example is a real id of the sample sent. */
    json_array_foreach(themes, i, th) {
        size_t k;
        json_t *x;

        total += (long)json_integer_value(json_object_get(th, "count"));
        json_array_foreach(json_object_get(th, "examples"), k, x) {
            struct cs_buf q = CS_BUF_INIT;
            int found = 0;
            size_t j;
            json_t *id;

            json_array_foreach(th_json_path(e, "inputs.ids"), j, id)
                found |= json_equal(id, x);
            assert_true(found);
            cs_buf_addf(&q, "SELECT count(*) FROM results WHERE current AND "
                        "metric = 'resolution_without_handoff' AND value = "
                        "'false' AND conversation_id = '%s'",
                        json_string_value(x));
            assert_int_equal(th_sql_long(f->db, q.ptr), 1);
            cs_buf_release(&q);
        }
    }
    assert_int_equal(total, 12);
    json_decref(e);
    free(out);
    free(err);
    /* The same seed, the same sample (the stored inputs say which). */
    v = th_sql(f->db, "SELECT count(DISTINCT inputs->'ids') FROM "
                      "explanations");
    assert_string_equal(v, "1");
    free(v);
    assert_int_equal(th_run(env, EXPLAIN_ARGS, &out, NULL), 0);
    assert_non_null(strstr(out, "12 sent (redacted), explained by "
                                "llm:judge-1"));
    free(out);
    v = th_sql(f->db, "SELECT count(DISTINCT inputs->'ids') FROM "
                      "explanations");
    assert_string_equal(v, "1");
    free(v);
    /* What was sent: the data part of the user message, conversations by
     * alias, turns redacted, no id, no caller. */
    {
        struct cs_buf p = CS_BUF_INIT;

        cs_buf_addf(&p, "%s/double.log", f->dir);
        log = th_read(p.ptr);
        cs_buf_release(&p);
    }
    assert_non_null(log);
    assert_non_null(strstr(log, "<transcript id="));
    assert_non_null(strstr(log, "c01"));
    assert_non_null(strstr(log, "c12"));
    assert_non_null(strstr(log, "rationale: rule 1 matched"));
    assert_non_null(strstr(log, "callscope_explain"));
    assert_null(strstr(log, "nw-2026"));
    assert_null(strstr(log, "+1202"));
    free(log);
    /* Personal data in a turn is redacted before it leaves. */
    {
        struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;

        cs_buf_addf(&p, "%s/full.jsonl", f->dir);
        th_write(p.ptr, FULL, strlen(FULL));
        cs_buf_addf(&a, "ingest -q %s", p.ptr);
        free(run_ok(f, a.ptr, 0));
        free(run_ok(f, "score -q", 0));
        assert_int_equal(th_run(env, "explain --metric booking_completed "
                                "--value true --tenant acme-dental --from "
                                "2026-11-02 --to 2026-11-03", &out, NULL), 0);
        assert_non_null(strstr(out, "1 matching, 1 sent"));
        free(out);
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/double.log", f->dir);
        log = th_read(p.ptr);
        assert_non_null(strstr(log, "call me on [PHONE]."));
        assert_null(strstr(log, "202-555-0143"));
        free(log);
        cs_buf_release(&p);
        cs_buf_release(&a);
    }
    free(env);
}

static void expect_refused(struct th_env *f, const char *mode,
                           const char *why)
{
    char *env = with_double(f, mode), *err = NULL;
    long before = explanations(f);
    json_t *stats;

    assert_int_equal(th_run(env, EXPLAIN_ARGS, NULL, &err), 1);
    if (!strstr(err, why))
        fail_msg("%s: '%s' lacks '%s'", mode, err, why);
    /* Refused after one re-ask; nothing stored. */
    assert_int_equal(explanations(f), before);
    stats = th_double_stop(&f->dbl);
    assert_int_equal(json_integer_value(json_object_get(stats,
                                                        "chat_requests")),
                     2);
    json_decref(stats);
    free(err);
    free(env);
}

static void test_review__explain_refuses_inventions(void **state)
{
    struct th_env *f = *state;
    char *env, *out = NULL;

    expect_refused(f, "invent_id", "is not the id of a conversation sent");
    expect_refused(f, "bad_counts", "the counts add up to 14, not to the 12");
    expect_refused(f, "dup_id", "is an example of two themes");
    expect_refused(f, "too_many", "there must be 1 to 8 themes, not 9");
    /* Wrong once, right when told what was wrong: stored. */
    env = with_double(f, "bad_once");
    assert_int_equal(th_run(env, EXPLAIN_ARGS, &out, NULL), 0);
    assert_non_null(strstr(out, "stored as explanation"));
    assert_int_equal(explanations(f), 1);
    free(out);
    free(env);
}

static void test_review__explain_offline_groups_the_rules(void **state)
{
    struct th_env *f = *state;
    char *out = NULL, *v;
    json_t *e, *th;
    long total = 0;
    size_t i;

    assert_int_equal(th_run(f->env.ptr, "explain --metric "
                            "resolution_without_handoff --value false "
                            "--tenant northwind-support --format json", &out,
                            NULL), 0);
    e = json_loads(out, 0, NULL);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "evaluator")),
                        "rules");
    v = th_sql(f->db, "SELECT count(*) FROM results WHERE current AND "
                      "tenant = 'northwind-support' AND metric = "
                      "'resolution_without_handoff' AND value = 'false'");
    assert_int_equal(json_integer_value(json_object_get(e, "matched")),
                     strtol(v, NULL, 10));
    free(v);
    json_array_foreach(json_object_get(e, "themes"), i, th) {
        total += (long)json_integer_value(json_object_get(th, "count"));
        /* The rule that decided, without the turn it was in. */
        assert_true(strncmp(json_string_value(json_object_get(th, "title")),
                            "rule ", 5) == 0 ||
                    strcmp(json_string_value(json_object_get(th, "title")),
                           "Other") == 0);
    }
    assert_int_equal(total,
                     json_integer_value(json_object_get(e, "matched")));
    json_decref(e);
    free(out);
    /* No conversation with the verdict: nothing to explain, no row. */
    assert_int_equal(th_run(f->env.ptr, "explain --metric call_reason "
                            "--value billing --tenant northwind-support "
                            "--from 2026-01-01 --to 2026-01-02", &out, NULL),
                     0);
    assert_non_null(strstr(out, "nothing to explain"));
    free(out);
    assert_int_equal(explanations(f), 1);
}

#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, th_env_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_review__filters_match_independent_sql),
        ENV_TEST(test_review__bad_conditions_are_usage_errors),
        ENV_TEST(test_review__samples_are_deterministic_subsets),
        ENV_TEST(test_review__table_and_csv),
        ENV_TEST(test_review__show_has_every_field),
        ENV_TEST(test_review__explain_with_the_llm),
        ENV_TEST(test_review__explain_refuses_inventions),
        ENV_TEST(test_review__explain_offline_groups_the_rules),
    };

    return cmocka_run_group_tests_name("review", tests, NULL, NULL);
}
