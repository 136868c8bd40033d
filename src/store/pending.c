/* pending.c - vendor events held until their conversation is complete */
#include "store/pending.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "store/store_internal.h"

int cs_store_pending_put(struct cs_store *st, const char *format,
                         const char *group, const json_t *items,
                         struct cs_err *err)
{
    struct cs_buf text = CS_BUF_INIT;
    const char *params[3];
    PGresult *r;
    int ret = 0;

    if (json_array_size(items) == 0)
        return 0;
    cs_fmt_json(&text, items, JSON_COMPACT);
    params[0] = format;
    params[1] = group;
    params[2] = text.ptr;
    r = PQexecParams(st->conn, "INSERT INTO import_pending (format, grp, "
                     "event_id, event, source) SELECT $1, $2, e->>'id', "
                     "e->'event', e->>'source' FROM jsonb_array_elements("
                     "$3::jsonb) e ON CONFLICT DO NOTHING",
                     3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot keep pending "
                              "events");
    PQclear(r);
    cs_buf_release(&text);
    return ret;
}

/* Runs `sql` with $1 the format and $2 the groups as a JSON array (NULL:
 * SQL NULL). */
static PGresult *with_groups(struct cs_store *st, const char *sql,
                             const char *format, const json_t *groups)
{
    struct cs_buf text = CS_BUF_INIT;
    const char *params[2];
    PGresult *r;

    if (groups)
        cs_fmt_json(&text, groups, JSON_COMPACT);
    params[0] = format;
    params[1] = groups ? text.ptr : NULL;
    r = PQexecParams(st->conn, sql, 2, NULL, params, NULL, NULL, 0);
    cs_buf_release(&text);
    return r;
}

int cs_store_pending_get(struct cs_store *st, const char *format,
                         const json_t *groups, cs_pending_fn fn, void *ctx,
                         struct cs_err *err)
{
    PGresult *r;
    int ret = 0;

    if (json_array_size(groups) == 0)
        return 0;
    r = with_groups(st, "SELECT grp, event::text FROM import_pending WHERE "
                    "format = $1 AND grp IN (SELECT jsonb_array_elements_"
                    "text($2::jsonb)) ORDER BY added_at, event_id",
                    format, groups);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read pending "
                              "events");
        goto done;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *ev = json_loads(PQgetvalue(r, i, 1), 0, NULL);

        if (ev)
            fn(ctx, PQgetvalue(r, i, 0), ev);
    }
done:
    PQclear(r);
    return ret;
}

int cs_store_pending_drop(struct cs_store *st, const char *format,
                          const json_t *groups, uint64_t *dropped,
                          struct cs_err *err)
{
    PGresult *r;
    int ret = 0;

    if (dropped)
        *dropped = 0;
    if (groups && json_array_size(groups) == 0)
        return 0;
    r = with_groups(st, "DELETE FROM import_pending p WHERE p.format = $1 "
                    "AND ($2::jsonb IS NULL OR p.grp IN (SELECT jsonb_array_"
                    "elements_text($2::jsonb))) AND EXISTS (SELECT 1 FROM "
                    "conversations c WHERE c.id = p.grp AND c.metadata ? "
                    "p.format)", format, groups);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot drop pending "
                              "events");
    else if (dropped)
        *dropped = strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return ret;
}

int cs_store_pending_count(struct cs_store *st, const char *format,
                           long *events, long *groups, struct cs_err *err)
{
    const char *params[1] = {format};
    PGresult *r;
    int ret = 0;

    *events = *groups = 0;
    r = PQexecParams(st->conn, "SELECT count(*), count(DISTINCT grp) FROM "
                     "import_pending WHERE $1::text IS NULL OR format = $1",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot count pending "
                              "events");
    } else {
        *events = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        *groups = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    return ret;
}

int cs_store_conv_meta(struct cs_store *st, const char *tenant,
                       const char *id, const char *path, int *out,
                       struct cs_err *err)
{
    const char *params[3] = {tenant, id, path};
    PGresult *r;
    int ret = 0;

    *out = 0;
    r = PQexecParams(st->conn, "SELECT 1 FROM conversations WHERE ($1::text "
                     "IS NULL OR tenant = $1) AND id = $2 AND CASE WHEN "
                     "cardinality($3::text[]) = 1 THEN metadata ? "
                     "($3::text[])[1] ELSE metadata #> $3::text[] = "
                     "'true'::jsonb END LIMIT 1",
                     3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot look up a "
                              "conversation");
    else
        *out = PQntuples(r) > 0;
    PQclear(r);
    return ret;
}
