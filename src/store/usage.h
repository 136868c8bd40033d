/* usage.h - what LLM scoring runs used, recorded per run */
#ifndef CS_STORE_USAGE_H
#define CS_STORE_USAGE_H

#include "base/err.h"
#include "model/usage.h"
#include "store/store.h"

/*
 * The table llm_usage (migration 40): one row per scoring run that sent
 * requests to an LLM, with the provider's counts next to the prompt
 * builder's estimates, so that later runs calibrate their estimates
 * (llm/cost.h) and a dry run knows the share a prompt cache served.
 */

/* Records `u` for a run of `model` in `mode` ("sync"). */
int cs_store_llm_usage_add(struct cs_store *st, const char *model,
                           const char *mode, const struct cs_llm_usage *u,
                           struct cs_err *err);

/* Sums into *out (zeroed first) the most recent runs of `model` in
 * `mode`, at most `runs` of them; all zero when none is recorded. */
int cs_store_llm_usage_recent(struct cs_llm_usage *out, struct cs_store *st,
                              const char *model, const char *mode, int runs,
                              struct cs_err *err);

#endif
