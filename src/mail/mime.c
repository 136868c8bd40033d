/* mime.c - the bytes of a message: headers, multipart body, encodings */
#include "mail/mime.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/addr.h"
#include "base/hash.h"

#define LINE_MAX_QP 76

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of `n` bytes on one line, no line breaks. */
static void base64_raw(struct cs_buf *out, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        char q[4];

        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = b64[(v >> 18) & 63];
        q[1] = b64[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? b64[v & 63] : '=';
        cs_buf_add(out, q, 4);
    }
}

void cs_mime_base64(struct cs_buf *out, const void *data, size_t n)
{
    const unsigned char *p = data;

    /* 57 bytes give one line of 76 characters. */
    cs_buf_grow(out, cs_mime_base64_size(n));
    for (size_t i = 0; i < n; i += 57) {
        base64_raw(out, p + i, n - i < 57 ? n - i : 57);
        cs_buf_add(out, "\r\n", 2);
    }
}

size_t cs_mime_base64_size(size_t n)
{
    size_t lines = (n + 56) / 57;

    return (n + 2) / 3 * 4 + 2 * lines;
}

void cs_mime_qp(struct cs_buf *out, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)text;
    size_t col = 0;

    while (*s) {
        char enc[4];
        size_t w;
        int last;

        if (*s == '\r' && s[1] == '\n')
            s++;
        if (*s == '\n') {
            cs_buf_add(out, "\r\n", 2);
            col = 0;
            s++;
            continue;
        }
        /* White space before a line end (or the end) must be encoded, as
         * must '=' and everything outside printable ASCII; a '.' or 'F'
         * opening a line too, for the MTAs that mangle ".\r\n" and
         * "From ". */
        last = s[1] == '\0' || s[1] == '\n' || (s[1] == '\r' && s[2] == '\n');
        if ((*s >= 33 && *s <= 126 && *s != '=' &&
             !(col == 0 && (*s == '.' || *s == 'F'))) ||
            ((*s == ' ' || *s == '\t') && !last)) {
            enc[0] = (char)*s;
            w = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[*s >> 4];
            enc[2] = hex[*s & 15];
            w = 3;
        }
        /* A soft break ("=") keeps each line within 76 characters. */
        if (col + w > LINE_MAX_QP - 1 && !(last && col + w <= LINE_MAX_QP)) {
            cs_buf_add(out, "=\r\n", 3);
            col = 0;
            if (w == 1 && (*s == '.' || *s == 'F')) {
                enc[0] = '=';
                enc[1] = hex[*s >> 4];
                enc[2] = hex[*s & 15];
                w = 3;
            }
        }
        cs_buf_add(out, enc, w);
        col += w;
        s++;
    }
}

/* 0 for a value without control characters (a tab is allowed). */
static int check_value(const char *name, const char *v, struct cs_err *err)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '\r' || *p == '\n')
            return cs_err_set(err, CS_EINVALID, "header '%s' would contain "
                              "a line break: refused", name);
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return cs_err_set(err, CS_EINVALID, "header '%s' would contain "
                              "control character 0x%02x: refused", name, *p);
    }
    return 0;
}

static int plain_ascii(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 0x20 || *p > 0x7e)
            return 0;
    }
    return strstr(v, "=?") == NULL;
}

/*
 * Appends `v` as encoded words, the first within `first` columns, the
 * others on continuation lines (CRLF SP), each at most 75 characters and
 * never splitting a UTF-8 character.
 */
static void encoded_words(struct cs_buf *out, const char *v, size_t first)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t n = strlen(v), i = 0, budget = first;

    while (i < n || i == 0) {
        size_t room = budget > 12 ? (budget - 12) / 4 * 3 : 3;
        size_t take = n - i < room ? n - i : room;

        /* Back off to the start of a UTF-8 character. */
        while (take > 0 && i + take < n && (s[i + take] & 0xc0) == 0x80)
            take--;
        if (take == 0 && i < n) {
            take = 1;
            while (i + take < n && (s[i + take] & 0xc0) == 0x80)
                take++;
        }
        if (i)
            cs_buf_add(out, "\r\n ", 3);
        cs_buf_adds(out, "=?UTF-8?B?");
        base64_raw(out, s + i, take);
        cs_buf_adds(out, "?=");
        i += take;
        budget = 75;
        if (n == 0)
            break;
    }
}

/* Folds plain ASCII at spaces so lines stay near 78 characters. */
static void folded(struct cs_buf *out, const char *v, size_t col)
{
    const char *p = v;

    while (*p) {
        size_t w = strcspn(p + 1, " ") + 1;

        if (col + w > 78 && p != v && *p == ' ') {
            cs_buf_add(out, "\r\n", 2);
            col = 0;
        }
        cs_buf_add(out, p, w);
        col += w;
        p += w;
    }
}

int cs_mime_header(struct cs_buf *out, const char *name, const char *value,
                   struct cs_err *err)
{
    size_t col = strlen(name) + 2;
    int ret = check_value(name, value, err);

    if (ret)
        return ret;
    cs_buf_addf(out, "%s: ", name);
    if (plain_ascii(value))
        folded(out, value, col);
    else
        encoded_words(out, value, col < 70 ? 76 - col : 12);
    cs_buf_add(out, "\r\n", 2);
    return 0;
}

/* A display name as a phrase: as it is, quoted, or encoded words. */
static void phrase(struct cs_buf *out, const char *name, size_t col)
{
    if (!plain_ascii(name)) {
        encoded_words(out, name, col < 70 ? 76 - col : 12);
        return;
    }
    if (strpbrk(name, "()<>[]:;@\\,.\"")) {
        cs_buf_addch(out, '"');
        for (const char *p = name; *p; p++) {
            if (*p == '"' || *p == '\\')
                cs_buf_addch(out, '\\');
            cs_buf_addch(out, *p);
        }
        cs_buf_addch(out, '"');
        return;
    }
    cs_buf_adds(out, name);
}

int cs_mime_address_header(struct cs_buf *out, const char *name,
                           const char *addr, struct cs_err *err)
{
    struct cs_err why = {0, ""};
    struct cs_addr a;
    int ret = check_value(name, addr, err);

    if (ret)
        return ret;
    if (cs_addr_parse(&a, addr, &why))
        return cs_err_set(err, CS_EINVALID, "header '%s': %s", name,
                          why.msg);
    cs_buf_addf(out, "%s: ", name);
    if (a.name[0]) {
        phrase(out, a.name, strlen(name) + 2);
        cs_buf_addf(out, " <%s>\r\n", a.spec);
    } else {
        cs_buf_addf(out, "%s\r\n", a.spec);
    }
    return 0;
}

void cs_mime_date(char out[40], time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    /* %a and %b are locale-dependent; RFC 5322 wants the English ones. */
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu",
                                       "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May",
                                         "Jun", "Jul", "Aug", "Sep", "Oct",
                                         "Nov", "Dec"};
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void cs_mime_message_id(struct cs_buf *out, const char *const *parts,
                        const char *domain)
{
    struct cs_sha256 c;
    unsigned char d[32];

    cs_sha256_init(&c);
    for (const char *const *p = parts; *p; p++)
        cs_sha256_update(&c, *p, strlen(*p) + 1);
    cs_sha256_final(&c, d);
    cs_buf_adds(out, "<");
    for (int i = 0; i < 16; i++)
        cs_buf_addf(out, "%02x", d[i]);
    cs_buf_addf(out, ".callscope@%s>", *domain ? domain : "localhost");
}

const char *cs_mime_type_for(const char *path)
{
    static const char *const types[][2] = {
        {".pdf", "application/pdf"},
        {".xlsx", "application/vnd.openxmlformats-officedocument."
                  "spreadsheetml.sheet"},
        {".csv", "text/csv"},
        {".json", "application/json"},
        {".txt", "text/plain"},
    };
    size_t n = strlen(path);

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t e = strlen(types[i][0]);

        if (n > e && strcasecmp(path + n - e, types[i][0]) == 0)
            return types[i][1];
    }
    return "application/octet-stream";
}

/* A boundary that cannot occur in the parts: "=_" never appears in
 * quoted-printable or base64 text. */
static void boundary(char out[48], const char *message_id, const char *what)
{
    char h[17];
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addf(&b, "%s/%s", what, message_id);
    cs_sha256_hex(b.ptr, b.len, h, 16);
    cs_buf_release(&b);
    snprintf(out, 48, "=_cs_%s_%s", what, h);
}

static void text_part(struct cs_buf *out, const char *type, const char *body)
{
    cs_buf_addf(out, "Content-Type: %s; charset=UTF-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n", type);
    cs_mime_qp(out, body);
    if (out->len < 2 || memcmp(out->ptr + out->len - 2, "\r\n", 2) != 0)
        cs_buf_add(out, "\r\n", 2);
}

int cs_mime_build(struct cs_buf *out, const struct cs_mime_msg *m,
                  struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;
    char date[40], mixed[48], alt[48];
    int ret;

    cs_mime_date(date, m->date);
    ret = cs_mime_address_header(&b, "From", m->from, err);
    if (!ret)
        ret = cs_mime_address_header(&b, "To", m->to, err);
    if (!ret)
        ret = cs_mime_header(&b, "Subject", m->subject, err);
    if (!ret)
        ret = cs_mime_header(&b, "Message-ID", m->message_id, err);
    for (size_t i = 0; !ret && i < m->n_att; i++) {
        ret = check_value("Content-Disposition", m->att[i].filename, err);
        if (!ret && strpbrk(m->att[i].filename, "\"\\"))
            ret = cs_err_set(err, CS_EINVALID, "attachment name '%s' holds a"
                             " quote or backslash: refused",
                             m->att[i].filename);
    }
    if (ret) {
        cs_buf_release(&b);
        return ret;
    }
    boundary(mixed, m->message_id, "mixed");
    boundary(alt, m->message_id, "alt");
    cs_buf_addf(&b, "Date: %s\r\n", date);
    /* RFC 3834: automatic mail, so autoresponders stay quiet. */
    cs_buf_adds(&b, "Auto-Submitted: auto-generated\r\n"
                "MIME-Version: 1.0\r\n");
    cs_buf_addf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                "This is a MIME message.\r\n", mixed);
    cs_buf_addf(&b, "--%s\r\n", mixed);
    if (m->html) {
        cs_buf_addf(&b, "Content-Type: multipart/alternative; "
                    "boundary=\"%s\"\r\n\r\n", alt);
        cs_buf_addf(&b, "--%s\r\n", alt);
        text_part(&b, "text/plain", m->text);
        cs_buf_addf(&b, "--%s\r\n", alt);
        text_part(&b, "text/html", m->html);
        cs_buf_addf(&b, "--%s--\r\n", alt);
    } else {
        text_part(&b, "text/plain", m->text);
    }
    for (size_t i = 0; i < m->n_att; i++) {
        const struct cs_mime_attachment *a = &m->att[i];

        cs_buf_addf(&b, "--%s\r\n", mixed);
        cs_buf_addf(&b, "Content-Type: %s; name=\"%s\"\r\n"
                    "Content-Disposition: attachment; filename=\"%s\"\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n", a->type,
                    a->filename, a->filename);
        cs_mime_base64(&b, a->data, a->len);
    }
    cs_buf_addf(&b, "--%s--\r\n", mixed);
    cs_buf_add(out, b.ptr, b.len);
    cs_buf_release(&b);
    return 0;
}
