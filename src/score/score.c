/* score.c - scoring runs: the one place that chooses the evaluator */
#include "score/score_internal.h"

#include "base/log.h"

int cs_score_run(struct cs_score_stats *out, struct cs_store *st,
                 const struct cs_rubric_set *set, const struct cs_config *cfg,
                 const struct cs_score_opts *opts, struct cs_err *err)
{
    if (cfg->llm_base_url && *cfg->llm_base_url)
        return cs_score_llm_run(out, st, set, cfg, opts, err);
    if (opts->dry_run || opts->max_cost > 0)
        cs_log(CS_LOG_WARN, "--dry-run and --max-cost apply to the LLM "
               "evaluator only");
    cs_log(CS_LOG_INFO, "no LLM configured: scoring with the offline rules "
           "evaluator");
    return cs_score_rules_run(out, st, set, cfg, opts, err);
}
