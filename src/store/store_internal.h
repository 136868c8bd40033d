/* store_internal.h - shared by the store's .c files, never included outside */
#ifndef CS_STORE_INTERNAL_H
#define CS_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "base/buf.h"
#include "store/store.h"

struct cs_store {
    PGconn *conn;
    const struct cs_config *cfg;    /* borrowed (cs_store_open) */
    char *info;                     /* the conninfo connected to */
};

/*
 * Opens one more connection to the store's server (claims use them) with
 * the same parameters, timeouts and session settings as the first, and
 * the same waiting for a server that is not up yet (cs_store_open).
 * *out is new (PQfinish); CS_EDB naming the server on failure.
 */
int cs_store_connect_again(PGconn **out, struct cs_store *st,
                           struct cs_err *err);

/* Sets `err` from a failed result or connection; returns CS_EDB. */
int cs_store_pg_err(struct cs_err *err, PGconn *conn, PGresult *res,
                    const char *what);

/* Runs a command without parameters that returns no rows. */
int cs_store_exec(struct cs_store *st, const char *sql, struct cs_err *err);

/* Runs `sql` with the one text parameter `value`: *out is 1 when its
 * first row's first column is true (0 with no row); `what` says what
 * failed. */
int cs_store_ask(int *out, struct cs_store *st, const char *sql,
                 const char *value, const char *what, struct cs_err *err);

/* Appends `s` as a JSON string literal (quoted, escaped). */
void cs_store_json_str(struct cs_buf *b, const char *s);

/*
 * Parameters of every query: $1 tenant, $2 first local date, $3 end local
 * date (exclusive), $4 time zone. Local dates become instants with
 * `date::timestamp AT TIME ZONE tz`, so DST days have 23 or 25 hours.
 */
#define PERIOD_WHERE                                                     \
    " WHERE tenant = $1"                                                 \
    " AND started_at >= ($2::date::timestamp AT TIME ZONE $4)"          \
    " AND started_at < ($3::date::timestamp AT TIME ZONE $4)"

/*
 * Reads the rows of `query` (with `n` text parameters) through a cursor,
 * `page` rows at a time, calling fn(ctx, rows, err) for each page that has
 * rows, so memory stays flat whatever the count; fn returns 0 to go on or
 * an error to stop with. Must run inside the caller's transaction. The
 * planner is told every row will be read. A failed query returns CS_EDB
 * with `what` and the server's message.
 */
typedef int (*cs_store_page_fn)(void *ctx, const PGresult *rows,
                                struct cs_err *err);
int cs_store_each_page(struct cs_store *st, const char *query, int n,
                       const char *const *params, int page,
                       cs_store_page_fn fn, void *ctx, const char *what,
                       struct cs_err *err);

/* The first column of every row of `sql` (with `n` text parameters) as
 * a new NULL-terminated array (cs_strv_free); CS_EDB with `what`. */
int cs_store_query_strv(char ***out, struct cs_store *st, const char *sql,
                        int n, const char *const *params, const char *what,
                        struct cs_err *err);

/* What is stored in place of a text the redactor failed on. */
#define CS_STORE_REDACTION_FAILED "[redaction failed]"

/* " WHERE ..." over `conversations c`: $1 tenant, $2 from, $3 to (each may
 * be NULL), the filter of struct cs_score_filter (claim.c). */
extern const char cs_store_filter_where[];

/* The SQL of migration 30: the KPI rollups, their triggers and
 * cs_rollup_rebuild() (rollup.c). */
extern const char cs_store_rollup_migration[];

/* The SQL of migration 51: span histograms appended to kpi_span_delta,
 * folded by cs_rollup_compact() (rollup.c). */
extern const char cs_store_rollup_delta_migration[];

/* The SQL of migration 50: conversations and results partitioned by
 * month (partition.c). */
extern const char cs_store_partition_migration[];

/* 1 if `res` failed because no partition holds a row, with that row's
 * started_at in `instant` (a NUL-terminated text of < `size` bytes);
 * else 0 (partition.c). */
int cs_store_missing_partition(const PGresult *res, char *instant,
                               size_t size);

/* 0 when CALLSCOPE_KPI_SCAN asks for the exact scan of conversations
 * instead of the rollups (a debug switch, docs/environment.md). */
int cs_store_rollups_wanted(void);

/*
 * Whether the rollups can answer over local dates [$2, $3] in zone $4 of
 * `params` (the PERIOD_WHERE parameters): each local midnight on a
 * 15-minute mark (every zone today; not a local mean time of old dates,
 * say), and the scan not asked for. *out is 1 or 0; CS_EDB on failure.
 */
int cs_store_rollups_fit(int *out, struct cs_store *st,
                         const char *const params[4], struct cs_err *err);

/* PERIOD_WHERE over a rollup's buckets (on 15-minute marks when
 * cs_store_rollups_fit says so, the same rows). */
#define CS_STORE_ROLLUP_WHERE                                            \
    " WHERE tenant = $1"                                                 \
    " AND bucket >= ($2::date::timestamp AT TIME ZONE $4)"              \
    " AND bucket < ($3::date::timestamp AT TIME ZONE $4)"

/* The SQL expression of a KPI group over a rollup ($4: the zone). */
const char *cs_store_rollup_group_expr(enum cs_kpi_by by);

/* The SQL expression of a KPI group over `conversations` ($4: the zone). */
const char *cs_store_group_expr(enum cs_kpi_by by);

#endif
