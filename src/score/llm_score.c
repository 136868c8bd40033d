/* llm_score.c - scoring runs with an LLM judge (OpenAI-compatible API) */
#include "score/score_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sig.h"
#include "llm/answer.h"
#include "llm/prompt.h"
#include "net/http.h"
#include "score/rules.h"

/* Completion tokens a dry run assumes per metric (value, quote, reason). */
#define DRY_RUN_TOKENS_PER_METRIC 60

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
    long tokens_in;
    long tokens_out;
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
    char evaluator[160];
    size_t jobs;                    /* in progress */
    int stop;                       /* max cost reached */
    int interrupted;                /* a signal: no new requests */
    int cancelling;                 /* freeing the client: no new work */
    int failed;                     /* a store error: stop everything */
    struct cs_err ferr;
};

static double price(const struct run *r, long in, long out)
{
    return (double)in / 1000.0 * r->cfg->llm_price_in_per_1k +
           (double)out / 1000.0 * r->cfg->llm_price_out_per_1k;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    cs_eval_results_release(j->res, j->run->set->n);
    free(j->res);
    free(j->evaluator);
    free(j->store);
    free(j->later);
    free(j->judge);
    free(j->body);
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
        struct cs_score_usage use = {0, 0, 0};

        /* Unfinished (max cost): what has no value stays stale. */
        if (!j->store[i] || !j->res[i].value)
            continue;
        /* A request's usage is shared equally by the metrics it judged. */
        if (j->evaluator[i] == r->evaluator && judged) {
            use.tokens_in = j->tokens_in / (long)judged;
            use.tokens_out = j->tokens_out / (long)judged;
            use.cost = price(r, j->tokens_in, j->tokens_out) /
                (double)judged;
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
    ret = cs_llm_plan(&j->plan, r->set, j->judge, j->n_judge, j->item.conv,
                      r->wk->rd, r->cfg->llm_context_tokens, &err);
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
    if (r->opts->max_cost > 0 && r->stats->cost >= r->opts->max_cost) {
        if (!r->stop)
            cs_log(CS_LOG_WARN, "the maximum cost of %.4f was reached: no "
                   "new requests", r->opts->max_cost);
        r->stop = 1;
        job_finish(j, 0);
        return;
    }
    free(j->body);
    j->body = NULL;
    ret = cs_llm_request_body(&j->body, &j->plan, j->group,
                              r->cfg->llm_model, &err);
    if (!ret)
        ret = cs_http_post(r->http, r->url.ptr, j->body, strlen(j->body), j,
                           &err);
    if (ret) {
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
    struct cs_llm_answer a;
    struct cs_err err = {0, ""};
    int ret;

    /* Stopping on a signal, a failed try is not an answer to store: the
     * metrics stay stale for the next run, as if cancelled. */
    if (r->cancelling || hres->fail == CS_HTTP_CANCELLED ||
        (r->interrupted && hres->code)) {
        job_finish(j, 0);
        return;
    }
    if (hres->code) {
        for (size_t k = 0; k < g->n; k++)
            cs_eval_result_set_error(&j->res[g->metrics[k]],
                                     "LLM request failed: %s", hres->error);
        next_group(j);
        return;
    }
    ret = cs_llm_answer_parse(&a, &j->plan, j->group, hres->body,
                              hres->body_len, &err);
    if (a.prompt_tokens > 0) {
        j->tokens_in += a.prompt_tokens;
        r->stats->tokens_in += (uint64_t)a.prompt_tokens;
    }
    if (a.completion_tokens > 0) {
        j->tokens_out += a.completion_tokens;
        r->stats->tokens_out += (uint64_t)a.completion_tokens;
    }
    r->stats->cost += price(r, a.prompt_tokens > 0 ? a.prompt_tokens : 0,
                            a.completion_tokens > 0 ? a.completion_tokens
                                                    : 0);
    if (ret && !j->reasked && !r->stop && !r->interrupted &&
        (a.problems || !a.content)) {
        /* Once: send the answer back with what is wrong with it, or, when
         * the reply was no readable chat completion, ask again. */
        char *retry = NULL;

        if (a.problems)
            ret = cs_llm_request_retry_body(&retry, j->body, a.content,
                                            a.problems, &err);
        else
            retry = cs_xstrdup(j->body);
        if (ret == 0 || !a.problems) {
            if (cs_http_post(r->http, r->url.ptr, retry, strlen(retry), j,
                             &err) == 0) {
                free(j->body);
                j->body = retry;
                j->reasked = 1;
                r->stats->requests++;
                cs_llm_answer_release(&a);
                return;
            }
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
    if (r->opts->dry_run) {
        struct cs_err err = {0, ""};

        if (plan_round(j)) {
            for (size_t g = 0; g < j->plan.n_groups; g++) {
                r->stats->requests++;
                r->stats->tokens_in +=
                    (uint64_t)j->plan.groups[g].prompt_tokens;
                r->stats->tokens_out += (uint64_t)(
                    DRY_RUN_TOKENS_PER_METRIC * j->plan.groups[g].n);
            }
        }
        (void)err;
        r->stats->cost = price(r, (long)r->stats->tokens_in,
                               (long)r->stats->tokens_out);
        memset(j->store, 0, set->n); /* nothing is written */
        job_finish(j, 1);
        return;
    }
    if (plan_round(j))
        send_current(j);
    else
        next_round_or_finish(j);
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
    ret = cs_http_new(&r.http, &ho, err);
    if (!ret)
        ret = cs_score_walk_begin(&wk, st, set, cfg, opts, r.evaluator, out,
                                  err);
    if (ret)
        goto done;
    /* Keep twice the concurrency of conversations open, so the next
     * request is ready when a slot frees. */
    window = (size_t)cfg->llm_concurrency * 2;
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
               r.jobs < window) {
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
    if (r.failed && !ret) {
        ret = r.ferr.code ? r.ferr.code : CS_EDB;
        cs_err_set(err, ret, "%s", r.ferr.msg);
    }
    if (!ret)
        ret = cs_score_walk_flush(&wk, err);
    if (r.stop)
        out->left_for_later += (uint64_t)wk.todo - walked;
    out->interrupted = r.interrupted;
done:
    out->seconds = cs_now() - t0;
    cs_score_walk_end(&wk);
    cs_http_free(r.http);
    cs_rules_free(r.rules);
    cs_buf_release(&r.url);
    return ret;
}
