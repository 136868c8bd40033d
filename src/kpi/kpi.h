/* kpi.h - KPI definitions, ROI, period comparison and alerts */
#ifndef CS_KPI_KPI_H
#define CS_KPI_KPI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/err.h"
#include "config/config.h"
#include "rubric/rubric.h"
#include "store/store.h"

/*
 * Turns the store's raw aggregates into the KPIs of
 * docs/kpis.md: ratios (null for an empty denominator), ROI
 * both ways, the previous period of the same length and alert levels.
 */

struct cs_kpi_query {
    char from[11];          /* local date, inclusive */
    char to[11];            /* local date, exclusive */
    const char *tenant;     /* NULL: every tenant with data */
    const char *tz;         /* NULL: each tenant's configured zone */
    enum cs_kpi_by by;
    int compare;            /* add "previous" (the period before) */
    const struct cs_rubric_set *rubrics; /* metric types; NULL: inferred */
    const char *sentiment_metric;        /* NULL: "customer_sentiment" */
};

/*
 * Computes the report object {"from", "to", "tz", "tenants": {...}}.
 * *out is new (json_decref). CS_EINVALID for a bad zone or range.
 */
int cs_kpi_compute(json_t **out, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_kpi_query *q, struct cs_err *err);

/* The KPI object of one group, new. `fee_from`/`fee_to` are the local
 * days the platform fee is charged for (equal: no fee). */
json_t *cs_kpi_object(const struct cs_kpi_raw *raw,
                      const struct cs_tenant_cfg *t, int64_t fee_from,
                      int64_t fee_to);

/* The monthly fee prorated over local days [from, to): each calendar
 * month's fee times the share of its days covered. */
double cs_kpi_prorated_fee(double monthly, int64_t from, int64_t to);

/* Alerts for a KPI object under thresholds merged over the defaults
 * (`overrides` may be NULL). Returns a new array of
 * {"kpi", "value", "level", "threshold", "direction"}. */
json_t *cs_kpi_alerts(const json_t *kpis, const json_t *overrides);

/* Looks up "latency_ms.llm.p95"-style paths; borrowed or NULL. */
json_t *cs_kpi_get(const json_t *kpis, const char *path);

/* Writers for `callscope kpis --format`. */
void cs_kpi_write_json(const json_t *report, FILE *out);
void cs_kpi_write_csv(const json_t *report, FILE *out);
void cs_kpi_write_table(const json_t *report, FILE *out);

#endif
