/* scorecard.c - the 0-100 score of a QA scorecard from metric results */
#include "score/scorecard.h"

#include <math.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

/* 1 when `v` meets the item's condition (value, or min/max). */
static int met(const struct cs_scorecard_item *it, const json_t *v)
{
    double x;

    if (it->value)
        return json_equal((json_t *)it->value, (json_t *)v);
    if (!json_is_number(v))
        return 0;
    x = json_number_value(v);
    return (isnan(it->min) || x >= it->min) &&
           (isnan(it->max) || x <= it->max);
}

static int left_out(const json_t *v)
{
    return !v || cs_eval_value_is(v, "not_applicable");
}

/* "caller_authenticated = true". */
static void condition(struct cs_buf *b, const struct cs_scorecard_item *it)
{
    char *text;

    if (it->value) {
        text = json_dumps(it->value, JSON_ENCODE_ANY | JSON_COMPACT);
        cs_buf_addf(b, "%s = %s", it->metric, text ? text : "?");
        free(text);
    } else if (!isnan(it->min) && !isnan(it->max)) {
        cs_buf_addf(b, "%g <= %s <= %g", it->min, it->metric, it->max);
    } else if (!isnan(it->min)) {
        cs_buf_addf(b, "%s >= %g", it->metric, it->min);
    } else {
        cs_buf_addf(b, "%s <= %g", it->metric, it->max);
    }
}

void cs_scorecard_compute(struct cs_eval_result *out,
                          const struct cs_scorecard *sc,
                          const struct cs_rubric_set *set,
                          const json_t *const *values)
{
    struct cs_buf why = CS_BUF_INIT;
    double earned = 0, possible = 0, score;

    (void)set;
    cs_eval_result_release(out);
    for (size_t j = 0; j < sc->n_items; j++) {
        const json_t *v = values[sc->items[j].rubric];

        if (v && cs_eval_value_is(v, "error")) {
            cs_eval_result_set_error(out, "the result of '%s' is an error",
                                     sc->items[j].metric);
            goto done;
        }
    }
    for (size_t j = 0; j < sc->n_auto_fail; j++) {
        const struct cs_scorecard_item *c = &sc->auto_fail[j];
        const json_t *v = values[c->rubric];

        if (left_out(v) || !met(c, v))
            continue;
        out->value = json_real(0);
        cs_buf_adds(&why, "auto-fail: ");
        condition(&why, c);
        out->rationale = cs_buf_detach(&why, NULL);
        goto done;
    }
    for (size_t j = 0; j < sc->n_items; j++) {
        const struct cs_scorecard_item *it = &sc->items[j];
        const json_t *v = values[it->rubric];
        double got = 0;

        cs_buf_adds(&why, j ? "; " : "");
        if (left_out(v)) {
            cs_buf_addf(&why, "%s left out (%s)", it->metric,
                        v ? "not applicable" : "no result");
            continue;
        }
        possible += it->points;
        if (met(it, v))
            got = it->points;
        else if (json_is_true(it->value) && cs_eval_value_is(v, "partial"))
            got = it->partial_points;
        earned += got;
        cs_buf_addf(&why, "%s %s %g/%g", it->metric,
                    got == it->points ? "met"
                    : got > 0         ? "partly met"
                                      : "not met",
                    got, it->points);
    }
    if (possible <= 0) {
        out->value = json_string("not_applicable");
        cs_buf_adds(&why, ": no item left");
        out->rationale = cs_buf_detach(&why, NULL);
        goto done;
    }
    score = round(1000.0 * earned / possible) / 10.0;
    out->value = json_real(score);
    cs_buf_addf(&why, " = %g of %g points", earned, possible);
    out->rationale = cs_buf_detach(&why, NULL);
done:
    cs_buf_release(&why);
}
