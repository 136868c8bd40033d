/* model.c - the typed report: sets, rows, comparisons */
#include "report/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/suggest.h"

double cs_report_change(enum cs_unit u, double v, double p)
{
    if (isnan(v) || isnan(p))
        return NAN;
    switch (cs_change_kind_for(u)) {
    case CS_CHANGE_POINTS:
        return (v - p) * 100.0;
    case CS_CHANGE_RELATIVE:
        /* From a base of zero or a loss, a percentage says nothing
         * ("+1,882 %" from −$100 to $1,782): no change, "—". */
        return p > 0 ? (v - p) / p : NAN;
    default:
        return v - p;
    }
}

enum cs_tone cs_report_tone(enum cs_direction d, double change)
{
    if (isnan(change) || change == 0 || d == CS_DIR_NEUTRAL)
        return CS_TONE_NEUTRAL;
    if ((change > 0) == (d == CS_DIR_HIGHER_IS_GOOD))
        return CS_TONE_GOOD;
    return CS_TONE_BAD;
}

const char *cs_metric_type_name(enum cs_metric_type t)
{
    static const char *const names[] = {"boolean", "categorical", "score",
                                        "scorecard"};

    return names[t];
}

void cs_kpi_set_init(struct cs_kpi_set *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < CS_KPI__COUNT; i++)
        s->v[i] = s->n[i] = s->sd[i] = NAN;
}

static void metric_release(struct cs_metric_kpi *m)
{
    free(m->key);
    free(m->name);
    free(m->definition);
    free(m->version);
    free(m->evaluator);
    for (size_t i = 0; i < m->n_counts; i++)
        free(m->counts[i].label);
    free(m->counts);
    if (m->calibration) {
        free(m->calibration->labels_sha256);
        free(m->calibration->version);
        free(m->calibration->evaluator);
        free(m->calibration);
    }
}

void cs_kpi_set_release(struct cs_kpi_set *s)
{
    if (!s)
        return;
    free(s->group);
    for (size_t i = 0; i < s->n_latency; i++)
        free(s->latency[i].hop);
    free(s->latency);
    for (size_t i = 0; i < s->n_metrics; i++)
        metric_release(&s->metrics[i]);
    free(s->metrics);
    for (size_t i = 0; i < s->n_alerts; i++)
        free(s->alerts[i].kpi);
    free(s->alerts);
    cs_kpi_set_init(s);
}

struct cs_kpi_set *cs_kpi_set_new(void)
{
    struct cs_kpi_set *s = cs_xmalloc(sizeof(*s));

    cs_kpi_set_init(s);
    return s;
}

void cs_kpi_set_free(struct cs_kpi_set *s)
{
    if (!s)
        return;
    cs_kpi_set_release(s);
    free(s);
}

struct cs_latency_kpi *cs_kpi_set_add_latency(struct cs_kpi_set *s,
                                              const char *hop)
{
    struct cs_latency_kpi *l;

    s->latency = cs_xrealloc(s->latency,
                             (s->n_latency + 1) * sizeof(*s->latency));
    l = &s->latency[s->n_latency++];
    memset(l, 0, sizeof(*l));
    l->hop = cs_xstrdup(hop);
    l->p50 = l->p95 = l->p99 = NAN;
    return l;
}

struct cs_metric_kpi *cs_kpi_set_add_metric(struct cs_kpi_set *s,
                                            const char *key)
{
    struct cs_metric_kpi *m;

    s->metrics = cs_xrealloc(s->metrics,
                             (s->n_metrics + 1) * sizeof(*s->metrics));
    m = &s->metrics[s->n_metrics++];
    memset(m, 0, sizeof(*m));
    m->key = cs_xstrdup(key);
    m->name = cs_xstrdup(key);
    m->direction = CS_DIR_HIGHER_IS_GOOD;
    m->true_rate = m->partial_rate = m->mean = m->sd = NAN;
    m->scale_min = m->scale_max = NAN;
    m->pass_mark = m->below_pass_rate = m->min_kappa = NAN;
    return m;
}

struct cs_metric_kpi *cs_kpi_set_find_metric(const struct cs_kpi_set *s,
                                             const char *key)
{
    for (size_t i = 0; s && i < s->n_metrics; i++) {
        if (strcmp(s->metrics[i].key, key) == 0)
            return &s->metrics[i];
    }
    return NULL;
}

void cs_metric_kpi_count(struct cs_metric_kpi *m, const char *label,
                         double num, long n)
{
    size_t i = 0;

    while (i < m->n_counts && strcmp(m->counts[i].label, label) < 0)
        i++;
    if (i < m->n_counts && strcmp(m->counts[i].label, label) == 0) {
        m->counts[i].count += n;
        return;
    }
    m->counts = cs_xrealloc(m->counts, (m->n_counts + 1) * sizeof(*m->counts));
    memmove(&m->counts[i + 1], &m->counts[i],
            (m->n_counts - i) * sizeof(*m->counts));
    m->n_counts++;
    m->counts[i].label = cs_xstrdup(label);
    m->counts[i].num = num;
    m->counts[i].count = n;
}

double cs_metric_kpi_share(const struct cs_metric_kpi *m,
                           const struct cs_metric_count *c)
{
    return m->applicable ? (double)c->count / (double)m->applicable : NAN;
}

struct cs_report *cs_report_new(const char *from, const char *to,
                                const char *tz)
{
    struct cs_report *r = cs_xcalloc(1, sizeof(*r));

    snprintf(r->period.from, sizeof(r->period.from), "%s", from);
    snprintf(r->period.to, sizeof(r->period.to), "%s", to);
    r->tz = tz ? cs_xstrdup(tz) : NULL;
    return r;
}

void cs_report_movers_release(struct cs_report_tenant *t)
{
    for (size_t i = 0; i < t->n_movers; i++) {
        struct cs_mover *m = &t->movers[i];

        free(m->key);
        free(m->label);
        for (size_t k = 0; k < m->n_ids; k++)
            free(m->ids[k]);
        free(m->ids);
        free(m->why);
        free(m->metric);
        free(m->verdict);
        free(m->expl_evaluator);
        free(m->expl_created);
        for (size_t k = 0; k < m->n_themes; k++)
            free(m->themes[k].title);
        free(m->themes);
    }
    free(t->movers);
    t->movers = NULL;
    t->n_movers = 0;
    t->has_movers = 0;
}

static void tenant_release(struct cs_report_tenant *t)
{
    cs_report_movers_release(t);
    free(t->name);
    free(t->display_name);
    free(t->tz);
    cs_kpi_set_release(&t->cur);
    for (int i = 0; i < CS_CMP__COUNT; i++)
        cs_kpi_set_free(t->cmp[i]);
    for (size_t i = 0; i < t->n_groups; i++)
        cs_kpi_set_release(&t->groups[i]);
    free(t->groups);
    for (size_t i = 0; i < t->n_prev_groups; i++)
        cs_kpi_set_release(&t->prev_groups[i]);
    free(t->prev_groups);
    for (size_t i = 0; i < t->n_thresholds; i++)
        free(t->thresholds[i].kpi);
    free(t->thresholds);
    cs_kpi_rows_free(t->rows, t->n_rows);
    for (size_t i = 0; i < t->n_tools; i++)
        free(t->tools[i].name);
    free(t->tools);
    for (size_t i = 0; i < t->n_look; i++) {
        free(t->look[i].id);
        free(t->look[i].agent);
        free(t->look[i].failed_metric);
    }
    free(t->look);
}

void cs_report_free(struct cs_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_tenants; i++)
        tenant_release(&r->tenants[i]);
    free(r->tenants);
    free(r->tz);
    free(r);
}

struct cs_report_tenant *cs_report_add_tenant(struct cs_report *r,
                                              const char *name)
{
    struct cs_report_tenant *t;

    r->tenants = cs_xrealloc(r->tenants,
                             (r->n_tenants + 1) * sizeof(*r->tenants));
    t = &r->tenants[r->n_tenants++];
    memset(t, 0, sizeof(*t));
    t->name = cs_xstrdup(name);
    t->display_name = cs_xstrdup(name);
    cs_kpi_set_init(&t->cur);
    return t;
}

struct cs_report_tenant *cs_report_find_tenant(const struct cs_report *r,
                                               const char *name)
{
    for (size_t i = 0; i < r->n_tenants; i++) {
        if (strcmp(r->tenants[i].name, name) == 0)
            return &r->tenants[i];
    }
    return NULL;
}

/* A value of a set by the key of a row: fixed KPI, latency, metric. */
int cs_kpi_key_valid(const char *key, const char **closest)
{
    static const char *const stats[] = {"true_rate", "partial_rate", "mean",
                                        "below_pass_rate", "applicable",
                                        "errors", NULL};
    static const char *const lists[] = {"buckets.", "shares.", "labels.",
                                        NULL};
    struct cs_suggest sg = {key, NULL, 0};
    const char *dot;

    *closest = NULL;
    if (cs_kpi_def_find(key))
        return 1;
    if (strncmp(key, "latency_ms.", 11) == 0) {
        dot = strrchr(key + 11, '.');
        return dot && dot > key + 11 &&
               (strcmp(dot, ".p50") == 0 || strcmp(dot, ".p95") == 0 ||
                strcmp(dot, ".p99") == 0 || strcmp(dot, ".count") == 0);
    }
    if (strncmp(key, "metrics.", 8) == 0) {
        dot = strchr(key + 8, '.');
        if (!dot || dot == key + 8)
            return 0;
        for (size_t i = 0; stats[i]; i++) {
            if (strcmp(dot + 1, stats[i]) == 0)
                return 1;
        }
        for (size_t i = 0; lists[i]; i++) {
            size_t n = strlen(lists[i]);

            if (strncmp(dot + 1, lists[i], n) == 0 && dot[1 + n])
                return 1;
        }
        return 0;
    }
    for (int id = 0; id < CS_KPI__COUNT; id++) {
        const struct cs_kpi_def *d = cs_kpi_def_get((enum cs_kpi_id)id);

        if (!(d->flags & CS_KPI_F_NOT_IN_JSON))
            cs_suggest_try(&sg, d->key);
    }
    *closest = sg.best;
    return 0;
}

double cs_kpi_set_value(const struct cs_kpi_set *s, const char *key,
                        enum cs_unit *unit_out)
{
    const struct cs_kpi_def *d = cs_kpi_def_find(key);
    enum cs_unit unit = CS_UNIT_COUNT;
    double v = NAN;

    if (!s)
        goto done;
    if (d) {
        unit = d->unit;
        v = s->v[d->id];
        goto done;
    }
    if (strncmp(key, "latency_ms.", 11) == 0) {
        const char *hop = key + 11, *stat = strrchr(hop, '.');

        unit = CS_UNIT_MS;
        for (size_t i = 0; stat && i < s->n_latency; i++) {
            const struct cs_latency_kpi *l = &s->latency[i];

            if (strlen(l->hop) != (size_t)(stat - hop) ||
                strncmp(l->hop, hop, (size_t)(stat - hop)) != 0)
                continue;
            if (strcmp(stat, ".p50") == 0)
                v = l->p50;
            else if (strcmp(stat, ".p95") == 0)
                v = l->p95;
            else if (strcmp(stat, ".p99") == 0)
                v = l->p99;
            else if (strcmp(stat, ".count") == 0) {
                v = (double)l->count;
                unit = CS_UNIT_COUNT;
            }
        }
        goto done;
    }
    if (strncmp(key, "metrics.", 8) == 0) {
        /* metrics.<key>.<stat>[.<label>]; metric keys hold no dots. */
        const char *mk = key + 8, *dot = strchr(mk, '.');
        struct cs_buf k = CS_BUF_INIT;
        const struct cs_metric_kpi *m;
        const char *stat;

        if (!dot)
            goto done;
        cs_buf_add(&k, mk, (size_t)(dot - mk));
        m = cs_kpi_set_find_metric(s, k.ptr);
        cs_buf_release(&k);
        stat = dot + 1;
        if (!m)
            goto done;
        if (strcmp(stat, "true_rate") == 0) {
            unit = CS_UNIT_RATE;
            v = m->true_rate;
        } else if (strcmp(stat, "partial_rate") == 0) {
            unit = CS_UNIT_RATE;
            v = m->partial_rate;
        } else if (strcmp(stat, "mean") == 0) {
            unit = CS_UNIT_SCORE;
            v = m->mean;
        } else if (strcmp(stat, "below_pass_rate") == 0) {
            unit = CS_UNIT_RATE;
            v = m->below_pass_rate;
        } else if (strncmp(stat, "buckets.", 8) == 0) {
            for (int b = 0; b < CS_SCORECARD_BUCKETS; b++) {
                char name[16];

                cs_scorecard_bucket_name(name, sizeof(name), b);
                if (m->type == CS_METRIC_SCORECARD &&
                    strcmp(stat + 8, name) == 0)
                    v = (double)m->buckets[b];
            }
        } else if (strcmp(stat, "applicable") == 0) {
            v = (double)m->applicable;
        } else if (strcmp(stat, "errors") == 0) {
            v = (double)m->errors;
        } else if (strncmp(stat, "shares.", 7) == 0 ||
                   strncmp(stat, "labels.", 7) == 0) {
            int share = stat[0] == 's';

            unit = share ? CS_UNIT_RATE : CS_UNIT_COUNT;
            v = share ? NAN : 0;
            for (size_t i = 0; i < m->n_counts; i++) {
                if (strcmp(m->counts[i].label, stat + 7) == 0)
                    v = share ? cs_metric_kpi_share(m, &m->counts[i])
                              : (double)m->counts[i].count;
            }
            if (share && isnan(v) && m->applicable)
                v = 0;
        }
    }
done:
    if (unit_out)
        *unit_out = unit;
    return v;
}

/* Rows being built for one set. */
struct rows {
    struct cs_kpi_row *v;
    size_t n;
    const struct cs_kpi_set *cur;
};

/* Appends a row for `key`, valued from the current set; comparisons are
 * filled at the end of cs_kpi_rows_build. */
static void add_row(struct rows *rs, const char *key, const char *label,
                    enum cs_unit unit, enum cs_direction dir,
                    enum cs_kpi_section sec, unsigned flags,
                    const struct cs_kpi_def *def)
{
    struct cs_kpi_row *r;

    rs->v = cs_xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
    r = &rs->v[rs->n++];
    memset(r, 0, sizeof(*r));
    r->key = cs_xstrdup(key);
    r->label = cs_xstrdup(label);
    r->unit = unit;
    r->direction = dir;
    r->section = sec;
    r->flags = flags;
    r->def = def;
    r->value = def ? rs->cur->v[def->id] : cs_kpi_set_value(rs->cur, key,
                                                             NULL);
    for (int c = 0; c < CS_CMP__COUNT; c++)
        r->cmp[c].value = r->cmp[c].change = NAN;
}

static void latency_rows(struct rows *rs)
{
    static const char *const stats[] = {"p50", "p95", "p99"};
    struct cs_buf key = CS_BUF_INIT, label = CS_BUF_INIT;

    for (size_t i = 0; i < rs->cur->n_latency; i++) {
        const struct cs_latency_kpi *l = &rs->cur->latency[i];

        for (int s = 0; s < 3; s++) {
            cs_buf_reset(&key);
            cs_buf_reset(&label);
            cs_buf_addf(&key, "latency_ms.%s.%s", l->hop, stats[s]);
            cs_buf_addf(&label, "Latency %s %s", l->hop, stats[s]);
            add_row(rs, key.ptr, label.ptr, CS_UNIT_MS, CS_DIR_LOWER_IS_GOOD,
                    CS_SECTION_LATENCY, 0, NULL);
        }
        cs_buf_reset(&key);
        cs_buf_reset(&label);
        cs_buf_addf(&key, "latency_ms.%s.count", l->hop);
        cs_buf_addf(&label, "Latency %s spans", l->hop);
        add_row(rs, key.ptr, label.ptr, CS_UNIT_COUNT, CS_DIR_NEUTRAL,
                CS_SECTION_LATENCY, CS_KPI_F_DETAIL, NULL);
    }
    cs_buf_release(&key);
    cs_buf_release(&label);
}

static void metric_row(struct rows *rs, const struct cs_metric_kpi *m,
                       const char *stat, const char *what, enum cs_unit unit,
                       enum cs_direction dir, unsigned flags)
{
    struct cs_buf key = CS_BUF_INIT, label = CS_BUF_INIT;

    cs_buf_addf(&key, "metrics.%s.%s", m->key, stat);
    cs_buf_addf(&label, "%s: %s", m->name, what);
    add_row(rs, key.ptr, label.ptr, unit, dir, CS_SECTION_METRICS, flags,
            NULL);
    cs_buf_release(&key);
    cs_buf_release(&label);
}

static void metric_rows(struct rows *rs)
{
    struct cs_buf stat = CS_BUF_INIT;

    for (size_t i = 0; i < rs->cur->n_metrics; i++) {
        const struct cs_metric_kpi *m = &rs->cur->metrics[i];

        switch (m->type) {
        case CS_METRIC_BOOLEAN:
            metric_row(rs, m, "true_rate", "true rate", CS_UNIT_RATE,
                       m->direction, 0);
            metric_row(rs, m, "partial_rate", "partial rate", CS_UNIT_RATE,
                       CS_DIR_NEUTRAL, CS_KPI_F_DETAIL);
            break;
        case CS_METRIC_SCORE:
            metric_row(rs, m, "mean", "mean", CS_UNIT_SCORE, m->direction,
                       0);
            break;
        case CS_METRIC_SCORECARD:
            metric_row(rs, m, "mean", "mean score", CS_UNIT_SCORE,
                       CS_DIR_HIGHER_IS_GOOD, 0);
            cs_buf_reset(&stat);
            cs_buf_addf(&stat, "below pass mark (%g)", m->pass_mark);
            metric_row(rs, m, "below_pass_rate", stat.ptr, CS_UNIT_RATE,
                       CS_DIR_LOWER_IS_GOOD, 0);
            for (int b = 0; b < CS_SCORECARD_BUCKETS; b++) {
                char name[16];
                struct cs_buf k = CS_BUF_INIT;

                cs_scorecard_bucket_name(name, sizeof(name), b);
                cs_buf_addf(&k, "buckets.%s", name);
                metric_row(rs, m, k.ptr, name, CS_UNIT_COUNT,
                           CS_DIR_NEUTRAL, CS_KPI_F_DETAIL);
                cs_buf_release(&k);
            }
            break;
        case CS_METRIC_CATEGORICAL:
            for (size_t j = 0; j < m->n_counts; j++) {
                cs_buf_reset(&stat);
                cs_buf_addf(&stat, "shares.%s", m->counts[j].label);
                metric_row(rs, m, stat.ptr, m->counts[j].label,
                           CS_UNIT_RATE, CS_DIR_NEUTRAL, 0);
                cs_buf_reset(&stat);
                cs_buf_addf(&stat, "labels.%s", m->counts[j].label);
                metric_row(rs, m, stat.ptr, m->counts[j].label,
                           CS_UNIT_COUNT, CS_DIR_NEUTRAL, CS_KPI_F_DETAIL);
            }
            break;
        }
        metric_row(rs, m, "applicable", "applicable", CS_UNIT_COUNT,
                   CS_DIR_NEUTRAL, CS_KPI_F_DETAIL);
        metric_row(rs, m, "errors", "errors", CS_UNIT_COUNT,
                   CS_DIR_LOWER_IS_GOOD, CS_KPI_F_DETAIL);
    }
    cs_buf_release(&stat);
}

void cs_kpi_rows_build(struct cs_kpi_row **out, size_t *n_out,
                       const struct cs_kpi_set *cur,
                       const struct cs_kpi_set *const cmp[CS_CMP__COUNT])
{
    struct rows rs = {NULL, 0, cur};

    for (size_t i = 0; i < CS_KPI__COUNT; i++) {
        const struct cs_kpi_def *d = cs_kpi_def_get((enum cs_kpi_id)i);

        add_row(&rs, d->key, d->label, d->unit, d->direction, d->section,
                d->flags, d);
    }
    latency_rows(&rs);
    metric_rows(&rs);
    for (size_t i = 0; cmp && i < rs.n; i++) {
        struct cs_kpi_row *r = &rs.v[i];

        for (int c = 0; c < CS_CMP__COUNT; c++) {
            if (!cmp[c])
                continue;
            r->cmp[c].value = cs_kpi_set_value(cmp[c], r->key, NULL);
            /* A metric's count absent from the other period is 0 there. */
            if (isnan(r->cmp[c].value) && r->unit == CS_UNIT_COUNT &&
                strncmp(r->key, "metrics.", 8) == 0)
                r->cmp[c].value = 0;
            r->cmp[c].change = cs_report_change(r->unit, r->value,
                                                r->cmp[c].value);
        }
    }
    *out = rs.v;
    *n_out = rs.n;
}

void cs_kpi_rows_free(struct cs_kpi_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].key);
        free(rows[i].label);
    }
    free(rows);
}

void cs_report_tenant_finish(struct cs_report_tenant *t)
{
    const struct cs_kpi_set *cmp[CS_CMP__COUNT];

    for (int c = 0; c < CS_CMP__COUNT; c++)
        cmp[c] = t->cmp_absent[c] ? NULL : t->cmp[c];
    cs_kpi_rows_free(t->rows, t->n_rows);
    cs_kpi_rows_build(&t->rows, &t->n_rows, &t->cur, cmp);
}

const struct cs_kpi_row *cs_report_row(const struct cs_report_tenant *t,
                                       const char *key)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(t->rows[i].key, key) == 0)
            return &t->rows[i];
    }
    return NULL;
}

void cs_kpi_set_add_alert(struct cs_kpi_set *s, const char *kpi,
                          enum cs_unit unit, double value, double threshold,
                          int critical, int below)
{
    struct cs_alert *a;

    s->alerts = cs_xrealloc(s->alerts, (s->n_alerts + 1) * sizeof(*s->alerts));
    a = &s->alerts[s->n_alerts++];
    a->kpi = cs_xstrdup(kpi);
    a->unit = unit;
    a->value = value;
    a->threshold = threshold;
    a->critical = critical;
    a->below = below;
}

int cs_threshold_level(const struct cs_threshold *th, double v)
{
    if (!th || isnan(v))
        return 0;
    if (!isnan(th->critical) &&
        (th->below ? v < th->critical : v > th->critical))
        return 2;
    if (!isnan(th->warning) &&
        (th->below ? v < th->warning : v > th->warning))
        return 1;
    return 0;
}

const struct cs_threshold *cs_report_threshold(
    const struct cs_report_tenant *t, const char *kpi)
{
    for (size_t i = 0; i < t->n_thresholds; i++) {
        if (strcmp(t->thresholds[i].kpi, kpi) == 0)
            return &t->thresholds[i];
    }
    return NULL;
}

void cs_scorecard_bucket_name(char *out, size_t size, int b)
{
    snprintf(out, size, "%d-%d", b * 10, b * 10 + 10);
}

int cs_scorecard_bucket_of(double score)
{
    int b = (int)floor(score / 10.0);

    return b < 0 ? 0 : b >= CS_SCORECARD_BUCKETS ? CS_SCORECARD_BUCKETS - 1
                                                 : b;
}
