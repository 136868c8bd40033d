/* field.h - reading vendor fields (errors name them) and writing records */
#ifndef CS_IMPORT_FIELD_H
#define CS_IMPORT_FIELD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "import/import.h"
#include "model/conv.h"

/*
 * Shared by the converters of import/ only. A getter reads member `key`
 * of object `o` (NULL: absent) and names the member by `path`, its vendor
 * path, in errors: "vapi field 'message.call.id': expected a string, got
 * an integer". Absent and JSON null are "not there" (0 returned, *out
 * NULL or *present 0); a value of the wrong type is CS_EINVALID.
 *
 *     struct cs_import_src v = {"retell", err};
 *     const char *id;
 *
 *     ret = cs_import_get_str(&v, call, "call_id", "call.call_id", &id);
 */
struct cs_import_src {
    const char *vendor;         /* "vapi", ... for messages */
    struct cs_err *err;
};

/* Makes err->msg one line of valid UTF-8 (line breaks as \n, bytes that
 * are not UTF-8 as \xNN: cs_buf_add_excerpt), whatever vendor data it
 * quotes. Every error leaving the converters goes through it. */
void cs_import_tidy(struct cs_err *err);

/* jansson's reason for a parse error, which quotes the bytes it stopped
 * at, as one line of valid UTF-8 in `b` (reset first): data from a file
 * never breaks a message's line. */
const char *cs_import_json_why(struct cs_buf *b, const json_error_t *j);

/* Every vendor read may fail: CS_TRY(e) keeps a converter's single exit
 * readable (ret = e; on failure goto done). */
#define CS_TRY(e)                                                         \
    do {                                                                  \
        ret = (e);                                                        \
        if (ret)                                                          \
            goto done;                                                    \
    } while (0)

/* "<base>[<i>]" and "<base>[<i>].<member>" (member NULL: the former)
 * into `buf`, the vendor path of an element. */
const char *cs_import_at(char *buf, size_t size, const char *base, size_t i,
                         const char *member);
/* CS_EINVALID naming "<base>[<i>]" unless element `e` is an object. */
int cs_import_elem(const struct cs_import_src *v, const json_t *e,
                   const char *base, size_t i);
/* The element of `list` whose `key` is `value` and whose `idkey` is `id`
 * (a tool call's invocation by its id), or NULL. Borrowed. */
const json_t *cs_import_find(const json_t *list, const char *key,
                             const char *value, const char *idkey,
                             const char *id);

int cs_import_get_str(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path, const char **out);
/* A string where "" means absent (PolyAI v3 writes "" for no text). */
int cs_import_get_text(const struct cs_import_src *v, const json_t *o,
                       const char *key, const char *path, const char **out);
int cs_import_get_num(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path, double *out,
                      int *present);
/* *out is -1 when absent, else 0 or 1. */
int cs_import_get_bool(const struct cs_import_src *v, const json_t *o,
                       const char *key, const char *path, int *out);
int cs_import_get_obj(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path,
                      const json_t **out);
int cs_import_get_arr(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path,
                      const json_t **out);
/* An integer: a JSON integer, or (protobuf JSON's int64) a string of
 * decimal digits. */
int cs_import_get_i64(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path, int64_t *out,
                      int *present);
/* An RFC 3339 timestamp string, to microseconds since the epoch. */
int cs_import_get_time(const struct cs_import_src *v, const json_t *o,
                       const char *key, const char *path, int64_t *out_us,
                       int *present);
/* Sets `err` to "<vendor> field '<path>': <why>" and returns CS_EINVALID. */
int cs_import_bad(const struct cs_import_src *v, const char *path,
                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Writing a record. Members are set in the order of the format's table
 * so records read like docs/conversation-format.md; every setter skips a
 * NULL value.
 */
void cs_import_put_str(json_t *rec, const char *key, const char *s);
/* A time as RFC 3339 UTC, with milliseconds or microseconds only when it
 * has them ("2026-11-02T09:14:03.25Z" is written .250Z). */
void cs_import_put_time(json_t *rec, const char *key, int64_t us);
/* A number rounded to 10 decimals, so that sums and differences of money
 * do not show binary noise (0.1 - 0.09 is 0.01). */
double cs_import_round(double v);
/* costs.<key> = v (rounded) when v > 0. */
void cs_import_put_cost(json_t *costs, const char *key, double v);
/* Appends {"name": name, "value": value} to rec.metrics (created when
 * needed); steals `value`. */
void cs_import_put_metric(json_t *rec, const char *name, json_t *value);
/* Appends a turn to rec.turns (which must exist); a negative time is
 * left out, and so is an end before the start. */
void cs_import_put_turn(json_t *rec, const char *role, const char *text,
                        double start_s, double end_s);
/* Appends a tool call {name, ok, latency_ms (when >= 0), error (when not
 * NULL)} to rec.tool_calls (created when needed). */
void cs_import_put_tool(json_t *rec, const char *name, int ok,
                        double latency_ms, const char *error);
/* Appends a span {name, duration_ms} to rec.spans (created when needed). */
void cs_import_put_span(json_t *rec, const char *name, double ms);

/* A new record with an empty `turns` (every record has one). */
json_t *cs_import_record_new(void);
/* The record with its members in the format's order (docs/
 * conversation-format.md) and empty `costs` / `metadata.<vendor>`
 * objects left out: new; `rec` is released. */
json_t *cs_import_record_done(json_t *rec);

/*
 * A copy of vendor data safe to keep in `metadata`: members whose names
 * say they are secret (token, secret, password, key, credential,
 * authorization, signature, signed_url) are dropped, and so are string
 * values that look like phone numbers (personal data goes to
 * caller/callee only) or signed URLs. New reference (NULL for NULL).
 */
json_t *cs_import_scrub(const json_t *v);
/* `s` with every run of 7 or more digits (a leading + included) that
 * looks like a phone number replaced by "[phone]": for names that embed
 * the caller's number (LiveKit's SIP rooms are "call-_+1415..._Xk2p").
 * New string, as a JSON string. */
json_t *cs_import_mask_phones(const char *s);
/* rec.metadata.<vendor>.<key> = scrubbed copy of `v` (skips NULL). */
void cs_import_put_meta(json_t *meta, const char *key, const json_t *v);
/* Copies the members of `o` not listed in `known` (NULL-terminated) into
 * `meta`, scrubbed: a vendor's fields without a home. */
void cs_import_meta_rest(json_t *meta, const json_t *o,
                         const char *const *known);

/* The tenant: o->tenant, else the first of `ids` (NULL-terminated list
 * that may hold NULLs, up to `n`) found in o->tenant_map, else
 * "default". Borrowed. */
const char *cs_import_tenant(const struct cs_import_opts *o,
                             const char *const *ids, size_t n);

/* 1 when `s` starts with `prefix`, or contains `part`. */
int cs_import_starts(const char *s, const char *prefix);
int cs_import_contains(const char *s, const char *part);

#endif
