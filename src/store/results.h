/* results.h - evaluation results: what to score, writing, reading back */
#ifndef CS_STORE_RESULTS_H
#define CS_STORE_RESULTS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/err.h"
#include "model/conv.h"
#include "store/store.h"

/* Which conversations a scoring run or an export covers. */
struct cs_score_filter {
    const char *from;       /* UTC date "YYYY-MM-DD" of started_at, or NULL */
    const char *to;         /* exclusive, or NULL */
    const char *tenant;     /* or NULL */
    /* For scoring: {"metric": "rubric version", ...} as JSON text; when
     * set, only conversations lacking a current result of that version
     * (by `evaluator` or the agent, for the stored content) are walked. */
    const char *want;
    const char *evaluator;
};

struct cs_claim;

/* One conversation to score and what is stored for it. */
struct cs_score_item {
    struct cs_conv *conv;   /* new; cs_score_item_release */
    char content_hash[17];
    json_t *current;        /* {metric: [rubric_version, evaluator, hash,
                               is_error]} */
    struct cs_claim *claim; /* borrowed: pass to cs_store_claim_put */
};

/* Frees the conversation and summary (not the claim). */
void cs_score_item_release(struct cs_score_item *it);

/*
 * Walks the conversations of a filter in (tenant, id) order, a page at a
 * time. Each page is CLAIMED first: its conversation rows are locked with
 * FOR UPDATE SKIP LOCKED in a transaction on a connection of its own, so
 * several processes (on one machine or many) share the work without
 * overlap; a process that dies releases its claims with its connections.
 * After claiming, staleness is checked again with a fresh snapshot, so a
 * conversation another process has just finished is not scored twice.
 *
 * When every item of a page has been put back (cs_store_claim_put) and the
 * cursor has moved on, `flush(ctx)` is called (write the results) and the
 * claim is committed. next returns 1 with an item, 0 at the end, or CS_EDB.
 */
struct cs_score_cursor;
typedef int (*cs_flush_fn)(void *ctx, struct cs_err *err);

int cs_store_score_cursor_new(struct cs_score_cursor **out,
                              struct cs_store *st,
                              const struct cs_score_filter *f,
                              size_t page_size, cs_flush_fn flush,
                              void *flush_ctx);

/* Done with one item of the claim (its results are in the writer). */
int cs_store_claim_put(struct cs_claim *claim, struct cs_err *err);
int cs_store_score_cursor_next(struct cs_score_cursor *c,
                               struct cs_score_item *out, struct cs_err *err);
/* Releases what is left: flushes and commits finished claims, rolls back
 * claims with items still out (their conversations stay unscored). */
void cs_store_score_cursor_free(struct cs_score_cursor *c);

/* Number of conversations the filter covers. */
int cs_store_score_count(long *out, struct cs_store *st,
                         const struct cs_score_filter *f, struct cs_err *err);

/* One evaluation to store (all strings borrowed for the call). */
struct cs_result_row {
    const char *tenant;
    const char *conversation_id;
    const char *metric;
    const char *rubric_version;
    const char *evaluator;
    const json_t *value;
    double confidence;          /* NAN: null */
    const char *evidence;       /* may be NULL */
    const char *rationale;      /* may be NULL */
    long tokens_in;
    long tokens_out;
    double cost;
    const char *content_hash;
    int replaces;               /* a current result exists (the item's
                                   summary says so): it becomes history */
};

/*
 * Buffers results and writes them in transactions: each new row becomes the
 * current one of its (tenant, conversation, metric), the previous current
 * row stays as history. add copies what it needs.
 */
struct cs_result_writer;

void cs_store_results_new(struct cs_result_writer **out, struct cs_store *st,
                          size_t batch_rows);
int cs_store_results_add(struct cs_result_writer *w,
                         const struct cs_result_row *r, struct cs_err *err);
int cs_store_results_flush(struct cs_result_writer *w, struct cs_err *err);
void cs_store_results_free(struct cs_result_writer *w);

/* Writes results as JSONL or CSV (docs/config.md), current ones
 * or with `history` all of them; `metrics` (NULL-terminated) filters. */
int cs_store_results_export(struct cs_store *st,
                            const struct cs_score_filter *f,
                            char *const *metrics, int history, int csv,
                            FILE *out, struct cs_err *err);

/* Counts of current values per metric for one tenant's local period,
 * answered-only when `answered_only`, grouped like cs_store_kpi_raw:
 * calls fn(ctx, group or NULL, metric, value, n). */
typedef void (*cs_value_count_fn)(void *ctx, const char *group,
                                  const char *metric, const json_t *value,
                                  long n);
int cs_store_result_counts(struct cs_store *st, const char *tenant,
                           const char *from_day, const char *to_day,
                           const char *tz, enum cs_kpi_by by,
                           int answered_only, cs_value_count_fn fn,
                           void *ctx, struct cs_err *err);

/* Calls fn(ctx, conversation_id, value) for every current result of
 * `metric` (any tenant). */
typedef void (*cs_value_fn)(void *ctx, const char *id, const json_t *value);
int cs_store_result_values(struct cs_store *st, const char *metric,
                           cs_value_fn fn, void *ctx, struct cs_err *err);

#endif
