/* test_redact.c - the PII redactor: defaults, checks, custom rules */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "config/config.h"
#include "helpers.h"
#include "redact/redact.h"

struct fixture {
    struct cs_redact *rd;
    struct cs_buf out;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cs_err err = {0};

    if (!f)
        return -1;
    cs_buf_init(&f->out);
    if (cs_redact_new(&f->rd, NULL, 0, &err) < 0) {
        fprintf(stderr, "cs_redact_new: %s\n", err.msg);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cs_redact_free(f->rd);
    cs_buf_release(&f->out);
    free(f);
    return 0;
}

/* Redacts `in` with `rd` into f->out (reset first) and returns it. */
static const char *redact(struct fixture *f, struct cs_redact *rd,
                          const char *in, size_t *count)
{
    struct cs_err err = {0};
    int ret;

    cs_buf_reset(&f->out);
    ret = cs_redact_apply(&f->out, count, rd, in, strlen(in), &err);
    if (ret < 0)
        fail_msg("redacting '%s': %s", in, err.msg);
    return f->out.ptr;
}

struct tcase {
    const char *in;
    const char *want;
};

static void run_table(struct fixture *f, const struct tcase *t, size_t n)
{
    size_t i, failed = 0;

    for (i = 0; i < n; i++) {
        const char *got = redact(f, f->rd, t[i].in, NULL);

        if (strcmp(got, t[i].want) != 0) {
            print_error("case %zu: '%s'\n   want '%s'\n    got '%s'\n", i,
                        t[i].in, t[i].want, got);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_redact__phones(void **state)
{
    static const struct tcase t[] = {
        {"call me at +1 (415) 555-2671 tomorrow",
         "call me at [PHONE] tomorrow"},
        {"my number is 415-555-2671.", "my number is [PHONE]."},
        {"(415) 555-2671", "[PHONE]"},
        {"+33 6 12 34 56 78", "[PHONE]"},
        {"06 12 34 56 78, merci", "[PHONE], merci"},
        {"0612345678", "[PHONE]"},
        {"+4915112345678", "[PHONE]"},
        {"tel:+44 20 7946 0958", "tel:[PHONE]"},
        {"ring 555-1234 now", "ring [PHONE] now"},
        {"1-800-555-0199", "[PHONE]"},
        {"415.555.2671", "[PHONE]"},
        {"612 345 678", "[PHONE]"},
        {"a: 020 7946 0958; b: 020-7946-0958", "a: [PHONE]; b: [PHONE]"},
        {"415-555-2671 555-0199", "[PHONE] [PHONE]"},
        {"at 10:30, 555-1234", "at 10:30, [PHONE]"},
    };

    run_table(*state, t, sizeof(t) / sizeof(t[0]));
}

static void test_redact__emails(void **state)
{
    static const struct tcase t[] = {
        {"write to jane.doe+calls@example.co.uk please",
         "write to [EMAIL] please"},
        {"<bob@example.com>", "<[EMAIL]>"},
        {"mail: josé.müller@exämple.de.", "mail: [EMAIL]."},
        {"two: a@b.io, c_d@e-f.org", "two: [EMAIL], [EMAIL]"},
        {"no address: @handle, user@localhost, a @ b.com",
         "no address: @handle, user@localhost, a @ b.com"},
    };

    run_table(*state, t, sizeof(t) / sizeof(t[0]));
}

static void test_redact__cards_need_luhn(void **state)
{
    static const struct tcase t[] = {
        {"card 4111 1111 1111 1111 exp 12/27", "card [CARD] exp 12/27"},
        {"4111-1111-1111-1111", "[CARD]"},
        {"4111111111111111", "[CARD]"},
        {"mc 5500 0000 0000 0004.", "mc [CARD]."},
        {"amex 3782 822463 10005", "amex [CARD]"},
        {"4012888888881881", "[CARD]"},
        /* Luhn fails: kept (and too long to be a phone). */
        {"4111 1111 1111 1112", "4111 1111 1111 1112"},
        {"4111111111111112", "4111111111111112"},
        {"0000 0000 0000 0000", "0000 0000 0000 0000"},
    };

    run_table(*state, t, sizeof(t) / sizeof(t[0]));
}

static void test_redact__ibans_and_ssns(void **state)
{
    static const struct tcase t[] = {
        {"IBAN DE89 3704 0044 0532 0130 00 thanks", "IBAN [IBAN] thanks"},
        {"GB82WEST12345698765432", "[IBAN]"},
        {"FR1420041010050500013M02606", "[IBAN]"},
        /* The check digits are wrong: not an IBAN. */
        {"GB00WEST12345698765432", "GB00WEST12345698765432"},
        /* A trailing group that breaks the checksum is left out. */
        {"DE89 3704 0044 0532 0130 00 AB", "[IBAN] AB"},
        {"ssn 123-45-6789.", "ssn [SSN]."},
    };

    run_table(*state, t, sizeof(t) / sizeof(t[0]));
}

static void test_redact__ordinary_numbers_kept(void **state)
{
    static const struct tcase t[] = {
        {"The meeting is at 10:30 on 2026-11-02.",
         "The meeting is at 10:30 on 2026-11-02."},
        {"2026-11-02T09:14:03Z and 2026-11-02 10:30",
         "2026-11-02T09:14:03Z and 2026-11-02 10:30"},
        {"on 02.11.2026 or 11/02/2026 or 2.11.2026",
         "on 02.11.2026 or 11/02/2026 or 2.11.2026"},
        {"It costs $37, or $1,299.99, or 1 299,99 \xe2\x82\xac",
         "It costs $37, or $1,299.99, or 1 299,99 \xe2\x82\xac"},
        {"I have 3 kids and 2 dogs", "I have 3 kids and 2 dogs"},
        {"order 12345, room 1204, floor 12",
         "order 12345, room 1204, floor 12"},
        {"from 1999-2005, then 2025 2026", "from 1999-2005, then 2025 2026"},
        {"pi is 3.14159265 and 1234.5678", "pi is 3.14159265 and 1234.5678"},
        {"population 12.000.000 or 3 500 000",
         "population 12.000.000 or 3 500 000"},
        {"version 1.2.3.4, ISO 8601, RFC 3339",
         "version 1.2.3.4, ISO 8601, RFC 3339"},
        {"between 10:30-11:45 and 9-17", "between 10:30-11:45 and 9-17"},
        {"ORD-12345678 and #1234567", "ORD-12345678 and #1234567"},
        {"$4155552671", "$4155552671"},
    };

    run_table(*state, t, sizeof(t) / sizeof(t[0]));
}

static void test_redact__unicode_around_pii(void **state)
{
    static const struct tcase t[] = {
        {"Привет, мой номер +7 912 345-67-89, спасибо \xf0\x9f\x98\x80",
         "Привет, мой номер [PHONE], спасибо \xf0\x9f\x98\x80"},
        {"電話は090-1234-5678です", "電話は[PHONE]です"},
        {"メールはtaro@example.jpです", "メールは[EMAIL]です"},
        {"Ünïcödé «4111 1111 1111 1111» — ok", "Ünïcödé «[CARD]» — ok"},
        {"", ""},
    };

    run_table(*state, t, sizeof(t) / sizeof(t[0]));
}

static void test_redact__counts_replacements(void **state)
{
    struct fixture *f = *state;
    size_t n = 99;
    const char *got;

    got = redact(f, f->rd, "a@b.io 415-555-2671 and 4111111111111111", &n);
    assert_string_equal(got, "[EMAIL] [PHONE] and [CARD]");
    assert_int_equal(n, 3);
    redact(f, f->rd, "nothing here at 10:30", &n);
    assert_int_equal(n, 0);
}

static void test_redact__custom_rules(void **state)
{
    struct fixture *f = *state;
    struct cs_redact *rd = NULL;
    struct cs_err err = {0};
    static const struct cs_redact_rule rules[] = {
        {"order", "\\bORD-[0-9]{6}\\b", NULL},
        {"name", "(?i)\\bjohn smith\\b", "<NAME>"},
    };
    const struct cs_redact_rule phone = {"phone", "\\b[0-9]{4}-[0-9]{4}\\b",
                                         "[TEL]"};

    assert_int_equal(cs_redact_new(&rd, rules, 2, &err), 0);
    assert_string_equal(redact(f, rd, "John Smith, ORD-123456, 555-1234",
                               NULL),
                        "<NAME>, [ORDER], 555-1234");
    /* Adding a rule by an existing name replaces it; "phone" keeps its
     * check, which turns down years. */
    assert_int_equal(cs_redact_add(rd, &phone, &err), 0);
    assert_string_equal(redact(f, rd, "ORD-123456 5555-1234 1999-2005",
                               NULL),
                        "[ORDER] [TEL] 1999-2005");
    cs_redact_free(rd);

    /* The defaults plus one. */
    assert_int_equal(cs_redact_add(f->rd, &rules[0], &err), 0);
    assert_string_equal(redact(f, f->rd, "ORD-123456 at a@b.io", NULL),
                        "[ORDER] at [EMAIL]");
}

static void test_redact__invalid_pattern_message(void **state)
{
    struct fixture *f = *state;
    struct cs_redact *rd = NULL;
    struct cs_err err = {0};
    const struct cs_redact_rule bad = {"order", "ORD-([0-9]+", NULL};
    const struct cs_redact_rule badcard = {"card", "[0-9", NULL};
    const struct cs_redact_rule badname = {"Bad Name", "x", NULL};
    const struct cs_redact_rule ok = {"x", "x", NULL};

    assert_int_equal(cs_redact_new(&rd, &bad, 1, &err), CS_EINVALID);
    assert_null(rd);
    assert_int_equal(err.code, CS_EINVALID);
    assert_non_null(strstr(err.msg, "redact rule 'order'"));
    assert_non_null(strstr(err.msg, "missing closing parenthesis"));
    assert_non_null(strstr(err.msg, "at offset 11"));

    /* A checked rule is wrapped internally; the offset is still the
     * caller's. */
    assert_int_equal(cs_redact_add(f->rd, &badcard, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "redact rule 'card'"));
    assert_non_null(strstr(err.msg, "missing terminating ]"));
    assert_non_null(strstr(err.msg, "at offset 4"));
    /* ... and the failed add left the old card rule in place. */
    assert_string_equal(redact(f, f->rd, "4111111111111111", NULL), "[CARD]");

    assert_int_equal(cs_redact_new(&rd, &badname, 1, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "'Bad Name'"));

    assert_int_equal(cs_redact_new(&rd, &ok, 1, &err), 0);
    cs_buf_reset(&f->out);
    assert_int_equal(cs_redact_apply(&f->out, NULL, rd, "a\xff" "b", 3, &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "not valid utf-8 at byte 1"));
    cs_redact_free(rd);
}

static void test_redact__capped_output(void **state)
{
    struct fixture *f = *state;
    struct cs_buf small;
    struct cs_err err = {0};
    const char *in = "reach me at a@b.io or 415-555-2671, thanks a lot";

    cs_buf_init_max(&small, 10);
    assert_int_equal(cs_redact_apply(&small, NULL, f->rd, in, strlen(in),
                                     &err),
                     CS_ETOOBIG);
    assert_int_equal(small.len, 0);
    cs_buf_release(&small);
}

/* 1 MB of transcript with PII every few lines, plus pathological runs
 * (1 MB of digits, 1 MB of letters, 1 MB without spaces): this is a sanity
 * check that nothing goes quadratic, not a timed assertion; ctest's
 * timeout is the limit. */
static void test_redact__large_input(void **state)
{
    struct fixture *f = *state;
    struct cs_buf in = CS_BUF_INIT;
    struct cs_err err = {0};
    size_t n = 0, lines = 0, want = 0;
    double t0, el;

    while (in.len < (1u << 20)) {
        cs_buf_addf(&in, "agent: Thanks for calling, line %zu. "
                         "Your appointment is at 10:30 on 2026-11-02, "
                         "that is $37.\n", lines);
        if (lines % 4 == 0) {
            cs_buf_adds(&in, "customer: sure, call me on +1 415 555 2671 "
                             "or write to jane.doe@example.com "
                             "\xc3\xa9t\xc3\xa9\n");
            want += 2;
        }
        lines++;
    }
    t0 = cs_now();
    cs_buf_reset(&f->out);
    assert_int_equal(cs_redact_apply(&f->out, &n, f->rd, in.ptr, in.len,
                                     &err), 0);
    el = cs_now() - t0;
    print_message("redacted %.1f MB in %.3f s (%zu replacements)\n",
                  (double)in.len / 1e6, el, n);
    assert_int_equal(n, want);
    assert_null(strstr(f->out.ptr, "415 555"));
    assert_null(strstr(f->out.ptr, "jane.doe"));
    assert_non_null(strstr(f->out.ptr, "10:30 on 2026-11-02, that is $37"));

    {
        static const char *fill[] = {"7", "a", "-", ".", "12 ", "4111 ",
                                     "a.", "1-"};
        for (size_t k = 0; k < sizeof(fill) / sizeof(fill[0]); k++) {
            cs_buf_reset(&in);
            while (in.len < (1u << 20))
                cs_buf_adds(&in, fill[k]);
            t0 = cs_now();
            cs_buf_reset(&f->out);
            assert_int_equal(cs_redact_apply(&f->out, &n, f->rd, in.ptr,
                                             in.len, &err), 0);
            print_message("1 MB of '%s': %.3f s, %zu replacements\n",
                          fill[k], cs_now() - t0, n);
            assert_int_equal(n, 0);
            assert_int_equal(f->out.len, in.len);
        }
    }
    cs_buf_release(&in);
}

/* tests/data/redact/<case>/{input,expected}: whole transcripts. */
static void test_redact__fixture_files(void **state)
{
    struct fixture *f = *state;
    const char *dir = CS_SOURCE_DIR "/tests/data/redact";
    struct cs_buf path = CS_BUF_INIT;
    struct cs_err err = {0};
    struct dirent *de;
    DIR *d = opendir(dir);
    int cases = 0;

    assert_non_null(d);
    for (de = readdir(d); de; de = readdir(d)) {
        char *in = NULL, *want = NULL;
        size_t in_len = 0, want_len = 0;

        if (de->d_name[0] == '.')
            continue;
        cs_buf_reset(&path);
        cs_buf_addf(&path, "%s/%s/input", dir, de->d_name);
        assert_int_equal(cs_fs_read(&in, &in_len, path.ptr, 1u << 24, &err),
                         0);
        cs_buf_reset(&path);
        cs_buf_addf(&path, "%s/%s/expected", dir, de->d_name);
        assert_int_equal(cs_fs_read(&want, &want_len, path.ptr, 1u << 24,
                                    &err), 0);
        cs_buf_reset(&f->out);
        assert_int_equal(cs_redact_apply(&f->out, NULL, f->rd, in, in_len,
                                         &err), 0);
        if (strcmp(f->out.ptr, want) != 0)
            fail_msg("case '%s': got\n%s", de->d_name, f->out.ptr);
        free(in);
        free(want);
        cases++;
    }
    closedir(d);
    cs_buf_release(&path);
    assert_true(cases >= 1);
}

/* Loads a config file holding `json` (NULL on a load error, in err). */
static struct cs_config *config_of(const char *dir, const char *json,
                                   struct cs_err *err)
{
    struct cs_buf p = CS_BUF_INIT;
    struct cs_config *cfg = NULL;

    cs_buf_addf(&p, "%s/callscope.json", dir);
    th_write(p.ptr, json, strlen(json));
    unsetenv("CALLSCOPE_CONFIG");
    if (cs_config_load(&cfg, p.ptr, err) < 0)
        cfg = NULL;
    cs_buf_release(&p);
    return cfg;
}

/* The configured redactor: defaults plus the config's rules, in order; a
 * malformed entry names the file and the entry. */
static void test_redact__rules_from_the_config(void **state)
{
    struct fixture *f = *state;
    char *dir = th_tmpdir();
    struct cs_config *cfg;
    struct cs_redact *rd = NULL;
    struct cs_err err = {0};

    cfg = config_of(dir, "{\"redact\": [{\"name\": \"order\", \"pattern\": "
                    "\"\\\\bORD-\\\\d{6}\\\\b\"}, {\"name\": \"email\", "
                    "\"pattern\": \"[a-z]+@[a-z.]+\", \"replacement\": "
                    "\"<mail>\"}]}", &err);
    assert_non_null(cfg);
    assert_int_equal(cs_redact_new_configured(&rd, cfg, &err), 0);
    assert_string_equal(redact(f, rd, "ORD-123456, a@b.io, +1 415 555 "
                               "2671", NULL),
                        "[ORDER], <mail>, [PHONE]");
    cs_redact_free(rd);
    cs_config_free(cfg);

    cfg = config_of(dir, "{\"redact\": [{\"name\": \"order\"}]}", &err);
    assert_non_null(cfg);
    assert_int_equal(cs_redact_new_configured(&rd, cfg, &err), CS_EINVALID);
    assert_null(rd);
    assert_non_null(strstr(err.msg, "callscope.json: 'redact[0]': name and "
                           "pattern are required"));
    cs_config_free(cfg);

    cfg = config_of(dir, "{\"redact\": [{\"name\": \"order\", \"pattern\": "
                    "\"(ORD\"}]}", &err);
    assert_non_null(cfg);
    assert_int_equal(cs_redact_new_configured(&rd, cfg, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "redact rule 'order': pattern does not "
                           "compile at offset 4"));
    cs_config_free(cfg);
    th_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_redact__phones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redact__emails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redact__cards_need_luhn, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redact__ibans_and_ssns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redact__ordinary_numbers_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact__unicode_around_pii,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact__counts_replacements,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact__custom_rules, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redact__invalid_pattern_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact__capped_output, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redact__large_input, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redact__fixture_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redact__rules_from_the_config,
                                        setup, teardown),
    };

    return cmocka_run_group_tests_name("redact", tests, NULL, NULL);
}
