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
             "unreadable,\n1 store error, 2 usage, 6 stopped by SIGTERM or "
             "SIGINT (what was\nread before is stored).",
    .max_args = CS_OPT_ANY,
};

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
