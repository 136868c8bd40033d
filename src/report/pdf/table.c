/* table.c - tables that continue on the next page with their header */
#include "report/pdf/table.h"

#include <math.h>

#define PAD 3.0

double cs_table_width(const struct cs_table *t)
{
    double w = 0;

    for (size_t i = 0; i < t->n_cols; i++)
        w += t->cols[i].width;
    return w;
}

static void header(struct cs_table *t)
{
    double x = t->x;
    double h = t->row_h + 1;

    cs_canvas_line(t->c, t->x, t->y, t->x + cs_table_width(t), t->y,
                   CS_MUTED, 0.6, 0);
    for (size_t i = 0; i < t->n_cols; i++) {
        const struct cs_col *col = &t->cols[i];
        double tx = col->align == CS_ALIGN_RIGHT    ? x + col->width - PAD
                    : col->align == CS_ALIGN_CENTER ? x + col->width / 2
                                                    : x + PAD;

        cs_canvas_text_fit(t->c, CS_FONT_BOLD, t->size - 0.5, CS_MUTED, tx,
                           t->y - h + 4, col->align, col->width - 2 * PAD,
                           col->title ? col->title : "");
        x += col->width;
    }
    t->y -= h;
    cs_canvas_line(t->c, t->x, t->y, t->x + cs_table_width(t), t->y,
                   CS_RULE, 0.5, 0);
}

void cs_table_begin(struct cs_table *t, struct cs_canvas *c,
                    const struct cs_col *cols, size_t n_cols, double x,
                    double y, double bottom, cs_table_page_fn new_page,
                    void *ctx)
{
    t->c = c;
    t->cols = cols;
    t->n_cols = n_cols;
    t->x = x;
    t->y = y;
    t->bottom = bottom;
    t->size = 8.5;
    t->row_h = 13;
    t->new_page = new_page;
    t->ctx = ctx;
    t->zebra = 1;
    t->rows = 0;
    header(t);
}

static int lines_of(struct cs_table *t, size_t i, const struct cs_cell *cell)
{
    const struct cs_col *col = &t->cols[i];
    int n;

    if (col->max_lines <= 1 || !cell->text)
        return 1;
    n = cs_canvas_wrap(t->c, cell->bold ? CS_FONT_BOLD : CS_FONT_REGULAR,
                       t->size, CS_INK, 0, 0, col->width - 2 * PAD,
                       t->size + 2, col->max_lines, cell->text, 0);
    return n < 1 ? 1 : n;
}

double cs_table_row_height(struct cs_table *t, const struct cs_cell *cells)
{
    int lines = 1;

    for (size_t i = 0; i < t->n_cols; i++) {
        int n = lines_of(t, i, &cells[i]);

        if (n > lines)
            lines = n;
    }
    return t->row_h + (lines - 1) * (t->size + 2);
}

/* A new page when `h` more points do not fit. */
static void room_for(struct cs_table *t, double h)
{
    if (t->y - h >= t->bottom || !t->new_page)
        return;
    t->y = t->new_page(t->ctx);
    header(t);
}

void cs_table_row(struct cs_table *t, const struct cs_cell *cells)
{
    double h = cs_table_row_height(t, cells), x = t->x;

    room_for(t, h);
    if (t->zebra && t->rows % 2 == 1)
        cs_canvas_rect(t->c, t->x, t->y - h, cs_table_width(t), h, &CS_FILL,
                       NULL, 0);
    for (size_t i = 0; i < t->n_cols; i++) {
        const struct cs_col *col = &t->cols[i];
        const struct cs_cell *cell = &cells[i];
        enum cs_font f = cell->bold ? CS_FONT_BOLD : CS_FONT_REGULAR;
        struct cs_rgb ink = cell->ink ? *cell->ink : CS_INK;
        double base = t->y - t->row_h + 4;
        double tx = col->align == CS_ALIGN_RIGHT    ? x + col->width - PAD
                    : col->align == CS_ALIGN_CENTER ? x + col->width / 2
                                                    : x + PAD;

        if (cell->fill)
            cs_canvas_rect(t->c, x + 0.5, t->y - h + 0.5, col->width - 1,
                           h - 1, cell->fill, NULL, 0);
        if (cell->has_bar) {
            double bw = (col->width - 2 * PAD) *
                        fmax(0, fmin(1, isnan(cell->bar) ? 0 : cell->bar));

            cs_canvas_rect(t->c, x + PAD, t->y - t->row_h + 3.5,
                           col->width - 2 * PAD, 5.5, &CS_FILL, NULL, 0);
            cs_canvas_rect(t->c, x + PAD, t->y - t->row_h + 3.5, bw, 5.5,
                           cell->ink ? cell->ink : &CS_ACCENT, NULL, 0);
        }
        if (cell->text && col->max_lines > 1)
            cs_canvas_wrap(t->c, f, t->size, ink, x + PAD, base,
                           col->width - 2 * PAD, t->size + 2, col->max_lines,
                           cell->text, 1);
        else if (cell->text)
            cs_canvas_text_fit(t->c, f, t->size, ink, tx, base, col->align,
                               col->width - 2 * PAD, cell->text);
        x += col->width;
    }
    t->y -= h;
    t->rows++;
}

void cs_table_note(struct cs_table *t, const char *text, int bold)
{
    double h = t->row_h + 2;

    room_for(t, h);
    cs_canvas_text_fit(t->c, bold ? CS_FONT_BOLD : CS_FONT_REGULAR, t->size,
                       bold ? CS_INK : CS_MUTED, t->x + PAD,
                       t->y - t->row_h + 2, CS_ALIGN_LEFT,
                       cs_table_width(t) - 2 * PAD, text);
    t->y -= h;
    t->rows = 0;
}

double cs_table_end(struct cs_table *t)
{
    cs_canvas_line(t->c, t->x, t->y, t->x + cs_table_width(t), t->y,
                   CS_RULE, 0.5, 0);
    return t->y;
}
