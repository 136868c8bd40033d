/* cli.c - helpers shared by the commands */
#include "cli/cli.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sig.h"
#include "ingest/ingest.h"
#include "config/schema.h"
#include "mail/deliver.h"
#include "pipeline/reports.h"
#include "redact/redact.h"
#include "report/model.h"
#include "rubric/rubric.h"
#include "store/known.h"

int cs_cli_exit_for(int code)
{
    return code == CS_EINVALID ? CS_EXIT_INVALID
           : code == CS_ELOCKED ? CS_EXIT_LOCKED : CS_EXIT_ERROR;
}

int cs_cli_fail(int code, const char *msg)
{
    /* A write error on a stdout nobody reads any more is no news. */
    if (code != CS_EIO || !cs_cli_stdout_gone())
        cs_log(CS_LOG_ERROR, "%s", msg);
    return cs_cli_exit_for(code);
}

int cs_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "callscope%s%s: ", *cmd ? " " : "", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'callscope%s%s --help'.\n", *cmd ? " " : "",
            cmd);
    return CS_EXIT_USAGE;
}

/* The KPI keys of one "alerts" object name KPIs a report has. */
static int check_alert_keys(const json_t *alerts, const char *at,
                            const char *origin, struct cs_err *err)
{
    const char *kpi, *closest;
    json_t *rule;

    json_object_foreach((json_t *)alerts, kpi, rule) {
        if (kpi[0] == '_' || (strcmp(at, "alerts") == 0 &&
                              (strcmp(kpi, "resend_after") == 0 ||
                               strcmp(kpi, "webhook_max_tries") == 0)))
            continue;
        if (cs_kpi_key_valid(kpi, &closest))
            continue;
        if (closest)
            return cs_err_set(err, CS_EINVALID, "%s: '%s.%s': no such KPI; "
                              "did you mean '%s.%s'?", origin, at, kpi, at,
                              closest);
        return cs_err_set(err, CS_EINVALID, "%s: '%s.%s': no such KPI (the "
                          "keys of 'callscope kpis --format json', see "
                          "docs/kpis.md)", origin, at, kpi);
    }
    return 0;
}

/*
 * The checks of a loaded config that need modules above config/: alert
 * rules name KPIs of the KPI table, the redaction rules compile. Run
 * before any work, like the rest of the config's checks.
 */
static int check_config(const struct cs_config *cfg, struct cs_err *err)
{
    const char *origin = cfg->path ? cfg->path : "defaults", *name;
    json_t *tenants = json_object_get(cfg->root, "tenants"), *t;
    struct cs_redact *rd = NULL;
    int ret;

    ret = check_alert_keys(json_object_get(cfg->root, "alerts"), "alerts",
                           origin, err);
    json_object_foreach(tenants, name, t) {
        struct cs_buf at = CS_BUF_INIT;

        if (ret)
            break;
        cs_buf_addf(&at, "tenants.%s.alerts", name);
        ret = check_alert_keys(json_object_get(t, "alerts"), at.ptr, origin,
                               err);
        cs_buf_release(&at);
    }
    if (!ret)
        ret = cs_redact_new_configured(&rd, cfg, err);
    cs_redact_free(rd);
    if (ret)
        cs_config_locate(err, cfg->path, cfg->text);
    return ret;
}

int cs_cli_load_config(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};

    if (ctx->cfg)
        return 0;
    if (cs_config_load(&ctx->cfg, ctx->config_path, &err) ||
        check_config(ctx->cfg, &err)) {
        cs_log(CS_LOG_ERROR, "%s", err.msg);
        cs_config_free(ctx->cfg);
        ctx->cfg = NULL;
        return CS_EXIT_INVALID;
    }
    return 0;
}

int cs_cli_job_preflight(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    int ret = cs_cli_load_config(ctx);

    if (ret)
        return ret;
    if (cs_reports_preflight(ctx->cfg, &err)) {
        cs_log(CS_LOG_ERROR, "%s", err.msg);
        return CS_EXIT_INVALID;
    }
    return 0;
}

int cs_cli_open_store(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    int ret;

    ret = cs_cli_load_config(ctx);
    if (ret)
        return ret;
    if (!ctx->st) {
        ret = cs_store_open(&ctx->st, ctx->cfg, &err);
        if (ret)
            return cs_cli_fail(ret, err.msg);
    }
    return 0;
}

struct cs_rubric_set *cs_cli_metric_rubrics(const struct cs_config *cfg)
{
    struct cs_rubric_set *set = NULL;
    struct cs_err err = {0, ""};

    if (cs_rubric_set_load(&set, cfg->rubrics_dir, NULL, &err) < 0) {
        cs_log(CS_LOG_DEBUG, "metric types inferred: %s", err.msg);
        return NULL;
    }
    return set;
}

int cs_cli_check_tenant(struct cs_ctx *ctx, const char *cmd,
                        const char *tenant)
{
    struct cs_err err = {0, ""};
    json_t *named;
    int found = 0, ret;

    if (!tenant)
        return 0;
    /* "default" is the settings of the tenants not named, not a tenant. */
    named = json_object_get(json_object_get(ctx->cfg->root, "tenants"),
                            tenant);
    if (named && strcmp(tenant, "default") != 0)
        return 0;
    ret = cs_store_tenant_exists(&found, ctx->st, tenant, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    if (!found)
        return cs_cli_usage(cmd, "unknown tenant '%s' (no conversations "
                            "stored, not in the config's tenants)", tenant);
    return 0;
}

int cs_cli_check_metrics(struct cs_ctx *ctx, const char *cmd,
                         const struct cs_rubric_set *set,
                         char *const *metrics)
{
    struct cs_err err = {0, ""};
    int found, ret;

    for (char *const *m = metrics; m && *m; m++) {
        if (set && (cs_rubric_set_find(set, *m) ||
                    cs_scorecard_find(set, *m)))
            continue;
        ret = cs_store_metric_exists(&found, ctx->st, *m, &err);
        if (ret)
            return cs_cli_fail(ret, err.msg);
        if (!found)
            return cs_cli_usage(cmd, "unknown metric '%s' (no rubric, no "
                                "results)", *m);
    }
    return 0;
}

int cs_cli_stdout_gone(void)
{
    struct pollfd p = {1, POLLOUT, 0};
    struct stat st;

    if (fstat(1, &st) != 0 || !(S_ISFIFO(st.st_mode) ||
                                S_ISSOCK(st.st_mode)))
        return 0;
    /* A pipe without readers polls as POLLERR (a socket as POLLHUP). */
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

void cs_cli_filter_release(struct cs_cli_filter *cf)
{
    free(cf->metrics);
    cf->metrics = NULL;
}

void cs_cli_print_mail(const struct cs_mail_stats *s, long not_mailed)
{
    printf("mail: %ld sent, %ld failed, %ld already sent, %ld interrupted "
           "(not resent)", s->sent, s->failed + not_mailed, s->skipped,
           s->unknown);
    if (s->webhooks_sent || s->webhooks_failed)
        printf("; webhook: %ld sent, %ld failed", s->webhooks_sent,
               s->webhooks_failed);
    printf("\n");
}

char *cs_cli_rejects_path(const struct cs_config *cfg, const char *what)
{
    struct cs_buf b = CS_BUF_INIT;
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    cs_buf_addf(&b, "%s/rejects/%s-%s-%ld.jsonl", cfg->data_dir, what, stamp,
                (long)getpid());
    return cs_buf_detach(&b, NULL);
}

void cs_cli_print_ingest(const struct cs_ingest_stats *s, const char *rejects,
                         double seconds, int as_json)
{
    if (as_json) {
        printf("{\"files\": %llu, \"files_failed\": %llu, \"lines\": %llu, "
               "\"loaded\": %llu, \"rejected\": %llu, \"seconds\": %.3f, "
               "\"rejects_file\": ",
               (unsigned long long)s->files,
               (unsigned long long)s->files_failed,
               (unsigned long long)s->lines, (unsigned long long)s->loaded,
               (unsigned long long)s->rejected, seconds);
        if (s->rejected) {
            json_t *j = json_string(rejects);

            json_dumpf(j, stdout, JSON_ENCODE_ANY);
            json_decref(j);
        } else {
            fputs("null", stdout);
        }
        if (s->interrupted)
            printf(", \"interrupted\": \"%s\"", cs_sig_name(s->interrupted));
        fputs("}\n", stdout);
        return;
    }
    printf("ingested %llu conversations from %llu file(s): %llu lines, "
           "%llu rejected", (unsigned long long)s->loaded,
           (unsigned long long)s->files, (unsigned long long)s->lines,
           (unsigned long long)s->rejected);
    if (s->files_failed)
        printf(", %llu file(s) unreadable",
               (unsigned long long)s->files_failed);
    if (s->rejected)
        printf(" (rejects: %s)", rejects);
    printf(" in %.2f s%s\n", seconds, cs_cli_stopped_clause(s));
}

const char *cs_cli_stopped_clause(const struct cs_ingest_stats *s)
{
    static char text[128];

    if (!s->interrupted)
        return "";
    snprintf(text, sizeof(text), "; stopped by %s before the end of the "
             "input (run it again for the rest)",
             cs_sig_name(s->interrupted));
    return text;
}
