/* test_report.c - the report model: definitions, changes, number formats,
 * and the renderers on a hand-built report */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "report/format.h"
#include "report/model.h"
#include "report/render.h"

static void test_report__every_kpi_of_the_spec_has_a_definition(void **state)
{
    /* The KPI names of docs/kpis.md, with the direction of
     * docs/report-design.md ("KPI directions"). */
    static const struct {
        const char *key;
        enum cs_direction dir;
    } want[] = {
        {"conversations", CS_DIR_NEUTRAL},
        {"inbound", CS_DIR_NEUTRAL},
        {"outbound", CS_DIR_NEUTRAL},
        {"answer_rate", CS_DIR_HIGHER_IS_GOOD},
        {"outbound_answer_rate", CS_DIR_HIGHER_IS_GOOD},
        {"containment_rate", CS_DIR_HIGHER_IS_GOOD},
        {"handoff_rate", CS_DIR_LOWER_IS_GOOD},
        {"abandonment_rate", CS_DIR_LOWER_IS_GOOD},
        {"error_rate", CS_DIR_LOWER_IS_GOOD},
        {"aht_s", CS_DIR_NEUTRAL},
        {"asa_s", CS_DIR_LOWER_IS_GOOD},
        {"avg_turns", CS_DIR_NEUTRAL},
        {"connector_success_rate", CS_DIR_HIGHER_IS_GOOD},
        {"work_items_created.total", CS_DIR_HIGHER_IS_GOOD},
        {"csat_avg", CS_DIR_HIGHER_IS_GOOD},
        {"csat_responses", CS_DIR_NEUTRAL},
        {"nps", CS_DIR_HIGHER_IS_GOOD},
        {"sentiment.positive", CS_DIR_HIGHER_IS_GOOD},
        {"sentiment.negative", CS_DIR_LOWER_IS_GOOD},
        {"ai_cost", CS_DIR_NEUTRAL},
        {"cost_per_conversation", CS_DIR_LOWER_IS_GOOD},
        {"cost_per_contained", CS_DIR_LOWER_IS_GOOD},
        {"human_equivalent_cost", CS_DIR_NEUTRAL},
        {"actual_cost", CS_DIR_LOWER_IS_GOOD},
        {"net_savings", CS_DIR_HIGHER_IS_GOOD},
        {"roi", CS_DIR_HIGHER_IS_GOOD},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct cs_kpi_def *d = cs_kpi_def_find(want[i].key);

        if (!d)
            fail_msg("no definition for '%s'", want[i].key);
        assert_int_equal(d->direction, want[i].dir);
        assert_non_null(d->label);
        assert_true(strlen(d->definition) > 10);
        assert_ptr_equal(cs_kpi_def_get(d->id), d);
    }
    assert_int_equal(cs_kpi_def_find("answer_rate")->unit, CS_UNIT_RATE);
    assert_int_equal(cs_kpi_def_find("sentiment.scored")->unit,
                     CS_UNIT_COUNT);
    assert_int_equal(cs_kpi_def_find("aht_s")->unit, CS_UNIT_SECONDS);
    assert_int_equal(cs_kpi_def_find("net_savings")->unit, CS_UNIT_MONEY);
}

static void test_report__changes_in_each_kpis_own_terms(void **state)
{
    (void)state;
    /* Rates: percentage points. */
    assert_true(fabs(cs_report_change(CS_UNIT_RATE, 0.713, 0.692) - 2.1) <
                1e-9);
    /* Counts and money: relative. */
    assert_true(fabs(cs_report_change(CS_UNIT_COUNT, 112, 100) - 0.12) <
                1e-12);
    /* From a loss or from zero a percentage says nothing. */
    assert_true(isnan(cs_report_change(CS_UNIT_MONEY, -50, -100)));
    assert_true(isnan(cs_report_change(CS_UNIT_MONEY, 1782, -100)));
    assert_true(fabs(cs_report_change(CS_UNIT_MONEY, -50, 100) + 1.5) <
                1e-12);
    /* Durations: absolute. */
    assert_true(cs_report_change(CS_UNIT_SECONDS, 175, 183) == -8);
    /* No comparison possible: null, never inf or NaN-as-number. */
    assert_true(isnan(cs_report_change(CS_UNIT_COUNT, 5, 0)));
    assert_true(isnan(cs_report_change(CS_UNIT_RATE, 0.5, NAN)));
    assert_true(isnan(cs_report_change(CS_UNIT_RATE, NAN, 0.5)));
    /* Tone reads the direction: a falling handoff rate is good. */
    assert_int_equal(cs_report_tone(CS_DIR_LOWER_IS_GOOD, -2.1),
                     CS_TONE_GOOD);
    assert_int_equal(cs_report_tone(CS_DIR_HIGHER_IS_GOOD, -2.1),
                     CS_TONE_BAD);
    assert_int_equal(cs_report_tone(CS_DIR_NEUTRAL, 30), CS_TONE_NEUTRAL);
    assert_int_equal(cs_report_tone(CS_DIR_HIGHER_IS_GOOD, NAN),
                     CS_TONE_NEUTRAL);
}

static char *fmt_value(const struct cs_numfmt *f, enum cs_unit u, double v)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_fmt_value(&b, f, u, v, -1);
    return cs_buf_detach(&b, NULL);
}

#define EXPECT_VALUE(f, unit, v, text)                                    \
    do {                                                                  \
        char *got_ = fmt_value(f, unit, v);                               \
        assert_string_equal(got_, text);                                  \
        free(got_);                                                       \
    } while (0)

static void test_report__numbers_read_as_people_expect(void **state)
{
    static const struct cs_numfmt eur = {"EUR", "\xe2\x82\xac", ",", "."};
    static const struct cs_numfmt chf = {"CHF", "", ".", "'"};

    (void)state;
    EXPECT_VALUE(NULL, CS_UNIT_RATE, 0.6, "60.0 %");
    EXPECT_VALUE(NULL, CS_UNIT_RATE, 0.7134, "71.3 %");
    EXPECT_VALUE(NULL, CS_UNIT_RATE, NAN, CS_FMT_DASH);
    EXPECT_VALUE(NULL, CS_UNIT_COUNT, 11500, "11,500");
    EXPECT_VALUE(NULL, CS_UNIT_COUNT, 12.31, "12.3");
    EXPECT_VALUE(NULL, CS_UNIT_MONEY, 17272.45, "$17,272");
    EXPECT_VALUE(NULL, CS_UNIT_MONEY, 0.0605, "$0.06");
    EXPECT_VALUE(NULL, CS_UNIT_MONEY, -1204.2, CS_FMT_MINUS "$1,204");
    EXPECT_VALUE(&eur, CS_UNIT_MONEY, 1234567.8, "\xe2\x82\xac" "1.234.568");
    EXPECT_VALUE(&eur, CS_UNIT_RATE, 0.5, "50,0 %");
    EXPECT_VALUE(&chf, CS_UNIT_MONEY, 2500, "2'500 CHF");
    EXPECT_VALUE(NULL, CS_UNIT_SECONDS, 183.2, "3m 03s");
    EXPECT_VALUE(NULL, CS_UNIT_SECONDS, 47.25, "47.2 s");
    EXPECT_VALUE(NULL, CS_UNIT_MS, 1463, "1,463 ms");
    EXPECT_VALUE(NULL, CS_UNIT_RATIO, 26.14, "26.1\xc3\x97");
    EXPECT_VALUE(NULL, CS_UNIT_SCORE, 4.3, "4.30");
    /* No negative zero. */
    EXPECT_VALUE(NULL, CS_UNIT_MONEY, -0.001, "$0.00");
}

static char *fmt_change(enum cs_unit u, double c)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_fmt_change(&b, NULL, u, c);
    return cs_buf_detach(&b, NULL);
}

#define EXPECT_CHANGE(unit, c, text)                                      \
    do {                                                                  \
        char *got_ = fmt_change(unit, c);                                 \
        assert_string_equal(got_, text);                                  \
        free(got_);                                                       \
    } while (0)

static void test_report__changes_read_as_people_expect(void **state)
{
    (void)state;
    EXPECT_CHANGE(CS_UNIT_RATE, 2.1, "+2.1 pp");
    EXPECT_CHANGE(CS_UNIT_RATE, -0.4, CS_FMT_MINUS "0.4 pp");
    EXPECT_CHANGE(CS_UNIT_RATE, 0.0, "0.0 pp");
    EXPECT_CHANGE(CS_UNIT_COUNT, 0.124, "+12.4 %");
    EXPECT_CHANGE(CS_UNIT_MONEY, -0.5, CS_FMT_MINUS "50.0 %");
    EXPECT_CHANGE(CS_UNIT_SECONDS, -8, CS_FMT_MINUS "8.0 s");
    EXPECT_CHANGE(CS_UNIT_SECONDS, 27.4, "+27 s");
    EXPECT_CHANGE(CS_UNIT_MS, 1161, "+1,161 ms");
    EXPECT_CHANGE(CS_UNIT_COUNT, NAN, CS_FMT_DASH);
}

static void test_report__alert_shows_enough_digits_to_see_the_breach(
    void **state)
{
    struct cs_buf v = CS_BUF_INIT, t = CS_BUF_INIT;
    struct cs_alert a = {NULL, CS_UNIT_RATE, 0.9799, 0.98, 0, 1};

    (void)state;
    cs_fmt_alert(&v, &t, NULL, &a);
    assert_string_equal(v.ptr, "97.99 %");
    assert_string_equal(t.ptr, "98.00 %");
    a.value = 0.892;
    a.threshold = 0.9;
    cs_fmt_alert(&v, &t, NULL, &a);
    assert_string_equal(v.ptr, "89.2 %");
    assert_string_equal(t.ptr, "90.0 %");
    a.unit = CS_UNIT_MS;
    a.value = 811;
    a.threshold = 800;
    cs_fmt_alert(&v, &t, NULL, &a);
    assert_string_equal(v.ptr, "811 ms");
    cs_buf_release(&v);
    cs_buf_release(&t);
}

static void test_report__padding_counts_characters_not_bytes(void **state)
{
    struct cs_buf b = CS_BUF_INIT;

    (void)state;
    assert_int_equal(cs_fmt_width("\xe2\x80\x94"), 1);
    assert_int_equal(cs_fmt_width("Zoë"), 3);
    cs_fmt_pad(&b, CS_FMT_DASH, 4, 1);
    assert_string_equal(b.ptr, "   " CS_FMT_DASH);
    cs_buf_reset(&b);
    cs_fmt_pad(&b, "Zoë", 5, 0);
    assert_string_equal(b.ptr, "Zoë  ");
    cs_buf_reset(&b);
    /* Too long: cut on a character boundary, with an ellipsis. */
    cs_fmt_pad(&b, "ééééé", 3, 0);
    assert_string_equal(b.ptr, "éé\xe2\x80\xa6");
    assert_int_equal(cs_fmt_width(b.ptr), 3);
    cs_buf_release(&b);
}

/* A report of one tenant built by hand: 40 conversations against 50. */
static struct cs_report *sample_report(void)
{
    struct cs_report *r = cs_report_new("2026-10-01", "2026-10-02", NULL);
    struct cs_report_tenant *t = cs_report_add_tenant(r, "zoë-clinic");
    struct cs_kpi_set *p = cs_kpi_set_new();
    struct cs_metric_kpi *m;

    snprintf(t->fmt.currency, sizeof(t->fmt.currency), "EUR");
    snprintf(t->fmt.symbol, sizeof(t->fmt.symbol), "\xe2\x82\xac");
    snprintf(t->fmt.decimal, sizeof(t->fmt.decimal), ".");
    snprintf(t->fmt.thousands, sizeof(t->fmt.thousands), ",");
    t->tz = strdup("Europe/Paris");
    t->cur.v[CS_KPI_CONVERSATIONS] = 40;
    t->cur.v[CS_KPI_ANSWER_RATE] = 0.9;
    t->cur.v[CS_KPI_SENTIMENT_SCORED] = 115;
    t->cur.v[CS_KPI_NET_SAVINGS] = -120.5;
    m = cs_kpi_set_add_metric(&t->cur, "call_reason");
    m->type = CS_METRIC_CATEGORICAL;
    m->applicable = 4;
    cs_metric_kpi_count(m, "booking", NAN, 3);
    cs_metric_kpi_count(m, "=HYPERLINK(\"x\")", NAN, 1);
    p->v[CS_KPI_CONVERSATIONS] = 50;
    p->v[CS_KPI_ANSWER_RATE] = 0.95;
    p->v[CS_KPI_SENTIMENT_SCORED] = 100;
    t->cmp[CS_CMP_PREVIOUS] = p;
    r->has_cmp[CS_CMP_PREVIOUS] = 1;
    snprintf(r->cmp_period[0].from, 11, "2026-09-30");
    snprintf(r->cmp_period[0].to, 11, "2026-10-01");
    cs_kpi_set_add_alert(&t->cur, "answer_rate", CS_UNIT_RATE, 0.9, 0.95,
                         0, 1);
    t->by = CS_REPORT_BY_AGENT;
    t->n_groups = 1;
    t->groups = calloc(1, sizeof(*t->groups));
    cs_kpi_set_init(&t->groups[0]);
    t->groups[0].group = strdup("=SUM(A1)");
    t->groups[0].v[CS_KPI_CONVERSATIONS] = 40;
    cs_report_tenant_finish(t);
    return r;
}

static char *render(const char *name, const struct cs_report *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct cs_err err = {0, ""};

    assert_non_null(f);
    assert_int_equal(cs_render_stream(cs_render_find(name), r, f, "memory",
                                      &err), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_report__rows_carry_comparisons_once(void **state)
{
    struct cs_report *r = sample_report();
    const struct cs_kpi_row *row;

    (void)state;
    row = cs_report_row(&r->tenants[0], "conversations");
    assert_non_null(row);
    assert_true(row->value == 40);
    assert_true(row->cmp[CS_CMP_PREVIOUS].value == 50);
    assert_true(fabs(row->cmp[CS_CMP_PREVIOUS].change + 0.2) < 1e-12);
    assert_true(isnan(row->cmp[CS_CMP_LAST_WEEK].value));
    row = cs_report_row(&r->tenants[0], "answer_rate");
    assert_true(fabs(row->cmp[CS_CMP_PREVIOUS].change + 5) < 1e-9);
    row = cs_report_row(&r->tenants[0], "metrics.call_reason.shares.booking");
    assert_non_null(row);
    assert_true(fabs(row->value - 0.75) < 1e-12);
    cs_report_free(r);
}

static void test_report__csv_one_row_per_kpi_with_comparison_columns(
    void **state)
{
    struct cs_report *r = sample_report();
    char *csv = render("csv", r);

    (void)state;
    assert_non_null(strstr(csv, "tenant,group,kpi,label,unit,value,previous,"
                                "previous_change,"));
    assert_non_null(strstr(csv, "\nzoë-clinic,,conversations,Conversations,"
                                "count,40,50,-0.2,,,relative\n"));
    assert_non_null(strstr(csv, ",answer_rate,Answer rate,rate,0.9,0.95,"));
    assert_non_null(strstr(csv, ",sentiment.scored,Sentiment scored,count,"
                                "115,100,0.15,,,relative\n"));
    /* A name from data cannot become a formula in a spreadsheet. */
    assert_non_null(strstr(csv, "\nzoë-clinic,'=SUM(A1),conversations,"));
    assert_null(strstr(csv, ",=SUM"));
    free(csv);
    cs_report_free(r);
}

static void test_report__txt_shows_units_and_comparisons_in_columns(
    void **state)
{
    struct cs_report *r = sample_report();
    char *txt = render("txt", r);
    const char *line;
    size_t col = 0;

    (void)state;
    /* A count is not a percentage; a rate is one; the change in pp. */
    line = strstr(txt, "  Sentiment scored");
    assert_non_null(line);
    assert_non_null(strstr(line, " 115 "));
    assert_true(strstr(line, "115 ") < strstr(line, "+15.0 %"));
    assert_null(strstr(txt, "11500"));
    line = strstr(txt, "  Answer rate");
    assert_non_null(line);
    assert_non_null(strstr(line, "90.0 %"));
    assert_non_null(strstr(line, "95.0 %"));
    assert_non_null(strstr(line, CS_FMT_MINUS "5.0 pp"));
    /* A loss reads as a loss, in the tenant's currency. */
    assert_non_null(strstr(txt, CS_FMT_MINUS "\xe2\x82\xac" "120.50"));
    /* The alert: label, value and threshold in the KPI's unit. */
    assert_non_null(strstr(txt, "Answer rate (answer_rate) is 90.0 %, below "
                                "the warning threshold 95.0 %"));
    /* Every KPI row ends its last column at the same character, "—",
     * "€" and "−" included. */
    {
        const char *p = strstr(txt, "\nVolume") + 1;
        const char *end = strstr(p, "\n\n");

        assert_non_null(end);
        while (p < end) {
            const char *nl = strchr(p, '\n');
            char *l = strndup(p, (size_t)(nl - p));

            if (strncmp(l, "  ", 2) == 0) {
                if (col == 0)
                    col = cs_fmt_width(l);
                else if (cs_fmt_width(l) != col)
                    fail_msg("misaligned: '%s'", l);
            }
            free(l);
            p = nl + 1;
        }
    }
    assert_true(col > 0);
    free(txt);
    cs_report_free(r);
}

static void test_report__json_keeps_the_contract_shape(void **state)
{
    struct cs_report *r = sample_report();
    char *text = render("json", r);
    json_t *j = json_loads(text, 0, NULL), *t;

    (void)state;
    assert_non_null(j);
    t = json_object_get(json_object_get(j, "tenants"), "zoë-clinic");
    assert_non_null(t);
    assert_int_equal(json_integer_value(json_object_get(t, "conversations")),
                     40);
    assert_true(json_is_null(json_object_get(t, "aht_s")));
    assert_true(json_is_object(json_object_get(t, "work_items_created")));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(t, "sentiment"), "scored")), 115);
    assert_null(json_object_get(t, "handoff_people_cost"));
    assert_true(json_is_object(json_object_get(t, "previous")));
    assert_int_equal(json_array_size(json_object_get(t, "alerts")), 1);
    json_decref(j);
    free(text);
    cs_report_free(r);
}

static void test_report__a_full_disk_is_an_error(void **state)
{
    struct cs_report *r = sample_report();
    struct cs_err err = {0, ""};
    FILE *full = fopen("/dev/full", "w");

    (void)state;
    if (!full)
        fail_msg("no /dev/full on this machine");
    for (const char *const *k = (const char *const[]){"json", "csv", "txt",
                                                      NULL};
         *k; k++) {
        /* Unbuffered, so the very first write fails. */
        setvbuf(full, NULL, _IONBF, 0);
        clearerr(full);
        assert_int_not_equal(cs_render_stream(cs_render_find(*k), r, full,
                                              "/dev/full", &err), 0);
        assert_int_equal(err.code, CS_EIO);
    }
    fclose(full);
    assert_int_not_equal(cs_render_file(cs_render_find("csv"), r,
                                        "/nonexistent-dir/kpis.csv", &err),
                         0);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/kpis.csv"));
    cs_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report__every_kpi_of_the_spec_has_a_definition),
        cmocka_unit_test(test_report__changes_in_each_kpis_own_terms),
        cmocka_unit_test(test_report__numbers_read_as_people_expect),
        cmocka_unit_test(test_report__changes_read_as_people_expect),
        cmocka_unit_test(
            test_report__alert_shows_enough_digits_to_see_the_breach),
        cmocka_unit_test(test_report__padding_counts_characters_not_bytes),
        cmocka_unit_test(test_report__rows_carry_comparisons_once),
        cmocka_unit_test(
            test_report__csv_one_row_per_kpi_with_comparison_columns),
        cmocka_unit_test(
            test_report__txt_shows_units_and_comparisons_in_columns),
        cmocka_unit_test(test_report__json_keeps_the_contract_shape),
        cmocka_unit_test(test_report__a_full_disk_is_an_error),
    };

    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
