/* cmd_sample.c - callscope sample: deterministic sample conversations */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sample/sample.h"

static const struct cs_opt_cmd doc = {
    .name = "sample",
    .usage = "callscope sample [OPTIONS]",
    .about = "Writes realistic sample conversations (three tenants: a "
             "dental\n"
             "receptionist, a support desk, an outbound campaign) as JSON "
             "Lines\n"
             "(docs/conversation-format.md). The same options always give "
             "the same\nbytes.",
    .exits = "Exit: 0 ok, 1 write error, 2 usage.",
};

int cs_cmd_sample(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_sample_opts so;
    struct cs_err err = {0, ""};
    const char *out_path = NULL;
    int count_only = 0, ret;
    long seed, days, per_day;
    FILE *out = stdout;
    const struct cs_option opts[] = {
        CS_OPT_LONG(0, "seed", &seed, "N", 0, LONG_MAX,
                    "generator seed (default 1)"),
        CS_OPT_DATE(0, "start", &so.start_date,
                    "first day, UTC (default 2026-09-01)"),
        CS_OPT_LONG(0, "days", &days, "N", 0, LONG_MAX,
                    "number of days (default 60)"),
        CS_OPT_LONG(0, "per-day", &per_day, "N", 0, LONG_MAX,
                    "average conversations per day (default 200)"),
        CS_OPT_STRING('o', "out", &out_path, "FILE",
                      "output file (default stdout)"),
        CS_OPT_BOOL(0, "count", &count_only,
                    "print how many conversations would be written"),
        CS_OPT_END};

    cs_sample_opts_init(&so);
    seed = (long)so.seed;
    days = so.days;
    per_day = so.per_day;
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    so.seed = (uint64_t)seed;
    so.days = days > INT_MAX ? INT_MAX : (int)days;
    so.per_day = per_day;
    if (cs_sample_count(&so) < 0)
        return cs_cli_usage("sample", "invalid options (days 1..3660, "
                            "per-day up to 10,000,000)");
    if (count_only) {
        printf("%lld\n", cs_sample_count(&so));
        return CS_EXIT_OK;
    }
    if (out_path) {
        out = fopen(out_path, "w");
        if (!out) {
            cs_err_set(&err, CS_EIO, "cannot write '%s': %s", out_path,
                       strerror(errno));
            return cs_cli_fail(CS_EIO, err.msg);
        }
    }
    ret = cs_sample_generate(out, &so, &err);
    if (out != stdout && fclose(out) != 0 && !ret)
        ret = cs_err_set(&err, CS_EIO, "cannot write '%s': %s", out_path,
                         strerror(errno));
    if (ret)
        return cs_cli_fail(ret, err.msg);
    return CS_EXIT_OK;
}
