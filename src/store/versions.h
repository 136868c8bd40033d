/* versions.h - the stored results against a rubric set: changed versions,
 * metrics no longer in the set */
#ifndef CS_STORE_VERSIONS_H
#define CS_STORE_VERSIONS_H

#include "base/err.h"
#include "store/claim.h"
#include "store/store.h"

/*
 * `set` describes a rubric set as JSON text: {"<metric>": {"v":
 * "<version>", "t": ["<tenant>", ...] or null}, ...} (rubrics and
 * scorecards; "t" the tenants it is limited to). Over the current results
 * of the conversations of filter `f` (its from, to and tenant) that an
 * evaluator wrote (not the agent's own values), calls
 *
 *     fn(ctx, metric, changed, missing)
 *
 * per metric with results to report: `changed` results of a metric of
 * the set carrying another version than "v" (for its tenants), `missing`
 * results of a metric the set does not have, or of a tenant its rubric
 * is not for. With `retire_missing` the missing ones become history
 * (current = false) in the same call.
 *
 * A first look reads only the distinct (metric, evaluator, version,
 * tenant) of the current results through an index, so a set that matches
 * what is stored costs a few index probes; only a mismatch is counted
 * over the conversations of the filter.
 */
typedef void (*cs_drift_fn)(void *ctx, const char *metric, long changed,
                            long missing);
int cs_store_results_drift(struct cs_store *st,
                           const struct cs_score_filter *f, const char *set,
                           int retire_missing, cs_drift_fn fn, void *ctx,
                           struct cs_err *err);

#endif
