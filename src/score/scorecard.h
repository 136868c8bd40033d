/* scorecard.h - the 0-100 score of a QA scorecard from metric results */
#ifndef CS_SCORE_SCORECARD_H
#define CS_SCORE_SCORECARD_H

#include <jansson.h>

#include "model/result.h"
#include "rubric/rubric.h"

/* The evaluator recorded on scorecard results. */
#define CS_SCORECARD_EVALUATOR "scorecard"

/*
 * Computes scorecard `sc` of `set` for one conversation into *out
 * (released first), as docs/scorecard-format.md says: values[i] is the
 * current result of rubric i (borrowed; NULL when there is none). An item
 * is met when the value equals the item's `value` or lies within
 * min/max; a boolean "partial" earns the item's partial_points; a
 * missing or "not_applicable" result leaves the item out. Precedence: an
 * "error" among the items' results gives "error"; else an auto-fail
 * condition met gives 0; else no item left gives "not_applicable"; else
 * 100 x earned / possible rounded to one decimal. The rationale says how
 * the score was reached (the auto-fail condition, each item's points).
 * Cannot fail.
 */
void cs_scorecard_compute(struct cs_eval_result *out,
                          const struct cs_scorecard *sc,
                          const struct cs_rubric_set *set,
                          const json_t *const *values);

#endif
