/* conv_rows.c - one tenant's conversations of a period, row by row */
#include "store/conv_rows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/store_internal.h"

/* $5 is a JSON array of metric keys; the sub-select gives their current
 * values as a JSON array in the same order (null where none). */
static const char CONV_SQL[] =
    "SELECT c.id,"
    "  extract(epoch FROM c.started_at AT TIME ZONE $4)::float8,"
    "  c.agent, c.channel, c.direction, c.outcome,"
    "  (c.outcome = 'answered' AND c.handoff IS NOT NULL),"
    "  c.handoff->>'reason',"
    "  extract(epoch FROM c.ended_at - c.answered_at)::float8,"
    "  c.n_turns, c.cost_total, c.csat, c.nps,"
    "  (SELECT jsonb_agg(r.value ORDER BY k.n)"
    "   FROM jsonb_array_elements_text($5::jsonb) WITH ORDINALITY k(key, n)"
    "   LEFT JOIN results r ON r.current AND r.tenant = c.tenant"
    "    AND r.conversation_id = c.id"
    " AND r.started_at = c.started_at AND r.metric = k.key)"
    " FROM conversations c"
    " WHERE c.tenant = $1"
    " AND c.started_at >= ($2::date::timestamp AT TIME ZONE $4)"
    " AND c.started_at < ($3::date::timestamp AT TIME ZONE $4)"
    " ORDER BY c.started_at, c.id";

static double num_or_nan(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN
                                    : strtod(PQgetvalue(r, row, col), NULL);
}

static const char *str_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Hands the rows of a result to fn; `values` has room for n_metrics. */
static int page_rows(PGresult *r, json_t **values, size_t n_metrics,
                     cs_store_conv_fn fn, void *ctx, struct cs_err *err)
{
    int ret = 0;

    for (int i = 0; i < PQntuples(r) && !ret; i++) {
        struct cs_store_conv c;
        json_t *arr = NULL;

        c.id = PQgetvalue(r, i, 0);
        c.started_local = strtod(PQgetvalue(r, i, 1), NULL);
        c.agent = str_or_null(r, i, 2);
        c.channel = PQgetvalue(r, i, 3);
        c.direction = PQgetvalue(r, i, 4);
        c.outcome = PQgetvalue(r, i, 5);
        c.handed_off = *PQgetvalue(r, i, 6) == 't';
        c.handoff_reason = str_or_null(r, i, 7);
        c.duration_s = num_or_nan(r, i, 8);
        c.turns = strtol(PQgetvalue(r, i, 9), NULL, 10);
        c.cost = num_or_nan(r, i, 10);
        c.csat = num_or_nan(r, i, 11);
        c.nps = num_or_nan(r, i, 12);
        if (!PQgetisnull(r, i, 13))
            arr = json_loads(PQgetvalue(r, i, 13), 0, NULL);
        for (size_t m = 0; m < n_metrics; m++) {
            json_t *v = json_array_get(arr, m);

            values[m] = json_is_null(v) ? NULL : v;
        }
        c.values = values;
        ret = fn(ctx, &c, err);
        json_decref(arr);
    }
    return ret;
}

/* Ends the query: asks the server to stop when it still sends rows (the
 * caller stopped early), then reads what is left. */
static void finish_query(PGconn *conn, int cancel)
{
    if (cancel) {
        PGcancel *c = PQgetCancel(conn);
        char why[256];

        if (c)
            PQcancel(c, why, sizeof(why));
        PQfreeCancel(c);
    }
    for (;;) {
        PGresult *r = PQgetResult(conn);

        if (!r)
            break;
        PQclear(r);
    }
}

int cs_store_conv_rows(struct cs_store *st, const char *tenant,
                       const char *from_day, const char *to_day,
                       const char *tz, const char *const *metrics,
                       cs_store_conv_fn fn, void *ctx, struct cs_err *err)
{
    struct cs_buf keys = CS_BUF_INIT;
    const char *params[5];
    json_t **values = NULL;
    size_t n_metrics = 0;
    int sent = 0, ret = 0;

    cs_buf_addch(&keys, '[');
    for (; metrics && metrics[n_metrics]; n_metrics++) {
        if (n_metrics)
            cs_buf_addch(&keys, ',');
        cs_store_json_str(&keys, metrics[n_metrics]);
    }
    cs_buf_addch(&keys, ']');
    values = cs_xcalloc(n_metrics + 1, sizeof(*values));
    params[0] = tenant;
    params[1] = from_day;
    params[2] = to_day;
    params[3] = tz;
    params[4] = keys.ptr;
    /* Single-row mode: the server streams rows while fn writes them, so
     * on two cores the query and the writer overlap; memory holds one
     * row (pages of a cursor would make them take turns). */
    if (!PQsendQueryParams(st->conn, CONV_SQL, 5, NULL, params, NULL, NULL,
                           0) ||
        !PQsetSingleRowMode(st->conn)) {
        ret = cs_store_pg_err(err, st->conn, NULL,
                              "conversation query failed");
        goto done;
    }
    sent = 1;
    for (;;) {
        PGresult *r = PQgetResult(st->conn);
        ExecStatusType status;

        if (!r) {
            sent = 0; /* every result read */
            break;
        }
        status = PQresultStatus(r);
        if (status == PGRES_SINGLE_TUPLE)
            ret = page_rows(r, values, n_metrics, fn, ctx, err);
        else if (status != PGRES_TUPLES_OK)
            ret = cs_store_pg_err(err, st->conn, r,
                                  "conversation query failed");
        PQclear(r);
        if (ret)
            break;
    }
done:
    if (sent)
        finish_query(st->conn, ret != 0);
    free(values);
    cs_buf_release(&keys);
    return ret;
}

int cs_store_tenant_seen(int *out, struct cs_store *st, const char *tenant,
                         struct cs_err *err)
{
    const char *params[1] = {tenant};
    PGresult *r = PQexecParams(st->conn, "SELECT EXISTS (SELECT 1 FROM"
                               " conversations WHERE tenant = $1)",
                               1, NULL, params, NULL, NULL, 0);
    int ret = 0;

    *out = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "tenant query failed");
    else
        *out = *PQgetvalue(r, 0, 0) == 't';
    PQclear(r);
    return ret;
}
