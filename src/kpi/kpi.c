/* kpi.c - KPIs, ROI, comparisons and alerts into the report model */
#include "kpi/kpi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/parse.h"
#include "config/alerts.h"
#include "kpi/movers.h"
#include "store/report_data.h"
#include "store/review.h"
#include "store/results.h"

static double ratio(double num, double den)
{
    return den != 0 ? num / den : NAN;
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

/* The human cost of one conversation: per conversation wins over the
 * hourly rate x AHT; NAN when neither is configured. */
static double human_cost(const struct cs_tenant_cfg *t, double aht)
{
    if (!isnan(t->human_cost_per_conversation))
        return t->human_cost_per_conversation;
    if (!isnan(t->human_hourly_rate) && !isnan(aht))
        return t->human_hourly_rate * aht / 3600.0;
    return NAN;
}

/* The sample standard deviation from n, sum and sum of squares (NAN for
 * fewer than two). */
static double sd_of(double n, double sum, double sq)
{
    double var;

    if (!(n >= 2))
        return NAN;
    var = (sq - sum * sum / n) / (n - 1);
    return var > 0 ? sqrt(var) : 0;
}

/* The denominators of the rates and the spread of the means, for the
 * significance tests of the movers. */
static void fill_spread(struct cs_kpi_set *s, const struct cs_kpi_raw *r)
{
    double *n = s->n, *sd = s->sd;
    double answered = (double)r->answered;

    n[CS_KPI_ANSWER_RATE] = (double)r->inbound;
    n[CS_KPI_ABANDONMENT_RATE] = (double)r->inbound;
    n[CS_KPI_OUTBOUND_ANSWER_RATE] = (double)r->outbound;
    n[CS_KPI_CONTAINMENT_RATE] = answered;
    n[CS_KPI_HANDOFF_RATE] = answered;
    n[CS_KPI_ERROR_RATE] = (double)r->conversations;
    n[CS_KPI_CONNECTOR_SUCCESS_RATE] = (double)r->tools_total;
    n[CS_KPI_AHT_S] = (double)r->aht_n;
    sd[CS_KPI_AHT_S] = sd_of((double)r->aht_n, r->aht_sum, r->aht_sq);
    n[CS_KPI_ASA_S] = answered;
    sd[CS_KPI_ASA_S] = sd_of(answered, r->asa_sum, r->asa_sq);
    n[CS_KPI_AVG_TURNS] = answered;
    sd[CS_KPI_AVG_TURNS] = sd_of(answered, r->turns_sum, r->turns_sq);
    n[CS_KPI_CSAT_AVG] = (double)r->csat_n;
    sd[CS_KPI_CSAT_AVG] = sd_of((double)r->csat_n, r->csat_sum, r->csat_sq);
    n[CS_KPI_COST_PER_CONVERSATION] = (double)r->conversations;
    sd[CS_KPI_COST_PER_CONVERSATION] = sd_of((double)r->conversations,
                                             r->ai_cost, r->cost_sq);
}

/* The operational KPIs and ROI of one group, charged `fee`. */
static void fill_set(struct cs_kpi_set *s, const struct cs_kpi_raw *r,
                     const struct cs_tenant_cfg *t, double fee)
{
    double *v = s->v;
    long contained = r->answered - r->handed_off;
    double hc;

    v[CS_KPI_CONVERSATIONS] = (double)r->conversations;
    v[CS_KPI_INBOUND] = (double)r->inbound;
    v[CS_KPI_OUTBOUND] = (double)r->outbound;
    v[CS_KPI_ANSWERED] = (double)r->answered;
    v[CS_KPI_HANDED_OFF] = (double)r->handed_off;
    v[CS_KPI_CONTAINED] = (double)contained;
    v[CS_KPI_ANSWER_RATE] = ratio((double)r->answered_inbound,
                                  (double)r->inbound);
    v[CS_KPI_OUTBOUND_ANSWER_RATE] = ratio((double)r->answered_outbound,
                                           (double)r->outbound);
    v[CS_KPI_CONTAINMENT_RATE] = ratio((double)contained,
                                       (double)r->answered);
    v[CS_KPI_HANDOFF_RATE] = ratio((double)r->handed_off,
                                   (double)r->answered);
    v[CS_KPI_ABANDONMENT_RATE] = ratio((double)r->abandoned_inbound,
                                       (double)r->inbound);
    v[CS_KPI_ERROR_RATE] = ratio((double)r->failed,
                                 (double)r->conversations);
    v[CS_KPI_AHT_S] = ratio(r->aht_sum, (double)r->aht_n);
    v[CS_KPI_ASA_S] = ratio(r->asa_sum, (double)r->answered);
    v[CS_KPI_AVG_TURNS] = ratio(r->turns_sum, (double)r->answered);
    v[CS_KPI_CONNECTOR_SUCCESS_RATE] = ratio((double)r->tools_ok,
                                             (double)r->tools_total);
    v[CS_KPI_WORK_TICKET] = (double)r->created_ticket;
    v[CS_KPI_WORK_CRM_UPDATE] = (double)r->created_crm;
    v[CS_KPI_WORK_APPOINTMENT] = (double)r->created_appt;
    v[CS_KPI_WORK_TOTAL] = (double)(r->created_ticket + r->created_crm +
                                    r->created_appt);
    v[CS_KPI_CSAT_AVG] = ratio(r->csat_sum, (double)r->csat_n);
    v[CS_KPI_CSAT_RESPONSES] = (double)r->csat_n;
    v[CS_KPI_NPS] = r->nps_n ? 100.0 * (double)(r->nps_promoters -
                                                r->nps_detractors) /
                                   (double)r->nps_n
                             : NAN;
    v[CS_KPI_NPS_RESPONSES] = (double)r->nps_n;
    v[CS_KPI_SENTIMENT_SCORED] = 0;
    for (size_t i = 0; i < r->n_latency; i++) {
        const struct cs_kpi_latency *l = &r->latency[i];
        struct cs_latency_kpi *o = cs_kpi_set_add_latency(s, l->name);

        o->p50 = l->p50;
        o->p95 = l->p95;
        o->p99 = l->p99;
        o->count = l->count;
    }
    fill_spread(s, r);
    v[CS_KPI_AI_COST] = r->ai_cost;
    v[CS_KPI_COST_PER_CONVERSATION] = ratio(r->ai_cost,
                                            (double)r->conversations);
    v[CS_KPI_COST_PER_CONTAINED] = ratio(r->ai_cost, (double)contained);
    v[CS_KPI_PLATFORM_FEE] = fee;
    hc = human_cost(t, v[CS_KPI_AHT_S]);
    v[CS_KPI_HUMAN_COST_PER_CONVERSATION] = hc;
    if (!isnan(hc)) {
        double hec = (double)r->answered * hc;
        double people = (double)r->handed_off * hc;
        double actual = r->ai_cost + people + fee;

        v[CS_KPI_HUMAN_EQUIVALENT_COST] = hec;
        v[CS_KPI_HANDOFF_PEOPLE_COST] = people;
        v[CS_KPI_ACTUAL_COST] = actual;
        v[CS_KPI_NET_SAVINGS] = hec - actual;
        v[CS_KPI_ROI] = ratio(hec - actual, r->ai_cost + fee);
    }
}

void cs_kpi_rules(struct cs_threshold **out, size_t *n_out,
                  const json_t *overrides)
{
    json_t *rules = cs_config_alert_rules(overrides), *rule;
    struct cs_threshold *v = NULL;
    size_t n = 0;
    const char *kpi;

    json_object_foreach(rules, kpi, rule) {
        const char *dir = json_string_value(json_object_get(rule,
                                                            "direction"));
        json_t *warn = json_object_get(rule, "warning");
        json_t *crit = json_object_get(rule, "critical");

        if (!dir)
            continue;
        v = cs_xrealloc(v, (n + 1) * sizeof(*v));
        v[n].kpi = cs_xstrdup(kpi);
        v[n].below = strcmp(dir, "below") == 0;
        v[n].warning = json_is_number(warn) ? json_number_value(warn) : NAN;
        v[n].critical = json_is_number(crit) ? json_number_value(crit)
                                             : NAN;
        n++;
    }
    json_decref(rules);
    *out = v;
    *n_out = n;
}

void cs_kpi_alerts(struct cs_kpi_set *s, const struct cs_threshold *th,
                   size_t n)
{
    for (size_t i = 0; i < n; i++) {
        enum cs_unit unit;
        double v = cs_kpi_set_value(s, th[i].kpi, &unit);
        int level = cs_threshold_level(&th[i], v);

        if (level)
            cs_kpi_set_add_alert(s, th[i].kpi, unit, v,
                                 level == 2 ? th[i].critical
                                            : th[i].warning,
                                 level == 2, th[i].below);
    }
}

/* Where the value counts of one query go: the sets by group. */
struct count_ctx {
    struct cs_kpi_set *sets;
    size_t n;
    int answered_only;
    const char *sentiment;
};

static struct cs_kpi_set *set_of(struct count_ctx *c, const char *group)
{
    for (size_t i = 0; i < c->n; i++) {
        const char *g = c->sets[i].group;

        if ((!g && !group) || (g && group && strcmp(g, group) == 0))
            return &c->sets[i];
    }
    return NULL;
}

static void count_value(void *vctx, const char *group, const char *metric,
                        const json_t *value, long n)
{
    struct count_ctx *c = vctx;
    struct cs_kpi_set *s = set_of(c, group);
    struct cs_metric_kpi *m;
    char *text;
    size_t i;

    if (!s)
        return;
    if (c->answered_only) {
        const char *label = json_string_value(value);
        enum cs_kpi_id id;

        if (strcmp(metric, c->sentiment) != 0 || !label)
            return;
        if (strcmp(label, "positive") == 0)
            id = CS_KPI_SENTIMENT_POSITIVE;
        else if (strcmp(label, "neutral") == 0)
            id = CS_KPI_SENTIMENT_NEUTRAL;
        else if (strcmp(label, "negative") == 0)
            id = CS_KPI_SENTIMENT_NEGATIVE;
        else
            return;
        s->v[id] = (isnan(s->v[id]) ? 0 : s->v[id]) + (double)n;
        return;
    }
    m = cs_kpi_set_find_metric(s, metric);
    if (!m)
        m = cs_kpi_set_add_metric(s, metric);
    /* Counted under the value's JSON text until the type is known; kept
     * in the store's order. */
    text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    for (i = 0; i < m->n_counts; i++) {
        if (strcmp(m->counts[i].label, text) == 0)
            break;
    }
    if (i == m->n_counts) {
        m->counts = cs_xrealloc(m->counts,
                                (m->n_counts + 1) * sizeof(*m->counts));
        m->counts[i].label = text;
        m->counts[i].num = json_is_number(value) ? json_number_value(value)
                                                 : NAN;
        m->counts[i].count = 0;
        m->n_counts++;
        text = NULL;
    }
    m->counts[i].count += n;
    free(text);
}

/* The type of a metric: its rubric's, else guessed from the values. */
static enum cs_metric_type guess_type(const struct cs_metric_kpi *m)
{
    for (size_t i = 0; i < m->n_counts; i++) {
        const char *k = m->counts[i].label;

        if (strcmp(k, "true") == 0 || strcmp(k, "false") == 0 ||
            strcmp(k, "\"partial\"") == 0)
            return CS_METRIC_BOOLEAN;
        if (k[0] != '"')
            return CS_METRIC_SCORE;
    }
    return CS_METRIC_CATEGORICAL;
}

static void set_metric_meta(struct cs_metric_kpi *m,
                            const struct cs_rubric_set *set)
{
    const struct cs_rubric *r = set ? cs_rubric_set_find(set, m->key) : NULL;
    const struct cs_scorecard *sc = set && !r ? cs_scorecard_find(set,
                                                                  m->key)
                                              : NULL;

    if (sc) {
        m->type = CS_METRIC_SCORECARD;
        free(m->name);
        m->name = cs_xstrdup(sc->name ? sc->name : m->key);
        m->direction = CS_DIR_HIGHER_IS_GOOD;
        m->pass_mark = sc->pass_mark;
        m->scale_min = 0;
        m->scale_max = 100;
        return;
    }
    if (!r) {
        m->type = guess_type(m);
        return;
    }
    m->min_kappa = r->min_kappa;
    m->type = r->type == CS_RUBRIC_BOOLEAN ? CS_METRIC_BOOLEAN
              : r->type == CS_RUBRIC_SCORE ? CS_METRIC_SCORE
                                           : CS_METRIC_CATEGORICAL;
    free(m->name);
    m->name = cs_xstrdup(r->name ? r->name : m->key);
    free(m->definition);
    m->definition = r->definition ? cs_xstrdup(r->definition) : NULL;
    if (r->direction == CS_RUBRIC_LOWER_IS_GOOD)
        m->direction = CS_DIR_LOWER_IS_GOOD;
    else if (r->direction == CS_RUBRIC_NEUTRAL)
        m->direction = CS_DIR_NEUTRAL;
    else
        m->direction = CS_DIR_HIGHER_IS_GOOD;
    if (r->type == CS_RUBRIC_SCORE) {
        m->scale_min = (double)r->scale_min;
        m->scale_max = (double)r->scale_max;
    }
}

/* From the value counts to the metric KPIs of docs/kpis.md: applicable,
 * errors, rates or mean; the counts keep the labels (strings unquoted)
 * of categorical and score metrics only. */
static void finish_metric(struct cs_metric_kpi *m,
                          const struct cs_rubric_set *set)
{
    long t = 0, f = 0, partial = 0;
    double sum = 0, sq = 0;
    size_t keep = 0;

    set_metric_meta(m, set);
    for (size_t i = 0; i < m->n_counts; i++) {
        struct cs_metric_count *c = &m->counts[i];
        json_t *v = json_loads(c->label, JSON_DECODE_ANY, NULL);
        const char *s = json_string_value(v);

        if (s && (strcmp(s, "not_applicable") == 0 ||
                  strcmp(s, "error") == 0)) {
            if (strcmp(s, "error") == 0)
                m->errors += c->count;
            free(c->label);
            json_decref(v);
            continue;
        }
        m->applicable += c->count;
        if (json_is_true(v))
            t += c->count;
        else if (json_is_false(v))
            f += c->count;
        else if (s && strcmp(s, "partial") == 0)
            partial += c->count;
        if (json_is_number(v)) {
            sum += json_number_value(v) * (double)c->count;
            sq += json_number_value(v) * json_number_value(v) *
                  (double)c->count;
        }
        if (s) {
            char *label = cs_xstrdup(s);

            free(c->label);
            c->label = label;
        }
        m->counts[keep++] = *c;
        json_decref(v);
    }
    m->n_counts = keep;
    if (m->type == CS_METRIC_SCORECARD) {
        long below = 0;

        for (size_t i = 0; i < m->n_counts; i++) {
            const struct cs_metric_count *c = &m->counts[i];

            if (isnan(c->num))
                continue;
            m->buckets[cs_scorecard_bucket_of(c->num)] += c->count;
            below += c->num < m->pass_mark ? c->count : 0;
        }
        m->mean = ratio(sum, (double)m->applicable);
        m->sd = sd_of((double)m->applicable, sum, sq);
        m->below_pass_rate = ratio((double)below, (double)m->applicable);
        for (size_t i = 0; i < m->n_counts; i++)
            free(m->counts[i].label);
        m->n_counts = 0;
    } else if (m->type == CS_METRIC_BOOLEAN) {
        m->true_rate = ratio((double)t, (double)(t + f + partial));
        m->partial_rate = ratio((double)partial, (double)(t + f + partial));
        for (size_t i = 0; i < m->n_counts; i++)
            free(m->counts[i].label);
        m->n_counts = 0;
    } else if (m->type == CS_METRIC_SCORE) {
        m->mean = ratio(sum, (double)m->applicable);
        m->sd = sd_of((double)m->applicable, sum, sq);
    }
}

/* A tenant's KPIs list only its metrics: those of a rubric or scorecard
 * of the set that is for other tenants are left out (results stored
 * before it was limited to them); metrics the set does not know (the
 * agent's own, or of removed rubrics) stay. */
static void drop_foreign(struct cs_kpi_set *s, const struct cs_rubric_set *set,
                         const char *tenant)
{
    size_t keep = 0;

    for (size_t j = 0; j < s->n_metrics; j++) {
        const char *key = s->metrics[j].key;
        int known = set && (cs_rubric_set_find(set, key) ||
                            cs_scorecard_find(set, key));

        if (known && !cs_rubric_set_has(set, key, tenant)) {
            struct cs_kpi_set one;

            /* Released through a set holding only it. */
            cs_kpi_set_init(&one);
            one.metrics = cs_xmalloc(sizeof(*one.metrics));
            one.metrics[0] = s->metrics[j];
            one.n_metrics = 1;
            cs_kpi_set_release(&one);
            continue;
        }
        s->metrics[keep++] = s->metrics[j];
    }
    s->n_metrics = keep;
}

/* Fills the metric and sentiment KPIs of `sets` (grouped like `by`). */
static int add_metrics(struct cs_kpi_set *sets, size_t n,
                       struct cs_store *st, const struct cs_kpi_query *q,
                       const char *tenant, const char *from, const char *to,
                       const char *tz, enum cs_kpi_by by, struct cs_err *err)
{
    struct count_ctx c = {sets, n, 0, q->sentiment_metric
                                          ? q->sentiment_metric
                                          : "customer_sentiment"};
    int ret;

    ret = cs_store_result_counts(st, tenant, from, to, tz, by, 0,
                                 count_value, &c, err);
    if (ret)
        goto done;
    c.answered_only = 1;
    ret = cs_store_result_counts(st, tenant, from, to, tz, by, 1,
                                 count_value, &c, err);
    if (ret)
        goto done;
    for (size_t i = 0; i < n; i++) {
        double *v = sets[i].v, scored = 0;

        drop_foreign(&sets[i], q->rubrics, tenant);
        for (size_t j = 0; j < sets[i].n_metrics; j++)
            finish_metric(&sets[i].metrics[j], q->rubrics);
        for (int k = CS_KPI_SENTIMENT_POSITIVE;
             k <= CS_KPI_SENTIMENT_NEGATIVE; k++)
            scored += isnan(v[k]) ? 0 : v[k];
        for (int k = CS_KPI_SENTIMENT_POSITIVE;
             k <= CS_KPI_SENTIMENT_NEGATIVE; k++)
            v[k] = ratio(isnan(v[k]) ? 0 : v[k], scored);
        v[CS_KPI_SENTIMENT_SCORED] = scored;
        sets[i].n[CS_KPI_SENTIMENT_POSITIVE] = scored;
        sets[i].n[CS_KPI_SENTIMENT_NEGATIVE] = scored;
    }
done:
    return ret;
}

static const struct cs_kpi_raw *raw_of(const struct cs_kpi_raw *raw,
                                       size_t n, const char *group)
{
    for (size_t i = 0; i < n; i++) {
        if (raw[i].group && strcmp(raw[i].group, group) == 0)
            return &raw[i];
    }
    return NULL;
}

/*
 * The sets of one tenant's local days [from, to), grouped by `by`: one set
 * for the whole period; one per local day, days without conversations
 * too, so that the days' fee shares add up to the period's; or one per
 * agent with conversations, each charged the period's fee in proportion
 * to its conversations. *out is a new array of *n_out sets (their
 * metrics and sentiment too); on error it holds what was filled.
 */
static int sets_of(struct cs_kpi_set **out, size_t *n_out,
                   struct cs_store *st, const struct cs_kpi_query *q,
                   const struct cs_tenant_cfg *t, int64_t from, int64_t to,
                   const char *tz, enum cs_kpi_by by, struct cs_err *err)
{
    static const struct cs_kpi_raw empty;
    double fee = cs_kpi_prorated_fee(t->platform_fee, from, to), total = 0;
    struct cs_kpi_raw *raw = NULL;
    struct cs_kpi_set *v = NULL;
    size_t n = 0, m = 0;
    char f[11], e[11];
    int ret;

    cs_format_date(from, f);
    cs_format_date(to, e);
    *out = NULL;
    *n_out = 0;
    ret = cs_store_kpi_raw(&raw, &n, st, t->name, f, e, tz, by, err);
    if (ret)
        goto done;
    m = by == CS_KPI_BY_DAY ? (size_t)(to - from) : n;
    v = cs_xcalloc(m ? m : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        total += (double)raw[i].conversations;
    for (size_t i = 0; i < m; i++) {
        struct cs_kpi_set *s = &v[i];

        cs_kpi_set_init(s);
        if (by == CS_KPI_BY_DAY) {
            char day[11];
            const struct cs_kpi_raw *r;

            cs_format_date(from + (int64_t)i, day);
            r = raw_of(raw, n, day);
            s->group = cs_xstrdup(day);
            fill_set(s, r ? r : &empty, t,
                     cs_kpi_prorated_fee(t->platform_fee,
                                         from + (int64_t)i,
                                         from + (int64_t)i + 1));
        } else if (by == CS_KPI_BY_AGENT) {
            s->group = cs_xstrdup(raw[i].group ? raw[i].group : "");
            fill_set(s, &raw[i], t,
                     total > 0 ? fee * (double)raw[i].conversations / total
                               : 0);
        } else {
            fill_set(s, &raw[i], t, fee);
        }
    }
    *out = v;
    *n_out = m;
    ret = add_metrics(v, m, st, q, t->name, f, e, tz, by, err);
done:
    cs_kpi_raw_free(raw, n);
    return ret;
}

/* The whole period as one set, moved into `out`. */
static int period_set(struct cs_kpi_set *out, struct cs_store *st,
                      const struct cs_kpi_query *q,
                      const struct cs_tenant_cfg *t, int64_t from,
                      int64_t to, const char *tz, struct cs_err *err)
{
    struct cs_kpi_set *v = NULL;
    size_t n = 0;
    int ret = sets_of(&v, &n, st, q, t, from, to, tz, CS_KPI_BY_NONE, err);

    if (n) {
        cs_kpi_set_release(out);
        *out = v[0];
    }
    free(v);
    return ret;
}

static void add_tool(void *ctx, const char *name, long calls, long ok)
{
    struct cs_report_tenant *t = ctx;
    struct cs_tool_kpi *k;

    t->tools = cs_xrealloc(t->tools, (t->n_tools + 1) * sizeof(*t->tools));
    k = &t->tools[t->n_tools++];
    k->name = cs_xstrdup(name);
    k->calls = calls;
    k->ok = ok;
}

/* The evaluator and version most results of a metric carry (the store
 * gives them most frequent first). */
static void add_source(void *ctx, const char *metric, const char *evaluator,
                       const char *version, long n)
{
    struct cs_metric_kpi *m = cs_kpi_set_find_metric(ctx, metric);

    (void)n;
    if (!m || m->evaluator)
        return;
    m->evaluator = cs_xstrdup(evaluator);
    m->version = cs_xstrdup(version);
}

static void add_look(void *ctx, const char *id, const char *started,
                     const char *agent, unsigned reasons,
                     const char *failed_metric)
{
    struct cs_report_tenant *t = ctx;
    struct cs_look_item *l;

    t->look = cs_xrealloc(t->look, (t->n_look + 1) * sizeof(*t->look));
    l = &t->look[t->n_look++];
    l->id = cs_xstrdup(id);
    snprintf(l->started, sizeof(l->started), "%s", started);
    l->agent = agent ? cs_xstrdup(agent) : NULL;
    l->reasons = reasons;
    l->failed_metric = failed_metric ? cs_xstrdup(failed_metric) : NULL;
}

/* The store's reasons are the model's. */
_Static_assert((unsigned)CS_REVIEW_NEGATIVE_HANDOFF ==
                       (unsigned)CS_LOOK_NEGATIVE_HANDOFF &&
                   (unsigned)CS_REVIEW_CONNECTOR_FAILURE ==
                       (unsigned)CS_LOOK_CONNECTOR_FAILURE &&
                   (unsigned)CS_REVIEW_FAILED_METRIC ==
                       (unsigned)CS_LOOK_FAILED_METRIC,
               "review reasons differ");

/* Tools, where each metric's results came from, coverage and the
 * conversations worth a look: a boolean metric failed when its bad
 * value (false, or true for a lower-is-good metric) is current. */
static int add_details(struct cs_report_tenant *rt, struct cs_store *st,
                       const struct cs_kpi_query *q, const char *f,
                       const char *e, const char *tz, struct cs_err *err)
{
    const char **bad_false = cs_xcalloc(rt->cur.n_metrics + 1,
                                        sizeof(*bad_false));
    const char **bad_true = cs_xcalloc(rt->cur.n_metrics + 1,
                                       sizeof(*bad_true));
    size_t nf = 0, nt = 0;
    int ret;

    rt->has_details = 1;
    ret = cs_store_tool_stats(st, rt->name, f, e, tz, add_tool, rt, err);
    if (!ret)
        ret = cs_store_metric_sources(st, rt->name, f, e, tz, add_source,
                                      &rt->cur, err);
    if (!ret)
        ret = cs_store_scored_count(&rt->scored, st, rt->name, f, e, tz,
                                    err);
    if (ret)
        goto done;
    for (size_t i = 0; i < rt->cur.n_metrics; i++) {
        const struct cs_metric_kpi *m = &rt->cur.metrics[i];

        if (m->type != CS_METRIC_BOOLEAN || m->direction == CS_DIR_NEUTRAL)
            continue;
        if (m->direction == CS_DIR_HIGHER_IS_GOOD)
            bad_false[nf++] = m->key;
        else
            bad_true[nt++] = m->key;
    }
    if (q->skip_look)
        goto done;
    ret = cs_store_review(st, rt->name, f, e, tz,
                          q->sentiment_metric ? q->sentiment_metric
                                              : "customer_sentiment",
                          bad_false, bad_true,
                          q->look_limit > 0 ? q->look_limit : 10,
                          &rt->look_total, add_look, rt, err);
done:
    free(bad_false);
    free(bad_true);
    return ret;
}

static int is_iso_offset(const char *s)
{
    /* ±hh:mm or ±hhmm or ±hh */
    size_t n = strlen(s);

    if ((s[0] != '+' && s[0] != '-') || (n != 3 && n != 5 && n != 6))
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (n == 6 && i == 3) {
            if (s[i] != ':')
                return 0;
        } else if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

int cs_kpi_tz_sql(char **sql_out, struct cs_store *st, const char *tz,
                  struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;
    int ret;

    *sql_out = NULL;
    if ((strncmp(tz, "UTC", 3) == 0 || strncmp(tz, "GMT", 3) == 0) &&
        (tz[3] == '+' || tz[3] == '-')) {
        ret = cs_err_set(err, CS_EINVALID,
                         "time zone '%s' is ambiguous: write an ISO 8601 "
                         "offset such as '%c%s' (east of UTC positive) "
                         "or a zone name such as 'Europe/Berlin'",
                         tz, tz[3], tz + 4);
        goto done;
    }
    if (is_iso_offset(tz)) {
        /* PostgreSQL reads a bare offset the POSIX way (west positive). */
        cs_buf_addch(&b, tz[0] == '+' ? '-' : '+');
        cs_buf_adds(&b, tz + 1);
    } else {
        cs_buf_adds(&b, tz);
    }
    ret = cs_store_check_tz(st, b.ptr, err);
    if (ret) {
        ret = cs_err_set(err, ret, "unknown time zone '%s'", tz);
        goto done;
    }
    *sql_out = cs_buf_detach(&b, NULL);
done:
    cs_buf_release(&b);
    return ret;
}

static void tenant_meta(struct cs_report_tenant *rt,
                        const struct cs_tenant_cfg *t, const char *tz)
{
    free(rt->display_name);
    rt->display_name = cs_xstrdup(t->display_name ? t->display_name
                                                  : t->name);
    rt->tz = cs_xstrdup(tz);
    snprintf(rt->fmt.currency, sizeof(rt->fmt.currency), "%s", t->currency);
    snprintf(rt->fmt.symbol, sizeof(rt->fmt.symbol), "%s",
             t->currency_symbol);
    snprintf(rt->fmt.decimal, sizeof(rt->fmt.decimal), "%s",
             t->decimal_separator);
    snprintf(rt->fmt.thousands, sizeof(rt->fmt.thousands), "%s",
             t->thousands_separator);
}

/* Every set of one tenant: the period, its breakdown, the comparisons. */
static int tenant_report(struct cs_report *r, struct cs_store *st,
                         const struct cs_kpi_query *q,
                         const struct cs_tenant_cfg *t, int64_t from,
                         int64_t to, const int64_t prev[2], const char *tz,
                         const char *sql_tz, struct cs_err *err)
{
    struct cs_kpi_set cur;
    struct cs_report_tenant *rt;
    int ret;

    cs_kpi_set_init(&cur);
    ret = period_set(&cur, st, q, t, from, to, sql_tz, err);
    if (ret)
        goto done;
    if (cur.v[CS_KPI_CONVERSATIONS] == 0 && !q->tenant)
        goto done; /* only slack-day data: not in this period */
    rt = cs_report_add_tenant(r, t->name);
    rt->cur = cur;
    cs_kpi_set_init(&cur);
    tenant_meta(rt, t, tz);
    cs_kpi_rules(&rt->thresholds, &rt->n_thresholds, t->alerts);
    if (q->by == CS_KPI_BY_DAY) {
        rt->by = CS_REPORT_BY_DAY;
        ret = sets_of(&rt->groups, &rt->n_groups, st, q, t, from, to,
                      sql_tz, CS_KPI_BY_DAY, err);
        if (!ret && q->compare && q->details)
            ret = sets_of(&rt->prev_groups, &rt->n_prev_groups, st, q, t,
                          prev[0], prev[1], sql_tz, CS_KPI_BY_DAY, err);
        if (ret)
            goto done;
        /* Each day's alerts (a monthly report lists them). */
        for (size_t i = 0; i < rt->n_groups; i++)
            cs_kpi_alerts(&rt->groups[i], rt->thresholds, rt->n_thresholds);
    } else if (q->by == CS_KPI_BY_AGENT) {
        rt->by = CS_REPORT_BY_AGENT;
        rt->fee_allocated = 1;
        ret = sets_of(&rt->groups, &rt->n_groups, st, q, t, from, to,
                      sql_tz, CS_KPI_BY_AGENT, err);
        if (ret)
            goto done;
    }
    if (q->details) {
        char f[11], e[11];

        cs_format_date(from, f);
        cs_format_date(to, e);
        ret = add_details(rt, st, q, f, e, sql_tz, err);
        if (ret)
            goto done;
    }
    if (q->compare) {
        rt->cmp[CS_CMP_PREVIOUS] = cs_kpi_set_new();
        ret = period_set(rt->cmp[CS_CMP_PREVIOUS], st, q, t, prev[0],
                         prev[1], sql_tz, err);
        if (ret)
            goto done;
    }
    if (q->last_week) {
        struct cs_kpi_set *w = cs_kpi_set_new();

        rt->cmp[CS_CMP_LAST_WEEK] = w;
        ret = period_set(w, st, q, t, from - 7, to - 7, sql_tz, err);
        if (ret)
            goto done;
        rt->cmp_absent[CS_CMP_LAST_WEEK] = w->v[CS_KPI_CONVERSATIONS] == 0;
        cs_kpi_alerts(w, rt->thresholds, rt->n_thresholds);
    }
    if (rt->cmp[CS_CMP_PREVIOUS])
        cs_kpi_alerts(rt->cmp[CS_CMP_PREVIOUS], rt->thresholds,
                      rt->n_thresholds);
    cs_kpi_alerts(&rt->cur, rt->thresholds, rt->n_thresholds);
    cs_report_tenant_finish(rt);
done:
    cs_kpi_set_release(&cur);
    return ret;
}

/* The last calibrations, by metric. */
struct calibs {
    struct cs_calibration_kpi *v;
    char **metric;
    size_t n;
};

static void add_calibration(void *ctx, const struct cs_calibration_row *row)
{
    struct calibs *c = ctx;
    struct cs_calibration_kpi *k;

    c->v = cs_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
    c->metric = cs_xrealloc(c->metric, (c->n + 1) * sizeof(*c->metric));
    k = &c->v[c->n];
    memset(k, 0, sizeof(*k));
    snprintf(k->measured_at, sizeof(k->measured_at), "%s", row->measured_at);
    k->labels_sha256 = cs_xstrdup(row->labels_sha256);
    k->version = row->version ? cs_xstrdup(row->version) : NULL;
    k->evaluator = row->evaluator ? cs_xstrdup(row->evaluator) : NULL;
    k->n = row->n;
    k->accuracy = row->accuracy;
    k->kappa = row->kappa;
    c->metric[c->n++] = cs_xstrdup(row->metric);
}

/*
 * Trust in the judge: each metric carries its last calibration, and one
 * with a min_kappa is "not yet verified" unless its last calibration
 * measured the rubric version in force at or above it.
 */
static void mark_metrics(struct cs_kpi_set *s, const struct calibs *c,
                         const struct cs_rubric_set *set)
{
    for (size_t i = 0; s && i < s->n_metrics; i++) {
        struct cs_metric_kpi *m = &s->metrics[i];
        const struct cs_rubric *r = set ? cs_rubric_set_find(set, m->key)
                                        : NULL;
        const struct cs_calibration_kpi *k = NULL;

        for (size_t j = 0; j < c->n; j++) {
            if (strcmp(c->metric[j], m->key) == 0)
                k = &c->v[j];
        }
        if (k) {
            m->calibration = cs_xmalloc(sizeof(*m->calibration));
            *m->calibration = *k;
            m->calibration->labels_sha256 = cs_xstrdup(k->labels_sha256);
            m->calibration->version = k->version ? cs_xstrdup(k->version)
                                                 : NULL;
            m->calibration->evaluator = k->evaluator
                                            ? cs_xstrdup(k->evaluator)
                                            : NULL;
        }
        m->unverified = !isnan(m->min_kappa) &&
                        (!k || isnan(k->kappa) || k->kappa < m->min_kappa ||
                         (r && (!k->version ||
                                strcmp(k->version, r->version) != 0)));
    }
}

static int apply_calibrations(struct cs_report *r, struct cs_store *st,
                              const struct cs_kpi_query *q,
                              struct cs_err *err)
{
    struct calibs c = {NULL, NULL, 0};
    int ret = cs_store_calibration_latest(st, add_calibration, &c, err);

    for (size_t t = 0; !ret && t < r->n_tenants; t++) {
        struct cs_report_tenant *rt = &r->tenants[t];

        mark_metrics(&rt->cur, &c, q->rubrics);
        for (int k = 0; k < CS_CMP__COUNT; k++)
            mark_metrics(rt->cmp[k], &c, q->rubrics);
    }
    for (size_t i = 0; i < c.n; i++) {
        free(c.v[i].labels_sha256);
        free(c.v[i].version);
        free(c.v[i].evaluator);
        free(c.metric[i]);
    }
    free(c.v);
    free(c.metric);
    return ret;
}

int cs_kpi_compute(struct cs_report **out, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_kpi_query *q, struct cs_err *err)
{
    struct cs_report *r = NULL;
    char **names = NULL;
    char *one[2] = {NULL, NULL};
    char *sql_tz = NULL;
    int64_t from, to, prev[2];
    int ret;

    *out = NULL;
    if (cs_parse_date(q->from, &from) || cs_parse_date(q->to, &to)) {
        ret = cs_err_set(err, CS_EINVALID, "dates must be YYYY-MM-DD");
        goto done;
    }
    if (to <= from) {
        ret = cs_err_set(err, CS_EINVALID, "--to must be after --from");
        goto done;
    }
    /* The previous period: given, else the same length just before. */
    prev[0] = from - (to - from);
    prev[1] = from;
    if (*q->prev_from && (cs_parse_date(q->prev_from, &prev[0]) ||
                          cs_parse_date(q->prev_to, &prev[1]) ||
                          prev[1] <= prev[0])) {
        ret = cs_err_set(err, CS_EINVALID, "bad previous period '%s' to "
                         "'%s'", q->prev_from, q->prev_to);
        goto done;
    }
    if (q->tz) {
        ret = cs_kpi_tz_sql(&sql_tz, st, q->tz, err);
        if (ret)
            goto done;
    }
    if (q->tenant) {
        one[0] = (char *)q->tenant;
    } else {
        ret = cs_store_tenants(&names, st, q->from, q->to, err);
        if (ret)
            goto done;
    }
    r = cs_report_new(q->from, q->to, q->tz);
    if (q->compare) {
        r->has_cmp[CS_CMP_PREVIOUS] = 1;
        cs_format_date(prev[0], r->cmp_period[CS_CMP_PREVIOUS].from);
        cs_format_date(prev[1], r->cmp_period[CS_CMP_PREVIOUS].to);
    }
    if (q->last_week) {
        r->has_cmp[CS_CMP_LAST_WEEK] = 1;
        cs_format_date(from - 7, r->cmp_period[CS_CMP_LAST_WEEK].from);
        cs_format_date(to - 7, r->cmp_period[CS_CMP_LAST_WEEK].to);
    }
    for (char **p = q->tenant ? one : names; *p; p++) {
        struct cs_tenant_cfg t;
        char *tenant_tz = NULL;
        const char *tz = q->tz ? q->tz : NULL;

        cs_config_tenant(&t, cfg, *p, NULL);
        if (!tz)
            tz = t.timezone;
        ret = q->tz ? 0 : cs_kpi_tz_sql(&tenant_tz, st, tz, err);
        if (!ret)
            ret = tenant_report(r, st, q, &t, from, to, prev, tz,
                                q->tz ? sql_tz : tenant_tz, err);
        free(tenant_tz);
        cs_tenant_cfg_release(&t);
        if (ret)
            goto done;
    }
    if (q->calibrations || q->details) {
        ret = apply_calibrations(r, st, q, err);
        if (ret)
            goto done;
    }
    if (q->movers && q->compare) {
        ret = cs_kpi_movers(r, st, q->movers, err);
        if (ret)
            goto done;
    }
    *out = r;
    r = NULL;
    ret = 0;
done:
    cs_report_free(r);
    cs_strv_free(names);
    free(sql_tz);
    return ret;
}
