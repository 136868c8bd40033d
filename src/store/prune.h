/* prune.h - data lifecycle: retention and removing a tenant */
#ifndef CS_STORE_PRUNE_H
#define CS_STORE_PRUNE_H

#include "base/err.h"
#include "store/store.h"

/* What a prune or a tenant removal took away (or would, in a dry run). */
struct cs_prune_counts {
    long conversations;
    long results;
    long deliveries;
    long alerts;
    long explanations;      /* `explain` answers of the periods removed */
    long months;            /* of conversations, dropped whole */
    long batches;           /* LLM batches that ended long ago (db prune) */
};

/*
 * Deletes one tenant's data older than its local day `before_day`
 * ("YYYY-MM-DD" in zone `tz`, as PostgreSQL must read it): conversations
 * that started before it with their results, deliveries queued before it,
 * alerts of earlier days. Deletes in transactions of at most `batch`
 * conversations, so a big backlog never holds long locks; periods from
 * `before_day` on keep every row, so their KPIs are unchanged; stored
 * explanations of periods that ended before it go too. With
 * `dry_run` it only counts. Adds to *out.
 */
int cs_store_prune_tenant(struct cs_prune_counts *out, struct cs_store *st,
                          const char *tenant, const char *before_day,
                          const char *tz, long batch, int dry_run,
                          struct cs_err *err);

/* The tenants with any stored data (conversations, deliveries, alerts):
 * *out is a new NULL-terminated array (cs_strv_free). */
int cs_store_data_tenants(char ***out, struct cs_store *st,
                          struct cs_err *err);

/* Deletes every row of `tenant` (conversations, results, deliveries,
 * alerts, explanations) in one transaction; adds to *out. */
int cs_store_delete_tenant(struct cs_prune_counts *out, struct cs_store *st,
                           const char *tenant, struct cs_err *err);

#endif
