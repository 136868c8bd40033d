/* cmd_import.c - callscope import --from FORMAT PATH... */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sig.h"
#include "cli/cli.h"
#include "import/run.h"
#include "ingest/ingest.h"

static const struct cs_opt_cmd doc = {
    .name = "import",
    .usage = "callscope import [--from vapi|retell|polyai|livekit] "
             "[--tenant T]\n"
             "       [--transcripts DIR] [OPTIONS] PATH...",
    .about = "Loads conversations from voice platforms' own payloads "
             "(docs/importers.md):\n"
             "Vapi end-of-call reports, Retell calls and webhooks, PolyAI\n"
             "conversation records, LiveKit webhook events (per room, "
             "completed once\n"
             "room_finished has come; rooms not finished are kept for a "
             "later import).\n"
             "Files are *.json (one payload or an array), *.jsonl, or .gz "
             "of either;\n"
             "folders are searched. Without --from each file's format is "
             "detected.\n"
             "Records are validated, stored and replaced by id exactly as "
             "ingest does;\n"
             "payloads that carry no finished conversation are counted as "
             "skipped.",
    .exits = "Exit: 0 all loaded, 4 some payloads rejected or files "
             "unreadable,\n1 store error, 2 usage.",
    .max_args = CS_OPT_ANY,
};

/* The skipped kinds as "status-update 2, call_started 1". */
static void kinds_text(struct cs_buf *b, const json_t *kinds)
{
    const char *k;
    json_t *n;
    int first = 1;

    json_object_foreach((json_t *)kinds, k, n) {
        cs_buf_addf(b, "%s%s %lld", first ? "" : ", ", k,
                    (long long)json_integer_value(n));
        first = 0;
    }
}

static void print_json(const struct cs_ingest_stats *s,
                       const struct cs_import_stats *is, const char *rejects,
                       double seconds)
{
    json_t *o = json_object(), *formats = json_object();

    for (int f = CS_IMPORT_CANONICAL; f < CS_IMPORT_N_FORMATS; f++) {
        if (is->files[f])
            json_object_set_new(formats, cs_import_format_name(f),
                                json_integer((json_int_t)is->files[f]));
    }
    json_object_set_new(o, "files", json_integer((json_int_t)s->files));
    json_object_set_new(o, "files_failed",
                        json_integer((json_int_t)s->files_failed));
    json_object_set_new(o, "formats", formats);
    json_object_set_new(o, "lines", json_integer((json_int_t)s->lines));
    json_object_set_new(o, "payloads", json_integer((json_int_t)is->payloads));
    json_object_set_new(o, "loaded", json_integer((json_int_t)s->loaded));
    json_object_set_new(o, "rejected", json_integer((json_int_t)s->rejected));
    json_object_set_new(o, "skipped", json_integer((json_int_t)is->skipped));
    json_object_set_new(o, "skipped_kinds",
                        json_deep_copy(is->skipped_kinds));
    json_object_set_new(o, "superseded",
                        json_integer((json_int_t)is->superseded));
    json_object_set_new(o, "signatures_unchecked",
                        json_integer((json_int_t)is->unchecked));
    json_object_set_new(o, "rooms", json_pack(
        "{s:I,s:I,s:I,s:I}", "completed", (json_int_t)is->rooms_done,
        "pending", (json_int_t)is->rooms_pending, "events_pending",
        (json_int_t)is->events_pending, "events_late",
        (json_int_t)is->events_late));
    json_object_set_new(o, "seconds", json_real(seconds));
    json_object_set_new(o, "rejects_file", s->rejected ? json_string(rejects)
                                                       : json_null());
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
}

void cs_cli_import_clause(struct cs_buf *b, const struct cs_import_stats *is,
                          int with_files)
{
    int any = 0;

    cs_buf_adds(b, "read as");
    for (int f = CS_IMPORT_VAPI; f < CS_IMPORT_N_FORMATS; f++) {
        if (!is->files[f])
            continue;
        cs_buf_addf(b, "%s %s", any ? "," : "", cs_import_format_name(f));
        if (with_files)
            cs_buf_addf(b, " (%llu file%s)",
                        (unsigned long long)is->files[f],
                        is->files[f] == 1 ? "" : "s");
        any = 1;
    }
    cs_buf_addf(b, ": %llu payloads", (unsigned long long)is->payloads);
    if (is->skipped) {
        cs_buf_addf(b, ", %llu skipped (", (unsigned long long)is->skipped);
        kinds_text(b, is->skipped_kinds);
        cs_buf_addch(b, ')');
    }
    if (is->superseded)
        cs_buf_addf(b, ", %llu kept the analysed record already read",
                    (unsigned long long)is->superseded);
    if (is->rooms_done || is->rooms_pending)
        cs_buf_addf(b, ", %llu room(s) completed, %llu pending "
                    "(%llu events kept)", (unsigned long long)is->rooms_done,
                    (unsigned long long)is->rooms_pending,
                    (unsigned long long)is->events_pending);
    if (is->unchecked)
        cs_buf_addf(b, ", %llu signature(s) not checked (no "
                    "CALLSCOPE_RETELL_API_KEY)",
                    (unsigned long long)is->unchecked);
    if (is->events_late)
        cs_buf_addf(b, ", %llu late event(s) of stored rooms",
                    (unsigned long long)is->events_late);
}

int cs_cli_import_run(struct cs_ctx *ctx, const char *cmd, int format,
                      const char *tenant, const char *transcripts,
                      const char *rejects_opt, const struct cs_cli_load *l,
                      int argc, char **argv)
{
    struct cs_import_opts o;
    struct cs_ingest_opts io;
    struct cs_ingest_stats stats;
    const struct cs_import_stats *is;
    struct cs_err err = {0, ""};
    struct cs_importer *imp = NULL;
    struct cs_store *lookup = NULL;
    struct cs_buf line = CS_BUF_INIT;
    char *rejects = NULL;
    int ret, vendor = 0;
    double t0;

    memset(&o, 0, sizeof(o));
    memset(&io, 0, sizeof(io));
    io.max_messages = 20;
    if (tenant && (!*tenant || strlen(tenant) > 128))
        return cs_cli_usage(cmd, "--tenant takes a tenant id of 1 to 128 "
                            "bytes");
    if (transcripts && !cs_fs_exists(transcripts))
        return cs_cli_usage(cmd, "--transcripts: no folder '%s'",
                            transcripts);
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    /* The converter runs beside the COPY: it looks things up on a
     * connection of its own. */
    ret = cs_store_open(&lookup, ctx->cfg, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    o.tenant = tenant;
    o.tenant_map = json_object_get(json_object_get(ctx->cfg->root,
                                                   "importers"),
                                   "tenant_map");
    o.retell_key = ctx->cfg->retell_api_key;
    cs_importer_new(&imp, (enum cs_import_format)format, &o, lookup,
                    transcripts, &err);
    rejects = rejects_opt ? cs_xstrdup(rejects_opt)
                          : cs_cli_rejects_path(ctx->cfg, cmd);
    io.rejects_path = rejects;
    io.conv = cs_importer_conv(imp);
    io.max_line = l && l->max_line ? (size_t)l->max_line
                                   : (size_t)ctx->cfg->ingest_max_line_bytes;
    io.batch_rows = l && l->batch ? (size_t)l->batch
                                  : (size_t)ctx->cfg->ingest_batch_rows;
    t0 = cs_now();
    cs_sig_catch();
    ret = cs_ingest_paths(&stats, ctx->st, argv, (size_t)argc, &io, &err);
    if (!ret)
        ret = cs_importer_done(imp, &err);
    is = cs_importer_stats(imp);
    for (int f = CS_IMPORT_VAPI; f < CS_IMPORT_N_FORMATS; f++)
        vendor |= is->files[f] != 0;
    if (ret && !(l && l->as_json)) {
        /* Not "ingested N": how far it got, and that it stopped. */
        printf("%s stopped after %llu lines of %llu file(s): %llu "
               "conversations stored, %llu rejected; it failed (see the "
               "error)\n", cmd, (unsigned long long)stats.lines,
               (unsigned long long)stats.files,
               (unsigned long long)stats.loaded,
               (unsigned long long)stats.rejected);
    } else if (l && l->as_json) {
        if (strcmp(cmd, "ingest") == 0 && !vendor)
            cs_cli_print_ingest(&stats, rejects, cs_now() - t0, 1);
        else
            print_json(&stats, is, rejects, cs_now() - t0);
    } else if (strcmp(cmd, "ingest") == 0) {
        cs_cli_print_ingest(&stats, rejects, cs_now() - t0, 0);
        if (vendor) {
            cs_cli_import_clause(&line, is, 1);
            printf("%s\n", line.ptr);
        }
    } else {
        cs_buf_addf(&line, "imported %llu conversations from %llu file(s), ",
                    (unsigned long long)stats.loaded,
                    (unsigned long long)stats.files);
        cs_cli_import_clause(&line, is, 1);
        cs_buf_addf(&line, ", %llu rejected",
                    (unsigned long long)stats.rejected);
        if (stats.files_failed)
            cs_buf_addf(&line, ", %llu file(s) unreadable",
                        (unsigned long long)stats.files_failed);
        if (stats.rejected)
            cs_buf_addf(&line, " (rejects: %s)", rejects);
        printf("%s in %.2f s%s\n", line.ptr, cs_now() - t0,
               cs_cli_stopped_clause(&stats));
    }
    if (ret)
        ret = cs_cli_fail(ret, err.msg);
    else if (stats.interrupted)
        ret = CS_EXIT_INTERRUPTED;
    else if (stats.rejected || stats.files_failed)
        ret = CS_EXIT_PARTIAL;
    else
        ret = CS_EXIT_OK;
    cs_buf_release(&line);
    cs_importer_free(imp);
    cs_store_close(lookup);
    free(rejects);
    return ret;
}

int cs_cli_opt_format(const struct cs_option *opt, const char *arg,
                      struct cs_err *err)
{
    int f = cs_import_format_parse(arg);

    if (f < 0)
        return cs_err_set(err, CS_EINVALID, "--from takes vapi, retell, "
                          "polyai or livekit, not '%s'", arg);
    *(int *)opt->value = f;
    return 0;
}

int cs_cmd_import(int argc, char **argv, struct cs_ctx *ctx)
{
    const char *tenant = NULL, *transcripts = NULL, *rejects = NULL;
    struct cs_cli_load l = {0, 0, 0};
    int format = CS_IMPORT_AUTO, ret;
    const struct cs_option opts[] = {
        CS_OPT_CALLBACK(0, "from", &format, "vapi|retell|polyai|livekit",
                        "the platform the payloads come from (default: "
                        "detect each file's)", cs_cli_opt_format),
        CS_OPT_STRING(0, "tenant", &tenant, "T",
                      "store every conversation under tenant T (default: "
                      "importers.tenant_map, else \"default\")"),
        CS_OPT_STRING(0, "transcripts", &transcripts, "DIR",
                      "LiveKit Agents session histories, DIR/<room "
                      "name>.json"),
        CS_OPT_STRING(0, "rejects", &rejects, "FILE",
                      "rejects file (default: DATA_DIR/rejects/"
                      "import-<time>-<pid>.jsonl)"),
        CS_CLI_LOAD_OPTS(&l),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (argc == 0)
        return cs_cli_usage("import", "no files or folders given");
    return cs_cli_import_run(ctx, "import", format, tenant, transcripts,
                             rejects, &l, argc, argv);
}
