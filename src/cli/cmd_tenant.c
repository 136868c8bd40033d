/* cmd_tenant.c - callscope tenant delete T --yes */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pipeline/lifecycle.h"

static int tenant_delete(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct cs_opt_cmd doc = {
        .name = "tenant delete",
        .usage = "callscope tenant delete TENANT --yes",
        .about = "Removes every row of TENANT (conversations, results, "
                 "deliveries,\nalerts) and its own report files under "
                 "REPORTS_DIR (executive-,\ndaily-, client-<tenant>.*, its "
                 "mails in the outbox), and prints what\nit removed. Files "
                 "several tenants share (kpis.*, alerts.json) are kept\n"
                 "and named; the next runs rewrite them. Other tenants are "
                 "untouched.\nThere is no undo: --yes is required.",
        .exits = "Exit: 0 removed, 1 error, 2 usage (no --yes, an unknown "
                 "tenant).",
        .max_args = 1,
    };
    struct cs_prune_counts c = {0, 0, 0, 0, 0, 0};
    struct cs_err err = {0, ""};
    long files = 0;
    int yes = 0, ret;
    const struct cs_option opts[] = {
        CS_OPT_BOOL(0, "yes", &yes, "really delete"),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (argc != 1)
        return cs_cli_usage("tenant delete", "name one tenant");
    if (!yes)
        return cs_cli_usage("tenant delete", "this removes every row of "
                            "'%s' and cannot be undone: add --yes", argv[0]);
    ret = cs_cli_open_store(ctx);
    if (!ret)
        ret = cs_cli_check_tenant(ctx, "tenant delete", argv[0]);
    if (ret)
        return ret;
    ret = cs_lifecycle_delete_tenant(&c, &files, ctx->st, ctx->cfg, argv[0],
                                     &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("removed tenant '%s': %ld conversation(s), %ld result(s), %ld "
           "deliveries, %ld alert(s), %ld explanation(s), %ld report "
           "file(s)\n", argv[0], c.conversations, c.results, c.deliveries,
           c.alerts, c.explanations, files);
    return CS_EXIT_OK;
}

static const struct cs_cmd subcmds[] = {
    {"delete", tenant_delete, 0, "remove every row and report file of a "
     "tenant"},
    {NULL, NULL, 0, NULL},
};

static const struct cs_opt_cmd doc = {
    .name = "tenant",
    .usage = "callscope tenant delete TENANT --yes",
    .about = "Tenants' data as a whole.",
    .exits = "Exit: 0 ok, 1 error, 2 usage.",
    .cmds = subcmds,
};

int cs_cmd_tenant(int argc, char **argv, struct cs_ctx *ctx)
{
    return cs_opt_dispatch(argc, argv, ctx, &doc);
}
