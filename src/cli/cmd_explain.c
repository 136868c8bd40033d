/* cmd_explain.c - callscope explain: why conversations end with a
 * verdict */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "review/review.h"

static const struct cs_opt_cmd doc = {
    .name = "explain",
    .usage = "callscope explain --metric KEY --value V [--tenant T] "
             "[--from D --to D]\n"
             "       [--sample N [--seed S]] [--offline] [--format "
             "table|json]",
    .about = "Why do conversations end with this verdict? With an LLM "
             "configured,\n"
             "a sample of the matching conversations (40 by default; the "
             "same seed,\n"
             "the same sample) is sent redacted, with their verdicts' "
             "rationales,\n"
             "and the reasons come back grouped into at most 8 themes, each "
             "with a\n"
             "count and example conversation ids. The answer is checked: an "
             "id that\n"
             "was not sent or counts that do not add up to the sample are "
             "refused\n"
             "(after one re-ask) and nothing is stored. Offline (no LLM, or "
             "--offline)\n"
             "the themes are the rules and evidence that produced the "
             "verdicts,\n"
             "grouped and counted over every matching conversation. Each "
             "explanation\n"
             "is stored with its inputs; the executive report quotes the "
             "latest of a\n"
             "tenant for the month's biggest movers. Dates are local dates "
             "of each\ntenant's zone, [from, to).",
    .exits = "Exit: 0 ok (also: nothing to explain, n=0), 1 store or LLM "
             "error (an\ninvalid answer included), 2 usage (an unknown "
             "metric, tenant or value).",
};

int cs_cmd_explain(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_review_explain o;
    struct cs_err err = {0, ""};
    struct cs_rubric_set *set = NULL;
    const char *format = "table";
    char *metrics[2] = {NULL, NULL};
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "metric", &o.metric, "KEY", "the metric (required)"),
        CS_OPT_STRING(0, "value", &o.value, "V",
                      "the verdict to explain (required): false, billing, 2"),
        CS_OPT_STRING(0, "tenant", &o.tenant, "T", "one tenant"),
        CS_OPT_DATE(0, "from", &o.from, "first local day (inclusive)"),
        CS_OPT_DATE(0, "to", &o.to, "last local day (exclusive)"),
        CS_OPT_LONG(0, "sample", &o.sample, "N", 1, 500,
                    "conversations to read (LLM: 40)"),
        CS_OPT_STRING(0, "seed", &o.seed, "S", "the sample's seed"),
        CS_OPT_BOOL(0, "offline", &o.offline,
                    "group the rules and evidence even with an LLM"),
        CS_OPT_CHOICE(0, "format", &format, "table|json",
                      "output (default table)"),
        CS_OPT_END};

    memset(&o, 0, sizeof(o));
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (!o.metric || !o.value)
        return cs_cli_usage("explain", "--metric and --value are required");
    if (o.from && o.to && strcmp(o.to, o.from) <= 0)
        return cs_cli_usage("explain", "--to must be after --from");
    o.json = strcmp(format, "json") == 0;
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    set = cs_cli_metric_rubrics(ctx->cfg);
    metrics[0] = (char *)o.metric;
    ret = cs_cli_check_tenant(ctx, "explain", o.tenant);
    if (!ret)
        ret = cs_cli_check_metrics(ctx, "explain", set, metrics);
    if (ret)
        goto done;
    ret = cs_review_explain(ctx->st, ctx->cfg, set, &o, stdout, &err);
    if (ret == CS_EINVALID)
        ret = cs_cli_usage("explain", "%s", err.msg);
    else if (ret == CS_ENOTFOUND)
        ret = printf("%s\n", err.msg) < 0 ? CS_EXIT_ERROR : CS_EXIT_OK;
    else if (ret)
        ret = cs_cli_fail(ret, err.msg);
    else
        ret = CS_EXIT_OK;
done:
    cs_rubric_set_free(set);
    return ret;
}
