/* cmd_nightly.c - callscope nightly: the job cron runs every night */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/sig.h"
#include "cli/cli.h"
#include "pipeline/nightly.h"

static const struct cs_opt_cmd doc = {
    .name = "nightly",
    .usage = "callscope nightly [OPTIONS]",
    .about = "The nightly job: ingests every *.jsonl and *.json (or .gz) "
             "file of the\n"
             "inbox, conversation records or Vapi, Retell, PolyAI and "
             "LiveKit payloads\n"
             "(detected and converted as `import` does), moving each file "
             "read to the\n"
             "done folder; scores what is new or stale against the rubrics "
             "(refusing\n"
             "to start on an invalid rubric set), then writes the day's KPIs "
             "(with the\n"
             "previous day and the same weekday a week earlier), the alerts, "
             "a rolling\n"
             "period summary and each tenant's daily PDF under REPORTS_DIR, "
             "mails each\n"
             "PDF to its tenant's recipients, sends the alerts due (mail and "
             "webhook)\n"
             "and writes REPORTS_DIR/metrics/callscope_nightly.prom. What was "
             "mailed\n"
             "for the day is not mailed again unless --force. One run at a "
             "time (a\n"
             "PostgreSQL advisory lock). With --batch (or score.batch in the "
             "config) the\n"
             "LLM scoring goes through the provider's Batch API: the batches "
             "that ended\n"
             "are collected and their results stored before the reports are "
             "drawn,\n"
             "and what is new goes in new batches, scored by a later night.",
    .exits = "Exit: 0 ok, 1 error, 2 usage, 3 invalid config or rubric set, "
             "4 some\ninput rejected, evaluations, reports or deliveries "
             "failed, 5 another\nnightly run holds the lock, 6 stopped by "
             "SIGTERM or SIGINT (the summary\nsays in which stage; a re-run "
             "goes on from there).",
};

/* What a run stopped in `stage` did not do (the stages in order). */
static const char *not_run(const char *stage)
{
    static const struct {
        const char *stage;
        const char *rest;
    } left[] = {
        {"ingest", "the rest of the inbox, scoring, the day's KPIs, the "
                   "alerts, the PDFs, the mail and the pruning were not "
                   "done"},
        {"score", "the rest of the scoring, the day's KPIs, the alerts, the "
                  "PDFs, the mail and the pruning were not done"},
        {"kpis", "the day's KPI files, the alerts, the PDFs, the mail and "
                 "the pruning were not done (or not all)"},
        {"pdf", "the daily PDFs (or some), the mail and the pruning were "
                "not done"},
        {"mail", "the mail (or some) and the pruning were not done: a "
                 "re-run or 'mail --resend-failed' sends it"},
        {"prune", "what is past its retention was not pruned (the next run "
                  "does it)"},
    };

    for (size_t i = 0; stage && i < sizeof(left) / sizeof(left[0]); i++) {
        if (strcmp(stage, left[i].stage) == 0)
            return left[i].rest;
    }
    return "nothing was done";
}

/* One line per inbox file: what it was read as, what it gave, where it
 * went. */
static void print_files(const struct cs_nightly_result *res)
{
    for (size_t i = 0; i < res->n_files; i++) {
        const struct cs_nightly_file *f = &res->files[i];
        struct cs_buf b = CS_BUF_INIT;

        cs_buf_addf(&b, "inbox '%s': ", f->name);
        if (!f->read) {
            cs_buf_adds(&b, "not read (not *.jsonl or *.json, or .gz of "
                        "either)");
        } else if (!f->ingest.files && !f->ingest.files_failed) {
            cs_buf_adds(&b, "not read: the ingest stopped before it");
        } else if (!f->ingest.files) {
            cs_buf_adds(&b, "could not be read (see the error)");
        } else {
            if (f->unrecognised)
                cs_buf_addf(&b, "neither conversation records nor Vapi, "
                            "Retell, PolyAI or LiveKit payloads (line %ld: "
                            "%s)", f->ingest.first_reject_line,
                            f->ingest.first_reject);
            else if (f->format == CS_IMPORT_CANONICAL)
                cs_buf_adds(&b, "conversation records");
            else if (f->format == CS_IMPORT_AUTO)
                cs_buf_adds(&b, "no conversation in it");
            else
                cs_cli_import_clause(&b, &f->import, 0);
            cs_buf_addf(&b, "; %llu stored, %llu rejected",
                        (unsigned long long)f->ingest.loaded,
                        (unsigned long long)f->ingest.rejected);
            if (f->ingest.files_failed)
                cs_buf_adds(&b, ", not read to the end (see the error)");
        }
        if (f->archived)
            cs_buf_addf(&b, "; moved to %s", f->archived);
        else
            cs_buf_adds(&b, "; left in the inbox");
        printf("%s%s\n", b.ptr, cs_cli_stopped_clause(&f->ingest));
        cs_buf_release(&b);
    }
}

/* The Batch API's part of the night: what was collected, what still
 * runs at the provider, what was sent. */
static void print_batches(const struct cs_score_stats *s)
{
    printf("LLM batches: %llu collected (%llu answers used), %llu still "
           "open, %llu submitted (%llu requests); %llu conversations "
           "waiting\n", (unsigned long long)s->batches_ended,
           (unsigned long long)s->batch_used,
           (unsigned long long)s->batches_open,
           (unsigned long long)s->batches_submitted,
           (unsigned long long)s->batch_queued,
           (unsigned long long)s->batch_pending);
}

int cs_cmd_nightly(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_nightly_opts o;
    struct cs_nightly_result res;
    struct cs_buf inbox = CS_BUF_INIT, done = CS_BUF_INIT;
    struct cs_err err = {0, ""};
    char yesterday[11], today[11], *rejects = NULL;
    int dated;
    struct cs_rubric_set *rubrics = NULL;
    int64_t day;
    long period_days = 30;
    int stopped_in_score;
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_DATE(0, "date", &o.date,
                    "the day reported (default: the latest day that has "
                    "ended in every tenant's time zone)"),
        CS_OPT_BOOL(0, "force", &o.force,
                    "mail again what was already sent for this day"),
        CS_OPT_STRING(0, "inbox", &o.inbox, "DIR",
                      "default DATA_DIR/inbox"),
        CS_OPT_STRING(0, "done", &o.done_dir, "DIR",
                      "default DATA_DIR/done/<today>"),
        CS_OPT_LONG(0, "period-days", &period_days, "N", 1, 366,
                    "rolling summary length (default 30)"),
        CS_OPT_BOOL(0, "batch", &o.batch,
                    "LLM: collect the batches that ended, send the rest as "
                    "new batches (default: score.batch)"),
        CS_OPT_END};

    memset(&o, 0, sizeof(o));
    day = (int64_t)(time(NULL) / 86400);
    cs_format_date(day, today);
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    dated = o.date != NULL;
    o.batch = o.batch || ctx->cfg->score_batch;
    o.period_days = (int)period_days;
    if (!o.inbox) {
        cs_buf_addf(&inbox, "%s/inbox", ctx->cfg->data_dir);
        o.inbox = inbox.ptr;
    }
    if (!o.done_dir) {
        cs_buf_addf(&done, "%s/done/%s", ctx->cfg->data_dir, today);
        o.done_dir = done.ptr;
    }
    ret = cs_cli_job_preflight(ctx);
    if (!ret)
        ret = cs_cli_open_store(ctx);
    if (ret) {
        cs_buf_release(&inbox);
        cs_buf_release(&done);
        return ret;
    }
    /* The job refuses to start on an invalid rubric set. */
    ret = cs_rubric_set_load(&rubrics, ctx->cfg->rubrics_dir, NULL, &err);
    if (ret) {
        cs_log(CS_LOG_ERROR, "%s (run 'callscope rubrics lint')", err.msg);
        cs_buf_release(&inbox);
        cs_buf_release(&done);
        return CS_EXIT_INVALID;
    }
    o.rubrics = rubrics;
    if (!dated) {
        ret = cs_nightly_default_date(yesterday, ctx->st, ctx->cfg, &err);
        if (ret) {
            ret = cs_cli_fail(ret, err.msg);
            cs_rubric_set_free(rubrics);
            cs_buf_release(&inbox);
            cs_buf_release(&done);
            return ret;
        }
        o.date = yesterday;
    }
    rejects = cs_cli_rejects_path(ctx->cfg, "nightly");
    o.rejects_path = rejects;
    cs_sig_catch();
    ret = cs_nightly_run(&res, ctx->st, ctx->cfg, &o, &err);
    print_files(&res);
    if (res.ingest.files || res.ingest.files_failed)
        cs_cli_print_ingest(&res.ingest, rejects, res.ingest_seconds, 0);
    stopped_in_score = res.stage && strcmp(res.stage, "score") == 0 &&
                       (ret || res.interrupted);
    if (stopped_in_score) {
        cs_cli_print_score(&res.score, "scored", ret != 0);
        cs_cli_print_llm(&res.score, ret != 0);
    }
    else if (res.score.conversations)
        printf("scored %llu conversations: %llu evaluations written, %llu "
               "errors\n", (unsigned long long)res.score.conversations,
               (unsigned long long)res.score.evaluations,
               (unsigned long long)res.score.errors);
    if (o.batch && !stopped_in_score)
        print_batches(&res.score);
    if (ret || res.interrupted)
        /* Not a report line: where it stopped, and what did not run. */
        printf("nightly stopped in stage '%s' (%s%s): %s\n",
               res.stage ? res.stage : "start",
               ret ? "error" : "interrupted by ",
               ret ? "" : cs_sig_name(res.interrupted),
               not_run(res.stage));
    if (ret) {
        ret = cs_cli_fail(ret, err.msg);
    } else if (res.interrupted) {
        ret = CS_EXIT_INTERRUPTED;
    } else {
        printf("report for %s in %s: %ld critical, %ld warning alert(s), "
               "%zu daily PDF(s)\n", o.date, res.report_dir,
               res.alerts_critical, res.alerts_warning, res.pdfs.n);
        cs_cli_print_mail(&res.mail, res.not_mailed);
        if (res.pruned.conversations || res.pruned.deliveries ||
            res.pruned.alerts || res.pruned.batches)
            printf("retention: deleted %ld conversation(s), %ld result(s), "
                   "%ld deliveries, %ld alert(s), %ld ended LLM "
                   "batch(es)\n", res.pruned.conversations,
                   res.pruned.results, res.pruned.deliveries,
                   res.pruned.alerts, res.pruned.batches);
        if (res.score.kept_changed)
            printf("rubrics changed: %s left as scored before; run "
                   "'callscope score --rubrics-changed'\n",
                   res.score.changed);
        ret = res.ingest.rejected || res.ingest.files_failed ||
                      res.score.errors || res.score.kept_changed ||
                      res.pdfs.tenants_failed ||
                      res.mail.failed || res.mail.webhooks_failed ||
                      res.mail.unknown || res.not_mailed
                  ? CS_EXIT_PARTIAL : CS_EXIT_OK;
    }
    cs_nightly_result_release(&res);
    cs_rubric_set_free(rubrics);
    cs_buf_release(&inbox);
    cs_buf_release(&done);
    free(rejects);
    return ret;
}
