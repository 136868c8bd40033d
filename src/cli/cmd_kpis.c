/* cmd_kpis.c - callscope kpis --from D --to D */
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "cli/cli.h"
#include "kpi/kpi.h"
#include "report/render.h"

static const char help[] =
    "usage: callscope kpis --from YYYY-MM-DD --to YYYY-MM-DD [OPTIONS]\n\n"
    "Computes the KPIs and ROI of ../shared/spec/kpis.md over the local\n"
    "dates [from, to) of each tenant's time zone, with the previous period\n"
    "of the same length and the alerts its thresholds raise.\n\n"
    "  --from DATE          first day (inclusive)\n"
    "  --to DATE            last day (exclusive)\n"
    "  --tenant T           one tenant (default: every tenant with data)\n"
    "  --tz ZONE            time zone for every tenant (default: each\n"
    "                       tenant's configured zone, else UTC)\n"
    "  --by day|agent       add a breakdown per local day or per agent\n"
    "  --format json|csv|table   output (default table)\n"
    "  --no-compare         skip the previous period\n"
    CS_COMMON_HELP
    "\nExit: 0 ok, 1 store error, 2 usage (bad dates, zone or format).\n";

int cs_cmd_kpis(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"tenant", required_argument, NULL, 't'},
        {"tz", required_argument, NULL, 'z'},
        {"by", required_argument, NULL, 'b'},
        {"format", required_argument, NULL, 'f'},
        {"no-compare", no_argument, NULL, 'n'},
        CS_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    struct cs_kpi_query q;
    struct cs_err err = {0, ""};
    const char *from = NULL, *to = NULL, *format = "table";
    struct cs_report *report = NULL;
    struct cs_rubric_set *set = NULL;
    int64_t d;
    int c, ret;

    memset(&q, 0, sizeof(q));
    q.compare = 1;
    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(help, stdout);
            return CS_EXIT_OK;
        case 'F':
            from = optarg;
            break;
        case 'T':
            to = optarg;
            break;
        case 't':
            q.tenant = optarg;
            break;
        case 'z':
            q.tz = optarg;
            break;
        case 'b':
            if (strcmp(optarg, "day") == 0)
                q.by = CS_KPI_BY_DAY;
            else if (strcmp(optarg, "agent") == 0)
                q.by = CS_KPI_BY_AGENT;
            else
                return cs_cli_usage("kpis", "--by takes day or agent");
            break;
        case 'f':
            format = optarg;
            break;
        case 'n':
            q.compare = 0;
            break;
        case 'c':
        case 'q':
        case 'v':
            break;
        default:
            return cs_cli_usage("kpis", "unknown option");
        }
    }
    if (optind < argc)
        return cs_cli_usage("kpis", "unexpected argument '%s'", argv[optind]);
    if (!from || !to)
        return cs_cli_usage("kpis", "--from and --to are required");
    if (cs_parse_date(from, &d) || cs_parse_date(to, &d))
        return cs_cli_usage("kpis", "dates are YYYY-MM-DD");
    if (strcmp(format, "json") && strcmp(format, "csv") &&
        strcmp(format, "table"))
        return cs_cli_usage("kpis", "--format takes json, csv or table");
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    snprintf(q.from, sizeof(q.from), "%s", from);
    snprintf(q.to, sizeof(q.to), "%s", to);
    set = cs_cli_metric_rubrics(ctx->cfg);
    q.rubrics = set;
    ret = cs_kpi_compute(&report, ctx->st, ctx->cfg, &q, &err);
    cs_rubric_set_free(set);
    if (ret == CS_EINVALID)
        return cs_cli_usage("kpis", "%s", err.msg);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    ret = cs_render_stream(cs_render_find(strcmp(format, "table") == 0
                                              ? "txt" : format),
                           report, stdout, "the output", &err);
    cs_report_free(report);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    return CS_EXIT_OK;
}
