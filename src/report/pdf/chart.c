/* chart.c - the few charts reports draw, with the canvas's path operators */
#include "report/pdf/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/mem.h"

double cs_chart_step(double max, int steps)
{
    double raw, mag, f;

    if (!(max > 0))
        return 1;
    raw = max / steps;
    mag = pow(10, floor(log10(raw)));
    f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

void cs_chart_sparkline(struct cs_canvas *c, struct cs_box b, const double *v,
                        size_t n, struct cs_rgb ink)
{
    double lo = INFINITY, hi = -INFINITY;
    double *xs, *ys;
    size_t last = n;

    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
        last = i;
    }
    if (last == n)
        return; /* nothing to draw */
    xs = cs_xcalloc(n, sizeof(*xs));
    ys = cs_xcalloc(n, sizeof(*ys));
    for (size_t i = 0; i < n; i++) {
        xs[i] = b.x + (n > 1 ? b.w * (double)i / (double)(n - 1) : b.w / 2);
        ys[i] = isnan(v[i]) ? NAN
                : hi > lo   ? b.y + b.h * (v[i] - lo) / (hi - lo)
                            : b.y + b.h / 2;
    }
    cs_canvas_polyline(c, xs, ys, n, ink, 1.1);
    cs_canvas_circle(c, xs[last], ys[last], 1.8, ink);
    free(xs);
    free(ys);
}

/* Axis text for counts: 1,200 as "1.2k" only when it saves room. */
static void count_label(char *out, size_t n, double v)
{
    if (v >= 10000)
        snprintf(out, n, "%gk", v / 1000);
    else
        snprintf(out, n, "%.0f", v);
}

void cs_chart_bars_lines(struct cs_canvas *c, struct cs_box b,
                         const double *bars, size_t n, struct cs_rgb bar_ink,
                         const char *bars_name,
                         const struct cs_chart_line *lines, size_t n_lines,
                         const char *const *xlabels)
{
    double max = 0, step, top, slot, bw, legend_x;
    double *xs;
    size_t every;
    char t[32];

    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        max = isnan(bars[i]) ? max : fmax(max, bars[i]);
    step = cs_chart_step(max, 4);
    top = step * ceil(max / step);
    if (top <= 0)
        top = step;
    /* Gridlines and the left axis (counts from zero). */
    for (double g = 0; g <= top + step / 2; g += step) {
        double y = b.y + b.h * g / top;

        cs_canvas_line(c, b.x, y, b.x + b.w, y, CS_RULE, 0.4, g > 0);
        count_label(t, sizeof(t), g);
        cs_canvas_text(c, CS_FONT_REGULAR, 7, CS_MUTED, b.x - 4, y - 2.5,
                       CS_ALIGN_RIGHT, t);
    }
    /* The right axis: 0-100 %. */
    if (n_lines) {
        for (int p = 0; p <= 100; p += 25) {
            snprintf(t, sizeof(t), "%d %%", p);
            cs_canvas_text(c, CS_FONT_REGULAR, 7, CS_MUTED, b.x + b.w + 4,
                           b.y + b.h * p / 100.0 - 2.5, CS_ALIGN_LEFT, t);
        }
    }
    slot = b.w / (double)n;
    bw = fmax(1, slot * 0.7);
    xs = cs_xcalloc(n, sizeof(*xs));
    every = (size_t)ceil(22.0 / slot);
    if (every < 1)
        every = 1;
    for (size_t i = 0; i < n; i++) {
        double h = isnan(bars[i]) ? 0 : b.h * bars[i] / top;

        xs[i] = b.x + slot * ((double)i + 0.5);
        cs_canvas_rect(c, xs[i] - bw / 2, b.y, bw, h, &bar_ink, NULL, 0);
        if (xlabels && (i % every == 0))
            cs_canvas_text(c, CS_FONT_REGULAR, 6.5, CS_MUTED, xs[i],
                           b.y - 9, CS_ALIGN_CENTER, xlabels[i]);
    }
    for (size_t l = 0; l < n_lines; l++) {
        double *ys = cs_xcalloc(lines[l].n, sizeof(*ys));
        size_t m = lines[l].n < n ? lines[l].n : n;

        for (size_t i = 0; i < m; i++)
            ys[i] = isnan(lines[l].v[i]) ? NAN
                                         : b.y + b.h * lines[l].v[i];
        cs_canvas_polyline(c, xs, ys, m, lines[l].ink, lines[l].width);
        free(ys);
    }
    /* Legend, top left above the plot. */
    legend_x = b.x;
    if (bars_name) {
        cs_canvas_rect(c, legend_x, b.y + b.h + 6, 8, 6, &bar_ink, NULL, 0);
        cs_canvas_text(c, CS_FONT_REGULAR, 7, CS_MUTED, legend_x + 11,
                       b.y + b.h + 6.5, CS_ALIGN_LEFT, bars_name);
        legend_x += 18 + cs_canvas_text_width(c, CS_FONT_REGULAR, 7,
                                              bars_name);
    }
    for (size_t l = 0; l < n_lines; l++) {
        if (!lines[l].name)
            continue;
        cs_canvas_line(c, legend_x, b.y + b.h + 9, legend_x + 10,
                       b.y + b.h + 9, lines[l].ink, lines[l].width, 0);
        cs_canvas_text(c, CS_FONT_REGULAR, 7, CS_MUTED, legend_x + 13,
                       b.y + b.h + 6.5, CS_ALIGN_LEFT, lines[l].name);
        legend_x += 21 + cs_canvas_text_width(c, CS_FONT_REGULAR, 7,
                                              lines[l].name);
    }
    cs_canvas_line(c, b.x, b.y, b.x + b.w, b.y, CS_MUTED, 0.6, 0);
    free(xs);
}

void cs_chart_hbars(struct cs_canvas *c, struct cs_box b,
                    const char *const *labels, const double *values,
                    const char *const *texts, size_t n, struct cs_rgb ink)
{
    double max = 0, row, label_w = b.w * 0.36, text_w = 62, bar_w;

    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        max = fmax(max, values[i]);
    row = b.h / (double)n;
    bar_w = b.w - label_w - text_w - 8;
    for (size_t i = 0; i < n; i++) {
        double y = b.y + b.h - row * ((double)i + 1);
        double w = max > 0 ? bar_w * values[i] / max : 0;
        double bh = fmin(row * 0.62, 11);

        cs_canvas_text_fit(c, CS_FONT_REGULAR, 8, CS_INK, b.x,
                           y + row / 2 - 3, CS_ALIGN_LEFT, label_w - 6,
                           labels[i]);
        cs_canvas_rect(c, b.x + label_w, y + (row - bh) / 2, fmax(w, 0.5),
                       bh, &ink, NULL, 0);
        cs_canvas_text(c, CS_FONT_REGULAR, 7.5, CS_MUTED,
                       b.x + label_w + w + 4, y + row / 2 - 3, CS_ALIGN_LEFT,
                       texts[i]);
    }
}

void cs_chart_stacked(struct cs_canvas *c, struct cs_box b,
                      const double *shares, const struct cs_rgb *inks,
                      const char *const *texts, size_t n)
{
    double x = b.x;

    cs_canvas_rect(c, b.x, b.y, b.w, b.h, &CS_FILL, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        double w = isnan(shares[i]) ? 0 : b.w * shares[i];

        if (w <= 0)
            continue;
        cs_canvas_rect(c, x, b.y, w, b.h, &inks[i], NULL, 0);
        if (texts && texts[i] &&
            cs_canvas_text_width(c, CS_FONT_BOLD, 7.5, texts[i]) + 4 < w)
            cs_canvas_text(c, CS_FONT_BOLD, 7.5, CS_WHITE, x + w / 2,
                           b.y + b.h / 2 - 2.7, CS_ALIGN_CENTER, texts[i]);
        x += w;
    }
}
