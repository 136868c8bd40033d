/* deliveries.c - the delivery log, stored alerts and job locks */
#include "store/deliveries.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/mem.h"
#include "store/store_internal.h"

static const char *const state_names[] = {"none", "queued", "sending",
                                          "sent", "failed"};

const char *cs_delivery_state_name(enum cs_delivery_state s)
{
    return (unsigned)s < 5 ? state_names[s] : "?";
}

static enum cs_delivery_state state_of(const char *name)
{
    for (int i = 1; i < 5; i++) {
        if (strcmp(name, state_names[i]) == 0)
            return (enum cs_delivery_state)i;
    }
    return CS_DELIVERY_NONE;
}

/* Runs `sql` with text parameters; *res_out (may be NULL) keeps the
 * result for the caller to PQclear. */
static int run(PGresult **res_out, struct cs_store *st, const char *sql,
               int n, const char *const *params, const char *what,
               struct cs_err *err)
{
    PGresult *r = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL, 0);
    int ret = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, what);
    if (res_out && !ret)
        *res_out = r;
    else
        PQclear(r);
    return ret;
}

static char *val(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL
                                    : cs_xstrdup(PQgetvalue(r, row, col));
}

#define KEY_WHERE                                                        \
    " job = $1 AND kind = $2 AND tenant = $3 AND period = $4 AND ref = $5" \
    " AND recipient = $6 AND channel = $7"

int cs_store_delivery_find(long long *id_out,
                           enum cs_delivery_state *state_out,
                           int *handed_over_out, struct cs_store *st,
                           const struct cs_delivery_key *k,
                           struct cs_err *err)
{
    const char *p[7] = {k->job, k->kind, k->tenant, k->period, k->ref,
                        k->recipient, k->channel};
    PGresult *r = NULL;
    int ret;

    *id_out = 0;
    *state_out = CS_DELIVERY_NONE;
    *handed_over_out = 0;
    ret = run(&r, st, "SELECT id, state, handed_over_at IS NOT NULL FROM "
              "deliveries WHERE" KEY_WHERE, 7, p, "cannot read the delivery "
              "log", err);
    if (ret)
        return ret;
    if (PQntuples(r) == 1) {
        *id_out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *state_out = state_of(PQgetvalue(r, 0, 1));
        *handed_over_out = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
    }
    PQclear(r);
    return 0;
}

int cs_store_delivery_queue(long long *id_out, struct cs_store *st,
                            const struct cs_delivery_key *k,
                            const char *message_id, const char *subject,
                            const void *msg, size_t len, struct cs_err *err)
{
    const char *p[10] = {k->job, k->kind, k->tenant, k->period, k->ref,
                         k->recipient, k->channel, message_id, subject,
                         msg};
    int lens[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, (int)len};
    int fmts[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    PGresult *r;
    int ret = 0;

    *id_out = 0;
    if (len > 0x7fffffff)
        return cs_err_set(err, CS_ETOOBIG, "message of %zu bytes is too "
                          "large to queue", len);
    r = PQexecParams(st->conn,
                     "INSERT INTO deliveries (job, kind, tenant, period, ref,"
                     " recipient, channel, state, message_id, subject,"
                     " message) VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued',"
                     " $8, $9, $10) ON CONFLICT (job, kind, tenant, period,"
                     " ref, recipient, channel) DO UPDATE SET"
                     " state = 'queued', message_id = $8, subject = $9,"
                     " message = $10, handed_over_at = NULL,"
                     " updated_at = now() RETURNING id",
                     10, NULL, p, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot queue a delivery");
    else
        *id_out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return ret;
}

int cs_store_delivery_message(char **out, size_t *len_out,
                              struct cs_store *st, long long id,
                              struct cs_err *err)
{
    char ids[32];
    const char *p[1] = {ids};
    PGresult *r;
    int ret = 0;

    *out = NULL;
    *len_out = 0;
    snprintf(ids, sizeof(ids), "%lld", id);
    r = PQexecParams(st->conn, "SELECT message FROM deliveries WHERE id = $1",
                     1, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read a message");
    } else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
        ret = cs_err_set(err, CS_ENOTFOUND, "delivery %lld has no message "
                         "stored", id);
    } else {
        size_t n = (size_t)PQgetlength(r, 0, 0);

        *out = cs_xmalloc(n + 1);
        memcpy(*out, PQgetvalue(r, 0, 0), n);
        (*out)[n] = '\0';
        *len_out = n;
    }
    PQclear(r);
    return ret;
}

static int update(struct cs_store *st, long long id, const char *sql,
                  const char *extra, struct cs_err *err)
{
    char ids[32];
    const char *p[2] = {ids, extra};

    snprintf(ids, sizeof(ids), "%lld", id);
    return run(NULL, st, sql, extra ? 2 : 1, p, "cannot update the delivery "
               "log", err);
}

int cs_store_delivery_sending(struct cs_store *st, long long id,
                              struct cs_err *err)
{
    return update(st, id, "UPDATE deliveries SET state = 'sending', tries = "
                  "tries + 1, sending_at = now(), handed_over_at = NULL, "
                  "updated_at = now() WHERE id = $1", NULL, err);
}

int cs_store_delivery_handed_over(struct cs_store *st, long long id,
                                  struct cs_err *err)
{
    return update(st, id, "UPDATE deliveries SET handed_over_at = now(), "
                  "updated_at = now() WHERE id = $1", NULL, err);
}

int cs_store_delivery_done(struct cs_store *st, long long id, int sent,
                           const char *reply, struct cs_err *err)
{
    if (sent)
        return update(st, id, "UPDATE deliveries SET state = 'sent', "
                      "sent_at = now(), updated_at = now(), message = NULL, "
                      "last_reply = $2 WHERE id = $1", reply, err);
    return update(st, id, "UPDATE deliveries SET state = 'failed', "
                  "updated_at = now(), last_reply = $2 WHERE id = $1", reply,
                  err);
}

void cs_delivery_rows_free(struct cs_delivery_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        struct cs_delivery_row *d = &rows[i];

        free(d->job);
        free(d->kind);
        free(d->tenant);
        free(d->period);
        free(d->ref);
        free(d->recipient);
        free(d->channel);
        free(d->last_reply);
        free(d->message_id);
        free(d->subject);
        free(d->queued_at);
        free(d->updated_at);
        free(d->sent_at);
    }
    free(rows);
}

int cs_store_delivery_list(struct cs_delivery_row **out, size_t *n_out,
                           struct cs_store *st,
                           const struct cs_delivery_filter *f,
                           struct cs_err *err)
{
    const char *p[3] = {f->since, f->job, f->resendable ? "t" : "f"};
    PGresult *r = NULL;
    int ret;

    *out = NULL;
    *n_out = 0;
    ret = run(&r, st,
              "SELECT id, job, kind, tenant, period, ref, recipient, channel,"
              " state, tries, handed_over_at IS NOT NULL, last_reply,"
              " message_id, subject,"
              " to_char(queued_at AT TIME ZONE 'UTC',"
              "  'YYYY-MM-DD HH24:MI:SS') || 'Z',"
              " to_char(updated_at AT TIME ZONE 'UTC',"
              "  'YYYY-MM-DD HH24:MI:SS') || 'Z',"
              " to_char(sent_at AT TIME ZONE 'UTC',"
              "  'YYYY-MM-DD HH24:MI:SS') || 'Z'"
              " FROM deliveries"
              " WHERE ($1::date IS NULL OR updated_at >= $1::date)"
              " AND ($2::text IS NULL OR job = $2)"
              " AND (NOT $3::boolean OR state <> 'sent')"
              " ORDER BY queued_at, id", 3, p, "cannot read the delivery log",
              err);
    if (ret)
        return ret;
    *n_out = (size_t)PQntuples(r);
    *out = cs_xcalloc(*n_out ? *n_out : 1, sizeof(**out));
    for (int i = 0; i < PQntuples(r); i++) {
        struct cs_delivery_row *d = &(*out)[i];

        d->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        d->job = val(r, i, 1);
        d->kind = val(r, i, 2);
        d->tenant = val(r, i, 3);
        d->period = val(r, i, 4);
        d->ref = val(r, i, 5);
        d->recipient = val(r, i, 6);
        d->channel = val(r, i, 7);
        d->state = state_of(PQgetvalue(r, i, 8));
        d->tries = (int)strtol(PQgetvalue(r, i, 9), NULL, 10);
        d->handed_over = strcmp(PQgetvalue(r, i, 10), "t") == 0;
        d->last_reply = val(r, i, 11);
        d->message_id = val(r, i, 12);
        d->subject = val(r, i, 13);
        d->queued_at = val(r, i, 14);
        d->updated_at = val(r, i, 15);
        d->sent_at = val(r, i, 16);
    }
    PQclear(r);
    return 0;
}

/* ---- alerts -------------------------------------------------------- */

void cs_alert_recs_free(struct cs_alert_rec *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].kpi);
        free(a[i].unit);
        free(a[i].sent_at);
    }
    free(a);
}

static void fmt_double(char out[40], double v)
{
    if (isnan(v))
        snprintf(out, 40, "NaN");
    else
        snprintf(out, 40, "%.17g", v);
}

int cs_store_alerts_record(struct cs_alert_rec **out, size_t *n_out,
                           struct cs_store *st, const char *tenant,
                           const char *day, const struct cs_alert_in *in,
                           size_t n_in, long resend_after_s,
                           struct cs_err *err)
{
    struct cs_buf kpis = CS_BUF_INIT;
    char resend[32];
    PGresult *r = NULL;
    int ret;

    *out = NULL;
    *n_out = 0;
    ret = cs_store_exec(st, "BEGIN", err);
    if (ret)
        return ret;
    /* The KPIs still raised, as a text[] literal built by PostgreSQL's
     * own quoting rules: each element double-quoted and escaped. */
    cs_buf_adds(&kpis, "{");
    for (size_t i = 0; i < n_in; i++) {
        char level[8], value[40], threshold[40];
        const char *p[8] = {tenant, day, in[i].kpi, level, in[i].unit,
                            in[i].below ? "t" : "f", value, threshold};

        snprintf(level, sizeof(level), "%d", in[i].level);
        fmt_double(value, in[i].value);
        fmt_double(threshold, in[i].threshold);
        ret = run(NULL, st,
                  "INSERT INTO alerts (tenant, day, kpi, level, unit, below,"
                  " value, threshold) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                  " $8) ON CONFLICT (tenant, day, kpi) DO UPDATE SET"
                  " level = $4, unit = $5, below = $6, value = $7,"
                  " threshold = $8, evaluated_at = now()", 8, p,
                  "cannot store an alert", err);
        if (ret)
            goto done;
        cs_buf_adds(&kpis, i ? ",\"" : "\"");
        for (const char *c = in[i].kpi; *c; c++) {
            if (*c == '"' || *c == '\\')
                cs_buf_addch(&kpis, '\\');
            cs_buf_addch(&kpis, *c);
        }
        cs_buf_addch(&kpis, '"');
    }
    cs_buf_adds(&kpis, "}");
    {
        const char *p[3] = {tenant, day, kpis.ptr};

        ret = run(NULL, st, "DELETE FROM alerts WHERE tenant = $1 AND day = "
                  "$2 AND NOT (kpi = ANY ($3::text[]))", 3, p,
                  "cannot store an alert", err);
        if (ret)
            goto done;
    }
    snprintf(resend, sizeof(resend), "%ld", resend_after_s);
    {
        const char *p[3] = {tenant, day, resend};

        ret = run(&r, st,
                  "SELECT kpi, unit, level, below, value, threshold,"
                  " coalesce(sent_level, 0),"
                  " to_char(sent_at AT TIME ZONE 'UTC',"
                  "  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
                  " sent_at IS NULL OR level > sent_level"
                  "  OR sent_at <= now() - make_interval(secs => $3::bigint)"
                  " FROM alerts WHERE tenant = $1 AND day = $2 ORDER BY kpi",
                  3, p, "cannot read the alerts", err);
        if (ret)
            goto done;
    }
    *n_out = (size_t)PQntuples(r);
    *out = cs_xcalloc(*n_out ? *n_out : 1, sizeof(**out));
    for (int i = 0; i < PQntuples(r); i++) {
        struct cs_alert_rec *a = &(*out)[i];

        a->kpi = val(r, i, 0);
        a->unit = val(r, i, 1);
        a->level = (int)strtol(PQgetvalue(r, i, 2), NULL, 10);
        a->below = strcmp(PQgetvalue(r, i, 3), "t") == 0;
        a->value = PQgetisnull(r, i, 4) ? NAN
                                        : strtod(PQgetvalue(r, i, 4), NULL);
        a->threshold = PQgetisnull(r, i, 5)
                           ? NAN : strtod(PQgetvalue(r, i, 5), NULL);
        a->sent_level = (int)strtol(PQgetvalue(r, i, 6), NULL, 10);
        a->sent_at = val(r, i, 7);
        a->due = strcmp(PQgetvalue(r, i, 8), "t") == 0;
    }
    ret = cs_store_exec(st, "COMMIT", err);
done:
    if (ret) {
        PQclear(PQexec(st->conn, "ROLLBACK"));
        cs_alert_recs_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
    }
    PQclear(r);
    cs_buf_release(&kpis);
    return ret;
}

int cs_store_alert_sent(struct cs_store *st, const char *tenant,
                        const char *day, const char *kpi, int level,
                        struct cs_err *err)
{
    char lv[8];
    const char *p[4] = {tenant, day, kpi, lv};

    snprintf(lv, sizeof(lv), "%d", level);
    return run(NULL, st, "UPDATE alerts SET sent_level = $4, sent_at = now()"
               " WHERE tenant = $1 AND day = $2 AND kpi = $3", 4, p,
               "cannot mark an alert sent", err);
}

int cs_store_alerts_count(long *all_out, long *critical_out,
                          struct cs_store *st, const char *tenant,
                          const char *from, const char *to,
                          struct cs_err *err)
{
    const char *p[3] = {tenant, from, to};
    PGresult *r = NULL;
    int ret;

    *all_out = *critical_out = 0;
    ret = run(&r, st, "SELECT count(*), count(*) FILTER (WHERE level = 2) "
              "FROM alerts WHERE tenant = $1 AND day >= $2 AND day < $3", 3,
              p, "cannot count the alerts", err);
    if (ret)
        return ret;
    *all_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    *critical_out = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

/* ---- jobs ---------------------------------------------------------- */

#define JOB_LOCK_CLASS "1668481026" /* 0x63730002: "cs", 2 */

static void job_key(char out[16], const char *job)
{
    uint64_t h = cs_fnv1a64(job, strlen(job));

    snprintf(out, 16, "%d", (int)(uint32_t)(h ^ (h >> 32)));
}

int cs_store_job_lock(int *got, char **holder_out, struct cs_store *st,
                      const char *job, struct cs_err *err)
{
    char key[16], app[96];
    const char *p[2] = {JOB_LOCK_CLASS, key};
    PGresult *r = NULL;
    int ret;

    *got = 0;
    if (holder_out)
        *holder_out = NULL;
    job_key(key, job);
    ret = run(&r, st, "SELECT pg_try_advisory_lock($1::int, $2::int)", 2, p,
              "cannot take the job lock", err);
    if (ret)
        return ret;
    *got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    r = NULL;
    if (*got) {
        /* Who holds it, for the next one to say. */
        const char *q[1] = {app};

        snprintf(app, sizeof(app), "callscope %s (pid %ld)", job,
                 (long)getpid());
        return run(NULL, st, "SELECT set_config('application_name', $1, "
                   "false)", 1, q, "cannot name the session", err);
    }
    if (!holder_out)
        return 0;
    ret = run(&r, st,
              "SELECT a.application_name || ', since ' ||"
              " to_char(a.backend_start AT TIME ZONE 'UTC',"
              "  'YYYY-MM-DD HH24:MI:SS') || ' UTC'"
              " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
              " WHERE l.locktype = 'advisory' AND l.granted"
              " AND l.classid = $1::bigint::oid AND l.objid ="
              " ($2::int::bigint & 4294967295)::oid LIMIT 1", 2, p,
              "cannot read the lock holder", err);
    if (ret)
        return 0; /* who it is only decorates the message */
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        *holder_out = cs_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int cs_store_job_unlock(struct cs_store *st, const char *job,
                        struct cs_err *err)
{
    char key[16];
    const char *p[2] = {JOB_LOCK_CLASS, key};

    job_key(key, job);
    return run(NULL, st, "SELECT pg_advisory_unlock($1::int, $2::int)", 2, p,
               "cannot release the job lock", err);
}

int cs_store_today(char out[11], struct cs_store *st, const char *tz,
                   struct cs_err *err)
{
    const char *p[1] = {tz};
    PGresult *r = NULL;
    int ret;

    out[0] = '\0';
    ret = run(&r, st, "SELECT to_char((now() AT TIME ZONE $1)::date, "
              "'YYYY-MM-DD')", 1, p, "cannot read today's date", err);
    if (ret)
        return ret;
    snprintf(out, 11, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}
