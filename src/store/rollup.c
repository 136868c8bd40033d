/* rollup.c - the KPI rollups: schema, maintenance triggers, rebuild */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

/*
 * The rollups (migration 30), each keyed by tenant, a UTC interval and
 * coalesce(agent, '(none)') (the agent group of the KPI queries).
 * Intervals start on date_bin marks from 2000-01-01 UTC; every UTC offset
 * in use today is a multiple of 15 minutes, +05:45 included, so each
 * local day is a whole number of 15-minute buckets.
 *
 * - kpi_rollup: per 15-minute bucket, the additive aggregates of
 *   kpi_query.c, each exact: counts as bigint, durations and money as
 *   numeric (interval epochs are exact numerics; a double goes through
 *   ::numeric, its 15 significant digits, the same in the scan), so sums
 *   of sums equal the sum over the conversations whatever the grouping.
 * - Span durations, for exact nearest-rank percentiles at three
 *   resolutions, because value counts per 15-minute bucket hardly
 *   compress (a bucket holds a few spans of each duration): kpi_span_d
 *   and kpi_span_h count the spans of each (name, duration) per UTC day
 *   and hour, kpi_span_q holds every duration of a 15-minute bucket and
 *   span name in an array. A period is read as the UTC days it holds
 *   whole, the whole hours of the rest, then its remaining buckets, each
 *   piece inside one KPI group (kpi_query.c).
 * - kpi_result_rollup: per 15-minute bucket, the current results of the
 *   conversations by whether the conversation was answered, metric and
 *   value (its jsonb text, as the scan groups them). A result counts
 *   while it is current and its conversation is stored.
 *
 * Statement-level AFTER triggers with transition tables keep them in
 * step in the writing transaction: on conversations (COPY of ingest, the
 * delete of replaced versions, `db prune`, `tenant delete`; an UPDATE is
 * a delete and an insert), which move their results' counts too, and on
 * results (written, superseded, deleted). Counts are added and taken
 * away, and a row that holds nothing goes; a bucket's array grows on
 * insert, and on a delete or update the buckets touched are recomputed
 * from the stored conversations (after an update's new rows were
 * appended, so nothing is counted twice). A statement that changed both
 * tables at once would leave each trigger seeing neither side (both run
 * after both changes), so prune and tenant delete delete results and
 * conversations in two statements. Lookups from a transition table go one
 * index probe per row (LATERAL ... OFFSET 0): the planner knows nothing
 * of its size. Each step's SQL is built by a cs_rollup_*_sql() function
 * from the source relation's name and run with EXECUTE in the trigger
 * function, where the transition tables are visible.
 *
 * cs_rollup_rebuild(tenant or NULL) recomputes them from the stored data
 * under a SHARE lock on conversations and results (writers wait, readers
 * do not); the migration runs it for existing installations.
 */
const char cs_store_rollup_migration[] =
    "CREATE TABLE kpi_rollup ("
    " tenant text NOT NULL,"
    " bucket timestamptz NOT NULL,"
    " agent text NOT NULL,"
    " conversations bigint NOT NULL,"
    " inbound bigint NOT NULL,"
    " outbound bigint NOT NULL,"
    " answered bigint NOT NULL,"
    " answered_inbound bigint NOT NULL,"
    " answered_outbound bigint NOT NULL,"
    " handed_off bigint NOT NULL,"
    " abandoned_inbound bigint NOT NULL,"
    " failed bigint NOT NULL,"
    " aht_sum numeric NOT NULL,"
    " aht_n bigint NOT NULL,"
    " asa_sum numeric NOT NULL,"
    " turns_sum bigint NOT NULL,"
    " tools_total bigint NOT NULL,"
    " tools_ok bigint NOT NULL,"
    " created_ticket bigint NOT NULL,"
    " created_crm bigint NOT NULL,"
    " created_appt bigint NOT NULL,"
    " csat_sum bigint NOT NULL,"
    " csat_n bigint NOT NULL,"
    " nps_n bigint NOT NULL,"
    " nps_promoters bigint NOT NULL,"
    " nps_detractors bigint NOT NULL,"
    " ai_cost numeric NOT NULL,"
    " aht_sq numeric NOT NULL,"
    " asa_sq numeric NOT NULL,"
    " turns_sq bigint NOT NULL,"
    " csat_sq bigint NOT NULL,"
    " cost_sq numeric NOT NULL,"
    " PRIMARY KEY (tenant, bucket, agent));"
    "CREATE TABLE kpi_span_d ("
    " tenant text NOT NULL, bucket timestamptz NOT NULL,"
    " agent text NOT NULL, name text NOT NULL,"
    " ms double precision NOT NULL, n bigint NOT NULL,"
    " PRIMARY KEY (tenant, bucket, agent, name, ms));"
    "CREATE TABLE kpi_span_h (LIKE kpi_span_d INCLUDING ALL);"
    "CREATE TABLE kpi_span_q ("
    " tenant text NOT NULL, bucket timestamptz NOT NULL,"
    " agent text NOT NULL, name text NOT NULL,"
    " ms double precision[] NOT NULL,"
    " PRIMARY KEY (tenant, bucket, agent, name));"
    "CREATE TABLE kpi_result_rollup ("
    " tenant text NOT NULL,"
    " bucket timestamptz NOT NULL,"
    " agent text NOT NULL,"
    " answered boolean NOT NULL,"
    " metric text NOT NULL,"
    " value text NOT NULL,"
    " n bigint NOT NULL,"
    " PRIMARY KEY (tenant, bucket, agent, answered, metric, value));"
    /* 'conv': add `sign` times the conversations of `src`. */
    "CREATE FUNCTION cs_rollup_sql(what text, sign integer, src text)"
    " RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT CASE what"
    " WHEN 'conv' THEN format($q$"
    "INSERT INTO kpi_rollup AS k SELECT tenant,"
    " date_bin('15 minutes', started_at, '2000-01-01 00:00+00'),"
    " coalesce(agent, '(none)'),"
    " %1$s * count(*),"
    " %1$s * count(*) FILTER (WHERE direction = 'inbound'),"
    " %1$s * count(*) FILTER (WHERE direction = 'outbound'),"
    " %1$s * count(*) FILTER (WHERE outcome = 'answered'),"
    " %1$s * count(*) FILTER (WHERE outcome = 'answered'"
    "   AND direction = 'inbound'),"
    " %1$s * count(*) FILTER (WHERE outcome = 'answered'"
    "   AND direction = 'outbound'),"
    " %1$s * count(*) FILTER (WHERE outcome = 'answered'"
    "   AND handoff IS NOT NULL),"
    " %1$s * count(*) FILTER (WHERE outcome = 'abandoned'"
    "   AND direction = 'inbound'),"
    " %1$s * count(*) FILTER (WHERE outcome = 'failed'),"
    " %1$s * coalesce(sum(extract(epoch FROM ended_at - answered_at))"
    "   FILTER (WHERE outcome = 'answered' AND ended_at IS NOT NULL"
    "   AND answered_at IS NOT NULL), 0),"
    " %1$s * count(*) FILTER (WHERE outcome = 'answered'"
    "   AND ended_at IS NOT NULL AND answered_at IS NOT NULL),"
    " %1$s * coalesce(sum((coalesce(ring_s, 0) +"
    "   coalesce(queue_wait_s, 0))::numeric)"
    "   FILTER (WHERE outcome = 'answered'), 0),"
    " %1$s * coalesce(sum(n_turns) FILTER (WHERE outcome = 'answered'), 0),"
    " %1$s * coalesce(sum(tools_total), 0),"
    " %1$s * coalesce(sum(tools_ok), 0),"
    " %1$s * coalesce(sum(created_ticket), 0),"
    " %1$s * coalesce(sum(created_crm), 0),"
    " %1$s * coalesce(sum(created_appt), 0),"
    " %1$s * coalesce(sum(csat), 0),"
    " %1$s * count(csat),"
    " %1$s * count(nps),"
    " %1$s * count(*) FILTER (WHERE nps >= 9),"
    " %1$s * count(*) FILTER (WHERE nps <= 6),"
    " %1$s * coalesce(sum(cost_total::numeric), 0),"
    " %1$s * coalesce(sum(extract(epoch FROM ended_at - answered_at) *"
    "   extract(epoch FROM ended_at - answered_at))"
    "   FILTER (WHERE outcome = 'answered' AND ended_at IS NOT NULL"
    "   AND answered_at IS NOT NULL), 0),"
    " %1$s * coalesce(sum((coalesce(ring_s, 0) +"
    "   coalesce(queue_wait_s, 0))::numeric * (coalesce(ring_s, 0) +"
    "   coalesce(queue_wait_s, 0))::numeric)"
    "   FILTER (WHERE outcome = 'answered'), 0),"
    " %1$s * coalesce(sum(n_turns::bigint * n_turns)"
    "   FILTER (WHERE outcome = 'answered'), 0),"
    " %1$s * coalesce(sum(csat::bigint * csat), 0),"
    " %1$s * coalesce(sum(cost_total::numeric * cost_total::numeric), 0)"
    " FROM %2$s AS s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    " ON CONFLICT (tenant, bucket, agent) DO UPDATE SET"
    " conversations = k.conversations + excluded.conversations,"
    " inbound = k.inbound + excluded.inbound,"
    " outbound = k.outbound + excluded.outbound,"
    " answered = k.answered + excluded.answered,"
    " answered_inbound = k.answered_inbound + excluded.answered_inbound,"
    " answered_outbound = k.answered_outbound + excluded.answered_outbound,"
    " handed_off = k.handed_off + excluded.handed_off,"
    " abandoned_inbound = k.abandoned_inbound + excluded.abandoned_inbound,"
    " failed = k.failed + excluded.failed,"
    " aht_sum = k.aht_sum + excluded.aht_sum,"
    " aht_n = k.aht_n + excluded.aht_n,"
    " asa_sum = k.asa_sum + excluded.asa_sum,"
    " turns_sum = k.turns_sum + excluded.turns_sum,"
    " tools_total = k.tools_total + excluded.tools_total,"
    " tools_ok = k.tools_ok + excluded.tools_ok,"
    " created_ticket = k.created_ticket + excluded.created_ticket,"
    " created_crm = k.created_crm + excluded.created_crm,"
    " created_appt = k.created_appt + excluded.created_appt,"
    " csat_sum = k.csat_sum + excluded.csat_sum,"
    " csat_n = k.csat_n + excluded.csat_n,"
    " nps_n = k.nps_n + excluded.nps_n,"
    " nps_promoters = k.nps_promoters + excluded.nps_promoters,"
    " nps_detractors = k.nps_detractors + excluded.nps_detractors,"
    " ai_cost = k.ai_cost + excluded.ai_cost,"
    " aht_sq = k.aht_sq + excluded.aht_sq,"
    " asa_sq = k.asa_sq + excluded.asa_sq,"
    " turns_sq = k.turns_sq + excluded.turns_sq,"
    " csat_sq = k.csat_sq + excluded.csat_sq,"
    " cost_sq = k.cost_sq + excluded.cost_sq"
    "$q$, sign, src)"
    " END $f$;"
    /* What: 'count' (add `sign` times the spans of `src` to `tbl`, a value
     * count table of buckets `width` wide), 'uncount' (remove its rows of
     * the keys of `src` that hold nothing; 'dropk' those of kpi_rollup),
     * 'append' (the spans of `src`
     * into kpi_span_q), 'clear' and 'redo' (delete, then recompute from
     * conversations, the kpi_span_q rows of the keys of `src`). */
    "CREATE FUNCTION cs_rollup_span_sql(what text, sign integer, src text,"
    " tbl text, width text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$"
    " SELECT CASE what"
    " WHEN 'count' THEN format($q$"
    "INSERT INTO %3$I AS k SELECT s.tenant,"
    " date_bin(%4$L, s.started_at, '2000-01-01 00:00+00'),"
    " coalesce(s.agent, '(none)'), x.name, x.ms, %1$s * count(*)"
    " FROM %2$s AS s, unnest(s.span_names, s.span_ms) AS x(name, ms)"
    " WHERE x.name IS NOT NULL AND x.ms IS NOT NULL"
    " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
    " ON CONFLICT (tenant, bucket, agent, name, ms) DO UPDATE SET"
    " n = k.n + excluded.n"
    "$q$, sign, src, tbl, width)"
    " WHEN 'uncount' THEN format($q$"
    "DELETE FROM %2$I k USING (SELECT DISTINCT tenant,"
    " date_bin(%3$L, started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(agent, '(none)') AS a FROM %1$s AS s) d"
    " WHERE k.tenant = d.tenant AND k.bucket = d.b AND k.agent = d.a"
    " AND k.n = 0"
    "$q$, src, tbl, width)"
    " WHEN 'append' THEN format($q$"
    "INSERT INTO kpi_span_q AS k SELECT s.tenant,"
    " date_bin('15 minutes', s.started_at, '2000-01-01 00:00+00'),"
    " coalesce(s.agent, '(none)'), x.name, array_agg(x.ms)"
    " FROM %1$s AS s, unnest(s.span_names, s.span_ms) AS x(name, ms)"
    " WHERE x.name IS NOT NULL AND x.ms IS NOT NULL"
    " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    " ON CONFLICT (tenant, bucket, agent, name) DO UPDATE SET"
    " ms = k.ms || excluded.ms"
    "$q$, src)"
    " WHEN 'dropk' THEN format($q$"
    "DELETE FROM kpi_rollup k USING (SELECT DISTINCT tenant,"
    " date_bin('15 minutes', started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(agent, '(none)') AS a FROM %1$s AS s) d"
    " WHERE k.tenant = d.tenant AND k.bucket = d.b AND k.agent = d.a"
    " AND k.conversations = 0"
    "$q$, src)"
    " WHEN 'clear' THEN format($q$"
    "DELETE FROM kpi_span_q k USING (SELECT DISTINCT tenant,"
    " date_bin('15 minutes', started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(agent, '(none)') AS a FROM %1$s AS s) d"
    " WHERE k.tenant = d.tenant AND k.bucket = d.b AND k.agent = d.a"
    "$q$, src)"
    " ELSE format($q$"
    "INSERT INTO kpi_span_q SELECT c.tenant, d.b, d.a, x.name,"
    " array_agg(x.ms) FROM (SELECT DISTINCT tenant,"
    " date_bin('15 minutes', started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(agent, '(none)') AS a FROM %1$s AS s) d"
    " JOIN conversations c ON c.tenant = d.tenant"
    " AND c.started_at >= d.b AND c.started_at < d.b + interval '15 minutes'"
    " AND coalesce(c.agent, '(none)') = d.a,"
    " unnest(c.span_names, c.span_ms) AS x(name, ms)"
    " WHERE x.name IS NOT NULL AND x.ms IS NOT NULL"
    " GROUP BY 1, 2, 3, 4"
    "$q$, src) END $f$;"
    /* What: 'byres' (results `src` joined to their conversations),
     * 'byconv' (conversations `src` joined to their current results),
     * each adding `sign` times; 'dropres', 'dropconv': the keys they
     * touched that hold nothing now. */
    "CREATE FUNCTION cs_rollup_result_sql(what text, sign integer,"
    " src text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT CASE"
    " WHEN what = 'byres' THEN format($q$"
    "INSERT INTO kpi_result_rollup AS k SELECT c.tenant,"
    " date_bin('15 minutes', c.started_at, '2000-01-01 00:00+00'),"
    " coalesce(c.agent, '(none)'), c.outcome = 'answered', r.metric,"
    " r.value::text, %1$s * count(*)"
    " FROM %2$s AS r CROSS JOIN LATERAL (SELECT * FROM conversations x"
    "  WHERE x.tenant = r.tenant AND x.id = r.conversation_id OFFSET 0) c"
    " WHERE r.current GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
    " ON CONFLICT (tenant, bucket, agent, answered, metric, value)"
    " DO UPDATE SET n = k.n + excluded.n"
    "$q$, sign, src)"
    " WHEN what = 'byconv' THEN format($q$"
    "INSERT INTO kpi_result_rollup AS k SELECT c.tenant,"
    " date_bin('15 minutes', c.started_at, '2000-01-01 00:00+00'),"
    " coalesce(c.agent, '(none)'), c.outcome = 'answered', r.metric,"
    " r.value::text, %1$s * count(*)"
    " FROM %2$s AS c CROSS JOIN LATERAL (SELECT * FROM results x"
    "  WHERE x.tenant = c.tenant AND x.conversation_id = c.id"
    "  AND x.current OFFSET 0) r"
    " GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
    " ON CONFLICT (tenant, bucket, agent, answered, metric, value)"
    " DO UPDATE SET n = k.n + excluded.n"
    "$q$, sign, src)"
    " WHEN what = 'dropres' THEN format($q$"
    "DELETE FROM kpi_result_rollup k USING (SELECT DISTINCT c.tenant,"
    " date_bin('15 minutes', c.started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(c.agent, '(none)') AS a FROM %1$s AS r CROSS JOIN LATERAL"
    " (SELECT * FROM conversations x WHERE x.tenant = r.tenant"
    "  AND x.id = r.conversation_id OFFSET 0) c) d"
    " WHERE k.tenant = d.tenant AND k.bucket = d.b AND k.agent = d.a"
    " AND k.n = 0"
    "$q$, src)"
    " ELSE format($q$"
    "DELETE FROM kpi_result_rollup k USING (SELECT DISTINCT tenant,"
    " date_bin('15 minutes', started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(agent, '(none)') AS a FROM %1$s AS c) d"
    " WHERE k.tenant = d.tenant AND k.bucket = d.b AND k.agent = d.a"
    " AND k.n = 0"
    "$q$, src) END $f$;"
    "CREATE FUNCTION cs_rollup_results_trigger() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$ BEGIN"
    " IF TG_OP = 'TRUNCATE' THEN"
    "  DELETE FROM kpi_result_rollup; RETURN NULL;"
    " END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_result_sql('byres', -1, 'old_rows');"
    " END IF;"
    " IF TG_OP IN ('INSERT', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_result_sql('byres', 1, 'new_rows');"
    " END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_result_sql('dropres', 0, 'old_rows');"
    " END IF;"
    " RETURN NULL; END $f$;"
    "CREATE TRIGGER results_rollup_ins AFTER INSERT ON results"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_rollup_results_trigger();"
    "CREATE TRIGGER results_rollup_del AFTER DELETE ON results"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_rollup_results_trigger();"
    "CREATE TRIGGER results_rollup_upd AFTER UPDATE ON results"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_rollup_results_trigger();"
    "CREATE TRIGGER results_rollup_trunc AFTER TRUNCATE"
    " ON results FOR EACH STATEMENT"
    " EXECUTE FUNCTION cs_rollup_results_trigger();"
    "CREATE FUNCTION cs_rollup_trigger() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$ BEGIN"
    " IF TG_OP = 'TRUNCATE' THEN"
    "  DELETE FROM kpi_rollup; DELETE FROM kpi_span_d;"
    "  DELETE FROM kpi_span_h; DELETE FROM kpi_span_q;"
    "  DELETE FROM kpi_result_rollup; RETURN NULL;"
    " END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_sql('conv', -1, 'old_rows');"
    "  EXECUTE cs_rollup_span_sql('count', -1, 'old_rows', 'kpi_span_d',"
    "   '24 hours');"
    "  EXECUTE cs_rollup_span_sql('count', -1, 'old_rows', 'kpi_span_h',"
    "   '1 hour');"
    "  EXECUTE cs_rollup_result_sql('byconv', -1, 'old_rows');"
    " END IF;"
    " IF TG_OP IN ('INSERT', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_sql('conv', 1, 'new_rows');"
    "  EXECUTE cs_rollup_span_sql('count', 1, 'new_rows', 'kpi_span_d',"
    "   '24 hours');"
    "  EXECUTE cs_rollup_span_sql('count', 1, 'new_rows', 'kpi_span_h',"
    "   '1 hour');"
    "  EXECUTE cs_rollup_span_sql('append', 1, 'new_rows', NULL, NULL);"
    "  EXECUTE cs_rollup_result_sql('byconv', 1, 'new_rows');"
    " END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_span_sql('dropk', 0, 'old_rows', NULL, NULL);"
    "  EXECUTE cs_rollup_span_sql('uncount', 0, 'old_rows', 'kpi_span_d',"
    "   '24 hours');"
    "  EXECUTE cs_rollup_span_sql('uncount', 0, 'old_rows', 'kpi_span_h',"
    "   '1 hour');"
    "  EXECUTE cs_rollup_span_sql('clear', 0, 'old_rows', NULL, NULL);"
    "  EXECUTE cs_rollup_span_sql('redo', 0, 'old_rows', NULL, NULL);"
    "  EXECUTE cs_rollup_result_sql('dropconv', 0, 'old_rows');"
    " END IF;"
    " RETURN NULL; END $f$;"
    "CREATE TRIGGER conversations_rollup_ins AFTER INSERT ON conversations"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_rollup_trigger();"
    "CREATE TRIGGER conversations_rollup_del AFTER DELETE ON conversations"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_rollup_trigger();"
    "CREATE TRIGGER conversations_rollup_upd AFTER UPDATE ON conversations"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION cs_rollup_trigger();"
    "CREATE TRIGGER conversations_rollup_trunc AFTER TRUNCATE"
    " ON conversations FOR EACH STATEMENT"
    " EXECUTE FUNCTION cs_rollup_trigger();"
    "CREATE FUNCTION cs_rollup_rebuild(t text) RETURNS bigint"
    " LANGUAGE plpgsql AS $f$ DECLARE src text; n bigint; BEGIN"
    " LOCK TABLE conversations, results IN SHARE MODE;"
    " src := CASE WHEN t IS NULL THEN 'conversations' ELSE"
    "  format('(SELECT * FROM conversations WHERE tenant = %L)', t) END;"
    " DELETE FROM kpi_rollup WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_span_d WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_span_h WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_span_q WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_result_rollup WHERE t IS NULL OR tenant = t;"
    " EXECUTE cs_rollup_sql('conv', 1, src);"
    " GET DIAGNOSTICS n = ROW_COUNT;"
    " EXECUTE cs_rollup_span_sql('count', 1, src, 'kpi_span_d',"
    "  '24 hours');"
    " EXECUTE cs_rollup_span_sql('count', 1, src, 'kpi_span_h', '1 hour');"
    " EXECUTE cs_rollup_span_sql('append', 1, src, NULL, NULL);"
    " INSERT INTO kpi_result_rollup SELECT c.tenant,"
    "  date_bin('15 minutes', c.started_at, '2000-01-01 00:00+00'),"
    "  coalesce(c.agent, '(none)'), c.outcome = 'answered', r.metric,"
    "  r.value::text, count(*)"
    "  FROM results r JOIN conversations c ON c.tenant = r.tenant"
    "  AND c.id = r.conversation_id WHERE r.current"
    "  AND (t IS NULL OR c.tenant = t) GROUP BY 1, 2, 3, 4, 5, 6;"
    " RETURN n; END $f$;"
    /* Existing installations: from what is stored. */
    "SELECT cs_rollup_rebuild(NULL);";

int cs_store_rollup_rebuild(long *rows_out, struct cs_store *st,
                            const char *tenant, struct cs_err *err)
{
    const char *params[1] = {tenant};
    PGresult *r;
    int ret = 0;

    *rows_out = 0;
    r = PQexecParams(st->conn, "SELECT cs_rollup_rebuild($1)", 1, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot rebuild the "
                              "rollups");
    else
        *rows_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return ret;
}

int cs_store_rollups_wanted(void)
{
    const char *v = getenv("CALLSCOPE_KPI_SCAN");

    return !(v && *v && strcmp(v, "0") != 0);
}
