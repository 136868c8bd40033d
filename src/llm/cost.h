/* cost.h - what judging costs: prices, calibrated estimates, a budget */
#ifndef CS_LLM_COST_H
#define CS_LLM_COST_H

#include <stddef.h>

#include "model/usage.h"

/*
 * Usage:
 *
 *     struct cs_llm_budget b;
 *
 *     cs_llm_budget_init(&b, max_cost);            // 0: no cap
 *     prompt = cs_llm_calibrated_prompt(&cal, g->prompt_tokens);
 *     est = cs_llm_cost(&prices, prompt, cached_share * prompt,
 *                       cs_llm_calibrated_completion(&cal, g->n));
 *     if (!cs_llm_budget_reserve(&b, est))
 *         ...             // would pass the cap: wait for answers, or stop
 *     ... send, and when the answer (or failure) arrives:
 *     cs_llm_budget_settle(&b, est, actual);       // actual 0 on failure
 *
 * A request is sent only when what was spent, plus the estimates of the
 * requests in flight, plus its own estimate stays within the cap. Each
 * reservation is replaced by the request's actual cost when it settles,
 * so a run spends at most the cap plus what the requests in flight cost
 * beyond their estimates (b.overshoot sums that excess, b.max_excess is
 * the largest). Until usage calibrates the cached share, estimates
 * reserve the uncached price: a cache hit only makes the cost lower.
 *
 * Estimates are calibrated against recorded usage: the prompt builder's
 * estimate (bytes / 4) scaled by what providers counted for the same
 * estimate, and completion tokens per metric as answers used them, with
 * the built-in guess below until CS_LLM_CALIBRATE_MIN requests are known.
 */

/* Completion tokens per metric assumed before any usage is recorded. */
#define CS_LLM_COMPLETION_PER_METRIC 60
/* Requests of recorded usage needed before estimates follow them. */
#define CS_LLM_CALIBRATE_MIN 20
/* A prompt cache like OpenAI's: prefixes of 1,024 tokens and more, in
 * steps of 128 tokens. */
#define CS_LLM_CACHE_MIN 1024
#define CS_LLM_CACHE_STEP 128

/* Prices per 1,000 tokens. */
struct cs_llm_prices {
    double in;          /* prompt tokens not served from a cache */
    double cached_in;   /* prompt tokens served from a cache */
    double out;         /* completion tokens */
};

/* What one request's usage costs: `cached` (capped at `prompt`) at the
 * cached price, the rest of `prompt` at the input price; negative counts
 * (unknown) count as 0. */
double cs_llm_cost(const struct cs_llm_prices *p, long prompt, long cached,
                   long completion);

/* The tokens a provider's prompt cache can serve of a request whose
 * constant prefix is `prefix_tokens` long once an earlier request has
 * sent the same prefix: the prefix rounded down to a cache step, 0 below
 * CS_LLM_CACHE_MIN. */
long cs_llm_expected_cached(long prefix_tokens);

/* Adds `more` to `u`. */
void cs_llm_usage_add(struct cs_llm_usage *u, const struct cs_llm_usage *more);

/* The prompt tokens a provider will count for a request estimated at
 * `estimate` (cs_llm_estimate_tokens), by `cal` (NULL: none known). */
long cs_llm_calibrated_prompt(const struct cs_llm_usage *cal, long estimate);

/* The completion tokens expected for an answer on `metrics` metrics. */
long cs_llm_calibrated_completion(const struct cs_llm_usage *cal,
                                  size_t metrics);

/* 1 when `cal` holds enough usage to calibrate with. */
int cs_llm_calibrated(const struct cs_llm_usage *cal);

struct cs_llm_budget {
    double cap;         /* 0: none */
    double spent;       /* settled */
    double reserved;    /* estimates of the requests in flight */
    unsigned in_flight;
    double overshoot;   /* sum of (actual - estimate) where positive */
    double max_excess;  /* the largest of those */
};

void cs_llm_budget_init(struct cs_llm_budget *b, double cap);

/* Reserves `estimate` and returns 1 when spent + reserved + estimate
 * stays within the cap (always without one), else 0 and nothing
 * changes. */
int cs_llm_budget_reserve(struct cs_llm_budget *b, double estimate);

/* Replaces the reservation `estimate` of a request by what it cost,
 * `actual` (0 when it failed without usage). */
void cs_llm_budget_settle(struct cs_llm_budget *b, double estimate,
                          double actual);

#endif
