/* score.c - scoring runs: the one place that chooses the evaluator, and
 * the check of the rubric set against the stored results */
#include "score/score_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/versions.h"

/* What the stored results say against the set. */
struct drift {
    const struct cs_rubric_set *set;
    const struct cs_score_opts *opts;
    struct cs_score_stats *st;
    json_t *changed;            /* keys of changed metrics in scope */
    json_t *missing;            /* keys with missing results */
    struct cs_buf names;        /* "a (12), b (3)" */
};

/* A changed metric the run may not re-score without being told: in
 * scope and not named by --metric. */
static int counts_as_change(const struct drift *d, const char *metric)
{
    const struct cs_scorecard *sc = cs_scorecard_find(d->set, metric);

    if (cs_score_in_list(d->opts->metrics, metric))
        return 0;
    return sc ? cs_score_scorecard_in_scope(d->opts, sc)
              : cs_score_in_scope(d->opts, metric);
}

static void on_drift(void *ctx, const char *metric, long changed,
                     long missing)
{
    struct drift *d = ctx;

    if (changed && counts_as_change(d, metric)) {
        d->st->changed_metrics++;
        d->st->changed_results += (uint64_t)changed;
        json_array_append_new(d->changed, json_string(metric));
        cs_buf_addf(&d->names, "%s%s (%ld)", d->names.len ? ", " : "",
                    metric, changed);
    }
    if (missing) {
        d->st->missing_results += (uint64_t)missing;
        json_array_append_new(d->missing, json_string(metric));
    }
}

/* {"<key>": {"v": version, "t": [tenants] | null}} of rubrics and
 * scorecards. Returns new. */
static char *describe_set(const struct cs_rubric_set *set)
{
    json_t *o = json_object();
    char *text;

    for (size_t i = 0; i < set->n + set->n_scorecards; i++) {
        int is_sc = i >= set->n;
        const struct cs_rubric *r = is_sc ? NULL : &set->rubrics[i];
        const struct cs_scorecard *sc = is_sc ? &set->scorecards[i - set->n]
                                              : NULL;
        size_t nt = is_sc ? sc->n_tenants : r->n_tenants;
        const char **tenants = is_sc ? sc->tenants : r->tenants;
        json_t *t = nt ? json_array() : json_null();

        for (size_t k = 0; k < nt; k++)
            json_array_append_new(t, json_string(tenants[k]));
        json_object_set_new(o, is_sc ? sc->key : r->key,
                            json_pack("{s:s,s:o}", "v",
                                      is_sc ? sc->version : r->version, "t",
                                      t));
    }
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

/*
 * Compares the set with the stored results before anything is written:
 * refuses a set that changes metrics already scored unless told what to
 * do, and retires the results of missing metrics when told to. On
 * return *skip_out (new, NULL-terminated, may be NULL) lists the changed
 * keys to leave alone.
 */
static int check_set(struct cs_score_stats *d_stats, char ***skip_out,
                     struct cs_store *st, const struct cs_rubric_set *set,
                     const struct cs_score_opts *opts, struct cs_err *err)
{
    struct drift d;
    char *desc = describe_set(set);
    size_t i;
    json_t *k;
    int ret;

    *skip_out = NULL;
    memset(&d, 0, sizeof(d));
    d.set = set;
    d.opts = opts;
    d.st = d_stats;
    d.changed = json_array();
    d.missing = json_array();
    cs_buf_init(&d.names);
    ret = cs_store_results_drift(st, &opts->filter, desc,
                                 opts->retire_missing && !opts->dry_run,
                                 on_drift, &d, err);
    if (ret)
        goto done;
    snprintf(d_stats->changed, sizeof(d_stats->changed), "%s",
             d.names.ptr);
    if (d_stats->missing_results) {
        struct cs_buf m = CS_BUF_INIT;

        json_array_foreach(d.missing, i, k)
            cs_buf_addf(&m, "%s%s", i ? ", " : "", json_string_value(k));
        if (opts->retire_missing && !opts->dry_run) {
            d_stats->retired_missing = d_stats->missing_results;
            cs_log(CS_LOG_INFO, "%llu results of metrics not in this "
                   "rubric set (or not for their tenant) are now history: "
                   "%s", (unsigned long long)d_stats->missing_results, m.ptr);
        } else {
            cs_log(CS_LOG_INFO, "%llu results of metrics not in this "
                   "rubric set (or not for their tenant) stay current: %s "
                   "(--retire-missing makes them history)",
                   (unsigned long long)d_stats->missing_results, m.ptr);
        }
        cs_buf_release(&m);
    }
    if (!d_stats->changed_metrics || opts->rubrics_changed)
        goto done;
    if (opts->keep_changed) {
        char **skip = cs_xcalloc(json_array_size(d.changed) + 1,
                                 sizeof(*skip));

        json_array_foreach(d.changed, i, k)
            skip[i] = cs_xstrdup(json_string_value(k));
        d_stats->kept_changed = d_stats->changed_results;
        *skip_out = skip;
        cs_log(CS_LOG_WARN, "the rubric set changes metrics already scored, "
               "left as they are: %s; run 'callscope score "
               "--rubrics-changed' to re-score them", d.names.ptr);
        goto done;
    }
    ret = cs_err_set(err, CS_EINVALID, "the rubric set changes %llu "
                     "metric%s already scored (results of another version): "
                     "%s; pass --rubrics-changed to re-score them (or "
                     "--metric KEY for one)",
                     (unsigned long long)d_stats->changed_metrics,
                     d_stats->changed_metrics == 1 ? "" : "s", d.names.ptr);
done:
    free(desc);
    json_decref(d.changed);
    json_decref(d.missing);
    cs_buf_release(&d.names);
    return ret;
}

int cs_score_run(struct cs_score_stats *out, struct cs_store *st,
                 const struct cs_rubric_set *set, const struct cs_config *cfg,
                 const struct cs_score_opts *opts, struct cs_err *err)
{
    struct cs_score_stats drift;
    struct cs_score_opts o = *opts;
    char **skip = NULL;
    int ret;

    memset(out, 0, sizeof(*out));
    memset(&drift, 0, sizeof(drift));
    /* Re-scoring named metrics on demand is deliberate already. */
    if (!opts->force) {
        ret = check_set(&drift, &skip, st, set, opts, err);
        if (ret) {
            *out = drift;
            return ret;
        }
        o.skip = skip;
    }
    if (cfg->llm_base_url && *cfg->llm_base_url) {
        ret = cs_score_llm_run(out, st, set, cfg, &o, err);
    } else {
        if (opts->dry_run || opts->max_cost > 0 || opts->batch)
            cs_log(CS_LOG_WARN, "--dry-run, --max-cost and --batch apply to "
                   "the LLM evaluator only");
        cs_log(CS_LOG_INFO, "no LLM configured: scoring with the offline "
               "rules evaluator");
        ret = cs_score_rules_run(out, st, set, cfg, &o, err);
    }
    out->changed_metrics = drift.changed_metrics;
    out->changed_results = drift.changed_results;
    out->kept_changed = drift.kept_changed;
    out->missing_results = drift.missing_results;
    out->retired_missing = drift.retired_missing;
    memcpy(out->changed, drift.changed, sizeof(out->changed));
    /* The reasons are stored with each result; one goes to stderr too,
     * so that an endpoint refusing every request says why. */
    if (out->errors) {
        struct cs_buf why = CS_BUF_INIT;

        cs_buf_add_excerpt(&why, out->first_error, strlen(out->first_error),
                           sizeof(out->first_error));
        cs_log(CS_LOG_WARN, "%llu evaluation%s ended in 'error' (stored "
               "with the reason; the next run scores them again), the "
               "first: %s", (unsigned long long)out->errors,
               out->errors == 1 ? "" : "s", why.ptr);
        cs_buf_release(&why);
    }
    if (out->retired)
        cs_log(CS_LOG_INFO, "%llu results are no longer current: values "
               "the agent no longer logs, or of rubrics no longer in the "
               "set, for changed content",
               (unsigned long long)out->retired);
    for (char **s = skip; s && *s; s++)
        free(*s);
    free(skip);
    return ret;
}
