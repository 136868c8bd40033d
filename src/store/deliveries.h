/* deliveries.h - the delivery log, stored alerts and job locks */
#ifndef CS_STORE_DELIVERIES_H
#define CS_STORE_DELIVERIES_H

#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

/*
 * The delivery log: one row per (job, kind, tenant, period, ref,
 * recipient, channel), e.g. ("nightly", "report", "acme", "2026-10-31",
 * "", "cfo@acme.example", "smtp"). A row is queued (with the bytes to send)
 * before anything is sent, marked `sending` before each try, stamped
 * `handed_over_at` once the whole message was given to the server (the
 * only moment after which the server may hold it without our knowing),
 * and ends `sent` (the bytes are dropped) or `failed`. See mail/deliver.h
 * for what the states mean to a re-run.
 */

enum cs_delivery_state {
    CS_DELIVERY_NONE = 0,   /* no row */
    CS_DELIVERY_QUEUED,
    CS_DELIVERY_SENDING,
    CS_DELIVERY_SENT,
    CS_DELIVERY_FAILED
};

const char *cs_delivery_state_name(enum cs_delivery_state s);

struct cs_delivery_key {
    const char *job;        /* "nightly", "monthly" */
    const char *kind;       /* "report", "alerts" */
    const char *tenant;     /* a tenant, or "*" for the all-tenants edition */
    const char *period;     /* "2026-10-31", "2026-10" */
    const char *ref;        /* "" or which alerts a digest holds */
    const char *recipient;  /* an address, or the webhook's label */
    const char *channel;    /* "smtp", "outbox", "webhook" */
};

/* A row as listed (every string new; cs_delivery_rows_free). */
struct cs_delivery_row {
    long long id;
    char *job, *kind, *tenant, *period, *ref, *recipient, *channel;
    enum cs_delivery_state state;
    int tries;
    int handed_over;        /* sending: the server may hold the message */
    char *last_reply;       /* or NULL */
    char *message_id;
    char *subject;
    char *queued_at, *updated_at, *sent_at; /* "2026-11-01 06:10:02+00" */
};
void cs_delivery_rows_free(struct cs_delivery_row *rows, size_t n);

/* The row of `key`: *id_out 0 and *state_out NONE when there is none. */
int cs_store_delivery_find(long long *id_out,
                           enum cs_delivery_state *state_out,
                           int *handed_over_out, struct cs_store *st,
                           const struct cs_delivery_key *key,
                           struct cs_err *err);

/*
 * Writes the row of `key` as `queued` with the message bytes (`len`),
 * its Message-ID and subject (a new row, or a row again whatever its
 * state: the caller decides what may be re-queued). *id_out is its id.
 */
int cs_store_delivery_queue(long long *id_out, struct cs_store *st,
                            const struct cs_delivery_key *key,
                            const char *message_id, const char *subject,
                            const void *msg, size_t len, struct cs_err *err);

/* The stored bytes of row `id` (new in *out; CS_ENOTFOUND when there are
 * none, e.g. once sent). */
int cs_store_delivery_message(char **out, size_t *len_out,
                              struct cs_store *st, long long id,
                              struct cs_err *err);

/* Before a try: state `sending`, tries + 1, handed_over_at cleared. */
int cs_store_delivery_sending(struct cs_store *st, long long id,
                              struct cs_err *err);
/* The whole message is with the server (its answer is still to come). */
int cs_store_delivery_handed_over(struct cs_store *st, long long id,
                                  struct cs_err *err);
/* After a try: `sent` (the bytes are dropped) or `failed`, with the
 * server's last reply (may be NULL). */
int cs_store_delivery_done(struct cs_store *st, long long id, int sent,
                           const char *reply, struct cs_err *err);

/* What to list: rows updated since `since` (a date, may be NULL), of
 * `job` (may be NULL), and only those a resend may pick up (`failed`, or
 * `queued` or `sending` left by a dead run: the caller holds the job's
 * lock). */
struct cs_delivery_filter {
    const char *since;
    const char *job;
    int resendable;
};
int cs_store_delivery_list(struct cs_delivery_row **out, size_t *n_out,
                           struct cs_store *st,
                           const struct cs_delivery_filter *f,
                           struct cs_err *err);

/* ---- alerts -------------------------------------------------------- */

/* An alert of a tenant's day as stored, with what was sent of it. */
struct cs_alert_rec {
    char *kpi;
    char *unit;             /* cs_unit_name */
    int level;              /* 1 warning, 2 critical */
    int below;
    double value, threshold;
    int sent_level;         /* 0: never sent */
    char *sent_at;          /* or NULL */
    int due;                /* to be sent now */
};
void cs_alert_recs_free(struct cs_alert_rec *a, size_t n);

/* One alert raised, as cs_store_alerts_record takes them. */
struct cs_alert_in {
    const char *kpi;
    const char *unit;
    int level;
    int below;
    double value, threshold;
};

/*
 * Records the alerts raised for (tenant, day) — those no longer raised are
 * removed — and returns them all in *out, each marked due when it was
 * never sent, its level is above the level sent, or it was sent at least
 * `resend_after_s` seconds ago.
 */
int cs_store_alerts_record(struct cs_alert_rec **out, size_t *n_out,
                           struct cs_store *st, const char *tenant,
                           const char *day, const struct cs_alert_in *in,
                           size_t n_in, long resend_after_s,
                           struct cs_err *err);

/* Marks `kpi` of (tenant, day) as sent now at `level`. */
int cs_store_alert_sent(struct cs_store *st, const char *tenant,
                        const char *day, const char *kpi, int level,
                        struct cs_err *err);

/* How many alerts were raised for `tenant` on days [from, to), and how
 * many of them were critical. */
int cs_store_alerts_count(long *all_out, long *critical_out,
                          struct cs_store *st, const char *tenant,
                          const char *from, const char *to,
                          struct cs_err *err);

/* ---- jobs ---------------------------------------------------------- */

/*
 * Takes the job's PostgreSQL advisory lock (session level: it goes when
 * the connection does, a killed process included) without waiting: *got
 * is 1 when taken, 0 when another session holds it, and then *holder_out
 * (new, may be NULL) says who, as far as PostgreSQL knows.
 */
int cs_store_job_lock(int *got, char **holder_out, struct cs_store *st,
                      const char *job, struct cs_err *err);
int cs_store_job_unlock(struct cs_store *st, const char *job,
                        struct cs_err *err);

/* Today's date in time zone `tz` ("YYYY-MM-DD" into out[11]). */
int cs_store_today(char out[11], struct cs_store *st, const char *tz,
                   struct cs_err *err);

#endif
