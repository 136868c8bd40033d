/* explain.h - ask an LLM why conversations ended with a verdict: the
 * request and the validation of its themes */
#ifndef CS_LLM_EXPLAIN_H
#define CS_LLM_EXPLAIN_H

#include <stddef.h>

#include <jansson.h>

#include "base/err.h"

/*
 * Usage:
 *
 *     struct cs_explain_ask a = {...};     // the verdict, the sample
 *     char *body = NULL;
 *     json_t *themes = NULL;
 *     char *problems = NULL;
 *
 *     cs_llm_explain_body(&body, &a, model, &err);
 *     ... POST body ...
 *     if (cs_llm_explain_parse(&themes, &problems, &use, resp, n, &a,
 *                              &err) < 0 && problems)
 *         ... once: cs_llm_explain_retry_body(&b2, body, content, problems)
 *     json_decref(themes);
 *
 * The system message holds the task and the rules; the user message the
 * data: each conversation of the sample between <transcript id="cNN">
 * and </transcript> (its turns one a line, redacted and neutralised by
 * the caller, see cs_llm_neutralise) followed by the verdict's stored
 * rationale, all untrusted. Conversations are named by aliases (c01,
 * c02, ...), never by their ids, so no id (which may hold anything) goes
 * into the prompt, and an alias the model makes up is plainly not one
 * that was sent.
 *
 * The answer must hold 1 to `max_themes` themes, each with a title, a
 * description, a count of at least 1 and 1 to 5 example aliases; every
 * example must be an alias that was sent, none twice (a conversation
 * belongs to one theme), no theme may count fewer conversations than it
 * gives as examples, and the counts must add up to the number sent.
 * Anything else is refused with every problem listed: nothing invented
 * passes.
 */

#define CS_EXPLAIN_MAX_THEMES 8
#define CS_EXPLAIN_MAX_EXAMPLES 5

struct cs_explain_conv {
    const char *alias;      /* "c01" */
    const char *turns;      /* "[n] role: text" lines, as they go */
    const char *rationale;  /* the verdict's rationale, or NULL */
};

struct cs_explain_ask {
    const char *metric;     /* the key */
    const char *name;       /* the rubric's name, or the key */
    const char *definition; /* the rubric's, or NULL */
    const char *verdict;    /* the value as JSON text: false, "billing" */
    const char *meaning;    /* what that value means (the rubric's failure
                               text, category description), or NULL */
    const struct cs_explain_conv *convs;
    size_t n;
    long max_tokens;        /* the answer budget */
};

/* The chat-completions request (compact JSON, new): messages, a strict
 * JSON schema (examples an enum of the aliases sent), temperature 0.
 * CS_EINVALID when a string is not valid UTF-8. */
int cs_llm_explain_body(char **out, const struct cs_explain_ask *a,
                        const char *model, struct cs_err *err);

/* The re-ask after an invalid answer: `request` with the answer and the
 * list of problems added. New. */
int cs_llm_explain_retry_body(char **out, const char *request,
                              const char *bad_content, const char *problems,
                              struct cs_err *err);

/* The usage of one answer. */
struct cs_explain_usage {
    long tokens_in;         /* -1: unknown */
    long tokens_out;
    char *content;          /* the answer's content (new), or NULL */
};

/*
 * Validates the response `body` to the request for `a`. On success
 * *themes_out is a new array of {"title", "description", "count",
 * "examples": [aliases]}. Returns CS_ELLM with a summary in `err`
 * otherwise, and *problems_out (new, one per line) when a re-ask may
 * help. `use` (may be NULL) gets the usage and content; release its
 * content with free.
 */
int cs_llm_explain_parse(json_t **themes_out, char **problems_out,
                         struct cs_explain_usage *use, const char *body,
                         size_t len, const struct cs_explain_ask *a,
                         struct cs_err *err);

#endif
