/* llm_batch.c - scoring through the provider's Batch API (score --batch) */
#include "score/score_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- a new batch ---- */

/* One batch being written: its llm_batches row and its input file,
 * written to `path`.tmp as requests come and renamed to `path` whole. */
struct part {
    long id;
    struct cs_buf path;     /* data_dir/batches/batch-<id>.jsonl */
    struct cs_buf tmp;
    FILE *f;                /* open while written */
    int whole;              /* `path` holds every line */
    size_t n;               /* lines */
    size_t bytes;
    double estimated_cost;
};

struct cs_score_batch {
    struct part *parts;     /* the last one takes new lines */
    size_t n_parts;
    json_t *ids;            /* custom id -> index of the part holding it */
};

void cs_score_batch_new(struct cs_score_batch **out)
{
    struct cs_score_batch *b = cs_xcalloc(1, sizeof(*b));

    b->ids = json_object();
    *out = b;
}

void cs_score_batch_free(struct cs_score_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_parts; i++) {
        if (b->parts[i].f) {
            fclose(b->parts[i].f);
            unlink(b->parts[i].tmp.ptr);
        }
        cs_buf_release(&b->parts[i].path);
        cs_buf_release(&b->parts[i].tmp);
    }
    free(b->parts);
    json_decref(b->ids);
    free(b);
}

size_t cs_score_batch_requests(const struct cs_score_batch *b)
{
    size_t n = 0;

    for (size_t i = 0; b && i < b->n_parts; i++)
        n += b->parts[i].n;
    return n;
}

/* data_dir/batches/batch-<id>.jsonl, the input file of batch `id`. */
static void input_path(struct cs_buf *out, const struct cs_config *cfg,
                       long id)
{
    cs_buf_addf(out, "%s/batches/batch-%ld.jsonl", cfg->data_dir, id);
}

/* Starts a part: a batch row (preparing, locked) and its file. */
static int part_new(struct part **out, struct cs_score_batch *b,
                    struct cs_store *st, const struct cs_config *cfg,
                    struct cs_err *err)
{
    struct cs_buf dir = CS_BUF_INIT;
    struct part *p;
    long id = 0;
    int ret;

    cs_buf_addf(&dir, "%s/batches", cfg->data_dir);
    ret = cs_fs_mkdirs(dir.ptr, err);
    cs_buf_release(&dir);
    if (!ret)
        ret = cs_store_llm_batch_new(&id, st, cfg->llm_model,
                                     cfg->llm_base_url, err);
    if (ret)
        return ret;
    b->parts = cs_xrealloc(b->parts, (b->n_parts + 1) * sizeof(*b->parts));
    p = &b->parts[b->n_parts++];
    memset(p, 0, sizeof(*p));
    p->id = id;
    cs_buf_init(&p->path);
    cs_buf_init(&p->tmp);
    input_path(&p->path, cfg, id);
    cs_buf_addf(&p->tmp, "%s.tmp", p->path.ptr);
    p->f = fopen(p->tmp.ptr, "wb");
    if (!p->f)
        return cs_err_set(err, CS_EIO, "cannot write '%s': %s", p->tmp.ptr,
                          strerror(errno));
    *out = p;
    return 0;
}

int cs_score_batch_add(struct cs_score_batch *b, struct cs_store *st,
                       const struct cs_config *cfg, const char *tenant,
                       const char *conversation_id, const char *body,
                       const char *body_hash, long prompt_est,
                       size_t metrics, double estimated_cost,
                       struct cs_err *err)
{
    struct cs_store_llm_request rq;
    struct cs_buf line = CS_BUF_INIT;
    struct part *p = NULL;
    json_t *at;
    char custom_id[40];
    int ret = 0;

    snprintf(custom_id, sizeof(custom_id), "cs-%.32s", body_hash);
    rq.custom_id = custom_id;
    rq.tenant = tenant;
    rq.conversation_id = conversation_id;
    rq.body_hash = body_hash;
    rq.prompt_est = prompt_est;
    rq.metrics = (long)metrics;
    /* A body already written: this conversation waits for that line. */
    at = json_object_get(b->ids, custom_id);
    if (at)
        return cs_store_llm_batch_add(st, b->parts[json_integer_value(at)].id,
                                      &rq, 1, err);
    cs_llm_batch_line(&line, custom_id, body);
    if (line.len > (size_t)cfg->llm_batch_max_bytes) {
        ret = cs_err_set(err, CS_ETOOBIG, "its batch request of %zu bytes "
                         "is larger than llm.batch_max_bytes (%ld)",
                         line.len, cfg->llm_batch_max_bytes);
        goto done;
    }
    if (b->n_parts)
        p = &b->parts[b->n_parts - 1];
    /* Full (by either limit of the Batch API): the next batch. */
    if (!p || p->n + 1 > (size_t)cfg->llm_batch_max_requests ||
        p->bytes + line.len > (size_t)cfg->llm_batch_max_bytes)
        ret = part_new(&p, b, st, cfg, err);
    /* Recorded before the conversation's claim is released. */
    if (!ret)
        ret = cs_store_llm_batch_add(st, p->id, &rq, 1, err);
    if (ret)
        goto done;
    if (fwrite(line.ptr, 1, line.len, p->f) != line.len) {
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", p->tmp.ptr,
                         strerror(errno));
        goto done;
    }
    json_object_set_new(b->ids, custom_id,
                        json_integer((json_int_t)(p - b->parts)));
    p->n++;
    p->bytes += line.len;
    p->estimated_cost += estimated_cost;
done:
    cs_buf_release(&line);
    return ret;
}

/* Deletes provider file `file_id` (may be NULL); a failure is a
 * warning: the provider removes its files after a while anyway. */
static void delete_file(struct cs_http *h, const struct cs_config *cfg,
                        const char *file_id)
{
    struct cs_buf url = CS_BUF_INIT;
    struct cs_http_req rq = {"DELETE", NULL, NULL, 0, NULL, NULL, NULL};
    struct cs_err e = {0, ""};
    struct one o;

    if (!file_id)
        return;
    base_url(&url, cfg);
    cs_buf_addf(&url, "/files/%s", file_id);
    rq.url = url.ptr;
    if (do_one(&o, h, &rq, &e) < 0)
        cs_log(CS_LOG_WARN, "cannot delete the provider's file '%s': %s",
               file_id, e.msg);
    free(o.body);
    cs_buf_release(&url);
}

/* Removes local file `path` if it is there; a failure is a warning. */
static void remove_local(const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT)
        cs_log(CS_LOG_WARN, "cannot remove '%s': %s", path, strerror(errno));
}

/* Sends `body` (JSON) to `path` and reads the "id" of its answer into
 * *id_out (new). */
static int post_for_id(char **id_out, struct cs_http *h,
                       struct cs_http_req *rq, const char *what,
                       struct cs_err *err)
{
    struct one o;
    json_t *j;
    const char *id;
    int ret;

    *id_out = NULL;
    ret = do_one(&o, h, rq, err);
    if (ret) {
        free(o.body);
        return ret;
    }
    j = json_loadb(o.body, o.len, 0, NULL);
    id = json_string_value(json_object_get(j, "id"));
    if (id)
        *id_out = cs_xstrdup(id);
    else
        ret = cs_err_set(err, CS_ELLM, "%s answered no id", what);
    json_decref(j);
    free(o.body);
    return ret;
}

/*
 * Hands the whole input file `path` of preparing batch `id` to the
 * provider: uploads it unless `file_id` says it was, records the file,
 * creates the batch and records it as submitted (which releases the
 * batch's advisory lock), then removes the local file.
 */
static int submit_file(struct cs_http *h, struct cs_store *st,
                       const struct cs_config *cfg, long id,
                       const char *path, const char *file_id, size_t n,
                       double cost, struct cs_score_stats *out,
                       struct cs_err *err)
{
    const char *fields[] = {"purpose", "batch", NULL};
    struct cs_http_req rq = {"POST", NULL, NULL, 0, fields, "file", NULL};
    struct cs_buf url = CS_BUF_INIT;
    char *uploaded = NULL, *batch_id = NULL, *text = NULL;
    json_t *body = NULL;
    int ret = 0;

    if (!file_id) {
        base_url(&url, cfg);
        cs_buf_adds(&url, "/files");
        rq.url = url.ptr;
        rq.file_path = path;
        ret = post_for_id(&uploaded, h, &rq, "the file upload", err);
        if (!ret)
            ret = cs_store_llm_batch_uploaded(st, id, uploaded, err);
        if (ret)
            goto done;
        file_id = uploaded;
    }
    body = json_pack("{s:s,s:s,s:s}", "input_file_id", file_id, "endpoint",
                     "/v1/chat/completions", "completion_window", "24h");
    text = cs_llm_dump(body);
    cs_buf_reset(&url);
    base_url(&url, cfg);
    cs_buf_adds(&url, "/batches");
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = url.ptr;
    rq.body = text;
    rq.len = strlen(text);
    ret = post_for_id(&batch_id, h, &rq, "the batch creation", err);
    if (!ret)
        ret = cs_store_llm_batch_submitted(st, id, batch_id, cost, err);
    if (ret)
        goto done;
    out->batches_submitted++;
    cs_log(CS_LOG_INFO, "batch %ld submitted as %s: %zu requests, about "
           "%.4f", id, batch_id, n, cost);
    /* The provider has it, and the store knows: the local copy goes. */
    remove_local(path);
done:
    json_decref(body);
    free(text);
    free(uploaded);
    free(batch_id);
    cs_buf_release(&url);
    return ret;
}

/* Closes part `p`'s file and renames it whole to its path. */
static int part_close(struct part *p, struct cs_err *err)
{
    int bad = ferror(p->f) || fflush(p->f) != 0;

    bad = fclose(p->f) != 0 || bad;
    p->f = NULL;
    if (bad || rename(p->tmp.ptr, p->path.ptr) < 0) {
        int ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s",
                             p->path.ptr, strerror(errno));

        unlink(p->tmp.ptr);
        return ret;
    }
    p->whole = 1;
    return 0;
}

/* Forgets batch `id` (its conversations are asked again), its local
 * input file and its uploaded one; failures are warnings. */
static void drop_batch(struct cs_http *h, struct cs_store *st,
                       const struct cs_config *cfg, long id,
                       const char *file_id)
{
    struct cs_buf path = CS_BUF_INIT;
    struct cs_err e2 = {0, ""};

    if (cs_store_llm_batch_drop(st, id, &e2) < 0)
        cs_log(CS_LOG_WARN, "%s", e2.msg);
    if (h)
        delete_file(h, cfg, file_id);
    input_path(&path, cfg, id);
    remove_local(path.ptr);
    cs_buf_adds(&path, ".tmp");
    remove_local(path.ptr);
    cs_buf_release(&path);
}

int cs_score_batch_submit(struct cs_score_batch *b, struct cs_store *st,
                          const struct cs_config *cfg,
                          struct cs_score_stats *out, struct cs_err *err)
{
    struct cs_http *h = NULL;
    int ret = 0;

    if (!b->n_parts)
        return 0;
    for (size_t i = 0; i < b->n_parts && !ret; i++)
        ret = part_close(&b->parts[i], err);
    if (!ret)
        ret = ops_new(&h, cfg, err);
    for (size_t i = 0; i < b->n_parts && !ret; i++) {
        struct part *p = &b->parts[i];

        ret = submit_file(h, st, cfg, p->id, p->path.ptr, NULL, p->n,
                          p->estimated_cost, out, err);
    }
    /*
     * What was not submitted: a batch whose whole file is written stays
     * preparing, unlocked, so that the next collecting run submits it
     * from that file (once); the others are dropped, and their
     * conversations asked again by the next run.
     */
    for (size_t i = 0; ret && i < b->n_parts; i++) {
        struct part *p = &b->parts[i];
        struct cs_err e2 = {0, ""};
        int preparing = 0;

        if (cs_store_llm_batch_preparing(&preparing, st, p->id, &e2) < 0 ||
            !preparing)
            continue; /* submitted, or gone */
        if (p->whole) {
            cs_log(CS_LOG_WARN, "batch %ld was not submitted: kept in '%s' "
                   "for the next run", p->id, p->path.ptr);
            cs_store_llm_batch_leave(st, p->id);
        } else {
            drop_batch(NULL, st, cfg, p->id, NULL);
        }
    }
    cs_http_free(h);
    return ret;
}

/* ---- the batches submitted before ---- */

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
        struct cs_buf path = CS_BUF_INIT;

        out->batches_ended++;
        cs_log(CS_LOG_INFO, "batch %ld (%s) ended: %s", b->id,
               b->provider_id, s.status);
        /* Its answers are stored: the provider's files are not needed. */
        delete_file(h, cfg, b->input_file_id);
        delete_file(h, cfg, s.output_file_id);
        delete_file(h, cfg, s.error_file_id);
        input_path(&path, cfg, b->id);
        remove_local(path.ptr);
        cs_buf_release(&path);
    }
done:
    cs_store_llm_batch_unlock(st, b->id);
    cs_llm_batch_status_release(&s);
    free(o.body);
    cs_buf_release(&url);
    return ret;
}

/*
 * A batch left preparing by a run that is gone: submitted from its whole
 * input file if it has one and was not tried so before, else dropped
 * (its requests go again). A failed try drops it too: a warning, not the
 * run's error, since its conversations are asked again.
 */
static int resubmit(struct cs_http *h, struct cs_store *st,
                    const struct cs_config *cfg,
                    const struct cs_store_llm_batch *b,
                    struct cs_score_stats *out, struct cs_err *err)
{
    struct cs_buf path = CS_BUF_INIT;
    struct cs_err e2 = {0, ""};
    int how = 0, ret;

    ret = cs_store_llm_batch_adopt(&how, st, b->id, err);
    if (ret || how == CS_STORE_BATCH_NOT_OURS)
        return ret;
    input_path(&path, cfg, b->id);
    if (how == CS_STORE_BATCH_RETRY && cs_fs_exists(path.ptr)) {
        cs_log(CS_LOG_INFO, "batch %ld was not submitted: submitting it "
               "from '%s'", b->id, path.ptr);
        if (submit_file(h, st, cfg, b->id, path.ptr, b->input_file_id,
                        (size_t)b->requests, b->estimated_cost, out,
                        &e2) == 0)
            goto done;
        cs_log(CS_LOG_WARN, "batch %ld cannot be submitted (%s): dropped, "
               "its requests go again", b->id, e2.msg);
    } else {
        cs_log(CS_LOG_WARN, "batch %ld was never submitted: dropped, its "
               "requests go again", b->id);
    }
    drop_batch(h, st, cfg, b->id, b->input_file_id);
done:
    cs_buf_release(&path);
    return 0;
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
        if (b[i].orphan)
            ret = resubmit(h, st, cfg, &b[i], out, err);
        else if (b[i].submitted)
            ret = collect_one(h, st, cfg, &b[i], out, err);
    }
    cs_http_free(h);
    cs_store_llm_batches_free(b, n);
    return ret;
}
