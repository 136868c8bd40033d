/* result.h - the outcome of evaluating one metric on one conversation */
#ifndef CS_MODEL_RESULT_H
#define CS_MODEL_RESULT_H

#include <stddef.h>

#include <jansson.h>

/*
 * What an evaluator (the rules, the lexicon, an LLM judge, the agent's own
 * log) decided for one rubric, before it is stored. `value` is
 * true/false/"partial", a label, a number, "not_applicable", or "error"
 * (then `rationale` says why). `evidence` is a quote from the transcript
 * (a whole turn for the rules evaluator) or NULL. `confidence` is only
 * meaningful when `has_confidence` is set (otherwise it is stored as
 * null). Every pointer is owned by the result: a zeroed struct is an empty
 * result, and cs_eval_result_release empties it again.
 */
struct cs_eval_result {
    json_t *value;
    char *evidence;
    char *rationale;
    int has_confidence;
    double confidence;
};

/* Frees the contents of one result and zeroes it. */
void cs_eval_result_release(struct cs_eval_result *res);

/* cs_eval_result_release on res[0..n-1]. */
void cs_eval_results_release(struct cs_eval_result *res, size_t n);

/*
 * Replaces whatever `res` held with the value "error" and a rationale
 * formatted from `fmt` (the reason, one line; the arguments must not point
 * into `res`, which is released first). Cannot fail.
 */
void cs_eval_result_set_error(struct cs_eval_result *res, const char *fmt,
                              ...) __attribute__((format(printf, 2, 3)));

/* Replaces the rationale of `res` with one formatted from `fmt`. */
void cs_eval_result_set_rationale(struct cs_eval_result *res,
                                  const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 when `value` is the string `s` ("error", "not_applicable"...). */
int cs_eval_value_is(const json_t *value, const char *s);

#endif
