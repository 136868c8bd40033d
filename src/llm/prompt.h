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
 *     struct cs_llm_prefix *pre = NULL;
 *     struct cs_llm_plan plan;
 *     char *body = NULL;
 *
 *     // once per run and tenant: every rubric the run may ask about
 *     cs_llm_prefix_new(&pre, set, scope, n_scope);
 *     // per conversation: the indices of the rubrics that apply
 *     if (cs_llm_plan_shared(&plan, pre, metrics, n, conv, rd, ctx_tokens,
 *                            &err) < 0)
 *         ...   // CS_ETOOBIG: even one metric with the transcript won't fit
 *     for (size_t g = 0; g < plan.n_groups; g++) {
 *         if (cs_llm_request_body(&body, &plan, g, model, &err) < 0) ...
 *         ...   // POST body; parse the reply with cs_llm_answer_parse
 *         free(body);
 *     }
 *     cs_llm_plan_release(&plan);
 *     cs_llm_prefix_free(pre);
 *
 * One request judges every metric of its group at once. Its first part,
 * the PREFIX, is the same for every conversation of a run (and tenant),
 * byte for byte, so that a provider that caches prompt prefixes (OpenAI
 * does for 1,024 tokens and more) reuses it: the strict JSON schema of
 * `response_format` (which providers render before the system message)
 * with one property per rubric of the prefix, each {value, evidence,
 * rationale} or null, then the system message: the judge's instructions
 * and each rubric (definition, outcomes, categories or scale anchors).
 * Then comes what varies: the user message names the metrics to judge
 * (the others are answered null) and holds the transcript, last. The body
 * is written in that order ("model", "response_format", "messages",
 * "temperature", "max_tokens"). Normally there is a single group; a
 * transcript too long for the context budget splits the metrics into
 * several groups, each with a prefix of its own metrics only (not shared
 * then) and each re-sending the transcript.
 *
 * Only the turns reach the model: each turn's text is redacted with the
 * caller's redactor, then neutralised (line breaks become spaces and any
 * "<transcript>" / "</transcript>" look-alike has its '<' written as
 * "&lt;") so that a turn can neither fake a turn line nor close the data
 * block. caller, callee, metadata and every other field stay out.
 *
 * Token counts are estimates: the request body's length in bytes / 4,
 * rounded up, which over-counts a little (JSON escapes, field names);
 * llm/cost.h calibrates them against what providers count.
 * The plan keeps every request within the budget including its answer
 * (max_tokens) and one re-ask (cs_llm_request_retry_body), so a retry
 * never overflows the context either.
 */

/* Answer budget: max_tokens = BASE + PER_METRIC * metrics in the group +
 * PER_NULL * the other metrics of its prefix (answered null). */
#define CS_LLM_ANSWER_TOKENS_BASE 64
#define CS_LLM_ANSWER_TOKENS_PER_METRIC 200
#define CS_LLM_ANSWER_TOKENS_PER_NULL 8
/* Room kept for the re-ask's note (cs_llm_request_retry_body). */
#define CS_LLM_RETRY_NOTE_TOKENS 256

/* The delimiters of the transcript in the user message. */
#define CS_LLM_TRANSCRIPT_OPEN "<transcript>"
#define CS_LLM_TRANSCRIPT_CLOSE "</transcript>"

/*
 * The constant first part of a run's requests: the rubrics it describes
 * and, rendered once, the body from the comma after "model" to the user
 * message's content (",\"response_format\":...\"content\":").
 */
struct cs_llm_prefix {
    const struct cs_rubric_set *set;    /* borrowed */
    size_t n;
    size_t *metrics;        /* n indices into set->rubrics, in order */
    char *head;             /* the rendered part (see above) */
    size_t head_len;
    long tokens;            /* estimate of the schema and system message:
                               what a prompt cache can reuse */
};

/*
 * A prefix describing the `n` rubrics `metrics` of `set` (indices, each
 * at most once, in the order given), new in *out (cs_llm_prefix_free).
 * `set` is borrowed and must outlive it. Cannot fail: rubric texts come
 * from validated JSON.
 */
void cs_llm_prefix_new(struct cs_llm_prefix **out,
                       const struct cs_rubric_set *set,
                       const size_t *metrics, size_t n);
void cs_llm_prefix_free(struct cs_llm_prefix *p);

/* 1 when rubric `metric` is described by `p`. */
int cs_llm_prefix_has(const struct cs_llm_prefix *p, size_t metric);

/* One request: the metrics it judges. */
struct cs_llm_group {
    size_t n;
    size_t *metrics;        /* n indices into set->rubrics, caller's order */
    long prompt_tokens;     /* estimate of the request body */
    long prefix_tokens;     /* ... of which its prefix (prefix->tokens) */
    long max_tokens;        /* the answer budget sent with it */
    const struct cs_llm_prefix *prefix; /* the plan's, or `own` */
    struct cs_llm_prefix *own;  /* a split group's own prefix, or NULL */
};

/*
 * The requests for one conversation. Everything is owned by the plan
 * except `set`, which is borrowed and must outlive it.
 */
struct cs_llm_plan {
    const struct cs_rubric_set *set;
    const struct cs_llm_prefix *prefix; /* borrowed, or `own_prefix` */
    struct cs_llm_prefix *own_prefix;   /* cs_llm_plan's, or NULL */
    char *transcript;       /* the turn lines as sent, "[n] role: text\n" */
    size_t transcript_len;
    size_t n_redacted;      /* replacements the redactor made */
    size_t n_groups;
    struct cs_llm_group *groups;
    long prompt_tokens;     /* sum over the groups */
};

/*
 * Plans the requests that judge the `n` rubrics `metrics` (indices into
 * prefix->set->rubrics, each at most once, each described by `prefix`,
 * which is borrowed and must outlive the plan) on `conv`, redacting every
 * turn with `rd`. When the whole request, its answer and one re-ask fit
 * within `context_tokens`, the plan has one group, under `prefix`;
 * otherwise the metrics are packed in order into as few groups as fit,
 * each under a prefix of its own metrics. Returns CS_ETOOBIG, naming
 * the metric and the sizes, when a single metric with the transcript does
 * not fit (the transcript is never truncated); CS_EINVALID for a
 * conversation without turns or a metric listed twice; the redactor's
 * error for text it refuses. With n == 0 the plan has no group. *out is
 * filled in any case (empty on error); free it with cs_llm_plan_release.
 */
int cs_llm_plan_shared(struct cs_llm_plan *out,
                       const struct cs_llm_prefix *prefix,
                       const size_t *metrics, size_t n,
                       const struct cs_conv *conv, struct cs_redact *rd,
                       long context_tokens, struct cs_err *err);

/* cs_llm_plan_shared under a prefix of exactly `metrics`, which the plan
 * owns. */
int cs_llm_plan(struct cs_llm_plan *out, const struct cs_rubric_set *set,
                const size_t *metrics, size_t n, const struct cs_conv *conv,
                struct cs_redact *rd, long context_tokens,
                struct cs_err *err);

/* Frees the contents of `plan` and leaves it empty. */
void cs_llm_plan_release(struct cs_llm_plan *plan);

/*
 * Builds the chat-completions request body (compact JSON) of group
 * `group` of `plan` for `model`: response_format (json_schema, strict),
 * messages, temperature 0 and max_tokens, in that order. *out is new
 * (the caller frees it). Returns CS_EINVALID when `model` is not valid
 * UTF-8.
 */
int cs_llm_request_body(char **out, const struct cs_llm_plan *plan,
                        size_t group, const char *model, struct cs_err *err);

/*
 * The JSON schema of an answer under a prefix of the `n` metrics (the
 * object under response_format.json_schema.schema): one required property
 * per metric, each {value, evidence, rationale} or null. Returns new.
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
