/* txt.c - the plain-text rendering of a report, for people at a terminal */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/parse.h"
#include "report/format.h"
#include "report/render.h"

/*
 * Per tenant: a header (name, period, zone, currency, what it is compared
 * with), one table of every KPI with its comparisons in columns, grouped
 * by section; latency as a table of hops; custom metrics (a score metric
 * as its mean and a distribution line); the alerts; and, when the report
 * has a breakdown, one row per day or agent. Columns are padded by
 * characters, not bytes, so "—", "€" and accented names line up.
 */

#define VALUE_W 11
#define LABEL_MIN 26
#define LABEL_MAX 46

struct txt {
    FILE *out;
    const struct cs_report *r;
    const struct cs_report_tenant *t;
    struct cs_buf line;
    struct cs_buf cell;
    size_t label_w;
};

static void flush_line(struct txt *x)
{
    /* No trailing blanks. */
    while (x->line.len && x->line.ptr[x->line.len - 1] == ' ')
        x->line.ptr[--x->line.len] = '\0';
    fputs(x->line.ptr, x->out);
    fputc('\n', x->out);
    cs_buf_reset(&x->line);
}

static void cell(struct txt *x, const char *s, size_t w, int right)
{
    cs_fmt_pad(&x->line, s, w, right);
}

static void value_cell(struct txt *x, enum cs_unit unit, double v)
{
    cs_buf_reset(&x->cell);
    cs_fmt_value(&x->cell, &x->t->fmt, unit, v, -1);
    cs_buf_addch(&x->line, ' ');
    cell(x, x->cell.ptr, VALUE_W, 1);
}

static void change_cell(struct txt *x, enum cs_unit unit, double c)
{
    cs_buf_reset(&x->cell);
    cs_fmt_change(&x->cell, &x->t->fmt, unit, c);
    cs_buf_addch(&x->line, ' ');
    cell(x, x->cell.ptr, VALUE_W, 1);
}

/* The inclusive last day of [from, to) and the number of days. */
static long period_days(const struct cs_period *p, char last[11])
{
    int64_t f = 0, e = 0;

    cs_parse_date(p->from, &f);
    cs_parse_date(p->to, &e);
    cs_format_date(e - 1, last);
    return (long)(e - f);
}

static void period_text(struct cs_buf *b, const struct cs_period *p)
{
    char last[11];
    long days = period_days(p, last);

    if (days == 1)
        cs_buf_adds(b, p->from);
    else
        cs_buf_addf(b, "%s to %s (%ld days)", p->from, last, days);
}

static const char *cmp_title(const struct cs_report *r, int c)
{
    char last[11];

    if (c == CS_CMP_LAST_WEEK)
        return "last week";
    return period_days(&r->period, last) == 1 ? "day before" : "previous";
}

static void header(struct txt *x)
{
    const struct cs_report_tenant *t = x->t;
    const struct cs_report *r = x->r;
    int any = 0;

    cs_buf_addf(&x->line, "%s \xe2\x80\x94 ", t->display_name);
    period_text(&x->line, &r->period);
    cs_buf_addf(&x->line, " (%s, %s)", t->tz, t->fmt.currency);
    flush_line(x);
    for (int c = 0; c < CS_CMP__COUNT; c++) {
        if (!r->has_cmp[c])
            continue;
        cs_buf_adds(&x->line, any ? "; " : "compared with: ");
        cs_buf_addf(&x->line, "%s = ", cmp_title(r, c));
        period_text(&x->line, &r->cmp_period[c]);
        if (t->cmp_absent[c])
            cs_buf_adds(&x->line, " (no conversations)");
        any = 1;
    }
    if (any)
        flush_line(x);
    flush_line(x);
}

static void table_head(struct txt *x, const char *first)
{
    cell(x, first, x->label_w + 2, 0);
    cs_buf_addch(&x->line, ' ');
    cell(x, "value", VALUE_W, 1);
    for (int c = 0; c < CS_CMP__COUNT; c++) {
        if (!x->r->has_cmp[c])
            continue;
        cs_buf_addch(&x->line, ' ');
        cell(x, cmp_title(x->r, c), VALUE_W, 1);
        cs_buf_addch(&x->line, ' ');
        cell(x, "change", VALUE_W, 1);
    }
    flush_line(x);
}

static void row_line(struct txt *x, const struct cs_kpi_row *row)
{
    cs_buf_adds(&x->line, (row->flags & CS_KPI_F_DETAIL) ? "    " : "  ");
    cell(x, row->label, x->label_w - ((row->flags & CS_KPI_F_DETAIL) ? 2 : 0),
         0);
    value_cell(x, row->unit, row->value);
    for (int c = 0; c < CS_CMP__COUNT; c++) {
        if (!x->r->has_cmp[c])
            continue;
        value_cell(x, row->unit, row->cmp[c].value);
        change_cell(x, row->unit, row->cmp[c].change);
    }
    flush_line(x);
}

/* "2: 17 · 3: 8 · 4: 5", or five equal buckets when values are many. */
static void distribution(struct cs_buf *b, const struct cs_metric_kpi *m)
{
    double lo = INFINITY, hi = -INFINITY;
    long buckets[5] = {0};

    if (m->n_counts <= 6) {
        for (size_t i = 0; i < m->n_counts; i++)
            cs_buf_addf(b, "%s%s: %ld", i ? " \xc2\xb7 " : "",
                        m->counts[i].label, m->counts[i].count);
        return;
    }
    for (size_t i = 0; i < m->n_counts; i++) {
        lo = fmin(lo, m->counts[i].num);
        hi = fmax(hi, m->counts[i].num);
    }
    for (size_t i = 0; i < m->n_counts; i++) {
        int k = hi > lo ? (int)((m->counts[i].num - lo) / (hi - lo) * 5) : 0;

        buckets[k > 4 ? 4 : k] += m->counts[i].count;
    }
    for (int k = 0; k < 5; k++) {
        struct cs_buf a = CS_BUF_INIT, z = CS_BUF_INIT;

        cs_fmt_number(&a, NULL, lo + (hi - lo) * k / 5, 0);
        cs_fmt_number(&z, NULL, lo + (hi - lo) * (k + 1) / 5, 0);
        cs_buf_addf(b, "%s%s\xe2\x80\x93%s: %ld", k ? " \xc2\xb7 " : "",
                    a.ptr, z.ptr, buckets[k]);
        cs_buf_release(&a);
        cs_buf_release(&z);
    }
}

static void text_row(struct txt *x, const char *label, const char *text)
{
    cs_buf_adds(&x->line, "    ");
    cell(x, label, x->label_w - 2, 0);
    cs_buf_addch(&x->line, ' ');
    cs_buf_adds(&x->line, text);
    flush_line(x);
}

static void latency_table(struct txt *x)
{
    static const char *const heads[] = {"p50", "p95", "p99", "spans"};
    const struct cs_kpi_set *cur = &x->t->cur;

    flush_line(x);
    cell(x, cs_kpi_section_title(CS_SECTION_LATENCY), x->label_w + 2, 0);
    for (int i = 0; i < 4; i++) {
        cs_buf_addch(&x->line, ' ');
        cell(x, heads[i], VALUE_W, 1);
    }
    if (x->r->has_cmp[CS_CMP_PREVIOUS]) {
        cs_buf_addch(&x->line, ' ');
        cell(x, "p95 before", VALUE_W, 1);
        cs_buf_addch(&x->line, ' ');
        cell(x, "change", VALUE_W, 1);
    }
    flush_line(x);
    if (cur->n_latency == 0) {
        cs_buf_adds(&x->line, "  no spans recorded");
        flush_line(x);
    }
    for (size_t i = 0; i < cur->n_latency; i++) {
        const struct cs_latency_kpi *l = &cur->latency[i];
        struct cs_buf key = CS_BUF_INIT;
        const struct cs_kpi_row *p95;

        cs_buf_adds(&x->line, "  ");
        cell(x, l->hop, x->label_w, 0);
        value_cell(x, CS_UNIT_MS, l->p50);
        value_cell(x, CS_UNIT_MS, l->p95);
        value_cell(x, CS_UNIT_MS, l->p99);
        value_cell(x, CS_UNIT_COUNT, (double)l->count);
        cs_buf_addf(&key, "latency_ms.%s.p95", l->hop);
        p95 = cs_report_row(x->t, key.ptr);
        if (x->r->has_cmp[CS_CMP_PREVIOUS] && p95) {
            value_cell(x, CS_UNIT_MS, p95->cmp[CS_CMP_PREVIOUS].value);
            change_cell(x, CS_UNIT_MS, p95->cmp[CS_CMP_PREVIOUS].change);
        }
        cs_buf_release(&key);
        flush_line(x);
    }
}

/* 1 when `row` is a headline row of a metric not yet verified against
 * human labels. */
static int unverified_row(const struct cs_report_tenant *t,
                          const struct cs_kpi_row *row)
{
    struct cs_buf key = CS_BUF_INIT;
    const struct cs_metric_kpi *m;
    const char *k = row->key + 8, *dot = strchr(k, '.');

    if (row->flags & CS_KPI_F_DETAIL)
        return 0;
    cs_buf_add(&key, k, dot ? (size_t)(dot - k) : strlen(k));
    m = cs_kpi_set_find_metric(&t->cur, key.ptr);
    cs_buf_release(&key);
    return m && m->unverified;
}

static void metrics_table(struct txt *x)
{
    const struct cs_report_tenant *t = x->t;
    int unverified = 0;

    flush_line(x);
    table_head(x, cs_kpi_section_title(CS_SECTION_METRICS));
    if (t->cur.n_metrics == 0) {
        cs_buf_adds(&x->line, "  not scored yet");
        flush_line(x);
        return;
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct cs_kpi_row *row = &t->rows[i];
        const char *k = row->key;

        if (row->section != CS_SECTION_METRICS)
            continue;
        if (strstr(k, ".labels.") != NULL || strstr(k, ".buckets.") != NULL)
            continue; /* the share row says it; counts are in the CSV */
        if (unverified_row(t, row)) {
            /* A metric not yet verified carries a mark. */
            struct cs_kpi_row marked = *row;
            struct cs_buf label = CS_BUF_INIT;

            cs_buf_addf(&label, "%s *", row->label);
            marked.label = label.ptr;
            row_line(x, &marked);
            cs_buf_release(&label);
            unverified = 1;
        } else {
            row_line(x, row);
        }
        if (strcmp(k + strlen(k) - 5, ".mean") == 0) {
            struct cs_buf key = CS_BUF_INIT, d = CS_BUF_INIT, lab = CS_BUF_INIT;
            const struct cs_metric_kpi *m;

            cs_buf_add(&key, k + 8, strlen(k) - 8 - 5);
            m = cs_kpi_set_find_metric(&t->cur, key.ptr);
            if (m && m->type == CS_METRIC_SCORECARD) {
                for (int b = 0; b < CS_SCORECARD_BUCKETS; b++) {
                    char name[16];

                    cs_scorecard_bucket_name(name, sizeof(name), b);
                    cs_buf_addf(&d, "%s%s: %ld", b ? " \xc2\xb7 " : "",
                                name, m->buckets[b]);
                }
                cs_buf_addf(&lab, "%s: distribution", m->name);
                text_row(x, lab.ptr, d.ptr);
            } else if (m && m->n_counts) {
                distribution(&d, m);
                cs_buf_addf(&lab, "%s: distribution", m->name);
                text_row(x, lab.ptr, d.ptr);
            }
            cs_buf_release(&key);
            cs_buf_release(&d);
            cs_buf_release(&lab);
        }
    }
    if (unverified) {
        cs_buf_adds(&x->line, "  * " CS_REPORT_UNVERIFIED);
        flush_line(x);
    }
}

static void alerts(struct txt *x)
{
    const struct cs_kpi_set *s = &x->t->cur;
    struct cs_buf v = CS_BUF_INIT, th = CS_BUF_INIT;

    cs_buf_adds(&x->line, "\nAlerts");
    flush_line(x);
    if (s->n_alerts == 0) {
        cs_buf_adds(&x->line, "  none");
        flush_line(x);
    }
    for (size_t i = 0; i < s->n_alerts; i++) {
        const struct cs_alert *a = &s->alerts[i];
        const struct cs_kpi_row *row = cs_report_row(x->t, a->kpi);

        cs_fmt_alert(&v, &th, &x->t->fmt, a);
        cs_buf_adds(&x->line, "  ");
        cell(x, a->critical ? "CRITICAL" : "warning", 9, 0);
        cs_buf_addf(&x->line, "%s (%s) is %s, %s the %s threshold %s",
                    row ? row->label : a->kpi, a->kpi, v.ptr,
                    a->below ? "below" : "above",
                    a->critical ? "critical" : "warning", th.ptr);
        flush_line(x);
    }
    cs_buf_release(&v);
    cs_buf_release(&th);
}

/* The columns of a breakdown table. */
static const enum cs_kpi_id group_cols[] = {
    CS_KPI_CONVERSATIONS, CS_KPI_ANSWER_RATE, CS_KPI_CONTAINMENT_RATE,
    CS_KPI_AHT_S, CS_KPI_CSAT_AVG, CS_KPI_CONNECTOR_SUCCESS_RATE,
    CS_KPI_AI_COST, CS_KPI_NET_SAVINGS,
};

static void groups(struct txt *x)
{
    const struct cs_report_tenant *t = x->t;
    size_t name_w = 10;

    if (t->by == CS_REPORT_BY_NONE)
        return;
    for (size_t g = 0; g < t->n_groups; g++) {
        size_t w = cs_fmt_width(t->groups[g].group);

        if (w > name_w)
            name_w = w > 30 ? 30 : w;
    }
    flush_line(x);
    cell(x, t->by == CS_REPORT_BY_DAY ? "By day" : "By agent", name_w + 2, 0);
    for (size_t i = 0; i < sizeof(group_cols) / sizeof(*group_cols); i++) {
        cs_buf_addch(&x->line, ' ');
        cell(x, cs_kpi_def_get(group_cols[i])->short_label, VALUE_W + 2, 1);
    }
    flush_line(x);
    for (size_t g = 0; g < t->n_groups; g++) {
        const struct cs_kpi_set *s = &t->groups[g];

        cs_buf_adds(&x->line, "  ");
        cell(x, s->group, name_w, 0);
        for (size_t i = 0; i < sizeof(group_cols) / sizeof(*group_cols);
             i++) {
            const struct cs_kpi_def *d = cs_kpi_def_get(group_cols[i]);

            cs_buf_reset(&x->cell);
            cs_fmt_value(&x->cell, &t->fmt, d->unit, s->v[d->id], -1);
            cs_buf_addch(&x->line, ' ');
            cell(x, x->cell.ptr, VALUE_W + 2, 1);
        }
        flush_line(x);
    }
    if (t->fee_allocated) {
        cs_buf_adds(&x->line, "  The platform fee is shared among agents "
                    "in proportion to their conversations.");
        flush_line(x);
    }
}

static void tenant(struct txt *x)
{
    const struct cs_report_tenant *t = x->t;
    int section = -1;

    x->label_w = LABEL_MIN;
    for (size_t i = 0; i < t->n_rows; i++) {
        size_t w = cs_fmt_width(t->rows[i].label);

        if (t->rows[i].section != CS_SECTION_LATENCY && w > x->label_w)
            x->label_w = w > LABEL_MAX ? LABEL_MAX : w;
    }
    header(x);
    table_head(x, "KPI");
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct cs_kpi_row *row = &t->rows[i];

        if (row->section == CS_SECTION_LATENCY ||
            row->section == CS_SECTION_METRICS)
            continue;
        if ((int)row->section != section) {
            section = (int)row->section;
            cs_buf_adds(&x->line, cs_kpi_section_title(section));
            flush_line(x);
            if (section == CS_SECTION_SENTIMENT &&
                t->cur.v[CS_KPI_SENTIMENT_SCORED] == 0) {
                cs_buf_adds(&x->line, "  not scored yet");
                flush_line(x);
            }
        }
        if (row->section == CS_SECTION_SENTIMENT &&
            t->cur.v[CS_KPI_SENTIMENT_SCORED] == 0)
            continue;
        row_line(x, row);
    }
    latency_table(x);
    metrics_table(x);
    alerts(x);
    groups(x);
    flush_line(x);
}

int cs_render_txt(const struct cs_report *r, FILE *out, struct cs_err *err)
{
    struct txt x = {out, r, NULL, CS_BUF_INIT, CS_BUF_INIT, 0};

    (void)err;
    if (r->n_tenants == 0) {
        cs_buf_adds(&x.line, "no conversations in ");
        period_text(&x.line, &r->period);
        flush_line(&x);
    }
    for (size_t i = 0; i < r->n_tenants; i++) {
        x.t = &r->tenants[i];
        tenant(&x);
    }
    cs_buf_release(&x.line);
    cs_buf_release(&x.cell);
    return 0;
}
