/* cost.c - what judging costs: prices, calibrated estimates, a budget */
#include "llm/cost.h"

#include <assert.h>
#include <math.h>

double cs_llm_cost(const struct cs_llm_prices *p, long prompt, long cached,
                   long completion)
{
    if (prompt < 0)
        prompt = 0;
    if (cached < 0)
        cached = 0;
    if (cached > prompt)
        cached = prompt;
    if (completion < 0)
        completion = 0;
    return (double)(prompt - cached) / 1000.0 * p->in +
           (double)cached / 1000.0 * p->cached_in +
           (double)completion / 1000.0 * p->out;
}

long cs_llm_expected_cached(long prefix_tokens)
{
    if (prefix_tokens < CS_LLM_CACHE_MIN)
        return 0;
    return prefix_tokens - (prefix_tokens - CS_LLM_CACHE_MIN) %
                               CS_LLM_CACHE_STEP;
}

void cs_llm_usage_add(struct cs_llm_usage *u, const struct cs_llm_usage *more)
{
    u->requests += more->requests;
    u->prompt_est += more->prompt_est;
    u->prompt += more->prompt;
    u->cached += more->cached;
    u->completion += more->completion;
    u->metrics += more->metrics;
    u->cost += more->cost;
}

int cs_llm_calibrated(const struct cs_llm_usage *cal)
{
    return cal && cal->requests >= CS_LLM_CALIBRATE_MIN &&
           cal->prompt_est > 0 && cal->metrics > 0;
}

long cs_llm_calibrated_prompt(const struct cs_llm_usage *cal, long estimate)
{
    if (!cs_llm_calibrated(cal))
        return estimate;
    return (long)ceil((double)estimate * (double)cal->prompt /
                      (double)cal->prompt_est);
}

long cs_llm_calibrated_completion(const struct cs_llm_usage *cal,
                                  size_t metrics)
{
    if (!cs_llm_calibrated(cal))
        return CS_LLM_COMPLETION_PER_METRIC * (long)metrics;
    return (long)ceil((double)metrics * (double)cal->completion /
                      (double)cal->metrics);
}

void cs_llm_budget_init(struct cs_llm_budget *b, double cap)
{
    assert(b && cap >= 0);
    b->cap = cap;
    b->spent = b->reserved = b->overshoot = b->max_excess = 0;
    b->in_flight = 0;
}

int cs_llm_budget_reserve(struct cs_llm_budget *b, double estimate)
{
    if (b->cap > 0 && b->spent + b->reserved + estimate > b->cap)
        return 0;
    b->reserved += estimate;
    b->in_flight++;
    return 1;
}

void cs_llm_budget_settle(struct cs_llm_budget *b, double estimate,
                          double actual)
{
    assert(b->in_flight > 0);
    b->in_flight--;
    b->reserved -= estimate;
    /* Float sums: no reservation left means none. */
    if (b->in_flight == 0 || b->reserved < 0)
        b->reserved = 0;
    b->spent += actual;
    if (actual > estimate) {
        b->overshoot += actual - estimate;
        if (actual - estimate > b->max_excess)
            b->max_excess = actual - estimate;
    }
}
