/* monthly.h - the monthly job: executive reports, mailed per tenant */
#ifndef CS_PIPELINE_MONTHLY_H
#define CS_PIPELINE_MONTHLY_H

#include "base/err.h"
#include "config/config.h"
#include "mail/deliver.h"
#include "pipeline/reports.h"
#include "rubric/rubric.h"
#include "store/store.h"

struct cs_monthly_opts {
    const char *month;      /* "YYYY-MM"; NULL: each tenant's last month */
    int force;              /* mail again what was sent for that month */
    const struct cs_rubric_set *rubrics;
};

struct cs_monthly_result {
    char month[8];          /* the month of the all-tenants edition */
    long tenants;           /* tenants reported */
    long tenants_failed;    /* reports that failed (not mailed) */
    long rendered;          /* files written */
    struct cs_mail_stats mail;
    long not_mailed;        /* mails that could not be built */
};

/*
 * Takes the job's advisory lock (CS_ELOCKED when another monthly runs;
 * the nightly job has its own and may run alongside), renders each
 * tenant's executive PDF for its month — `month`, or the month before
 * today in the tenant's own time zone — and the all-tenants edition (for
 * the latest month that has ended in every configured zone), mails each
 * tenant's report to that tenant's recipients only and the edition to
 * the config's internal_recipients only, then writes
 * REPORTS_DIR/metrics/callscope_monthly.prom. A report that failed is not
 * mailed; the others are. Returns 0 or the first error.
 */
int cs_monthly_run(struct cs_monthly_result *res, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_monthly_opts *opts, struct cs_err *err);

/* "YYYY-MM" of the month before the day `today` ("YYYY-MM-DD"). */
void cs_monthly_month_before(char out[8], const char *today);

#endif
