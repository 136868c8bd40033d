/* kpi.h - KPIs, ROI, comparisons and alerts into the report model */
#ifndef CS_KPI_KPI_H
#define CS_KPI_KPI_H

#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "config/config.h"
#include "report/model.h"
#include "rubric/rubric.h"
#include "store/store.h"


/*
 * Turns the store's raw aggregates into the KPIs of docs/kpis.md and fills
 * a `struct cs_report` (report/model.h): ratios (null for an empty
 * denominator), ROI both ways, the comparison periods and alert levels.
 */

struct cs_kpi_query {
    char from[11];          /* local date, inclusive */
    char to[11];            /* local date, exclusive */
    const char *tenant;     /* NULL: every tenant with data */
    const char *tz;         /* NULL: each tenant's configured zone */
    enum cs_kpi_by by;
    int compare;            /* the period of the same length before, or: */
    char prev_from[11];     /* "" or the previous period to compare with */
    char prev_to[11];       /* (a calendar month before a month) */
    int last_week;          /* the same period one week earlier */
    int details;            /* tools, metric sources, coverage, the
                               conversations worth a look (reports) */
    long look_limit;        /* how many of those to list (default 10) */
    int skip_look;          /* details without the conversations worth a
                               look (the client workbook lists them all) */
    int calibrations;       /* read the metrics' last calibrations (the
                               "not yet verified" marks; details too) */
    const struct cs_movers_opts *movers; /* compute the movers against the
                                            previous period (kpi/movers.h),
                                            or NULL */
    const struct cs_rubric_set *rubrics; /* metric types; NULL: inferred */
    const char *sentiment_metric;        /* NULL: "customer_sentiment" */
};

/*
 * Computes the report of `q`. *out is new (cs_report_free). CS_EINVALID
 * for a bad zone or range; the store's error otherwise.
 */
int cs_kpi_compute(struct cs_report **out, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_kpi_query *q, struct cs_err *err);

/* The monthly fee prorated over local days [from, to): each calendar
 * month's fee times the share of its days covered. */
double cs_kpi_prorated_fee(double monthly, int64_t from, int64_t to);

/*
 * Checks a time zone given by a person and sets *sql_out (new) to what
 * PostgreSQL must be told: an IANA name as it is, an ISO 8601 offset
 * ("+02:00", east of UTC positive) with PostgreSQL's POSIX sign flipped.
 * "UTC+2"-style POSIX offsets are refused as ambiguous (CS_EINVALID).
 */
int cs_kpi_tz_sql(char **sql_out, struct cs_store *st, const char *tz,
                  struct cs_err *err);

/* The alert rules in force: the defaults of docs/kpis.md merged with
 * `overrides` (a tenant's merged "alerts"; may be NULL), in order. *out
 * is a new array of *n_out rules (each kpi string new). */
void cs_kpi_rules(struct cs_threshold **out, size_t *n_out,
                  const json_t *overrides);
/* Raises the alerts of the set's values under the rules. */
void cs_kpi_alerts(struct cs_kpi_set *s, const struct cs_threshold *th,
                   size_t n);


#endif
