/* movers.c - the KPIs and label shares that moved, with significance */
#include "kpi/movers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/mem.h"
#include "kpi/kpi.h"
#include "store/review.h"

/* ---- statistics ---- */

/* The continued fraction of the incomplete beta function (modified
 * Lentz), as in Numerical Recipes' betacf. */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-14;
    double c = 1, d = 1 - (a + b) * x / (a + 1), h;

    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    h = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2));

        d = 1 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
        d = 1 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        h *= d * c;
        if (fabs(d * c - 1) < eps)
            break;
    }
    return h;
}

/* The regularized incomplete beta function I_x(a, b). */
static double beta_inc(double a, double b, double x)
{
    double front;

    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
                b * log(1 - x));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_cf(a, b, x) / a;
    return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double cs_stat_t_two_sided(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    return beta_inc(df / 2, 0.5, df / (df + t * t));
}

double cs_stat_two_proportion(double x1, double n1, double x2, double n2,
                              double *z_out, double *h_out)
{
    double p1, p2, p, se, z;

    *z_out = *h_out = NAN;
    if (!(n1 > 0) || !(n2 > 0))
        return NAN;
    p1 = x1 / n1;
    p2 = x2 / n2;
    p = (x1 + x2) / (n1 + n2);
    *h_out = 2 * asin(sqrt(p1)) - 2 * asin(sqrt(p2));
    if (p <= 0 || p >= 1)
        return NAN;
    se = sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
    z = (p1 - p2) / se;
    *z_out = z;
    return erfc(fabs(z) / sqrt(2.0));
}

double cs_stat_welch(double m1, double s1, double n1, double m2, double s2,
                     double n2, double *t_out, double *d_out)
{
    double v1, v2, se2, t, df, pooled;

    *t_out = *d_out = NAN;
    if (!(n1 >= 2) || !(n2 >= 2) || isnan(s1) || isnan(s2))
        return NAN;
    v1 = s1 * s1 / n1;
    v2 = s2 * s2 / n2;
    se2 = v1 + v2;
    pooled = sqrt((s1 * s1 + s2 * s2) / 2);
    *d_out = pooled > 0 ? (m1 - m2) / pooled : NAN;
    if (!(se2 > 0))
        return NAN;
    t = (m1 - m2) / sqrt(se2);
    df = se2 * se2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1));
    *t_out = t;
    return cs_stat_t_two_sided(t, df);
}

void cs_movers_opts_init(struct cs_movers_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->min_n = 30;
    o->alpha = 0.05;
    o->sample = 5;
}

/* ---- candidates ---- */

static struct cs_mover *add(struct cs_report_tenant *t, const char *key,
                            const char *label, enum cs_unit unit,
                            enum cs_direction dir, double v, double p)
{
    struct cs_mover *m;

    t->movers = cs_xrealloc(t->movers, (t->n_movers + 1) * sizeof(*m));
    m = &t->movers[t->n_movers++];
    memset(m, 0, sizeof(*m));
    m->key = cs_xstrdup(key);
    m->label = cs_xstrdup(label);
    m->unit = unit;
    m->direction = dir;
    m->value = v;
    m->previous = p;
    m->change = cs_report_change(unit, v, p);
    m->tone = cs_report_tone(dir, m->change);
    m->stat = m->p = m->effect = NAN;
    return m;
}

static void test_rate(struct cs_mover *m, double n1, double n2,
                      const struct cs_movers_opts *o)
{
    m->n = n1;
    m->n_prev = n2;
    if (!(n1 >= (double)o->min_n) || !(n2 >= (double)o->min_n) ||
        isnan(m->value) || isnan(m->previous))
        return;
    m->p = cs_stat_two_proportion(round(m->value * n1), n1,
                                  round(m->previous * n2), n2, &m->stat,
                                  &m->effect);
}

static void test_mean(struct cs_mover *m, double s1, double n1, double s2,
                      double n2, const struct cs_movers_opts *o)
{
    m->welch = 1;
    m->n = n1;
    m->n_prev = n2;
    if (!(n1 >= (double)o->min_n) || !(n2 >= (double)o->min_n) ||
        isnan(m->value) || isnan(m->previous))
        return;
    m->p = cs_stat_welch(m->value, s1, n1, m->previous, s2, n2, &m->stat,
                         &m->effect);
}

/* The rates of the definitions table tested, and the means. */
static const enum cs_kpi_id rate_kpis[] = {
    CS_KPI_ANSWER_RATE, CS_KPI_OUTBOUND_ANSWER_RATE,
    CS_KPI_CONTAINMENT_RATE, CS_KPI_ABANDONMENT_RATE, CS_KPI_ERROR_RATE,
    CS_KPI_CONNECTOR_SUCCESS_RATE, CS_KPI_SENTIMENT_POSITIVE,
    CS_KPI_SENTIMENT_NEGATIVE};
static const enum cs_kpi_id mean_kpis[] = {
    CS_KPI_AHT_S, CS_KPI_ASA_S, CS_KPI_AVG_TURNS, CS_KPI_CSAT_AVG,
    CS_KPI_COST_PER_CONVERSATION};

static void metric_candidates(struct cs_report_tenant *t,
                              const struct cs_kpi_set *prev,
                              const struct cs_movers_opts *o)
{
    struct cs_buf key = CS_BUF_INIT, label = CS_BUF_INIT;

    for (size_t i = 0; i < t->cur.n_metrics; i++) {
        const struct cs_metric_kpi *m = &t->cur.metrics[i];
        const struct cs_metric_kpi *pm = cs_kpi_set_find_metric(prev, m->key);
        struct cs_mover *mv;
        double pn = pm ? (double)pm->applicable : 0;

        if (!pm)
            continue;
        cs_buf_reset(&key);
        cs_buf_reset(&label);
        switch (m->type) {
        case CS_METRIC_BOOLEAN:
            cs_buf_addf(&key, "metrics.%s.true_rate", m->key);
            cs_buf_addf(&label, "%s: true rate", m->name);
            mv = add(t, key.ptr, label.ptr, CS_UNIT_RATE, m->direction,
                     m->true_rate, pm->true_rate);
            test_rate(mv, (double)m->applicable, pn, o);
            mv->unverified = m->unverified;
            mv->metric = cs_xstrdup(m->key);
            mv->verdict = cs_xstrdup(mv->change > 0 ? "true" : "false");
            break;
        case CS_METRIC_CATEGORICAL:
            for (size_t k = 0; k < m->n_counts; k++) {
                const char *l = m->counts[k].label;
                double share = cs_metric_kpi_share(m, &m->counts[k]);
                double ps = 0;
                json_t *js;

                for (size_t j = 0; j < pm->n_counts; j++) {
                    if (strcmp(pm->counts[j].label, l) == 0)
                        ps = cs_metric_kpi_share(pm, &pm->counts[j]);
                }
                if (!pm->applicable)
                    ps = NAN;
                cs_buf_reset(&key);
                cs_buf_reset(&label);
                cs_buf_addf(&key, "metrics.%s.shares.%s", m->key, l);
                cs_buf_addf(&label, "%s: %s", m->name, l);
                mv = add(t, key.ptr, label.ptr, CS_UNIT_RATE,
                         CS_DIR_NEUTRAL, share, ps);
                test_rate(mv, (double)m->applicable, pn, o);
                mv->unverified = m->unverified;
                mv->metric = cs_xstrdup(m->key);
                js = json_string(l);
                mv->verdict = json_dumps(js, JSON_ENCODE_ANY);
                json_decref(js);
            }
            break;
        case CS_METRIC_SCORE:
            cs_buf_addf(&key, "metrics.%s.mean", m->key);
            cs_buf_addf(&label, "%s: mean", m->name);
            mv = add(t, key.ptr, label.ptr, CS_UNIT_SCORE, m->direction,
                     m->mean, pm->mean);
            test_mean(mv, m->sd, (double)m->applicable, pm->sd, pn, o);
            mv->unverified = m->unverified;
            break;
        case CS_METRIC_SCORECARD:
            cs_buf_addf(&key, "metrics.%s.mean", m->key);
            cs_buf_addf(&label, "%s: mean score", m->name);
            mv = add(t, key.ptr, label.ptr, CS_UNIT_SCORE,
                     CS_DIR_HIGHER_IS_GOOD, m->mean, pm->mean);
            test_mean(mv, m->sd, (double)m->applicable, pm->sd, pn, o);
            cs_buf_reset(&key);
            cs_buf_reset(&label);
            cs_buf_addf(&key, "metrics.%s.below_pass_rate", m->key);
            cs_buf_addf(&label, "%s: below pass mark (%g)", m->name,
                        m->pass_mark);
            mv = add(t, key.ptr, label.ptr, CS_UNIT_RATE,
                     CS_DIR_LOWER_IS_GOOD, m->below_pass_rate,
                     pm->below_pass_rate);
            test_rate(mv, (double)m->applicable, pn, o);
            break;
        }
    }
    cs_buf_release(&key);
    cs_buf_release(&label);
}

static int by_rank(const void *a, const void *b)
{
    const struct cs_mover *x = a, *y = b;
    double ex = isnan(x->effect) ? -1 : fabs(x->effect);
    double ey = isnan(y->effect) ? -1 : fabs(y->effect);

    if (x->significant != y->significant)
        return y->significant - x->significant;
    if (ex != ey)
        return ey > ex ? 1 : -1;
    return strcmp(x->key, y->key);
}

static int by_p(const void *a, const void *b)
{
    const struct cs_mover *x = *(const struct cs_mover *const *)a;
    const struct cs_mover *y = *(const struct cs_mover *const *)b;

    return (x->p > y->p) - (x->p < y->p);
}

/* Holm's step-down: the k-th smallest p (from 0) of m tests must be at
 * most alpha / (m - k), and each before it too. */
static void holm(struct cs_report_tenant *t, double alpha)
{
    struct cs_mover **v = cs_xcalloc(t->n_movers + 1, sizeof(*v));
    size_t m = 0;

    for (size_t i = 0; i < t->n_movers; i++) {
        if (!isnan(t->movers[i].p))
            v[m++] = &t->movers[i];
    }
    qsort(v, m, sizeof(*v), by_p);
    for (size_t k = 0; k < m; k++) {
        if (v[k]->p > alpha / (double)(m - k) || v[k]->change == 0)
            break;
        v[k]->significant = 1;
    }
    t->n_tested = m;
    free(v);
}

void cs_movers_compute(struct cs_report_tenant *t,
                       const struct cs_movers_opts *o)
{
    const struct cs_kpi_set *prev = t->cmp[CS_CMP_PREVIOUS];

    cs_report_movers_release(t);
    t->has_movers = 1;
    t->n_tested = 0;
    if (!prev || t->cmp_absent[CS_CMP_PREVIOUS])
        return;
    for (size_t i = 0; i < sizeof(rate_kpis) / sizeof(rate_kpis[0]); i++) {
        const struct cs_kpi_def *d = cs_kpi_def_get(rate_kpis[i]);
        struct cs_mover *m = add(t, d->key, d->label, d->unit, d->direction,
                                 t->cur.v[d->id], prev->v[d->id]);

        test_rate(m, t->cur.n[d->id], prev->n[d->id], o);
    }
    for (size_t i = 0; i < sizeof(mean_kpis) / sizeof(mean_kpis[0]); i++) {
        const struct cs_kpi_def *d = cs_kpi_def_get(mean_kpis[i]);
        struct cs_mover *m = add(t, d->key, d->label, d->unit, d->direction,
                                 t->cur.v[d->id], prev->v[d->id]);

        test_mean(m, t->cur.sd[d->id], t->cur.n[d->id], prev->sd[d->id],
                  prev->n[d->id], o);
    }
    metric_candidates(t, prev, o);
    /* The sentiment metric's labels are the sentiment KPIs already. */
    if (t->cmp[CS_CMP_PREVIOUS]) {
        for (size_t i = 0; i < t->n_movers; i++) {
            struct cs_mover *m = &t->movers[i];

            if (strcmp(m->key, "sentiment.positive") == 0 ||
                strcmp(m->key, "sentiment.negative") == 0) {
                json_t *js = json_string(m->key + 10);

                m->metric = cs_xstrdup("customer_sentiment");
                m->verdict = json_dumps(js, JSON_ENCODE_ANY);
                json_decref(js);
            }
        }
    }
    holm(t, o->alpha);
    qsort(t->movers, t->n_movers, sizeof(*t->movers), by_rank);
}

/* ---- the conversations behind a mover ---- */

struct conds {
    struct cs_conv_cond c[4];
    size_t n;
    char *owned[4];
    size_t n_owned;
    const char *why;
};

static void cond(struct conds *c, enum cs_cond_kind kind, const char *name,
                 enum cs_cond_op op, const char *value)
{
    struct cs_conv_cond *x = &c->c[c->n++];

    x->kind = kind;
    x->name = name;
    x->op = op;
    x->value = value;
}

/* A number or JSON string as condition text, owned by `c`. */
static const char *keep(struct conds *c, char *s)
{
    c->owned[c->n_owned++] = s;
    return s;
}

static char *number_text(double v)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addf(&b, "%.10g", v);
    return cs_buf_detach(&b, NULL);
}

/* The conditions of the conversations behind mover `m` (0 when there is
 * no way to say which). */
static int behind(struct conds *c, const struct cs_mover *m)
{
    int up = m->change > 0;
    const char *k = m->key;

    memset(c, 0, sizeof(*c));
    if (strcmp(k, "answer_rate") == 0 ||
        strcmp(k, "outbound_answer_rate") == 0) {
        cond(c, CS_COND_FIELD, "direction", CS_OP_EQ,
             k[0] == 'a' ? "inbound" : "outbound");
        cond(c, CS_COND_FIELD, "outcome", up ? CS_OP_EQ : CS_OP_NE,
             "answered");
        c->why = up ? "answered" : "not answered";
    } else if (strcmp(k, "containment_rate") == 0) {
        cond(c, CS_COND_FIELD, "outcome", CS_OP_EQ, "answered");
        cond(c, up ? CS_COND_NO_HANDOFF : CS_COND_HANDOFF, NULL, CS_OP_EQ,
             NULL);
        c->why = up ? "contained" : "handed off";
    } else if (strcmp(k, "abandonment_rate") == 0) {
        cond(c, CS_COND_FIELD, "direction", CS_OP_EQ, "inbound");
        cond(c, CS_COND_FIELD, "outcome", up ? CS_OP_EQ : CS_OP_NE,
             "abandoned");
        c->why = up ? "abandoned" : "not abandoned";
    } else if (strcmp(k, "error_rate") == 0) {
        cond(c, CS_COND_FIELD, "outcome", up ? CS_OP_EQ : CS_OP_NE,
             "failed");
        c->why = up ? "failed" : "not failed";
    } else if (strcmp(k, "connector_success_rate") == 0) {
        if (up) {
            cond(c, CS_COND_NUMBER, "tool_calls", CS_OP_GT, "0");
            c->why = "tool calls";
        } else {
            cond(c, CS_COND_TOOL_FAILED, NULL, CS_OP_EQ, NULL);
            c->why = "a failed tool call";
        }
    } else if (m->metric && m->verdict &&
               strstr(k, ".true_rate") != NULL) {
        cond(c, CS_COND_METRIC, m->metric, CS_OP_EQ, m->verdict);
        c->why = up ? "true" : "false";
    } else if (m->metric && m->verdict) {
        /* A label's share (the sentiment KPIs too). */
        cond(c, CS_COND_METRIC, m->metric, up ? CS_OP_EQ : CS_OP_NE,
             m->verdict);
        c->why = up ? "with this label" : "now labelled otherwise";
    } else if (strstr(k, ".below_pass_rate") != NULL) {
        struct cs_buf key = CS_BUF_INIT;
        const char *pass = strrchr(m->label, '(');

        cs_buf_add(&key, k + 8, strlen(k) - 8 - strlen(".below_pass_rate"));
        cond(c, CS_COND_METRIC, keep(c, cs_buf_detach(&key, NULL)),
             up ? CS_OP_LT : CS_OP_GE,
             keep(c, number_text(pass ? strtod(pass + 1, NULL) : 80)));
        c->why = up ? "below the pass mark" : "at or above the pass mark";
    } else if (strncmp(k, "metrics.", 8) == 0 && strstr(k, ".mean")) {
        struct cs_buf key = CS_BUF_INIT;

        cs_buf_add(&key, k + 8, strlen(k) - 8 - strlen(".mean"));
        cond(c, CS_COND_METRIC, keep(c, cs_buf_detach(&key, NULL)),
             up ? CS_OP_GT : CS_OP_LT, keep(c, number_text(m->previous)));
        c->why = up ? "above the previous mean" : "below the previous mean";
    } else {
        static const char *const means[][2] = {
            {"aht_s", "duration_s"}, {"asa_s", "asa_s"},
            {"avg_turns", "turns"}, {"csat_avg", "csat"},
            {"cost_per_conversation", "cost"}};

        for (size_t i = 0; i < sizeof(means) / sizeof(means[0]); i++) {
            if (strcmp(k, means[i][0]) != 0)
                continue;
            if (strcmp(k, "csat_avg") != 0 &&
                strcmp(k, "cost_per_conversation") != 0)
                cond(c, CS_COND_FIELD, "outcome", CS_OP_EQ, "answered");
            cond(c, CS_COND_NUMBER, means[i][1], up ? CS_OP_GT : CS_OP_LT,
                 keep(c, number_text(m->previous)));
            c->why = up ? "above the previous mean"
                        : "below the previous mean";
        }
    }
    return c->n > 0;
}

static void conds_release(struct conds *c)
{
    for (size_t i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
}

static int add_id(void *ctx, const struct cs_conv_item *it,
                  struct cs_err *err)
{
    struct cs_mover *m = ctx;

    (void)err;
    m->ids = cs_xrealloc(m->ids, (m->n_ids + 1) * sizeof(*m->ids));
    m->ids[m->n_ids++] = cs_xstrdup(it->id);
    return 0;
}

/* A copy of the string member `k` of `o`, "" when absent (new). */
static char *str_or_empty(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return cs_xstrdup(s ? s : "");
}

static void take_explanation(struct cs_mover *m, const json_t *e)
{
    const json_t *themes = json_object_get(e, "themes");
    size_t i;
    json_t *th;

    m->has_explanation = 1;
    m->expl_evaluator = str_or_empty(e, "evaluator");
    m->expl_created = str_or_empty(e, "created_at");
    m->expl_sampled = (long)json_integer_value(json_object_get(e,
                                                               "sampled"));
    m->themes = cs_xcalloc(json_array_size(themes) + 1, sizeof(*m->themes));
    json_array_foreach(themes, i, th) {
        m->themes[i].title = str_or_empty(th, "title");
        m->themes[i].count = (long)json_integer_value(json_object_get(
            th, "count"));
        m->n_themes++;
    }
}

static int tenant_movers(struct cs_report *r, struct cs_report_tenant *t,
                         struct cs_store *st, const struct cs_movers_opts *o,
                         struct cs_err *err)
{
    char *tz = NULL;
    int ret;

    cs_movers_compute(t, o);
    ret = cs_kpi_tz_sql(&tz, st, t->tz, err);
    for (size_t i = 0; !ret && i < t->n_movers; i++) {
        struct cs_mover *m = &t->movers[i];
        struct cs_conv_query q;
        struct conds c;
        char seed[64];

        if (!m->significant)
            break;
        if (o->sample > 0 && behind(&c, m)) {
            memset(&q, 0, sizeof(q));
            snprintf(seed, sizeof(seed), "movers:%s", m->key);
            q.tenant = t->name;
            q.from = r->period.from;
            q.to = r->period.to;
            q.tz = "{}";
            q.default_tz = tz;
            q.conds = c.c;
            q.n_conds = c.n;
            q.sample = o->sample;
            q.seed = seed;
            m->why = cs_xstrdup(c.why);
            ret = cs_store_conversations(st, &q, NULL, add_id, m, err);
            conds_release(&c);
        }
        if (!ret && o->explanations && m->metric && m->verdict) {
            json_t *e = NULL;

            ret = cs_store_explanation_latest(&e, st, t->name, m->metric,
                                              m->verdict, r->period.from,
                                              r->period.to, err);
            if (e)
                take_explanation(m, e);
            json_decref(e);
        }
    }
    free(tz);
    return ret;
}

int cs_kpi_movers(struct cs_report *r, struct cs_store *st,
                  const struct cs_movers_opts *o, struct cs_err *err)
{
    int ret = 0;

    r->movers = *o;
    for (size_t i = 0; !ret && i < r->n_tenants; i++)
        ret = tenant_movers(r, &r->tenants[i], st, o, err);
    return ret;
}
