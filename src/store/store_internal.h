/* store_internal.h - shared by the store's .c files, never included outside */
#ifndef CS_STORE_INTERNAL_H
#define CS_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "base/buf.h"
#include "store/store.h"

struct cs_store {
    PGconn *conn;
};

/* Sets `err` from a failed result or connection; returns CS_EDB. */
int cs_store_pg_err(struct cs_err *err, PGconn *conn, PGresult *res,
                    const char *what);

/* Runs a command without parameters that returns no rows. */
int cs_store_exec(struct cs_store *st, const char *sql, struct cs_err *err);

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

/* The SQL expression of a KPI group over `conversations` ($4: the zone). */
const char *cs_store_group_expr(enum cs_kpi_by by);

#endif
