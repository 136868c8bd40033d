/* metrics.h - Prometheus textfile-collector metrics of a job run */
#ifndef CS_PIPELINE_METRICS_H
#define CS_PIPELINE_METRICS_H

#include <stdint.h>

#include "base/err.h"
#include "config/config.h"

/* What one run of a job did (counts of that run, not running totals). */
struct cs_job_metrics {
    const char *job;                /* "nightly", "monthly" */
    double duration_s;
    uint64_t ingested;              /* conversations loaded */
    uint64_t scored;                /* conversations scored */
    uint64_t llm_requests;
    uint64_t llm_tokens_in, llm_tokens_out;
    double llm_cost;                /* in the currency of llm.price_* */
    long reports_rendered, reports_failed;
    long mails_sent, mails_failed;
    long webhooks_sent, webhooks_failed;
    long alerts_sent;
    long errors;                    /* failed stages, tenants, deliveries */
    int success;                    /* the run finished without errors */
};

/*
 * Writes REPORTS_DIR/metrics/callscope_<job>.prom through a temporary file
 * and rename (node_exporter's textfile collector never reads half a file):
 * gauges with # HELP and # TYPE, labelled job="<job>". The last success
 * timestamp is carried over from the previous file when this run did not
 * succeed.
 */
int cs_metrics_write(const struct cs_config *cfg,
                     const struct cs_job_metrics *m, struct cs_err *err);

/* Takes `job`'s advisory lock: 0, or CS_ELOCKED saying who holds it. */
struct cs_store;
int cs_job_lock(struct cs_store *st, const char *job, struct cs_err *err);

/* Ends a run: success is errors == 0; writes the metrics (a failure to
 * write them is a warning) and releases the lock. */
void cs_job_finish(struct cs_store *st, const struct cs_config *cfg,
                   struct cs_job_metrics *m);

#endif
