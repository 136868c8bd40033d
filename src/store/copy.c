/* copy.c - bulk loading of conversations with the COPY protocol */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/partition.h"
#include "store/row.h"

/* Where each buffered row came from, to report a row the server refuses. */
struct row_src {
    size_t offset;      /* start of the row in `rows` */
    const char *file;
    long line;
    const char *key;    /* "tenant\x1fid", in `keys` */
};

struct cs_store_batch {
    struct cs_store *st;
    size_t max_rows;
    size_t max_bytes;
    struct cs_buf rows;     /* COPY text rows */
    struct row_src *src;
    size_t n, cap;
    /* Open-addressing set of the keys in this batch, to flush before a
     * second version of the same conversation (the later one must win). */
    char **set;
    size_t set_cap;
    struct cs_buf ids;      /* JSON array of [tenant, id] for the delete */
    struct cs_buf copy_sql; /* the COPY statement (store/row.h) */
    cs_reject_fn on_reject;
    void *ctx;
    uint64_t stored;
    long long batch_id;     /* ingest_batch of the rows being written */
    char suffix[32];        /* "\t<batch_id>\n", the rows' last column */
    size_t suffix_len;
    long long next_batch;
    int copying;            /* a COPY is open and rows are streaming */
    size_t sent;            /* bytes of `rows` already sent */
    char state[6];          /* SQLSTATE of the last failed step, or "" */
    char missing[64];       /* started_at of a row with no month, or "" */
    uint64_t rng;           /* jitter of the retry waits */
};

/*
 * A batch that fails with a deadlock (40P01) or a serialization failure
 * (40001) is rolled back as a whole and written again, at most
 * RETRY_TRIES tries in all, after a wait drawn uniformly from
 * [0, min(RETRY_MAX_MS, RETRY_BASE_MS * 2^(try-1))] ("full jitter", so
 * two processes that collided do not collide again in step). Concurrent
 * ingests of overlapping files meet there: each waits for the other's
 * uncommitted rows of the same conversations (the deferred key, the
 * delete of older versions), and PostgreSQL breaks the cycle by failing
 * one of them.
 */
#define RETRY_TRIES 8
#define RETRY_BASE_MS 50
#define RETRY_MAX_MS 2000

static void set_suffix(struct cs_store_batch *b)
{
    int n = snprintf(b->suffix, sizeof(b->suffix), "\t%lld\n", b->batch_id);

    b->suffix_len = n > 0 ? (size_t)n : 0;
}

int cs_store_batch_new(struct cs_store_batch **out, struct cs_store *st,
                       size_t max_rows, cs_reject_fn on_reject, void *ctx)
{
    struct cs_store_batch *b = cs_xcalloc(1, sizeof(*b));

    b->st = st;
    b->max_rows = max_rows ? max_rows : 5000;
    b->max_bytes = 32u << 20;
    cs_buf_init(&b->rows);
    cs_buf_init(&b->ids);
    cs_buf_init(&b->copy_sql);
    cs_store_row_copy_sql(&b->copy_sql);
    b->on_reject = on_reject;
    b->ctx = ctx;
    b->set_cap = 1;
    while (b->set_cap < b->max_rows * 2)
        b->set_cap <<= 1;
    b->set = cs_xcalloc(b->set_cap, sizeof(*b->set));
    /* Unique enough across processes: microseconds since the epoch, then
     * +1 per batch. Only "differs from older rows" matters. */
    {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        b->batch_id = (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
        b->next_batch = b->batch_id + 1;
        b->rng = (uint64_t)b->batch_id ^ ((uint64_t)getpid() << 32) ^
                 0x9e3779b97f4a7c15ULL;
    }
    set_suffix(b);
    *out = b;
    return 0;
}

/* Returns 1 if `key` was already in the set, else inserts it (owned). */
static int set_insert(struct cs_store_batch *b, char *key, char **stored)
{
    size_t i = cs_fnv1a64(key, strlen(key)) & (b->set_cap - 1);

    while (b->set[i]) {
        if (strcmp(b->set[i], key) == 0)
            return 1;
        i = (i + 1) & (b->set_cap - 1);
    }
    b->set[i] = key;
    *stored = key;
    return 0;
}

static void set_clear(struct cs_store_batch *b)
{
    for (size_t i = 0; i < b->set_cap; i++) {
        free(b->set[i]);
        b->set[i] = NULL;
    }
}

static int dump_append(const char *buffer, size_t size, void *data)
{
    cs_buf_add(data, buffer, size);
    return 0;
}

/* Dumped through a callback: no string allocated by jansson, whose
 * allocator may be the ingest arena (ingest/arena.h). */
void cs_store_json_str(struct cs_buf *b, const char *s)
{
    json_t *j = json_string(s);

    json_dump_callback(j, dump_append, b, JSON_ENCODE_ANY);
    json_decref(j);
}

/* The [tenant, id] pairs of the batch as JSON, for the delete. */
static void rebuild_ids(struct cs_store_batch *b)
{
    cs_buf_reset(&b->ids);
    cs_buf_addch(&b->ids, '[');
    for (size_t i = 0; i < b->n; i++) {
        const char *k = b->src[i].key, *sep = strchr(k, '\x1f');
        char *tenant = cs_xstrndup(k, (size_t)(sep - k));

        cs_buf_adds(&b->ids, i ? ",[" : "[");
        cs_store_json_str(&b->ids, tenant);
        cs_buf_addch(&b->ids, ',');
        cs_store_json_str(&b->ids, sep + 1);
        cs_buf_addch(&b->ids, ']');
        free(tenant);
    }
    cs_buf_addch(&b->ids, ']');
}

/* Keeps the SQLSTATE of a failed result for the retry decision. */
static void note_state(struct cs_store_batch *b, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                            : NULL;

    snprintf(b->state, sizeof(b->state), "%s", state ? state : "");
}

static int retryable(const struct cs_store_batch *b)
{
    return strcmp(b->state, "40P01") == 0 || strcmp(b->state, "40001") == 0;
}

/* Waits before retry number `retry` (1 for the first), with full jitter. */
static void retry_wait(struct cs_store_batch *b, int retry)
{
    long cap = RETRY_BASE_MS, ms;
    struct timespec ts;

    for (int i = 1; i < retry && cap < RETRY_MAX_MS; i++)
        cap *= 2;
    if (cap > RETRY_MAX_MS)
        cap = RETRY_MAX_MS;
    /* xorshift64 */
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    ms = (long)(b->rng % (uint64_t)(cap + 1));
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/*
 * Where the rows of the batch came from, for an error: "FILE lines A-B",
 * one range per run of rows from the same file (at most four, then how
 * many more).
 */
static void batch_where(const struct cs_store_batch *b, struct cs_buf *out)
{
    size_t i = 0, runs = 0;

    while (i < b->n) {
        size_t j = i;
        long lo = b->src[i].line, hi = b->src[i].line;

        while (j + 1 < b->n && b->src[j + 1].file == b->src[i].file) {
            j++;
            if (b->src[j].line < lo)
                lo = b->src[j].line;
            if (b->src[j].line > hi)
                hi = b->src[j].line;
        }
        if (runs == 4) {
            cs_buf_addf(out, ", and rows from more files");
            return;
        }
        cs_buf_addf(out, "%s'%s' line%s %ld", runs ? ", " : "",
                    b->src[i].file ? b->src[i].file : "?",
                    lo == hi ? "" : "s", lo);
        if (hi != lo)
            cs_buf_addf(out, "-%ld", hi);
        runs++;
        i = j + 1;
    }
}

/* Adds to a store error which conversations it concerns. */
static int with_context(const struct cs_store_batch *b, int ret,
                        struct cs_err *err)
{
    struct cs_buf where = CS_BUF_INIT;

    if (!err || b->n == 0)
        return ret;
    batch_where(b, &where);
    cs_err_set(err, ret, "%s (batch of %zu conversations: %s)", err->msg,
               b->n, where.ptr);
    cs_buf_release(&where);
    return ret;
}

/*
 * How a batch is written. The primary key is DEFERRABLE INITIALLY
 * DEFERRED, so rows can stream into an open COPY while the next lines are
 * still being parsed (client and server work at the same time); at the end
 * of the batch the older versions of the same conversations are deleted
 * and the transaction commits, which is when the key is checked.
 */
static int begin_copy(struct cs_store_batch *b, struct cs_err *err)
{
    PGresult *res;
    int ret;

    b->state[0] = '\0';
    ret = cs_store_exec(b->st, "BEGIN", err);
    if (ret)
        return ret;
    res = PQexec(b->st->conn, b->copy_sql.ptr);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        note_state(b, res);
        ret = cs_store_pg_err(err, b->st->conn, res, "cannot start COPY");
        PQclear(res);
        PQclear(PQexec(b->st->conn, "ROLLBACK"));
        return ret;
    }
    PQclear(res);
    b->copying = 1;
    b->sent = 0;
    return 0;
}

/* Sends the rows not sent yet. */
static int send_rows(struct cs_store_batch *b, struct cs_err *err)
{
    while (b->sent < b->rows.len) {
        size_t n = b->rows.len - b->sent;

        if (n > (1u << 20))
            n = 1u << 20;
        if (PQputCopyData(b->st->conn, b->rows.ptr + b->sent, (int)n) != 1)
            return cs_store_pg_err(err, b->st->conn, NULL, "COPY failed");
        b->sent += n;
    }
    return 0;
}

/* The row number COPY complains about ("COPY conversations, line 42"). */
static long copy_error_line(PGresult *res)
{
    const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
    const char *p = ctx ? strstr(ctx, ", line ") : NULL;

    return p ? strtol(p + 7, NULL, 10) : 0;
}

/* One statement of the batch's transaction; a failure keeps its
 * SQLSTATE. */
static int run_step(struct cs_store_batch *b, const char *sql, int n,
                    const char *const *params, const char *what,
                    struct cs_err *err)
{
    PGresult *res = PQexecParams(b->st->conn, sql, n, NULL, params, NULL,
                                 NULL, 0);
    int ret = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        note_state(b, res);
        ret = cs_store_pg_err(err, b->st->conn, res, what);
    }
    PQclear(res);
    return ret;
}

/* Ends the COPY, replaces older versions and commits. On a refused row
 * sets *bad_row (1-based); b->state holds the SQLSTATE of a failed step.
 * Always leaves no transaction open. */
static int finish_copy(struct cs_store_batch *b, int replace, long *bad_row,
                       int *conflict, struct cs_err *err)
{
    PGconn *conn = b->st->conn;
    PGresult *res = NULL;
    char batch[32];
    const char *params[2] = {NULL, batch};
    int ret = send_rows(b, err);

    *bad_row = 0;
    *conflict = 0;
    b->copying = 0;
    if (PQputCopyEnd(conn, ret ? "aborted" : NULL) != 1 && !ret)
        ret = cs_store_pg_err(err, conn, NULL, "COPY failed");
    res = PQgetResult(conn);
    if (!ret && PQresultStatus(res) != PGRES_COMMAND_OK) {
        note_state(b, res);
        if (!cs_store_missing_partition(res, b->missing, sizeof(b->missing)))
            *bad_row = copy_error_line(res);
        ret = cs_store_pg_err(err, conn, res, "COPY failed");
    }
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
    if (ret)
        goto done;
    if (!replace)
        goto commit;
    rebuild_ids(b);
    params[0] = b->ids.ptr;
    snprintf(batch, sizeof(batch), "%lld", b->batch_id);
    /* The older versions' months from their keys (partition.c), so
     * that each is looked up in its own month only. */
    ret = run_step(b, "DELETE FROM conversations c USING "
                   "jsonb_array_elements($1::jsonb) AS d(k) "
                   "JOIN conversation_keys o ON o.tenant = d.k->>0 "
                   "AND o.id = d.k->>1 AND o.ingest_batch <> $2::bigint "
                   "WHERE c.tenant = o.tenant AND c.id = o.id "
                   "AND c.started_at = o.started_at "
                   "AND c.ingest_batch = o.ingest_batch", 2, params,
                   "cannot replace conversations", err);
    /* Results live in their conversation's month (partition.c): those of
     * a conversation that moved go with it. */
    if (!ret)
        ret = run_step(b, "UPDATE results r SET started_at = c.started_at"
                       " FROM jsonb_array_elements($1::jsonb) AS d(k)"
                       " JOIN conversations c ON c.tenant = d.k->>0"
                       " AND c.id = d.k->>1 WHERE r.tenant = c.tenant"
                       " AND r.conversation_id = c.id"
                       " AND r.started_at <> c.started_at", 1, params,
                       "cannot move the results of replaced conversations",
                       err);
    if (ret)
        goto done;
commit:
    /* The deferred key is checked here: a conflict means some of these
     * conversations were stored before, and the caller replaces them. */
    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        note_state(b, res);
        *conflict = strcmp(b->state, "23505") == 0;
        ret = cs_store_pg_err(err, conn, res, "COMMIT failed");
    }
    PQclear(res);
    return ret;
done:
    PQclear(PQexec(conn, "ROLLBACK"));
    return ret;
}

/* Drops row i (0-based) from the buffer. */
static void drop_row(struct cs_store_batch *b, size_t i)
{
    size_t start = b->src[i].offset;
    size_t end = i + 1 < b->n ? b->src[i + 1].offset : b->rows.len;
    size_t len = end - start;

    memmove(b->rows.ptr + start, b->rows.ptr + end, b->rows.len - end);
    b->rows.len -= len;
    b->rows.ptr[b->rows.len] = '\0';
    memmove(&b->src[i], &b->src[i + 1], (b->n - i - 1) * sizeof(*b->src));
    b->n--;
    for (size_t j = i; j < b->n; j++)
        b->src[j].offset -= len;
}

/* Creates the months of the batch's rows (their started_at column). */
static int create_months(struct cs_store_batch *b, struct cs_err *err)
{
    struct cs_buf times = CS_BUF_INIT;
    size_t col = cs_store_row_started_col();
    int ret;

    cs_buf_addch(&times, '[');
    for (size_t i = 0; i < b->n; i++) {
        const char *p = b->rows.ptr + b->src[i].offset, *q;

        for (size_t k = 0; k < col && p; k++) {
            p = strchr(p, '\t');
            p = p ? p + 1 : NULL;
        }
        q = p ? strchr(p, '\t') : NULL;
        if (!q)
            continue;
        cs_buf_adds(&times, times.len > 1 ? ",\"" : "\"");
        cs_buf_add(&times, p, (size_t)(q - p));
        cs_buf_addch(&times, '"');
    }
    cs_buf_addch(&times, ']');
    ret = cs_store_partitions_for_times(b->st, times.ptr, err);
    cs_buf_release(&times);
    return ret;
}

/*
 * Writing new conversations is the common case, so a batch first commits
 * without looking for older versions; only when the commit finds one (the
 * deferred key) is it written again with the delete. Re-ingesting costs
 * twice, first ingests nothing extra.
 */
int cs_store_batch_flush(struct cs_store_batch *b, struct cs_err *err)
{
    int ret = 0, replace = 0, conflict, tries = 1, months = 0;
    long bad;

    if (!b || (b->n == 0 && !b->copying))
        return 0;
    if (!b->copying)
        ret = begin_copy(b, err);
    while (!ret) {
        ret = finish_copy(b, replace, &bad, &conflict, err);
        if (ret == 0) {
            b->stored += b->n;
            break;
        }
        if (conflict && !replace) {
            replace = 1;
            cs_err_clear(err);
            ret = begin_copy(b, err);
            continue;
        }
        /* A row of a month not created yet (a backfill): create the
         * months of every row of the batch and write it again (twice at
         * most: the second time only if a month went meanwhile). */
        if (b->missing[0] && months++ < 2) {
            cs_log(CS_LOG_DEBUG, "creating the months of the batch (%s "
                   "has none)", b->missing);
            cs_err_clear(err);
            ret = create_months(b, err);
            b->missing[0] = '\0';
            if (!ret)
                ret = begin_copy(b, err);
            continue;
        }
        b->missing[0] = '\0';
        if (retryable(b) && tries < RETRY_TRIES) {
            cs_log(CS_LOG_INFO, "%s: writing the batch again (try %d of "
                   "%d)", strcmp(b->state, "40P01") == 0
                              ? "deadlock detected"
                              : "serialization failure",
                   tries + 1, RETRY_TRIES);
            retry_wait(b, tries++);
            cs_err_clear(err);
            ret = begin_copy(b, err);
            continue;
        }
        if (retryable(b) && err)
            cs_err_set(err, ret, "%s (after %d tries)", err->msg, tries);
        if (bad < 1 || (size_t)bad > b->n)
            break;
        /* The server refused one row: report it, retry without it. */
        if (b->on_reject)
            b->on_reject(b->ctx, b->src[bad - 1].file, b->src[bad - 1].line,
                         err ? err->msg : "refused by the database");
        drop_row(b, (size_t)bad - 1);
        cs_err_clear(err);
        if (b->n == 0)
            break;
        ret = begin_copy(b, err);
    }
    if (ret)
        with_context(b, ret, err);
    cs_buf_reset(&b->rows);
    b->n = 0;
    b->sent = 0;
    b->batch_id = b->next_batch++;
    set_suffix(b);
    set_clear(b);
    return ret;
}

int cs_store_batch_add_row(struct cs_store_batch *b, const char *key,
                           const char *text, size_t len,
                           const char *src_file, long src_line,
                           struct cs_err *err)
{
    char *mine = cs_xstrdup(key), *stored = NULL;
    int ret;

    if (set_insert(b, mine, &stored)) {
        /* Same conversation twice in one batch: write the first, so the
         * second replaces it. */
        ret = cs_store_batch_flush(b, err);
        if (ret) {
            free(mine);
            return ret;
        }
        set_insert(b, mine, &stored);
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->src = cs_xrealloc(b->src, b->cap * sizeof(*b->src));
    }
    b->src[b->n].offset = b->rows.len;
    b->src[b->n].file = src_file;
    b->src[b->n].line = src_line;
    b->src[b->n].key = stored;
    b->n++;
    cs_buf_add(&b->rows, text, len);
    cs_buf_add(&b->rows, b->suffix, b->suffix_len);
    if (!b->copying) {
        ret = begin_copy(b, err);
        if (ret)
            return with_context(b, ret, err);
    }
    /* Stream in small chunks so the server parses while we do. */
    if (b->rows.len - b->sent >= (64u << 10)) {
        ret = send_rows(b, err);
        if (ret)
            return with_context(b, ret, err);
    }
    if (b->n >= b->max_rows || b->rows.len >= b->max_bytes)
        return cs_store_batch_flush(b, err);
    return 0;
}

uint64_t cs_store_batch_stored(const struct cs_store_batch *b)
{
    return b->stored;
}

void cs_store_batch_free(struct cs_store_batch *b)
{
    if (!b)
        return;
    set_clear(b);
    free(b->set);
    free(b->src);
    cs_buf_release(&b->rows);
    cs_buf_release(&b->ids);
    cs_buf_release(&b->copy_sql);
    free(b);
}

