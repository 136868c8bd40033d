/* rules.h - the offline rules evaluator: rubric rules over the turns */
#ifndef CS_SCORE_RULES_H
#define CS_SCORE_RULES_H

#include <stddef.h>

#include <jansson.h>

#include "base/err.h"
#include "model/conv.h"
#include "model/result.h"
#include "rubric/rubric.h"

/*
 * Usage:
 *
 *     struct cs_rules *rules = NULL;
 *     struct cs_eval_result *res = cs_xcalloc(set->n, sizeof(*res));
 *
 *     if (cs_rules_new(&rules, set, &err) < 0)
 *         ...
 *     for each conversation conv:
 *         cs_rules_eval(res, rules, conv);   // res[i] is set->rubrics[i]
 *         ...
 *         cs_eval_results_release(res, set->n);
 *     cs_rules_free(rules);
 *
 * The evaluator follows "How the rules evaluator reads a rubric" in
 * docs/rubric-format.md: no turns gives "not_applicable" for
 * every rubric; applies_when is checked first (metric dependencies are
 * evaluated before their dependents); rules are tried in file order, the
 * first matching rule (a turn of its role matches) or the default gives
 * the value; no match and no default gives "not_applicable".
 *
 * Patterns are compiled once per set by the regex module (PCRE2 with UTF,
 * UCP and JIT; regex/regex.h). A struct cs_rules holds one matcher that
 * every match reuses, so it serves one thread at a time: make one per
 * worker thread. It borrows the rubric set, which must outlive it.
 */

struct cs_rules;

/*
 * Compiles every pattern of `set` (borrowed; it must outlive *out).
 * Returns CS_EINVALID with the rubric key, field and PCRE2 message when a
 * pattern does not compile (cs_rubric_set_load never lets that happen).
 * *out is new; free it with cs_rules_free.
 */
int cs_rules_new(struct cs_rules **out, const struct cs_rubric_set *set,
                 struct cs_err *err);

/* Frees the compiled patterns; NULL is a no-op. */
void cs_rules_free(struct cs_rules *rules);

/*
 * Limits of the matching (the config's score.match_limit and
 * score.time_budget_ms): every match runs under `match_limit` backtracking
 * steps, and once the matches for one conversation have taken
 * `time_budget_ms` in all (0: no budget; counted per conversation from
 * cs_rules_eval or cs_rules_prepare), no further match is started. Either
 * makes the rubric being evaluated "error" with a rationale naming the
 * limit (and the rubrics depending on it, as for any match error), never
 * a hang. A single match is bounded by the step limit alone, so the
 * budget may be overrun by one match.
 */
void cs_rules_set_limits(struct cs_rules *rules, unsigned long match_limit,
                         long time_budget_ms);

/*
 * Evaluates every rubric of the set on `conv` and fills out[0..set->n-1]
 * (indexed like set->rubrics; the previous contents are overwritten, so
 * release them first). Cannot fail: a match error becomes an "error"
 * value for that rubric and for the rubrics that depend on it.
 */
void cs_rules_eval(struct cs_eval_result *out, struct cs_rules *rules,
                   const struct cs_conv *conv);

/*
 * Applicability alone, for evaluators that judge by other means (the LLM).
 * cs_rules_prepare readies `conv` (call it once per conversation, before
 * cs_rules_applies). cs_rules_applies returns 1 when rubric i applies to
 * `conv`; otherwise it fills all[i] with "not_applicable" (or "error")
 * and a rationale and returns 0. A {"metric": K} condition reads
 * all[K].value, which the caller must have filled.
 */
void cs_rules_prepare(struct cs_rules *rules, const struct cs_conv *conv);
int cs_rules_applies(struct cs_rules *rules, size_t i,
                     const struct cs_conv *conv, struct cs_eval_result *all);

#endif
