/* llm_score.h - scoring runs with an LLM judge (OpenAI-compatible API) */
#ifndef CS_SCORE_LLM_SCORE_H
#define CS_SCORE_LLM_SCORE_H

#include "config/config.h"
#include "score/score.h"

/*
 * Like cs_score_run, with the LLM of `cfg` as the judge (evaluator
 * "llm:<model>"): one request per conversation carrying every stale rubric
 * that applies (the others are "not_applicable" at no cost), many requests
 * in flight, retries with backoff, one re-ask for an invalid answer, then
 * "error" with the reason. With opts->dry_run nothing is sent: the stats
 * say how many requests, tokens and what cost it would take. With
 * opts->max_cost > 0 no request starts once that much was spent.
 */
int cs_score_llm_run(struct cs_score_stats *out, struct cs_store *st,
                     const struct cs_rubric_set *set,
                     const struct cs_config *cfg,
                     const struct cs_score_opts *opts, struct cs_err *err);

#endif
