/* agent.c - the values the agent logged itself, the same in both runs */
#include "score/score_internal.h"

#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

#define LOGGED "logged by the agent at run time"

/* The name of metrics[k], or NULL when a later entry has the same name
 * (the last value logged counts). */
static const char *last_name(const json_t *metrics, size_t k)
{
    const char *name = json_string_value(json_object_get(
        json_array_get(metrics, k), "name"));

    for (size_t j = k + 1; name && j < json_array_size(metrics); j++) {
        const char *later = json_string_value(json_object_get(
            json_array_get(metrics, j), "name"));

        if (later && strcmp(later, name) == 0)
            return NULL;
    }
    return name;
}

/* 1 when an item's summary entry [version, evaluator, hash, retry] was
 * computed from content other than `hash`. */
static int other_content(const json_t *summary, const char *hash)
{
    const char *h = json_string_value(json_array_get(summary, 2));

    return !h || strcmp(h, hash) != 0;
}

static int logs(const json_t *metrics, const char *name)
{
    size_t k;
    json_t *m;

    json_array_foreach(metrics, k, m) {
        const char *n = json_string_value(json_object_get(m, "name"));

        if (n && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

void cs_score_agent_take(struct cs_eval_result *res, const char **evaluator,
                         const struct cs_rubric_set *set,
                         const struct cs_conv *conv)
{
    const json_t *metrics = json_object_get(conv->doc, "metrics");

    for (size_t k = 0; k < json_array_size(metrics); k++) {
        const char *name = last_name(metrics, k);
        const struct cs_rubric *rb = name ? cs_score_rubric(set, name,
                                                            conv->tenant)
                                          : NULL;
        json_t *value = json_object_get(json_array_get(metrics, k), "value");
        struct cs_eval_result *r;

        if (!rb || !value)
            continue;
        r = &res[rb - set->rubrics];
        evaluator[rb - set->rubrics] = CS_SCORE_AGENT;
        if (!cs_rubric_value_valid(rb, value)) {
            struct cs_buf why = CS_BUF_INIT, who = CS_BUF_INIT;

            cs_buf_addf(&who, "'%s'", rb->key);
            cs_rubric_value_explain(&why, rb, who.ptr, value);
            cs_eval_result_set_error(r, LOGGED ", but %s", why.ptr);
            cs_buf_release(&why);
            cs_buf_release(&who);
            continue;
        }
        cs_eval_result_release(r);
        r->value = json_incref(value);
        r->rationale = cs_xstrdup(LOGGED);
    }
}

int cs_score_agent_store(struct cs_score_walk *wk,
                         const struct cs_score_item *it, int write,
                         size_t *n_out, struct cs_err *err)
{
    const struct cs_score_opts *o = wk->opts;
    const json_t *metrics = json_object_get(it->conv->doc, "metrics");
    const char *metric;
    json_t *cur;
    size_t n = 0;
    int ret = 0;

    for (size_t k = 0; !ret && k < json_array_size(metrics); k++) {
        const char *name = last_name(metrics, k);
        struct cs_eval_result ar;

        if (!name || cs_rubric_set_has(wk->set, name, it->conv->tenant) ||
            !cs_score_in_scope(o, name))
            continue;
        if (!(o->force && cs_score_in_list(o->metrics, name)) &&
            !cs_score_is_stale(it->current, name, CS_SCORE_AGENT,
                               CS_SCORE_AGENT, it->content_hash))
            continue;
        n++;
        if (!write)
            continue;
        /* Borrowed for the call, never released. */
        memset(&ar, 0, sizeof(ar));
        ar.value = json_object_get(json_array_get(metrics, k), "value");
        ar.rationale = (char *)LOGGED;
        ret = cs_score_walk_put(wk, it, name, CS_SCORE_AGENT, CS_SCORE_AGENT,
                                &ar, NULL, err);
    }
    /* What no evaluator computes for this content: a value the agent
     * logged before and no longer does, or a result of a rubric that is
     * gone (or no longer for this tenant), computed from other content. */
    json_object_foreach((json_t *)it->current, metric, cur) {
        if (ret)
            break;
        if (cs_rubric_set_has(wk->set, metric, it->conv->tenant) ||
            !cs_score_in_scope(o, metric) || logs(metrics, metric) ||
            !other_content(cur, it->content_hash))
            continue;
        n++;
        if (!write)
            continue;
        ret = cs_score_walk_retire(wk, it, metric, err);
    }
    *n_out = n;
    return ret;
}
