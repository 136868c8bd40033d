/* cli.c - helpers shared by the commands */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "rubric/rubric.h"

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

    fprintf(stderr, "callscope %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'callscope %s --help'.\n", cmd);
    return CS_EXIT_USAGE;
}

int cs_cli_open_store(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    int ret;

    if (!ctx->cfg) {
        ret = cs_config_load(&ctx->cfg, ctx->config_path, &err);
        if (ret)
            return cs_cli_fail(ret, err.msg);
    }
    if (!ctx->st) {
        ret = cs_store_open(&ctx->st, ctx->cfg, &err);
        if (ret)
            return cs_cli_fail(ret, err.msg);
    }
    return 0;
}

struct cs_rubric_set *cs_cli_metric_rubrics(const struct cs_config *cfg)
{
    struct cs_rubric_set *set = NULL;
    struct cs_err err = {0, ""};

    if (cs_rubric_set_load(&set, cfg->rubrics_dir, NULL, &err) < 0) {
        cs_log(CS_LOG_DEBUG, "metric types inferred: %s", err.msg);
        return NULL;
    }
    return set;
}

int cs_cli_filter_opt(struct cs_cli_filter *cf, int c, char *arg,
                      const char *cmd)
{
    int64_t d;

    switch (c) {
    case 'F':
    case 'T':
        if (cs_parse_date(arg, &d))
            return cs_cli_usage(cmd, "dates are YYYY-MM-DD");
        if (c == 'F')
            cf->f.from = arg;
        else
            cf->f.to = arg;
        return 1;
    case 't':
        cf->f.tenant = arg;
        return 1;
    case 'm':
        cf->metrics = cs_xrealloc(cf->metrics,
                                  (cf->n_metrics + 2) * sizeof(*cf->metrics));
        cf->metrics[cf->n_metrics++] = arg;
        cf->metrics[cf->n_metrics] = NULL;
        return 1;
    default:
        return 0;
    }
}

void cs_cli_filter_release(struct cs_cli_filter *cf)
{
    free(cf->metrics);
    cf->metrics = NULL;
    cf->n_metrics = 0;
}
