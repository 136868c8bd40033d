/* cmd_ingest.c - callscope ingest PATH... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "ingest/ingest.h"

static const char help[] =
    "usage: callscope ingest [OPTIONS] PATH...\n\n"
    "Loads conversations (JSON Lines, *.jsonl or *.jsonl.gz; folders are\n"
    "searched recursively) into the store. A conversation already stored\n"
    "under the same tenant and id is replaced. Bad lines are rejected with\n"
    "file, line and reason into a rejects file; the rest still loads.\n\n"
    "  --rejects FILE         rejects file (default:\n"
    "                         DATA_DIR/rejects/ingest-<time>-<pid>.jsonl)\n"
    "  --max-line-bytes N     longer lines are rejected (default 16 MiB)\n"
    "  --batch N              conversations per COPY transaction\n"
    "  --json                 print the summary as JSON\n"
    CS_COMMON_HELP
    "\nExit: 0 all loaded, 4 some lines rejected or files unreadable,\n"
    "1 store error, 2 usage.\n";

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
    printf(" in %.2f s\n", seconds);
}

int cs_cmd_ingest(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {
        {"rejects", required_argument, NULL, 'r'},
        {"max-line-bytes", required_argument, NULL, 'm'},
        {"batch", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        CS_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    struct cs_ingest_opts io;
    struct cs_ingest_stats stats;
    struct cs_err err = {0, ""};
    char *rejects = NULL;
    int c, as_json = 0, ret;
    long v;
    double t0;

    memset(&io, 0, sizeof(io));
    io.max_messages = 20;
    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(help, stdout);
            return CS_EXIT_OK;
        case 'r':
            free(rejects);
            rejects = strdup(optarg);
            break;
        case 'm':
        case 'b':
            if (cs_parse_long(optarg, &v) < 0 || v < 1) {
                free(rejects);
                return cs_cli_usage("ingest", "'%s' is not a positive "
                                    "number", optarg);
            }
            if (c == 'm')
                io.max_line = (size_t)v;
            else
                io.batch_rows = (size_t)v;
            break;
        case 'j':
            as_json = 1;
            break;
        case 'c':
        case 'q':
        case 'v':
            break;
        default:
            free(rejects);
            return cs_cli_usage("ingest", "unknown option");
        }
    }
    if (optind >= argc) {
        free(rejects);
        return cs_cli_usage("ingest", "no files or folders given");
    }
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
    ret = cs_ingest_paths(&stats, ctx->st, argv + optind,
                          (size_t)(argc - optind), &io, &err);
    cs_cli_print_ingest(&stats, rejects, cs_now() - t0, as_json);
    free(rejects);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    if (stats.rejected || stats.files_failed)
        return CS_EXIT_PARTIAL;
    return CS_EXIT_OK;
}
