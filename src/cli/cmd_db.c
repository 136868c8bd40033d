/* cmd_db.c - callscope db migrate|status|start|stop|prune|rebuild-rollups|
 * compact-rollups */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "pipeline/lifecycle.h"
#include "store/partition.h"

static int db_migrate(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "db migrate",
        .usage = "callscope db migrate",
        .about = "Applies pending schema migrations (safe to run twice, and "
                 "from two\nprocesses at once).",
        .exits = "Exit: 0 ok, 1 error, 2 usage.",
    };
    struct cs_err err = {0, ""};
    int applied = 0, version = 0, ret;

    ret = cs_opt_parse(&argc, argv, ctx, &doc, NULL);
    if (ret != CS_OPT_RUN)
        return ret;
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

static int db_status(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "db status",
        .usage = "callscope db status",
        .about = "Says where the database is, its schema version and the "
                 "months of\nconversations it holds (partitions, those "
                 "created ahead included).",
        .exits = "Exit: 0 ok, 1 error, 2 usage.",
    };
    struct cs_err err = {0, ""};
    char *where = NULL;
    int state, version = 0, ret;

    ret = cs_opt_parse(&argc, argv, ctx, &doc, NULL);
    if (ret != CS_OPT_RUN)
        return ret;
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
    {
        char first[8], last[8];
        long months = 0;

        ret = cs_store_months(&months, first, last, ctx->st, &err);
        if (ret)
            return cs_cli_fail(ret, err.msg);
        printf("months of conversations: %ld (%s to %s, UTC)\n", months,
               first, last);
    }
    return CS_EXIT_OK;
}

static int db_start(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "db start",
        .usage = "callscope db start",
        .about = "Starts the embedded PostgreSQL cluster (DATA_DIR/pg).",
        .exits = "Exit: 0 ok, 1 error, 2 usage.",
    };
    struct cs_err err = {0, ""};
    char *info = NULL;
    int ret;

    ret = cs_opt_parse(&argc, argv, ctx, &doc, NULL);
    if (ret != CS_OPT_RUN)
        return ret;
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

static int db_stop(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "db stop",
        .usage = "callscope db stop",
        .about = "Stops the embedded cluster.",
        .exits = "Exit: 0 ok, 1 error, 2 usage.",
    };
    struct cs_err err = {0, ""};
    int ret;

    ret = cs_opt_parse(&argc, argv, ctx, &doc, NULL);
    if (ret != CS_OPT_RUN)
        return ret;
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

/* "12 conversations, 60 results, 3 deliveries, 1 alert" */
static void print_counts(const char *verb, const struct cs_prune_counts *c)
{
    printf("%s %ld conversation(s), %ld result(s), %ld deliveries, %ld "
           "alert(s), %ld explanation(s), %ld ended LLM batch(es)", verb,
           c->conversations, c->results, c->deliveries, c->alerts,
           c->explanations, c->batches);
    if (c->months)
        printf(" (%ld whole month(s) of conversations dropped)", c->months);
    printf("\n");
}

static int db_prune(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "db prune",
        .usage = "callscope db prune [--dry-run]",
        .about = "Deletes what is older than each tenant's retention_days "
                 "(config,\ndefault 365), counted in whole local days of "
                 "its zone: conversations\nand their results, deliveries, "
                 "alerts; and the LLM batches that ended longer ago\nthan "
                 "the longest retention of any tenant, with what is left of "
                 "their\nrequests. A UTC month older than every tenant's "
                 "limit is dropped whole\n(its partitions); the rest is "
                 "deleted in bounded batches. The KPIs of\nthe days kept "
                 "are unchanged. The nightly job runs it.",
        .exits = "Exit: 0 ok, 1 error, 2 usage, 3 invalid configuration.",
    };
    struct cs_prune_counts c = {0};
    struct cs_err err = {0, ""};
    int dry = 0, ret;
    const struct cs_option opts[] = {
        CS_OPT_BOOL(0, "dry-run", &dry, "count what would go, delete "
                    "nothing"),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    ret = cs_lifecycle_prune(&c, ctx->st, ctx->cfg, dry, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    print_counts(dry ? "would delete" : "deleted", &c);
    return CS_EXIT_OK;
}

static int db_rebuild_rollups(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "db rebuild-rollups",
        .usage = "callscope db rebuild-rollups [--tenant T]",
        .about = "Recomputes the KPI rollups (per tenant, agent and UTC "
                 "15-minute interval)\nfrom the stored conversations, "
                 "for one tenant or all. Ingest, prune and\ntenant "
                 "delete keep them current in their own transactions, so "
                 "this is\nfor repair: the result equals what they "
                 "maintain. Writers of\nconversations wait while it "
                 "runs; readers do not.",
        .exits = "Exit: 0 ok, 1 error, 2 usage.",
    };
    struct cs_err err = {0, ""};
    const char *tenant = NULL;
    long rows = 0;
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "tenant", &tenant, "T", "only this tenant's "
                      "rollups"),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    ret = cs_store_rollup_rebuild(&rows, ctx->st, tenant, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("rebuilt the rollups of %s: %ld bucket(s)\n",
           tenant ? tenant : "every tenant", rows);
    return CS_EXIT_OK;
}

static int db_compact_rollups(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "db compact-rollups",
        .usage = "callscope db compact-rollups",
        .about = "Folds the span histograms that ingest, prune and tenant "
                 "delete appended\ninto one histogram per tenant, agent, "
                 "UTC hour or day and span name,\nwhich is what kpis "
                 "reads fastest. The figures do not change. The\n"
                 "nightly job runs it after its ingest.",
        .exits = "Exit: 0 ok, 1 error, 2 usage.",
    };
    struct cs_err err = {0, ""};
    long rows = 0;
    int ret;
    const struct cs_option opts[] = {CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    ret = cs_store_rollup_compact(&rows, ctx->st, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("compacted the rollups: %ld histogram delta(s) folded\n", rows);
    return CS_EXIT_OK;
}

static const struct cs_cmd subcmds[] = {
    {"migrate", db_migrate, 0, "apply pending schema migrations (safe to "
     "run twice, and from two processes at once)"},
    {"status", db_status, 0, "where the database is and its schema "
     "version"},
    {"start", db_start, 0, "start the embedded PostgreSQL cluster "
     "(DATA_DIR/pg)"},
    {"stop", db_stop, 0, "stop the embedded cluster"},
    {"prune", db_prune, 0, "delete what is older than each tenant's "
     "retention"},
    {"rebuild-rollups", db_rebuild_rollups, 0, "recompute the KPI rollups "
     "from the stored conversations"},
    {"compact-rollups", db_compact_rollups, 0, "fold the span histograms' "
     "deltas into one per key"},
    {NULL, NULL, 0, NULL},
};

static const struct cs_opt_cmd doc = {
    .name = "db",
    .usage = "callscope db migrate|status|start|stop|prune|rebuild-rollups|"
             "compact-rollups",
    .about = "With CALLSCOPE_DATABASE_URL (or database_url in the config) "
             "callscope\n"
             "uses that server and start/stop do nothing; otherwise its own\n"
             "embedded PostgreSQL cluster under DATA_DIR/pg.",
    .exits = "Exit: 0 ok, 1 error, 2 usage.",
    .cmds = subcmds,
};

int cs_cmd_db(int argc, char **argv, struct cs_ctx *ctx)
{
    return cs_opt_dispatch(argc, argv, ctx, &doc);
}
