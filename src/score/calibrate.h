/* calibrate.h - agreement between gold labels and predicted metric values */
#ifndef CS_SCORE_CALIBRATE_H
#define CS_SCORE_CALIBRATE_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"

/*
 * Usage:
 *
 *     struct cs_calib_pair pairs[] = {{"c-1", "true", "true"}, ...};
 *     struct cs_agreement all, app;
 *
 *     cs_calibrate(&all, pairs, n, CS_CALIBRATE_ALL);
 *     cs_calibrate(&app, pairs, n, CS_CALIBRATE_GOLD_APPLICABLE);
 *     cs_calibrate_format(&out, "task_completed", &all, &app);
 *     cs_calibrate_release(&all);
 *     cs_calibrate_release(&app);
 *
 * Conventions (those of data/real-dev/baseline_agreement_dev.txt): values
 * are compared as label strings (cs_calibrate_label: true -> "true", a
 * JSON null or a missing value -> "not_applicable"). CS_CALIBRATE_ALL
 * counts every pair, a null gold label counting as "not_applicable";
 * CS_CALIBRATE_GOLD_APPLICABLE counts only the pairs whose gold label is
 * not null (a "not_applicable" prediction for them is a disagreement).
 * Kappa is Cohen's, over the union of gold and predicted labels; it is 1
 * when both sides use one and the same label (chance agreement 1), and 0
 * for no pairs.
 */

/* One conversation: `gold` NULL means no gold label (null); `pred` NULL is
 * read as "not_applicable". Strings are borrowed. */
struct cs_calib_pair {
    const char *id;
    const char *gold;
    const char *pred;
};

enum {
    CS_CALIBRATE_ALL = 0,
    CS_CALIBRATE_GOLD_APPLICABLE = 1
};

/*
 * Agreement statistics. `labels` are sorted (strcmp); `confusion` is
 * n_labels x n_labels, row = gold label index, column = predicted.
 * `disagree_ids` lists the ids of the counted pairs that disagree, in
 * input order. Everything is owned by the struct (cs_calibrate_release).
 */
struct cs_agreement {
    size_t n;
    size_t n_agree;
    double accuracy;        /* 0 when n is 0 */
    double kappa;
    size_t n_labels;
    char **labels;
    size_t *confusion;
    size_t n_disagree;
    char **disagree_ids;
};

/* Computes the agreement of pairs[0..n-1] under `flags` into *out
 * (overwritten). Cannot fail. */
void cs_calibrate(struct cs_agreement *out, const struct cs_calib_pair *pairs,
                  size_t n, unsigned flags);

/* Frees the contents of *a and zeroes it. */
void cs_calibrate_release(struct cs_agreement *a);

/* The confusion count for (gold label g, predicted label p), by index. */
size_t cs_calibrate_cell(const struct cs_agreement *a, size_t g, size_t p);

/* Appends the label string of a metric value to `out`: "true"/"false",
 * the string itself, a number as %g, null (or NULL) "not_applicable". */
void cs_calibrate_label(struct cs_buf *out, const json_t *value);

/*
 * Appends a report in the baseline's layout: "== metric: n=.. accuracy=..
 * kappa=.. | gold-applicable n=.. accuracy=.. kappa=.." and the confusion
 * matrix of `all`.
 */
void cs_calibrate_format(struct cs_buf *out, const char *metric,
                         const struct cs_agreement *all,
                         const struct cs_agreement *applicable);

#endif
