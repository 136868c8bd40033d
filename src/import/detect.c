/* detect.c - formats by shape, envelopes and signatures, documents split */
#include "import/import.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/hash.h"
#include "base/mem.h"
#include "base/parse.h"
#include "import/field.h"

static const char *const names[CS_IMPORT_N_FORMATS] = {
    [CS_IMPORT_AUTO] = "auto", [CS_IMPORT_CANONICAL] = "canonical",
    [CS_IMPORT_VAPI] = "vapi", [CS_IMPORT_RETELL] = "retell",
    [CS_IMPORT_POLYAI] = "polyai", [CS_IMPORT_LIVEKIT] = "livekit"};

const char *cs_import_format_name(enum cs_import_format f)
{
    return (unsigned)f < CS_IMPORT_N_FORMATS ? names[f] : "?";
}

int cs_import_format_parse(const char *s)
{
    for (int f = CS_IMPORT_VAPI; f < CS_IMPORT_N_FORMATS; f++) {
        if (s && strcmp(s, names[f]) == 0)
            return f;
    }
    return -1;
}

static int has(const json_t *o, const char *k)
{
    const json_t *j = json_object_get(o, k);

    return j && !json_is_null(j);
}

enum cs_import_format cs_import_detect(const json_t *p)
{
    const json_t *j;
    const char *t;

    if (json_is_array(p))
        return json_array_size(p) ? cs_import_detect(json_array_get(p, 0))
                                  : CS_IMPORT_AUTO;
    if (!json_is_object(p))
        return CS_IMPORT_AUTO;
    /* An envelope of headers and body: the body's shape. */
    j = json_object_get(p, "body");
    if (has(p, "headers") && j) {
        json_t *b = json_is_string(j) ? json_loads(json_string_value(j), 0,
                                                   NULL)
                                      : json_incref((json_t *)j);
        enum cs_import_format f = cs_import_detect(b);

        json_decref(b);
        return f;
    }
    if (has(p, "started_at") && has(p, "id"))
        return CS_IMPORT_CANONICAL;
    if (json_is_object(json_object_get(p, "message")) &&
        has(json_object_get(p, "message"), "type"))
        return CS_IMPORT_VAPI;
    if (json_is_object(json_object_get(p, "call")) &&
        has(json_object_get(p, "call"), "call_id"))
        return CS_IMPORT_RETELL;
    if (has(p, "call_id") && (has(p, "agent_id") || has(p, "call_type")))
        return CS_IMPORT_RETELL;
    if (has(p, "conversationId") || json_is_array(json_object_get(
                                        p, "conversations")))
        return CS_IMPORT_POLYAI;
    j = json_object_get(p, "turns");
    if (json_is_array(j) && json_array_size(j) &&
        (has(json_array_get(j, 0), "user_input") ||
         has(json_array_get(j, 0), "agent_response")))
        return CS_IMPORT_POLYAI;
    t = json_string_value(json_object_get(p, "event"));
    if (t && !has(p, "call") &&
        (has(p, "room") || has(p, "participant") || has(p, "egressInfo") ||
         has(p, "ingressInfo") || has(p, "job")))
        return CS_IMPORT_LIVEKIT;
    t = json_string_value(json_object_get(p, "type"));
    /* A bare Vapi message (of any type, about a call of an org), or a
     * Vapi Call of the API. */
    if (t && (strcmp(t, "end-of-call-report") == 0 ||
              strcmp(t, "status-update") == 0 ||
              has(p, "endedReason") || has(p, "orgId") ||
              has(json_object_get(p, "call"), "orgId")))
        return CS_IMPORT_VAPI;
    return CS_IMPORT_AUTO;
}

int cs_import_payload(json_t **record, const char **skipped,
                      enum cs_import_format f, const json_t *payload,
                      const struct cs_import_opts *o, struct cs_err *err)
{
    *record = NULL;
    *skipped = NULL;
    switch (f) {
    case CS_IMPORT_VAPI:
        return cs_import_vapi(record, skipped, payload, o, err);
    case CS_IMPORT_RETELL:
        return cs_import_retell(record, skipped, payload, o, err);
    case CS_IMPORT_POLYAI:
        return cs_import_polyai(record, skipped, payload, o, err);
    default:
        return cs_err_set(err, CS_EINVALID, "no single-payload converter "
                          "for '%s'", cs_import_format_name(f));
    }
}

int cs_import_retell_verify(const char *sig, const char *body, size_t len,
                            const char *key, int64_t now_ms,
                            struct cs_err *err)
{
    const char *p = sig, *d;
    unsigned char mac[32];
    struct cs_hmac_sha256 h;
    char hex[65], stamp[24];
    int64_t v = 0, diff;
    size_t nd = 0;

    /* v=<digits>,d=<64 lower-case hex>, nothing else (as Retell's SDKs
     * match it). */
    if (strncmp(p, "v=", 2) != 0)
        return cs_err_set(err, CS_EINVALID, "malformed X-Retell-Signature "
                          "(expected v=<ms>,d=<hex>)");
    for (p += 2; isdigit((unsigned char)*p) && nd < 18; p++, nd++)
        v = v * 10 + (*p - '0');
    if (nd == 0 || strncmp(p, ",d=", 3) != 0)
        return cs_err_set(err, CS_EINVALID, "malformed X-Retell-Signature "
                          "(expected v=<ms>,d=<hex>)");
    d = p + 3;
    if (strlen(d) != 64 || strspn(d, "0123456789abcdef") != 64)
        return cs_err_set(err, CS_EINVALID, "malformed X-Retell-Signature "
                          "(the digest is not 64 hex digits)");
    snprintf(stamp, sizeof(stamp), "%lld", (long long)v);
    cs_hmac_sha256_init(&h, key, strlen(key));
    cs_hmac_sha256_update(&h, body, len);
    cs_hmac_sha256_update(&h, stamp, strlen(stamp));
    cs_hmac_sha256_final(&h, mac);
    cs_hash_hex(mac, 32, hex);
    if (!cs_hash_equal(hex, d, 64))
        return cs_err_set(err, CS_EINVALID, "bad X-Retell-Signature (the "
                          "body does not match it)");
    diff = now_ms - v;
    if (diff < 0)
        diff = -diff;
    if (diff > 5 * 60 * 1000)
        return cs_err_set(err, CS_EINVALID, "stale X-Retell-Signature: "
                          "signed %lld s away from the receipt time (at "
                          "most 300 s)", (long long)(diff / 1000));
    return 0;
}

/* A header by name, any case; a list of one value is accepted too. */
static const char *header(const json_t *headers, const char *name)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)headers, k, v) {
        if (strcasecmp(k, name) != 0)
            continue;
        if (json_is_array(v))
            v = json_array_get(v, 0);
        return json_string_value(v);
    }
    return NULL;
}

/* received_at (RFC 3339 or epoch ms), else the options, else the clock. */
static int receipt_ms(int64_t *out, const json_t *doc,
                      const struct cs_import_opts *o, struct cs_err *err)
{
    const json_t *r = json_object_get(doc, "received_at");
    struct timespec ts;
    int64_t us;

    if (json_is_integer(r)) {
        *out = (int64_t)json_integer_value(r);
        return 0;
    }
    if (json_is_string(r)) {
        if (cs_parse_rfc3339(json_string_value(r), &us) < 0)
            return cs_err_set(err, CS_EINVALID, "field 'received_at': "
                              "'%.40s' is not an RFC 3339 timestamp",
                              json_string_value(r));
        *out = us / 1000;
        return 0;
    }
    if (o && o->now_ms) {
        *out = o->now_ms;
        return 0;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    *out = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return 0;
}

int cs_import_unwrap(json_t **payload, int *signed_out, const json_t *doc,
                     const struct cs_import_opts *o, struct cs_err *err)
{
    const json_t *headers = json_object_get(doc, "headers");
    const json_t *body = json_object_get(doc, "body");
    const char *sig;
    json_error_t jerr;
    int64_t now = 0;
    int ret;

    *payload = NULL;
    if (signed_out)
        *signed_out = 0;
    if (!json_is_object(doc) || !headers || !body) {
        *payload = json_incref((json_t *)doc);
        return 0;
    }
    if (!json_is_object(headers))
        return cs_err_set(err, CS_EINVALID, "field 'headers': expected an "
                          "object, got %s", cs_conv_json_type(headers));
    sig = header(headers, "X-Retell-Signature");
    if (sig && o && o->retell_key && *o->retell_key) {
        if (!json_is_string(body))
            return cs_err_set(err, CS_EINVALID, "field 'body': the signature "
                              "covers the raw body, expected a string, got "
                              "%s", cs_conv_json_type(body));
        ret = receipt_ms(&now, doc, o, err);
        if (ret)
            return ret;
        ret = cs_import_retell_verify(sig, json_string_value(body),
                                      json_string_length(body),
                                      o->retell_key, now, err);
        if (ret)
            return ret;
        if (signed_out)
            *signed_out = 1;
    } else if (sig && signed_out) {
        *signed_out = -1;
    }
    if (!json_is_string(body)) {
        *payload = json_incref((json_t *)body);
        return 0;
    }
    *payload = json_loadb(json_string_value(body), json_string_length(body),
                          0, &jerr);
    if (!*payload) {
        struct cs_buf why = CS_BUF_INIT;

        ret = cs_err_set(err, CS_EINVALID, "field 'body': invalid JSON "
                         "at column %d: %s", jerr.column,
                         cs_import_json_why(&why, &jerr));

        cs_buf_release(&why);
        return ret;
    }
    return 0;
}

/* Skips a JSON string; p at its opening quote, returns past the close. */
static const char *skip_string(const char *p, const char *e)
{
    for (p++; p < e && *p != '"'; p++) {
        if (*p == '\\')
            p++;
    }
    return p < e ? p + 1 : e;
}

/* The end of the value starting at p (a light scan: the parse that
 * follows says whether it is valid). */
static const char *skip_value(const char *p, const char *e)
{
    int depth = 0;

    while (p < e) {
        if (*p == '"') {
            p = skip_string(p, e);
            if (depth == 0)
                return p;
            continue;
        }
        if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (*p == ',' || *p == ' ' || *p == '\n' ||
                                  *p == '\t' || *p == '\r')) {
            return p;
        }
        p++;
    }
    return e;
}

static const char *skip_ws(const char *p, const char *e, long *line)
{
    for (; p < e && strchr(" \t\r\n", *p) && *p; p++) {
        if (*p == '\n')
            (*line)++;
    }
    return p;
}

static long lines_in(const char *p, const char *e)
{
    long n = 0;

    for (; p < e; p++)
        n += *p == '\n';
    return n;
}

static int one_piece(const char *raw, size_t len, long line,
                     cs_import_piece_fn fn, void *ctx)
{
    struct cs_import_piece piece;
    json_error_t jerr;
    char msg[200];
    int ret;

    memset(&piece, 0, sizeof(piece));
    piece.line = line;
    piece.raw = raw;
    piece.raw_len = len;
    if (memchr(raw, '\0', len)) {
        snprintf(msg, sizeof(msg), "NUL byte at column %zu",
                 (size_t)((const char *)memchr(raw, '\0', len) - raw) + 1);
        piece.error = msg;
        return fn(ctx, &piece);
    }
    piece.json = json_loadb(raw, len, 0, &jerr);
    if (!piece.json) {
        struct cs_buf why = CS_BUF_INIT;

        snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s",
                 jerr.line, jerr.column, cs_import_json_why(&why, &jerr));
        cs_buf_release(&why);
        piece.error = msg;
    }
    ret = fn(ctx, &piece);
    json_decref(piece.json);
    return ret;
}

/* The elements of a PolyAI page, each a payload of its own. */
static int page(const struct cs_import_piece *whole, cs_import_piece_fn fn,
                void *ctx)
{
    const json_t *list = json_object_get(whole->json, "conversations");
    struct cs_import_piece piece;
    struct cs_buf raw = CS_BUF_INIT;
    size_t i;
    json_t *c;
    int ret = 0;

    json_array_foreach(list, i, c) {
        memset(&piece, 0, sizeof(piece));
        piece.line = whole->line;
        piece.json = c;
        cs_buf_reset(&raw);
        cs_fmt_json(&raw, c, JSON_COMPACT);
        piece.raw = raw.ptr;
        piece.raw_len = raw.len;
        ret = fn(ctx, &piece);
        if (ret < 0)
            break;
    }
    cs_buf_release(&raw);
    return ret < 0 ? ret : 0;
}

struct page_ctx {
    cs_import_piece_fn fn;
    void *ctx;
};

/* A parsed object that is a page of conversations is split further. */
static int maybe_page(void *arg, const struct cs_import_piece *piece)
{
    struct page_ctx *pc = arg;

    if (piece->json && json_is_object(piece->json) &&
        json_is_array(json_object_get(piece->json, "conversations")))
        return page(piece, pc->fn, pc->ctx);
    return pc->fn(pc->ctx, piece);
}

int cs_import_split(const char *doc, size_t len, long first_line,
                    cs_import_piece_fn fn, void *ctx)
{
    const char *p = doc, *e = doc + len;
    struct page_ctx pc = {fn, ctx};
    long line = first_line;
    int ret = 0;

    p = skip_ws(p, e, &line);
    if (p >= e || *p != '[')
        return one_piece(p, (size_t)(e - p), line, maybe_page, &pc);
    /* An array: each element apart, so that a cut-off or broken element
     * costs only itself. */
    p++;
    for (;;) {
        const char *start, *end;

        p = skip_ws(p, e, &line);
        if (p >= e || *p == ']')
            break;
        start = p;
        end = skip_value(p, e);
        if (end == start)
            end = start + 1; /* a stray character: its own bad piece */
        ret = one_piece(start, (size_t)(end - start), line, maybe_page, &pc);
        if (ret < 0)
            return ret;
        line += lines_in(start, end);
        p = skip_ws(end, e, &line);
        if (p < e && *p == ',')
            p++;
        else if (p < e && *p != ']') {
            /* Garbage between elements: a piece of it, then go on. */
            continue;
        }
    }
    return 0;
}

/* cs_import_bytes for LiveKit: every event of the data is one room's. */
struct lk_bytes {
    json_t *events;
    struct cs_err *err;
    int ret;
};

static int lk_piece(void *arg, const struct cs_import_piece *piece)
{
    struct lk_bytes *b = arg;
    json_t *ev = NULL;
    int ret;

    if (!piece->json) {
        b->ret = cs_err_set(b->err, CS_EINVALID, "%s", piece->error);
        return -1;
    }
    ret = cs_import_unwrap(&ev, NULL, piece->json, NULL, b->err);
    if (ret) {
        b->ret = ret;
        return -1;
    }
    json_array_append_new(b->events, ev);
    return 0;
}

static int livekit_bytes(json_t **record, const char *data, size_t len,
                         const struct cs_import_opts *o, struct cs_err *err)
{
    struct lk_bytes b = {json_array(), err, 0};
    const char *p = data, *e = data + len;
    long line = 1;
    int ret = 0;

    p = skip_ws(p, e, &line);
    if (p < e && *p == '[') {
        ret = cs_import_split(p, (size_t)(e - p), line, lk_piece, &b);
    } else {
        /* JSON Lines: each non-blank line one event (or an array). */
        while (!ret && p < e) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            const char *end = nl ? nl : e, *q = p;

            /* Within the line: the bytes are not NUL-terminated. */
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
                q++;
            if (q < end)
                ret = cs_import_split(p, (size_t)(end - p), line, lk_piece,
                                      &b);
            line++;
            p = end + 1;
        }
    }
    if (ret < 0)
        ret = b.ret;
    if (!ret)
        ret = cs_import_livekit_room(record, b.events, NULL, o, err);
    json_decref(b.events);
    return ret;
}

static int import_bytes(char **out, enum cs_import_format f,
                        const char *data, size_t len,
                        const struct cs_import_opts *o, struct cs_err *err)
{
    json_t *doc = NULL, *payload = NULL, *record = NULL;
    struct cs_buf b = CS_BUF_INIT;
    const char *skipped = NULL;
    json_error_t jerr;
    int ret;

    *out = NULL;
    if (f == CS_IMPORT_LIVEKIT) {
        ret = livekit_bytes(&record, data, len, o, err);
        goto dump;
    }
    if (memchr(data, '\0', len))
        return cs_err_set(err, CS_EINVALID, "NUL byte at column %zu",
                          (size_t)((const char *)memchr(data, '\0', len) -
                                   data) + 1);
    doc = json_loadb(data, len, 0, &jerr);
    if (!doc) {
        struct cs_buf why = CS_BUF_INIT;

        ret = cs_err_set(err, CS_EINVALID, "invalid JSON at line %d, "
                         "column %d: %s", jerr.line, jerr.column,
                         cs_import_json_why(&why, &jerr));
        cs_buf_release(&why);
        return ret;
    }
    ret = cs_import_unwrap(&payload, NULL, doc, o, err);
    if (ret)
        goto done;
    if (f == CS_IMPORT_AUTO)
        f = cs_import_detect(payload);
    if (f == CS_IMPORT_CANONICAL) {
        record = json_incref(payload);
        goto dump;
    }
    if (f == CS_IMPORT_LIVEKIT) {
        json_t *one = json_pack("[O]", payload);

        ret = cs_import_livekit_room(&record, one, NULL, o, err);
        json_decref(one);
        goto dump;
    }
    if (f == CS_IMPORT_AUTO) {
        ret = cs_err_set(err, CS_EINVALID, "not a payload of a known "
                         "format (vapi, retell, polyai, livekit)");
        goto done;
    }
    ret = cs_import_payload(&record, &skipped, f, payload, o, err);
    if (!ret && skipped)
        ret = cs_err_set(err, CS_ENOTFOUND, "skipped: %.80s", skipped);
dump:
    if (!ret && record) {
        cs_fmt_json(&b, record, JSON_COMPACT);
        *out = cs_buf_detach(&b, NULL);
    }
done:
    json_decref(record);
    json_decref(payload);
    json_decref(doc);
    return ret;
}

int cs_import_bytes(char **out, enum cs_import_format f, const char *data,
                    size_t len, const struct cs_import_opts *o,
                    struct cs_err *err)
{
    int ret = import_bytes(out, f, data, len, o, err);

    if (ret)
        cs_import_tidy(err);
    return ret;
}
