/* prompt.h - plan and build chat-completions requests that judge metrics */
#ifndef CS_LLM_PROMPT_H
#define CS_LLM_PROMPT_H

#include <stddef.h>

#include "base/err.h"
#include "model/conv.h"
#include "rubric/rubric.h"
#include "redact/redact.h"

/*
 * Usage:
 *
 *     struct cs_llm_plan plan;
 *     char *body = NULL;
 *
 *     // metrics: the indices (into set->rubrics) of the rubrics that apply
 *     if (cs_llm_plan(&plan, set, metrics, n, conv, rd, ctx_tokens, &err) < 0)
 *         ...   // CS_ETOOBIG: even one metric with the transcript won't fit
 *     for (size_t g = 0; g < plan.n_groups; g++) {
 *         if (cs_llm_request_body(&body, &plan, g, model, &err) < 0) ...
 *         ...   // POST body; parse the reply with cs_llm_answer_parse
 *         free(body);
 *     }
 *     cs_llm_plan_release(&plan);
 *
 * One request judges every metric of its group at once: the system message
 * holds the judge's instructions and each rubric (definition, outcomes,
 * categories or scale anchors), the user message holds the transcript once,
 * and `response_format` asks for a strict JSON schema with one property per
 * metric key, each {value, evidence, rationale}. Normally there is a single
 * group; a transcript too long for the context budget splits the metrics
 * into several groups, each of which re-sends the transcript.
 *
 * Only the turns reach the model: each turn's text is redacted with the
 * caller's redactor, then neutralised (line breaks become spaces and any
 * "<transcript>" / "</transcript>" look-alike has its '<' written as
 * "&lt;") so that a turn can neither fake a turn line nor close the data
 * block. caller, callee, metadata and every other field stay out.
 *
 * Token counts are estimates: the request body's length in bytes / 4,
 * rounded up, which over-counts a little (JSON escapes, field names).
 * The plan keeps every request within the budget including its answer
 * (max_tokens) and one re-ask (cs_llm_request_retry_body), so a retry
 * never overflows the context either.
 */

/* Answer budget: max_tokens = BASE + PER_METRIC * metrics in the group. */
#define CS_LLM_ANSWER_TOKENS_BASE 64
#define CS_LLM_ANSWER_TOKENS_PER_METRIC 200
/* Room kept for the re-ask's note (cs_llm_request_retry_body). */
#define CS_LLM_RETRY_NOTE_TOKENS 256

/* The delimiters of the transcript in the user message. */
#define CS_LLM_TRANSCRIPT_OPEN "<transcript>"
#define CS_LLM_TRANSCRIPT_CLOSE "</transcript>"

/* One request: the metrics it judges. */
struct cs_llm_group {
    size_t n;
    size_t *metrics;        /* n indices into set->rubrics, caller's order */
    long prompt_tokens;     /* estimate of the request body */
    long max_tokens;        /* the answer budget sent with it */
};

/*
 * The requests for one conversation. Everything is owned by the plan
 * except `set`, which is borrowed and must outlive it.
 */
struct cs_llm_plan {
    const struct cs_rubric_set *set;
    char *transcript;       /* the turn lines as sent, "[n] role: text\n" */
    size_t transcript_len;
    size_t n_redacted;      /* replacements the redactor made */
    size_t n_groups;
    struct cs_llm_group *groups;
    long prompt_tokens;     /* sum over the groups */
};

/*
 * Plans the requests that judge the `n` rubrics `metrics` (indices into
 * set->rubrics, each at most once) on `conv`, redacting every turn with
 * `rd`. When the whole request, its answer and one re-ask fit within
 * `context_tokens`, the plan has one group; otherwise the metrics are
 * packed in order into as few groups as fit. Returns CS_ETOOBIG, naming
 * the metric and the sizes, when a single metric with the transcript does
 * not fit (the transcript is never truncated); CS_EINVALID for a
 * conversation without turns or a metric listed twice; the redactor's
 * error for text it refuses. With n == 0 the plan has no group. *out is
 * filled in any case (empty on error); free it with cs_llm_plan_release.
 */
int cs_llm_plan(struct cs_llm_plan *out, const struct cs_rubric_set *set,
                const size_t *metrics, size_t n, const struct cs_conv *conv,
                struct cs_redact *rd, long context_tokens,
                struct cs_err *err);

/* Frees the contents of `plan` and leaves it empty. */
void cs_llm_plan_release(struct cs_llm_plan *plan);

/*
 * Builds the chat-completions request body (compact JSON) of group
 * `group` of `plan` for `model`: messages, response_format (json_schema,
 * strict), temperature 0 and max_tokens. *out is new (the caller frees
 * it). Returns CS_EINVALID when `model` is not valid UTF-8.
 */
int cs_llm_request_body(char **out, const struct cs_llm_plan *plan,
                        size_t group, const char *model, struct cs_err *err);

/*
 * The JSON schema the answer to `n` metrics must follow (the object under
 * response_format.json_schema.schema). Returns new.
 */
json_t *cs_llm_answer_schema(const struct cs_rubric_set *set,
                             const size_t *metrics, size_t n);

/* The schema of one metric's "value" for `r`. Returns new. */
json_t *cs_llm_value_schema(const struct cs_rubric *r);

/*
 * Builds the re-ask after an invalid answer: `request` (the body that was
 * sent) with two more messages, the assistant's answer `bad_content` (may
 * be NULL: none) and a user message listing `problems` (one per line, as
 * cs_llm_answer_parse reports them) and asking for a corrected, complete
 * answer. *out is new. Returns CS_EINVALID when `request` is not a
 * request body with a messages array.
 */
int cs_llm_request_retry_body(char **out, const char *request,
                              const char *bad_content, const char *problems,
                              struct cs_err *err);

/* Appends the text of one turn as the transcript carries it: on one line
 * (line breaks as spaces) with the '<' of "<transcript>" look-alikes
 * written "&lt;". */
void cs_llm_neutralise(struct cs_buf *b, const char *text, size_t len);

/* A request as compact JSON (new): json_dumps, which only fails when
 * memory runs out, and then aborts (rule 16). */
char *cs_llm_dump(const json_t *j);

/* The token estimate of `bytes` bytes of prompt: bytes / 4, rounded up. */
long cs_llm_estimate_tokens(size_t bytes);

#endif
