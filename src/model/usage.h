/* usage.h - what LLM requests used: tokens estimated, counted and paid */
#ifndef CS_MODEL_USAGE_H
#define CS_MODEL_USAGE_H

#include <stdint.h>

/*
 * Sums over some requests (a run, a batch, the recent past), as the
 * provider reported them and as the prompt builder estimated them before
 * sending; llm/cost.h calibrates estimates with them and store/usage.h
 * records them per run.
 */
struct cs_llm_usage {
    uint64_t requests;      /* answered, with usage */
    uint64_t prompt_est;    /* prompt tokens estimated (llm/prompt.h) */
    uint64_t prompt;        /* prompt tokens the provider counted */
    uint64_t cached;        /* ... of which its prompt cache served */
    uint64_t completion;    /* completion tokens */
    uint64_t metrics;       /* metrics the requests judged */
    double cost;
};

#endif
