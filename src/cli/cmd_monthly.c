/* cmd_monthly.c - callscope monthly: the job cron runs once a month */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "pipeline/monthly.h"

static const struct cs_opt_cmd doc = {
    .name = "monthly",
    .usage = "callscope monthly [--month YYYY-MM] [--force]",
    .about = "The monthly job: renders each tenant's executive PDF for its "
             "month (the\nmonth before today in the tenant's own time zone, "
             "or --month) and the\nall-tenants edition, mails each tenant's "
             "report to that tenant's\nrecipients and the edition to "
             "internal_recipients only, and writes\n"
             "REPORTS_DIR/metrics/callscope_monthly.prom. What was mailed "
             "for the month\nis not mailed again unless --force. One run at "
             "a time (a PostgreSQL\nadvisory lock); it may run while the "
             "nightly job does.",
    .exits = "Exit: 0 ok, 1 error, 2 usage, 3 invalid config or rubric set, "
             "4 some\nreports or deliveries failed, 5 another monthly run "
             "holds the lock.",
};

int cs_cmd_monthly(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_monthly_opts o;
    struct cs_monthly_result res;
    struct cs_rubric_set *rubrics = NULL;
    struct cs_err err = {0, ""};
    char f[11], t[11], p[11];
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "month", &o.month, "YYYY-MM",
                      "the month (default: each tenant's last month)"),
        CS_OPT_BOOL(0, "force", &o.force,
                    "mail again what was already sent for the month"),
        CS_OPT_END};

    memset(&o, 0, sizeof(o));
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (o.month && cs_reports_month(o.month, f, t, p, &err))
        return cs_cli_usage("monthly", "%s", err.msg);
    ret = cs_cli_job_preflight(ctx);
    if (!ret)
        ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    if (cs_rubric_set_load(&rubrics, ctx->cfg->rubrics_dir, NULL, &err) < 0) {
        cs_log(CS_LOG_ERROR, "%s (run 'callscope rubrics lint')", err.msg);
        return CS_EXIT_INVALID;
    }
    o.rubrics = rubrics;
    ret = cs_monthly_run(&res, ctx->st, ctx->cfg, &o, &err);
    if (ret && !(ret != CS_ELOCKED && res.rendered)) {
        ret = cs_cli_fail(ret, err.msg);
    } else {
        if (ret)
            cs_log(CS_LOG_ERROR, "%s", err.msg);
        printf("monthly report for %s: %ld tenant(s), %ld file(s) rendered, "
               "%ld failed\n", res.month, res.tenants, res.rendered,
               res.tenants_failed);
        cs_cli_print_mail(&res.mail, res.not_mailed);
        ret = ret ? cs_cli_exit_for(ret)
              : res.tenants_failed || res.mail.failed || res.mail.unknown ||
                        res.not_mailed
                  ? CS_EXIT_PARTIAL : CS_EXIT_OK;
    }
    cs_rubric_set_free(rubrics);
    return ret;
}
