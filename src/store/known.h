/* known.h - whether a tenant or a metric names anything stored */
#ifndef CS_STORE_KNOWN_H
#define CS_STORE_KNOWN_H

#include "base/err.h"
#include "store/store.h"

/* Sets *out to 1 when conversations of `tenant` are stored, else 0.
 * Returns 0 or CS_EDB. */
int cs_store_tenant_exists(int *out, struct cs_store *st, const char *tenant,
                           struct cs_err *err);

/* Sets *out to 1 when results of `metric` (current or history) are
 * stored, else 0. Returns 0 or CS_EDB. */
int cs_store_metric_exists(int *out, struct cs_store *st, const char *metric,
                           struct cs_err *err);

#endif
