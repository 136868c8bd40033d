/* cmd_sample.c - callscope sample: deterministic sample conversations */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "cli/cli.h"
#include "sample/sample.h"

static const char help[] =
    "usage: callscope sample [OPTIONS]\n\n"
    "Writes realistic sample conversations (three tenants: a dental\n"
    "receptionist, a support desk, an outbound campaign) as JSON Lines.\n"
    "The same options always give the same bytes.\n\n"
    "  --seed N         generator seed (default 1)\n"
    "  --start DATE     first day, UTC (default 2026-09-01)\n"
    "  --days N         number of days (default 60)\n"
    "  --per-day N      average conversations per day (default 200)\n"
    "  -o, --out FILE   output file (default stdout)\n"
    "  --count          print how many conversations would be written\n"
    CS_COMMON_HELP
    "\nExit: 0 ok, 1 write error, 2 usage.\n";

int cs_cmd_sample(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},
        {"start", required_argument, NULL, 'S'},
        {"days", required_argument, NULL, 'd'},
        {"per-day", required_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},
        {"count", no_argument, NULL, 'n'},
        CS_COMMON_OPTS,
        {NULL, 0, NULL, 0}};
    struct cs_sample_opts so;
    struct cs_err err = {0, ""};
    const char *out_path = NULL;
    int c, count_only = 0, ret;
    int64_t day;
    long v;
    FILE *out = stdout;

    (void)ctx;
    cs_sample_opts_init(&so);
    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT "o:", opts, NULL))
           != -1) {
        switch (c) {
        case 'h':
            fputs(help, stdout);
            return CS_EXIT_OK;
        case 's':
        case 'd':
        case 'p':
            if (cs_parse_long(optarg, &v) || v < 0)
                return cs_cli_usage("sample", "'%s' is not a number >= 0",
                                    optarg);
            if (c == 's')
                so.seed = (uint64_t)v;
            else if (c == 'd')
                so.days = (int)v;
            else
                so.per_day = v;
            break;
        case 'S':
            if (cs_parse_date(optarg, &day))
                return cs_cli_usage("sample", "--start takes YYYY-MM-DD");
            so.start_date = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'n':
            count_only = 1;
            break;
        case 'c':
        case 'q':
        case 'v':
            break;
        default:
            return cs_cli_usage("sample", "unknown option");
        }
    }
    if (optind < argc)
        return cs_cli_usage("sample", "unexpected argument '%s'",
                            argv[optind]);
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
