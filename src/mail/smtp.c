/* smtp.c - one message to one recipient over SMTP (libcurl) */
#include "mail/smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"

struct cs_smtp {
    struct cs_smtp_opts o;
    char *url, *user, *password, *ca_file;
    enum cs_smtp_tls tls;
    CURL *easy;
};

/* The state of one transfer, for the callbacks. */
struct xfer {
    const char *data;
    size_t len, off;
    cs_smtp_handover_fn handed_over;
    void *ctx;
    int aborted;
    struct cs_buf line;     /* the server's reply being read */
    char last[256];         /* its last complete line */
    char last_err[256];     /* its last 4xx or 5xx line (libcurl may QUIT
                               after it, and "221" is no reason) */
};

/* The host of an smtp(s):// URL into `out`. */
static void url_host(char *out, size_t n, const char *url)
{
    const char *h = strstr(url, "://");
    size_t w;

    h = h ? h + 3 : url;
    if (*h == '[') {
        h++;
        w = strcspn(h, "]");
    } else {
        w = strcspn(h, ":/?#");
    }
    snprintf(out, n, "%.*s", (int)w, h);
}

int cs_smtp_is_loopback(const char *url)
{
    char host[256];

    url_host(host, sizeof(host), url);
    return strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
           strncmp(host, "127.", 4) == 0;
}

enum cs_smtp_tls cs_smtp_tls_mode(const char *url, const char *tls)
{
    if (tls && strcmp(tls, "off") == 0)
        return CS_SMTP_TLS_OFF;
    if (tls && strcmp(tls, "opportunistic") == 0)
        return CS_SMTP_TLS_OPPORTUNISTIC;
    if (tls && strcmp(tls, "required") == 0)
        return CS_SMTP_TLS_REQUIRED;
    return cs_smtp_is_loopback(url) ? CS_SMTP_TLS_OPPORTUNISTIC
                                    : CS_SMTP_TLS_REQUIRED;
}

const char *cs_smtp_tls_name(enum cs_smtp_tls t)
{
    return t == CS_SMTP_TLS_OFF ? "off"
           : t == CS_SMTP_TLS_OPPORTUNISTIC ? "opportunistic" : "required";
}

int cs_smtp_new(struct cs_smtp **out, const struct cs_smtp_opts *o,
                struct cs_err *err)
{
    struct cs_smtp *s;

    *out = NULL;
    if (!o->url || (strncmp(o->url, "smtp://", 7) != 0 &&
                    strncmp(o->url, "smtps://", 8) != 0))
        return cs_err_set(err, CS_EINVALID, "smtp: '%s' is not an smtp:// or "
                          "smtps:// URL", o->url ? o->url : "");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cs_err_set(err, CS_ENET, "smtp: cannot initialise libcurl");
    s = cs_xcalloc(1, sizeof(*s));
    s->o = *o;
    s->url = cs_xstrdup(o->url);
    s->user = o->user && *o->user ? cs_xstrdup(o->user) : NULL;
    s->password = o->password ? cs_xstrdup(o->password) : NULL;
    s->ca_file = o->ca_file && *o->ca_file ? cs_xstrdup(o->ca_file) : NULL;
    s->tls = cs_smtp_tls_mode(o->url, o->tls);
    s->easy = curl_easy_init();
    if (!s->easy) {
        cs_smtp_free(s);
        return cs_err_set(err, CS_ENET, "smtp: cannot make a libcurl handle");
    }
    if (s->user && s->tls != CS_SMTP_TLS_REQUIRED &&
        strncmp(o->url, "smtps://", 8) != 0 && !cs_smtp_is_loopback(o->url))
        cs_log(CS_LOG_WARN, "smtp: credentials may cross the network "
               "unencrypted (mail.tls is '%s')", cs_smtp_tls_name(s->tls));
    *out = s;
    return 0;
}

void cs_smtp_free(struct cs_smtp *s)
{
    if (!s)
        return;
    if (s->easy)
        curl_easy_cleanup(s->easy);
    free(s->url);
    free(s->user);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s->ca_file);
    free(s);
    curl_global_cleanup();
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t room = size * n, left = x->len - x->off;

    if (left == 0) {
        /* Everything is with libcurl; the end of data comes next. */
        if (x->handed_over && x->handed_over(x->ctx) != 0) {
            x->aborted = 1;
            return CURL_READFUNC_ABORT;
        }
        x->handed_over = NULL;
        return 0;
    }
    if (room > left)
        room = left;
    /* The last bytes: once libcurl has them the server may soon hold the
     * whole message, so the hand-over is recorded first (a crash right
     * here leaves a message marked "may have arrived" that did not: it
     * is reported, never sent twice). */
    if (room == left && x->handed_over) {
        if (x->handed_over(x->ctx) != 0) {
            x->aborted = 1;
            return CURL_READFUNC_ABORT;
        }
        x->handed_over = NULL;
    }
    memcpy(buf, x->data + x->off, room);
    x->off += room;
    return room;
}

/* Keeps the server's last reply line (CURLINFO_HEADER_IN); what we send
 * (AUTH included) is never looked at. */
static int on_debug(CURL *e, curl_infotype type, char *data, size_t size,
                    void *ud)
{
    struct xfer *x = ud;

    (void)e;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n') {
            size_t n = x->line.len;

            while (n && (x->line.ptr[n - 1] == '\r' ||
                         x->line.ptr[n - 1] == ' '))
                n--;
            if (n)
                snprintf(x->last, sizeof(x->last), "%.*s", (int)n,
                         x->line.ptr);
            if (n && (x->line.ptr[0] == '4' || x->line.ptr[0] == '5'))
                snprintf(x->last_err, sizeof(x->last_err), "%.*s", (int)n,
                         x->line.ptr);
            cs_buf_reset(&x->line);
        } else if (x->line.len < 512) {
            char c = data[i];

            cs_buf_addch(&x->line, (unsigned char)c < 0x20 ? ' ' : c);
        }
    }
    return 0;
}

static int temporary(CURLcode cc, long code)
{
    if (code >= 400 && code < 500)
        return 1;
    if (code >= 500)
        return 0;
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

int cs_smtp_send(struct cs_smtp_result *res, struct cs_smtp *s,
                 const char *from, const char *rcpt, const char *data,
                 size_t len, cs_smtp_handover_fn handed_over, void *ctx,
                 struct cs_err *err)
{
    struct curl_slist *rcpts = NULL;
    struct cs_buf f = CS_BUF_INIT, r = CS_BUF_INIT;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct xfer x;
    CURL *e = s->easy;
    CURLcode cc;
    long code = 0;

    memset(res, 0, sizeof(*res));
    memset(&x, 0, sizeof(x));
    x.data = data;
    x.len = len;
    x.handed_over = handed_over;
    x.ctx = ctx;
    cs_buf_init(&x.line);
    cs_buf_addf(&f, "<%s>", from);
    cs_buf_addf(&r, "<%s>", rcpt);
    rcpts = curl_slist_append(NULL, r.ptr);
    if (!rcpts) {
        cs_buf_release(&f);
        cs_buf_release(&r);
        return cs_err_set(err, CS_ENET, "smtp: out of memory");
    }
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    curl_easy_setopt(e, CURLOPT_USE_SSL,
                     s->tls == CS_SMTP_TLS_REQUIRED ? (long)CURLUSESSL_ALL
                     : s->tls == CS_SMTP_TLS_OPPORTUNISTIC
                         ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_NONE);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, s->o.verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, s->o.verify ? 2L : 0L);
    if (s->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
    if (s->user) {
        curl_easy_setopt(e, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, s->password ? s->password
                                                          : "");
    }
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, f.ptr);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpts);
    /* One recipient per message, but a refused RCPT must still be told
     * apart from a failed connection (libcurl >= 7.69). */
#if LIBCURL_VERSION_NUM >= 0x080200
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#elif LIBCURL_VERSION_NUM >= 0x074500
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
#endif
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, &x);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, &x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, s->o.timeout_s > 0 ? s->o.timeout_s
                                                           : 60L);
    cc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    if (x.last_err[0] && code < 400)
        code = strtol(x.last_err, NULL, 10);
    res->code = code;
    if (cc == CURLE_OK) {
        res->sent = 1;
        snprintf(res->reply, sizeof(res->reply), "%s", x.last);
    } else {
        res->retryable = !x.aborted && temporary(cc, code);
        if (x.last_err[0])
            snprintf(res->reply, sizeof(res->reply), "%s", x.last_err);
        else if (cc == CURLE_USE_SSL_FAILED)
            snprintf(res->reply, sizeof(res->reply), "the server does not "
                     "offer STARTTLS and mail.tls is 'required'");
        else
            snprintf(res->reply, sizeof(res->reply), "%s",
                     errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    curl_slist_free_all(rcpts);
    cs_buf_release(&f);
    cs_buf_release(&r);
    cs_buf_release(&x.line);
    return 0;
}
