/* test_base.c - buffers, strict parsing, hashing, folder listing, config */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/err.h"
#include "base/fmt.h"
#include "base/hash.h"
#include "base/parse.h"
#include "config/config.h"
#include "config/schema.h"
#include "helpers.h"

static void test_base__buf_grows_and_caps(void **state)
{
    struct cs_buf b = CS_BUF_INIT;
    char *s;

    (void)state;
    assert_string_equal(b.ptr, "");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cs_buf_addf(&b, "%d,", i), 0);
    assert_int_equal(strncmp(b.ptr, "0,1,2,", 6), 0);
    assert_int_equal(b.len, strlen(b.ptr));
    s = cs_buf_detach(&b, NULL);
    assert_string_equal(b.ptr, "");
    free(s);
    cs_buf_init_max(&b, 8);
    assert_int_equal(cs_buf_adds(&b, "12345678"), 0);
    assert_int_equal(cs_buf_adds(&b, "9"), CS_ETOOBIG);
    assert_string_equal(b.ptr, "12345678");
    cs_buf_release(&b);
}

static void test_base__numbers_are_strict(void **state)
{
    long l;
    double d;

    (void)state;
    assert_int_equal(cs_parse_long("42", &l), 0);
    assert_int_equal(l, 42);
    assert_int_equal(cs_parse_long("42x", &l), CS_EINVALID);
    assert_int_equal(cs_parse_long("", &l), CS_EINVALID);
    assert_int_equal(cs_parse_long("99999999999999999999", &l), CS_EINVALID);
    assert_int_equal(cs_parse_double("0.25", &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(cs_parse_double("nan", &d), CS_EINVALID);
}

static void test_base__rfc3339(void **state)
{
    int64_t us, us2;

    (void)state;
    assert_int_equal(cs_parse_rfc3339("1970-01-01T00:00:00Z", &us), 0);
    assert_true(us == 0);
    assert_int_equal(cs_parse_rfc3339("2026-11-02T09:14:03.5Z", &us), 0);
    assert_int_equal(cs_parse_rfc3339("2026-11-02T10:14:03.500+01:00",
                                      &us2), 0);
    assert_true(us == us2);
    assert_true(us == 1793610843500000LL);
    assert_int_equal(cs_parse_rfc3339("2026-02-30T00:00:00Z", &us),
                     CS_EINVALID);
    assert_int_equal(cs_parse_rfc3339("2026-11-02T09:14:03", &us),
                     CS_EINVALID); /* no offset */
    assert_int_equal(cs_parse_rfc3339("2026-11-02T25:00:00Z", &us),
                     CS_EINVALID);
    assert_int_equal(cs_parse_rfc3339("2026-11-02T09:14:03Zjunk", &us),
                     CS_EINVALID);
}

static void test_base__dates_round_trip(void **state)
{
    char out[11];
    int64_t d;

    (void)state;
    assert_int_equal(cs_parse_date("2024-02-29", &d), 0);
    cs_format_date(d, out);
    assert_string_equal(out, "2024-02-29");
    cs_format_date(d + 1, out);
    assert_string_equal(out, "2024-03-01");
    assert_int_equal(cs_parse_date("2025-02-29", &d), CS_EINVALID);
    assert_int_equal(cs_days_in_month(2100, 2), 28);
    assert_int_equal(cs_days_in_month(2000, 2), 29);
}

static void test_base__dates_say_why_not(void **state)
{
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"2026-11-31", "'2026-11-31' is not a date: November has 30 days"},
        {"2026-02-29", "'2026-02-29' is not a date: February 2026 has 28 "
                       "days"},
        {"2026-13-01", "'2026-13-01' is not a date: there is no month 13"},
        {"2026-04-00", "'2026-04-00' is not a date: days start at 01"},
        {"2026/11/30", "'2026/11/30' is not a date: dates are YYYY-MM-DD"},
        {"26-11-30", "'26-11-30' is not a date: dates are YYYY-MM-DD"},
        {"2026-11-30x", "'2026-11-30x' is not a date: dates are "
                        "YYYY-MM-DD"},
    };
    struct cs_err err = {0, ""};
    int64_t d, d2;

    (void)state;
    assert_int_equal(cs_parse_date_err("2028-02-29", &d, &err), 0);
    assert_int_equal(cs_parse_date("2028-02-29", &d2), 0);
    assert_true(d == d2);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(cs_parse_date_err(cases[i].in, &d, &err),
                         CS_EINVALID);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

static void test_base__shortest_doubles_read_back(void **state)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {6.8, "6.8"}, {0.6, "0.6"}, {0.1 + 0.2, "0.30000000000000004"},
        {800, "800"}, {1200, "1200"}, {0.00015, "0.00015"}, {1e-5, "1e-5"},
        {1e21, "1e21"}, {1e16, "10000000000000000"}, {-2.5, "-2.5"},
        {0, "0"}, {-0.0, "-0"}, {123456.789, "123456.789"},
        {5e-324, "5e-324"}, {1.7976931348623157e308,
                             "1.7976931348623157e308"},
        {1.0 / 3, "0.3333333333333333"}, {2.0 / 3, "0.6666666666666666"},
    };
    char s[CS_FMT_DOUBLE_SIZE], g17[64];
    uint64_t x = 0x9e3779b97f4a7c15ULL;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(cs_fmt_double_shortest(s, cases[i].v),
                         strlen(cases[i].text));
        assert_string_equal(s, cases[i].text);
    }
    /* Random bit patterns: every finite double reads back bit for bit,
     * in no more characters than %.17g takes. */
    for (int i = 0; i < 200000; i++) {
        double v, back;
        uint64_t b1, b2;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&v, &x, sizeof(v));
        if (v != v || v - v != 0)
            continue;
        cs_fmt_double_shortest(s, v);
        back = strtod(s, NULL);
        memcpy(&b1, &v, sizeof(b1));
        memcpy(&b2, &back, sizeof(b2));
        if (b1 != b2)
            fail_msg("%.17g printed as '%s'", v, s);
        snprintf(g17, sizeof(g17), "%.17g", v);
        assert_true(strlen(s) <= strlen(g17));
    }
    cs_fmt_double_shortest(s, 1.0 / 0.0);
    assert_string_equal(s, "inf");
}

static void test_base__json_dump_as_jansson_but_shortest(void **state)
{
    static const size_t flags[] = {
        0, JSON_COMPACT, JSON_INDENT(2), JSON_INDENT(4) | JSON_SORT_KEYS,
        JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH, JSON_INDENT(1) | JSON_COMPACT,
    };
    const char *doc = "{\"z\": [1, -2, 0.5, 1.0, 1e22, true, false, null, "
                      "[], {}], \"a\": {\"q\\\"uote\": \"tab\\t nl\\n "
                      "bs\\\\ sl/ \\u0001 \\u00e9 \\u20ac \\ud83d\\ude00\", "
                      "\"n\": {\"deep\": [[[]]]}}, \"m\": \"\"}";
    json_t *j = json_loads(doc, 0, NULL), *r;
    struct cs_buf b = CS_BUF_INIT;
    char *want;

    (void)state;
    assert_non_null(j);
    /* Where jansson's 17 digits are already the shortest, the same
     * bytes. */
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        want = json_dumps(j, flags[i]);
        cs_buf_reset(&b);
        cs_fmt_json(&b, j, flags[i]);
        assert_string_equal(b.ptr, want);
        free(want);
    }
    json_decref(j);
    /* Otherwise the shortest text, still a real when read back. */
    j = json_pack("{s:f,s:f,s:f,s:f,s:i}", "cost", 6.8, "rate", 0.6, "ms",
                  800.0, "tiny", 1e-5, "n", 3);
    cs_buf_reset(&b);
    cs_fmt_json(&b, j, JSON_COMPACT);
    assert_string_equal(b.ptr, "{\"cost\":6.8,\"rate\":0.6,\"ms\":800.0,"
                               "\"tiny\":1e-5,\"n\":3}");
    r = json_loads(b.ptr, 0, NULL);
    assert_true(json_equal(r, j));
    assert_true(json_is_real(json_object_get(r, "ms")));
    json_decref(r);
    json_decref(j);
    cs_buf_release(&b);
}

static void test_base__sha256_known_vectors(void **state)
{
    char hex[65];

    (void)state;
    cs_sha256_hex("", 0, hex, 64);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
                             "934ca495991b7852b855");
    cs_sha256_hex("abc", 3, hex, 64);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a39617"
                             "7a9cb410ff61f20015ad");
    cs_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  56, hex, 16);
    assert_string_equal(hex, "248d6a61d20638b8");
}

/* HMAC-SHA256 of `data` under `key` as hex, truncated to `hexlen`. */
static void hmac_hex(const void *key, size_t klen, const void *data,
                     size_t n, char *out, size_t hexlen)
{
    unsigned char mac[32];

    cs_hmac_sha256(key, klen, data, n, mac);
    cs_hash_hex(mac, 32, out);
    out[hexlen] = '\0';
}

static void test_base__hmac_sha256_rfc4231(void **state)
{
    static const char long7[] =
        "This is a test using a larger than block-size key and a larger "
        "than block-size data. The key needs to be hashed before being "
        "used by the HMAC algorithm.";
    unsigned char key[131], data[50], mac[32];
    struct cs_hmac_sha256 h;
    char hex[65];

    (void)state;
    /* Test case 1 */
    memset(key, 0x0b, 20);
    hmac_hex(key, 20, "Hi There", 8, hex, 64);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c983"
                             "3da726e9376c2e32cff7");
    /* 2: a key shorter than the output */
    hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, hex, 64);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d27"
                             "39839dec58b964ec3843");
    /* 3 */
    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    hmac_hex(key, 20, data, 50, hex, 64);
    assert_string_equal(hex, "773ea91e36800e46854db8ebd09181a72959098b3ef8"
                             "c122d9635514ced565fe");
    /* 4 */
    for (int i = 0; i < 25; i++)
        key[i] = (unsigned char)(i + 1);
    memset(data, 0xcd, 50);
    hmac_hex(key, 25, data, 50, hex, 64);
    assert_string_equal(hex, "82558a389a443c0ea4cc819899f2083a85f0faa3e578"
                             "f8077a2e3ff46729665b");
    /* 5: truncated to 128 bits */
    memset(key, 0x0c, 20);
    hmac_hex(key, 20, "Test With Truncation", 20, hex, 32);
    assert_string_equal(hex, "a3b6167473100ee06e0c796c2955552b");
    /* 6: a key longer than the block is hashed first */
    memset(key, 0xaa, 131);
    hmac_hex(key, 131, "Test Using Larger Than Block-Size Key - Hash Key "
             "First", 54, hex, 64);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728"
                             "c5140546040f0ee37f54");
    /* 7, fed in pieces */
    cs_hmac_sha256_init(&h, key, 131);
    cs_hmac_sha256_update(&h, long7, 10);
    cs_hmac_sha256_update(&h, long7 + 10, sizeof(long7) - 1 - 10);
    cs_hmac_sha256_final(&h, mac);
    cs_hash_hex(mac, 32, hex);
    assert_string_equal(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f07"
                             "13938a7f51535c3a35e2");
    /* Retell's published vector (retell-python-sdk tests): body, then the
     * millisecond stamp, under the API key. */
    hmac_hex("test-api-key", 12, "{\"event\":\"call_ended\"}"
             "1700000000000", 35, hex, 64);
    assert_string_equal(hex, "07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee5"
                             "06c04f7e462e3321823e");
    assert_true(cs_hash_equal("abc", "abc", 3));
    assert_false(cs_hash_equal("abc", "abd", 3));
}

static void test_base__fnv1a64_known_vectors(void **state)
{
    (void)state;
    assert_true(cs_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
    assert_true(cs_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(cs_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
    /* In pieces, the same. */
    assert_true(cs_fnv1a64_update(cs_fnv1a64("foo", 3), "bar", 3) ==
                0x85944171f73967e8ULL);
    assert_true(cs_fnv1a64_update(CS_FNV1A64_BASIS, "a", 1) ==
                0xaf63dc4c8601ec8cULL);
    /* Bytes above 0x7f count as unsigned. */
    assert_true(cs_fnv1a64("\xff", 1) ==
                ((0xcbf29ce484222325ULL ^ 0xffULL) * 0x100000001b3ULL));
}

/* Accepts names ending in ctx (a suffix); checks it is given the folder. */
static int suffix_filter(void *ctx, const char *dir, const char *name)
{
    size_t n = strlen(name), m = strlen(ctx);

    assert_non_null(strstr(dir, "cs-"));
    return n >= m && strcmp(name + n - m, ctx) == 0;
}

static void test_base__fs_list_sorted_and_filtered(void **state)
{
    static const char *const files[] = {"b.json", "a.json", "c.txt",
                                        ".hidden.json", "B.json",
                                        "sub/x.json", "a.json.bak"};
    struct cs_err err = {0, ""};
    struct cs_buf p = CS_BUF_INIT;
    char *dir = th_tmpdir();
    char **names = NULL;
    size_t n = 99;

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/%s", dir, files[i]);
        th_write(p.ptr, "{}", 2);
    }
    assert_int_equal(cs_fs_list_sorted(&names, &n, dir, suffix_filter,
                                       ".json", &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "B.json");
    assert_string_equal(names[1], "a.json");
    assert_string_equal(names[2], "b.json");
    cs_fs_list_free(names, n);
    /* No filter: every entry but the hidden one, folders too. */
    assert_int_equal(cs_fs_list_sorted(&names, &n, dir, NULL, NULL, &err),
                     0);
    assert_int_equal(n, 6);
    assert_string_equal(names[2], "a.json.bak");
    assert_string_equal(names[5], "sub");
    cs_fs_list_free(names, n);
    /* Nothing accepted: an empty list, no array. */
    assert_int_equal(cs_fs_list_sorted(&names, &n, dir, suffix_filter,
                                       ".none", &err), 0);
    assert_int_equal(n, 0);
    assert_null(names);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&p);
}

/* The archive keeps every file of a name: a second one gets "-2" before
 * its extension, a third "-3"; nothing is replaced. */
static void test_base__fs_archive_never_overwrites(void **state)
{
    char *dir = th_tmpdir(), *got = NULL;
    struct cs_buf in = CS_BUF_INIT, done = CS_BUF_INIT, p = CS_BUF_INIT;
    struct cs_err err = {0, ""};
    static const char *const want[] = {"day.jsonl.gz", "day-2.jsonl.gz",
                                       "day-3.jsonl.gz"};

    (void)state;
    cs_buf_addf(&in, "%s/inbox/day.jsonl.gz", dir);
    cs_buf_addf(&done, "%s/done", dir);
    assert_int_equal(cs_fs_mkdirs(done.ptr, &err), 0);
    for (int i = 0; i < 3; i++) {
        char body[8];
        char *back;

        snprintf(body, sizeof(body), "v%d", i);
        th_write(in.ptr, body, strlen(body));
        assert_int_equal(cs_fs_archive(&got, in.ptr, done.ptr, &err), 0);
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/%s", done.ptr, want[i]);
        assert_string_equal(got, p.ptr);
        assert_false(cs_fs_exists(in.ptr));
        back = th_read(p.ptr);
        assert_string_equal(back, body);
        free(back);
        free(got);
    }
    /* The first one is still the first one. */
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/day.jsonl.gz", done.ptr);
    got = th_read(p.ptr);
    assert_string_equal(got, "v0");
    free(got);
    assert_int_not_equal(cs_fs_archive(&got, in.ptr, done.ptr, &err), 0);
    assert_non_null(strstr(err.msg, "day.jsonl.gz"));
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&in);
    cs_buf_release(&done);
    cs_buf_release(&p);
}

static void test_base__fs_list_missing_and_unreadable(void **state)
{
    struct cs_err err = {0, ""};
    struct cs_buf p = CS_BUF_INIT;
    char *dir = th_tmpdir();
    char **names = (char **)&names;
    size_t n = 99;

    (void)state;
    cs_buf_addf(&p, "%s/missing", dir);
    assert_int_equal(cs_fs_list_sorted(&names, &n, p.ptr, NULL, NULL, &err),
                     CS_ENOTFOUND);
    assert_null(names);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.msg, "cannot read folder '"));
    assert_non_null(strstr(err.msg, "/missing'"));
    /* A file where a folder should be cannot be read (even by root). */
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/file", dir);
    th_write(p.ptr, "x", 1);
    assert_int_equal(cs_fs_list_sorted(&names, &n, p.ptr, NULL, NULL, &err),
                     CS_EIO);
    assert_null(names);
    assert_non_null(strstr(err.msg, "/file'"));
    /* A folder without read permission (root reads it anyway). */
    if (geteuid() != 0) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/locked", dir);
        assert_int_equal(mkdir(p.ptr, 0), 0);
        assert_int_equal(cs_fs_list_sorted(&names, &n, p.ptr, NULL, NULL,
                                           &err), CS_EIO);
        assert_null(names);
        assert_int_equal(chmod(p.ptr, 0755), 0);
    }
    /* err may be NULL. */
    assert_int_equal(cs_fs_list_sorted(&names, &n, "/nonexistent/cs", NULL,
                                       NULL, NULL), CS_ENOTFOUND);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&p);
}

/* The config's keys, time zones and the line a key is on. */
static void test_base__config_schema(void **state)
{
    static const char *const known[] = {"llm.model", "llm.base_url",
                                        "data_dir", NULL};
    struct cs_err err = {0, ""};
    json_t *j;

    (void)state;
    j = json_loads("{\"llm\": {\"modle\": 1}}", 0, NULL);
    assert_int_equal(cs_config_check_keys(j, known, "c.json", &err),
                     CS_EINVALID);
    assert_string_equal(err.msg, "c.json: 'llm.modle': unknown key; did you "
                                 "mean 'llm.model'?");
    json_decref(j);
    /* a setting at the wrong level is found where it belongs */
    j = json_loads("{\"model\": 1}", 0, NULL);
    assert_int_equal(cs_config_check_keys(j, known, "c.json", &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "did you mean 'llm.model'?"));
    json_decref(j);
    /* nothing near: no suggestion */
    j = json_loads("{\"zzzzzz\": 1}", 0, NULL);
    assert_int_equal(cs_config_check_keys(j, known, "c.json", &err),
                     CS_EINVALID);
    assert_string_equal(err.msg, "c.json: 'zzzzzz': unknown key (see "
                                 "docs/config.md)");
    json_decref(j);
    /* comments, tenants' own keys, vendor ids, alert rules */
    j = json_loads("{\"_comment\": \"x\", \"llm\": {\"model\": \"m\"}, "
                   "\"tenants\": {\"a.b\": {\"timezone\": \"UTC\", "
                   "\"alerts\": {\"answer_rate\": null}}}, \"importers\": "
                   "{\"tenant_map\": {\"asst_1\": \"a.b\"}}, \"alerts\": "
                   "{\"resend_after\": \"24h\", \"error_rate\": "
                   "{\"direction\": \"above\", \"warning\": 0.1}}}",
                   0, NULL);
    assert_int_equal(cs_config_check_keys(j, known, "c.json", &err), 0);
    json_decref(j);
    j = json_loads("{\"tenants\": {\"t\": {\"platform_fees\": 1}}}", 0,
                   NULL);
    assert_int_equal(cs_config_check_keys(j, known, "c.json", &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "did you mean 'tenants.t.platform_fee'"));
    json_decref(j);
    j = json_loads("{\"alerts\": {\"error_rate\": {\"direction\": "
                   "\"up\"}}}", 0, NULL);
    assert_int_equal(cs_config_check_keys(j, known, "c.json", &err),
                     CS_EINVALID);
    assert_non_null(strstr(err.msg, "'alerts.error_rate.direction': "
                                    "expected \"above\" or \"below\""));
    json_decref(j);

    /* time zones: names of the tz database, ISO offsets; not UTC+2 */
    assert_int_equal(cs_config_tz_check("Europe/Berlin", &err), 0);
    assert_int_equal(cs_config_tz_check("UTC", &err), 0);
    assert_int_equal(cs_config_tz_check("+05:45", &err), 0);
    assert_int_equal(cs_config_tz_check("-08", &err), 0);
    assert_int_equal(cs_config_tz_check("Europe/Berln", &err), CS_EINVALID);
    assert_int_equal(cs_config_tz_check("America", &err), CS_EINVALID);
    assert_int_equal(cs_config_tz_check("../../etc/passwd", &err),
                     CS_EINVALID);
    assert_int_equal(cs_config_tz_check("+25:00", &err), CS_EINVALID);
    assert_int_equal(cs_config_tz_check("UTC+2", &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "ambiguous"));

    /* lines, with a key holding a dot and an array element */
    {
        const char *text = "{\n  \"llm\": {\"model\": \"x\"},\n  "
                           "\"tenants\": {\n    \"a.b\": {\n      "
                           "\"timezone\": \"UTC\"}},\n  \"redact\": [\n"
                           "    {\"name\": \"n\"},\n    {\"name\": "
                           "\"m\"}]\n}";

        assert_int_equal(cs_config_key_line(text, "llm.model"), 2);
        assert_int_equal(cs_config_key_line(text, "tenants.a.b.timezone"),
                         5);
        assert_int_equal(cs_config_key_line(text, "redact[1].name"), 8);
        assert_int_equal(cs_config_key_line(text, "redact[1]"), 8);
        assert_int_equal(cs_config_key_line(text, "nothing"), 0);
        cs_err_set(&err, CS_EINVALID, "c.json: 'tenants.a.b.timezone': bad");
        cs_config_locate(&err, "c.json", text);
        assert_string_equal(err.msg, "c.json:5: 'tenants.a.b.timezone': bad");
    }
}

static void test_base__config_env_overrides_file(void **state)
{
    char *dir = th_tmpdir();
    char path[256];
    const char *text = "{\"data_dir\": \"/from/file\", \"llm\": "
                       "{\"concurrency\": 4},\n \"tenants\": {\"default\": "
                       "{\"human_cost_per_conversation\": 3}, \"t\": "
                       "{\"human_hourly_rate\": 20, \"timezone\": "
                       "\"Europe/Paris\"}}}";
    struct cs_config *cfg = NULL;
    struct cs_tenant_cfg t;
    struct cs_err err = {0, ""};

    (void)state;
    snprintf(path, sizeof(path), "%s/c.json", dir);
    th_write(path, text, strlen(text));
    setenv("CALLSCOPE_LLM_CONCURRENCY", "9", 1);
    setenv("CALLSCOPE_LLM_API_KEY", "sk-secret-123", 1);
    assert_int_equal(cs_config_load(&cfg, path, &err), 0);
    assert_string_equal(cfg->data_dir, "/from/file");
    assert_int_equal(cfg->llm_concurrency, 9);
    assert_string_equal(cfg->llm_api_key, "sk-secret-123");
    assert_int_equal(cs_config_tenant(&t, cfg, "t", &err), 0);
    assert_string_equal(t.timezone, "Europe/Paris");
    assert_true(t.human_cost_per_conversation != t.human_cost_per_conversation);
    assert_true(t.human_hourly_rate == 20);
    cs_tenant_cfg_release(&t);
    assert_int_equal(cs_config_tenant(&t, cfg, "other", &err), 0);
    assert_true(t.human_cost_per_conversation == 3);
    assert_string_equal(t.timezone, "UTC");
    cs_tenant_cfg_release(&t);
    cs_config_free(cfg);

    setenv("CALLSCOPE_LLM_CONCURRENCY", "many", 1);
    assert_int_equal(cs_config_load(&cfg, path, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "CALLSCOPE_LLM_CONCURRENCY"));
    unsetenv("CALLSCOPE_LLM_CONCURRENCY");
    unsetenv("CALLSCOPE_LLM_API_KEY");
    text = "{\"tenants\": {\"x\": {\"platform_fee\": \"lots\"}}}";
    th_write(path, text, strlen(text));
    assert_int_equal(cs_config_load(&cfg, path, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "tenants.x.platform_fee"));
    th_write(path, "{\n\"a\": 1,\n}", 11);
    assert_int_equal(cs_config_load(&cfg, path, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "c.json:3"));
    /* The Batch API's limits: defaults, and a range on each side. */
    text = "{}";
    th_write(path, text, strlen(text));
    assert_int_equal(cs_config_load(&cfg, path, &err), 0);
    assert_int_equal(cfg->llm_batch_max_requests, 50000);
    assert_int_equal(cfg->llm_batch_max_bytes, 200000000);
    assert_int_equal(cfg->score_batch, 0);
    cs_config_free(cfg);
    text = "{\"llm\": {\"batch_max_requests\": 3, \"batch_max_bytes\": "
           "4096}, \"score\": {\"batch\": true}}";
    th_write(path, text, strlen(text));
    assert_int_equal(cs_config_load(&cfg, path, &err), 0);
    assert_int_equal(cfg->llm_batch_max_requests, 3);
    assert_int_equal(cfg->llm_batch_max_bytes, 4096);
    assert_int_equal(cfg->score_batch, 1);
    cs_config_free(cfg);
    text = "{\"llm\": {\"batch_max_requests\": 50001}}";
    th_write(path, text, strlen(text));
    assert_int_equal(cs_config_load(&cfg, path, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "'llm.batch_max_requests': must be <= "
                                    "50000"));
    text = "{\"llm\": {\"batch_max_bytes\": 100}}";
    th_write(path, text, strlen(text));
    assert_int_equal(cs_config_load(&cfg, path, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "'llm.batch_max_bytes': must be >= "
                                    "1024"));
    th_rmtree(dir);
    free(dir);
}

/* Messages are kept whole to 2 KiB; a longer one is cut at a character
 * boundary and ends in an ellipsis; a message may quote itself. */
static void test_base__err_keeps_long_messages(void **state)
{
    struct cs_err err = {0, ""};
    struct cs_buf b = CS_BUF_INIT;
    size_t n;

    (void)state;
    for (int i = 0; i < 150; i++)
        cs_buf_addf(&b, "word%03d ", i); /* 1,200 bytes */
    assert_int_equal(cs_err_set(&err, CS_EDB, "%s", b.ptr), CS_EDB);
    assert_string_equal(err.msg, b.ptr);
    cs_err_set(&err, CS_EDB, "context: %s", err.msg);
    assert_int_equal(strncmp(err.msg, "context: word000 ", 17), 0);
    assert_int_equal(strlen(err.msg), 9 + b.len);
    /* Past the bound: 1,000 two-byte characters. */
    cs_buf_reset(&b);
    for (int i = 0; i < 1500; i++)
        cs_buf_adds(&b, "\xc3\xa9");
    cs_err_set(&err, CS_EINVALID, "x%s", b.ptr);
    n = strlen(err.msg);
    assert_true(n < sizeof(err.msg) && n > sizeof(err.msg) - 8);
    assert_string_equal(err.msg + n - 3, "\xe2\x80\xa6");
    /* Before the ellipsis: "x", then whole characters only. */
    assert_int_equal((n - 3 - 1) % 2, 0);
    assert_int_equal(err.code, CS_EINVALID);
    cs_buf_release(&b);
}

/* Text from data quoted in a message stays one line of UTF-8. */
static void test_base__excerpt_is_one_line_of_utf8(void **state)
{
    struct cs_buf b = CS_BUF_INIT;

    (void)state;
    cs_buf_add_excerpt(&b, "ag\nt\r\x01\t", 7, 40);
    assert_string_equal(b.ptr, "ag\\nt\\r\\x01\\t");
    cs_buf_reset(&b);
    /* Not UTF-8: a lone continuation byte, a cut sequence, overlong. */
    cs_buf_add_excerpt(&b, "a\x80" "b\xe2\x82 \xc0\xafz", 9, 40);
    assert_string_equal(b.ptr, "a\\x80b\\xe2\\x82 \\xc0\\xafz");
    cs_buf_reset(&b);
    /* Cut at a character boundary, then an ellipsis. */
    cs_buf_add_excerpt(&b, "\xc3\xa9\xc3\xa9\xc3\xa9", 6, 5);
    assert_string_equal(b.ptr, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
    cs_buf_reset(&b);
    cs_buf_add_excerpt(&b, "abc", 3, 3);
    assert_string_equal(b.ptr, "abc");
    cs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base__buf_grows_and_caps),
        cmocka_unit_test(test_base__numbers_are_strict),
        cmocka_unit_test(test_base__rfc3339),
        cmocka_unit_test(test_base__dates_round_trip),
        cmocka_unit_test(test_base__dates_say_why_not),
        cmocka_unit_test(test_base__shortest_doubles_read_back),
        cmocka_unit_test(test_base__json_dump_as_jansson_but_shortest),
        cmocka_unit_test(test_base__sha256_known_vectors),
        cmocka_unit_test(test_base__hmac_sha256_rfc4231),
        cmocka_unit_test(test_base__fnv1a64_known_vectors),
        cmocka_unit_test(test_base__fs_list_sorted_and_filtered),
        cmocka_unit_test(test_base__fs_list_missing_and_unreadable),
        cmocka_unit_test(test_base__fs_archive_never_overwrites),
        cmocka_unit_test(test_base__config_env_overrides_file),
        cmocka_unit_test(test_base__config_schema),
        cmocka_unit_test(test_base__err_keeps_long_messages),
        cmocka_unit_test(test_base__excerpt_is_one_line_of_utf8),
    };

    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
