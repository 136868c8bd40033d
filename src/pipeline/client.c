/* client.c - the client workbook of one tenant and period */
#include "pipeline/client.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "kpi/kpi.h"
#include "report/conv_rows.h"
#include "report/render.h"
#include "redact/redact.h"
#include "store/conv_rows.h"

/* The metric whose result is the Sentiment column (as kpi/ reads it). */
static const char sentiment_metric[] = "customer_sentiment";

/* The row source of the Conversations sheet: the store's rows, with the
 * handoff reason redacted and metric values typed. */
struct source {
    struct cs_store *st;
    const char *tenant, *from, *to, *tz_sql;
    const char **keys;      /* the sentiment metric, then the columns */
    struct cs_redact *rd;
    struct cs_buf reason;
    struct cs_cell *cells;  /* one per column */
    struct cs_buf *texts;   /* one per column: values that are no scalar */
    cs_conv_row_fn fn;
    void *fn_ctx;
    struct cs_conv_source pub;
};

static void to_cell(struct cs_cell *c, const json_t *v, struct cs_buf *text)
{
    const char *s = json_string_value(v);

    memset(c, 0, sizeof(*c));
    if (!v || json_is_null(v)) {
        c->kind = CS_CELL_EMPTY;
    } else if (json_is_boolean(v)) {
        c->kind = CS_CELL_BOOL;
        c->b = json_is_true(v);
    } else if (json_is_number(v)) {
        c->kind = CS_CELL_NUMBER;
        c->num = json_number_value(v);
    } else if (s) {
        c->kind = CS_CELL_TEXT;
        c->text = strcmp(s, "not_applicable") == 0 ? "n/a" : s;
    } else {
        char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

        cs_buf_reset(text);
        cs_buf_adds(text, dump ? dump : "");
        free(dump);
        c->kind = CS_CELL_TEXT;
        c->text = text->ptr;
    }
}

static int on_store_row(void *ctx, const struct cs_store_conv *c,
                        struct cs_err *err)
{
    struct source *s = ctx;
    struct cs_conv_row row;
    int ret;

    memset(&row, 0, sizeof(row));
    row.id = c->id;
    row.started_local = c->started_local;
    row.agent = c->agent;
    row.channel = c->channel;
    row.direction = c->direction;
    row.outcome = c->outcome;
    row.handed_off = c->handed_off;
    row.duration_s = c->duration_s;
    row.turns = c->turns;
    row.cost = c->cost;
    row.csat = c->csat;
    row.nps = c->nps;
    /* Reasons are free text an agent or a person wrote: personal data is
     * taken out before it reaches a client's file. */
    if (c->handoff_reason) {
        cs_buf_reset(&s->reason);
        ret = cs_redact_apply(&s->reason, NULL, s->rd, c->handoff_reason,
                              strlen(c->handoff_reason), err);
        if (ret)
            return ret;
        row.handoff_reason = s->reason.ptr;
    }
    row.sentiment = json_string_value(c->values[0]);
    for (size_t m = 0; m < s->pub.n_metrics; m++)
        to_cell(&s->cells[m], c->values[1 + m], &s->texts[m]);
    row.metrics = s->cells;
    return s->fn(s->fn_ctx, &row, err);
}

static int source_each(void *ctx, cs_conv_row_fn fn, void *fn_ctx,
                       struct cs_err *err)
{
    struct source *s = ctx;

    s->fn = fn;
    s->fn_ctx = fn_ctx;
    return cs_store_conv_rows(s->st, s->tenant, s->from, s->to, s->tz_sql,
                              s->keys, on_store_row, s, err);
}

/* The columns: every metric of the period but the sentiment metric,
 * which has a column of its own. */
static void source_init(struct source *s, const struct cs_report_tenant *t)
{
    size_t n = 0;

    s->keys = cs_xcalloc(t->cur.n_metrics + 2, sizeof(*s->keys));
    s->keys[0] = sentiment_metric;
    for (size_t i = 0; i < t->cur.n_metrics; i++) {
        if (strcmp(t->cur.metrics[i].key, sentiment_metric) != 0)
            s->keys[1 + n++] = t->cur.metrics[i].key;
    }
    s->cells = cs_xcalloc(n + 1, sizeof(*s->cells));
    s->texts = cs_xcalloc(n + 1, sizeof(*s->texts));
    for (size_t i = 0; i < n; i++)
        cs_buf_init(&s->texts[i]);
    s->pub.each = source_each;
    s->pub.ctx = s;
    s->pub.metrics = s->keys + 1;
    s->pub.n_metrics = n;
}

static void source_release(struct source *s)
{
    for (size_t i = 0; i < s->pub.n_metrics; i++)
        cs_buf_release(&s->texts[i]);
    free(s->texts);
    free(s->cells);
    free(s->keys);
    cs_buf_release(&s->reason);
    cs_redact_free(s->rd);
}

/* A tenant id as a file name: bytes other than [A-Za-z0-9_-] (and a
 * leading dot) as %XX, so "../x" or "a/b" cannot leave the folder. */
static void file_part(struct cs_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
            (*p == '.' && p != (const unsigned char *)s))
            cs_buf_addch(b, (char)*p);
        else
            cs_buf_addf(b, "%%%02X", *p);
    }
}

static int tenant_known(struct cs_store *st, const struct cs_config *cfg,
                        const char *tenant, struct cs_err *err)
{
    int seen = 0, ret;

    if (json_object_get(json_object_get(cfg->root, "tenants"), tenant))
        return 0;
    ret = cs_store_tenant_seen(&seen, st, tenant, err);
    if (ret)
        return ret;
    if (!seen)
        return cs_err_set(err, CS_ENOTFOUND, "unknown tenant '%s': not in "
                          "the config and no conversations stored", tenant);
    return 0;
}

int cs_client_report(char **path_out, struct cs_store *st,
                     const struct cs_config *cfg,
                     const struct cs_client_opts *o, struct cs_err *err)
{
    struct cs_buf dir = CS_BUF_INIT, path = CS_BUF_INIT;
    struct cs_report *report = NULL;
    struct cs_report_tenant *t;
    struct cs_kpi_query q;
    struct source src;
    char *tz_sql = NULL;
    double t0;
    int ret;

    *path_out = NULL;
    memset(&src, 0, sizeof(src));
    cs_buf_init(&src.reason);
    ret = tenant_known(st, cfg, o->tenant, err);
    if (ret)
        goto done;
    ret = cs_store_snapshot_begin(st, err);
    if (ret)
        goto done;
    memset(&q, 0, sizeof(q));
    snprintf(q.from, sizeof(q.from), "%s", o->from);
    snprintf(q.to, sizeof(q.to), "%s", o->to);
    q.tenant = o->tenant;
    q.by = CS_KPI_BY_DAY;
    q.compare = 1;
    q.details = 1;
    q.skip_look = 1; /* the Conversations sheet lists every one */
    q.rubrics = o->rubrics;
    q.sentiment_metric = sentiment_metric;
    t0 = cs_now();
    ret = cs_kpi_compute(&report, st, cfg, &q, err);
    if (ret)
        goto done;
    cs_log(CS_LOG_DEBUG, "KPIs of '%s' computed in %.2f s", o->tenant,
           cs_now() - t0);
    t = &report->tenants[0];
    ret = cs_kpi_tz_sql(&tz_sql, st, t->tz, err);
    if (!ret)
        ret = cs_redact_new_configured(&src.rd, cfg, err);
    if (ret)
        goto done;
    src.st = st;
    src.tenant = o->tenant;
    src.from = o->from;
    src.to = o->to;
    src.tz_sql = tz_sql;
    source_init(&src, t);
    t->conv = &src.pub;
    cs_buf_addf(&dir, "%s/%s_%s", cfg->reports_dir, o->from, o->to);
    ret = cs_fs_mkdirs(dir.ptr, err);
    if (ret)
        goto done;
    cs_buf_addf(&path, "%s/client-", dir.ptr);
    file_part(&path, o->tenant);
    cs_buf_adds(&path, ".xlsx");
    t0 = cs_now();
    ret = cs_render_file(cs_render_find("xlsx"), report, path.ptr, err);
    if (ret)
        goto done;
    cs_log(CS_LOG_DEBUG, "'%s' written in %.2f s", path.ptr, cs_now() - t0);
    *path_out = cs_buf_detach(&path, NULL);
done:
    cs_store_snapshot_end(st);
    source_release(&src);
    cs_report_free(report);
    free(tz_sql);
    cs_buf_release(&dir);
    cs_buf_release(&path);
    return ret;
}
