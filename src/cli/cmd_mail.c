/* cmd_mail.c - callscope mail --status | --resend-failed: the delivery log */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <jansson.h>

#include "base/fmt.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "mail/deliver.h"
#include "store/deliveries.h"

static const struct cs_opt_cmd doc = {
    .name = "mail",
    .usage = "callscope mail --status [--since DATE] [--format table|json]\n"
             "       callscope mail --resend-failed [--since DATE] [--force]",
    .about = "The delivery log of the nightly and monthly jobs (mails, "
             "outbox files,\nwebhook posts).\n\n"
             "--status lists each delivery updated since DATE (default: "
             "the last 7\ndays): when, job, what, tenant, period, recipient, "
             "channel, state,\ntries and the server's last reply.\n\n"
             "--resend-failed sends again, with the bytes stored when they "
             "were\nqueued (same Message-ID), the deliveries that are "
             "failed, or queued or\nsending but left by a run that died. A "
             "delivery interrupted after its\nmessage was handed to the "
             "server (or a webhook post that was under way)\nmay have "
             "arrived: it is listed and left alone unless --force. A job\n"
             "that is running keeps its own deliveries.",
    .exits = "Exit: 0 ok, 1 error, 2 usage, 4 some deliveries failed again "
             "or were\nleft, 5 a job holding its lock kept its deliveries.",
};

static void print_table(const struct cs_delivery_row *v, size_t n)
{
    printf("%-20s %-7s %-6s %-18s %-10s %-30s %-7s %-7s %5s  %s\n",
           "updated (UTC)", "job", "kind", "tenant", "period", "recipient",
           "channel", "state", "tries", "last reply");
    for (size_t i = 0; i < n; i++) {
        const struct cs_delivery_row *d = &v[i];
        const char *state = cs_delivery_state_name(d->state);

        if (d->state == CS_DELIVERY_SENDING && d->handed_over)
            state = "sending*";
        printf("%-20s %-7s %-6s %-18s %-10s %-30s %-7s %-7s %5d  %s\n",
               d->updated_at, d->job, d->kind,
               strcmp(d->tenant, "*") == 0 ? "(all)" : d->tenant, d->period,
               d->recipient, d->channel, state, d->tries,
               d->last_reply ? d->last_reply : "");
    }
    if (n == 0)
        printf("(no deliveries)\n");
}

static void print_json(const struct cs_delivery_row *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++) {
        const struct cs_delivery_row *d = &v[i];
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:b,s:s?,s:s?,s:s?,s:s,"
            "s:s,s:s?}",
            "job", d->job, "kind", d->kind, "tenant", d->tenant, "period",
            d->period, "ref", d->ref, "recipient", d->recipient, "channel",
            d->channel, "state", cs_delivery_state_name(d->state), "tries",
            d->tries, "handed_over", d->handed_over, "last_reply",
            d->last_reply, "message_id", d->message_id, "subject",
            d->subject, "queued_at", d->queued_at, "updated_at",
            d->updated_at, "sent_at", d->sent_at);

        json_array_append_new(a, o);
    }
    cs_fmt_json_dumpf(a, stdout, JSON_INDENT(2));
    printf("\n");
    json_decref(a);
}

/* The URL of a webhook row, from the config as it is now. */
static const char *webhook_url(const struct cs_config *cfg,
                               const struct cs_delivery_row *d)
{
    struct cs_tenant_cfg tc;
    const char *url;
    char *label;
    int same;

    cs_config_tenant(&tc, cfg, d->tenant, NULL);
    url = tc.alert_webhook_url ? tc.alert_webhook_url
                               : cfg->alert_webhook_url;
    cs_tenant_cfg_release(&tc);
    if (!url || !*url)
        return NULL;
    label = cs_mailer_webhook_label(url);
    same = strcmp(label, d->recipient) == 0;
    free(label);
    return same ? url : NULL;
}

static int resend(struct cs_ctx *ctx, const char *since, int force)
{
    static const char *const jobs[] = {"nightly", "monthly"};
    struct cs_mail_stats total;
    struct cs_err err = {0, ""};
    int locked = 0, left = 0, ret = 0;

    memset(&total, 0, sizeof(total));
    for (size_t j = 0; j < 2 && !ret; j++) {
        struct cs_delivery_filter f = {since, jobs[j], 1};
        struct cs_delivery_row *v = NULL;
        struct cs_mailer *m = NULL;
        struct cs_mail_stats s;
        char *holder = NULL;
        size_t n = 0;
        int got = 0;

        ret = cs_store_job_lock(&got, &holder, ctx->st, jobs[j], &err);
        if (ret)
            break;
        if (!got) {
            cs_log(CS_LOG_WARN, "the %s job is running (%s): its deliveries "
                   "are left to it", jobs[j], holder ? holder : "?");
            free(holder);
            locked = 1;
            continue;
        }
        ret = cs_store_delivery_list(&v, &n, ctx->st, &f, &err);
        if (!ret)
            ret = cs_mailer_new(&m, ctx->st, ctx->cfg, force, &err);
        for (size_t i = 0; !ret && i < n; i++) {
            struct cs_err e2 = {0, ""};
            const char *url = strcmp(v[i].channel, "webhook") == 0
                                  ? webhook_url(ctx->cfg, &v[i]) : NULL;
            int queued;

            if (cs_mailer_queue_row(&queued, m, &v[i], url, &e2)) {
                cs_log(CS_LOG_ERROR, "%s", e2.msg);
                left++;
            }
        }
        if (!ret)
            ret = cs_mailer_run(m, &err);
        if (m) {
            cs_mailer_stats(&s, m);
            total.sent += s.sent;
            total.failed += s.failed;
            total.webhooks_sent += s.webhooks_sent;
            total.webhooks_failed += s.webhooks_failed;
            total.unknown += s.unknown;
        }
        cs_mailer_free(m);
        cs_delivery_rows_free(v, n);
        cs_store_job_unlock(ctx->st, jobs[j], NULL);
    }
    if (ret)
        return cs_cli_fail(ret, err.msg);
    cs_cli_print_mail(&total, left);
    if (locked)
        return CS_EXIT_LOCKED;
    return total.failed || total.webhooks_failed || total.unknown || left
               ? CS_EXIT_PARTIAL : CS_EXIT_OK;
}

int cs_cmd_mail(int argc, char **argv, struct cs_ctx *ctx)
{
    const char *since = NULL, *format = "table";
    int status = 0, resend_failed = 0, force = 0, ret;
    const struct cs_option opts[] = {
        CS_OPT_BOOL(0, "status", &status, "list the deliveries"),
        CS_OPT_BOOL(0, "resend-failed", &resend_failed,
                    "send the failed (and interrupted) deliveries again"),
        CS_OPT_DATE(0, "since", &since,
                    "only deliveries updated since this UTC day"),
        CS_OPT_CHOICE(0, "format", &format, "table|json",
                      "--status output (default table)"),
        CS_OPT_BOOL(0, "force", &force, "--resend-failed: also what may "
                    "have arrived (handed over, reply lost)"),
        CS_OPT_END};
    char week[11];

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (status == resend_failed)
        return cs_cli_usage("mail", "give one of --status and "
                            "--resend-failed");
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    if (resend_failed)
        return resend(ctx, since, force);
    if (!since) {
        cs_format_date((int64_t)(time(NULL) / 86400) - 7, week);
        since = week;
    }
    {
        struct cs_delivery_filter f = {since, NULL, 0};
        struct cs_delivery_row *v = NULL;
        struct cs_err err = {0, ""};
        size_t n = 0;

        ret = cs_store_delivery_list(&v, &n, ctx->st, &f, &err);
        if (ret)
            return cs_cli_fail(ret, err.msg);
        if (strcmp(format, "json") == 0)
            print_json(v, n);
        else
            print_table(v, n);
        cs_delivery_rows_free(v, n);
    }
    return CS_EXIT_OK;
}
