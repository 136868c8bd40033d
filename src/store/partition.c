/* partition.c - conversations and results partitioned by month */
#include "store/partition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "store/store_internal.h"

/*
 * Migration 50 makes `conversations` and `results` range-partitioned by
 * UTC month of the conversation's started_at (a result carries its
 * conversation's started_at, so both of one conversation live in the
 * same month: a month is dropped whole, results with it). Partitions are
 * conversations_pYYYYMM and results_pYYYYMM, created together by
 * cs_partition_ensure(instant); the jobs create this month's and the
 * next two months' when they open the store, and ingest creates the
 * month of a row that has none (a backfill) when COPY says so (copy.c).
 *
 * A partitioned table's unique keys must hold the partition key, so
 * (tenant, id) alone is kept unique by conversation_keys, one narrow row
 * per stored conversation kept by statement triggers on conversations,
 * its key DEFERRABLE INITIALLY DEFERRED as the conversations' own was:
 * a batch that re-ingests a stored conversation fails at COMMIT with a
 * unique violation and is written again with the delete of the older
 * versions, as before (copy.c), wherever the new version's month is.
 *
 * Existing installations are converted in place, in the migration's
 * transaction: the tables are renamed, the partitioned ones created with
 * the same columns, defaults and indexes, the months of the stored data
 * created, the rows copied (the rollups, which already count them, are
 * left as they are: the triggers are created after the copy, from the
 * old tables' own definitions), the old tables dropped. Results whose
 * conversation is no longer stored count nowhere (no KPI, report or
 * export joins them) and have no month: they are not carried over, and
 * the migration says how many with a NOTICE.
 */
const char cs_store_partition_migration[] =
    "SET LOCAL statement_timeout = 0;"
    "CREATE TABLE conversation_keys ("
    " tenant text NOT NULL, id text NOT NULL,"
    " started_at timestamptz NOT NULL, ingest_batch bigint NOT NULL,"
    " PRIMARY KEY (tenant, id) DEFERRABLE INITIALLY DEFERRED);"
    "CREATE INDEX conversation_keys_started ON conversation_keys"
    " (started_at);"
    /* The month of `at` (UTC) for both tables; true if it was created.
     * Concurrent callers meet on the advisory lock. */
    "CREATE FUNCTION cs_partition_ensure(at timestamptz) RETURNS boolean"
    " LANGUAGE plpgsql AS $f$ DECLARE"
    " m timestamp := date_trunc('month', at AT TIME ZONE 'UTC');"
    " s text := to_char(m, 'YYYYMM');"
    " lo timestamptz := m AT TIME ZONE 'UTC';"
    " hi timestamptz := (m + interval '1 month') AT TIME ZONE 'UTC';"
    " BEGIN"
    " IF to_regclass('conversations_p' || s) IS NOT NULL"
    "  AND to_regclass('results_p' || s) IS NOT NULL THEN RETURN false;"
    " END IF;"
    " PERFORM pg_advisory_xact_lock(1668481072);"
    " IF to_regclass('conversations_p' || s) IS NULL THEN"
    "  EXECUTE format('CREATE TABLE %I PARTITION OF conversations"
    "   FOR VALUES FROM (%L) TO (%L)', 'conversations_p' || s, lo, hi);"
    " END IF;"
    " IF to_regclass('results_p' || s) IS NULL THEN"
    "  EXECUTE format('CREATE TABLE %I PARTITION OF results"
    "   FOR VALUES FROM (%L) TO (%L)', 'results_p' || s, lo, hi);"
    "  RETURN true;"
    " END IF;"
    " RETURN false; END $f$;"
    /* This month and the next `ahead` ones. */
    "CREATE FUNCTION cs_partitions_ahead(ahead integer) RETURNS integer"
    " LANGUAGE sql AS $f$ SELECT count(*) FILTER (WHERE"
    " cs_partition_ensure(now() + make_interval(months => k)))::integer"
    " FROM generate_series(0, ahead) AS k $f$;"
    /* The months, oldest first: [lo, hi), conversations and results. */
    "CREATE FUNCTION cs_partitions() RETURNS TABLE (lo timestamptz,"
    " hi timestamptz, conv regclass, res regclass) LANGUAGE sql STABLE"
    " AS $f$ SELECT (regexp_match(b, 'FROM \\(''([^'']+)''\\)'))[1]"
    "  ::timestamptz, (regexp_match(b, 'TO \\(''([^'']+)''\\)'))[1]"
    "  ::timestamptz, c.oid::regclass,"
    "  to_regclass('results_p' || substr(c.relname, 16))"
    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,"
    " pg_get_expr(c.relpartbound, c.oid) AS b"
    " WHERE i.inhparent = 'conversations'::regclass ORDER BY 1 $f$;"
    /* conversation_keys in step with conversations; the delete finds
     * the rows of a transition table one index probe each. */
    "CREATE FUNCTION cs_keys_trigger() RETURNS trigger LANGUAGE plpgsql"
    " AS $f$ BEGIN"
    " IF TG_OP = 'TRUNCATE' THEN DELETE FROM conversation_keys;"
    "  RETURN NULL; END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  DELETE FROM conversation_keys WHERE ctid = ANY (ARRAY("
    "  SELECT k.ctid FROM old_rows o CROSS JOIN LATERAL (SELECT ctid"
    "   FROM conversation_keys x WHERE x.tenant = o.tenant"
    "   AND x.id = o.id AND x.ingest_batch = o.ingest_batch OFFSET 0) k));"
    " END IF;"
    " IF TG_OP IN ('INSERT', 'UPDATE') THEN"
    "  INSERT INTO conversation_keys SELECT tenant, id, started_at,"
    "  ingest_batch FROM new_rows;"
    " END IF;"
    " RETURN NULL; END $f$;"
    "DO $m$ DECLARE t record; defs text[] := '{}'; d text; n bigint;"
    " BEGIN"
    " FOR t IN SELECT tgname, tgrelid::regclass::text AS rel,"
    "  pg_get_triggerdef(oid) AS def FROM pg_trigger"
    "  WHERE tgrelid IN ('conversations'::regclass, 'results'::regclass)"
    "  AND NOT tgisinternal LOOP"
    "  defs := defs || t.def;"
    "  EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);"
    " END LOOP;"
    " ALTER TABLE conversations RENAME TO conversations_old;"
    " ALTER TABLE conversations_old RENAME CONSTRAINT conversations_pkey"
    "  TO conversations_old_pkey;"
    " ALTER INDEX conversations_tenant_started"
    "  RENAME TO conversations_old_tenant_started;"
    " ALTER TABLE results RENAME TO results_old;"
    " ALTER TABLE results_old RENAME CONSTRAINT results_pkey"
    "  TO results_old_pkey;"
    " ALTER INDEX results_current RENAME TO results_old_current;"
    " ALTER INDEX results_current_kind RENAME TO results_old_current_kind;"
    " ALTER SEQUENCE results_id_seq OWNED BY NONE;"
    " CREATE TABLE conversations (LIKE conversations_old INCLUDING DEFAULTS"
    "  INCLUDING STORAGE INCLUDING COMPRESSION)"
    "  PARTITION BY RANGE (started_at);"
    " ALTER TABLE conversations ADD PRIMARY KEY (tenant, id, started_at)"
    "  DEFERRABLE INITIALLY DEFERRED;"
    " CREATE INDEX conversations_tenant_started"
    "  ON conversations (tenant, started_at);"
    /* The conversation's started_at last, after the columns of
     * results_old, so that `r.*, c.started_at` is a row of results. */
    " CREATE TABLE results (LIKE results_old INCLUDING DEFAULTS"
    "  INCLUDING STORAGE INCLUDING COMPRESSION,"
    "  started_at timestamptz NOT NULL)"
    "  PARTITION BY RANGE (started_at);"
    " ALTER TABLE results ADD PRIMARY KEY (id, started_at);"
    " ALTER SEQUENCE results_id_seq OWNED BY results.id;"
    " CREATE UNIQUE INDEX results_current ON results"
    "  (tenant, conversation_id, metric, started_at) WHERE current;"
    " CREATE INDEX results_current_kind ON results"
    "  (metric, evaluator, rubric_version, tenant) WHERE current;"
    " PERFORM cs_partition_ensure(m) FROM (SELECT DISTINCT"
    "  date_trunc('month', started_at AT TIME ZONE 'UTC')"
    "  AT TIME ZONE 'UTC' AS m FROM conversations_old) x;"
    " PERFORM cs_partitions_ahead(2);"
    " INSERT INTO conversations SELECT * FROM conversations_old;"
    " INSERT INTO conversation_keys SELECT tenant, id, started_at,"
    "  ingest_batch FROM conversations_old;"
    " INSERT INTO results SELECT r.*, c.started_at FROM results_old r"
    "  JOIN conversations_old c ON c.tenant = r.tenant"
    "  AND c.id = r.conversation_id;"
    " SELECT (SELECT count(*) FROM results_old) -"
    "  (SELECT count(*) FROM results) INTO n;"
    " IF n > 0 THEN RAISE NOTICE 'results of conversations no longer"
    "  stored, not carried over: %', n; END IF;"
    " DROP TABLE conversations_old, results_old;"
    /* The definitions were read before the renames: they name the new
     * tables. */
    " FOREACH d IN ARRAY defs LOOP EXECUTE d; END LOOP;"
    " END $m$;"
    "CREATE TRIGGER conversations_keys_ins AFTER INSERT ON conversations"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_keys_trigger();"
    "CREATE TRIGGER conversations_keys_del AFTER DELETE ON conversations"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_keys_trigger();"
    "CREATE TRIGGER conversations_keys_upd AFTER UPDATE ON conversations"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_keys_trigger();"
    "CREATE TRIGGER conversations_keys_trunc AFTER TRUNCATE"
    " ON conversations FOR EACH STATEMENT"
    " EXECUTE FUNCTION cs_keys_trigger();"
    /* The rollups' lookups of a result's conversation and of a
     * conversation's results also match started_at, so that each probes
     * one month (a result moved with its conversation is found under its
     * old month by the delete of the old version, under its new month by
     * the update that moves it: the counts move as before). The function
     * is edited in place so that no copy of the rest of it is kept. */
    "DO $m$ DECLARE f text := pg_get_functiondef("
    " 'cs_rollup_result_sql(text, integer, text)'::regprocedure); g text;"
    " BEGIN"
    " g := replace(replace(f, 'x.id = r.conversation_id OFFSET 0',"
    "  'x.id = r.conversation_id AND x.started_at = r.started_at OFFSET 0'),"
    "  'x.conversation_id = c.id',"
    "  'x.conversation_id = c.id AND x.started_at = c.started_at');"
    " IF length(g) - length(f) <>"
    "  3 * length(' AND x.started_at = r.started_at') THEN"
    "  RAISE EXCEPTION 'cs_rollup_result_sql is not as expected'; END IF;"
    " EXECUTE g; END $m$;"
    /* A month's rollups, when the month is dropped whole. */
    "CREATE FUNCTION cs_rollup_forget(lo timestamptz, hi timestamptz)"
    " RETURNS void LANGUAGE sql AS $f$"
    " DELETE FROM kpi_rollup WHERE bucket >= lo AND bucket < hi;"
    " DELETE FROM kpi_span_d WHERE bucket >= lo AND bucket < hi;"
    " DELETE FROM kpi_span_h WHERE bucket >= lo AND bucket < hi;"
    " DELETE FROM kpi_result_rollup WHERE bucket >= lo AND bucket < hi"
    " $f$;"
    "ANALYZE conversations, results, conversation_keys;";

/* Runs `sql` with one text parameter for its side effects. */
static int run1(struct cs_store *st, const char *sql, const char *param,
                const char *what, struct cs_err *err)
{
    const char *params[1] = {param};
    PGresult *r = PQexecParams(st->conn, sql, 1, NULL, params, NULL, NULL,
                               0);
    int ret = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, what);
    PQclear(r);
    return ret;
}

int cs_store_partitions_ahead(struct cs_store *st, int months,
                              struct cs_err *err)
{
    char m[16];

    snprintf(m, sizeof(m), "%d", months);
    return run1(st, "SELECT cs_partitions_ahead($1::integer)", m,
                "cannot create the months ahead", err);
}

int cs_store_partitions_for_times(struct cs_store *st, const char *times,
                                  struct cs_err *err)
{
    return run1(st, "SELECT count(*) FILTER (WHERE cs_partition_ensure(m))"
                " FROM (SELECT DISTINCT date_trunc('month', t::timestamptz"
                " AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM"
                " jsonb_array_elements_text($1::jsonb) AS t) x", times,
                "cannot create the months of a batch", err);
}

int cs_store_months(long *n, char first[8], char last[8],
                    struct cs_store *st, struct cs_err *err)
{
    PGresult *r = PQexec(st->conn, "SELECT count(*),"
                         " coalesce(to_char(min(lo) AT TIME ZONE 'UTC',"
                         " 'YYYY-MM'), ''), coalesce(to_char(max(lo) AT TIME"
                         " ZONE 'UTC', 'YYYY-MM'), '') FROM cs_partitions()");
    int ret = 0;

    *n = 0;
    first[0] = last[0] = '\0';
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot list the months");
    } else {
        *n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(first, 8, "%.7s", PQgetvalue(r, 0, 1));
        snprintf(last, 8, "%.7s", PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return ret;
}

int cs_store_missing_partition(const PGresult *res, char *instant,
                               size_t size)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *p, *q;

    /* "no partition of relation "conversations" found for row", DETAIL
     * "Partition key of the failing row contains (started_at) = (...)." */
    if (!state || strcmp(state, "23514") != 0 || !msg ||
        strncmp(msg, "no partition of relation", 24) != 0 || !detail)
        return 0;
    p = strstr(detail, ") = (");
    if (!p)
        return 0;
    p += 5;
    q = strchr(p, ')');
    if (!q || (size_t)(q - p) >= size)
        return 0;
    memcpy(instant, p, (size_t)(q - p));
    instant[q - p] = '\0';
    return 1;
}

/*
 * Each month goes in a transaction of its own: the rollups of its UTC
 * buckets (every 15-minute bucket, hour and day of a UTC month is inside
 * it), its keys, then its two partitions, dropped.
 */
int cs_store_prune_months(struct cs_prune_counts *out, struct cs_store *st,
                          const char *limits, int dry_run,
                          struct cs_err *err)
{
    const char *params[1] = {limits};
    PGresult *r;
    int ret = 0, n;

    r = PQexecParams(st->conn,
                     "SELECT lo, hi, conv::text, res::text"
                     " FROM cs_partitions() WHERE hi <= (SELECT"
                     "  min((l->>0)::date::timestamp AT TIME ZONE (l->>1))"
                     "  FROM jsonb_array_elements($1::jsonb) AS l)"
                     " ORDER BY lo",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot list the months");
        PQclear(r);
        return ret;
    }
    n = PQntuples(r);
    for (int i = 0; !ret && i < n; i++) {
        const char *p[2] = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)};
        struct cs_buf sql = CS_BUF_INIT;
        PGresult *x;

        out->months++;
        if (dry_run)
            continue;
        ret = cs_store_exec(st, "BEGIN", err);
        if (ret)
            break;
        /* What the month holds, then its rollups and keys. */
        cs_buf_addf(&sql, "WITH k AS (DELETE FROM conversation_keys"
                    " WHERE started_at >= $1 AND started_at < $2"
                    " RETURNING 1) SELECT (SELECT count(*) FROM %s), ",
                    PQgetvalue(r, i, 2));
        if (PQgetisnull(r, i, 3))
            cs_buf_adds(&sql, "0, ");
        else
            cs_buf_addf(&sql, "(SELECT count(*) FROM %s), ",
                        PQgetvalue(r, i, 3));
        cs_buf_adds(&sql, "cs_rollup_forget($1, $2),"
                    " (SELECT count(*) FROM k)");
        x = PQexecParams(st->conn, sql.ptr, 2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(x) != PGRES_TUPLES_OK) {
            ret = cs_store_pg_err(err, st->conn, x, "cannot drop a month");
        } else {
            out->conversations += strtol(PQgetvalue(x, 0, 0), NULL, 10);
            out->results += strtol(PQgetvalue(x, 0, 1), NULL, 10);
        }
        PQclear(x);
        cs_buf_reset(&sql);
        if (!ret) {
            cs_buf_addf(&sql, "DROP TABLE %s", PQgetvalue(r, i, 2));
            if (!PQgetisnull(r, i, 3))
                cs_buf_addf(&sql, ", %s", PQgetvalue(r, i, 3));
            ret = cs_store_exec(st, sql.ptr, err);
        }
        cs_buf_release(&sql);
        if (!ret)
            ret = cs_store_exec(st, "COMMIT", err);
        else
            PQclear(PQexec(st->conn, "ROLLBACK"));
    }
    PQclear(r);
    return ret;
}
