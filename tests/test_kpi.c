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

static void test_kpi__csv_and_table_carry_the_same_numbers(void **state)
{
    struct th_env *f = *state;
    struct cs_buf args = CS_BUF_INIT;
    char *data = th_src("tests/data/real-dev/conversations.jsonl");
    char *csv = NULL, *table = NULL;
    json_t *got;
    const char *name;
    json_t *t;

    cs_buf_addf(&args, "ingest %s", data);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    got = kpis_json(f, "--from 2026-10-01 --to 2026-11-01");
    assert_int_equal(th_run(f->env.ptr, "kpis --format csv --from 2026-10-01"
                            " --to 2026-11-01", &csv, NULL), 0);
    assert_int_equal(th_run(f->env.ptr, "kpis --format table --from "
                            "2026-10-01 --to 2026-11-01", &table, NULL), 0);
    json_object_foreach(json_object_get(got, "tenants"), name, t) {
        static const char *const keys[] = {"answer_rate", "aht_s", "roi",
                                           "net_savings", "conversations",
                                           "latency_ms.llm.p95", NULL};

        for (const char *const *k = keys; *k; k++) {
            json_t *v = cs_kpi_get(t, *k);
            json_t *pv = cs_kpi_get(json_object_get(t, "previous"), *k);
            struct cs_buf line = CS_BUF_INIT;
            char *found;

            assert_non_null(v);
            cs_buf_addf(&line, "%s,,%s,", name, *k);
            found = strstr(csv, line.ptr);
            if (!found)
                fail_msg("csv has no row '%s'", line.ptr);
            assert_true(fabs(strtod(found + line.len, NULL) -
                             json_number_value(v)) < 1e-9);
            /* The previous period's value follows. */
            found = strchr(found + line.len, ',');
            assert_non_null(found);
            assert_true(fabs(strtod(found + 1, NULL) -
                             json_number_value(pv)) < 1e-9);
            cs_buf_release(&line);
        }
        assert_non_null(strstr(table, name));
    }
    /* Rates read as percentages in the table. */
    assert_non_null(strstr(table, "%"));
    json_decref(got);
    free(csv);
    free(table);
    free(data);
    cs_buf_release(&args);
}

#define CALL(id, tenant, start, extra)                                     \
    "{\"id\":\"" id "\",\"tenant\":\"" tenant "\",\"started_at\":\"" start \
    "\",\"turns\":[{\"role\":\"agent\",\"text\":\"hi\"}]" extra "}\n"

static void test_kpi__time_zone_buckets_by_local_day(void **state)
{
    struct th_env *f = *state;
    json_t *j;

    /* 03:30Z on Oct 2 is 23:30 on Oct 1 in New York (EDT, UTC-4). */
    ingest_text(f, CALL("z1", "ny", "2026-10-02T03:30:00Z", "")
                   CALL("z2", "ny", "2026-10-01T12:00:00Z", "")
                   CALL("z3", "ny", "2026-10-02T04:30:00Z", ""));
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-02 --tenant ny");
    assert_string_equal(json_string_value(cs_kpi_get(j, "tenants.ny.tz")),
                        "America/New_York");
    assert_int_equal(json_integer_value(cs_kpi_get(
                         j, "tenants.ny.conversations")), 2);
    json_decref(j);
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-02 --tenant ny "
                     "--tz UTC");
    assert_int_equal(json_integer_value(cs_kpi_get(
                         j, "tenants.ny.conversations")), 1);
    json_decref(j);
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-03 --tenant ny "
                     "--by day");
    assert_int_equal(json_integer_value(cs_kpi_get(
                         j, "tenants.ny.by_day.2026-10-01.conversations")),
                     2);
    assert_int_equal(json_integer_value(cs_kpi_get(
                         j, "tenants.ny.by_day.2026-10-02.conversations")),
                     1);
    json_decref(j);
    /* Per agent: the groups add up to the total, a missing agent shows. */
    j = kpis_json(f, "--from 2026-10-01 --to 2026-10-03 --tenant ny "
                     "--by agent --no-compare");
    assert_int_equal(json_integer_value(cs_kpi_get(
                         j, "tenants.ny.by_agent.(none).conversations")), 3);
    assert_true(json_is_object(cs_kpi_get(
        j, "tenants.ny.by_agent.(none).metrics")));
    assert_null(cs_kpi_get(j, "tenants.ny.previous"));
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
    t = cs_kpi_get(j, "tenants.hourly");
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
    t = cs_kpi_get(j, "tenants.acme");
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
    assert_int_equal(json_integer_value(cs_kpi_get(
                         t, "previous.conversations")), 1);
    /* Empty denominators are null, never 0. */
    t = cs_kpi_get(j, "tenants.out");
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

/* The sandbox with this file's own setup. */
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, th_env_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpi__fee_is_prorated_by_days_of_each_month),
        ENV_TEST(test_kpi__real_dev_matches_independent_figures),
        ENV_TEST(test_kpi__csv_and_table_carry_the_same_numbers),
        ENV_TEST(test_kpi__time_zone_buckets_by_local_day),
        ENV_TEST(test_kpi__roi_from_hourly_rate_can_be_a_loss),
        ENV_TEST(test_kpi__alerts_previous_period_and_nulls),
        ENV_TEST(test_kpi__bad_arguments_are_usage_errors),
    };

    return cmocka_run_group_tests_name("kpi", tests, NULL, NULL);
}
