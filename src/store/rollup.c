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
 * - Span durations, for exact nearest-rank percentiles, as histograms
 *   (every duration of a span name, ascending, with how many spans had
 *   it) per UTC day (kpi_span_d) and hour (kpi_span_h): durations repeat
 *   within a day far more than within a bucket. A period is read as the
 *   UTC days it holds whole, the whole hours of the rest, each piece
 *   inside one KPI group, and the spans of what remains (less than an
 *   hour at each end of a period or local day, in a zone whose offset
 *   is not whole hours) from the conversations themselves (kpi_query.c);
 *   the client merges the histograms and ranks their counts
 *   (span_hist.c), relying on each array being ascending (one that is
 *   not still gives the right values, by a sort).
 *   (Histograms per 15-minute bucket as well cost as much again on
 *   ingest as the other two, for little: a bucket holds a few spans of
 *   each duration.)
 * - kpi_span_delta (migration 51): what the triggers write instead of
 *   merging. Each statement appends its hourly histograms, one row per
 *   key and span name, counts signed (a delete takes away), ascending;
 *   no row is read or rewritten and no day histogram built on ingest
 *   (merging into the stored rows and the day histograms were 70 % of the
 *   triggers' time). The reader reads a piece's deltas beside its day or
 *   hour rows (hourly deltas binned into the day they fall in) and sums
 *   the counts per value, dropping those that sum to 0 (span_hist.c), so
 *   the figures are the same compacted or not. cs_rollup_compact()
 *   folds the deltas it sees into kpi_span_h and kpi_span_d (one row
 *   per key, merged as before; rows left empty go) in one statement:
 *   `db compact-rollups`, and the nightly job after its ingest; a
 *   rebuild recomputes both and clears the deltas. Uncompacted deltas
 *   are hourly only: a month not yet compacted reads every hour of it
 *   (the JSON report of a month of 1,000,000 conversations in 0.97 s
 *   against 0.28 s, bench/README.md) until the nightly compaction.
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
 * away (histograms appended with negative counts), and a row or value
 * that holds nothing goes (histograms: when compacted), so what they
 * keep equals a rebuild row for row (histograms: once compacted). A
 * statement that changed both
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
 * do not); the migration runs it for existing installations. Migration
 * 51 replaces the functions it changes (cs_rollup_span_sql, the
 * conversations' trigger, cs_rollup_rebuild, partition.c's
 * cs_rollup_forget) in place; the histograms stored stay as they are,
 * compacted.
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
    /* A histogram: the durations in ascending order, with their counts. */
    "CREATE TABLE kpi_span_d ("
    " tenant text NOT NULL, bucket timestamptz NOT NULL,"
    " agent text NOT NULL, name text NOT NULL,"
    " ms double precision[] NOT NULL, n bigint[] NOT NULL,"
    " PRIMARY KEY (tenant, bucket, agent, name));"
    "CREATE TABLE kpi_span_h (LIKE kpi_span_d INCLUDING ALL);"
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
    /* The histogram of `width` buckets of the spans counted in `spans`
     * (a CTE of hourly value counts) merged into `tbl`, value by value;
     * a value whose count drops to 0 goes. */
    "CREATE FUNCTION cs_rollup_hist_sql(tbl text, width text)"
    " RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT format($q$"
    "INSERT INTO %1$I AS k SELECT tenant, b, agent, name,"
    " array_agg(ms ORDER BY ms), array_agg(n ORDER BY ms)"
    " FROM (SELECT tenant, date_bin(%2$L, b, '2000-01-01 00:00+00') AS b,"
    " agent, name, ms, sum(n)::bigint AS n FROM spans"
    " GROUP BY 1, 2, 3, 4, 5) w"
    " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    " ON CONFLICT (tenant, bucket, agent, name) DO UPDATE SET (ms, n) ="
    " (SELECT coalesce(array_agg(v ORDER BY v), '{}'),"
    " coalesce(array_agg(c ORDER BY v), '{}')"
    " FROM (SELECT v, sum(c)::bigint AS c FROM (SELECT * FROM"
    " unnest(k.ms, k.n) UNION ALL SELECT * FROM"
    " unnest(excluded.ms, excluded.n)) AS x(v, c)"
    " GROUP BY v HAVING sum(c) <> 0) AS y)"
    "$q$, tbl, width) $f$;"
    /* What: 'count' (add `sign` times the spans of `src` to the two
     * histogram tables, the spans grouped once; in C collation, which
     * sorts fastest), 'uncount' (remove their rows of the keys of `src`
     * that hold nothing), 'dropk' (those of kpi_rollup). */
    "CREATE FUNCTION cs_rollup_span_sql(what text, sign integer, src text)"
    " RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT CASE what"
    " WHEN 'count' THEN format($q$"
    "WITH spans AS (SELECT s.tenant COLLATE \"C\" AS tenant,"
    " date_bin('1 hour', s.started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(s.agent, '(none)') COLLATE \"C\" AS agent,"
    " x.name COLLATE \"C\" AS name, x.ms, %1$s * count(*) AS n"
    " FROM %2$s AS s, unnest(s.span_names, s.span_ms) AS x(name, ms)"
    " WHERE x.name IS NOT NULL AND x.ms IS NOT NULL"
    " GROUP BY 1, 2, 3, 4, 5),"
    " h AS (%3$s) %4$s"
    "$q$, sign, src, cs_rollup_hist_sql('kpi_span_h', '1 hour'),"
    " cs_rollup_hist_sql('kpi_span_d', '24 hours'))"
    " WHEN 'uncount' THEN format($q$"
    "WITH d AS (SELECT DISTINCT tenant,"
    " date_bin('1 hour', started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(agent, '(none)') AS a FROM %1$s AS s),"
    " h AS (DELETE FROM kpi_span_h k USING d"
    " WHERE k.tenant = d.tenant AND k.bucket = d.b AND k.agent = d.a"
    " AND cardinality(k.n) = 0)"
    " DELETE FROM kpi_span_d k USING (SELECT DISTINCT tenant,"
    " date_bin('24 hours', b, '2000-01-01 00:00+00') AS b, a FROM d) e"
    " WHERE k.tenant = e.tenant AND k.bucket = e.b AND k.agent = e.a"
    " AND cardinality(k.n) = 0"
    "$q$, src)"
    " ELSE format($q$"
    "DELETE FROM kpi_rollup k USING (SELECT DISTINCT tenant,"
    " date_bin('15 minutes', started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(agent, '(none)') AS a FROM %1$s AS s) d"
    " WHERE k.tenant = d.tenant AND k.bucket = d.b AND k.agent = d.a"
    " AND k.conversations = 0"
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
    " LANGUAGE plpgsql SET work_mem = '64MB' AS $f$ BEGIN"
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
    " LANGUAGE plpgsql SET work_mem = '64MB' AS $f$ BEGIN"
    " IF TG_OP = 'TRUNCATE' THEN"
    "  DELETE FROM kpi_rollup; DELETE FROM kpi_span_d;"
    "  DELETE FROM kpi_span_h;"
    "  DELETE FROM kpi_result_rollup; RETURN NULL;"
    " END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_sql('conv', -1, 'old_rows');"
    "  EXECUTE cs_rollup_span_sql('count', -1, 'old_rows');"
    "  EXECUTE cs_rollup_result_sql('byconv', -1, 'old_rows');"
    " END IF;"
    " IF TG_OP IN ('INSERT', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_sql('conv', 1, 'new_rows');"
    "  EXECUTE cs_rollup_span_sql('count', 1, 'new_rows');"
    "  EXECUTE cs_rollup_result_sql('byconv', 1, 'new_rows');"
    " END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_span_sql('dropk', 0, 'old_rows');"
    "  EXECUTE cs_rollup_span_sql('uncount', 0, 'old_rows');"
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
    " LANGUAGE plpgsql SET work_mem = '256MB' AS $f$"
    " DECLARE src text; n bigint; BEGIN"
    " LOCK TABLE conversations, results IN SHARE MODE;"
    " src := CASE WHEN t IS NULL THEN 'conversations' ELSE"
    "  format('(SELECT * FROM conversations WHERE tenant = %L)', t) END;"
    " DELETE FROM kpi_rollup WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_span_d WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_span_h WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_result_rollup WHERE t IS NULL OR tenant = t;"
    " EXECUTE cs_rollup_sql('conv', 1, src);"
    " GET DIAGNOSTICS n = ROW_COUNT;"
    " EXECUTE cs_rollup_span_sql('count', 1, src);"
    " INSERT INTO kpi_result_rollup SELECT c.tenant,"
    "  date_bin('15 minutes', c.started_at, '2000-01-01 00:00+00'),"
    "  coalesce(c.agent, '(none)'), c.outcome = 'answered', r.metric,"
    "  r.value::text, count(*)"
    "  FROM results r JOIN conversations c ON c.tenant = r.tenant"
    "  AND c.id = r.conversation_id WHERE r.current"
    "  AND (t IS NULL OR c.tenant = t) GROUP BY 1, 2, 3, 4, 5, 6;"
    " RETURN n; END $f$;"
    /* Existing installations: from what is stored, however long that
     * takes (database.statement_timeout_s ends stuck statements only;
     * this transaction records the migration). */
    "SET LOCAL statement_timeout = 0;"
    "SELECT cs_rollup_rebuild(NULL);";

/*
 * Migration 51: span histograms appended, merged later. The trigger
 * writes each statement's hourly histograms as new rows of
 * kpi_span_delta (counts negative for what it takes away); nothing is
 * read or rewritten on ingest, and no day histograms are built there.
 * cs_rollup_compact() folds the deltas into kpi_span_h and kpi_span_d.
 */
const char cs_store_rollup_delta_migration[] =
    "CREATE TABLE kpi_span_delta ("
    " tenant text NOT NULL, bucket timestamptz NOT NULL,"
    " agent text NOT NULL, name text NOT NULL,"
    " ms double precision[] NOT NULL, n bigint[] NOT NULL);"
    "CREATE INDEX kpi_span_delta_range ON kpi_span_delta (tenant, bucket);"
    /* The spans of `src`, `sign` times, counted per UTC hour, agent,
     * name and duration, in C collation (which sorts fastest). */
    "CREATE FUNCTION cs_rollup_spans_cte(sign integer, src text)"
    " RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT format($q$"
    "spans AS (SELECT s.tenant COLLATE \"C\" AS tenant,"
    " date_bin('1 hour', s.started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(s.agent, '(none)') COLLATE \"C\" AS agent,"
    " x.name COLLATE \"C\" AS name, x.ms, %1$s * count(*) AS n"
    " FROM %2$s AS s, unnest(s.span_names, s.span_ms) AS x(name, ms)"
    " WHERE x.name IS NOT NULL AND x.ms IS NOT NULL"
    " GROUP BY 1, 2, 3, 4, 5)"
    "$q$, sign, src) $f$;"
    /* What: 'log' (append the hourly histograms of `sign` times the
     * spans of `src` to kpi_span_delta), 'count' (merge them into
     * kpi_span_h and kpi_span_d), 'fold' (merge the delta rows of `src`
     * into those two), 'dropk' (kpi_rollup's keys of `src` that hold
     * nothing). */
    "CREATE OR REPLACE FUNCTION cs_rollup_span_sql(what text, sign integer,"
    " src text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT CASE what"
    " WHEN 'log' THEN format($q$"
    "WITH %1$s INSERT INTO kpi_span_delta SELECT tenant, b, agent, name,"
    " array_agg(ms ORDER BY ms), array_agg(n ORDER BY ms) FROM spans"
    " GROUP BY 1, 2, 3, 4"
    "$q$, cs_rollup_spans_cte(sign, src))"
    " WHEN 'count' THEN format($q$WITH %1$s, h AS (%2$s) %3$s$q$,"
    " cs_rollup_spans_cte(sign, src),"
    " cs_rollup_hist_sql('kpi_span_h', '1 hour'),"
    " cs_rollup_hist_sql('kpi_span_d', '24 hours'))"
    " WHEN 'fold' THEN format($q$"
    "WITH spans AS (SELECT s.tenant COLLATE \"C\" AS tenant, s.bucket AS b,"
    " s.agent COLLATE \"C\" AS agent, s.name COLLATE \"C\" AS name, x.ms,"
    " sum(x.n)::bigint AS n FROM %1$s AS s, unnest(s.ms, s.n) AS x(ms, n)"
    " GROUP BY 1, 2, 3, 4, 5 HAVING sum(x.n) <> 0),"
    " h AS (%2$s) %3$s"
    "$q$, src, cs_rollup_hist_sql('kpi_span_h', '1 hour'),"
    " cs_rollup_hist_sql('kpi_span_d', '24 hours'))"
    " ELSE format($q$"
    "DELETE FROM kpi_rollup k USING (SELECT DISTINCT tenant,"
    " date_bin('15 minutes', started_at, '2000-01-01 00:00+00') AS b,"
    " coalesce(agent, '(none)') AS a FROM %1$s AS s) d"
    " WHERE k.tenant = d.tenant AND k.bucket = d.b AND k.agent = d.a"
    " AND k.conversations = 0"
    "$q$, src) END $f$;"
    "CREATE OR REPLACE FUNCTION cs_rollup_trigger() RETURNS trigger"
    " LANGUAGE plpgsql SET work_mem = '64MB' AS $f$ BEGIN"
    " IF TG_OP = 'TRUNCATE' THEN"
    "  DELETE FROM kpi_rollup; DELETE FROM kpi_span_d;"
    "  DELETE FROM kpi_span_h; DELETE FROM kpi_span_delta;"
    "  DELETE FROM kpi_result_rollup; RETURN NULL;"
    " END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_sql('conv', -1, 'old_rows');"
    "  EXECUTE cs_rollup_span_sql('log', -1, 'old_rows');"
    "  EXECUTE cs_rollup_result_sql('byconv', -1, 'old_rows');"
    " END IF;"
    " IF TG_OP IN ('INSERT', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_sql('conv', 1, 'new_rows');"
    "  EXECUTE cs_rollup_span_sql('log', 1, 'new_rows');"
    "  EXECUTE cs_rollup_result_sql('byconv', 1, 'new_rows');"
    " END IF;"
    " IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "  EXECUTE cs_rollup_span_sql('dropk', 0, 'old_rows');"
    "  EXECUTE cs_rollup_result_sql('dropconv', 0, 'old_rows');"
    " END IF;"
    " RETURN NULL; END $f$;"
    /* Folds the deltas it can see (it deletes them; one another's
     * commit waits for) into the histograms; the count of delta rows. */
    "CREATE FUNCTION cs_rollup_compact() RETURNS bigint"
    " LANGUAGE plpgsql SET work_mem = '256MB' AS $f$"
    " DECLARE n bigint; BEGIN"
    " CREATE TEMP TABLE cs_span_fold (LIKE kpi_span_delta);"
    " WITH d AS (DELETE FROM kpi_span_delta RETURNING *)"
    "  INSERT INTO cs_span_fold SELECT * FROM d;"
    " GET DIAGNOSTICS n = ROW_COUNT;"
    " IF n > 0 THEN"
    "  ANALYZE cs_span_fold;"
    "  EXECUTE cs_rollup_span_sql('fold', 1, 'cs_span_fold');"
    "  DELETE FROM kpi_span_h k USING (SELECT DISTINCT tenant, bucket,"
    "   agent FROM cs_span_fold) d WHERE k.tenant = d.tenant"
    "   AND k.bucket = d.bucket AND k.agent = d.agent"
    "   AND cardinality(k.n) = 0;"
    "  DELETE FROM kpi_span_d k USING (SELECT DISTINCT tenant,"
    "   date_bin('24 hours', bucket, '2000-01-01 00:00+00') AS b, agent"
    "   FROM cs_span_fold) d WHERE k.tenant = d.tenant AND k.bucket = d.b"
    "   AND k.agent = d.agent AND cardinality(k.n) = 0;"
    " END IF;"
    " DROP TABLE cs_span_fold;"
    " RETURN n; END $f$;"
    "CREATE OR REPLACE FUNCTION cs_rollup_rebuild(t text) RETURNS bigint"
    " LANGUAGE plpgsql SET work_mem = '256MB' AS $f$"
    " DECLARE src text; n bigint; BEGIN"
    " LOCK TABLE conversations, results IN SHARE MODE;"
    " src := CASE WHEN t IS NULL THEN 'conversations' ELSE"
    "  format('(SELECT * FROM conversations WHERE tenant = %L)', t) END;"
    " DELETE FROM kpi_rollup WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_span_d WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_span_h WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_span_delta WHERE t IS NULL OR tenant = t;"
    " DELETE FROM kpi_result_rollup WHERE t IS NULL OR tenant = t;"
    " EXECUTE cs_rollup_sql('conv', 1, src);"
    " GET DIAGNOSTICS n = ROW_COUNT;"
    " EXECUTE cs_rollup_span_sql('count', 1, src);"
    " INSERT INTO kpi_result_rollup SELECT c.tenant,"
    "  date_bin('15 minutes', c.started_at, '2000-01-01 00:00+00'),"
    "  coalesce(c.agent, '(none)'), c.outcome = 'answered', r.metric,"
    "  r.value::text, count(*)"
    "  FROM results r JOIN conversations c ON c.tenant = r.tenant"
    "  AND c.id = r.conversation_id WHERE r.current"
    "  AND (t IS NULL OR c.tenant = t) GROUP BY 1, 2, 3, 4, 5, 6;"
    " RETURN n; END $f$;"
    /* A month's rollups, when the month is dropped whole (migration 50),
     * its deltas too. */
    "CREATE OR REPLACE FUNCTION cs_rollup_forget(lo timestamptz,"
    " hi timestamptz) RETURNS void LANGUAGE sql AS $f$"
    " DELETE FROM kpi_rollup WHERE bucket >= lo AND bucket < hi;"
    " DELETE FROM kpi_span_d WHERE bucket >= lo AND bucket < hi;"
    " DELETE FROM kpi_span_h WHERE bucket >= lo AND bucket < hi;"
    " DELETE FROM kpi_span_delta WHERE bucket >= lo AND bucket < hi;"
    " DELETE FROM kpi_result_rollup WHERE bucket >= lo AND bucket < hi"
    " $f$;";

int cs_store_rollup_compact(long *rows_out, struct cs_store *st,
                            struct cs_err *err)
{
    PGresult *r;
    int ret = 0;

    *rows_out = 0;
    r = PQexec(st->conn, "SELECT cs_rollup_compact()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot compact the "
                              "rollups");
    else
        *rows_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return ret;
}

int cs_store_rollup_rebuild(long *rows_out, struct cs_store *st,
                            const char *tenant, struct cs_err *err)
{
    const char *params[1] = {tenant};
    PGresult *r;
    int ret = 0;

    *rows_out = 0;
    /* A rebuild of millions of conversations may outlast
     * database.statement_timeout_s, which is for stuck statements. */
    ret = cs_store_exec(st, "BEGIN; SET LOCAL statement_timeout = 0", err);
    if (ret)
        return ret;
    r = PQexecParams(st->conn, "SELECT cs_rollup_rebuild($1)", 1, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot rebuild the "
                              "rollups");
    else
        *rows_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (!ret)
        ret = cs_store_exec(st, "COMMIT", err);
    if (ret)
        PQclear(PQexec(st->conn, "ROLLBACK"));
    return ret;
}

int cs_store_rollups_wanted(void)
{
    const char *v = getenv("CALLSCOPE_KPI_SCAN");

    return !(v && *v && strcmp(v, "0") != 0);
}
