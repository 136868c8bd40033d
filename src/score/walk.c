/* walk.c - what both scoring runs share: the walk, staleness, writing */
#include "score/score_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

int cs_score_in_list(char *const *list, const char *key)
{
    for (; list && *list; list++) {
        if (strcmp(*list, key) == 0)
            return 1;
    }
    return 0;
}

int cs_score_in_scope(const struct cs_score_opts *opts, const char *key)
{
    if (cs_score_in_list(opts->skip, key))
        return 0;
    return !opts->metrics || cs_score_in_list(opts->metrics, key);
}

const struct cs_rubric *cs_score_rubric(const struct cs_rubric_set *set,
                                        const char *key, const char *tenant)
{
    const struct cs_rubric *r = cs_rubric_set_find(set, key);

    return r && cs_rubric_for_tenant(r, tenant) ? r : NULL;
}

int cs_score_scorecard_in_scope(const struct cs_score_opts *opts,
                                const struct cs_scorecard *sc)
{
    if (cs_score_in_list(opts->skip, sc->key))
        return 0;
    if (!opts->metrics || cs_score_in_list(opts->metrics, sc->key))
        return 1;
    for (size_t j = 0; j < sc->n_items; j++) {
        if (cs_score_in_list(opts->metrics, sc->items[j].metric))
            return 1;
    }
    for (size_t j = 0; j < sc->n_auto_fail; j++) {
        if (cs_score_in_list(opts->metrics, sc->auto_fail[j].metric))
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
        return 1; /* a judge's error is tried again */
    return strcmp(json_string_value(json_array_get(c, 0)), version) != 0 ||
           strcmp(json_string_value(json_array_get(c, 1)), evaluator) != 0 ||
           strcmp(json_string_value(json_array_get(c, 2)), hash) != 0;
}

/* Adds `key` = `version` to the wanted set of every tenant it applies
 * to: "" (every tenant) when it names none. */
static void want_add(json_t *want, const char *key, const char *version,
                     const char *const *tenants, size_t n)
{
    const char *t;
    json_t *w;

    if (n == 0) {
        json_object_foreach(want, t, w)
            json_object_set_new(w, key, json_string(version));
        return;
    }
    for (size_t i = 0; i < n; i++)
        json_object_set_new(json_object_get(want, tenants[i]), key,
                            json_string(version));
}

json_t *cs_score_want(const struct cs_rubric_set *set,
                      const struct cs_score_opts *opts)
{
    json_t *want = json_object();

    /* Every tenant named starts from what applies to all. */
    json_object_set_new(want, "", json_object());
    for (size_t i = 0; i < set->n; i++) {
        for (size_t t = 0; t < set->rubrics[i].n_tenants; t++)
            json_object_set_new(want, set->rubrics[i].tenants[t],
                                json_object());
    }
    for (size_t i = 0; i < set->n_scorecards; i++) {
        for (size_t t = 0; t < set->scorecards[i].n_tenants; t++)
            json_object_set_new(want, set->scorecards[i].tenants[t],
                                json_object());
    }
    for (int pass = 0; pass < 2; pass++) {
        /* Those for every tenant first, so a tenant's own set holds
         * them too. */
        for (size_t i = 0; i < set->n; i++) {
            const struct cs_rubric *r = &set->rubrics[i];

            if ((r->n_tenants != 0) == (pass == 0) ||
                !cs_score_in_scope(opts, r->key))
                continue;
            want_add(want, r->key, r->version, r->tenants, r->n_tenants);
        }
        for (size_t i = 0; i < set->n_scorecards; i++) {
            const struct cs_scorecard *sc = &set->scorecards[i];

            if ((sc->n_tenants != 0) == (pass == 0) ||
                !cs_score_scorecard_in_scope(opts, sc))
                continue;
            want_add(want, sc->key, sc->version, sc->tenants,
                     sc->n_tenants);
        }
    }
    return want;
}

/* The current value of `key` for the item's content, borrowed, or NULL
 * (none, or computed from other content). */
static const json_t *current_value(const struct cs_score_item *it,
                                   const char *key)
{
    const json_t *c = json_object_get(it->current, key);
    const char *h = json_string_value(json_array_get(c, 2));

    if (!h || strcmp(h, it->content_hash) != 0)
        return NULL;
    return json_array_get(c, 4);
}

int cs_score_walk_scorecards(struct cs_score_walk *wk,
                             const struct cs_score_item *it,
                             const struct cs_eval_result *res,
                             const unsigned char *written, int write,
                             size_t *n_out, struct cs_err *err)
{
    const struct cs_rubric_set *set = wk->set;
    const char *tenant = it->conv->tenant;
    const json_t **values = NULL;
    size_t n = 0;
    int ret = 0;

    *n_out = 0;
    if (set->n_scorecards == 0)
        return 0;
    values = cs_xcalloc(set->n + 1, sizeof(*values));
    for (size_t i = 0; i < set->n; i++) {
        if (!cs_rubric_for_tenant(&set->rubrics[i], tenant))
            continue;
        values[i] = written[i] ? res[i].value
                               : current_value(it, set->rubrics[i].key);
    }
    for (size_t k = 0; !ret && k < set->n_scorecards; k++) {
        const struct cs_scorecard *sc = &set->scorecards[k];
        struct cs_eval_result out;
        int stale;

        if (!cs_scorecard_for_tenant(sc, tenant) ||
            !cs_score_scorecard_in_scope(wk->opts, sc))
            continue;
        stale = wk->opts->force ||
                cs_score_is_stale(it->current, sc->key, sc->version,
                                  CS_SCORECARD_EVALUATOR, it->content_hash);
        for (size_t j = 0; !stale && j < sc->n_items; j++)
            stale = written[sc->items[j].rubric];
        for (size_t j = 0; !stale && j < sc->n_auto_fail; j++)
            stale = written[sc->auto_fail[j].rubric];
        if (!stale)
            continue;
        n++;
        if (!write)
            continue;
        memset(&out, 0, sizeof(out));
        cs_scorecard_compute(&out, sc, set, values);
        ret = cs_score_walk_put(wk, it, sc->key, sc->version,
                                CS_SCORECARD_EVALUATOR, &out, NULL, err);
        cs_eval_result_release(&out);
    }
    free(values);
    *n_out = n;
    return ret;
}

/* What is committed now covers every conversation finished so far. */
static void note_commits(struct cs_score_walk *wk)
{
    uint64_t c = cs_store_results_committed(wk->w);

    if (c != wk->seen_commits) {
        wk->seen_commits = c;
        wk->stats->stored = wk->finished;
    }
}

void cs_score_walk_finished(struct cs_score_walk *wk, int complete)
{
    /* A flush inside the writer (its buffer full) while this item was
     * added covered the items finished before it, not this one. */
    note_commits(wk);
    if (complete)
        wk->finished++;
}

int cs_score_walk_flush(struct cs_score_walk *wk, struct cs_err *err)
{
    int ret = cs_store_results_flush(wk->w, err);

    if (!ret) {
        wk->seen_commits = cs_store_results_committed(wk->w);
        wk->stats->stored = wk->finished;
    }
    return ret;
}

/* Before a claim is released, its results are written (a cs_flush_fn). */
static int flush_writer(void *walk, struct cs_err *err)
{
    return cs_score_walk_flush(walk, err);
}

/* A NULL-terminated list as JSON text (new). */
static char *json_list(char *const *list)
{
    json_t *a = json_array();
    char *text;

    for (; list && *list; list++)
        json_array_append_new(a, json_string(*list));
    text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

int cs_score_walk_begin(struct cs_score_walk *wk, struct cs_store *st,
                        const struct cs_rubric_set *set,
                        const struct cs_config *cfg,
                        const struct cs_score_opts *opts,
                        const char *evaluator, struct cs_score_stats *out,
                        struct cs_err *err)
{
    long all = 0;
    int ret;

    memset(wk, 0, sizeof(*wk));
    wk->set = set;
    wk->opts = opts;
    wk->stats = out;
    wk->filter = opts->filter;
    if (!opts->force) {
        json_t *want = cs_score_want(set, opts);

        wk->want_text = json_dumps(want, JSON_COMPACT);
        json_decref(want);
        wk->filter.want = wk->want_text;
        wk->filter.evaluator = evaluator;
        if (opts->metrics) {
            wk->scope_text = json_list(opts->metrics);
            wk->filter.scope = wk->scope_text;
        }
    }
    ret = cs_redact_new_configured(&wk->rd, cfg, err);
    if (!ret)
        ret = cs_store_score_count(&all, st, &opts->filter, err);
    if (!ret)
        ret = cs_store_score_count(&wk->todo, st, &wk->filter, err);
    if (ret)
        return ret;
    /* Those the store skips are up to date. */
    out->conversations = (uint64_t)all;
    out->up_to_date = (uint64_t)(all - wk->todo);
    out->todo = (uint64_t)wk->todo;
    cs_store_results_new(&wk->w, st, 2000, wk->rd);
    cs_store_score_cursor_new(&wk->cur, st, &wk->filter,
                              opts->page_size > 0 ? (size_t)opts->page_size
                                                  : 500,
                              flush_writer, wk);
    cs_progress_start(&wk->progress, "scored", (uint64_t)wk->todo);
    return 0;
}

void cs_score_walk_end(struct cs_score_walk *wk)
{
    cs_progress_end(&wk->progress);
    /* The cursor first: releasing a claim flushes the writer. */
    cs_store_score_cursor_free(wk->cur);
    if (wk->stats) {
        wk->stats->stored_evaluations = cs_store_results_committed(wk->w);
        wk->stats->in_doubt = cs_store_results_in_doubt(wk->w);
    }
    cs_store_results_free(wk->w);
    cs_redact_free(wk->rd);
    free(wk->want_text);
    free(wk->scope_text);
    memset(wk, 0, sizeof(*wk));
}

/* The conversation's start as stored (its results carry it: the month
 * they are looked up in). */
static const char *item_started_at(const struct cs_score_item *it)
{
    return json_string_value(json_object_get(it->conv->doc, "started_at"));
}

int cs_score_walk_retire(struct cs_score_walk *wk,
                         const struct cs_score_item *it, const char *metric,
                         struct cs_err *err)
{
    wk->stats->retired++;
    return cs_store_results_retire(wk->w, it->conv->tenant, it->conv->id,
                                   item_started_at(it), metric, err);
}

int cs_score_walk_put(struct cs_score_walk *wk, const struct cs_score_item *it,
                      const char *metric, const char *version,
                      const char *evaluator, const struct cs_eval_result *res,
                      const struct cs_score_usage *usage, struct cs_err *err)
{
    const struct cs_conv *conv = it->conv;
    struct cs_result_row row;

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
    row.started_at = item_started_at(it);
    row.replaces = json_object_get(it->current, metric) != NULL;
    if (usage) {
        row.tokens_in = usage->tokens_in;
        row.tokens_out = usage->tokens_out;
        row.cached_tokens = usage->tokens_cached;
        row.cost = usage->cost;
    }
    wk->stats->evaluations++;
    if (cs_eval_value_is(res->value, "not_applicable"))
        wk->stats->not_applicable++;
    if (cs_eval_value_is(res->value, "error") && !wk->stats->errors++)
        snprintf(wk->stats->first_error, sizeof(wk->stats->first_error),
                 "%s", res->rationale ? res->rationale : "no reason given");
    if (strcmp(evaluator, CS_SCORE_AGENT) == 0)
        wk->stats->agent++;
    return cs_store_results_add(wk->w, &row, err);
}
