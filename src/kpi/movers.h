/* movers.h - the KPIs and label shares that moved, with significance */
#ifndef CS_KPI_MOVERS_H
#define CS_KPI_MOVERS_H

#include "base/err.h"
#include "config/config.h"
#include "report/model.h"
#include "rubric/rubric.h"
#include "store/store.h"

/*
 * What moved between a tenant's period and the previous one, and whether
 * it is more than noise. Candidates are the rates (answer, outbound
 * answer, containment — handoff is its complement —, abandonment,
 * errors, connector success, positive and negative sentiment, each
 * boolean metric's true rate, each categorical label's share, each
 * scorecard's share below its pass mark), tested with a two-proportion
 * z-test (pooled), and the means (handling time, speed of answer, turns,
 * CSAT, cost per conversation, each score metric's and scorecard's
 * mean), tested with Welch's t-test. A candidate with fewer than
 * `min_n` on either side is not tested. The p-values of one tenant are
 * corrected for the number of tests with Holm's step-down method at
 * family-wise level `alpha`, so a month of noise across forty KPIs flags
 * nothing more often than one time in twenty. Movers are ordered by
 * significance, then by the size of the effect (Cohen's h for rates, d
 * for means: unitless, so a rate and a mean compare).
 */

/* Two-sided p-value of a pooled two-proportion z-test of x1/n1 against
 * x2/n2; *z_out the statistic, *h_out Cohen's h. NAN when n is 0 or the
 * pooled proportion is 0 or 1 (no variance). */
double cs_stat_two_proportion(double x1, double n1, double x2, double n2,
                              double *z_out, double *h_out);

/* Two-sided p-value of Welch's t-test of mean m1 (sd s1, n1) against m2
 * (s2, n2); *t_out the statistic, *d_out Cohen's d. NAN for n < 2. */
double cs_stat_welch(double m1, double s1, double n1, double m2, double s2,
                     double n2, double *t_out, double *d_out);

/* P(|T| > |t|) for Student's t with `df` degrees of freedom. */
double cs_stat_t_two_sided(double t, double df);

/* Defaults of struct cs_movers_opts: min_n 30, alpha 0.05, sample 5. */
void cs_movers_opts_init(struct cs_movers_opts *o);

/*
 * Fills the movers of tenant `t` from its current and previous sets
 * (t->cmp[CS_CMP_PREVIOUS] must be computed): every tested candidate,
 * significant ones first. Pure: no conversation ids, no explanations.
 * `set` (may be NULL) marks metrics not yet verified.
 */
void cs_movers_compute(struct cs_report_tenant *t,
                       const struct cs_movers_opts *o);

/*
 * cs_movers_compute for every tenant of `r`, then for each significant
 * mover a sample of o->sample conversation ids of the period behind it
 * (a rate that rose: conversations that count in it; one that fell:
 * those of its denominator that do not; a mean: those above or below the
 * previous mean), and with o->explanations the tenant's latest stored
 * explanation of the mover's verdict overlapping the period. The store's
 * error.
 */
int cs_kpi_movers(struct cs_report *r, struct cs_store *st,
                  const struct cs_movers_opts *o, struct cs_err *err);

#endif
