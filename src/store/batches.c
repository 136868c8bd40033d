/* batches.c - LLM batches handed to a provider, and their requests */
#include "store/batches.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/store_internal.h"

/* Advisory lock classes ("cs", 2 and 3): a batch being prepared, and a
 * batch being collected. */
#define PREPARE_LOCK 0x63730002
#define COLLECT_LOCK 0x63730003

/* Runs `sql` with `n` text parameters; rows are not wanted. */
static int run(struct cs_store *st, const char *sql, int n,
               const char *const *params, const char *what,
               struct cs_err *err)
{
    PGresult *r = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL, 0);
    int ret = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, what);
    PQclear(r);
    return ret;
}

static char *dup_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL
                                    : cs_xstrdup(PQgetvalue(r, row, col));
}

int cs_store_llm_batch_new(long *id_out, struct cs_store *st,
                           const char *model, const char *base_url,
                           struct cs_err *err)
{
    const char *params[2] = {model, base_url};
    char sql[96];
    PGresult *r;
    int ret = 0;

    *id_out = 0;
    r = PQexecParams(st->conn, "INSERT INTO llm_batches (model, base_url, "
                     "status) VALUES ($1, $2, 'preparing') RETURNING id", 2,
                     NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot make a batch");
        PQclear(r);
        return ret;
    }
    *id_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%d, %ld)",
             PREPARE_LOCK, *id_out);
    return cs_store_exec(st, sql, err);
}

int cs_store_llm_batch_add(struct cs_store *st, long id,
                           const struct cs_store_llm_request *reqs, size_t n,
                           struct cs_err *err)
{
    struct cs_buf rows = CS_BUF_INIT;
    char idtext[32];
    const char *params[2] = {idtext, NULL};
    int ret;

    if (n == 0)
        return 0;
    snprintf(idtext, sizeof(idtext), "%ld", id);
    cs_buf_addch(&rows, '[');
    for (size_t i = 0; i < n; i++) {
        cs_buf_adds(&rows, i ? ",[" : "[");
        cs_store_json_str(&rows, reqs[i].custom_id);
        cs_buf_addch(&rows, ',');
        cs_store_json_str(&rows, reqs[i].tenant);
        cs_buf_addch(&rows, ',');
        cs_store_json_str(&rows, reqs[i].conversation_id);
        cs_buf_addch(&rows, ',');
        cs_store_json_str(&rows, reqs[i].body_hash);
        cs_buf_addf(&rows, ",%ld,%ld]", reqs[i].prompt_est,
                    reqs[i].metrics);
    }
    cs_buf_addch(&rows, ']');
    params[1] = rows.ptr;
    ret = run(st, "INSERT INTO llm_batch_requests (batch_id, custom_id, "
              "tenant, conversation_id, body_hash, prompt_est, metrics) "
              "SELECT $1::bigint, k->>0, k->>1, k->>2, k->>3, (k->>4)::int, "
              "(k->>5)::int FROM jsonb_array_elements($2::jsonb) AS k "
              "ON CONFLICT DO NOTHING", 2, params, "cannot record batch "
              "requests", err);
    if (!ret)
        ret = run(st, "UPDATE llm_batches SET requests = (SELECT "
                  "count(DISTINCT custom_id) FROM llm_batch_requests WHERE "
                  "batch_id = $1::bigint) WHERE id = $1::bigint", 1, params,
                  "cannot count batch requests", err);
    cs_buf_release(&rows);
    return ret;
}

int cs_store_llm_batch_uploaded(struct cs_store *st, long id,
                                const char *input_file_id,
                                struct cs_err *err)
{
    char idtext[32];
    const char *params[2] = {idtext, input_file_id};

    snprintf(idtext, sizeof(idtext), "%ld", id);
    return run(st, "UPDATE llm_batches SET input_file_id = $2 WHERE id = "
               "$1::bigint", 2, params, "cannot record a batch file", err);
}

int cs_store_llm_batch_submitted(struct cs_store *st, long id,
                                 const char *provider_id, double cost,
                                 struct cs_err *err)
{
    char idtext[32], costtext[64], sql[96];
    const char *params[3] = {idtext, provider_id, costtext};
    int ret;

    snprintf(idtext, sizeof(idtext), "%ld", id);
    snprintf(costtext, sizeof(costtext), "%.17g", cost);
    ret = run(st, "UPDATE llm_batches SET provider_id = $2, status = "
              "'submitted', submitted_at = now(), estimated_cost = "
              "$3::float8 WHERE id = $1::bigint", 3, params,
              "cannot record a submitted batch", err);
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, %ld)",
             PREPARE_LOCK, id);
    if (!ret)
        ret = cs_store_exec(st, sql, err);
    return ret;
}

int cs_store_llm_batch_open(struct cs_store_llm_batch **out, size_t *n_out,
                            struct cs_store *st, struct cs_err *err)
{
    struct cs_store_llm_batch *b = NULL;
    char sql[640];
    PGresult *r;
    int n, ret = 0;

    *out = NULL;
    *n_out = 0;
    /* A preparing batch whose lock can be taken has lost its process; the
     * lock taken to find out is given back at once. */
    snprintf(sql, sizeof(sql),
             "SELECT id, provider_id, input_file_id, model, base_url, "
             "status = 'submitted', requests, estimated_cost, "
             "status = 'preparing' AND pg_try_advisory_lock(%d, id::int) "
             "FROM llm_batches WHERE status IN ('preparing', 'submitted') "
             "ORDER BY id", PREPARE_LOCK);
    r = PQexec(st->conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot list open batches");
        PQclear(r);
        return ret;
    }
    n = PQntuples(r);
    b = cs_xcalloc(n ? (size_t)n : 1, sizeof(*b));
    for (int i = 0; i < n; i++) {
        b[i].id = strtol(PQgetvalue(r, i, 0), NULL, 10);
        b[i].provider_id = dup_or_null(r, i, 1);
        b[i].input_file_id = dup_or_null(r, i, 2);
        b[i].model = cs_xstrdup(PQgetvalue(r, i, 3));
        b[i].base_url = cs_xstrdup(PQgetvalue(r, i, 4));
        b[i].submitted = PQgetvalue(r, i, 5)[0] == 't';
        b[i].requests = strtol(PQgetvalue(r, i, 6), NULL, 10);
        b[i].estimated_cost = strtod(PQgetvalue(r, i, 7), NULL);
        b[i].orphan = PQgetvalue(r, i, 8)[0] == 't';
    }
    PQclear(r);
    for (int i = 0; i < n; i++) {
        if (!b[i].orphan)
            continue;
        snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, %ld)",
                 PREPARE_LOCK, b[i].id);
        PQclear(PQexec(st->conn, sql));
    }
    *out = b;
    *n_out = (size_t)n;
    return 0;
}

void cs_store_llm_batches_free(struct cs_store_llm_batch *b, size_t n)
{
    if (!b)
        return;
    for (size_t i = 0; i < n; i++) {
        free(b[i].provider_id);
        free(b[i].input_file_id);
        free(b[i].model);
        free(b[i].base_url);
    }
    free(b);
}

int cs_store_llm_batch_lock(int *got, struct cs_store *st, long id,
                            struct cs_err *err)
{
    char sql[96];
    PGresult *r;
    int ret = 0;

    *got = 0;
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%d, %ld)",
             COLLECT_LOCK, id);
    r = PQexec(st->conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot lock a batch");
    else
        *got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return ret;
}

void cs_store_llm_batch_unlock(struct cs_store *st, long id)
{
    char sql[96];

    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, %ld)",
             COLLECT_LOCK, id);
    PQclear(PQexec(st->conn, sql));
}

int cs_store_llm_batch_checked(struct cs_store *st, long id,
                               const char *provider_status,
                               struct cs_err *err)
{
    char idtext[32];
    const char *params[2] = {idtext, provider_status};

    snprintf(idtext, sizeof(idtext), "%ld", id);
    return run(st, "UPDATE llm_batches SET provider_status = $2, "
               "checked_at = now() WHERE id = $1::bigint", 2, params,
               "cannot record a batch's status", err);
}

int cs_store_llm_batch_answers(struct cs_store *st, long id,
                               const struct cs_store_llm_answer *a, size_t n,
                               long *stored, struct cs_err *err)
{
    struct cs_buf rows = CS_BUF_INIT;
    char idtext[32];
    const char *params[2] = {idtext, NULL};
    PGresult *r;
    int ret = 0;

    if (stored)
        *stored = 0;
    if (n == 0)
        return 0;
    snprintf(idtext, sizeof(idtext), "%ld", id);
    cs_buf_addch(&rows, '[');
    for (size_t i = 0; i < n; i++) {
        cs_buf_adds(&rows, i ? ",[" : "[");
        cs_store_json_str(&rows, a[i].custom_id);
        cs_buf_addch(&rows, ',');
        if (a[i].answer)
            cs_store_json_str(&rows, a[i].answer);
        else
            cs_buf_adds(&rows, "null");
        cs_buf_addch(&rows, ',');
        if (a[i].error)
            cs_store_json_str(&rows, a[i].error);
        else
            cs_buf_adds(&rows, "null");
        cs_buf_addch(&rows, ']');
    }
    cs_buf_addch(&rows, ']');
    params[1] = rows.ptr;
    r = PQexecParams(st->conn, "UPDATE llm_batch_requests q SET answer = "
                     "k->>1, error = k->>2 FROM jsonb_array_elements("
                     "$2::jsonb) AS k WHERE q.batch_id = $1::bigint AND "
                     "q.custom_id = k->>0", 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot store batch "
                              "answers");
    else if (stored)
        *stored = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    cs_buf_release(&rows);
    return ret;
}

int cs_store_llm_batch_end(struct cs_store *st, long id, const char *status,
                           const char *provider_status, const char *error,
                           struct cs_err *err)
{
    char idtext[32];
    const char *params[4] = {idtext, status, provider_status, error};
    int ret;

    snprintf(idtext, sizeof(idtext), "%ld", id);
    ret = run(st, "UPDATE llm_batches b SET status = $2, provider_status = "
              "$3, error = $4, ended_at = now(), checked_at = now(), "
              "answered = (SELECT count(DISTINCT custom_id) FROM "
              "llm_batch_requests q WHERE q.batch_id = b.id AND q.answer IS "
              "NOT NULL), failed = (SELECT count(DISTINCT custom_id) FROM "
              "llm_batch_requests q WHERE q.batch_id = b.id AND q.answer IS "
              "NULL) WHERE id = $1::bigint", 4, params,
               "cannot record the end of a batch", err);
    /* Nothing waits on what was not answered: it is asked again. */
    if (!ret)
        ret = run(st, "DELETE FROM llm_batch_requests WHERE batch_id = "
                  "$1::bigint AND answer IS NULL AND error IS NULL", 1,
                  params, "cannot forget unanswered batch requests", err);
    return ret;
}

/* cs_store_ask with batch id `id` as its parameter. */
static int ask(int *out, struct cs_store *st, const char *sql, long id,
               const char *what, struct cs_err *err)
{
    char idtext[32];

    snprintf(idtext, sizeof(idtext), "%ld", id);
    return cs_store_ask(out, st, sql, idtext, what, err);
}

int cs_store_llm_batch_preparing(int *out, struct cs_store *st, long id,
                                 struct cs_err *err)
{
    return ask(out, st, "SELECT status = 'preparing' FROM llm_batches "
               "WHERE id = $1::bigint", id, "cannot read a batch", err);
}

void cs_store_llm_batch_leave(struct cs_store *st, long id)
{
    char sql[96];

    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, %ld)",
             PREPARE_LOCK, id);
    PQclear(PQexec(st->conn, sql));
}

int cs_store_llm_batch_adopt(int *out, struct cs_store *st, long id,
                             struct cs_err *err)
{
    char sql[96];
    int got = 0, ret;

    *out = CS_STORE_BATCH_NOT_OURS;
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%d, $1::int)",
             PREPARE_LOCK);
    ret = ask(&got, st, sql, id, "cannot lock a batch", err);
    if (ret || !got)
        return ret;
    /* Marked once; a batch marked before was tried already. */
    ret = ask(&got, st, "UPDATE llm_batches SET provider_status = "
              "'resubmitting' WHERE id = $1::bigint AND status = "
              "'preparing' AND provider_status IS NULL RETURNING true", id,
              "cannot adopt a batch", err);
    if (!ret && got) {
        *out = CS_STORE_BATCH_RETRY;
        return 0;
    }
    if (!ret)
        ret = cs_store_llm_batch_preparing(&got, st, id, err);
    if (!ret && got)
        *out = CS_STORE_BATCH_DROP;
    else
        cs_store_llm_batch_leave(st, id);
    return ret;
}

int cs_store_llm_batches_prune(long *n_out, struct cs_store *st, long days,
                               int dry_run, struct cs_err *err)
{
    char daystext[32];
    const char *params[1] = {daystext};
    PGresult *r;
    int ret = 0;

    snprintf(daystext, sizeof(daystext), "%ld", days);
    r = PQexecParams(st->conn, dry_run
                     ? "SELECT count(*) FROM llm_batches WHERE status NOT IN "
                       "('preparing', 'submitted') AND ended_at < now() - "
                       "make_interval(days => $1::int)"
                     : "WITH d AS (DELETE FROM llm_batches WHERE status NOT "
                       "IN ('preparing', 'submitted') AND ended_at < now() "
                       "- make_interval(days => $1::int) RETURNING 1) "
                       "SELECT count(*) FROM d", 1, NULL, params, NULL, NULL,
                     0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot prune ended "
                              "batches");
    else
        *n_out += strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return ret;
}

int cs_store_llm_batch_drop(struct cs_store *st, long id,
                            struct cs_err *err)
{
    char idtext[32], sql[320];
    const char *params[1] = {idtext};
    int ret;

    snprintf(idtext, sizeof(idtext), "%ld", id);
    ret = run(st, "DELETE FROM llm_batches WHERE id = $1::bigint", 1, params,
              "cannot drop a batch", err);
    /* Ours when it failed while preparing; a no-op (false) otherwise. */
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, %ld) WHERE "
             "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
             "AND pid = pg_backend_pid() AND classid::int = %d AND "
             "objid::bigint = %ld)", PREPARE_LOCK, id, PREPARE_LOCK, id);
    if (!ret)
        ret = cs_store_exec(st, sql, err);
    return ret;
}

int cs_store_llm_waiting(struct cs_store_llm_waiting **out, size_t *n_out,
                         struct cs_store *st, const char *tenant,
                         const char *conversation_id, struct cs_err *err)
{
    const char *params[2] = {tenant, conversation_id};
    struct cs_store_llm_waiting *w;
    PGresult *r;
    int n, ret = 0;

    *out = NULL;
    *n_out = 0;
    r = PQexecParams(st->conn, "SELECT q.batch_id, q.body_hash, q.answer, "
                     "q.error, q.prompt_est, b.status IN ('preparing', "
                     "'submitted') FROM llm_batch_requests q JOIN "
                     "llm_batches b ON b.id = q.batch_id WHERE q.tenant = $1 "
                     "AND q.conversation_id = $2 AND (b.status IN "
                     "('preparing', 'submitted') OR q.answer IS NOT NULL "
                     "OR q.error IS NOT NULL) ORDER BY q.batch_id DESC", 2,
                     NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read batch answers");
        PQclear(r);
        return ret;
    }
    n = PQntuples(r);
    w = cs_xcalloc(n ? (size_t)n : 1, sizeof(*w));
    for (int i = 0; i < n; i++) {
        w[i].batch_id = strtol(PQgetvalue(r, i, 0), NULL, 10);
        w[i].body_hash = cs_xstrdup(PQgetvalue(r, i, 1));
        w[i].answer = dup_or_null(r, i, 2);
        w[i].error = dup_or_null(r, i, 3);
        w[i].prompt_est = strtol(PQgetvalue(r, i, 4), NULL, 10);
        w[i].open = PQgetvalue(r, i, 5)[0] == 't';
    }
    PQclear(r);
    *out = w;
    *n_out = (size_t)n;
    return 0;
}

void cs_store_llm_waiting_free(struct cs_store_llm_waiting *w, size_t n)
{
    if (!w)
        return;
    for (size_t i = 0; i < n; i++) {
        free(w[i].body_hash);
        free(w[i].answer);
        free(w[i].error);
    }
    free(w);
}

int cs_store_llm_consumed(struct cs_store *st, const char *keys,
                          struct cs_err *err)
{
    const char *params[1] = {keys};

    return run(st, "DELETE FROM llm_batch_requests q USING "
               "jsonb_array_elements($1::jsonb) AS k WHERE q.batch_id = "
               "(k->>0)::bigint AND q.tenant = k->>1 AND q.conversation_id = "
               "k->>2 AND q.body_hash = k->>3", 1, params,
               "cannot drop used batch answers", err);
}

int cs_store_llm_batch_any(int *out, struct cs_store *st, struct cs_err *err)
{
    PGresult *r = PQexec(st->conn, "SELECT EXISTS (SELECT 1 FROM "
                         "llm_batch_requests)");
    int ret = 0;

    *out = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot look for batches");
    else
        *out = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return ret;
}
