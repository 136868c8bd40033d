/* compose.c - subjects and bodies of the mails, from the report model */
#include "mail/compose.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/parse.h"
#include "mail/mime.h"
#include "report/format.h"

/* The KPIs of the tables: the executive's page-1 tiles and its headline
 * numbers; the daily page's operational ones. */
static const enum cs_kpi_id monthly_kpis[] = {
    CS_KPI_CONVERSATIONS,          CS_KPI_CONTAINMENT_RATE,
    CS_KPI_HANDOFF_RATE,           CS_KPI_ANSWER_RATE,
    CS_KPI_AHT_S,                  CS_KPI_CSAT_AVG,
    CS_KPI_CONNECTOR_SUCCESS_RATE, CS_KPI_COST_PER_CONTAINED,
    CS_KPI_NET_SAVINGS,            CS_KPI_ROI,
};
static const enum cs_kpi_id daily_kpis[] = {
    CS_KPI_CONVERSATIONS,     CS_KPI_ANSWER_RATE,
    CS_KPI_CONTAINMENT_RATE,  CS_KPI_HANDOFF_RATE,
    CS_KPI_ABANDONMENT_RATE,  CS_KPI_ERROR_RATE,
    CS_KPI_AHT_S,             CS_KPI_CONNECTOR_SUCCESS_RATE,
    CS_KPI_CSAT_AVG,
};

#define INK "#1f2933"
#define MUTED "#616e7c"
#define RULE "#e4e7eb"
#define GOOD "#1a7f37"
#define BAD "#b42318"
#define WARN_BG "#fff4e0"
#define CRIT_BG "#fde2e1"

/* ---- files --------------------------------------------------------- */

void cs_mail_files_init(struct cs_mail_files *f, long limit)
{
    memset(f, 0, sizeof(*f));
    f->limit = limit;
}

int cs_mail_files_add(struct cs_mail_files *f, const char *path,
                      struct cs_err *err)
{
    struct cs_mail_file *m;
    const char *slash = strrchr(path, '/');
    char real[PATH_MAX];
    struct stat sb;

    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return cs_err_set(err, CS_ENOTFOUND, "report '%s' was not rendered: "
                          "not mailed", path);
    f->v = cs_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
    m = &f->v[f->n++];
    memset(m, 0, sizeof(*m));
    m->path = cs_xstrdup(path);
    m->abs_path = cs_xstrdup(realpath(path, real) ? real : path);
    m->name = cs_xstrdup(slash ? slash + 1 : path);
    m->type = cs_mime_type_for(path);
    m->size = (size_t)sb.st_size;
    m->b64_size = cs_mime_base64_size(m->size);
    m->attach = f->limit <= 0 || m->b64_size <= (size_t)f->limit;
    return 0;
}

void cs_mail_files_release(struct cs_mail_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].path);
        free(f->v[i].abs_path);
        free(f->v[i].name);
    }
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

void cs_mail_content_release(struct cs_mail_content *c)
{
    free(c->subject);
    free(c->text);
    free(c->html);
    memset(c, 0, sizeof(*c));
}

int cs_mail_templates(struct cs_tmpl **out, const struct cs_config *cfg,
                      struct cs_err *err)
{
    json_t *v = json_object_get(json_object_get(cfg->root, "mail"),
                                "templates");
    const char *dir = getenv("CALLSCOPE_TEMPLATES_DIR");
    struct cs_buf p = CS_BUF_INIT;
    int ret;

    if (json_is_string(v))
        cs_buf_adds(&p, json_string_value(v));
    else
        cs_buf_addf(&p, "%s/mail.tmpl", dir && *dir ? dir : "templates");
    ret = cs_tmpl_load(out, p.ptr, err);
    if (ret == CS_ENOTFOUND || ret == CS_EIO)
        ret = cs_err_set(err, CS_EINVALID, "mail templates '%s' cannot be "
                         "read (mail.templates or CALLSCOPE_TEMPLATES_DIR)",
                         p.ptr);
    cs_buf_release(&p);
    return ret;
}

/* ---- small helpers ------------------------------------------------- */

/* Renders entry `name` into `b` (appending); remembers the first error. */
static void words(struct cs_buf *b, const struct cs_tmpl *t,
                  const char *name, const struct cs_tmpl_var *vars, int *ret,
                  struct cs_err *err)
{
    if (*ret)
        return;
    *ret = cs_tmpl_render(b, t, name, vars, err);
}

static char *words_new(const struct cs_tmpl *t, const char *name,
                       const struct cs_tmpl_var *vars, int *ret,
                       struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;

    words(&b, t, name, vars, ret, err);
    return cs_buf_detach(&b, NULL);
}

static void html_escape(struct cs_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': cs_buf_adds(b, "&amp;"); break;
        case '<': cs_buf_adds(b, "&lt;"); break;
        case '>': cs_buf_adds(b, "&gt;"); break;
        case '"': cs_buf_adds(b, "&quot;"); break;
        case '\'': cs_buf_adds(b, "&#39;"); break;
        default: cs_buf_addch(b, *s);
        }
    }
}

/* "October 2026" for "2026-10-..", "31 October 2026" for a day. */
static char *period_words(const struct cs_tmpl *t, const char *date,
                          int with_day, int *ret, struct cs_err *err)
{
    int64_t d, y;
    unsigned m = 1, dd = 1;
    char mname[16], year[16], day[8], ymd[11];

    snprintf(ymd, sizeof(ymd), "%.7s-%s", date,
             with_day && strlen(date) >= 10 ? date + 8 : "01");
    if (cs_parse_date(ymd, &d) == 0)
        cs_civil_from_days(d, &y, &m, &dd);
    else
        y = 0;
    snprintf(mname, sizeof(mname), "month_%u", m);
    snprintf(year, sizeof(year), "%lld", (long long)y);
    snprintf(day, sizeof(day), "%u", dd);
    {
        char *month = words_new(t, mname, NULL, ret, err);
        const struct cs_tmpl_var v[] = {{"month", month}, {"year", year},
                                        {"day", day}, {NULL, NULL}};
        char *s = words_new(t, with_day ? "day_period" : "month_period", v,
                            ret, err);

        free(month);
        return s;
    }
}

static char *value_of(const struct cs_report_tenant *tn, enum cs_unit u,
                      double v)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_fmt_value(&b, &tn->fmt, u, v, -1);
    return cs_buf_detach(&b, NULL);
}

static char *human_size(size_t n)
{
    struct cs_buf b = CS_BUF_INIT;

    if (n >= 1024 * 1024)
        cs_buf_addf(&b, "%.1f MB", (double)n / (1024.0 * 1024.0));
    else if (n >= 1024)
        cs_buf_addf(&b, "%.0f KB", (double)n / 1024.0);
    else
        cs_buf_addf(&b, "%zu bytes", n);
    return cs_buf_detach(&b, NULL);
}

/* The attachment lines (attached, or too large with the path). */
static void file_lines(struct cs_buf *text, struct cs_buf *html,
                       const struct cs_tmpl *t,
                       const struct cs_mail_files *files, int *ret,
                       struct cs_err *err)
{
    for (size_t i = 0; files && i < files->n; i++) {
        const struct cs_mail_file *f = &files->v[i];
        char *size = human_size(f->attach ? f->size : f->b64_size);
        char *limit = human_size((size_t)files->limit);
        const struct cs_tmpl_var v[] = {{"file", f->name}, {"size", size},
                                        {"limit", limit},
                                        {"path", f->abs_path},
                                        {NULL, NULL}};
        char *line = words_new(t, f->attach ? "attached" : "too_big", v, ret,
                               err);

        cs_buf_addf(text, "%s\n", line);
        cs_buf_addf(html, "<p style=\"margin:0 0 8px;font-size:14px;"
                    "color:%s;\">", f->attach ? MUTED : BAD);
        html_escape(html, line);
        cs_buf_adds(html, "</p>\n");
        free(line);
        free(size);
        free(limit);
    }
}

static void html_open(struct cs_buf *h, const char *title,
                      const char *heading, const char *sub)
{
    cs_buf_adds(h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, "
                "initial-scale=1\">\n<title>");
    html_escape(h, title);
    cs_buf_addf(h, "</title></head>\n<body style=\"margin:0;padding:0;"
                "background:#f4f5f7;\">\n<div style=\"max-width:600px;"
                "margin:0 auto;padding:16px 12px;font-family:-apple-system,"
                "'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;"
                "line-height:1.45;color:%s;\">\n<h1 style=\"font-size:20px;"
                "line-height:1.25;margin:0 0 2px;\">", INK);
    html_escape(h, heading);
    cs_buf_addf(h, "</h1>\n<p style=\"margin:0 0 14px;font-size:14px;"
                "color:%s;\">", MUTED);
    html_escape(h, sub);
    cs_buf_adds(h, "</p>\n");
}

static void html_para(struct cs_buf *h, const char *text)
{
    cs_buf_adds(h, "<p style=\"margin:0 0 14px;\">");
    html_escape(h, text);
    cs_buf_adds(h, "</p>\n");
}

static void html_close(struct cs_buf *h, const char *footer)
{
    cs_buf_addf(h, "<p style=\"margin:18px 0 0;font-size:12px;color:%s;\">",
                MUTED);
    html_escape(h, footer);
    cs_buf_adds(h, "</p>\n</div>\n</body></html>\n");
}

#define TH "padding:6px 8px;border-bottom:2px solid " RULE ";font-size:13px;" \
           "color:" MUTED ";font-weight:600;"
#define TD "padding:7px 8px;border-bottom:1px solid " RULE ";"

/* A table whose first `nleft` columns are text (left, may wrap) and the
 * others numbers (right, unbroken). */
static void table_open(struct cs_buf *h, const char *const *cols, size_t n,
                       size_t nleft)
{
    cs_buf_adds(h, "<table role=\"presentation\" cellpadding=\"0\" "
                "cellspacing=\"0\" style=\"width:100%;border-collapse:"
                "collapse;background:#ffffff;margin:0 0 8px;\">\n<tr>");
    for (size_t i = 0; i < n; i++) {
        cs_buf_addf(h, "<th style=\"" TH "text-align:%s;\">",
                    i >= nleft ? "right" : "left");
        html_escape(h, cols[i]);
        cs_buf_adds(h, "</th>");
    }
    cs_buf_adds(h, "</tr>\n");
}

/* One row, aligned as table_open says; `colors` and `bgs` (may be NULL
 * or hold NULLs) per cell. */
static void table_row(struct cs_buf *h, const char *const *cells, size_t n,
                      size_t nleft, const char *const *colors,
                      const char *const *bgs)
{
    cs_buf_adds(h, "<tr>");
    for (size_t i = 0; i < n; i++) {
        cs_buf_addf(h, "<td style=\"" TD "text-align:%s;%s",
                    i >= nleft ? "right" : "left",
                    i >= nleft ? "white-space:nowrap;" : "");
        if (colors && colors[i])
            cs_buf_addf(h, "color:%s;", colors[i]);
        if (bgs && bgs[i])
            cs_buf_addf(h, "background:%s;", bgs[i]);
        cs_buf_adds(h, "\">");
        html_escape(h, cells[i]);
        cs_buf_adds(h, "</td>");
    }
    cs_buf_adds(h, "</tr>\n");
}

/* A line of the text table: each cell padded to its width, right-aligned
 * when the width is negative. */
static void text_row(struct cs_buf *b, const char *const *cells, size_t n,
                     const int *widths)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            cs_buf_adds(b, "  ");
        cs_fmt_pad(b, cells[i], (size_t)abs(widths[i]), widths[i] < 0);
    }
    while (b->len && b->ptr[b->len - 1] == ' ')
        b->ptr[--b->len] = '\0';
    cs_buf_addch(b, '\n');
}

/* ---- reports ------------------------------------------------------- */

/* The KPI table of one tenant: value and change against the previous. */
static void kpi_table(struct cs_buf *text, struct cs_buf *html,
                      const struct cs_report_tenant *tn,
                      const enum cs_kpi_id *ids, size_t n_ids,
                      const char *const head[3], int mark_alerts)
{
    static const int widths[3] = {26, -15, -13};

    table_open(html, head, 3, 1);
    text_row(text, head, 3, widths);
    for (size_t i = 0; i < n_ids; i++) {
        const struct cs_kpi_def *def = cs_kpi_def_get(ids[i]);
        const struct cs_kpi_row *row = cs_report_row(tn, def->key);
        struct cs_buf v = CS_BUF_INIT, c = CS_BUF_INIT;
        const char *colors[3] = {NULL, NULL, NULL}, *bgs[3] = {0, 0, 0};
        double value = row ? row->value : NAN;
        double ch = row ? row->cmp[CS_CMP_PREVIOUS].change : NAN;

        cs_fmt_value(&v, &tn->fmt, def->unit, value, -1);
        if (isnan(ch)) {
            cs_buf_adds(&c, CS_FMT_DASH);
        } else {
            enum cs_tone tone = cs_report_tone(def->direction, ch);

            cs_buf_addf(&c, "%s ", cs_fmt_arrow(ch));
            cs_fmt_change(&c, &tn->fmt, def->unit, ch);
            colors[2] = tone == CS_TONE_GOOD ? GOOD
                        : tone == CS_TONE_BAD ? BAD : MUTED;
        }
        if (mark_alerts) {
            int level = cs_threshold_level(cs_report_threshold(tn, def->key),
                                           value);

            bgs[1] = level == 2 ? CRIT_BG : level == 1 ? WARN_BG : NULL;
        }
        {
            const char *cells[3] = {def->label, v.ptr, c.ptr};

            table_row(html, cells, 3, 1, colors, bgs);
            text_row(text, cells, 3, widths);
        }
        cs_buf_release(&v);
        cs_buf_release(&c);
    }
    cs_buf_adds(html, "</table>\n");
}

/* The all-tenants table: one row per tenant. */
static void tenants_table(struct cs_buf *text, struct cs_buf *html,
                          const struct cs_report *r, const struct cs_tmpl *t,
                          int *ret, struct cs_err *err)
{
    char *head[4] = {words_new(t, "col_tenant", NULL, ret, err),
                     words_new(t, "col_conversations", NULL, ret, err),
                     words_new(t, "col_containment", NULL, ret, err),
                     words_new(t, "col_net_savings", NULL, ret, err)};

    static const int widths[4] = {24, -13, -10, -13};

    table_open(html, (const char *const *)head, 4, 1);
    text_row(text, (const char *const *)head, 4, widths);
    for (size_t i = 0; i < r->n_tenants; i++) {
        const struct cs_report_tenant *tn = &r->tenants[i];
        char *c = value_of(tn, CS_UNIT_COUNT, tn->cur.v[CS_KPI_CONVERSATIONS]);
        char *k = value_of(tn, CS_UNIT_RATE,
                           tn->cur.v[CS_KPI_CONTAINMENT_RATE]);
        char *s = value_of(tn, CS_UNIT_MONEY, tn->cur.v[CS_KPI_NET_SAVINGS]);
        const char *cells[4] = {tn->display_name, c, k, s};

        table_row(html, cells, 4, 1, NULL, NULL);
        text_row(text, cells, 4, widths);
        free(c);
        free(k);
        free(s);
    }
    cs_buf_adds(html, "</table>\n");
    for (int i = 0; i < 4; i++)
        free(head[i]);
}

int cs_mail_compose_report(struct cs_mail_content *out,
                           const struct cs_tmpl *t, enum cs_mail_report kind,
                           const struct cs_report *r,
                           const struct cs_report_tenant *tn,
                           const struct cs_mail_files *files,
                           const char *extra, struct cs_err *err)
{
    struct cs_buf text = CS_BUF_INIT, html = CS_BUF_INIT, subj = CS_BUF_INIT;
    int daily = kind == CS_MAIL_DAILY, ret = 0;
    char *period = period_words(t, r->period.from, daily, &ret, err);
    char *prev = r->has_cmp[CS_CMP_PREVIOUS]
                     ? period_words(t, r->cmp_period[CS_CMP_PREVIOUS].from,
                                    daily, &ret, err)
                     : cs_xstrdup(CS_FMT_DASH);
    char *conv = NULL, *cont = NULL, *net = NULL, *intro = NULL;
    char *footer = NULL, *caption = NULL, ntenants[24];
    const char *intro_head = "All tenants";
    const char *name = tn ? tn->display_name : NULL;
    double total = 0;

    memset(out, 0, sizeof(*out));
    snprintf(ntenants, sizeof(ntenants), "%zu", r->n_tenants);
    if (tn) {
        conv = value_of(tn, CS_UNIT_COUNT, tn->cur.v[CS_KPI_CONVERSATIONS]);
        cont = value_of(tn, CS_UNIT_RATE, tn->cur.v[CS_KPI_CONTAINMENT_RATE]);
        net = value_of(tn, CS_UNIT_MONEY, tn->cur.v[CS_KPI_NET_SAVINGS]);
    } else {
        struct cs_buf b = CS_BUF_INIT;

        for (size_t i = 0; i < r->n_tenants; i++) {
            double v = r->tenants[i].cur.v[CS_KPI_CONVERSATIONS];

            total += isnan(v) ? 0 : v;
        }
        cs_fmt_number(&b, r->n_tenants ? &r->tenants[0].fmt : NULL, total, 0);
        conv = cs_buf_detach(&b, NULL);
    }
    {
        const struct cs_tmpl_var v[] = {
            {"tenant", name},   {"period", period},
            {"tz", tn ? tn->tz : NULL}, {"containment", cont},
            {"net_savings", net}, {"conversations", conv},
            {"tenants", ntenants}, {"previous", prev}, {NULL, NULL}};
        const char *subject = kind == CS_MAIL_DAILY ? "subject_daily"
                              : kind == CS_MAIL_MONTHLY_ALL
                                  ? "subject_monthly_all"
                              : isnan(tn->cur.v[CS_KPI_NET_SAVINGS])
                                  ? "subject_monthly_no_savings"
                                  : "subject_monthly";

        words(&subj, t, subject, v, &ret, err);
        intro = words_new(t, kind == CS_MAIL_DAILY ? "intro_daily"
                             : kind == CS_MAIL_MONTHLY ? "intro_monthly"
                                                       : "intro_monthly_all",
                          v, &ret, err);
        if (kind != CS_MAIL_MONTHLY_ALL)
            caption = words_new(t, daily ? "caption_daily"
                                         : "caption_monthly", v, &ret, err);
        footer = words_new(t, "footer", NULL, &ret, err);
    }
    if (ret)
        goto done;
    {
        struct cs_buf sub = CS_BUF_INIT;

        cs_buf_adds(&sub, period);
        if (tn)
            cs_buf_addf(&sub, " \xc2\xb7 %s", tn->tz);
        /* The edition of all tenants is headed by its subject's words. */
        html_open(&html, subj.ptr, name ? name : intro_head, sub.ptr);
        cs_buf_addf(&text, "%s\n%s\n\n", name ? name : intro_head,
                    sub.ptr);
        cs_buf_release(&sub);
    }
    html_para(&html, intro);
    cs_buf_addf(&text, "%s\n\n", intro);
    if (tn) {
        char *kh = words_new(t, "col_kpi", NULL, &ret, err);
        char *ch = words_new(t, "col_change", NULL, &ret, err);
        const char *head[3] = {kh, period, ch};

        if (daily)
            kpi_table(&text, &html, tn, daily_kpis,
                      sizeof(daily_kpis) / sizeof(daily_kpis[0]), head, 1);
        else
            kpi_table(&text, &html, tn, monthly_kpis,
                      sizeof(monthly_kpis) / sizeof(monthly_kpis[0]), head,
                      0);
        free(kh);
        free(ch);
        cs_buf_addf(&html, "<p style=\"margin:0 0 14px;font-size:13px;"
                    "color:%s;\">", MUTED);
        html_escape(&html, caption);
        cs_buf_adds(&html, "</p>\n");
        cs_buf_addf(&text, "%s\n\n", caption);
    } else {
        tenants_table(&text, &html, r, t, &ret, err);
        cs_buf_addch(&text, '\n');
    }
    if (extra) {
        html_para(&html, extra);
        cs_buf_addf(&text, "%s\n\n", extra);
    }
    file_lines(&text, &html, t, files, &ret, err);
    cs_buf_addf(&text, "\n-- \n%s\n", footer);
    html_close(&html, footer);
    if (ret)
        goto done;
    out->subject = cs_buf_detach(&subj, NULL);
    out->text = cs_buf_detach(&text, NULL);
    out->html = cs_buf_detach(&html, NULL);
done:
    free(period);
    free(prev);
    free(conv);
    free(cont);
    free(net);
    free(intro);
    free(caption);
    free(footer);
    cs_buf_release(&text);
    cs_buf_release(&html);
    cs_buf_release(&subj);
    return ret;
}

/* ---- alerts -------------------------------------------------------- */

static enum cs_unit unit_of(const char *name)
{
    for (int u = CS_UNIT_COUNT; u <= CS_UNIT_RATIO; u++) {
        if (strcmp(cs_unit_name((enum cs_unit)u), name) == 0)
            return (enum cs_unit)u;
    }
    return CS_UNIT_COUNT;
}

/* The label of an alert's KPI, its value and threshold as people read
 * them (as many decimals as tell them apart). */
static void alert_words(const struct cs_report_tenant *tn,
                        const struct cs_alert_rec *a, const char **label,
                        struct cs_buf *value, struct cs_buf *threshold,
                        int bound)
{
    const struct cs_kpi_row *row = tn ? cs_report_row(tn, a->kpi) : NULL;
    struct cs_buf th = CS_BUF_INIT;
    struct cs_alert al;

    memset(&al, 0, sizeof(al));
    al.kpi = a->kpi;
    al.unit = unit_of(a->unit);
    al.value = a->value;
    al.threshold = a->threshold;
    al.critical = a->level == 2;
    al.below = a->below;
    cs_fmt_alert(value, &th, tn ? &tn->fmt : NULL, &al);
    /* "min 90.0 %" for a floor, "max 10.0 %" for a ceiling. */
    if (bound)
        cs_buf_adds(threshold, a->below ? "min " : "max ");
    cs_buf_adds(threshold, th.ptr);
    cs_buf_release(&th);
    *label = row ? row->label : a->kpi;
}

static char *alert_summary(const struct cs_tmpl *t,
                           const struct cs_alert_rec *a, size_t n, int *ret,
                           struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;
    long crit = 0, warn = 0;

    for (size_t i = 0; i < n; i++) {
        if (a[i].level == 2)
            crit++;
        else
            warn++;
    }
    if (crit) {
        cs_buf_addf(&b, "%ld ", crit);
        words(&b, t, "level_critical", NULL, ret, err);
    }
    if (warn) {
        cs_buf_addf(&b, "%s%ld ", crit ? ", " : "", warn);
        words(&b, t, "level_warning", NULL, ret, err);
    }
    return cs_buf_detach(&b, NULL);
}

int cs_mail_compose_alerts(struct cs_mail_content *out,
                           const struct cs_tmpl *t,
                           const struct cs_report_tenant *tn, const char *day,
                           const struct cs_alert_rec *a, size_t n,
                           struct cs_err *err)
{
    struct cs_buf text = CS_BUF_INIT, html = CS_BUF_INIT, sub = CS_BUF_INIT;
    int ret = 0;
    char *period = period_words(t, day, 1, &ret, err);
    char *summary = alert_summary(t, a, n, &ret, err);
    const struct cs_tmpl_var v[] = {{"tenant", tn->display_name},
                                    {"period", period}, {"tz", tn->tz},
                                    {"summary", summary}, {NULL, NULL}};
    char *subject = words_new(t, "subject_alerts", v, &ret, err);
    char *intro = words_new(t, "intro_alerts", v, &ret, err);
    char *footer = words_new(t, "footer", NULL, &ret, err);
    char *head[4] = {words_new(t, "col_level", NULL, &ret, err),
                     words_new(t, "col_kpi", NULL, &ret, err),
                     words_new(t, "col_value", NULL, &ret, err),
                     words_new(t, "col_threshold", NULL, &ret, err)};

    memset(out, 0, sizeof(*out));
    if (ret)
        goto done;
    cs_buf_addf(&sub, "%s \xc2\xb7 %s", period, tn->tz);
    html_open(&html, subject, tn->display_name, sub.ptr);
    cs_buf_addf(&text, "%s\n%s\n\n%s\n\n", tn->display_name, sub.ptr, intro);
    html_para(&html, intro);
    static const int widths[4] = {8, 26, -10, -16};

    table_open(&html, (const char *const *)head, 4, 2);
    text_row(&text, (const char *const *)head, 4, widths);
    for (size_t i = 0; i < n; i++) {
        struct cs_buf val = CS_BUF_INIT, th = CS_BUF_INIT, lv = CS_BUF_INIT;
        const char *label;

        alert_words(tn, &a[i], &label, &val, &th, 1);
        words(&lv, t, a[i].level == 2 ? "level_critical" : "level_warning",
              NULL, &ret, err);
        {
            /* Level first, in colour in the HTML. */
            const char *cells[4] = {lv.ptr, label, val.ptr, th.ptr};
            const char *colors[4] = {a[i].level == 2 ? BAD : "#8a5a00", NULL,
                                     NULL, MUTED};
            const char *bgs[4] = {a[i].level == 2 ? CRIT_BG : WARN_BG, NULL,
                                  NULL, NULL};
            table_row(&html, cells, 4, 2, colors, bgs);
            text_row(&text, cells, 4, widths);
        }
        cs_buf_release(&val);
        cs_buf_release(&th);
        cs_buf_release(&lv);
    }
    cs_buf_adds(&html, "</table>\n");
    cs_buf_addf(&text, "\n-- \n%s\n", footer);
    html_close(&html, footer);
    if (ret)
        goto done;
    out->subject = subject;
    subject = NULL;
    out->text = cs_buf_detach(&text, NULL);
    out->html = cs_buf_detach(&html, NULL);
done:
    for (int i = 0; i < 4; i++)
        free(head[i]);
    free(period);
    free(summary);
    free(subject);
    free(intro);
    free(footer);
    cs_buf_release(&text);
    cs_buf_release(&html);
    cs_buf_release(&sub);
    return ret;
}

void cs_mail_slack_escape(struct cs_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            cs_buf_adds(out, "&amp;");
        else if (*s == '<')
            cs_buf_adds(out, "&lt;");
        else if (*s == '>')
            cs_buf_adds(out, "&gt;");
        else
            cs_buf_addch(out, *s);
    }
}

static json_t *slack_text(const char *type, const char *s)
{
    struct cs_buf b = CS_BUF_INIT;
    json_t *o;

    cs_mail_slack_escape(&b, s);
    o = json_pack("{s:s,s:s}", "type", type, "text", b.ptr);
    cs_buf_release(&b);
    return o;
}

/* A mrkdwn field "*Title*\nvalue" with both parts escaped. */
static json_t *slack_field(const char *title, const char *value)
{
    struct cs_buf b = CS_BUF_INIT, e = CS_BUF_INIT;
    json_t *o;

    cs_mail_slack_escape(&e, title);
    cs_buf_addf(&b, "*%s*\n", e.ptr);
    cs_mail_slack_escape(&b, value);
    o = json_pack("{s:s,s:s}", "type", "mrkdwn", "text", b.ptr);
    cs_buf_release(&b);
    cs_buf_release(&e);
    return o;
}

char *cs_mail_webhook_body(const struct cs_tmpl *t,
                           const struct cs_report_tenant *tn, const char *day,
                           const struct cs_alert_rec *a, size_t n)
{
    json_t *o = json_object(), *blocks = json_array();
    struct cs_buf line = CS_BUF_INIT, esc = CS_BUF_INIT;
    int ret = 0;
    char *summary = alert_summary(t, a, n, &ret, NULL);
    char *text;
    /* Slack takes 50 blocks: a header, a context, then the alerts. */
    size_t shown = n < 45 ? n : 45;

    cs_buf_addf(&line, "%s \xe2\x80\x94 alerts for %s (%s): %s",
                tn->display_name, day, tn->tz, summary);
    cs_mail_slack_escape(&esc, line.ptr);
    json_object_set_new(o, "text", json_string(esc.ptr));
    cs_buf_reset(&line);
    cs_buf_addf(&line, "%s \xe2\x80\x94 alerts for %s", tn->display_name,
                day);
    json_array_append_new(blocks, json_pack("{s:s,s:o}", "type", "header",
                                            "text", slack_text("plain_text",
                                                               line.ptr)));
    json_array_append_new(blocks, json_pack(
        "{s:s,s:[o,o]}", "type", "context", "elements",
        slack_field("Tenant", tn->name), slack_field("Day", day)));
    for (size_t i = 0; i < shown; i++) {
        struct cs_buf val = CS_BUF_INIT, th = CS_BUF_INIT;
        const char *label;

        alert_words(tn, &a[i], &label, &val, &th, 1);
        json_array_append_new(blocks, json_pack(
            "{s:s,s:[o,o,o,o]}", "type", "section", "fields",
            slack_field("KPI", label),
            slack_field("Level", a[i].level == 2 ? "critical" : "warning"),
            slack_field("Value", val.ptr), slack_field("Threshold", th.ptr)));
        cs_buf_release(&val);
        cs_buf_release(&th);
    }
    if (shown < n) {
        cs_buf_reset(&line);
        cs_buf_addf(&line, "and %zu more", n - shown);
        json_array_append_new(blocks, json_pack("{s:s,s:o}", "type",
                                                "section", "text",
                                                slack_text("mrkdwn",
                                                           line.ptr)));
    }
    json_object_set_new(o, "blocks", blocks);
    text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    free(summary);
    cs_buf_release(&line);
    cs_buf_release(&esc);
    return text;
}
