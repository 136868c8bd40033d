/* batch.h - the Batch API's files: request lines, batch status, answers */
#ifndef CS_LLM_BATCH_H
#define CS_LLM_BATCH_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * OpenAI's Batch API takes a JSON Lines file of requests, each
 *
 *     {"custom_id":"...","method":"POST","url":"/v1/chat/completions",
 *      "body":{...the chat-completions request...}}
 *
 * and, once the batch ends, gives a file of answers, each
 *
 *     {"id":"...","custom_id":"...","response":{"status_code":200,
 *      "body":{...a chat completion...}},"error":null}
 *
 * in any order. These are pure functions over those texts; the transport
 * is net/http.h's.
 */

/* Appends the request line of `body` (a JSON object's text, as
 * cs_llm_request_body makes it) under `custom_id`, newline included. */
void cs_llm_batch_line(struct cs_buf *out, const char *custom_id,
                       const char *body);

/* A batch object as GET /v1/batches/{id} returns it (strings new). */
struct cs_llm_batch_status {
    char *id;
    char *status;           /* validating, in_progress, finalizing,
                               completed, failed, expired, cancelling,
                               cancelled */
    char *output_file_id;   /* or NULL */
    char *error_file_id;    /* or NULL */
    char *error;            /* the first of errors.data, or NULL */
};

/* Reads a batch object from `len` bytes of `body` into *out (always
 * filled; cs_llm_batch_status_release). Returns CS_ELLM when it is no
 * batch object. */
int cs_llm_batch_status_read(struct cs_llm_batch_status *out,
                             const char *body, size_t len,
                             struct cs_err *err);
void cs_llm_batch_status_release(struct cs_llm_batch_status *s);

/* 1 when `status` is final: the batch will not change any more. */
int cs_llm_batch_status_final(const char *status);

/*
 * Reads one line of an output or error file: *custom_id_out (new), and
 * either *answer_out (new, the chat completion's text, when the request
 * got a 200) or *error_out (new, why it failed); the other is NULL.
 * Returns CS_ELLM, with nothing set, for a line that is not one.
 */
int cs_llm_batch_answer_read(char **custom_id_out, char **answer_out,
                             char **error_out, const char *line, size_t len,
                             struct cs_err *err);

#endif
