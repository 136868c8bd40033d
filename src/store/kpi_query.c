/* kpi_query.c - the aggregates behind the KPIs, computed by PostgreSQL */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"

static const char *const group_expr[] = {
    [CS_KPI_BY_NONE] = "NULL::text",
    [CS_KPI_BY_DAY] = "((c.started_at AT TIME ZONE $4)::date)::text",
    [CS_KPI_BY_AGENT] = "coalesce(c.agent, '(none)')",
};

const char *cs_store_group_expr(enum cs_kpi_by by)
{
    return group_expr[by];
}

#define ANSWERED "outcome = 'answered'"
#define AHT_FILTER                                                       \
    " FILTER (WHERE " ANSWERED " AND ended_at IS NOT NULL"              \
    " AND answered_at IS NOT NULL)"
#define AHT "extract(epoch FROM ended_at - answered_at)"
#define ASA "(coalesce(ring_s, 0) + coalesce(queue_wait_s, 0))::numeric"

/*
 * The aggregates over conversations (the exact scan). Sums are exact, as
 * the rollups' are (rollup.c): interval epochs are numerics, doubles go
 * through ::numeric (15 significant digits), so the scan and the rollups
 * give the same numbers to the last digit.
 */
static const char AGG_SQL[] =
    "count(*),"
    " count(*) FILTER (WHERE direction = 'inbound'),"
    " count(*) FILTER (WHERE direction = 'outbound'),"
    " count(*) FILTER (WHERE " ANSWERED "),"
    " count(*) FILTER (WHERE " ANSWERED " AND direction = 'inbound'),"
    " count(*) FILTER (WHERE " ANSWERED " AND direction = 'outbound'),"
    " count(*) FILTER (WHERE " ANSWERED " AND handoff IS NOT NULL),"
    " count(*) FILTER (WHERE outcome = 'abandoned'"
    "                  AND direction = 'inbound'),"
    " count(*) FILTER (WHERE outcome = 'failed'),"
    " coalesce(sum(" AHT ")" AHT_FILTER ", 0),"
    " count(*)" AHT_FILTER ","
    " coalesce(sum(" ASA ") FILTER (WHERE " ANSWERED "), 0),"
    " coalesce(sum(n_turns) FILTER (WHERE " ANSWERED "), 0),"
    " coalesce(sum(tools_total), 0), coalesce(sum(tools_ok), 0),"
    " coalesce(sum(created_ticket), 0), coalesce(sum(created_crm), 0),"
    " coalesce(sum(created_appt), 0),"
    " coalesce(sum(csat), 0), count(csat), count(nps),"
    " count(*) FILTER (WHERE nps >= 9), count(*) FILTER (WHERE nps <= 6),"
    " coalesce(sum(cost_total::numeric), 0),"
    " coalesce(sum(" AHT " * " AHT ")" AHT_FILTER ", 0),"
    " coalesce(sum(" ASA " * " ASA ") FILTER (WHERE " ANSWERED "), 0),"
    " coalesce(sum(n_turns::bigint * n_turns) FILTER (WHERE " ANSWERED "),"
    "   0),"
    " coalesce(sum(csat::bigint * csat), 0),"
    " coalesce(sum(cost_total::numeric * cost_total::numeric), 0)";

/* The same aggregates from kpi_rollup, column for column. */
static const char ROLLUP_AGG_SQL[] =
    "sum(conversations), sum(inbound), sum(outbound), sum(answered),"
    " sum(answered_inbound), sum(answered_outbound), sum(handed_off),"
    " sum(abandoned_inbound), sum(failed), sum(aht_sum), sum(aht_n),"
    " sum(asa_sum), sum(turns_sum), sum(tools_total), sum(tools_ok),"
    " sum(created_ticket), sum(created_crm), sum(created_appt),"
    " sum(csat_sum), sum(csat_n), sum(nps_n), sum(nps_promoters),"
    " sum(nps_detractors), sum(ai_cost), sum(aht_sq), sum(asa_sq),"
    " sum(turns_sq), sum(csat_sq), sum(cost_sq)";

/* The KPI groups over the rollups' buckets: a bucket lies in one local
 * day when every local midnight of the period is on a 15-minute mark
 * (checked by rollups_fit). */
static const char *const rollup_group_expr[] = {
    [CS_KPI_BY_NONE] = "NULL::text",
    [CS_KPI_BY_DAY] = "((bucket AT TIME ZONE $4)::date)::text",
    [CS_KPI_BY_AGENT] = "agent",
};

#define ROLLUP_WHERE CS_STORE_ROLLUP_WHERE

const char *cs_store_rollup_group_expr(enum cs_kpi_by by)
{
    return rollup_group_expr[by];
}

static long lval(PGresult *r, int row, int col)
{
    return strtol(PQgetvalue(r, row, col), NULL, 10);
}

static double dval(PGresult *r, int row, int col)
{
    return strtod(PQgetvalue(r, row, col), NULL);
}

static void fill_raw(struct cs_kpi_raw *k, PGresult *r, int row)
{
    int c = 1;

    k->group = PQgetisnull(r, row, 0) ? NULL
                                      : cs_xstrdup(PQgetvalue(r, row, 0));
    k->conversations = lval(r, row, c++);
    k->inbound = lval(r, row, c++);
    k->outbound = lval(r, row, c++);
    k->answered = lval(r, row, c++);
    k->answered_inbound = lval(r, row, c++);
    k->answered_outbound = lval(r, row, c++);
    k->handed_off = lval(r, row, c++);
    k->abandoned_inbound = lval(r, row, c++);
    k->failed = lval(r, row, c++);
    k->aht_sum = dval(r, row, c++);
    k->aht_n = lval(r, row, c++);
    k->asa_sum = dval(r, row, c++);
    k->turns_sum = dval(r, row, c++);
    k->tools_total = lval(r, row, c++);
    k->tools_ok = lval(r, row, c++);
    k->created_ticket = lval(r, row, c++);
    k->created_crm = lval(r, row, c++);
    k->created_appt = lval(r, row, c++);
    k->csat_sum = dval(r, row, c++);
    k->csat_n = lval(r, row, c++);
    k->nps_n = lval(r, row, c++);
    k->nps_promoters = lval(r, row, c++);
    k->nps_detractors = lval(r, row, c++);
    k->ai_cost = dval(r, row, c++);
    k->aht_sq = dval(r, row, c++);
    k->asa_sq = dval(r, row, c++);
    k->turns_sq = dval(r, row, c++);
    k->csat_sq = dval(r, row, c++);
    k->cost_sq = dval(r, row, c++);
}

static struct cs_kpi_raw *find_group(struct cs_kpi_raw *raw, size_t n,
                                     const char *group)
{
    for (size_t i = 0; i < n; i++) {
        if (!group && !raw[i].group)
            return &raw[i];
        if (group && raw[i].group && strcmp(group, raw[i].group) == 0)
            return &raw[i];
    }
    return NULL;
}

/*
 * The nearest-rank percentiles from the rollup's value counts, as
 * percentile_disc computes them: the first duration whose cumulative
 * count reaches ceil(p * N) (p * N in double precision, as PostgreSQL
 * does), so they are exact.
 */
#define ROLLUP_PCT(p)                                                    \
    "min(ms) FILTER (WHERE cum::float8 >= ceil(" p "::float8 *"        \
    " tot::float8))"

#define S_ "($2::date::timestamp AT TIME ZONE $4)"
#define E_ "($3::date::timestamp AT TIME ZONE $4)"

/* "piece x of `width` lies in [S, E), and in one local day by day". */
static void piece_ok(struct cs_buf *b, const char *x, const char *width,
                     enum cs_kpi_by by)
{
    cs_buf_addf(b, "(%s >= " S_ " AND %s + interval '%s' <= " E_, x, x,
                width);
    if (by == CS_KPI_BY_DAY)
        cs_buf_addf(b, " AND (%s AT TIME ZONE $4)::date = ((%s + interval"
                    " '%s' - interval '1 microsecond') AT TIME ZONE $4)"
                    "::date", x, x, width);
    cs_buf_addch(b, ')');
}

#define ORIGIN "'2000-01-01 00:00+00'"

/*
 * The latency query over the span histograms (rollup.c): the whole UTC
 * days of the period from kpi_span_d, the whole hours of the rest from
 * kpi_span_h, each piece inside one group; what remains (the part hours
 * at each end of the period, or of each local day by day, in a zone
 * whose offset is not whole hours) from the conversations' own spans;
 * then the value counts' percentiles.
 */
static void rollup_latency_sql(struct cs_buf *sql, enum cs_kpi_by by)
{
    const char *g = rollup_group_expr[by];

    /* The units a group covers (a local day, or the period) and the part
     * hours at their ends. */
    if (by == CS_KPI_BY_DAY)
        cs_buf_adds(sql, "WITH units AS (SELECT (d::date::timestamp"
                    " AT TIME ZONE $4) AS us, ((d::date + 1)::timestamp"
                    " AT TIME ZONE $4) AS ue FROM generate_series("
                    "$2::date::timestamp, $3::date::timestamp - interval"
                    " '1 day', interval '1 day') AS d),");
    else
        cs_buf_adds(sql, "WITH units AS (SELECT " S_ " AS us, " E_
                    " AS ue),");
    cs_buf_adds(sql, " pieces AS (SELECT us AS ps, least(ue, date_bin("
                "'1 hour', us, " ORIGIN ") + interval '1 hour') AS pe"
                " FROM units WHERE us <> date_bin('1 hour', us, " ORIGIN
                ") UNION ALL SELECT greatest(us, date_bin('1 hour', ue, "
                ORIGIN ")), ue FROM units WHERE ue <> date_bin('1 hour',"
                " ue, " ORIGIN "))");
    cs_buf_addf(sql, " SELECT g, name, ARRAY[" ROLLUP_PCT("0.5") ", "
                ROLLUP_PCT("0.95") ", " ROLLUP_PCT("0.99") "],"
                " max(tot) FROM (SELECT g, name, ms,"
                " sum(n) OVER (PARTITION BY g, name ORDER BY ms) AS cum,"
                " sum(n) OVER (PARTITION BY g, name) AS tot"
                " FROM (SELECT g, name, ms, sum(n) AS n FROM ("
                "SELECT %s AS g, name, x.ms, x.n FROM kpi_span_d,"
                " unnest(ms, n) AS x(ms, n)" ROLLUP_WHERE " AND ", g);
    piece_ok(sql, "bucket", "24 hours", by);
    cs_buf_addf(sql, " UNION ALL SELECT %s, name, x.ms, x.n FROM kpi_span_h,"
                " unnest(ms, n) AS x(ms, n)" ROLLUP_WHERE " AND ", g);
    piece_ok(sql, "bucket", "1 hour", by);
    cs_buf_adds(sql, " AND NOT ");
    piece_ok(sql, "date_bin('24 hours', bucket, " ORIGIN ")", "24 hours",
             by);
    cs_buf_addf(sql, " UNION ALL SELECT %s, x.name, x.ms, 1 FROM pieces p"
                " JOIN conversations c ON c.tenant = $1"
                " AND c.started_at >= p.ps AND c.started_at < p.pe,"
                " unnest(c.span_names, c.span_ms) AS x(name, ms)"
                " WHERE x.name IS NOT NULL AND x.ms IS NOT NULL",
                group_expr[by]);
    cs_buf_adds(sql, ") u GROUP BY 1, 2, 3) v) c GROUP BY 1, 2"
                " ORDER BY 1, 2");
}

static int add_latency(struct cs_kpi_raw *raw, size_t n, struct cs_store *st,
                       const char *const params[4], enum cs_kpi_by by,
                       int rollups, struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT;
    PGresult *r;
    int ret = 0;

    /* percentile_disc is the nearest-rank percentile: the first value
     * whose cumulative share reaches p. */
    if (rollups)
        rollup_latency_sql(&sql, by);
    else
        cs_buf_addf(&sql, "SELECT %s AS g, s.name,"
                    " percentile_disc(ARRAY[0.5, 0.95, 0.99])"
                    "   WITHIN GROUP (ORDER BY s.ms), count(*)"
                    " FROM conversations c,"
                    " unnest(c.span_names, c.span_ms) AS s(name, ms)"
                    PERIOD_WHERE " GROUP BY 1, 2 ORDER BY 1, 2",
                    group_expr[by]);
    r = PQexecParams(st->conn, sql.ptr, 4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "latency query failed");
        goto done;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        struct cs_kpi_raw *k = find_group(
            raw, n, PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0));
        struct cs_kpi_latency *l;
        double p[3] = {0, 0, 0};
        const char *arr = PQgetvalue(r, i, 2);

        if (!k)
            continue;
        /* "{610,980,1400}" */
        if (*arr == '{')
            arr++;
        for (int j = 0; j < 3 && *arr; j++) {
            char *end;

            p[j] = strtod(arr, &end);
            arr = *end == ',' ? end + 1 : end;
        }
        k->latency = cs_xrealloc(k->latency,
                                 (k->n_latency + 1) * sizeof(*k->latency));
        l = &k->latency[k->n_latency++];
        l->name = cs_xstrdup(PQgetvalue(r, i, 1));
        l->p50 = p[0];
        l->p95 = p[1];
        l->p99 = p[2];
        l->count = lval(r, i, 3);
    }
done:
    PQclear(r);
    cs_buf_release(&sql);
    return ret;
}

int cs_store_rollups_fit(int *out, struct cs_store *st,
                         const char *const params[4], struct cs_err *err)
{
    const char *p[3] = {params[1], params[2], params[3]};
    PGresult *r;
    int ret = 0;

    *out = 0;
    if (!cs_store_rollups_wanted())
        return 0;
    r = PQexecParams(st->conn, "SELECT coalesce(bool_and(extract(epoch FROM"
                     " (d::date::timestamp AT TIME ZONE $3)) % 900 = 0),"
                     " true) FROM generate_series($1::date::timestamp,"
                     " $2::date::timestamp, interval '1 day') AS d",
                     3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "KPI query failed");
    else
        *out = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!ret && !*out)
        cs_log(CS_LOG_DEBUG, "KPIs of %s to %s in '%s' by scan: a local "
               "midnight off the 15-minute rollup buckets", params[1],
               params[2], params[3]);
    /* The rollup queries are small, but the planner cannot size their
     * pieces and would JIT-compile them (a second and more of compiling
     * for milliseconds of work); their sorts of histogram values fit in
     * memory with a little more of it. For the rest of the session. */
    if (!ret && *out)
        ret = cs_store_exec(st, "SET jit = off; SET work_mem = '64MB'",
                            err);
    return ret;
}

int cs_store_kpi_raw(struct cs_kpi_raw **out, size_t *n_out,
                     struct cs_store *st, const char *tenant,
                     const char *from_day, const char *to_day,
                     const char *tz, enum cs_kpi_by by, struct cs_err *err)
{
    const char *params[4] = {tenant, from_day, to_day, tz};
    struct cs_buf sql = CS_BUF_INIT;
    struct cs_kpi_raw *raw = NULL;
    size_t n = 0;
    PGresult *r = NULL;
    int rollups, ret;

    *out = NULL;
    *n_out = 0;
    ret = cs_store_rollups_fit(&rollups, st, params, err);
    if (ret)
        goto done;
    if (rollups)
        cs_buf_addf(&sql, "SELECT %s AS g, %s FROM kpi_rollup" ROLLUP_WHERE
                    " GROUP BY 1 ORDER BY 1", rollup_group_expr[by],
                    ROLLUP_AGG_SQL);
    else
        cs_buf_addf(&sql, "SELECT %s AS g, %s FROM conversations c"
                    PERIOD_WHERE " GROUP BY 1 ORDER BY 1", group_expr[by],
                    AGG_SQL);
    r = PQexecParams(st->conn, sql.ptr, 4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "KPI query failed");
        goto done;
    }
    n = (size_t)PQntuples(r);
    raw = cs_xcalloc(n ? n : 1, sizeof(*raw));
    for (size_t i = 0; i < n; i++)
        fill_raw(&raw[i], r, (int)i);
    if (n == 0 && by == CS_KPI_BY_NONE)
        n = 1; /* an empty period still has one (all-zero) group */
    ret = add_latency(raw, n, st, params, by, rollups, err);
done:
    PQclear(r);
    cs_buf_release(&sql);
    if (ret) {
        cs_kpi_raw_free(raw, n);
        return ret;
    }
    *out = raw;
    *n_out = n;
    return 0;
}

void cs_kpi_raw_free(struct cs_kpi_raw *raw, size_t n)
{
    if (!raw)
        return;
    for (size_t i = 0; i < n; i++) {
        free(raw[i].group);
        for (size_t j = 0; j < raw[i].n_latency; j++)
            free(raw[i].latency[j].name);
        free(raw[i].latency);
    }
    free(raw);
}

int cs_store_query_strv(char ***out, struct cs_store *st, const char *sql,
                        int n, const char *const *params, const char *what,
                        struct cs_err *err)
{
    PGresult *r;
    char **v;
    int rows;

    *out = NULL;
    r = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int ret = cs_store_pg_err(err, st->conn, r, what);

        PQclear(r);
        return ret;
    }
    rows = PQntuples(r);
    v = cs_xcalloc((size_t)rows + 1, sizeof(*v));
    for (int i = 0; i < rows; i++)
        v[i] = cs_xstrdup(PQgetvalue(r, i, 0));
    PQclear(r);
    *out = v;
    return 0;
}

int cs_store_tenants(char ***out, struct cs_store *st, const char *from_day,
                     const char *to_day, struct cs_err *err)
{
    const char *params[2] = {from_day, to_day};

    /* The slack keeps both ends on 15-minute marks: the rollup has a
     * tenant's row in a bucket exactly when it has conversations there. */
    if (cs_store_rollups_wanted())
        return cs_store_query_strv(out, st, "SELECT DISTINCT tenant FROM "
                                   "kpi_rollup WHERE bucket >= $1::date "
                                   "- interval '2 days' AND bucket < "
                                   "$2::date + interval '2 days' ORDER BY 1",
                                   2, params, "tenant query failed", err);
    return cs_store_query_strv(out, st, "SELECT DISTINCT tenant FROM "
                               "conversations WHERE started_at >= $1::date "
                               "- interval '2 days' AND started_at < "
                               "$2::date + interval '2 days' ORDER BY 1", 2,
                               params, "tenant query failed", err);
}

void cs_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int cs_store_check_tz(struct cs_store *st, const char *tz,
                      struct cs_err *err)
{
    const char *params[1] = {tz};
    PGresult *r = PQexecParams(st->conn, "SELECT now() AT TIME ZONE $1", 1,
                               NULL, params, NULL, NULL, 0);
    int ret = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_err_set(err, CS_EINVALID, "unknown time zone '%s'", tz);
    PQclear(r);
    return ret;
}
