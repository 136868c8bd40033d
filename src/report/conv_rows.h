/* conv_rows.h - conversation rows a report streams from a row source */
#ifndef CS_REPORT_CONV_ROWS_H
#define CS_REPORT_CONV_ROWS_H

#include <stddef.h>

#include "base/err.h"

/*
 * A report that lists conversations (the client XLSX) does not hold them:
 * its tenant carries a row source, and the renderer asks it for the rows
 * once, in order, writing each as it comes. Whoever fills the report
 * (a pipeline) supplies the source; the renderer never knows where rows
 * come from.
 *
 *     static int write_row(void *ctx, const struct cs_conv_row *row,
 *                          struct cs_err *err) { ... }
 *
 *     ret = src->each(src->ctx, write_row, &writer, err);
 *
 * Strings and cells of a row are borrowed for the call. The source has
 * already removed what must not reach a client: the caller and callee are
 * not part of a row, and the handoff reason comes redacted.
 */

/* One typed value: a metric's result as the client reads it. */
enum cs_cell_kind {
    CS_CELL_EMPTY,      /* no result */
    CS_CELL_BOOL,
    CS_CELL_NUMBER,
    CS_CELL_TEXT        /* a label, "partial", "n/a", "error" */
};

struct cs_cell {
    enum cs_cell_kind kind;
    int b;
    double num;
    const char *text;
};

struct cs_conv_row {
    const char *id;
    double started_local;   /* wall-clock time in the tenant's zone,
                               seconds since 1970-01-01 00:00 */
    const char *agent;      /* or NULL */
    const char *channel;
    const char *direction;
    const char *outcome;
    int handed_off;
    const char *handoff_reason; /* redacted, or NULL */
    double duration_s;      /* answer to end; NAN: unknown */
    long turns;
    double cost;            /* NAN: unknown */
    double csat, nps;       /* NAN: not given */
    const char *sentiment;  /* the caller's sentiment, or NULL */
    const struct cs_cell *metrics; /* one per source metric column */
};

typedef int (*cs_conv_row_fn)(void *ctx, const struct cs_conv_row *row,
                              struct cs_err *err);

struct cs_conv_source {
    /* Calls fn for every row in order; returns fn's first error or its
     * own (the render then fails: a partial list is never written). */
    int (*each)(void *src_ctx, cs_conv_row_fn fn, void *fn_ctx,
                struct cs_err *err);
    void *ctx;
    /* The metric columns, in order (borrowed): keys of the tenant's
     * period metrics (report/model.h cs_kpi_set_find_metric). */
    const char *const *metrics;
    size_t n_metrics;
};

#endif
