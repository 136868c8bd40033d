/* review.c - conversations by their outcomes; explanations, calibrations */
#include "store/review.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/store_internal.h"

#define MAX_PARAMS 64
#define PAGE 1000

/* Parameters being collected for one query. */
struct params {
    const char *v[MAX_PARAMS];
    int n;
};

/* Adds `value` and returns its number ($n). */
static int param(struct params *p, const char *value)
{
    if (p->n >= MAX_PARAMS)
        return -1;
    p->v[p->n++] = value;
    return p->n;
}

static const char *op_sql(enum cs_cond_op op)
{
    static const char *const ops[] = {"=", "<>", "<", "<=", ">", ">="};

    return ops[op];
}

/* The conversation columns a condition may name. */
static const char *field_column(const char *name)
{
    static const char *const fields[] = {"outcome", "direction", "channel",
                                         "agent", NULL};

    for (size_t i = 0; fields[i]; i++) {
        if (strcmp(fields[i], name) == 0)
            return fields[i];
    }
    return NULL;
}

/* The numbers a condition may compare. */
static const char *number_expr(const char *name)
{
    static const char *const names[][2] = {
        {"duration_s", "extract(epoch FROM c.ended_at - c.answered_at)"},
        {"asa_s", "(coalesce(c.ring_s, 0) + coalesce(c.queue_wait_s, 0))"},
        {"turns", "c.n_turns"},
        {"csat", "c.csat"},
        {"nps", "c.nps"},
        {"cost", "c.cost_total"},
        {"tool_calls", "c.tools_total"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(names[i][0], name) == 0)
            return names[i][1];
    }
    return NULL;
}

int cs_store_cond_number(const char *name)
{
    return number_expr(name) != NULL;
}

/* Appends " WHERE ..." of `q` to `sql`, its values to `p`. */
static int where(struct cs_buf *sql, struct params *p,
                 const struct cs_conv_query *q, struct cs_err *err)
{
    int t = param(p, q->tenant), f = param(p, q->from), e = param(p, q->to);
    int z = param(p, q->tz ? q->tz : "{}");
    int d = param(p, q->default_tz ? q->default_tz : "UTC");

    cs_buf_addf(sql, " WHERE ($%d::text IS NULL OR c.tenant = $%d)", t, t);
    /* A coarse range the index can use, then the exact local one. */
    cs_buf_addf(sql, " AND ($%d::date IS NULL OR (c.started_at >= "
                "$%d::date - interval '2 days' AND (c.started_at AT TIME "
                "ZONE coalesce($%d::jsonb ->> c.tenant, $%d))::date >= "
                "$%d::date))", f, f, z, d, f);
    cs_buf_addf(sql, " AND ($%d::date IS NULL OR (c.started_at < "
                "$%d::date + interval '2 days' AND (c.started_at AT TIME "
                "ZONE coalesce($%d::jsonb ->> c.tenant, $%d))::date < "
                "$%d::date))", e, e, z, d, e);
    for (size_t i = 0; i < q->n_conds; i++) {
        const struct cs_conv_cond *c = &q->conds[i];
        const char *col;
        int k, v;

        switch (c->kind) {
        case CS_COND_HANDOFF:
            cs_buf_adds(sql, " AND c.handoff IS NOT NULL");
            break;
        case CS_COND_NO_HANDOFF:
            cs_buf_adds(sql, " AND c.handoff IS NULL");
            break;
        case CS_COND_TOOL_FAILED:
            cs_buf_adds(sql, " AND c.tools_ok < c.tools_total");
            break;
        case CS_COND_FIELD:
            col = field_column(c->name);
            if (!col || (c->op != CS_OP_EQ && c->op != CS_OP_NE))
                return cs_err_set(err, CS_EINVALID, "cannot compare '%s' "
                                  "that way", c->name);
            v = param(p, c->value);
            cs_buf_addf(sql, " AND c.%s IS NOT NULL AND c.%s %s $%d", col,
                        col, op_sql(c->op), v);
            break;
        case CS_COND_NUMBER:
            col = number_expr(c->name);
            if (!col)
                return cs_err_set(err, CS_EINVALID, "no number '%s'",
                                  c->name);
            v = param(p, c->value);
            cs_buf_addf(sql, " AND %s %s $%d::numeric", col, op_sql(c->op),
                        v);
            break;
        case CS_COND_METRIC:
            k = param(p, c->name);
            v = param(p, c->value);
            if (k < 0 || v < 0)
                break;
            cs_buf_addf(sql, " AND EXISTS (SELECT 1 FROM results r WHERE "
                        "r.current AND r.tenant = c.tenant AND "
                        "r.conversation_id = c.id AND r.started_at = "
                        "c.started_at AND r.metric = $%d AND ", k);
            if (c->op == CS_OP_EQ || c->op == CS_OP_NE)
                cs_buf_addf(sql, "r.value %s $%d::jsonb)", op_sql(c->op), v);
            else
                cs_buf_addf(sql, "jsonb_typeof(r.value) = 'number' AND "
                            "(r.value #>> '{}')::numeric %s $%d::numeric)",
                            op_sql(c->op), v);
            break;
        }
    }
    if (p->n >= MAX_PARAMS)
        return cs_err_set(err, CS_EINVALID, "too many conditions");
    return 0;
}

/* The metrics to show as a JSON array (new). */
static char *show_list(char *const *show)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addch(&b, '[');
    for (char *const *m = show; m && *m; m++) {
        if (m != show)
            cs_buf_addch(&b, ',');
        cs_store_json_str(&b, *m);
    }
    cs_buf_addch(&b, ']');
    return cs_buf_detach(&b, NULL);
}

struct walk {
    cs_conv_item_fn fn;
    void *ctx;
};

static int item_page(void *vctx, const PGresult *rows, struct cs_err *err)
{
    struct walk *w = vctx;
    int ret = 0;

    for (int i = 0; !ret && i < PQntuples(rows); i++) {
        struct cs_conv_item it;
        json_t *m = json_loads(PQgetvalue(rows, i, 9), 0, NULL);

        memset(&it, 0, sizeof(it));
        it.tenant = PQgetvalue(rows, i, 0);
        it.id = PQgetvalue(rows, i, 1);
        it.started = PQgetvalue(rows, i, 2);
        it.started_at = PQgetvalue(rows, i, 3);
        it.agent = PQgetisnull(rows, i, 4) ? NULL : PQgetvalue(rows, i, 4);
        it.channel = PQgetvalue(rows, i, 5);
        it.direction = PQgetvalue(rows, i, 6);
        it.outcome = PQgetvalue(rows, i, 7);
        it.duration_s = PQgetisnull(rows, i, 8)
                            ? NAN
                            : strtod(PQgetvalue(rows, i, 8), NULL);
        it.handoff = *PQgetvalue(rows, i, 10) == 't';
        it.metrics = m ? m : json_object();
        it.evaluator = PQgetisnull(rows, i, 12) ? NULL
                                                : PQgetvalue(rows, i, 12);
        it.rationale = PQgetisnull(rows, i, 13) ? NULL
                                                : PQgetvalue(rows, i, 13);
        it.evidence = PQgetisnull(rows, i, 14) ? NULL
                                               : PQgetvalue(rows, i, 14);
        ret = w->fn(w->ctx, &it, err);
        json_decref((json_t *)it.metrics);
    }
    return ret;
}

int cs_store_conversations(struct cs_store *st, const struct cs_conv_query *q,
                           long *total_out, cs_conv_item_fn fn, void *ctx,
                           struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT, w = CS_BUF_INIT;
    struct params p;
    char *show = show_list(q->show);
    char limit[32];
    struct walk wk = {fn, ctx};
    PGresult *r = NULL;
    int ret, sp, seed, lim, z, d, vm;

    memset(&p, 0, sizeof(p));
    ret = where(&w, &p, q, err);
    if (ret)
        goto done;
    ret = cs_store_exec(st, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                        err);
    if (ret)
        goto done;
    cs_buf_addf(&sql, "SELECT count(*) FROM conversations c%s", w.ptr);
    r = PQexecParams(st->conn, sql.ptr, p.n, NULL, p.v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot select "
                              "conversations");
        goto rollback;
    }
    if (total_out)
        *total_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    r = NULL;
    z = 4;
    d = 5;
    sp = param(&p, show);
    seed = param(&p, q->seed ? q->seed : "");
    snprintf(limit, sizeof(limit), "%ld", q->sample);
    lim = param(&p, q->sample > 0 ? limit : NULL);
    vm = param(&p, q->verdict);
    cs_buf_reset(&sql);
    /* The sample is drawn in a subquery, then listed in time order. */
    cs_buf_addf(&sql,
                "SELECT s.* FROM (SELECT c.tenant, c.id,"
                " to_char(c.started_at AT TIME ZONE coalesce($%d::jsonb ->>"
                "  c.tenant, $%d), 'YYYY-MM-DD HH24:MI:SS'),"
                " to_char(c.started_at AT TIME ZONE 'UTC',"
                "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                " c.agent, c.channel, c.direction, c.outcome,"
                " extract(epoch FROM c.ended_at - c.answered_at),"
                " coalesce((SELECT jsonb_object_agg(r.metric, r.value)"
                "  FROM results r WHERE r.current AND r.tenant = c.tenant"
                "  AND r.conversation_id = c.id"
                " AND r.started_at = c.started_at"
                "  AND $%d::jsonb ? r.metric), '{}')::text,"
                " c.handoff IS NOT NULL, c.started_at AS at,"
                " v.evaluator, v.rationale, v.evidence"
                " FROM conversations c LEFT JOIN results v ON v.current"
                "  AND v.tenant = c.tenant AND v.conversation_id = c.id"
                " AND v.started_at = c.started_at"
                "  AND v.metric = $%d%s"
                " ORDER BY CASE WHEN $%d::bigint IS NULL THEN NULL ELSE"
                "  md5($%d || ':' || c.tenant || ':' || c.id) END,"
                "  c.started_at, c.tenant, c.id"
                " LIMIT $%d::bigint) s ORDER BY s.at, 1, 2",
                z, d, sp, vm, w.ptr, lim, seed, lim);
    ret = cs_store_each_page(st, sql.ptr, p.n, p.v, PAGE, item_page, &wk,
                             "cannot select conversations", err);
    if (ret)
        goto rollback;
    ret = cs_store_exec(st, "COMMIT", err);
    goto done;
rollback:
    PQclear(r);
    r = NULL;
    PQclear(PQexec(st->conn, "ROLLBACK"));
done:
    PQclear(r);
    free(show);
    cs_buf_release(&sql);
    cs_buf_release(&w);
    return ret;
}

int cs_store_conversation_tenants(char ***out, struct cs_store *st,
                                  const char *id, struct cs_err *err)
{
    const char *params[1] = {id};

    return cs_store_query_strv(out, st, "SELECT tenant FROM conversations "
                               "WHERE id = $1 ORDER BY 1", 1, params,
                               "cannot find the conversation", err);
}

#define LOCAL_TIME(col)                                                   \
    "to_char(c." col " AT TIME ZONE $3, 'YYYY-MM-DD HH24:MI:SS')"
#define UTC_TIME(col)                                                     \
    "to_char(c." col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const char GET_SQL[] =
    "SELECT jsonb_build_object("
    " 'tenant', c.tenant, 'id', c.id, 'agent', c.agent,"
    " 'channel', c.channel, 'direction', c.direction,"
    " 'caller', c.caller, 'callee', c.callee,"
    " 'started', " LOCAL_TIME("started_at") ","
    " 'answered', " LOCAL_TIME("answered_at") ","
    " 'ended', " LOCAL_TIME("ended_at") ","
    " 'started_at', " UTC_TIME("started_at") ","
    " 'duration_s', extract(epoch FROM c.ended_at - c.answered_at),"
    " 'outcome', c.outcome, 'ring_s', c.ring_s,"
    " 'queue_wait_s', c.queue_wait_s, 'sip_error_code', c.sip_error_code,"
    " 'handoff', c.handoff, 'turns', c.turns, 'tool_calls', c.tool_calls,"
    " 'spans', (SELECT jsonb_agg(jsonb_build_object('name', s.n,"
    "   'duration_ms', s.ms) ORDER BY s.o)"
    "   FROM unnest(c.span_names, c.span_ms) WITH ORDINALITY AS s(n, ms, o)),"
    " 'costs', c.costs, 'cost_total', c.cost_total,"
    " 'csat', c.csat, 'nps', c.nps, 'topics', to_jsonb(c.topics),"
    " 'metrics', c.metrics, 'metadata', c.metadata,"
    " 'content_hash', c.content_hash,"
    " 'ingested_at', " UTC_TIME("ingested_at") ","
    " 'results', coalesce((SELECT jsonb_agg(jsonb_build_object("
    "   'metric', r.metric, 'value', r.value, 'evidence', r.evidence,"
    "   'rationale', r.rationale, 'evaluator', r.evaluator,"
    "   'rubric_version', r.rubric_version, 'confidence', r.confidence,"
    "   'current', r.current, 'for_content', r.content_hash = c.content_hash,"
    "   'evaluated_at', to_char(r.evaluated_at AT TIME ZONE $3,"
    "     'YYYY-MM-DD HH24:MI:SS'))"
    "   ORDER BY r.current DESC, r.metric, r.id DESC)"
    "   FROM results r WHERE r.tenant = c.tenant"
    "   AND r.conversation_id = c.id"
    " AND r.started_at = c.started_at), '[]'::jsonb))::text"
    " FROM conversations c WHERE c.tenant = $1 AND c.id = $2";

int cs_store_conversation_get(json_t **out, struct cs_store *st,
                              const char *tenant, const char *id,
                              const char *tz, struct cs_err *err)
{
    const char *params[3] = {tenant, id, tz};
    json_error_t jerr;
    PGresult *r;
    int ret = 0;

    *out = NULL;
    r = PQexecParams(st->conn, GET_SQL, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read the "
                              "conversation");
        goto done;
    }
    if (PQntuples(r) == 0) {
        ret = cs_err_set(err, CS_ENOTFOUND, "no conversation '%s' of "
                         "tenant '%s'", id, tenant);
        goto done;
    }
    *out = json_loads(PQgetvalue(r, 0, 0), 0, &jerr);
    if (!*out)
        ret = cs_err_set(err, CS_EDB, "unreadable conversation '%s': %s", id,
                         jerr.text);
done:
    PQclear(r);
    return ret;
}

/* ---- explanations ---- */

int cs_store_explanation_add(long *id_out, struct cs_store *st,
                             const json_t *expl, struct cs_err *err)
{
    char *value = json_dumps(json_object_get(expl, "value"),
                             JSON_ENCODE_ANY | JSON_COMPACT);
    char *themes = json_dumps(json_object_get(expl, "themes"),
                              JSON_COMPACT);
    char *inputs = json_dumps(json_object_get(expl, "inputs"),
                              JSON_COMPACT);
    char matched[32], sampled[32];
    const char *params[10];
    PGresult *r;
    int ret = 0;

    snprintf(matched, sizeof(matched), "%lld", (long long)json_integer_value(
                                                   json_object_get(expl,
                                                                   "matched")));
    snprintf(sampled, sizeof(sampled), "%lld", (long long)json_integer_value(
                                                   json_object_get(expl,
                                                                   "sampled")));
    params[0] = json_string_value(json_object_get(expl, "tenant"));
    params[1] = json_string_value(json_object_get(expl, "metric"));
    params[2] = value;
    params[3] = json_string_value(json_object_get(expl, "from"));
    params[4] = json_string_value(json_object_get(expl, "to"));
    params[5] = json_string_value(json_object_get(expl, "evaluator"));
    params[6] = matched;
    params[7] = sampled;
    params[8] = themes;
    params[9] = inputs;
    r = PQexecParams(st->conn, "INSERT INTO explanations (tenant, metric, "
                     "value, from_day, to_day, evaluator, matched, sampled, "
                     "themes, inputs) VALUES ($1, $2, $3::jsonb, $4::date, "
                     "$5::date, $6, $7::integer, $8::integer, $9::jsonb, "
                     "$10::jsonb) RETURNING id", 10, NULL, params, NULL, NULL,
                     0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot store the "
                              "explanation");
    else if (id_out)
        *id_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    free(value);
    free(themes);
    free(inputs);
    return ret;
}

int cs_store_explanation_latest(json_t **out, struct cs_store *st,
                                const char *tenant, const char *metric,
                                const char *value, const char *from,
                                const char *to, struct cs_err *err)
{
    const char *params[5] = {tenant, metric, value, from, to};
    PGresult *r;
    int ret = 0;

    *out = NULL;
    r = PQexecParams(st->conn,
                     "SELECT jsonb_build_object('id', id, 'tenant', tenant,"
                     " 'metric', metric, 'value', value, 'from', from_day,"
                     " 'to', to_day, 'evaluator', evaluator, 'created_at',"
                     " to_char(created_at AT TIME ZONE 'UTC',"
                     "  'YYYY-MM-DD HH24:MI'), 'matched', matched,"
                     " 'sampled', sampled, 'themes', themes,"
                     " 'inputs', inputs)::text"
                     " FROM explanations WHERE tenant = $1 AND metric = $2"
                     " AND value = $3::jsonb"
                     " AND (from_day IS NULL OR $5::date IS NULL"
                     "      OR from_day < $5::date)"
                     " AND (to_day IS NULL OR $4::date IS NULL"
                     "      OR to_day > $4::date)"
                     " ORDER BY id DESC LIMIT 1", 5, NULL, params, NULL, NULL,
                     0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot read "
                              "explanations");
    else if (PQntuples(r) == 1)
        *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return ret;
}

/* ---- calibrations ---- */

static const char *num_or_null(const json_t *v, char *buf, size_t n)
{
    if (!json_is_number(v))
        return NULL;
    snprintf(buf, n, "%.17g", json_number_value(v));
    return buf;
}

int cs_store_calibration_add(struct cs_store *st, const char *metric,
                             const char *labels_file,
                             const char *labels_sha256,
                             const json_t *figures, struct cs_err *err)
{
    const json_t *gold = json_object_get(figures, "gold_applicable");
    char n[32], acc[40], kap[40], ng[32], accg[40], kapg[40];
    char *fig = json_dumps(figures, JSON_COMPACT);
    const char *params[10];
    PGresult *r;
    int ret = 0;

    snprintf(n, sizeof(n), "%lld",
             (long long)json_integer_value(json_object_get(figures, "n")));
    snprintf(ng, sizeof(ng), "%lld",
             (long long)json_integer_value(json_object_get(gold, "n")));
    params[0] = metric;
    params[1] = labels_file;
    params[2] = labels_sha256;
    params[3] = n;
    params[4] = num_or_null(json_object_get(figures, "accuracy"), acc,
                            sizeof(acc));
    params[5] = num_or_null(json_object_get(figures, "kappa"), kap,
                            sizeof(kap));
    params[6] = ng;
    params[7] = num_or_null(json_object_get(gold, "accuracy"), accg,
                            sizeof(accg));
    params[8] = num_or_null(json_object_get(gold, "kappa"), kapg,
                            sizeof(kapg));
    params[9] = fig;
    r = PQexecParams(st->conn,
                     "INSERT INTO calibrations (metric, labels_file,"
                     " labels_sha256, rubric_version, evaluator, n, accuracy,"
                     " kappa, n_gold, accuracy_gold, kappa_gold, figures)"
                     " SELECT $1, $2, $3, s.rubric_version, s.evaluator,"
                     " $4::integer, $5::float8, $6::float8, $7::integer,"
                     " $8::float8, $9::float8, $10::jsonb"
                     " FROM (SELECT NULL) AS one LEFT JOIN LATERAL"
                     " (SELECT rubric_version, evaluator FROM results"
                     "  WHERE current AND metric = $1"
                     "  GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT 1)"
                     " s ON true", 10, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot store the "
                              "calibration");
    PQclear(r);
    free(fig);
    return ret;
}

int cs_store_calibration_latest(struct cs_store *st, cs_calibration_fn fn,
                                void *ctx, struct cs_err *err)
{
    PGresult *r;
    int ret = 0;

    r = PQexec(st->conn,
               "SELECT DISTINCT ON (metric) metric,"
               " to_char(measured_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
               " labels_sha256, rubric_version, evaluator, n, accuracy, kappa"
               " FROM calibrations ORDER BY metric, id DESC");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read calibrations");
        goto done;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        struct cs_calibration_row row;

        row.metric = PQgetvalue(r, i, 0);
        row.measured_at = PQgetvalue(r, i, 1);
        row.labels_sha256 = PQgetvalue(r, i, 2);
        row.version = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
        row.evaluator = PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4);
        row.n = strtol(PQgetvalue(r, i, 5), NULL, 10);
        row.accuracy = PQgetisnull(r, i, 6) ? NAN
                                            : strtod(PQgetvalue(r, i, 6),
                                                     NULL);
        row.kappa = PQgetisnull(r, i, 7) ? NAN
                                         : strtod(PQgetvalue(r, i, 7), NULL);
        fn(ctx, &row);
    }
done:
    PQclear(r);
    return ret;
}
