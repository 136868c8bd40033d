/* cmd_kpis.c - callscope kpis --from D --to D */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "kpi/kpi.h"
#include "report/render.h"

static const struct cs_opt_cmd doc = {
    .name = "kpis",
    .usage = "callscope kpis --from YYYY-MM-DD --to YYYY-MM-DD [OPTIONS]",
    .about = "Computes the KPIs and ROI of docs/kpis.md over the local\n"
             "dates [from, to) of each tenant's time zone, with the previous\n"
             "period of the same length and the alerts its thresholds raise.",
    .exits = "Exit: 0 ok, 1 store error, 2 usage (bad dates, zone, format or\n"
             "an unknown tenant).",
};

static int opt_by(const struct cs_option *opt, const char *arg,
                  struct cs_err *err)
{
    enum cs_kpi_by *by = opt->value;

    if (strcmp(arg, "day") == 0)
        *by = CS_KPI_BY_DAY;
    else if (strcmp(arg, "agent") == 0)
        *by = CS_KPI_BY_AGENT;
    else
        return cs_err_set(err, CS_EINVALID, "--by takes day or agent");
    return 0;
}

int cs_cmd_kpis(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_kpi_query q;
    struct cs_err err = {0, ""};
    const char *from = NULL, *to = NULL, *format = "table";
    struct cs_report *report = NULL;
    struct cs_rubric_set *set = NULL;
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_DATE(0, "from", &from, "first day (inclusive)"),
        CS_OPT_DATE(0, "to", &to, "last day (exclusive)"),
        CS_OPT_STRING(0, "tenant", &q.tenant, "T",
                      "one tenant (default: every tenant with data)"),
        CS_OPT_STRING(0, "tz", &q.tz, "ZONE",
                      "time zone for every tenant (default: each tenant's "
                      "configured zone, else UTC)"),
        CS_OPT_CALLBACK(0, "by", &q.by, "day|agent",
                        "add a breakdown per local day or per agent",
                        opt_by),
        CS_OPT_CHOICE(0, "format", &format, "json|csv|table",
                      "output (default table)"),
        CS_OPT_SET(0, "no-compare", &q.compare, 0,
                   "skip the previous period"),
        CS_OPT_END};

    memset(&q, 0, sizeof(q));
    q.compare = 1;
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (!from || !to)
        return cs_cli_usage("kpis", "--from and --to are required");
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    ret = cs_cli_check_tenant(ctx, "kpis", q.tenant);
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
