/* cmd_score.c - callscope score / rescore */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "rubric/rubric.h"
#include "score/score.h"

static const char score_help[] =
    "usage: callscope score [--from D --to D] [--tenant T] [--metric KEY...]\n"
    "\n"
    "Scores conversations against the rubrics: only what is missing or\n"
    "stale (another rubric version, evaluator or conversation content) is\n"
    "evaluated, so a second run does nothing. Without an LLM configured\n"
    "the offline rules evaluator (PCRE2 rules, lexicon sentiment) is used.\n"
    "Values the agent logged itself are stored as evaluator 'agent'.\n"
    "With an LLM configured (CALLSCOPE_LLM_BASE_URL or llm.base_url), one\n"
    "request per conversation carries every rubric that applies; the\n"
    "transcript is redacted first. Several processes may run at once.\n\n"
    "  --from D, --to D   started_at range in UTC dates, [from, to)\n"
    "  --tenant T         one tenant\n"
    "  --metric KEY       only this metric (repeatable)\n"
    "  --dry-run          LLM: print the requests, tokens and cost it would\n"
    "                     take, and send nothing\n"
    "  --max-cost X       LLM: start no request once X has been spent\n"
    CS_COMMON_HELP
    "\nExit: 0 ok, 1 store error, 2 usage, 3 invalid rubric set,\n"
    "4 some evaluations ended in 'error'.\n";

static const char rescore_help[] =
    "usage: callscope rescore --metric KEY [--metric KEY...] [--from D "
    "--to D] [--tenant T]\n\n"
    "Re-scores the given metrics now, even where their results are up to\n"
    "date (after a rubric's wording changed without changing its meaning,\n"
    "say). The earlier results are kept as history.\n\n"
    "  --metric KEY       metric to re-score (required, repeatable)\n"
    "  --from D, --to D   started_at range in UTC dates, [from, to)\n"
    "  --tenant T         one tenant\n"
    "  --dry-run, --max-cost X   as for 'score'\n"
    CS_COMMON_HELP
    "\nExit: 0 ok, 1 store error, 2 usage, 3 invalid rubric set,\n"
    "4 some evaluations ended in 'error'.\n";

static int run(int argc, char **argv, struct cs_ctx *ctx, int rescore)
{
    static const struct option opts[] = {
        CS_FILTER_OPTS,
        {"dry-run", no_argument, NULL, 'n'},
        {"max-cost", required_argument, NULL, 'x'},
        CS_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    const char *name = rescore ? "rescore" : "score";
    struct cs_score_opts so;
    struct cs_score_stats stats;
    struct cs_rubric_set *set = NULL;
    struct cs_err err = {0, ""};
    struct cs_cli_filter cf;
    int c, ret;

    memset(&so, 0, sizeof(so));
    memset(&cf, 0, sizeof(cf));
    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        ret = cs_cli_filter_opt(&cf, c, optarg, name);
        if (ret == 1)
            continue;
        if (ret) {
            cs_cli_filter_release(&cf);
            return ret;
        }
        switch (c) {
        case 'h':
            fputs(rescore ? rescore_help : score_help, stdout);
            cs_cli_filter_release(&cf);
            return CS_EXIT_OK;
        case 'n':
            so.dry_run = 1;
            break;
        case 'x':
            if (cs_parse_double(optarg, &so.max_cost) || so.max_cost <= 0) {
                cs_cli_filter_release(&cf);
                return cs_cli_usage(name, "--max-cost takes an amount > 0");
            }
            break;
        case 'c':
        case 'q':
        case 'v':
            break;
        default:
            cs_cli_filter_release(&cf);
            return cs_cli_usage(name, "unknown option");
        }
    }
    if (optind < argc) {
        cs_cli_filter_release(&cf);
        return cs_cli_usage(name, "unexpected argument '%s'", argv[optind]);
    }
    if (rescore && !cf.metrics)
        return cs_cli_usage(name, "--metric is required");
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
    so.filter = cf.f;
    so.metrics = cf.metrics;
    so.force = rescore;
    so.sentiment_metric = "customer_sentiment";
    so.lexicon_path = ctx->cfg->sentiment_lexicon;
    so.page_size = ctx->cfg->score_page;
    ret = cs_score_run(&stats, ctx->st, set, ctx->cfg, &so, &err);
    if (stats.dry_run) {
        printf("dry run: %llu conversations to score: %llu requests, about "
               "%llu prompt and %llu completion tokens, about %.4f in cost "
               "(%s)\n", (unsigned long long)(stats.conversations -
                                              stats.up_to_date),
               (unsigned long long)stats.requests,
               (unsigned long long)stats.tokens_in,
               (unsigned long long)stats.tokens_out, stats.cost,
               ctx->cfg->llm_model);
    } else {
        printf("%s %llu conversations in %.2f s: %llu evaluations written "
               "(%llu not applicable, %llu errors, %llu logged by the agent), "
               "%llu up to date\n", rescore ? "re-scored" : "scored",
               (unsigned long long)stats.conversations, stats.seconds,
               (unsigned long long)stats.evaluations,
               (unsigned long long)stats.not_applicable,
               (unsigned long long)stats.errors,
               (unsigned long long)stats.agent,
               (unsigned long long)stats.up_to_date);
        if (stats.requests)
            printf("LLM: %llu requests (%llu tries on the wire), %llu prompt "
                   "+ %llu completion tokens, cost %.4f%s\n",
                   (unsigned long long)stats.requests,
                   (unsigned long long)stats.http_tries,
                   (unsigned long long)stats.tokens_in,
                   (unsigned long long)stats.tokens_out, stats.cost,
                   stats.left_for_later ? "; max cost reached, the rest is "
                                          "left for a later run" : "");
    }
    cs_rubric_set_free(set);
    cs_cli_filter_release(&cf);
    if (ret)
        return cs_cli_fail(ret, err.msg);
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
