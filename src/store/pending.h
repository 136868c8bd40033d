/* pending.h - vendor events held until their conversation is complete */
#ifndef CS_STORE_PENDING_H
#define CS_STORE_PENDING_H

#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "store/store.h"

/*
 * The import_pending table (migration 8): events of a conversation that
 * is not complete yet (a LiveKit room whose room_finished has not come),
 * kept across imports by (format, group, event id), so that a later
 * import completes the conversation and nothing is lost in between.
 *
 *     cs_store_pending_put(st, "livekit", room_sid, items, &err);
 *     cs_store_pending_get(st, "livekit", rooms, on_event, ctx, &err);
 *     ... the completed conversations are stored ...
 *     cs_store_pending_drop(st, "livekit", rooms, &n, &err);
 */

/* Adds `items` (an array of {"id": event id, "event": object, "source":
 * "file:line"}) to `group`; an event already held is left as it is. */
int cs_store_pending_put(struct cs_store *st, const char *format,
                         const char *group, const json_t *items,
                         struct cs_err *err);

/* Calls fn(ctx, group, event) for every event held for one of `groups`
 * (an array of strings), oldest first; `event` is new (the callback
 * takes it). */
typedef void (*cs_pending_fn)(void *ctx, const char *group, json_t *event);
int cs_store_pending_get(struct cs_store *st, const char *format,
                         const json_t *groups, cs_pending_fn fn, void *ctx,
                         struct cs_err *err);

/* Forgets the events of those of `groups` (NULL: every group) whose
 * conversation is now stored (the group is its id, its metadata has a
 * member named `format`); *dropped (may be NULL) counts them. */
int cs_store_pending_drop(struct cs_store *st, const char *format,
                          const json_t *groups, uint64_t *dropped,
                          struct cs_err *err);

/* Events held, and the groups they belong to, for `format` (NULL: all). */
int cs_store_pending_count(struct cs_store *st, const char *format,
                           long *events, long *groups, struct cs_err *err);

/*
 * Whether a conversation is stored with metadata at `path` (a text[]
 * literal such as "{retell,analyzed}") equal to JSON true: *out 1 or 0.
 * `tenant` NULL matches any tenant; a `path` of one element checks that
 * the key exists ("{livekit}").
 */
int cs_store_conv_meta(struct cs_store *st, const char *tenant,
                       const char *id, const char *path, int *out,
                       struct cs_err *err);

#endif
