/* known.c - whether a tenant or a metric names anything stored */
#include "store/known.h"

#include <string.h>

#include "store/store_internal.h"

static int exists(int *out, struct cs_store *st, const char *sql,
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
        *out = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return ret;
}

int cs_store_tenant_exists(int *out, struct cs_store *st, const char *tenant,
                           struct cs_err *err)
{
    /* The primary key (tenant, id) answers this from its index. */
    return exists(out, st, "SELECT EXISTS (SELECT 1 FROM conversations "
                  "WHERE tenant = $1)", tenant, "tenant lookup failed", err);
}

int cs_store_metric_exists(int *out, struct cs_store *st, const char *metric,
                           struct cs_err *err)
{
    return exists(out, st, "SELECT EXISTS (SELECT 1 FROM results "
                  "WHERE metric = $1)", metric, "metric lookup failed", err);
}
