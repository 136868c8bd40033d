/* chart.h - the few charts reports draw: sparkline, bars with lines,
 * horizontal bars, a 100 % stacked bar */
#ifndef CS_REPORT_PDF_CHART_H
#define CS_REPORT_PDF_CHART_H

#include <stddef.h>

#include "report/pdf/canvas.h"

/* A rectangle in points (x, y: bottom left). */
struct cs_box {
    double x, y, w, h;
};

/* A line of values on the chart's x positions; NAN values leave gaps. */
struct cs_chart_line {
    const double *v;
    size_t n;
    struct cs_rgb ink;
    double width;
    const char *name;       /* for the legend, or NULL */
};

/* A sparkline of `n` values scaled to their own range (a flat line when
 * they are all equal), the last value marked with a dot. */
void cs_chart_sparkline(struct cs_canvas *c, struct cs_box b, const double *v,
                        size_t n, struct cs_rgb ink);

/*
 * Daily bars of counts (axis from zero, gridlines with round steps, left)
 * and lines of rates on a second axis 0-100 % (right); `xlabels` names the
 * bars (every k-th shown so they never collide).
 */
void cs_chart_bars_lines(struct cs_canvas *c, struct cs_box b,
                         const double *bars, size_t n, struct cs_rgb bar_ink,
                         const char *bars_name,
                         const struct cs_chart_line *lines, size_t n_lines,
                         const char *const *xlabels);

/* Horizontal bars: a label left, the bar scaled to the largest value, its
 * value text right of it. */
void cs_chart_hbars(struct cs_canvas *c, struct cs_box b,
                    const char *const *labels, const double *values,
                    const char *const *texts, size_t n, struct cs_rgb ink);

/* One bar of shares (summing to about 1) in `inks`, each part labelled
 * inside when it is wide enough. */
void cs_chart_stacked(struct cs_canvas *c, struct cs_box b,
                      const double *shares, const struct cs_rgb *inks,
                      const char *const *texts, size_t n);

/* A round axis step of about max/steps (1, 2 or 5 times a power of 10). */
double cs_chart_step(double max, int steps);

#endif
