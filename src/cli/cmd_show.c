/* cmd_show.c - callscope show ID: one conversation whole, for a person */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "review/review.h"

static const struct cs_opt_cmd doc = {
    .name = "show",
    .usage = "callscope show ID [--tenant T] [--redact]",
    .about = "Shows one conversation whole: the header (tenant, agent, "
             "times in the\n"
             "tenant's zone, outcome, handoff, costs), the turns with their "
             "times and\n"
             "roles, tool calls (ok or failed), spans, what the agent "
             "logged, then\n"
             "every metric's current verdict with its evidence, rationale, "
             "evaluator\n"
             "and version, and the history of earlier verdicts. The turns "
             "holding\n"
             "the evidence are marked (highlighted on a terminal). Personal "
             "data is\n"
             "shown as stored; --redact shows the turns as the LLM judge is "
             "sent\nthem (caller, callee and metadata are never sent).",
    .exits = "Exit: 0 ok, 1 store error, 2 usage (no such conversation, or "
             "an id\nseveral tenants have without --tenant).",
    .max_args = 1,
};

int cs_cmd_show(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_err err = {0, ""};
    struct cs_rubric_set *set = NULL;
    const char *tenant = NULL, *id;
    char **tenants = NULL;
    int redact = 0, ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "tenant", &tenant, "T",
                      "the tenant (when several have this id)"),
        CS_OPT_BOOL(0, "redact", &redact,
                    "show the turns as the LLM judge sees them"),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (argc != 1)
        return cs_cli_usage("show", "a conversation ID is required");
    id = argv[0];
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    if (!tenant) {
        ret = cs_store_conversation_tenants(&tenants, ctx->st, id, &err);
        if (ret) {
            ret = cs_cli_fail(ret, err.msg);
            goto done;
        }
        if (!tenants[0]) {
            ret = cs_cli_usage("show", "no conversation '%s'", id);
            goto done;
        }
        if (tenants[1]) {
            struct cs_buf b = CS_BUF_INIT;

            for (char **t = tenants; *t; t++)
                cs_buf_addf(&b, "%s%s", t == tenants ? "" : ", ", *t);
            ret = cs_cli_usage("show", "conversation '%s' exists for "
                               "several tenants (%s): pass --tenant", id,
                               b.ptr);
            cs_buf_release(&b);
            goto done;
        }
        tenant = tenants[0];
    }
    set = cs_cli_metric_rubrics(ctx->cfg);
    ret = cs_review_show(ctx->st, ctx->cfg, set, tenant, id, redact,
                         isatty(1), stdout, &err);
    if (ret == CS_ENOTFOUND)
        ret = cs_cli_usage("show", "%s", err.msg);
    else if (ret)
        ret = cs_cli_fail(ret, err.msg);
    else
        ret = CS_EXIT_OK;
done:
    cs_strv_free(tenants);
    cs_rubric_set_free(set);
    return ret;
}
