/* cmd_kpis.c - callscope kpis --from D --to D */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "base/parse.h"
#include "kpi/kpi.h"
#include "kpi/movers.h"
#include "report/render.h"

static const struct cs_opt_cmd doc = {
    .name = "kpis",
    .usage = "callscope kpis --from YYYY-MM-DD --to YYYY-MM-DD [OPTIONS]",
    .about = "Computes the KPIs and ROI of docs/kpis.md over the local\n"
             "dates [from, to) of each tenant's time zone, with the previous\n"
             "period of the same length and the alerts its thresholds raise.",
    .exits = "Exit: 0 ok, 1 store error, 2 usage (bad dates, zone, format or\n"
             "an unknown tenant).\n"
             "With --movers it prints instead what moved against the previous "
             "period\n"
             "beyond noise: rates by a two-proportion z-test, means by Welch's "
             "t-test,\n"
             "nothing tested below --min-n on either side, p-values corrected "
             "for\n"
             "the number of tests (Holm); each with its change, whether it is "
             "good\n"
             "or bad news and a sample of the conversations behind it.",
};

static int opt_alpha(const struct cs_option *opt, const char *arg,
                     struct cs_err *err)
{
    double *a = opt->value;

    if (cs_parse_double(arg, a) || *a <= 0 || *a >= 1)
        return cs_err_set(err, CS_EINVALID, "--alpha takes a level between "
                          "0 and 1 (0.05)");
    return 0;
}

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
    struct cs_movers_opts mo;
    int ret, movers = 0;
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
        CS_OPT_BOOL(0, "movers", &movers,
                    "print what moved significantly against the previous "
                    "period"),
        CS_OPT_LONG(0, "min-n", &mo.min_n, "N", 2, 1000000000,
                    "movers: the least n on each side to test (30)"),
        CS_OPT_CALLBACK(0, "alpha", &mo.alpha, "A",
                        "movers: the family-wise significance level (0.05)",
                        opt_alpha),
        CS_OPT_END};

    memset(&q, 0, sizeof(q));
    q.compare = 1;
    cs_movers_opts_init(&mo);
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (!from || !to)
        return cs_cli_usage("kpis", "--from and --to are required");
    if (movers && (!q.compare || q.by != CS_KPI_BY_NONE))
        return cs_cli_usage("kpis", "--movers compares with the previous "
                            "period: not with --no-compare or --by");
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
    q.calibrations = 1;
    q.movers = movers ? &mo : NULL;
    ret = cs_kpi_compute(&report, ctx->st, ctx->cfg, &q, &err);
    cs_rubric_set_free(set);
    if (ret == CS_EINVALID)
        return cs_cli_usage("kpis", "%s", err.msg);
    if (ret) {
        cs_report_free(report);
        return cs_cli_fail(ret, err.msg);
    }
    if (movers)
        ret = cs_render_movers(report, strcmp(format, "table") == 0
                                           ? "txt" : format, stdout, &err);
    else
        ret = cs_render_stream(cs_render_find(strcmp(format, "table") == 0
                                                  ? "txt" : format),
                               report, stdout, "the output", &err);
    cs_report_free(report);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    return CS_EXIT_OK;
}
