/* conv_rows.h - one tenant's conversations of a period, row by row */
#ifndef CS_STORE_CONV_ROWS_H
#define CS_STORE_CONV_ROWS_H

#include <jansson.h>

#include "base/err.h"
#include "store/store.h"

/*
 * Usage:
 *
 *     static int on_row(void *ctx, const struct cs_store_conv *c,
 *                       struct cs_err *err) { ...; return 0; }
 *
 *     const char *const metrics[] = {"customer_sentiment", "booking", NULL};
 *     ret = cs_store_conv_rows(st, "acme", "2026-10-01", "2026-11-01",
 *                              "America/New_York", metrics, on_row, ctx,
 *                              err);
 *
 * The rows come in libpq's single-row mode, one at a time as the server
 * sends them, so memory stays flat whatever the number of conversations
 * and the server works while fn does. Inside a transaction
 * (cs_store_snapshot_begin) the query reads that snapshot. The fields of
 * a row are borrowed for the call. Personal fields (caller, callee,
 * turns, metadata) are never read.
 */

struct cs_store_conv {
    const char *id;
    double started_local;   /* the tenant's wall-clock time of started_at,
                               seconds since 1970-01-01 00:00 (PostgreSQL's
                               AT TIME ZONE) */
    const char *agent;      /* or NULL */
    const char *channel;
    const char *direction;
    const char *outcome;
    int handed_off;         /* answered and handed to a person (the
                               handed_off KPI's definition) */
    const char *handoff_reason; /* as stored (not redacted), or NULL */
    double duration_s;      /* ended - answered; NAN when either is unset */
    long turns;
    double cost;            /* the sum of the cost components */
    double csat, nps;       /* NAN when not given */
    json_t *const *values;  /* the current result of each metric asked, in
                               order; NULL where there is none */
};

typedef int (*cs_store_conv_fn)(void *ctx, const struct cs_store_conv *c,
                                struct cs_err *err);

/*
 * Calls fn for every conversation of `tenant` whose started_at falls in
 * the local dates [from_day, to_day) of zone `tz` (as PostgreSQL reads
 * it), in started_at order, with the current values of `metrics`
 * (NULL-terminated keys; may be NULL). Stops at the first error of fn
 * (the query is cancelled) and returns it; CS_EDB when the query fails,
 * also after some rows (the caller must then discard what it wrote).
 */
int cs_store_conv_rows(struct cs_store *st, const char *tenant,
                       const char *from_day, const char *to_day,
                       const char *tz, const char *const *metrics,
                       cs_store_conv_fn fn, void *ctx, struct cs_err *err);

/* 1 when `tenant` has ever had a conversation stored, else 0 (*out). */
int cs_store_tenant_seen(int *out, struct cs_store *st, const char *tenant,
                         struct cs_err *err);

#endif
