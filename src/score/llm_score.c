/* llm_score.c - scoring runs with an LLM judge (OpenAI-compatible API) */
#include "score/score_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sig.h"
#include "llm/answer.h"
#include "llm/cost.h"
#include "llm/prompt.h"
#include "net/http.h"
#include "score/rules.h"
#include "base/hash.h"
#include "store/batches.h"
#include "store/usage.h"

/* Recorded runs of the model that calibrate a run's estimates. */
#define CALIBRATION_RUNS 20

struct run;

/* One conversation being judged. */
struct job {
    struct run *run;
    struct cs_score_item item;
    struct cs_eval_result *res;     /* set->n */
    const char **evaluator;         /* set->n */
    unsigned char *store;           /* set->n: write this result */
    unsigned char *later;           /* set->n: round two (metric condition) */
    size_t *judge;                  /* indices to ask about this round */
    size_t n_judge;
    int round;
    struct cs_llm_plan plan;
    size_t group;
    int reasked;
    char *body;                     /* the request in flight */
    struct cs_store_llm_waiting *waiting;   /* its requests in batches */
    size_t n_waiting;
    struct job *next_wait;          /* run->waiting link */
    int in_flight;                  /* it holds a reservation: */
    double reserved;                /* ... its estimated cost */
    long estimate;                  /* ... its prompt estimate */
    long tokens_in;
    long tokens_out;
    long tokens_cached;
};

/* The prompt prefix of the conversations whose tenant has these rubrics
 * (most tenants share one). */
struct shared_prefix {
    struct shared_prefix *next;
    struct cs_llm_prefix *pre;
    uint64_t requests;              /* a dry run's requests under it */
};

struct run {
    const struct cs_rubric_set *set;
    const struct cs_score_opts *opts;
    const struct cs_config *cfg;
    struct cs_score_walk *wk;
    struct cs_rules *rules;
    struct cs_http *http;
    struct cs_score_stats *stats;
    struct cs_buf url;
    struct cs_llm_prices prices;
    struct cs_llm_budget budget;
    struct cs_llm_usage hist;       /* recorded before the run */
    struct cs_llm_usage use;        /* this run's answered requests */
    struct cs_llm_usage use_batch;  /* ... and the batch answers it used */
    struct cs_llm_prices batch_prices;
    int batched;                    /* batches hold requests: look there */
    struct cs_score_batch *batch;   /* score --batch: the one being made */
    json_t *consumed;               /* [[batch, tenant, id, hash], ...] of
                                       the batch answers used */
    struct cs_store *st;
    double err_sum;                 /* sum of (cost - estimate), settled */
    double err_at_reserve;          /* ... at the last reservation */
    struct job *waiting;            /* requests waiting for the budget */
    struct shared_prefix *prefixes;
    size_t *scratch;                /* set->n */
    unsigned char *in_prefix;       /* set->n */
    char evaluator[160];
    size_t jobs;                    /* in progress */
    int stop;                       /* max cost reached */
    int interrupted;                /* a signal: no new requests */
    int cancelling;                 /* freeing the client: no new work */
    int failed;                     /* a store error: stop everything */
    struct cs_err ferr;
};

static double price(const struct run *r, long in, long cached, long out)
{
    return cs_llm_cost(&r->prices, in, cached, out);
}

/*
 * The prefix for the conversations of `tenant`, borrowed from the run:
 * every rubric of the run's scope for that tenant, with the metrics their
 * conditions depend on, in the set's order. The same for every
 * conversation of the tenant whichever metrics are stale or apply to it,
 * so that a provider's prompt cache serves it.
 */
static const struct cs_llm_prefix *prefix_for(struct run *r,
                                              const char *tenant)
{
    const struct cs_rubric_set *set = r->set;
    struct shared_prefix *sp;
    size_t n = 0;

    memset(r->in_prefix, 0, set->n ? set->n : 1);
    for (size_t i = 0; i < set->n; i++) {
        const struct cs_rubric *rb = &set->rubrics[i];

        if (!cs_score_in_scope(r->opts, rb->key) ||
            !cs_rubric_for_tenant(rb, tenant))
            continue;
        r->in_prefix[i] = 1;
        if (rb->applies.kind == CS_APPLIES_METRIC)
            r->in_prefix[rb->applies.dep] = 1;
    }
    for (size_t i = 0; i < set->n; i++) {
        if (r->in_prefix[i])
            r->scratch[n++] = i;
    }
    for (sp = r->prefixes; sp; sp = sp->next) {
        if (sp->pre->n == n &&
            (n == 0 ||
             memcmp(sp->pre->metrics, r->scratch, n * sizeof(size_t)) == 0))
            return sp->pre;
    }
    sp = cs_xcalloc(1, sizeof(*sp));
    cs_llm_prefix_new(&sp->pre, set, r->scratch, n);
    sp->next = r->prefixes;
    r->prefixes = sp;
    return sp->pre;
}

static void prefixes_free(struct shared_prefix *sp)
{
    while (sp) {
        struct shared_prefix *next = sp->next;

        cs_llm_prefix_free(sp->pre);
        free(sp);
        sp = next;
    }
}

/* What calibrates the estimates: the recorded runs of the model and this
 * run so far. */
static void calibration(struct cs_llm_usage *out, const struct run *r)
{
    *out = r->hist;
    cs_llm_usage_add(out, &r->use);
}

/* The expected cost of a request whose body is `bytes` long and asks
 * about `metrics` metrics: the prompt estimate calibrated on recorded
 * usage, the cached share as recorded (none until calibrated), the
 * completion as answers used it. Sets *estimate_out to the raw prompt
 * estimate (what usage records calibrate against). */
static double estimate_cost(const struct run *r,
                            const struct cs_llm_prices *prices, size_t bytes,
                            size_t metrics, long *estimate_out)
{
    struct cs_llm_usage cal;
    long est = cs_llm_estimate_tokens(bytes), prompt, cached = 0;

    calibration(&cal, r);
    prompt = cs_llm_calibrated_prompt(&cal, est);
    if (cs_llm_calibrated(&cal) && cal.prompt > 0)
        cached = (long)((double)prompt * (double)cal.cached /
                        (double)cal.prompt);
    *estimate_out = est;
    return cs_llm_cost(prices, prompt, cached,
                       cs_llm_calibrated_completion(&cal, metrics));
}

/*
 * Reserves the cost of sending `body` (asking about `metrics` metrics)
 * for `j` against the run's cap. Returns 1 when reserved; 0 when it would
 * pass the cap while other requests are in flight (their answers may
 * leave room: with `may_wait` the caller waits for them); -1 when it
 * would pass the cap with nothing in flight, or cannot wait: the run
 * stops sending (saying so once).
 */
static int reserve(struct job *j, const char *body, size_t metrics,
                   int may_wait)
{
    struct run *r = j->run;
    long est;
    double cost = estimate_cost(r, &r->prices, strlen(body), metrics, &est);

    assert(!j->in_flight);
    if (!cs_llm_budget_reserve(&r->budget, cost)) {
        if (may_wait && r->budget.in_flight > 0)
            return 0;
        if (!r->stop)
            cs_log(CS_LOG_WARN, "the maximum cost of %.4f would be passed: "
                   "no new requests (%.4f spent, %.4f in flight)",
                   r->opts->max_cost, r->budget.spent, r->budget.reserved);
        r->stop = 1;
        return -1;
    }
    r->err_at_reserve = r->err_sum;
    r->stats->max_in_flight_at_cap = r->budget.in_flight;
    j->in_flight = 1;
    j->reserved = cost;
    j->estimate = est;
    return 1;
}

/* The request of `j` ended: what it cost (0 without usage) replaces its
 * reservation. */
static void settle(struct job *j, double actual)
{
    struct run *r = j->run;

    if (!j->in_flight)
        return;
    cs_llm_budget_settle(&r->budget, j->reserved, actual);
    r->err_sum += actual - j->reserved;
    j->in_flight = 0;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    settle(j, 0);
    cs_eval_results_release(j->res, j->run->set->n);
    free(j->res);
    free(j->evaluator);
    free(j->store);
    free(j->later);
    free(j->judge);
    free(j->body);
    cs_store_llm_waiting_free(j->waiting, j->n_waiting);
    cs_llm_plan_release(&j->plan);
    cs_score_item_release(&j->item);
    free(j);
}

/* Stores what the job decided and releases its claim. */
static void job_finish(struct job *j, int complete)
{
    struct run *r = j->run;
    const struct cs_rubric_set *set = r->set;
    size_t judged = 0;
    int ret = 0;

    for (size_t i = 0; i < set->n; i++)
        judged += j->store[i] && j->evaluator[i] == r->evaluator;
    if (!complete)
        r->stats->left_for_later++;
    for (size_t i = 0; i < set->n && !ret && !r->failed; i++) {
        struct cs_score_usage use = {0, 0, 0, 0};

        /* Unfinished (max cost): what has no value stays stale. */
        if (!j->store[i] || !j->res[i].value)
            continue;
        /* A request's usage is shared equally by the metrics it judged. */
        if (j->evaluator[i] == r->evaluator && judged) {
            use.tokens_in = j->tokens_in / (long)judged;
            use.tokens_out = j->tokens_out / (long)judged;
            use.tokens_cached = j->tokens_cached / (long)judged;
            use.cost = price(r, j->tokens_in, j->tokens_cached,
                             j->tokens_out) / (double)judged;
        }
        ret = cs_score_walk_put(r->wk, &j->item, set->rubrics[i].key,
                                set->rubrics[i].version, j->evaluator[i],
                                &j->res[i], &use, &r->ferr);
    }
    /* Scorecards once every metric is decided (unfinished: later). */
    if (!ret && !r->failed && complete) {
        size_t n = 0;

        for (size_t i = 0; i < set->n; i++)
            j->store[i] = j->store[i] && j->res[i].value;
        ret = cs_score_walk_scorecards(r->wk, &j->item, j->res, j->store,
                                       !r->opts->dry_run, &n, &r->ferr);
    }
    /* Every metric decided: the answers of ended batches this run did
     * not use were to requests it no longer makes, and go with the used
     * ones (a key listed twice is deleted once). */
    for (size_t i = 0; complete && r->consumed && i < j->n_waiting; i++) {
        const struct cs_store_llm_waiting *w = &j->waiting[i];

        if (!w->open)
            json_array_append_new(r->consumed,
                                  json_pack("[I,s,s,s]",
                                            (json_int_t)w->batch_id,
                                            j->item.conv->tenant,
                                            j->item.conv->id, w->body_hash));
    }
    if (!ret && !r->failed) {
        cs_score_walk_finished(r->wk, complete);
        ret = cs_store_claim_put(j->item.claim, &r->ferr);
    }
    if (ret)
        r->failed = 1;
    r->jobs--;
    job_free(j);
}

static void send_current(struct job *j);
static void take_answer(struct job *j, const char *body, size_t len,
                        int batched);

/* Plans the requests for j->judge; returns 0 when there is nothing to ask. */
static int plan_round(struct job *j)
{
    struct run *r = j->run;
    struct cs_err err = {0, ""};
    int ret;

    cs_llm_plan_release(&j->plan);
    j->group = 0;
    if (j->n_judge == 0)
        return 0;
    ret = cs_llm_plan_shared(&j->plan, prefix_for(r, j->item.conv->tenant),
                             j->judge, j->n_judge, j->item.conv, r->wk->rd,
                             r->cfg->llm_context_tokens, &err);
    if (ret) {
        for (size_t k = 0; k < j->n_judge; k++)
            cs_eval_result_set_error(&j->res[j->judge[k]],
                                     "not sent to the LLM: %s", err.msg);
        return 0;
    }
    return j->plan.n_groups > 0;
}

/* After the last group of a round: a second round for metrics whose
 * condition is another metric's result, else the end. */
static void next_round_or_finish(struct job *j)
{
    struct run *r = j->run;

    if (j->round == 1) {
        j->round = 2;
        j->n_judge = 0;
        for (size_t i = 0; i < r->set->n; i++) {
            if (!j->later[i])
                continue;
            if (cs_rules_applies(r->rules, i, j->item.conv, j->res))
                j->judge[j->n_judge++] = i;
        }
        if (plan_round(j)) {
            send_current(j);
            return;
        }
    }
    job_finish(j, 1);
}

static void next_group(struct job *j)
{
    j->group++;
    j->reasked = 0;
    if (j->group < j->plan.n_groups)
        send_current(j);
    else
        next_round_or_finish(j);
}

/*
 * When batches hold the current request (the same body) of `j`: its
 * batch still runs (the conversation waits for it: finished unfinished),
 * or it answered (taken as a synchronous answer would be) or failed (its
 * metrics are "error"). Else, in a --batch run, the request goes in the
 * new batch and the conversation waits for it. Returns 1 when the
 * request was dealt with so (a store error fails the run), 0 to send it.
 */
static int from_batches(struct job *j)
{
    struct run *r = j->run;
    const struct cs_llm_group *g = &j->plan.groups[j->group];
    struct cs_store_llm_waiting *w = NULL;
    char hash[65];
    double cost = 0;
    int ret = 0;

    cs_sha256_hex(j->body, strlen(j->body), hash, 64);
    for (size_t i = 0; i < j->n_waiting && !w; i++) {
        if (strcmp(j->waiting[i].body_hash, hash) == 0)
            w = &j->waiting[i];
    }
    if (w && w->open) {
        r->stats->batch_pending++;
        job_finish(j, 0);
        return 1;
    }
    if (w) {
        json_array_append_new(r->consumed,
                              json_pack("[I,s,s,s]", (json_int_t)w->batch_id,
                                        j->item.conv->tenant,
                                        j->item.conv->id, hash));
        r->stats->requests++;
        if (w->answer) {
            take_answer(j, w->answer, strlen(w->answer), 1);
        } else {
            for (size_t k = 0; k < g->n; k++)
                cs_eval_result_set_error(&j->res[g->metrics[k]],
                                         "LLM batch request failed: %s",
                                         w->error);
            next_group(j);
        }
        return 1;
    }
    if (!r->opts->batch)
        return 0;
    {
        long est;

        /* At batch prices: what the batch will cost, against the cap. */
        cost = estimate_cost(r, &r->batch_prices, strlen(j->body), g->n,
                             &est);
        if (!cs_llm_budget_reserve(&r->budget, cost)) {
            if (!r->stop)
                cs_log(CS_LOG_WARN, "the maximum cost of %.4f would be "
                       "passed: no more requests in the batch",
                       r->opts->max_cost);
            r->stop = 1;
            job_finish(j, 0);
            return 1;
        }
        ret = cs_score_batch_add(r->batch, r->st, r->cfg,
                                 j->item.conv->tenant, j->item.conv->id,
                                 j->body, hash, est, g->n, cost, &r->ferr);
    }
    if (ret == CS_ETOOBIG) {
        /* No batch takes it: its metrics are "error", with why. */
        cs_llm_budget_settle(&r->budget, cost, 0);
        cs_log(CS_LOG_WARN, "conversation '%s' of '%s': %s",
               j->item.conv->id, j->item.conv->tenant, r->ferr.msg);
        for (size_t k = 0; k < g->n; k++)
            cs_eval_result_set_error(&j->res[g->metrics[k]],
                                     "not sent to the LLM: %s",
                                     r->ferr.msg);
        cs_err_clear(&r->ferr);
        next_group(j);
        return 1;
    }
    if (ret)
        r->failed = 1;
    else
        r->stats->batch_queued++;
    job_finish(j, 0);
    return 1;
}

/* Posts the request of the current group (or gives up past the budget). */
static void send_current(struct job *j)
{
    struct run *r = j->run;
    struct cs_err err = {0, ""};
    int ret;

    if (r->stop || r->failed || r->interrupted) {
        job_finish(j, 0);
        return;
    }
    free(j->body);
    j->body = NULL;
    ret = cs_llm_request_body(&j->body, &j->plan, j->group,
                              r->cfg->llm_model, &err);
    if (!ret && r->batched) {
        int done = from_batches(j);

        if (done)
            return;
    }
    if (!ret) {
        switch (reserve(j, j->body, j->plan.groups[j->group].n, 1)) {
        case 0:
            /* Sent again once an answer settles what it cost. */
            j->next_wait = r->waiting;
            r->waiting = j;
            return;
        case -1:
            job_finish(j, 0);
            return;
        default:
            break;
        }
    }
    if (!ret)
        ret = cs_http_post(r->http, r->url.ptr, j->body, strlen(j->body), j,
                           &err);
    if (ret) {
        settle(j, 0);
        const struct cs_llm_group *g = &j->plan.groups[j->group];

        for (size_t k = 0; k < g->n; k++)
            cs_eval_result_set_error(&j->res[g->metrics[k]],
                                     "not sent to the LLM: %s", err.msg);
        next_group(j);
        return;
    }
    r->stats->requests++;
}

static void on_done(const struct cs_http_result *hres, void *user)
{
    struct job *j = user;
    struct run *r = j->run;
    const struct cs_llm_group *g = &j->plan.groups[j->group];

    /* Stopping on a signal, a failed try is not an answer to store: the
     * metrics stay stale for the next run, as if cancelled. */
    if (r->cancelling || hres->fail == CS_HTTP_CANCELLED ||
        (r->interrupted && hres->code)) {
        job_finish(j, 0);
        return;
    }
    if (hres->code) {
        settle(j, 0);
        for (size_t k = 0; k < g->n; k++)
            cs_eval_result_set_error(&j->res[g->metrics[k]],
                                     "LLM request failed: %s", hres->error);
        next_group(j);
        return;
    }
    take_answer(j, hres->body, hres->body_len, 0);
}

/*
 * Takes the answer `body` to the current group's request: validates it,
 * counts and prices its usage (at batch prices when it came from a
 * batch, `batched`), re-asks once when it is invalid (not a batch's:
 * its metrics are "error" now and go in the next batch), and goes on.
 */
static void take_answer(struct job *j, const char *body, size_t len,
                        int batched)
{
    struct run *r = j->run;
    const struct cs_llm_group *g = &j->plan.groups[j->group];
    struct cs_llm_answer a;
    struct cs_err err = {0, ""};
    int ret;

    ret = cs_llm_answer_parse(&a, &j->plan, j->group, body, len, &err);
    if (a.prompt_tokens > 0) {
        j->tokens_in += a.prompt_tokens;
        r->stats->tokens_in += (uint64_t)a.prompt_tokens;
    }
    if (a.completion_tokens > 0) {
        j->tokens_out += a.completion_tokens;
        r->stats->tokens_out += (uint64_t)a.completion_tokens;
    }
    if (a.cached_tokens > 0 && a.prompt_tokens > 0) {
        long c = a.cached_tokens < a.prompt_tokens ? a.cached_tokens
                                                   : a.prompt_tokens;

        j->tokens_cached += c;
        r->stats->tokens_cached += (uint64_t)c;
    }
    {
        double cost = batched ? cs_llm_cost(&r->batch_prices,
                                            a.prompt_tokens, a.cached_tokens,
                                            a.completion_tokens)
                              : price(r, a.prompt_tokens, a.cached_tokens,
                                      a.completion_tokens);

        r->stats->cost += cost;
        if (batched) {
            r->stats->batch_cost += cost;
            r->stats->batch_used++;
        } else {
            settle(j, cost);
        }
        if (a.prompt_tokens > 0 && a.completion_tokens >= 0) {
            struct cs_llm_usage u = {1, (uint64_t)j->estimate,
                                     (uint64_t)a.prompt_tokens, 0,
                                     (uint64_t)a.completion_tokens, g->n,
                                     cost};

            if (a.cached_tokens > 0)
                u.cached = (uint64_t)(a.cached_tokens < a.prompt_tokens
                                          ? a.cached_tokens
                                          : a.prompt_tokens);
            cs_llm_usage_add(batched ? &r->use_batch : &r->use, &u);
        }
    }
    if (ret && !batched && !j->reasked && !r->stop && !r->interrupted &&
        (a.problems || !a.content)) {
        /* Once: send the answer back with what is wrong with it, or, when
         * the reply was no readable chat completion, ask again. */
        char *retry = NULL;

        if (a.problems)
            ret = cs_llm_request_retry_body(&retry, j->body, a.content,
                                            a.problems, &err);
        else
            retry = cs_xstrdup(j->body);
        if ((ret == 0 || !a.problems) && reserve(j, retry, g->n, 0) > 0) {
            if (cs_http_post(r->http, r->url.ptr, retry, strlen(retry), j,
                             &err) == 0) {
                free(j->body);
                j->body = retry;
                j->reasked = 1;
                r->stats->requests++;
                cs_llm_answer_release(&a);
                return;
            }
            settle(j, 0);
        }
        free(retry);
    }
    for (size_t k = 0; k < g->n && k < a.n; k++) {
        size_t i = g->metrics[k];

        cs_eval_result_release(&j->res[i]);
        j->res[i] = a.results[k];
        memset(&a.results[k], 0, sizeof(a.results[k]));
        if (!j->res[i].value)
            cs_eval_result_set_error(&j->res[i], "no answer for this "
                                     "metric");
    }
    cs_llm_answer_release(&a);
    next_group(j);
}

/*
 * Counts what request `g` of a dry run would take and cost three ways:
 * synchronously, in a batch, and synchronously with the prompt cache
 * hits to expect. Those come from recorded usage (the share of prompt
 * tokens a cache served) when there is some, else from the prefix: a
 * request whose prefix an earlier one sent gets the cacheable part of it.
 */
static void dry_count(struct run *r, const struct cs_llm_group *g)
{
    struct cs_score_stats *s = r->stats;
    struct cs_llm_prices batch = {r->cfg->llm_batch_price_in_per_1k,
                                  r->cfg->llm_batch_price_cached_in_per_1k,
                                  r->cfg->llm_batch_price_out_per_1k};
    struct shared_prefix *sp;
    long prompt = cs_llm_calibrated_prompt(&r->hist, g->prompt_tokens);
    long out = cs_llm_calibrated_completion(&r->hist, g->n), cached = 0;

    if (s->cache_recorded) {
        cached = (long)((double)prompt * (double)r->hist.cached /
                        (double)r->hist.prompt);
    } else {
        for (sp = r->prefixes; sp && sp->pre != g->prefix; sp = sp->next)
            ;
        /* A split group's own prefix is not shared: no hits counted. */
        if (sp && sp->requests++ > 0)
            cached = cs_llm_expected_cached(
                cs_llm_calibrated_prompt(&r->hist, g->prefix_tokens));
        if (cached > prompt)
            cached = prompt;
    }
    s->requests++;
    s->tokens_in += (uint64_t)prompt;
    s->tokens_out += (uint64_t)out;
    s->tokens_cached += (uint64_t)cached;
    s->cost += price(r, prompt, 0, out);
    s->cost_batch += cs_llm_cost(&batch, prompt, 0, out);
    s->cost_cached += price(r, prompt, cached, out);
}

/* Decides what a conversation needs and starts its first request. */
static void job_start(struct run *r, struct cs_score_item *item)
{
    const struct cs_rubric_set *set = r->set;
    const struct cs_score_opts *o = r->opts;
    struct job *j = cs_xcalloc(1, sizeof(*j));
    size_t any = 0;

    j->run = r;
    j->item = *item;
    j->res = cs_xcalloc(set->n ? set->n : 1, sizeof(*j->res));
    j->evaluator = cs_xcalloc(set->n ? set->n : 1, sizeof(*j->evaluator));
    j->store = cs_xcalloc(set->n ? set->n : 1, 1);
    j->later = cs_xcalloc(set->n ? set->n : 1, 1);
    j->judge = cs_xcalloc(set->n ? set->n : 1, sizeof(*j->judge));
    j->round = 1;
    r->jobs++;
    for (size_t i = 0; i < set->n; i++)
        j->evaluator[i] = r->evaluator;
    /* What the agent logged is stored, not judged. */
    cs_score_agent_take(j->res, j->evaluator, set, item->conv);
    if (cs_score_agent_store(r->wk, &j->item, !o->dry_run, &any,
                             &r->ferr) < 0)
        r->failed = 1;
    cs_rules_prepare(r->rules, item->conv);
    for (size_t k2 = 0; k2 < set->n; k2++) {
        size_t i = set->order[k2];
        const struct cs_rubric *rb = &set->rubrics[i];

        /* Only the rubrics of the conversation's tenant. */
        if (!cs_score_in_scope(o, rb->key) ||
            !cs_rubric_for_tenant(rb, item->conv->tenant))
            continue;
        if (!o->force &&
            !cs_score_is_stale(item->current, rb->key, rb->version,
                               j->evaluator[i], item->content_hash))
            continue;
        j->store[i] = 1;
        any++;
        if (j->evaluator[i] != r->evaluator)
            continue; /* the agent's value */
        if (rb->applies.kind == CS_APPLIES_METRIC) {
            j->later[i] = 1;
            /* Its condition needs that metric judged here too. */
            if (!j->store[rb->applies.dep] &&
                j->evaluator[rb->applies.dep] == r->evaluator) {
                j->store[rb->applies.dep] = 1;
                j->judge[j->n_judge++] = rb->applies.dep;
            }
            continue;
        }
        if (cs_rules_applies(r->rules, i, item->conv, j->res))
            j->judge[j->n_judge++] = i;
    }
    if (!any) {
        r->stats->up_to_date++;
        job_finish(j, 1);
        return;
    }
    if (r->batched && !o->dry_run &&
        cs_store_llm_waiting(&j->waiting, &j->n_waiting, r->st,
                             item->conv->tenant, item->conv->id,
                             &r->ferr) < 0)
        r->failed = 1;
    if (r->opts->dry_run) {
        if (plan_round(j)) {
            for (size_t g = 0; g < j->plan.n_groups; g++)
                dry_count(r, &j->plan.groups[g]);
        }
        memset(j->store, 0, set->n); /* nothing is written */
        job_finish(j, 1);
        return;
    }
    if (plan_round(j))
        send_current(j);
    else
        next_round_or_finish(j);
}

/* Sends again what waited for the budget (or, stopping, finishes it). */
static void retry_waiting(struct run *r)
{
    struct job *j = r->waiting, *next;

    r->waiting = NULL;
    for (; j; j = next) {
        next = j->next_wait;
        j->next_wait = NULL;
        if (r->cancelling)
            job_finish(j, 0);
        else
            send_current(j);
    }
}

int cs_score_llm_run(struct cs_score_stats *out, struct cs_store *st,
                     const struct cs_rubric_set *set,
                     const struct cs_config *cfg,
                     const struct cs_score_opts *opts, struct cs_err *err)
{
    struct run r;
    struct cs_http_opts ho;
    struct cs_score_walk wk;
    struct cs_http_stats hs;
    uint64_t walked = 0;
    size_t window;
    double t0 = cs_now(), stop_at = 0;
    int ret, more = 1;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    memset(&wk, 0, sizeof(wk));
    r.set = set;
    r.opts = opts;
    r.cfg = cfg;
    r.stats = out;
    r.wk = &wk;
    out->dry_run = opts->dry_run;
    cs_buf_init(&r.url);
    r.prices.in = cfg->llm_price_in_per_1k;
    r.prices.cached_in = cfg->llm_price_cached_in_per_1k;
    r.prices.out = cfg->llm_price_out_per_1k;
    r.scratch = cs_xcalloc(set->n ? set->n : 1, sizeof(*r.scratch));
    r.in_prefix = cs_xcalloc(set->n ? set->n : 1, 1);
    snprintf(r.evaluator, sizeof(r.evaluator), "llm:%s", cfg->llm_model);
    cs_buf_adds(&r.url, cfg->llm_base_url);
    while (r.url.len && r.url.ptr[r.url.len - 1] == '/')
        r.url.ptr[--r.url.len] = '\0';
    cs_buf_adds(&r.url, "/chat/completions");
    ret = cs_rules_new(&r.rules, set, err);
    if (!ret)
        cs_rules_set_limits(r.rules, (unsigned long)cfg->score_match_limit,
                            cfg->score_time_budget_ms);
    if (ret)
        goto done;
    cs_http_opts_init(&ho);
    ho.concurrency = (unsigned)cfg->llm_concurrency;
    ho.connect_timeout_ms = cfg->llm_connect_timeout_s * 1000;
    ho.timeout_ms = cfg->llm_timeout_s * 1000;
    ho.max_tries = (unsigned)cfg->llm_max_tries;
    ho.bearer = cfg->llm_api_key;
    ho.on_done = on_done;
    r.st = st;
    r.batch_prices.in = cfg->llm_batch_price_in_per_1k;
    r.batch_prices.cached_in = cfg->llm_batch_price_cached_in_per_1k;
    r.batch_prices.out = cfg->llm_batch_price_out_per_1k;
    r.consumed = json_array();
    cs_llm_budget_init(&r.budget, opts->max_cost);
    /* First what ended of the batches submitted before. */
    if (opts->batch && !opts->dry_run) {
        ret = cs_score_batch_collect(st, cfg, out, err);
        if (ret)
            goto done;
        cs_score_batch_new(&r.batch);
    }
    ret = cs_store_llm_batch_any(&r.batched, st, err);
    if (ret)
        goto done;
    r.batched = (r.batched || opts->batch) && !opts->dry_run;
    ret = cs_store_llm_usage_recent(&r.hist, st, cfg->llm_model, "sync",
                                    CALIBRATION_RUNS, err);
    if (ret)
        goto done;
    out->calibrated_on = cs_llm_calibrated(&r.hist) ? r.hist.requests : 0;
    out->cache_recorded = r.hist.prompt > 0 && cs_llm_calibrated(&r.hist);
    ret = cs_http_new(&r.http, &ho, err);
    if (!ret)
        ret = cs_score_walk_begin(&wk, st, set, cfg, opts, r.evaluator, out,
                                  err);
    if (ret)
        goto done;
    /* Keep twice the concurrency of conversations open, so the next
     * request is ready when a slot frees. */
    window = (size_t)cfg->llm_concurrency * 2;
    /* Under a cap, only what can be on the wire holds a reservation. */
    if (opts->max_cost > 0)
        window = (size_t)cfg->llm_concurrency;
    for (;;) {
        if (!r.interrupted && cs_sig_received()) {
            struct cs_http_stats now;

            /* Claim nothing more, send nothing more; what is on the wire
             * may still answer (it is paid for), for a while. */
            r.interrupted = cs_sig_received();
            stop_at = cs_now() + CS_SCORE_STOP_GRACE_S;
            cs_http_stop(r.http);
            cs_http_get_stats(&now, r.http);
            cs_log(CS_LOG_WARN, "stopping: waiting up to %d s for the %u "
                   "LLM requests in flight", CS_SCORE_STOP_GRACE_S,
                   now.in_flight);
        }
        while (more && !r.stop && !r.failed && !r.interrupted &&
               !r.waiting && r.jobs < window) {
            struct cs_score_item it;

            ret = cs_store_score_cursor_next(wk.cur, &it, err);
            if (ret < 0)
                goto drain;
            if (ret == 0) {
                more = 0;
                break;
            }
            walked++;
            job_start(&r, &it);
        }
        if (r.jobs == 0)
            break;
        if (r.interrupted && cs_now() >= stop_at) {
            cs_log(CS_LOG_WARN, "%zu conversations were still being judged: "
                   "left for the next run", r.jobs);
            break;
        }
        ret = cs_http_run(r.http, 200, err);
        if (ret < 0)
            goto drain;
        retry_waiting(&r);
        cs_progress_update(&wk.progress, walked - r.jobs);
        if (r.failed)
            break;
    }
    ret = 0;
drain:
    /* Whatever is still in flight is cancelled: left for a later run. */
    cs_http_get_stats(&hs, r.http);
    out->http_tries = hs.tries;
    r.cancelling = 1;
    cs_http_free(r.http);
    r.http = NULL;
    retry_waiting(&r);
    if (r.failed && !ret) {
        ret = r.ferr.code ? r.ferr.code : CS_EDB;
        cs_err_set(err, ret, "%s", r.ferr.msg);
    }
    if (!ret)
        ret = cs_score_walk_flush(&wk, err);
    /* The batch answers stored are used up (after the results: a crash
     * in between finds the results current and the answers unused). */
    if (!ret && json_array_size(r.consumed)) {
        char *keys = cs_llm_dump(r.consumed);

        ret = cs_store_llm_consumed(st, keys, err);
        free(keys);
    }
    /* The requests written while walking go to the provider. */
    if (!ret && r.batch && !r.failed)
        ret = cs_score_batch_submit(r.batch, st, cfg, out, err);
    /* What the provider counted, for later runs' estimates. */
    if (!ret && r.use.requests)
        ret = cs_store_llm_usage_add(st, cfg->llm_model, "sync", &r.use,
                                     err);
    if (!ret && r.use_batch.requests)
        ret = cs_store_llm_usage_add(st, cfg->llm_model, "batch",
                                     &r.use_batch, err);
    out->max_cost = opts->max_cost;
    out->cap_reached = r.stop;
    out->in_flight_error = r.err_sum - r.err_at_reserve;
    if (r.stop)
        out->left_for_later += (uint64_t)wk.todo - walked;
    out->interrupted = r.interrupted;
done:
    out->seconds = cs_now() - t0;
    cs_score_walk_end(&wk);
    cs_http_free(r.http);
    cs_rules_free(r.rules);
    cs_buf_release(&r.url);
    prefixes_free(r.prefixes);
    cs_score_batch_free(r.batch);
    json_decref(r.consumed);
    free(r.scratch);
    free(r.in_prefix);
    return ret;
}
