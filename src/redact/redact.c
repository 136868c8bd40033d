/* redact.c - replace personal data (phones, e-mails, cards...) in text */
#include "redact/redact.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "config/config.h"
#include "regex/regex.h"

/*
 * The patterns use [0-9] rather than \d, which under UCP also matches other
 * scripts' digits that the checks below would not count. Numbers are
 * delimited by ASCII letters and digits only, not by \w, which under UCP
 * takes in e.g. kana, and Japanese writes "090-1234-5678です" without a
 * space. Every pattern starts with a lookbehind, so that a search never
 * restarts inside a run it already rejected (that would make long runs
 * quadratic), and ends with a lookahead, so a number is never cut in two.
 */
#define NOT_AFTER                                                             \
    "(?<![0-9A-Za-z_+.,/$\xe2\x82\xac\xc2\xa3-])(?<![0-9]:)" /* EUR GBP */
#define NOT_BEFORE "(?![0-9A-Za-z_]|[.,:-]?[0-9])"
#define MAILCH "\\p{Latin}0-9_%+-"

const struct cs_redact_rule cs_redact_defaults[] = {
    {"email",
     "(?<![" MAILCH ".])[" MAILCH ".]++@[" MAILCH "]++(?:\\.[" MAILCH "]++)+",
     "[EMAIL]"},
    {"iban", "(?<![0-9A-Za-z_])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}"
             "(?![0-9A-Za-z_])",
     "[IBAN]"},
    {"card", NOT_AFTER "[0-9](?:[ -]?[0-9]){12,18}" NOT_BEFORE, "[CARD]"},
    {"ssn", NOT_AFTER "[0-9]{3}-[0-9]{2}-[0-9]{4}" NOT_BEFORE, "[SSN]"},
    {"phone",
     NOT_AFTER "(?:"
     "\\+[0-9]{1,3}(?:[ .-]?\\(?[0-9]{1,4}\\)?){2,6}"
     "|\\([0-9]{2,5}\\)[ .-]?[0-9]{2,4}(?:[ .-]?[0-9]{2,4}){1,3}"
     "|[0-9]{1,5}(?:[ .-][0-9]{2,5}){1,4}"
     "|0[0-9]{8,11}"
     ")" NOT_BEFORE,
     "[PHONE]"},
};
const size_t cs_redact_ndefaults =
    sizeof(cs_redact_defaults) / sizeof(cs_redact_defaults[0]);

struct rule {
    char *name;
    char *pattern;          /* as given */
    char *replacement;
    size_t repl_len;
    struct cs_regex *re;
};

struct cs_redact {
    struct rule *rules;
    size_t n, cap;
    struct cs_regex_matcher *m;
    struct cs_buf pass[2];  /* the output of alternate passes */
};

/* ---- checks ----------------------------------------------------------- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int luhn_ok(const char *subj, size_t len, size_t start, size_t end)
{
    const char *s = subj + start;
    size_t n = end - start, i;
    int sum = 0, digits = 0, dbl = 0, nonzero = 0;

    (void)len;
    for (i = n; i-- > 0;) {
        int d;

        if (!is_digit(s[i]))
            continue;
        d = s[i] - '0';
        nonzero |= d;
        if (dbl) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
        dbl = !dbl;
        digits++;
    }
    return digits >= 13 && digits <= 19 && nonzero && sum % 10 == 0;
}

/* ISO 13616: move the country and check digits to the end, read letters
 * as 10..35, and the number must be 1 modulo 97. */
static int iban_ok(const char *subj, size_t slen, size_t start, size_t end)
{
    const char *s = subj + start;
    size_t n = end - start, len = 0, i;
    char c[40];
    unsigned rem = 0;

    (void)slen;
    for (i = 0; i < n; i++) {
        if (s[i] == ' ')
            continue;
        if (len == sizeof(c))
            return 0;
        c[len++] = s[i];
    }
    if (len < 15 || len > 34)
        return 0;
    for (i = 0; i < len; i++) {
        char ch = c[(i + 4) % len];

        if (is_digit(ch))
            rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
        else if (ch >= 'A' && ch <= 'Z')
            rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
        else
            return 0;
    }
    return rem == 1;
}

static int ssn_ok(const char *subj, size_t len, size_t start, size_t end)
{
    const char *s = subj + start;

    (void)len;
    if (end - start != 11)
        return 0;
    if (memcmp(s, "000", 3) == 0 || memcmp(s, "666", 3) == 0 || s[0] == '9')
        return 0;
    return memcmp(s + 4, "00", 2) != 0 && memcmp(s + 7, "0000", 4) != 0;
}

static long group_value(const char *s, size_t len)
{
    long v = 0;
    size_t i;

    for (i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int is_year(long v)
{
    return v >= 1900 && v <= 2099;
}

/* Rejects what the phone pattern takes for a phone but is more likely a
 * date (2026-11-02, 02.11.2026), a year range (1999-2005), a decimal
 * (1234.5678), a number in thousands (12.000.000, 3 500 000), or a part
 * of a longer number in the same grouping ("4111 1111 1111" of a card that
 * failed its Luhn check). */
static int phone_ok(const char *subj, size_t slen, size_t from, size_t to)
{
    const char *s = subj + from;
    size_t n = to - from, start[8], len[8], ng = 0, digits = 0, i = 0, j;
    char sep = 0;
    int mixed = 0, rest3 = 1;

    for (i = 0; i < n && !sep; i++) {
        if (s[i] == ' ' || s[i] == '.' || s[i] == '-')
            sep = s[i];
    }
    if (sep && to + 1 < slen && subj[to] == sep && is_digit(subj[to + 1]))
        return 0;
    if (sep && from >= 2 && subj[from - 1] == sep && is_digit(subj[from - 2]))
        return 0;
    sep = 0;
    i = 0;
    if (n && (s[0] == '+' || s[0] == '('))
        goto count;
    while (i < n) {
        if (is_digit(s[i])) {
            if (ng == 8)
                return 0;
            start[ng] = i;
            while (i < n && is_digit(s[i]))
                i++;
            len[ng] = i - start[ng];
            ng++;
        } else {
            if (sep && s[i] != sep)
                mixed = 1;
            sep = s[i];
            i++;
        }
    }
    for (j = 1; j < ng; j++)
        rest3 &= len[j] == 3;
    if (ng == 3 && !mixed) {
        long a = group_value(s + start[0], len[0]);
        long b = group_value(s + start[1], len[1]);
        long c = group_value(s + start[2], len[2]);

        if (len[0] == 4 && len[1] <= 2 && len[2] <= 2 && is_year(a) &&
            b >= 1 && b <= 12 && c >= 1 && c <= 31)
            return 0;
        if (len[0] <= 2 && len[1] <= 2 && len[2] == 4 && is_year(c) &&
            a >= 1 && b >= 1 && ((a <= 31 && b <= 12) || (a <= 12 && b <= 31)))
            return 0;
    }
    if (ng == 2 && len[0] == 4 && len[1] == 4 &&
        is_year(group_value(s + start[0], 4)) &&
        is_year(group_value(s + start[1], 4)))
        return 0;
    if (ng == 2 && sep == '.')
        return 0;
    if (ng >= 2 && !mixed && rest3 &&
        (sep == '.' || (sep == ' ' && len[0] <= 2)))
        return 0;
count:
    for (i = 0; i < n; i++)
        digits += is_digit(s[i]);
    return digits >= 7 && digits <= 15;
}

static cs_regex_check_fn check_for(const char *name)
{
    if (strcmp(name, "card") == 0)
        return luhn_ok;
    if (strcmp(name, "iban") == 0)
        return iban_ok;
    if (strcmp(name, "phone") == 0)
        return phone_ok;
    if (strcmp(name, "ssn") == 0)
        return ssn_ok;
    return NULL;
}

/* ---- rules ------------------------------------------------------------ */

static void rule_release(struct rule *r)
{
    free(r->name);
    free(r->pattern);
    free(r->replacement);
    cs_regex_free(r->re);
    memset(r, 0, sizeof(*r));
}

static int name_ok(const char *name)
{
    size_t i;

    if (!name[0] || strlen(name) > 32)
        return 0;
    for (i = 0; name[i]; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Compiles `in` into *out. The rules named "card", "iban", "phone" and
 * "ssn" keep only the matches their check accepts. */
static int rule_compile(struct rule *out, const struct cs_redact_rule *in,
                        struct cs_err *err)
{
    struct cs_buf repl = CS_BUF_INIT;
    struct cs_regex *re = NULL;
    struct cs_err e;
    size_t i;
    int ret = 0;

    assert(in && in->name && in->pattern);
    memset(out, 0, sizeof(*out));
    cs_err_clear(&e);
    if (!name_ok(in->name)) {
        ret = cs_err_set(err, CS_EINVALID,
                         "redact rule name '%.40s' must be 1 to 32 of "
                         "a-z, 0-9, '_' and '-'", in->name);
        goto done;
    }
    ret = cs_regex_new(&re, in->pattern, check_for(in->name), &e);
    if (ret < 0) {
        ret = cs_err_set(err, ret, "redact rule '%s': %s", in->name, e.msg);
        goto done;
    }
    if (in->replacement) {
        cs_buf_adds(&repl, in->replacement);
    } else {
        cs_buf_addch(&repl, '[');
        for (i = 0; in->name[i]; i++) {
            char c = in->name[i];

            cs_buf_addch(&repl, c >= 'a' && c <= 'z' ? (char)(c - 32) : c);
        }
        cs_buf_addch(&repl, ']');
    }
    if (cs_regex_utf8_check(repl.ptr, repl.len, NULL) < 0) {
        ret = cs_err_set(err, CS_EINVALID,
                         "redact rule '%s': replacement is not valid utf-8",
                         in->name);
        goto done;
    }
    out->re = re;
    re = NULL;
    out->name = cs_xstrdup(in->name);
    out->pattern = cs_xstrdup(in->pattern);
    out->repl_len = repl.len;
    out->replacement = cs_buf_detach(&repl, NULL);
done:
    cs_regex_free(re);
    cs_buf_release(&repl);
    return ret;
}

int cs_redact_add(struct cs_redact *rd, const struct cs_redact_rule *rule,
                  struct cs_err *err)
{
    struct rule r;
    size_t i;
    int ret;

    assert(rd && rule);
    ret = rule_compile(&r, rule, err);
    if (ret < 0)
        return ret;
    for (i = 0; i < rd->n; i++) {
        if (strcmp(rd->rules[i].name, r.name) == 0) {
            rule_release(&rd->rules[i]);
            rd->rules[i] = r;
            return 0;
        }
    }
    if (rd->n == rd->cap) {
        rd->cap = rd->cap ? rd->cap * 2 : 8;
        rd->rules = cs_xrealloc(rd->rules, rd->cap * sizeof(*rd->rules));
    }
    rd->rules[rd->n++] = r;
    return 0;
}

int cs_redact_new(struct cs_redact **out, const struct cs_redact_rule *rules,
                  size_t n, struct cs_err *err)
{
    struct cs_redact *rd;
    size_t i;
    int ret = 0;

    assert(out);
    *out = NULL;
    if (!rules) {
        rules = cs_redact_defaults;
        n = cs_redact_ndefaults;
    }
    rd = cs_xcalloc(1, sizeof(*rd));
    cs_buf_init(&rd->pass[0]);
    cs_buf_init(&rd->pass[1]);
    cs_regex_matcher_new(&rd->m);
    for (i = 0; i < n; i++) {
        ret = cs_redact_add(rd, &rules[i], err);
        if (ret < 0)
            goto done;
    }
    *out = rd;
    rd = NULL;
done:
    cs_redact_free(rd);
    return ret;
}

int cs_redact_new_configured(struct cs_redact **out,
                             const struct cs_config *cfg,
                             struct cs_err *err)
{
    const json_t *rules = json_object_get(cfg->root, "redact");
    const char *where = cfg->path ? cfg->path : "config";
    struct cs_redact *rd = NULL;
    size_t i;
    json_t *o;
    int ret;

    *out = NULL;
    ret = cs_redact_new(&rd, NULL, 0, err);
    if (ret || !rules)
        goto done;
    if (!json_is_array(rules)) {
        ret = cs_err_set(err, CS_EINVALID, "%s: 'redact': expected an "
                         "array of {name, pattern, replacement}", where);
        goto done;
    }
    json_array_foreach(rules, i, o) {
        struct cs_redact_rule rule;

        rule.name = json_string_value(json_object_get(o, "name"));
        rule.pattern = json_string_value(json_object_get(o, "pattern"));
        rule.replacement = json_string_value(json_object_get(o,
                                                             "replacement"));
        if (!rule.name || !rule.pattern) {
            ret = cs_err_set(err, CS_EINVALID, "%s: 'redact[%zu]': name "
                             "and pattern are required", where, i);
            goto done;
        }
        ret = cs_redact_add(rd, &rule, err);
        if (ret)
            goto done;
    }
done:
    if (ret == 0) {
        *out = rd;
        rd = NULL;
    }
    cs_redact_free(rd);
    return ret;
}

void cs_redact_free(struct cs_redact *rd)
{
    size_t i;

    if (!rd)
        return;
    for (i = 0; i < rd->n; i++)
        rule_release(&rd->rules[i]);
    free(rd->rules);
    cs_regex_matcher_free(rd->m);
    cs_buf_release(&rd->pass[0]);
    cs_buf_release(&rd->pass[1]);
    free(rd);
}

/* One rule over `src` (valid UTF-8) into `dst`. */
static int apply_rule(struct cs_buf *dst, size_t *count, struct cs_redact *rd,
                      struct rule *r, const struct cs_regex_subject *src,
                      struct cs_err *err)
{
    struct cs_regex_span at;
    struct cs_err e;
    size_t off = 0, last = 0, len = src->len;
    int rc;

    for (;;) {
        size_t s, end;

        rc = cs_regex_match(&at, rd->m, r->re, src, off, &e);
        if (rc == 0)
            break;
        if (rc < 0)
            return cs_err_set(err, rc, "redact rule '%s': %s", r->name,
                              e.msg);
        s = at.start < last ? last : at.start;
        end = at.end;
        if (end <= s) {
            /* An empty match replaces nothing: step over one character. */
            if (s >= len)
                break;
            off = s + 1;
            while (off < len && ((unsigned char)src->ptr[off] & 0xc0) == 0x80)
                off++;
            continue;
        }
        cs_buf_add(dst, src->ptr + last, s - last);
        cs_buf_add(dst, r->replacement, r->repl_len);
        (*count)++;
        last = off = end;
    }
    cs_buf_add(dst, src->ptr + last, len - last);
    return 0;
}

/*
 * Each pass reads the previous pass's output, which is valid UTF-8 again
 * (the input was, replacements are, and cuts fall on match boundaries);
 * it is checked once per pass, in linear time, so that every match can
 * skip PCRE2's own check.
 */
int cs_redact_apply(struct cs_buf *out, size_t *count_out,
                    struct cs_redact *rd, const char *text, size_t len,
                    struct cs_err *err)
{
    struct cs_regex_subject src;
    size_t count = 0, i;
    int ret = 0, cur = 0;

    assert(out && rd && (text || len == 0));
    if (count_out)
        *count_out = 0;
    ret = cs_regex_subject_init(&src, text ? text : "", text ? len : 0, err);
    if (ret < 0)
        return ret;
    for (i = 0; i < rd->n; i++) {
        struct cs_buf *dst = &rd->pass[cur];

        cs_buf_reset(dst);
        ret = apply_rule(dst, &count, rd, &rd->rules[i], &src, err);
        if (ret == 0)
            ret = cs_regex_subject_init(&src, dst->ptr, dst->len, err);
        if (ret < 0)
            return ret;
        cur ^= 1;
    }
    if (cs_buf_add(out, src.ptr, src.len) < 0)
        return cs_err_set(err, CS_ETOOBIG,
                          "redacted text exceeds the buffer's cap");
    if (count_out)
        *count_out = count;
    return 0;
}
