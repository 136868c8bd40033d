/* mailing.c - the jobs' delivery stage: reports and alerts to recipients */
#include "pipeline/mailing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/deliveries.h"

struct cs_alert_mark {
    char *tenant, *day, *kpi;
    int level;
};

int cs_mailing_open(struct cs_mailing *ml, struct cs_store *st,
                    const struct cs_config *cfg, const char *job, int force,
                    struct cs_err *err)
{
    int ret;

    memset(ml, 0, sizeof(*ml));
    ml->st = st;
    ml->cfg = cfg;
    ml->job = job;
    ml->force = force;
    ret = cs_mail_templates(&ml->tmpl, cfg, err);
    if (!ret)
        ret = cs_mailer_new(&ml->m, st, cfg, force, err);
    if (ret)
        cs_mailing_close(ml);
    return ret;
}

void cs_mailing_close(struct cs_mailing *ml)
{
    for (size_t i = 0; i < ml->n_marks; i++) {
        free(ml->marks[i].tenant);
        free(ml->marks[i].day);
        free(ml->marks[i].kpi);
    }
    free(ml->marks);
    cs_mailer_free(ml->m);
    cs_tmpl_free(ml->tmpl);
    memset(ml, 0, sizeof(*ml));
}

/* Queues `c` to each recipient; 0 or a store error. */
static int queue_all(struct cs_mailing *ml, const struct cs_mail_ident *id,
                     json_t *recipients, const struct cs_mail_content *c,
                     const struct cs_mail_files *files, struct cs_err *err)
{
    size_t i;
    json_t *r;

    json_array_foreach(recipients, i, r) {
        struct cs_err e2 = {0, ""};
        int queued, ret;

        ret = cs_mailer_queue_mail(&queued, ml->m, id, json_string_value(r),
                                   c, files, &e2);
        if (ret == CS_EDB)
            return cs_err_set(err, ret, "%s", e2.msg);
        if (ret) {
            cs_log(CS_LOG_ERROR, "the %s %s of '%s' for %s is not mailed to "
                   "'%s': %s", id->job, id->kind, id->tenant, id->period,
                   json_string_value(r), e2.msg);
            ml->not_mailed++;
        }
    }
    return 0;
}

int cs_mailing_report(struct cs_mailing *ml, enum cs_mail_report kind,
                      const char *tenant, const char *period,
                      const struct cs_report *r,
                      const struct cs_report_tenant *tn, json_t *recipients,
                      const struct cs_mail_files *files, const char *extra,
                      struct cs_err *err)
{
    struct cs_mail_ident id = {ml->job, "report", tenant, period, ""};
    struct cs_mail_content c;
    struct cs_err e2 = {0, ""};
    int ret;

    if (!json_array_size(recipients)) {
        cs_log(CS_LOG_INFO, "no recipients for the %s report of '%s': not "
               "mailed", ml->job, strcmp(tenant, "*") == 0 ? "all tenants"
                                                          : tenant);
        return 0;
    }
    ret = cs_mail_compose_report(&c, ml->tmpl, kind, r, tn, files, extra,
                                 &e2);
    if (ret) {
        cs_log(CS_LOG_ERROR, "the %s report of '%s' for %s is not mailed: "
               "%s", ml->job, tenant, period, e2.msg);
        ml->not_mailed += (long)json_array_size(recipients);
        return 0;
    }
    ret = queue_all(ml, &id, recipients, &c, files, err);
    cs_mail_content_release(&c);
    return ret;
}

/* Which alerts a digest holds, and when each was sent before: the same
 * digest again (a re-run after a crash) has the same ref, a resend after
 * alerts.resend_after or a risen level a new one. */
static void digest_ref(char out[17], const struct cs_alert_rec *a, size_t n)
{
    struct cs_buf b = CS_BUF_INIT;

    for (size_t i = 0; i < n; i++)
        cs_buf_addf(&b, "%s|%d|%s\n", a[i].kpi, a[i].level,
                    a[i].sent_at ? a[i].sent_at : "");
    cs_sha256_hex(b.ptr, b.len, out, 16);
    cs_buf_release(&b);
}

int cs_mailing_alerts(struct cs_mailing *ml,
                      const struct cs_report_tenant *tn, const char *day,
                      struct cs_err *err)
{
    struct cs_alert_in *in = NULL;
    struct cs_alert_rec *recs = NULL, *due = NULL;
    struct cs_tenant_cfg tc;
    struct cs_mail_content c;
    size_t n_recs = 0, n_due = 0;
    char ref[17];
    json_t *to;
    int ret;

    memset(&c, 0, sizeof(c));
    ret = cs_config_tenant(&tc, ml->cfg, tn->name, err);
    if (ret)
        return ret;
    in = cs_xcalloc(tn->cur.n_alerts + 1, sizeof(*in));
    for (size_t i = 0; i < tn->cur.n_alerts; i++) {
        const struct cs_alert *a = &tn->cur.alerts[i];

        in[i].kpi = a->kpi;
        in[i].unit = cs_unit_name(a->unit);
        in[i].level = a->critical ? 2 : 1;
        in[i].below = a->below;
        in[i].value = a->value;
        in[i].threshold = a->threshold;
    }
    ret = cs_store_alerts_record(&recs, &n_recs, ml->st, tn->name, day, in,
                                 tn->cur.n_alerts,
                                 ml->cfg->alerts_resend_after_s, err);
    if (ret)
        goto done;
    due = cs_xcalloc(n_recs + 1, sizeof(*due));
    for (size_t i = 0; i < n_recs; i++) {
        if (recs[i].due || ml->force)
            due[n_due++] = recs[i];     /* a shallow view */
    }
    if (!n_due)
        goto done;
    digest_ref(ref, due, n_due);
    {
        struct cs_mail_ident id = {ml->job, "alerts", tn->name, day, ref};
        const char *url = tc.alert_webhook_url ? tc.alert_webhook_url
                                               : ml->cfg->alert_webhook_url;
        struct cs_err e2 = {0, ""};

        to = json_array_size(tc.alert_recipients) ? tc.alert_recipients
                                                  : tc.recipients;
        ret = cs_mail_compose_alerts(&c, ml->tmpl, tn, day, due, n_due, &e2);
        if (ret) {
            cs_log(CS_LOG_ERROR, "the alerts of '%s' for %s are not mailed: "
                   "%s", tn->name, day, e2.msg);
            ml->not_mailed++;
            ret = 0;
        } else if (json_array_size(to)) {
            ret = queue_all(ml, &id, to, &c, NULL, err);
        }
        if (!ret && url && *url) {
            char *body = cs_mail_webhook_body(ml->tmpl, tn, day, due, n_due);
            int queued;

            ret = cs_mailer_queue_webhook(&queued, ml->m, &id, url, body,
                                          err);
            free(body);
        }
    }
    if (ret)
        goto done;
    ml->alerts_sent += (long)n_due;
    ml->marks = cs_xrealloc(ml->marks,
                            (ml->n_marks + n_due) * sizeof(*ml->marks));
    for (size_t i = 0; i < n_due; i++) {
        struct cs_alert_mark *mk = &ml->marks[ml->n_marks++];

        mk->tenant = cs_xstrdup(tn->name);
        mk->day = cs_xstrdup(day);
        mk->kpi = cs_xstrdup(due[i].kpi);
        mk->level = due[i].level;
    }
done:
    cs_mail_content_release(&c);
    free(due);
    cs_alert_recs_free(recs, n_recs);
    free(in);
    cs_tenant_cfg_release(&tc);
    return ret;
}

int cs_mailing_send(struct cs_mailing *ml, struct cs_mail_stats *out,
                    struct cs_err *err)
{
    int ret = cs_mailer_run(ml->m, err);

    /* Whatever became of each delivery (a failed one waits for
     * --resend-failed with its bytes), the digest was made once. */
    for (size_t i = 0; !ret && i < ml->n_marks; i++) {
        const struct cs_alert_mark *mk = &ml->marks[i];

        ret = cs_store_alert_sent(ml->st, mk->tenant, mk->day, mk->kpi,
                                  mk->level, err);
    }
    cs_mailer_stats(out, ml->m);
    return ret;
}
