/* score_internal.h - what the two evaluators' runs share (never included
 * outside score/) */
#ifndef CS_SCORE_INTERNAL_H
#define CS_SCORE_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "base/log.h"
#include "model/result.h"
#include "redact/redact.h"
#include "score/score.h"
#include "score/scorecard.h"

/*
 * cs_score_run (score.c) calls one of two runs (rules_score.c,
 * llm_score.c); each walks the conversations a store cursor claims for it
 * (walk.c). For each item it decides which metrics are stale,
 * evaluates them its own way, and writes every result through
 * cs_score_walk_put; the values the agent logged are handled by the same
 * two functions in both runs (agent.c): cs_score_agent_take before
 * evaluating, cs_score_agent_store for the values that name no rubric.
 * Then it puts the item back (cs_store_claim_put).
 */

/* The evaluator of the values the agent logged itself. */
#define CS_SCORE_AGENT "agent"

/* The two runs cs_score_run chooses between; arguments as there. */
int cs_score_rules_run(struct cs_score_stats *out, struct cs_store *st,
                       const struct cs_rubric_set *set,
                       const struct cs_config *cfg,
                       const struct cs_score_opts *opts, struct cs_err *err);
int cs_score_llm_run(struct cs_score_stats *out, struct cs_store *st,
                     const struct cs_rubric_set *set,
                     const struct cs_config *cfg,
                     const struct cs_score_opts *opts, struct cs_err *err);

/*
 * The Batch API (llm_batch.c). collect looks once at every submitted
 * batch, stores the answers of those that ended (store/batches.h) and
 * drops the batches whose run died before submitting them. A batch being
 * made: add records one request of a conversation (its line written once
 * per body) before the conversation's claim is released, submit writes
 * the file under data_dir/batches, uploads it and creates the batch; a
 * batch that cannot be submitted is dropped, so its conversations are
 * asked again by the next run.
 */
int cs_score_batch_collect(struct cs_store *st, const struct cs_config *cfg,
                           struct cs_score_stats *out, struct cs_err *err);
struct cs_score_batch;
void cs_score_batch_new(struct cs_score_batch **out);
void cs_score_batch_free(struct cs_score_batch *b);
size_t cs_score_batch_requests(const struct cs_score_batch *b);
int cs_score_batch_add(struct cs_score_batch *b, struct cs_store *st,
                       const struct cs_config *cfg, const char *tenant,
                       const char *conversation_id, const char *body,
                       const char *body_hash, long prompt_est,
                       size_t metrics, double estimated_cost,
                       struct cs_err *err);
int cs_score_batch_submit(struct cs_score_batch *b, struct cs_store *st,
                          const struct cs_config *cfg,
                          struct cs_score_stats *out, struct cs_err *err);

/* 1 when `key` is in the NULL-terminated `list`. */
int cs_score_in_list(char *const *list, const char *key);

/* 1 when metric `key` is in the run's scope (opts->metrics, or all;
 * never one of opts->skip). */
int cs_score_in_scope(const struct cs_score_opts *opts, const char *key);

/* 1 when scorecard `sc` is in scope: every one, or it or one of its
 * metrics is named in opts->metrics (and it is not skipped). */
int cs_score_scorecard_in_scope(const struct cs_score_opts *opts,
                                const struct cs_scorecard *sc);

/* The rubric `key` of `set` when it applies to `tenant`, borrowed, else
 * NULL: for the conversations of other tenants it is not in the set. */
const struct cs_rubric *cs_score_rubric(const struct cs_rubric_set *set,
                                        const char *key, const char *tenant);

/* The store filter's wanted metrics per tenant (struct cs_score_filter:
 * {"": {key: version}, "<tenant>": {...}}), rubrics and scorecards in the
 * scope of `opts`. Returns new. */
json_t *cs_score_want(const struct cs_rubric_set *set,
                      const struct cs_score_opts *opts);

/*
 * 1 when the current result of `key` in an item's summary is not the one
 * an evaluator would write now: none, a judge's error (retried; the
 * agent's are not, they would come out the same), or another rubric
 * version, evaluator or conversation content.
 */
int cs_score_is_stale(const json_t *current, const char *key,
                      const char *version, const char *evaluator,
                      const char *hash);

/*
 * What every run walks with: the store filter (which, unless re-scoring on
 * demand, skips what is up to date for `evaluator`, agent values
 * included), the configured redactor (the writer redacts evidence and
 * rationale with it; the LLM run redacts its prompts too), the results
 * writer, the claiming cursor and the progress line. begin sets
 * out->conversations and out->up_to_date; on error, end is still safe.
 * end frees everything (releasing claims still held, see
 * cs_store_score_cursor_free) but does not flush: a run flushes the
 * writer itself when it ends well.
 */
struct cs_score_walk {
    const struct cs_rubric_set *set;
    const struct cs_score_opts *opts;
    struct cs_score_stats *stats;
    struct cs_score_filter filter;
    char *want_text;
    char *scope_text;
    struct cs_redact *rd;
    struct cs_result_writer *w;
    struct cs_score_cursor *cur;
    struct cs_progress progress;
    long todo;                  /* conversations to walk */
    uint64_t finished;          /* put back with all their results */
    uint64_t seen_commits;      /* the writer's committed rows, last look */
};

int cs_score_walk_begin(struct cs_score_walk *wk, struct cs_store *st,
                        const struct cs_rubric_set *set,
                        const struct cs_config *cfg,
                        const struct cs_score_opts *opts,
                        const char *evaluator, struct cs_score_stats *out,
                        struct cs_err *err);
void cs_score_walk_end(struct cs_score_walk *wk);

/*
 * Bookkeeping of how far the run got: a run calls walk_finished once per
 * conversation whose results are all in the writer (complete: 1; 0 for
 * one left unfinished), before putting its claim back, and ends with
 * walk_flush instead of flushing the writer itself. stats->stored then
 * counts the conversations whose results are committed, whatever fails
 * later.
 */
void cs_score_walk_finished(struct cs_score_walk *wk, int complete);
int cs_score_walk_flush(struct cs_score_walk *wk, struct cs_err *err);

/* What one request cost, shared among the metrics it judged. */
struct cs_score_usage {
    long tokens_in;
    long tokens_out;
    long tokens_cached;     /* of tokens_in, served by a prompt cache */
    double cost;
};

/*
 * Writes `res` as the result of `metric` for item `it` (the one result
 * path of both runs) and counts it in the run's stats; `usage` may be
 * NULL. Returns the writer's error.
 */
int cs_score_walk_put(struct cs_score_walk *wk, const struct cs_score_item *it,
                      const char *metric, const char *version,
                      const char *evaluator, const struct cs_eval_result *res,
                      const struct cs_score_usage *usage, struct cs_err *err);

/* Makes the current result of `metric` for item `it` history without a
 * new one (a value that is gone from the conversation), counted as
 * retired. Returns the writer's error. */
int cs_score_walk_retire(struct cs_score_walk *wk,
                         const struct cs_score_item *it, const char *metric,
                         struct cs_err *err);

/*
 * The scorecards of item `it` (those of its tenant, in scope) once its
 * metrics are decided: res[i] is rubric i's result written in this pass
 * when written[i], else the current result for the item's content
 * counts. A scorecard is computed and written when it is stale (another
 * version, content, or none) or one of its metrics was written. *n_out
 * counts them; with `write` 0 nothing is written (a dry run).
 */
int cs_score_walk_scorecards(struct cs_score_walk *wk,
                             const struct cs_score_item *it,
                             const struct cs_eval_result *res,
                             const unsigned char *written, int write,
                             size_t *n_out, struct cs_err *err);

/*
 * The values the agent logged (the conversation's `metrics`) that name a
 * rubric of the set take its place: res[i] (released first) becomes that
 * value, or "error" with the reason when rubric i cannot have it (a label
 * outside a categorical metric's set, a non-boolean for a boolean, a
 * non-number or a number outside the scale for a score), and
 * evaluator[i] becomes CS_SCORE_AGENT. When a name is logged twice the
 * last value counts.
 */
void cs_score_agent_take(struct cs_eval_result *res, const char **evaluator,
                         const struct cs_rubric_set *set,
                         const struct cs_conv *conv);

/*
 * The agent's values that name no rubric, for item `it`: those in scope
 * and stale (or forced by re-scoring them) are written under their own
 * name with version and evaluator CS_SCORE_AGENT. The current results in
 * scope that no evaluator computes for this content any more become
 * history (retired, no new row): a value the agent no longer logs, or a
 * result of a rubric no longer in the set, computed from other content.
 * *n_out counts both. With `write` 0 nothing is written: only counted (a
 * dry run).
 */
int cs_score_agent_store(struct cs_score_walk *wk,
                         const struct cs_score_item *it, int write,
                         size_t *n_out, struct cs_err *err);

#endif
