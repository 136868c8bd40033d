/* doc.c - what the PDF reports share: page furniture, words, numbers */
#include "report/pdf/doc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/parse.h"
#include "base/tmpl.h"
#include "report/format.h"

#define MARGIN 51.0 /* 18 mm */

int pdf_doc_open(struct pdf_doc *d, const struct cs_report *r,
                 const char *title, struct cs_err *err)
{
    struct cs_canvas_opts o;
    int ret;

    memset(d, 0, sizeof(*d));
    cs_buf_init(&d->scratch);
    d->r = r;
    d->err = err;
    if (!r->style.tmpl)
        return cs_err_set(err, CS_EINVALID, "no report templates loaded");
    memset(&o, 0, sizeof(o));
    o.font_regular = r->style.font_regular;
    o.font_bold = r->style.font_bold;
    o.letter = r->style.letter;
    o.title = title;
    o.author = "callscope";
    ret = cs_canvas_new(&d->c, &o, err);
    if (ret)
        return ret;
    d->left = MARGIN;
    d->right = cs_canvas_page_width(d->c) - MARGIN;
    d->top = cs_canvas_page_height(d->c) - MARGIN;
    d->bottom = MARGIN + 14; /* the footer sits below */
    return 0;
}

void pdf_doc_close(struct pdf_doc *d)
{
    cs_canvas_free(d->c);
    d->c = NULL;
    cs_buf_release(&d->scratch);
}

static int month_of(const struct cs_period *p, int64_t *y, unsigned *m)
{
    int64_t f, e, y2;
    unsigned d, m2, d2;

    if (cs_parse_date(p->from, &f) || cs_parse_date(p->to, &e))
        return 0;
    cs_civil_from_days(f, y, m, &d);
    cs_civil_from_days(e, &y2, &m2, &d2);
    return d == 1 && d2 == 1 && e - f == (int64_t)cs_days_in_month(*y, *m);
}

void pdf_period_text(struct pdf_doc *d, char *out, size_t n,
                     const struct cs_period *p)
{
    int64_t y, f = 0, e = 0;
    unsigned m;
    char last[11];

    if (month_of(p, &y, &m)) {
        char name[16];
        const char *w;

        snprintf(name, sizeof(name), "month_%u", m);
        w = pdf_words(d, name, NULL);
        snprintf(out, n, "%s %lld", w, (long long)y);
        return;
    }
    cs_parse_date(p->from, &f);
    cs_parse_date(p->to, &e);
    cs_format_date(e - 1, last);
    if (e - f == 1)
        snprintf(out, n, "%s", p->from);
    else
        snprintf(out, n, "%s to %s", p->from, last);
}

/* A short column title: the month's name, else the first day. */
static void column_title(struct pdf_doc *d, char *out, size_t n,
                         const struct cs_period *p)
{
    int64_t y;
    unsigned m;

    if (month_of(p, &y, &m)) {
        char name[16];

        snprintf(name, sizeof(name), "month_%u", m);
        snprintf(out, n, "%s", pdf_words(d, name, NULL));
    } else {
        snprintf(out, n, "%s", p->from);
    }
}

void pdf_doc_tenant(struct pdf_doc *d, const struct cs_report_tenant *t)
{
    d->t = t;
    pdf_period_text(d, d->period, sizeof(d->period), &d->r->period);
    pdf_period_text(d, d->prev_period, sizeof(d->prev_period),
                    &d->r->cmp_period[CS_CMP_PREVIOUS]);
    column_title(d, d->col, sizeof(d->col), &d->r->period);
    column_title(d, d->prev_col, sizeof(d->prev_col),
                 &d->r->cmp_period[CS_CMP_PREVIOUS]);
}

const char *pdf_words(struct pdf_doc *d, const char *name,
                      const struct cs_tmpl_var *vars)
{
    cs_buf_reset(&d->scratch);
    if (d->ret)
        return "";
    d->ret = cs_tmpl_render(&d->scratch, d->r->style.tmpl, name, vars,
                            d->err);
    return d->ret ? "" : d->scratch.ptr;
}

/* The footer of every page: the report never lies by omission. */
static void footers(struct pdf_doc *d)
{
    size_t n = cs_canvas_pages(d->c);

    for (size_t i = 0; i < n; i++) {
        char page[24], pages[24];
        const struct cs_tmpl_var pv[] = {{"page", page}, {"pages", pages},
                                         {NULL, NULL}};
        char *left;

        snprintf(page, sizeof(page), "%zu", i + 1);
        snprintf(pages, sizeof(pages), "%zu", n);
        cs_canvas_use_page(d->c, i);
        cs_canvas_step(d->c, "the footer of page %zu", i + 1);
        cs_canvas_line(d->c, d->left, MARGIN + 4, d->right, MARGIN + 4,
                       CS_RULE, 0.5, 0);
        left = cs_xstrdup(pdf_words(d, "page_of", pv));
        cs_canvas_text(d->c, CS_FONT_REGULAR, 7, CS_MUTED, d->right,
                       MARGIN - 6, CS_ALIGN_RIGHT, left);
        /* The tenant line was stored per page when it was added. */
        free(left);
    }
}

int pdf_doc_finish(struct pdf_doc *d, const char *path)
{
    if (!d->ret)
        footers(d);
    if (d->ret)
        return d->ret;
    return cs_canvas_save(d->c, path, d->err);
}

/* The footer's left part, drawn when the page is added (it names the
 * tenant of that page). */
static void footer_left(struct pdf_doc *d)
{
    const char *tz = d->t ? d->t->tz : (d->r->tz ? d->r->tz : "per tenant");
    const struct cs_tmpl_var v[] = {
        {"tenant", d->t ? d->t->display_name : "All tenants"},
        {"period", d->period},
        {"tz", tz},
        {"generated_at", d->r->style.generated_at},
        {NULL, NULL}};
    const char *text = pdf_words(d, "footer", v);

    cs_canvas_text_fit(d->c, CS_FONT_REGULAR, 7, CS_MUTED, d->left,
                       MARGIN - 6, CS_ALIGN_LEFT,
                       d->right - d->left - 70, text);
}

double pdf_new_page(struct pdf_doc *d, const char *title_in)
{
    /* The title may live in the words buffer the footer reuses. */
    char *title = title_in ? cs_xstrdup(title_in) : NULL;

    cs_canvas_add_page(d->c);
    cs_canvas_step(d->c, "page %zu", cs_canvas_pages(d->c));
    footer_left(d);
    d->y = d->top;
    if (title) {
        cs_canvas_text_fit(d->c, CS_FONT_BOLD, 14, CS_INK, d->left,
                           d->y - 14, CS_ALIGN_LEFT, d->right - d->left - 120,
                           title);
        cs_canvas_text_fit(d->c, CS_FONT_REGULAR, 9, CS_MUTED, d->right,
                           d->y - 13, CS_ALIGN_RIGHT, 150,
                           d->t ? d->t->display_name : d->period);
        d->y -= 24;
        cs_canvas_line(d->c, d->left, d->y, d->right, d->y, CS_RULE, 0.6, 0);
        d->y -= 14;
    }
    free(title);
    return d->y;
}

double pdf_continue_page(void *doc)
{
    struct pdf_doc *d = doc;
    char *title = cs_xstrdup(d->period);
    double y = pdf_new_page(d, title);

    free(title);
    return y;
}

void pdf_section(struct pdf_doc *d, const char *title, double need)
{
    char *t = cs_xstrdup(title);

    if (d->y - need - 20 < d->bottom)
        pdf_continue_page(d);
    cs_canvas_step(d->c, "the section '%s'", t);
    cs_canvas_text_fit(d->c, CS_FONT_BOLD, 11, CS_INK, d->left, d->y - 11,
                       CS_ALIGN_LEFT, d->right - d->left, t);
    d->y -= 19;
    free(t);
}

void pdf_note(struct pdf_doc *d, const char *text)
{
    char *t = cs_xstrdup(text);
    int lines = cs_canvas_wrap(d->c, CS_FONT_REGULAR, 8.5, CS_MUTED, d->left,
                               d->y - 9, d->right - d->left, 11.5, 0, t, 0);

    if (d->y - lines * 11.5 < d->bottom)
        pdf_continue_page(d);
    cs_canvas_wrap(d->c, CS_FONT_REGULAR, 8.5, CS_MUTED, d->left, d->y - 9,
                   d->right - d->left, 11.5, 0, t, 1);
    d->y -= lines * 11.5 + 6;
    free(t);
}

char *pdf_value(const struct pdf_doc *d, enum cs_unit u, double v)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_fmt_value(&b, d->t ? &d->t->fmt : NULL, u, v, -1);
    return cs_buf_detach(&b, NULL);
}

char *pdf_change(const struct pdf_doc *d, enum cs_unit u, double change)
{
    struct cs_buf b = CS_BUF_INIT;
    const char *arrow = cs_fmt_arrow(change);

    if (*arrow)
        cs_buf_addf(&b, "%s ", arrow);
    cs_fmt_change(&b, d->t ? &d->t->fmt : NULL, u, change);
    return cs_buf_detach(&b, NULL);
}

struct cs_rgb pdf_tone_ink(enum cs_direction dir, double change)
{
    switch (cs_report_tone(dir, change)) {
    case CS_TONE_GOOD:
        return CS_GOOD;
    case CS_TONE_BAD:
        return CS_BAD;
    default:
        return CS_NEUTRAL;
    }
}
