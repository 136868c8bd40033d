/* score.c - scoring runs: the one place that chooses the evaluator */
#include "score/score_internal.h"

#include "base/log.h"

int cs_score_run(struct cs_score_stats *out, struct cs_store *st,
                 const struct cs_rubric_set *set, const struct cs_config *cfg,
                 const struct cs_score_opts *opts, struct cs_err *err)
{
    int ret;

    if (cfg->llm_base_url && *cfg->llm_base_url) {
        ret = cs_score_llm_run(out, st, set, cfg, opts, err);
    } else {
        if (opts->dry_run || opts->max_cost > 0)
            cs_log(CS_LOG_WARN, "--dry-run and --max-cost apply to the LLM "
                   "evaluator only");
        cs_log(CS_LOG_INFO, "no LLM configured: scoring with the offline "
               "rules evaluator");
        ret = cs_score_rules_run(out, st, set, cfg, opts, err);
    }
    if (out->retired)
        cs_log(CS_LOG_INFO, "%llu results are no longer current: values "
               "the agent no longer logs, or of rubrics no longer in the "
               "set, for changed content",
               (unsigned long long)out->retired);
    return ret;
}
