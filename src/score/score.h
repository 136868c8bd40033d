/* score.h - scoring runs: what is stale, evaluate, store the results */
#ifndef CS_SCORE_SCORE_H
#define CS_SCORE_SCORE_H

#include <stdint.h>

#include "base/err.h"
#include "base/log.h"
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
};

struct cs_score_stats {
    uint64_t conversations;     /* looked at */
    uint64_t up_to_date;        /* nothing to do for them */
    uint64_t evaluations;       /* results written */
    uint64_t not_applicable;
    uint64_t errors;
    uint64_t agent;             /* values the agent logged itself */
    double seconds;
    /* LLM runs */
    uint64_t requests;          /* sent (re-asks included, retries not) */
    uint64_t http_tries;        /* on the wire, retries included */
    uint64_t tokens_in;
    uint64_t tokens_out;
    double cost;
    uint64_t left_for_later;    /* conversations not finished (max cost) */
};

/*
 * Scores the conversations of the filter: for each one, the metrics whose
 * current result is missing or stale (another rubric version, evaluator or
 * conversation content) are evaluated and stored; the rest is left alone,
 * so a second run writes nothing. Values the agent logged (its `metrics`)
 * are stored with evaluator "agent" and not judged. Shows progress on a
 * terminal. Returns 0 or the store's error (what was flushed is kept).
 */
/* Shared by the evaluators. */

/* 1 when `key` is in the NULL-terminated `list`. */
int cs_score_in_list(char *const *list, const char *key);

/* 1 when the current result of `key` in an item's summary is not the one
 * an evaluator would write now: none, an error, or another rubric version,
 * evaluator or conversation content. */
int cs_score_is_stale(const json_t *current, const char *key,
                      const char *version, const char *evaluator,
                      const char *hash);

/*
 * What every run walks with: the store filter (which, unless re-scoring on
 * demand, skips what is up to date for `evaluator`), the results writer,
 * the claiming cursor and the progress line. begin sets out->conversations
 * and out->up_to_date; on error, end is still safe. end frees everything
 * (releasing claims still held, see cs_store_score_cursor_free).
 */
struct cs_score_walk {
    struct cs_score_filter filter;
    char *want_text;
    struct cs_result_writer *w;
    struct cs_score_cursor *cur;
    struct cs_progress progress;
    long todo;                  /* conversations to walk */
};

int cs_score_walk_begin(struct cs_score_walk *wk, struct cs_store *st,
                        const struct cs_rubric_set *set,
                        const struct cs_score_opts *opts,
                        const char *evaluator, struct cs_score_stats *out,
                        struct cs_err *err);
void cs_score_walk_end(struct cs_score_walk *wk);

int cs_score_run(struct cs_score_stats *out, struct cs_store *st,
                 const struct cs_rubric_set *set,
                 const struct cs_score_opts *opts, struct cs_err *err);

#endif
