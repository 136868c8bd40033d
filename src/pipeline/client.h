/* client.h - the client workbook of one tenant and period */
#ifndef CS_PIPELINE_CLIENT_H
#define CS_PIPELINE_CLIENT_H

#include "base/err.h"
#include "config/config.h"
#include "rubric/rubric.h"
#include "store/store.h"

struct cs_client_opts {
    const char *tenant;
    const char *from;       /* local date, inclusive */
    const char *to;         /* local date, exclusive */
    const struct cs_rubric_set *rubrics; /* metric types; NULL: inferred */
};

/*
 * Computes the tenant's report over [from, to) (KPIs by day, the previous
 * period, details) and writes REPORTS_DIR/<from>_<to>/client-<tenant>.xlsx
 * from one snapshot of the store, its Conversations sheet streamed from
 * the store with handoff reasons redacted. Fails closed: when anything
 * cannot be read or written no file is written (an earlier one stays).
 * Sets *path_out (new) to the file written. CS_ENOTFOUND for a tenant the
 * config does not name and the store has never seen; CS_EINVALID for a
 * bad time zone or redaction rule in the config; the store's or the
 * writer's error otherwise.
 */
int cs_client_report(char **path_out, struct cs_store *st,
                     const struct cs_config *cfg,
                     const struct cs_client_opts *opts, struct cs_err *err);

#endif
