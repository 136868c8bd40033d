/* row.c - a conversation as a COPY text row of the conversations table */
#include "store/row.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/hash.h"
#include "base/parse.h"
#include "model/scan.h"

/* The index of the first byte from `i` on that COPY escaping may change:
 * a backslash or a control character (only tab, newline and carriage
 * return are escaped, but they are rare enough to look at one by one). */
static size_t next_special(const char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i bslash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);

    for (; n - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, bslash),
                                 _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
        int bits = _mm_movemask_epi8(m);

        if (bits)
            return i + (size_t)__builtin_ctz((unsigned)bits);
    }
#endif
    for (; i < n; i++) {
        if (s[i] == '\\' || (unsigned char)s[i] <= 0x1f)
            break;
    }
    return i;
}

void cs_store_copy_text(struct cs_buf *b, const char *s, size_t n)
{
    size_t start = 0, i = 0;

    for (;;) {
        const char *rep;

        i = next_special(s, i, n);
        if (i == n)
            break;
        switch (s[i]) {
        case '\\': rep = "\\\\"; break;
        case '\t': rep = "\\t"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        default: i++; continue;
        }
        cs_buf_add(b, s + start, i - start);
        cs_buf_add(b, rep, 2);
        start = ++i;
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

/* A text[] element inside COPY text: array quoting, then COPY escaping. */
static void elem_text(struct cs_buf *b, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

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

static void elem_number(struct cs_buf *b, const json_t *v)
{
    if (json_is_integer(v))
        cs_buf_addf(b, "%lld", (long long)json_integer_value(v));
    else
        cs_buf_addf(b, "%.17g", json_number_value(v));
}

/* An SQL array of one element per item of `a` (the item's `member`, or the
 * item itself when NULL); absent or empty is SQL NULL. */
static void col_array(struct cs_buf *b, const json_t *a, const char *member,
                      void (*elem)(struct cs_buf *, const json_t *))
{
    size_t i;
    json_t *v;

    if (!json_is_array(a) || json_array_size(a) == 0) {
        col_null(b);
        return;
    }
    cs_buf_addch(b, '{');
    json_array_foreach(a, i, v) {
        if (i)
            cs_buf_addch(b, ',');
        elem(b, member ? json_object_get(v, member) : v);
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

#define N_ENTRIES (sizeof(columns) / sizeof(*columns))

/* The batch column goes last: the batch appends it to each row. */
void cs_store_row_copy_sql(struct cs_buf *out)
{
    cs_buf_adds(out, "COPY conversations (");
    for (size_t i = 0; i < N_ENTRIES; i++)
        cs_buf_addf(out, "%s, ", columns[i].names);
    cs_buf_adds(out, "ingest_batch) FROM STDIN");
}

size_t cs_store_row_columns(void)
{
    size_t n = 0;

    for (size_t i = 0; i < N_ENTRIES; i++) {
        n++;
        for (const char *p = columns[i].names; *p; p++)
            n += *p == ',';
    }
    return n;
}

size_t cs_store_row_started_col(void)
{
    size_t n = 0;

    for (size_t i = 0; i < N_ENTRIES; i++) {
        if (strcmp(columns[i].names, "started_at") == 0)
            break;
        n++;
        for (const char *p = columns[i].names; *p; p++)
            n += *p == ',';
    }
    return n;
}

/* All columns but the last (ingest_batch), which the batch appends. */
static void build_row(struct cs_buf *b, const struct cs_conv *c,
                      const char *raw, size_t raw_len)
{
    struct raw_spans r;
    char hash[17];

    scan_raw(&r, raw, raw_len);
    for (size_t i = 0; i < N_ENTRIES; i++) {
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
            col_array(b, v, "name", elem_text);
            break;
        case COL_SPAN_MS:
            col_array(b, v, "duration_ms", elem_number);
            break;
        case COL_COST_TOTAL:
            cs_buf_addf(b, "%.17g", cost_total(v));
            break;
        case COL_TOPICS:
            col_array(b, v, NULL, elem_text);
            break;
        case COL_HASH:
            content_hash(raw, raw_len, hash);
            cs_buf_adds(b, hash);
            break;
        }
    }
}

/* The fast path's row, column by column the same bytes as build_row's
 * (tests/fuzz/fuzz_scan.c compares them). */
static void sv_str(struct cs_buf *b, const struct cs_scan_val *v,
                   const char *dflt)
{
    const char *t;
    size_t n;

    if (v->type == CS_SCAN_STRING) {
        t = cs_scan_str(v, &n);
        cs_store_copy_text(b, t, n);
    } else if (dflt) {
        cs_buf_adds(b, dflt);
    } else {
        col_null(b);
    }
}

/* The text of a value (a time without its quotes), or \N for null and
 * absent. Strings here hold no escape, so only JSON needs COPY escaping. */
static void sv_raw(struct cs_buf *b, const struct cs_scan_val *v)
{
    switch (v->type) {
    case CS_SCAN_ABSENT:
    case CS_SCAN_NULL:
        col_null(b);
        break;
    case CS_SCAN_STRING:
        cs_buf_add(b, v->p + 1, v->n - 2);
        break;
    case CS_SCAN_ARRAY:
    case CS_SCAN_OBJECT:
        cs_store_copy_text(b, v->p, v->n);
        break;
    default:
        cs_buf_add(b, v->p, v->n);
        break;
    }
}

/* A text[] element: the string holds no escape, so no quote, backslash or
 * control character either, and array quoting leaves it as it is. */
static void sv_text_elem(struct cs_buf *b, const struct cs_scan_val *v)
{
    const char *t;
    size_t n;

    t = cs_scan_str(v, &n);
    cs_buf_addch(b, '"');
    cs_buf_add(b, t, n);
    cs_buf_addch(b, '"');
}

/* What cs_conv_from_json's set_default fills in for an absent or null
 * string field; NULL when the column is then SQL NULL. */
static const char *default_of(enum cs_conv_field f, size_t n_turns)
{
    switch (f) {
    case CS_CONV_TENANT: return "default";
    case CS_CONV_CHANNEL: return "voice";
    case CS_CONV_DIRECTION: return "inbound";
    case CS_CONV_OUTCOME: return n_turns ? "answered" : "no_answer";
    default: return NULL;
    }
}

static void build_row_scan(struct cs_buf *b, const struct cs_scan *s,
                           const char *raw, size_t raw_len)
{
    char hash[17];

    for (size_t i = 0; i < N_ENTRIES; i++) {
        const struct column *col = &columns[i];
        const struct cs_scan_val *v = col->field == NO_FIELD ? NULL
                                      : &s->v[col->field];

        if (i)
            col_sep(b);
        switch (col->kind) {
        case COL_STR:
            sv_str(b, v, default_of(col->field, s->n_turns));
            break;
        case COL_TIME:
        case COL_NUM:
        case COL_INT:
        case COL_JSON:
        case COL_METADATA:
            sv_raw(b, v);
            break;
        case COL_N_TURNS:
            cs_buf_addf(b, "%zu", s->n_turns);
            break;
        case COL_TOOLS:
            cs_buf_addf(b, "%ld\t%ld\t%ld\t%ld\t%ld", s->tools_total,
                        s->tools_ok, s->created[0], s->created[1],
                        s->created[2]);
            break;
        case COL_SPAN_NAMES:
        case COL_SPAN_MS:
            if (s->n_spans == 0) {
                col_null(b);
                break;
            }
            cs_buf_addch(b, '{');
            for (size_t k = 0; k < s->n_spans; k++) {
                const struct cs_scan_span *sp = &s->spans[k];

                if (k)
                    cs_buf_addch(b, ',');
                if (col->kind == COL_SPAN_NAMES)
                    sv_text_elem(b, &sp->name);
                else if (sp->ms.type == CS_SCAN_INT)
                    cs_buf_add(b, sp->ms.p, sp->ms.n);
                else
                    cs_buf_addf(b, "%.17g", sp->ms_value);
            }
            cs_buf_addch(b, '}');
            break;
        case COL_COST_TOTAL:
            cs_buf_addf(b, "%.17g", s->cost_total);
            break;
        case COL_TOPICS:
            if (s->n_topics == 0) {
                col_null(b);
                break;
            }
            cs_buf_addch(b, '{');
            for (size_t k = 0; k < s->n_topics; k++) {
                if (k)
                    cs_buf_addch(b, ',');
                sv_text_elem(b, &s->topics[k]);
            }
            cs_buf_addch(b, '}');
            break;
        case COL_HASH:
            content_hash(raw, raw_len, hash);
            cs_buf_adds(b, hash);
            break;
        }
    }
}

void cs_store_row_build_scan(struct cs_buf *text, struct cs_buf *key,
                             const struct cs_scan *s, const char *raw,
                             size_t raw_len)
{
    const char *t;
    size_t n;

    cs_buf_reset(key);
    if (s->v[CS_CONV_TENANT].type == CS_SCAN_STRING) {
        t = cs_scan_str(&s->v[CS_CONV_TENANT], &n);
        cs_buf_add(key, t, n);
    } else {
        cs_buf_adds(key, "default");
    }
    cs_buf_addch(key, '\x1f');
    t = cs_scan_str(&s->v[CS_CONV_ID], &n);
    cs_buf_add(key, t, n);
    cs_buf_reset(text);
    cs_buf_grow(text, raw_len + raw_len / 4 + 256);
    build_row_scan(text, s, raw, raw_len);
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


int cs_store_row_from_line(struct cs_buf *text, struct cs_buf *key,
                           const char *line, size_t len, struct cs_err *err)
{
    struct cs_conv *c = NULL;
    struct cs_scan s;
    int ret;

    cs_buf_reset(text);
    cs_buf_reset(key);
    cs_scan_init(&s);
    ret = cs_scan_line(&s, line, len);
    if (ret == 0)
        cs_store_row_build_scan(text, key, &s, line, len);
    cs_scan_release(&s);
    if (ret == 0)
        return 0;
    ret = cs_conv_from_line(&c, line, len, err);
    if (ret)
        return ret;
    cs_store_row_build(text, key, c, line, len);
    cs_conv_free(c);
    return 0;
}
