/* format.c - the json, csv and table renderings of a KPI report */
#include "kpi/kpi.h"

#include <math.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"

void cs_kpi_write_json(const json_t *report, FILE *out)
{
    json_dumpf(report, out,
               JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    fputc('\n', out);
}

/* Keys that are not KPI values: nested reports and labels. */
static int skip_key(const char *k)
{
    static const char *const skip[] = {"alerts", "previous", "by_day",
                                       "by_agent", "tz", "currency", NULL};

    for (const char *const *p = skip; *p; p++) {
        if (strcmp(k, *p) == 0)
            return 1;
    }
    return 0;
}

static void value_text(struct cs_buf *b, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    if (json_is_integer(v))
        cs_buf_addf(b, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        cs_buf_addf(b, "%.17g", json_real_value(v));
    else if (json_is_string(v))
        cs_buf_adds(b, json_string_value(v));
    else if (json_is_boolean(v))
        cs_buf_adds(b, json_is_true(v) ? "true" : "false");
}

/* Calls fn for every scalar of a KPI object, with its dotted path. */
typedef void (*leaf_fn)(void *ctx, const char *path, const json_t *v);

static void walk(const json_t *o, struct cs_buf *path, leaf_fn fn, void *ctx)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)o, k, v) {
        size_t mark = path->len;

        if (mark == 0 && skip_key(k))
            continue;
        if (mark)
            cs_buf_addch(path, '.');
        cs_buf_adds(path, k);
        if (json_is_object(v))
            walk(v, path, fn, ctx);
        else if (!json_is_array(v))
            fn(ctx, path->ptr, v);
        path->len = mark;
        path->ptr[mark] = '\0';
    }
}

struct csv_ctx {
    FILE *out;
    const char *tenant;
    const char *group;
    const json_t *previous;
};

static void csv_leaf(void *vctx, const char *path, const json_t *v)
{
    struct csv_ctx *c = vctx;
    struct cs_buf b = CS_BUF_INIT;

    cs_csv_field(c->out, c->tenant);
    fputc(',', c->out);
    cs_csv_field(c->out, c->group);
    fputc(',', c->out);
    cs_csv_field(c->out, path);
    fputc(',', c->out);
    value_text(&b, v);
    fputs(b.ptr, c->out);
    fputc(',', c->out);
    cs_buf_reset(&b);
    if (c->previous)
        value_text(&b, cs_kpi_get(c->previous, path));
    fputs(b.ptr, c->out);
    fputc('\n', c->out);
    cs_buf_release(&b);
}

void cs_kpi_write_csv(const json_t *report, FILE *out)
{
    const json_t *tenants = json_object_get(report, "tenants");
    struct cs_buf path = CS_BUF_INIT;
    const char *name;
    json_t *t;

    fputs("tenant,group,kpi,value,previous\n", out);
    json_object_foreach((json_t *)tenants, name, t) {
        struct csv_ctx c = {out, name, "", json_object_get(t, "previous")};
        const char *by[] = {"by_day", "by_agent"};

        walk(t, &path, csv_leaf, &c);
        for (int i = 0; i < 2; i++) {
            const char *g;
            json_t *go;

            json_object_foreach(json_object_get(t, by[i]), g, go) {
                struct csv_ctx gc = {out, name, g, NULL};

                walk(go, &path, csv_leaf, &gc);
            }
        }
    }
    cs_buf_release(&path);
}

/* How a KPI reads to a person: rates as percentages, money with cents. */
static void human(struct cs_buf *b, const char *path, const json_t *v)
{
    double d;

    if (!v || json_is_null(v)) {
        cs_buf_adds(b, "\xe2\x80\x94"); /* em dash */
        return;
    }
    if (!json_is_number(v)) {
        value_text(b, v);
        return;
    }
    d = json_number_value(v);
    if (strstr(path, "_rate") || strncmp(path, "sentiment.", 10) == 0)
        cs_buf_addf(b, "%.1f%%", d * 100);
    else if (strstr(path, "cost") || strstr(path, "savings") ||
             strstr(path, "fee"))
        cs_buf_addf(b, "%.2f", d);
    else if (json_is_integer(v))
        cs_buf_addf(b, "%lld", (long long)json_integer_value(v));
    else
        cs_buf_addf(b, "%.2f", d);
}

struct table_ctx {
    FILE *out;
    const json_t *previous;
};

static void table_leaf(void *vctx, const char *path, const json_t *v)
{
    struct table_ctx *c = vctx;
    struct cs_buf cur = CS_BUF_INIT, prev = CS_BUF_INIT;

    human(&cur, path, v);
    if (c->previous)
        human(&prev, path, cs_kpi_get(c->previous, path));
    fprintf(c->out, "  %-40s %16s %16s\n", path, cur.ptr, prev.ptr);
    cs_buf_release(&cur);
    cs_buf_release(&prev);
}

void cs_kpi_write_table(const json_t *report, FILE *out)
{
    const json_t *tenants = json_object_get(report, "tenants");
    struct cs_buf path = CS_BUF_INIT;
    const char *name;
    json_t *t;

    if (json_object_size(tenants) == 0)
        fprintf(out, "no conversations from %s to %s\n",
                json_string_value(json_object_get(report, "from")),
                json_string_value(json_object_get(report, "to")));
    json_object_foreach((json_t *)tenants, name, t) {
        struct table_ctx c = {out, json_object_get(t, "previous")};
        size_t i;
        json_t *a;

        fprintf(out, "%s  %s .. %s (%s, %s)\n", name,
                json_string_value(json_object_get(report, "from")),
                json_string_value(json_object_get(report, "to")),
                json_string_value(json_object_get(t, "tz")),
                json_string_value(json_object_get(t, "currency")));
        fprintf(out, "  %-40s %16s %16s\n", "KPI", "value",
                c.previous ? "previous" : "");
        walk(t, &path, table_leaf, &c);
        json_array_foreach(json_object_get(t, "alerts"), i, a) {
            struct cs_buf v = CS_BUF_INIT;
            const char *kpi = json_string_value(json_object_get(a, "kpi"));

            human(&v, kpi, json_object_get(a, "value"));
            fprintf(out, "  ALERT %-8s %s = %s (%s %g)\n",
                    json_string_value(json_object_get(a, "level")), kpi,
                    v.ptr, json_string_value(json_object_get(a, "direction")),
                    json_real_value(json_object_get(a, "threshold")));
            cs_buf_release(&v);
        }
        fputc('\n', out);
    }
    cs_buf_release(&path);
}
