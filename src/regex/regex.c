/* regex.c - PCRE2 patterns: compile, check, match (the only PCRE2 code) */
#include "regex/regex.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/buf.h"
#include "base/mem.h"

struct cs_regex {
    pcre2_code *code;
    cs_regex_check_fn check;
};

struct cs_regex_matcher {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
    unsigned long limit;
    char setting[64];       /* where the limit is configured, or "" */
};

static void *must(void *p)
{
    if (!p) {
        fputs("callscope: out of memory\n", stderr);
        abort();
    }
    return p;
}

/* Runs at the end of a checked pattern's match: a nonzero return makes
 * PCRE2 backtrack and look for another (e.g. shorter) match. */
static int on_callout(pcre2_callout_block *cb, void *data)
{
    const struct cs_regex *re = data;

    return re->check((const char *)cb->subject, cb->subject_length,
                     cb->start_match, cb->current_position) ? 0 : 1;
}

/*
 * A checked pattern is compiled as "(?:PATTERN)(?C1)", the callout at the
 * end of every candidate match; leading (*VERB) items (such as (*UCP) or
 * (*LIMIT_MATCH=n)) must stay first, so they go before the group. Error
 * offsets are mapped back to the pattern as given.
 */
int cs_regex_new(struct cs_regex **out, const char *pattern,
                 cs_regex_check_fn check, struct cs_err *err)
{
    struct cs_buf pat = CS_BUF_INIT;
    struct cs_regex *re = NULL;
    pcre2_code *code;
    size_t verbs = 0, eoff = 0, plen;
    int ec = 0, ret = 0;

    assert(out && pattern);
    *out = NULL;
    plen = strlen(pattern);
    if (check) {
        while (strncmp(pattern + verbs, "(*", 2) == 0) {
            const char *end = strchr(pattern + verbs, ')');

            if (!end)
                break;
            verbs = (size_t)(end - pattern) + 1;
        }
        cs_buf_add(&pat, pattern, verbs);
        cs_buf_addf(&pat, "(?:%s)(?C1)", pattern + verbs);
    } else {
        cs_buf_add(&pat, pattern, plen);
    }
    code = pcre2_compile((PCRE2_SPTR)pat.ptr, pat.len, PCRE2_UTF | PCRE2_UCP,
                         &ec, &eoff, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];

        pcre2_get_error_message(ec, msg, sizeof(msg));
        if (check && eoff > verbs)
            eoff = eoff >= verbs + 3 ? eoff - 3 : verbs;
        if (eoff > plen)
            eoff = plen;
        ret = cs_err_set(err, CS_EINVALID, "pattern does not compile at "
                         "offset %zu: %s", eoff, (const char *)msg);
        goto done;
    }
    /* Without JIT the interpreter still works, just slower, so a failure
     * here is not an error. */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    re = cs_xcalloc(1, sizeof(*re));
    re->code = code;
    re->check = check;
    *out = re;
done:
    cs_buf_release(&pat);
    return ret;
}

void cs_regex_free(struct cs_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}

int cs_regex_check(const char *pattern, struct cs_err *err)
{
    struct cs_regex *re = NULL;
    int ret = cs_regex_new(&re, pattern, NULL, err);

    cs_regex_free(re);
    return ret;
}

/* Length of an unbounded quantifier at p (`*`, `+`, `{n,}`, with a lazy
 * `?` or possessive `+` after it), or 0; *possessive says which. */
static size_t unbounded_at(const char *p, int *possessive)
{
    size_t n = 0;

    *possessive = 0;
    if (*p == '*' || *p == '+') {
        n = 1;
    } else if (*p == '{') {
        size_t i = 1;

        while (p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == 1 || p[i] != ',' || p[i + 1] != '}')
            return 0;
        n = i + 2;
    } else {
        return 0;
    }
    if (p[n] == '+')
        *possessive = 1;
    else if (p[n] == '?')
        n++; /* lazy: still backtracks */
    return n;
}

/* Skips a bounded quantifier (`?`, `{n}`, `{n,m}`) at p; returns its
 * length or 0. */
static size_t bounded_at(const char *p)
{
    size_t i = 1;

    if (*p == '?')
        return (p[1] == '?' || p[1] == '+') ? 2 : 1;
    if (*p != '{')
        return 0;
    while ((p[i] >= '0' && p[i] <= '9') || p[i] == ',')
        i++;
    if (i == 1 || p[i] != '}')
        return 0;
    i++;
    return (p[i] == '?' || p[i] == '+') ? i + 1 : i;
}

#define NEST_MAX 64

int cs_regex_nested_quantifier(const char *pattern, size_t *at)
{
    /* Per open group: where it starts, whether it is atomic, and whether
     * its content holds an unbounded repeat that can backtrack. */
    size_t start[NEST_MAX + 1];
    unsigned char atomic[NEST_MAX + 1], inner[NEST_MAX + 1];
    size_t depth = 0, i = 0, n, deep = 0;
    int poss;

    start[0] = 0;
    atomic[0] = inner[0] = 0;
    while (pattern[i]) {
        const char *p = pattern + i;
        int group_end = 0, group_inner = 0, group_atomic = 0;
        size_t group_start = 0;

        if (p[0] == '\\' && p[1] == 'Q') {
            const char *e = strstr(p + 2, "\\E");

            i = e ? (size_t)(e - pattern) + 2 : strlen(pattern);
        } else if (p[0] == '\\' && p[1]) {
            i += 2;
            /* \x{..}, \p{..}, \g{..}, \k{..}, \N{..}, \o{..} */
            if (pattern[i] == '{' && strchr("xpPgkNo", p[1])) {
                while (pattern[i] && pattern[i] != '}')
                    i++;
                if (pattern[i])
                    i++;
            }
        } else if (p[0] == '[') {
            i++;
            if (pattern[i] == '^')
                i++;
            if (pattern[i] == ']')
                i++;
            while (pattern[i] && pattern[i] != ']') {
                if (pattern[i] == '\\' && pattern[i + 1])
                    i += 2;
                else if (pattern[i] == '[' && pattern[i + 1] == ':' &&
                         strstr(pattern + i + 2, ":]"))
                    i = (size_t)(strstr(pattern + i + 2, ":]") - pattern) +
                        2;
                else
                    i++;
            }
            if (pattern[i])
                i++;
        } else if (p[0] == '(' && (p[1] == '*' || (p[1] == '?' &&
                                                    p[2] == '#'))) {
            /* (*VERB) and (?#comment) repeat nothing. */
            while (pattern[i] && pattern[i] != ')')
                i++;
            if (pattern[i])
                i++;
            continue;
        } else if (p[0] == '(') {
            if (depth < NEST_MAX) {
                depth++;
                start[depth] = i;
                atomic[depth] = p[1] == '?' && p[2] == '>';
                inner[depth] = 0;
            } else {
                deep++;
            }
            i++;
            continue;
        } else if (p[0] == ')') {
            i++;
            if (deep) {
                deep--;
                continue;
            }
            if (depth == 0)
                continue;
            group_end = 1;
            group_start = start[depth];
            group_inner = inner[depth];
            group_atomic = atomic[depth];
            depth--;
        } else {
            i++;
        }
        n = unbounded_at(pattern + i, &poss);
        if (n) {
            if (group_end && group_inner && !group_atomic && !poss) {
                if (at)
                    *at = group_start;
                return 1;
            }
            i += n + (size_t)poss;
            if (!poss)
                inner[depth] = 1;
        } else {
            i += bounded_at(pattern + i);
        }
        /* What a group held stays inside what holds the group. */
        if (group_end && group_inner && !group_atomic)
            inner[depth] = 1;
    }
    return 0;
}

void cs_regex_matcher_new(struct cs_regex_matcher **out)
{
    struct cs_regex_matcher *m = cs_xcalloc(1, sizeof(*m));

    /* One ovector pair is enough: only the whole match is reported (a
     * pattern with groups then returns 0, "ovector too small", and still
     * sets the pair). */
    m->md = must(pcre2_match_data_create(1, NULL));
    m->mctx = must(pcre2_match_context_create(NULL));
    m->jit = must(pcre2_jit_stack_create(32 * 1024, CS_REGEX_JIT_STACK_MAX,
                                         NULL));
    pcre2_jit_stack_assign(m->mctx, NULL, m->jit);
    pcre2_set_match_limit(m->mctx, CS_REGEX_MATCH_LIMIT);
    pcre2_set_heap_limit(m->mctx, CS_REGEX_HEAP_LIMIT_KB);
    m->limit = CS_REGEX_MATCH_LIMIT;
    *out = m;
}

void cs_regex_matcher_set_limit(struct cs_regex_matcher *m,
                                unsigned long match_limit,
                                const char *setting)
{
    assert(m && match_limit > 0);
    m->limit = match_limit;
    pcre2_set_match_limit(m->mctx, (uint32_t)(match_limit > UINT32_MAX
                                                  ? UINT32_MAX
                                                  : match_limit));
    snprintf(m->setting, sizeof(m->setting), "%s", setting ? setting : "");
}

void cs_regex_matcher_free(struct cs_regex_matcher *m)
{
    if (!m)
        return;
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mctx);
    pcre2_jit_stack_free(m->jit);
    free(m);
}

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

int cs_regex_utf8_check(const char *text, size_t len, struct cs_err *err)
{
    size_t bad = utf8_invalid_at(text ? text : "", text ? len : 0);

    if (text && bad != len)
        return cs_err_set(err, CS_EINVALID,
                          "text is not valid utf-8 at byte %zu", bad);
    return 0;
}

int cs_regex_subject_init(struct cs_regex_subject *out, const char *text,
                          size_t len, struct cs_err *err)
{
    int ret = cs_regex_utf8_check(text, len, err);

    out->ptr = "";
    out->len = 0;
    if (ret == 0 && text) {
        out->ptr = text;
        out->len = len;
    }
    return ret;
}

int cs_regex_match(struct cs_regex_span *out, struct cs_regex_matcher *m,
                   const struct cs_regex *re, const struct cs_regex_subject *s,
                   size_t start, struct cs_err *err)
{
    PCRE2_SIZE *ov;
    int rc;

    assert(out && m && re && s);
    if (start > s->len)
        return 0;
    pcre2_set_callout(m->mctx, re->check ? on_callout : NULL,
                      (void *)re);
    rc = pcre2_match(re->code, (PCRE2_SPTR)s->ptr, s->len, start,
                     PCRE2_NO_UTF_CHECK, m->md, m->mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc == PCRE2_ERROR_MATCHLIMIT)
        return cs_err_set(err, CS_ERROR, "pattern match failed: match limit "
                          "of %lu steps exceeded%s%s%s", m->limit,
                          *m->setting ? " (" : "", m->setting,
                          *m->setting ? ")" : "");
    if (rc < 0) {
        PCRE2_UCHAR msg[256];

        pcre2_get_error_message(rc, msg, sizeof(msg));
        return cs_err_set(err, CS_ERROR, "pattern match failed: %s",
                          (const char *)msg);
    }
    ov = pcre2_get_ovector_pointer(m->md);
    out->start = ov[0];
    /* \K in a lookahead can put the start after the end. */
    out->end = ov[1] >= ov[0] ? ov[1] : ov[0];
    return 1;
}
