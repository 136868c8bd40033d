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
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"tenant", required_argument, NULL, 't'},
        {"metric", required_argument, NULL, 'm'},
        {"history", no_argument, NULL, 'H'},
        {"format", required_argument, NULL, 'f'},
        CS_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    struct cs_score_filter f;
    struct cs_err err = {0, ""};
    const char *format = NULL;
    char **metrics = NULL;
    size_t n = 0;
    int c, history = 0, ret;
    int64_t d;

    memset(&f, 0, sizeof(f));
    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(help, stdout);
            free(metrics);
            return CS_EXIT_OK;
        case 'F':
        case 'T':
            if (cs_parse_date(optarg, &d)) {
                free(metrics);
                return cs_cli_usage("results", "dates are YYYY-MM-DD");
            }
            if (c == 'F')
                f.from = optarg;
            else
                f.to = optarg;
            break;
        case 't':
            f.tenant = optarg;
            break;
        case 'm':
            metrics = cs_xrealloc(metrics, (n + 2) * sizeof(*metrics));
            metrics[n++] = optarg;
            metrics[n] = NULL;
            break;
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
            free(metrics);
            return cs_cli_usage("results", "unknown option");
        }
    }
    if (optind != argc - 1 || strcmp(argv[optind], "export") != 0) {
        free(metrics);
        return cs_cli_usage("results", "expected 'export'");
    }
    if (!format || (strcmp(format, "jsonl") && strcmp(format, "csv"))) {
        free(metrics);
        return cs_cli_usage("results", "--format jsonl or csv is required");
    }
    ret = cs_cli_open_store(ctx);
    if (ret) {
        free(metrics);
        return ret;
    }
    ret = cs_store_results_export(ctx->st, &f, metrics, history,
                                  strcmp(format, "csv") == 0, stdout, &err);
    free(metrics);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    return CS_EXIT_OK;
}
