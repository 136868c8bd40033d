/* list.c - conversations by their outcomes: conditions, zones, output */
#include "review/review.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/fmt.h"
#include "base/mem.h"
#include "kpi/kpi.h"
#include "model/result.h"
#include "review/review_internal.h"

static const char *const fields[] = {"outcome", "direction", "channel",
                                     "agent", NULL};

static int is_field(const char *name)
{
    for (size_t i = 0; fields[i]; i++) {
        if (strcmp(fields[i], name) == 0)
            return 1;
    }
    return 0;
}

/* The operator at `s` and its length (0 when none). */
static size_t op_at(const char *s, enum cs_cond_op *op)
{
    if (s[0] == '!' && s[1] == '=')
        return *op = CS_OP_NE, 2;
    if (s[0] == '<' && s[1] == '=')
        return *op = CS_OP_LE, 2;
    if (s[0] == '>' && s[1] == '=')
        return *op = CS_OP_GE, 2;
    if (s[0] == '=')
        return *op = CS_OP_EQ, 1;
    if (s[0] == '<')
        return *op = CS_OP_LT, 1;
    if (s[0] == '>')
        return *op = CS_OP_GT, 1;
    return 0;
}

/* `text` as the JSON text of a value: itself when it is JSON, else a
 * string. New. */
static char *value_json(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    char *out;

    if (!v || json_is_object(v) || json_is_array(v)) {
        json_decref(v);
        v = json_string(text);
    }
    out = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(v);
    return out;
}

int cs_review_parse_where(struct cs_conv_cond *out, const char *arg,
                          const struct cs_rubric_set *set,
                          struct cs_err *err)
{
    size_t n = strcspn(arg, "=!<>"), oplen;
    struct cs_buf name = CS_BUF_INIT;
    enum cs_cond_op op = CS_OP_EQ;
    const struct cs_rubric *r;
    json_t *v = NULL;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    if (strcmp(arg, "handoff") == 0 || strcmp(arg, "no-handoff") == 0 ||
        strcmp(arg, "tool-failed") == 0) {
        out->kind = arg[0] == 'h'   ? CS_COND_HANDOFF
                    : arg[0] == 'n' ? CS_COND_NO_HANDOFF
                                    : CS_COND_TOOL_FAILED;
        return 0;
    }
    oplen = arg[n] ? op_at(arg + n, &op) : 0;
    while (n > 0 && arg[n - 1] == ' ')
        n--;
    if (!oplen || n == 0) {
        return cs_err_set(err, CS_EINVALID, "--where '%s': expected "
                          "METRIC=VALUE, outcome=X, sentiment=negative, "
                          "handoff, no-handoff or tool-failed", arg);
    }
    cs_buf_add(&name, arg, n);
    arg += strcspn(arg, "=!<>") + oplen;
    while (*arg == ' ')
        arg++;
    out->op = op;
    if (strcmp(name.ptr, "sentiment") == 0) {
        cs_buf_reset(&name);
        cs_buf_adds(&name, CS_REVIEW_SENTIMENT_METRIC);
    } else if (cs_store_cond_number(name.ptr)) {
        v = json_loads(arg, JSON_DECODE_ANY, NULL);
        if (!json_is_number(v)) {
            ret = cs_err_set(err, CS_EINVALID, "--where %s: compares with "
                             "a number, not '%s'", name.ptr, arg);
            goto done;
        }
        out->kind = CS_COND_NUMBER;
        out->name = cs_buf_detach(&name, NULL);
        out->value = cs_xstrdup(arg);
        goto done;
    } else if (is_field(name.ptr)) {
        if (op != CS_OP_EQ && op != CS_OP_NE) {
            ret = cs_err_set(err, CS_EINVALID, "--where: '%s' takes = or "
                             "!=", name.ptr);
            goto done;
        }
        out->kind = CS_COND_FIELD;
        out->name = cs_buf_detach(&name, NULL);
        out->value = cs_xstrdup(arg);
        goto done;
    }
    out->kind = CS_COND_METRIC;
    out->value = value_json(arg);
    v = json_loads(out->value, JSON_DECODE_ANY, NULL);
    if (op != CS_OP_EQ && op != CS_OP_NE && !json_is_number(v)) {
        ret = cs_err_set(err, CS_EINVALID, "--where %s: < and > compare "
                         "numbers, not '%s'", name.ptr, arg);
        goto done;
    }
    r = set ? cs_rubric_set_find(set, name.ptr) : NULL;
    if (r && op <= CS_OP_NE && !cs_rubric_value_valid(r, v) &&
        !cs_eval_value_is(v, "error")) {
        struct cs_buf why = CS_BUF_INIT, who = CS_BUF_INIT;

        cs_buf_addf(&who, "'%s'", r->key);
        cs_rubric_value_explain(&why, r, who.ptr, v);
        ret = cs_err_set(err, CS_EINVALID, "--where: %s", why.ptr);
        cs_buf_release(&why);
        cs_buf_release(&who);
        goto done;
    }
    out->name = cs_buf_detach(&name, NULL);
done:
    json_decref(v);
    cs_buf_release(&name);
    if (ret) {
        cs_review_conds_release(out, 1);
        memset(out, 0, sizeof(*out));
    }
    return ret;
}

void cs_review_conds_release(struct cs_conv_cond *conds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)conds[i].name);
        free((char *)conds[i].value);
        conds[i].name = conds[i].value = NULL;
    }
}

int cs_review_zones(char **map_out, char **default_out, struct cs_store *st,
                    const struct cs_config *cfg, struct cs_err *err)
{
    json_t *tenants = json_object_get(cfg->root, "tenants"), *map;
    struct cs_tenant_cfg t;
    const char *name;
    char *sql = NULL;
    json_t *x;
    int ret;

    *map_out = *default_out = NULL;
    map = json_object();
    cs_config_tenant(&t, cfg, "default", NULL);
    ret = cs_kpi_tz_sql(default_out, st, t.timezone, err);
    cs_tenant_cfg_release(&t);
    json_object_foreach(tenants, name, x) {
        if (ret)
            break;
        if (strcmp(name, "default") == 0)
            continue;
        cs_config_tenant(&t, cfg, name, NULL);
        ret = cs_kpi_tz_sql(&sql, st, t.timezone, err);
        if (!ret)
            json_object_set_new(map, name, json_string(sql));
        free(sql);
        sql = NULL;
        cs_tenant_cfg_release(&t);
    }
    if (!ret)
        *map_out = json_dumps(map, JSON_COMPACT);
    json_decref(map);
    if (ret) {
        free(*default_out);
        *default_out = NULL;
    }
    return ret;
}

/* ---- output ---- */

struct list {
    FILE *out;
    struct cs_review_list *o;
    char **metrics;         /* the condition metrics, NULL-terminated */
    int many_tenants;
    struct cs_buf line;
};

/* A value as people read it: strings unquoted. New. */
static char *value_text(const json_t *v)
{
    if (!v)
        return cs_xstrdup("");
    if (json_is_string(v))
        return cs_xstrdup(json_string_value(v));
    {
        struct cs_buf b = CS_BUF_INIT;

        cs_fmt_json(&b, v, JSON_ENCODE_ANY | JSON_COMPACT);
        return cs_buf_detach(&b, NULL);
    }
}

static void duration_text(struct cs_buf *b, double s)
{
    if (isnan(s)) {
        cs_buf_adds(b, CS_REVIEW_DASH);
        return;
    }
    if (s >= 60)
        cs_buf_addf(b, "%ldm %02lds", (long)s / 60, (long)s % 60);
    else
        cs_buf_addf(b, "%.0f s", s);
}

static int row_table(struct list *l, const struct cs_conv_item *it)
{
    struct cs_buf *b = &l->line, d = CS_BUF_INIT;

    cs_buf_reset(b);
    if (l->many_tenants)
        cs_review_pad(b, it->tenant, 18);
    cs_review_pad(b, it->id, 26);
    cs_review_pad(b, it->started, 20);
    cs_review_pad(b, it->agent ? it->agent : CS_REVIEW_DASH, 18);
    cs_review_pad(b, it->outcome, 10);
    duration_text(&d, it->duration_s);
    cs_review_pad(b, d.ptr, 9);
    for (char **m = l->metrics; m && *m; m++) {
        char *t = value_text(json_object_get(it->metrics, *m));

        cs_buf_addf(b, "%s%s=%s", m == l->metrics ? "" : " ", *m, t);
        free(t);
    }
    while (b->len && b->ptr[b->len - 1] == ' ')
        b->ptr[--b->len] = '\0';
    fprintf(l->out, "%s\n", b->ptr);
    cs_buf_release(&d);
    return 0;
}

static int row_jsonl(struct list *l, const struct cs_conv_item *it)
{
    json_t *o = json_object();

    json_object_set_new(o, "tenant", json_string(it->tenant));
    json_object_set_new(o, "id", json_string(it->id));
    json_object_set_new(o, "started_at", json_string(it->started_at));
    json_object_set_new(o, "started", json_string(it->started));
    json_object_set_new(o, "agent", it->agent ? json_string(it->agent)
                                              : json_null());
    json_object_set_new(o, "channel", json_string(it->channel));
    json_object_set_new(o, "direction", json_string(it->direction));
    json_object_set_new(o, "outcome", json_string(it->outcome));
    json_object_set_new(o, "duration_s", isnan(it->duration_s)
                                             ? json_null()
                                             : json_real(it->duration_s));
    json_object_set_new(o, "handoff", json_boolean(it->handoff));
    json_object_set(o, "metrics", (json_t *)it->metrics);
    cs_fmt_json_dumpf(o, l->out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', l->out);
    json_decref(o);
    return 0;
}

static int row_csv(struct list *l, const struct cs_conv_item *it)
{
    char num[CS_FMT_DOUBLE_SIZE];

    cs_csv_text(l->out, it->tenant);
    fputc(',', l->out);
    cs_csv_text(l->out, it->id);
    fprintf(l->out, ",%s,%s,", it->started_at, it->started);
    cs_csv_text(l->out, it->agent ? it->agent : "");
    fprintf(l->out, ",%s,%s,%s,", it->channel, it->direction, it->outcome);
    if (!isnan(it->duration_s)) {
        cs_fmt_double_shortest(num, it->duration_s);
        fputs(num, l->out);
    }
    fprintf(l->out, ",%s", it->handoff ? "true" : "false");
    for (char **m = l->metrics; m && *m; m++) {
        char *t = value_text(json_object_get(it->metrics, *m));

        fputc(',', l->out);
        cs_csv_text(l->out, t);
        free(t);
    }
    fputc('\n', l->out);
    return 0;
}

static int on_item(void *ctx, const struct cs_conv_item *it,
                   struct cs_err *err)
{
    struct list *l = ctx;

    l->o->listed++;
    if (l->o->format == CS_REVIEW_JSONL)
        row_jsonl(l, it);
    else if (l->o->format == CS_REVIEW_CSV)
        row_csv(l, it);
    else
        row_table(l, it);
    if (ferror(l->out))
        return cs_err_set(err, CS_EIO, "cannot write the list");
    return 0;
}

static void header(struct list *l)
{
    struct cs_buf *b = &l->line;

    if (l->o->format == CS_REVIEW_JSONL)
        return;
    if (l->o->format == CS_REVIEW_CSV) {
        fputs("tenant,id,started_at,started,agent,channel,direction,"
              "outcome,duration_s,handoff", l->out);
        for (char **m = l->metrics; m && *m; m++) {
            fputc(',', l->out);
            cs_csv_text(l->out, *m);
        }
        fputc('\n', l->out);
        return;
    }
    cs_buf_reset(b);
    if (l->many_tenants)
        cs_review_pad(b, "tenant", 18);
    cs_review_pad(b, "id", 26);
    cs_review_pad(b, "started", 20);
    cs_review_pad(b, "agent", 18);
    cs_review_pad(b, "outcome", 10);
    cs_review_pad(b, "duration", 9);
    if (l->metrics)
        cs_buf_adds(b, "metrics");
    while (b->len && b->ptr[b->len - 1] == ' ')
        b->ptr[--b->len] = '\0';
    fprintf(l->out, "%s\n", b->ptr);
}

int cs_review_list(struct cs_store *st, const struct cs_config *cfg,
                   struct cs_review_list *o, FILE *out, struct cs_err *err)
{
    struct cs_conv_query q;
    struct list l;
    char *zones = NULL, *def = NULL;
    size_t nm = 0;
    int ret;

    memset(&q, 0, sizeof(q));
    memset(&l, 0, sizeof(l));
    cs_buf_init(&l.line);
    l.out = out;
    l.o = o;
    l.many_tenants = o->tenant == NULL;
    l.metrics = cs_xcalloc(o->n_conds + 1, sizeof(*l.metrics));
    for (size_t i = 0; i < o->n_conds; i++) {
        int dup = 0;

        if (o->conds[i].kind != CS_COND_METRIC)
            continue;
        for (size_t k = 0; k < nm; k++)
            dup |= strcmp(l.metrics[k], o->conds[i].name) == 0;
        if (!dup)
            l.metrics[nm++] = (char *)o->conds[i].name;
    }
    if (nm == 0) {
        free(l.metrics);
        l.metrics = NULL;
    }
    ret = cs_review_zones(&zones, &def, st, cfg, err);
    if (ret)
        goto done;
    q.tenant = o->tenant;
    q.from = o->from;
    q.to = o->to;
    q.tz = zones;
    q.default_tz = def;
    q.conds = o->conds;
    q.n_conds = o->n_conds;
    q.sample = o->sample;
    q.seed = o->seed ? o->seed : "0";
    q.show = l.metrics;
    o->listed = 0;
    header(&l);
    ret = cs_store_conversations(st, &q, &o->total, on_item, &l, err);
done:
    free(zones);
    free(def);
    free(l.metrics);
    cs_buf_release(&l.line);
    return ret;
}
