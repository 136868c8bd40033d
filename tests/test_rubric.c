/* test_rubric.c - rubric loading, linting and versions
 *
 * Without arguments: the unit tests. With `--lint-case DIR` (one ctest per
 * directory of tests/data/rubric, see tests/rubric.cmake): lints DIR/input
 * and compares the report, one line per problem, with DIR/expected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "helpers.h"
#include "rubric/rubric.h"

static const char *lint_case_dir;

/* The report as text, one formatted item per line. */
static char *report_text(const struct cs_lint_report *rep)
{
    struct cs_buf b = CS_BUF_INIT;

    for (size_t i = 0; i < rep->n; i++) {
        cs_lint_item_format(&b, &rep->items[i]);
        cs_buf_addch(&b, '\n');
    }
    return cs_buf_detach(&b, NULL);
}

static void put(const char *dir, const char *name, const char *text)
{
    struct cs_buf p = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/%s", dir, name);
    th_write(p.ptr, text, strlen(text));
    cs_buf_release(&p);
}

/* Loads `dir` and returns the version of rubric `key` (new). */
static char *version_of(const char *dir, const char *key)
{
    struct cs_rubric_set *set = NULL;
    struct cs_err err;
    const struct cs_rubric *r;
    char *v;

    cs_err_clear(&err);
    if (cs_rubric_set_load(&set, dir, NULL, &err) < 0)
        fail_msg("load %s: %s", dir, err.msg);
    r = cs_rubric_set_find(set, key);
    assert_non_null(r);
    v = cs_xstrdup(r->version);
    cs_rubric_set_free(set);
    return v;
}

static void lint_case(void **state)
{
    struct cs_lint_report rep;
    struct cs_buf input = CS_BUF_INIT, expected_path = CS_BUF_INIT;
    struct cs_err err;
    char *got, *expected;

    (void)state;
    cs_lint_report_init(&rep);
    cs_err_clear(&err);
    cs_buf_addf(&input, "%s/input", lint_case_dir);
    cs_buf_addf(&expected_path, "%s/expected", lint_case_dir);
    expected = th_read(expected_path.ptr);
    if (!expected)
        fail_msg("missing %s", expected_path.ptr);
    if (cs_rubric_lint(&rep, input.ptr, &err) < 0)
        fail_msg("lint %s: %s", input.ptr, err.msg);
    got = report_text(&rep);
    if (strcmp(got, expected) != 0) {
        /* cmocka truncates long messages: print the reports first. */
        fprintf(stderr, "--- expected\n%s--- got\n%s---\n", expected, got);
        fail_msg("the lint report of %s differs from %s", input.ptr,
                 expected_path.ptr);
    }
    free(got);
    free(expected);
    cs_buf_release(&input);
    cs_buf_release(&expected_path);
    cs_lint_report_release(&rep);
}

static const char rubric_a[] =
    "{\"name\": \"Booking completed\", \"type\": \"boolean\",\n"
    " \"definition\": \"A booking was made.\",\n"
    " \"success\": \"Booked.\", \"failure\": \"Not booked.\",\n"
    " \"rules\": [{\"turn_matches\": \"booked\", \"role\": \"agent\","
    " \"value\": true}, {\"default\": false}],\n"
    " \"tags\": [\"Booking\"]}\n";

/* The same rubric: other whitespace, key order and escapes. */
static const char rubric_a_reordered[] =
    "{\n  \"tags\" : [ \"Booking\" ],\n"
    "  \"rules\" : [ { \"value\" : true, \"role\" : \"agent\",\n"
    "                \"turn_matches\" : \"book\\u0065d\" },\n"
    "              { \"default\" : false } ],\n"
    "  \"failure\" : \"Not booked.\",\n  \"success\" : \"Booked.\",\n"
    "  \"definition\" : \"A booking was made.\",\n"
    "  \"type\" : \"boolean\",\n  \"name\" : \"Booking completed\"\n}\n";

static const char rubric_a_renamed[] =
    "{\"name\": \"Booking done\", \"type\": \"boolean\",\n"
    " \"definition\": \"A booking was made.\",\n"
    " \"success\": \"Booked.\", \"failure\": \"Not booked.\",\n"
    " \"rules\": [{\"turn_matches\": \"booked\", \"role\": \"agent\","
    " \"value\": true}, {\"default\": false}],\n"
    " \"tags\": [\"Bookings\", \"Sales\"]}\n";

/* The same rubric, read the other way round by reports. */
static const char rubric_a_lower_is_good[] =
    "{\"name\": \"Booking completed\", \"type\": \"boolean\",\n"
    " \"definition\": \"A booking was made.\",\n"
    " \"success\": \"Booked.\", \"failure\": \"Not booked.\",\n"
    " \"rules\": [{\"turn_matches\": \"booked\", \"role\": \"agent\","
    " \"value\": true}, {\"default\": false}],\n"
    " \"tags\": [\"Booking\"], \"direction\": \"lower_is_good\"}\n";

static const char rubric_a_redefined[] =
    "{\"name\": \"Booking completed\", \"type\": \"boolean\",\n"
    " \"definition\": \"A booking was made and confirmed.\",\n"
    " \"success\": \"Booked.\", \"failure\": \"Not booked.\",\n"
    " \"rules\": [{\"turn_matches\": \"booked\", \"role\": \"agent\","
    " \"value\": true}, {\"default\": false}],\n"
    " \"tags\": [\"Booking\"]}\n";

static const char rubric_dep[] =
    "{\"name\": \"Booking upsell\", \"type\": \"boolean\",\n"
    " \"definition\": \"After a booking, the agent offered an extra.\",\n"
    " \"success\": \"Offered.\", \"failure\": \"Not offered.\",\n"
    " \"applies_when\": {\"metric\": \"a\", \"equals\": true}}\n";

static void test_rubric__version_ignores_format_name_tags_direction(
    void **state)
{
    char *dir = th_tmpdir();
    char *v1, *v2, *v3;

    (void)state;
    put(dir, "a.json", rubric_a);
    v1 = version_of(dir, "a");
    assert_int_equal(strlen(v1), 16);
    assert_int_equal(strspn(v1, "0123456789abcdef"), 16);
    put(dir, "a.json", rubric_a_reordered);
    v2 = version_of(dir, "a");
    assert_string_equal(v1, v2);
    put(dir, "a.json", rubric_a_renamed);
    v3 = version_of(dir, "a");
    assert_string_equal(v1, v3);
    free(v3);
    /* A direction is how reports colour the metric: no re-scoring. */
    put(dir, "a.json", rubric_a_lower_is_good);
    v3 = version_of(dir, "a");
    assert_string_equal(v1, v3);
    {
        struct cs_rubric_set *set = NULL;
        struct cs_err err = {0, ""};

        assert_int_equal(cs_rubric_set_load(&set, dir, NULL, &err), 0);
        assert_int_equal(cs_rubric_set_find(set, "a")->direction,
                         CS_RUBRIC_LOWER_IS_GOOD);
        cs_rubric_set_free(set);
        put(dir, "a.json", rubric_a);
        assert_int_equal(cs_rubric_set_load(&set, dir, NULL, &err), 0);
        assert_int_equal(cs_rubric_set_find(set, "a")->direction,
                         CS_RUBRIC_HIGHER_IS_GOOD);
        cs_rubric_set_free(set);
    }
    free(v1);
    free(v2);
    free(v3);
    th_rmtree(dir);
    free(dir);
}

static void test_rubric__version_changes_with_definition(void **state)
{
    char *dir = th_tmpdir();
    char *a1, *a2, *d1, *d2;

    (void)state;
    put(dir, "a.json", rubric_a);
    put(dir, "b.json", rubric_dep);
    a1 = version_of(dir, "a");
    d1 = version_of(dir, "b");
    put(dir, "a.json", rubric_a_redefined);
    a2 = version_of(dir, "a");
    d2 = version_of(dir, "b");
    assert_string_not_equal(a1, a2);
    /* b depends on a, so its results (and version) follow a's. */
    assert_string_not_equal(d1, d2);
    free(a1);
    free(a2);
    free(d1);
    free(d2);
    th_rmtree(dir);
    free(dir);
}

static void test_rubric__version_of_independent_rubric_is_untouched(
    void **state)
{
    char *dir = th_tmpdir();
    char *c1, *c2;
    static const char other[] =
        "{\"name\": \"Call reason\", \"type\": \"categorical\","
        " \"definition\": \"Why they called.\","
        " \"categories\": {\"booking\": \"To book.\","
        " \"other\": \"Anything else.\"}}";

    (void)state;
    put(dir, "a.json", rubric_a);
    put(dir, "c.json", other);
    c1 = version_of(dir, "c");
    put(dir, "a.json", rubric_a_redefined);
    c2 = version_of(dir, "c");
    assert_string_equal(c1, c2);
    free(c1);
    free(c2);
    th_rmtree(dir);
    free(dir);
}

static void test_rubric__dependency_order(void **state)
{
    char *dir = th_tmpdir();
    struct cs_rubric_set *set = NULL;
    struct cs_err err;
    size_t pos[3];
    static const char tmpl[] =
        "{\"name\": \"%s\", \"type\": \"boolean\","
        " \"definition\": \"d\", \"success\": \"s\", \"failure\": \"f\"%s}";
    struct cs_buf b = CS_BUF_INIT;

    (void)state;
    /* alpha needs beta, beta needs gamma: sorted order is the reverse. */
    cs_buf_addf(&b, tmpl, "Alpha", ", \"applies_when\": {\"metric\": "
                "\"beta\", \"equals\": true}");
    put(dir, "alpha.json", b.ptr);
    cs_buf_reset(&b);
    cs_buf_addf(&b, tmpl, "Beta", ", \"applies_when\": {\"metric\": "
                "\"gamma\", \"equals\": false}");
    put(dir, "beta.json", b.ptr);
    cs_buf_reset(&b);
    cs_buf_addf(&b, tmpl, "Gamma", "");
    put(dir, "gamma.json", b.ptr);
    cs_err_clear(&err);
    if (cs_rubric_set_load(&set, dir, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(set->n, 3);
    assert_string_equal(set->rubrics[0].key, "alpha");
    for (size_t k = 0; k < 3; k++)
        pos[set->order[k]] = k;
    assert_true(pos[2] < pos[1]);
    assert_true(pos[1] < pos[0]);
    assert_int_equal(set->rubrics[0].applies.kind, CS_APPLIES_METRIC);
    assert_int_equal(set->rubrics[0].applies.dep, 1);
    cs_rubric_set_free(set);
    cs_buf_release(&b);
    th_rmtree(dir);
    free(dir);
}

static void test_rubric__starter_set_fields(void **state)
{
    char *dir = th_src("rubrics");
    struct cs_rubric_set *set = NULL;
    struct cs_lint_report rep;
    struct cs_err err;
    const struct cs_rubric *r;

    (void)state;
    cs_lint_report_init(&rep);
    cs_err_clear(&err);
    if (cs_rubric_set_load(&set, dir, &rep, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(rep.n, 0);

    r = cs_rubric_set_find(set, "booking_completed");
    assert_non_null(r);
    assert_string_equal(r->name, "Booking completed");
    assert_int_equal(r->type, CS_RUBRIC_BOOLEAN);
    assert_non_null(r->partial);
    assert_int_equal(r->applies.kind, CS_APPLIES_TURN_MATCHES);
    assert_int_equal(r->applies.role, CS_ROLE_CUSTOMER);
    assert_true(r->n_rules >= 2);
    assert_true(r->rules[r->n_rules - 1].is_default);
    assert_true(json_is_false(r->rules[r->n_rules - 1].value));

    r = cs_rubric_set_find(set, "call_reason");
    assert_non_null(r);
    assert_int_equal(r->type, CS_RUBRIC_CATEGORICAL);
    assert_string_equal(r->categories[0].label, "booking"); /* file order */
    assert_string_equal(r->categories[r->n_categories - 1].label, "other");

    r = cs_rubric_set_find(set, "agent_empathy");
    assert_non_null(r);
    assert_int_equal(r->type, CS_RUBRIC_SCORE);
    assert_int_equal(r->scale_min, 1);
    assert_int_equal(r->scale_max, 5);
    assert_int_equal(r->n_anchors, 5);

    r = cs_rubric_set_find(set, "customer_sentiment");
    assert_non_null(r);
    assert_int_equal(r->n_categories, 3);
    assert_non_null(cs_rubric_set_find(set, "caller_authenticated"));
    assert_non_null(cs_rubric_set_find(set, "resolution_without_handoff"));
    assert_null(cs_rubric_set_find(set, "nope"));
    cs_rubric_set_free(set);
    cs_lint_report_release(&rep);
    free(dir);
}

static void test_rubric__real_dev_rubrics_lint_clean(void **state)
{
    char *data = th_src("tests/data/real-dev");
    struct cs_buf dir = CS_BUF_INIT;
    struct cs_lint_report rep;
    struct cs_err err;
    char *text;

    (void)state;
    cs_buf_addf(&dir, "%s/rubrics", data);
    cs_lint_report_init(&rep);
    cs_err_clear(&err);
    assert_int_equal(cs_rubric_lint(&rep, dir.ptr, &err), 0);
    text = report_text(&rep);
    assert_string_equal(text, "");
    free(text);
    cs_lint_report_release(&rep);
    cs_buf_release(&dir);
    free(data);
}

static void test_rubric__load_refuses_invalid_set(void **state)
{
    char *dir = th_tmpdir();
    struct cs_rubric_set *set = (struct cs_rubric_set *)&set;
    struct cs_lint_report rep;
    struct cs_err err;

    (void)state;
    put(dir, "a.json", rubric_a);
    put(dir, "b.json", "{\"name\": \"Other\", \"type\": \"number\", "
        "\"definition\": \"d\"}");
    cs_lint_report_init(&rep);
    cs_err_clear(&err);
    assert_int_equal(cs_rubric_set_load(&set, dir, &rep, &err),
                     CS_EINVALID);
    assert_null(set);
    assert_int_equal(rep.n_errors, 1);
    assert_non_null(strstr(err.msg, "1 error, first: b.json: type: unknown "
                                    "type \"number\""));
    cs_lint_report_release(&rep);
    th_rmtree(dir);
    free(dir);
}

static void test_rubric__missing_directory(void **state)
{
    struct cs_lint_report rep;
    struct cs_err err;

    (void)state;
    cs_lint_report_init(&rep);
    cs_err_clear(&err);
    assert_int_equal(cs_rubric_lint(&rep, "/nonexistent/rubrics", &err),
                     CS_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/rubrics"));
    cs_lint_report_release(&rep);
}

static void test_rubric__value_valid(void **state)
{
    struct cs_rubric_category cats[] = {{"a", "A"}, {"b", "B"}};
    struct cs_rubric r;
    json_t *v;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.type = CS_RUBRIC_BOOLEAN;
    assert_true(cs_rubric_value_valid(&r, json_true()));
    assert_true(cs_rubric_value_valid(&r, json_false()));
    v = json_string("partial");
    assert_false(cs_rubric_value_valid(&r, v));
    r.partial = "half";
    assert_true(cs_rubric_value_valid(&r, v));
    json_decref(v);
    v = json_string("not_applicable");
    assert_true(cs_rubric_value_valid(&r, v));
    json_decref(v);

    r.type = CS_RUBRIC_CATEGORICAL;
    r.categories = cats;
    r.n_categories = 2;
    v = json_string("b");
    assert_true(cs_rubric_value_valid(&r, v));
    json_decref(v);
    v = json_string("c");
    assert_false(cs_rubric_value_valid(&r, v));
    json_decref(v);
    assert_false(cs_rubric_value_valid(&r, json_true()));

    r.type = CS_RUBRIC_SCORE;
    r.scale_min = 1;
    r.scale_max = 5;
    v = json_integer(5);
    assert_true(cs_rubric_value_valid(&r, v));
    json_decref(v);
    v = json_integer(6);
    assert_false(cs_rubric_value_valid(&r, v));
    json_decref(v);
    v = json_real(0.5);
    assert_false(cs_rubric_value_valid(&r, v));
    json_decref(v);
}

/* Every case directory has an input folder and an expected file, so that
 * a case cannot silently test nothing. */
static void test_rubric__lint_cases_are_complete(void **state)
{
    (void)state;
    th_cases_complete("rubric", 15);
}

/* rubric_a limited to tenants, with a min_kappa. */
static const char rubric_a_scoped[] =
    "{\"name\": \"Booking completed\", \"type\": \"boolean\",\n"
    " \"definition\": \"A booking was made.\",\n"
    " \"success\": \"Booked.\", \"failure\": \"Not booked.\",\n"
    " \"rules\": [{\"turn_matches\": \"booked\", \"role\": \"agent\","
    " \"value\": true}, {\"default\": false}],\n"
    " \"tags\": [\"Booking\"], \"tenants\": [\"acme\", \"beta\"],"
    " \"min_kappa\": 0.6}\n";

static const char scorecard_qa[] =
    "{\"key\": \"qa\", \"name\": \"QA\", \"tenants\": [\"acme\"],"
    " \"pass_mark\": 70, \"items\": [{\"metric\": \"a\", \"value\": true,"
    " \"points\": 10}]}";

/* The scorecard's version, new. */
static char *scorecard_version(const char *dir)
{
    struct cs_rubric_set *set = NULL;
    struct cs_err err = {0, ""};
    char *v;

    if (cs_rubric_set_load(&set, dir, NULL, &err) < 0)
        fail_msg("load %s: %s", dir, err.msg);
    assert_int_equal(set->n_scorecards, 1);
    v = cs_xstrdup(set->scorecards[0].version);
    cs_rubric_set_free(set);
    return v;
}

static void test_rubric__tenants_and_min_kappa_are_no_change_of_meaning(
    void **state)
{
    char *dir = th_tmpdir();
    struct cs_rubric_set *set = NULL;
    struct cs_err err = {0, ""};
    const struct cs_rubric *r;
    char *v1, *v2, *s1, *s2, *s3;

    (void)state;
    put(dir, "a.json", rubric_a);
    put(dir, "qa.scorecard.json", scorecard_qa);
    v1 = version_of(dir, "a");
    s1 = scorecard_version(dir);
    put(dir, "a.json", rubric_a_scoped);
    v2 = version_of(dir, "a");
    s2 = scorecard_version(dir);
    /* Where a rubric applies and the agreement it must reach re-score
     * nothing, nor the scorecards over it. */
    assert_string_equal(v1, v2);
    assert_string_equal(s1, s2);
    assert_int_equal(cs_rubric_set_load(&set, dir, NULL, &err), 0);
    r = cs_rubric_set_find(set, "a");
    assert_int_equal(r->n_tenants, 2);
    assert_true(cs_rubric_for_tenant(r, "beta"));
    assert_false(cs_rubric_for_tenant(r, "gamma"));
    assert_true(r->min_kappa == 0.6);
    assert_true(cs_scorecard_find(set, "qa")->pass_mark == 70);
    assert_true(cs_rubric_set_has(set, "qa", "acme"));
    assert_false(cs_rubric_set_has(set, "qa", "beta"));
    assert_false(cs_rubric_set_has(set, "a", "gamma"));
    cs_rubric_set_free(set);
    /* A change of meaning of a metric changes its scorecards' version. */
    put(dir, "a.json", rubric_a_redefined);
    s3 = scorecard_version(dir);
    assert_string_not_equal(s1, s3);
    /* The scorecard's display fields do not. */
    put(dir, "a.json", rubric_a);
    put(dir, "qa.scorecard.json",
        "{\"key\": \"qa\", \"name\": \"Front desk\", \"pass_mark\": 90,"
        " \"items\": [{\"metric\": \"a\", \"value\": true, \"points\": 10}]}");
    free(s3);
    s3 = scorecard_version(dir);
    assert_string_equal(s1, s3);
    free(v1);
    free(v2);
    free(s1);
    free(s2);
    free(s3);
    th_rmtree(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest units[] = {
        cmocka_unit_test(
            test_rubric__version_ignores_format_name_tags_direction),
        cmocka_unit_test(test_rubric__version_changes_with_definition),
        cmocka_unit_test(
            test_rubric__tenants_and_min_kappa_are_no_change_of_meaning),
        cmocka_unit_test(
            test_rubric__version_of_independent_rubric_is_untouched),
        cmocka_unit_test(test_rubric__dependency_order),
        cmocka_unit_test(test_rubric__starter_set_fields),
        cmocka_unit_test(test_rubric__real_dev_rubrics_lint_clean),
        cmocka_unit_test(test_rubric__load_refuses_invalid_set),
        cmocka_unit_test(test_rubric__missing_directory),
        cmocka_unit_test(test_rubric__value_valid),
        cmocka_unit_test(test_rubric__lint_cases_are_complete),
    };
    const struct CMUnitTest one_case[] = {
        cmocka_unit_test(lint_case),
    };

    if (argc == 3 && !strcmp(argv[1], "--lint-case")) {
        lint_case_dir = argv[2];
        return cmocka_run_group_tests_name(argv[2], one_case, NULL, NULL);
    }
    return cmocka_run_group_tests_name("rubric", units, NULL, NULL);
}
