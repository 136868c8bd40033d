/* claim.c - claim conversations to score, a page at a time */
#include "store/claim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
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
    "   r.value = '\"error\"' AND r.evaluator NOT IN ('agent', 'scorecard'),"
    "   r.value))"
    "   FROM results r WHERE r.current AND r.tenant = c.tenant"
    "   AND r.conversation_id = c.id"
    " AND r.started_at = c.started_at), '{}')::text"
    " FROM conversations c";

/* $1 tenant or NULL, $2 from or NULL, $3 to or NULL. */
const char cs_store_filter_where[] =
    " WHERE ($1::text IS NULL OR c.tenant = $1)"
    " AND ($2::date IS NULL OR c.started_at >= $2::date::timestamp"
    "      AT TIME ZONE 'UTC')"
    " AND ($3::date IS NULL OR c.started_at < $3::date::timestamp"
    "      AT TIME ZONE 'UTC')";

/*
 * $4 wanted {metric: version} or NULL, $5 evaluator, $6 the names in scope
 * (a JSON array) or NULL for all: skips the conversations that are up to
 * date, in SQL, so that a run with nothing to do reads nothing but the
 * index. Up to date means: every wanted metric has a current result of
 * its version, by the evaluator or the agent, computed from the stored
 * content (a judge's error does not count, an agent's does: it would come
 * out the same); no other current result in scope (an agent's value,
 * or a result of a rubric no longer wanted) was computed from other
 * content: it must be stored anew or retired; and the agent's other
 * values are as many as the content's `metrics` name (those computed
 * from this content could only have been stored for names it holds, so
 * the counts match only when none is missing). One pass over the conversation's current results (the
 * results_current index); `metrics` is only read when it is an array.
 */
/* $4 holds the wanted metrics per tenant ({"": for every tenant,
 * "<tenant>": for that one}, see struct cs_score_filter). */
#define WANT "coalesce($4::jsonb -> c.tenant, $4::jsonb -> '')"
#define OTHER                                                              \
    " NOT " WANT " ? r.metric"                                             \
    " AND ($6::jsonb IS NULL OR $6::jsonb ? r.metric)"
static const char WANT_WHERE[] =
    " AND ($4::jsonb IS NULL"
    "  OR (SELECT count(*) FILTER (WHERE r.content_hash = c.content_hash"
    "        AND r.evaluator IN ($5, 'agent', 'scorecard')"
    "        AND (r.value <> '\"error\"'"
    "             OR r.evaluator IN ('agent', 'scorecard'))"
    "        AND r.rubric_version = " WANT " ->> r.metric)"
    "      < (SELECT count(*) FROM jsonb_object_keys(" WANT "))"
    "      OR count(*) FILTER (WHERE" OTHER
    "        AND r.content_hash <> c.content_hash) > 0"
    "      OR count(*) FILTER (WHERE r.evaluator = 'agent' AND" OTHER ")"
    "        <> CASE jsonb_typeof(c.metrics) WHEN 'array' THEN"
    "          (SELECT count(DISTINCT m.v->>'name')"
    "           FROM jsonb_array_elements(c.metrics) AS m(v)"
    "           WHERE NOT " WANT " ? (m.v->>'name')"
    "           AND ($6::jsonb IS NULL OR $6::jsonb ? (m.v->>'name')))"
    "          ELSE 0 END"
    "      FROM results r WHERE r.current AND r.tenant = c.tenant"
    "      AND r.conversation_id = c.id AND r.started_at = c.started_at))";

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
    PGresult *months;           /* [lo, hi) of the stored months */
    int month;                  /* the one being walked */
    char *last_tenant;
    char *last_id;
};

/* Every month is walked (none is, before the months are read). */
static int walked(const struct cs_score_cursor *c)
{
    return c->months && c->month >= PQntuples(c->months);
}

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

/* $1..$6 of the filter's statements (cs_store_filter_where, WANT_WHERE). */
static void filter_params(const char *p[6], const struct cs_score_filter *f)
{
    p[0] = f->tenant;
    p[1] = f->from;
    p[2] = f->to;
    p[3] = f->want;
    p[4] = f->evaluator ? f->evaluator : "rules";
    p[5] = f->scope;
}

/* The months in the filter's range, in order (created ahead but empty
 * ones too: one index probe each). */
static int load_months(struct cs_score_cursor *c, struct cs_err *err)
{
    const char *params[2] = {c->f.from, c->f.to};

    c->months = PQexecParams(c->st->conn, "SELECT lo, hi FROM cs_partitions()"
                             " WHERE ($1::date IS NULL OR hi > $1::date"
                             "::timestamp AT TIME ZONE 'UTC') AND ($2::date"
                             " IS NULL OR lo < $2::date::timestamp AT TIME"
                             " ZONE 'UTC') ORDER BY lo", 2, NULL, params,
                             NULL, NULL, 0);
    if (PQresultStatus(c->months) != PGRES_TUPLES_OK)
        return cs_store_pg_err(err, c->st->conn, c->months, "cannot list "
                               "the months to score");
    return 0;
}

/*
 * Claims up to a page of the current month's conversations after the
 * last key into *r. One month at a time, in (tenant, id) order within it:
 * across all months PostgreSQL 15 plans the ordered, locked LIMIT as an
 * Append of every month sorted (each page read everything left: 9.6 ms a
 * page at 60,000 conversations, growing with the table); within one month
 * it is the month's primary key read from the last key on.
 */
static int claim_rows(struct cs_score_cursor *c, PGconn *conn, PGresult **r,
                      struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT;
    const char *params[10] = {NULL, NULL, NULL, NULL, NULL, NULL,
                              c->last_tenant, c->last_id,
                              PQgetvalue(c->months, c->month, 0),
                              PQgetvalue(c->months, c->month, 1)};
    int ret = 0;

    filter_params(params, &c->f);

    cs_buf_addf(&sql, "SELECT c.tenant, c.id FROM conversations c%s%s"
                " AND c.started_at >= $9::timestamptz"
                " AND c.started_at < $10::timestamptz"
                " AND ($7::text IS NULL OR (c.tenant, c.id) > ($7, $8))"
                " ORDER BY c.tenant, c.id LIMIT %zu"
                " FOR UPDATE OF c SKIP LOCKED", cs_store_filter_where,
                WANT_WHERE, c->page_size);
    *r = PQexecParams(conn, sql.ptr, 10, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(*r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, conn, *r, "cannot claim conversations");
    cs_buf_release(&sql);
    return ret;
}

/* Claims the next page and reads its items (still stale, fresh look). */
static int fetch_page(struct cs_score_cursor *c, struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT, keys = CS_BUF_INIT;
    struct cs_claim *cl = NULL;
    PGresult *r = NULL;
    int ret, n, m;

    ret = seal(c, err);
    if (ret)
        return ret;
    PQclear(c->page);
    c->page = NULL;
    c->row = 0;
    if (!c->months && (ret = load_months(c, err)) != 0)
        return ret;
    cl = cs_xcalloc(1, sizeof(*cl));
    cl->cur = c;
    if (c->n_idle) {
        cl->conn = c->idle[--c->n_idle];
    } else {
        ret = cs_store_connect_again(&cl->conn, c->st, err);
        if (ret)
            goto fail;
    }
    r = PQexec(cl->conn, "BEGIN");
    PQclear(r);
    r = NULL;
    for (n = 0; !walked(c);) {
        m = c->month;
        ret = claim_rows(c, cl->conn, &r, err);
        if (ret)
            goto fail;
        n = PQntuples(r);
        if ((size_t)n < c->page_size) {
            /* The month is walked: the next page starts the next one. */
            c->month++;
            free(c->last_tenant);
            free(c->last_id);
            c->last_tenant = c->last_id = NULL;
        }
        if (n > 0)
            break;
        PQclear(r);
        r = NULL;
    }
    if (n == 0) {
        PQclear(PQexec(cl->conn, "COMMIT"));
        PQfinish(cl->conn);
        free(cl);
        return 0;
    }
    if ((size_t)n == c->page_size) {
        free(c->last_tenant);
        free(c->last_id);
        c->last_tenant = cs_xstrdup(PQgetvalue(r, n - 1, 0));
        c->last_id = cs_xstrdup(PQgetvalue(r, n - 1, 1));
    }
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
    /* The claimed keys, one primary key probe each in the month. (A key
     * range beside the list kept an unpartitioned table's plan on its
     * index; in a month that holds none of the page, PostgreSQL 15 scans
     * such a range to the end of the tenant's keys: 64 s a page instead
     * of 0.14 s at 1,000,000 conversations over 12 months.) The month's
     * bounds are those of the claim, so only its partition is read; a
     * conversation re-ingested into another month since is left for the
     * next run. */
    cs_buf_addf(&sql, "%s%s%s AND c.started_at >= $8::timestamptz"
                " AND c.started_at < $9::timestamptz"
                " AND (c.tenant, c.id) IN (SELECT k->>0, k->>1"
                " FROM jsonb_array_elements($7::jsonb) AS k)"
                " ORDER BY c.tenant, c.id", ITEM_SELECT, cs_store_filter_where,
                WANT_WHERE);
    {
        const char *p2[9] = {NULL, NULL, NULL, NULL, NULL, NULL, keys.ptr,
                             PQgetvalue(c->months, m, 0),
                             PQgetvalue(c->months, m, 1)};

        filter_params(p2, &c->f);
        c->page = PQexecParams(c->st->conn, sql.ptr, 9, NULL, p2, NULL,
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
    cs_buf_release(&sql);
    cs_buf_release(&keys);
    return 0;
fail:
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
        if (walked(c)) {
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
    PQclear(c->months);
    free(c->last_tenant);
    free(c->last_id);
    free(c);
}

int cs_store_score_count(long *out, struct cs_store *st,
                         const struct cs_score_filter *f, struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT;
    const char *params[6];
    PGresult *r;
    int ret = 0;

    filter_params(params, f);

    cs_buf_addf(&sql, "SELECT count(*) FROM conversations c%s%s",
                cs_store_filter_where, WANT_WHERE);
    r = PQexecParams(st->conn, sql.ptr, 6, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot count "
                              "conversations");
    else
        *out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    cs_buf_release(&sql);
    return ret;
}
