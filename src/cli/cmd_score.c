/* cmd_score.c - callscope score / rescore */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "base/sig.h"
#include "cli/cli.h"
#include "rubric/rubric.h"
#include "score/score.h"

static const struct cs_opt_cmd score_doc = {
    .name = "score",
    .usage = "callscope score [--from D --to D] [--tenant T] "
             "[--metric KEY...]",
    .about = "Scores conversations against the rubrics and QA scorecards: "
             "only what\nis missing or stale (another rubric version, "
             "evaluator or conversation\ncontent) is evaluated, so a second "
             "run does nothing. Without an LLM\nconfigured the offline "
             "rules evaluator (PCRE2 rules, lexicon sentiment)\nis used. "
             "Values the agent logged itself are stored as evaluator\n"
             "'agent'.\n"
             "With an LLM configured (CALLSCOPE_LLM_BASE_URL or "
             "llm.base_url), one\n"
             "request per conversation carries every rubric that applies; "
             "the\n"
             "transcript is redacted first. Several processes may run at "
             "once.\n"
             "A conversation gets only its tenant's rubrics (their "
             "\"tenants\"). A\n"
             "rubric set whose versions differ from the stored results "
             "(another\n"
             "folder, an edited rubric) is refused unless --rubrics-changed "
             "says to\n"
             "re-score (--metric KEY re-scores one); results of metrics not "
             "in the\nset stay current unless --retire-missing.",
    .exits = "Exit: 0 ok, 1 store error, 2 usage (an unknown tenant or "
             "metric too),\n"
             "3 invalid rubric set, or one that changes scored metrics "
             "without\n--rubrics-changed, 4 some evaluations ended in "
             "'error', 6 stopped by\nSIGTERM or SIGINT (what was answered "
             "is stored).",
};

static const struct cs_opt_cmd rescore_doc = {
    .name = "rescore",
    .usage = "callscope rescore --metric KEY [--metric KEY...] [--from D "
             "--to D] [--tenant T]",
    .about = "Re-scores the given metrics now, even where their results are "
             "up to\n"
             "date (after a rubric's wording changed without changing its "
             "meaning,\n"
             "say). The earlier results are kept as history.",
    .exits = "Exit: 0 ok, 1 store error, 2 usage (an unknown tenant or "
             "metric too),\n"
             "3 invalid rubric set, 4 some evaluations ended in 'error', 6 "
             "stopped by\nSIGTERM or SIGINT (what was answered is stored).",
};

static int opt_max_cost(const struct cs_option *opt, const char *arg,
                        struct cs_err *err)
{
    double *cost = opt->value;

    if (cs_parse_double(arg, cost) || *cost <= 0)
        return cs_err_set(err, CS_EINVALID, "--max-cost takes an amount > 0");
    return 0;
}

void cs_cli_print_score(const struct cs_score_stats *s, const char *verb,
                        int failed)
{
    if (failed || s->interrupted) {
        printf("%s stopped after %llu of %llu conversations to score: %s%s; "
               "%llu evaluations stored, %llu conversations up to date\n",
               strcmp(verb, "re-scored") == 0 ? "rescore" : "score",
               (unsigned long long)s->stored, (unsigned long long)s->todo,
               failed ? "it failed (see the error)"
                      : "interrupted by ",
               failed ? "" : cs_sig_name(s->interrupted),
               (unsigned long long)s->stored_evaluations,
               (unsigned long long)s->up_to_date);
        if (s->in_doubt)
            printf("%llu more evaluations were being committed when the "
                   "connection was lost: stored or not, the next run "
                   "scores what is missing\n",
                   (unsigned long long)s->in_doubt);
    } else {
        printf("%s %llu conversations in %.2f s: %llu evaluations written "
               "(%llu not applicable, %llu errors, %llu logged by the agent), "
               "%llu up to date\n", verb,
               (unsigned long long)s->conversations, s->seconds,
               (unsigned long long)s->evaluations,
               (unsigned long long)s->not_applicable,
               (unsigned long long)s->errors,
               (unsigned long long)s->agent,
               (unsigned long long)s->up_to_date);
    }
}

/* The dry run's cost three ways, and what the estimates rest on. */
static void print_dry_costs(const struct cs_score_stats *s)
{
    printf("cost: synchronous %.4f, batch %.4f, with the expected cache "
           "hits %.4f (%.1f%% of prompt tokens cached, %s)\n", s->cost,
           s->cost_batch, s->cost_cached,
           s->tokens_in ? 100.0 * (double)s->tokens_cached /
                              (double)s->tokens_in
                        : 0.0,
           s->cache_recorded ? "as recorded" : "from the prompt prefix");
    if (s->calibrated_on)
        printf("estimates calibrated on %llu recorded requests\n",
               (unsigned long long)s->calibrated_on);
    else
        printf("estimates not calibrated: no usage recorded for the model "
               "yet\n");
}

void cs_cli_print_llm(const struct cs_score_stats *s, int failed)
{
    if (s->requests)
        printf("LLM: %llu requests (%llu tries on the wire), %llu prompt "
               "(%llu cached, %.1f%%) + %llu completion tokens, cost "
               "%.4f%s\n",
               (unsigned long long)s->requests,
               (unsigned long long)s->http_tries,
               (unsigned long long)s->tokens_in,
               (unsigned long long)s->tokens_cached,
               s->tokens_in ? 100.0 * (double)s->tokens_cached /
                                  (double)s->tokens_in
                            : 0.0,
               (unsigned long long)s->tokens_out, s->cost,
               s->cap_reached && !s->interrupted && !failed
                   ? "; max cost reached, the rest is left for a later run"
                   : "");
    if (s->batches_ended || s->batches_open || s->batch_queued ||
        s->batch_pending || s->batch_used || s->batches_submitted)
        printf("LLM batch: %llu batches ended (%llu answers collected), "
               "%llu still running; %llu answers used (cost %.4f), %llu "
               "conversations waiting; %llu requests in %llu new batches\n",
               (unsigned long long)s->batches_ended,
               (unsigned long long)s->batch_answers,
               (unsigned long long)s->batches_open,
               (unsigned long long)s->batch_used, s->batch_cost,
               (unsigned long long)s->batch_pending,
               (unsigned long long)s->batch_queued,
               (unsigned long long)s->batches_submitted);
    if (s->max_cost > 0 && s->requests)
        printf("LLM budget: max cost %.4f, spent %.4f; the %u requests in "
               "flight at the last reservation cost %+.4f beyond their "
               "estimates\n", s->max_cost, s->cost, s->max_in_flight_at_cap,
               s->in_flight_error);
}

static int run(int argc, char **argv, struct cs_ctx *ctx, int rescore)
{
    const char *name = rescore ? "rescore" : "score";
    struct cs_score_opts so;
    struct cs_score_stats stats;
    struct cs_rubric_set *set = NULL;
    struct cs_err err = {0, ""};
    struct cs_cli_filter cf;
    int ret;
    const struct cs_option opts[] = {
        CS_CLI_FILTER_OPTS(&cf, rescore ? "metric to re-score (required, "
                                          "repeatable)"
                                        : "only this metric (repeatable)"),
        CS_OPT_BOOL(0, "dry-run", &so.dry_run,
                    "LLM: print the requests, tokens and cost it would "
                    "take (synchronous, at batch prices, with the expected "
                    "cache hits), and send nothing"),
        CS_OPT_BOOL(0, "batch", &so.batch,
                    "LLM: collect the batches that ended, then send what "
                    "is left to judge as new batches of at most "
                    "llm.batch_max_requests requests and llm.batch_max_bytes "
                    "bytes each (Batch API: half the price, answers within "
                    "24 h)"),
        CS_OPT_CALLBACK(0, "max-cost", &so.max_cost, "X",
                        "LLM: spend at most X (each request's estimated "
                        "cost is reserved before it is sent)",
                        opt_max_cost),
        CS_OPT_BOOL(0, "rubrics-changed", &so.rubrics_changed,
                    "re-score metrics whose stored results carry another "
                    "rubric version (else such a set is refused)"),
        CS_OPT_BOOL(0, "retire-missing", &so.retire_missing,
                    "make the results of metrics not in the rubric set (or "
                    "not for their tenant) history"),
        CS_OPT_END};

    memset(&so, 0, sizeof(so));
    memset(&cf, 0, sizeof(cf));
    ret = cs_opt_parse(&argc, argv, ctx, rescore ? &rescore_doc : &score_doc,
                       opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (rescore && !cf.metrics)
        return cs_cli_usage(name, "--metric is required");
    if (rescore && (so.rubrics_changed || so.retire_missing)) {
        cs_cli_filter_release(&cf);
        return cs_cli_usage(name, "--rubrics-changed and --retire-missing "
                            "are for 'callscope score'");
    }
    ret = cs_cli_open_store(ctx);
    if (ret) {
        cs_cli_filter_release(&cf);
        return ret;
    }
    ret = cs_rubric_set_load(&set, ctx->cfg->rubrics_dir, NULL, &err);
    if (ret) {
        cs_cli_filter_release(&cf);
        /* The job refuses to start on an invalid rubric set. */
        cs_log(CS_LOG_ERROR, "%s (run 'callscope rubrics lint')", err.msg);
        return CS_EXIT_INVALID;
    }
    ret = cs_cli_check_tenant(ctx, name, cf.f.tenant);
    if (!ret)
        ret = cs_cli_check_metrics(ctx, name, set, cf.metrics);
    if (ret) {
        cs_rubric_set_free(set);
        cs_cli_filter_release(&cf);
        return ret;
    }
    so.filter = cf.f;
    so.metrics = cf.metrics;
    so.force = rescore;
    so.sentiment_metric = "customer_sentiment";
    so.lexicon_path = ctx->cfg->sentiment_lexicon;
    so.page_size = ctx->cfg->score_page;
    cs_sig_catch();
    ret = cs_score_run(&stats, ctx->st, set, ctx->cfg, &so, &err);
    if (ret == CS_EINVALID && stats.changed_metrics) {
        /* A set that would replace results: refused, nothing written. */
        cs_rubric_set_free(set);
        cs_cli_filter_release(&cf);
        return cs_cli_fail(ret, err.msg);
    }
    if (stats.dry_run && !ret && !stats.interrupted) {
        printf("dry run: %llu conversations to score: %llu requests, about "
               "%llu prompt and %llu completion tokens, about %.4f in cost "
               "(%s)\n", (unsigned long long)(stats.conversations -
                                              stats.up_to_date),
               (unsigned long long)stats.requests,
               (unsigned long long)stats.tokens_in,
               (unsigned long long)stats.tokens_out, stats.cost,
               ctx->cfg->llm_model);
        print_dry_costs(&stats);
    } else {
        cs_cli_print_score(&stats, rescore ? "re-scored" : "scored",
                           ret != 0);
        if (stats.changed_metrics && so.rubrics_changed)
            printf("rubrics changed: %s re-scored\n", stats.changed);
        if (stats.retired_missing)
            printf("%llu results of metrics not in the rubric set made "
                   "history\n", (unsigned long long)stats.retired_missing);
        cs_cli_print_llm(&stats, ret != 0);
    }
    cs_rubric_set_free(set);
    cs_cli_filter_release(&cf);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    if (stats.interrupted)
        return CS_EXIT_INTERRUPTED;
    return stats.errors ? CS_EXIT_PARTIAL : CS_EXIT_OK;
}

int cs_cmd_score(int argc, char **argv, struct cs_ctx *ctx)
{
    return run(argc, argv, ctx, 0);
}

int cs_cmd_rescore(int argc, char **argv, struct cs_ctx *ctx)
{
    return run(argc, argv, ctx, 1);
}
