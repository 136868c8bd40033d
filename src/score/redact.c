/* redact.c - replace personal data (phones, e-mails, cards...) in text */
#include "score/redact.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/mem.h"

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

/* A check on a candidate match subj[start..end) of a subject of `len`
 * bytes: 1 to accept it, 0 to reject it. */
typedef int (*check_fn)(const char *subj, size_t len, size_t start,
                        size_t end);

struct rule {
    char *name;
    char *pattern;          /* as given */
    char *replacement;
    size_t repl_len;
    check_fn check;
    pcre2_code *code;
    pcre2_match_data *md;
};

struct cs_redact {
    struct rule *rules;
    size_t n, cap;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
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

static check_fn check_for(const char *name)
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

/* Runs at the end of a checked rule's match: a nonzero return makes PCRE2
 * backtrack and look for another (e.g. shorter) match. */
static int on_callout(pcre2_callout_block *cb, void *data)
{
    const struct rule *r = data;

    return r->check((const char *)cb->subject, cb->subject_length,
                    cb->start_match, cb->current_position) ? 0 : 1;
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* Returns the offset of the first invalid sequence, or `n` if none. */
static size_t utf8_invalid_at(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (n - i <= k)
            return i;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += k + 1;
    }
    return n;
}

/* ---- rules ------------------------------------------------------------ */

static void rule_release(struct rule *r)
{
    free(r->name);
    free(r->pattern);
    free(r->replacement);
    pcre2_match_data_free(r->md);
    pcre2_code_free(r->code);
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

/* Compiles `in` into *out. A checked rule's pattern is wrapped as
 * "(?:PATTERN)(?C1)", after any leading (*VERB) items, which must stay
 * first; error offsets are given in the caller's pattern. */
static int rule_compile(struct rule *out, const struct cs_redact_rule *in,
                        struct cs_err *err)
{
    struct cs_buf pat = CS_BUF_INIT, repl = CS_BUF_INIT;
    check_fn check;
    pcre2_code *code = NULL;
    size_t verbs = 0, eoff = 0, i;
    int ec = 0, ret = 0;

    assert(in && in->name && in->pattern);
    memset(out, 0, sizeof(*out));
    if (!name_ok(in->name)) {
        ret = cs_err_set(err, CS_EINVALID,
                         "redact rule name '%.40s' must be 1 to 32 of "
                         "a-z, 0-9, '_' and '-'", in->name);
        goto done;
    }
    check = check_for(in->name);
    if (check) {
        while (strncmp(in->pattern + verbs, "(*", 2) == 0) {
            const char *end = strchr(in->pattern + verbs, ')');

            if (!end)
                break;
            verbs = (size_t)(end - in->pattern) + 1;
        }
        cs_buf_add(&pat, in->pattern, verbs);
        cs_buf_addf(&pat, "(?:%s)(?C1)", in->pattern + verbs);
    } else {
        cs_buf_adds(&pat, in->pattern);
    }
    code = pcre2_compile((PCRE2_SPTR)pat.ptr, pat.len, PCRE2_UTF | PCRE2_UCP,
                         &ec, &eoff, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];

        pcre2_get_error_message(ec, msg, sizeof(msg));
        if (check && eoff > verbs)
            eoff = eoff >= verbs + 3 ? eoff - 3 : verbs;
        if (eoff > strlen(in->pattern))
            eoff = strlen(in->pattern);
        ret = cs_err_set(err, CS_EINVALID,
                         "redact rule '%s': %s at offset %zu", in->name,
                         (const char *)msg, eoff);
        goto done;
    }
    /* Without JIT (e.g. no executable memory) the interpreter still works,
     * just slower, so a failure here is not an error. */
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);

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
    if (utf8_invalid_at(repl.ptr, repl.len) != repl.len) {
        ret = cs_err_set(err, CS_EINVALID,
                         "redact rule '%s': replacement is not valid utf-8",
                         in->name);
        goto done;
    }
    out->md = pcre2_match_data_create_from_pattern(code, NULL);
    if (!out->md) {
        fputs("callscope: out of memory\n", stderr);
        abort();
    }
    out->code = code;
    code = NULL;
    out->check = check;
    out->name = cs_xstrdup(in->name);
    out->pattern = cs_xstrdup(in->pattern);
    out->repl_len = repl.len;
    out->replacement = cs_buf_detach(&repl, NULL);
done:
    pcre2_code_free(code);
    cs_buf_release(&pat);
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
    rd->mctx = pcre2_match_context_create(NULL);
    rd->jit = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    if (!rd->mctx || !rd->jit) {
        fputs("callscope: out of memory\n", stderr);
        abort();
    }
    pcre2_jit_stack_assign(rd->mctx, NULL, rd->jit);
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

void cs_redact_free(struct cs_redact *rd)
{
    size_t i;

    if (!rd)
        return;
    for (i = 0; i < rd->n; i++)
        rule_release(&rd->rules[i]);
    free(rd->rules);
    pcre2_match_context_free(rd->mctx);
    pcre2_jit_stack_free(rd->jit);
    cs_buf_release(&rd->pass[0]);
    cs_buf_release(&rd->pass[1]);
    free(rd);
}

/* One rule over `src` into `dst`. The subject was validated once by the
 * caller, so every call passes PCRE2_NO_UTF_CHECK: without it PCRE2 would
 * re-validate the whole subject on each call, which is quadratic. */
static int apply_rule(struct cs_buf *dst, size_t *count, struct cs_redact *rd,
                      struct rule *r, const char *src, size_t len,
                      struct cs_err *err)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
    size_t off = 0, last = 0;
    int rc;

    pcre2_set_callout(rd->mctx, r->check ? on_callout : NULL, r);
    for (;;) {
        size_t s, e;

        rc = pcre2_match(r->code, (PCRE2_SPTR)src, len, off,
                         PCRE2_NO_UTF_CHECK, r->md, rd->mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];

            pcre2_get_error_message(rc, msg, sizeof(msg));
            return cs_err_set(err, CS_ERROR, "redact rule '%s': %s",
                              r->name, (const char *)msg);
        }
        s = ov[0] < last ? last : ov[0];
        e = ov[1];
        if (e <= s) {
            /* An empty match replaces nothing: step over one character. */
            if (s >= len)
                break;
            off = s + 1;
            while (off < len && ((unsigned char)src[off] & 0xc0) == 0x80)
                off++;
            continue;
        }
        cs_buf_add(dst, src + last, s - last);
        cs_buf_add(dst, r->replacement, r->repl_len);
        (*count)++;
        last = off = e;
    }
    cs_buf_add(dst, src + last, len - last);
    return 0;
}

int cs_redact_apply(struct cs_buf *out, size_t *count_out,
                    struct cs_redact *rd, const char *text, size_t len,
                    struct cs_err *err)
{
    const char *src = text;
    size_t slen = len, count = 0, bad, i;
    int ret = 0, cur = 0;

    assert(out && rd && (text || len == 0));
    if (count_out)
        *count_out = 0;
    if (!text)
        src = "";
    bad = utf8_invalid_at(src, slen);
    if (bad != slen)
        return cs_err_set(err, CS_EINVALID,
                          "text is not valid utf-8 at byte %zu", bad);
    for (i = 0; i < rd->n; i++) {
        struct cs_buf *dst = &rd->pass[cur];

        cs_buf_reset(dst);
        ret = apply_rule(dst, &count, rd, &rd->rules[i], src, slen, err);
        if (ret < 0)
            return ret;
        src = dst->ptr;
        slen = dst->len;
        cur ^= 1;
    }
    if (cs_buf_add(out, src, slen) < 0)
        return cs_err_set(err, CS_ETOOBIG,
                          "redacted text exceeds the buffer's cap");
    if (count_out)
        *count_out = count;
    return 0;
}

/* Adds the rules of `rules` (a JSON array, or NULL) in order. */
static int add_json(struct cs_redact *rd, const json_t *rules,
                    const char *where, struct cs_err *err)
{
    size_t i;
    json_t *o;

    if (!rules)
        return 0;
    if (!json_is_array(rules))
        return cs_err_set(err, CS_EINVALID, "%s: 'redact': expected an "
                          "array of {name, pattern, replacement}", where);
    json_array_foreach(rules, i, o) {
        struct cs_redact_rule rule;
        int ret;

        rule.name = json_string_value(json_object_get(o, "name"));
        rule.pattern = json_string_value(json_object_get(o, "pattern"));
        rule.replacement = json_string_value(json_object_get(o,
                                                             "replacement"));
        if (!rule.name || !rule.pattern)
            return cs_err_set(err, CS_EINVALID, "%s: 'redact[%zu]': name "
                              "and pattern are required", where, i);
        ret = cs_redact_add(rd, &rule, err);
        if (ret)
            return ret;
    }
    return 0;
}

int cs_redact_new_json(struct cs_redact **out, const json_t *rules,
                       const char *where, struct cs_err *err)
{
    int ret;

    ret = cs_redact_new(out, NULL, 0, err);
    if (!ret)
        ret = add_json(*out, rules, where, err);
    if (ret) {
        cs_redact_free(*out);
        *out = NULL;
    }
    return ret;
}
