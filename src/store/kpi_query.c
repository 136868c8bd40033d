/* kpi_query.c - the aggregates behind the KPIs, computed by PostgreSQL */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/span_hist.h"

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

#define S_ "($2::date::timestamp AT TIME ZONE $4)"
#define E_ "($3::date::timestamp AT TIME ZONE $4)"

#define ORIGIN "'2000-01-01 00:00+00'"

/* `x` rounded up to a mark of `width` (x on a 15-minute mark). */
#define CEIL_(x, width)                                                  \
    "date_bin('" width "', " x " + interval '" width "' - interval"      \
    " '1 minute', " ORIGIN ")"
#define FLOOR_(x, width) "date_bin('" width "', " x ", " ORIGIN ")"

/*
 * The latency query over the span histograms (rollup.c). Each unit a
 * group covers (the period, or a local day by day) is cut into pieces:
 * the UTC days it holds whole, read from kpi_span_d; the whole hours of
 * the rest, from kpi_span_h; and what remains (the part hours at its
 * ends, in a zone whose offset is not whole hours) from the
 * conversations' own spans, as histograms too. Each piece is one index
 * range of its table. Rows come ordered by group and name, for the
 * client to merge (rollup_latency).
 */
static void rollup_latency_sql(struct cs_buf *sql, enum cs_kpi_by by)
{
    const char *g = by == CS_KPI_BY_AGENT ? "k.agent" : "p.g";
    const char *gc = by == CS_KPI_BY_AGENT ? group_expr[by] : "p.g";

    if (by == CS_KPI_BY_DAY)
        cs_buf_adds(sql, "WITH units AS (SELECT d::date::text AS g,"
                    " (d::date::timestamp AT TIME ZONE $4) AS us,"
                    " ((d::date + 1)::timestamp AT TIME ZONE $4) AS ue"
                    " FROM generate_series($2::date::timestamp,"
                    " $3::date::timestamp - interval '1 day',"
                    " interval '1 day') AS d),");
    else
        cs_buf_adds(sql, "WITH units AS (SELECT NULL::text AS g, " S_
                    " AS us, " E_ " AS ue),");
    /* d0, d1: the whole UTC days; h0, h1: the whole hours. */
    cs_buf_adds(sql, " m AS (SELECT g, us, ue, " CEIL_("us", "24 hours")
                " AS d0, " FLOOR_("ue", "24 hours") " AS d1, "
                CEIL_("us", "1 hour") " AS h0, " FLOOR_("ue", "1 hour")
                " AS h1 FROM units),"
                " dp AS (SELECT g, d0 AS s, d1 AS e FROM m WHERE d0 < d1),"
                " hp AS (SELECT g, h0 AS s, d0 AS e FROM m WHERE d0 < d1"
                " AND h0 < d0 UNION ALL SELECT g, d1, h1 FROM m"
                " WHERE d0 < d1 AND d1 < h1 UNION ALL SELECT g, h0, h1"
                " FROM m WHERE d0 >= d1 AND h0 < h1),"
                " cp AS (SELECT g, us AS s, least(h0, ue) AS e FROM m"
                " WHERE us < h0 UNION ALL SELECT g, greatest(h1, us), ue"
                " FROM m WHERE h1 < ue AND h1 >= h0)");
    /* LATERAL ... OFFSET 0: one index range a piece (the planner knows
     * nothing of how few pieces there are). */
    /* The deltas not yet compacted (hourly) of each piece too. */
    cs_buf_addf(sql, " SELECT * FROM (SELECT %s AS g, k.name, k.ms, k.n"
                " FROM dp p CROSS JOIN LATERAL (SELECT * FROM kpi_span_d k"
                " WHERE k.tenant = $1 AND k.bucket >= p.s"
                " AND k.bucket < p.e UNION ALL SELECT * FROM kpi_span_delta"
                " k WHERE k.tenant = $1 AND k.bucket >= p.s"
                " AND k.bucket < p.e OFFSET 0) k"
                " UNION ALL SELECT %s, k.name, k.ms, k.n"
                " FROM hp p CROSS JOIN LATERAL (SELECT * FROM kpi_span_h k"
                " WHERE k.tenant = $1 AND k.bucket >= p.s"
                " AND k.bucket < p.e UNION ALL SELECT * FROM kpi_span_delta"
                " k WHERE k.tenant = $1 AND k.bucket >= p.s"
                " AND k.bucket < p.e OFFSET 0) k", g, g);
    cs_buf_addf(sql, " UNION ALL SELECT g, name, array_agg(ms ORDER BY ms),"
                " array_agg(n ORDER BY ms) FROM (SELECT %s AS g, x.name,"
                " x.ms, count(*) AS n FROM cp p CROSS JOIN LATERAL"
                " (SELECT * FROM conversations c WHERE c.tenant = $1"
                " AND c.started_at >= p.s AND c.started_at < p.e"
                " OFFSET 0) c, unnest(c.span_names, c.span_ms) AS x(name, ms)"
                " WHERE x.name IS NOT NULL AND x.ms IS NOT NULL"
                " GROUP BY 1, 2, 3) r GROUP BY 1, 2) u ORDER BY 1, 2", gc);
}

/* Appends one span name's percentiles to its group (if it has one). */
static void latency_to(struct cs_kpi_raw *raw, size_t n, const char *group,
                       const char *name, const double p[3], long count)
{
    struct cs_kpi_raw *k = find_group(raw, n, group);
    struct cs_kpi_latency *l;

    if (!k)
        return;
    k->latency = cs_xrealloc(k->latency,
                             (k->n_latency + 1) * sizeof(*k->latency));
    l = &k->latency[k->n_latency++];
    l->name = cs_xstrdup(name);
    l->p50 = p[0];
    l->p95 = p[1];
    l->p99 = p[2];
    l->count = count;
}

static int same_key(PGresult *r, int a, int b)
{
    for (int c = 0; c < 2; c++) {
        if (PQgetisnull(r, a, c) != PQgetisnull(r, b, c))
            return 0;
        if (!PQgetisnull(r, a, c) &&
            strcmp(PQgetvalue(r, a, c), PQgetvalue(r, b, c)) != 0)
            return 0;
    }
    return 1;
}

/*
 * The latency from the span histograms: their rows (in binary, ordered by
 * group and name) merged per group and name here, then the percentiles
 * counted by rank (span_hist.h), the same values percentile_disc picks.
 */
static int rollup_latency(struct cs_kpi_raw *raw, size_t n,
                          struct cs_store *st, const char *const params[4],
                          enum cs_kpi_by by, struct cs_err *err)
{
    static const double ps[3] = {0.5, 0.95, 0.99};
    struct cs_buf sql = CS_BUF_INIT;
    struct cs_span_hist h;
    PGresult *r;
    int ret = 0, rows;

    cs_span_hist_init(&h);
    rollup_latency_sql(&sql, by);
    r = PQexecParams(st->conn, sql.ptr, 4, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "latency query failed");
        goto done;
    }
    rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        double p[3];
        long count;

        ret = cs_span_hist_add_pg(&h, PQgetvalue(r, i, 2),
                                  (size_t)PQgetlength(r, i, 2),
                                  PQgetvalue(r, i, 3),
                                  (size_t)PQgetlength(r, i, 3), err);
        if (ret)
            goto done;
        if (i + 1 < rows && same_key(r, i, i + 1))
            continue;
        cs_span_hist_percentiles(&h, ps, 3, p, &count);
        /* A name whose deltas took every span away is not there. */
        if (count > 0)
            latency_to(raw, n,
                       PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0),
                       PQgetvalue(r, i, 1), p, count);
        cs_span_hist_reset(&h);
    }
done:
    PQclear(r);
    cs_span_hist_release(&h);
    cs_buf_release(&sql);
    return ret;
}

/* The latency by the exact scan: percentile_disc is the nearest-rank
 * percentile, the first value whose cumulative share reaches p. */
static int scan_latency(struct cs_kpi_raw *raw, size_t n, struct cs_store *st,
                        const char *const params[4], enum cs_kpi_by by,
                        struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT;
    PGresult *r;
    int ret = 0;

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
        double p[3] = {0, 0, 0};
        const char *arr = PQgetvalue(r, i, 2);

        /* "{610,980,1400}" */
        if (*arr == '{')
            arr++;
        for (int j = 0; j < 3 && *arr; j++) {
            char *end;

            p[j] = strtod(arr, &end);
            arr = *end == ',' ? end + 1 : end;
        }
        latency_to(raw, n, PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0),
                   PQgetvalue(r, i, 1), p, lval(r, i, 3));
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
    ret = rollups ? rollup_latency(raw, n, st, params, by, err)
                  : scan_latency(raw, n, st, params, by, err);
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
