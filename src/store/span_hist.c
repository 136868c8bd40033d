/* span_hist.c - exact nearest-rank percentiles of merged span histograms */
#include "store/span_hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define FLOAT8OID 701
#define INT8OID 20

void cs_span_hist_init(struct cs_span_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->sorted = 1;
}

void cs_span_hist_reset(struct cs_span_hist *h)
{
    h->len = 0;
    h->n_runs = 0;
    h->sorted = 1;
}

void cs_span_hist_release(struct cs_span_hist *h)
{
    free(h->v);
    free(h->runs);
    cs_span_hist_init(h);
}

/* PostgreSQL's order of float8: NaN after every other value. */
static int before(double a, double b)
{
    return a < b || (isnan(b) && !isnan(a));
}

static void reserve(struct cs_span_hist *h, size_t more)
{
    if (h->len + more > h->cap) {
        h->cap = (h->len + more) * 2;
        h->v = cs_xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    if (h->n_runs + 1 > h->runs_cap) {
        h->runs_cap = h->runs_cap ? h->runs_cap * 2 : 16;
        h->runs = cs_xrealloc(h->runs, h->runs_cap * sizeof(*h->runs));
    }
}

/* Starts a run at the current end; a run that turns out not ascending
 * marks the whole accumulator for a sort. */
static void run_end(struct cs_span_hist *h, size_t start)
{
    for (size_t i = start + 1; i < h->len && h->sorted; i++) {
        if (before(h->v[i].ms, h->v[i - 1].ms))
            h->sorted = 0;
    }
    if (h->len > start)
        h->runs[h->n_runs++] = start;
}

void cs_span_hist_add(struct cs_span_hist *h, const double *ms,
                      const int64_t *n, size_t len)
{
    size_t start = h->len;

    reserve(h, len);
    for (size_t i = 0; i < len; i++) {
        h->v[h->len].ms = ms[i];
        h->v[h->len].n = n[i];
        h->len++;
    }
    run_end(h, start);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/*
 * The element count of a binary one-dimensional array of `oid` without
 * NULLs, each element 8 bytes, and where its first element's length word
 * is; -1 if it is not one.
 */
static long array_len(const unsigned char **first, const unsigned char *a,
                      size_t len, uint32_t oid)
{
    uint32_t ndim, n;

    if (len < 12 || be32(a + 8) != oid)
        return -1;
    ndim = be32(a);
    if (ndim == 0) {
        *first = a + 12;
        return len == 12 ? 0 : -1;
    }
    if (ndim != 1 || len < 20)
        return -1;
    n = be32(a + 12);
    if ((len - 20) / 12 != n || (len - 20) % 12 != 0)
        return -1;
    *first = a + 20;
    return (long)n;
}

int cs_span_hist_add_pg(struct cs_span_hist *h, const char *ms, size_t ms_len,
                        const char *n, size_t n_len, struct cs_err *err)
{
    const unsigned char *pm = NULL, *pn = NULL;
    long len = array_len(&pm, (const unsigned char *)ms, ms_len, FLOAT8OID);
    size_t start = h->len;

    if (len < 0 ||
        array_len(&pn, (const unsigned char *)n, n_len, INT8OID) != len)
        return cs_err_set(err, CS_EDB, "bad span histogram from the "
                          "database");
    reserve(h, (size_t)len);
    for (long i = 0; i < len; i++, pm += 12, pn += 12) {
        uint64_t bits = be64(pm + 4);
        double d;

        if (be32(pm) != 8 || be32(pn) != 8) {
            h->len = start;
            return cs_err_set(err, CS_EDB, "bad span histogram from the "
                              "database");
        }
        memcpy(&d, &bits, sizeof(d));
        h->v[h->len].ms = d;
        h->v[h->len].n = (int64_t)be64(pn + 4);
        h->len++;
    }
    run_end(h, start);
    return 0;
}

static int cmp_value(const void *a, const void *b)
{
    double x = ((const struct cs_span_value *)a)->ms;
    double y = ((const struct cs_span_value *)b)->ms;

    return before(x, y) ? -1 : before(y, x) ? 1 : 0;
}

/* Merges the ascending runs pairwise until one is left. */
static void merge_runs(struct cs_span_hist *h)
{
    struct cs_span_value *tmp, *src, *dst;
    size_t *runs = h->runs, n_runs = h->n_runs;

    if (n_runs <= 1)
        return;
    tmp = cs_xmalloc(h->len * sizeof(*tmp));
    src = h->v;
    dst = tmp;
    while (n_runs > 1) {
        size_t w = 0;

        for (size_t r = 0; r < n_runs; r += 2) {
            size_t lo = runs[r];
            size_t mid = r + 1 < n_runs ? runs[r + 1] : h->len;
            size_t hi = r + 2 < n_runs ? runs[r + 2] : h->len;
            size_t i = lo, j = mid, k = lo;

            while (i < mid && j < hi)
                dst[k++] = before(src[j].ms, src[i].ms) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
            runs[w++] = lo;
        }
        n_runs = w;
        {
            struct cs_span_value *t = src;

            src = dst;
            dst = t;
        }
    }
    if (src != h->v)
        memcpy(h->v, src, h->len * sizeof(*h->v));
    free(tmp);
    h->n_runs = 1;
}

/* Sums the counts of equal values (adjacent once merged), dropping the
 * values whose counts sum to 0: histograms with negative counts (the
 * rollups' deltas, rollup.c) take spans away. */
static void coalesce(struct cs_span_hist *h)
{
    size_t w = 0;

    for (size_t k = 0; k < h->len; k++) {
        if (w > 0 && !before(h->v[w - 1].ms, h->v[k].ms) &&
            !before(h->v[k].ms, h->v[w - 1].ms))
            h->v[w - 1].n += h->v[k].n;
        else if (w > 0 && h->v[w - 1].n == 0)
            h->v[w - 1] = h->v[k];
        else
            h->v[w++] = h->v[k];
    }
    if (w > 0 && h->v[w - 1].n == 0)
        w--;
    h->len = w;
    h->n_runs = w ? 1 : 0;
}

void cs_span_hist_percentiles(struct cs_span_hist *h, const double *p,
                              size_t np, double *out, long *count_out)
{
    int64_t total = 0, cum = 0;
    size_t i = 0;

    if (!h->sorted) {
        qsort(h->v, h->len, sizeof(*h->v), cmp_value);
        h->sorted = 1;
        h->n_runs = h->len ? 1 : 0;
    } else {
        merge_runs(h);
    }
    coalesce(h);
    for (size_t k = 0; k < h->len; k++)
        total += h->v[k].n;
    *count_out = (long)total;
    for (size_t j = 0; j < np; j++)
        out[j] = 0;
    if (total <= 0)
        return;
    /* The ranks ascend with p (0.5, 0.95, 0.99), so one pass finds them;
     * a rank out of order starts again from the first value. */
    for (size_t j = 0; j < np; j++) {
        double rank = ceil(p[j] * (double)total);

        if (rank < 1)
            rank = 1;
        if (j > 0 && p[j] < p[j - 1]) {
            i = 0;
            cum = 0;
        }
        while (i < h->len && (double)(cum + h->v[i].n) < rank)
            cum += h->v[i++].n;
        out[j] = i < h->len ? h->v[i].ms : h->v[h->len - 1].ms;
    }
}
