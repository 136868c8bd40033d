/* json.c - the JSON rendering of a report (docs/kpis.md, "Machine-readable
 * output") */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "report/render.h"

static json_t *real_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

/* A number that prints as an integer when it is one (percentiles). */
static json_t *number(double v)
{
    if (isnan(v))
        return json_null();
    if (isfinite(v) && v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* The JSON value of a KPI of `unit` (counts are integers). */
static json_t *kpi_value(enum cs_unit unit, unsigned flags, double v)
{
    if (isnan(v))
        return json_null();
    if (unit == CS_UNIT_COUNT && !(flags & CS_KPI_F_MEAN))
        return json_integer((json_int_t)v);
    if (unit == CS_UNIT_MS)
        return number(v);
    return json_real(v);
}

/* Sets `key` ("a.b" makes the object "a") of `o`, stealing `v`. */
static void set_path(json_t *o, const char *key, json_t *v)
{
    const char *dot = strchr(key, '.');
    struct cs_buf head = CS_BUF_INIT;
    json_t *sub;

    if (!dot) {
        json_object_set_new(o, key, v);
        return;
    }
    cs_buf_add(&head, key, (size_t)(dot - key));
    sub = json_object_get(o, head.ptr);
    if (!sub) {
        sub = json_object();
        json_object_set_new(o, head.ptr, sub);
    }
    set_path(sub, dot + 1, v);
    cs_buf_release(&head);
}

static json_t *latency_json(const struct cs_kpi_set *s)
{
    json_t *lat = json_object();

    for (size_t i = 0; i < s->n_latency; i++) {
        const struct cs_latency_kpi *l = &s->latency[i];
        json_t *h = json_object();

        json_object_set_new(h, "p50", number(l->p50));
        json_object_set_new(h, "p95", number(l->p95));
        json_object_set_new(h, "p99", number(l->p99));
        json_object_set_new(h, "count", json_integer(l->count));
        json_object_set_new(lat, l->hop, h);
    }
    return lat;
}

static json_t *metric_json(const struct cs_metric_kpi *m)
{
    json_t *o = json_object();

    json_object_set_new(o, "type", json_string(cs_metric_type_name(m->type)));
    json_object_set_new(o, "applicable", json_integer(m->applicable));
    if (m->type == CS_METRIC_BOOLEAN) {
        json_object_set_new(o, "true_rate", real_or_null(m->true_rate));
        json_object_set_new(o, "partial_rate", real_or_null(m->partial_rate));
    } else if (m->type == CS_METRIC_SCORECARD) {
        json_t *b = json_object();

        json_object_set_new(o, "mean", real_or_null(m->mean));
        json_object_set_new(o, "pass_mark", real_or_null(m->pass_mark));
        json_object_set_new(o, "below_pass_rate",
                            real_or_null(m->below_pass_rate));
        for (int k = 0; k < CS_SCORECARD_BUCKETS; k++) {
            char name[16];

            cs_scorecard_bucket_name(name, sizeof(name), k);
            json_object_set_new(b, name, json_integer(m->buckets[k]));
        }
        json_object_set_new(o, "buckets", b);
    } else {
        json_t *counts = json_object(), *shares = json_object();

        for (size_t i = 0; i < m->n_counts; i++) {
            const struct cs_metric_count *c = &m->counts[i];

            json_object_set_new(counts, c->label, json_integer(c->count));
            json_object_set_new(shares, c->label,
                                real_or_null(cs_metric_kpi_share(m, c)));
        }
        if (m->type == CS_METRIC_SCORE) {
            json_object_set_new(o, "mean", real_or_null(m->mean));
            json_object_set_new(o, "counts", counts);
            json_decref(shares);
        } else {
            json_object_set_new(o, "labels", counts);
            json_object_set_new(o, "shares", shares);
        }
    }
    json_object_set_new(o, "errors", json_integer(m->errors));
    /* Trust in the judge: present when the rubric asks for it or a
     * calibration was stored. */
    if (!isnan(m->min_kappa)) {
        json_object_set_new(o, "min_kappa", json_real(m->min_kappa));
        json_object_set_new(o, "verified", json_boolean(!m->unverified));
    }
    if (m->calibration) {
        const struct cs_calibration_kpi *k = m->calibration;

        json_object_set_new(o, "calibration", json_pack(
            "{s:s,s:s,s:s?,s:s?,s:I,s:o,s:o}", "measured_at", k->measured_at,
            "labels_sha256", k->labels_sha256, "rubric_version", k->version,
            "evaluator", k->evaluator, "n", (json_int_t)k->n, "accuracy",
            real_or_null(k->accuracy), "kappa", real_or_null(k->kappa)));
    }
    return o;
}

/* The KPI object of one set, keys in the order of docs/kpis.md. */
static json_t *set_json(const struct cs_kpi_set *s)
{
    json_t *o = json_object();

    for (size_t i = 0; i < CS_KPI__COUNT; i++) {
        const struct cs_kpi_def *d = cs_kpi_def_get((enum cs_kpi_id)i);

        if (d->flags & CS_KPI_F_NOT_IN_JSON)
            continue;
        if (i == CS_KPI_AI_COST) {
            json_t *metrics = json_object();

            for (size_t j = 0; j < s->n_metrics; j++)
                json_object_set_new(metrics, s->metrics[j].key,
                                    metric_json(&s->metrics[j]));
            json_object_set_new(o, "metrics", metrics);
        }
        if (i == CS_KPI_SENTIMENT_POSITIVE)
            json_object_set_new(o, "latency_ms", latency_json(s));
        set_path(o, d->key, kpi_value(d->unit, d->flags, s->v[i]));
    }
    return o;
}

json_t *cs_render_alert_json(const struct cs_alert *al)
{
    return json_pack("{s:s,s:o,s:s,s:f,s:s}", "kpi", al->kpi, "value",
                     kpi_value(al->unit, 0, al->value), "level",
                     al->critical ? "critical" : "warning", "threshold",
                     al->threshold, "direction",
                     al->below ? "below" : "above");
}

static json_t *alerts_json(const struct cs_kpi_set *s)
{
    json_t *a = json_array();

    for (size_t i = 0; i < s->n_alerts; i++)
        json_array_append_new(a, cs_render_alert_json(&s->alerts[i]));
    return a;
}

static json_t *tenant_json(const struct cs_report_tenant *t)
{
    json_t *o = set_json(&t->cur);

    if (t->by != CS_REPORT_BY_NONE) {
        json_t *g = json_object();

        for (size_t i = 0; i < t->n_groups; i++)
            json_object_set_new(g, t->groups[i].group,
                                set_json(&t->groups[i]));
        json_object_set_new(o, t->by == CS_REPORT_BY_DAY ? "by_day"
                                                         : "by_agent", g);
    }
    json_object_set_new(o, "tz", json_string(t->tz));
    json_object_set_new(o, "currency", json_string(t->fmt.currency));
    json_object_set_new(o, "alerts", alerts_json(&t->cur));
    if (t->cmp[CS_CMP_PREVIOUS])
        json_object_set_new(o, "previous", set_json(t->cmp[CS_CMP_PREVIOUS]));
    if (t->cmp[CS_CMP_LAST_WEEK]) {
        json_t *w = json_null();

        if (!t->cmp_absent[CS_CMP_LAST_WEEK]) {
            w = set_json(t->cmp[CS_CMP_LAST_WEEK]);
            json_object_set_new(w, "tz", json_string(t->tz));
            json_object_set_new(w, "currency", json_string(t->fmt.currency));
            json_object_set_new(w, "alerts",
                                alerts_json(t->cmp[CS_CMP_LAST_WEEK]));
        }
        json_object_set_new(o, "same_weekday_last_week", w);
    }
    return o;
}

int cs_render_json(const struct cs_report *r, FILE *out, struct cs_err *err)
{
    json_t *root = json_object(), *tenants = json_object();
    int ret = 0;

    json_object_set_new(root, "from", json_string(r->period.from));
    json_object_set_new(root, "to", json_string(r->period.to));
    json_object_set_new(root, "tz", json_string(r->tz ? r->tz
                                                      : "per-tenant"));
    json_object_set_new(root, "tenants", tenants);
    for (size_t i = 0; i < r->n_tenants; i++)
        json_object_set_new(tenants, r->tenants[i].name,
                            tenant_json(&r->tenants[i]));
    /* Every real in its shortest exact form (docs/kpis.md values). */
    if (cs_fmt_json_dumpf(root, out, JSON_INDENT(2)) != 0 ||
        fputc('\n', out) == EOF)
        ret = cs_err_set(err, CS_EIO, "cannot write the JSON report");
    json_decref(root);
    return ret;
}
