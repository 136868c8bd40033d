/* deliver.c - sending through the delivery log: SMTP, outbox, webhook */
#include "mail/deliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/addr.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "mail/mime.h"
#include "mail/smtp.h"
#include "net/http.h"

/* A row queued in this run. */
struct pending {
    long long id;
    char *channel;          /* "smtp", "outbox", "webhook" */
    char *rcpt;             /* addr-spec, or the webhook's label */
    char *target;           /* outbox: the file; webhook: the URL */
    char *what;             /* "nightly report acme 2026-10-31" for logs */
};

struct cs_mailer {
    struct cs_store *st;
    const struct cs_config *cfg;
    int force;
    const char *channel;
    struct cs_addr from;
    struct cs_smtp *smtp;
    struct cs_http *http;
    struct pending *p;
    size_t n, cap;
    struct cs_mail_stats stats;
    /* The answer of the webhook request in flight. */
    struct cs_http_result wres;
    char wreply[256];
    int wdone;
};

int cs_mailer_new(struct cs_mailer **out, struct cs_store *st,
                  const struct cs_config *cfg, int force, struct cs_err *err)
{
    struct cs_mailer *m = cs_xcalloc(1, sizeof(*m));
    int ret;

    *out = NULL;
    m->st = st;
    m->cfg = cfg;
    m->force = force;
    m->channel = cfg->smtp_url && *cfg->smtp_url ? "smtp" : "outbox";
    ret = cs_addr_parse(&m->from, cfg->mail_from, err);
    if (ret) {
        free(m);
        return ret;
    }
    *out = m;
    return 0;
}

void cs_mailer_free(struct cs_mailer *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->p[i].channel);
        free(m->p[i].rcpt);
        free(m->p[i].target);
        free(m->p[i].what);
    }
    free(m->p);
    cs_smtp_free(m->smtp);
    cs_http_free(m->http);
    free(m);
}

const char *cs_mailer_channel(const struct cs_mailer *m)
{
    return m->channel;
}

void cs_mailer_stats(struct cs_mail_stats *out, const struct cs_mailer *m)
{
    *out = m->stats;
}

char *cs_mailer_webhook_label(const char *url)
{
    struct cs_buf b = CS_BUF_INIT;
    const char *h = strstr(url, "://");
    char hash[9];

    h = h ? h + 3 : url;
    cs_sha256_hex(url, strlen(url), hash, 8);
    cs_buf_addf(&b, "webhook %.*s #%s", (int)strcspn(h, "/?#"), h, hash);
    return cs_buf_detach(&b, NULL);
}

static void add_pending(struct cs_mailer *m, long long id, const char *channel,
                        const char *rcpt, const char *target,
                        const char *what)
{
    struct pending *p;

    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->p = cs_xrealloc(m->p, m->cap * sizeof(*m->p));
    }
    p = &m->p[m->n++];
    p->id = id;
    p->channel = cs_xstrdup(channel);
    p->rcpt = cs_xstrdup(rcpt);
    p->target = target ? cs_xstrdup(target) : NULL;
    p->what = cs_xstrdup(what);
    m->stats.queued++;
}

static char *what_of(const struct cs_mail_ident *id)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addf(&b, "the %s %s of '%s' for %s", id->job, id->kind,
                strcmp(id->tenant, "*") == 0 ? "all tenants" : id->tenant,
                id->period);
    return cs_buf_detach(&b, NULL);
}

/* REPORTS_DIR/outbox/<period>_<job>_<kind>_<tenant>[_<ref>]_<rcpt>.eml */
static char *outbox_path(const struct cs_mailer *m,
                         const struct cs_mail_ident *id, const char *rcpt)
{
    struct cs_buf b = CS_BUF_INIT;
    const char *parts[6] = {id->period, id->job, id->kind, id->tenant,
                            id->ref, rcpt};

    cs_buf_addf(&b, "%s/outbox/", m->cfg->reports_dir);
    for (int i = 0; i < 6; i++) {
        if (!*parts[i])
            continue;
        if (i)
            cs_buf_addch(&b, '_');
        cs_fs_safe_name(&b, strcmp(parts[i], "*") == 0 ? "all" : parts[i]);
    }
    cs_buf_adds(&b, ".eml");
    return cs_buf_detach(&b, NULL);
}

/*
 * What to do with the row of `key` (see deliver.h): 1 build and queue,
 * 0 leave it. `outbox` is the file of an outbox row.
 */
static int decide(int *go, struct cs_mailer *m,
                  const struct cs_delivery_key *key, const char *outbox,
                  const char *what, struct cs_err *err)
{
    enum cs_delivery_state state;
    long long id;
    int handed, ret;

    *go = 0;
    ret = cs_store_delivery_find(&id, &state, &handed, m->st, key, err);
    if (ret)
        return ret;
    switch (state) {
    case CS_DELIVERY_SENT:
        if (!m->force) {
            m->stats.skipped++;
            return 0;
        }
        break;
    case CS_DELIVERY_SENDING:
        if (m->force)
            break;
        if (outbox) {
            if (!cs_fs_exists(outbox))
                break;
            m->stats.skipped++;
            return cs_store_delivery_done(m->st, id, 1, "written to the "
                                          "outbox", err);
        }
        if (!handed && strcmp(key->channel, "webhook") != 0)
            break;
        cs_log(CS_LOG_WARN, "%s to '%s' was interrupted after it was handed "
               "to the server: it may have arrived, so it is not sent again "
               "(--force sends it anyway)", what, key->recipient);
        m->stats.unknown++;
        return 0;
    default:
        break;
    }
    *go = 1;
    return 0;
}

int cs_mailer_queue_mail(int *queued_out, struct cs_mailer *m,
                         const struct cs_mail_ident *id, const char *to,
                         const struct cs_mail_content *c,
                         const struct cs_mail_files *files,
                         struct cs_err *err)
{
    struct cs_buf msg = CS_BUF_INIT, mid = CS_BUF_INIT;
    struct cs_mime_attachment *att = NULL;
    char **data = NULL, *outbox = NULL, *what = what_of(id);
    struct cs_delivery_key key;
    struct cs_mime_msg mm;
    struct cs_addr a;
    size_t n_att = 0;
    long long row;
    int go, ret;

    *queued_out = 0;
    ret = cs_addr_parse(&a, to, err);
    if (ret)
        goto done;
    key.job = id->job;
    key.kind = id->kind;
    key.tenant = id->tenant;
    key.period = id->period;
    key.ref = id->ref ? id->ref : "";
    key.recipient = a.spec;
    key.channel = m->channel;
    if (strcmp(m->channel, "outbox") == 0) {
        struct cs_mail_ident i2 = *id;

        i2.ref = key.ref;
        outbox = outbox_path(m, &i2, a.spec);
    }
    ret = decide(&go, m, &key, outbox, what, err);
    if (ret || !go)
        goto done;
    {
        const char *parts[] = {id->job,  id->kind, id->tenant, id->period,
                               key.ref, a.spec,   NULL};

        cs_mime_message_id(&mid, parts, cs_addr_domain(m->from.spec));
    }
    data = cs_xcalloc(files ? files->n + 1 : 1, sizeof(*data));
    att = cs_xcalloc(files ? files->n + 1 : 1, sizeof(*att));
    for (size_t i = 0; files && i < files->n; i++) {
        const struct cs_mail_file *f = &files->v[i];

        if (!f->attach)
            continue;
        ret = cs_fs_read(&data[n_att], &att[n_att].len, f->path, 0, err);
        if (ret)
            goto done;
        att[n_att].data = data[n_att];
        att[n_att].filename = f->name;
        att[n_att].type = f->type;
        n_att++;
    }
    memset(&mm, 0, sizeof(mm));
    mm.from = m->cfg->mail_from;
    mm.to = to;
    mm.subject = c->subject;
    mm.message_id = mid.ptr;
    mm.date = time(NULL);
    mm.text = c->text;
    mm.html = c->html;
    mm.att = att;
    mm.n_att = n_att;
    ret = cs_mime_build(&msg, &mm, err);
    if (!ret)
        ret = cs_store_delivery_queue(&row, m->st, &key, mid.ptr, c->subject,
                                      msg.ptr, msg.len, err);
    if (ret)
        goto done;
    add_pending(m, row, m->channel, a.spec, outbox, what);
    *queued_out = 1;
done:
    for (size_t i = 0; data && i < n_att; i++)
        free(data[i]);
    free(data);
    free(att);
    free(outbox);
    free(what);
    cs_buf_release(&msg);
    cs_buf_release(&mid);
    return ret;
}

int cs_mailer_queue_webhook(int *queued_out, struct cs_mailer *m,
                            const struct cs_mail_ident *id, const char *url,
                            const char *body, struct cs_err *err)
{
    char *label = cs_mailer_webhook_label(url), *what = what_of(id);
    struct cs_delivery_key key;
    long long row;
    int go, ret;

    *queued_out = 0;
    key.job = id->job;
    key.kind = id->kind;
    key.tenant = id->tenant;
    key.period = id->period;
    key.ref = id->ref ? id->ref : "";
    key.recipient = label;
    key.channel = "webhook";
    ret = decide(&go, m, &key, NULL, what, err);
    if (!ret && go)
        ret = cs_store_delivery_queue(&row, m->st, &key, "", "", body,
                                      strlen(body), err);
    if (!ret && go) {
        add_pending(m, row, "webhook", label, url, what);
        *queued_out = 1;
    }
    free(label);
    free(what);
    return ret;
}

int cs_mailer_queue_row(int *queued_out, struct cs_mailer *m,
                        const struct cs_delivery_row *r, const char *url,
                        struct cs_err *err)
{
    struct cs_mail_ident id = {r->job, r->kind, r->tenant, r->period, r->ref};
    char *what = what_of(&id), *target = NULL;

    *queued_out = 0;
    if (r->state == CS_DELIVERY_SENDING && !m->force &&
        (r->handed_over || strcmp(r->channel, "webhook") == 0)) {
        cs_log(CS_LOG_WARN, "%s to '%s' was interrupted after it was handed "
               "to the server: it may have arrived, so it is not sent again "
               "(--force sends it anyway)", what, r->recipient);
        m->stats.unknown++;
        free(what);
        return 0;
    }
    if (strcmp(r->channel, "outbox") == 0)
        target = outbox_path(m, &id, r->recipient);
    else if (strcmp(r->channel, "webhook") == 0)
        target = url ? cs_xstrdup(url) : NULL;
    if (strcmp(r->channel, "webhook") == 0 && !target) {
        int ret = cs_err_set(err, CS_EINVALID, "%s: the webhook '%s' is no "
                             "longer configured", what, r->recipient);

        free(what);
        return ret;
    }
    if (strcmp(r->channel, "smtp") == 0 && strcmp(m->channel, "smtp") != 0) {
        int ret = cs_err_set(err, CS_EINVALID, "%s was for SMTP, and no SMTP "
                             "server is configured (CALLSCOPE_SMTP_URL)",
                             what);

        free(what);
        return ret;
    }
    add_pending(m, r->id, r->channel, r->recipient, target, what);
    *queued_out = 1;
    free(target);
    free(what);
    return 0;
}

/* ---- sending ------------------------------------------------------- */

static int handed_over(void *ctx)
{
    void **c = ctx;
    struct cs_mailer *m = c[0];
    const struct pending *p = c[1];

    return cs_store_delivery_handed_over(m->st, p->id, NULL);
}

static int smtp_session(struct cs_mailer *m, struct cs_err *err)
{
    struct cs_smtp_opts o;

    if (m->smtp)
        return 0;
    memset(&o, 0, sizeof(o));
    o.url = m->cfg->smtp_url;
    o.tls = m->cfg->mail_tls;
    o.user = m->cfg->smtp_user;
    o.password = m->cfg->smtp_password;
    o.ca_file = m->cfg->mail_ca_file;
    o.verify = m->cfg->mail_verify_tls;
    o.timeout_s = m->cfg->mail_timeout_s;
    return cs_smtp_new(&m->smtp, &o, err);
}

/* One try of one mail: 1 sent, 0 failed for good, 2 to retry. */
static int try_mail(struct cs_mailer *m, const struct pending *p, int last,
                    struct cs_err *err)
{
    struct cs_smtp_result res;
    char *msg = NULL;
    size_t len = 0;
    int ret, out;

    ret = cs_store_delivery_message(&msg, &len, m->st, p->id, err);
    if (ret)
        return ret;
    ret = cs_store_delivery_sending(m->st, p->id, err);
    if (ret)
        goto done;
    if (strcmp(p->channel, "outbox") == 0) {
        char *slash = strrchr(p->target, '/');
        struct cs_err e2 = {0, ""};

        *slash = '\0';
        ret = cs_fs_mkdirs(p->target, &e2);
        *slash = '/';
        if (!ret)
            ret = cs_fs_write_atomic(p->target, msg, len, &e2);
        res.sent = ret == 0;
        res.retryable = 0;
        if (snprintf(res.reply, sizeof(res.reply), "%s",
                     ret ? e2.msg : "written to the outbox") >=
            (int)sizeof(res.reply)) {
            /* Cut: never inside a UTF-8 sequence. */
            size_t cut = sizeof(res.reply) - 1;

            while (cut > 0 && ((unsigned char)res.reply[cut] & 0xC0) == 0x80)
                cut--;
            res.reply[cut] = '\0';
        }
        ret = 0;
    } else {
        void *ctx[2] = {m, (void *)p};

        ret = smtp_session(m, err);
        if (!ret)
            ret = cs_smtp_send(&res, m->smtp, m->from.spec, p->rcpt, msg, len,
                               handed_over, ctx, err);
        if (ret)
            goto done;
    }
    out = res.sent ? 1 : res.retryable && !last ? 2 : 0;
    /* A try that will be retried is `failed` meanwhile, so a crash in the
     * wait leaves it for --resend-failed. */
    ret = cs_store_delivery_done(m->st, p->id, res.sent, res.reply, err);
    if (ret)
        goto done;
    if (res.sent) {
        cs_log(CS_LOG_DEBUG, "sent %s to '%s' (%s)", p->what, p->rcpt,
               strcmp(p->channel, "outbox") == 0 ? p->target : res.reply);
        m->stats.sent++;
    } else if (out == 2) {
        cs_log(CS_LOG_INFO, "cannot send %s to '%s' yet: %s (will retry)",
               p->what, p->rcpt, res.reply);
    } else {
        cs_log(CS_LOG_WARN, "cannot send %s to '%s': %s", p->what, p->rcpt,
               res.reply);
        m->stats.failed++;
    }
    ret = out;
done:
    free(msg);
    return ret;
}

static void on_webhook(const struct cs_http_result *res, void *user)
{
    struct cs_mailer *m = user;

    m->wres = *res;
    if (res->code == 0)
        snprintf(m->wreply, sizeof(m->wreply), "http %ld after %u %s",
                 res->status, res->tries, res->tries == 1 ? "try" : "tries");
    else
        snprintf(m->wreply, sizeof(m->wreply), "%s", res->error);
    m->wres.body = NULL;
    m->wres.error = NULL;
    m->wdone = 1;
}

/* One webhook POST, its retries inside (429 Retry-After, 5xx backoff). */
static int try_webhook(struct cs_mailer *m, const struct pending *p,
                       struct cs_err *err)
{
    char *body = NULL;
    size_t len = 0;
    int ret;

    if (!m->http) {
        struct cs_http_opts o;

        cs_http_opts_init(&o);
        o.concurrency = 1;
        o.max_tries = (unsigned)m->cfg->alerts_webhook_max_tries;
        o.backoff_base_ms = 1000;
        o.backoff_max_ms = 30000;
        o.min_interval_ms = 1000;   /* at most one request a second */
        o.timeout_ms = 30000;
        o.on_done = on_webhook;
        ret = cs_http_new(&m->http, &o, err);
        if (ret)
            return ret;
    }
    ret = cs_store_delivery_message(&body, &len, m->st, p->id, err);
    if (!ret)
        ret = cs_store_delivery_sending(m->st, p->id, err);
    /* There is no telling when an endpoint has acted on a request, so it
     * counts as handed over from the start. */
    if (!ret)
        ret = cs_store_delivery_handed_over(m->st, p->id, err);
    if (!ret) {
        m->wdone = 0;
        ret = cs_http_post(m->http, p->target, body, len, m, err);
    }
    if (!ret)
        ret = cs_http_wait_all(m->http, err);
    if (!ret && m->wdone) {
        ret = cs_store_delivery_done(m->st, p->id, m->wres.code == 0,
                                     m->wreply, err);
        if (m->wres.code == 0) {
            cs_log(CS_LOG_DEBUG, "posted %s to '%s' (%s)", p->what, p->rcpt,
                   m->wreply);
            m->stats.webhooks_sent++;
        } else {
            cs_log(CS_LOG_WARN, "cannot post %s to '%s': %s", p->what,
                   p->rcpt, m->wreply);
            m->stats.webhooks_failed++;
        }
    }
    free(body);
    return ret;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

int cs_mailer_run(struct cs_mailer *m, struct cs_err *err)
{
    size_t *todo = cs_xcalloc(m->n + 1, sizeof(*todo)), n = 0;
    long wait = m->cfg->mail_backoff_ms;
    int ret = 0;

    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->p[i].channel, "webhook") == 0)
            continue;
        todo[n++] = i;
    }
    for (long round = 1; n && !ret; round++) {
        size_t again = 0;
        int last = round >= m->cfg->mail_max_tries;

        for (size_t k = 0; k < n && !ret; k++) {
            int r = try_mail(m, &m->p[todo[k]], last, err);

            if (r < 0)
                ret = r;
            else if (r == 2)
                todo[again++] = todo[k];
        }
        n = again;
        if (n && !ret) {
            cs_log(CS_LOG_INFO, "retrying %zu mail(s) in %.1f s", n,
                   (double)wait / 1000.0);
            sleep_ms(wait);
            wait = wait * 2 > 60000 ? 60000 : wait * 2;
        }
    }
    for (size_t i = 0; i < m->n && !ret; i++) {
        if (strcmp(m->p[i].channel, "webhook") == 0)
            ret = try_webhook(m, &m->p[i], err);
    }
    free(todo);
    /* Everything queued has been tried: a later run queues anew. */
    for (size_t i = 0; i < m->n; i++) {
        free(m->p[i].channel);
        free(m->p[i].rcpt);
        free(m->p[i].target);
        free(m->p[i].what);
    }
    m->n = 0;
    return ret;
}
