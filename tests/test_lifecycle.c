/* test_lifecycle.c - retention (db prune) and tenant delete, through the
 * binary against a real PostgreSQL */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/parse.h"
#include "helpers.h"

/* The UTC date `days` from today. */
static void day_from_today(char out[11], int days)
{
    cs_format_date((int64_t)(time(NULL) / 86400) + days, out);
}

static void add_call(struct cs_buf *b, const char *tenant, const char *id,
                     const char *day, const char *hhmm)
{
    cs_buf_addf(b, "{\"id\":\"%s\",\"tenant\":\"%s\",\"started_at\":\"%sT%s:"
                "00Z\",\"spans\":[{\"name\":\"llm\",\"duration_ms\":420}],"
                "\"turns\":[{\"role\":\"customer\",\"text\":\"I want "
                "to book\"},{\"role\":\"agent\",\"text\":\"You're booked.\"}]"
                "}\n", id, tenant, day, hhmm);
}

static char *env_of(struct th_env *e)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addf(&b, "%sCALLSCOPE_RUBRICS_DIR=%s/rubrics "
                "CALLSCOPE_TEMPLATES_DIR=%s/templates ", e->env.ptr,
                CS_SOURCE_DIR, CS_SOURCE_DIR);
    return cs_buf_detach(&b, NULL);
}

static void ingest(struct th_env *e, const char *env, const char *text)
{
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/in.jsonl", e->dir);
    th_write(p.ptr, text, strlen(text));
    cs_buf_addf(&a, "ingest %s", p.ptr);
    assert_int_equal(th_run(env, a.ptr, NULL, NULL), 0);
    assert_int_equal(th_run(env, "score -q", NULL, NULL), 0);
    cs_buf_release(&p);
    cs_buf_release(&a);
}

static long rows(struct th_env *e, const char *table, const char *tenant)
{
    struct cs_buf q = CS_BUF_INIT;
    long n;

    cs_buf_addf(&q, "SELECT count(*) FROM %s WHERE tenant = '%s'", table,
                tenant);
    n = th_sql_long(e->db, q.ptr);
    cs_buf_release(&q);
    return n;
}

/*
 * Retention counts whole local days: with 30 days kept, a conversation at
 * 00:10 on the first kept day stays and one at 23:50 the day before goes,
 * with its results; another tenant keeps its 365 days; the KPIs of the
 * days kept are the same before and after.
 */
static void test_lifecycle__prune_keeps_whole_days_and_their_kpis(
    void **state)
{
    struct th_env *e = th_env_new(
        "{\"sentiment_lexicon\": \"" CS_SOURCE_DIR
        "/config/sentiment-lexicon.txt\", \"tenants\": {\"short\": "
        "{\"retention_days\": 30}, \"long\": {}}}");
    char *env = env_of(e), *before = NULL, *after = NULL, *out = NULL;
    char kept[11], gone[11], old[11], today[11];
    struct cs_buf text = CS_BUF_INIT, a = CS_BUF_INIT;

    (void)state;
    day_from_today(kept, -30);
    day_from_today(gone, -31);
    day_from_today(old, -40);
    day_from_today(today, 0);
    add_call(&text, "short", "s-kept", kept, "00:10");
    add_call(&text, "short", "s-gone", gone, "23:50");
    add_call(&text, "short", "s-old", old, "12:00");
    add_call(&text, "long", "l-old", old, "12:00");
    ingest(e, env, text.ptr);
    assert_true(th_sql_long(e->db, "SELECT count(*) FROM results WHERE "
                            "conversation_id = 's-gone'") > 0);
    cs_buf_addf(&a, "kpis --format json --no-compare --from %s --to %s",
                kept, today);
    assert_int_equal(th_run(env, a.ptr, &before, NULL), 0);
    /* A dry run counts and deletes nothing. */
    assert_int_equal(th_run(env, "db prune --dry-run", &out, NULL), 0);
    assert_non_null(strstr(out, "would delete 2 conversation(s)"));
    free(out);
    assert_int_equal(rows(e, "conversations", "short"), 3);
    assert_int_equal(th_run(env, "db prune", &out, NULL), 0);
    assert_non_null(strstr(out, "deleted 2 conversation(s)"));
    free(out);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM conversations "
                                 "WHERE id = 's-kept'"), 1);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM conversations "
                                 "WHERE id IN ('s-gone', 's-old')"), 0);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM results WHERE "
                                 "conversation_id IN ('s-gone', 's-old')"),
                     0);
    assert_int_equal(rows(e, "conversations", "long"), 1);
    assert_int_equal(th_run(env, a.ptr, &after, NULL), 0);
    assert_string_equal(before, after);
    /* Again: nothing more to delete. */
    assert_int_equal(th_run(env, "db prune", &out, NULL), 0);
    assert_non_null(strstr(out, "deleted 0 conversation(s)"));
    free(out);
    free(before);
    free(after);
    free(env);
    cs_buf_release(&text);
    cs_buf_release(&a);
    th_env_free(e);
}

/* A digest of a table's rows, to compare two states of it. */
static char *digest(struct th_env *e, const char *table)
{
    struct cs_buf q = CS_BUF_INIT;
    char *v;

    cs_buf_addf(&q, "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY "
                "t::text)), '-') FROM %s t", table);
    v = th_sql(e->db, q.ptr);
    cs_buf_release(&q);
    return v;
}

/* Whether the conversations partition of `day`'s UTC month exists. */
static long month_exists(struct th_env *e, const char *day)
{
    struct cs_buf q = CS_BUF_INIT;
    long n;

    cs_buf_addf(&q, "SELECT count(*) FROM pg_class WHERE relname IN "
                "('conversations_p' || to_char(date '%s', 'YYYYMM'), "
                "'results_p' || to_char(date '%s', 'YYYYMM'))", day, day);
    n = th_sql_long(e->db, q.ptr);
    cs_buf_release(&q);
    return n;
}

/*
 * Conversations live in monthly partitions: ingest creates the month of
 * a backfill, and a prune drops the months older than every tenant's
 * limit whole (partitions, keys and rollups), deleting the rest row by
 * row. The counts equal the dry run's, the KPIs of the days kept are
 * unchanged, the rollups equal a rebuild, and a conversation of a
 * dropped month can be ingested again.
 */
static void test_lifecycle__prune_drops_whole_months(void **state)
{
    struct th_env *e = th_env_new(
        "{\"sentiment_lexicon\": \"" CS_SOURCE_DIR
        "/config/sentiment-lexicon.txt\", \"tenants\": {\"a\": "
        "{\"retention_days\": 60}, \"b\": {\"retention_days\": 90}}}");
    char *env = env_of(e), *before = NULL, *after = NULL, *out = NULL;
    char *roll = NULL, *res_roll = NULL, *v;
    char d200[11], d150[11], d80[11], d70[11], d10[11], today[11];
    struct cs_buf text = CS_BUF_INIT, a = CS_BUF_INIT;

    (void)state;
    day_from_today(d200, -200);
    day_from_today(d150, -150);
    day_from_today(d80, -80);
    day_from_today(d70, -70);
    day_from_today(d10, -10);
    day_from_today(today, 0);
    add_call(&text, "a", "a-200", d200, "12:00");
    add_call(&text, "b", "b-200", d200, "13:00");
    add_call(&text, "a", "a-150", d150, "12:00");
    add_call(&text, "a", "a-80", d80, "12:00");
    add_call(&text, "b", "b-80", d80, "12:00");
    add_call(&text, "a", "a-70", d70, "12:00");
    add_call(&text, "a", "a-10", d10, "12:00");
    add_call(&text, "b", "b-10", d10, "12:00");
    ingest(e, env, text.ptr);
    /* A conversation re-ingested with its start in another month takes
     * its results along (checked below, with the rollups against a
     * rebuild). */
    cs_buf_reset(&text);
    add_call(&text, "b", "b-10", d80, "14:00");
    ingest(e, env, text.ptr);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM results r "
                                 "JOIN conversations c ON c.tenant = "
                                 "r.tenant AND c.id = r.conversation_id "
                                 "AND c.started_at = r.started_at WHERE "
                                 "c.id = 'b-10' AND r.tableoid::regclass::"
                                 "text = 'results_p' || to_char("
                                 "c.started_at AT TIME ZONE 'UTC', "
                                 "'YYYYMM')"),
                     th_sql_long(e->db, "SELECT count(*) FROM results "
                                 "WHERE conversation_id = 'b-10'"));
    assert_true(th_sql_long(e->db, "SELECT count(*) FROM results WHERE "
                            "conversation_id = 'b-10'") > 0);
    /* Old months were created by ingest, on demand, and db status lists
     * them with the two ahead. */
    assert_int_equal(month_exists(e, d200), 2);
    assert_int_equal(th_run(env, "db status", &out, NULL), 0);
    v = th_sql(e->db, "SELECT 'months of conversations: ' || count(*) || "
                      "' (' || to_char(min(d), 'YYYY-MM') || ' to ' || "
                      "to_char(max(d), 'YYYY-MM') || ', UTC)' FROM (SELECT "
                      "DISTINCT date_trunc('month', started_at AT TIME ZONE "
                      "'UTC') AS d FROM conversations UNION SELECT "
                      "date_trunc('month', now() AT TIME ZONE 'UTC') + k * "
                      "interval '1 month' FROM generate_series(0, 2) k) m");
    assert_non_null(strstr(out, v));
    free(v);
    free(out);
    assert_int_equal(month_exists(e, d150), 2);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM results r "
                                 "JOIN conversations c ON c.tenant = "
                                 "r.tenant AND c.id = r.conversation_id "
                                 "AND c.started_at = r.started_at"),
                     th_sql_long(e->db, "SELECT count(*) FROM results"));
    /* Tenant b keeps -80 and -10: its figures stay. */
    cs_buf_addf(&a, "kpis --format json --no-compare --tenant b --from %s "
                "--to %s", d80, today);
    assert_int_equal(th_run(env, a.ptr, &before, NULL), 0);

    assert_int_equal(th_run(env, "db prune --dry-run", &out, NULL), 0);
    /* a: -200, -150, -80, -70 (60 days kept); b: -200 (90 kept) */
    assert_non_null(strstr(out, "would delete 5 conversation(s)"));
    assert_non_null(strstr(out, "month(s)"));
    free(out);
    assert_int_equal(month_exists(e, d200), 2);
    assert_int_equal(th_run(env, "db prune", &out, NULL), 0);
    assert_non_null(strstr(out, "deleted 5 conversation(s)"));
    assert_non_null(strstr(out, "whole month(s) of conversations dropped"));
    free(out);
    /* The months before both limits are gone whole, with their rows of
     * the keys and the rollups; the later ones are pruned row by row. */
    assert_int_equal(month_exists(e, d200), 0);
    assert_int_equal(month_exists(e, d150), 0);
    assert_int_equal(month_exists(e, d80), 2);
    v = th_sql(e->db, "SELECT string_agg(id, ',' ORDER BY id) FROM "
                      "conversations");
    assert_string_equal(v, "a-10,b-10,b-80");
    free(v);
    v = th_sql(e->db, "SELECT string_agg(id, ',' ORDER BY id) FROM "
                      "conversation_keys");
    assert_string_equal(v, "a-10,b-10,b-80");
    free(v);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM results WHERE "
                                 "conversation_id NOT IN ('a-10', 'b-10', "
                                 "'b-80')"), 0);
    assert_int_equal(th_run(env, a.ptr, &after, NULL), 0);
    assert_string_equal(before, after);
    /* The span histograms' deltas (not compacted) of the months dropped
     * went with them. */
    assert_true(th_sql_long(e->db, "SELECT count(*) FROM kpi_span_delta")
                > 0);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM "
                                 "kpi_span_delta WHERE bucket < (SELECT "
                                 "date_trunc('month', min(started_at) AT "
                                 "TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM "
                                 "conversations)"), 0);
    free(before);
    before = NULL;
    roll = digest(e, "kpi_rollup");
    res_roll = digest(e, "kpi_result_rollup");
    assert_int_equal(th_run(env, "db rebuild-rollups", NULL, NULL), 0);
    v = digest(e, "kpi_rollup");
    assert_string_equal(v, roll);
    free(v);
    v = digest(e, "kpi_result_rollup");
    assert_string_equal(v, res_roll);
    free(v);
    assert_int_equal(th_run(env, a.ptr, &before, NULL), 0);
    assert_string_equal(before, after);
    /* A dropped month comes back when a conversation of it comes in. */
    cs_buf_reset(&text);
    add_call(&text, "b", "b-200", d200, "13:00");
    ingest(e, env, text.ptr);
    assert_int_equal(month_exists(e, d200), 2);
    assert_int_equal(rows(e, "conversations", "b"), 3);
    free(roll);
    free(res_roll);
    free(before);
    free(after);
    free(env);
    cs_buf_release(&text);
    cs_buf_release(&a);
    th_env_free(e);
}

/*
 * Removing a tenant removes every one of its rows and its own report
 * files, says what it removed, and leaves the other tenant as it was.
 */
static void test_lifecycle__tenant_delete_removes_it_all(void **state)
{
    struct th_env *e = th_env_new(
        "{\"sentiment_lexicon\": \"" CS_SOURCE_DIR
        "/config/sentiment-lexicon.txt\"}");
    char *env = env_of(e), *out = NULL, *err = NULL;
    struct cs_buf text = CS_BUF_INIT, p = CS_BUF_INIT;
    long other_conv, other_res;
    char day[11];

    (void)state;
    day_from_today(day, -3);
    add_call(&text, "gone-co", "g-1", day, "10:00");
    add_call(&text, "gone-co", "g-2", day, "11:00");
    add_call(&text, "kept-co", "k-1", day, "10:00");
    ingest(e, env, text.ptr);
    cs_buf_addf(&p, "report daily --date %s", day);
    assert_int_equal(th_run(env, p.ptr, &out, NULL), 0);
    free(out);
    other_conv = rows(e, "conversations", "kept-co");
    other_res = rows(e, "results", "kept-co");
    assert_int_equal(th_run(env, "tenant delete gone-co", NULL, &err), 2);
    assert_non_null(strstr(err, "--yes"));
    free(err);
    assert_int_equal(rows(e, "conversations", "gone-co"), 2);
    assert_int_equal(th_run(env, "tenant delete nobody --yes", NULL, &err),
                     2);
    free(err);
    assert_int_equal(th_run(env, "tenant delete gone-co --yes", &out, NULL),
                     0);
    assert_non_null(strstr(out, "removed tenant 'gone-co': 2 "
                                "conversation(s)"));
    assert_non_null(strstr(out, "1 report file(s)"));
    free(out);
    for (const char *const *t = (const char *const[]){"conversations",
                                                      "results",
                                                      "deliveries", "alerts",
                                                      "explanations", NULL};
         *t; t++)
        assert_int_equal(rows(e, *t, "gone-co"), 0);
    assert_int_equal(rows(e, "conversations", "kept-co"), other_conv);
    assert_int_equal(rows(e, "results", "kept-co"), other_res);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/daily/%s/daily-gone-co.pdf", e->dir, day);
    assert_false(cs_fs_exists(p.ptr));
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/daily/%s/daily-kept-co.pdf", e->dir, day);
    assert_true(cs_fs_exists(p.ptr));
    free(env);
    cs_buf_release(&text);
    cs_buf_release(&p);
    th_env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_lifecycle__prune_keeps_whole_days_and_their_kpis),
        cmocka_unit_test(test_lifecycle__prune_drops_whole_months),
        cmocka_unit_test(test_lifecycle__tenant_delete_removes_it_all),
    };

    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
