/* cli.c - helpers shared by the commands */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/mem.h"

int cs_cli_exit_for(int code)
{
    return code == CS_EINVALID ? CS_EXIT_INVALID : CS_EXIT_ERROR;
}

int cs_cli_fail(int code, const char *msg)
{
    cs_log(CS_LOG_ERROR, "%s", msg);
    return cs_cli_exit_for(code);
}

int cs_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "callscope%s%s: ", *cmd ? " " : "", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'callscope%s%s --help'.\n", *cmd ? " " : "",
            cmd);
    return CS_EXIT_USAGE;
}

int cs_cli_load_config(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};

    if (ctx->cfg)
        return 0;
    if (cs_config_load(&ctx->cfg, ctx->config_path, &err)) {
        cs_log(CS_LOG_ERROR, "%s", err.msg);
        return CS_EXIT_INVALID;
    }
    return 0;
}

int cs_cli_open_store(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    int ret;

    ret = cs_cli_load_config(ctx);
    if (ret)
        return ret;
    if (!ctx->st) {
        ret = cs_store_open(&ctx->st, ctx->cfg, &err);
        if (ret)
            return cs_cli_fail(ret, err.msg);
    }
    return 0;
}

void cs_cli_filter_release(struct cs_cli_filter *cf)
{
    free(cf->metrics);
    cf->metrics = NULL;
}
