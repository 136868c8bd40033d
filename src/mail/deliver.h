/* deliver.h - sending through the delivery log: SMTP, outbox, webhook */
#ifndef CS_MAIL_DELIVER_H
#define CS_MAIL_DELIVER_H

#include "base/err.h"
#include "config/config.h"
#include "mail/compose.h"
#include "store/deliveries.h"
#include "store/store.h"

/*
 * Usage:
 *
 *     struct cs_mailer *m = NULL;
 *     cs_mailer_new(&m, st, cfg, force, err);
 *     cs_mailer_queue_mail(&queued, m, &ident, "cfo@acme.example",
 *                          &content, &files, err);    // one per recipient
 *     cs_mailer_queue_webhook(&queued, m, &ident, url, body, err);
 *     cs_mailer_run(m, err);                           // sends, retries
 *     cs_mailer_stats(&stats, m);
 *     cs_mailer_free(m);
 *
 * Each message goes to one recipient, so it has its own Message-ID and
 * its own row in the delivery log (store/deliveries.h). Queuing writes the
 * row, with the message's bytes, before anything is sent; running sends
 * what was queued, marking each row `sending` before a try and `sent` or
 * `failed` after it, and retries temporary failures (4xx, connection,
 * timeout) in rounds, waiting mail.backoff_ms, doubled each round (capped
 * at 60 s), up to mail.max_tries tries.
 *
 * What queuing does with a row that exists (a re-run, or a resend):
 *   sent         skipped, unless `force`
 *   queued, failed   built and queued again
 *   sending      the process that sent it died (the caller holds the job
 *                lock). Outbox: done if its file exists, else queued.
 *                SMTP: queued again when the message was never handed over
 *                (the server cannot have it); left alone when it was (the
 *                server may have it: counted `unknown`), unless `force`.
 *                Webhook: the request may have reached the endpoint, so
 *                left alone like a handed-over message.
 *
 * With no SMTP server configured, "sending" writes the message to
 * REPORTS_DIR/outbox/ as an .eml file (the same bytes, written through a
 * temporary file and rename) and the channel is "outbox".
 */

struct cs_mailer;

/* What a run did. */
struct cs_mail_stats {
    long queued;            /* rows queued to be sent */
    long sent;              /* mails accepted or written to the outbox */
    long failed;            /* mails that ended failed */
    long webhooks_sent;
    long webhooks_failed;
    long skipped;           /* already sent: nothing to do */
    long unknown;           /* interrupted after the hand-over: left */
};

/* Which message a delivery carries (the key without recipient and
 * channel). */
struct cs_mail_ident {
    const char *job, *kind, *tenant, *period, *ref;
};

/* A mailer on `st` and `cfg` (both must outlive it); new. */
int cs_mailer_new(struct cs_mailer **out, struct cs_store *st,
                  const struct cs_config *cfg, int force,
                  struct cs_err *err);
void cs_mailer_free(struct cs_mailer *m);

/* "smtp" or "outbox": where mails go in this run. */
const char *cs_mailer_channel(const struct cs_mailer *m);

/*
 * Builds the message of `c` and `files` (those marked attach are read
 * and attached) for `to` and queues it (see above); *queued_out says
 * whether it will be sent. CS_EINVALID for an address or a header that
 * is refused, CS_EIO for an attachment that cannot be read.
 */
int cs_mailer_queue_mail(int *queued_out, struct cs_mailer *m,
                         const struct cs_mail_ident *id, const char *to,
                         const struct cs_mail_content *c,
                         const struct cs_mail_files *files,
                         struct cs_err *err);

/* Queues a webhook POST of the JSON `body` to `url` (the log names it by
 * host and a hash, never the URL, which carries a token). */
int cs_mailer_queue_webhook(int *queued_out, struct cs_mailer *m,
                            const struct cs_mail_ident *id, const char *url,
                            const char *body, struct cs_err *err);

/* Queues a logged row again with its stored bytes (a resend); `url` is
 * the webhook URL for a webhook row (NULL otherwise). */
int cs_mailer_queue_row(int *queued_out, struct cs_mailer *m,
                        const struct cs_delivery_row *row, const char *url,
                        struct cs_err *err);

/* Sends what is queued. Returns 0 (failed deliveries are in the stats) or
 * the store's error. */
int cs_mailer_run(struct cs_mailer *m, struct cs_err *err);

void cs_mailer_stats(struct cs_mail_stats *out, const struct cs_mailer *m);

/* "webhook hooks.example.com #1a2b3c4d": how the log names a webhook
 * (new). */
char *cs_mailer_webhook_label(const char *url);

#endif
