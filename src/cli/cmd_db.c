/* cmd_db.c - callscope db migrate|status|start|stop */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

static const char help[] =
    "usage: callscope db SUBCOMMAND\n\n"
    "  migrate   apply pending schema migrations (safe to run twice, and\n"
    "            from two processes at once)\n"
    "  status    where the database is and its schema version\n"
    "  start     start the embedded PostgreSQL cluster (DATA_DIR/pg)\n"
    "  stop      stop the embedded cluster\n\n"
    "With CALLSCOPE_DATABASE_URL (or database_url in the config) callscope\n"
    "uses that server and start/stop do nothing.\n\n"
    CS_COMMON_HELP
    "\nExit: 0 ok, 1 error, 2 usage.\n";

static int db_migrate(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    int applied = 0, version = 0, ret;

    ret = cs_cli_open_store(ctx); /* opening applies pending migrations */
    if (ret)
        return ret;
    ret = cs_store_migrate(ctx->st, &applied, &err);
    if (!ret)
        ret = cs_store_schema_version(ctx->st, &version, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("schema at version %d\n", version);
    return CS_EXIT_OK;
}

static int db_status(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    char *where = NULL;
    int state, version = 0, ret;

    if (ctx->cfg->database_url && *ctx->cfg->database_url) {
        printf("database: external (CALLSCOPE_DATABASE_URL / config)\n");
    } else {
        state = cs_cluster_status(ctx->cfg, &where);
        printf("database: embedded cluster in %s: %s\n",
               where ? where : ctx->cfg->data_dir,
               state == 1 ? "running" : state == 0 ? "stopped"
                                                   : "not created");
        free(where);
        if (state != 1)
            return CS_EXIT_OK;
    }
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    ret = cs_store_schema_version(ctx->st, &version, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("schema version: %d (latest %d)\n", version,
           cs_store_latest_version());
    return CS_EXIT_OK;
}

static int db_start(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    char *info = NULL;
    int ret;

    if (ctx->cfg->database_url && *ctx->cfg->database_url) {
        cs_log(CS_LOG_WARN, "an external database is configured: nothing to "
               "start");
        return CS_EXIT_OK;
    }
    ret = cs_cluster_ensure(&info, ctx->cfg, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("embedded cluster running (%s)\n", info);
    free(info);
    return CS_EXIT_OK;
}

static int db_stop(struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    int ret;

    if (ctx->cfg->database_url && *ctx->cfg->database_url) {
        cs_log(CS_LOG_WARN, "an external database is configured: nothing to "
               "stop");
        return CS_EXIT_OK;
    }
    ret = cs_cluster_stop(ctx->cfg, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("embedded cluster stopped\n");
    return CS_EXIT_OK;
}

static const struct {
    const char *name;
    int (*fn)(struct cs_ctx *ctx);
} subcmds[] = {
    {"migrate", db_migrate},
    {"status", db_status},
    {"start", db_start},
    {"stop", db_stop},
};

int cs_cmd_db(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {CS_COMMON_OPTS, {NULL, 0, NULL, 0}};
    int c;

    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return CS_EXIT_OK;
        }
        if (c == '?')
            return cs_cli_usage("db", "unknown option");
    }
    if (optind != argc - 1)
        return cs_cli_usage("db", "expected one of migrate, status, start, "
                            "stop");
    for (size_t i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++) {
        if (strcmp(argv[optind], subcmds[i].name) == 0)
            return subcmds[i].fn(ctx);
    }
    return cs_cli_usage("db", "'%s' is not a db subcommand", argv[optind]);
}
