/* daily.c - the daily operations PDF: one page per tenant */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "report/format.h"
#include "report/pdf/doc.h"
#include "report/pdf/pdf.h"

/*
 * docs/report-design.md, "Daily operations PDF". The page must fit: the
 * KPI table takes what it needs (the money lines people derive from
 * others are left to the XLSX), and the alerts and the conversations
 * worth a look share the rest, each cut with "and N more".
 */

#define ROW_H 11.5

static int daily_kpi(const struct cs_kpi_row *r)
{
    if (r->flags & (CS_KPI_F_DETAIL | CS_KPI_F_NOT_IN_JSON))
        return 0;
    if (r->section == CS_SECTION_METRICS)
        return strstr(r->key, ".true_rate") || strstr(r->key, ".mean");
    if (r->section == CS_SECTION_LATENCY)
        return 0; /* the hops with a limit are added by the caller */
    switch (r->def ? r->def->id : CS_KPI__COUNT) {
    case CS_KPI_PLATFORM_FEE:
    case CS_KPI_HUMAN_EQUIVALENT_COST:
    case CS_KPI_ACTUAL_COST:
    case CS_KPI_COST_PER_CONVERSATION:
    case CS_KPI_SENTIMENT_NEUTRAL:
        return 0;
    default:
        return 1;
    }
}

/* A cell crossing its alert threshold is filled. */
static const struct cs_rgb *crossing(const struct cs_report_tenant *t,
                                     const struct cs_kpi_row *r, double v)
{
    static const struct cs_rgb warn = {1.0f, 0.93f, 0.80f};
    static const struct cs_rgb crit = {0.99f, 0.86f, 0.86f};
    int level = cs_threshold_level(cs_report_threshold(t, r->key), v);

    return level == 2 ? &crit : level == 1 ? &warn : NULL;
}

static void kpi_table(struct pdf_doc *d, size_t max_rows)
{
    const struct cs_report_tenant *t = d->t;
    const struct cs_report *r = d->r;
    char day[64], prev[64], week[64];
    const struct cs_col cols[] = {
        {"KPI", 165, CS_ALIGN_LEFT, 1}, {day, 72, CS_ALIGN_RIGHT, 1},
        {prev, 72, CS_ALIGN_RIGHT, 1},  {"change", 56, CS_ALIGN_RIGHT, 1},
        {week, 72, CS_ALIGN_RIGHT, 1},  {"change", 56, CS_ALIGN_RIGHT, 1},
    };
    struct cs_table tb;
    size_t shown = 0, wanted = 0;

    snprintf(day, sizeof(day), "%s", r->period.from);
    snprintf(prev, sizeof(prev), "%s", r->cmp_period[CS_CMP_PREVIOUS].from);
    snprintf(week, sizeof(week), "%s", r->cmp_period[CS_CMP_LAST_WEEK].from);
    cs_table_begin(&tb, d->c, cols, 6, d->left, d->y, d->bottom, NULL, NULL);
    tb.size = 7.8;
    tb.row_h = ROW_H;
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct cs_kpi_row *row = &t->rows[i];
        int limited = row->section == CS_SECTION_LATENCY &&
                      cs_report_threshold(t, row->key);
        char *v[3], *c[2];
        struct cs_rgb ink[2];
        const double vals[3] = {row->value, row->cmp[CS_CMP_PREVIOUS].value,
                                row->cmp[CS_CMP_LAST_WEEK].value};

        if (!daily_kpi(row) && !limited)
            continue;
        wanted++;
        if (shown >= max_rows)
            continue;
        for (int k = 0; k < 3; k++)
            v[k] = pdf_value(d, row->unit, vals[k]);
        for (int k = 0; k < 2; k++) {
            c[k] = pdf_change(d, row->unit, row->cmp[k].change);
            ink[k] = pdf_tone_ink(row->direction, row->cmp[k].change);
        }
        {
            const struct cs_cell cells[] = {
                {row->label, NULL, NULL, 0, 0, 0},
                {v[0], NULL, crossing(t, row, vals[0]), 1, 0, 0},
                {v[1], &CS_MUTED, crossing(t, row, vals[1]), 0, 0, 0},
                {c[0], &ink[0], NULL, 0, 0, 0},
                {v[2], &CS_MUTED, crossing(t, row, vals[2]), 0, 0, 0},
                {c[1], &ink[1], NULL, 0, 0, 0},
            };

            cs_table_row(&tb, cells);
        }
        shown++;
        for (int k = 0; k < 3; k++)
            free(v[k]);
        for (int k = 0; k < 2; k++)
            free(c[k]);
    }
    if (shown < wanted) {
        char note[96];

        snprintf(note, sizeof(note), "and %zu more KPIs in the client XLSX",
                 wanted - shown);
        cs_table_note(&tb, note, 0);
    }
    d->y = cs_table_end(&tb) - 12;
}

/* How many KPI rows the table wants. */
static size_t kpi_rows(const struct cs_report_tenant *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n_rows; i++) {
        const struct cs_kpi_row *r = &t->rows[i];

        n += daily_kpi(r) || (r->section == CS_SECTION_LATENCY &&
                              cs_report_threshold(t, r->key));
    }
    return n;
}

static void alerts(struct pdf_doc *d, size_t max)
{
    const struct cs_report_tenant *t = d->t;
    const struct cs_kpi_set *s = &t->cur;
    static const struct cs_col cols[] = {
        {"KPI", 200, CS_ALIGN_LEFT, 1}, {"Value", 90, CS_ALIGN_RIGHT, 1},
        {"Threshold", 90, CS_ALIGN_RIGHT, 1}, {"Level", 113, CS_ALIGN_LEFT, 1},
    };
    struct cs_table tb;

    pdf_section(d, pdf_words(d, "daily_alerts_title", NULL), 0);
    if (s->n_alerts == 0) {
        pdf_note(d, pdf_words(d, "alerts_none", NULL));
        return;
    }
    cs_table_begin(&tb, d->c, cols, 4, d->left, d->y, d->bottom, NULL, NULL);
    tb.size = 7.8;
    tb.row_h = ROW_H;
    for (size_t i = 0; i < s->n_alerts && i < max; i++) {
        const struct cs_alert *a = &s->alerts[i];
        const struct cs_kpi_row *row = cs_report_row(t, a->kpi);
        struct cs_buf v = CS_BUF_INIT, th = CS_BUF_INIT;

        cs_fmt_alert(&v, &th, &t->fmt, a);
        {
            const struct cs_cell cells[] = {
                {row ? row->label : a->kpi, NULL, NULL, 0, 0, 0},
                {v.ptr, a->critical ? &CS_BAD : &CS_WARN, NULL, 1, 0, 0},
                {th.ptr, &CS_MUTED, NULL, 0, 0, 0},
                {a->critical ? "critical" : "warning",
                 a->critical ? &CS_BAD : &CS_WARN, NULL, 0, 0, 0},
            };

            cs_table_row(&tb, cells);
        }
        cs_buf_release(&v);
        cs_buf_release(&th);
    }
    if (s->n_alerts > max) {
        char note[64];

        snprintf(note, sizeof(note), "and %zu more", s->n_alerts - max);
        cs_table_note(&tb, note, 0);
    }
    d->y = cs_table_end(&tb) - 12;
}

/* The top three movers against the day before (kpi/movers.h), each one
 * sentence with the conversations behind it, or that nothing moved
 * beyond noise. Takes at most `room` points. */
static void movers_block(struct pdf_doc *d, double room)
{
    const struct cs_report_tenant *t = d->t;
    double w = d->right - d->left, y;
    size_t shown = 0;

    pdf_section(d, pdf_words(d, "daily_movers_title", NULL), 0);
    y = d->y;
    for (size_t i = 0; i < t->n_movers && shown < 3; i++) {
        const struct cs_mover *m = &t->movers[i];
        char *s;
        int lines;

        if (!m->significant)
            break;
        s = pdf_mover_sentence(d, m, 3);
        lines = cs_canvas_wrap(d->c, CS_FONT_REGULAR, 7.8, CS_INK,
                               d->left + 10, y - 8, w - 10, 10, 2, s, 0);
        if (d->y - y + 10 * lines + 4 > room) {
            free(s);
            break;
        }
        cs_canvas_circle(d->c, d->left + 3, y - 5, 2.4,
                         pdf_tone_ink(m->direction, m->change));
        cs_canvas_wrap(d->c, CS_FONT_REGULAR, 7.8, CS_INK, d->left + 10,
                       y - 8, w - 10, 10, 2, s, 1);
        y -= 10 * lines + 4;
        free(s);
        shown++;
    }
    if (shown == 0) {
        char s[512];

        pdf_movers_none(d, s, sizeof(s));
        y -= 10 * cs_canvas_wrap(d->c, CS_FONT_REGULAR, 7.8, CS_MUTED,
                                 d->left, y - 8, w, 10, 2, s, 1);
    }
    d->y = y - 8;
}

static void tenant_page(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    double avail, per;
    size_t want = kpi_rows(t), fit_kpis, n_alerts, n_look;
    char title[160];

    snprintf(title, sizeof(title), "%s \xe2\x80\x94 %s",
             pdf_words(d, "daily_title", NULL), d->r->period.from);
    pdf_new_page(d, title);
    cs_canvas_text_fit(d->c, CS_FONT_BOLD, 12, CS_INK, d->left, d->y - 4,
                       CS_ALIGN_LEFT,
                       d->right - d->left - 12 -
                           cs_canvas_text_width(d->c, CS_FONT_REGULAR, 8,
                                                t->tz),
                       t->display_name);
    cs_canvas_text(d->c, CS_FONT_REGULAR, 8, CS_MUTED, d->right, d->y - 4,
                   CS_ALIGN_RIGHT, t->tz);
    d->y -= 18;
    /* Room: the KPI table first, then alerts and the review list share
     * what is left (two headers of about 40 points each). */
    avail = d->y - d->bottom - 2 * ROW_H;
    /* Below the table: the movers (about 90 points), then the alerts and
     * the conversations worth a look. */
    fit_kpis = (size_t)((avail - 240 - 90) / ROW_H);
    if (fit_kpis > want)
        fit_kpis = want;
    kpi_table(d, fit_kpis);
    movers_block(d, 80);
    avail = d->y - d->bottom - 80;
    per = avail / ROW_H;
    n_alerts = t->cur.n_alerts;
    if (n_alerts > (size_t)(per / 2))
        n_alerts = (size_t)(per / 2);
    alerts(d, n_alerts > 0 ? n_alerts : 1);
    n_look = (size_t)((d->y - d->bottom - 40) / ROW_H);
    pdf_look_table(d, pdf_words(d, "daily_look_title", NULL),
                   n_look > 0 ? n_look : 1, 1);
}

int cs_render_pdf_daily(const struct cs_report *r, const char *path,
                        struct cs_err *err)
{
    struct pdf_doc d;
    struct cs_buf title = CS_BUF_INIT;
    int ret;

    cs_buf_addf(&title, "Daily operations \xe2\x80\x94 %s", r->period.from);
    ret = pdf_doc_open(&d, r, title.ptr, err);
    cs_buf_release(&title);
    if (ret)
        return ret;
    if (r->n_tenants == 0) {
        d.t = NULL;
        pdf_period_text(&d, d.period, sizeof(d.period), &r->period);
        pdf_new_page(&d, pdf_words(&d, "daily_title", NULL));
        pdf_note(&d, pdf_words(&d, "daily_empty", NULL));
    }
    for (size_t i = 0; i < r->n_tenants; i++) {
        pdf_doc_tenant(&d, &r->tenants[i]);
        tenant_page(&d);
    }
    ret = pdf_doc_finish(&d, path);
    pdf_doc_close(&d);
    return ret;
}
