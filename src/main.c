/* main.c - argv, global options, the command table, exit code */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

static int cmd_help(int argc, char **argv, struct cs_ctx *ctx);
static int cmd_version(int argc, char **argv, struct cs_ctx *ctx);

static const struct cs_cmd cs_cmds[] = {
    {"nightly", cs_cmd_nightly, CS_CMD_DB,
     "the nightly job: ingest, score, daily KPIs and PDFs, mail, alerts"},
    {"monthly", cs_cmd_monthly, CS_CMD_DB,
     "the monthly job: executive PDFs mailed to each tenant"},
    {"mail", cs_cmd_mail, CS_CMD_DB,
     "the delivery log: --status, --resend-failed"},
    {"ingest", cs_cmd_ingest, CS_CMD_DB,
     "load JSONL conversation files into the store"},
    {"import", cs_cmd_import, CS_CMD_DB,
     "load Vapi, Retell, PolyAI or LiveKit payloads as conversations"},
    {"score", cs_cmd_score, CS_CMD_DB,
     "score conversations against the rubrics (what is new or stale)"},
    {"rescore", cs_cmd_rescore, CS_CMD_DB,
     "re-score metrics on demand (after a rubric changed)"},
    {"kpis", cs_cmd_kpis, CS_CMD_DB, "compute KPIs and ROI for a period"},
    {"conversations", cs_cmd_conversations, CS_CMD_DB,
     "list conversations by their outcomes (filters, samples)"},
    {"show", cs_cmd_show, CS_CMD_DB,
     "one conversation whole: turns, tools, verdicts and their evidence"},
    {"explain", cs_cmd_explain, CS_CMD_DB,
     "why conversations end with a verdict: themes, counts, examples"},
    {"report", cs_cmd_report, CS_CMD_CONFIG,
     "reports for people: executive and daily PDFs, the client XLSX"},
    {"results", cs_cmd_results, CS_CMD_CONFIG,
     "export evaluation results (jsonl, csv)"},
    {"calibrate", cs_cmd_calibrate, CS_CMD_CONFIG,
     "agreement of the results with human labels"},
    {"compare", cs_cmd_compare, CS_CMD_CONFIG,
     "agreement of two stored metrics (a platform's verdict, the judge)"},
    {"rubrics", cs_cmd_rubrics, CS_CMD_CONFIG, "rubrics: lint, list"},
    {"sample", cs_cmd_sample, 0,
     "write deterministic sample conversations (JSONL)"},
    {"tenant", cs_cmd_tenant, CS_CMD_CONFIG,
     "tenants' data as a whole: delete"},
    {"db", cs_cmd_db, CS_CMD_CONFIG,
     "database: migrate, status, start, stop"},
    {"config", cs_cmd_config, CS_CMD_CONFIG,
     "show the effective configuration"},
    {"version", cmd_version, 0, "print the version"},
    {"help", cmd_help, 0, "list the commands, or show one's help"},
    {NULL, NULL, 0, NULL},
};

static const struct cs_opt_cmd doc = {
    .name = "",
    .usage = "callscope [--config FILE] [-q|-v] COMMAND [ARGS]",
    .about = "Measures AI voice and chat agents: ingests conversations,\n"
             "computes KPIs and ROI, writes reports. The contracts it\n"
             "follows are in docs/ (docs/README.md).",
    .exits = "Every command takes --help ('callscope help COMMAND' too).\n"
             "Exit codes: 0 ok, 1 runtime error, 2 usage, 3 invalid config "
             "or\nrubrics, 4 partial (some input, reports or deliveries "
             "failed), 5 locked\n(another run of the same job is going "
             "on), 6 interrupted (SIGTERM or SIGINT;\nwhat was done is "
             "stored).",
    .cmds = cs_cmds,
};

static int cmd_help(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd help_doc = {
        .name = "help",
        .usage = "callscope help [COMMAND]",
        .about = "Lists the commands, or prints the help of one.",
        .exits = "Exit: 0 ok, 2 usage (no such command).",
        .max_args = 1,
    };
    char *args[3] = {NULL, "--help", NULL};
    int ret;

    ret = cs_opt_parse(&argc, argv, ctx, &help_doc, NULL);
    if (ret != CS_OPT_RUN)
        return ret;
    if (argc == 0) {
        cs_opt_help(stdout, &doc, NULL);
        return CS_EXIT_OK;
    }
    args[0] = argv[0];
    return cs_opt_run_cmd(2, args, ctx, &doc);
}

static int cmd_version(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd version_doc = {
        .name = "version",
        .usage = "callscope version",
        .about = "Prints the version.",
        .exits = "Exit: 0 ok, 2 usage.",
    };
    int ret;

    if (argv) {
        ret = cs_opt_parse(&argc, argv, ctx, &version_doc, NULL);
        if (ret != CS_OPT_RUN)
            return ret;
    }
    printf("callscope %s\n", CS_VERSION);
    return CS_EXIT_OK;
}

/*
 * stdout is checked once, at exit (as jq does). A reader that went away
 * (`callscope kpis | head -1`) cut the output short on purpose: then the
 * program ends quietly the way any filter ends on SIGPIPE (as git's
 * check_pipe does), so a shell sees status 141 and no error is printed.
 * Any other write error turns success into CS_EXIT_ERROR.
 */
static int finish_stdout(int ret)
{
    int gone = cs_cli_stdout_gone(), bad = ferror(stdout);

    if (fclose(stdout) != 0)
        bad = 1;
    if (!bad)
        return ret;
    if (gone || errno == EPIPE) {
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    if (ret == CS_EXIT_OK) {
        fprintf(stderr, "callscope: error: cannot write output: %s\n",
                strerror(errno));
        ret = CS_EXIT_ERROR;
    }
    return ret;
}

int main(int argc, char **argv)
{
    struct cs_ctx ctx;
    int version = 0, ret;
    const struct cs_option opts[] = {
        CS_OPT_BOOL(0, "version", &version, "print the version"),
        CS_OPT_END};

    memset(&ctx, 0, sizeof(ctx));
    /* libcurl (CURLOPT_NOSIGNAL) leaves SIGPIPE to the program: a server
     * that hangs up must be an error return, not the end of the nightly
     * job. Writes to a closed stdout then fail with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit (ulimit -f) then fails the write with EFBIG,
     * which every writer reports, instead of killing the process in the
     * middle of a file. */
    signal(SIGXFSZ, SIG_IGN);
    /* Global options stand before the command; the command parses the
     * rest, the global ones included. */
    ret = cs_opt_parse(&argc, argv, &ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        goto done;
    if (version)
        ret = cmd_version(0, NULL, &ctx);
    else
        ret = cs_opt_run_cmd(argc, argv, &ctx, &doc);
done:
    cs_store_close(ctx.st);
    cs_config_free(ctx.cfg);
    return finish_stdout(ret);
}
