/* compare.h - the current values of two metrics, side by side */
#ifndef CS_STORE_COMPARE_H
#define CS_STORE_COMPARE_H

#include <jansson.h>

#include "base/err.h"
#include "store/results.h"
#include "store/store.h"

/*
 * Calls fn(ctx, tenant, id, a, b) for every conversation of the filter
 * (f->from, f->to: UTC days of started_at; f->tenant) with a current
 * result of metric `ma` or `mb`, in (tenant, id) order; `a` or `b` is
 * NULL when that metric has no result for it. Values are borrowed for
 * the call. For `callscope compare` (a platform's verdict against the
 * judge's). 0 or CS_EDB.
 */
typedef void (*cs_pair_fn)(void *ctx, const char *tenant, const char *id,
                           const json_t *a, const json_t *b);
int cs_store_result_pairs(struct cs_store *st, const char *ma,
                          const char *mb, const struct cs_score_filter *f,
                          cs_pair_fn fn, void *ctx, struct cs_err *err);

#endif
