/* answer.h - parse and validate a chat-completions answer to a plan group */
#ifndef CS_LLM_ANSWER_H
#define CS_LLM_ANSWER_H

#include <stddef.h>

#include "base/err.h"
#include "llm/prompt.h"
#include "model/result.h"

/*
 * Usage:
 *
 *     struct cs_llm_answer a;
 *
 *     ret = cs_llm_answer_parse(&a, &plan, g, resp, resp_len, &err);
 *     if (ret < 0 && a.problems) {
 *         // once: re-ask with what was wrong, then parse that reply
 *         cs_llm_request_retry_body(&body2, body, a.content, a.problems, &e);
 *         ...
 *     }
 *     // a.results[i] is the result of plan.groups[g].metrics[i], valid
 *     // or "error"; a.prompt_tokens / a.completion_tokens for the cost
 *     cs_llm_answer_release(&a);
 *
 * The answer must hold, for every metric of the group, an object with a
 * "value" the rubric allows (true/false, "partial" only when the rubric
 * has partial; a label of the rubric; an integer within the scale), and
 * string "evidence" and "rationale". Keys for other metrics are ignored
 * (the prefix's metrics not asked are answered null); a missing or null
 * metric is a problem. No value is ever defaulted: a metric
 * whose entry is invalid gets the value "error".
 *
 * Evidence must be a quote from the transcript as it was sent (redacted):
 * compared case-insensitively (ASCII), with runs of white space as one
 * space, curly quotes as straight ones, surrounding quote marks dropped,
 * and "..." / "…" allowed to skip text. A quote that is not found keeps
 * the value but gets confidence CS_LLM_CONFIDENCE_UNSUPPORTED instead
 * of CS_LLM_CONFIDENCE and its rationale prefixed with
 * CS_LLM_EVIDENCE_NOT_FOUND. The stored evidence loses surrounding
 * blanks and double quotes; an empty quote gives evidence NULL.
 */

#define CS_LLM_CONFIDENCE 0.9
#define CS_LLM_CONFIDENCE_UNSUPPORTED 0.5
#define CS_LLM_EVIDENCE_NOT_FOUND "[evidence not found in transcript] "

/* One parsed answer. Every pointer is owned by the struct. */
struct cs_llm_answer {
    char *content;          /* the message content, or NULL when none */
    char *finish_reason;    /* or NULL */
    long prompt_tokens;     /* usage; -1 when the response had none */
    long completion_tokens;
    long cached_tokens;     /* of prompt_tokens, served from the provider's
                               prompt cache (prompt_tokens_details); -1 */
    size_t n;               /* the group's metric count */
    struct cs_eval_result *results; /* n results, in the group's order */
    char *problems;         /* what to tell the model, one per line, or
                             * NULL when a re-ask cannot help or the
                             * answer is valid */
};

/*
 * Parses the response body `body` (`len` bytes) to the request for group
 * `group` of `plan` into *out, which is always filled (release it with
 * cs_llm_answer_release, whatever the return). Returns 0 when every metric
 * is valid. Returns CS_ELLM with a one-line summary in `err` when the body
 * is not a chat completion or reports an error, the model refused
 * (`refusal`, finish_reason "content_filter"), the answer was cut off
 * (finish_reason "length"), or the content is missing, not a JSON object
 * or invalid for some metric; then the metrics that could not be read are
 * "error" results (with the reason as rationale) and, when re-asking with
 * the reasons may help (missing content, bad JSON, invalid entries),
 * out->problems lists them all.
 */
int cs_llm_answer_parse(struct cs_llm_answer *out,
                        const struct cs_llm_plan *plan, size_t group,
                        const char *body, size_t len, struct cs_err *err);

/* Frees the contents of `a` and zeroes it. */
void cs_llm_answer_release(struct cs_llm_answer *a);

/*
 * The part of any chat-completions answer before its meaning: the
 * response body's usage (with the cached part of the prompt), finish
 * reason and message content, the content parsed as JSON (a Markdown
 * code fence around it is dropped). `out` is always filled
 * (cs_llm_completion_release). Returns CS_ELLM when the
 * body is no chat completion, reports an error, the model refused or was
 * filtered, the answer was cut off at `max_tokens`, or the content is
 * missing or not JSON; for those last two (a re-ask may help) a line is
 * appended to `problems`.
 */
struct cs_llm_completion {
    char *content;          /* or NULL */
    char *finish_reason;    /* or NULL */
    long prompt_tokens;     /* -1 when unknown */
    long completion_tokens;
    long cached_tokens;     /* usage.prompt_tokens_details.cached_tokens */
    json_t *json;           /* the content parsed, or NULL */
};
int cs_llm_completion_read(struct cs_llm_completion *out, const char *body,
                           size_t len, long max_tokens,
                           struct cs_buf *problems, struct cs_err *err);
void cs_llm_completion_release(struct cs_llm_completion *c);

/*
 * 1 when `quote` (`len` bytes) occurs in `text` under the comparison
 * described above (an empty quote counts as found), else 0.
 */
int cs_llm_evidence_found(const char *text, const char *quote, size_t len);

#endif
