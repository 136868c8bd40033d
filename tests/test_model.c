/* test_model.c - the conversation record: its field table and validation */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/conv.h"

#define GOOD_LINE "{\"id\":\"a\",\"started_at\":\"2026-10-01T10:00:00Z\"," \
                  "\"turns\":[]}"

static void test_model__field_table_round_trips(void **state)
{
    (void)state;
    for (int f = 0; f < CS_CONV_N_FIELDS; f++) {
        const char *name = cs_conv_field_name((enum cs_conv_field)f);

        assert_int_equal(cs_conv_field_find(name, strlen(name)), f);
    }
    assert_int_equal(cs_conv_field_find("turns", 5), CS_CONV_TURNS);
    /* Only the first n bytes count: no NUL is needed. */
    assert_int_equal(cs_conv_field_find("turnsX", 5), CS_CONV_TURNS);
    assert_int_equal(cs_conv_field_find("turn", 4), -1);
    assert_int_equal(cs_conv_field_find("Turns", 5), -1);
    assert_int_equal(cs_conv_field_find("", 0), -1);
    assert_string_equal(cs_conv_field_name(CS_CONV_ID), "id");
    assert_string_equal(cs_conv_field_name(CS_CONV_METADATA), "metadata");
}

static void test_model__comparable_fields(void **state)
{
    static const char *const yes[] = {
        "id", "tenant", "agent", "channel", "direction", "caller", "callee",
        "started_at", "answered_at", "ended_at", "outcome", "ring_s",
        "queue_wait_s", "sip_error_code", "handoff", "csat", "nps"};
    static const char *const no[] = {
        "turns", "tool_calls", "spans", "costs", "topics", "metrics",
        "metadata", "directon", ""};

    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
        assert_true(cs_conv_field_comparable(yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
        assert_false(cs_conv_field_comparable(no[i]));
}

static void test_model__unknown_fields_fold_into_metadata(void **state)
{
    struct cs_err err = {0, ""};
    struct cs_conv *c = NULL;
    json_t *o = json_loads("{\"id\":\"a\",\"started_at\":"
                           "\"2026-10-01T10:00:00Z\",\"turns\":[],"
                           "\"extra\":1,\"metadata\":{\"k\":2}}", 0, NULL);

    (void)state;
    assert_non_null(o);
    assert_int_equal(cs_conv_from_json(&c, o, &err), 0);
    json_decref(o);
    assert_null(json_object_get(c->doc, "extra"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(c->doc, "metadata"), "extra")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(c->doc, "metadata"), "k")), 2);
    assert_string_equal(c->tenant, "default");
    cs_conv_free(c);
}

static void test_model__from_line(void **state)
{
    struct cs_err err = {0, ""};
    struct cs_conv *c = NULL;

    (void)state;
    /* The length counts, not a NUL: trailing bytes are not read. */
    assert_int_equal(cs_conv_from_line(&c, GOOD_LINE "garbage",
                                       strlen(GOOD_LINE), &err), 0);
    assert_string_equal(c->id, "a");
    assert_string_equal(c->outcome, "no_answer");
    cs_conv_free(c);
    assert_int_equal(cs_conv_from_line(&c, "{\"id\"\0}", 7, &err),
                     CS_EINVALID);
    assert_null(c);
    assert_string_equal(err.msg, "NUL byte at column 6");
    assert_int_equal(cs_conv_from_line(&c, "{\"id\":1,\"id\":2}", 15,
                                       &err), CS_EINVALID);
    assert_null(c);
    assert_non_null(strstr(err.msg, "invalid JSON at column"));
    assert_non_null(strstr(err.msg, "duplicate"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model__field_table_round_trips),
        cmocka_unit_test(test_model__comparable_fields),
        cmocka_unit_test(test_model__unknown_fields_fold_into_metadata),
        cmocka_unit_test(test_model__from_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
