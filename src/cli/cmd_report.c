/* cmd_report.c - callscope report executive|daily|client: reports for
 * people */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sig.h"
#include "cli/cli.h"
#include "pipeline/client.h"
#include "pipeline/reports.h"

#define REPORT_EXITS                                                      \
    "Nothing is written when a step fails (an earlier file stays). Prints\n" \
    "the files written. Exit: 0 ok, 1 error, 2 usage, 3 invalid config,\n" \
    "rubric set or template, 6 stopped by SIGTERM or SIGINT between two\n" \
    "files (those printed are whole)."

/* The rubric set, the tenants known, then the report; prints the files. */
static int run(struct cs_ctx *ctx, const char *cmd, char **tenants,
               const char *month, const char *date)
{
    struct cs_report_files files = {NULL, NULL, 0, 0, 0};
    struct cs_err err = {0, ""};
    struct cs_rubric_set *rubrics = NULL;
    int ret;

    ret = cs_cli_open_store(ctx);
    for (char **t = tenants; !ret && t && *t; t++)
        ret = cs_cli_check_tenant(ctx, cmd, *t);
    if (ret)
        goto done;
    if (cs_rubric_set_load(&rubrics, ctx->cfg->rubrics_dir, NULL, &err) < 0) {
        cs_log(CS_LOG_ERROR, "%s (run 'callscope rubrics lint')", err.msg);
        ret = CS_EXIT_INVALID;
        goto done;
    }
    cs_sig_catch();
    if (month)
        ret = cs_reports_executive(&files, ctx->st, ctx->cfg, rubrics, month,
                                   tenants, &err);
    else
        ret = cs_reports_daily(&files, ctx->st, ctx->cfg, rubrics, date,
                               tenants, &err);
    for (size_t i = 0; i < files.n; i++)
        printf("%s\n", files.paths[i]);
    ret = ret ? cs_cli_fail(ret, err.msg) : CS_EXIT_OK;
    if (ret == CS_EXIT_OK && files.interrupted) {
        cs_log(CS_LOG_WARN, "stopped by %s after %zu report(s): the others "
               "were not written", cs_sig_name(files.interrupted), files.n);
        ret = CS_EXIT_INTERRUPTED;
    }
done:
    cs_report_files_release(&files);
    cs_rubric_set_free(rubrics);
    return ret;
}

static int report_executive(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "report executive",
        .usage = "callscope report executive --month YYYY-MM [--tenant T]...",
        .about = "The monthly executive PDF (docs/report-design.md): per "
                 "tenant in\nREPORTS_DIR/<month>/executive-<tenant>.pdf, and "
                 "the all-tenants edition\nexecutive-all.pdf when no tenant "
                 "is named. Each tenant's month is its own\n(its time zone), "
                 "compared with the month before. Words come from\n"
                 "templates/report.tmpl, fonts, logo and page size from the "
                 "config's\n\"report\" object.",
        .exits = REPORT_EXITS,
    };
    const char *month = NULL;
    char **tenants = NULL;
    struct cs_err err = {0, ""};
    char f[11], t[11], p[11];
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "month", &month, "YYYY-MM", "the month"),
        CS_OPT_LIST(0, "tenant", &tenants, "T",
                    "only this tenant (repeatable)"),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (!month)
        ret = cs_cli_usage("report executive", "--month is required");
    else if (cs_reports_month(month, f, t, p, &err))
        ret = cs_cli_usage("report executive", "%s", err.msg);
    else
        ret = run(ctx, "report executive", tenants, month, NULL);
    free(tenants);
    return ret;
}

static int report_daily(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "report daily",
        .usage = "callscope report daily --date YYYY-MM-DD [--tenant T]...",
        .about = "The daily operations PDF, one page per tenant, in\n"
                 "REPORTS_DIR/daily/<date>/daily-<tenant>.pdf: each KPI that "
                 "day, the day\nbefore and the same weekday last week, alert "
                 "crossings marked; the\nalerts; the conversations worth a "
                 "look. (The nightly job renders it.)",
        .exits = REPORT_EXITS,
    };
    const char *date = NULL;
    char **tenants = NULL;
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_DATE(0, "date", &date, "the day"),
        CS_OPT_LIST(0, "tenant", &tenants, "T",
                    "only this tenant (repeatable)"),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (!date)
        ret = cs_cli_usage("report daily", "--date is required");
    else
        ret = run(ctx, "report daily", tenants, NULL, date);
    free(tenants);
    return ret;
}

static int report_client(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "report client",
        .usage = "callscope report client --tenant T --from YYYY-MM-DD "
                 "--to YYYY-MM-DD",
        .about = "Writes REPORTS_DIR/<from>_<to>/client-<tenant>.xlsx for "
                 "the local\ndates [from, to) of the tenant's time zone and "
                 "prints its path:\nSummary (every KPI with the previous "
                 "period and the change),\nDaily (one row per local day, "
                 "with charts), Conversations (one row\nper conversation, "
                 "times in the tenant's zone, handoff reasons\nredacted), "
                 "Metrics and Alerts. Numbers are typed cells; nothing "
                 "from\nthe data is ever a formula. When anything cannot be "
                 "read or written\nno file is written and an earlier one "
                 "stays as it was.",
        .exits = "Exit: 0 written, 1 store or write error, 2 usage (bad "
                 "dates, unknown\ntenant), 3 invalid configuration (time "
                 "zone, redaction rules).",
    };
    struct cs_client_opts o;
    struct cs_err err = {0, ""};
    struct cs_rubric_set *set = NULL;
    char *path = NULL;
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "tenant", &o.tenant, "T", "the tenant (required)"),
        CS_OPT_DATE(0, "from", &o.from, "first day (inclusive)"),
        CS_OPT_DATE(0, "to", &o.to, "last day (exclusive)"),
        CS_OPT_END};

    memset(&o, 0, sizeof(o));
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (!o.tenant || !*o.tenant || !o.from || !o.to)
        return cs_cli_usage("report client", "--tenant, --from and --to are "
                            "required");
    if (strcmp(o.to, o.from) <= 0)
        return cs_cli_usage("report client", "--to must be after --from");
    ret = cs_cli_open_store(ctx);
    if (!ret)
        ret = cs_cli_check_tenant(ctx, "report client", o.tenant);
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

static const struct cs_cmd subcmds[] = {
    {"executive", report_executive, CS_CMD_DB,
     "the monthly executive PDF per tenant and for all tenants"},
    {"daily", report_daily, CS_CMD_DB,
     "the daily operations PDF, one page per tenant"},
    {"client", report_client, CS_CMD_DB,
     "the client workbook (XLSX) of one tenant and period"},
    {NULL, NULL, 0, NULL},
};

static const struct cs_opt_cmd doc = {
    .name = "report",
    .usage = "callscope report COMMAND [OPTIONS]",
    .about = "Renders the reports of docs/report-design.md.",
    .exits = REPORT_EXITS,
    .cmds = subcmds,
};

int cs_cmd_report(int argc, char **argv, struct cs_ctx *ctx)
{
    return cs_opt_dispatch(argc, argv, ctx, &doc);
}
