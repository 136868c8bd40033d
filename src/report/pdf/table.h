/* table.h - tables that continue on the next page with their header */
#ifndef CS_REPORT_PDF_TABLE_H
#define CS_REPORT_PDF_TABLE_H

#include <stddef.h>

#include "report/pdf/canvas.h"

/*
 * A table is drawn row by row from a top y down to a bottom margin. When
 * a row does not fit, `new_page(ctx)` is called (it adds a page, draws
 * its furniture and returns the y to continue from) and the header is
 * drawn again. Cells are cut with "…" to their column, or wrapped onto
 * at most `max_lines` lines when the column says so.
 *
 *     struct cs_table t;
 *     cs_table_begin(&t, c, cols, n_cols, x, y, bottom, new_page, ctx);
 *     cs_table_row(&t, cells);   // one struct cs_cell per column
 *     y = cs_table_end(&t);
 */

struct cs_col {
    const char *title;
    double width;
    enum cs_align align;
    int max_lines;          /* > 1: wrap into that many lines */
};

struct cs_cell {
    const char *text;       /* NULL: empty */
    const struct cs_rgb *ink; /* NULL: ink */
    const struct cs_rgb *fill; /* NULL: none */
    int bold;
    int has_bar;            /* a small bar of `bar` (0-1) in the cell */
    double bar;
};

typedef double (*cs_table_page_fn)(void *ctx);

struct cs_table {
    struct cs_canvas *c;
    const struct cs_col *cols;
    size_t n_cols;
    double x, y, bottom;
    double size;            /* text size (8.5) */
    double row_h;           /* one line row height */
    cs_table_page_fn new_page;
    void *ctx;
    int zebra;
    size_t rows;
};

void cs_table_begin(struct cs_table *t, struct cs_canvas *c,
                    const struct cs_col *cols, size_t n_cols, double x,
                    double y, double bottom, cs_table_page_fn new_page,
                    void *ctx);
/* Height a row of these cells takes. */
double cs_table_row_height(struct cs_table *t, const struct cs_cell *cells);
void cs_table_row(struct cs_table *t, const struct cs_cell *cells);
/* A full-width line (a section title or a note) in the table's flow. */
void cs_table_note(struct cs_table *t, const char *text, int bold);
/* The y below the last row. */
double cs_table_end(struct cs_table *t);
/* The width of all columns. */
double cs_table_width(const struct cs_table *t);

#endif
