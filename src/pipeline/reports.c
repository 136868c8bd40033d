/* reports.c - the PDF reports: monthly executive, daily operations */
#include "pipeline/reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/sig.h"
#include "base/mem.h"
#include "base/parse.h"
#include "base/tmpl.h"
#include "kpi/kpi.h"
#include "kpi/movers.h"
#include "mail/compose.h"
#include "report/pdf/canvas.h"
#include "report/render.h"

void cs_report_files_release(struct cs_report_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->paths[i]);
        free(f->tenants[i]);
    }
    free(f->paths);
    free(f->tenants);
    memset(f, 0, sizeof(*f));
}

const char *cs_report_files_find(const struct cs_report_files *f,
                                 const char *tenant)
{
    for (size_t i = 0; i < f->n; i++) {
        if (tenant ? f->tenants[i] && strcmp(f->tenants[i], tenant) == 0
                   : !f->tenants[i])
            return f->paths[i];
    }
    return NULL;
}

static void add_file(struct cs_report_files *f, const char *path,
                     const char *tenant)
{
    f->paths = cs_xrealloc(f->paths, (f->n + 1) * sizeof(*f->paths));
    f->tenants = cs_xrealloc(f->tenants, (f->n + 1) * sizeof(*f->tenants));
    f->paths[f->n] = cs_xstrdup(path);
    f->tenants[f->n++] = tenant ? cs_xstrdup(tenant) : NULL;
}

/* A string under the config's "report" object, checked. */
static int report_str(const char **out, const struct cs_config *cfg,
                      const char *a, const char *b, struct cs_err *err)
{
    json_t *v = json_object_get(json_object_get(cfg->root, "report"), a);

    if (b)
        v = json_object_get(v, b);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return cs_err_set(err, CS_EINVALID, "%s: 'report.%s%s%s': expected "
                          "a string", cfg->path ? cfg->path : "config", a,
                          b ? "." : "", b ? b : "");
    *out = json_string_value(v);
    return 0;
}

int cs_reports_style(struct cs_report_style *out, struct cs_tmpl **tmpl_out,
                     const struct cs_config *cfg, struct cs_err *err)
{
    const char *page = NULL, *tmpl = NULL;
    time_t now = time(NULL);
    struct tm tm;
    int ret;

    memset(out, 0, sizeof(*out));
    *tmpl_out = NULL;
    ret = report_str(&page, cfg, "page_size", NULL, err);
    if (!ret)
        ret = report_str(&out->logo, cfg, "logo", NULL, err);
    if (!ret)
        ret = report_str(&out->font_regular, cfg, "fonts", "regular", err);
    if (!ret)
        ret = report_str(&out->font_bold, cfg, "fonts", "bold", err);
    if (!ret)
        ret = report_str(&tmpl, cfg, "templates", NULL, err);
    if (ret)
        return ret;
    if (page && strcmp(page, "A4") != 0 && strcmp(page, "Letter") != 0)
        return cs_err_set(err, CS_EINVALID, "%s: 'report.page_size': "
                          "expected \"A4\" or \"Letter\", not '%s'",
                          cfg->path ? cfg->path : "config", page);
    out->letter = page && strcmp(page, "Letter") == 0;
    {
        json_t *colors = json_object_get(json_object_get(cfg->root,
                                                         "report"),
                                         "colors");
        const char *name;
        json_t *v;

        if (colors && !json_is_object(colors))
            return cs_err_set(err, CS_EINVALID, "%s: 'report.colors': "
                              "expected an object",
                              cfg->path ? cfg->path : "config");
        json_object_foreach(colors, name, v) {
            ret = cs_canvas_set_color(name, json_is_string(v)
                                                ? json_string_value(v)
                                                : "",
                                      err);
            if (ret)
                return ret;
        }
    }
    if (out->logo && !cs_fs_exists(out->logo))
        return cs_err_set(err, CS_EINVALID, "%s: 'report.logo': '%s' does "
                          "not exist", cfg->path ? cfg->path : "config",
                          out->logo);
    gmtime_r(&now, &tm);
    strftime(out->generated_at, sizeof(out->generated_at),
             "%Y-%m-%d %H:%M UTC", &tm);
    {
        /* report.templates, else $CALLSCOPE_TEMPLATES_DIR/report.tmpl,
         * else templates/report.tmpl (from the working directory). */
        const char *dir = getenv("CALLSCOPE_TEMPLATES_DIR");
        struct cs_buf p = CS_BUF_INIT;

        if (tmpl)
            cs_buf_adds(&p, tmpl);
        else
            cs_buf_addf(&p, "%s/report.tmpl",
                        dir && *dir ? dir : "templates");
        ret = cs_tmpl_load(tmpl_out, p.ptr, err);
        if (ret == CS_ENOTFOUND || ret == CS_EIO)
            ret = cs_err_set(err, CS_EINVALID, "report templates '%s' "
                             "cannot be read (report.templates or "
                             "CALLSCOPE_TEMPLATES_DIR)", p.ptr);
        cs_buf_release(&p);
        return ret;
    }
}

int cs_reports_month(const char *month, char from[11], char to[11],
                     char prev_from[11], struct cs_err *err)
{
    char day[16];
    int64_t d, y;
    unsigned m, dd;

    snprintf(day, sizeof(day), "%.7s-01", month);
    if (strlen(month) != 7 || cs_parse_date(day, &d))
        return cs_err_set(err, CS_EINVALID, "'%s' is not a month "
                          "(YYYY-MM)", month);
    cs_civil_from_days(d, &y, &m, &dd);
    cs_format_date(d, from);
    cs_format_date(d + cs_days_in_month(y, m), to);
    cs_format_date(d - cs_days_in_month(m == 1 ? y - 1 : y,
                                        m == 1 ? 12 : m - 1),
                   prev_from);
    return 0;
}

/* One report of `r`'s tenant i only: a shallow view. */
static struct cs_report view_of(const struct cs_report *r, size_t i)
{
    struct cs_report v = *r;

    v.tenants = &r->tenants[i];
    v.n_tenants = 1;
    v.style.all_tenants = 0;
    return v;
}

/* Renders one file; `tenant` NULL for the all-tenants edition. */
static int render_to(struct cs_report_files *out, const char *renderer,
                     const struct cs_report *r, const char *dir,
                     const char *stem, const char *tenant,
                     struct cs_err *err)
{
    const char *name = tenant ? tenant : "all";
    struct cs_buf path = CS_BUF_INIT;
    double t0;
    int ret;

    cs_buf_addf(&path, "%s/%s-", dir, stem);
    cs_fs_safe_name(&path, name);
    cs_buf_adds(&path, ".pdf");
    t0 = cs_now();
    ret = cs_render_file(cs_render_find(renderer), r, path.ptr, err);
    if (!ret) {
        add_file(out, path.ptr, tenant);
        cs_log(CS_LOG_DEBUG, "rendered '%s' in %.3f s", path.ptr,
               cs_now() - t0);
    }
    cs_buf_release(&path);
    return ret;
}

/* Counts a failed report, keeping the first error in *ret. */
static void note_failure(struct cs_report_files *out, int *ret, int one_ret,
                         const char *what, const struct cs_err *one,
                         struct cs_err *err)
{
    if (!one_ret)
        return;
    out->tenants_failed++;
    if (*ret) {
        cs_log(CS_LOG_ERROR, "the report of '%s' failed too: %s", what,
               one->msg);
    } else {
        *ret = one_ret;
        if (err)
            *err = *one;
    }
}

/* A signal ends the run between two files (each is written whole, to a
 * temporary name renamed at the end, so none is ever half written). */
static int stopped(struct cs_report_files *out)
{
    out->interrupted = cs_sig_received();
    return out->interrupted != 0;
}

/* Computes `q` and renders each tenant (and the edition of all). */
static int run(struct cs_report_files *out, struct cs_store *st,
               const struct cs_config *cfg, struct cs_kpi_query *q,
               char *const *tenants, const char *renderer, const char *dir,
               const char *stem, int all_edition, struct cs_err *err)
{
    struct cs_report *r = NULL, *one = NULL;
    struct cs_tmpl *tmpl = NULL;
    struct cs_report_style style;
    struct cs_err e1 = {0, ""};
    int ret, one_ret;

    memset(out, 0, sizeof(*out));
    ret = cs_reports_style(&style, &tmpl, cfg, err);
    if (!ret)
        ret = cs_fs_mkdirs(dir, err);
    if (ret)
        goto done;
    style.tmpl = tmpl;
    if (!tenants || !*tenants) {
        double t0 = cs_now();

        ret = cs_kpi_compute(&r, st, cfg, q, err);
        if (ret)
            goto done;
        cs_log(CS_LOG_DEBUG, "computed the report of %zu tenant(s) in %.3f s",
               r->n_tenants, cs_now() - t0);
        r->style = style;
        /* One tenant's failure leaves the others' reports (each is
         * whole or absent): the first error is returned. */
        for (size_t i = 0; i < r->n_tenants && !stopped(out); i++) {
            struct cs_report v = view_of(r, i);

            one_ret = render_to(out, renderer, &v, dir, stem,
                                r->tenants[i].name, &e1);
            note_failure(out, &ret, one_ret, r->tenants[i].name, &e1, err);
        }
        if (all_edition && !stopped(out)) {
            r->style.all_tenants = 1;
            one_ret = render_to(out, renderer, r, dir, stem, NULL, &e1);
            note_failure(out, &ret, one_ret, "all tenants", &e1, err);
        }
        goto done;
    }
    for (char *const *t = tenants; *t && !stopped(out); t++) {
        double t0 = cs_now();

        q->tenant = *t;
        one_ret = cs_kpi_compute(&one, st, cfg, q, &e1);
        if (one_ret) {
            note_failure(out, &ret, one_ret, *t, &e1, err);
            continue;
        }
        cs_log(CS_LOG_DEBUG, "computed the report of '%s' in %.3f s", *t,
               cs_now() - t0);
        one->style = style;
        one_ret = render_to(out, renderer, one, dir, stem, *t, &e1);
        note_failure(out, &ret, one_ret, *t, &e1, err);
        cs_report_free(one);
        one = NULL;
    }
done:
    cs_report_free(r);
    cs_report_free(one);
    cs_tmpl_free(tmpl);
    return ret;
}

int cs_reports_executive(struct cs_report_files *out, struct cs_store *st,
                         const struct cs_config *cfg,
                         const struct cs_rubric_set *rubrics,
                         const char *month, char *const *tenants,
                         struct cs_err *err)
{
    struct cs_kpi_query q;
    struct cs_movers_opts mo;
    struct cs_buf dir = CS_BUF_INIT;
    int ret;

    memset(&q, 0, sizeof(q));
    memset(out, 0, sizeof(*out));
    ret = cs_reports_month(month, q.from, q.to, q.prev_from, err);
    if (ret)
        return ret;
    snprintf(q.prev_to, sizeof(q.prev_to), "%s", q.from);
    q.by = CS_KPI_BY_DAY;
    q.compare = 1;
    q.details = 1;
    q.look_limit = 10;
    q.rubrics = rubrics;
    /* The month's movers, with the explanations stored for them (the
     * drivers). */
    cs_movers_opts_init(&mo);
    mo.explanations = 1;
    q.movers = &mo;
    cs_buf_addf(&dir, "%s/%.7s", cfg->reports_dir, month);
    ret = run(out, st, cfg, &q, tenants, "pdf-executive", dir.ptr,
              "executive", 1, err);
    cs_buf_release(&dir);
    return ret;
}

int cs_reports_daily(struct cs_report_files *out, struct cs_store *st,
                     const struct cs_config *cfg,
                     const struct cs_rubric_set *rubrics, const char *date,
                     char *const *tenants, struct cs_err *err)
{
    struct cs_kpi_query q;
    struct cs_movers_opts mo;
    struct cs_buf dir = CS_BUF_INIT;
    int64_t day;
    int ret;

    memset(&q, 0, sizeof(q));
    memset(out, 0, sizeof(*out));
    if (cs_parse_date(date, &day))
        return cs_err_set(err, CS_EINVALID, "'%s' is not a date", date);
    cs_format_date(day, q.from);
    cs_format_date(day + 1, q.to);
    q.compare = 1;
    q.last_week = 1;
    q.details = 1;
    q.look_limit = 60;
    q.rubrics = rubrics;
    cs_movers_opts_init(&mo);   /* the day against the day before */
    q.movers = &mo;
    cs_buf_addf(&dir, "%s/daily/%s", cfg->reports_dir, q.from);
    ret = run(out, st, cfg, &q, tenants, "pdf-daily", dir.ptr, "daily", 0,
              err);
    cs_buf_release(&dir);
    return ret;
}

int cs_reports_preflight(const struct cs_config *cfg, struct cs_err *err)
{
    struct cs_report_style style;
    struct cs_canvas_opts co;
    struct cs_canvas *c = NULL;
    struct cs_tmpl *tmpl = NULL, *mail = NULL;
    int ret;

    ret = cs_reports_style(&style, &tmpl, cfg, err);
    if (!ret) {
        memset(&co, 0, sizeof(co));
        co.font_regular = style.font_regular;
        co.font_bold = style.font_bold;
        co.letter = style.letter;
        ret = cs_canvas_new(&c, &co, err);
    }
    if (!ret)
        ret = cs_mail_templates(&mail, cfg, err);
    cs_canvas_free(c);
    cs_tmpl_free(tmpl);
    cs_tmpl_free(mail);
    return ret;
}
