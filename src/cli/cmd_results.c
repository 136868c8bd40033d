/* cmd_results.c - callscope results export */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "store/results.h"

static const char help[] =
    "usage: callscope results export [--from D --to D] [--tenant T]\n"
    "                                [--metric KEY...] [--history]\n"
    "                                --format jsonl|csv\n\n"
    "Writes the current evaluation of each (conversation, metric) to\n"
    "stdout, one per line, in the result shape of rubric-format.md;\n"
    "--history adds the superseded ones (field 'current' tells them apart).\n"
    "Dates are UTC days of started_at, [from, to).\n\n"
    CS_COMMON_HELP
    "\nExit: 0 ok, 1 store error, 2 usage.\n";

int cs_cmd_results(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {
        CS_FILTER_OPTS,
        {"history", no_argument, NULL, 'H'},
        {"format", required_argument, NULL, 'f'},
        CS_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    struct cs_cli_filter cf;
    struct cs_err err = {0, ""};
    const char *format = NULL;
    int c, history = 0, ret;

    memset(&cf, 0, sizeof(cf));
    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        ret = cs_cli_filter_opt(&cf, c, optarg, "results");
        if (ret == 1)
            continue;
        if (ret) {
            cs_cli_filter_release(&cf);
            return ret;
        }
        switch (c) {
        case 'h':
            fputs(help, stdout);
            cs_cli_filter_release(&cf);
            return CS_EXIT_OK;
        case 'H':
            history = 1;
            break;
        case 'f':
            format = optarg;
            break;
        case 'c':
        case 'q':
        case 'v':
            break;
        default:
            cs_cli_filter_release(&cf);
            return cs_cli_usage("results", "unknown option");
        }
    }
    if (optind != argc - 1 || strcmp(argv[optind], "export") != 0) {
        cs_cli_filter_release(&cf);
        return cs_cli_usage("results", "expected 'export'");
    }
    if (!format || (strcmp(format, "jsonl") && strcmp(format, "csv"))) {
        cs_cli_filter_release(&cf);
        return cs_cli_usage("results", "--format jsonl or csv is required");
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
