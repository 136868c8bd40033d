/* smtp.h - one message to one recipient over SMTP (libcurl) */
#ifndef CS_MAIL_SMTP_H
#define CS_MAIL_SMTP_H

#include <stddef.h>

#include "base/err.h"

/*
 * Usage:
 *
 *     struct cs_smtp *s = NULL;
 *     struct cs_smtp_result res;
 *
 *     if (cs_smtp_new(&s, &opts, err) < 0) ...
 *     cs_smtp_send(&res, s, "reports@x.example", "cfo@acme.example",
 *                  bytes, len, handed_over, ctx, err);
 *     if (res.sent) ... else if (res.retryable) ... try later
 *     cs_smtp_free(s);
 *
 * A session keeps one libcurl handle, so consecutive messages share the
 * connection. The message is sent as given (mail/mime.h builds it);
 * libcurl adds only the SMTP dot-stuffing.
 */

enum cs_smtp_tls {
    CS_SMTP_TLS_REQUIRED,       /* STARTTLS or fail (smtps://: TLS anyway) */
    CS_SMTP_TLS_OPPORTUNISTIC,  /* STARTTLS when offered, else plain */
    CS_SMTP_TLS_OFF             /* never STARTTLS */
};

struct cs_smtp_opts {
    const char *url;        /* smtp://host[:port] or smtps://host[:port] */
    const char *tls;        /* "required" | "opportunistic" | "off" | NULL */
    const char *user;       /* AUTH, or NULL (environment only) */
    const char *password;
    const char *ca_file;    /* or NULL: the system's CAs */
    int verify;             /* verify the certificate and host name */
    long timeout_s;         /* per message */
};

/* The TLS mode in force: `tls` when given, else required, except for a
 * loopback host (127.0.0.0/8, ::1, localhost), where it is opportunistic
 * so that a local test sink works. */
enum cs_smtp_tls cs_smtp_tls_mode(const char *url, const char *tls);
const char *cs_smtp_tls_name(enum cs_smtp_tls t);
/* 1 when the URL's host is a loopback address or "localhost". */
int cs_smtp_is_loopback(const char *url);

struct cs_smtp;

/* A session (new; cs_smtp_free). CS_ENET when libcurl cannot start. */
int cs_smtp_new(struct cs_smtp **out, const struct cs_smtp_opts *opts,
                struct cs_err *err);
void cs_smtp_free(struct cs_smtp *s);

/* Called once, just before the last bytes of the message go to libcurl
 * (so before the end of data is sent): from then on the server may hold
 * the message. Returns 0, or anything else to abort the transfer. */
typedef int (*cs_smtp_handover_fn)(void *ctx);

struct cs_smtp_result {
    int sent;               /* the server accepted the message (250) */
    int retryable;          /* a temporary failure: 4xx, connection,
                               timeout; 5xx and TLS/AUTH refusals are not */
    long code;              /* the last SMTP reply code, 0 if none */
    char reply[256];        /* the server's last reply line, or why it
                               failed ("" when none) */
};

/*
 * Sends `len` bytes of `data` from `from` to `rcpt` (addr-specs). The try's
 * outcome is in *res; the return value is 0, or CS_ENET / CS_EINVALID
 * when nothing could be tried (bad URL, no libcurl handle).
 */
int cs_smtp_send(struct cs_smtp_result *res, struct cs_smtp *s,
                 const char *from, const char *rcpt, const char *data,
                 size_t len, cs_smtp_handover_fn handed_over, void *ctx,
                 struct cs_err *err);

#endif
