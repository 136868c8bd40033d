/* canvas.h - PDF pages to draw on: text measured with the font, shapes */
#ifndef CS_REPORT_PDF_CANVAS_H
#define CS_REPORT_PDF_CANVAS_H

#include <stddef.h>

#include "base/err.h"

/*
 * The only code that speaks libharu. A canvas is one PDF document with
 * embedded TrueType fonts (DejaVu Sans and Sans Bold unless configured),
 * UTF-8 text, and pages drawn with coordinates in points from the bottom
 * left. libharu has no layout engine: this file measures text with the
 * font to wrap it (on spaces, and inside a word too long for the line)
 * and to cut it with "…" so nothing overflows its box.
 *
 * Errors: libharu reports through the error handler installed here; the
 * first error is kept with the step that was being drawn
 * (cs_canvas_step) and every later call does nothing, so drawing code
 * needs no checks: cs_canvas_save returns the error, naming the step.
 *
 *     struct cs_canvas *c = NULL;
 *     if (cs_canvas_new(&c, &opts, &err) < 0) ...
 *     cs_canvas_add_page(c);
 *     cs_canvas_step(c, "page 1 header");
 *     cs_canvas_text(c, CS_FONT_BOLD, 20, CS_INK, x, y, CS_ALIGN_LEFT, s);
 *     ret = cs_canvas_save(c, path, &err);
 *     cs_canvas_free(c);
 */

struct cs_canvas;

struct cs_rgb {
    float r, g, b;
};

/* The palette of docs/report-design.md: ink, muted, rules, good (green),
 * bad (red), neutral (grey), accent (blue), and light fills. The config's
 * report.colors may change it before a document is drawn (one document
 * is drawn at a time). */
extern struct cs_rgb CS_INK, CS_MUTED, CS_RULE, CS_GOOD, CS_BAD, CS_NEUTRAL,
    CS_ACCENT, CS_ACCENT_LIGHT, CS_FILL, CS_WHITE, CS_WARN;

/* Sets the colour `name` (ink, muted, good, bad, warning, accent,
 * accent_light) from "#rrggbb"; CS_EINVALID for an unknown name or a bad
 * value. */
int cs_canvas_set_color(const char *name, const char *hex,
                        struct cs_err *err);

enum cs_font { CS_FONT_REGULAR, CS_FONT_BOLD };
enum cs_align { CS_ALIGN_LEFT, CS_ALIGN_RIGHT, CS_ALIGN_CENTER };

struct cs_canvas_opts {
    const char *font_regular;   /* a TrueType file, or NULL: DejaVu Sans */
    const char *font_bold;      /* or NULL: DejaVu Sans Bold */
    int letter;                 /* US Letter, else A4 */
    const char *title;          /* document properties (UTF-8) */
    const char *subject;
    const char *author;
};

/* A new document; CS_EINVALID naming the font when one is missing or is
 * no TrueType font. *out is new (cs_canvas_free). */
int cs_canvas_new(struct cs_canvas **out, const struct cs_canvas_opts *o,
                  struct cs_err *err);
void cs_canvas_free(struct cs_canvas *c);
/* Writes the document, or returns the first error met while drawing
 * (CS_ERROR naming the step and libharu's code) without writing. */
int cs_canvas_save(struct cs_canvas *c, const char *path, struct cs_err *err);

/* Names what is drawn next, for error messages. */
void cs_canvas_step(struct cs_canvas *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 1 once an error happened. */
int cs_canvas_failed(const struct cs_canvas *c);

/* Adds a page and draws on it from now on. */
void cs_canvas_add_page(struct cs_canvas *c);
size_t cs_canvas_pages(const struct cs_canvas *c);
/* Draws on page i (0-based) from now on (footers after the last page). */
void cs_canvas_use_page(struct cs_canvas *c, size_t i);
double cs_canvas_page_width(const struct cs_canvas *c);
double cs_canvas_page_height(const struct cs_canvas *c);

/* Width of `s` in points. */
double cs_canvas_text_width(struct cs_canvas *c, enum cs_font f, double size,
                            const char *s);
/* One line at baseline y; x is the left edge, right edge or centre. */
void cs_canvas_text(struct cs_canvas *c, enum cs_font f, double size,
                    struct cs_rgb ink, double x, double y, enum cs_align a,
                    const char *s);
/* Like cs_canvas_text, cut with "…" to fit `max_w`. */
void cs_canvas_text_fit(struct cs_canvas *c, enum cs_font f, double size,
                        struct cs_rgb ink, double x, double y,
                        enum cs_align a, double max_w, const char *s);
/* `s` cut with "…" to fit `max_w` (new string). */
char *cs_canvas_fit(struct cs_canvas *c, enum cs_font f, double size,
                    const char *s, double max_w);

/*
 * Wraps `s` into lines of at most `w` points from baseline y down, each
 * `leading` apart, at most `max_lines` (0: no limit; the last line shown
 * ends with "…" when text is left). "**" toggles bold. "\n" breaks.
 * Draws only when `draw`; returns the number of lines it takes.
 */
int cs_canvas_wrap(struct cs_canvas *c, enum cs_font f, double size,
                   struct cs_rgb ink, double x, double y, double w,
                   double leading, int max_lines, const char *s, int draw);

void cs_canvas_rect(struct cs_canvas *c, double x, double y, double w,
                    double h, const struct cs_rgb *fill,
                    const struct cs_rgb *stroke, double line_w);
void cs_canvas_line(struct cs_canvas *c, double x1, double y1, double x2,
                    double y2, struct cs_rgb ink, double line_w, int dashed);
/* A polyline through n points (NAN y values break it). */
void cs_canvas_polyline(struct cs_canvas *c, const double *xs,
                        const double *ys, size_t n, struct cs_rgb ink,
                        double line_w);
void cs_canvas_circle(struct cs_canvas *c, double x, double y, double r,
                      struct cs_rgb fill);
/* An image (PNG or JPEG by its file's signature) fitted into the box,
 * keeping its proportions, right-aligned. CS_EINVALID naming the file
 * when it is missing or not an image. */
int cs_canvas_image(struct cs_canvas *c, const char *path, double x,
                    double y, double w, double h, struct cs_err *err);

#endif
