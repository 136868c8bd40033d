/* store.h - the PostgreSQL store: connection, embedded cluster, migrations */
#ifndef CS_STORE_STORE_H
#define CS_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "config/config.h"

/*
 * The only module that speaks libpq. A `struct cs_store` is one connection
 * with the schema migrated. With no database configured it starts (once)
 * and uses a private cluster under the data dir; see cluster.c.
 */
struct cs_store;

/* Connects (starting the embedded cluster when needed) and applies
 * pending migrations. `cfg` is borrowed and must outlive the store (a data
 * migration redacts with its redact rules). *out is new; close with
 * cs_store_close. */
int cs_store_open(struct cs_store **out, const struct cs_config *cfg,
                  struct cs_err *err);
/* The same, applying only the migrations up to `max_version`: a schema
 * as an older release left it, for tests of the migrations after it. */
int cs_store_open_at(struct cs_store **out, const struct cs_config *cfg,
                     int max_version, struct cs_err *err);
/* Closes the connection and frees `st` (NULL: no-op). */
void cs_store_close(struct cs_store *st);

/*
 * A read-only transaction with one snapshot, so that every query of a
 * report sees the same data (a conversation ingested meanwhile is in all
 * of its parts or in none). snapshot_end ends it, and does nothing
 * outside a transaction.
 */
int cs_store_snapshot_begin(struct cs_store *st, struct cs_err *err);
void cs_store_snapshot_end(struct cs_store *st);

/* Applies pending migrations under an advisory lock, so concurrent
 * callers are safe; *applied_out (may be NULL) counts those applied.
 * Migration 3 redacts the evidence and rationale of stored results (the
 * configured redactor; CS_EINVALID when its config rules are bad). */
int cs_store_migrate(struct cs_store *st, int *applied_out,
                     struct cs_err *err);

/* The schema version (highest applied migration) and the latest known. */
int cs_store_schema_version(struct cs_store *st, int *out,
                            struct cs_err *err);
int cs_store_latest_version(void);

/* Embedded cluster control for `callscope db start|stop|status`. */
int cs_cluster_ensure(char **conninfo_out, const struct cs_config *cfg,
                      struct cs_err *err);
int cs_cluster_stop(const struct cs_config *cfg, struct cs_err *err);
/* 1 running, 0 stopped, 2 not created; *where_out new (may be NULL). */
int cs_cluster_status(const struct cs_config *cfg, char **where_out);

/*
 * Bulk load. A batch streams conversations as COPY rows into an open COPY
 * and commits when full (rows or bytes) or on flush, in one transaction
 * per batch; a conversation already stored under the same (tenant, id)
 * is replaced in that transaction (see copy.c), so a re-ingest is
 * idempotent and a failure leaves the stored data as it was. A row the
 * server refuses is reported through the reject callback (with its source
 * tag) and the rest of the batch is written again without it.
 */
struct cs_store_batch;
typedef void (*cs_reject_fn)(void *ctx, const char *src_file, long src_line,
                             const char *reason);

/* A batch of at most `max_rows` rows (0: 5000) on `st`, which must outlive
 * it. *out is new; free with cs_store_batch_free. */
int cs_store_batch_new(struct cs_store_batch **out, struct cs_store *st,
                       size_t max_rows, cs_reject_fn on_reject, void *ctx);

/*
 * Adds one row built by cs_store_row_build (store/row.h), which may run on
 * another thread: copies `text` (`len` bytes) and `key` into the batch;
 * `src_file` is borrowed until the next flush. A second row of the same
 * key in one batch flushes the first, so the later one wins. Writes the
 * batch when it is full; CS_EDB when the store fails.
 */
int cs_store_batch_add_row(struct cs_store_batch *b, const char *key,
                           const char *text, size_t len,
                           const char *src_file, long src_line,
                           struct cs_err *err);

/* Writes and commits the rows added so far; the batch can then take
 * more. CS_EDB on failure: those rows are rolled back and dropped. */
int cs_store_batch_flush(struct cs_store_batch *b, struct cs_err *err);

/* Rows stored so far (after flushes). */
uint64_t cs_store_batch_stored(const struct cs_store_batch *b);

/* Frees the batch without writing what was not flushed (NULL: no-op). */
void cs_store_batch_free(struct cs_store_batch *b);

/* The raw aggregates of one KPI group (see kpi/kpi.c for the ratios). */
struct cs_kpi_latency {
    char *name;
    double p50, p95, p99;
    long count;
};

struct cs_kpi_raw {
    char *group;            /* day "YYYY-MM-DD", agent name, or NULL */
    long conversations, inbound, outbound, answered, answered_inbound,
        answered_outbound, handed_off, abandoned_inbound, failed;
    double aht_sum;
    long aht_n;
    double asa_sum, turns_sum;
    long tools_total, tools_ok, created_ticket, created_crm, created_appt;
    double csat_sum;
    long csat_n, nps_n, nps_promoters, nps_detractors;
    double ai_cost;
    /* Sums of squares, for the spread of the means. */
    double aht_sq, asa_sq, turns_sq, csat_sq, cost_sq;
    size_t n_latency;
    struct cs_kpi_latency *latency;
};

enum cs_kpi_by { CS_KPI_BY_NONE, CS_KPI_BY_DAY, CS_KPI_BY_AGENT };

/*
 * Aggregates one tenant over local dates [from_day, to_day) in time zone
 * `tz`, optionally grouped. *out is a new array of *n_out groups (one when
 * ungrouped, even if empty); free with cs_kpi_raw_free.
 */
int cs_store_kpi_raw(struct cs_kpi_raw **out, size_t *n_out,
                     struct cs_store *st, const char *tenant,
                     const char *from_day, const char *to_day,
                     const char *tz, enum cs_kpi_by by, struct cs_err *err);
/*
 * Recomputes the KPI rollups (rollup.c) of `tenant` (NULL: every tenant)
 * from the stored conversations, in one statement that holds writers of
 * conversations off meanwhile; *rows_out is the count of rollup rows
 * written (15-minute buckets by agent). CS_EDB on failure (nothing
 * changed).
 */
int cs_store_rollup_rebuild(long *rows_out, struct cs_store *st,
                            const char *tenant, struct cs_err *err);

/*
 * Folds the span histograms' deltas (appended by ingest, re-ingest,
 * prune and tenant delete) into one histogram per key, in one statement
 * (readers see before or after, never between); *rows_out is the count
 * of delta rows folded. CS_EDB on failure (nothing changed).
 */
int cs_store_rollup_compact(long *rows_out, struct cs_store *st,
                            struct cs_err *err);

/* Frees `n` groups from cs_store_kpi_raw (NULL: no-op). */
void cs_kpi_raw_free(struct cs_kpi_raw *raw, size_t n);

/* Tenants with conversations around [from_day, to_day) (a day of slack on
 * both sides for time zones). *out is a new NULL-terminated array. */
int cs_store_tenants(char ***out, struct cs_store *st, const char *from_day,
                     const char *to_day, struct cs_err *err);
/* Frees a NULL-terminated array of strings (NULL: no-op). */
void cs_strv_free(char **v);

/* CS_EINVALID when PostgreSQL does not know the time zone. */
int cs_store_check_tz(struct cs_store *st, const char *tz,
                      struct cs_err *err);

#endif
