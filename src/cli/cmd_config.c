/* cmd_config.c - callscope config show */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct cs_opt_cmd show_doc = {
    .name = "config show",
    .usage = "callscope config show",
    .about = "Prints the effective configuration (defaults, then the config "
             "file,\n"
             "then environment variables) as JSON, secrets masked. \"alerts\" "
             "holds\n"
             "the alert thresholds in force (each marked \"source\": "
             "\"default\" when\n"
             "built in, \"config\" when set or changed by the config; null "
             "when\n"
             "switched off), and \"alerts_by_tenant\" those of each tenant "
             "whose\n"
             "thresholds differ. See docs/config.md and docs/kpis.md.",
    .exits = "Exit: 0 ok, 2 usage, 3 invalid config.",
};

static int config_show(int argc, char **argv, struct cs_ctx *ctx)
{
    int ret = cs_opt_parse(&argc, argv, ctx, &show_doc, NULL);

    if (ret != CS_OPT_RUN)
        return ret;
    if (cs_config_show(ctx->cfg, stdout))
        return CS_EXIT_ERROR;
    return CS_EXIT_OK;
}

static const struct cs_cmd subcmds[] = {
    {"show", config_show, 0, "print the effective configuration"},
    {NULL, NULL, 0, NULL},
};

static const struct cs_opt_cmd doc = {
    .name = "config",
    .usage = "callscope config show",
    .about = "The configuration: one JSON file, environment overrides "
             "(docs/config.md,\ndocs/environment.md).",
    .exits = "Exit: 0 ok, 2 usage, 3 invalid config.",
    .cmds = subcmds,
};

int cs_cmd_config(int argc, char **argv, struct cs_ctx *ctx)
{
    return cs_opt_dispatch(argc, argv, ctx, &doc);
}
