/* doc.h - what the PDF reports share: page furniture, words, numbers */
#ifndef CS_REPORT_PDF_DOC_H
#define CS_REPORT_PDF_DOC_H

#include "base/buf.h"
#include "base/err.h"
#include "base/tmpl.h"
#include "report/model.h"
#include "report/pdf/canvas.h"
#include "report/pdf/chart.h"
#include "report/pdf/table.h"

/*
 * One document being drawn. Words come from the report's templates
 * (templates/report.tmpl): the first template error is kept in `ret` and
 * `err`, the text drawn is "" from then on, and the renderer returns the
 * error instead of writing the file (fail closed).
 */
struct pdf_doc {
    struct cs_canvas *c;
    const struct cs_report *r;
    const struct cs_report_tenant *t;  /* the tenant being drawn */
    double left, right, top, bottom;   /* margins as coordinates */
    double y;                          /* where the next block starts */
    char period[64];                   /* "October 2026" or the dates */
    char prev_period[64];
    char col[32];                      /* column titles: "November" */
    char prev_col[32];
    struct cs_buf scratch;
    struct cs_err *err;
    int ret;
    size_t first_page;                 /* of the tenant being drawn */
};

/* Opens the canvas (fonts, page size, properties). */
int pdf_doc_open(struct pdf_doc *d, const struct cs_report *r,
                 const char *title, struct cs_err *err);
/* Draws every page's footer (tenant, period, zone, page n of m), saves,
 * closes. Returns the first error of the whole document. */
int pdf_doc_finish(struct pdf_doc *d, const char *path);
void pdf_doc_close(struct pdf_doc *d);

/* Sets the tenant drawn next (its period texts). */
void pdf_doc_tenant(struct pdf_doc *d, const struct cs_report_tenant *t);

/* A template entry with its placeholders, as a string borrowed until the
 * next call ("" after an error). vars end with {NULL, NULL}. */
const char *pdf_words(struct pdf_doc *d, const char *name,
                      const struct cs_tmpl_var *vars);

/* A new page with its header band; returns the y below it. */
double pdf_new_page(struct pdf_doc *d, const char *title);
/* For tables: continue on a new page with the same title. */
double pdf_continue_page(void *doc);

/* A section title at d->y (moves d->y), starting a new page when fewer
 * than `need` points are left below it. */
void pdf_section(struct pdf_doc *d, const char *title, double need);
/* A muted paragraph at d->y, wrapped (moves d->y). */
void pdf_note(struct pdf_doc *d, const char *text);

/* A KPI value of the tenant as people read it (new string). */
char *pdf_value(const struct pdf_doc *d, enum cs_unit u, double v);
/* "▲ +2.1 pp" (new string), or "—". */
char *pdf_change(const struct pdf_doc *d, enum cs_unit u, double change);
/* The colour of a change for a KPI of direction `dir`. */
struct cs_rgb pdf_tone_ink(enum cs_direction dir, double change);

/* "October 2026" for [from, to) when it is one calendar month, else
 * "2026-10-01 to 2026-10-15". */
void pdf_period_text(struct pdf_doc *d, char *out, size_t n,
                     const struct cs_period *p);

/* Why a conversation is worth a look, in words. */
void pdf_look_reasons(struct cs_buf *b, const struct cs_report_tenant *t,
                      const struct cs_look_item *l);
/* The conversations worth a look as a table, at most `max` rows (and,
 * when `fit`, no more than the page holds), then "and N more". */
/* executive.c: the sentence of a mover, with at most `max_ids` of the
 * conversations behind it (new); "nothing moved" in `out`. */
char *pdf_mover_sentence(struct pdf_doc *d, const struct cs_mover *m,
                         size_t max_ids);
void pdf_movers_none(struct pdf_doc *d, char *out, size_t size);

void pdf_look_table(struct pdf_doc *d, const char *title, size_t max,
                    int fit);

#endif
