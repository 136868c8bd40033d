/* store_internal.h - what the store's .c files share (never included outside) */
#ifndef CS_STORE_INTERNAL_H
#define CS_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "store/store.h"

struct cs_store {
    PGconn *conn;
    const struct cs_config *cfg;    /* borrowed (cs_store_open) */
};

/* Sets `err` from a failed result or connection; returns CS_EDB. */
int cs_store_pg_err(struct cs_err *err, PGconn *conn, PGresult *res,
                    const char *what);

/* Runs a command without parameters that returns no rows. */
int cs_store_exec(struct cs_store *st, const char *sql, struct cs_err *err);

/* A number macro as a string literal, for SQL text. */
#define CS_STORE_XSTR(x) #x
#define CS_STORE_STR(x) CS_STORE_XSTR(x)

/* What is stored in place of a text the redactor failed on. */
#define CS_STORE_REDACTION_FAILED "[redaction failed]"

/* Appends `s` escaped for COPY's text format (backslash, tab, newline,
 * carriage return). */
struct cs_buf;
void cs_store_copy_text(struct cs_buf *b, const char *s, size_t n);

/* Appends `s` as a JSON string literal (quoted, escaped). */
void cs_store_json_str(struct cs_buf *b, const char *s);

/* " WHERE ..." over `conversations c`: $1 tenant, $2 from, $3 to (each may
 * be NULL), the filter of struct cs_score_filter (claim.c). */
extern const char cs_store_filter_where[];

/* The SQL expression of a KPI group over `conversations` ($4: the zone). */
const char *cs_store_group_expr(enum cs_kpi_by by);

#endif
