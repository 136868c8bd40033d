/* cmd_results.c - callscope results export */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/results.h"

static const struct cs_opt_cmd export_doc = {
    .name = "results export",
    .usage = "callscope results export [--from D --to D] [--tenant T]\n"
             "                                [--metric KEY...] [--history]\n"
             "                                --format jsonl|csv",
    .about = "Writes the current evaluation of each (conversation, metric) "
             "to\n"
             "stdout, one per line, in the result shape of "
             "docs/rubric-format.md;\n"
             "--history adds the superseded ones (field 'current' tells them "
             "apart).\n"
             "Columns: conversation_id, tenant, metric, rubric_version, "
             "value,\n"
             "confidence, evidence, rationale, evaluator, tokens_in, "
             "tokens_out,\n"
             "cached_tokens (of tokens_in, served by the provider's prompt "
             "cache),\n"
             "cost, evaluated_at, current.\n"
             "Dates are UTC days of started_at, [from, to).",
    .exits = "Exit: 0 ok, 1 store error, 2 usage.",
};

static int results_export(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_cli_filter cf;
    struct cs_err err = {0, ""};
    const char *format = NULL;
    int history = 0, ret;
    const struct cs_option opts[] = {
        CS_CLI_FILTER_OPTS(&cf, "only this metric (repeatable)"),
        CS_OPT_BOOL(0, "history", &history,
                    "add the superseded results (current: false)"),
        CS_OPT_CHOICE(0, "format", &format, "jsonl|csv",
                      "output format (required)"),
        CS_OPT_END};

    memset(&cf, 0, sizeof(cf));
    ret = cs_opt_parse(&argc, argv, ctx, &export_doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (!format) {
        cs_cli_filter_release(&cf);
        return cs_cli_usage("results export", "--format jsonl or csv is "
                            "required");
    }
    ret = cs_cli_open_store(ctx);
    if (ret) {
        cs_cli_filter_release(&cf);
        return ret;
    }
    ret = cs_store_results_export(ctx->st, &cf.f, cf.metrics, history,
                                  strcmp(format, "csv") == 0, stdout, &err);
    cs_cli_filter_release(&cf);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    return CS_EXIT_OK;
}

static const struct cs_cmd subcmds[] = {
    {"export", results_export, 0,
     "write evaluation results as JSON Lines or CSV"},
    {NULL, NULL, 0, NULL},
};

static const struct cs_opt_cmd doc = {
    .name = "results",
    .usage = "callscope results export [OPTIONS]",
    .about = "Evaluation results for other analytics pipelines\n"
             "('callscope results export --help' for its options).",
    .exits = "Exit: 0 ok, 1 store error, 2 usage.",
    .cmds = subcmds,
};

int cs_cmd_results(int argc, char **argv, struct cs_ctx *ctx)
{
    return cs_opt_dispatch(argc, argv, ctx, &doc);
}
