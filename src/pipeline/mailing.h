/* mailing.h - the jobs' delivery stage: reports and alerts to recipients */
#ifndef CS_PIPELINE_MAILING_H
#define CS_PIPELINE_MAILING_H

#include <jansson.h>

#include "base/err.h"
#include "config/config.h"
#include "mail/compose.h"
#include "mail/deliver.h"
#include "report/model.h"
#include "store/store.h"

/*
 * Usage (inside a job, holding its lock):
 *
 *     struct cs_mailing ml;
 *     cs_mailing_open(&ml, st, cfg, "nightly", force, err);
 *     cs_mailing_report(&ml, CS_MAIL_DAILY, "acme", day, report, tenant,
 *                       recipients, &files, NULL, err);
 *     cs_mailing_alerts(&ml, tenant, day, err);
 *     cs_mailing_send(&ml, &stats, err);
 *     cs_mailing_close(&ml);
 *
 * A tenant's report goes only to the recipients the caller names for it
 * (its own `recipients`, never another tenant's): one message per
 * recipient, built from that tenant's part of the model.
 */
struct cs_alert_mark;

struct cs_mailing {
    struct cs_store *st;
    const struct cs_config *cfg;
    const char *job;
    int force;              /* send again: every alert is due */
    struct cs_mailer *m;
    struct cs_tmpl *tmpl;
    struct cs_alert_mark *marks;    /* alerts to mark sent after the run */
    size_t n_marks;
    long alerts_sent;       /* alerts in the digests queued */
    long not_mailed;        /* mails that could not be built */
};

int cs_mailing_open(struct cs_mailing *ml, struct cs_store *st,
                    const struct cs_config *cfg, const char *job, int force,
                    struct cs_err *err);
void cs_mailing_close(struct cs_mailing *ml);

/*
 * Queues the mail of a report to each of `recipients` (a JSON array of
 * addresses; NULL or empty: nobody, logged). `tenant` is the key in the
 * log ("*" for the all-tenants edition, then `tn` is NULL). A mail that
 * cannot be built is logged and counted in not_mailed; the others go on.
 * Returns 0 or the store's error.
 */
int cs_mailing_report(struct cs_mailing *ml, enum cs_mail_report kind,
                      const char *tenant, const char *period,
                      const struct cs_report *r,
                      const struct cs_report_tenant *tn, json_t *recipients,
                      const struct cs_mail_files *files, const char *extra,
                      struct cs_err *err);

/*
 * Records the alerts of `tn`'s day (t->cur.alerts) and queues one digest
 * of those due (never sent, risen, or sent more than alerts.resend_after
 * ago; with force, all) to the tenant's alert_recipients (else its
 * recipients) and its webhook (the tenant's alert_webhook_url, else the
 * global one).
 */
int cs_mailing_alerts(struct cs_mailing *ml,
                      const struct cs_report_tenant *tn, const char *day,
                      struct cs_err *err);

/* Sends what was queued, then marks the digests' alerts as sent. */
int cs_mailing_send(struct cs_mailing *ml, struct cs_mail_stats *out,
                    struct cs_err *err);

#endif
