/* lifecycle.h - retention (db prune) and removing a tenant */
#ifndef CS_PIPELINE_LIFECYCLE_H
#define CS_PIPELINE_LIFECYCLE_H

#include "base/err.h"
#include "config/config.h"
#include "store/prune.h"
#include "store/store.h"

/*
 * Deletes, for every tenant with stored data, what is older than its
 * `retention_days` (config, default 365) counted in local days of its
 * own zone: a day is kept whole or not at all, so the KPIs of the days
 * kept are unchanged. `dry_run` only counts. Adds to *out.
 */
int cs_lifecycle_prune(struct cs_prune_counts *out, struct cs_store *st,
                       const struct cs_config *cfg, int dry_run,
                       struct cs_err *err);

/*
 * Removes every row of `tenant` and its own report files under
 * REPORTS_DIR (executive-, daily-, client-<tenant>.*, its mails in the
 * outbox). *files_out counts the files removed; files shared by tenants
 * (kpis.*, alerts.json) are not removed: their paths are logged as
 * warnings (the next runs rewrite them).
 */
int cs_lifecycle_delete_tenant(struct cs_prune_counts *out, long *files_out,
                               struct cs_store *st,
                               const struct cs_config *cfg,
                               const char *tenant, struct cs_err *err);

#endif
