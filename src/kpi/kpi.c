/* kpi.c - KPI definitions, ROI, period comparison and alerts */
#include "kpi/kpi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/parse.h"
#include "config/alerts.h"
#include "store/results.h"

static json_t *ratio(double num, double den)
{
    return den != 0 ? json_real(num / den) : json_null();
}

/* A number that prints as an integer when it is one (percentiles). */
static json_t *number(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

double cs_kpi_prorated_fee(double monthly, int64_t from, int64_t to)
{
    double fee = 0;
    int64_t d = from;

    while (d < to) {
        int64_t y;
        unsigned m, day, dim;
        int64_t month_end, upto;

        cs_civil_from_days(d, &y, &m, &day);
        dim = cs_days_in_month(y, m);
        month_end = d - (day - 1) + dim;
        upto = to < month_end ? to : month_end;
        fee += monthly * (double)(upto - d) / (double)dim;
        d = upto;
    }
    return fee;
}

static void set_latency(json_t *o, const struct cs_kpi_raw *raw)
{
    json_t *lat = json_object();

    for (size_t i = 0; i < raw->n_latency; i++) {
        const struct cs_kpi_latency *l = &raw->latency[i];
        json_t *h = json_object();

        json_object_set_new(h, "p50", number(l->p50));
        json_object_set_new(h, "p95", number(l->p95));
        json_object_set_new(h, "p99", number(l->p99));
        json_object_set_new(h, "count", json_integer(l->count));
        json_object_set_new(lat, l->name, h);
    }
    json_object_set_new(o, "latency_ms", lat);
}

json_t *cs_kpi_object(const struct cs_kpi_raw *r,
                      const struct cs_tenant_cfg *t, int64_t fee_from,
                      int64_t fee_to)
{
    json_t *o = json_object(), *w, *sent;
    long contained = r->answered - r->handed_off;
    double aht = r->aht_n ? r->aht_sum / (double)r->aht_n : NAN;
    double hc = NAN, fee;

    json_object_set_new(o, "conversations", json_integer(r->conversations));
    json_object_set_new(o, "inbound", json_integer(r->inbound));
    json_object_set_new(o, "outbound", json_integer(r->outbound));
    json_object_set_new(o, "answered", json_integer(r->answered));
    json_object_set_new(o, "handed_off", json_integer(r->handed_off));
    json_object_set_new(o, "contained", json_integer(contained));
    json_object_set_new(o, "answer_rate",
                        ratio((double)r->answered_inbound, (double)r->inbound));
    json_object_set_new(o, "outbound_answer_rate",
                        ratio((double)r->answered_outbound,
                              (double)r->outbound));
    json_object_set_new(o, "containment_rate",
                        ratio((double)contained, (double)r->answered));
    json_object_set_new(o, "handoff_rate",
                        ratio((double)r->handed_off, (double)r->answered));
    json_object_set_new(o, "abandonment_rate",
                        ratio((double)r->abandoned_inbound,
                              (double)r->inbound));
    json_object_set_new(o, "error_rate",
                        ratio((double)r->failed, (double)r->conversations));
    json_object_set_new(o, "aht_s", ratio(r->aht_sum, (double)r->aht_n));
    json_object_set_new(o, "asa_s", ratio(r->asa_sum, (double)r->answered));
    json_object_set_new(o, "avg_turns",
                        ratio(r->turns_sum, (double)r->answered));
    json_object_set_new(o, "connector_success_rate",
                        ratio((double)r->tools_ok, (double)r->tools_total));
    w = json_object();
    json_object_set_new(w, "ticket", json_integer(r->created_ticket));
    json_object_set_new(w, "crm_update", json_integer(r->created_crm));
    json_object_set_new(w, "appointment", json_integer(r->created_appt));
    json_object_set_new(w, "total", json_integer(r->created_ticket +
                                                 r->created_crm +
                                                 r->created_appt));
    json_object_set_new(o, "work_items_created", w);
    json_object_set_new(o, "csat_avg", ratio(r->csat_sum, (double)r->csat_n));
    json_object_set_new(o, "csat_responses", json_integer(r->csat_n));
    json_object_set_new(o, "nps",
                        r->nps_n ? json_real(100.0 * (double)(r->nps_promoters
                                                      - r->nps_detractors)
                                             / (double)r->nps_n)
                                 : json_null());
    json_object_set_new(o, "nps_responses", json_integer(r->nps_n));
    set_latency(o, r);
    sent = json_object();
    json_object_set_new(sent, "positive", json_null());
    json_object_set_new(sent, "neutral", json_null());
    json_object_set_new(sent, "negative", json_null());
    json_object_set_new(sent, "scored", json_integer(0));
    json_object_set_new(o, "sentiment", sent);
    json_object_set_new(o, "metrics", json_object());
    json_object_set_new(o, "ai_cost", json_real(r->ai_cost));
    json_object_set_new(o, "cost_per_conversation",
                        ratio(r->ai_cost, (double)r->conversations));
    json_object_set_new(o, "cost_per_contained",
                        ratio(r->ai_cost, (double)contained));

    /* ROI: a per-conversation human cost wins over the hourly rate. */
    if (!isnan(t->human_cost_per_conversation))
        hc = t->human_cost_per_conversation;
    else if (!isnan(t->human_hourly_rate) && !isnan(aht))
        hc = t->human_hourly_rate * aht / 3600.0;
    fee = cs_kpi_prorated_fee(t->platform_fee, fee_from, fee_to);
    json_object_set_new(o, "platform_fee", json_real(fee));
    if (isnan(hc)) {
        json_object_set_new(o, "human_cost_per_conversation", json_null());
        json_object_set_new(o, "human_equivalent_cost", json_null());
        json_object_set_new(o, "actual_cost", json_null());
        json_object_set_new(o, "net_savings", json_null());
        json_object_set_new(o, "roi", json_null());
    } else {
        double hec = (double)r->answered * hc;
        double actual = r->ai_cost + (double)r->handed_off * hc + fee;
        double net = hec - actual;

        json_object_set_new(o, "human_cost_per_conversation", json_real(hc));
        json_object_set_new(o, "human_equivalent_cost", json_real(hec));
        json_object_set_new(o, "actual_cost", json_real(actual));
        json_object_set_new(o, "net_savings", json_real(net));
        json_object_set_new(o, "roi", ratio(net, r->ai_cost + fee));
    }
    return o;
}

json_t *cs_kpi_get(const json_t *kpis, const char *path)
{
    const json_t *cur = kpis;
    char part[256];

    while (cur && *path) {
        size_t n = strlen(path);
        json_t *next = NULL;

        /* Keys may contain dots (a span named "calendar.book"): try the
         * longest prefix that ends at a dot first. */
        for (;;) {
            snprintf(part, sizeof(part), "%.*s", (int)n, path);
            next = json_object_get(cur, part);
            if (next)
                break;
            while (n > 0 && path[--n] != '.')
                ;
            if (n == 0)
                break;
        }
        if (!next)
            return NULL;
        cur = next;
        path += n;
        if (*path == '.')
            path++;
    }
    return (json_t *)cur;
}

static int breaches(double v, const char *dir, double limit)
{
    return strcmp(dir, "below") == 0 ? v < limit : v > limit;
}

json_t *cs_kpi_alerts(const json_t *kpis, const json_t *overrides)
{
    json_t *rules = cs_config_alert_rules(overrides), *out = json_array();
    json_t *rule;
    const char *kpi;

    json_object_foreach(rules, kpi, rule) {
        json_t *v = cs_kpi_get(kpis, kpi);
        const char *dir = json_string_value(json_object_get(rule,
                                                            "direction"));
        json_t *warn = json_object_get(rule, "warning");
        json_t *crit = json_object_get(rule, "critical");
        const char *level = NULL;
        double limit = 0;

        if (!json_is_number(v) || !dir)
            continue;
        if (json_is_number(crit) &&
            breaches(json_number_value(v), dir, json_number_value(crit))) {
            level = "critical";
            limit = json_number_value(crit);
        } else if (json_is_number(warn) &&
                   breaches(json_number_value(v), dir,
                            json_number_value(warn))) {
            level = "warning";
            limit = json_number_value(warn);
        }
        if (level)
            json_array_append_new(out, json_pack("{s:s,s:O,s:s,s:f,s:s}",
                                                 "kpi", kpi, "value", v,
                                                 "level", level, "threshold",
                                                 limit, "direction", dir));
    }
    json_decref(rules);
    return out;
}

/* Per group ("" when ungrouped), per metric: {"<value as JSON>": count}. */
static void count_value(void *ctx, const char *group, const char *metric,
                        const json_t *value, long n)
{
    json_t *acc = ctx, *g, *m;
    char *key = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);

    if (!group)
        group = "";
    g = json_object_get(acc, group);
    if (!g) {
        g = json_object();
        json_object_set_new(acc, group, g);
    }
    m = json_object_get(g, metric);
    if (!m) {
        m = json_object();
        json_object_set_new(g, metric, m);
    }
    json_object_set_new(m, key, json_integer(n));
    free(key);
}

/* The type of a metric: its rubric's, else guessed from the values. */
static enum cs_rubric_type metric_type(const struct cs_rubric_set *set,
                                       const char *metric,
                                       const json_t *counts)
{
    const struct cs_rubric *r = set ? cs_rubric_set_find(set, metric) : NULL;
    const char *k;
    json_t *n;

    if (r)
        return r->type;
    json_object_foreach((json_t *)counts, k, n) {
        if (strcmp(k, "true") == 0 || strcmp(k, "false") == 0 ||
            strcmp(k, "\"partial\"") == 0)
            return CS_RUBRIC_BOOLEAN;
        if (k[0] != '"')
            return CS_RUBRIC_SCORE;
    }
    return CS_RUBRIC_CATEGORICAL;
}

/* The metric KPIs of kpis.md from value counts. */
static json_t *metric_object(enum cs_rubric_type type, const json_t *counts)
{
    json_t *o = json_object(), *labels = json_object();
    long applicable = 0, errors = 0, t = 0, f = 0, partial = 0;
    double sum = 0;
    const char *k;
    json_t *n;

    json_object_foreach((json_t *)counts, k, n) {
        long c = (long)json_integer_value(n);
        json_t *v = json_loads(k, JSON_DECODE_ANY, NULL);

        if (json_is_string(v) &&
            strcmp(json_string_value(v), "not_applicable") == 0) {
            json_decref(v);
            continue;
        }
        if (json_is_string(v) && strcmp(json_string_value(v), "error") == 0) {
            errors += c;
            json_decref(v);
            continue;
        }
        applicable += c;
        if (json_is_true(v))
            t += c;
        else if (json_is_false(v))
            f += c;
        else if (json_is_string(v) &&
                 strcmp(json_string_value(v), "partial") == 0)
            partial += c;
        if (json_is_number(v))
            sum += json_number_value(v) * (double)c;
        json_object_set_new(labels, json_is_string(v) ? json_string_value(v)
                                                      : k, json_integer(c));
        json_decref(v);
    }
    json_object_set_new(o, "type", json_string(cs_rubric_type_name(type)));
    json_object_set_new(o, "applicable", json_integer(applicable));
    if (type == CS_RUBRIC_BOOLEAN) {
        json_object_set_new(o, "true_rate",
                            ratio((double)t, (double)(t + f + partial)));
        json_object_set_new(o, "partial_rate",
                            ratio((double)partial, (double)(t + f + partial)));
        json_decref(labels);
    } else if (type == CS_RUBRIC_SCORE) {
        json_object_set_new(o, "mean", ratio(sum, (double)applicable));
        json_object_set_new(o, "counts", labels);
    } else {
        json_t *shares = json_object();
        json_t *c;

        json_object_foreach(labels, k, c) {
            json_object_set_new(shares, k,
                                ratio((double)json_integer_value(c),
                                      (double)applicable));
        }
        json_object_set_new(o, "labels", labels);
        json_object_set_new(o, "shares", shares);
    }
    json_object_set_new(o, "errors", json_integer(errors));
    return o;
}

/* Sets "metrics" and the "sentiment" shares of `o` from value counts. */
static void fill_metrics(json_t *o, const struct cs_kpi_query *q,
                         const json_t *all, const json_t *answered)
{
    const char *skey = q->sentiment_metric ? q->sentiment_metric
                                           : "customer_sentiment";
    json_t *metrics = json_object(), *sent, *counts;
    const char *metric;
    long pos, neu, neg, scored;

    json_object_foreach((json_t *)all, metric, counts) {
        json_object_set_new(metrics, metric,
                            metric_object(metric_type(q->rubrics, metric,
                                                      counts), counts));
    }
    json_object_set_new(o, "metrics", metrics);
    counts = json_object_get(answered, skey);
    pos = (long)json_integer_value(json_object_get(counts, "\"positive\""));
    neu = (long)json_integer_value(json_object_get(counts, "\"neutral\""));
    neg = (long)json_integer_value(json_object_get(counts, "\"negative\""));
    scored = pos + neu + neg;
    sent = json_object_get(o, "sentiment");
    json_object_set_new(sent, "positive", ratio((double)pos, (double)scored));
    json_object_set_new(sent, "neutral", ratio((double)neu, (double)scored));
    json_object_set_new(sent, "negative", ratio((double)neg, (double)scored));
    json_object_set_new(sent, "scored", json_integer(scored));
}

/*
 * Fills "metrics" and "sentiment" from the stored results: of `o` when
 * ungrouped, else of each group object of `groups` (keyed like the
 * store's groups).
 */
static int add_metrics(json_t *o, json_t *groups, struct cs_store *st,
                       const struct cs_kpi_query *q, const char *tenant,
                       const char *from, const char *to, const char *tz,
                       enum cs_kpi_by by, struct cs_err *err)
{
    json_t *all = json_object(), *answered = json_object(), *g;
    const char *key;
    int ret;

    ret = cs_store_result_counts(st, tenant, from, to, tz, by, 0,
                                 count_value, all, err);
    if (!ret)
        ret = cs_store_result_counts(st, tenant, from, to, tz, by, 1,
                                     count_value, answered, err);
    if (ret)
        goto done;
    if (by == CS_KPI_BY_NONE) {
        fill_metrics(o, q, json_object_get(all, ""),
                     json_object_get(answered, ""));
    } else {
        json_object_foreach(groups, key, g) {
            fill_metrics(g, q, json_object_get(all, key),
                         json_object_get(answered, key));
        }
    }
done:
    json_decref(all);
    json_decref(answered);
    return ret;
}

/* KPIs of one tenant over [from, to), optionally grouped into `by_key`. */
static int tenant_kpis(json_t **out, struct cs_store *st,
                       const struct cs_kpi_query *q,
                       const struct cs_tenant_cfg *t, int64_t from,
                       int64_t to, const char *tz, enum cs_kpi_by by,
                       struct cs_err *err)
{
    struct cs_kpi_raw *raw = NULL;
    size_t n = 0;
    char f[11], e[11];
    json_t *o;
    int ret;

    *out = NULL;
    cs_format_date(from, f);
    cs_format_date(to, e);
    ret = cs_store_kpi_raw(&raw, &n, st, t->name, f, e, tz, CS_KPI_BY_NONE,
                           err);
    if (ret)
        return ret;
    o = cs_kpi_object(&raw[0], t, from, to);
    cs_kpi_raw_free(raw, n);
    ret = add_metrics(o, NULL, st, q, t->name, f, e, tz, CS_KPI_BY_NONE,
                      err);
    if (ret) {
        json_decref(o);
        return ret;
    }
    if (by != CS_KPI_BY_NONE) {
        json_t *groups = json_object();

        ret = cs_store_kpi_raw(&raw, &n, st, t->name, f, e, tz, by, err);
        if (ret) {
            json_decref(groups);
            json_decref(o);
            return ret;
        }
        for (size_t i = 0; i < n; i++) {
            int64_t day = 0;
            json_t *g;

            /* A day carries its own share of the fee; an agent none. */
            if (by == CS_KPI_BY_DAY && raw[i].group)
                cs_parse_date(raw[i].group, &day);
            g = cs_kpi_object(&raw[i], t, day,
                              by == CS_KPI_BY_DAY ? day + 1 : day);
            json_object_set_new(groups, raw[i].group ? raw[i].group : "", g);
        }
        cs_kpi_raw_free(raw, n);
        ret = add_metrics(o, groups, st, q, t->name, f, e, tz, by, err);
        json_object_set_new(o, by == CS_KPI_BY_DAY ? "by_day" : "by_agent",
                            groups);
        if (ret) {
            json_decref(o);
            return ret;
        }
    }
    *out = o;
    return 0;
}

int cs_kpi_compute(json_t **out, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_kpi_query *q, struct cs_err *err)
{
    json_t *report = NULL, *tenants;
    char **names = NULL;
    char *one[2] = {NULL, NULL};
    int64_t from, to;
    int ret;

    *out = NULL;
    if (cs_parse_date(q->from, &from) || cs_parse_date(q->to, &to))
        return cs_err_set(err, CS_EINVALID, "dates must be YYYY-MM-DD");
    if (to <= from)
        return cs_err_set(err, CS_EINVALID, "--to must be after --from");
    if (q->tz) {
        ret = cs_store_check_tz(st, q->tz, err);
        if (ret)
            return ret;
    }
    if (q->tenant) {
        one[0] = (char *)q->tenant;
    } else {
        ret = cs_store_tenants(&names, st, q->from, q->to, err);
        if (ret)
            return ret;
    }
    report = json_object();
    json_object_set_new(report, "from", json_string(q->from));
    json_object_set_new(report, "to", json_string(q->to));
    json_object_set_new(report, "tz", q->tz ? json_string(q->tz)
                                            : json_string("per-tenant"));
    tenants = json_object();
    json_object_set_new(report, "tenants", tenants);
    for (char **p = q->tenant ? one : names; *p; p++) {
        struct cs_tenant_cfg t;
        const char *tz;
        json_t *o = NULL, *prev = NULL;

        cs_config_tenant(&t, cfg, *p, NULL);
        tz = q->tz ? q->tz : t.timezone;
        ret = q->tz ? 0 : cs_store_check_tz(st, tz, err);
        if (!ret)
            ret = tenant_kpis(&o, st, q, &t, from, to, tz, q->by, err);
        if (!ret && json_integer_value(json_object_get(o, "conversations"))
                        == 0 && !q->tenant) {
            json_decref(o); /* only slack-day data: not in this period */
            cs_tenant_cfg_release(&t);
            continue;
        }
        if (!ret && q->compare)
            ret = tenant_kpis(&prev, st, q, &t, from - (to - from), from,
                              tz, CS_KPI_BY_NONE, err);
        if (ret) {
            json_decref(o);
            cs_tenant_cfg_release(&t);
            goto done;
        }
        json_object_set_new(o, "tz", json_string(tz));
        json_object_set_new(o, "currency", json_string(t.currency));
        json_object_set_new(o, "alerts", cs_kpi_alerts(o, t.alerts));
        if (prev)
            json_object_set_new(o, "previous", prev);
        json_object_set_new(tenants, *p, o);
        cs_tenant_cfg_release(&t);
    }
    *out = report;
    report = NULL;
    ret = 0;
done:
    json_decref(report);
    cs_strv_free(names);
    return ret;
}
