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
#include "cli/cli.h"
#include "import/import.h"
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
             "file; the rest still loads. A file of Vapi, Retell, PolyAI or "
             "LiveKit\n"
             "payloads (*.json too) is detected by shape and imported as "
             "`import`\n"
             "does (docs/importers.md); the summary says which format it "
             "was.",
    .exits = "Exit: 0 all loaded, 4 some lines rejected or files "
             "unreadable,\n1 store error, 2 usage.",
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
    const char *rejects = NULL, *tenant = NULL;
    struct cs_cli_load l = {0, 0, 0};
    int format = CS_IMPORT_AUTO, ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "rejects", &rejects, "FILE",
                      "rejects file (default: DATA_DIR/rejects/"
                      "ingest-<time>-<pid>.jsonl)"),
        CS_OPT_CALLBACK(0, "from", &format, "vapi|retell|polyai|livekit",
                        "read every file as this platform's payloads "
                        "(default: detect the files that are not records)",
                        cs_cli_opt_format),
        CS_OPT_STRING(0, "tenant", &tenant, "T",
                      "the tenant of converted payloads (as import "
                      "--tenant)"),
        CS_CLI_LOAD_OPTS(&l),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (argc == 0)
        return cs_cli_usage("ingest", "no files or folders given");
    return cs_cli_import_run(ctx, "ingest", format, tenant, NULL, rejects,
                             &l, argc, argv);
}
