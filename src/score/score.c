/* score.c - scoring runs: what is stale, evaluate, store the results */
#include "score/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "score/rules.h"
#include "score/sentiment.h"

#define EVALUATOR_RULES "rules"
#define EVALUATOR_AGENT "agent"

struct run {
    const struct cs_rubric_set *set;
    const struct cs_score_opts *opts;
    struct cs_rules *rules;
    struct cs_sentiment_lexicon *lex;
    struct cs_result_writer *w;
    struct cs_score_stats *stats;
    struct cs_eval_result *res;     /* set->n */
    const char **evaluator;         /* set->n */
};

int cs_score_in_list(char *const *list, const char *key)
{
    for (; list && *list; list++) {
        if (strcmp(*list, key) == 0)
            return 1;
    }
    return 0;
}

int cs_score_is_stale(const json_t *current, const char *key,
                      const char *version, const char *evaluator,
                      const char *hash)
{
    const json_t *c = json_object_get(current, key);

    if (!json_is_array(c) || json_array_size(c) < 3)
        return 1;
    if (json_is_true(json_array_get(c, 3)))
        return 1; /* an error is tried again */
    return strcmp(json_string_value(json_array_get(c, 0)), version) != 0 ||
           strcmp(json_string_value(json_array_get(c, 1)), evaluator) != 0 ||
           strcmp(json_string_value(json_array_get(c, 2)), hash) != 0;
}

/* The lexicon decides the sentiment metric where the rubric applies. */
static void apply_sentiment(struct run *r, const struct cs_conv *conv,
                            size_t i)
{
    struct cs_eval_result *res = &r->res[i];
    struct cs_sentiment s;
    int customer = 0;

    if (json_is_string(res->value) &&
        strcmp(json_string_value(res->value), "not_applicable") == 0)
        return;
    for (size_t t = 0; t < conv->n_turns; t++)
        customer |= conv->turns[t].role == CS_ROLE_CUSTOMER;
    cs_eval_result_release(res);
    memset(res, 0, sizeof(*res));
    if (!customer) {
        res->value = json_string("not_applicable");
        res->rationale = cs_xstrdup("the customer never spoke");
        return;
    }
    cs_sentiment_score(&s, r->lex, conv);
    res->value = json_string(cs_sentiment_label_name(s.label));
    res->evidence = s.evidence ? cs_xstrdup(s.evidence) : NULL;
    {
        struct cs_buf b = CS_BUF_INIT;

        cs_buf_addf(&b, "lexicon score %.2f from %zu sentiment term(s) in "
                    "customer turns", s.score, s.hits);
        res->rationale = cs_buf_detach(&b, NULL);
    }
    res->has_confidence = 1;
    res->confidence = s.hits ? fmin(0.95, 0.5 + 0.1 * (double)s.hits) : 0.4;
    cs_sentiment_release(&s);
}

static int store_one(struct run *r, const struct cs_score_item *it,
                     const char *metric, const char *version,
                     const char *evaluator, const struct cs_eval_result *res,
                     struct cs_err *err)
{
    const struct cs_conv *conv = it->conv;
    struct cs_result_row row;
    const char *v = json_string_value(res->value);

    memset(&row, 0, sizeof(row));
    row.tenant = conv->tenant;
    row.conversation_id = conv->id;
    row.metric = metric;
    row.rubric_version = version;
    row.evaluator = evaluator;
    row.value = res->value;
    row.confidence = res->has_confidence ? res->confidence : NAN;
    row.evidence = res->evidence;
    row.rationale = res->rationale;
    row.content_hash = it->content_hash;
    row.replaces = json_object_get(it->current, metric) != NULL;
    r->stats->evaluations++;
    if (v && strcmp(v, "not_applicable") == 0)
        r->stats->not_applicable++;
    if (v && strcmp(v, "error") == 0)
        r->stats->errors++;
    if (strcmp(evaluator, EVALUATOR_AGENT) == 0)
        r->stats->agent++;
    return cs_store_results_add(r->w, &row, err);
}

/* Agent-logged values: those naming a rubric take its place; others are
 * stored under their own name. */
static int agent_metrics(struct run *r, const struct cs_score_item *it,
                         struct cs_err *err)
{
    json_t *metrics = json_object_get(it->conv->doc, "metrics");
    size_t i;
    json_t *m;

    json_array_foreach(metrics, i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        const struct cs_rubric *rb = cs_rubric_set_find(r->set, name);
        struct cs_eval_result ar;
        int ret;

        memset(&ar, 0, sizeof(ar));
        ar.value = json_object_get(m, "value");
        ar.rationale = "logged by the agent at run time";
        if (rb) {
            size_t k = (size_t)(rb - r->set->rubrics);

            cs_eval_result_release(&r->res[k]);
            r->res[k].value = json_incref(ar.value);
            r->res[k].rationale = cs_xstrdup(ar.rationale);
            r->evaluator[k] = EVALUATOR_AGENT;
            continue;
        }
        if (r->opts->metrics && !cs_score_in_list(r->opts->metrics, name))
            continue;
        if (!(r->opts->force && cs_score_in_list(r->opts->metrics, name)) &&
            !cs_score_is_stale(it->current, name, EVALUATOR_AGENT,
                               EVALUATOR_AGENT, it->content_hash))
            continue;
        ret = store_one(r, it, name, EVALUATOR_AGENT, EVALUATOR_AGENT, &ar,
                        err);
        if (ret)
            return ret;
    }
    return 0;
}

static int score_one(struct run *r, const struct cs_score_item *it,
                     struct cs_err *err)
{
    const struct cs_rubric_set *set = r->set;
    uint64_t before = r->stats->evaluations;
    int ret = 0, any = 0;

    /* Cheap check first: is anything stale at all? */
    for (size_t i = 0; i < set->n && !any; i++) {
        const struct cs_rubric *rb = &set->rubrics[i];

        if (r->opts->metrics && !cs_score_in_list(r->opts->metrics, rb->key))
            continue;
        any = r->opts->force ||
              (cs_score_is_stale(it->current, rb->key, rb->version,
                                 EVALUATOR_RULES, it->content_hash) &&
               cs_score_is_stale(it->current, rb->key, rb->version,
                                 EVALUATOR_AGENT, it->content_hash));
    }
    if (!any && !json_array_size(json_object_get(it->conv->doc, "metrics"))) {
        r->stats->up_to_date++;
        return 0;
    }
    cs_rules_eval(r->res, r->rules, it->conv);
    for (size_t i = 0; i < set->n; i++) {
        r->evaluator[i] = EVALUATOR_RULES;
        if (r->lex && r->opts->sentiment_metric &&
            strcmp(set->rubrics[i].key, r->opts->sentiment_metric) == 0)
            apply_sentiment(r, it->conv, i);
    }
    ret = agent_metrics(r, it, err);
    for (size_t i = 0; !ret && i < set->n; i++) {
        const struct cs_rubric *rb = &set->rubrics[i];

        if (r->opts->metrics && !cs_score_in_list(r->opts->metrics, rb->key))
            continue;
        if (!r->opts->force &&
            !cs_score_is_stale(it->current, rb->key, rb->version,
                               r->evaluator[i], it->content_hash))
            continue;
        ret = store_one(r, it, rb->key, rb->version, r->evaluator[i],
                        &r->res[i], err);
    }
    cs_eval_results_release(r->res, set->n);
    if (!ret && r->stats->evaluations == before)
        r->stats->up_to_date++;
    return ret;
}

/* Before a claim is released, its results are written (a cs_flush_fn). */
static int flush_writer(void *writer, struct cs_err *err)
{
    return cs_store_results_flush(writer, err);
}

int cs_score_walk_begin(struct cs_score_walk *wk, struct cs_store *st,
                        const struct cs_rubric_set *set,
                        const struct cs_score_opts *opts,
                        const char *evaluator, struct cs_score_stats *out,
                        struct cs_err *err)
{
    long all = 0;
    int ret;

    memset(wk, 0, sizeof(*wk));
    wk->filter = opts->filter;
    if (!opts->force) {
        json_t *want = json_object();

        for (size_t i = 0; i < set->n; i++) {
            if (!opts->metrics ||
                cs_score_in_list(opts->metrics, set->rubrics[i].key))
                json_object_set_new(want, set->rubrics[i].key,
                                    json_string(set->rubrics[i].version));
        }
        wk->want_text = json_dumps(want, JSON_COMPACT);
        json_decref(want);
        wk->filter.want = wk->want_text;
        wk->filter.evaluator = evaluator;
    }
    ret = cs_store_score_count(&all, st, &opts->filter, err);
    if (!ret)
        ret = cs_store_score_count(&wk->todo, st, &wk->filter, err);
    if (ret)
        return ret;
    /* Those the store skips are up to date. */
    out->conversations = (uint64_t)all;
    out->up_to_date = (uint64_t)(all - wk->todo);
    cs_store_results_new(&wk->w, st, 2000);
    cs_store_score_cursor_new(&wk->cur, st, &wk->filter,
                              opts->page_size > 0 ? (size_t)opts->page_size
                                                  : 500,
                              flush_writer, wk->w);
    cs_progress_start(&wk->progress, "scored", (uint64_t)wk->todo);
    return 0;
}

void cs_score_walk_end(struct cs_score_walk *wk)
{
    cs_progress_end(&wk->progress);
    /* The cursor first: releasing a claim flushes the writer. */
    cs_store_score_cursor_free(wk->cur);
    cs_store_results_free(wk->w);
    free(wk->want_text);
    memset(wk, 0, sizeof(*wk));
}

int cs_score_run(struct cs_score_stats *out, struct cs_store *st,
                 const struct cs_rubric_set *set,
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
    for (char *const *m = opts->metrics; m && *m; m++) {
        if (!cs_rubric_set_find(set, *m))
            cs_log(CS_LOG_WARN, "no rubric '%s': only values the agent "
                   "logged under that name are stored", *m);
    }
    ret = cs_rules_new(&r.rules, set, err);
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
    ret = cs_score_walk_begin(&wk, st, set, opts, EVALUATOR_RULES, out, err);
    if (ret)
        goto done;
    r.w = wk.w;
    for (;;) {
        ret = cs_store_score_cursor_next(wk.cur, &it, err);
        if (ret <= 0)
            break;
        walked++;
        ret = score_one(&r, &it, err);
        cs_score_item_release(&it);
        if (!ret)
            ret = cs_store_claim_put(it.claim, err);
        if (ret)
            break;
        cs_progress_update(&wk.progress, walked);
    }
    if (!ret)
        ret = cs_store_results_flush(wk.w, err);
done:
    out->seconds = cs_now() - t0;
    cs_score_walk_end(&wk);
    cs_rules_free(r.rules);
    cs_sentiment_lexicon_free(r.lex);
    free(r.res);
    free(r.evaluator);
    return ret;
}
