/* test_rollup.c - the KPI rollups: the same figures as the exact scan, and
 * what ingest, re-ingest, scoring, prune and tenant delete leave equals a
 * rebuild, through the binary against a real PostgreSQL */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/parse.h"
#include "store/span_hist.h"
#include "helpers.h"

#define LEXICON                                                          \
    "\"sentiment_lexicon\": \"" CS_SOURCE_DIR                            \
    "/config/sentiment-lexicon.txt\""

static int setup(void **state)
{
    *state = th_env_new("{" LEXICON ", \"tenants\": {\"default\": "
                        "{\"human_cost_per_conversation\": 4.5, "
                        "\"platform_fee\": 250}}}");
    return 0;
}

static char *env_of(const struct th_env *e, int scan)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addf(&b, "%sCALLSCOPE_RUBRICS_DIR=%s/rubrics "
                "CALLSCOPE_KPI_SCAN=%d ", e->env.ptr, CS_SOURCE_DIR, scan);
    return cs_buf_detach(&b, NULL);
}

static char *run_ok(const struct th_env *e, int scan, const char *args)
{
    char *env = env_of(e, scan), *out = NULL, *err = NULL;
    int rc = th_run(env, args, &out, &err);

    if (rc != 0)
        fail_msg("'%s' exited %d: %s", args, rc, err);
    free(env);
    free(err);
    return out;
}

static void ingest_file(const struct th_env *e, const char *path)
{
    struct cs_buf a = CS_BUF_INIT;

    cs_buf_addf(&a, "ingest -q %s", path);
    free(run_ok(e, 0, a.ptr));
    cs_buf_release(&a);
}

static void iso(char out[32], time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Conversation `i` of `tenant` in version `v` (0 first, 1 changed): a
 * re-ingested version moves to another day and time (across 15-minute
 * marks and local days), agent, outcome, durations, spans and costs.
 */
static void conv(struct cs_buf *b, const char *tenant, int i, int v)
{
    /* 2026-10-20 00:00 UTC, then spread over 20 days either side. */
    time_t t0 = (time_t)1792454400;
    time_t start = t0 + (time_t)(((i * 7 + v * 3) % 41) - 20) * 86400 +
                   (time_t)((i * 3607 + v * 5431) % 86400);
    int answered = i % 9 != 0 && i % 11 != 0;
    const char *outcome = !answered ? (i % 9 == 0 ? "abandoned" : "failed")
                                    : "answered";
    char s[32], a[32], en[32];

    if (v && i % 4 == 1)
        outcome = "abandoned", answered = 0;
    iso(s, start);
    iso(a, start + i % 7);
    iso(en, start + 60 + i * 3 + v * 17);
    cs_buf_addf(b, "{\"id\":\"c-%d\",\"tenant\":\"%s\",", i, tenant);
    if (i % 4 || v)
        cs_buf_addf(b, "\"agent\":\"bot-%c\",",
                    v ? (i % 3 ? 'b' : 'c') : 'a');
    cs_buf_addf(b, "\"direction\":\"%s\",\"started_at\":\"%s\","
                "\"outcome\":\"%s\",\"ring_s\":%.1f,",
                i % 5 == 0 ? "outbound" : "inbound", s, outcome,
                (double)(i % 7) * 0.7);
    if (answered)
        cs_buf_addf(b, "\"answered_at\":\"%s\",", a);
    cs_buf_addf(b, "\"ended_at\":\"%s\",", en);
    if (i % 8 == 0)
        cs_buf_addf(b, "\"queue_wait_s\":%.2f,", (double)(i % 13) * 1.37);
    if (answered && i % 6 == v)
        cs_buf_adds(b, "\"handoff\":{\"type\":\"warm\",\"target\":\"desk\"},");
    if (i % 4 == 0)
        cs_buf_addf(b, "\"csat\":%d,", 1 + (i + v) % 5);
    if (i % 7 == 0)
        cs_buf_addf(b, "\"nps\":%d,", (i + v) % 11);
    cs_buf_addf(b, "\"tool_calls\":[{\"name\":\"calendar.book\","
                "\"ok\":%s,\"latency_ms\":%d,\"creates\":\"appointment\"}],",
                (i + v) % 5 ? "true" : "false", 200 + i % 90);
    cs_buf_addf(b, "\"spans\":[{\"name\":\"llm\",\"duration_ms\":%d},"
                "{\"name\":\"llm\",\"duration_ms\":%d},"
                "{\"name\":\"stt\",\"duration_ms\":%d.5}],",
                300 + (i * 37 + v * 11) % 900, 350 + i % 40,
                100 + (i + v) % 50);
    cs_buf_addf(b, "\"costs\":{\"llm\":%.4f,\"stt\":0.0021,"
                "\"telephony\":%.3f},", 0.001 * (i % 13) + 0.0003 * v,
                0.014 * (1 + i % 3));
    if (answered)
        cs_buf_adds(b, "\"turns\":[{\"role\":\"customer\",\"text\":\"I "
                    "want to book a cleaning\"},{\"role\":\"agent\","
                    "\"text\":\"You're booked for Tuesday.\"}]}\n");
    else
        cs_buf_adds(b, "\"turns\":[]}\n");
}

/* Writes conversations [lo, hi) of each tenant in version v. */
static char *write_convs(const struct th_env *e, const char *name, int lo,
                         int hi, int v)
{
    static const char *const tenants[] = {"north", "south"};
    struct cs_buf b = CS_BUF_INIT, p = CS_BUF_INIT;

    for (int t = 0; t < 2; t++) {
        for (int i = lo; i < hi; i++)
            conv(&b, tenants[t], i, v);
    }
    cs_buf_addf(&p, "%s/%s.jsonl", e->dir, name);
    th_write(p.ptr, b.ptr, b.len);
    cs_buf_release(&b);
    return cs_buf_detach(&p, NULL);
}

/* The histograms of `tbl` with the deltas not yet compacted folded in
 * (binned by `width`), as compaction would leave them. */
#define FOLDED(tbl, width)                                               \
    "SELECT tenant, bucket, agent, name, array_agg(v ORDER BY v) AS ms," \
    " array_agg(c ORDER BY v) AS n FROM (SELECT tenant, bucket, agent,"  \
    " name, v, sum(c)::bigint AS c FROM (SELECT tenant, bucket, agent,"  \
    " name, x.v, x.c FROM " tbl ", unnest(ms, n) AS x(v, c) UNION ALL"   \
    " SELECT tenant, date_bin('" width "', bucket, '2000-01-01 00:00+00')," \
    " agent, name, x.v, x.c FROM kpi_span_delta, unnest(ms, n) AS"       \
    " x(v, c)) u GROUP BY 1, 2, 3, 4, 5 HAVING sum(c) <> 0) f"           \
    " GROUP BY 1, 2, 3, 4"

/* The rollups, each as a query whose rows compare. */
static const char *const rollups[] = {
    "SELECT * FROM kpi_rollup",
    FOLDED("kpi_span_d", "24 hours"),
    FOLDED("kpi_span_h", "1 hour"),
    "SELECT * FROM kpi_result_rollup",
};

/* One period read from days, hours and conversations alike. */
#define PIECES_ARGS "kpis --format json --from 2026-09-25 --to 2026-11-15" \
                    " --tz +05:45 --by day"

#define N_ROLLUPS (sizeof(rollups) / sizeof(rollups[0]))

/* The rows of rollup `i` that differ from its copy snap_<i>. */
static long differing(const char *db, size_t i)
{
    struct cs_buf q = CS_BUF_INIT;
    long n;

    cs_buf_addf(&q, "SELECT count(*) FROM ((SELECT * FROM snap_%zu EXCEPT "
                "ALL %s) UNION ALL (%s EXCEPT ALL SELECT * FROM snap_%zu)) d",
                i, rollups[i], rollups[i], i);
    n = th_sql_long(db, q.ptr);
    cs_buf_release(&q);
    return n;
}

static void expect_snap_equal(const struct th_env *e, const char *after)
{
    for (size_t i = 0; i < N_ROLLUPS; i++) {
        if (differing(e->db, i) != 0)
            fail_msg("%s: %ld rows differ after %s", rollups[i],
                     differing(e->db, i), after);
    }
}

/* What triggers maintained (deltas folded) equals what compaction leaves,
 * and that what a rebuild computes (of one tenant or all), row for row;
 * the KPIs read before compaction, after it and after the rebuild are
 * the same text. */
static void expect_rebuild_equal(const struct th_env *e, const char *tenant)
{
    struct cs_buf a = CS_BUF_INIT, q = CS_BUF_INIT;
    char *uncompacted, *compacted, *rebuilt;

    for (size_t i = 0; i < N_ROLLUPS; i++) {
        cs_buf_reset(&q);
        cs_buf_addf(&q, "DROP TABLE IF EXISTS snap_%zu; CREATE TABLE "
                    "snap_%zu AS %s", i, i, rollups[i]);
        free(th_sql(e->db, q.ptr));
    }
    uncompacted = run_ok(e, 0, PIECES_ARGS);
    free(run_ok(e, 0, "db compact-rollups"));
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM "
                                        "kpi_span_delta"), 0);
    expect_snap_equal(e, "compaction");
    compacted = run_ok(e, 0, PIECES_ARGS);
    assert_string_equal(uncompacted, compacted);
    cs_buf_addf(&a, "db rebuild-rollups%s%s", tenant ? " --tenant " : "",
                tenant ? tenant : "");
    free(run_ok(e, 0, a.ptr));
    expect_snap_equal(e, "a rebuild");
    rebuilt = run_ok(e, 0, PIECES_ARGS);
    assert_string_equal(uncompacted, rebuilt);
    free(uncompacted);
    free(compacted);
    free(rebuilt);
    /* Nothing left that holds nothing. */
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM kpi_rollup "
                                        "WHERE conversations = 0"), 0);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM (SELECT n "
                                        "FROM kpi_span_d UNION ALL SELECT n "
                                        "FROM kpi_span_h) h WHERE "
                                        "cardinality(n) = 0 OR 0 >= ANY(n)"),
                     0);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM "
                                        "kpi_result_rollup WHERE n <= 0"),
                     0);
    cs_buf_release(&a);
    cs_buf_release(&q);
}

/* `kpis --format json ARGS` is the same text from the rollups and from the
 * exact scan. */
static void expect_same_kpis(const struct th_env *e, const char *args)
{
    struct cs_buf a = CS_BUF_INIT;
    char *roll, *scan;

    cs_buf_addf(&a, "kpis --format json %s", args);
    roll = run_ok(e, 0, a.ptr);
    scan = run_ok(e, 1, a.ptr);
    if (strcmp(roll, scan) != 0)
        fail_msg("kpis %s: the rollups and the scan differ:\n%s\n---\n%s",
                 args, roll, scan);
    free(roll);
    free(scan);
    cs_buf_release(&a);
}

static const char *const zones[] = {"UTC", "+05:45", "-08:00",
                                    "America/Los_Angeles", "Europe/Berlin"};

static const char *const breakdowns[] = {"", "--by day", "--by agent"};

static void expect_same_everywhere(const struct th_env *e, const char *from,
                                   const char *to)
{
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        for (size_t b = 0; b < 3; b++) {
            struct cs_buf a = CS_BUF_INIT;

            cs_buf_addf(&a, "--from %s --to %s --tz %s %s", from, to,
                        zones[z], breakdowns[b]);
            expect_same_kpis(e, a.ptr);
            cs_buf_release(&a);
        }
    }
}

/*
 * The real-dev dialogues, scored by the rules: `kpis --format json` is the
 * same from the rollups as from the scan in UTC, +05:45, -08:00, two DST
 * zones, whole and by day or agent, and with a period of its own previous
 * period; the rollups are what kpis reads (a changed row changes the
 * figures, a rebuild puts them back), and the migration builds them from
 * the stored data.
 */
static void test_rollup__kpis_equal_the_exact_scan_on_real_dev(void **state)
{
    struct th_env *e = *state;
    char *data = th_src("tests/data/real-dev/conversations.jsonl");
    char *before, *changed, *after;
    const char *args = "kpis --format json --from 2026-09-01 --to "
                       "2026-11-21 --tz UTC";

    ingest_file(e, data);
    free(run_ok(e, 0, "score -q"));
    expect_same_everywhere(e, "2026-09-01", "2026-11-21");
    expect_same_kpis(e, "--from 2026-10-01 --to 2026-11-01 --tz "
                        "America/New_York --movers");
    assert_int_equal(th_sql_long(e->db, "SELECT sum(conversations) FROM "
                                        "kpi_rollup"), 1040);
    assert_int_equal(th_sql_long(e->db, "SELECT sum(n) FROM "
                                        "kpi_result_rollup"),
                     th_sql_long(e->db, "SELECT count(*) FROM results "
                                        "WHERE current"));
    assert_true(th_sql_long(e->db, "SELECT count(*) FROM results") > 0);
    before = run_ok(e, 0, args);
    free(th_sql(e->db, "UPDATE kpi_rollup SET conversations = "
                       "conversations + 1000 WHERE bucket = (SELECT "
                       "min(bucket) FROM kpi_rollup)"));
    changed = run_ok(e, 0, args);
    assert_string_not_equal(before, changed);
    free(run_ok(e, 0, "db rebuild-rollups"));
    after = run_ok(e, 0, args);
    assert_string_equal(before, after);
    free(after);
    /* An installation from before the rollups: the migration builds them
     * from what is stored. */
    free(th_sql(e->db, "DROP TABLE kpi_rollup, kpi_span_d, kpi_span_h, "
                       "kpi_result_rollup;"
                       "DROP FUNCTION cs_rollup_trigger, "
                       "cs_rollup_results_trigger CASCADE;"
                       "DROP FUNCTION cs_rollup_sql, cs_rollup_span_sql, cs_rollup_hist_sql, "
                       "cs_rollup_result_sql, cs_rollup_rebuild;"
                       "DROP TABLE kpi_span_delta;"
                       "DROP FUNCTION cs_rollup_spans_cte, "
                       "cs_rollup_compact;"
                       "DELETE FROM schema_migrations WHERE version "
                       "IN (30, 51)"));
    after = run_ok(e, 0, args);
    assert_string_equal(before, after);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM "
                                        "information_schema.triggers WHERE "
                                        "trigger_name LIKE '%rollup%'"), 6);
    free(before);
    free(changed);
    free(after);
    free(data);
}

static int days_ago(const char *date)
{
    int64_t d = 0;

    assert_int_equal(cs_parse_date(date, &d), 0);
    return (int)((int64_t)(time(NULL) / 86400) - d);
}

/*
 * A sequence of ingests, re-ingests of changed conversations (moved in
 * time, agent, outcome, spans, costs), a second copy of a file, scoring,
 * a prune and a tenant delete: after each step the rollups the triggers
 * kept equal a rebuild, and the KPIs equal the scan.
 */
static void test_rollup__incremental_equals_rebuilt(void **state)
{
    struct cs_buf cfg = CS_BUF_INIT;
    struct th_env *e;
    char *first, *second, *changed;
    char *out;

    (void)state;
    /* Retention for "north" up to 2026-10-12 (local days of UTC). */
    cs_buf_addf(&cfg, "{" LEXICON ", \"tenants\": {\"north\": "
                "{\"retention_days\": %d}}}", days_ago("2026-10-12"));
    e = th_env_new(cfg.ptr);
    first = write_convs(e, "first", 0, 150, 0);
    second = write_convs(e, "second", 100, 220, 0);
    changed = write_convs(e, "changed", 40, 170, 1);
    ingest_file(e, first);
    expect_rebuild_equal(e, NULL);
    ingest_file(e, second);     /* 50 of them again, the same */
    ingest_file(e, changed);    /* 130 replaced by changed versions */
    /* Uncompacted: deltas of both signs over compacted histograms. */
    assert_true(th_sql_long(e->db, "SELECT count(*) FROM kpi_span_delta "
                                   "WHERE 0 > ANY(n)") > 0);
    expect_same_everywhere(e, "2026-09-25", "2026-11-15");
    expect_rebuild_equal(e, NULL);
    free(run_ok(e, 0, "score -q"));
    assert_true(th_sql_long(e->db, "SELECT sum(n) FROM kpi_result_rollup")
                > 0);
    expect_rebuild_equal(e, NULL);
    expect_same_everywhere(e, "2026-09-25", "2026-11-15");
    /* Changed versions again: their results move with them. */
    ingest_file(e, first);
    expect_rebuild_equal(e, NULL);
    free(run_ok(e, 0, "rescore --metric booking_completed -q"));
    expect_rebuild_equal(e, "south");
    out = run_ok(e, 0, "db prune");
    assert_non_null(strstr(out, "deleted"));
    assert_true(th_sql_long(e->db, "SELECT count(*) FROM conversations "
                                   "WHERE tenant = 'north'") > 0);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM kpi_rollup "
                                        "WHERE tenant = 'north' AND bucket"
                                        " < '2026-10-12'"), 0);
    free(out);
    expect_same_everywhere(e, "2026-09-25", "2026-11-15");
    expect_rebuild_equal(e, NULL);
    /* Deltas that take a whole tenant away, then a compaction that
     * leaves nothing of it. */
    ingest_file(e, changed);
    free(run_ok(e, 0, "tenant delete south --yes"));
    expect_same_kpis(e, "--from 2026-09-25 --to 2026-11-15 --tz +05:45 "
                        "--by agent");
    free(run_ok(e, 0, "db compact-rollups"));
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM kpi_rollup "
                                        "WHERE tenant = 'south'"), 0);
    assert_int_equal(th_sql_long(e->db, "SELECT (SELECT count(*) FROM "
                                        "kpi_span_d WHERE tenant = 'south')"
                                        " + (SELECT count(*) FROM kpi_span_h"
                                        " WHERE tenant = 'south')"), 0);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM "
                                        "kpi_result_rollup WHERE tenant = "
                                        "'south'"), 0);
    expect_rebuild_equal(e, NULL);
    free(first);
    free(second);
    free(changed);
    cs_buf_release(&cfg);
    th_env_free(e);
}

/* The nearest-rank percentile of `v` (sorted copies), as percentile_disc. */
static double brute_pct(const double *v, size_t n, double p)
{
    double rank = ceil(p * (double)n);

    return v[(size_t)(rank < 1 ? 1 : rank) - 1];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void put32(struct cs_buf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};

    cs_buf_add(b, c, 4);
}

/* One element as array_send writes it: its length, 8 big-endian bytes. */
static void put_elem(struct cs_buf *b, uint64_t v)
{
    put32(b, 8);
    put32(b, (uint32_t)(v >> 32));
    put32(b, (uint32_t)v);
}

/* A one-dimensional array's header: no NULLs, lower bound 1. */
static void put_header(struct cs_buf *b, uint32_t oid, uint32_t n)
{
    put32(b, 1);
    put32(b, 0);
    put32(b, oid);
    put32(b, n);
    put32(b, 1);
}

static unsigned next_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

/*
 * Histograms merged in the client give percentile_disc's values: runs of
 * random durations (many repeated, some fractional, across runs) merged
 * against a sort of every span; runs out of order sorted; the binary
 * arrays of PostgreSQL decoded, and anything else refused.
 */
static void test_rollup__merged_histograms_give_exact_percentiles(void **state)
{
    static const double ps[3] = {0.5, 0.95, 0.99};
    struct cs_span_hist h;
    unsigned seed = 7;

    (void)state;
    cs_span_hist_init(&h);
    for (int round = 0; round < 200; round++) {
        size_t runs = 1 + (size_t)round % 37, total = 0;
        double *all = malloc(sizeof(double) * 40000);
        double out[3];
        long count;

        for (size_t r = 0; r < runs; r++) {
            double ms[300];
            int64_t n[300];
            size_t len = 0;
            double v = (double)((int)next_rand(&seed) % 50);

            for (int k = (int)next_rand(&seed) % 300; k > 0; k--) {
                v += (double)((int)next_rand(&seed) % 4) +
                     ((int)next_rand(&seed) % 5 == 0 ? 0.5 : 0);
                if (len && ms[len - 1] == v)
                    continue;
                ms[len] = v;
                n[len] = 1 + (int)next_rand(&seed) % (round % 3 ? 3 : 40);
                for (int64_t j = 0; j < n[len] && total < 40000; j++)
                    all[total++] = v;
                len++;
            }
            if (round % 10 == 9 && len > 1) {   /* not ascending */
                double t = ms[0];
                int64_t tn = n[0];

                ms[0] = ms[len - 1];
                n[0] = n[len - 1];
                ms[len - 1] = t;
                n[len - 1] = tn;
            }
            cs_span_hist_add(&h, ms, n, len);
        }
        if (total >= 40000) {
            free(all);
            cs_span_hist_reset(&h);
            continue;
        }
        cs_span_hist_percentiles(&h, ps, 3, out, &count);
        assert_int_equal(count, (long)total);
        qsort(all, total, sizeof(*all), cmp_double);
        for (int j = 0; j < 3 && total; j++)
            assert_true(out[j] == brute_pct(all, total, ps[j]));
        free(all);
        cs_span_hist_reset(&h);
    }
    {
        /* Deltas: counts of a value summed across runs, values that sum
         * to 0 gone (first, inside and last), negative counts. */
        const double m1[4] = {1, 2, 3, 5}, m2[3] = {1, 3, 4};
        const double m3[2] = {4, 5};
        const int64_t n1[4] = {2, 1, 1, 1}, n2[3] = {-2, -1, 3};
        const int64_t n3[2] = {-1, -1};
        double out[3];
        long count;

        cs_span_hist_add(&h, m1, n1, 4);
        cs_span_hist_add(&h, m2, n2, 3);
        cs_span_hist_add(&h, m3, n3, 2);
        cs_span_hist_percentiles(&h, ps, 3, out, &count);
        assert_int_equal(count, 3);     /* 2 once, 4 twice */
        assert_int_equal(h.len, 2);
        assert_true(out[0] == 4 && out[1] == 4 && out[2] == 4);
        cs_span_hist_reset(&h);
        cs_span_hist_add(&h, m1, n1, 4);
        cs_span_hist_add(&h, m2, n2, 3);
        cs_span_hist_add(&h, m1 + 1, n2 + 1, 1);
        cs_span_hist_add(&h, m3 + 1, n3, 1);
        cs_span_hist_add(&h, m2 + 2, n3, 1);
        cs_span_hist_add(&h, m2 + 2, n3, 1);
        cs_span_hist_add(&h, m2 + 2, n3, 1);
        cs_span_hist_percentiles(&h, ps, 3, out, &count);
        assert_int_equal(count, 0);
        assert_int_equal(h.len, 0);
        cs_span_hist_reset(&h);
    }
    {
        struct cs_buf m = CS_BUF_INIT, n = CS_BUF_INIT;
        const double vals[3] = {0.25, 180, 1e300};
        double out[3];
        long count;
        uint64_t bits;

        put_header(&m, 701, 3);
        put_header(&n, 20, 3);
        for (int i = 0; i < 3; i++) {
            memcpy(&bits, &vals[i], sizeof(bits));
            put_elem(&m, bits);
            put_elem(&n, (uint64_t)(i == 1 ? 97 : 1));
        }
        assert_int_equal(cs_span_hist_add_pg(&h, m.ptr, m.len, n.ptr, n.len,
                                             NULL), 0);
        cs_span_hist_percentiles(&h, ps, 3, out, &count);
        assert_int_equal(count, 99);
        assert_true(out[0] == 180 && out[1] == 180 && out[2] == 1e300);
        cs_span_hist_reset(&h);
        /* an int8[] where the float8[] belongs; lengths that differ */
        assert_int_equal(cs_span_hist_add_pg(&h, n.ptr, n.len, n.ptr, n.len,
                                             NULL), CS_EDB);
        assert_int_equal(cs_span_hist_add_pg(&h, m.ptr, m.len - 12, n.ptr,
                                             n.len, NULL), CS_EDB);
        assert_int_equal(h.len, 0);
        cs_span_hist_percentiles(&h, ps, 3, out, &count);
        assert_int_equal(count, 0);
        cs_buf_release(&m);
        cs_buf_release(&n);
    }
    cs_span_hist_release(&h);
}

/* The command's usage and exit codes. */
static void test_rollup__rebuild_command_usage(void **state)
{
    struct th_env *e = *state;
    char *env = env_of(e, 0), *out = NULL, *err = NULL;

    assert_int_equal(th_run(env, "db rebuild-rollups --help", &out, NULL),
                     0);
    assert_non_null(strstr(out, "--tenant T"));
    assert_non_null(strstr(out, "Exit: 0 ok, 1 error, 2 usage."));
    free(out);
    out = NULL;
    assert_int_equal(th_run(env, "db rebuild-rollups --bogus", NULL, &err),
                     2);
    free(err);
    assert_int_equal(th_run(env, "db rebuild-rollups --tenant nobody", &out,
                            NULL), 0);
    assert_non_null(strstr(out, "0 bucket(s)"));
    free(out);
    free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_rollup__kpis_equal_the_exact_scan_on_real_dev, setup,
            th_env_teardown),
        cmocka_unit_test(test_rollup__incremental_equals_rebuilt),
        TH_ENV_TEST(test_rollup__rebuild_command_usage),
        cmocka_unit_test(test_rollup__merged_histograms_give_exact_percentiles),
    };

    return cmocka_run_group_tests_name("rollup", tests, NULL, NULL);
}
