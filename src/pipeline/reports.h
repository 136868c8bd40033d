/* reports.h - the PDF reports: monthly executive, daily operations */
#ifndef CS_PIPELINE_REPORTS_H
#define CS_PIPELINE_REPORTS_H

#include <stddef.h>

#include "base/err.h"
#include "config/config.h"
#include "report/model.h"
#include "rubric/rubric.h"
#include "store/store.h"

/*
 * Each report is computed from the store (by local day, with the previous
 * period and the details reports need), rendered to a temporary file and
 * renamed into place: when anything fails — the data, a KPI, a template,
 * a font, the logo, the disk — no file is written and an earlier one stays
 * as it was.
 */

struct cs_report_files {
    char **paths;           /* the files written, new */
    char **tenants;         /* paths[i]'s tenant, or NULL for the
                               all-tenants edition, new */
    size_t n;
    long tenants_failed;    /* reports that failed (the others are written;
                               the first error is returned) */
    int interrupted;        /* a SIGTERM or SIGINT caught (base/sig.h)
                               stopped it between two files: the signal */
};
/* The file of `tenant` (NULL: the all-tenants edition), or NULL when it was
 * not written (borrowed). */
const char *cs_report_files_find(const struct cs_report_files *f,
                                 const char *tenant);
void cs_report_files_release(struct cs_report_files *f);

/* Presentation options from the config (report.page_size, report.logo,
 * report.fonts.regular/bold, report.templates), checked: CS_EINVALID
 * naming the key. `tmpl_out` is new (cs_tmpl_free). */
struct cs_tmpl;
int cs_reports_style(struct cs_report_style *out, struct cs_tmpl **tmpl_out,
                     const struct cs_config *cfg, struct cs_err *err);

/*
 * What the reports and mails of a job will need, checked before the job
 * does any work: the presentation options, the report and mail
 * templates, and the fonts (a document is opened with them). 0 or
 * CS_EINVALID naming what is missing or wrong.
 */
int cs_reports_preflight(const struct cs_config *cfg, struct cs_err *err);

/*
 * `month` "YYYY-MM": reports/<month>/executive-<tenant>.pdf for each of
 * `tenants` (NULL-terminated; NULL: every tenant with conversations) and
 * reports/<month>/executive-all.pdf, the all-tenants edition (when no
 * tenant is named). Months are each tenant's own local month; the
 * comparison is the calendar month before.
 */
int cs_reports_executive(struct cs_report_files *out, struct cs_store *st,
                         const struct cs_config *cfg,
                         const struct cs_rubric_set *rubrics,
                         const char *month, char *const *tenants,
                         struct cs_err *err);

/* `date` "YYYY-MM-DD": reports/daily/<date>/daily-<tenant>.pdf per tenant
 * (one page each) with the day before and the same weekday last week. */
int cs_reports_daily(struct cs_report_files *out, struct cs_store *st,
                     const struct cs_config *cfg,
                     const struct cs_rubric_set *rubrics, const char *date,
                     char *const *tenants, struct cs_err *err);

/* The month "YYYY-MM" as [from, to) dates and the month before. */
int cs_reports_month(const char *month, char from[11], char to[11],
                     char prev_from[11], struct cs_err *err);

#endif
