/* nightly.c - the nightly job: ingest the inbox, daily KPIs and alerts */
#include "pipeline/nightly.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "base/sig.h"
#include "kpi/kpi.h"
#include "pipeline/mailing.h"
#include "pipeline/metrics.h"
#include "pipeline/lifecycle.h"
#include "pipeline/reports.h"
#include "report/render.h"
#include "store/deliveries.h"

/* The inbox's regular files (sub-folders are not read). */
static int inbox_file(void *ctx, const char *dir, const char *name)
{
    struct cs_buf p = CS_BUF_INIT;
    struct stat sb;
    int ok;

    (void)ctx;
    cs_buf_addf(&p, "%s/%s", dir, name);
    ok = stat(p.ptr, &sb) == 0 && S_ISREG(sb.st_mode);
    cs_buf_release(&p);
    return ok;
}

static void add_stats(struct cs_ingest_stats *sum,
                      const struct cs_ingest_stats *s)
{
    sum->interrupted = s->interrupted;
    sum->files += s->files;
    sum->files_failed += s->files_failed;
    sum->lines += s->lines;
    sum->loaded += s->loaded;
    sum->rejected += s->rejected;
    sum->bytes += s->bytes;
}

/* What the file was read as: the format its importer counted, else
 * canonical when records of it were stored (a file of records whose
 * first line is bad), else CS_IMPORT_AUTO. */
static enum cs_import_format read_as(const struct cs_import_stats *is,
                                     const struct cs_ingest_stats *s)
{
    for (int f = CS_IMPORT_CANONICAL; f < CS_IMPORT_N_FORMATS; f++) {
        if (is->files[f])
            return (enum cs_import_format)f;
    }
    return s->loaded ? CS_IMPORT_CANONICAL : CS_IMPORT_AUTO;
}

/*
 * Ingests one inbox file into *f as `callscope import` would (its own
 * importer: detection, conversion, rejects, LiveKit's held events through
 * `lookup`), then archives it unless it was not read whole.
 */
static int ingest_file(struct cs_nightly_file *f, struct cs_store *st,
                       struct cs_store *lookup,
                       const struct cs_import_opts *imo,
                       struct cs_ingest_opts *io,
                       const struct cs_nightly_opts *o, struct cs_err *err)
{
    struct cs_importer *imp = NULL;
    struct cs_buf src = CS_BUF_INIT;
    struct cs_err e2 = {0, ""};
    char *path;
    int ret;

    cs_buf_addf(&src, "%s/%s", o->inbox, f->name);
    path = src.ptr;
    cs_importer_new(&imp, CS_IMPORT_AUTO, imo, lookup, NULL, err);
    io->conv = cs_importer_conv(imp);
    ret = cs_ingest_paths(&f->ingest, st, &path, 1, io, err);
    if (!ret)
        ret = cs_importer_done(imp, err);
    f->import = *cs_importer_stats(imp);
    f->import.skipped_kinds = json_deep_copy(f->import.skipped_kinds);
    f->format = read_as(&f->import, &f->ingest);
    f->unrecognised = f->format == CS_IMPORT_AUTO && f->ingest.rejected;
    /* A file stopped halfway stays in the inbox for the next run
     * (re-ingesting its first part is idempotent), as does one that could
     * not be read; the others are archived, never over an earlier file of
     * the same name. */
    if (!ret && !f->ingest.interrupted && !f->ingest.files_failed) {
        if (cs_fs_archive(&f->archived, src.ptr, o->done_dir, &e2))
            cs_log(CS_LOG_WARN, "%s", e2.msg);
    }
    if (f->unrecognised)
        cs_log(CS_LOG_WARN, "inbox file '%s' holds neither conversation "
               "records nor Vapi, Retell, PolyAI or LiveKit payloads (line "
               "%ld: %s): nothing stored, %s%s", src.ptr,
               f->ingest.first_reject_line, f->ingest.first_reject,
               f->archived ? "moved to " : "left in the inbox",
               f->archived ? f->archived : "");
    cs_importer_free(imp);
    io->conv = NULL;
    cs_buf_release(&src);
    return ret;
}

/* Ingests the inbox file by file, moving each one read to done_dir. */
static int ingest_inbox(struct cs_nightly_result *res, struct cs_store *st,
                        const struct cs_config *cfg,
                        const struct cs_nightly_opts *o, struct cs_err *err)
{
    struct cs_ingest_opts io;
    struct cs_import_opts imo;
    struct cs_store *lookup = NULL;
    char **names = NULL;
    size_t n = 0, n_input = 0;
    int ret;

    ret = cs_fs_list_sorted(&names, &n, o->inbox, inbox_file, NULL, err);
    if (ret == CS_ENOTFOUND) {
        cs_err_clear(err);
        return 0; /* no inbox: nothing new */
    }
    if (ret)
        return ret;
    memset(&io, 0, sizeof(io));
    io.rejects_path = o->rejects_path;
    io.max_line = (size_t)cfg->ingest_max_line_bytes;
    io.batch_rows = (size_t)cfg->ingest_batch_rows;
    io.max_messages = 20;
    memset(&imo, 0, sizeof(imo));
    imo.tenant_map = json_object_get(json_object_get(cfg->root,
                                                     "importers"),
                                     "tenant_map");
    imo.retell_key = cfg->retell_api_key;
    res->files = n ? cs_xcalloc(n, sizeof(*res->files)) : NULL;
    for (size_t i = 0; i < n; i++) {
        struct cs_nightly_file *f = &res->files[res->n_files++];

        f->name = names[i];
        names[i] = NULL;
        f->read = cs_ingest_wanted(f->name) || cs_ingest_whole(f->name);
        if (f->read)
            n_input++;
        else
            cs_log(CS_LOG_WARN, "inbox file '%s/%s' is not read: not a "
                   "*.jsonl or *.json file (or .gz of either); left in the "
                   "inbox", o->inbox, f->name);
    }
    free(names);
    if (n_input)
        ret = cs_fs_mkdirs(o->done_dir, err);
    /* The importer looks things up (Retell's analysed records, LiveKit's
     * held events) beside ingest's COPY: on a connection of its own. */
    if (n_input && !ret)
        ret = cs_store_open(&lookup, cfg, err);
    for (size_t i = 0; i < res->n_files && !ret; i++) {
        struct cs_nightly_file *f = &res->files[i];

        if (!f->read)
            continue;
        ret = ingest_file(f, st, lookup, &imo, &io, o, err);
        add_stats(&res->ingest, &f->ingest);
        if (f->archived)
            res->files_moved++;
        if (f->ingest.interrupted)
            break;
    }
    cs_store_close(lookup);
    return ret;
}

/* Writes `stem`.{json,csv,txt} under `dir`. */
static int write_report(const struct cs_report *report, const char *dir,
                        const char *stem, struct cs_err *err)
{
    static const char *const kinds[] = {"json", "csv", "txt"};
    int ret = 0;

    for (size_t i = 0; i < 3 && !ret; i++) {
        const struct cs_renderer *rd = cs_render_find(kinds[i]);
        struct cs_buf path = CS_BUF_INIT;

        cs_buf_addf(&path, "%s/%s.%s", dir, stem, rd->ext);
        ret = cs_render_file(rd, report, path.ptr, err);
        cs_buf_release(&path);
    }
    return ret;
}

/* The alerts of the day, every tenant, as the alerts.json array. */
static char *alerts_text(const struct cs_report *report,
                         struct cs_nightly_result *res)
{
    json_t *all = json_array();
    char *text;

    for (size_t i = 0; i < report->n_tenants; i++) {
        const struct cs_report_tenant *t = &report->tenants[i];

        for (size_t j = 0; j < t->cur.n_alerts; j++) {
            const struct cs_alert *a = &t->cur.alerts[j];

            json_t *o = cs_render_alert_json(a);

            json_object_set_new(o, "tenant", json_string(t->name));
            json_object_set_new(o, "date",
                                json_string(report->period.from));
            json_array_append_new(all, o);
            if (a->critical)
                res->alerts_critical++;
            else
                res->alerts_warning++;
        }
    }
    {
        struct cs_buf b = CS_BUF_INIT;

        cs_fmt_json(&b, all, JSON_INDENT(2));
        text = cs_buf_detach(&b, NULL);
    }
    json_decref(all);
    return text;
}

const char **cs_jobs_zones(const struct cs_config *cfg)
{
    json_t *tenants = json_object_get(cfg->root, "tenants"), *t;
    const char **v = cs_xcalloc(json_object_size(tenants) + 2, sizeof(*v));
    const char *name;
    size_t n = 0;

    struct cs_tenant_cfg tc;

    /* The zone of the tenants not listed (those of "default", else UTC),
     * then each listed tenant's. */
    cs_config_tenant(&tc, cfg, "default", NULL);
    v[n++] = tc.timezone;
    cs_tenant_cfg_release(&tc);
    json_object_foreach(tenants, name, t) {
        cs_config_tenant(&tc, cfg, name, NULL);
        v[n++] = tc.timezone;
        cs_tenant_cfg_release(&tc);
    }
    v[n] = NULL;
    return v;
}

int cs_nightly_default_date(char out[11], struct cs_store *st,
                            const struct cs_config *cfg, struct cs_err *err)
{
    const char **zones = cs_jobs_zones(cfg);
    int64_t min = INT64_MAX, d;
    char today[11];
    int ret = 0;

    for (const char **z = zones; *z && !ret; z++) {
        ret = cs_store_today(today, st, *z, err);
        if (!ret && cs_parse_date(today, &d) == 0 && d < min)
            min = d;
    }
    free(zones);
    if (!ret)
        cs_format_date(min - 1, out);
    return ret;
}

/* Mails each tenant's daily PDF and its alerts; counts what failed. */
static int deliver(struct cs_nightly_result *res, struct cs_store *st,
                   const struct cs_config *cfg, const struct cs_report *daily,
                   const char *date, int force, struct cs_err *err)
{
    struct cs_mailing ml;
    int ret;

    ret = cs_mailing_open(&ml, st, cfg, "nightly", force, err);
    if (ret)
        return ret;
    for (size_t i = 0; i < daily->n_tenants && !ret; i++) {
        const struct cs_report_tenant *t = &daily->tenants[i];
        const char *pdf = cs_report_files_find(&res->pdfs, t->name);
        struct cs_mail_files files;
        struct cs_tenant_cfg tc;
        struct cs_err e2 = {0, ""};

        ret = cs_config_tenant(&tc, cfg, t->name, err);
        if (ret)
            break;
        cs_mail_files_init(&files, cfg->mail_max_attachment_bytes);
        /* Fail closed: no PDF, no mail. */
        if (!pdf || cs_mail_files_add(&files, pdf, &e2)) {
            cs_log(CS_LOG_ERROR, "the daily report of '%s' for %s was not "
                   "rendered: not mailed", t->name, date);
            res->not_mailed += (long)json_array_size(tc.recipients);
        } else {
            ret = cs_mailing_report(&ml, CS_MAIL_DAILY, t->name, date, daily,
                                    t, tc.recipients, &files, NULL, err);
        }
        if (!ret)
            ret = cs_mailing_alerts(&ml, t, date, err);
        cs_mail_files_release(&files);
        cs_tenant_cfg_release(&tc);
    }
    if (!ret)
        ret = cs_mailing_send(&ml, &res->mail, err);
    res->alerts_sent = ml.alerts_sent;
    res->not_mailed += ml.not_mailed;
    cs_mailing_close(&ml);
    return ret;
}

/* Whether to stop before stage `next` (or in the one that just ran). */
static int stop_at(struct cs_nightly_result *res, const char *next,
                   int interrupted)
{
    if (!interrupted)
        interrupted = cs_sig_received();
    if (interrupted) {
        res->interrupted = interrupted;
        return 1;
    }
    res->stage = next;
    return 0;
}

static int nightly_stages(struct cs_nightly_result *res, struct cs_store *st,
                          const struct cs_config *cfg,
                          const struct cs_nightly_opts *o,
                          struct cs_err *err)
{
    struct cs_kpi_query q;
    struct cs_buf dir = CS_BUF_INIT, pdir = CS_BUF_INIT, path = CS_BUF_INIT;
    struct cs_report *daily = NULL, *period = NULL;
    char *text = NULL;
    int64_t day;
    int ret;

    if (cs_parse_date(o->date, &day)) {
        ret = cs_err_set(err, CS_EINVALID, "'%s' is not a date", o->date);
        goto done;
    }
    res->stage = "ingest";
    res->ingest_seconds = cs_now();
    ret = ingest_inbox(res, st, cfg, o, err);
    /* The span histograms ingest appended, folded before the day's KPIs
     * read them (rollup.c); cheap, and safe to run again. */
    if (!ret && !res->ingest.interrupted) {
        long folded = 0;

        ret = cs_store_rollup_compact(&folded, st, err);
        cs_log(CS_LOG_INFO, "rollups compacted: %ld histogram delta(s) "
               "folded", folded);
    }
    res->ingest_seconds = cs_now() - res->ingest_seconds;
    if (ret || stop_at(res, "score", res->ingest.interrupted))
        goto done;
    {
        struct cs_score_opts so;

        memset(&so, 0, sizeof(so));
        so.sentiment_metric = "customer_sentiment";
        so.lexicon_path = cfg->sentiment_lexicon;
        so.page_size = cfg->score_page;
        /* Unattended: metrics whose rubric changed are left as they are
         * (stale, counted, exit 4) for a deliberate `score
         * --rubrics-changed`. */
        so.keep_changed = 1;
        so.batch = o->batch;
        ret = cs_score_run(&res->score, st, o->rubrics, cfg, &so, err);
        if (ret || stop_at(res, "kpis", res->score.interrupted))
            goto done;
    }

    memset(&q, 0, sizeof(q));
    q.compare = 1;
    q.last_week = 1;
    q.rubrics = o->rubrics;
    cs_format_date(day, q.from);
    cs_format_date(day + 1, q.to);
    ret = cs_kpi_compute(&daily, st, cfg, &q, err);
    if (ret)
        goto done;
    cs_buf_addf(&dir, "%s/daily/%s", cfg->reports_dir, q.from);
    ret = cs_fs_mkdirs(dir.ptr, err);
    if (!ret)
        ret = write_report(daily, dir.ptr, "kpis", err);
    if (ret)
        goto done;
    text = alerts_text(daily, res);
    cs_buf_addf(&path, "%s/alerts.json", dir.ptr);
    ret = cs_fs_write_atomic(path.ptr, text, strlen(text), err);
    if (ret)
        goto done;

    q.by = CS_KPI_BY_DAY;
    q.last_week = 0;
    cs_format_date(day + 1 - (o->period_days > 0 ? o->period_days : 30),
                   q.from);
    cs_format_date(day + 1, q.to);
    ret = cs_kpi_compute(&period, st, cfg, &q, err);
    if (ret)
        goto done;
    cs_buf_addf(&pdir, "%s/period/%s_%s", cfg->reports_dir, q.from, q.to);
    ret = cs_fs_mkdirs(pdir.ptr, err);
    if (!ret)
        ret = write_report(period, pdir.ptr, "kpis", err);
    if (ret)
        goto done;
    res->report_dir = cs_buf_detach(&dir, NULL);
    if (stop_at(res, "pdf", 0))
        goto done;
    /* The daily operations PDF of each tenant (fail closed: a tenant
     * whose PDF fails is not mailed; the others are). */
    {
        struct cs_err e2 = {0, ""};

        ret = cs_reports_daily(&res->pdfs, st, cfg, o->rubrics, o->date,
                               NULL, &e2);
        if (ret && !res->pdfs.tenants_failed) {
            cs_err_set(err, ret, "%s", e2.msg);
            goto done;
        }
        if (ret)
            cs_log(CS_LOG_ERROR, "%s", e2.msg);
        ret = 0;
    }
    if (stop_at(res, "mail", res->pdfs.interrupted))
        goto done;
    ret = deliver(res, st, cfg, daily, o->date, o->force, err);
    /* Last, what is older than each tenant's retention. */
    if (!ret && !stop_at(res, "prune", 0))
        ret = cs_lifecycle_prune(&res->pruned, st, cfg, 0, err);
    if (!ret && !res->interrupted)
        res->stage = "done";
done:
    cs_report_free(daily);
    cs_report_free(period);
    free(text);
    cs_buf_release(&dir);
    cs_buf_release(&pdir);
    cs_buf_release(&path);
    return ret;
}

int cs_nightly_run(struct cs_nightly_result *res, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_nightly_opts *o, struct cs_err *err)
{
    struct cs_job_metrics jm;
    double t0 = cs_now();
    int ret;

    memset(res, 0, sizeof(*res));
    ret = cs_job_lock(st, "nightly", err);
    if (ret)
        return ret;
    ret = nightly_stages(res, st, cfg, o, err);
    memset(&jm, 0, sizeof(jm));
    jm.job = "nightly";
    jm.duration_s = cs_now() - t0;
    jm.ingested = res->ingest.loaded;
    jm.scored = res->score.conversations;
    jm.llm_requests = res->score.requests;
    jm.llm_tokens_in = res->score.tokens_in;
    jm.llm_tokens_out = res->score.tokens_out;
    jm.llm_cost = res->score.cost;
    jm.reports_rendered = (long)res->pdfs.n;
    jm.reports_failed = res->pdfs.tenants_failed;
    jm.mails_sent = res->mail.sent;
    jm.mails_failed = res->mail.failed + res->not_mailed;
    jm.webhooks_sent = res->mail.webhooks_sent;
    jm.webhooks_failed = res->mail.webhooks_failed;
    jm.alerts_sent = res->alerts_sent;
    jm.errors = (ret || res->interrupted ? 1 : 0) +
                res->pdfs.tenants_failed + jm.mails_failed +
                jm.webhooks_failed + (long)res->ingest.files_failed +
                (long)res->score.errors;
    cs_job_finish(st, cfg, &jm);
    return ret;
}

void cs_nightly_result_release(struct cs_nightly_result *res)
{
    for (size_t i = 0; i < res->n_files; i++) {
        free(res->files[i].name);
        free(res->files[i].archived);
        json_decref(res->files[i].import.skipped_kinds);
    }
    free(res->files);
    res->files = NULL;
    res->n_files = 0;
    free(res->report_dir);
    res->report_dir = NULL;
    cs_report_files_release(&res->pdfs);
}
