/* copy.c - bulk loading of conversations with the COPY protocol */
#include "store/store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"

/* Where each buffered row came from, to report a row the server refuses. */
struct row_src {
    size_t offset;      /* start of the row in `rows` */
    const char *file;
    long line;
    const char *key;    /* "tenant\x1fid", in `keys` */
};

struct cs_store_batch {
    struct cs_store *st;
    size_t max_rows;
    size_t max_bytes;
    struct cs_buf rows;     /* COPY text rows */
    struct row_src *src;
    size_t n, cap;
    /* Open-addressing set of the keys in this batch, to flush before a
     * second version of the same conversation (the later one must win). */
    char **set;
    size_t set_cap;
    struct cs_buf ids;      /* JSON array of [tenant, id] for the delete */
    struct cs_buf copy_sql; /* the COPY statement (from `columns`) */
    cs_reject_fn on_reject;
    void *ctx;
    uint64_t stored;
    long long batch_id;     /* ingest_batch of the rows being written */
    char suffix[32];        /* "\t<batch_id>\n", the rows' last column */
    size_t suffix_len;
    long long next_batch;
    int copying;            /* a COPY is open and rows are streaming */
    size_t sent;            /* bytes of `rows` already sent */
};

void cs_store_copy_text(struct cs_buf *b, const char *s, size_t n)
{
    size_t start = 0;

    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;

        switch (s[i]) {
        case '\\': rep = "\\\\"; break;
        case '\t': rep = "\\t"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        default: continue;
        }
        cs_buf_add(b, s + start, i - start);
        cs_buf_adds(b, rep);
        start = i + 1;
    }
    cs_buf_add(b, s + start, n - start);
}

/*
 * The raw text of the input line's top-level values, so that jsonb and
 * number columns copy the bytes as they came instead of re-serialising
 * them (which was half of the ingest CPU). The line was validated by
 * jansson first, so this scanner only needs to find boundaries.
 */
struct raw_spans {
    const char *p[CS_CONV_N_FIELDS];    /* by enum cs_conv_field */
    size_t n[CS_CONV_N_FIELDS];
    int plain_keys;     /* every key was one of the format's, unescaped */
};

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at the opening quote; returns just past the closing one. */
static const char *skip_string(const char *p, const char *e)
{
    for (p++; p < e && *p != '"'; p++) {
        if (*p == '\\')
            p++;
    }
    return p < e ? p + 1 : e;
}

static const char *skip_value(const char *p, const char *e)
{
    int depth = 0;

    if (p < e && *p == '"')
        return skip_string(p, e);
    if (p < e && (*p == '{' || *p == '[')) {
        while (p < e) {
            if (*p == '"') {
                p = skip_string(p, e);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return e;
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
           *p != '\t' && *p != '\r' && *p != '\n')
        p++;
    return p;
}

static void scan_raw(struct raw_spans *r, const char *line, size_t len)
{
    const char *p = line, *e = line + len;

    memset(r, 0, sizeof(*r));
    r->plain_keys = 1;
    p = skip_ws(p, e);
    if (p >= e || *p != '{') {
        r->plain_keys = 0;
        return;
    }
    p++;
    for (;;) {
        const char *k, *ke, *v, *ve;
        int f;

        p = skip_ws(p, e);
        if (p >= e || *p != '"')
            break;
        k = p + 1;
        p = skip_string(p, e);
        ke = p - 1;
        p = skip_ws(p, e);
        if (p >= e || *p != ':')
            break;
        v = skip_ws(p + 1, e);
        ve = skip_value(v, e);
        /* An escaped key is never one of the format's names as written. */
        f = memchr(k, '\\', (size_t)(ke - k)) ? -1
            : cs_conv_field_find(k, (size_t)(ke - k));
        if (f < 0) {
            r->plain_keys = 0;
        } else {
            r->p[f] = v;
            r->n[f] = (size_t)(ve - v);
        }
        p = skip_ws(ve, e);
        if (p >= e || *p != ',')
            break;
        p++;
    }
}

static void col_sep(struct cs_buf *b)
{
    cs_buf_addch(b, '\t');
}

static void col_null(struct cs_buf *b)
{
    cs_buf_adds(b, "\\N");
}

static void col_str(struct cs_buf *b, const json_t *v)
{
    if (json_is_string(v))
        cs_store_copy_text(b, json_string_value(v), json_string_length(v));
    else
        col_null(b);
}

static void col_num(struct cs_buf *b, const json_t *v,
                    const struct raw_spans *r, enum cs_conv_field f)
{
    if (!json_is_number(v))
        col_null(b);
    else if (r->p[f])
        cs_buf_add(b, r->p[f], r->n[f]);
    else
        cs_buf_addf(b, "%.17g", json_number_value(v));
}

static void col_int(struct cs_buf *b, const json_t *v)
{
    if (json_is_integer(v))
        cs_buf_addf(b, "%lld", (long long)json_integer_value(v));
    else
        col_null(b);
}

/*
 * A validated RFC 3339 timestamp. PostgreSQL reads RFC 3339 itself, so the
 * raw text goes as it came (without its quotes) when it holds no escape
 * and no leap second; otherwise it is re-formatted in UTC.
 */
static void col_time(struct cs_buf *b, const json_t *v,
                     const struct raw_spans *r, enum cs_conv_field f)
{
    int64_t us, days, secs, frac;
    char date[11];

    const char *s = json_string_value(v);

    if (!s) {
        col_null(b);
        return;
    }
    if (r->p[f] && r->n[f] > 2 && r->n[f] - 2 == json_string_length(v) &&
        !memchr(r->p[f], '\\', r->n[f]) && s[10] == 'T' && s[17] != '6') {
        cs_buf_add(b, r->p[f] + 1, r->n[f] - 2);
        return;
    }
    if (cs_parse_rfc3339(s, &us)) {
        col_null(b);
        return;
    }
    frac = us % 1000000;
    secs = us / 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    days = secs / 86400;
    if (secs % 86400 < 0)
        days--;
    secs -= days * 86400;
    cs_format_date(days, date);
    cs_buf_addf(b, "%s %02d:%02d:%02d.%06d+00", date, (int)(secs / 3600),
                (int)(secs / 60 % 60), (int)(secs % 60), (int)frac);
}

static int dump_copy_text(const char *buffer, size_t size, void *data)
{
    cs_store_copy_text(data, buffer, size);
    return 0;
}

/* A JSON value as jsonb text; JSON null and absent are SQL NULL. The raw
 * bytes are used when the scanner found them. */
static void col_json(struct cs_buf *b, const json_t *v,
                     const struct raw_spans *r, enum cs_conv_field f)
{

    if (!v || json_is_null(v)) {
        col_null(b);
        return;
    }
    if (r && r->p[f]) {
        cs_store_copy_text(b, r->p[f], r->n[f]);
        return;
    }
    /* Dumped through a callback: no string allocated by jansson, whose
     * allocator may be the ingest arena (ingest/arena.h). */
    json_dump_callback(v, dump_copy_text, b, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* A text[] literal inside COPY text: array quoting, then COPY escaping. */
static void add_array_elem(struct cs_buf *b, const char *s, size_t n)
{
    cs_buf_addch(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            cs_buf_adds(b, "\\\\\"");          /* \\" */
        else if (s[i] == '\\')
            cs_buf_adds(b, "\\\\\\\\");     /* \\\\ */
        else
            cs_store_copy_text(b, s + i, 1);
    }
    cs_buf_addch(b, '"');
}

static void col_text_array(struct cs_buf *b, const json_t *a,
                           const char *member)
{
    size_t i;
    json_t *v;

    if (!json_is_array(a) || json_array_size(a) == 0) {
        col_null(b);
        return;
    }
    cs_buf_addch(b, '{');
    json_array_foreach(a, i, v) {
        const json_t *s = member ? json_object_get(v, member) : v;

        if (i)
            cs_buf_addch(b, ',');
        add_array_elem(b, json_string_value(s), json_string_length(s));
    }
    cs_buf_addch(b, '}');
}

static void col_span_ms(struct cs_buf *b, const json_t *a)
{
    size_t i;
    json_t *v;

    if (!json_is_array(a) || json_array_size(a) == 0) {
        col_null(b);
        return;
    }
    cs_buf_addch(b, '{');
    json_array_foreach(a, i, v) {
        json_t *d = json_object_get(v, "duration_ms");

        if (i)
            cs_buf_addch(b, ',');
        if (json_is_integer(d))
            cs_buf_addf(b, "%lld", (long long)json_integer_value(d));
        else
            cs_buf_addf(b, "%.17g", json_number_value(d));
    }
    cs_buf_addch(b, '}');
}

static void col_tools(struct cs_buf *b, const json_t *a)
{
    long total = 0, ok = 0, ticket = 0, crm = 0, appt = 0;
    size_t i;
    json_t *t;

    json_array_foreach(a, i, t) {
        const char *cr = json_string_value(json_object_get(t, "creates"));

        total++;
        if (!json_is_true(json_object_get(t, "ok")))
            continue;
        ok++;
        if (!cr)
            continue;
        if (strcmp(cr, "ticket") == 0)
            ticket++;
        else if (strcmp(cr, "crm_update") == 0)
            crm++;
        else if (strcmp(cr, "appointment") == 0)
            appt++;
    }
    cs_buf_addf(b, "%ld\t%ld\t%ld\t%ld\t%ld", total, ok, ticket, crm, appt);
}

static double cost_total(const json_t *costs)
{
    const char *k;
    json_t *v;
    double sum = 0;

    json_object_foreach((json_t *)costs, k, v) {
        sum += json_number_value(v);
    }
    return sum;
}

/*
 * The offset basis content hashes have always been made from: the
 * standard one (CS_FNV1A64_BASIS) with its last digit lost. Stored hashes
 * tell which scores are stale, so changing it would re-score everything.
 */
#define CONTENT_HASH_BASIS 1469598103934665603ULL

/* Change detection only (not security): 64-bit FNV-1a of the input line,
 * which is ~10x cheaper than SHA-256 on the ingest hot path. */
static void content_hash(const char *s, size_t n, char out[17])
{
    uint64_t h = cs_fnv1a64_update(CONTENT_HASH_BASIS, s, n);

    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/*
 * The table's columns in COPY order: the one place that order is written.
 * The COPY statement's column list is made from it, and build_row writes
 * a row by walking it. `field` is the input member a column is made from;
 * time, number and JSON columns copy that member's bytes from the line as
 * they came (see scan_raw). TOOLS stands for five columns.
 */
enum col_kind {
    COL_STR, COL_TIME, COL_NUM, COL_INT, COL_JSON, COL_METADATA,
    COL_N_TURNS, COL_TOOLS, COL_SPAN_NAMES, COL_SPAN_MS, COL_COST_TOTAL,
    COL_TOPICS, COL_HASH
};

#define NO_FIELD CS_CONV_N_FIELDS

static const struct column {
    const char *names;
    enum col_kind kind;
    enum cs_conv_field field;   /* or NO_FIELD */
} columns[] = {
    {"tenant", COL_STR, CS_CONV_TENANT},
    {"id", COL_STR, CS_CONV_ID},
    {"agent", COL_STR, CS_CONV_AGENT},
    {"channel", COL_STR, CS_CONV_CHANNEL},
    {"direction", COL_STR, CS_CONV_DIRECTION},
    {"caller", COL_STR, CS_CONV_CALLER},
    {"callee", COL_STR, CS_CONV_CALLEE},
    {"started_at", COL_TIME, CS_CONV_STARTED_AT},
    {"answered_at", COL_TIME, CS_CONV_ANSWERED_AT},
    {"ended_at", COL_TIME, CS_CONV_ENDED_AT},
    {"outcome", COL_STR, CS_CONV_OUTCOME},
    {"ring_s", COL_NUM, CS_CONV_RING_S},
    {"queue_wait_s", COL_NUM, CS_CONV_QUEUE_WAIT_S},
    {"sip_error_code", COL_INT, CS_CONV_SIP_ERROR_CODE},
    {"handoff", COL_JSON, CS_CONV_HANDOFF},
    {"n_turns", COL_N_TURNS, NO_FIELD},
    {"turns", COL_JSON, CS_CONV_TURNS},
    {"tool_calls", COL_JSON, CS_CONV_TOOL_CALLS},
    {"tools_total, tools_ok, created_ticket, created_crm, created_appt",
     COL_TOOLS, CS_CONV_TOOL_CALLS},
    {"span_names", COL_SPAN_NAMES, CS_CONV_SPANS},
    {"span_ms", COL_SPAN_MS, CS_CONV_SPANS},
    {"costs", COL_JSON, CS_CONV_COSTS},
    {"cost_total", COL_COST_TOTAL, CS_CONV_COSTS},
    {"csat", COL_INT, CS_CONV_CSAT},
    {"nps", COL_INT, CS_CONV_NPS},
    {"topics", COL_TOPICS, CS_CONV_TOPICS},
    {"metrics", COL_JSON, CS_CONV_METRICS},
    {"metadata", COL_METADATA, CS_CONV_METADATA},
    {"content_hash", COL_HASH, NO_FIELD},
};

/* "COPY conversations (...) FROM STDIN", the batch column last. */
static void copy_statement(struct cs_buf *out)
{
    cs_buf_adds(out, "COPY conversations (");
    for (size_t i = 0; i < sizeof(columns) / sizeof(*columns); i++)
        cs_buf_addf(out, "%s, ", columns[i].names);
    cs_buf_adds(out, "ingest_batch) FROM STDIN");
}

/* All columns but the last (ingest_batch), which the batch appends. */
static void build_row(struct cs_buf *b, const struct cs_conv *c,
                      const char *raw, size_t raw_len)
{
    struct raw_spans r;
    char hash[17];

    scan_raw(&r, raw, raw_len);
    for (size_t i = 0; i < sizeof(columns) / sizeof(*columns); i++) {
        const struct column *col = &columns[i];
        enum cs_conv_field f = col->field;
        const json_t *v = f == NO_FIELD ? NULL
            : json_object_get(c->doc, cs_conv_field_name(f));

        if (i)
            col_sep(b);
        switch (col->kind) {
        case COL_STR:
            col_str(b, v);
            break;
        case COL_TIME:
            col_time(b, v, &r, f);
            break;
        case COL_NUM:
            col_num(b, v, &r, f);
            break;
        case COL_INT:
            col_int(b, v);
            break;
        case COL_JSON:
            col_json(b, v, &r, f);
            break;
        case COL_METADATA:
            /* Unknown fields were folded into it: raw only when none. */
            col_json(b, v, r.plain_keys ? &r : NULL, f);
            break;
        case COL_N_TURNS:
            cs_buf_addf(b, "%zu", c->n_turns);
            break;
        case COL_TOOLS:
            col_tools(b, v);
            break;
        case COL_SPAN_NAMES:
            col_text_array(b, v, "name");
            break;
        case COL_SPAN_MS:
            col_span_ms(b, v);
            break;
        case COL_COST_TOTAL:
            cs_buf_addf(b, "%.17g", cost_total(v));
            break;
        case COL_TOPICS:
            col_text_array(b, v, NULL);
            break;
        case COL_HASH:
            content_hash(raw, raw_len, hash);
            cs_buf_adds(b, hash);
            break;
        }
    }
}

static void set_suffix(struct cs_store_batch *b)
{
    int n = snprintf(b->suffix, sizeof(b->suffix), "\t%lld\n", b->batch_id);

    b->suffix_len = n > 0 ? (size_t)n : 0;
}

int cs_store_batch_new(struct cs_store_batch **out, struct cs_store *st,
                       size_t max_rows, cs_reject_fn on_reject, void *ctx)
{
    struct cs_store_batch *b = cs_xcalloc(1, sizeof(*b));

    b->st = st;
    b->max_rows = max_rows ? max_rows : 5000;
    b->max_bytes = 32u << 20;
    cs_buf_init(&b->rows);
    cs_buf_init(&b->ids);
    cs_buf_init(&b->copy_sql);
    copy_statement(&b->copy_sql);
    b->on_reject = on_reject;
    b->ctx = ctx;
    b->set_cap = 1;
    while (b->set_cap < b->max_rows * 2)
        b->set_cap <<= 1;
    b->set = cs_xcalloc(b->set_cap, sizeof(*b->set));
    /* Unique enough across processes: microseconds since the epoch, then
     * +1 per batch. Only "differs from older rows" matters. */
    {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        b->batch_id = (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
        b->next_batch = b->batch_id + 1;
    }
    set_suffix(b);
    *out = b;
    return 0;
}

/* Returns 1 if `key` was already in the set, else inserts it (owned). */
static int set_insert(struct cs_store_batch *b, char *key, char **stored)
{
    size_t i = cs_fnv1a64(key, strlen(key)) & (b->set_cap - 1);

    while (b->set[i]) {
        if (strcmp(b->set[i], key) == 0)
            return 1;
        i = (i + 1) & (b->set_cap - 1);
    }
    b->set[i] = key;
    *stored = key;
    return 0;
}

static void set_clear(struct cs_store_batch *b)
{
    for (size_t i = 0; i < b->set_cap; i++) {
        free(b->set[i]);
        b->set[i] = NULL;
    }
}

static int dump_append(const char *buffer, size_t size, void *data)
{
    cs_buf_add(data, buffer, size);
    return 0;
}

/* Dumped through a callback: no string allocated by jansson, whose
 * allocator may be the ingest arena (ingest/arena.h). */
void cs_store_json_str(struct cs_buf *b, const char *s)
{
    json_t *j = json_string(s);

    json_dump_callback(j, dump_append, b, JSON_ENCODE_ANY);
    json_decref(j);
}

/* The [tenant, id] pairs of the batch as JSON, for the delete. */
static void rebuild_ids(struct cs_store_batch *b)
{
    cs_buf_reset(&b->ids);
    cs_buf_addch(&b->ids, '[');
    for (size_t i = 0; i < b->n; i++) {
        const char *k = b->src[i].key, *sep = strchr(k, '\x1f');
        char *tenant = cs_xstrndup(k, (size_t)(sep - k));

        cs_buf_adds(&b->ids, i ? ",[" : "[");
        cs_store_json_str(&b->ids, tenant);
        cs_buf_addch(&b->ids, ',');
        cs_store_json_str(&b->ids, sep + 1);
        cs_buf_addch(&b->ids, ']');
        free(tenant);
    }
    cs_buf_addch(&b->ids, ']');
}

/*
 * How a batch is written. The primary key is DEFERRABLE INITIALLY
 * DEFERRED, so rows can stream into an open COPY while the next lines are
 * still being parsed (client and server work at the same time); at the end
 * of the batch the older versions of the same conversations are deleted
 * and the transaction commits, which is when the key is checked.
 */
static int begin_copy(struct cs_store_batch *b, struct cs_err *err)
{
    PGresult *res;
    int ret;

    ret = cs_store_exec(b->st, "BEGIN", err);
    if (ret)
        return ret;
    res = PQexec(b->st->conn, b->copy_sql.ptr);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        ret = cs_store_pg_err(err, b->st->conn, res, "cannot start COPY");
        PQclear(res);
        PQclear(PQexec(b->st->conn, "ROLLBACK"));
        return ret;
    }
    PQclear(res);
    b->copying = 1;
    b->sent = 0;
    return 0;
}

/* Sends the rows not sent yet. */
static int send_rows(struct cs_store_batch *b, struct cs_err *err)
{
    while (b->sent < b->rows.len) {
        size_t n = b->rows.len - b->sent;

        if (n > (1u << 20))
            n = 1u << 20;
        if (PQputCopyData(b->st->conn, b->rows.ptr + b->sent, (int)n) != 1)
            return cs_store_pg_err(err, b->st->conn, NULL, "COPY failed");
        b->sent += n;
    }
    return 0;
}

/* The row number COPY complains about ("COPY conversations, line 42"). */
static long copy_error_line(PGresult *res)
{
    const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
    const char *p = ctx ? strstr(ctx, ", line ") : NULL;

    return p ? strtol(p + 7, NULL, 10) : 0;
}

/* Ends the COPY, replaces older versions and commits. On a refused row
 * sets *bad_row (1-based). Always leaves no transaction open. */
static int finish_copy(struct cs_store_batch *b, int replace, long *bad_row,
                       int *conflict, struct cs_err *err)
{
    PGconn *conn = b->st->conn;
    PGresult *res = NULL;
    char batch[32];
    const char *params[2] = {NULL, batch};
    int ret = send_rows(b, err);

    *bad_row = 0;
    *conflict = 0;
    b->copying = 0;
    if (PQputCopyEnd(conn, ret ? "aborted" : NULL) != 1 && !ret)
        ret = cs_store_pg_err(err, conn, NULL, "COPY failed");
    res = PQgetResult(conn);
    if (!ret && PQresultStatus(res) != PGRES_COMMAND_OK) {
        *bad_row = copy_error_line(res);
        ret = cs_store_pg_err(err, conn, res, "COPY failed");
    }
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
    if (ret)
        goto done;
    if (!replace)
        goto commit;
    rebuild_ids(b);
    params[0] = b->ids.ptr;
    snprintf(batch, sizeof(batch), "%lld", b->batch_id);
    res = PQexecParams(conn, "DELETE FROM conversations c USING "
                       "jsonb_array_elements($1::jsonb) AS d(k) "
                       "WHERE c.tenant = d.k->>0 AND c.id = d.k->>1 "
                       "AND c.ingest_batch <> $2::bigint",
                       2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, conn, res, "cannot replace "
                              "conversations");
    PQclear(res);
    if (ret)
        goto done;
commit:
    /* The deferred key is checked here: a conflict means some of these
     * conversations were stored before, and the caller replaces them. */
    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        *conflict = state && strcmp(state, "23505") == 0;
        ret = cs_store_pg_err(err, conn, res, "COMMIT failed");
    }
    PQclear(res);
    return ret;
done:
    PQclear(PQexec(conn, "ROLLBACK"));
    return ret;
}

/* Drops row i (0-based) from the buffer. */
static void drop_row(struct cs_store_batch *b, size_t i)
{
    size_t start = b->src[i].offset;
    size_t end = i + 1 < b->n ? b->src[i + 1].offset : b->rows.len;
    size_t len = end - start;

    memmove(b->rows.ptr + start, b->rows.ptr + end, b->rows.len - end);
    b->rows.len -= len;
    b->rows.ptr[b->rows.len] = '\0';
    memmove(&b->src[i], &b->src[i + 1], (b->n - i - 1) * sizeof(*b->src));
    b->n--;
    for (size_t j = i; j < b->n; j++)
        b->src[j].offset -= len;
}

/*
 * Writing new conversations is the common case, so a batch first commits
 * without looking for older versions; only when the commit finds one (the
 * deferred key) is it written again with the delete. Re-ingesting costs
 * twice, first ingests nothing extra.
 */
int cs_store_batch_flush(struct cs_store_batch *b, struct cs_err *err)
{
    int ret = 0, replace = 0, conflict;
    long bad;

    if (!b || (b->n == 0 && !b->copying))
        return 0;
    if (!b->copying)
        ret = begin_copy(b, err);
    while (!ret) {
        ret = finish_copy(b, replace, &bad, &conflict, err);
        if (ret == 0) {
            b->stored += b->n;
            break;
        }
        if (conflict && !replace) {
            replace = 1;
            cs_err_clear(err);
            ret = begin_copy(b, err);
            continue;
        }
        if (bad < 1 || (size_t)bad > b->n)
            break;
        /* The server refused one row: report it, retry without it. */
        if (b->on_reject)
            b->on_reject(b->ctx, b->src[bad - 1].file, b->src[bad - 1].line,
                         err ? err->msg : "refused by the database");
        drop_row(b, (size_t)bad - 1);
        cs_err_clear(err);
        if (b->n == 0)
            break;
        ret = begin_copy(b, err);
    }
    cs_buf_reset(&b->rows);
    b->n = 0;
    b->sent = 0;
    b->batch_id = b->next_batch++;
    set_suffix(b);
    set_clear(b);
    return ret;
}

void cs_store_row_build(struct cs_buf *text, struct cs_buf *key,
                        const struct cs_conv *c, const char *raw,
                        size_t raw_len)
{
    cs_buf_reset(key);
    cs_buf_adds(key, c->tenant);
    cs_buf_addch(key, '\x1f');
    cs_buf_adds(key, c->id);
    cs_buf_reset(text);
    /* A row is about as long as its line: no regrowth once warm. */
    cs_buf_grow(text, raw_len + raw_len / 4 + 256);
    build_row(text, c, raw, raw_len);
}

int cs_store_batch_add_row(struct cs_store_batch *b, const char *key,
                           const char *text, size_t len,
                           const char *src_file, long src_line,
                           struct cs_err *err)
{
    char *mine = cs_xstrdup(key), *stored = NULL;
    int ret;

    if (set_insert(b, mine, &stored)) {
        /* Same conversation twice in one batch: write the first, so the
         * second replaces it. */
        ret = cs_store_batch_flush(b, err);
        if (ret) {
            free(mine);
            return ret;
        }
        set_insert(b, mine, &stored);
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->src = cs_xrealloc(b->src, b->cap * sizeof(*b->src));
    }
    b->src[b->n].offset = b->rows.len;
    b->src[b->n].file = src_file;
    b->src[b->n].line = src_line;
    b->src[b->n].key = stored;
    b->n++;
    cs_buf_add(&b->rows, text, len);
    cs_buf_add(&b->rows, b->suffix, b->suffix_len);
    if (!b->copying) {
        ret = begin_copy(b, err);
        if (ret)
            return ret;
    }
    /* Stream in small chunks so the server parses while we do. */
    if (b->rows.len - b->sent >= (64u << 10)) {
        ret = send_rows(b, err);
        if (ret)
            return ret;
    }
    if (b->n >= b->max_rows || b->rows.len >= b->max_bytes)
        return cs_store_batch_flush(b, err);
    return 0;
}

uint64_t cs_store_batch_stored(const struct cs_store_batch *b)
{
    return b->stored;
}

void cs_store_batch_free(struct cs_store_batch *b)
{
    if (!b)
        return;
    set_clear(b);
    free(b->set);
    free(b->src);
    cs_buf_release(&b->rows);
    cs_buf_release(&b->ids);
    cs_buf_release(&b->copy_sql);
    free(b);
}
