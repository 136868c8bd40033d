/* cli.h - what main hands to each command, and helpers they share */
#ifndef CS_CLI_CLI_H
#define CS_CLI_CLI_H

#include "base/err.h"
#include "cli/exit.h"
#include "cli/options.h"
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
    struct cs_config *cfg;      /* set with CS_CMD_CONFIG once the options
                                   are parsed (cs_opt_parse) */
    struct cs_store *st;        /* set by cs_cli_open_store */
    const char *config_path;    /* --config, or NULL */
    unsigned flags;             /* CS_CMD_* of the command running */
};

typedef int (*cs_cmd_fn)(int argc, char **argv, struct cs_ctx *ctx);

struct cs_cmd {
    const char *name;
    cs_cmd_fn fn;
    unsigned flags;
    const char *summary;
};

/*
 * The selection options of score, rescore and results: --from, --to
 * (UTC dates), --tenant and --metric (repeatable, help `metric_help`),
 * as entries of an option table filling `cf` (a struct cs_cli_filter *,
 * zeroed first; cs_cli_filter_release once parsed).
 */
#define CS_CLI_FILTER_OPTS(cf, metric_help)                               \
    CS_OPT_DATE(0, "from", &(cf)->f.from,                                 \
                "first UTC day of started_at (inclusive)"),               \
    CS_OPT_DATE(0, "to", &(cf)->f.to,                                     \
                "last UTC day of started_at (exclusive)"),                \
    CS_OPT_STRING(0, "tenant", &(cf)->f.tenant, "T", "one tenant"),       \
    CS_OPT_LIST(0, "metric", &(cf)->metrics, "KEY", (metric_help))

struct cs_cli_filter {
    struct cs_score_filter f;
    char **metrics;         /* NULL-terminated (borrowed strings), or NULL */
};

void cs_cli_filter_release(struct cs_cli_filter *cf);

/* Prints "callscope: error: <msg>" and returns the exit code for `code`. */
int cs_cli_fail(int code, const char *msg);

/* Exit code for an error code: CS_EINVALID -> 3, CS_ELOCKED -> 5,
 * others -> 1. */
int cs_cli_exit_for(int code);

/* Prints "callscope CMD: <message>" and "Try 'callscope CMD --help'."
 * ("callscope: ..." when `cmd` is "") and returns CS_EXIT_USAGE. */
int cs_cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Loads the configuration into ctx->cfg unless it is loaded. Returns 0,
 * or CS_EXIT_INVALID after printing why (a missing or unreadable file
 * named by --config or $CALLSCOPE_CONFIG is invalid configuration too). */
int cs_cli_load_config(struct cs_ctx *ctx);

/* For a job (nightly, monthly), before it opens anything: the config
 * and what its reports and mails will need (cs_reports_preflight).
 * 0, or CS_EXIT_INVALID after printing why. */
int cs_cli_job_preflight(struct cs_ctx *ctx);

/* Loads config and store for a command that opens them itself. */
int cs_cli_open_store(struct cs_ctx *ctx);

/*
 * Usage errors for selections naming nothing: returns 0 when `tenant` is
 * NULL or known (conversations stored, or named under the config's
 * "tenants"), CS_EXIT_USAGE after "unknown tenant 'x'", CS_EXIT_ERROR on
 * a store error. The store must be open.
 */
int cs_cli_check_tenant(struct cs_ctx *ctx, const char *cmd,
                        const char *tenant);

/* Likewise for each of `metrics` (NULL-terminated, may be NULL): known
 * when a rubric of `set` (may be NULL) has that key or results exist. */
struct cs_rubric_set;
int cs_cli_check_metrics(struct cs_ctx *ctx, const char *cmd,
                         const struct cs_rubric_set *set,
                         char *const *metrics);

/*
 * Whether stdout is a pipe (or socket) whose reader has gone: output was
 * cut short on purpose (`callscope kpis | head -1`), so its EPIPE is no
 * error to report. See main.c.
 */
int cs_cli_stdout_gone(void);

/* The rubric set of the config's rubrics dir for metric types and names
 * (new; cs_rubric_set_free), or NULL when it cannot be loaded: then the
 * types are inferred from the values (said at debug level). */
struct cs_rubric_set *cs_cli_metric_rubrics(const struct cs_config *cfg);

/* The default rejects file: DATA_DIR/rejects/<what>-<UTC time>-<pid>.jsonl,
 * new. */
char *cs_cli_rejects_path(const struct cs_config *cfg, const char *what);

struct cs_score_stats;
/*
 * Prints the summary of a scoring run on stdout (`verb`: "scored",
 * "re-scored"). A run that did not end well says how far it got and why
 * instead: "score stopped after N of M conversations to score: interrupted
 * by SIGTERM; ..." (`failed`: the store failed, its error follows), N
 * counting the conversations whose results are all committed.
 */
void cs_cli_print_score(const struct cs_score_stats *s, const char *verb,
                        int failed);
/* The LLM line of that summary (requests, tokens, cost), when requests
 * were sent. */
void cs_cli_print_llm(const struct cs_score_stats *s, int failed);

struct cs_ingest_stats;
/* "; stopped by SIGTERM before the end of the input ..." when a signal
 * stopped the reading, else "" (static). */
const char *cs_cli_stopped_clause(const struct cs_ingest_stats *s);

/* Prints an ingest summary line (or JSON object) on stdout. */
void cs_cli_print_ingest(const struct cs_ingest_stats *s, const char *rejects,
                         double seconds, int as_json);

struct cs_mail_stats;
/* Prints the delivery summary line of a job on stdout. */
void cs_cli_print_mail(const struct cs_mail_stats *s, long not_mailed);

int cs_cmd_monthly(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_mail(int argc, char **argv, struct cs_ctx *ctx);

/* The load options ingest and import share (0: from the config), and
 * their entries in an option table (`l` a struct cs_cli_load *). */
struct cs_cli_load {
    long max_line;
    long batch;
    int as_json;
};

#define CS_CLI_LOAD_OPTS(l)                                               \
    CS_OPT_LONG(0, "max-line-bytes", &(l)->max_line, "N", 1, LONG_MAX,    \
                "longer lines are rejected (default 16 MiB)"),            \
    CS_OPT_LONG(0, "batch", &(l)->batch, "N", 1, LONG_MAX,                \
                "conversations per COPY transaction"),                    \
    CS_OPT_BOOL(0, "json", &(l)->as_json, "print the summary as JSON")

/*
 * Loads `argv[0..argc)` through an importer (import/run.h) of `format`
 * (CS_IMPORT_AUTO: detect each file; canonical JSON Lines are ingested
 * as ever) and prints the summary of `cmd` ("ingest" or "import").
 * Returns the exit code.
 */
int cs_cli_import_run(struct cs_ctx *ctx, const char *cmd, int format,
                      const char *tenant, const char *transcripts,
                      const char *rejects_opt, const struct cs_cli_load *l,
                      int argc, char **argv);

/*
 * Appends the import part of a summary line, what ingest's line does not
 * say: "read as vapi (1 file), retell (2 files): 9 payloads, 3 skipped
 * (call_started 3), ..." (`with_files` 0: without the file counts, for
 * the line of one file).
 */
struct cs_buf;
struct cs_import_stats;
void cs_cli_import_clause(struct cs_buf *b, const struct cs_import_stats *is,
                          int with_files);

/* An agreement as JSON: n, accuracy and kappa (null for n = 0), labels,
 * confusion (rows the reference), disagreements. New. */
struct cs_agreement;
json_t *cs_cli_agreement_json(const struct cs_agreement *a);

/* The --from callback of ingest and import: a vendor's name into the
 * option's int (enum cs_import_format). */
int cs_cli_opt_format(const struct cs_option *opt, const char *arg,
                      struct cs_err *err);

int cs_cmd_ingest(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_import(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_compare(int argc, char **argv, struct cs_ctx *ctx);
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
int cs_cmd_tenant(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_conversations(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_show(int argc, char **argv, struct cs_ctx *ctx);
int cs_cmd_explain(int argc, char **argv, struct cs_ctx *ctx);

#endif
