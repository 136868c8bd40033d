/* cmd_config.c - callscope config show */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char help[] =
    "usage: callscope config show\n\n"
    "Prints the effective configuration (defaults, then the config file,\n"
    "then environment variables) as JSON, secrets masked.\n\n"
    CS_COMMON_HELP
    "\nExit: 0 ok, 2 usage, 3 invalid config.\n";

int cs_cmd_config(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {CS_COMMON_OPTS, {NULL, 0, NULL, 0}};
    int c;

    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return CS_EXIT_OK;
        }
        if (c == '?')
            return cs_cli_usage("config", "unknown option");
    }
    if (optind != argc - 1 || strcmp(argv[optind], "show") != 0)
        return cs_cli_usage("config", "expected 'show'");
    cs_config_show(ctx->cfg, stdout);
    return CS_EXIT_OK;
}
