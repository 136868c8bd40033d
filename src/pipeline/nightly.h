/* nightly.h - the nightly job: ingest the inbox, daily KPIs and alerts */
#ifndef CS_PIPELINE_NIGHTLY_H
#define CS_PIPELINE_NIGHTLY_H

#include <stdint.h>

#include "base/err.h"
#include "config/config.h"
#include "import/run.h"
#include "ingest/ingest.h"
#include "mail/deliver.h"
#include "pipeline/reports.h"
#include "store/prune.h"
#include "rubric/rubric.h"
#include "score/score.h"
#include "store/store.h"

struct cs_nightly_opts {
    const char *date;       /* the local day reported, "YYYY-MM-DD" */
    const char *inbox;      /* folder of new files: conversation records
                               or vendor payloads, *.jsonl, *.json, .gz */
    const char *done_dir;   /* where ingested files are moved */
    const char *rejects_path;
    int period_days;        /* the rolling summary ending at `date` */
    const struct cs_rubric_set *rubrics; /* scored after the ingest */
    int force;              /* mail again what was sent for this day */
    int batch;              /* score through the Batch API: collect what
                               ended first, submit the rest */
};

/* One file of the inbox, as the ingest stage left it. */
struct cs_nightly_file {
    char *name;                 /* its name in the inbox (new) */
    int read;                   /* 0: not an input file by its name (not
                                   *.jsonl, *.json or .gz of either): not
                                   read, left in the inbox */
    enum cs_import_format format; /* what it was read as: CANONICAL, a
                                   vendor's, or AUTO: neither */
    int unrecognised;           /* read, but neither conversation records
                                   nor a known vendor's payloads: nothing
                                   stored, every document rejected
                                   (ingest.first_reject says why) */
    struct cs_ingest_stats ingest; /* its own counts */
    struct cs_import_stats import; /* skipped_kinds: a new reference */
    char *archived;             /* where it was moved (new), or NULL: left
                                   in the inbox (unreadable, stopped
                                   halfway, not read) */
};

struct cs_nightly_result {
    struct cs_ingest_stats ingest;
    struct cs_nightly_file *files; /* the inbox's files, in name order */
    size_t n_files;
    struct cs_score_stats score;
    uint64_t files_moved;
    double ingest_seconds;
    long alerts_warning;
    long alerts_critical;
    char *report_dir;       /* new: reports/daily/<date> */
    struct cs_report_files pdfs; /* the daily PDFs written */
    struct cs_mail_stats mail;   /* what the delivery stage did */
    long alerts_sent;       /* alerts in the digests sent */
    long not_mailed;        /* mails that could not be built */
    const char *stage;      /* the stage running when it ended (static):
                               "ingest", "score", "kpis", "pdf", "mail",
                               "prune", or "done" */
    int interrupted;        /* a SIGTERM or SIGINT caught (base/sig.h)
                               stopped it in `stage`: the signal */
    struct cs_prune_counts pruned; /* what retention removed */
};

/*
 * Takes the job's advisory lock (CS_ELOCKED, saying who holds it, when
 * another nightly runs), then runs its stages, each safe to run again:
 * (1) ingest every file of the inbox, each through the importer of
 * `callscope import` (import/run.h: conversation records as they are,
 * vendor payloads detected and converted, LiveKit rooms not finished kept
 * in import_pending; a second store connection for its lookups), and
 * move each one read to the done folder (a file that could not be read,
 * or a file not named as input, stays; one that is neither records nor
 * payloads is rejected, warned about and moved), then fold the span
 * histograms appended into one per key (cs_store_rollup_compact); (2)
 * score what is new or stale (every date): with `batch`, the batches that
 * ended are collected and their answers stored first, and what is left
 * goes in new batches (score --batch); (3) write the day's KPIs with the
 * previous day and
 * the same weekday a week earlier, and the rolling period's KPIs, as
 * JSON, CSV and a text table under REPORTS_DIR; (4) write the alerts
 * raised; (5) render each tenant's daily operations PDF (a tenant whose
 * PDF fails is counted in pdfs.tenants_failed, the others go on); (6) mail
 * each PDF rendered to its tenant's recipients, record the day's alerts
 * and send the digests of those due (pipeline/mailing.h); (7) write
 * REPORTS_DIR/metrics/callscope_nightly.prom, whatever happened. Returns
 * 0 or the first failing stage's error; *res is filled as far as it got
 * and must be released with cs_nightly_result_release.
 */
int cs_nightly_run(struct cs_nightly_result *res, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_nightly_opts *opts, struct cs_err *err);
void cs_nightly_result_release(struct cs_nightly_result *res);

/*
 * The default day of the nightly job: the latest day that has ended in
 * every tenant's time zone (the config's tenants and "default"), i.e.
 * "yesterday" of the zone furthest west. Into out[11].
 */
int cs_nightly_default_date(char out[11], struct cs_store *st,
                            const struct cs_config *cfg, struct cs_err *err);

/* The time zones of the configured tenants ("default" included), new
 * NULL-terminated vector of borrowed strings (free the vector only). */
const char **cs_jobs_zones(const struct cs_config *cfg);

#endif
