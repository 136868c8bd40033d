/* calibrate.c - agreement between gold labels and predicted metric values */
#include "score/calibrate.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define NA "not_applicable"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Index of `s` in the sorted label array. */
static size_t label_index(const struct cs_agreement *a, const char *s)
{
    char *const *hit = bsearch(&s, a->labels, a->n_labels, sizeof(char *),
                               cmp_str);

    return (size_t)(hit - a->labels);
}

void cs_calibrate(struct cs_agreement *out, const struct cs_calib_pair *pairs,
                  size_t n, unsigned flags)
{
    const char **all = cs_xcalloc(2 * n + 1, sizeof(*all));
    size_t *row = NULL, *col = NULL, k = 0, m = 0;
    double pe = 0, po;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        if (!pairs[i].gold && (flags & CS_CALIBRATE_GOLD_APPLICABLE))
            continue;
        all[k++] = pairs[i].gold ? pairs[i].gold : NA;
        all[k++] = pairs[i].pred ? pairs[i].pred : NA;
    }
    qsort(all, k, sizeof(*all), cmp_str);
    out->labels = cs_xcalloc(k + 1, sizeof(*out->labels));
    for (size_t i = 0; i < k; i++) {
        if (i == 0 || strcmp(all[i], all[i - 1]))
            out->labels[m++] = cs_xstrdup(all[i]);
    }
    out->n_labels = m;
    out->confusion = cs_xcalloc(m * m + 1, sizeof(*out->confusion));
    out->disagree_ids = cs_xcalloc(n + 1, sizeof(*out->disagree_ids));
    for (size_t i = 0; i < n; i++) {
        const char *g = pairs[i].gold, *p = pairs[i].pred ? pairs[i].pred
                                                          : NA;

        if (!g && (flags & CS_CALIBRATE_GOLD_APPLICABLE))
            continue;
        if (!g)
            g = NA;
        out->n++;
        out->confusion[label_index(out, g) * m + label_index(out, p)]++;
        if (!strcmp(g, p))
            out->n_agree++;
        else
            out->disagree_ids[out->n_disagree++] =
                cs_xstrdup(pairs[i].id ? pairs[i].id : "");
    }
    free(all);
    if (!out->n)
        return;
    row = cs_xcalloc(m + 1, sizeof(*row));
    col = cs_xcalloc(m + 1, sizeof(*col));
    for (size_t g = 0; g < m; g++) {
        for (size_t p = 0; p < m; p++) {
            row[g] += out->confusion[g * m + p];
            col[p] += out->confusion[g * m + p];
        }
    }
    for (size_t l = 0; l < m; l++)
        pe += ((double)row[l] / (double)out->n) *
              ((double)col[l] / (double)out->n);
    po = (double)out->n_agree / (double)out->n;
    out->accuracy = po;
    out->kappa = pe >= 1.0 ? 1.0 : (po - pe) / (1.0 - pe);
    free(row);
    free(col);
}

void cs_calibrate_release(struct cs_agreement *a)
{
    for (size_t i = 0; i < a->n_labels; i++)
        free(a->labels[i]);
    for (size_t i = 0; i < a->n_disagree; i++)
        free(a->disagree_ids[i]);
    free(a->labels);
    free(a->confusion);
    free(a->disagree_ids);
    memset(a, 0, sizeof(*a));
}

size_t cs_calibrate_cell(const struct cs_agreement *a, size_t g, size_t p)
{
    return a->confusion[g * a->n_labels + p];
}

void cs_calibrate_label(struct cs_buf *out, const json_t *value)
{
    if (!value || json_is_null(value))
        cs_buf_adds(out, NA);
    else if (json_is_true(value))
        cs_buf_adds(out, "true");
    else if (json_is_false(value))
        cs_buf_adds(out, "false");
    else if (json_is_string(value))
        cs_buf_adds(out, json_string_value(value));
    else if (json_is_integer(value))
        cs_buf_addf(out, "%lld", (long long)json_integer_value(value));
    else if (json_is_real(value))
        cs_buf_addf(out, "%g", json_real_value(value));
    else
        cs_buf_adds(out, "invalid");
}

void cs_calibrate_format(struct cs_buf *out, const char *metric,
                         const struct cs_agreement *all,
                         const struct cs_agreement *applicable)
{
    static const char corner[] = "gold \\ pred";
    int w = (int)sizeof(corner) - 1;

    cs_buf_addf(out, "== %s: n=%zu accuracy=%.4f kappa=%.4f", metric,
                all->n, all->accuracy, all->kappa);
    if (applicable)
        cs_buf_addf(out, " | gold-applicable n=%zu accuracy=%.4f "
                    "kappa=%.4f", applicable->n, applicable->accuracy,
                    applicable->kappa);
    cs_buf_addch(out, '\n');
    for (size_t l = 0; l < all->n_labels; l++) {
        if ((int)strlen(all->labels[l]) > w)
            w = (int)strlen(all->labels[l]);
    }
    w++;
    cs_buf_addf(out, "%-*s", w, corner);
    for (size_t p = 0; p < all->n_labels; p++)
        cs_buf_addf(out, "%*s", w, all->labels[p]);
    cs_buf_addch(out, '\n');
    for (size_t g = 0; g < all->n_labels; g++) {
        cs_buf_addf(out, "%-*s", w, all->labels[g]);
        for (size_t p = 0; p < all->n_labels; p++)
            cs_buf_addf(out, "%*zu", w, cs_calibrate_cell(all, g, p));
        cs_buf_addch(out, '\n');
    }
}
