/* prune.c - data lifecycle: retention and removing a tenant */
#include "store/prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/store_internal.h"

/* The instant a local day starts: $2 the day, $3 the zone. */
#define DAY_START "($2::date::timestamp AT TIME ZONE $3)"

static long count_of(PGresult *r, int col)
{
    return strtol(PQgetvalue(r, 0, col), NULL, 10);
}

static int run(PGresult **out, struct cs_store *st, const char *sql,
               int n, const char *const *params, const char *what,
               struct cs_err *err)
{
    PGresult *r = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL,
                               0);
    ExecStatusType s = PQresultStatus(r);

    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
        int ret = cs_store_pg_err(err, st->conn, r, what);

        PQclear(r);
        *out = NULL;
        return ret;
    }
    *out = r;
    return 0;
}

int cs_store_prune_tenant(struct cs_prune_counts *out, struct cs_store *st,
                          const char *tenant, const char *before_day,
                          const char *tz, long batch, int dry_run,
                          struct cs_err *err)
{
    char lim[24];
    const char *params[4] = {tenant, before_day, tz, lim};
    PGresult *r = NULL;
    int ret;

    snprintf(lim, sizeof(lim), "%ld", batch > 0 ? batch : 5000);
    if (dry_run) {
        ret = run(&r, st,
                  "SELECT (SELECT count(*) FROM conversations WHERE tenant ="
                  " $1 AND started_at < " DAY_START "),"
                  " (SELECT count(*) FROM results r JOIN conversations c ON"
                  "  c.tenant = r.tenant AND c.id = r.conversation_id"
                  " AND r.started_at = c.started_at"
                  "  WHERE c.tenant = $1 AND c.started_at < " DAY_START "),"
                  " (SELECT count(*) FROM deliveries WHERE tenant = $1 AND"
                  "  queued_at < " DAY_START "),"
                  " (SELECT count(*) FROM alerts WHERE tenant = $1 AND"
                  "  day < $2::date),"
                  " (SELECT count(*) FROM explanations WHERE tenant = $1 AND"
                  "  to_day <= $2::date)",
                  3, params, "cannot count what retention removes", err);
        if (ret)
            return ret;
        out->conversations += count_of(r, 0);
        out->results += count_of(r, 1);
        out->deliveries += count_of(r, 2);
        out->alerts += count_of(r, 3);
        out->explanations += count_of(r, 4);
        PQclear(r);
        return 0;
    }
    /* Conversations and their results, a bounded batch per transaction:
     * the results first, then their conversations, in two statements, so
     * that the rollups' triggers see each change (rollup.c). */
    for (;;) {
        long gone;
        char *ids = NULL;
        const char *p2[1];

        ret = cs_store_exec(st, "BEGIN", err);
        if (ret)
            return ret;
        ret = run(&r, st,
                  "WITH gone AS ("
                  " SELECT tenant, id FROM conversations WHERE tenant = $1"
                  " AND started_at < " DAY_START " LIMIT $4::bigint"
                  " FOR UPDATE),"
                  " res AS (DELETE FROM results r USING gone g"
                  "  WHERE r.tenant = g.tenant AND r.conversation_id = g.id"
                  "  RETURNING 1)"
                  " SELECT (SELECT count(*) FROM gone),"
                  " (SELECT count(*) FROM res),"
                  " (SELECT coalesce(jsonb_agg(jsonb_build_array(tenant,"
                  "  id)), '[]') FROM gone)",
                  4, params, "cannot prune conversations", err);
        if (ret)
            goto rollback;
        gone = count_of(r, 0);
        out->conversations += gone;
        out->results += count_of(r, 1);
        ids = cs_xstrdup(PQgetvalue(r, 0, 2));
        PQclear(r);
        p2[0] = ids;
        ret = run(&r, st,
                  "DELETE FROM conversations c USING"
                  " jsonb_array_elements($1::jsonb) AS d(k)"
                  " WHERE c.tenant = d.k->>0 AND c.id = d.k->>1",
                  1, p2, "cannot prune conversations", err);
        free(ids);
        if (ret)
            goto rollback;
        PQclear(r);
        ret = cs_store_exec(st, "COMMIT", err);
        if (ret)
            return ret;
        if (gone == 0)
            break;
    }
    ret = run(&r, st,
              "WITH d AS (DELETE FROM deliveries WHERE tenant = $1 AND"
              " queued_at < " DAY_START " RETURNING 1),"
              " a AS (DELETE FROM alerts WHERE tenant = $1 AND"
              " day < $2::date RETURNING 1),"
              " x AS (DELETE FROM explanations WHERE tenant = $1 AND"
              " to_day <= $2::date RETURNING 1)"
              " SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM a),"
              " (SELECT count(*) FROM x)",
              3, params, "cannot prune deliveries, alerts and explanations",
              err);
    if (ret)
        return ret;
    out->deliveries += count_of(r, 0);
    out->alerts += count_of(r, 1);
    out->explanations += count_of(r, 2);
    PQclear(r);
    return 0;
rollback:
    PQclear(PQexec(st->conn, "ROLLBACK"));
    return ret;
}

int cs_store_delete_tenant(struct cs_prune_counts *out, struct cs_store *st,
                           const char *tenant, struct cs_err *err)
{
    const char *params[1] = {tenant};
    PGresult *r = NULL;
    long results;
    int ret;

    /* Results first, in a statement of their own (see the prune). */
    ret = cs_store_exec(st, "BEGIN", err);
    if (ret)
        return ret;
    ret = run(&r, st, "WITH res AS (DELETE FROM results WHERE tenant = $1"
              " RETURNING 1) SELECT count(*) FROM res", 1, params,
              "cannot delete the tenant", err);
    if (ret)
        goto rollback;
    results = count_of(r, 0);
    PQclear(r);
    ret = run(&r, st,
              "WITH c AS (DELETE FROM conversations WHERE tenant = $1"
              " RETURNING 1),"
              " d AS (DELETE FROM deliveries WHERE tenant = $1 RETURNING 1),"
              " a AS (DELETE FROM alerts WHERE tenant = $1 RETURNING 1),"
              " x AS (DELETE FROM explanations WHERE tenant = $1"
              " RETURNING 1),"
              /* Its requests in batches: their answers, if any come, are
               * for conversations that are gone. */
              " q AS (DELETE FROM llm_batch_requests WHERE tenant = $1"
              " RETURNING 1)"
              " SELECT (SELECT count(*) FROM c),"
              " (SELECT count(*) FROM d), (SELECT count(*) FROM a),"
              " (SELECT count(*) FROM x)",
              1, params, "cannot delete the tenant", err);
    if (ret)
        goto rollback;
    ret = cs_store_exec(st, "COMMIT", err);
    if (ret) {
        PQclear(r);
        return ret;
    }
    out->results += results;
    out->conversations += count_of(r, 0);
    out->deliveries += count_of(r, 1);
    out->alerts += count_of(r, 2);
    out->explanations += count_of(r, 3);
    PQclear(r);
    return 0;
rollback:
    PQclear(PQexec(st->conn, "ROLLBACK"));
    return ret;
}

int cs_store_data_tenants(char ***out, struct cs_store *st,
                          struct cs_err *err)
{
    PGresult *r = NULL;
    char **v;
    int ret, n;

    *out = NULL;
    ret = run(&r, st,
              "SELECT tenant FROM conversations UNION SELECT tenant FROM"
              " deliveries UNION SELECT tenant FROM alerts ORDER BY 1",
              0, NULL, "cannot list the tenants", err);
    if (ret)
        return ret;
    n = PQntuples(r);
    v = cs_xcalloc((size_t)n + 1, sizeof(*v));
    for (int i = 0; i < n; i++)
        v[i] = cs_xstrdup(PQgetvalue(r, i, 0));
    PQclear(r);
    *out = v;
    return 0;
}
