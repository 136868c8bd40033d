/* test_tmpl.c - templates: entries, placeholders, and every error named */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/tmpl.h"

static const char text[] =
    "# report strings\n"
    "@subject\n"
    "{{tenant}} \xe2\x80\x94 {{period}}\n"
    "\n"
    "@body\n"
    "  Hello {{name}},\n"
    "  the report is attached.\n"
    "\n"
    "  Literal {{{{braces}}.\n"
    "@uses_missing\n"
    "{{nothing}}\n";

static void test_tmpl__entries_are_filled_and_joined(void **state)
{
    struct cs_tmpl *t = NULL;
    struct cs_err err = {0, ""};
    struct cs_buf b = CS_BUF_INIT;
    const struct cs_tmpl_var vars[] = {{"tenant", "Zoë Clinic"},
                                       {"period", "October 2026"},
                                       {"name", "Ana"},
                                       {NULL, NULL}};

    (void)state;
    assert_int_equal(cs_tmpl_parse(&t, text, "report.tmpl", &err), 0);
    assert_true(cs_tmpl_has(t, "body"));
    assert_false(cs_tmpl_has(t, "nope"));
    assert_int_equal(cs_tmpl_render(&b, t, "subject", vars, &err), 0);
    assert_string_equal(b.ptr, "Zoë Clinic \xe2\x80\x94 October 2026");
    cs_buf_reset(&b);
    assert_int_equal(cs_tmpl_render(&b, t, "body", vars, &err), 0);
    assert_string_equal(b.ptr, "Hello Ana, the report is attached.\n"
                               "Literal {{braces}}.");
    cs_tmpl_free(t);
    cs_buf_release(&b);
}

static void test_tmpl__errors_name_file_line_and_placeholder(void **state)
{
    struct cs_tmpl *t = NULL;
    struct cs_err err = {0, ""};
    struct cs_buf b = CS_BUF_INIT;
    const struct cs_tmpl_var novalue[] = {{"nothing", NULL}, {NULL, NULL}};

    (void)state;
    assert_int_equal(cs_tmpl_parse(&t, text, "report.tmpl", &err), 0);
    /* Unknown to the caller. */
    assert_int_equal(cs_tmpl_render(&b, t, "uses_missing", NULL, &err),
                     CS_EINVALID);
    assert_string_equal(err.msg, "report.tmpl:11: '@uses_missing': unknown "
                                 "placeholder 'nothing'");
    /* Known, without a value: never a blank. */
    assert_int_equal(cs_tmpl_render(&b, t, "uses_missing", novalue, &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "has no value"));
    assert_int_equal(cs_tmpl_render(&b, t, "absent", NULL, &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "no entry '@absent'"));
    assert_int_equal(b.len, 0);
    cs_tmpl_free(t);
    /* Broken templates are refused when loaded. */
    assert_int_equal(cs_tmpl_parse(&t, "@a\nok\n@b\nline {{open\n", "x.tmpl",
                                   &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "x.tmpl:4: '@b': unclosed"));
    assert_int_equal(cs_tmpl_parse(&t, "text first\n", "y.tmpl", &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "y.tmpl:1:"));
    assert_int_equal(cs_tmpl_parse(&t, "@a\n1\n@a\n2\n", "z.tmpl", &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "z.tmpl:3: entry '@a' defined twice"));
    assert_int_equal(cs_tmpl_parse(&t, "@a\n{{}}\n", "e.tmpl", &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "empty placeholder"));
    assert_int_not_equal(cs_tmpl_load(&t, "/nonexistent/t.tmpl", &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent/t.tmpl"));
    cs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tmpl__entries_are_filled_and_joined),
        cmocka_unit_test(test_tmpl__errors_name_file_line_and_placeholder),
    };

    return cmocka_run_group_tests_name("tmpl", tests, NULL, NULL);
}
