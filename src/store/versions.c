/* versions.c - the stored results against a rubric set */
#include "store/versions.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "store/store_internal.h"

/* The distinct kinds of current results, read from the
 * results_current_kind index one probe at a time (a loose index scan). */
static const char KINDS_SQL[] =
    "WITH RECURSIVE t AS ("
    " (SELECT metric, evaluator, rubric_version, tenant FROM results"
    "  WHERE current ORDER BY 1, 2, 3, 4 LIMIT 1)"
    " UNION ALL"
    " SELECT n.metric, n.evaluator, n.rubric_version, n.tenant FROM t"
    " CROSS JOIN LATERAL (SELECT r.metric, r.evaluator, r.rubric_version,"
    "  r.tenant FROM results r WHERE r.current"
    "  AND (r.metric, r.evaluator, r.rubric_version, r.tenant)"
    "    > (t.metric, t.evaluator, t.rubric_version, t.tenant)"
    "  ORDER BY 1, 2, 3, 4 LIMIT 1) n)"
    " SELECT metric, evaluator, rubric_version, tenant FROM t";

/* $4 the set, over results r of conversations c. */
#define FOR_TENANT                                                        \
    "(jsonb_typeof($4::jsonb -> r.metric -> 't') IS DISTINCT FROM 'array'" \
    " OR $4::jsonb -> r.metric -> 't' ? r.tenant)"
#define CHANGED                                                           \
    "($4::jsonb ? r.metric AND " FOR_TENANT                               \
    " AND r.rubric_version <> $4::jsonb -> r.metric ->> 'v')"
#define MISSING "(NOT $4::jsonb ? r.metric OR NOT " FOR_TENANT ")"

static int for_tenant(const json_t *m, const char *tenant)
{
    const json_t *t = json_object_get(m, "t");
    size_t i;
    json_t *x;

    if (!json_is_array(t))
        return 1;
    json_array_foreach(t, i, x) {
        if (json_is_string(x) && strcmp(json_string_value(x), tenant) == 0)
            return 1;
    }
    return 0;
}

/* The metrics worth counting exactly (a JSON array), from the kinds. */
static int candidates(struct cs_store *st, const json_t *set,
                      json_t *out, struct cs_err *err)
{
    PGresult *r = PQexec(st->conn, KINDS_SQL);
    int ret = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read the kinds of "
                              "results");
        goto done;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *metric = PQgetvalue(r, i, 0);
        const char *evaluator = PQgetvalue(r, i, 1);
        const char *version = PQgetvalue(r, i, 2);
        const char *tenant = PQgetvalue(r, i, 3);
        const json_t *m = json_object_get(set, metric);
        const char *v = json_string_value(json_object_get(m, "v"));

        if (strcmp(evaluator, "agent") == 0)
            continue;
        if (!m || !for_tenant(m, tenant) || (v && strcmp(v, version) != 0))
            json_object_set_new(out, metric, json_true());
    }
done:
    PQclear(r);
    return ret;
}

int cs_store_results_drift(struct cs_store *st,
                           const struct cs_score_filter *f, const char *set,
                           int retire_missing, cs_drift_fn fn, void *ctx,
                           struct cs_err *err)
{
    json_t *js = json_loads(set, 0, NULL), *cand = json_object();
    json_t *retired = json_object();
    struct cs_buf sql = CS_BUF_INIT, keys = CS_BUF_INIT;
    const char *params[5];
    PGresult *r = NULL;
    const char *k;
    json_t *x;
    int ret;

    if (!json_is_object(js)) {
        ret = cs_err_set(err, CS_ERROR, "bad rubric set description");
        goto done;
    }
    ret = candidates(st, js, cand, err);
    if (ret || json_object_size(cand) == 0)
        goto done;
    cs_buf_addch(&keys, '[');
    json_object_foreach(cand, k, x) {
        if (keys.len > 1)
            cs_buf_addch(&keys, ',');
        cs_store_json_str(&keys, k);
    }
    cs_buf_addch(&keys, ']');
    params[0] = f->tenant;
    params[1] = f->from;
    params[2] = f->to;
    params[3] = set;
    params[4] = keys.ptr;
    if (retire_missing) {
        /* The missing ones become history; their counts come from the
         * update itself. */
        cs_buf_addf(&sql, "WITH u AS (UPDATE results r SET current = false"
                    " FROM conversations c%s AND c.tenant = r.tenant"
                    " AND c.id = r.conversation_id"
                    " AND r.started_at = c.started_at AND r.current"
                    " AND r.evaluator <> 'agent' AND $5::jsonb ? r.metric"
                    " AND " MISSING " RETURNING r.metric)"
                    " SELECT metric, count(*) FROM u GROUP BY 1",
                    cs_store_filter_where);
        r = PQexecParams(st->conn, sql.ptr, 5, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            ret = cs_store_pg_err(err, st->conn, r, "cannot retire "
                                  "results");
            goto done;
        }
        for (int i = 0; i < PQntuples(r); i++)
            json_object_set_new(retired, PQgetvalue(r, i, 0),
                                json_integer(strtol(PQgetvalue(r, i, 1),
                                                    NULL, 10)));
        PQclear(r);
        r = NULL;
        cs_buf_reset(&sql);
    }
    cs_buf_addf(&sql, "SELECT r.metric,"
                " count(*) FILTER (WHERE " CHANGED "),"
                " count(*) FILTER (WHERE " MISSING ")"
                " FROM results r JOIN conversations c ON c.tenant = r.tenant"
                " AND c.id = r.conversation_id"
                " AND r.started_at = c.started_at%s AND r.current"
                " AND r.evaluator <> 'agent' AND $5::jsonb ? r.metric"
                " GROUP BY 1 ORDER BY 1", cs_store_filter_where);
    r = PQexecParams(st->conn, sql.ptr, 5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot compare the rubric "
                              "set with the results");
        goto done;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *metric = PQgetvalue(r, i, 0);
        long changed = strtol(PQgetvalue(r, i, 1), NULL, 10);
        long missing = strtol(PQgetvalue(r, i, 2), NULL, 10);

        missing += (long)json_integer_value(json_object_get(retired, metric));
        json_object_del(retired, metric);
        if (changed || missing)
            fn(ctx, metric, changed, missing);
    }
    json_object_foreach(retired, k, x)
        fn(ctx, k, 0, (long)json_integer_value(x));
done:
    PQclear(r);
    json_decref(js);
    json_decref(cand);
    json_decref(retired);
    cs_buf_release(&sql);
    cs_buf_release(&keys);
    return ret;
}
