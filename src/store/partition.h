/* partition.h - conversations and results partitioned by month */
#ifndef CS_STORE_PARTITION_H
#define CS_STORE_PARTITION_H

#include "base/err.h"
#include "store/prune.h"
#include "store/store.h"

/* Creates this UTC month's partitions and the next `months` ones where
 * missing (the jobs call it when they open the store). */
int cs_store_partitions_ahead(struct cs_store *st, int months,
                              struct cs_err *err);

/* Creates the partitions of the UTC months of the instants of `times`
 * (a JSON array of timestamptz texts) where missing. */
int cs_store_partitions_for_times(struct cs_store *st, const char *times,
                                  struct cs_err *err);

/* How many months are stored (partitions, the empty ones ahead too) and
 * the first and last ("YYYY-MM", UTC; "" when none). */
int cs_store_months(long *n, char first[8], char last[8],
                    struct cs_store *st, struct cs_err *err);

/*
 * Drops whole the UTC months that end at or before every limit of
 * `limits`, a JSON array of [day, zone] (each tenant's first local day
 * kept, as cs_store_prune_tenant takes it): their conversations, results,
 * keys and rollups go, each month in a transaction of its own, and what
 * they held is added to *out (months too). With `dry_run` only the
 * months are counted (the rows are counted by cs_store_prune_tenant).
 */
int cs_store_prune_months(struct cs_prune_counts *out, struct cs_store *st,
                          const char *limits, int dry_run,
                          struct cs_err *err);

#endif
