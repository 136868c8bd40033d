/* batch.c - the Batch API's files: request lines, batch status, answers */
#include "llm/batch.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/mem.h"
#include "llm/prompt.h"

void cs_llm_batch_line(struct cs_buf *out, const char *custom_id,
                       const char *body)
{
    json_t *id = json_string(custom_id);
    char *id_text;

    id_text = cs_llm_dump(id);
    cs_buf_adds(out, "{\"custom_id\":");
    cs_buf_adds(out, id_text);
    cs_buf_adds(out, ",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
                "\"body\":");
    cs_buf_adds(out, body);
    cs_buf_adds(out, "}\n");
    free(id_text);
    json_decref(id);
}

static char *dup_string(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? cs_xstrdup(s) : NULL;
}

int cs_llm_batch_status_read(struct cs_llm_batch_status *out,
                             const char *body, size_t len,
                             struct cs_err *err)
{
    json_t *j = json_loadb(body, len, 0, NULL), *e;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "id")) ||
        !json_is_string(json_object_get(j, "status"))) {
        ret = cs_err_set(err, CS_ELLM, "batch answer is no batch object");
        goto done;
    }
    out->id = dup_string(j, "id");
    out->status = dup_string(j, "status");
    out->output_file_id = dup_string(j, "output_file_id");
    out->error_file_id = dup_string(j, "error_file_id");
    e = json_array_get(json_object_get(json_object_get(j, "errors"), "data"),
                       0);
    if (e)
        out->error = dup_string(e, "message");
done:
    json_decref(j);
    return ret;
}

void cs_llm_batch_status_release(struct cs_llm_batch_status *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->status);
    free(s->output_file_id);
    free(s->error_file_id);
    free(s->error);
    memset(s, 0, sizeof(*s));
}

int cs_llm_batch_status_final(const char *status)
{
    static const char *const final[] = {"completed", "failed", "expired",
                                        "cancelled"};

    for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++) {
        if (status && strcmp(status, final[i]) == 0)
            return 1;
    }
    return 0;
}

int cs_llm_batch_answer_read(char **custom_id_out, char **answer_out,
                             char **error_out, const char *line, size_t len,
                             struct cs_err *err)
{
    json_t *j = json_loadb(line, len, 0, NULL), *resp, *e;
    const char *id;
    int ret = 0;

    *custom_id_out = *answer_out = *error_out = NULL;
    id = json_string_value(json_object_get(j, "custom_id"));
    if (!json_is_object(j) || !id) {
        ret = cs_err_set(err, CS_ELLM, "batch output line is no answer");
        goto done;
    }
    resp = json_object_get(j, "response");
    e = json_object_get(j, "error");
    if (json_is_object(resp) &&
        json_integer_value(json_object_get(resp, "status_code")) == 200 &&
        json_is_object(json_object_get(resp, "body"))) {
        *answer_out = cs_llm_dump(json_object_get(resp, "body"));
    } else {
        const char *msg = json_string_value(json_object_get(e, "message"));
        json_t *b = json_object_get(resp, "body");

        if (!msg && json_is_object(b))
            msg = json_string_value(json_object_get(
                json_object_get(b, "error"), "message"));
        *error_out = cs_xstrdup(msg ? msg : "the batch request failed");
    }
    *custom_id_out = cs_xstrdup(id);
done:
    json_decref(j);
    return ret;
}
