/* compare.c - the current values of two metrics, side by side */
#include "store/compare.h"

#include "store/store_internal.h"

int cs_store_result_pairs(struct cs_store *st, const char *ma,
                          const char *mb, const struct cs_score_filter *f,
                          cs_pair_fn fn, void *ctx, struct cs_err *err)
{
    const char *params[5] = {ma, mb, f ? f->tenant : NULL,
                             f ? f->from : NULL, f ? f->to : NULL};
    PGresult *r;
    int ret = 0;

    r = PQexecParams(st->conn,
                     "WITH a AS (SELECT tenant, conversation_id AS id, value "
                     "FROM results WHERE current AND metric = $1), "
                     "b AS (SELECT tenant, conversation_id AS id, value "
                     "FROM results WHERE current AND metric = $2), "
                     "p AS (SELECT coalesce(a.tenant, b.tenant) AS tenant, "
                     "coalesce(a.id, b.id) AS id, a.value AS va, "
                     "b.value AS vb FROM a FULL JOIN b ON a.tenant = "
                     "b.tenant AND a.id = b.id) "
                     "SELECT p.tenant, p.id, p.va::text, p.vb::text FROM p "
                     "JOIN conversations c ON c.tenant = p.tenant AND "
                     "c.id = p.id "
                     "WHERE ($3::text IS NULL OR p.tenant = $3) "
                     "AND ($4::date IS NULL OR c.started_at >= "
                     "($4::date::timestamp AT TIME ZONE 'UTC')) "
                     "AND ($5::date IS NULL OR c.started_at < "
                     "($5::date::timestamp AT TIME ZONE 'UTC')) "
                     "ORDER BY p.tenant, p.id",
                     5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read results");
        goto done;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *a = PQgetisnull(r, i, 2) ? NULL
            : json_loads(PQgetvalue(r, i, 2), JSON_DECODE_ANY, NULL);
        json_t *b = PQgetisnull(r, i, 3) ? NULL
            : json_loads(PQgetvalue(r, i, 3), JSON_DECODE_ANY, NULL);

        fn(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), a, b);
        json_decref(a);
        json_decref(b);
    }
done:
    PQclear(r);
    return ret;
}
