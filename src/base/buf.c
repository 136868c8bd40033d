/* buf.c - growable string builder with an optional size cap */
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

char cs_buf_empty[1];

void cs_buf_init(struct cs_buf *b)
{
    b->ptr = cs_buf_empty;
    b->len = 0;
    b->cap = 0;
    b->max = 0;
}

void cs_buf_init_max(struct cs_buf *b, size_t max)
{
    cs_buf_init(b);
    b->max = max;
}

void cs_buf_release(struct cs_buf *b)
{
    size_t max = b->max;

    if (b->cap)
        free(b->ptr);
    cs_buf_init(b);
    b->max = max;
}

void cs_buf_reset(struct cs_buf *b)
{
    b->len = 0;
    if (b->cap)
        b->ptr[0] = '\0';
}

int cs_buf_grow(struct cs_buf *b, size_t extra)
{
    size_t want;

    if (b->max && b->len + extra > b->max)
        return CS_ETOOBIG;
    want = b->len + extra + 1;
    if (want <= b->cap)
        return 0;
    if (want < b->cap * 2)
        want = b->cap * 2;
    if (want < 64)
        want = 64;
    if (b->cap) {
        b->ptr = cs_xrealloc(b->ptr, want);
    } else {
        b->ptr = cs_xmalloc(want);
        b->ptr[0] = '\0';
    }
    b->cap = want;
    return 0;
}

int cs_buf_add(struct cs_buf *b, const void *data, size_t len)
{
    if (cs_buf_grow(b, len) < 0)
        return CS_ETOOBIG;
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int cs_buf_adds(struct cs_buf *b, const char *s)
{
    return cs_buf_add(b, s, strlen(s));
}

int cs_buf_addch(struct cs_buf *b, char c)
{
    return cs_buf_add(b, &c, 1);
}

int cs_buf_vaddf(struct cs_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    int n;

    /* Format straight into the spare room; only a too-small buffer
     * costs a second pass. */
    va_copy(cp, ap);
    n = vsnprintf(room ? b->ptr + b->len : NULL, room, fmt, cp);
    va_end(cp);
    if (n < 0)
        return CS_ERROR;
    if ((size_t)n < room && !(b->max && b->len + (size_t)n > b->max)) {
        b->len += (size_t)n;
        return 0;
    }
    if (room)
        b->ptr[b->len] = '\0';
    if (cs_buf_grow(b, (size_t)n) < 0)
        return CS_ETOOBIG;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cs_buf_addf(struct cs_buf *b, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = cs_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return ret;
}

char *cs_buf_detach(struct cs_buf *b, size_t *len_out)
{
    char *s;

    if (!b->cap)
        cs_buf_grow(b, 0);
    s = b->ptr;
    if (len_out)
        *len_out = b->len;
    b->ptr = cs_buf_empty;
    b->len = 0;
    b->cap = 0;
    return s;
}

/* Length of the UTF-8 sequence at s (of n bytes), or 0 when it is not a
 * valid one (overlong forms, surrogates and values past U+10FFFF too). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t k;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        k = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        k = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        k = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

void cs_buf_add_excerpt(struct cs_buf *b, const char *s, size_t len,
                        size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, used = 0;

    while (i < len) {
        size_t k = utf8_len(p + i, len - i), n = k;
        const char *out = s + i;
        char esc[8];

        if (k == 0 || p[i] < 0x20 || p[i] == 0x7f) {
            if (p[i] == '\n')
                snprintf(esc, sizeof(esc), "\\n");
            else if (p[i] == '\r')
                snprintf(esc, sizeof(esc), "\\r");
            else if (p[i] == '\t')
                snprintf(esc, sizeof(esc), "\\t");
            else
                snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
            out = esc;
            n = strlen(esc);
            k = 1;
        }
        if (used + n > max) {
            cs_buf_adds(b, "\xe2\x80\xa6");
            return;
        }
        cs_buf_add(b, out, n);
        used += n;
        i += k;
    }
}
