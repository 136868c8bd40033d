/* cmd_conversations.c - callscope conversations: review conversations by
 * their outcomes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "review/review.h"

static const struct cs_opt_cmd doc = {
    .name = "conversations",
    .usage = "callscope conversations [--tenant T] [--from D --to D] "
             "[--where COND]...\n"
             "       [--sample N [--seed S]] [--format table|jsonl|csv]",
    .about = "Lists the conversations whose current results match every "
             "condition:\n"
             "  METRIC=VALUE      a verdict (booking_completed=false, "
             "call_reason=billing);\n"
             "                    also != and, for numbers, < <= > >= "
             "(receptionist_qa<80)\n"
             "  outcome=X         also direction, channel, agent (= or !=)\n"
             "  duration_s>600    also asa_s, turns, csat, nps, cost, "
             "tool_calls\n"
             "  sentiment=negative  the customer_sentiment metric\n"
             "  handoff, no-handoff, tool-failed\n"
             "Dates are local dates of each tenant's zone, [from, to), as in "
             "kpis.\n"
             "--sample N draws N of them at random, deterministically: the "
             "same\n"
             "--seed gives the same ids, and a sample is a subset of the "
             "whole list\n"
             "(without --seed one is drawn and printed). Table: id, started, "
             "agent,\n"
             "outcome, duration and the metrics the conditions name. 'callscope "
             "show ID'\nshows one whole.",
    .exits = "Exit: 0 ok (also when nothing matches), 1 store error, 2 usage "
             "(a bad\ncondition, an unknown tenant or metric).",
};

int cs_cmd_conversations(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_review_list o;
    struct cs_err err = {0, ""};
    struct cs_rubric_set *set = NULL;
    struct cs_conv_cond *conds = NULL;
    const char *format = "table";
    char **where = NULL, **metrics = NULL, seed[32];
    size_t n = 0, nm = 0;
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "tenant", &o.tenant, "T", "one tenant"),
        CS_OPT_DATE(0, "from", &o.from, "first local day (inclusive)"),
        CS_OPT_DATE(0, "to", &o.to, "last local day (exclusive)"),
        CS_OPT_LIST(0, "where", &where, "COND",
                    "a condition (repeatable; all must hold)"),
        CS_OPT_LONG(0, "sample", &o.sample, "N", 1, 1000000,
                    "a deterministic random sample of N"),
        CS_OPT_STRING(0, "seed", &o.seed, "S", "the sample's seed"),
        CS_OPT_CHOICE(0, "format", &format, "table|jsonl|csv",
                      "output (default table)"),
        CS_OPT_END};

    memset(&o, 0, sizeof(o));
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (o.seed && !o.sample) {
        ret = cs_cli_usage("conversations", "--seed goes with --sample");
        goto done;
    }
    if (o.from && o.to && strcmp(o.to, o.from) <= 0) {
        ret = cs_cli_usage("conversations", "--to must be after --from");
        goto done;
    }
    set = cs_cli_metric_rubrics(ctx->cfg);
    for (char **w = where; w && *w; w++)
        n++;
    conds = cs_xcalloc(n + 1, sizeof(*conds));
    metrics = cs_xcalloc(n + 1, sizeof(*metrics));
    for (size_t i = 0; i < n; i++) {
        if (cs_review_parse_where(&conds[i], where[i], set, &err)) {
            ret = cs_cli_usage("conversations", "%s", err.msg);
            goto done;
        }
        if (conds[i].kind == CS_COND_METRIC)
            metrics[nm++] = (char *)conds[i].name;
    }
    ret = cs_cli_open_store(ctx);
    if (!ret)
        ret = cs_cli_check_tenant(ctx, "conversations", o.tenant);
    if (!ret)
        ret = cs_cli_check_metrics(ctx, "conversations", set, metrics);
    if (ret)
        goto done;
    if (o.sample && !o.seed) {
        snprintf(seed, sizeof(seed), "%ld",
                 (long)(((unsigned long)time(NULL) ^
                         ((unsigned long)getpid() << 16)) % 1000000));
        o.seed = seed;
    }
    o.conds = conds;
    o.n_conds = n;
    o.format = strcmp(format, "jsonl") == 0 ? CS_REVIEW_JSONL
               : strcmp(format, "csv") == 0 ? CS_REVIEW_CSV
                                            : CS_REVIEW_TABLE;
    ret = cs_review_list(ctx->st, ctx->cfg, &o, stdout, &err);
    if (ret == CS_EINVALID) {
        ret = cs_cli_usage("conversations", "%s", err.msg);
        goto done;
    }
    if (ret) {
        ret = cs_cli_fail(ret, err.msg);
        goto done;
    }
    if (o.sample)
        cs_log(CS_LOG_INFO, "%ld of %ld conversations (sample, --seed %s)",
               o.listed, o.total, o.seed);
    else
        cs_log(CS_LOG_INFO, "%ld conversations", o.total);
    ret = CS_EXIT_OK;
done:
    cs_review_conds_release(conds, n);
    free(conds);
    free(metrics);
    free(where);
    cs_rubric_set_free(set);
    return ret;
}
