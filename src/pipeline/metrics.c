/* metrics.c - Prometheus textfile-collector metrics of a job run */
#include "pipeline/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "store/deliveries.h"

#define LAST_SUCCESS "callscope_job_last_success_timestamp_seconds"

static void gauge(struct cs_buf *b, const char *job, const char *name,
                  const char *help, const char *labels, double v)
{
    cs_buf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    cs_buf_addf(b, "%s{job=\"%s\"%s} %.17g\n", name, job, labels, v);
}

/* The last success of the previous file, or 0. */
static double previous_success(const char *path, const char *job)
{
    struct cs_buf key = CS_BUF_INIT;
    char *text = NULL, *p;
    size_t n;
    double v = 0;

    if (cs_fs_read(&text, &n, path, 1 << 20, NULL) < 0)
        return 0;
    cs_buf_addf(&key, "\n%s{job=\"%s\"} ", LAST_SUCCESS, job);
    p = strstr(text, key.ptr);
    if (p)
        v = strtod(p + key.len, NULL);
    free(text);
    cs_buf_release(&key);
    return v;
}

int cs_metrics_write(const struct cs_config *cfg,
                     const struct cs_job_metrics *m, struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT, dir = CS_BUF_INIT, path = CS_BUF_INIT;
    const char *j = m->job;
    double now = (double)time(NULL), last;
    int ret;

    cs_buf_addf(&dir, "%s/metrics", cfg->reports_dir);
    cs_buf_addf(&path, "%s/callscope_%s.prom", dir.ptr, j);
    last = m->success ? now : previous_success(path.ptr, j);
    gauge(&b, j, "callscope_job_duration_seconds",
          "Wall time of the last run of the job.", "", m->duration_s);
    gauge(&b, j, "callscope_job_success",
          "1 if the last run finished without errors, else 0.", "",
          m->success ? 1 : 0);
    gauge(&b, j, "callscope_job_last_run_timestamp_seconds",
          "When the last run ended (Unix time).", "", now);
    gauge(&b, j, LAST_SUCCESS,
          "When a run last finished without errors (Unix time, 0: never).",
          "", last);
    gauge(&b, j, "callscope_job_conversations_ingested",
          "Conversations loaded by the last run.", "", (double)m->ingested);
    gauge(&b, j, "callscope_job_conversations_scored",
          "Conversations scored by the last run.", "", (double)m->scored);
    gauge(&b, j, "callscope_job_llm_requests",
          "LLM judge requests of the last run.", "",
          (double)m->llm_requests);
    cs_buf_adds(&b, "# HELP callscope_job_llm_tokens LLM tokens of the last "
                "run, by direction.\n# TYPE callscope_job_llm_tokens gauge\n");
    cs_buf_addf(&b, "callscope_job_llm_tokens{job=\"%s\",direction=\"in\"} "
                "%llu\n", j, (unsigned long long)m->llm_tokens_in);
    cs_buf_addf(&b, "callscope_job_llm_tokens{job=\"%s\",direction=\"out\"} "
                "%llu\n", j, (unsigned long long)m->llm_tokens_out);
    gauge(&b, j, "callscope_job_llm_cost",
          "LLM cost of the last run (llm.price_* currency).", "",
          m->llm_cost);
    cs_buf_adds(&b, "# HELP callscope_job_reports Reports of the last run, "
                "by outcome.\n# TYPE callscope_job_reports gauge\n");
    cs_buf_addf(&b, "callscope_job_reports{job=\"%s\",outcome=\"rendered\"} "
                "%ld\n", j, m->reports_rendered);
    cs_buf_addf(&b, "callscope_job_reports{job=\"%s\",outcome=\"failed\"} "
                "%ld\n", j, m->reports_failed);
    cs_buf_adds(&b, "# HELP callscope_job_mails Mails of the last run, by "
                "outcome.\n# TYPE callscope_job_mails gauge\n");
    cs_buf_addf(&b, "callscope_job_mails{job=\"%s\",outcome=\"sent\"} %ld\n",
                j, m->mails_sent);
    cs_buf_addf(&b, "callscope_job_mails{job=\"%s\",outcome=\"failed\"} "
                "%ld\n", j, m->mails_failed);
    cs_buf_adds(&b, "# HELP callscope_job_webhooks Webhook posts of the last "
                "run, by outcome.\n# TYPE callscope_job_webhooks gauge\n");
    cs_buf_addf(&b, "callscope_job_webhooks{job=\"%s\",outcome=\"sent\"} "
                "%ld\n", j, m->webhooks_sent);
    cs_buf_addf(&b, "callscope_job_webhooks{job=\"%s\",outcome=\"failed\"} "
                "%ld\n", j, m->webhooks_failed);
    gauge(&b, j, "callscope_job_alerts_sent",
          "Alerts in the digests of the last run.", "",
          (double)m->alerts_sent);
    gauge(&b, j, "callscope_job_errors",
          "Errors of the last run: stages, tenants, deliveries.", "",
          (double)m->errors);
    ret = cs_fs_mkdirs(dir.ptr, err);
    if (!ret)
        ret = cs_fs_write_atomic(path.ptr, b.ptr, b.len, err);
    cs_buf_release(&b);
    cs_buf_release(&dir);
    cs_buf_release(&path);
    return ret;
}

int cs_job_lock(struct cs_store *st, const char *job, struct cs_err *err)
{
    char *holder = NULL;
    int got = 0, ret;

    ret = cs_store_job_lock(&got, &holder, st, job, err);
    if (!ret && !got)
        ret = cs_err_set(err, CS_ELOCKED, "the %s job is already running "
                         "(%s): this run does nothing", job,
                         holder ? holder : "another session holds its lock");
    free(holder);
    return ret;
}

void cs_job_finish(struct cs_store *st, const struct cs_config *cfg,
                   struct cs_job_metrics *m)
{
    struct cs_err err = {0, ""};

    m->success = m->errors == 0;
    if (cs_metrics_write(cfg, m, &err))
        cs_log(CS_LOG_WARN, "%s", err.msg);
    cs_store_job_unlock(st, m->job, NULL);
}

