/* results.c - evaluation results: what to score, writing, reading back */
#include "store/results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/mem.h"
#include "store/row.h"
#include "store/store_internal.h"

#define PAGE 500

/* The conversation as the input format has it (what rubrics can look at),
 * its content hash, and what is stored for it. */
static const char ITEM_SELECT[] =
    "SELECT c.tenant, c.id, jsonb_strip_nulls(jsonb_build_object("
    " 'id', c.id, 'tenant', c.tenant, 'agent', c.agent,"
    " 'channel', c.channel, 'direction', c.direction,"
    " 'started_at', to_char(c.started_at AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " 'outcome', c.outcome, 'ring_s', c.ring_s,"
    " 'queue_wait_s', c.queue_wait_s, 'sip_error_code', c.sip_error_code,"
    " 'handoff', c.handoff, 'turns', c.turns, 'tool_calls', c.tool_calls,"
    " 'costs', c.costs, 'csat', c.csat, 'nps', c.nps,"
    " 'topics', to_jsonb(c.topics), 'metrics', c.metrics,"
    " 'metadata', c.metadata))::text,"
    " c.content_hash,"
    " coalesce((SELECT jsonb_object_agg(r.metric, jsonb_build_array("
    "   r.rubric_version, r.evaluator, r.content_hash,"
    "   r.value = '\"error\"'))"
    "   FROM results r WHERE r.current AND r.tenant = c.tenant"
    "   AND r.conversation_id = c.id), '{}')::text"
    " FROM conversations c";

/* $1 tenant or NULL, $2 from or NULL, $3 to or NULL. */
static const char FILTER_WHERE[] =
    " WHERE ($1::text IS NULL OR c.tenant = $1)"
    " AND ($2::date IS NULL OR c.started_at >= $2::date::timestamp"
    "      AT TIME ZONE 'UTC')"
    " AND ($3::date IS NULL OR c.started_at < $3::date::timestamp"
    "      AT TIME ZONE 'UTC')";

/* $4 wanted {metric: version} or NULL, $5 evaluator: skips conversations
 * whose wanted results are all current, in SQL, so that a run with
 * nothing to do reads nothing but the index. */
static const char WANT_WHERE[] =
    " AND ($4::jsonb IS NULL OR (SELECT count(*) FROM results r"
    "      WHERE r.current AND r.tenant = c.tenant"
    "      AND r.conversation_id = c.id AND r.content_hash = c.content_hash"
    "      AND r.evaluator IN ($5, 'agent') AND r.value <> '\"error\"'"
    "      AND r.rubric_version = $4::jsonb ->> r.metric)"
    "     < (SELECT count(*) FROM jsonb_object_keys($4::jsonb)))";

struct cs_claim {
    PGconn *conn;               /* holds the row locks in a transaction */
    struct cs_score_cursor *cur;
    size_t out;                 /* items handed out, not yet put back */
    int sealed;                 /* the cursor has moved past it */
    struct cs_claim *next;
};

struct cs_score_cursor {
    struct cs_store *st;
    struct cs_score_filter f;
    size_t page_size;
    cs_flush_fn flush;
    void *flush_ctx;
    PGresult *page;             /* items of the current claim */
    int row;
    struct cs_claim *claim;     /* the current one */
    struct cs_claim *claims;    /* all open ones */
    PGconn *idle[4];            /* claim connections to reuse */
    int n_idle;
    char *last_tenant;
    char *last_id;
    int done;
};

void cs_score_item_release(struct cs_score_item *it)
{
    cs_conv_free(it->conv);
    json_decref(it->current);
    it->conv = NULL;
    it->current = NULL;
}

int cs_store_score_cursor_new(struct cs_score_cursor **out,
                              struct cs_store *st,
                              const struct cs_score_filter *f,
                              size_t page_size, cs_flush_fn flush,
                              void *flush_ctx)
{
    struct cs_score_cursor *c = cs_xcalloc(1, sizeof(*c));

    c->st = st;
    c->f = *f;
    c->page_size = page_size ? page_size : PAGE;
    c->flush = flush;
    c->flush_ctx = flush_ctx;
    *out = c;
    return 0;
}

/* A second connection with the same parameters as the store's. */
static PGconn *connect_like(PGconn *conn)
{
    PQconninfoOption *opts = PQconninfo(conn), *o;
    const char *keys[64], *vals[64];
    int n = 0;
    PGconn *c;

    for (o = opts; o && o->keyword && n < 63; o++) {
        if (o->val && *o->val) {
            keys[n] = o->keyword;
            vals[n] = o->val;
            n++;
        }
    }
    keys[n] = vals[n] = NULL;
    c = PQconnectdbParams(keys, vals, 0);
    PQconninfoFree(opts);
    return c;
}

static void claim_unlink(struct cs_claim *cl)
{
    struct cs_claim **p = &cl->cur->claims;

    while (*p && *p != cl)
        p = &(*p)->next;
    if (*p)
        *p = cl->next;
}

/* Flushes the results, then commits the claim (releasing its locks). */
static int claim_release(struct cs_claim *cl, struct cs_err *err)
{
    struct cs_score_cursor *c = cl->cur;
    int ret = c->flush ? c->flush(c->flush_ctx, err) : 0;
    PGresult *r;

    r = PQexec(cl->conn, ret ? "ROLLBACK" : "COMMIT");
    if (!ret && PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, cl->conn, r, "cannot release a claim");
    PQclear(r);
    /* Kept for the next claim: a new connection costs a backend fork. */
    if (!ret && c->n_idle < 4)
        c->idle[c->n_idle++] = cl->conn;
    else
        PQfinish(cl->conn);
    claim_unlink(cl);
    free(cl);
    return ret;
}

int cs_store_claim_put(struct cs_claim *cl, struct cs_err *err)
{
    if (!cl)
        return 0;
    if (cl->out)
        cl->out--;
    if (cl->out == 0 && cl->sealed)
        return claim_release(cl, err);
    return 0;
}

/* The cursor moves past its current claim. */
static int seal(struct cs_score_cursor *c, struct cs_err *err)
{
    struct cs_claim *cl = c->claim;

    c->claim = NULL;
    if (!cl)
        return 0;
    cl->sealed = 1;
    if (cl->out == 0)
        return claim_release(cl, err);
    return 0;
}

/* Claims the next page and reads its items (still stale, fresh look). */
static int fetch_page(struct cs_score_cursor *c, struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT, keys = CS_BUF_INIT;
    const char *params[7] = {c->f.tenant, c->f.from, c->f.to, c->f.want,
                             c->f.evaluator ? c->f.evaluator : "rules",
                             c->last_tenant, c->last_id};
    struct cs_claim *cl = NULL;
    char *first_tenant = NULL, *first_id = NULL;
    PGresult *r = NULL;
    int ret, n;

    ret = seal(c, err);
    if (ret)
        return ret;
    PQclear(c->page);
    c->page = NULL;
    c->row = 0;
    cl = cs_xcalloc(1, sizeof(*cl));
    cl->cur = c;
    cl->conn = c->n_idle ? c->idle[--c->n_idle] : connect_like(c->st->conn);
    if (PQstatus(cl->conn) != CONNECTION_OK) {
        ret = cs_store_pg_err(err, cl->conn, NULL, "cannot connect to "
                              "claim work");
        goto fail;
    }
    r = PQexec(cl->conn, "BEGIN");
    PQclear(r);
    cs_buf_addf(&sql, "SELECT c.tenant, c.id FROM conversations c%s%s"
                " AND ($6::text IS NULL OR (c.tenant, c.id) > ($6, $7))"
                " ORDER BY c.tenant, c.id LIMIT %zu"
                " FOR UPDATE OF c SKIP LOCKED", FILTER_WHERE, WANT_WHERE,
                c->page_size);
    r = PQexecParams(cl->conn, sql.ptr, 7, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, cl->conn, r, "cannot claim "
                              "conversations");
        goto fail;
    }
    n = PQntuples(r);
    if ((size_t)n < c->page_size)
        c->done = 1;
    if (n == 0) {
        PQclear(r);
        PQclear(PQexec(cl->conn, "COMMIT"));
        PQfinish(cl->conn);
        free(cl);
        cs_buf_release(&sql);
        return 0;
    }
    free(first_tenant);
    free(first_id);
    first_tenant = cs_xstrdup(PQgetvalue(r, 0, 0));
    first_id = cs_xstrdup(PQgetvalue(r, 0, 1));
    free(c->last_tenant);
    free(c->last_id);
    c->last_tenant = cs_xstrdup(PQgetvalue(r, n - 1, 0));
    c->last_id = cs_xstrdup(PQgetvalue(r, n - 1, 1));
    cs_buf_addch(&keys, '[');
    for (int i = 0; i < n; i++) {
        cs_buf_adds(&keys, i ? ",[" : "[");
        cs_store_json_str(&keys, PQgetvalue(r, i, 0));
        cs_buf_addch(&keys, ',');
        cs_store_json_str(&keys, PQgetvalue(r, i, 1));
        cs_buf_addch(&keys, ']');
    }
    cs_buf_addch(&keys, ']');
    PQclear(r);
    r = NULL;
    /* Read the claimed ones on the main connection: a new snapshot, so
     * what another process finished meanwhile is seen as done. */
    cs_buf_reset(&sql);
    /* The key range keeps the plan on the primary key index whatever the
     * planner guesses of the key list (a scan of the whole table was seen
     * for some pages); the list keeps only what this process claimed. */
    cs_buf_addf(&sql, "%s%s%s AND (c.tenant, c.id) >= ($7, $8)"
                " AND (c.tenant, c.id) <= ($9, $10)"
                " AND (c.tenant, c.id) IN (SELECT k->>0, k->>1"
                " FROM jsonb_array_elements($6::jsonb) AS k)"
                " ORDER BY c.tenant, c.id", ITEM_SELECT, FILTER_WHERE,
                WANT_WHERE);
    {
        const char *p2[10] = {params[0], params[1], params[2], params[3],
                              params[4], keys.ptr, first_tenant, first_id,
                              c->last_tenant, c->last_id};

        c->page = PQexecParams(c->st->conn, sql.ptr, 10, NULL, p2, NULL,
                               NULL, 0);
    }
    if (PQresultStatus(c->page) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, c->st->conn, c->page, "cannot read "
                              "conversations to score");
        goto fail;
    }
    cl->next = c->claims;
    c->claims = cl;
    c->claim = cl;
    free(first_tenant);
    free(first_id);
    cs_buf_release(&sql);
    cs_buf_release(&keys);
    return 0;
fail:
    free(first_tenant);
    free(first_id);
    PQclear(r);
    if (cl) {
        PQfinish(cl->conn);
        free(cl);
    }
    cs_buf_release(&sql);
    cs_buf_release(&keys);
    return ret;
}

int cs_store_score_cursor_next(struct cs_score_cursor *c,
                               struct cs_score_item *out, struct cs_err *err)
{
    struct cs_err verr = {0, ""};
    json_error_t jerr;
    json_t *doc;
    const char *id;
    int ret;

    memset(out, 0, sizeof(*out));
    while (!c->page || c->row >= PQntuples(c->page)) {
        if (c->done) {
            PQclear(c->page);
            c->page = NULL;
            return seal(c, err);
        }
        ret = fetch_page(c, err);
        if (ret)
            return ret;
        if (!c->page)
            return seal(c, err); /* nothing left to claim */
    }
    id = PQgetvalue(c->page, c->row, 1);
    doc = json_loads(PQgetvalue(c->page, c->row, 2), 0, &jerr);
    ret = doc ? cs_conv_from_json(&out->conv, doc, &verr) : CS_EINVALID;
    json_decref(doc);
    if (ret) {
        c->row++;
        return cs_err_set(err, CS_EDB, "stored conversation '%s' is "
                          "unreadable: %s", id, doc ? verr.msg : jerr.text);
    }
    snprintf(out->content_hash, sizeof(out->content_hash), "%s",
             PQgetvalue(c->page, c->row, 3));
    out->current = json_loads(PQgetvalue(c->page, c->row, 4), 0, NULL);
    if (!out->current)
        out->current = json_object();
    out->claim = c->claim;
    c->claim->out++;
    c->row++;
    return 1;
}

void cs_store_score_cursor_free(struct cs_score_cursor *c)
{
    if (!c)
        return;
    PQclear(c->page);
    c->page = NULL;
    seal(c, NULL);
    while (c->n_idle)
        PQfinish(c->idle[--c->n_idle]);
    while (c->claims) {
        struct cs_claim *cl = c->claims;

        /* Items still out: their work is abandoned, so roll back. */
        PQclear(PQexec(cl->conn, "ROLLBACK"));
        PQfinish(cl->conn);
        c->claims = cl->next;
        free(cl);
    }
    free(c->last_tenant);
    free(c->last_id);
    free(c);
}

int cs_store_score_count(long *out, struct cs_store *st,
                         const struct cs_score_filter *f, struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT;
    const char *params[5] = {f->tenant, f->from, f->to, f->want,
                             f->evaluator ? f->evaluator : "rules"};
    PGresult *r;
    int ret = 0;

    cs_buf_addf(&sql, "SELECT count(*) FROM conversations c%s%s",
                FILTER_WHERE, WANT_WHERE);
    r = PQexecParams(st->conn, sql.ptr, 5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot count "
                              "conversations");
    else
        *out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    cs_buf_release(&sql);
    return ret;
}

struct cs_result_writer {
    struct cs_store *st;
    size_t batch_rows;
    size_t n;
    struct cs_buf rows;     /* COPY text */
    struct cs_buf keys;     /* JSON [[tenant, id, metric], ...] */
    size_t n_keys;
    uint64_t since_analyze;
};

#define RESULT_COLUMNS                                                     \
    "tenant, conversation_id, metric, rubric_version, evaluator, value, "  \
    "confidence, evidence, rationale, tokens_in, tokens_out, cost, "       \
    "content_hash"

void cs_store_results_new(struct cs_result_writer **out, struct cs_store *st,
                          size_t batch_rows)
{
    struct cs_result_writer *w = cs_xcalloc(1, sizeof(*w));

    w->st = st;
    w->batch_rows = batch_rows ? batch_rows : 2000;
    cs_buf_init(&w->rows);
    cs_buf_init(&w->keys);
    *out = w;
}

static void copy_str(struct cs_buf *b, const char *s)
{
    if (s)
        cs_store_copy_text(b, s, strlen(s));
    else
        cs_buf_adds(b, "\\N");
}

int cs_store_results_add(struct cs_result_writer *w,
                         const struct cs_result_row *r, struct cs_err *err)
{
    char *value = json_dumps(r->value, JSON_ENCODE_ANY | JSON_COMPACT);
    struct cs_buf *b = &w->rows;

    copy_str(b, r->tenant);
    cs_buf_addch(b, '\t');
    copy_str(b, r->conversation_id);
    cs_buf_addch(b, '\t');
    copy_str(b, r->metric);
    cs_buf_addch(b, '\t');
    copy_str(b, r->rubric_version);
    cs_buf_addch(b, '\t');
    copy_str(b, r->evaluator);
    cs_buf_addch(b, '\t');
    copy_str(b, value);
    cs_buf_addch(b, '\t');
    if (isnan(r->confidence))
        cs_buf_adds(b, "\\N");
    else
        cs_buf_addf(b, "%.6g", r->confidence);
    cs_buf_addch(b, '\t');
    copy_str(b, r->evidence);
    cs_buf_addch(b, '\t');
    copy_str(b, r->rationale);
    cs_buf_addf(b, "\t%ld\t%ld\t%.10g\t", r->tokens_in, r->tokens_out,
                r->cost);
    copy_str(b, r->content_hash);
    cs_buf_addch(b, '\n');
    free(value);

    /* Only rows that replace a current one need the update (none on a
     * first run): the update's join was the slow part of big runs. */
    if (r->replaces) {
        cs_buf_adds(&w->keys, w->n_keys ? ",[" : "[[");
        cs_store_json_str(&w->keys, r->tenant);
        cs_buf_addch(&w->keys, ',');
        cs_store_json_str(&w->keys, r->conversation_id);
        cs_buf_addch(&w->keys, ',');
        cs_store_json_str(&w->keys, r->metric);
        cs_buf_addch(&w->keys, ']');
        w->n_keys++;
    }
    w->n++;
    if (w->n >= w->batch_rows)
        return cs_store_results_flush(w, err);
    return 0;
}

int cs_store_results_flush(struct cs_result_writer *w, struct cs_err *err)
{
    PGconn *conn = w->st->conn;
    PGresult *res = NULL;
    const char *params[1];
    int ret;

    if (!w || w->n == 0)
        return 0;
    cs_buf_addch(&w->keys, ']');
    params[0] = w->keys.ptr;
    ret = cs_store_exec(w->st, "BEGIN", err);
    if (ret)
        goto out;
    if (!w->n_keys)
        goto copy;
    /* The rows being replaced become history. */
    res = PQexecParams(conn, "UPDATE results r SET current = false FROM "
                       "jsonb_array_elements($1::jsonb) AS k(v) WHERE "
                       "r.current AND r.tenant = k.v->>0 AND "
                       "r.conversation_id = k.v->>1 AND r.metric = k.v->>2",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        ret = cs_store_pg_err(err, conn, res, "cannot update results");
        goto rollback;
    }
    PQclear(res);
copy:
    res = PQexec(conn, "COPY results (" RESULT_COLUMNS ") FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        ret = cs_store_pg_err(err, conn, res, "cannot write results");
        goto rollback;
    }
    PQclear(res);
    if (PQputCopyData(conn, w->rows.ptr, (int)w->rows.len) != 1 ||
        PQputCopyEnd(conn, NULL) != 1) {
        res = NULL;
        ret = cs_store_pg_err(err, conn, NULL, "cannot write results");
        goto rollback;
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        ret = cs_store_pg_err(err, conn, res, "cannot write results");
        goto rollback;
    }
    PQclear(res);
    res = NULL;
    ret = cs_store_exec(w->st, "COMMIT", err);
    /* Fresh statistics while the table grows: planned against a nearly
     * empty `results`, the per-conversation lookups turn into scans and a
     * big run slows down quadratically until autovacuum catches up. */
    w->since_analyze += w->n;
    if (!ret && w->since_analyze >= 50000) {
        w->since_analyze = 0;
        ret = cs_store_exec(w->st, "ANALYZE results", err);
    }
    goto out;
rollback:
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
    PQclear(PQexec(conn, "ROLLBACK"));
out:
    cs_buf_reset(&w->rows);
    cs_buf_reset(&w->keys);
    w->n = 0;
    w->n_keys = 0;
    return ret;
}

void cs_store_results_free(struct cs_result_writer *w)
{
    if (!w)
        return;
    cs_buf_release(&w->rows);
    cs_buf_release(&w->keys);
    free(w);
}

static void csv_cell(FILE *out, const char *s, int last)
{
    cs_csv_field(out, s);
    fputc(last ? '\n' : ',', out);
}

int cs_store_results_export(struct cs_store *st,
                            const struct cs_score_filter *f,
                            char *const *metrics, int history, int csv,
                            FILE *out, struct cs_err *err)
{
    static const char *const names[] = {
        "conversation_id", "tenant", "metric", "rubric_version", "value",
        "confidence", "evidence", "rationale", "evaluator", "tokens_in",
        "tokens_out", "cost", "evaluated_at", "current"};
    struct cs_buf sql = CS_BUF_INIT, mlist = CS_BUF_INIT;
    const char *params[5];
    PGresult *r = NULL;
    int ret = 0, ncol = (int)(sizeof(names) / sizeof(names[0]));

    /* The metric filter as a JSON array parameter. */
    cs_buf_addch(&mlist, '[');
    for (char *const *m = metrics; m && *m; m++) {
        if (m != metrics)
            cs_buf_addch(&mlist, ',');
        cs_store_json_str(&mlist, *m);
    }
    cs_buf_addch(&mlist, ']');
    params[0] = f->tenant;
    params[1] = f->from;
    params[2] = f->to;
    params[3] = mlist.ptr;
    params[4] = history ? "1" : "0";
    cs_buf_addf(&sql,
                "SELECT r.conversation_id, r.tenant, r.metric,"
                " r.rubric_version, r.value::text, r.confidence, r.evidence,"
                " r.rationale, r.evaluator, r.tokens_in, r.tokens_out,"
                " r.cost, to_char(r.evaluated_at AT TIME ZONE 'UTC',"
                " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), r.current"
                " FROM results r JOIN conversations c ON c.tenant = r.tenant"
                " AND c.id = r.conversation_id%s"
                " AND (jsonb_array_length($4::jsonb) = 0"
                "      OR $4::jsonb ? r.metric)"
                " AND ($5 = '1' OR r.current)"
                " ORDER BY r.tenant, r.conversation_id, r.metric, r.id",
                FILTER_WHERE);
    r = PQexecParams(st->conn, sql.ptr, 5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot export results");
        goto done;
    }
    if (csv) {
        for (int c = 0; c < ncol; c++)
            csv_cell(out, names[c], c == ncol - 1);
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *o = json_object();

        for (int c = 0; c < ncol; c++) {
            const char *v = PQgetvalue(r, i, c);
            int null = PQgetisnull(r, i, c);
            json_t *jv;

            if (null)
                jv = json_null();
            else if (c == 4)
                jv = json_loads(v, JSON_DECODE_ANY, NULL);
            else if (c == 5 || c == 11)
                jv = json_real(strtod(v, NULL));
            else if (c == 9 || c == 10)
                jv = json_integer(strtol(v, NULL, 10));
            else if (c == 13)
                jv = json_boolean(*v == 't');
            else
                jv = json_string(v);
            if (csv) {
                char *t = null ? NULL
                               : json_is_string(jv)
                                     ? cs_xstrdup(json_string_value(jv))
                                     : json_dumps(jv, JSON_ENCODE_ANY);

                csv_cell(out, t ? t : "", c == ncol - 1);
                free(t);
                json_decref(jv);
            } else {
                json_object_set_new(o, names[c], jv ? jv : json_null());
            }
        }
        if (!csv) {
            json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fputc('\n', out);
        }
        json_decref(o);
    }
done:
    PQclear(r);
    cs_buf_release(&sql);
    cs_buf_release(&mlist);
    return ret;
}

int cs_store_result_counts(struct cs_store *st, const char *tenant,
                           const char *from_day, const char *to_day,
                           const char *tz, enum cs_kpi_by by,
                           int answered_only, cs_value_count_fn fn,
                           void *ctx, struct cs_err *err)
{
    const char *params[5] = {tenant, from_day, to_day, tz,
                             answered_only ? "1" : "0"};
    struct cs_buf sql = CS_BUF_INIT;
    PGresult *r;
    int ret = 0;

    cs_buf_addf(&sql, "SELECT %s, r.metric, r.value::text, count(*)"
                " FROM results r JOIN conversations c"
                " ON c.tenant = r.tenant AND c.id = r.conversation_id"
                " WHERE r.current AND c.tenant = $1"
                " AND c.started_at >= ($2::date::timestamp AT TIME ZONE $4)"
                " AND c.started_at < ($3::date::timestamp AT TIME ZONE $4)"
                " AND ($5 = '0' OR c.outcome = 'answered')"
                " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                cs_store_group_expr(by));
    r = PQexecParams(st->conn, sql.ptr, 5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot count results");
        goto done;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *v = json_loads(PQgetvalue(r, i, 2), JSON_DECODE_ANY, NULL);

        if (v)
            fn(ctx, PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0),
               PQgetvalue(r, i, 1), v, strtol(PQgetvalue(r, i, 3), NULL, 10));
        json_decref(v);
    }
done:
    PQclear(r);
    cs_buf_release(&sql);
    return ret;
}

int cs_store_result_values(struct cs_store *st, const char *metric,
                           cs_value_fn fn, void *ctx, struct cs_err *err)
{
    const char *params[1] = {metric};
    PGresult *r;
    int ret = 0;

    r = PQexecParams(st->conn, "SELECT conversation_id, value::text FROM "
                     "results WHERE current AND metric = $1",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read results");
        goto done;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *v = json_loads(PQgetvalue(r, i, 1), JSON_DECODE_ANY, NULL);

        if (v)
            fn(ctx, PQgetvalue(r, i, 0), v);
        json_decref(v);
    }
done:
    PQclear(r);
    return ret;
}
