/* rules_score.c - scoring runs with the offline rules evaluator */
#include "score/score_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sig.h"
#include "score/rules.h"
#include "score/sentiment.h"

#define EVALUATOR_RULES "rules"

struct run {
    const struct cs_rubric_set *set;
    const struct cs_score_opts *opts;
    struct cs_score_walk *wk;
    struct cs_rules *rules;
    struct cs_sentiment_lexicon *lex;
    struct cs_score_stats *stats;
    struct cs_eval_result *res;     /* set->n */
    const char **evaluator;         /* set->n */
    unsigned char *written;         /* set->n: written in this pass */
};

/* The lexicon decides the sentiment metric where the rubric applies. */
static void apply_sentiment(struct run *r, const struct cs_conv *conv,
                            size_t i)
{
    struct cs_eval_result *res = &r->res[i];
    struct cs_sentiment s;
    int customer = 0;

    if (cs_eval_value_is(res->value, "not_applicable"))
        return;
    for (size_t t = 0; t < conv->n_turns; t++)
        customer |= conv->turns[t].role == CS_ROLE_CUSTOMER;
    cs_eval_result_release(res);
    if (!customer) {
        res->value = json_string("not_applicable");
        res->rationale = cs_xstrdup("the customer never spoke");
        return;
    }
    cs_sentiment_score(&s, r->lex, conv);
    res->value = json_string(cs_sentiment_label_name(s.label));
    res->evidence = s.evidence ? cs_xstrdup(s.evidence) : NULL;
    cs_eval_result_set_rationale(res, "lexicon score %.2f from %zu "
                                 "sentiment term(s) in customer turns",
                                 s.score, s.hits);
    res->has_confidence = 1;
    res->confidence = s.hits ? fmin(0.95, 0.5 + 0.1 * (double)s.hits) : 0.4;
    cs_sentiment_release(&s);
}

static int score_one(struct run *r, const struct cs_score_item *it,
                     struct cs_err *err)
{
    const struct cs_rubric_set *set = r->set;
    uint64_t before = r->stats->evaluations + r->stats->retired;
    size_t n_agent = 0;
    int ret = 0;

    cs_rules_eval(r->res, r->rules, it->conv);
    for (size_t i = 0; i < set->n; i++) {
        r->evaluator[i] = EVALUATOR_RULES;
        if (r->lex && r->opts->sentiment_metric &&
            strcmp(set->rubrics[i].key, r->opts->sentiment_metric) == 0)
            apply_sentiment(r, it->conv, i);
    }
    cs_score_agent_take(r->res, r->evaluator, set, it->conv);
    ret = cs_score_agent_store(r->wk, it, 1, &n_agent, err);
    memset(r->written, 0, set->n ? set->n : 1);
    for (size_t i = 0; !ret && i < set->n; i++) {
        const struct cs_rubric *rb = &set->rubrics[i];

        /* Only the rubrics of the conversation's tenant. */
        if (!cs_score_in_scope(r->opts, rb->key) ||
            !cs_rubric_for_tenant(rb, it->conv->tenant))
            continue;
        if (!r->opts->force &&
            !cs_score_is_stale(it->current, rb->key, rb->version,
                               r->evaluator[i], it->content_hash))
            continue;
        r->written[i] = 1;
        ret = cs_score_walk_put(r->wk, it, rb->key, rb->version,
                                r->evaluator[i], &r->res[i], NULL, err);
    }
    if (!ret)
        ret = cs_score_walk_scorecards(r->wk, it, r->res, r->written, 1,
                                       &n_agent, err);
    cs_eval_results_release(r->res, set->n);
    if (!ret && r->stats->evaluations + r->stats->retired == before)
        r->stats->up_to_date++;
    return ret;
}

int cs_score_rules_run(struct cs_score_stats *out, struct cs_store *st,
                       const struct cs_rubric_set *set,
                       const struct cs_config *cfg,
                       const struct cs_score_opts *opts, struct cs_err *err)
{
    struct run r;
    struct cs_score_walk wk;
    struct cs_score_item it;
    uint64_t walked = 0;
    double t0 = cs_now();
    int ret;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    memset(&wk, 0, sizeof(wk));
    r.set = set;
    r.opts = opts;
    r.stats = out;
    r.wk = &wk;
    for (char *const *m = opts->metrics; m && *m; m++) {
        if (!cs_rubric_set_find(set, *m))
            cs_log(CS_LOG_WARN, "no rubric '%s': only values the agent "
                   "logged under that name are stored", *m);
    }
    ret = cs_rules_new(&r.rules, set, err);
    if (!ret)
        cs_rules_set_limits(r.rules, (unsigned long)cfg->score_match_limit,
                            cfg->score_time_budget_ms);
    if (ret)
        return ret;
    if (opts->sentiment_metric && cs_rubric_set_find(set,
                                                     opts->sentiment_metric)) {
        ret = cs_sentiment_lexicon_load(&r.lex, opts->lexicon_path, err);
        if (ret)
            goto done;
    }
    r.res = cs_xcalloc(set->n ? set->n : 1, sizeof(*r.res));
    r.evaluator = cs_xcalloc(set->n ? set->n : 1, sizeof(*r.evaluator));
    r.written = cs_xcalloc(set->n ? set->n : 1, 1);
    ret = cs_score_walk_begin(&wk, st, set, cfg, opts, EVALUATOR_RULES, out,
                              err);
    if (ret)
        goto done;
    for (;;) {
        /* A signal: the conversation in hand is done; claim no more. */
        if (cs_sig_received()) {
            out->interrupted = cs_sig_received();
            break;
        }
        ret = cs_store_score_cursor_next(wk.cur, &it, err);
        if (ret <= 0)
            break;
        walked++;
        ret = score_one(&r, &it, err);
        cs_score_item_release(&it);
        if (!ret) {
            cs_score_walk_finished(&wk, 1);
            ret = cs_store_claim_put(it.claim, err);
        }
        if (ret)
            break;
        cs_progress_update(&wk.progress, walked);
    }
    if (!ret)
        ret = cs_score_walk_flush(&wk, err);
done:
    out->seconds = cs_now() - t0;
    cs_score_walk_end(&wk);
    cs_rules_free(r.rules);
    cs_sentiment_lexicon_free(r.lex);
    free(r.res);
    free(r.evaluator);
    free(r.written);
    return ret;
}
