/* score.h - scoring runs: what is stale, evaluate, store the results */
#ifndef CS_SCORE_SCORE_H
#define CS_SCORE_SCORE_H

#include <stdint.h>

#include "base/err.h"
#include "config/config.h"
#include "rubric/rubric.h"
#include "store/results.h"
#include "store/store.h"

struct cs_score_opts {
    struct cs_score_filter filter;
    char *const *metrics;   /* NULL-terminated keys, or NULL: every rubric */
    int force;              /* re-score `metrics` even when up to date */
    const char *sentiment_metric; /* scored by the lexicon offline */
    const char *lexicon_path;
    long page_size;         /* conversations claimed at a time (500) */
    int dry_run;            /* LLM: count requests, tokens, cost; send none */
    double max_cost;        /* LLM: start no request past this (0: none) */
    int batch;              /* LLM: through the Batch API (see README) */
    /* What a rubric set that differs from the stored results may do (see
     * cs_score_run): re-score the metrics whose version changed, or leave
     * them as they are (stale, for a later deliberate run); else such a
     * set is refused. `retire_missing` makes the current results of
     * metrics the set does not have (for their tenant) history. */
    int rubrics_changed;
    int keep_changed;
    int retire_missing;
    char *const *skip;      /* internal: keys left alone (NULL-terminated) */
};

struct cs_score_stats {
    uint64_t conversations;     /* looked at */
    uint64_t up_to_date;        /* nothing to do for them */
    uint64_t evaluations;       /* results written */
    uint64_t not_applicable;
    uint64_t errors;
    char first_error[256];      /* why the first of them is an 'error' */
    uint64_t agent;             /* values the agent logged itself */
    uint64_t retired;           /* made history: nothing computes them for
                                   the changed content any more */
    double seconds;
    int dry_run;                /* 1: a dry run, nothing was written */
    /* LLM runs */
    uint64_t requests;          /* sent (re-asks included, retries not) */
    uint64_t http_tries;        /* on the wire, retries included */
    uint64_t tokens_in;
    uint64_t tokens_out;
    uint64_t tokens_cached;     /* of tokens_in, served by a prompt cache */
    double cost;
    uint64_t left_for_later;    /* conversations not finished (max cost) */
    /* The budget (max_cost): each request's estimated cost is reserved
     * before it is sent and replaced by its cost when it answers, so
     * cost <= max_cost + in_flight_error: what the requests in flight at
     * the last reservation (max_in_flight_at_cap of them) cost beyond
     * their estimates. */
    double max_cost;
    int cap_reached;            /* it stopped sending at max_cost */
    double in_flight_error;
    unsigned max_in_flight_at_cap;
    uint64_t calibrated_on;     /* recorded requests the estimates follow
                                   (0: the built-in guesses) */
    /* Dry runs: `cost` is synchronous without cache hits. */
    double cost_batch;          /* at the batch prices */
    double cost_cached;         /* with the cache hits to expect */
    int cache_recorded;         /* hits as recorded (else: the prefix) */
    /* The Batch API (opts->batch, and answers of earlier batches) */
    uint64_t batches_ended;     /* collected: they ended */
    uint64_t batches_open;      /* still running at the provider */
    uint64_t batch_answers;     /* answers collected */
    uint64_t batch_queued;      /* requests written to a new batch */
    uint64_t batch_pending;     /* conversations waiting for a batch */
    uint64_t batch_used;        /* batch answers stored as results */
    uint64_t batches_submitted;
    double batch_cost;          /* of the answers used, at batch prices */
    /* How far the run got: all the way when it ended well. */
    uint64_t todo;              /* conversations with something to do */
    uint64_t stored;            /* ... finished, every result committed */
    uint64_t stored_evaluations; /* results committed */
    uint64_t in_doubt;          /* ... or perhaps: the connection was lost
                                   before the COMMIT was answered */
    int interrupted;            /* the signal that stopped it (base/sig.h),
                                   or 0 */
    /* The rubric set against what is stored. */
    uint64_t changed_metrics;   /* metrics (scorecards) of another version */
    uint64_t changed_results;   /* their current results in the filter */
    uint64_t kept_changed;      /* ... left alone (keep_changed) */
    uint64_t missing_results;   /* current results of metrics not in the
                                   set (or not for their tenant) */
    uint64_t retired_missing;   /* ... made history (retire_missing) */
    char changed[256];          /* "booking_completed (1,204), ..." */
};

/*
 * Scores the conversations of the filter: for each one, the metrics whose
 * current result is missing or stale (another rubric version, evaluator or
 * conversation content) are evaluated and stored; the rest is left alone,
 * so a second run writes nothing. This is the one place that chooses the
 * evaluator: the LLM judge of `cfg` when llm.base_url is set (see
 * README, "The LLM judge"; opts->dry_run and opts->max_cost apply to it
 * only), else the offline rules evaluator with the lexicon for
 * opts->sentiment_metric (saying so in the log).
 *
 * Only the rubrics and scorecards of a conversation's tenant are
 * evaluated (docs/rubric-format.md, `tenants`); scorecards are computed
 * after their metrics, whenever one of those was written or the
 * scorecard is stale.
 *
 * A rubric set that would replace stored results is a deliberate
 * choice: when current results of the filter's conversations carry
 * another version of a metric (or scorecard) of the set than the set's,
 * and that metric is not named in opts->metrics, the run returns
 * CS_EINVALID before writing anything (out->changed names them) unless
 * opts->rubrics_changed (re-score them) or opts->keep_changed (leave
 * them, counted in out->kept_changed). Current results of metrics the
 * set does not have stay current (counted in out->missing_results)
 * unless opts->retire_missing.
 *
 * Values the agent logged (its `metrics`) are stored with evaluator
 * "agent" and not judged, checked against their rubric's type when they
 * name one. A result is current only for the content it was computed
 * from: a value the agent no longer logs, or a result of a rubric no
 * longer in the set, becomes history when the content changes. Evidence
 * and rationale are stored redacted (cs_redact_new_configured). Shows
 * progress on a terminal. Returns 0 or the store's (or the config's
 * redact rules') error; what was flushed is kept, and out->stored says
 * for how many conversations. A SIGTERM or SIGINT caught (cs_sig_catch)
 * stops the run cleanly: no new conversation is claimed and no new
 * request sent, LLM requests on the wire get CS_SCORE_STOP_GRACE_S to
 * answer (then they are cancelled), what is answered is stored, the
 * claims are released, and it returns 0 with out->interrupted set.
 */
#define CS_SCORE_STOP_GRACE_S 10
int cs_score_run(struct cs_score_stats *out, struct cs_store *st,
                 const struct cs_rubric_set *set, const struct cs_config *cfg,
                 const struct cs_score_opts *opts, struct cs_err *err);

#endif
