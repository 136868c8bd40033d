/* compose.h - subjects and bodies of the mails, from the report model */
#ifndef CS_MAIL_COMPOSE_H
#define CS_MAIL_COMPOSE_H

#include <stddef.h>

#include "base/err.h"
#include "base/tmpl.h"
#include "config/config.h"
#include "report/model.h"
#include "store/deliveries.h"

/*
 * The words come from templates/mail.tmpl (or mail.templates, or
 * $CALLSCOPE_TEMPLATES_DIR/mail.tmpl); the numbers from the report model,
 * formatted as the PDF formats them (report/format.h). The HTML part is a
 * single column at most 600 px wide with inline styles only (mail clients
 * drop <style> blocks), so it reads on a phone.
 */

/* The files of one mail, checked against the size limit. */
struct cs_mail_file {
    char *path;             /* as rendered */
    char *abs_path;         /* where it is on the report server */
    char *name;             /* its base name, shown to the recipient */
    const char *type;       /* media type (mail/mime.h) */
    size_t size;            /* bytes */
    size_t b64_size;        /* bytes as a base64 attachment */
    int attach;             /* b64_size fits mail.max_attachment_bytes */
};

struct cs_mail_files {
    struct cs_mail_file *v;
    size_t n;
    long limit;             /* mail.max_attachment_bytes */
};

/* Starts an empty list under `limit` bytes (base64 counted). */
void cs_mail_files_init(struct cs_mail_files *f, long limit);
/* Adds a rendered file. CS_ENOTFOUND when it does not exist: a report
 * that was not rendered is never mailed. */
int cs_mail_files_add(struct cs_mail_files *f, const char *path,
                      struct cs_err *err);
void cs_mail_files_release(struct cs_mail_files *f);

struct cs_mail_content {
    char *subject;
    char *text;
    char *html;
};
void cs_mail_content_release(struct cs_mail_content *c);

/* Loads the mail templates (new; cs_tmpl_free). CS_EINVALID naming the
 * file when it cannot be read. */
int cs_mail_templates(struct cs_tmpl **out, const struct cs_config *cfg,
                      struct cs_err *err);

enum cs_mail_report {
    CS_MAIL_DAILY,          /* the daily operations PDF */
    CS_MAIL_MONTHLY,        /* a tenant's executive report */
    CS_MAIL_MONTHLY_ALL     /* the all-tenants edition */
};

/*
 * The mail of a report: `tn` is the tenant (NULL for the all-tenants
 * edition, which lists r's tenants), `files` what goes with it (attached,
 * or named with their path when too large), `extra` a line to add (may
 * be NULL). *out is filled (cs_mail_content_release).
 */
int cs_mail_compose_report(struct cs_mail_content *out,
                           const struct cs_tmpl *t, enum cs_mail_report kind,
                           const struct cs_report *r,
                           const struct cs_report_tenant *tn,
                           const struct cs_mail_files *files,
                           const char *extra, struct cs_err *err);

/* The alert digest of a tenant's day: the alerts `a` (n of them). */
int cs_mail_compose_alerts(struct cs_mail_content *out,
                           const struct cs_tmpl *t,
                           const struct cs_report_tenant *tn, const char *day,
                           const struct cs_alert_rec *a, size_t n,
                           struct cs_err *err);

/*
 * The same digest as a Slack-compatible webhook body, new:
 * {"text": ..., "blocks": [...]} with the tenant, each KPI, value,
 * threshold and level; every text has &, < and > escaped, so data can
 * neither ping a channel (<!channel>) nor forge a link.
 */
char *cs_mail_webhook_body(const struct cs_tmpl *t,
                           const struct cs_report_tenant *tn, const char *day,
                           const struct cs_alert_rec *a, size_t n);

/* Appends `s` with &, < and > escaped for Slack's mrkdwn. */
struct cs_buf;
void cs_mail_slack_escape(struct cs_buf *out, const char *s);

#endif
