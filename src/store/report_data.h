/* report_data.h - what reports read beside the KPI aggregates */
#ifndef CS_STORE_REPORT_DATA_H
#define CS_STORE_REPORT_DATA_H

#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/*
 * Every query covers one tenant's local dates [from_day, to_day) in time
 * zone `tz` (as PostgreSQL must read it), like cs_store_kpi_raw. Rows are
 * handed to a callback one at a time; strings are borrowed for the call.
 */

/* Tool calls by tool name: fn(ctx, name, calls, ok), worst success first. */
typedef void (*cs_tool_stat_fn)(void *ctx, const char *name, long calls,
                                long ok);
int cs_store_tool_stats(struct cs_store *st, const char *tenant,
                        const char *from_day, const char *to_day,
                        const char *tz, cs_tool_stat_fn fn, void *ctx,
                        struct cs_err *err);

/* What the current results say about the metrics of the period:
 * fn(ctx, metric, evaluator, rubric_version, n) for every combination. */
typedef void (*cs_metric_source_fn)(void *ctx, const char *metric,
                                    const char *evaluator,
                                    const char *version, long n);
int cs_store_metric_sources(struct cs_store *st, const char *tenant,
                            const char *from_day, const char *to_day,
                            const char *tz, cs_metric_source_fn fn,
                            void *ctx, struct cs_err *err);

/* Conversations of the period with at least one current result that an
 * evaluator (not the agent itself) wrote. */
int cs_store_scored_count(long *out, struct cs_store *st, const char *tenant,
                          const char *from_day, const char *to_day,
                          const char *tz, struct cs_err *err);

/*
 * Conversations worth a look: handed off with a negative result of
 * `sentiment_metric`, with a failed tool call, or with a failed metric —
 * a current result `false` of a metric in `fail_false` or `true` of one
 * in `fail_true` (NULL-terminated keys; may be NULL). The `limit` worst
 * come first (most reasons, then latest); *total_out counts them all.
 * fn(ctx, id, started (local "YYYY-MM-DD HH:MM"), agent or NULL,
 * reasons (CS_REVIEW_*), failed_metric or NULL).
 */
enum {
    CS_REVIEW_NEGATIVE_HANDOFF = 1u << 0,
    CS_REVIEW_CONNECTOR_FAILURE = 1u << 1,
    CS_REVIEW_FAILED_METRIC = 1u << 2
};
typedef void (*cs_review_fn)(void *ctx, const char *id, const char *started,
                             const char *agent, unsigned reasons,
                             const char *failed_metric);
int cs_store_review(struct cs_store *st, const char *tenant,
                    const char *from_day, const char *to_day, const char *tz,
                    const char *sentiment_metric,
                    const char *const *fail_false,
                    const char *const *fail_true, long limit,
                    long *total_out, cs_review_fn fn, void *ctx,
                    struct cs_err *err);

#endif
