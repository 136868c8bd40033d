/* cmd_report.c - callscope report client ... (reports for people) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "cli/cli.h"
#include "pipeline/client.h"
#include "rubric/rubric.h"

struct report_sub {
    const char *name;
    int (*fn)(int argc, char **argv, struct cs_ctx *ctx);
    const char *summary;
};

static int report_client(int argc, char **argv, struct cs_ctx *ctx);

/* One entry per kind of report; each parses its own options. */
static const struct report_sub subs[] = {
    {"client", report_client,
     "the client workbook (XLSX) of one tenant and period"},
};

#define N_SUBS (sizeof(subs) / sizeof(subs[0]))

static void report_help(FILE *out)
{
    fputs("usage: callscope report KIND [OPTIONS]\n\n"
          "Writes a report for people under REPORTS_DIR.\n\n", out);
    for (size_t i = 0; i < N_SUBS; i++)
        fprintf(out, "  %-10s %s\n", subs[i].name, subs[i].summary);
    fputs("\n'callscope report KIND --help' tells more.\n\n" CS_COMMON_HELP,
          out);
}

static const char client_help[] =
    "usage: callscope report client --tenant T --from YYYY-MM-DD "
    "--to YYYY-MM-DD\n\n"
    "Writes REPORTS_DIR/<from>_<to>/client-<tenant>.xlsx for the local\n"
    "dates [from, to) of the tenant's time zone and prints its path:\n"
    "Summary (every KPI with the previous period and the change),\n"
    "Daily (one row per local day, with charts), Conversations (one row\n"
    "per conversation, times in the tenant's zone, handoff reasons\n"
    "redacted), Metrics and Alerts. Numbers are typed cells; nothing from\n"
    "the data is ever a formula. When anything cannot be read or written\n"
    "no file is written and an earlier one stays as it was.\n\n"
    "  --tenant T           the tenant (required)\n"
    "  --from DATE          first day (inclusive)\n"
    "  --to DATE            last day (exclusive)\n"
    CS_COMMON_HELP
    "\nExit: 0 written, 1 store or write error, 2 usage (bad dates, unknown\n"
    "tenant), 3 invalid configuration (time zone, redaction rules).\n";

static int report_client(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {
        {"tenant", required_argument, NULL, 't'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        CS_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    struct cs_client_opts o;
    struct cs_err err = {0, ""};
    struct cs_rubric_set *set = NULL;
    char *path = NULL;
    int64_t from, to;
    int c, ret;

    memset(&o, 0, sizeof(o));
    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(client_help, stdout);
            return CS_EXIT_OK;
        case 't':
            o.tenant = optarg;
            break;
        case 'F':
            o.from = optarg;
            break;
        case 'T':
            o.to = optarg;
            break;
        case 'c':
        case 'q':
        case 'v':
            break;
        default:
            return cs_cli_usage("report client", "unknown option");
        }
    }
    if (optind < argc)
        return cs_cli_usage("report client", "unexpected argument '%s'",
                            argv[optind]);
    if (!o.tenant || !*o.tenant || !o.from || !o.to)
        return cs_cli_usage("report client", "--tenant, --from and --to are "
                            "required");
    if (cs_parse_date(o.from, &from) || cs_parse_date(o.to, &to))
        return cs_cli_usage("report client", "dates are YYYY-MM-DD");
    if (to <= from)
        return cs_cli_usage("report client", "--to must be after --from");
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    set = cs_cli_metric_rubrics(ctx->cfg);
    o.rubrics = set;
    ret = cs_client_report(&path, ctx->st, ctx->cfg, &o, &err);
    cs_rubric_set_free(set);
    if (ret == CS_ENOTFOUND)
        return cs_cli_usage("report client", "%s", err.msg);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("%s\n", path);
    free(path);
    return CS_EXIT_OK;
}

/* The kind: the first argument that is not an option (nor the value of
 * --config / -c), or -1. */
static int find_kind(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc ? i + 1 : -1;
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            i++;
        else if (argv[i][0] != '-')
            return i;
    }
    return -1;
}

int cs_cmd_report(int argc, char **argv, struct cs_ctx *ctx)
{
    int at = find_kind(argc, argv);

    if (at < 0) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                report_help(stdout);
                return CS_EXIT_OK;
            }
        }
        report_help(stderr);
        return CS_EXIT_USAGE;
    }
    for (size_t i = 0; i < N_SUBS; i++) {
        if (strcmp(argv[at], subs[i].name) == 0) {
            /* The kind's options stand after its name; common options
             * before it were handled by main. */
            optind = 1;
            return subs[i].fn(argc - at, argv + at, ctx);
        }
    }
    return cs_cli_usage("report", "'%s' is not a kind of report",
                        argv[at]);
}
