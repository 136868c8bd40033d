/* main.c - argv, global options, the command table, exit code */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

static int cmd_help(int argc, char **argv, struct cs_ctx *ctx);
static int cmd_version(int argc, char **argv, struct cs_ctx *ctx);

static const struct cs_cmd cs_cmds[] = {
    {"nightly", cs_cmd_nightly, CS_CMD_DB,
     "the nightly job: ingest the inbox, daily KPIs and alerts"},
    {"ingest", cs_cmd_ingest, CS_CMD_DB,
     "load JSONL conversation files into the store"},
    {"score", cs_cmd_score, CS_CMD_DB,
     "score conversations against the rubrics (what is new or stale)"},
    {"rescore", cs_cmd_rescore, CS_CMD_DB,
     "re-score metrics on demand (after a rubric changed)"},
    {"kpis", cs_cmd_kpis, CS_CMD_DB, "compute KPIs and ROI for a period"},
    {"report", cs_cmd_report, CS_CMD_DB,
     "reports for people: client (the XLSX workbook of one tenant)"},
    {"results", cs_cmd_results, CS_CMD_CONFIG,
     "export evaluation results (jsonl, csv)"},
    {"calibrate", cs_cmd_calibrate, CS_CMD_CONFIG,
     "agreement of the results with human labels"},
    {"rubrics", cs_cmd_rubrics, CS_CMD_CONFIG, "rubrics: lint, list"},
    {"sample", cs_cmd_sample, 0,
     "write deterministic sample conversations (JSONL)"},
    {"db", cs_cmd_db, CS_CMD_CONFIG,
     "database: migrate, status, start, stop"},
    {"config", cs_cmd_config, CS_CMD_CONFIG,
     "show the effective configuration"},
    {"version", cmd_version, 0, "print the version"},
    {"help", cmd_help, 0, "list the commands"},
};

#define N_CMDS (sizeof(cs_cmds) / sizeof(cs_cmds[0]))

static void usage(FILE *out)
{
    fputs("usage: callscope [--config FILE] [-q|-v] COMMAND [ARGS]\n\n"
          "Measures AI voice and chat agents: ingests conversations,\n"
          "computes KPIs and ROI, writes reports.\n\nCommands:\n", out);
    for (size_t i = 0; i < N_CMDS; i++)
        fprintf(out, "  %-10s %s\n", cs_cmds[i].name, cs_cmds[i].summary);
    fputs("\nEvery command takes --help. Exit codes: 0 ok, 1 runtime error, "
          "2 usage,\n3 invalid config or rubrics, 4 partial (some input "
          "rejected or failed).\n", out);
}

static int cmd_help(int argc, char **argv, struct cs_ctx *ctx)
{
    (void)argc;
    (void)argv;
    (void)ctx;
    usage(stdout);
    return CS_EXIT_OK;
}

static int cmd_version(int argc, char **argv, struct cs_ctx *ctx)
{
    (void)argc;
    (void)argv;
    (void)ctx;
    printf("callscope %s\n", CS_VERSION);
    return CS_EXIT_OK;
}

/*
 * Global options may stand anywhere before "--": act on them here; the
 * commands accept and ignore them. Returns the index of the command name,
 * or -1 with *help or *version set.
 */
static int scan_globals(int argc, char **argv, const char **config,
                        int *help, int *version, int *help_after)
{
    int cmd = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0)
            break;
        if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            if (i + 1 < argc)
                *config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            *config = a + 9;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cs_log_level = CS_LOG_WARN;
        } else if (strcmp(a, "--verbose") == 0) {
            cs_log_level++;
        } else if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") ==
                   strlen(a + 1)) {
            cs_log_level += (int)strlen(a + 1) - 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            if (cmd < 0)
                *help = 1;
            else
                *help_after = 1;
        } else if (strcmp(a, "--version") == 0 && cmd < 0) {
            *version = 1;
        } else if (a[0] != '-' && cmd < 0) {
            cmd = i;
        }
    }
    if (cs_log_level > CS_LOG_DEBUG)
        cs_log_level = CS_LOG_DEBUG;
    return cmd;
}

int main(int argc, char **argv)
{
    struct cs_ctx ctx = {NULL, NULL, NULL};
    struct cs_err err = {0, ""};
    const struct cs_cmd *cmd = NULL;
    int help = 0, version = 0, help_after = 0, at, ret;

    at = scan_globals(argc, argv, &ctx.config_path, &help, &version,
                      &help_after);
    if (version)
        return cmd_version(0, NULL, NULL);
    if (at < 0) {
        usage(help ? stdout : stderr);
        return help ? CS_EXIT_OK : CS_EXIT_USAGE;
    }
    for (size_t i = 0; i < N_CMDS; i++) {
        if (strcmp(argv[at], cs_cmds[i].name) == 0)
            cmd = &cs_cmds[i];
    }
    if (!cmd) {
        fprintf(stderr, "callscope: '%s' is not a command\n", argv[at]);
        usage(stderr);
        return CS_EXIT_USAGE;
    }
    /* With --help the command prints its help and opens nothing. */
    if (!help_after && (cmd->flags & (CS_CMD_CONFIG | CS_CMD_DB))) {
        ret = cs_config_load(&ctx.cfg, ctx.config_path, &err);
        if (ret) {
            ret = cs_cli_fail(ret, err.msg);
            goto done;
        }
    }
    /* The command parses argv from its own name on; globals given before
     * the name were handled above. */
    optind = 1;
    opterr = 1;
    ret = cmd->fn(argc - at, argv + at, &ctx);
done:
    cs_store_close(ctx.st);
    cs_config_free(ctx.cfg);
    if (fclose(stdout) != 0 && ret == CS_EXIT_OK) {
        fprintf(stderr, "callscope: error: cannot write output: %s\n",
                strerror(errno));
        ret = CS_EXIT_ERROR;
    }
    return ret;
}
