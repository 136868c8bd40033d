/* test_kpi.c - KPIs: unit checks of the arithmetic, and the real binary on
 * the real-dev dialogues against an independent implementation's figures */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/parse.h"
#include "config/config.h"
#include "helpers.h"
#include "kpi/kpi.h"
#include "kpi/movers.h"

static const char *config_text =
    "{\"tenants\": {"
    "  \"default\": {\"timezone\": \"UTC\", \"human_cost_per_conversation\":"
    "                4.5, \"platform_fee\": 250},"
    "  \"hourly\": {\"human_hourly_rate\": 30, \"platform_fee\": 3100},"
    "  \"ny\": {\"timezone\": \"America/New_York\"}},"
    " \"alerts\": {\"answer_rate\": {\"warning\": 0.99, \"critical\": 0.5}}}";

static int setup(void **state)
{
    *state = th_env_new(config_text);
    return 0;
}

static void ingest_text(struct th_env *f, const char *text)
{
    struct cs_buf p = CS_BUF_INIT, args = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/in.jsonl", f->dir);
    th_write(p.ptr, text, strlen(text));
    cs_buf_addf(&args, "ingest %s", p.ptr);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    cs_buf_release(&p);
    cs_buf_release(&args);
}

static json_t *kpis_json(struct th_env *f, const char *args)
{
    struct cs_buf a = CS_BUF_INIT;
    char *out = NULL, *err = NULL;
    json_error_t jerr;
    json_t *j;
    int rc;

    cs_buf_addf(&a, "kpis --format json %s", args);
    rc = th_run(f->env.ptr, a.ptr, &out, &err);
    if (rc != 0)
        fail_msg("kpis exited %d: %s", rc, err);
    j = json_loads(out, 0, &jerr);
    if (!j)
        fail_msg("kpis printed invalid JSON: %s", jerr.text);
    free(out);
    free(err);
    cs_buf_release(&a);
    return j;
}

/* Every value of `want` must be in `got` (extra keys in `got` are fine). */
static void expect_subset(const json_t *want, const json_t *got,
                          const char *path)
{
    if (json_is_object(want)) {
        const char *k;
        json_t *v;

        if (!json_is_object(got))
            fail_msg("%s: expected an object", path);
        json_object_foreach((json_t *)want, k, v) {
            struct cs_buf p = CS_BUF_INIT;

            cs_buf_addf(&p, "%s.%s", path, k);
            if (!json_object_get(got, k))
                fail_msg("%s: missing", p.ptr);
            expect_subset(v, json_object_get(got, k), p.ptr);
            cs_buf_release(&p);
        }
    } else if (json_is_number(want)) {
        double a = json_number_value(want), b;

        if (!json_is_number(got))
            fail_msg("%s: expected %.17g, got a non-number", path, a);
        b = json_number_value(got);
        if (fabs(a - b) > 1e-9 * fmax(1.0, fabs(a)))
            fail_msg("%s: expected %.17g, got %.17g", path, a, b);
    } else if (json_is_null(want)) {
        if (!json_is_null(got))
            fail_msg("%s: expected null", path);
    } else if (!json_equal(want, got)) {
        fail_msg("%s: values differ", path);
    }
}

static void test_kpi__real_dev_matches_independent_figures(void **state)
{
    struct th_env *f = *state;
    struct cs_buf args = CS_BUF_INIT;
    char *data = th_src("tests/data/real-dev/conversations.jsonl");
    char *exp_path = th_src("tests/data/real-dev/kpis_expected.json");
    json_t *expected, *got;
    json_error_t jerr;
    const char *name;
    json_t *t;

    cs_buf_addf(&args, "ingest %s", data);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    expected = json_load_file(exp_path, 0, &jerr);
    assert_non_null(expected);
    got = kpis_json(f, "--from 2026-09-01 --to 2026-11-21 --tz UTC");
    assert_int_equal(json_object_size(json_object_get(got, "tenants")),
                     json_object_size(json_object_get(expected, "tenants")));
    json_object_foreach(json_object_get(expected, "tenants"), name, t) {
        json_t *g = json_object_get(json_object_get(got, "tenants"), name);

        if (!g)
            fail_msg("tenant %s missing", name);
        expect_subset(t, g, name);
    }
    json_decref(expected);
    json_decref(got);
    free(data);
    free(exp_path);
    cs_buf_release(&args);
}

/* Splits one CSV line (RFC 4180 quotes) into at most `max` fields, new
 * strings; returns the count. */
static size_t csv_split(const char *line, char **out, size_t max)
{
    size_t n = 0;
    const char *p = line;

    while (n < max) {
        struct cs_buf f = CS_BUF_INIT;

        if (*p == '"') {
            for (p++; *p; p++) {
                if (*p == '"' && p[1] == '"')
                    cs_buf_addch(&f, *p++);
                else if (*p == '"')
                    break;
                else
                    cs_buf_addch(&f, *p);
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != '\n')
                cs_buf_addch(&f, *p++);
        }
        out[n++] = cs_buf_detach(&f, NULL);
        if (*p != ',')
            break;
        p++;
    }
    return n;
}

/* The change of docs/report-design.md, computed here independently:
 * rates in points, counts and money relative, the rest absolute. */
static double expected_change(const char *unit, double v, double p)
{
    if (isnan(v) || isnan(p))
        return NAN;
    if (strcmp(unit, "rate") == 0)
        return 100 * (v - p);
    if (strcmp(unit, "count") == 0 || strcmp(unit, "money") == 0)
        return p > 0 ? (v - p) / p : NAN;
    return v - p;
}

static double json_num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void expect_field(const char *field, double want, const char *what)
{
    if (isnan(want)) {
        if (*field)
            fail_msg("%s: expected an empty field, got '%s'", what, field);
        return;
    }
    if (!*field || fabs(strtod(field, NULL) - want) >
                       1e-9 * fmax(1.0, fabs(want)))
        fail_msg("%s: expected %.17g, got '%s'", what, want, field);
}

static void test_kpi__csv_carries_each_kpi_once_with_comparisons(void **state)
{
    struct th_env *f = *state;
    struct cs_buf args = CS_BUF_INIT;
    char *data = th_src("tests/data/real-dev/conversations.jsonl");
    char *csv = NULL;
    json_t *got;
    size_t rows = 0;

    cs_buf_addf(&args, "ingest %s", data);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    got = kpis_json(f, "--from 2026-10-15 --to 2026-10-16");
    assert_int_equal(th_run(f->env.ptr, "kpis --format csv --from 2026-10-15"
                            " --to 2026-10-16", &csv, NULL), 0);
    assert_non_null(strstr(csv, "tenant,group,kpi,label,unit,value,previous,"
                                "previous_change,same_weekday_last_week,"
                                "same_weekday_last_week_change,"
                                "change_kind\n"));
    for (const char *line = strchr(csv, '\n') + 1; *line;
         line = strchr(line, '\n') + 1) {
        char *fl[12];
        size_t n = csv_split(line, fl, 12);
        json_t *t = th_json_path(json_object_get(got, "tenants"), fl[0]);
        double v, p;

        assert_int_equal(n, 11);
        assert_non_null(t);
        /* Each KPI once: comparisons are columns, never keys. */
        assert_null(strstr(fl[2], "previous"));
        assert_null(strstr(fl[2], "same_weekday"));
        assert_string_equal(fl[1], "");
        if (strcmp(fl[2], "handoff_people_cost") != 0) {
            v = json_num(th_json_path(t, fl[2]));
            p = json_num(th_json_path(json_object_get(t, "previous"), fl[2]));
            if (!th_json_path(t, fl[2]))
                fail_msg("csv row '%s' is no KPI of the JSON", fl[2]);
            expect_field(fl[5], v, fl[2]);
            /* A metric count absent from the day before was 0 then. */
            if (isnan(p) && strncmp(fl[2], "metrics.", 8) == 0 &&
                strcmp(fl[4], "count") == 0)
                p = 0;
            expect_field(fl[6], p, fl[2]);
            expect_field(fl[7], expected_change(fl[4], v, p), fl[2]);
        }
        /* Not compared with last week here. */
        assert_string_equal(fl[8], "");
        if (strcmp(fl[2], "answer_rate") == 0 ||
            strcmp(fl[2], "sentiment.positive") == 0)
            assert_string_equal(fl[4], "rate");
        if (strcmp(fl[2], "sentiment.scored") == 0)
            assert_string_equal(fl[4], "count");
        for (size_t i = 0; i < n; i++)
            free(fl[i]);
        rows++;
    }
    assert_true(rows > 40);
    json_decref(got);
    free(csv);
    free(data);
    cs_buf_release(&args);
}

/* "71.3 %" as the text report prints a rate, computed here. */
static void pct(struct cs_buf *b, double v)
{
    cs_buf_reset(b);
    cs_buf_addf(b, "%.1f %%", v * 100);
}

static void test_kpi__table_reads_as_a_person_expects(void **state)
{
    struct th_env *f = *state;
    struct cs_buf args = CS_BUF_INIT, want = CS_BUF_INIT;
    char *data = th_src("tests/data/real-dev/conversations.jsonl");
    char *table = NULL;
    json_t *got, *t, *p;
    const char *line, *name;

    cs_buf_addf(&args, "ingest %s", data);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    got = kpis_json(f, "--from 2026-10-01 --to 2026-11-01");
    assert_int_equal(th_run(f->env.ptr, "kpis --format table --from "
                            "2026-10-01 --to 2026-11-01 --by day", &table,
                            NULL), 0);
    json_object_foreach(json_object_get(got, "tenants"), name, t) {
        double v, pv;
        char *nl;

        p = json_object_get(t, "previous");
        /* The tenant's section, from its header to the next one. */
        cs_buf_reset(&want);
        cs_buf_addf(&want, "%s \xe2\x80\x94 2026-10-01 to 2026-10-31 "
                    "(31 days) (UTC, USD)", name);
        line = strstr(table, want.ptr);
        if (!line)
            fail_msg("no header '%s'", want.ptr);
        /* The answer rate, the previous period's and the change in pp in
         * columns of one row. */
        line = strstr(line, "\n  Answer rate ");
        assert_non_null(line);
        nl = strchr(line + 1, '\n');
        *nl = '\0';
        v = json_number_value(json_object_get(t, "answer_rate"));
        pv = json_number_value(json_object_get(p, "answer_rate"));
        pct(&want, v);
        assert_non_null(strstr(line, want.ptr));
        pct(&want, pv);
        assert_non_null(strstr(line, want.ptr));
        cs_buf_reset(&want);
        cs_buf_addf(&want, "%s%.1f pp", v >= pv ? "+" : "\xe2\x88\x92",
                    fabs(v - pv) * 100);
        if (!strstr(line, want.ptr))
            fail_msg("answer rate row '%s' lacks the change '%s'", line,
                     want.ptr);
        *nl = '\n';
        /* Sentiment scored is a count, category shares are percentages. */
        line = strstr(line, "\n    Sentiment scored ");
        if (line) {
            nl = strchr(line + 1, '\n');
            cs_buf_reset(&want);
            cs_buf_addf(&want, " %lld ", (long long)json_integer_value(
                json_object_get(json_object_get(t, "sentiment"),
                                "scored")));
            *nl = '\0';
            assert_non_null(strstr(line, want.ptr));
            *nl = '\n';
        }
        /* One row per local day of the period, in the table format. */
        line = strstr(line ? line : table, "\nBy day ");
        assert_non_null(line);
        assert_non_null(strstr(line, "\n  2026-10-01 "));
        assert_non_null(strstr(line, "\n  2026-10-31 "));
    }
    assert_null(strstr(table, "11500"));
    assert_null(strstr(table, "counts."));
    json_decref(got);
    free(table);
    free(data);
    cs_buf_release(&args);
    cs_buf_release(&want);
}

#define CALL(id, tenant, start, extra)                                     \
    "{\"id\":\"" id "\",\"tenant\":\"" tenant "\",\"started_at\":\"" start \
    "\",\"turns\":[{\"role\":\"agent\",\"text\":\"hi\"}]" extra "}\n"

static void test_kpi__breakdowns_share_the_fee_and_add_up(void **state)
{
    struct th_env *f = *state;
    json_t *j, *t, *g;
    const char *k;
    double sum = 0, conv = 0;

    /* Three days with a quiet day between: every day is in the breakdown,
     * so the days' fee shares add up to the period's fee. */
    ingest_text(f, CALL("d1", "acme", "2026-10-01T10:00:00Z", "")
                   CALL("d2", "acme", "2026-10-03T10:00:00Z",
                        ",\"agent\":\"bot-2\""));
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-04 --by day "
                     "--no-compare");
    t = th_json_path(j, "tenants.acme");
    assert_int_equal(json_object_size(json_object_get(t, "by_day")), 3);
    assert_int_equal(json_integer_value(th_json_path(
                         t, "by_day.2026-10-02.conversations")), 0);
    json_object_foreach(json_object_get(t, "by_day"), k, g)
        sum += json_number_value(json_object_get(g, "platform_fee"));
    assert_true(fabs(sum - json_number_value(json_object_get(
                               t, "platform_fee"))) < 1e-9);
    assert_true(fabs(sum - 250.0 * 3 / 31) < 1e-9);
    json_decref(j);
    /* Per agent: the fee is shared by conversations, and says so. */
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-04 --by agent "
                     "--no-compare");
    t = th_json_path(j, "tenants.acme");
    sum = 0;
    json_object_foreach(json_object_get(t, "by_agent"), k, g) {
        sum += json_number_value(json_object_get(g, "platform_fee"));
        conv += json_number_value(json_object_get(g, "conversations"));
    }
    assert_true(fabs(sum - json_number_value(json_object_get(
                               t, "platform_fee"))) < 1e-9);
    assert_true(conv == 2);
    json_decref(j);
    {
        char *out = NULL;

        assert_int_equal(th_run(f->env.ptr, "kpis --format table --from "
                                "2026-10-01 --to 2026-10-04 --by agent",
                                &out, NULL), 0);
        assert_non_null(strstr(out, "\nBy agent "));
        assert_non_null(strstr(out, "\n  bot-2 "));
        assert_non_null(strstr(out, "platform fee is shared among agents"));
        free(out);
    }
}

static void test_kpi__iso_offsets_mean_east_of_utc(void **state)
{
    struct th_env *f = *state;
    char *err = NULL, *out = NULL;
    json_t *j;

    /* At +02:00, 21:30Z on Oct 1 is 23:30 on Oct 1 and 23:30Z is 01:30
     * on Oct 2. Read the POSIX way (UTC-2) both would be on Oct 1. */
    ingest_text(f, CALL("o1", "acme", "2026-10-01T21:30:00Z", "")
                   CALL("o2", "acme", "2026-10-01T23:30:00Z", ""));
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-02 --tz +02:00");
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.acme.conversations")), 1);
    assert_string_equal(json_string_value(th_json_path(j, "tenants.acme.tz")),
                        "+02:00");
    json_decref(j);
    j = kpis_json(f, "--from 2026-10-02 --to 2026-10-03 --tz +02:00");
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.acme.conversations")), 1);
    json_decref(j);
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-02 --tz -05:00");
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.acme.conversations")), 2);
    json_decref(j);
    /* The ambiguous POSIX form is refused with a way out. */
    assert_int_equal(th_run(f->env.ptr, "kpis --from 2026-10-01 --to "
                            "2026-10-02 --tz UTC+2", &out, &err), 2);
    assert_non_null(strstr(err, "ambiguous"));
    assert_non_null(strstr(err, "+2"));
    free(out);
    free(err);
}

static void test_kpi__time_zone_buckets_by_local_day(void **state)
{
    struct th_env *f = *state;
    json_t *j;

    /* 03:30Z on Oct 2 is 23:30 on Oct 1 in New York (EDT, UTC-4). */
    ingest_text(f, CALL("z1", "ny", "2026-10-02T03:30:00Z", "")
                   CALL("z2", "ny", "2026-10-01T12:00:00Z", "")
                   CALL("z3", "ny", "2026-10-02T04:30:00Z", ""));
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-02 --tenant ny");
    assert_string_equal(json_string_value(th_json_path(j, "tenants.ny.tz")),
                        "America/New_York");
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.ny.conversations")), 2);
    json_decref(j);
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-02 --tenant ny "
                     "--tz UTC");
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.ny.conversations")), 1);
    json_decref(j);
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-03 --tenant ny "
                     "--by day");
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.ny.by_day.2026-10-01.conversations")),
                     2);
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.ny.by_day.2026-10-02.conversations")),
                     1);
    json_decref(j);
    /* Per agent: the groups add up to the total, a missing agent shows. */
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-03 --tenant ny "
                     "--by agent --no-compare");
    assert_int_equal(json_integer_value(th_json_path(
                         j, "tenants.ny.by_agent.(none).conversations")), 3);
    assert_true(json_is_object(th_json_path(
        j, "tenants.ny.by_agent.(none).metrics")));
    assert_null(th_json_path(j, "tenants.ny.previous"));
    json_decref(j);
}

static void test_kpi__roi_from_hourly_rate_can_be_a_loss(void **state)
{
    struct th_env *f = *state;
    json_t *j, *t;
    double fee = 3100.0 * 2 / 31; /* two days of October */
    double hc = 30.0 * 150 / 3600; /* aht 150 s */
    double ai = 0.5 + 0.25;

    ingest_text(f,
        CALL("h1", "hourly", "2026-10-01T10:00:00Z",
             ",\"answered_at\":\"2026-10-01T10:00:00Z\",\"ended_at\":"
             "\"2026-10-01T10:02:00Z\",\"costs\":{\"llm\":0.5}")
        CALL("h2", "hourly", "2026-10-02T10:00:00Z",
             ",\"answered_at\":\"2026-10-02T10:00:00Z\",\"ended_at\":"
             "\"2026-10-02T10:03:00Z\",\"costs\":{\"llm\":0.25},"
             "\"handoff\":{\"type\":\"warm\",\"target\":\"desk\"}"));
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-03");
    t = th_json_path(j, "tenants.hourly");
    assert_non_null(t);
    assert_true(fabs(json_real_value(json_object_get(t, "aht_s")) - 150)
                < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(
                    t, "human_equivalent_cost")) - 2 * hc) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(t, "actual_cost")) -
                     (ai + hc + fee)) < 1e-9);
    assert_true(json_number_value(json_object_get(t, "net_savings")) < 0);
    assert_true(fabs(json_number_value(json_object_get(t, "roi")) -
                     (2 * hc - (ai + hc + fee)) / (ai + fee)) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(t, "containment_rate"))
                     - 0.5) < 1e-12);
    json_decref(j);
}

static void test_kpi__alerts_previous_period_and_nulls(void **state)
{
    struct th_env *f = *state;
    json_t *j, *t, *a;
    size_t i;
    int found = 0;

    ingest_text(f,
        CALL("p1", "acme", "2026-10-10T10:00:00Z", "")
        CALL("p2", "acme", "2026-10-11T10:00:00Z",
             ",\"outcome\":\"abandoned\"")
        CALL("p0", "acme", "2026-10-05T10:00:00Z", "")
        "{\"id\":\"o1\",\"tenant\":\"out\",\"direction\":\"outbound\","
        "\"started_at\":\"2026-10-10T10:00:00Z\",\"outcome\":\"no_answer\","
        "\"turns\":[]}\n");
    j = kpis_json(f, "--from 2026-10-08 --to 2026-10-15");
    t = th_json_path(j, "tenants.acme");
    assert_true(fabs(json_number_value(json_object_get(t, "answer_rate")) -
                     0.5) < 1e-12);
    /* answer_rate 0.5: the configured critical level is 0.5 (not below),
     * the warning 0.99 is breached. */
    json_array_foreach(json_object_get(t, "alerts"), i, a) {
        if (strcmp(json_string_value(json_object_get(a, "kpi")),
                   "answer_rate") == 0) {
            assert_string_equal(json_string_value(json_object_get(a,
                                                                  "level")),
                                "warning");
            found = 1;
        }
        if (strcmp(json_string_value(json_object_get(a, "kpi")),
                   "abandonment_rate") == 0) {
            assert_string_equal(json_string_value(json_object_get(a,
                                                                  "level")),
                                "critical"); /* default 0.10 */
            found |= 2;
        }
    }
    assert_int_equal(found, 3);
    assert_int_equal(json_integer_value(th_json_path(
                         t, "previous.conversations")), 1);
    /* Empty denominators are null, never 0. */
    t = th_json_path(j, "tenants.out");
    assert_true(json_is_null(json_object_get(t, "answer_rate")));
    assert_true(json_is_null(json_object_get(t, "containment_rate")));
    assert_true(json_is_null(json_object_get(t, "aht_s")));
    assert_true(json_is_null(json_object_get(t, "connector_success_rate")));
    assert_true(json_is_null(json_object_get(t, "cost_per_contained")));
    assert_true(json_number_value(json_object_get(t, "outbound_answer_rate"))
                == 0);
    json_decref(j);
}

static void test_kpi__bad_arguments_are_usage_errors(void **state)
{
    struct th_env *f = *state;
    char *err = NULL;

    assert_int_equal(th_run(f->env.ptr, "kpis --from 2026-13-01 --to "
                            "2026-10-02", NULL, &err), 2);
    free(err);
    assert_int_equal(th_run(f->env.ptr, "kpis --from 2026-10-01 --to "
                            "2026-10-02 --tz Mars/Olympus", NULL, &err), 2);
    assert_non_null(strstr(err, "Mars/Olympus"));
    free(err);
    assert_int_equal(th_run(f->env.ptr, "kpis --from 2026-10-05 --to "
                            "2026-10-02", NULL, NULL), 2);
}

static void test_kpi__fee_is_prorated_by_days_of_each_month(void **state)
{
    int64_t a, b;

    (void)state;
    assert_int_equal(cs_parse_date("2026-09-01", &a), 0);
    assert_int_equal(cs_parse_date("2026-11-21", &b), 0);
    assert_true(fabs(cs_kpi_prorated_fee(250, a, b) -
                     (250 + 250 + 250 * 20.0 / 30)) < 1e-9);
    assert_int_equal(cs_parse_date("2028-02-28", &a), 0);
    assert_true(fabs(cs_kpi_prorated_fee(290, a, a + 2) -
                     (290 * 2.0 / 29)) < 1e-9); /* leap February */
    assert_true(cs_kpi_prorated_fee(100, a, a) == 0);
}


/* ---- movers ---- */

static void test_kpi__significance_tests_hand_computed(void **state)
{
    double z, h, t, d, p;

    (void)state;
    /* 45/100 against 30/100: pooled 0.375, z = 0.15 / 0.068465 = 2.1909,
     * two-sided p = 0.02846. */
    p = cs_stat_two_proportion(45, 100, 30, 100, &z, &h);
    assert_true(fabs(z - 2.19089) < 1e-4);
    assert_true(fabs(p - 0.028459) < 1e-5);
    assert_true(fabs(h - (2 * asin(sqrt(0.45)) - 2 * asin(sqrt(0.3)))) <
                1e-12);
    /* No variance, or nothing to compare: no test. */
    assert_true(isnan(cs_stat_two_proportion(0, 50, 0, 50, &z, &h)));
    assert_true(isnan(cs_stat_two_proportion(3, 0, 1, 50, &z, &h)));
    /* Student's t: P(|T| > 2) with 10 df is 0.07339; with many df the
     * normal's 0.05 at 1.96; 1 df is Cauchy: P(|T| > 1) = 0.5. */
    assert_true(fabs(cs_stat_t_two_sided(2.0, 10) - 0.073388) < 1e-5);
    assert_true(fabs(cs_stat_t_two_sided(1.959964, 1e7) - 0.05) < 1e-5);
    assert_true(fabs(cs_stat_t_two_sided(1.0, 1) - 0.5) < 1e-9);
    /* Welch: means 10 and 9, sd 2 and 3, n 40 and 50: se = sqrt(0.1 +
     * 0.18), t = 1.88982, df = 0.0784 / (0.01/39 + 0.0324/49) = 85.44. */
    p = cs_stat_welch(10, 2, 40, 9, 3, 50, &t, &d);
    assert_true(fabs(t - 1.889822) < 1e-5);
    assert_true(fabs(p - cs_stat_t_two_sided(1.889822, 85.4365)) < 1e-6);
    assert_true(p > 0.06 && p < 0.063);
    assert_true(fabs(d - 1 / sqrt(6.5)) < 1e-12);
    assert_true(isnan(cs_stat_welch(1, 1, 1, 2, 1, 30, &t, &d)));
}

/* A small deterministic generator (xorshift64*), for the constructed
 * periods. */
static uint64_t rng_state = 88172645463325252ULL;

static double uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) /
           9007199254740992.0;
}

/* Appends `n` conversations of one month: every KPI drawn from the same
 * distributions in both months except the share handed off. */
static void constructed_month(struct cs_buf *b, const char *month, int n,
                              double handoff, double booked)
{
    static const char *const reasons[] = {"booking", "billing", "other"};

    for (int i = 0; i < n; i++) {
        int day = 1 + (int)(uniform() * 28), inbound = uniform() < 0.9;
        int hour = 8 + (int)(uniform() * 10), minute = (int)(uniform() * 40);
        double r = uniform(), ring = 1 + uniform() * 4;
        double dur = 120 + 40 * (uniform() + uniform() + uniform());
        const char *outcome = inbound
            ? (r < 0.93 ? "answered" : r < 0.97 ? "abandoned"
               : r < 0.98 ? "failed" : "no_answer")
            : (r < 0.45 ? "answered" : "no_answer");
        int answered = strcmp(outcome, "answered") == 0;
        double reason = uniform();

        cs_buf_addf(b, "{\"id\":\"%s-%04d\",\"tenant\":\"shifty\","
                    "\"direction\":\"%s\",\"started_at\":\"%s-%02dT%02d:"
                    "%02d:00Z\",\"outcome\":\"%s\",\"ring_s\":%.2f,",
                    month, i, inbound ? "inbound" : "outbound", month, day,
                    hour, minute, outcome, ring);
        if (answered) {
            int end = 5 + (int)dur;

            cs_buf_addf(b, "\"answered_at\":\"%s-%02dT%02d:%02d:05Z\","
                        "\"ended_at\":\"%s-%02dT%02d:%02d:%02dZ\",", month,
                        day, hour, minute, month, day, hour,
                        minute + end / 60, end % 60);
            if (uniform() < handoff)
                cs_buf_adds(b, "\"handoff\":{\"type\":\"warm\","
                               "\"target\":\"desk\"},");
            if (uniform() < 0.4)
                cs_buf_addf(b, "\"csat\":%d,", 1 + (int)(uniform() * 5));
            cs_buf_addf(b, "\"tool_calls\":[{\"name\":\"crm.lookup\","
                        "\"ok\":%s}],", uniform() < 0.97 ? "true" : "false");
            cs_buf_addf(b, "\"metrics\":[{\"name\":\"booked\",\"value\":%s},"
                        "{\"name\":\"reason\",\"value\":\"%s\"},"
                        "{\"name\":\"empathy\",\"value\":%d}],",
                        uniform() < booked ? "true" : "false",
                        reasons[reason < 0.5 ? 0 : reason < 0.8 ? 1 : 2],
                        1 + (int)(uniform() * 5));
        }
        cs_buf_addf(b, "\"costs\":{\"llm\":%.4f},\"turns\":[",
                    0.01 + uniform() * 0.01);
        if (answered) {
            int turns = 6 + (int)(uniform() * 9);

            for (int k = 0; k < turns; k++)
                cs_buf_addf(b, "%s{\"role\":\"%s\",\"text\":\"turn %d\"}",
                            k ? "," : "", k % 2 ? "customer" : "agent", k);
        }
        cs_buf_adds(b, "]}\n");
    }
}

static void test_kpi__movers_flag_only_the_shift(void **state)
{
    struct th_env *f = *state;
    struct cs_buf b = CS_BUF_INIT, q = CS_BUF_INIT;
    char *out = NULL, *err = NULL;
    json_t *j, *movers, *m;
    size_t i, significant = 0;

    /* One known shift: a fifth handed off in September, a third in
     * October; everything else the same distributions (noise). */
    constructed_month(&b, "2026-09", 700, 0.20, 0.6);
    constructed_month(&b, "2026-10", 700, 0.33, 0.6);
    ingest_text(f, b.ptr);
    cs_buf_addf(&q, "CALLSCOPE_RUBRICS_DIR=%s/empty ", f->dir);
    {
        struct cs_buf d = CS_BUF_INIT;

        cs_buf_addf(&d, "mkdir -p %s/empty", f->dir);
        assert_int_equal(system(d.ptr), 0);
        cs_buf_release(&d);
    }
    cs_buf_adds(&q, f->env.ptr);
    /* The agent's values become metrics (a boolean, a label, a score). */
    assert_int_equal(th_run(q.ptr, "score -q", NULL, NULL), 0);
    assert_int_equal(th_run(q.ptr, "kpis --from 2026-10-01 --to 2026-11-01 "
                            "--tenant shifty --movers --format json", &out,
                            &err), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    movers = th_json_path(j, "tenants.shifty.movers");
    if (json_array_size(movers) < 16) { /* rates, means, labels */
        fprintf(stderr, "%s", out);
        fail_msg("only %zu tested", json_array_size(movers));
    }
    json_array_foreach(movers, i, m) {
        const char *kpi = json_string_value(json_object_get(m, "kpi"));

        if (!json_is_true(json_object_get(m, "significant")))
            continue;
        significant++;
        if (strcmp(kpi, "containment_rate") != 0)
            fail_msg("'%s' is flagged, but only containment moved (p %g)",
                     kpi, json_number_value(json_object_get(m, "p")));
        /* Bad news, in points, with the conversations behind it: handed
         * off in October. */
        assert_string_equal(json_string_value(json_object_get(m,
                                                              "direction")),
                            "bad");
        assert_true(json_number_value(json_object_get(m, "change")) < -8);
        assert_string_equal(json_string_value(json_object_get(m, "test")),
                            "two_proportion_z");
        assert_int_equal(json_array_size(json_object_get(m,
                                                         "conversations")),
                         5);
        for (size_t k = 0; k < 5; k++) {
            struct cs_buf s = CS_BUF_INIT;

            cs_buf_addf(&s, "SELECT count(*) FROM conversations WHERE "
                        "tenant = 'shifty' AND id = '%s' AND handoff IS NOT "
                        "NULL AND started_at >= '2026-10-01'",
                        json_string_value(json_array_get(
                            json_object_get(m, "conversations"), k)));
            assert_int_equal(th_sql_long(f->db, s.ptr), 1);
            cs_buf_release(&s);
        }
    }
    assert_int_equal(significant, 1);
    /* The noise is tested, just not flagged: the agent's score metric
     * by Welch's t, its labels by z-tests. */
    json_array_foreach(movers, i, m) {
        const char *kpi = json_string_value(json_object_get(m, "kpi"));

        if (strcmp(kpi, "metrics.empathy.mean") == 0)
            assert_string_equal(json_string_value(json_object_get(m,
                                                                  "test")),
                                "welch_t");
    }
    json_decref(j);
    free(out);
    free(err);
    /* Too few on a side: nothing is tested, nothing flagged. */
    assert_int_equal(th_run(q.ptr, "kpis --from 2026-10-01 --to 2026-11-01 "
                            "--tenant shifty --movers --min-n 100000", &out,
                            NULL), 0);
    assert_non_null(strstr(out, "0 tested (n >= 100000 on both sides)"));
    assert_non_null(strstr(out, "nothing moved more than noise"));
    free(out);
    /* The table names it, with the news and the conversations. */
    assert_int_equal(th_run(q.ptr, "kpis --from 2026-10-01 --to 2026-11-01 "
                            "--tenant shifty --movers", &out, NULL), 0);
    assert_non_null(strstr(out, "1 significant"));
    assert_non_null(strstr(out, "Containment"));
    assert_non_null(strstr(out, "handed off: 2026-10-"));
    free(out);
    cs_buf_release(&b);
    cs_buf_release(&q);
}


static void test_kpi__executive_drivers_quote_explanations(void **state)
{
    struct th_env *f = *state;
    struct cs_buf b = CS_BUF_INIT, q = CS_BUF_INIT, p = CS_BUF_INIT;
    char *out = NULL, *text;

    /* The agent's bookings fall from 60 % to 35 %: a significant mover
     * with a verdict to explain. */
    constructed_month(&b, "2026-09", 600, 0.2, 0.60);
    constructed_month(&b, "2026-10", 600, 0.2, 0.35);
    ingest_text(f, b.ptr);
    cs_buf_addf(&p, "mkdir -p %s/empty", f->dir);
    assert_int_equal(system(p.ptr), 0);
    cs_buf_addf(&q, "%sCALLSCOPE_RUBRICS_DIR=%s/empty "
                "CALLSCOPE_TEMPLATES_DIR=%s/templates ", f->env.ptr, f->dir,
                CS_SOURCE_DIR);
    assert_int_equal(th_run(q.ptr, "score -q", NULL, NULL), 0);
    /* Before any explanation the drivers say none is stored, and how to
     * make one. */
    assert_int_equal(th_run(q.ptr, "report executive --month 2026-10 "
                            "--tenant shifty", &out, NULL), 0);
    text = th_pdf_text(strtok(out, "\n"));
    assert_non_null(strstr(text, "Drivers: why the movers moved"));
    assert_non_null(strstr(text, "booked: true rate fell"));
    assert_non_null(strstr(text, "bad news"));
    assert_non_null(strstr(text, "no explanation stored (callscope explain "
                                 "--metric booked --value false --tenant "
                                 "shifty"));
    free(text);
    free(out);
    assert_int_equal(th_run(q.ptr, "explain --metric booked --value false "
                            "--tenant shifty --from 2026-10-01 --to "
                            "2026-11-01", &out, NULL), 0);
    free(out);
    assert_int_equal(th_run(q.ptr, "report executive --month 2026-10 "
                            "--tenant shifty", &out, NULL), 0);
    text = th_pdf_text(strtok(out, "\n"));
    assert_non_null(strstr(text, "the reasons found in"));
    assert_non_null(strstr(text, "logged by the agent at run time"));
    assert_null(strstr(text, "no explanation stored (callscope explain "
                             "--metric booked"));
    free(text);
    free(out);
    cs_buf_release(&b);
    cs_buf_release(&q);
    cs_buf_release(&p);
}

/* The sandbox with this file's own setup. */
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, th_env_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpi__fee_is_prorated_by_days_of_each_month),
        cmocka_unit_test(test_kpi__significance_tests_hand_computed),
        ENV_TEST(test_kpi__movers_flag_only_the_shift),
        ENV_TEST(test_kpi__executive_drivers_quote_explanations),
        ENV_TEST(test_kpi__real_dev_matches_independent_figures),
        ENV_TEST(test_kpi__csv_carries_each_kpi_once_with_comparisons),
        ENV_TEST(test_kpi__table_reads_as_a_person_expects),
        ENV_TEST(test_kpi__breakdowns_share_the_fee_and_add_up),
        ENV_TEST(test_kpi__iso_offsets_mean_east_of_utc),
        ENV_TEST(test_kpi__time_zone_buckets_by_local_day),
        ENV_TEST(test_kpi__roi_from_hourly_rate_can_be_a_loss),
        ENV_TEST(test_kpi__alerts_previous_period_and_nulls),
        ENV_TEST(test_kpi__bad_arguments_are_usage_errors),
    };

    return cmocka_run_group_tests_name("kpi", tests, NULL, NULL);
}
