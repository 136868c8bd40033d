/* llm_batch.c - scoring through the provider's Batch API (score --batch) */
#include "score/score_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "llm/batch.h"
#include "llm/prompt.h"
#include "net/http.h"
#include "store/batches.h"

/* The one answer a batch operation waits for. */
struct one {
    int done;
    int code;
    long status;
    char *body;
    size_t len;
    char error[256];
};

static void on_one(const struct cs_http_result *res, void *user)
{
    struct one *o = user;

    o->done = 1;
    o->code = res->code;
    o->status = res->status;
    o->body = cs_xstrndup(res->body ? res->body : "", res->body_len);
    o->len = res->body_len;
    snprintf(o->error, sizeof(o->error), "%s", res->error);
}

/* A client for one request at a time (the batch operations are few). */
static int ops_new(struct cs_http **out, const struct cs_config *cfg,
                   struct cs_err *err)
{
    struct cs_http_opts ho;

    cs_http_opts_init(&ho);
    ho.concurrency = 1;
    ho.connect_timeout_ms = cfg->llm_connect_timeout_s * 1000;
    ho.timeout_ms = cfg->llm_timeout_s * 1000;
    ho.max_tries = (unsigned)cfg->llm_max_tries;
    ho.bearer = cfg->llm_api_key;
    /* An output file holds every answer of the batch. */
    ho.max_body = (size_t)256 << 20;
    ho.on_done = on_one;
    return cs_http_new(out, &ho, err);
}

/* Sends `rq` and waits for its answer: 0 with o->body (new) on a 2xx,
 * else the transport's or the provider's error. */
static int do_one(struct one *o, struct cs_http *h,
                  const struct cs_http_req *rq, struct cs_err *err)
{
    int ret;

    memset(o, 0, sizeof(*o));
    ret = cs_http_send(h, rq, o, err);
    while (ret >= 0 && !o->done)
        ret = cs_http_run(h, 200, err);
    if (ret < 0)
        return ret;
    if (o->code)
        return cs_err_set(err, CS_ENET, "%s %s: %s", rq->method ? rq->method
                          : "POST", rq->url, o->error);
    return 0;
}

static void base_url(struct cs_buf *b, const struct cs_config *cfg)
{
    cs_buf_adds(b, cfg->llm_base_url);
    while (b->len && b->ptr[b->len - 1] == '/')
        b->ptr[--b->len] = '\0';
}

/* Stores the answers (or failures) of file `file_id` for batch `id`. */
static int take_file(struct cs_http *h, struct cs_store *st,
                     const struct cs_config *cfg, long id,
                     const char *file_id, struct cs_score_stats *out,
                     struct cs_err *err)
{
    struct cs_buf url = CS_BUF_INIT;
    struct cs_http_req rq = {"GET", NULL, NULL, 0, NULL, NULL, NULL};
    struct cs_store_llm_answer *a = NULL;
    char **strs = NULL;
    struct one o;
    size_t n = 0, cap = 0;
    const char *p, *end, *nl;
    int ret;

    base_url(&url, cfg);
    cs_buf_addf(&url, "/files/%s/content", file_id);
    rq.url = url.ptr;
    ret = do_one(&o, h, &rq, err);
    if (ret)
        goto done;
    for (p = o.body, end = o.body + o.len; p < end; p = nl + 1) {
        char *cid, *answer, *why;

        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        if (nl == p)
            continue;
        if (cs_llm_batch_answer_read(&cid, &answer, &why, p,
                                     (size_t)(nl - p), NULL) < 0) {
            cs_log(CS_LOG_WARN, "batch %ld: a line of file '%s' is no "
                   "answer: skipped", id, file_id);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            a = cs_xrealloc(a, cap * sizeof(*a));
            strs = cs_xrealloc(strs, 3 * cap * sizeof(*strs));
        }
        a[n].custom_id = strs[3 * n] = cid;
        a[n].answer = strs[3 * n + 1] = answer;
        a[n].error = strs[3 * n + 2] = why;
        out->batch_answers += answer != NULL;
        n++;
    }
    ret = cs_store_llm_batch_answers(st, id, a, n, NULL, err);
done:
    for (size_t i = 0; i < 3 * n; i++)
        free(strs[i]);
    free(strs);
    free(a);
    free(o.body);
    cs_buf_release(&url);
    return ret;
}

/* Looks at submitted batch `b` once, and takes what it answered if it
 * ended. */
static int collect_one(struct cs_http *h, struct cs_store *st,
                       const struct cs_config *cfg,
                       const struct cs_store_llm_batch *b,
                       struct cs_score_stats *out, struct cs_err *err)
{
    struct cs_buf url = CS_BUF_INIT;
    struct cs_http_req rq = {"GET", NULL, NULL, 0, NULL, NULL, NULL};
    struct cs_llm_batch_status s;
    struct one o;
    int ret, got = 0;

    memset(&s, 0, sizeof(s));
    memset(&o, 0, sizeof(o));
    ret = cs_store_llm_batch_lock(&got, st, b->id, err);
    if (ret || !got)
        return ret; /* another run collects it */
    base_url(&url, cfg);
    cs_buf_addf(&url, "/batches/%s", b->provider_id);
    rq.url = url.ptr;
    ret = do_one(&o, h, &rq, err);
    if (!ret)
        ret = cs_llm_batch_status_read(&s, o.body, o.len, err);
    if (ret)
        goto done;
    if (!cs_llm_batch_status_final(s.status)) {
        out->batches_open++;
        ret = cs_store_llm_batch_checked(st, b->id, s.status, err);
        goto done;
    }
    /* Whatever answered counts, even in a batch that expired: the rest
     * is asked again by the next batch. */
    if (s.output_file_id)
        ret = take_file(h, st, cfg, b->id, s.output_file_id, out, err);
    if (!ret && s.error_file_id)
        ret = take_file(h, st, cfg, b->id, s.error_file_id, out, err);
    if (!ret)
        ret = cs_store_llm_batch_end(st, b->id, s.status, s.status, s.error,
                                     err);
    if (!ret) {
        out->batches_ended++;
        cs_log(CS_LOG_INFO, "batch %ld (%s) ended: %s", b->id,
               b->provider_id, s.status);
    }
done:
    cs_store_llm_batch_unlock(st, b->id);
    cs_llm_batch_status_release(&s);
    free(o.body);
    cs_buf_release(&url);
    return ret;
}

int cs_score_batch_collect(struct cs_store *st, const struct cs_config *cfg,
                           struct cs_score_stats *out, struct cs_err *err)
{
    struct cs_store_llm_batch *b = NULL;
    struct cs_http *h = NULL;
    size_t n = 0;
    int ret;

    ret = cs_store_llm_batch_open(&b, &n, st, err);
    if (!ret && n)
        ret = ops_new(&h, cfg, err);
    for (size_t i = 0; i < n && !ret; i++) {
        if (b[i].orphan) {
            /* Its run died before submitting: its requests go again. */
            cs_log(CS_LOG_WARN, "batch %ld was never submitted: dropped",
                   b[i].id);
            ret = cs_store_llm_batch_drop(st, b[i].id, err);
        } else if (b[i].submitted) {
            ret = collect_one(h, st, cfg, &b[i], out, err);
        }
    }
    cs_http_free(h);
    cs_store_llm_batches_free(b, n);
    return ret;
}

/* ---- a new batch ---- */

struct cs_score_batch {
    long id;                /* llm_batches.id; 0 until the first request */
    struct cs_buf lines;
    size_t n;               /* lines */
    json_t *ids;            /* custom ids written (a set) */
    double estimated_cost;
};

void cs_score_batch_new(struct cs_score_batch **out)
{
    struct cs_score_batch *b = cs_xcalloc(1, sizeof(*b));

    cs_buf_init(&b->lines);
    b->ids = json_object();
    *out = b;
}

void cs_score_batch_free(struct cs_score_batch *b)
{
    if (!b)
        return;
    cs_buf_release(&b->lines);
    json_decref(b->ids);
    free(b);
}

size_t cs_score_batch_requests(const struct cs_score_batch *b)
{
    return b ? b->n : 0;
}

int cs_score_batch_add(struct cs_score_batch *b, struct cs_store *st,
                       const struct cs_config *cfg, const char *tenant,
                       const char *conversation_id, const char *body,
                       const char *body_hash, long prompt_est,
                       size_t metrics, double estimated_cost,
                       struct cs_err *err)
{
    struct cs_store_llm_request rq;
    char custom_id[40];
    int ret;

    if (!b->id) {
        ret = cs_store_llm_batch_new(&b->id, st, cfg->llm_model,
                                     cfg->llm_base_url, err);
        if (ret)
            return ret;
    }
    snprintf(custom_id, sizeof(custom_id), "cs-%.32s", body_hash);
    rq.custom_id = custom_id;
    rq.tenant = tenant;
    rq.conversation_id = conversation_id;
    rq.body_hash = body_hash;
    rq.prompt_est = prompt_est;
    rq.metrics = (long)metrics;
    /* Recorded before the conversation's claim is released. */
    ret = cs_store_llm_batch_add(st, b->id, &rq, 1, err);
    if (ret)
        return ret;
    if (!json_object_get(b->ids, custom_id)) {
        json_object_set_new(b->ids, custom_id, json_true());
        cs_llm_batch_line(&b->lines, custom_id, body);
        b->n++;
        b->estimated_cost += estimated_cost;
    }
    return 0;
}

int cs_score_batch_submit(struct cs_score_batch *b, struct cs_store *st,
                          const struct cs_config *cfg,
                          struct cs_score_stats *out, struct cs_err *err)
{
    struct cs_buf path = CS_BUF_INIT, url = CS_BUF_INIT, req = CS_BUF_INIT;
    const char *fields[] = {"purpose", "batch", NULL};
    struct cs_http_req rq = {"POST", NULL, NULL, 0, fields, "file", NULL};
    struct cs_http *h = NULL;
    struct one o;
    json_t *j = NULL;
    const char *file_id, *batch_id;
    int ret;

    memset(&o, 0, sizeof(o));
    if (!b->id || b->n == 0)
        return 0;
    cs_buf_addf(&path, "%s/batches", cfg->data_dir);
    ret = cs_fs_mkdirs(path.ptr, err);
    cs_buf_addf(&path, "/batch-%ld.jsonl", b->id);
    if (!ret)
        ret = cs_fs_write_atomic(path.ptr, b->lines.ptr, b->lines.len, err);
    if (!ret)
        ret = ops_new(&h, cfg, err);
    if (ret)
        goto done;
    base_url(&url, cfg);
    cs_buf_adds(&url, "/files");
    rq.url = url.ptr;
    rq.file_path = path.ptr;
    ret = do_one(&o, h, &rq, err);
    if (ret)
        goto done;
    j = json_loadb(o.body, o.len, 0, NULL);
    file_id = json_string_value(json_object_get(j, "id"));
    if (!file_id) {
        ret = cs_err_set(err, CS_ELLM, "file upload answered no file id");
        goto done;
    }
    ret = cs_store_llm_batch_uploaded(st, b->id, file_id, err);
    if (ret)
        goto done;
    {
        json_t *body = json_pack("{s:s,s:s,s:s}", "input_file_id", file_id,
                                 "endpoint", "/v1/chat/completions",
                                 "completion_window", "24h");
        char *text = cs_llm_dump(body);

        cs_buf_adds(&req, text);
        free(text);
        json_decref(body);
    }
    json_decref(j);
    j = NULL;
    free(o.body);
    memset(&o, 0, sizeof(o));
    cs_buf_reset(&url);
    base_url(&url, cfg);
    cs_buf_adds(&url, "/batches");
    rq.url = url.ptr;
    rq.body = req.ptr;
    rq.len = req.len;
    rq.fields = NULL;
    rq.file_field = rq.file_path = NULL;
    ret = do_one(&o, h, &rq, err);
    if (ret)
        goto done;
    j = json_loadb(o.body, o.len, 0, NULL);
    batch_id = json_string_value(json_object_get(j, "id"));
    if (!batch_id) {
        ret = cs_err_set(err, CS_ELLM, "batch creation answered no batch "
                         "id");
        goto done;
    }
    ret = cs_store_llm_batch_submitted(st, b->id, batch_id,
                                       b->estimated_cost, err);
    if (!ret) {
        out->batches_submitted++;
        cs_log(CS_LOG_INFO, "batch %ld submitted as %s: %zu requests, "
               "about %.4f", b->id, batch_id, b->n, b->estimated_cost);
    }
done:
    /* Not submitted: its conversations are asked again by the next run. */
    if (ret) {
        struct cs_err e2 = {0, ""};

        if (cs_store_llm_batch_drop(st, b->id, &e2) < 0)
            cs_log(CS_LOG_WARN, "%s", e2.msg);
    }
    json_decref(j);
    free(o.body);
    cs_http_free(h);
    cs_buf_release(&path);
    cs_buf_release(&url);
    cs_buf_release(&req);
    return ret;
}
