/* results.h - evaluation results: writing, exporting, reading back */
#ifndef CS_STORE_RESULTS_H
#define CS_STORE_RESULTS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/err.h"
#include "redact/redact.h"
#include "store/claim.h"
#include "store/store.h"

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
    long cached_tokens;         /* of tokens_in, served by a prompt cache */
    double cost;
    const char *content_hash;
    const char *started_at;     /* the conversation's (the month its
                                   results are stored in) */
    int replaces;               /* a current result exists (the item's
                                   summary says so): it becomes history */
};

/*
 * Buffers results and writes them in transactions of `batch_rows`: each
 * new row becomes the current one of its (tenant, conversation, metric),
 * the previous current row stays as history. Evidence and rationale are
 * stored as `rd` (borrowed; the configured redactor, see
 * cs_redact_new_configured) redacts them, so no stored text carries the
 * personal data the redactor knows (text it cannot redact is stored as
 * "[redaction failed]"). add copies what it needs. retire makes the
 * current result of a key history without a new one (a value that is
 * gone from the conversation). flush writes what is buffered; free does
 * not flush.
 */
struct cs_result_writer;

void cs_store_results_new(struct cs_result_writer **out, struct cs_store *st,
                          size_t batch_rows, struct cs_redact *rd);
int cs_store_results_add(struct cs_result_writer *w,
                         const struct cs_result_row *r, struct cs_err *err);
int cs_store_results_retire(struct cs_result_writer *w, const char *tenant,
                            const char *conversation_id,
                            const char *started_at, const char *metric,
                            struct cs_err *err);
int cs_store_results_flush(struct cs_result_writer *w, struct cs_err *err);
void cs_store_results_free(struct cs_result_writer *w);
/* Rows committed so far (grows with every flush that succeeds, the ones
 * add makes when its buffer is full included). */
uint64_t cs_store_results_committed(const struct cs_result_writer *w);
/* Rows whose COMMIT was sent and the connection lost before its answer:
 * the server may have stored them or not. */
uint64_t cs_store_results_in_doubt(const struct cs_result_writer *w);

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
