/* store.c - connection and schema migrations */
#include "store/store_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sig.h"
#include "redact/redact.h"
#include "store/partition.h"

static int redact_evidence(struct cs_store *st, struct cs_err *err);

/*
 * Migrations, in order; never edit one that has shipped, add a new one.
 * Each runs in the transaction that records it, under the migration lock:
 * its SQL, or, for a data migration that needs C (the redactor), `run`.
 */
static const struct migration {
    int version;
    const char *name;
    const char *sql;
    int (*run)(struct cs_store *st, struct cs_err *err);
} migrations[] = {
    {1, "conversations",
     "CREATE TABLE conversations ("
     " tenant text NOT NULL,"
     " id text NOT NULL,"
     " agent text,"
     " channel text NOT NULL,"
     " direction text NOT NULL,"
     " caller text,"
     " callee text,"
     " started_at timestamptz NOT NULL,"
     " answered_at timestamptz,"
     " ended_at timestamptz,"
     " outcome text NOT NULL,"
     " ring_s double precision,"
     " queue_wait_s double precision,"
     " sip_error_code integer,"
     " handoff jsonb,"
     " n_turns integer NOT NULL,"
     " turns jsonb NOT NULL,"
     " tool_calls jsonb,"
     " tools_total integer NOT NULL,"
     " tools_ok integer NOT NULL,"
     " created_ticket integer NOT NULL,"
     " created_crm integer NOT NULL,"
     " created_appt integer NOT NULL,"
     " span_names text[],"
     " span_ms double precision[],"
     " costs jsonb,"
     " cost_total double precision NOT NULL,"
     " csat smallint,"
     " nps smallint,"
     " topics text[],"
     " metrics jsonb,"
     " metadata jsonb,"
     " content_hash text NOT NULL,"
     " ingest_batch bigint NOT NULL,"
     " ingested_at timestamptz NOT NULL DEFAULT now(),"
     /* Deferred so that a batch can stream in before the older versions
      * of its conversations are deleted (see copy.c). */
     " PRIMARY KEY (tenant, id) DEFERRABLE INITIALLY DEFERRED);"
     "CREATE INDEX conversations_tenant_started"
     " ON conversations (tenant, started_at);", NULL},
    {2, "results",
     /* One row per evaluation; `current` marks the one in force for a
      * (tenant, conversation, metric), the others are history. */
     "CREATE TABLE results ("
     " id bigserial PRIMARY KEY,"
     " tenant text NOT NULL,"
     " conversation_id text NOT NULL,"
     " metric text NOT NULL,"
     " rubric_version text NOT NULL,"
     " evaluator text NOT NULL,"
     " value jsonb NOT NULL,"
     " confidence double precision,"
     " evidence text,"
     " rationale text,"
     " tokens_in integer NOT NULL DEFAULT 0,"
     " tokens_out integer NOT NULL DEFAULT 0,"
     " cost double precision NOT NULL DEFAULT 0,"
     " content_hash text NOT NULL,"
     " evaluated_at timestamptz NOT NULL DEFAULT now(),"
     " current boolean NOT NULL DEFAULT true);"
     "CREATE UNIQUE INDEX results_current"
     " ON results (tenant, conversation_id, metric) WHERE current;", NULL},
    /* Results stored before evidence was redacted on the way in. */
    {3, "redact stored evidence", NULL, redact_evidence},
    {4, "deliveries",
     /* The delivery log (store/deliveries.h): one row per message and
      * recipient, written before the send and updated after it. `message`
      * holds the bytes to send until they are sent. */
     "CREATE TABLE deliveries ("
     " id bigserial PRIMARY KEY,"
     " job text NOT NULL,"
     " kind text NOT NULL,"
     " tenant text NOT NULL,"
     " period text NOT NULL,"
     " ref text NOT NULL DEFAULT '',"
     " recipient text NOT NULL,"
     " channel text NOT NULL,"
     " state text NOT NULL"
     "  CHECK (state IN ('queued', 'sending', 'sent', 'failed')),"
     " tries integer NOT NULL DEFAULT 0,"
     " last_reply text,"
     " message_id text,"
     " subject text,"
     " message bytea,"
     " queued_at timestamptz NOT NULL DEFAULT now(),"
     " updated_at timestamptz NOT NULL DEFAULT now(),"
     " sending_at timestamptz,"
     " handed_over_at timestamptz,"
     " sent_at timestamptz,"
     " UNIQUE (job, kind, tenant, period, ref, recipient, channel));"
     "CREATE INDEX deliveries_state ON deliveries (state, updated_at);",
     NULL},
    {5, "alerts",
     /* The alerts raised for a tenant's day (one row per KPI, at its
      * current level) and what was sent of them. */
     "CREATE TABLE alerts ("
     " tenant text NOT NULL,"
     " day date NOT NULL,"
     " kpi text NOT NULL,"
     " level smallint NOT NULL CHECK (level IN (1, 2)),"
     " unit text NOT NULL,"
     " below boolean NOT NULL,"
     " value double precision,"
     " threshold double precision,"
     " raised_at timestamptz NOT NULL DEFAULT now(),"
     " evaluated_at timestamptz NOT NULL DEFAULT now(),"
     " sent_level smallint,"
     " sent_at timestamptz,"
     " PRIMARY KEY (tenant, day, kpi));", NULL},
    {8, "import_pending",
     /* Vendor events held until the conversation they belong to is
      * complete (a LiveKit room before its room_finished), by format,
      * group (the room's sid) and event id; see store/pending.c. */
     "CREATE TABLE import_pending ("
     " format text NOT NULL,"
     " grp text NOT NULL,"
     " event_id text NOT NULL,"
     " event jsonb NOT NULL,"
     " source text,"
     " added_at timestamptz NOT NULL DEFAULT now(),"
     " PRIMARY KEY (format, grp, event_id));", NULL},
    /* 10 and up belong to another branch; this one's start at 20. */
    {20, "results_current_kind",
     /* The kinds of current results (store/versions.c reads them one
      * index probe at a time) and the per-metric filters of review. */
     "CREATE INDEX results_current_kind ON results"
     " (metric, evaluator, rubric_version, tenant) WHERE current;", NULL},
    {21, "calibrations",
     /* Each `calibrate` measurement of a metric against human labels:
      * when, which labels file (its SHA-256), which rubric version and
      * evaluator the compared results carried, and the figures. */
     "CREATE TABLE calibrations ("
     " id bigserial PRIMARY KEY,"
     " metric text NOT NULL,"
     " measured_at timestamptz NOT NULL DEFAULT now(),"
     " labels_file text NOT NULL,"
     " labels_sha256 text NOT NULL,"
     " rubric_version text,"
     " evaluator text,"
     " n integer NOT NULL,"
     " accuracy double precision,"
     " kappa double precision,"
     " n_gold integer NOT NULL,"
     " accuracy_gold double precision,"
     " kappa_gold double precision,"
     " figures jsonb NOT NULL);"
     "CREATE INDEX calibrations_metric ON calibrations (metric, id);",
     NULL},
    {22, "explanations",
     /* `explain` answers: why conversations end with a verdict, as
      * themes with counts and example ids, with what was sent. */
     "CREATE TABLE explanations ("
     " id bigserial PRIMARY KEY,"
     " tenant text,"
     " metric text NOT NULL,"
     " value jsonb NOT NULL,"
     " from_day date,"
     " to_day date,"
     " evaluator text NOT NULL,"
     " created_at timestamptz NOT NULL DEFAULT now(),"
     " matched integer NOT NULL,"
     " sampled integer NOT NULL,"
     " themes jsonb NOT NULL,"
     " inputs jsonb NOT NULL);"
     "CREATE INDEX explanations_lookup ON explanations (tenant, metric, id);",
     NULL},
    /* 30-39: the KPI rollups (issue 13). */
    {30, "kpi rollups", cs_store_rollup_migration, NULL},
    {40, "llm_usage",
     /* The prompt tokens a provider's cache served, per result (a
      * request's share, as tokens_in), and what each scoring run's LLM
      * requests used: estimates against what the provider counted (the
      * dry run and the budget calibrate on it), cached tokens, cost. */
     "ALTER TABLE results ADD COLUMN cached_tokens integer NOT NULL"
     " DEFAULT 0;"
     "CREATE TABLE llm_usage ("
     " id bigserial PRIMARY KEY,"
     " recorded_at timestamptz NOT NULL DEFAULT now(),"
     " model text NOT NULL,"
     " mode text NOT NULL CHECK (mode IN ('sync', 'batch')),"
     " requests bigint NOT NULL,"
     " prompt_est bigint NOT NULL,"
     " prompt_tokens bigint NOT NULL,"
     " cached_tokens bigint NOT NULL,"
     " completion_tokens bigint NOT NULL,"
     " metrics bigint NOT NULL,"
     " cost double precision NOT NULL);"
     "CREATE INDEX llm_usage_model ON llm_usage (model, id);", NULL},
    {41, "llm_batches",
     /* Batches handed to the provider's Batch API (score --batch) and
      * the requests in them, one row per conversation and request body
      * (a body two conversations share is sent once): a conversation
      * with a request in an open batch is left alone; once the batch
      * ends, the answers wait here for the run that stores them. */
     "CREATE TABLE llm_batches ("
     " id bigserial PRIMARY KEY,"
     " provider_id text UNIQUE,"
     " input_file_id text,"
     " model text NOT NULL,"
     " base_url text NOT NULL,"
     " status text NOT NULL CHECK (status IN ('preparing', 'submitted',"
     "  'completed', 'failed', 'expired', 'cancelled')),"
     " provider_status text,"
     " requests integer NOT NULL DEFAULT 0,"
     " answered integer NOT NULL DEFAULT 0,"
     " failed integer NOT NULL DEFAULT 0,"
     " estimated_cost double precision NOT NULL DEFAULT 0,"
     " created_at timestamptz NOT NULL DEFAULT now(),"
     " submitted_at timestamptz,"
     " checked_at timestamptz,"
     " ended_at timestamptz,"
     " error text);"
     "CREATE TABLE llm_batch_requests ("
     " batch_id bigint NOT NULL REFERENCES llm_batches ON DELETE CASCADE,"
     " tenant text NOT NULL,"
     " conversation_id text NOT NULL,"
     " body_hash text NOT NULL,"
     " custom_id text NOT NULL,"
     " prompt_est integer NOT NULL,"
     " metrics integer NOT NULL,"
     " answer text,"
     " error text,"
     " PRIMARY KEY (batch_id, tenant, conversation_id, body_hash));"
     "CREATE INDEX llm_batch_requests_conv ON llm_batch_requests"
     " (tenant, conversation_id);"
     "CREATE INDEX llm_batch_requests_custom ON llm_batch_requests"
     " (batch_id, custom_id);", NULL},
    /* 50-59: storage by month (issue 13). */
    {50, "partitions by month", cs_store_partition_migration, NULL},
    {51, "span histograms appended", cs_store_rollup_delta_migration,
     NULL},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
#define MIGRATION_LOCK 0x63730001 /* "cs", 1 */

/* "'HOST' port PORT" of a connection, for messages. */
static void server_name(struct cs_buf *b, PGconn *conn)
{
    const char *host = conn ? PQhost(conn) : NULL;
    const char *port = conn ? PQport(conn) : NULL;

    cs_buf_addf(b, "'%s' port %s", host && *host ? host : "localhost",
                port && *port ? port : "5432");
}

int cs_store_pg_err(struct cs_err *err, PGconn *conn, PGresult *res,
                    const char *what)
{
    struct cs_buf where = CS_BUF_INIT, text = CS_BUF_INIT;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                            : NULL;
    size_t n;

    if (!msg || !*msg)
        msg = conn ? PQerrorMessage(conn) : "unknown error";
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    /* Which server went away, or which limit stopped a statement. */
    if (conn && (PQstatus(conn) == CONNECTION_BAD ||
                 (state && strncmp(state, "57P0", 4) == 0) ||
                 strstr(msg, "server closed the connection"))) {
        cs_buf_adds(&where, " (server ");
        server_name(&where, conn);
        cs_buf_addch(&where, ')');
    } else if (state && strcmp(state, "57014") == 0 &&
               strstr(msg, "statement timeout")) {
        cs_buf_adds(&where, " (database.statement_timeout_s)");
    }
    /* The server's DETAIL, HINT and CONTEXT lines, on one line (libpq
     * indents its own continuation lines with a tab). */
    for (size_t i = 0; i < n; i++) {
        if (msg[i] != '\n') {
            cs_buf_addch(&text, msg[i]);
        } else if (i + 1 < n) {
            cs_buf_adds(&text, "; ");
            while (i + 1 < n && msg[i + 1] == '\t')
                i++;
        }
    }
    cs_err_set(err, CS_EDB, "%s: %s%s", what, text.ptr, where.ptr);
    cs_buf_release(&where);
    cs_buf_release(&text);
    return CS_EDB;
}

int cs_store_exec(struct cs_store *st, const char *sql, struct cs_err *err)
{
    PGresult *res = PQexec(st->conn, sql);
    int ret = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK &&
        PQresultStatus(res) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, res, "query failed");
    PQclear(res);
    return ret;
}

int cs_store_ask(int *out, struct cs_store *st, const char *sql,
                 const char *value, const char *what, struct cs_err *err)
{
    const char *params[1] = {value};
    PGresult *r;
    int ret = 0;

    *out = 0;
    r = PQexecParams(st->conn, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, what);
    else
        *out = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return ret;
}

int cs_store_latest_version(void)
{
    int v = 0;

    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version > v)
            v = migrations[i].version;
    }
    return v;
}

int cs_store_schema_version(struct cs_store *st, int *out, struct cs_err *err)
{
    PGresult *res;
    int ret = 0;

    *out = 0;
    res = PQexec(st->conn, "SELECT coalesce(max(version), 0) "
                           "FROM schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, res, "cannot read the schema "
                              "version");
    else
        *out = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return ret;
}

static int migrate_to(struct cs_store *st, int max_version,
                      int *applied_out, struct cs_err *err)
{
    char lock[64];
    int ret, applied = 0;

    if (applied_out)
        *applied_out = 0;
    ret = cs_store_exec(st, "BEGIN", err);
    if (ret)
        return ret;
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d)",
             MIGRATION_LOCK);
    ret = cs_store_exec(st, lock, err);
    if (!ret)
        ret = cs_store_exec(st, "CREATE TABLE IF NOT EXISTS schema_migrations"
                            " (version integer PRIMARY KEY, name text NOT "
                            "NULL, applied_at timestamptz NOT NULL DEFAULT "
                            "now())", err);
    for (size_t i = 0;
         !ret && i < N_MIGRATIONS && migrations[i].version <= max_version;
         i++) {
        const struct migration *m = &migrations[i];
        char ver[16];
        const char *params[2] = {ver, m->name};
        PGresult *res;

        snprintf(ver, sizeof(ver), "%d", m->version);
        res = PQexecParams(st->conn, "INSERT INTO schema_migrations "
                           "(version, name) VALUES ($1, $2) "
                           "ON CONFLICT DO NOTHING",
                           2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            ret = cs_store_pg_err(err, st->conn, res, "cannot record a "
                                  "migration");
        } else if (strcmp(PQcmdTuples(res), "1") == 0) {
            cs_log(CS_LOG_DEBUG, "applying migration %d (%s)", m->version,
                   m->name);
            ret = m->run ? m->run(st, err) : cs_store_exec(st, m->sql, err);
            applied++;
        }
        PQclear(res);
    }
    if (ret) {
        PQclear(PQexec(st->conn, "ROLLBACK"));
        return ret;
    }
    ret = cs_store_exec(st, "COMMIT", err);
    if (!ret && applied_out)
        *applied_out = applied;
    return ret;
}

int cs_store_migrate(struct cs_store *st, int *applied_out,
                     struct cs_err *err)
{
    return migrate_to(st, INT_MAX, applied_out, err);
}

int cs_store_each_page(struct cs_store *st, const char *query, int n,
                       const char *const *params, int page,
                       cs_store_page_fn fn, void *ctx, const char *what,
                       struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT, fetch = CS_BUF_INIT;
    PGresult *r = NULL;
    int ret, rows = 0;

    cs_buf_addf(&sql, "DECLARE cs_pages NO SCROLL CURSOR FOR %s", query);
    cs_buf_addf(&fetch, "FETCH %d FROM cs_pages", page);
    ret = cs_store_exec(st, "SET LOCAL cursor_tuple_fraction = 1", err);
    if (ret)
        goto done;
    r = PQexecParams(st->conn, sql.ptr, n, NULL, params, NULL, NULL, 0);
    do {
        if (PQresultStatus(r) != PGRES_COMMAND_OK &&
            PQresultStatus(r) != PGRES_TUPLES_OK) {
            ret = cs_store_pg_err(err, st->conn, r, what);
            goto done;
        }
        PQclear(r);
        r = PQexec(st->conn, fetch.ptr);
        rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
        if (rows)
            ret = fn(ctx, r, err);
    } while (!ret && rows == page);
    if (!ret && PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, what);
    if (!ret)
        ret = cs_store_exec(st, "CLOSE cs_pages", err);
done:
    PQclear(r);
    cs_buf_release(&sql);
    cs_buf_release(&fetch);
    return ret;
}

/* Rows of results a data migration reads and updates at a time. */
#define REDACT_PAGE 1000

/* `text` as the configured redactor leaves it (new JSON string), or NULL
 * when that changes nothing. */
static json_t *redacted(struct cs_buf *tmp, struct cs_redact *rd,
                        const char *text)
{
    size_t n = 0;

    cs_buf_reset(tmp);
    if (cs_redact_apply(tmp, &n, rd, text, strlen(text), NULL) < 0) {
        cs_buf_reset(tmp);
        cs_buf_adds(tmp, CS_STORE_REDACTION_FAILED);
        n = 1;
    }
    return n ? json_string(tmp->ptr) : NULL;
}

struct redaction {
    struct cs_store *st;
    struct cs_redact *rd;
    struct cs_buf tmp;
    long changed;
};

/* One page of (id, evidence, rationale): the rows the redactor changes
 * are updated at once (a cs_store_page_fn). */
static int redact_page(void *ctx, const PGresult *r, struct cs_err *err)
{
    struct redaction *x = ctx;
    json_t *upd = json_array();
    const char *params[1];
    char *text = NULL;
    PGresult *u = NULL;
    int ret = 0;

    for (int i = 0; i < PQntuples(r); i++) {
        /* [id, evidence, rationale], kept when either changed. */
        json_t *row = json_pack("[s]", PQgetvalue(r, i, 0));
        int changed = 0;

        for (int c = 1; c <= 2; c++) {
            const char *v = PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
            json_t *clean = v ? redacted(&x->tmp, x->rd, v) : NULL;

            changed |= clean != NULL;
            json_array_append_new(row, clean ? clean
                                             : v ? json_string(v)
                                                 : json_null());
        }
        if (changed)
            json_array_append(upd, row);
        json_decref(row);
    }
    if (json_array_size(upd) == 0)
        goto done;
    text = json_dumps(upd, JSON_COMPACT);
    params[0] = text;
    u = PQexecParams(x->st->conn, "UPDATE results r SET evidence = "
                     "k.v->>1, rationale = k.v->>2 FROM "
                     "jsonb_array_elements($1::jsonb) AS k(v) WHERE r.id = "
                     "(k.v->>0)::bigint", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(u) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, x->st->conn, u, "cannot redact results");
    x->changed += (long)json_array_size(upd);
done:
    PQclear(u);
    free(text);
    json_decref(upd);
    return ret;
}

/*
 * Migration 3: the evidence and rationale of every stored result, through
 * the configured redactor (what cs_store_results_add now does to new
 * rows). The rows are read in id order, a page at a time, and only those
 * that change are updated, so memory stays flat and a run over clean rows
 * writes nothing. It runs in the migration's transaction, under its lock:
 * concurrent processes wait, then find it recorded; a crash rolls it back
 * and the next start runs it again.
 */
static int redact_evidence(struct cs_store *st, struct cs_err *err)
{
    struct redaction x;
    int ret;

    memset(&x, 0, sizeof(x));
    x.st = st;
    cs_buf_init(&x.tmp);
    ret = cs_redact_new_configured(&x.rd, st->cfg, err);
    if (!ret)
        ret = cs_store_each_page(st, "SELECT id, evidence, rationale FROM "
                                 "results WHERE evidence IS NOT NULL OR "
                                 "rationale IS NOT NULL ORDER BY id", 0,
                                 NULL, REDACT_PAGE, redact_page, &x,
                                 "cannot read results to redact", err);
    if (!ret && x.changed)
        cs_log(CS_LOG_INFO, "redacted the evidence of %ld stored results",
               x.changed);
    cs_redact_free(x.rd);
    cs_buf_release(&x.tmp);
    return ret;
}

/* libpq prints notices (e.g. "relation already exists, skipping") to
 * stderr by default; keep them for -vv. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    cs_log(CS_LOG_DEBUG, "postgres: %.*s", (int)strcspn(message, "\n"),
           message);
}

/*
 * Connecting. Every connection carries connect_timeout (a server that
 * accepts and never answers cannot hang a command: libpq gives up after
 * database.connect_timeout_s), TCP keepalives (a server or network that
 * dies while a statement runs is noticed in about two minutes instead of
 * the kernel's two hours; unix sockets ignore them) and, once up,
 * statement_timeout (database.statement_timeout_s, 0 for none). Our
 * values come first, so a parameter the connection string sets itself
 * wins (libpq keeps the last value of a repeated keyword).
 *
 * A server that is not up yet -- starting, in recovery, shutting down,
 * restarting (no answer, refused, "the database system is starting up")
 * -- is waited for: the connection is tried again with a growing pause
 * until database.connect_retry_s have passed. PQping tells such a server
 * (PQPING_REJECT, PQPING_NO_RESPONSE) from one that is up and refused us
 * (a wrong password or database: no use waiting).
 */
struct conn_params {
    char timeout[32];
    const char *keys[7];
    const char *vals[7];
};

static void conn_params_init(struct conn_params *p, const char *info,
                             const struct cs_config *cfg)
{
    static const char *const keys[] = {"connect_timeout", "keepalives",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count", "dbname", NULL};

    snprintf(p->timeout, sizeof(p->timeout), "%ld",
             cfg->db_connect_timeout_s);
    memcpy(p->keys, keys, sizeof(keys));
    p->vals[0] = p->timeout;
    p->vals[1] = "1";
    p->vals[2] = "60";
    p->vals[3] = "10";
    p->vals[4] = "6";
    p->vals[5] = info;
    p->vals[6] = NULL;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_s(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* libpq's message about a failed connection, on one line. */
static void conn_message(struct cs_buf *b, PGconn *c)
{
    const char *msg = c ? PQerrorMessage(c) : "out of memory";
    size_t n = strlen(msg), start = b->len;

    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (msg[i] != '\n' && msg[i] != '\t')
            cs_buf_addch(b, msg[i]);
        else if (b->len > start && b->ptr[b->len - 1] != ' ')
            cs_buf_addch(b, ' ');
    }
}

static int pg_connect(PGconn **out, const char *info,
                      const struct cs_config *cfg, struct cs_err *err)
{
    struct cs_buf msg = CS_BUF_INIT, where = CS_BUF_INIT;
    struct conn_params p;
    double t0 = now_s(), wait = 0.25, waited;
    char set[160];
    PGconn *c = NULL;
    PGresult *r;
    PGPing ping;
    int transient, paused = 0, rechecked = 0, ret = 0;

    *out = NULL;
    conn_params_init(&p, info, cfg);
    for (;;) {
        double t1 = now_s();

        c = PQconnectdbParams(p.keys, p.vals, 1);
        if (PQstatus(c) == CONNECTION_OK)
            break;
        waited = now_s() - t0;
        if (waited + wait > (double)cfg->db_connect_retry_s)
            goto fail;
        /* A try that ran into connect_timeout had no answer: no need to
         * ask again with a ping, which would wait as long. */
        if (now_s() - t1 >= (double)cfg->db_connect_timeout_s - 0.5) {
            transient = 1;
        } else {
            ping = PQpingParams(p.keys, p.vals, 1);
            transient = ping == PQPING_REJECT || ping == PQPING_NO_RESPONSE;
            /* Up by the time of the ping (its start or crash recovery
             * ended in between: "not yet accepting connections" a moment
             * ago): one more try at once says whether it takes us. */
            if (ping == PQPING_OK && !rechecked) {
                rechecked = 1;
                PQfinish(c);
                c = NULL;
                continue;
            }
            if (transient)
                rechecked = 0;
        }
        /* A socket folder that does not exist is a wrong setting, not a
         * server restarting (its folder stays while it is down). */
        if (transient && PQhost(c) && PQhost(c)[0] == '/' &&
            !cs_fs_exists(PQhost(c)))
            transient = 0;
        /* Nor is there when the run is being stopped (base/sig.h). */
        if (!transient || cs_sig_received())
            goto fail;
        if ((paused % 8) == 0) {
            cs_buf_reset(&msg);
            conn_message(&msg, c);
            cs_log(CS_LOG_WARN, "PostgreSQL is not accepting connections "
                   "(%s): waiting up to %ld s for it "
                   "(database.connect_retry_s)", msg.ptr,
                   cfg->db_connect_retry_s);
        }
        PQfinish(c);
        c = NULL;
        pause_s(wait);
        paused++;
        wait = wait * 2 > 5 ? 5 : wait * 2;
    }
    if (paused) {
        cs_buf_reset(&where);
        server_name(&where, c);
        cs_log(CS_LOG_WARN, "PostgreSQL at %s answered after %.1f s",
               where.ptr, now_s() - t0);
    }
    /* JIT off: callscope's queries are many and short, and over monthly
     * partitions the planner's costs made PostgreSQL compile a page of
     * scoring's reads for 15 s of CPU, to run them in 0.2 s. */
    snprintf(set, sizeof(set), "SET statement_timeout = '%lds'; "
             "SET client_min_messages = warning; SET jit = off",
             cfg->db_statement_timeout_s);
    r = PQexec(c, set);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, c, r, "cannot set up the session");
    PQclear(r);
    if (ret)
        goto done;
    *out = c;
    c = NULL;
    goto done;
fail:
    /* The message names host and port (libpq's does too, mostly), never
     * the password. */
    cs_buf_reset(&msg);
    conn_message(&msg, c);
    cs_buf_reset(&where);
    if (!strstr(msg.ptr, "server")) {
        cs_buf_adds(&where, "server ");
        server_name(&where, c);
        cs_buf_adds(&where, ": ");
    }
    cs_buf_add(&where, msg.ptr, msg.len);
    if (strstr(msg.ptr, "timeout expired"))
        cs_buf_addf(&where, " (no answer within %ld s: "
                    "database.connect_timeout_s)",
                    cfg->db_connect_timeout_s);
    if (paused)
        cs_buf_addf(&where, "; waited %.0f s for it to come up "
                    "(database.connect_retry_s)", now_s() - t0);
    ret = cs_err_set(err, CS_EDB, "cannot connect to PostgreSQL: %s",
                     where.ptr);
done:
    PQfinish(c);
    cs_buf_release(&msg);
    cs_buf_release(&where);
    return ret;
}

int cs_store_connect_again(PGconn **out, struct cs_store *st,
                           struct cs_err *err)
{
    int ret = pg_connect(out, st->info, st->cfg, err);

    if (!ret)
        PQsetNoticeProcessor(*out, on_notice, NULL);
    return ret;
}

int cs_store_open(struct cs_store **out, const struct cs_config *cfg,
                  struct cs_err *err)
{
    return cs_store_open_at(out, cfg, INT_MAX, err);
}

int cs_store_open_at(struct cs_store **out, const struct cs_config *cfg,
                     int max_version, struct cs_err *err)
{
    struct cs_store *st = cs_xcalloc(1, sizeof(*st));
    int ret;

    *out = NULL;
    st->cfg = cfg;
    if (cfg->database_url && *cfg->database_url) {
        st->info = cs_xstrdup(cfg->database_url);
    } else {
        ret = cs_cluster_ensure(&st->info, cfg, err);
        if (ret)
            goto done;
    }
    ret = cs_store_connect_again(&st->conn, st, err);
    if (!ret)
        ret = migrate_to(st, max_version, NULL, err);
    /* The months the jobs are about to write, before they need them. */
    if (!ret && max_version >= 50)
        ret = cs_store_partitions_ahead(st, 2, err);
    if (ret)
        goto done;
    *out = st;
    st = NULL;
done:
    cs_store_close(st);
    return ret;
}

void cs_store_close(struct cs_store *st)
{
    if (!st)
        return;
    PQfinish(st->conn);
    free(st->info);
    free(st);
}

int cs_store_snapshot_begin(struct cs_store *st, struct cs_err *err)
{
    return cs_store_exec(st, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                         err);
}

void cs_store_snapshot_end(struct cs_store *st)
{
    /* Nothing was written: ending a failed transaction is the same. */
    if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
        PQclear(PQexec(st->conn, "ROLLBACK"));
}
