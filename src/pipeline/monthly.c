/* monthly.c - the monthly job: executive reports, mailed per tenant */
#include "pipeline/monthly.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "base/tmpl.h"
#include "kpi/kpi.h"
#include "pipeline/client.h"
#include "pipeline/mailing.h"
#include "pipeline/metrics.h"
#include "pipeline/nightly.h"
#include "store/deliveries.h"

void cs_monthly_month_before(char out[8], const char *today)
{
    int64_t d, y;
    unsigned m, dd;

    if (cs_parse_date(today, &d)) {
        snprintf(out, 8, "%.7s", today);
        return;
    }
    cs_civil_from_days(d, &y, &m, &dd);
    if (m == 1) {
        y--;
        m = 12;
    } else {
        m--;
    }
    {
        char buf[32];

        snprintf(buf, sizeof(buf), "%04lld-%02u", (long long)y, m);
        snprintf(out, 8, "%.7s", buf);
    }
}

/* One month being reported: its tenants, files and mail model. */
struct month {
    char month[8];
    char **tenants;         /* NULL-terminated; NULL: every tenant (and the
                               all-tenants edition) */
    size_t n_tenants;
    char **moved;           /* every-tenant month: those reported in
                               another month (their zone is ahead) */
    size_t n_moved;
    struct cs_report_files files;
    struct cs_report *model;
};

static struct month *month_get(struct month **v, size_t *n, const char *m)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*v)[i].month, m) == 0)
            return &(*v)[i];
    }
    *v = cs_xrealloc(*v, (*n + 1) * sizeof(**v));
    memset(&(*v)[*n], 0, sizeof(**v));
    snprintf((*v)[*n].month, sizeof((*v)[*n].month), "%s", m);
    return &(*v)[(*n)++];
}

static void strv_add(char ***v, size_t *n, const char *s)
{
    *v = cs_xrealloc(*v, (*n + 2) * sizeof(**v));
    (*v)[(*n)++] = cs_xstrdup(s);
    (*v)[*n] = NULL;
}

static int strv_has(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0)
            return 1;
    }
    return 0;
}

/*
 * The files mailed with a tenant's month, each of which must have been
 * written (fail closed: a missing one stops that tenant's mail): the
 * executive PDF, then the client XLSX of the month, rendered here.
 */
static int tenant_files(struct cs_mail_files *out, const struct month *mo,
                        const char *tenant, struct cs_store *st,
                        const struct cs_config *cfg,
                        const struct cs_rubric_set *rubrics, long *rendered,
                        struct cs_err *err)
{
    const char *pdf = cs_report_files_find(&mo->files, tenant);
    struct cs_client_opts co;
    char from[11], to[11], prev[11], *xlsx = NULL;
    int ret;

    if (!pdf)
        return cs_err_set(err, CS_ENOTFOUND, "the executive report of '%s' "
                          "for %s was not rendered", tenant, mo->month);
    ret = cs_mail_files_add(out, pdf, err);
    if (!ret)
        ret = cs_reports_month(mo->month, from, to, prev, err);
    if (ret)
        return ret;
    memset(&co, 0, sizeof(co));
    co.tenant = tenant;
    co.from = from;
    co.to = to;
    co.rubrics = rubrics;
    ret = cs_client_report(&xlsx, st, cfg, &co, err);
    if (!ret) {
        (*rendered)++;
        ret = cs_mail_files_add(out, xlsx, err);
    }
    free(xlsx);
    return ret;
}

/* The model the mails are written from: the month's totals against the
 * month before, as on the executive report's first page. */
static int mail_model(struct month *mo, struct cs_store *st,
                      const struct cs_config *cfg,
                      const struct cs_rubric_set *rubrics, const char *tenant,
                      struct cs_report **out, struct cs_err *err)
{
    struct cs_kpi_query q;
    int ret;

    memset(&q, 0, sizeof(q));
    ret = cs_reports_month(mo->month, q.from, q.to, q.prev_from, err);
    if (ret)
        return ret;
    snprintf(q.prev_to, sizeof(q.prev_to), "%s", q.from);
    q.compare = 1;
    q.rubrics = rubrics;
    q.tenant = tenant;
    return cs_kpi_compute(out, st, cfg, &q, err);
}

/* The month's mails: each tenant's to its own recipients, the edition to
 * the internal recipients. */
static int mail_month(struct cs_mailing *ml, struct month *mo,
                      struct cs_monthly_result *res, struct cs_store *st,
                      const struct cs_config *cfg,
                      const struct cs_monthly_opts *o, struct cs_err *err)
{
    char from[11], to[11], prev[11];
    int ret;

    ret = cs_reports_month(mo->month, from, to, prev, err);
    for (size_t i = 0; !ret && mo->model && i < mo->model->n_tenants; i++) {
        const struct cs_report_tenant *t = &mo->model->tenants[i];
        struct cs_mail_files files;
        struct cs_tenant_cfg tc;
        struct cs_err e2 = {0, ""};
        struct cs_buf extra = CS_BUF_INIT;
        long alerts = 0, crit = 0;

        if (mo->tenants ? !strv_has(mo->tenants, mo->n_tenants, t->name)
                        : strv_has(mo->moved, mo->n_moved, t->name))
            continue;   /* reported in its own month */
        res->tenants++;
        ret = cs_config_tenant(&tc, cfg, t->name, err);
        if (ret)
            break;
        cs_mail_files_init(&files, cfg->mail_max_attachment_bytes);
        if (tenant_files(&files, mo, t->name, st, cfg, o->rubrics,
                         &res->rendered, &e2)) {
            /* Its PDF was rendered (a failed one is counted already):
             * what failed is its workbook, a failed report all the same. */
            if (cs_report_files_find(&mo->files, t->name))
                res->tenants_failed++;
            cs_log(CS_LOG_ERROR, "%s: not mailed", e2.msg);
            res->not_mailed += (long)json_array_size(tc.recipients);
        } else {
            ret = cs_store_alerts_count(&alerts, &crit, st, t->name, from, to,
                                        err);
            if (!ret && alerts) {
                char a[24], c[24];
                const struct cs_tmpl_var v[] = {{"alerts", a},
                                                {"critical", c},
                                                {NULL, NULL}};

                snprintf(a, sizeof(a), "%ld", alerts);
                snprintf(c, sizeof(c), "%ld", crit);
                if (cs_tmpl_render(&extra, ml->tmpl, "alerts_month", v,
                                   &e2))
                    cs_log(CS_LOG_WARN, "%s", e2.msg);
            }
            if (!ret)
                ret = cs_mailing_report(ml, CS_MAIL_MONTHLY, t->name,
                                        mo->month, mo->model, t,
                                        tc.recipients, &files,
                                        extra.len ? extra.ptr : NULL, err);
        }
        cs_buf_release(&extra);
        cs_mail_files_release(&files);
        cs_tenant_cfg_release(&tc);
    }
    if (!ret && !mo->tenants) {
        json_t *internal = json_object_get(cfg->root, "internal_recipients");
        const char *pdf = cs_report_files_find(&mo->files, NULL);
        struct cs_mail_files files;
        struct cs_err e2 = {0, ""};

        cs_mail_files_init(&files, cfg->mail_max_attachment_bytes);
        if (!pdf || cs_mail_files_add(&files, pdf, &e2)) {
            if (json_array_size(internal))
                cs_log(CS_LOG_ERROR, "the all-tenants edition for %s was not "
                       "rendered: not mailed", mo->month);
            res->not_mailed += (long)json_array_size(internal);
        } else {
            ret = cs_mailing_report(ml, CS_MAIL_MONTHLY_ALL, "*", mo->month,
                                    mo->model, NULL, internal, &files, NULL,
                                    err);
        }
        cs_mail_files_release(&files);
    }
    (void)o;
    return ret;
}

/* Which month each tenant is reported for. */
static int plan(struct month **months, size_t *n_months,
                struct cs_monthly_result *res, struct cs_store *st,
                const struct cs_config *cfg, const struct cs_monthly_opts *o,
                struct cs_err *err)
{
    const char **zones = NULL;
    char **tenants = NULL, from[11], to[11], prev[11], today[11];
    int64_t min = INT64_MAX, d;
    int ret = 0;

    if (o->month) {
        snprintf(res->month, sizeof(res->month), "%s", o->month);
        month_get(months, n_months, o->month);
        return 0;
    }
    /* The edition's month: the latest that has ended in every zone. */
    zones = cs_jobs_zones(cfg);
    for (const char **z = zones; *z && !ret; z++) {
        ret = cs_store_today(today, st, *z, err);
        if (!ret && cs_parse_date(today, &d) == 0 && d < min)
            min = d;
    }
    free(zones);
    if (ret)
        return ret;
    cs_format_date(min, today);
    cs_monthly_month_before(res->month, today);
    month_get(months, n_months, res->month);
    /* A tenant whose zone is already in the next month has its own. */
    ret = cs_reports_month(res->month, from, to, prev, err);
    if (!ret)
        ret = cs_store_tenants(&tenants, st, from, to, err);
    for (char **t = tenants; !ret && t && *t; t++) {
        struct cs_tenant_cfg tc;
        char mine[8];

        cs_config_tenant(&tc, cfg, *t, NULL);
        ret = cs_store_today(today, st, tc.timezone, err);
        cs_tenant_cfg_release(&tc);
        if (ret)
            break;
        cs_monthly_month_before(mine, today);
        if (strcmp(mine, res->month) != 0) {
            struct month *mo = month_get(months, n_months, mine);

            strv_add(&mo->tenants, &mo->n_tenants, *t);
            strv_add(&(*months)[0].moved, &(*months)[0].n_moved, *t);
        }
    }
    cs_strv_free(tenants);
    return ret;
}

static int monthly_stages(struct cs_monthly_result *res, struct cs_store *st,
                          const struct cs_config *cfg,
                          const struct cs_monthly_opts *o,
                          struct cs_err *err)
{
    struct month *months = NULL;
    size_t n_months = 0;
    struct cs_mailing ml;
    int ret, opened = 0;

    ret = plan(&months, &n_months, res, st, cfg, o, err);
    if (!ret)
        ret = cs_mailing_open(&ml, st, cfg, "monthly", o->force, err);
    opened = !ret;
    for (size_t i = 0; !ret && i < n_months; i++) {
        struct month *mo = &months[i];
        struct cs_err e2 = {0, ""};
        int r;

        r = cs_reports_executive(&mo->files, st, cfg, o->rubrics, mo->month,
                                 mo->tenants, &e2);
        res->rendered += (long)mo->files.n;
        res->tenants_failed += mo->files.tenants_failed;
        if (r && !mo->files.tenants_failed) {
            ret = cs_err_set(err, r, "%s", e2.msg);
            break;
        }
        if (r)
            cs_log(CS_LOG_ERROR, "%s", e2.msg);
        ret = mail_model(mo, st, cfg, o->rubrics, NULL, &mo->model, err);
        if (!ret)
            ret = mail_month(&ml, mo, res, st, cfg, o, err);
    }
    if (!ret)
        ret = cs_mailing_send(&ml, &res->mail, err);
    if (opened) {
        res->not_mailed += ml.not_mailed;
        cs_mailing_close(&ml);
    }
    for (size_t i = 0; i < n_months; i++) {
        cs_strv_free(months[i].tenants);
        cs_strv_free(months[i].moved);
        cs_report_files_release(&months[i].files);
        cs_report_free(months[i].model);
    }
    free(months);
    return ret;
}

int cs_monthly_run(struct cs_monthly_result *res, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_monthly_opts *o, struct cs_err *err)
{
    struct cs_job_metrics jm;
    double t0 = cs_now();
    int ret;

    memset(res, 0, sizeof(*res));
    ret = cs_job_lock(st, "monthly", err);
    if (ret)
        return ret;
    ret = monthly_stages(res, st, cfg, o, err);
    memset(&jm, 0, sizeof(jm));
    jm.job = "monthly";
    jm.duration_s = cs_now() - t0;
    jm.reports_rendered = res->rendered;
    jm.reports_failed = res->tenants_failed;
    jm.mails_sent = res->mail.sent;
    jm.mails_failed = res->mail.failed + res->not_mailed;
    jm.errors = (ret ? 1 : 0) + res->tenants_failed + jm.mails_failed;
    cs_job_finish(st, cfg, &jm);
    return ret;
}
