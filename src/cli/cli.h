/* cli.h - what main hands to each command, and helpers they share */
#ifndef CS_CLI_CLI_H
#define CS_CLI_CLI_H

#include <getopt.h>

#include "base/err.h"
#include "cli/exit.h"
#include "config/config.h"
#include "store/results.h"
#include "store/store.h"

/* What a command needs opened before it runs. */
enum {
    CS_CMD_CONFIG = 1u << 0,
    CS_CMD_DB = 1u << 1 /* implies CONFIG; the command opens the store
                           with cs_cli_open_store once its options are
                           known good, so a usage error touches nothing */
};

struct cs_ctx {
    struct cs_config *cfg;      /* set with CS_CMD_CONFIG */
    struct cs_store *st;        /* set by cs_cli_open_store */
    const char *config_path;    /* --config, or NULL */
};

typedef int (*cs_cmd_fn)(int argc, char **argv, struct cs_ctx *ctx);

struct cs_cmd {
    const char *name;
    cs_cmd_fn fn;
    unsigned flags;
    const char *summary;
};

/* Options every command accepts; main has already acted on them. */
#define CS_COMMON_OPTS                                                   \
    {"config", required_argument, NULL, 'c'},                            \
    {"quiet", no_argument, NULL, 'q'},                                   \
    {"verbose", no_argument, NULL, 'v'},                                 \
    {"help", no_argument, NULL, 'h'}
#define CS_COMMON_SHORT "c:qvh"
#define CS_COMMON_HELP                                                   \
    "  -c, --config FILE  config file (default: $CALLSCOPE_CONFIG or\n"  \
    "                     config/callscope.json)\n"                      \
    "  -q, --quiet        warnings and errors only\n"                    \
    "  -v, --verbose      more detail (-vv: debug)\n"                    \
    "  -h, --help         this help\n"

/*
 * The selection options of score, rescore and results: --from, --to
 * (UTC dates), --tenant and --metric (repeatable). Put CS_FILTER_OPTS in
 * the option table and offer every option to cs_cli_filter_opt first:
 * it returns 1 when it took the option, 0 when the option is not one of
 * these, or CS_EXIT_USAGE after printing what is wrong with the value.
 */
#define CS_FILTER_OPTS                                                   \
    {"from", required_argument, NULL, 'F'},                              \
    {"to", required_argument, NULL, 'T'},                                \
    {"tenant", required_argument, NULL, 't'},                            \
    {"metric", required_argument, NULL, 'm'}

struct cs_cli_filter {
    struct cs_score_filter f;
    char **metrics;         /* NULL-terminated (borrowed strings), or NULL */
    size_t n_metrics;
};

int cs_cli_filter_opt(struct cs_cli_filter *cf, int c, char *arg,
                      const char *cmd);
void cs_cli_filter_release(struct cs_cli_filter *cf);

/* Prints "callscope: error: <msg>" and returns the exit code for `code`. */
int cs_cli_fail(int code, const char *msg);

/* Exit code for an error code: CS_EINVALID -> 3, others -> 1. */
int cs_cli_exit_for(int code);

/* Prints a usage error and returns CS_EXIT_USAGE. */
int cs_cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Loads config and store for a command that opens them itself. */
int cs_cli_open_store(struct cs_ctx *ctx);

/* The rubric set of the config's rubrics dir for metric types and names
 * (new; cs_rubric_set_free), or NULL when it cannot be loaded: then the
 * types are inferred from the values (said at debug level). */
struct cs_rubric_set;
struct cs_rubric_set *cs_cli_metric_rubrics(const struct cs_config *cfg);

/* The default rejects file: DATA_DIR/rejects/<what>-<UTC time>-<pid>.jsonl,
 * new. */
char *cs_cli_rejects_path(const struct cs_config *cfg, const char *what);

struct cs_ingest_stats;
/* Prints an ingest summary line (or JSON object) on stdout. */
void cs_cli_print_ingest(const struct cs_ingest_stats *s, const char *rejects,
                         double seconds, int as_json);

int cs_cmd_ingest(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_kpis(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_db(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_config(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_sample(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_nightly(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_rubrics(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_score(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_rescore(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_results(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_calibrate(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_report(int argc, char **argv, struct cs_ctx *ctx);

#endif
