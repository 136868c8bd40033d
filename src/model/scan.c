/* scan.c - a conversation line in its common shape, checked from its bytes */
#include "model/scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/mem.h"
#include "base/parse.h"

/*
 * What jansson (json_loadb with JSON_REJECT_DUPLICATES, as
 * cs_conv_from_line calls it) accepts is followed to the byte: whitespace
 * is space, tab, newline and carriage return; strings are strict UTF-8
 * (no overlong form, no surrogate, nothing above U+10FFFF) without control
 * characters, with the escapes \" \\ \/ \b \f \n \r \t and \uXXXX, a high
 * surrogate escape only before a low one and \u0000 never; numbers are
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, an integer must fit in
 * 64 bits and a real must not overflow. Where following it exactly would
 * cost code for lines that do not occur (a 19-digit integer, a key with an
 * escape), the scan gives up instead: the jansson path then decides.
 * Then the checks of conv.c, in the same terms.
 *
 * Every function returns the position after what it read, or NULL to give
 * up. The end of the line reads as '\0' (AT): a NUL byte on the line is
 * invalid anywhere, so the two never need telling apart.
 */

struct sc {
    const char *e;      /* end of the line */
    struct cs_scan *out;
};

#define AT(s, p) ((p) < (s)->e ? *(p) : '\0')

static const char *ws(const struct sc *s, const char *p)
{
    while (p < s->e && (*p == ' ' || *p == '\t' || *p == '\n' ||
                        *p == '\r'))
        p++;
    return p;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The value of the 4 hex digits at p (bounds checked), or -1. */
static long hex4(const struct sc *s, const char *p)
{
    long v = 0;

    if (s->e - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int h = hex(p[i]);

        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* p at a byte >= 0x80: past the UTF-8 sequence jansson's utf8_check_full
 * takes, or NULL. */
static const char *utf8(const struct sc *s, const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t left = (size_t)(s->e - p), n;
    uint32_t v;

    if (u[0] >= 0xC2 && u[0] <= 0xDF) {
        n = 2;
        v = u[0] & 0x1F;
    } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        n = 3;
        v = u[0] & 0x0F;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        n = 4;
        v = u[0] & 0x07;
    } else {
        return NULL;
    }
    if (left < n)
        return NULL;
    for (size_t i = 1; i < n; i++) {
        if (u[i] < 0x80 || u[i] > 0xBF)
            return NULL;
        v = v << 6 | (u[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ||
        (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
        return NULL;
    return p + n;
}

/* Past the run of bytes at p that need no look: not '"', '\\', a control
 * character or a byte >= 0x80. Most of a line is such text. */
static const char *plain_run(const struct sc *s, const char *p)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (s->e - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed: bytes >= 0x80 are negative, so below 0x20 too. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                              _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        int bits = _mm_movemask_epi8(m);

        if (bits)
            return p + __builtin_ctz((unsigned)bits);
        p += 16;
    }
#endif
    while (p < s->e) {
        unsigned char c = (unsigned char)*p;

        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
            break;
        p++;
    }
    return p;
}

/*
 * p at the opening quote of a string; past its closing quote. *escaped
 * (may be NULL) says whether it holds an escape; with `plain` set, an
 * escape gives up.
 */
static const char *string(const struct sc *s, const char *p, int plain,
                          int *escaped)
{
    if (escaped)
        *escaped = 0;
    for (p++;;) {
        unsigned char c;

        p = plain_run(s, p);
        c = (unsigned char)AT(s, p);
        if (c == '"')
            return p + 1;
        if (c >= 0x80) {
            p = utf8(s, p);
            if (!p)
                return NULL;
            continue;
        }
        if (c != '\\' || plain)
            return NULL;    /* a control character, the end, or plain */
        if (escaped)
            *escaped = 1;
        switch (AT(s, p + 1)) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            p += 2;
            break;
        case 'u': {
            long v = hex4(s, p + 2), lo;

            if (v <= 0 || (v >= 0xDC00 && v <= 0xDFFF))
                return NULL;    /* invalid, \u0000 or a lone low half */
            p += 6;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (AT(s, p) != '\\' || AT(s, p + 1) != 'u')
                    return NULL;
                lo = hex4(s, p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return NULL;
                p += 6;
            }
            break;
        }
        default:
            return NULL;
        }
    }
}

/*
 * p at a number's first byte. Sets its type (INT or REAL) and *neg (its
 * sign was written); gives up on what jansson rejects (an integer beyond
 * 64 bits, a real that overflows), and on integers of 19 digits.
 */
static const char *number(const struct sc *s, const char *p,
                          enum cs_scan_type *type, int *neg)
{
    size_t int_digits = 0;
    long exp = 0;
    int exp_neg = 0;

    *type = CS_SCAN_INT;
    *neg = AT(s, p) == '-';
    if (*neg)
        p++;
    if (AT(s, p) == '0') {
        p++;
        int_digits = 1;
        if (is_digit(AT(s, p)))
            return NULL;
    } else if (is_digit(AT(s, p))) {
        while (is_digit(AT(s, p))) {
            p++;
            int_digits++;
        }
    } else {
        return NULL;
    }
    if (AT(s, p) == '.') {
        p++;
        if (!is_digit(AT(s, p)))
            return NULL;
        while (is_digit(AT(s, p)))
            p++;
        *type = CS_SCAN_REAL;
    }
    if (AT(s, p) == 'e' || AT(s, p) == 'E') {
        p++;
        if (AT(s, p) == '+' || AT(s, p) == '-')
            exp_neg = *p++ == '-';
        if (!is_digit(AT(s, p)))
            return NULL;
        while (is_digit(AT(s, p))) {
            if (exp < 100000)
                exp = exp * 10 + (*p - '0');
            p++;
        }
        *type = CS_SCAN_REAL;
    }
    if (*type == CS_SCAN_INT)
        return int_digits <= 18 ? p : NULL;
    /* Below 10^(int_digits + exp) <= 10^308 < DBL_MAX: finite. */
    if ((long)int_digits + (exp_neg ? -exp : exp) > 308)
        return NULL;
    return p;
}

static const double pow10s[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * The double jansson makes of a number the scan accepted: an integer
 * converted, a real as strtod reads it. A decimal of at most 15 digits
 * without an exponent is m / 10^k with both exact, so the one rounding
 * of the division is strtod's; anything else goes to strtod.
 */
static int num_value(const struct cs_scan_val *v, double *out)
{
    uint64_t m = 0;
    int digits = 0, frac = -1;
    char tmp[64];

    for (size_t i = 0; i < v->n; i++) {
        char c = v->p[i];

        if (c == '.') {
            frac = 0;
        } else if (is_digit(c)) {
            m = m * 10 + (uint64_t)(c - '0');
            if (m && ++digits > 15)
                break;
            if (frac >= 0)
                frac++;
        } else {
            digits = 99;   /* a sign or an exponent */
            break;
        }
    }
    if (digits <= 15 && frac <= 22) {
        *out = frac > 0 ? (double)m / pow10s[frac] : (double)m;
        return 0;
    }
    if (v->type == CS_SCAN_INT) {
        /* At most 18 digits, no sign (number(), nonneg()): exact in 64
         * bits, then converted as jansson converts its json_int_t. */
        m = 0;
        for (size_t i = 0; i < v->n; i++)
            m = m * 10 + (uint64_t)(v->p[i] - '0');
        *out = (double)(int64_t)m;
        return 0;
    }
    if (v->n >= sizeof(tmp))
        return -1;
    memcpy(tmp, v->p, v->n);
    tmp[v->n] = '\0';
    *out = strtod(tmp, NULL);
    return 0;
}

static const char *value(struct sc *s, const char *p, int depth,
                         struct cs_scan_val *out);

/*
 * An object's members, one at a time:
 *
 *   struct obj o;
 *
 *   obj_init(&o);
 *   while ((p = obj_member(s, &o, p, &key, &klen)) && key)
 *       p = <the value at p>;
 *
 * p starts just past the '{'; after the loop it is past the '}' (or
 * NULL: give up). A key with an escape gives up, and so does a key given
 * twice, so keys compare as written.
 */
struct obj {
    int first;
    size_t n;
    const char *k[CS_SCAN_MAX_KEYS];
    size_t kn[CS_SCAN_MAX_KEYS];
};

/* Only `first` and `n` are set: the keys are read below `n` alone. */
static void obj_init(struct obj *o)
{
    o->first = 1;
    o->n = 0;
}

static const char *obj_member(struct sc *s, struct obj *o, const char *p,
                              const char **key, size_t *klen)
{
    const char *k;

    *key = NULL;
    if (!p)
        return NULL;
    p = ws(s, p);
    if (o->first) {
        o->first = 0;
        if (AT(s, p) == '}')
            return p + 1;
    } else if (AT(s, p) == '}') {
        return p + 1;
    } else if (AT(s, p) == ',') {
        p = ws(s, p + 1);
    } else {
        return NULL;
    }
    if (AT(s, p) != '"' || o->n == CS_SCAN_MAX_KEYS)
        return NULL;
    k = p + 1;
    p = string(s, p, 1, NULL);
    if (!p)
        return NULL;
    *klen = (size_t)(p - 1 - k);
    for (size_t i = 0; i < o->n; i++) {
        if (o->kn[i] == *klen && memcmp(o->k[i], k, *klen) == 0)
            return NULL;    /* duplicate */
    }
    o->k[o->n] = k;
    o->kn[o->n++] = *klen;
    p = ws(s, p);
    if (AT(s, p) != ':')
        return NULL;
    *key = k;
    return ws(s, p + 1);
}

/* An array's elements the same way: p past the '[', *more set while an
 * element starts at the position returned. */
static const char *arr_elem(struct sc *s, int *first, const char *p,
                            int *more)
{
    *more = 0;
    if (!p)
        return NULL;
    p = ws(s, p);
    if (*first) {
        *first = 0;
        if (AT(s, p) == ']')
            return p + 1;
    } else if (AT(s, p) == ']') {
        return p + 1;
    } else if (AT(s, p) == ',') {
        p = ws(s, p + 1);
    } else {
        return NULL;
    }
    *more = 1;
    return p;
}

static int key_is(const char *k, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(k, name, n) == 0;
}

/* Any JSON value, checked as jansson checks it; depth counts containers. */
static const char *value(struct sc *s, const char *p, int depth,
                         struct cs_scan_val *out)
{
    const char *start = p;
    int neg, more, first = 1;

    switch (AT(s, p)) {
    case '"':
        out->type = CS_SCAN_STRING;
        p = string(s, p, 0, NULL);
        break;
    case '{': {
        struct obj o;
        const char *k;
        size_t kn;
        struct cs_scan_val v;

        if (depth >= CS_SCAN_MAX_DEPTH)
            return NULL;
        out->type = CS_SCAN_OBJECT;
        p++;
        obj_init(&o);
        while ((p = obj_member(s, &o, p, &k, &kn)) && k)
            p = value(s, p, depth + 1, &v);
        break;
    }
    case '[': {
        struct cs_scan_val v;

        if (depth >= CS_SCAN_MAX_DEPTH)
            return NULL;
        out->type = CS_SCAN_ARRAY;
        p++;
        while ((p = arr_elem(s, &first, p, &more)) && more)
            p = value(s, p, depth + 1, &v);
        break;
    }
    case 't':
        out->type = CS_SCAN_TRUE;
        p = s->e - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
        break;
    case 'f':
        out->type = CS_SCAN_FALSE;
        p = s->e - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
        break;
    case 'n':
        out->type = CS_SCAN_NULL;
        p = s->e - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
        break;
    default:
        p = number(s, p, &out->type, &neg);
        break;
    }
    if (!p)
        return NULL;
    /* What follows a value is whitespace or punctuation, never more of a
     * token ("truex", "1x", "1true" are errors to jansson too). */
    switch (AT(s, p)) {
    case '\0': case ' ': case '\t': case '\n': case '\r': case ',':
    case '}': case ']':
        break;
    default:
        return NULL;
    }
    out->p = start;
    out->n = (size_t)(p - start);
    return p;
}

/* A value of a member that validation checks. The helpers below take it
 * as scanned and say whether it is what conv.c accepts. */

/* A string without escapes; the row takes its text as written. */
static const char *plain_string(struct sc *s, const char *p,
                                struct cs_scan_val *out)
{
    const char *q;

    if (AT(s, p) != '"')
        return NULL;
    q = string(s, p, 1, NULL);
    if (!q)
        return NULL;
    out->p = p;
    out->n = (size_t)(q - p);
    out->type = CS_SCAN_STRING;
    return q;
}

/* null, or a plain string (opt_string, opt_enum's operand). */
static const char *opt_plain(struct sc *s, const char *p,
                             struct cs_scan_val *out)
{
    if (AT(s, p) == 'n')
        return value(s, p, 0, out);
    return plain_string(s, p, out);
}

static int str_in(const struct cs_scan_val *v, const char *const *list)
{
    size_t n;
    const char *t = cs_scan_str(v, &n);

    for (; *list; list++) {
        if (key_is(t, n, *list))
            return 1;
    }
    return 0;
}

/* null or a string in `list` (opt_enum). */
static const char *opt_enum(struct sc *s, const char *p,
                            const char *const *list, struct cs_scan_val *out)
{
    p = opt_plain(s, p, out);
    if (p && out->type == CS_SCAN_STRING && !str_in(out, list))
        return NULL;
    return p;
}

/* null or any string (opt_string: only its type is checked). */
static const char *opt_any_string(struct sc *s, const char *p,
                                  struct cs_scan_val *out)
{
    p = value(s, p, 0, out);
    if (p && out->type != CS_SCAN_NULL && out->type != CS_SCAN_STRING)
        return NULL;
    return p;
}

/* A number >= 0 written without a sign, or null when `null_ok`
 * (opt_nonneg; "-0" is >= 0 too, but rare enough to leave to jansson). */
static const char *nonneg(struct sc *s, const char *p, int null_ok,
                          struct cs_scan_val *out)
{
    if (AT(s, p) == 'n' && null_ok)
        return value(s, p, 0, out);
    if (!is_digit(AT(s, p)))
        return NULL;
    return value(s, p, 0, out);
}

/* null or an integer in [lo, hi] written without a sign (opt_int_range);
 * as it has no leading zero, its text is what the row prints. */
static const char *opt_int(struct sc *s, const char *p, long lo, long hi,
                           struct cs_scan_val *out)
{
    int64_t v = 0;     /* at most 18 digits (number()) */

    if (AT(s, p) == 'n')
        return value(s, p, 0, out);
    if (!is_digit(AT(s, p)))
        return NULL;
    p = value(s, p, 0, out);
    if (!p || out->type != CS_SCAN_INT)
        return NULL;
    for (size_t i = 0; i < out->n; i++)
        v = v * 10 + (out->p[i] - '0');
    return v >= lo && v <= hi ? p : NULL;
}

/* null or a timestamp, with its microseconds in *us (opt_time); only in
 * the form the row copies as it came. */
static const char *opt_time(struct sc *s, const char *p,
                            struct cs_scan_val *out, int64_t *us)
{
    char tmp[64];
    const char *t;
    size_t n;

    p = opt_plain(s, p, out);
    if (!p || out->type == CS_SCAN_NULL)
        return p;
    t = cs_scan_str(out, &n);
    if (n >= sizeof(tmp))
        return NULL;
    memcpy(tmp, t, n);
    tmp[n] = '\0';
    if (cs_parse_rfc3339(tmp, us) != 0 || tmp[10] != 'T' || tmp[17] == '6')
        return NULL;
    return p;
}

static const char *const roles[] = {"agent", "customer", "system", NULL};
static const char *const channels[] = {"voice", "chat", "api", NULL};
static const char *const directions[] = {"inbound", "outbound", NULL};
static const char *const outcomes[] = {"answered", "no_answer", "busy",
                                       "failed", "abandoned", NULL};
static const char *const handoff_types[] = {"warm", "cold", NULL};
static const char *const creates_kinds[] = {"ticket", "crm_update",
                                            "appointment", NULL};
static const char *const cost_keys[] = {"telephony", "stt", "llm", "tts",
                                        "other", NULL};

/* Walks an array of objects (null allowed when `null_ok`): `fn` reads
 * each element's members, p just past its '{'. */
typedef const char *(*elem_fn)(struct sc *s, const char *p);

static const char *objects(struct sc *s, const char *p, int null_ok,
                           elem_fn fn, struct cs_scan_val *out)
{
    const char *start = p;
    int first = 1, more;

    if (AT(s, p) == 'n' && null_ok)
        return value(s, p, 0, out);
    if (AT(s, p) != '[')
        return NULL;
    p++;
    while ((p = arr_elem(s, &first, p, &more)) && more) {
        if (AT(s, p) != '{')
            return NULL;
        p = fn(s, p + 1);
    }
    if (!p)
        return NULL;
    out->p = start;
    out->n = (size_t)(p - start);
    out->type = CS_SCAN_ARRAY;
    return p;
}

/* The members of one element: the named ones checked, the others any
 * valid JSON. */
static const char *other(struct sc *s, const char *p)
{
    struct cs_scan_val v;

    return value(s, p, 1, &v);
}

static const char *turn(struct sc *s, const char *p)
{
    struct obj o;
    struct cs_scan_val role = {0}, text = {0}, st = {0}, en = {0};
    const char *k;
    size_t kn;
    double a, b;

    obj_init(&o);
    while ((p = obj_member(s, &o, p, &k, &kn)) && k) {
        if (key_is(k, kn, "role"))
            p = opt_enum(s, p, roles, &role);
        else if (key_is(k, kn, "text"))
            p = value(s, p, 1, &text);
        else if (key_is(k, kn, "start_s"))
            p = nonneg(s, p, 1, &st);
        else if (key_is(k, kn, "end_s"))
            p = nonneg(s, p, 1, &en);
        else
            p = other(s, p);
    }
    if (!p || role.type != CS_SCAN_STRING || text.type != CS_SCAN_STRING)
        return NULL;
    if ((st.type == CS_SCAN_INT || st.type == CS_SCAN_REAL) &&
        (en.type == CS_SCAN_INT || en.type == CS_SCAN_REAL)) {
        if (num_value(&st, &a) || num_value(&en, &b) || b < a)
            return NULL;
    }
    s->out->n_turns++;
    return p;
}

static const char *tool_call(struct sc *s, const char *p)
{
    struct obj o;
    struct cs_scan_val name = {0}, ok = {0}, v, creates = {0};
    const char *k;
    size_t kn;

    obj_init(&o);
    while ((p = obj_member(s, &o, p, &k, &kn)) && k) {
        if (key_is(k, kn, "name")) {
            p = value(s, p, 1, &name);
        } else if (key_is(k, kn, "ok")) {
            p = value(s, p, 1, &ok);
        } else if (key_is(k, kn, "latency_ms")) {
            p = nonneg(s, p, 1, &v);
        } else if (key_is(k, kn, "creates")) {
            p = opt_enum(s, p, creates_kinds, &creates);
        } else if (key_is(k, kn, "error")) {
            p = opt_any_string(s, p, &v);
        } else {
            p = other(s, p);
        }
    }
    if (!p || name.type != CS_SCAN_STRING ||
        (ok.type != CS_SCAN_TRUE && ok.type != CS_SCAN_FALSE))
        return NULL;
    s->out->tools_total++;
    if (ok.type == CS_SCAN_TRUE) {
        s->out->tools_ok++;
        if (creates.type == CS_SCAN_STRING) {
            for (int i = 0; i < 3; i++) {
                size_t n;
                const char *t = cs_scan_str(&creates, &n);

                if (key_is(t, n, creates_kinds[i]))
                    s->out->created[i]++;
            }
        }
    }
    return p;
}

static const char *span(struct sc *s, const char *p)
{
    struct obj o;
    struct cs_scan_span sp = {{0}, {0}, 0};
    struct cs_scan *out = s->out;
    const char *k;
    size_t kn;

    obj_init(&o);
    while ((p = obj_member(s, &o, p, &k, &kn)) && k) {
        if (key_is(k, kn, "name"))
            p = plain_string(s, p, &sp.name);
        else if (key_is(k, kn, "duration_ms"))
            p = nonneg(s, p, 0, &sp.ms);
        else
            p = other(s, p);
    }
    if (!p || sp.name.type != CS_SCAN_STRING || sp.ms.type == CS_SCAN_ABSENT)
        return NULL;
    if (sp.ms.type == CS_SCAN_REAL && num_value(&sp.ms, &sp.ms_value))
        return NULL;
    if (out->n_spans == out->spans_cap) {
        if (out->spans_cap == CS_SCAN_MAX_ITEMS)
            return NULL;
        out->spans_cap = out->spans_cap ? out->spans_cap * 2 : 16;
        out->spans = cs_xrealloc(out->spans, out->spans_cap *
                                 sizeof(*out->spans));
    }
    out->spans[out->n_spans++] = sp;
    return p;
}

static const char *metric(struct sc *s, const char *p)
{
    struct obj o;
    struct cs_scan_val name = {0}, val = {0};
    const char *k;
    size_t kn;

    obj_init(&o);
    while ((p = obj_member(s, &o, p, &k, &kn)) && k) {
        if (key_is(k, kn, "name"))
            p = value(s, p, 1, &name);
        else if (key_is(k, kn, "value"))
            p = value(s, p, 1, &val);
        else
            p = other(s, p);
    }
    if (!p || name.type != CS_SCAN_STRING)
        return NULL;
    switch (val.type) {
    case CS_SCAN_FALSE: case CS_SCAN_TRUE: case CS_SCAN_INT:
    case CS_SCAN_REAL: case CS_SCAN_STRING:
        return p;
    default:
        return NULL;
    }
}

static const char *handoff(struct sc *s, const char *p,
                           struct cs_scan_val *out)
{
    struct obj o;
    struct cs_scan_val v;
    const char *start = p, *k;
    size_t kn;

    if (AT(s, p) == 'n')
        return value(s, p, 0, out);
    if (AT(s, p) != '{')
        return NULL;
    p++;
    obj_init(&o);
    while ((p = obj_member(s, &o, p, &k, &kn)) && k) {
        if (key_is(k, kn, "type"))
            p = opt_enum(s, p, handoff_types, &v);
        else if (key_is(k, kn, "target") || key_is(k, kn, "reason"))
            p = opt_any_string(s, p, &v);
        else if (key_is(k, kn, "at_s"))
            p = nonneg(s, p, 1, &v);
        else
            p = other(s, p);
    }
    if (!p)
        return NULL;
    out->p = start;
    out->n = (size_t)(p - start);
    out->type = CS_SCAN_OBJECT;
    return p;
}

/* costs: null, or an object of the known components, each null or a
 * number >= 0, added up in their order as row.c's cost_total does. */
static const char *costs(struct sc *s, const char *p,
                         struct cs_scan_val *out)
{
    struct obj o;
    const char *start = p, *k;
    size_t kn;

    if (AT(s, p) == 'n')
        return value(s, p, 0, out);
    if (AT(s, p) != '{')
        return NULL;
    p++;
    obj_init(&o);
    while ((p = obj_member(s, &o, p, &k, &kn)) && k) {
        struct cs_scan_val v;
        double d = 0;
        int known = 0;

        for (const char *const *c = cost_keys; *c; c++)
            known |= key_is(k, kn, *c);
        if (!known)
            return NULL;
        p = nonneg(s, p, 1, &v);
        if (p && v.type != CS_SCAN_NULL && num_value(&v, &d))
            return NULL;
        s->out->cost_total += d;
    }
    if (!p)
        return NULL;
    out->p = start;
    out->n = (size_t)(p - start);
    out->type = CS_SCAN_OBJECT;
    return p;
}

static const char *topics(struct sc *s, const char *p,
                          struct cs_scan_val *out)
{
    struct cs_scan *sc = s->out;
    const char *start = p;
    int first = 1, more;

    if (AT(s, p) == 'n')
        return value(s, p, 0, out);
    if (AT(s, p) != '[')
        return NULL;
    p++;
    while ((p = arr_elem(s, &first, p, &more)) && more) {
        if (sc->n_topics == sc->topics_cap) {
            if (sc->topics_cap == CS_SCAN_MAX_ITEMS)
                return NULL;
            sc->topics_cap = sc->topics_cap ? sc->topics_cap * 2 : 16;
            sc->topics = cs_xrealloc(sc->topics, sc->topics_cap *
                                     sizeof(*sc->topics));
        }
        p = plain_string(s, p, &sc->topics[sc->n_topics]);
        sc->n_topics++;
    }
    if (!p)
        return NULL;
    out->p = start;
    out->n = (size_t)(p - start);
    out->type = CS_SCAN_ARRAY;
    return p;
}

static int nonempty_max(const struct cs_scan_val *v, size_t max)
{
    return v->n > 2 && v->n - 2 <= max;
}

void cs_scan_init(struct cs_scan *s)
{
    memset(s, 0, sizeof(*s));
}

void cs_scan_release(struct cs_scan *s)
{
    free(s->spans);
    free(s->topics);
    cs_scan_init(s);
}

static void reset(struct cs_scan *s)
{
    memset(s->v, 0, sizeof(s->v));
    s->n_turns = 0;
    s->tools_total = s->tools_ok = 0;
    s->created[0] = s->created[1] = s->created[2] = 0;
    s->cost_total = 0;
    s->n_spans = 0;
    s->n_topics = 0;
}

int cs_scan_line(struct cs_scan *out, const char *line, size_t len)
{
    struct sc s = {line + len, out};
    struct obj o;
    int64_t t_start = 0, t_ans = 0, t_end = 0;
    const char *p, *k;
    size_t kn;

    reset(out);
    p = ws(&s, line);
    if (AT(&s, p) != '{')
        return 1;
    p++;
    obj_init(&o);
    while ((p = obj_member(&s, &o, p, &k, &kn)) && k) {
        int f = cs_conv_field_find(k, kn);
        struct cs_scan_val *v;

        if (f < 0)
            return 1;   /* folded into metadata: the jansson path */
        v = &out->v[f];
        switch ((enum cs_conv_field)f) {
        case CS_CONV_ID:
            p = plain_string(&s, p, v);
            if (p && !nonempty_max(v, 256))
                return 1;
            break;
        case CS_CONV_TENANT:
            p = opt_plain(&s, p, v);
            if (p && v->type == CS_SCAN_STRING && !nonempty_max(v, 128))
                return 1;
            break;
        case CS_CONV_AGENT: case CS_CONV_CALLER: case CS_CONV_CALLEE:
            p = opt_plain(&s, p, v);
            break;
        case CS_CONV_CHANNEL:
            p = opt_enum(&s, p, channels, v);
            break;
        case CS_CONV_DIRECTION:
            p = opt_enum(&s, p, directions, v);
            break;
        case CS_CONV_OUTCOME:
            p = opt_enum(&s, p, outcomes, v);
            break;
        case CS_CONV_STARTED_AT:
            p = opt_time(&s, p, v, &t_start);
            break;
        case CS_CONV_ANSWERED_AT:
            p = opt_time(&s, p, v, &t_ans);
            break;
        case CS_CONV_ENDED_AT:
            p = opt_time(&s, p, v, &t_end);
            break;
        case CS_CONV_RING_S: case CS_CONV_QUEUE_WAIT_S:
            p = nonneg(&s, p, 1, v);
            break;
        case CS_CONV_SIP_ERROR_CODE:
            p = opt_int(&s, p, 100, 699, v);
            break;
        case CS_CONV_CSAT:
            p = opt_int(&s, p, 1, 5, v);
            break;
        case CS_CONV_NPS:
            p = opt_int(&s, p, 0, 10, v);
            break;
        case CS_CONV_HANDOFF:
            p = handoff(&s, p, v);
            break;
        case CS_CONV_TURNS:
            p = objects(&s, p, 0, turn, v);
            break;
        case CS_CONV_TOOL_CALLS:
            p = objects(&s, p, 1, tool_call, v);
            break;
        case CS_CONV_SPANS:
            p = objects(&s, p, 1, span, v);
            break;
        case CS_CONV_METRICS:
            p = objects(&s, p, 1, metric, v);
            break;
        case CS_CONV_COSTS:
            p = costs(&s, p, v);
            break;
        case CS_CONV_TOPICS:
            p = topics(&s, p, v);
            break;
        case CS_CONV_METADATA:
            p = value(&s, p, 0, v);
            if (p && v->type != CS_SCAN_OBJECT && v->type != CS_SCAN_NULL)
                return 1;
            break;
        case CS_CONV_N_FIELDS:
            return 1;
        }
    }
    if (!p || ws(&s, p) != s.e)
        return 1;
    if (out->v[CS_CONV_ID].type != CS_SCAN_STRING ||
        out->v[CS_CONV_STARTED_AT].type != CS_SCAN_STRING ||
        out->v[CS_CONV_TURNS].type != CS_SCAN_ARRAY)
        return 1;
    if (out->v[CS_CONV_ENDED_AT].type == CS_SCAN_STRING) {
        if (t_end < t_start)
            return 1;
        if (out->v[CS_CONV_ANSWERED_AT].type == CS_SCAN_STRING &&
            t_end < t_ans)
            return 1;
    }
    if (out->v[CS_CONV_ANSWERED_AT].type == CS_SCAN_STRING &&
        t_ans < t_start)
        return 1;
    return 0;
}
