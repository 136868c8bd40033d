/* known.c - whether a tenant or a metric names anything stored */
#include "store/known.h"

#include "store/store_internal.h"

int cs_store_tenant_exists(int *out, struct cs_store *st, const char *tenant,
                           struct cs_err *err)
{
    /* The primary key (tenant, id) answers this from its index. */
    return cs_store_ask(out, st, "SELECT EXISTS (SELECT 1 FROM "
                        "conversations WHERE tenant = $1)", tenant,
                        "tenant lookup failed", err);
}

int cs_store_metric_exists(int *out, struct cs_store *st, const char *metric,
                           struct cs_err *err)
{
    return cs_store_ask(out, st, "SELECT EXISTS (SELECT 1 FROM results "
                        "WHERE metric = $1)", metric, "metric lookup failed",
                        err);
}
