/* fmt.c - numbers as text: the shortest double that reads back exactly */
#include "base/fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

/* Drops the '+' and leading zeros of an exponent, as jansson (and
 * JavaScript) write it: "1e+21" -> "1e21", "1e-05" -> "1e-5". */
static size_t trim_exponent(char *s, size_t len)
{
    char *e = strchr(s, 'e'), *from;

    if (!e)
        return len;
    e++;
    from = e;
    if (*from == '+')
        from++;
    else if (*from == '-')
        e = ++from;
    while (from[0] == '0' && from[1])
        from++;
    memmove(e, from, strlen(from) + 1);
    return strlen(s);
}

size_t cs_fmt_double_shortest(char out[CS_FMT_DOUBLE_SIZE], double v)
{
    char e[CS_FMT_DOUBLE_SIZE];
    int p, x;

    if (isnan(v))
        return (size_t)snprintf(out, CS_FMT_DOUBLE_SIZE, "nan");
    if (isinf(v))
        return (size_t)snprintf(out, CS_FMT_DOUBLE_SIZE, v < 0 ? "-inf"
                                                              : "inf");
    /* %.17e always reads back; stop at the first precision that does. */
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", p - 1, v);
    x = (int)strtol(strchr(e, 'e') + 1, NULL, 10);
    /* The notation %.17g picks: fixed unless the exponent is < -4 or
     * >= 17, with just the digits needed. */
    if (x >= -4 && x < 17)
        snprintf(out, CS_FMT_DOUBLE_SIZE, "%.*f",
                 p - 1 - x > 0 ? p - 1 - x : 0, v);
    else
        snprintf(out, CS_FMT_DOUBLE_SIZE, "%s", e);
    return trim_exponent(out, strlen(out));
}

/* A JSON string literal as jansson's dump_string writes it. */
static void add_string(struct cs_buf *out, const char *s, size_t len,
                       size_t flags)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;

    cs_buf_addch(out, '"');
    while (p < end) {
        uint32_t cp = *p;
        size_t n = 1;

        /* jansson holds valid UTF-8 only; decode the sequence. */
        if (cp >= 0xf0 && end - p >= 4) {
            cp = ((cp & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) |
                 ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
            n = 4;
        } else if (cp >= 0xe0 && end - p >= 3) {
            cp = ((cp & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) |
                 (p[2] & 0x3fu);
            n = 3;
        } else if (cp >= 0xc0 && end - p >= 2) {
            cp = ((cp & 0x1fu) << 6) | (p[1] & 0x3fu);
            n = 2;
        }
        switch (cp) {
        case '\\':
            cs_buf_adds(out, "\\\\");
            break;
        case '"':
            cs_buf_adds(out, "\\\"");
            break;
        case '\b':
            cs_buf_adds(out, "\\b");
            break;
        case '\f':
            cs_buf_adds(out, "\\f");
            break;
        case '\n':
            cs_buf_adds(out, "\\n");
            break;
        case '\r':
            cs_buf_adds(out, "\\r");
            break;
        case '\t':
            cs_buf_adds(out, "\\t");
            break;
        default:
            if (cp == '/' && (flags & JSON_ESCAPE_SLASH)) {
                cs_buf_adds(out, "\\/");
            } else if (cp < 0x20 || (cp > 0x7f &&
                                     (flags & JSON_ENSURE_ASCII))) {
                if (cp < 0x10000) {
                    cs_buf_addf(out, "\\u%04X", (unsigned)cp);
                } else {
                    cp -= 0x10000;
                    cs_buf_addf(out, "\\u%04X\\u%04X",
                                (unsigned)(0xd800 | ((cp & 0xffc00) >> 10)),
                                (unsigned)(0xdc00 | (cp & 0x3ff)));
                }
            } else {
                cs_buf_add(out, p, n);
            }
        }
        p += n;
    }
    cs_buf_addch(out, '"');
}

/* jansson's dump_indent: a new line at `depth` with JSON_INDENT, else a
 * space between items unless JSON_COMPACT. */
static void add_indent(struct cs_buf *out, size_t flags, int depth,
                       int space)
{
    size_t indent = flags & JSON_MAX_INDENT;

    if (indent > 0) {
        cs_buf_addch(out, '\n');
        for (size_t i = 0; i < indent * (size_t)depth; i++)
            cs_buf_addch(out, ' ');
    } else if (space && !(flags & JSON_COMPACT)) {
        cs_buf_addch(out, ' ');
    }
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void add_value(struct cs_buf *out, const json_t *j, size_t flags,
                      int depth)
{
    char num[CS_FMT_DOUBLE_SIZE + 2];
    size_t n;

    switch (json_typeof(j)) {
    case JSON_NULL:
        cs_buf_adds(out, "null");
        break;
    case JSON_TRUE:
        cs_buf_adds(out, "true");
        break;
    case JSON_FALSE:
        cs_buf_adds(out, "false");
        break;
    case JSON_INTEGER:
        cs_buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        break;
    case JSON_REAL:
        n = cs_fmt_double_shortest(num, json_real_value(j));
        /* Keep a real a real when it is read back. */
        if (!strchr(num, '.') && !strchr(num, 'e'))
            memcpy(num + n, ".0", 3);
        cs_buf_adds(out, num);
        break;
    case JSON_STRING:
        add_string(out, json_string_value(j), json_string_length(j), flags);
        break;
    case JSON_ARRAY:
        n = json_array_size(j);
        cs_buf_addch(out, '[');
        if (n)
            add_indent(out, flags, depth + 1, 0);
        for (size_t i = 0; i < n; i++) {
            add_value(out, json_array_get(j, i), flags, depth + 1);
            if (i + 1 < n) {
                cs_buf_addch(out, ',');
                add_indent(out, flags, depth + 1, 1);
            } else {
                add_indent(out, flags, depth, 0);
            }
        }
        cs_buf_addch(out, ']');
        break;
    case JSON_OBJECT: {
        const char **keys;
        const char *k;
        json_t *v;
        size_t i = 0;

        n = json_object_size(j);
        cs_buf_addch(out, '{');
        if (!n) {
            cs_buf_addch(out, '}');
            break;
        }
        keys = cs_xcalloc(n, sizeof(*keys));
        json_object_foreach((json_t *)j, k, v) {
            keys[i++] = k;
        }
        if (flags & JSON_SORT_KEYS)
            qsort(keys, n, sizeof(*keys), cmp_keys);
        add_indent(out, flags, depth + 1, 0);
        for (i = 0; i < n; i++) {
            add_string(out, keys[i], strlen(keys[i]), flags);
            cs_buf_adds(out, flags & JSON_COMPACT ? ":" : ": ");
            add_value(out, json_object_get(j, keys[i]), flags, depth + 1);
            if (i + 1 < n) {
                cs_buf_addch(out, ',');
                add_indent(out, flags, depth + 1, 1);
            } else {
                add_indent(out, flags, depth, 0);
            }
        }
        cs_buf_addch(out, '}');
        free(keys);
        break;
    }
    }
}

void cs_fmt_json(struct cs_buf *out, const json_t *json, size_t flags)
{
    add_value(out, json, flags, 0);
}

int cs_fmt_json_dumpf(const json_t *json, FILE *out, size_t flags)
{
    struct cs_buf b = CS_BUF_INIT;
    int ret = 0;

    cs_fmt_json(&b, json, flags);
    if (fwrite(b.ptr, 1, b.len, out) != b.len)
        ret = CS_EIO;
    cs_buf_release(&b);
    return ret;
}
