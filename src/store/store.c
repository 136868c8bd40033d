/* store.c - connection and schema migrations */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"

/*
 * Migrations, in order; never edit one that has shipped, add a new one.
 * Each runs in the transaction that records it.
 */
static const struct migration {
    int version;
    const char *name;
    const char *sql;
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
     " ON conversations (tenant, started_at);"},
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
     " ON results (tenant, conversation_id, metric) WHERE current;"},
    /* 3 to 7 are other branches' (numbers are applied one by one). */
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
     " PRIMARY KEY (format, grp, event_id));"},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
#define MIGRATION_LOCK 0x63730001 /* "cs", 1 */

int cs_store_pg_err(struct cs_err *err, PGconn *conn, PGresult *res,
                    const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    size_t n;

    if (!msg || !*msg)
        msg = conn ? PQerrorMessage(conn) : "unknown error";
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return cs_err_set(err, CS_EDB, "%s: %.*s", what, (int)n, msg);
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

int cs_store_latest_version(void)
{
    return migrations[N_MIGRATIONS - 1].version;
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

int cs_store_migrate(struct cs_store *st, int *applied_out,
                     struct cs_err *err)
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
    for (size_t i = 0; !ret && i < N_MIGRATIONS; i++) {
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
            ret = cs_store_exec(st, m->sql, err);
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

/* libpq prints notices (e.g. "relation already exists, skipping") to
 * stderr by default; keep them for -vv. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    cs_log(CS_LOG_DEBUG, "postgres: %.*s", (int)strcspn(message, "\n"),
           message);
}

int cs_store_open(struct cs_store **out, const struct cs_config *cfg,
                  struct cs_err *err)
{
    struct cs_store *st = cs_xcalloc(1, sizeof(*st));
    char *info = NULL;
    int ret;

    *out = NULL;
    if (cfg->database_url && *cfg->database_url) {
        info = cs_xstrdup(cfg->database_url);
    } else {
        ret = cs_cluster_ensure(&info, cfg, err);
        if (ret)
            goto done;
    }
    st->conn = PQconnectdb(info);
    if (PQstatus(st->conn) != CONNECTION_OK) {
        /* The message names host and port, never the password. */
        ret = cs_store_pg_err(err, st->conn, NULL, "cannot connect to "
                              "PostgreSQL");
        goto done;
    }
    PQsetNoticeProcessor(st->conn, on_notice, NULL);
    ret = cs_store_exec(st, "SET client_min_messages = warning", err);
    if (!ret)
        ret = cs_store_migrate(st, NULL, err);
    if (ret)
        goto done;
    *out = st;
    st = NULL;
done:
    free(info);
    cs_store_close(st);
    return ret;
}

void cs_store_close(struct cs_store *st)
{
    if (!st)
        return;
    PQfinish(st->conn);
    free(st);
}
