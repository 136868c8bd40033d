/* results.c - evaluation results: writing, exporting, reading back */
#include "store/results.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/fmt.h"
#include "base/mem.h"
#include "store/row.h"
#include "store/store_internal.h"

struct cs_result_writer {
    struct cs_store *st;
    struct cs_redact *rd;
    size_t batch_rows;
    size_t n;
    struct cs_buf rows;     /* COPY text */
    struct cs_buf keys;     /* JSON [[tenant, id, metric], ...] */
    size_t n_keys;
    struct cs_buf clean;    /* one redacted text */
    uint64_t since_analyze;
    uint64_t committed;
    uint64_t in_doubt;
    uint64_t rng;           /* jitter of the retry waits (xorshift64) */
};

#define RESULT_COLUMNS                                                     \
    "tenant, conversation_id, metric, rubric_version, evaluator, value, "  \
    "confidence, evidence, rationale, tokens_in, tokens_out, "             \
    "cached_tokens, cost, content_hash, started_at"

void cs_store_results_new(struct cs_result_writer **out, struct cs_store *st,
                          size_t batch_rows, struct cs_redact *rd)
{
    struct cs_result_writer *w = cs_xcalloc(1, sizeof(*w));

    assert(rd);
    w->st = st;
    w->rd = rd;
    w->batch_rows = batch_rows ? batch_rows : 2000;
    cs_buf_init(&w->rows);
    cs_buf_init(&w->keys);
    cs_buf_init(&w->clean);
    {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        w->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
                 ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
    }
    *out = w;
}

static void copy_str(struct cs_buf *b, const char *s)
{
    if (s)
        cs_store_copy_text(b, s, strlen(s));
    else
        cs_buf_adds(b, "\\N");
}

/* Copies `s` (may be NULL) as the redactor leaves it. */
static void copy_redacted(struct cs_result_writer *w, const char *s)
{
    if (!s) {
        copy_str(&w->rows, NULL);
        return;
    }
    cs_buf_reset(&w->clean);
    if (cs_redact_apply(&w->clean, NULL, w->rd, s, strlen(s), NULL) < 0) {
        cs_buf_reset(&w->clean);
        cs_buf_adds(&w->clean, CS_STORE_REDACTION_FAILED);
    }
    cs_store_copy_text(&w->rows, w->clean.ptr, w->clean.len);
}

/* Adds [tenant, id, metric, started_at] to the keys whose current row
 * becomes history at the next flush (started_at: the conversation's,
 * which its results carry, so that each key is looked up in its month
 * only). */
static void add_key(struct cs_result_writer *w, const char *tenant,
                    const char *conversation_id, const char *metric,
                    const char *started_at)
{
    cs_buf_adds(&w->keys, w->n_keys ? ",[" : "[[");
    cs_store_json_str(&w->keys, tenant);
    cs_buf_addch(&w->keys, ',');
    cs_store_json_str(&w->keys, conversation_id);
    cs_buf_addch(&w->keys, ',');
    cs_store_json_str(&w->keys, metric);
    cs_buf_addch(&w->keys, ',');
    cs_store_json_str(&w->keys, started_at);
    cs_buf_addch(&w->keys, ']');
    w->n_keys++;
}

int cs_store_results_add(struct cs_result_writer *w,
                         const struct cs_result_row *r, struct cs_err *err)
{
    struct cs_buf *b = &w->rows, vtext = CS_BUF_INIT;
    char *value;

    /* Reals in their shortest exact form (a scorecard's 83.3, not
     * 83.299999999999997). */
    cs_fmt_json(&vtext, r->value, JSON_ENCODE_ANY | JSON_COMPACT);
    value = cs_buf_detach(&vtext, NULL);

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
    copy_redacted(w, r->evidence);
    cs_buf_addch(b, '\t');
    copy_redacted(w, r->rationale);
    cs_buf_addf(b, "\t%ld\t%ld\t%ld\t%.10g\t", r->tokens_in, r->tokens_out,
                r->cached_tokens, r->cost);
    copy_str(b, r->content_hash);
    cs_buf_addch(b, '\t');
    copy_str(b, r->started_at);
    cs_buf_addch(b, '\n');
    free(value);

    /* Only rows that replace a current one need the update (none on a
     * first run): the update's join was the slow part of big runs. */
    if (r->replaces)
        add_key(w, r->tenant, r->conversation_id, r->metric,
                r->started_at);
    w->n++;
    if (w->n >= w->batch_rows)
        return cs_store_results_flush(w, err);
    return 0;
}

int cs_store_results_retire(struct cs_result_writer *w, const char *tenant,
                            const char *conversation_id,
                            const char *started_at, const char *metric,
                            struct cs_err *err)
{
    add_key(w, tenant, conversation_id, metric, started_at);
    if (w->n_keys >= w->batch_rows)
        return cs_store_results_flush(w, err);
    return 0;
}

/* The months of `results` whose rows changed since their last ANALYZE
 * are at least half of what they hold (as the server's statistics count
 * them, which lag by up to a second). */
static const char ANALYZE_GROWN[] =
    "DO $$ DECLARE t regclass; BEGIN"
    " FOR t IN SELECT s.relid::regclass FROM pg_stat_user_tables s"
    "  JOIN cs_partitions() p ON p.res = s.relid"
    "  WHERE s.n_mod_since_analyze >= greatest(1000, s.n_live_tup / 2)"
    " LOOP EXECUTE format('ANALYZE %s', t); END LOOP; END $$";

/* One try at writing the batch in a transaction; on a failed statement
 * `state` holds its SQLSTATE ("" otherwise). */
static int write_batch(struct cs_result_writer *w, char state[6],
                       struct cs_err *err)
{
    PGconn *conn = w->st->conn;
    PGresult *res = NULL;
    const char *params[1];
    int ret;

    state[0] = '\0';
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
                       "r.conversation_id = k.v->>1 AND r.metric = k.v->>2 "
                       "AND r.started_at = (k.v->>3)::timestamptz",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        ret = cs_store_pg_err(err, conn, res, "cannot update results");
        goto rollback;
    }
    PQclear(res);
    res = NULL;
copy:
    if (!w->n)
        goto commit;
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
commit:
    ret = cs_store_exec(w->st, "COMMIT", err);
    goto out;
rollback:
    if (res && PQresultErrorField(res, PG_DIAG_SQLSTATE))
        snprintf(state, 6, "%s", PQresultErrorField(res, PG_DIAG_SQLSTATE));
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
    PQclear(PQexec(conn, "ROLLBACK"));
out:
    return ret;
}

/*
 * Writes what is buffered. Writers of results and of conversations meet
 * on the KPI rollups' rows (store/rollup.c: two scoring processes sharing
 * a run, or scoring while conversations are re-ingested), each statement
 * locking them in order but a transaction holding two statements' locks,
 * so PostgreSQL may end one with a deadlock: the batch is then written
 * again, as ingest's are (at most 8 tries, a random wait up to 50 ms
 * doubling to at most 2 s).
 */
int cs_store_results_flush(struct cs_result_writer *w, struct cs_err *err)
{
    char state[6] = "";
    long cap = 50;
    int ret;

    if (!w || (w->n == 0 && w->n_keys == 0))
        return 0;
    cs_buf_addch(&w->keys, ']');
    for (int tries = 1;; tries++) {
        struct timespec ts;
        long ms;

        ret = write_batch(w, state, err);
        if (!ret || tries == 8 || (strcmp(state, "40P01") != 0 &&
                                   strcmp(state, "40001") != 0))
            break;
        w->rng ^= w->rng << 13;
        w->rng ^= w->rng >> 7;
        w->rng ^= w->rng << 17;
        ms = (long)(w->rng % (uint64_t)(cap + 1));
        cap = cap * 2 > 2000 ? 2000 : cap * 2;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000L;
        nanosleep(&ts, NULL);
        cs_err_clear(err);
    }
    if (!ret)
        w->committed += w->n;
    else if (PQstatus(w->st->conn) == CONNECTION_BAD)
        w->in_doubt += w->n;
    /* Fresh statistics while the table grows: planned against a nearly
     * empty `results`, the per-conversation lookups turn into scans and a
     * big run slows down quadratically until autovacuum catches up. Only
     * the months that have at least doubled since their statistics are
     * analyzed: all of `results` (every month and the parent) took 0.94 s
     * at 60,000 conversations over 12 months, 7 times in the run. */
    w->since_analyze += w->n;
    if (!ret && w->since_analyze >= 50000) {
        w->since_analyze = 0;
        ret = cs_store_exec(w->st, ANALYZE_GROWN, err);
    }
    cs_buf_reset(&w->rows);
    cs_buf_reset(&w->keys);
    w->n = 0;
    w->n_keys = 0;
    return ret;
}

uint64_t cs_store_results_committed(const struct cs_result_writer *w)
{
    return w ? w->committed : 0;
}

uint64_t cs_store_results_in_doubt(const struct cs_result_writer *w)
{
    return w ? w->in_doubt : 0;
}

void cs_store_results_free(struct cs_result_writer *w)
{
    if (!w)
        return;
    cs_buf_release(&w->rows);
    cs_buf_release(&w->keys);
    cs_buf_release(&w->clean);
    free(w);
}

/* A CSV cell; `text` for a value from data (ids, tenants, metric names,
 * labels, evidence, rationale), which cs_csv_text keeps from being read
 * as a formula ("=...", "+...", "-...", "@..." get a leading "'"). The
 * numbers and our own words are written as they are, so a negative cost
 * stays a number. */
static void csv_cell(FILE *out, const char *s, int text, int last)
{
    if (text)
        cs_csv_text(out, s);
    else
        cs_csv_field(out, s);
    fputc(last ? '\n' : ',', out);
}

/* What an export column holds, for its JSON value. */
enum export_kind { EX_TEXT, EX_JSON, EX_REAL, EX_INT, EX_BOOL };

/* The export's columns, in the order of its SELECT. */
static const struct {
    const char *name;
    enum export_kind kind;
} export_cols[] = {
    {"conversation_id", EX_TEXT}, {"tenant", EX_TEXT}, {"metric", EX_TEXT},
    {"rubric_version", EX_TEXT},  {"value", EX_JSON},
    {"confidence", EX_REAL},      {"evidence", EX_TEXT},
    {"rationale", EX_TEXT},       {"evaluator", EX_TEXT},
    {"tokens_in", EX_INT},        {"tokens_out", EX_INT},
    {"cached_tokens", EX_INT},    {"cost", EX_REAL},
    {"evaluated_at", EX_TEXT},    {"current", EX_BOOL},
};
#define EXPORT_COLUMNS                                                    \
    ((int)(sizeof(export_cols) / sizeof(export_cols[0])))

/* Writes row `i` of `r` as one JSON line or one CSV record. A JSON line
 * is dumped into `line` (reused) and written at once: jansson's
 * json_dumpf writes token by token, which was a fifth of the time. */
static void export_row(FILE *out, struct cs_buf *line, const PGresult *r,
                       int i, int csv)
{
    json_t *o = csv ? NULL : json_object();

    for (int c = 0; c < EXPORT_COLUMNS; c++) {
        const char *v = PQgetvalue(r, i, c);
        int null = PQgetisnull(r, i, c);
        json_t *jv;

        if (null)
            jv = json_null();
        else if (export_cols[c].kind == EX_JSON)
            jv = json_loads(v, JSON_DECODE_ANY, NULL);
        else if (export_cols[c].kind == EX_REAL)
            jv = json_real(strtod(v, NULL));
        else if (export_cols[c].kind == EX_INT)
            jv = json_integer(strtol(v, NULL, 10));
        else if (export_cols[c].kind == EX_BOOL)
            jv = json_boolean(*v == 't');
        else
            jv = json_string(v);
        if (csv) {
            char *t = null ? NULL
                           : json_is_string(jv)
                                 ? cs_xstrdup(json_string_value(jv))
                                 : json_dumps(jv, JSON_ENCODE_ANY);

            csv_cell(out, t ? t : "", json_is_string(jv),
                     c == EXPORT_COLUMNS - 1);
            free(t);
            json_decref(jv);
        } else {
            json_object_set_new(o, export_cols[c].name,
                                jv ? jv : json_null());
        }
    }
    if (!csv) {
        size_t n = json_dumpb(o, line->ptr, line->cap, JSON_COMPACT |
                              JSON_PRESERVE_ORDER);

        if (n >= line->cap) {
            cs_buf_grow(line, n + 1);
            n = json_dumpb(o, line->ptr, line->cap, JSON_COMPACT |
                           JSON_PRESERVE_ORDER);
        }
        line->ptr[n] = '\n';
        fwrite(line->ptr, 1, n + 1, out);
    }
    json_decref(o);
}

struct export {
    FILE *out;
    int csv;
    struct cs_buf line;
};

/* Writes one page of the export (a cs_store_page_fn). */
static int export_page(void *ctx, const PGresult *rows, struct cs_err *err)
{
    struct export *x = ctx;

    for (int i = 0; i < PQntuples(rows); i++)
        export_row(x->out, &x->line, rows, i, x->csv);
    if (ferror(x->out))
        return cs_err_set(err, CS_EIO, "cannot write the export");
    return 0;
}

/*
 * The rows are read a page at a time (cs_store_each_page), each page
 * written before the next is fetched, so memory does not grow with the
 * number of results (the server sorts them), in a read-only transaction.
 */
#define EXPORT_PAGE 2000

int cs_store_results_export(struct cs_store *st,
                            const struct cs_score_filter *f,
                            char *const *metrics, int history, int csv,
                            FILE *out, struct cs_err *err)
{
    struct cs_buf sql = CS_BUF_INIT, mlist = CS_BUF_INIT;
    struct export x;
    const char *params[5];
    int ret;

    x.out = out;
    x.csv = csv;
    cs_buf_init(&x.line);
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
                " r.cached_tokens, r.cost, to_char(r.evaluated_at AT TIME ZONE 'UTC',"
                " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), r.current"
                " FROM results r JOIN conversations c ON c.tenant = r.tenant"
                " AND c.id = r.conversation_id"
                " AND r.started_at = c.started_at%s"
                " AND (jsonb_array_length($4::jsonb) = 0"
                "      OR $4::jsonb ? r.metric)"
                " AND ($5 = '1' OR r.current)"
                " ORDER BY r.tenant, r.conversation_id, r.metric, r.id",
                cs_store_filter_where);
    if (csv) {
        for (int c = 0; c < EXPORT_COLUMNS; c++)
            csv_cell(out, export_cols[c].name, 0,
                     c == EXPORT_COLUMNS - 1);
    }
    ret = cs_store_exec(st, "BEGIN READ ONLY", err);
    if (!ret)
        ret = cs_store_each_page(st, sql.ptr, 5, params, EXPORT_PAGE,
                                 export_page, &x, "cannot export results",
                                 err);
    if (!ret)
        ret = cs_store_exec(st, "COMMIT", err);
    else
        PQclear(PQexec(st->conn, "ROLLBACK"));
    cs_buf_release(&sql);
    cs_buf_release(&mlist);
    cs_buf_release(&x.line);
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
    PGresult *r = NULL;
    int rollups, ret;

    ret = cs_store_rollups_fit(&rollups, st, params, err);
    if (ret)
        goto done;
    if (rollups)
        cs_buf_addf(&sql, "SELECT %s, metric, value, sum(n)"
                    " FROM kpi_result_rollup" CS_STORE_ROLLUP_WHERE
                    " AND ($5 = '0' OR answered)"
                    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                    cs_store_rollup_group_expr(by));
    else
        cs_buf_addf(&sql, "SELECT %s, r.metric, r.value::text, count(*)"
                    " FROM results r JOIN conversations c"
                    " ON c.tenant = r.tenant AND c.id = r.conversation_id"
                    " AND r.started_at = c.started_at"
                    " WHERE r.current AND c.tenant = $1"
                    " AND c.started_at >= ($2::date::timestamp"
                    "   AT TIME ZONE $4)"
                    " AND c.started_at < ($3::date::timestamp"
                    "   AT TIME ZONE $4)"
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
