/* cmd_ingest.c - callscope ingest PATH... */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sig.h"
#include "cli/cli.h"
#include "ingest/ingest.h"

static const struct cs_opt_cmd doc = {
    .name = "ingest",
    .usage = "callscope ingest [OPTIONS] PATH...",
    .about = "Loads conversations (docs/conversation-format.md; JSON Lines, "
             "*.jsonl\n"
             "or *.jsonl.gz; folders are searched recursively) into the "
             "store. A\n"
             "conversation already stored under the same tenant and id is "
             "replaced.\n"
             "Bad lines are rejected with file, line and reason into a "
             "rejects\n"
             "file; the rest still loads.",
    .exits = "Exit: 0 all loaded, 4 some lines rejected or files "
             "unreadable,\n1 store error, 2 usage, 6 stopped by SIGTERM or "
             "SIGINT (what was\nread before is stored).",
    .max_args = CS_OPT_ANY,
};

char *cs_cli_rejects_path(const struct cs_config *cfg, const char *what)
{
    struct cs_buf b = CS_BUF_INIT;
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    cs_buf_addf(&b, "%s/rejects/%s-%s-%ld.jsonl", cfg->data_dir, what, stamp,
                (long)getpid());
    return cs_buf_detach(&b, NULL);
}

void cs_cli_print_ingest(const struct cs_ingest_stats *s, const char *rejects,
                         double seconds, int as_json)
{
    if (as_json) {
        printf("{\"files\": %llu, \"files_failed\": %llu, \"lines\": %llu, "
               "\"loaded\": %llu, \"rejected\": %llu, \"seconds\": %.3f, "
               "\"rejects_file\": ",
               (unsigned long long)s->files,
               (unsigned long long)s->files_failed,
               (unsigned long long)s->lines, (unsigned long long)s->loaded,
               (unsigned long long)s->rejected, seconds);
        if (s->rejected) {
            json_t *j = json_string(rejects);

            json_dumpf(j, stdout, JSON_ENCODE_ANY);
            json_decref(j);
        } else {
            fputs("null", stdout);
        }
        if (s->interrupted)
            printf(", \"interrupted\": \"%s\"", cs_sig_name(s->interrupted));
        fputs("}\n", stdout);
        return;
    }
    printf("ingested %llu conversations from %llu file(s): %llu lines, "
           "%llu rejected", (unsigned long long)s->loaded,
           (unsigned long long)s->files, (unsigned long long)s->lines,
           (unsigned long long)s->rejected);
    if (s->files_failed)
        printf(", %llu file(s) unreadable",
               (unsigned long long)s->files_failed);
    if (s->rejected)
        printf(" (rejects: %s)", rejects);
    printf(" in %.2f s", seconds);
    if (s->interrupted)
        printf("; stopped by %s before the end of the input (run it again "
               "for the rest)", cs_sig_name(s->interrupted));
    fputc('\n', stdout);
}

int cs_cmd_ingest(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_ingest_opts io;
    struct cs_ingest_stats stats;
    struct cs_err err = {0, ""};
    const char *rejects_opt = NULL;
    char *rejects = NULL;
    int as_json = 0, ret;
    long max_line = 0, batch = 0;
    double t0;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "rejects", &rejects_opt, "FILE",
                      "rejects file (default: DATA_DIR/rejects/"
                      "ingest-<time>-<pid>.jsonl)"),
        CS_OPT_LONG(0, "max-line-bytes", &max_line, "N", 1, LONG_MAX,
                    "longer lines are rejected (default 16 MiB)"),
        CS_OPT_LONG(0, "batch", &batch, "N", 1, LONG_MAX,
                    "conversations per COPY transaction"),
        CS_OPT_BOOL(0, "json", &as_json, "print the summary as JSON"),
        CS_OPT_END};

    memset(&io, 0, sizeof(io));
    io.max_messages = 20;
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (argc == 0)
        return cs_cli_usage("ingest", "no files or folders given");
    io.max_line = (size_t)max_line;
    io.batch_rows = (size_t)batch;
    if (rejects_opt)
        rejects = cs_xstrdup(rejects_opt);
    ret = cs_cli_open_store(ctx);
    if (ret) {
        free(rejects);
        return ret;
    }
    if (!rejects)
        rejects = cs_cli_rejects_path(ctx->cfg, "ingest");
    io.rejects_path = rejects;
    if (!io.max_line)
        io.max_line = (size_t)ctx->cfg->ingest_max_line_bytes;
    if (!io.batch_rows)
        io.batch_rows = (size_t)ctx->cfg->ingest_batch_rows;
    t0 = cs_now();
    cs_sig_catch();
    ret = cs_ingest_paths(&stats, ctx->st, argv, (size_t)argc, &io, &err);
    if (ret && !as_json)
        /* Not "ingested N": how far it got, and that it stopped. */
        printf("ingest stopped after %llu lines of %llu file(s): %llu "
               "conversations stored, %llu rejected; the store failed (see "
               "the error)\n", (unsigned long long)stats.lines,
               (unsigned long long)stats.files,
               (unsigned long long)stats.loaded,
               (unsigned long long)stats.rejected);
    else
        cs_cli_print_ingest(&stats, rejects, cs_now() - t0, as_json);
    free(rejects);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    if (stats.interrupted)
        return CS_EXIT_INTERRUPTED;
    if (stats.rejected || stats.files_failed)
        return CS_EXIT_PARTIAL;
    return CS_EXIT_OK;
}
