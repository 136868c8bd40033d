/* executive.c - the monthly executive PDF: the answer, trends and drivers,
 * quality and operations, alerts, conversations worth a look, methods */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/tmpl.h"
#include "report/format.h"
#include "report/pdf/doc.h"
#include "report/pdf/pdf.h"

/*
 * docs/report-design.md, "Monthly executive PDF", with these choices
 * where it leaves room: tiles show the change against the previous
 * period and a sparkline of the daily values (days without conversations
 * are gaps, not zeros); the ROI panel is a plain right-aligned table
 * (a waterfall misleads when a part is negative); top movers compare
 * rates in points and counts and money in percent (durations and scores
 * are not comparable with them and are left out); call reasons come from
 * the metric `call_reason`, else the largest categorical metric.
 */

static const enum cs_kpi_id tiles[8] = {
    CS_KPI_CONVERSATIONS,        CS_KPI_CONTAINMENT_RATE,
    CS_KPI_HANDOFF_RATE,         CS_KPI_ANSWER_RATE,
    CS_KPI_AHT_S,                CS_KPI_CSAT_AVG,
    CS_KPI_CONNECTOR_SUCCESS_RATE, CS_KPI_COST_PER_CONTAINED,
};

static const struct cs_kpi_row *row_of(const struct pdf_doc *d,
                                       enum cs_kpi_id id)
{
    return cs_report_row(d->t, cs_kpi_def_get(id)->key);
}

/* A value of a tile: large counts shortened (tiles only), CSAT "/ 5". */
static char *tile_value(const struct pdf_doc *d, enum cs_kpi_id id, double v)
{
    struct cs_buf b = CS_BUF_INIT;
    const struct cs_kpi_def *def = cs_kpi_def_get(id);

    if (def->unit == CS_UNIT_COUNT && fabs(v) >= 100000) {
        cs_fmt_number(&b, &d->t->fmt, v / (fabs(v) >= 1e6 ? 1e6 : 1e3),
                      1);
        cs_buf_adds(&b, fabs(v) >= 1e6 ? "M" : "k");
    } else if (id == CS_KPI_CSAT_AVG) {
        cs_fmt_value(&b, &d->t->fmt, CS_UNIT_SCORE, v, 1);
        if (!isnan(v))
            cs_buf_adds(&b, " / 5");
    } else {
        cs_fmt_value(&b, &d->t->fmt, def->unit, v, -1);
    }
    return cs_buf_detach(&b, NULL);
}

static void header(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    double w = d->right - d->left, title_w = w - 150, y = d->top;
    const struct cs_tmpl_var v[] = {{"tz", t->tz},
                                    {"generated_at",
                                     d->r->style.generated_at},
                                    {NULL, NULL}};
    char *sub;
    int lines;

    cs_canvas_step(d->c, "the header of %s", t->name);
    if (d->r->style.logo) {
        int ret = cs_canvas_image(d->c, d->r->style.logo, d->right - 80,
                                  y - 34, 80, 32, d->err);

        if (ret && !d->ret)
            d->ret = ret;
        title_w -= 90;
    }
    lines = cs_canvas_wrap(d->c, CS_FONT_BOLD, 20, CS_INK, d->left, y - 20,
                           title_w, 23, 2, t->display_name, 1);
    cs_canvas_text(d->c, CS_FONT_REGULAR, 11, CS_MUTED,
                   d->right - (d->r->style.logo ? 90 : 0), y - 18,
                   CS_ALIGN_RIGHT, d->period);
    y -= 20 + 23 * (lines - 1) + 14;
    sub = cs_xstrdup(pdf_words(d, "subtitle", v));
    cs_canvas_text_fit(d->c, CS_FONT_REGULAR, 8, CS_MUTED, d->left, y,
                       CS_ALIGN_LEFT, w, sub);
    free(sub);
    y -= 8;
    cs_canvas_line(d->c, d->left, y, d->right, y, CS_RULE, 0.8, 0);
    d->y = y - 10;
}

/* The headline sentence, built from the numbers. */
static void headline(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    const double *v = t->cur.v;
    const struct cs_kpi_row *cont = row_of(d, CS_KPI_CONTAINMENT_RATE);
    const struct cs_kpi_row *net = row_of(d, CS_KPI_NET_SAVINGS);
    char *conv = pdf_value(d, CS_UNIT_COUNT, v[CS_KPI_CONVERSATIONS]);
    char *con = pdf_value(d, CS_UNIT_RATE, v[CS_KPI_CONTAINMENT_RATE]);
    char *ns = pdf_value(d, CS_UNIT_MONEY, v[CS_KPI_NET_SAVINGS]);
    char *pns = pdf_value(d, CS_UNIT_MONEY,
                          net->cmp[CS_CMP_PREVIOUS].value);
    char *roi = pdf_value(d, CS_UNIT_RATIO, v[CS_KPI_ROI]);
    struct cs_buf ch = CS_BUF_INIT;
    const char *entry;
    char *text;
    int lines;

    if (isnan(cont->cmp[CS_CMP_PREVIOUS].change))
        cs_buf_adds(&ch, "nothing to compare with");
    else
        cs_fmt_change(&ch, &t->fmt, CS_UNIT_RATE,
                      cont->cmp[CS_CMP_PREVIOUS].change);
    {
        const struct cs_tmpl_var vars[] = {
            {"conversations", conv},  {"containment", con},
            {"containment_change", ch.ptr}, {"net_savings", ns},
            {"previous_net_savings", pns}, {"roi", roi},
            {"period", d->period},    {NULL, NULL}};

        if (v[CS_KPI_CONVERSATIONS] == 0)
            entry = "headline_empty";
        else if (isnan(v[CS_KPI_NET_SAVINGS]))
            entry = "headline_no_roi";
        else if (v[CS_KPI_NET_SAVINGS] < 0)
            entry = "headline_loss";
        else if (isnan(net->cmp[CS_CMP_PREVIOUS].value))
            entry = "headline_saving";
        else if (v[CS_KPI_NET_SAVINGS] >= net->cmp[CS_CMP_PREVIOUS].value)
            entry = "headline_saving_up";
        else
            entry = "headline_saving_down";
        text = cs_xstrdup(pdf_words(d, entry, vars));
    }
    cs_canvas_step(d->c, "the headline of %s", t->name);
    lines = cs_canvas_wrap(d->c, CS_FONT_REGULAR, 12, CS_INK, d->left,
                           d->y - 12, d->right - d->left, 16, 4, text, 1);
    d->y -= 12 + 16 * lines;
    free(text);
    free(conv);
    free(con);
    free(ns);
    free(pns);
    free(roi);
    cs_buf_release(&ch);
}

/* The daily values of a KPI (gaps where a day had no conversations). */
static double *daily(const struct cs_kpi_set *g, size_t n, enum cs_kpi_id id)
{
    double *v = cs_xcalloc(n ? n : 1, sizeof(*v));

    for (size_t i = 0; i < n; i++)
        v[i] = g[i].v[CS_KPI_CONVERSATIONS] > 0 || id == CS_KPI_CONVERSATIONS
                   ? g[i].v[id]
                   : NAN;
    return v;
}

static void tile(struct pdf_doc *d, enum cs_kpi_id id, struct cs_box b)
{
    const struct cs_kpi_def *def = cs_kpi_def_get(id);
    const struct cs_kpi_row *row = row_of(d, id);
    double change = row->cmp[CS_CMP_PREVIOUS].change, size = 22;
    char *value = tile_value(d, id, row->value);
    char *delta = pdf_change(d, def->unit, change);
    const char *label = def->label;
    struct cs_buf line = CS_BUF_INIT;
    double *series;

    cs_canvas_step(d->c, "the tile '%s'", def->key);
    cs_canvas_rect(d->c, b.x, b.y, b.w, b.h, &CS_FILL, &CS_RULE, 0.5);
    if (cs_canvas_text_width(d->c, CS_FONT_REGULAR, 8, label) > b.w - 16)
        label = def->short_label;
    cs_canvas_text_fit(d->c, CS_FONT_REGULAR, 8, CS_MUTED, b.x + 8,
                       b.y + b.h - 14, CS_ALIGN_LEFT, b.w - 16, label);
    while (size > 12 &&
           cs_canvas_text_width(d->c, CS_FONT_BOLD, size, value) > b.w - 16)
        size -= 1;
    cs_canvas_text_fit(d->c, CS_FONT_BOLD, size, CS_INK, b.x + 8,
                       b.y + b.h - 38, CS_ALIGN_LEFT, b.w - 16, value);
    cs_buf_addf(&line, "%s", delta);
    cs_canvas_text_fit(d->c, CS_FONT_REGULAR, 8.5,
                       pdf_tone_ink(def->direction, change), b.x + 8,
                       b.y + 24, CS_ALIGN_LEFT, b.w - 16, line.ptr);
    series = daily(d->t->groups, d->t->n_groups, id);
    cs_chart_sparkline(d->c, (struct cs_box){b.x + 8, b.y + 6, b.w - 16, 12},
                       series, d->t->n_groups, CS_ACCENT);
    free(series);
    free(value);
    free(delta);
    cs_buf_release(&line);
}

static void tiles_grid(struct pdf_doc *d)
{
    double gap = 8, w = (d->right - d->left - 3 * gap) / 4, h = 80;
    struct cs_buf cap = CS_BUF_INIT;
    const struct cs_tmpl_var v[] = {{"previous_period", d->prev_period},
                                    {NULL, NULL}};

    cs_buf_adds(&cap, pdf_words(d, "tiles_caption", v));
    cs_canvas_text_fit(d->c, CS_FONT_REGULAR, 7.5, CS_MUTED, d->left,
                       d->y - 4, CS_ALIGN_LEFT, d->right - d->left, cap.ptr);
    cs_buf_release(&cap);
    d->y -= 12;
    for (int i = 0; i < 8; i++) {
        struct cs_box b = {d->left + (w + gap) * (i % 4),
                           d->y - h - (h + gap) * (i / 4), w, h};

        tile(d, tiles[i], b);
    }
    d->y -= 2 * h + gap + 18;
}

/*
 * The month's money at a glance: what people alone would have cost
 * against what it cost with the agent (AI, people for the handoffs, the
 * fee), on one scale from zero; the gap is the net savings, or the loss.
 */
static void roi_bars(struct pdf_doc *d)
{
    const double *v = d->t->cur.v;
    double people = v[CS_KPI_HUMAN_EQUIVALENT_COST];
    double actual = v[CS_KPI_ACTUAL_COST];
    double max = fmax(people, actual), label_w = 150, x0, w;
    const struct cs_kpi_def *dp = cs_kpi_def_get(CS_KPI_HUMAN_EQUIVALENT_COST);
    const char *labels[2] = {dp->label, pdf_words(d, "roi_with_agent", NULL)};
    char *lab1 = cs_xstrdup(labels[1]);
    const double vals[2] = {people, actual};
    const struct cs_rgb inks[2] = {CS_NEUTRAL, CS_ACCENT};

    if (!(max > 0))
        goto done;
    labels[1] = lab1;
    d->y -= 6;
    x0 = d->left + label_w;
    w = d->right - x0 - 70;
    cs_canvas_step(d->c, "the savings bars of %s", d->t->name);
    for (int i = 0; i < 2; i++) {
        char *t = pdf_value(d, CS_UNIT_MONEY, vals[i]);
        double bw = w * vals[i] / max;

        cs_canvas_text_fit(d->c, CS_FONT_REGULAR, 8.5, CS_INK, d->left,
                           d->y - 10, CS_ALIGN_LEFT, label_w - 8, labels[i]);
        cs_canvas_rect(d->c, x0, d->y - 13, fmax(bw, 0.5), 12, &inks[i], NULL,
                       0);
        cs_canvas_text(d->c, CS_FONT_BOLD, 8.5, CS_INK, x0 + bw + 5,
                       d->y - 10, CS_ALIGN_LEFT, t);
        free(t);
        d->y -= 20;
    }
    {
        /* The gap, marked: green for savings, red for a loss. */
        double a = x0 + w * fmin(people, actual) / max;
        double b = x0 + w * max / max;
        struct cs_rgb ink = people >= actual ? CS_GOOD : CS_BAD;
        /* "lost $87,550": the verb says it is a loss. */
        char *net = pdf_value(d, CS_UNIT_MONEY, fabs(v[CS_KPI_NET_SAVINGS]));
        struct cs_buf t = CS_BUF_INIT;
        const struct cs_tmpl_var vars[] = {{"net_savings", net},
                                           {NULL, NULL}};

        cs_canvas_line(d->c, a, d->y + 2, a, d->y - 4, ink, 0.8, 0);
        cs_canvas_line(d->c, b, d->y + 2, b, d->y - 4, ink, 0.8, 0);
        cs_canvas_line(d->c, a, d->y - 1, b, d->y - 1, ink, 0.8, 0);
        cs_buf_adds(&t, pdf_words(d, people >= actual ? "roi_gap_saving"
                                                      : "roi_gap_loss",
                                  vars));
        cs_canvas_text_fit(d->c, CS_FONT_BOLD, 8.5, ink, (a + b) / 2,
                           d->y - 12, CS_ALIGN_CENTER,
                           fmax(b - a, 160), t.ptr);
        cs_buf_release(&t);
        free(net);
        d->y -= 22;
    }
done:
    free(lab1);
}

/* The ROI panel: what it would have cost, what it cost, the difference. */
static void roi_panel(struct pdf_doc *d)
{
    static const enum cs_kpi_id lines[] = {
        CS_KPI_HUMAN_EQUIVALENT_COST, CS_KPI_AI_COST,
        CS_KPI_HANDOFF_PEOPLE_COST, CS_KPI_PLATFORM_FEE,
        CS_KPI_NET_SAVINGS, CS_KPI_ROI};
    const struct cs_col cols[] = {
        {"", 260, CS_ALIGN_LEFT, 1},
        {d->period, 110, CS_ALIGN_RIGHT, 1},
        {d->prev_period, 110, CS_ALIGN_RIGHT, 1},
    };
    struct cs_table tb;

    pdf_section(d, pdf_words(d, "roi_title", NULL), 120);
    cs_table_begin(&tb, d->c, cols, 3, d->left, d->y, d->bottom,
                   pdf_continue_page, d);
    tb.zebra = 0;
    tb.size = 9.5;
    tb.row_h = 15;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const struct cs_kpi_row *row = row_of(d, lines[i]);
        int net = lines[i] == CS_KPI_NET_SAVINGS;
        char *cur = pdf_value(d, row->unit, row->value);
        char *prev = pdf_value(d, row->unit, row->cmp[CS_CMP_PREVIOUS].value);
        const struct cs_cell cells[] = {
            {row->label, NULL, NULL, net, 0, 0},
            {cur, row->value < 0 ? &CS_BAD : NULL, NULL, net, 0, 0},
            {prev, row->cmp[CS_CMP_PREVIOUS].value < 0 ? &CS_BAD : &CS_MUTED,
             NULL, net, 0, 0},
        };

        if (net)
            cs_canvas_line(d->c, d->left, tb.y, d->left + 480, tb.y,
                           CS_MUTED, 0.6, 0);
        cs_table_row(&tb, cells);
        free(cur);
        free(prev);
    }
    d->y = cs_table_end(&tb) - 8;
    if (isnan(d->t->cur.v[CS_KPI_NET_SAVINGS]))
        pdf_note(d, pdf_words(d, "roi_missing", NULL));
    else
        roi_bars(d);
}

static void page_answer(struct pdf_doc *d)
{
    pdf_new_page(d, NULL);
    header(d);
    headline(d);
    tiles_grid(d);
    roi_panel(d);
}

/* The categorical metric that says why people called. */
static const struct cs_metric_kpi *reasons_metric(const struct cs_kpi_set *s)
{
    const struct cs_metric_kpi *best = cs_kpi_set_find_metric(s,
                                                              "call_reason");

    if (best && best->type == CS_METRIC_CATEGORICAL && best->applicable)
        return best;
    best = NULL;
    for (size_t i = 0; i < s->n_metrics; i++) {
        const struct cs_metric_kpi *m = &s->metrics[i];

        if (m->type != CS_METRIC_CATEGORICAL ||
            strcmp(m->key, "customer_sentiment") == 0)
            continue;
        if (!best || m->applicable > best->applicable)
            best = m;
    }
    return best && best->applicable ? best : NULL;
}

static int by_count_desc(const void *a, const void *b)
{
    const struct cs_metric_count *x = a, *y = b;

    return (y->count > x->count) - (y->count < x->count);
}

static void call_reasons(struct pdf_doc *d, struct cs_box b)
{
    const struct cs_metric_kpi *m = reasons_metric(&d->t->cur);
    struct cs_metric_count *sorted;
    const char *labels[9];
    const char *texts[9];
    char *owned[9];
    double values[9];
    size_t n = 0;
    long other = 0;

    cs_canvas_text(d->c, CS_FONT_BOLD, 9.5, CS_INK, b.x, b.y + b.h + 4,
                   CS_ALIGN_LEFT, pdf_words(d, "reasons_title", NULL));
    if (!m) {
        char *t = cs_xstrdup(pdf_words(d, "reasons_missing", NULL));

        cs_canvas_wrap(d->c, CS_FONT_REGULAR, 8.5, CS_MUTED, b.x,
                       b.y + b.h - 12, b.w, 11, 3, t, 1);
        free(t);
        return;
    }
    sorted = cs_xcalloc(m->n_counts, sizeof(*sorted));
    memcpy(sorted, m->counts, m->n_counts * sizeof(*sorted));
    qsort(sorted, m->n_counts, sizeof(*sorted), by_count_desc);
    for (size_t i = 0; i < m->n_counts; i++) {
        if (n < 8 && strcmp(sorted[i].label, "other") != 0) {
            labels[n] = sorted[i].label;
            values[n] = (double)sorted[i].count;
            n++;
        } else {
            other += sorted[i].count;
        }
    }
    if (other) {
        labels[n] = "other";
        values[n] = (double)other;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        struct cs_buf t = CS_BUF_INIT;

        cs_fmt_number(&t, &d->t->fmt, values[i], 0);
        cs_buf_adds(&t, " \xc2\xb7 ");
        cs_fmt_value(&t, &d->t->fmt, CS_UNIT_RATE,
                     values[i] / (double)m->applicable, -1);
        owned[i] = cs_buf_detach(&t, NULL);
        texts[i] = owned[i];
    }
    cs_chart_hbars(d->c, b, labels, values, texts, n, CS_ACCENT);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    free(sorted);
}

/* The label of a mover as a sentence says it, with the judge's caveat. */
static void mover_label(struct cs_buf *b, const struct cs_mover *m)
{
    cs_buf_adds(b, m->label);
    if (m->unverified)
        cs_buf_adds(b, " (" CS_REPORT_UNVERIFIED ")");
}

/* "Containment fell 6.8 pp to 64.2 % (from 71.0 %): bad news (p <
 * 0.0001). Handed off: a-1, a-2, a-3." */
char *pdf_mover_sentence(struct pdf_doc *d, const struct cs_mover *m,
                         size_t max_ids)
{
    const struct cs_report_tenant *t = d->t;
    struct cs_buf ch = CS_BUF_INIT, p = CS_BUF_INIT, why = CS_BUF_INIT;
    struct cs_buf label = CS_BUF_INIT;
    char *val = pdf_value(d, m->unit, m->value);
    char *prev = pdf_value(d, m->unit, m->previous);
    const char *news = m->tone == CS_TONE_GOOD  ? "good news"
                       : m->tone == CS_TONE_BAD ? "bad news"
                                                : "neither good nor bad";
    char *s;

    cs_fmt_change(&ch, &t->fmt, m->unit, fabs(m->change));
    cs_fmt_p(&p, m->p);
    mover_label(&label, m);
    if (m->why && m->n_ids) {
        cs_buf_addf(&why, "%c%s: ", toupper((unsigned char)m->why[0]),
                    m->why + 1);
        for (size_t i = 0; i < m->n_ids && i < max_ids; i++)
            cs_buf_addf(&why, "%s%s", i ? ", " : "", m->ids[i]);
        cs_buf_adds(&why, ".");
    }
    {
        /* "rose 2.1 pp", "fell 2.1 pp": the verb carries the sign. */
        const struct cs_tmpl_var v[] = {
            {"label", label.ptr},
            {"change", ch.ptr[0] == '+' ? ch.ptr + 1 : ch.ptr},
            {"value", val},
            {"previous", prev},
            {"news", news},
            {"p", p.ptr},
            {"behind", why.ptr},
            {NULL, NULL}};

        s = cs_xstrdup(pdf_words(d, m->change > 0 ? "mover_up" : "mover_down",
                                 v));
    }
    free(val);
    free(prev);
    cs_buf_release(&ch);
    cs_buf_release(&p);
    cs_buf_release(&why);
    cs_buf_release(&label);
    return s;
}

/* The significant movers, the largest effects first (kpi/movers.h). */
static size_t top_movers(const struct cs_report_tenant *t,
                         const struct cs_mover **top, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n_movers && n < max; i++) {
        if (t->movers[i].significant)
            top[n++] = &t->movers[i];
    }
    return n;
}

void pdf_movers_none(struct pdf_doc *d, char *out, size_t size)
{
    const struct cs_report_tenant *t = d->t;
    char tested[32];
    const struct cs_tmpl_var v[] = {{"previous_period", d->prev_period},
                                    {"tested", tested},
                                    {NULL, NULL}};

    snprintf(tested, sizeof(tested), "%zu", t->n_tested);
    snprintf(out, size, "%s",
             pdf_words(d, t->cmp[CS_CMP_PREVIOUS] &&
                               t->cmp[CS_CMP_PREVIOUS]
                                       ->v[CS_KPI_CONVERSATIONS] > 0
                           ? "movers_none"
                           : "movers_nothing_to_compare",
                       v));
}

static void movers(struct pdf_doc *d, struct cs_box b)
{
    const struct cs_report_tenant *t = d->t;
    const struct cs_mover *top[3];
    const struct cs_tmpl_var pv[] = {{"previous_period", d->prev_period},
                                     {NULL, NULL}};
    double y = b.y + b.h - 12;
    size_t n = top_movers(t, top, 3);

    cs_canvas_text_fit(d->c, CS_FONT_BOLD, 9.5, CS_INK, b.x, b.y + b.h + 4,
                       CS_ALIGN_LEFT, b.w, pdf_words(d, "movers_title", pv));
    if (n == 0) {
        char s[512];

        pdf_movers_none(d, s, sizeof(s));
        cs_canvas_wrap(d->c, CS_FONT_REGULAR, 8.5, CS_MUTED, b.x, y, b.w, 11,
                       4, s, 1);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        char *s = pdf_mover_sentence(d, top[k], 3);
        int lines;

        cs_canvas_circle(d->c, b.x + 3, y + 3, 2.6,
                         pdf_tone_ink(top[k]->direction, top[k]->change));
        lines = cs_canvas_wrap(d->c, CS_FONT_REGULAR, 8.5, CS_INK, b.x + 10,
                               y, b.w - 10, 11, 4, s, 1);
        y -= 11 * lines + 7;
        free(s);
    }
}

/*
 * Drivers: what the stored explanations (`callscope explain`) say about
 * the verdicts behind the month's biggest movers — their themes with
 * counts — or that none is stored, with the command that makes one.
 */
static void drivers(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    const struct cs_mover *top[3];
    size_t n = top_movers(t, top, 3);

    if (n == 0)
        return;
    pdf_section(d, pdf_words(d, "drivers_title", NULL), 60);
    for (size_t k = 0; k < n; k++) {
        const struct cs_mover *m = top[k];
        struct cs_buf label = CS_BUF_INIT, text = CS_BUF_INIT;
        char sampled[32];

        mover_label(&label, m);
        if (!m->has_explanation) {
            struct cs_buf value = CS_BUF_INIT;
            const char *v = m->verdict ? m->verdict : "";

            /* The value as a shell word: strings without their quotes. */
            if (v[0] == '"')
                cs_buf_add(&value, v + 1, strlen(v) - 2);
            else
                cs_buf_adds(&value, v);
            {
                const struct cs_tmpl_var vars[] = {
                    {"label", label.ptr},
                    {"metric", m->metric ? m->metric : ""},
                    {"value", value.ptr},  {"tenant", t->name},
                    {"from", d->r->period.from}, {"to", d->r->period.to},
                    {NULL, NULL}};

                cs_buf_adds(&text, pdf_words(d, m->metric
                                                    ? "driver_none_hint"
                                                    : "driver_none",
                                             vars));
            }
            pdf_note(d, text.ptr);
            cs_buf_release(&value);
            cs_buf_release(&label);
            cs_buf_release(&text);
            continue;
        }
        snprintf(sampled, sizeof(sampled), "%ld", m->expl_sampled);
        {
            const struct cs_tmpl_var vars[] = {
                {"label", label.ptr}, {"sampled", sampled},
                {"evaluator", m->expl_evaluator},
                {"created", m->expl_created}, {NULL, NULL}};

            cs_buf_adds(&text, pdf_words(d, "driver_head", vars));
        }
        for (size_t i = 0; i < m->n_themes && i < 4; i++)
            cs_buf_addf(&text, "\n\xe2\x80\xa2 %s \xe2\x80\x94 %ld of %s",
                        m->themes[i].title, m->themes[i].count, sampled);
        if (m->n_themes > 4)
            cs_buf_addf(&text, "\n\xe2\x80\xa2 and %zu more themes",
                        m->n_themes - 4);
        pdf_note(d, text.ptr);
        cs_buf_release(&label);
        cs_buf_release(&text);
    }
}

static void sentiment(struct pdf_doc *d)
{
    const struct cs_kpi_set *sets[2] = {&d->t->cur, d->t->cmp[CS_CMP_PREVIOUS]};
    const char *names[2] = {d->period, d->prev_period};
    const struct cs_rgb inks[3] = {CS_GOOD, CS_NEUTRAL, CS_BAD};
    const char *legend[3] = {"positive", "neutral", "negative"};
    double x = d->left;

    pdf_section(d, pdf_words(d, "sentiment_title", NULL), 70);
    if (d->t->cur.v[CS_KPI_SENTIMENT_SCORED] == 0) {
        pdf_note(d, pdf_words(d, "sentiment_missing", NULL));
        return;
    }
    for (int i = 0; i < 2; i++) {
        double shares[3];
        char *owned[3];
        const char *texts[3];

        if (!sets[i] || !(sets[i]->v[CS_KPI_SENTIMENT_SCORED] > 0))
            continue;
        for (int k = 0; k < 3; k++) {
            shares[k] = sets[i]->v[CS_KPI_SENTIMENT_POSITIVE + k];
            owned[k] = pdf_value(d, CS_UNIT_RATE, shares[k]);
            texts[k] = owned[k];
        }
        cs_canvas_text_fit(d->c, CS_FONT_REGULAR, 8.5, CS_INK, d->left,
                           d->y - 11, CS_ALIGN_LEFT, 90, names[i]);
        cs_chart_stacked(d->c,
                         (struct cs_box){d->left + 95, d->y - 14,
                                         d->right - d->left - 95, 14},
                         shares, inks, texts, 3);
        d->y -= 22;
        for (int k = 0; k < 3; k++)
            free(owned[k]);
    }
    for (int k = 0; k < 3; k++) {
        cs_canvas_rect(d->c, x + 95, d->y - 8, 8, 7, &inks[k], NULL, 0);
        cs_canvas_text(d->c, CS_FONT_REGULAR, 7.5, CS_MUTED, x + 106,
                       d->y - 7.5, CS_ALIGN_LEFT, legend[k]);
        x += 70;
    }
    d->y -= 20;
}

static void page_trends(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    size_t n = t->n_groups;
    double *bars = daily(t->groups, n, CS_KPI_CONVERSATIONS);
    double *cont = daily(t->groups, n, CS_KPI_CONTAINMENT_RATE);
    double *prev = daily(t->prev_groups, t->n_prev_groups,
                         CS_KPI_CONTAINMENT_RATE);
    char **labels = cs_xcalloc(n ? n : 1, sizeof(*labels));
    struct cs_chart_line lines[2] = {
        {cont, n, CS_ACCENT, 1.6, "containment"},
        {prev, t->n_prev_groups, {0.62f, 0.66f, 0.72f}, 0.9, NULL},
    };
    char prev_name[96];
    double half = (d->right - d->left - 24) / 2, top;

    pdf_new_page(d, pdf_words(d, "trends_title", NULL));
    cs_canvas_text(d->c, CS_FONT_BOLD, 9.5, CS_INK, d->left, d->y - 10,
                   CS_ALIGN_LEFT, pdf_words(d, "daily_chart_title", NULL));
    d->y -= 34;
    for (size_t i = 0; i < n; i++)
        labels[i] = cs_xstrdup(t->groups[i].group + 8); /* day of month */
    snprintf(prev_name, sizeof(prev_name), "containment, %s",
             d->prev_period);
    lines[1].name = prev_name;
    cs_canvas_step(d->c, "the daily chart of %s", t->name);
    cs_chart_bars_lines(d->c,
                        (struct cs_box){d->left + 30, d->y - 150,
                                        d->right - d->left - 66, 150},
                        bars, n, CS_ACCENT_LIGHT, "conversations", lines,
                        t->n_prev_groups ? 2 : 1,
                        (const char *const *)labels);
    d->y -= 150 + 40;
    top = d->y;
    call_reasons(d, (struct cs_box){d->left, top - 150, half, 138});
    movers(d, (struct cs_box){d->left + half + 24, top - 150, half, 138});
    d->y = top - 170;
    sentiment(d);
    drivers(d);
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
    free(bars);
    free(cont);
    free(prev);
}

/* The value people read for a metric: its true rate, mean, or top
 * labels. */
static char *metric_value(const struct pdf_doc *d,
                          const struct cs_metric_kpi *m, double *bar)
{
    struct cs_buf b = CS_BUF_INIT;

    *bar = NAN;
    if (m->type == CS_METRIC_BOOLEAN) {
        cs_fmt_value(&b, &d->t->fmt, CS_UNIT_RATE, m->true_rate, -1);
        *bar = m->true_rate;
    } else if (m->type == CS_METRIC_SCORECARD) {
        cs_fmt_value(&b, &d->t->fmt, CS_UNIT_SCORE, m->mean, 1);
        cs_buf_adds(&b, " / 100");
        *bar = m->mean / 100.0;
    } else if (m->type == CS_METRIC_SCORE) {
        cs_fmt_value(&b, &d->t->fmt, CS_UNIT_SCORE, m->mean, -1);
        if (!isnan(m->scale_max))
            cs_buf_addf(&b, " / %g", m->scale_max);
        if (!isnan(m->scale_max) && m->scale_max > m->scale_min)
            *bar = (m->mean - m->scale_min) / (m->scale_max - m->scale_min);
    } else {
        struct cs_metric_count *sorted = cs_xcalloc(m->n_counts + 1,
                                                    sizeof(*sorted));

        memcpy(sorted, m->counts, m->n_counts * sizeof(*sorted));
        qsort(sorted, m->n_counts, sizeof(*sorted), by_count_desc);
        for (size_t i = 0; i < m->n_counts && i < 3; i++) {
            cs_buf_addf(&b, "%s%s ", i ? ", " : "", sorted[i].label);
            cs_fmt_value(&b, &d->t->fmt, CS_UNIT_RATE,
                         cs_metric_kpi_share(m, &sorted[i]), 0);
        }
        if (m->n_counts)
            *bar = cs_metric_kpi_share(m, &sorted[0]);
        free(sorted);
    }
    if (!b.len)
        cs_buf_adds(&b, CS_FMT_DASH);
    return cs_buf_detach(&b, NULL);
}

/*
 * The QA scorecards: per scorecard its mean, the share below its pass
 * mark with the change against the month before, and the distribution
 * of scores in ten-point buckets as small bars (the pass mark a dashed
 * line), so a reader sees whether a mean hides a cluster of failures.
 */
static void scorecards(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    double chart_x = d->left + 250, chart_w = d->right - chart_x;
    double h = 34, bw = chart_w / CS_SCORECARD_BUCKETS;
    size_t n = 0;

    for (size_t i = 0; i < t->cur.n_metrics; i++)
        n += t->cur.metrics[i].type == CS_METRIC_SCORECARD;
    if (n == 0)
        return;
    pdf_section(d, pdf_words(d, "scorecards_title", NULL), 70);
    for (size_t i = 0; i < t->cur.n_metrics; i++) {
        const struct cs_metric_kpi *m = &t->cur.metrics[i];
        struct cs_buf key = CS_BUF_INIT, line = CS_BUF_INIT;
        const struct cs_kpi_row *row;
        char *mean, *below, *ch, pass[16], count[32];
        long max = 0;
        double top;

        if (m->type != CS_METRIC_SCORECARD)
            continue;
        if (d->y - h - 26 < d->bottom)
            pdf_continue_page(d);
        cs_canvas_step(d->c, "the scorecard '%s'", m->key);
        top = d->y;
        cs_buf_addf(&key, "metrics.%s.below_pass_rate", m->key);
        row = cs_report_row(t, key.ptr);
        {
            struct cs_buf mb = CS_BUF_INIT;

            cs_fmt_value(&mb, &t->fmt, CS_UNIT_SCORE, m->mean, 1);
            mean = cs_buf_detach(&mb, NULL);
        }
        below = pdf_value(d, CS_UNIT_RATE, m->below_pass_rate);
        ch = pdf_change(d, CS_UNIT_RATE,
                        row ? row->cmp[CS_CMP_PREVIOUS].change : NAN);
        snprintf(pass, sizeof(pass), "%g", m->pass_mark);
        snprintf(count, sizeof(count), "%ld", m->applicable);
        cs_canvas_text_fit(d->c, CS_FONT_BOLD, 9.5, CS_INK, d->left,
                           top - 10, CS_ALIGN_LEFT, 240, m->name);
        {
            const struct cs_tmpl_var v[] = {{"mean", mean},
                                            {"below", below},
                                            {"pass_mark", pass},
                                            {"count", count},
                                            {"change", ch},
                                            {NULL, NULL}};

            cs_buf_adds(&line, pdf_words(d, "scorecard_line", v));
        }
        cs_canvas_wrap(d->c, CS_FONT_REGULAR, 8.5, CS_INK, d->left, top - 23,
                       240, 11, 2, line.ptr, 1);
        for (int b = 0; b < CS_SCORECARD_BUCKETS; b++)
            max = m->buckets[b] > max ? m->buckets[b] : max;
        for (int b = 0; b < CS_SCORECARD_BUCKETS; b++) {
            double bh = max ? h * (double)m->buckets[b] / (double)max : 0;
            int failing = (b + 1) * 10 <= m->pass_mark;

            cs_canvas_rect(d->c, chart_x + b * bw + 1, top - h - 4, bw - 2,
                           bh > 0 ? fmax(bh, 0.8) : 0.3,
                           failing ? &CS_BAD : &CS_ACCENT, NULL, 0);
            if (b % 5 == 0)
                cs_canvas_text(d->c, CS_FONT_REGULAR, 6.5, CS_MUTED,
                               chart_x + b * bw, top - h - 12,
                               CS_ALIGN_LEFT, b == 0 ? "0" : "50");
        }
        cs_canvas_text(d->c, CS_FONT_REGULAR, 6.5, CS_MUTED, d->right,
                       top - h - 12, CS_ALIGN_RIGHT, "100");
        cs_canvas_line(d->c, chart_x + chart_w * m->pass_mark / 100.0,
                       top - 2, chart_x + chart_w * m->pass_mark / 100.0,
                       top - h - 5, CS_MUTED, 0.6, 1);
        d->y = top - h - 22;
        free(mean);
        free(below);
        free(ch);
        cs_buf_release(&key);
        cs_buf_release(&line);
    }
    d->y -= 6;
}

static void metrics_table(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    static const struct cs_col cols[] = {
        {"Metric", 148, CS_ALIGN_LEFT, 2}, {"Type", 56, CS_ALIGN_LEFT, 1},
        {"n", 42, CS_ALIGN_RIGHT, 1},      {"Value", 108, CS_ALIGN_LEFT, 2},
        {"Change", 58, CS_ALIGN_RIGHT, 1}, {"", 40, CS_ALIGN_LEFT, 1},
        {"Errors", 41, CS_ALIGN_RIGHT, 1},
    };
    struct cs_table tb;
    size_t unverified = 0;

    pdf_section(d, pdf_words(d, "metrics_title", NULL), 60);
    if (t->cur.n_metrics == 0) {
        pdf_note(d, pdf_words(d, "metrics_missing", NULL));
        return;
    }
    cs_table_begin(&tb, d->c, cols, 7, d->left, d->y, d->bottom,
                   pdf_continue_page, d);
    for (size_t i = 0; i < t->cur.n_metrics; i++) {
        const struct cs_metric_kpi *m = &t->cur.metrics[i];
        struct cs_buf key = CS_BUF_INIT, n = CS_BUF_INIT, e = CS_BUF_INIT;
        struct cs_buf name = CS_BUF_INIT;
        const struct cs_kpi_row *row;
        double bar, change = NAN;
        char *value = metric_value(d, m, &bar), *ch;

        cs_buf_addf(&key, "metrics.%s.%s", m->key,
                    m->type == CS_METRIC_BOOLEAN ? "true_rate"
                    : m->type == CS_METRIC_CATEGORICAL ? "applicable"
                                                       : "mean");
        row = cs_report_row(t, key.ptr);
        if (row && m->type != CS_METRIC_CATEGORICAL)
            change = row->cmp[CS_CMP_PREVIOUS].change;
        ch = pdf_change(d, row ? row->unit : CS_UNIT_RATE, change);
        cs_fmt_number(&n, &t->fmt, (double)m->applicable, 0);
        cs_fmt_number(&e, &t->fmt, (double)m->errors, 0);
        if (m->unverified)
            unverified++;
        cs_buf_addf(&name, "%s%s", m->name, m->unverified ? " \xe2\x80\xa0"
                                                          : "");
        {
            struct cs_rgb ink = pdf_tone_ink(m->direction, change);
            const struct cs_cell cells[] = {
                {name.ptr, NULL, NULL, 0, 0, 0},
                {cs_metric_type_name(m->type), &CS_MUTED, NULL, 0, 0, 0},
                {n.ptr, NULL, NULL, 0, 0, 0},
                {value, m->unverified ? &CS_MUTED : NULL, NULL, 0, 0, 0},
                {ch, &ink, NULL, 0, 0, 0},
                {NULL, NULL, NULL, 0, !isnan(bar), bar},
                {e.ptr, m->errors ? &CS_BAD : &CS_MUTED, NULL, m->errors > 0,
                 0, 0},
            };

            cs_table_row(&tb, cells);
        }
        free(value);
        free(ch);
        cs_buf_release(&key);
        cs_buf_release(&n);
        cs_buf_release(&e);
        cs_buf_release(&name);
    }
    d->y = cs_table_end(&tb) - 6;
    if (unverified)
        pdf_note(d, pdf_words(d, "metrics_unverified", NULL));
    d->y -= 8;
    scorecards(d);
}

static void latency_table(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    static const struct cs_col cols[] = {
        {"Hop", 140, CS_ALIGN_LEFT, 1}, {"p50", 58, CS_ALIGN_RIGHT, 1},
        {"p95", 58, CS_ALIGN_RIGHT, 1}, {"p99", 58, CS_ALIGN_RIGHT, 1},
        {"Spans", 55, CS_ALIGN_RIGHT, 1},
        {"p95 limit", 62, CS_ALIGN_RIGHT, 1},
        {"Status", 62, CS_ALIGN_LEFT, 1},
    };
    struct cs_table tb;

    pdf_section(d, pdf_words(d, "latency_title", NULL), 60);
    if (t->cur.n_latency == 0) {
        pdf_note(d, pdf_words(d, "latency_missing", NULL));
        return;
    }
    cs_table_begin(&tb, d->c, cols, 7, d->left, d->y, d->bottom,
                   pdf_continue_page, d);
    for (size_t i = 0; i < t->cur.n_latency; i++) {
        const struct cs_latency_kpi *l = &t->cur.latency[i];
        struct cs_buf key = CS_BUF_INIT, n = CS_BUF_INIT;
        const struct cs_threshold *th;
        char *p50 = pdf_value(d, CS_UNIT_MS, l->p50);
        char *p95 = pdf_value(d, CS_UNIT_MS, l->p95);
        char *p99 = pdf_value(d, CS_UNIT_MS, l->p99);
        char *limit;
        int level;

        cs_buf_addf(&key, "latency_ms.%s.p95", l->hop);
        th = cs_report_threshold(t, key.ptr);
        level = cs_threshold_level(th, l->p95);
        limit = pdf_value(d, CS_UNIT_MS, th ? th->warning : NAN);
        cs_fmt_number(&n, &t->fmt, (double)l->count, 0);
        {
            const struct cs_cell cells[] = {
                {l->hop, NULL, NULL, 0, 0, 0},
                {p50, NULL, NULL, 0, 0, 0},
                {p95, level ? (level == 2 ? &CS_BAD : &CS_WARN) : NULL, NULL,
                 level > 0, 0, 0},
                {p99, NULL, NULL, 0, 0, 0},
                {n.ptr, &CS_MUTED, NULL, 0, 0, 0},
                {limit, &CS_MUTED, NULL, 0, 0, 0},
                {!th        ? CS_FMT_DASH
                 : level == 2 ? "critical"
                 : level == 1 ? "warning"
                              : "ok",
                 !th ? &CS_MUTED
                 : level == 2 ? &CS_BAD
                 : level == 1 ? &CS_WARN
                              : &CS_GOOD,
                 NULL, level > 0, 0, 0},
            };

            cs_table_row(&tb, cells);
        }
        free(p50);
        free(p95);
        free(p99);
        free(limit);
        cs_buf_release(&key);
        cs_buf_release(&n);
    }
    d->y = cs_table_end(&tb) - 14;
}

static void work_and_tools(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    static const enum cs_kpi_id kinds[] = {
        CS_KPI_WORK_APPOINTMENT, CS_KPI_WORK_CRM_UPDATE, CS_KPI_WORK_TICKET,
        CS_KPI_WORK_TOTAL};
    const struct cs_col wcols[] = {
        {"Kind", 200, CS_ALIGN_LEFT, 1},
        {d->col, 95, CS_ALIGN_RIGHT, 1},
        {d->prev_col, 95, CS_ALIGN_RIGHT, 1},
        {"Change", 90, CS_ALIGN_RIGHT, 1},
    };
    static const struct cs_col tcols[] = {
        {"Tool", 200, CS_ALIGN_LEFT, 1}, {"Calls", 95, CS_ALIGN_RIGHT, 1},
        {"Success", 95, CS_ALIGN_RIGHT, 1}, {"Failed", 90, CS_ALIGN_RIGHT, 1},
    };
    const struct cs_threshold *cth =
        cs_report_threshold(t, "connector_success_rate");
    struct cs_table tb;

    pdf_section(d, pdf_words(d, "work_title", NULL), 80);
    cs_table_begin(&tb, d->c, wcols, 4, d->left, d->y, d->bottom,
                   pdf_continue_page, d);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const struct cs_kpi_row *row = row_of(d, kinds[i]);
        char *cur = pdf_value(d, row->unit, row->value);
        char *prev = pdf_value(d, row->unit, row->cmp[CS_CMP_PREVIOUS].value);
        char *ch = pdf_change(d, row->unit, row->cmp[CS_CMP_PREVIOUS].change);
        struct cs_rgb ink = pdf_tone_ink(row->direction,
                                         row->cmp[CS_CMP_PREVIOUS].change);
        int total = kinds[i] == CS_KPI_WORK_TOTAL;
        const struct cs_cell cells[] = {
            {row->label, NULL, NULL, total, 0, 0},
            {cur, NULL, NULL, total, 0, 0},
            {prev, &CS_MUTED, NULL, 0, 0, 0},
            {ch, &ink, NULL, 0, 0, 0},
        };

        cs_table_row(&tb, cells);
        free(cur);
        free(prev);
        free(ch);
    }
    d->y = cs_table_end(&tb) - 14;
    pdf_section(d, pdf_words(d, "tools_title", NULL), 60);
    if (t->n_tools == 0) {
        pdf_note(d, pdf_words(d, "tools_missing", NULL));
        return;
    }
    cs_table_begin(&tb, d->c, tcols, 4, d->left, d->y, d->bottom,
                   pdf_continue_page, d);
    for (size_t i = 0; i < t->n_tools; i++) {
        const struct cs_tool_kpi *k = &t->tools[i];
        double rate = k->calls ? (double)k->ok / (double)k->calls : NAN;
        int level = cs_threshold_level(cth, rate);
        struct cs_buf calls = CS_BUF_INIT, failed = CS_BUF_INIT;
        char *succ = pdf_value(d, CS_UNIT_RATE, rate);
        const struct cs_cell cells[] = {
            {k->name, NULL, NULL, 0, 0, 0},
            {NULL, NULL, NULL, 0, 0, 0},
            {succ, level ? (level == 2 ? &CS_BAD : &CS_WARN) : NULL, NULL,
             level > 0, 0, 0},
            {NULL, k->ok < k->calls ? &CS_BAD : &CS_MUTED, NULL, 0, 0, 0},
        };
        struct cs_cell row[4];

        memcpy(row, cells, sizeof(row));
        cs_fmt_number(&calls, &t->fmt, (double)k->calls, 0);
        cs_fmt_number(&failed, &t->fmt, (double)(k->calls - k->ok), 0);
        row[1].text = calls.ptr;
        row[3].text = failed.ptr;
        cs_table_row(&tb, row);
        free(succ);
        cs_buf_release(&calls);
        cs_buf_release(&failed);
    }
    d->y = cs_table_end(&tb) - 14;
}

static void page_quality(struct pdf_doc *d)
{
    pdf_new_page(d, pdf_words(d, "quality_title", NULL));
    metrics_table(d);
    latency_table(d);
    work_and_tools(d);
}

/* One KPI's alerts over the month: on how many days, how bad at worst. */
struct alert_sum {
    const struct cs_alert *worst;
    const char *worst_day;
    const char *last_day;
    int warning_days;
    int critical_days;
};

static int worse(const struct cs_alert *a, const struct cs_alert *b)
{
    if (a->critical != b->critical)
        return a->critical > b->critical;
    return a->below ? a->value < b->value : a->value > b->value;
}

/*
 * Alerts raised in the month. A month holds dozens of daily alerts; a
 * reader of this report needs which KPIs broke their thresholds, how
 * often and how badly, so each KPI is one row (days at warning and at
 * critical, the worst day and value, the last day); every daily alert is
 * in the client XLSX.
 */
static void alerts_table(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    static const struct cs_col cols[] = {
        {"KPI", 128, CS_ALIGN_LEFT, 1},   {"Days", 112, CS_ALIGN_RIGHT, 1},
        {"Worst", 62, CS_ALIGN_RIGHT, 1}, {"on", 62, CS_ALIGN_LEFT, 1},
        {"Threshold", 62, CS_ALIGN_RIGHT, 1},
        {"Last raised", 67, CS_ALIGN_LEFT, 1},
    };
    struct alert_sum *sums = cs_xcalloc(t->n_thresholds + 1, sizeof(*sums));
    struct cs_table tb;
    int any = 0;

    pdf_section(d, pdf_words(d, "alerts_title", NULL), 50);
    for (size_t g = 0; g < t->n_groups; g++) {
        const struct cs_kpi_set *s = &t->groups[g];

        for (size_t i = 0; i < s->n_alerts; i++) {
            const struct cs_alert *a = &s->alerts[i];
            size_t k = 0;

            while (k < t->n_thresholds &&
                   strcmp(t->thresholds[k].kpi, a->kpi) != 0)
                k++;
            if (k == t->n_thresholds)
                continue;
            if (a->critical)
                sums[k].critical_days++;
            else
                sums[k].warning_days++;
            if (!sums[k].worst || worse(a, sums[k].worst)) {
                sums[k].worst = a;
                sums[k].worst_day = s->group;
            }
            sums[k].last_day = s->group;
            any = 1;
        }
    }
    if (!any) {
        pdf_note(d, pdf_words(d, "alerts_none", NULL));
        free(sums);
        return;
    }
    cs_table_begin(&tb, d->c, cols, 6, d->left, d->y, d->bottom,
                   pdf_continue_page, d);
    for (size_t k = 0; k < t->n_thresholds; k++) {
        const struct alert_sum *sm = &sums[k];
        const struct cs_kpi_row *row;
        struct cs_buf v = CS_BUF_INIT, th = CS_BUF_INIT, days = CS_BUF_INIT;

        if (!sm->worst)
            continue;
        row = cs_report_row(t, sm->worst->kpi);
        cs_fmt_alert(&v, &th, &t->fmt, sm->worst);
        if (sm->critical_days)
            cs_buf_addf(&days, "%d critical", sm->critical_days);
        if (sm->warning_days)
            cs_buf_addf(&days, "%s%d warning", days.len ? ", " : "",
                        sm->warning_days);
        {
            const struct cs_cell cells[] = {
                {row ? row->label : sm->worst->kpi, NULL, NULL, 0, 0, 0},
                {days.ptr, sm->critical_days ? &CS_BAD : &CS_WARN, NULL,
                 sm->critical_days > 0, 0, 0},
                {v.ptr, sm->worst->critical ? &CS_BAD : &CS_WARN, NULL, 1, 0,
                 0},
                {sm->worst_day, &CS_MUTED, NULL, 0, 0, 0},
                {th.ptr, &CS_MUTED, NULL, 0, 0, 0},
                {sm->last_day, &CS_MUTED, NULL, 0, 0, 0},
            };

            cs_table_row(&tb, cells);
        }
        cs_buf_release(&v);
        cs_buf_release(&th);
        cs_buf_release(&days);
    }
    d->y = cs_table_end(&tb) - 14;
    free(sums);
}

/* "handoff, caller negative; connector failure; failed: Booking". */
void pdf_look_reasons(struct cs_buf *b, const struct cs_report_tenant *t,
                      const struct cs_look_item *l)
{
    if (l->reasons & CS_LOOK_NEGATIVE_HANDOFF)
        cs_buf_adds(b, "handed off, caller negative");
    if (l->reasons & CS_LOOK_CONNECTOR_FAILURE)
        cs_buf_addf(b, "%sconnector failure", b->len ? "; " : "");
    if ((l->reasons & CS_LOOK_FAILED_METRIC) && l->failed_metric) {
        const struct cs_metric_kpi *m =
            cs_kpi_set_find_metric(&t->cur, l->failed_metric);

        cs_buf_addf(b, "%sfailed: %s", b->len ? "; " : "",
                    m ? m->name : l->failed_metric);
    }
}

void pdf_look_table(struct pdf_doc *d, const char *title, size_t max,
                    int fit)
{
    const struct cs_report_tenant *t = d->t;
    static const struct cs_col cols[] = {
        {"Conversation", 112, CS_ALIGN_LEFT, 1},
        {"Started", 92, CS_ALIGN_LEFT, 1},
        {"Agent", 84, CS_ALIGN_LEFT, 1},
        {"Why", 205, CS_ALIGN_LEFT, 2},
    };
    struct cs_table tb;
    size_t shown = 0;

    pdf_section(d, title, 50);
    if (t->look_total == 0) {
        pdf_note(d, pdf_words(d, "look_none", NULL));
        return;
    }
    cs_table_begin(&tb, d->c, cols, 4, d->left, d->y, d->bottom,
                   fit ? NULL : pdf_continue_page, d);
    for (size_t i = 0; i < t->n_look && shown < max; i++, shown++) {
        const struct cs_look_item *l = &t->look[i];
        struct cs_buf why = CS_BUF_INIT;

        pdf_look_reasons(&why, t, l);
        {
            const struct cs_cell cells[] = {
                {l->id, NULL, NULL, 0, 0, 0},
                {l->started, &CS_MUTED, NULL, 0, 0, 0},
                {l->agent ? l->agent : CS_FMT_DASH, &CS_MUTED, NULL, 0, 0, 0},
                {why.ptr, NULL, NULL, 0, 0, 0},
            };

            /* On a page that must fit, stop where the room ends (the
             * "and N more" line still fits). */
            if (fit && tb.y - cs_table_row_height(&tb, cells) - tb.row_h - 2
                           < tb.bottom) {
                cs_buf_release(&why);
                break;
            }
            cs_table_row(&tb, cells);
        }
        cs_buf_release(&why);
    }
    if ((long)shown < t->look_total) {
        char count[32];
        const struct cs_tmpl_var v[] = {{"count", count}, {NULL, NULL}};

        snprintf(count, sizeof(count), "%ld", t->look_total - (long)shown);
        cs_table_note(&tb, pdf_words(d, "look_more", v), 0);
    }
    d->y = cs_table_end(&tb) - 14;
}

/* A metric's last agreement with human labels, as the methods page says
 * it: "kappa 0.62, accuracy 81.0 %, n 120 on 2026-10-03 (min 0.70: not
 * yet verified)". */
static void agreement_text(struct cs_buf *b, const struct cs_metric_kpi *m)
{
    const struct cs_calibration_kpi *k = m->calibration;

    if (!k) {
        cs_buf_adds(b, "never measured");
    } else {
        if (isnan(k->kappa))
            cs_buf_adds(b, "kappa " CS_FMT_DASH);
        else
            cs_buf_addf(b, "kappa %.2f", k->kappa);
        if (!isnan(k->accuracy))
            cs_buf_addf(b, ", accuracy %.1f %%", 100 * k->accuracy);
        cs_buf_addf(b, ", n %ld on %s", k->n, k->measured_at);
        if (k->version && m->version && strcmp(k->version, m->version) != 0)
            cs_buf_adds(b, " (an earlier rubric version)");
    }
    if (!isnan(m->min_kappa))
        cs_buf_addf(b, "; min %.2f%s", m->min_kappa,
                    m->unverified ? ": not yet verified" : ": verified");
}

static void methods(struct pdf_doc *d)
{
    const struct cs_report_tenant *t = d->t;
    const struct cs_col dcols[] = {
        {"KPI", 118, CS_ALIGN_LEFT, 2},
        {d->col, 64, CS_ALIGN_RIGHT, 1},
        {d->prev_col, 64, CS_ALIGN_RIGHT, 1},
        {"Change", 62, CS_ALIGN_RIGHT, 1},
        {"Definition", 185, CS_ALIGN_LEFT, 3},
    };
    static const struct cs_col mcols[] = {
        {"Metric", 140, CS_ALIGN_LEFT, 2}, {"Version", 92, CS_ALIGN_LEFT, 1},
        {"Evaluator", 86, CS_ALIGN_LEFT, 1},
        {"Agreement with human labels", 175, CS_ALIGN_LEFT, 3},
    };
    struct cs_buf evals = CS_BUF_INIT;
    char scored[32], conv[32], share[32];
    struct cs_table tb;

    pdf_section(d, pdf_words(d, "methods_title", NULL), 80);
    for (size_t i = 0; i < t->cur.n_metrics; i++) {
        const char *e = t->cur.metrics[i].evaluator;

        if (e && !strstr(evals.ptr, e))
            cs_buf_addf(&evals, "%s%s", evals.len ? ", " : "", e);
    }
    if (!evals.len)
        cs_buf_adds(&evals, "none yet");
    snprintf(scored, sizeof(scored), "%ld", t->scored);
    snprintf(conv, sizeof(conv), "%.0f", t->cur.v[CS_KPI_CONVERSATIONS]);
    {
        char *s = pdf_value(d, CS_UNIT_RATE,
                            t->cur.v[CS_KPI_CONVERSATIONS] > 0
                                ? (double)t->scored /
                                      t->cur.v[CS_KPI_CONVERSATIONS]
                                : NAN);
        const struct cs_tmpl_var v[] = {{"scored", scored},
                                        {"conversations", conv},
                                        {"share", share},
                                        {"evaluators", evals.ptr},
                                        {NULL, NULL}};

        snprintf(share, sizeof(share), "%s", s);
        free(s);
        pdf_note(d, pdf_words(d, "methods_coverage", v));
    }
    pdf_note(d, pdf_words(d, "methods_definitions", NULL));
    /* Every KPI with its value, so that nothing the report computed is
     * left out, beside its definition. */
    cs_table_begin(&tb, d->c, dcols, 5, d->left, d->y, d->bottom,
                   pdf_continue_page, d);
    for (size_t i = 0; i < CS_KPI__COUNT; i++) {
        const struct cs_kpi_def *def = cs_kpi_def_get((enum cs_kpi_id)i);
        const struct cs_kpi_row *row = row_of(d, def->id);
        char *cur = pdf_value(d, def->unit, row->value);
        char *prev = pdf_value(d, def->unit, row->cmp[CS_CMP_PREVIOUS].value);
        char *ch = pdf_change(d, def->unit, row->cmp[CS_CMP_PREVIOUS].change);
        struct cs_rgb ink = pdf_tone_ink(def->direction,
                                         row->cmp[CS_CMP_PREVIOUS].change);
        const struct cs_cell cells[] = {
            {def->label, NULL, NULL, 0, 0, 0},
            {cur, row->value < 0 && def->unit == CS_UNIT_MONEY ? &CS_BAD
                                                                : NULL,
             NULL, 0, 0, 0},
            {prev, &CS_MUTED, NULL, 0, 0, 0},
            {ch, &ink, NULL, 0, 0, 0},
            {def->definition, &CS_MUTED, NULL, 0, 0, 0},
        };

        cs_table_row(&tb, cells);
        free(cur);
        free(prev);
        free(ch);
    }
    d->y = cs_table_end(&tb) - 14;
    if (t->cur.n_metrics) {
        pdf_note(d, pdf_words(d, "methods_agreement", NULL));
        cs_table_begin(&tb, d->c, mcols, 4, d->left, d->y, d->bottom,
                       pdf_continue_page, d);
        for (size_t i = 0; i < t->cur.n_metrics; i++) {
            const struct cs_metric_kpi *m = &t->cur.metrics[i];
            struct cs_buf agree = CS_BUF_INIT;

            agreement_text(&agree, m);
            {
                const struct cs_cell cells[] = {
                    {m->name, NULL, NULL, 0, 0, 0},
                    {m->version ? m->version : CS_FMT_DASH, &CS_MUTED, NULL,
                     0, 0, 0},
                    {m->evaluator ? m->evaluator : CS_FMT_DASH, &CS_MUTED,
                     NULL, 0, 0, 0},
                    {agree.ptr, m->unverified ? &CS_BAD : &CS_MUTED, NULL, 0,
                     0, 0},
                };

                cs_table_row(&tb, cells);
            }
            cs_buf_release(&agree);
        }
        d->y = cs_table_end(&tb) - 14;
    }
    cs_buf_release(&evals);
}

static void page_review(struct pdf_doc *d)
{
    pdf_new_page(d, pdf_words(d, "review_title", NULL));
    alerts_table(d);
    pdf_look_table(d, pdf_words(d, "look_title", NULL), 10, 0);
    methods(d);
}

/* The all-tenants table: a row per tenant, a totals row, losses red. */
static int by_conversations(const void *a, const void *b)
{
    const struct cs_report_tenant *x = *(const struct cs_report_tenant *
                                         const *)a;
    const struct cs_report_tenant *y = *(const struct cs_report_tenant *
                                         const *)b;
    double cx = x->cur.v[CS_KPI_CONVERSATIONS];
    double cy = y->cur.v[CS_KPI_CONVERSATIONS];

    return (cy > cx) - (cy < cx);
}

static double zero_nan(double v)
{
    return isnan(v) ? 0 : v;
}

static void all_tenants_page(struct pdf_doc *d)
{
    static const enum cs_kpi_id ids[] = {
        CS_KPI_CONVERSATIONS, CS_KPI_CONTAINMENT_RATE, CS_KPI_ANSWER_RATE,
        CS_KPI_CSAT_AVG,      CS_KPI_AI_COST,          CS_KPI_NET_SAVINGS,
        CS_KPI_ROI};
    static const double widths[8] = {113, 70, 62, 58, 40, 58, 62, 30};
    static const char *const titles[8] = {
        "Tenant", "Conversations", "Containment", "Answer rate", "CSAT",
        "AI cost", "Net savings", "ROI"};
    struct cs_col cols[8];
    const struct cs_report *r = d->r;
    const struct cs_report_tenant **order =
        cs_xcalloc(r->n_tenants + 1, sizeof(*order));
    double tot[CS_KPI__COUNT] = {0}, answered_in = 0, csat_sum = 0;
    int mixed = 0;
    struct cs_table tb;
    char count[32], conv[32];

    for (size_t i = 0; i < 8; i++) {
        cols[i].title = titles[i];
        cols[i].width = widths[i];
        cols[i].align = i ? CS_ALIGN_RIGHT : CS_ALIGN_LEFT;
        cols[i].max_lines = i ? 1 : 2;
    }
    d->t = NULL;
    pdf_period_text(d, d->period, sizeof(d->period), &r->period);
    pdf_new_page(d, pdf_words(d, "all_title", NULL));
    for (size_t i = 0; i < r->n_tenants; i++) {
        const double *v = r->tenants[i].cur.v;

        order[i] = &r->tenants[i];
        tot[CS_KPI_CONVERSATIONS] += v[CS_KPI_CONVERSATIONS];
        tot[CS_KPI_ANSWERED] += v[CS_KPI_ANSWERED];
        tot[CS_KPI_CONTAINED] += v[CS_KPI_CONTAINED];
        tot[CS_KPI_INBOUND] += v[CS_KPI_INBOUND];
        answered_in += zero_nan(v[CS_KPI_ANSWER_RATE]) * v[CS_KPI_INBOUND];
        csat_sum += zero_nan(v[CS_KPI_CSAT_AVG]) * v[CS_KPI_CSAT_RESPONSES];
        tot[CS_KPI_CSAT_RESPONSES] += v[CS_KPI_CSAT_RESPONSES];
        tot[CS_KPI_AI_COST] += v[CS_KPI_AI_COST];
        tot[CS_KPI_PLATFORM_FEE] += v[CS_KPI_PLATFORM_FEE];
        tot[CS_KPI_NET_SAVINGS] += v[CS_KPI_NET_SAVINGS]; /* NAN sticks */
        if (strcmp(r->tenants[i].fmt.currency, r->tenants[0].fmt.currency))
            mixed = 1;
    }
    qsort(order, r->n_tenants, sizeof(*order), by_conversations);
    snprintf(count, sizeof(count), "%zu", r->n_tenants);
    {
        struct cs_buf b = CS_BUF_INIT;

        cs_fmt_number(&b, r->n_tenants ? &r->tenants[0].fmt : NULL,
                      tot[CS_KPI_CONVERSATIONS], 0);
        snprintf(conv, sizeof(conv), "%s", b.ptr);
        cs_buf_release(&b);
    }
    {
        const struct cs_tmpl_var v[] = {{"tenants", count},
                                        {"conversations", conv},
                                        {"period", d->period},
                                        {NULL, NULL}};

        pdf_note(d, pdf_words(d, "all_intro", v));
    }
    if (mixed)
        pdf_note(d, pdf_words(d, "all_mixed_currencies", NULL));
    tot[CS_KPI_CONTAINMENT_RATE] = tot[CS_KPI_ANSWERED] > 0
        ? tot[CS_KPI_CONTAINED] / tot[CS_KPI_ANSWERED] : NAN;
    tot[CS_KPI_ANSWER_RATE] = tot[CS_KPI_INBOUND] > 0
        ? answered_in / tot[CS_KPI_INBOUND] : NAN;
    tot[CS_KPI_CSAT_AVG] = tot[CS_KPI_CSAT_RESPONSES] > 0
        ? csat_sum / tot[CS_KPI_CSAT_RESPONSES] : NAN;
    tot[CS_KPI_ROI] = tot[CS_KPI_AI_COST] + tot[CS_KPI_PLATFORM_FEE] != 0
        ? tot[CS_KPI_NET_SAVINGS] /
              (tot[CS_KPI_AI_COST] + tot[CS_KPI_PLATFORM_FEE])
        : NAN;
    if (mixed)
        tot[CS_KPI_AI_COST] = tot[CS_KPI_NET_SAVINGS] = tot[CS_KPI_ROI] =
            NAN;
    cs_table_begin(&tb, d->c, cols, 8, d->left, d->y, d->bottom,
                   pdf_continue_page, d);
    for (size_t i = 0; i <= r->n_tenants; i++) {
        const struct cs_report_tenant *t = i < r->n_tenants ? order[i] : NULL;
        const double *v = t ? t->cur.v : tot;
        struct cs_cell cells[8];
        char *texts[8] = {NULL};

        d->t = t ? t : &r->tenants[0];
        memset(cells, 0, sizeof(cells));
        cells[0].text = t ? t->display_name : "Total";
        cells[0].bold = !t;
        for (size_t k = 1; k < 8; k++) {
            const struct cs_kpi_def *def = cs_kpi_def_get(ids[k - 1]);

            texts[k] = pdf_value(d, def->unit, v[def->id]);
            cells[k].text = texts[k];
            cells[k].bold = !t;
            if (def->id == CS_KPI_NET_SAVINGS && v[def->id] < 0)
                cells[k].ink = &CS_BAD;
        }
        if (!t)
            cs_canvas_line(d->c, d->left, tb.y, d->left + cs_table_width(&tb),
                           tb.y, CS_MUTED, 0.6, 0);
        cs_table_row(&tb, cells);
        for (size_t k = 1; k < 8; k++)
            free(texts[k]);
    }
    d->y = cs_table_end(&tb) - 14;
    d->t = NULL;
    free(order);
}

int cs_render_pdf_executive(const struct cs_report *r, const char *path,
                            struct cs_err *err)
{
    struct pdf_doc d;
    struct cs_buf title = CS_BUF_INIT;
    int ret;

    cs_buf_addf(&title, "%s %s \xe2\x80\x94 %s", "Executive report",
                r->style.all_tenants || r->n_tenants != 1
                    ? "All tenants" : r->tenants[0].display_name,
                r->period.from);
    ret = pdf_doc_open(&d, r, title.ptr, err);
    cs_buf_release(&title);
    if (ret)
        return ret;
    if (r->style.all_tenants || r->n_tenants != 1) {
        all_tenants_page(&d);
        for (size_t i = 0; i < r->n_tenants; i++) {
            pdf_doc_tenant(&d, &r->tenants[i]);
            page_answer(&d);
        }
    } else {
        pdf_doc_tenant(&d, &r->tenants[0]);
        page_answer(&d);
        page_trends(&d);
        page_quality(&d);
        page_review(&d);
    }
    ret = pdf_doc_finish(&d, path);
    pdf_doc_close(&d);
    return ret;
}
