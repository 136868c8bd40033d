/* cmd_report.c - callscope report executive|daily: the PDF reports */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "pipeline/reports.h"

static const char help[] =
    "usage: callscope report executive --month YYYY-MM [--tenant T ...]\n"
    "       callscope report daily --date YYYY-MM-DD [--tenant T ...]\n\n"
    "Renders the PDF reports of docs/report-design.md:\n"
    "  executive   the monthly executive report, per tenant in\n"
    "              REPORTS_DIR/<month>/executive-<tenant>.pdf, and the\n"
    "              all-tenants edition executive-all.pdf (when no tenant\n"
    "              is named); each tenant's month in its own time zone,\n"
    "              compared with the month before\n"
    "  daily       the daily operations page per tenant in\n"
    "              REPORTS_DIR/daily/<date>/daily-<tenant>.pdf, against the\n"
    "              day before and the same weekday last week\n\n"
    "  --month YYYY-MM      the month (executive)\n"
    "  --date YYYY-MM-DD    the day (daily)\n"
    "  --tenant T           only this tenant (repeatable)\n"
    CS_COMMON_HELP
    "\nWords come from templates/report.tmpl (config report.templates),\n"
    "fonts, logo and page size from the config's \"report\" object.\n"
    "Nothing is written when a step fails (an earlier file stays).\n"
    "Prints the files written. Exit: 0 ok, 1 error, 2 usage, 3 invalid\n"
    "config, rubric set or template.\n";

int cs_cmd_report(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {
        {"month", required_argument, NULL, 'm'},
        {"date", required_argument, NULL, 'd'},
        {"tenant", required_argument, NULL, 't'},
        CS_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    struct cs_report_files files = {NULL, 0, 0};
    struct cs_err err = {0, ""};
    struct cs_rubric_set *rubrics = NULL;
    const char *kind, *month = NULL, *date = NULL;
    char **tenants = NULL;
    size_t n_tenants = 0;
    int64_t day;
    int c, ret;

    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(help, stdout);
            free(tenants);
            return CS_EXIT_OK;
        case 'm':
            month = optarg;
            break;
        case 'd':
            if (cs_parse_date(optarg, &day)) {
                free(tenants);
                return cs_cli_usage("report", "--date takes YYYY-MM-DD");
            }
            date = optarg;
            break;
        case 't':
            tenants = cs_xrealloc(tenants,
                                  (n_tenants + 2) * sizeof(*tenants));
            tenants[n_tenants++] = optarg;
            tenants[n_tenants] = NULL;
            break;
        case 'c':
        case 'q':
        case 'v':
            break;
        default:
            free(tenants);
            return cs_cli_usage("report", "unknown option");
        }
    }
    ret = CS_EXIT_USAGE;
    if (optind + 1 != argc) {
        cs_cli_usage("report", "name one report: executive or daily");
        goto done;
    }
    kind = argv[optind];
    if (strcmp(kind, "executive") == 0 && !month) {
        cs_cli_usage("report", "executive needs --month YYYY-MM");
        goto done;
    }
    if (strcmp(kind, "daily") == 0 && !date) {
        cs_cli_usage("report", "daily needs --date YYYY-MM-DD");
        goto done;
    }
    if (strcmp(kind, "executive") != 0 && strcmp(kind, "daily") != 0) {
        cs_cli_usage("report", "'%s' is not a report: executive or daily",
                     kind);
        goto done;
    }
    if (month) {
        char f[11], t[11], p[11];

        if (cs_reports_month(month, f, t, p, &err)) {
            cs_cli_usage("report", "%s", err.msg);
            goto done;
        }
    }
    ret = cs_cli_open_store(ctx);
    if (ret)
        goto done;
    if (cs_rubric_set_load(&rubrics, ctx->cfg->rubrics_dir, NULL, &err) < 0) {
        cs_log(CS_LOG_ERROR, "%s (run 'callscope rubrics lint')", err.msg);
        ret = CS_EXIT_INVALID;
        goto done;
    }
    if (month)
        ret = cs_reports_executive(&files, ctx->st, ctx->cfg, rubrics, month,
                                   tenants, &err);
    else
        ret = cs_reports_daily(&files, ctx->st, ctx->cfg, rubrics, date,
                               tenants, &err);
    for (size_t i = 0; i < files.n; i++)
        printf("%s\n", files.paths[i]);
    ret = ret ? cs_cli_fail(ret, err.msg) : CS_EXIT_OK;
done:
    cs_report_files_release(&files);
    cs_rubric_set_free(rubrics);
    free(tenants);
    return ret;
}
