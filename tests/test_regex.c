/* test_regex.c - the PCRE2 module: compile errors, checks, UTF-8, limits */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "regex/regex.h"

/* Matches `pattern` in `text` from 0; returns 1/0/<0 and the span. */
static int match(const char *pattern, cs_regex_check_fn check,
                 const char *text, struct cs_regex_span *at)
{
    struct cs_regex *re = NULL;
    struct cs_regex_matcher *m = NULL;
    struct cs_regex_subject s;
    struct cs_err err = {0, ""};
    int ret;

    assert_int_equal(cs_regex_new(&re, pattern, check, &err), 0);
    assert_int_equal(cs_regex_subject_init(&s, text, strlen(text), &err), 0);
    cs_regex_matcher_new(&m);
    ret = cs_regex_match(at, m, re, &s, 0, &err);
    cs_regex_matcher_free(m);
    cs_regex_free(re);
    return ret;
}

static void test_regex__check_reports_message_and_offset(void **state)
{
    struct cs_err err = {0, ""};

    (void)state;
    assert_int_equal(cs_regex_check("(?i)\\bok\\b", &err), 0);
    assert_int_equal(cs_regex_check("(ab", &err), CS_EINVALID);
    assert_string_equal(err.msg, "pattern does not compile at offset 3: "
                        "missing closing parenthesis");
    assert_int_equal(cs_regex_check("a{3,1}", &err), CS_EINVALID);
    assert_string_equal(err.msg, "pattern does not compile at offset 5: "
                        "numbers out of order in {} quantifier");
}

/* Accepts only matches of an even length. */
static int even(const char *subj, size_t len, size_t start, size_t end)
{
    (void)subj;
    (void)len;
    return (end - start) % 2 == 0;
}

static void test_regex__a_check_makes_the_engine_backtrack(void **state)
{
    struct cs_regex *re = NULL;
    struct cs_err err = {0, ""};
    struct cs_regex_span at;

    (void)state;
    /* The first candidate is one digit; the check wants an even length,
     * so the engine goes on to two. */
    assert_int_equal(match("[0-9]+?", NULL, "ab 12345 cd", &at), 1);
    assert_int_equal(at.start, 3);
    assert_int_equal(at.end, 4);
    assert_int_equal(match("[0-9]+?", even, "ab 12345 cd", &at), 1);
    assert_int_equal(at.start, 3);
    assert_int_equal(at.end, 5);
    /* Leading verbs stay first; offsets are the pattern's as given. */
    assert_int_equal(match("(*UCP)[0-9]+?", even, "123", &at), 1);
    assert_int_equal(at.end, 2);
    assert_int_equal(cs_regex_new(&re, "(*UCP)[0-9", even, &err),
                     CS_EINVALID);
    assert_null(re);
    assert_string_equal(err.msg, "pattern does not compile at offset 10: "
                        "missing terminating ] for character class");
}

static void test_regex__unicode_classes_and_case(void **state)
{
    struct cs_regex_span at;

    (void)state;
    /* UCP: é is a word character, so there is no \b inside "cafés". */
    assert_int_equal(match("\\bcaf\\b", NULL, "deux cafés", &at), 0);
    assert_int_equal(match("(?i)CAFÉ", NULL, "un café", &at), 1);
    assert_int_equal(at.start, 3);
    assert_int_equal(at.end, 3 + strlen("café"));
}

static void test_regex__subjects_are_checked_once(void **state)
{
    struct cs_regex_subject s;
    struct cs_err err = {0, ""};

    (void)state;
    assert_int_equal(cs_regex_subject_init(&s, "a\xff" "b", 3, &err),
                     CS_EINVALID);
    assert_string_equal(err.msg, "text is not valid utf-8 at byte 1");
    assert_int_equal(s.len, 0);
    /* Overlong forms, surrogates and truncated sequences. */
    assert_int_equal(cs_regex_utf8_check("\xc0\xaf", 2, NULL), CS_EINVALID);
    assert_int_equal(cs_regex_utf8_check("\xed\xa0\x80", 3, NULL),
                     CS_EINVALID);
    assert_int_equal(cs_regex_utf8_check("\xe2\x82", 2, NULL), CS_EINVALID);
    assert_int_equal(cs_regex_utf8_check("\xe2\x82\xac", 3, NULL), 0);
    assert_int_equal(cs_regex_subject_init(&s, "ok", 2, &err), 0);
    assert_int_equal(s.len, 2);
}

/* A catastrophic pattern hits the match limit: an error, not "no match",
 * and the matcher still works afterwards. */
static void test_regex__limits_are_errors(void **state)
{
    struct cs_buf text = CS_BUF_INIT;
    struct cs_regex *bad = NULL, *good = NULL;
    struct cs_regex_matcher *m = NULL;
    struct cs_regex_subject s;
    struct cs_regex_span at;
    struct cs_err err = {0, ""};

    (void)state;
    for (int i = 0; i < 40; i++)
        cs_buf_addch(&text, 'a');
    cs_buf_addch(&text, '!');
    assert_int_equal(cs_regex_new(&bad, "^(a|a?)+$", NULL, &err), 0);
    assert_int_equal(cs_regex_new(&good, "a!", NULL, &err), 0);
    assert_int_equal(cs_regex_subject_init(&s, text.ptr, text.len, &err), 0);
    cs_regex_matcher_new(&m);
    assert_int_equal(cs_regex_match(&at, m, bad, &s, 0, &err), CS_ERROR);
    assert_non_null(strstr(err.msg, "pattern match failed: "));
    assert_non_null(strstr(err.msg, "limit"));
    assert_int_equal(cs_regex_match(&at, m, good, &s, 0, &err), 1);
    assert_int_equal(at.start, 39);
    /* Past the end there is nothing to find. */
    assert_int_equal(cs_regex_match(&at, m, good, &s, text.len + 1, &err),
                     0);
    cs_regex_matcher_free(m);
    cs_regex_free(bad);
    cs_regex_free(good);
    cs_buf_release(&text);
}

/* The lint's look for nested unbounded repeats: the shapes that take
 * exponential time, and the look-alikes that do not. */
static void test_regex__nested_quantifiers_found(void **state)
{
    static const struct {
        const char *pattern;
        long at;            /* -1: none */
    } cases[] = {
        {"^(\\w+\\s?)*$", 1},
        {"(a+)+", 0},
        {"x(?:\\s*\\w+)*y", 1},
        {"(.*?,)*", 0},
        {"((a*)?)*", 0},
        {"(a{2,})+", 0},
        {"(?i)\\b(book|schedule)\\w*\\b", -1},
        {"(a|b)*", -1},
        {"(a+)?", -1},
        {"(a{2,5})+", -1},
        {"(?>a+)+", -1},
        {"(a++)+", -1},
        {"(a+)++", -1},
        {"[(a+)]*", -1},
        {"\\(a+\\)*", -1},
        {"\\Q(a+)+\\E", -1},
        {"(?#(a+)+)x", -1},
        {"[[:alpha:]]+(\\d)*", -1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t at = 999;
        int found = cs_regex_nested_quantifier(cases[i].pattern, &at);

        if (found != (cases[i].at >= 0) ||
            (found && (long)at != cases[i].at))
            fail_msg("'%s': found %d at %zu, want %ld", cases[i].pattern,
                     found, at, cases[i].at);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex__check_reports_message_and_offset),
        cmocka_unit_test(test_regex__a_check_makes_the_engine_backtrack),
        cmocka_unit_test(test_regex__unicode_classes_and_case),
        cmocka_unit_test(test_regex__subjects_are_checked_once),
        cmocka_unit_test(test_regex__limits_are_errors),
        cmocka_unit_test(test_regex__nested_quantifiers_found),
    };

    return cmocka_run_group_tests_name("regex", tests, NULL, NULL);
}
