/* import.h - vendor payloads (Vapi, Retell, PolyAI, LiveKit) to records */
#ifndef CS_IMPORT_IMPORT_H
#define CS_IMPORT_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"

/*
 * The converters of docs/importers.md, as pure functions: bytes or parsed
 * JSON in, a canonical conversation (docs/conversation-format.md) or a
 * reason out. They read no file, no clock (unless told to), no database,
 * so the reliability harness can fuzz them:
 *
 *     struct cs_import_opts o = {0};
 *     char *json = NULL;
 *     struct cs_err err;
 *
 *     ret = cs_import_bytes(&json, CS_IMPORT_RETELL, data, len, &o, &err);
 *     // 0: json is the record (new, free()); CS_ENOTFOUND: nothing to
 *     // record (a skipped kind, a LiveKit room not finished), err says
 *     // which; CS_EINVALID: a reject, err names the vendor field
 *
 * run.h puts them behind `callscope import` and `ingest` (files, arrays,
 * rejects, the LiveKit pending events, Retell's analysed-wins rule).
 * Records made here still go through cs_conv_from_line before they are
 * stored, like any input line.
 */

enum cs_import_format {
    CS_IMPORT_AUTO = 0,     /* detect by shape (cs_import_detect) */
    CS_IMPORT_CANONICAL,    /* already a conversation record */
    CS_IMPORT_VAPI,
    CS_IMPORT_RETELL,
    CS_IMPORT_POLYAI,
    CS_IMPORT_LIVEKIT,
    CS_IMPORT_N_FORMATS
};

/* "vapi", "retell", ... ("auto", "canonical"); the --from names. */
const char *cs_import_format_name(enum cs_import_format f);
/* The format named `s` (a vendor's name only), or -1. */
int cs_import_format_parse(const char *s);

/* What a conversion needs besides the payload; everything borrowed. */
struct cs_import_opts {
    const char *tenant;         /* --tenant: wins over the map, or NULL */
    const json_t *tenant_map;   /* importers.tenant_map ({vendor id:
                                   tenant}), or NULL */
    const char *retell_key;     /* CALLSCOPE_RETELL_API_KEY: check Retell
                                   signatures (NULL: not checked) */
    int64_t now_ms;             /* the receipt time for signatures of
                                   envelopes without `received_at`
                                   (0: the clock) */
};

/*
 * The format of a parsed payload by its shape (an envelope, an array or a
 * PolyAI page are looked into): CS_IMPORT_AUTO when it is none of them.
 */
enum cs_import_format cs_import_detect(const json_t *payload);

/*
 * One payload of a vendor (`f` not AUTO, CANONICAL or LIVEKIT) to a
 * record. On success *record is new; *skipped is set instead (static
 * text naming the payload kind, "status-update") for payloads that carry
 * no finished conversation. A payload that cannot be converted is
 * CS_EINVALID with the vendor field and reason in `err` ("retell field
 * 'call.start_timestamp': expected a number, got a string").
 */
int cs_import_payload(json_t **record, const char **skipped,
                      enum cs_import_format f, const json_t *payload,
                      const struct cs_import_opts *o, struct cs_err *err);

int cs_import_vapi(json_t **record, const char **skipped,
                   const json_t *payload, const struct cs_import_opts *o,
                   struct cs_err *err);
int cs_import_retell(json_t **record, const char **skipped,
                     const json_t *payload, const struct cs_import_opts *o,
                     struct cs_err *err);
int cs_import_polyai(json_t **record, const char **skipped,
                     const json_t *payload, const struct cs_import_opts *o,
                     struct cs_err *err);

/*
 * LiveKit works per room. cs_import_livekit_event checks one webhook
 * event: 0 with *room the room's sid (borrowed from `event`) for events
 * the room's record is made of, *skipped for those it carries nothing for
 * (track_*, egress_*, ingress_*), CS_EINVALID naming the field.
 * cs_import_livekit_room builds the record of one room from its events
 * (any order, duplicates by `id` ignored) once they hold its
 * room_finished; before that it returns CS_ENOTFOUND ("room ... not
 * finished") and *record stays NULL. `history` is the LiveKit Agents
 * session history of the room ({"items": [...]}) or NULL.
 */
int cs_import_livekit_event(const char **room, const char **skipped,
                            const json_t *event, struct cs_err *err);
int cs_import_livekit_room(json_t **record, const json_t *events,
                           const json_t *history,
                           const struct cs_import_opts *o,
                           struct cs_err *err);

/*
 * The webhook envelope of JSON Lines exports, {"headers": {...}, "body":
 * "<raw body>", "received_at": ...}: *payload (new) is the parsed body,
 * or a new reference to `doc` itself when it is no envelope. When the
 * headers carry an X-Retell-Signature and o->retell_key is set, the
 * signature is checked over the raw body (HMAC-SHA256 of body +
 * timestamp, at most 5 minutes from the receipt time: `received_at`,
 * RFC 3339 or epoch milliseconds, else o->now_ms, else the clock); a
 * bad, malformed or stale one is CS_EINVALID. *signed_out (may be NULL)
 * is 1 when a signature was checked, -1 when one was present but not
 * checked (no key), 0 when there was none.
 */
int cs_import_unwrap(json_t **payload, int *signed_out, const json_t *doc,
                     const struct cs_import_opts *o, struct cs_err *err);

/*
 * Retell's signature: 0 when `sig` ("v=<ms>,d=<64 hex>") is the HMAC-
 * SHA256 under `key` of `body` followed by the decimal <ms>, and <ms> is
 * within 5 minutes of `now_ms`; CS_EINVALID saying which part failed.
 */
int cs_import_retell_verify(const char *sig, const char *body, size_t len,
                            const char *key, int64_t now_ms,
                            struct cs_err *err);

/*
 * Bytes in, JSON text out, for one payload of format `f` (AUTO detects;
 * for LIVEKIT the events of one room, as a JSON array or JSON Lines). An
 * envelope is unwrapped first. 0: *out is the record as compact JSON
 * (new; free()); CS_ENOTFOUND: no record (skipped kind or unfinished
 * room, `err` says which); CS_EINVALID: a reject with its reason. The
 * fuzzing entry point.
 */
int cs_import_bytes(char **out, enum cs_import_format f, const char *data,
                    size_t len, const struct cs_import_opts *o,
                    struct cs_err *err);

/*
 * Splits a document (a JSON Lines line, or a whole .json file) into its
 * payloads: a JSON array gives its elements (each parsed apart, so the
 * elements before a cut-off one still count), a PolyAI page
 * {"conversations": [...]} gives its conversations, anything else is
 * one payload. For each, fn(ctx, piece) is called in order.
 */
struct cs_import_piece {
    long line;              /* 1-based line of the document it starts on */
    const char *raw;        /* its bytes (borrowed for the call) */
    size_t raw_len;
    json_t *json;           /* parsed (borrowed), or NULL when it is not
                               valid JSON: then `error` says why */
    const char *error;
};
typedef int (*cs_import_piece_fn)(void *ctx,
                                  const struct cs_import_piece *piece);
/* Returns the first negative return of fn, else 0. */
int cs_import_split(const char *doc, size_t len, long first_line,
                    cs_import_piece_fn fn, void *ctx);

#endif
