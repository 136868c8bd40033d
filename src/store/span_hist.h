/* span_hist.h - exact nearest-rank percentiles of merged span histograms */
#ifndef CS_STORE_SPAN_HIST_H
#define CS_STORE_SPAN_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * The value counts of one KPI group and span name, gathered from the
 * histograms of the rollups (rollup.c: durations ascending, with their
 * counts) and merged in the client, where PostgreSQL would unnest, sort
 * and window them:
 *
 *     struct cs_span_hist h;
 *     cs_span_hist_init(&h);
 *     for each histogram row of the group:
 *         cs_span_hist_add_pg(&h, ms, ms_len, n, n_len, err);
 *     cs_span_hist_percentiles(&h, ps, 3, out, &count);
 *     cs_span_hist_reset(&h);    (the next group)
 *     ...
 *     cs_span_hist_release(&h);
 *
 * A histogram added in ascending order is one run; the runs are merged
 * (a stable bottom-up merge, N log runs), any other order is sorted.
 */
struct cs_span_hist {
    struct cs_span_value *v;    /* the pairs added, then merged */
    size_t len, cap;
    size_t *runs;               /* where each ascending run starts */
    size_t n_runs, runs_cap;
    int sorted;                 /* every run ascending */
};

struct cs_span_value {
    double ms;
    int64_t n;
};

/* Sets up an empty accumulator (no allocation). */
void cs_span_hist_init(struct cs_span_hist *h);

/* Empties it, keeping its memory for the next group. */
void cs_span_hist_reset(struct cs_span_hist *h);

/* Frees its contents. */
void cs_span_hist_release(struct cs_span_hist *h);

/* Adds `len` pairs (durations with their counts) as one run. */
void cs_span_hist_add(struct cs_span_hist *h, const double *ms,
                      const int64_t *n, size_t len);

/*
 * Adds one histogram as PostgreSQL sends a float8[] and an int8[] in
 * binary (array_send): one dimension (or none, empty), no NULLs, the
 * same length. CS_EDB on anything else (nothing added).
 */
int cs_span_hist_add_pg(struct cs_span_hist *h, const char *ms, size_t ms_len,
                        const char *n, size_t n_len, struct cs_err *err);

/*
 * The nearest-rank percentiles `p[0..np)` of the values added, as
 * percentile_disc computes them: the first value, ascending, whose
 * cumulative count reaches ceil(p * N) (in double precision, at least 1),
 * N the total count, set in *count_out. Merges the runs and sums the
 * counts of equal values, dropping those that sum to 0 (h is sorted and
 * one pair a value after; counts may be negative, a histogram taking
 * spans away). out[i] is 0 when N <= 0.
 */
void cs_span_hist_percentiles(struct cs_span_hist *h, const double *p,
                              size_t np, double *out, long *count_out);

#endif
