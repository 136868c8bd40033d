/* options.h - option tables: one declaration gives parsing and --help */
#ifndef CS_CLI_OPTIONS_H
#define CS_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

/*
 * Usage (the parsing part of a command; cf. git's parse-options):
 *
 *     static const struct cs_opt_cmd doc = {
 *         .name = "kpis",
 *         .usage = "callscope kpis --from YYYY-MM-DD --to YYYY-MM-DD "
 *                  "[OPTIONS]",
 *         .about = "Computes the KPIs and ROI of docs/kpis.md ...",
 *         .exits = "Exit: 0 ok, 1 store error, 2 usage.",
 *     };
 *     const char *from = NULL, *format = "table";
 *     int compare = 1, ret;
 *     const struct cs_option opts[] = {
 *         CS_OPT_DATE(0, "from", &from, "first day (inclusive)"),
 *         CS_OPT_CHOICE(0, "format", &format, "json|csv|table",
 *                       "output (default table)"),
 *         CS_OPT_SET(0, "no-compare", &compare, 0, "skip the previous "
 *                    "period"),
 *         CS_OPT_END};
 *
 *     ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
 *     if (ret != CS_OPT_RUN)
 *         return ret;     // --help printed (0), or a usage error (2)
 *     // argv[0..argc) now holds the arguments that are not options
 *
 * The same table prints `--help` (usage, about, the options with their
 * placeholders and help, the common options, exits), so help cannot miss
 * an option. Every command also accepts the common options, which come
 * from the machinery: -c/--config FILE, -q/--quiet, -v/--verbose (-vv),
 * -h/--help, and the hidden --list-options (the long options, one a line,
 * "=" after those that take a value; for shell completion and tests).
 *
 * Long options may be abbreviated to a unique prefix and take their value
 * as "--opt=V" or "--opt V"; short ones cluster ("-qv") and take theirs
 * as "-oV" or "-o V". Options and arguments may be mixed; "--" ends the
 * options. A table entry with a NULL help is accepted but not listed.
 *
 * Values are written through typed pointers (a wrong type is a compiler
 * diagnostic); an option given twice keeps the last value, except
 * CS_OPT_LIST, which collects. The strings stored are borrowed from argv.
 */

struct cs_ctx;
struct cs_cmd;
struct cs_option;

/*
 * A callback option: `arg` is the value, or NULL when the option takes
 * none (argh NULL). Returns 0, or CS_EINVALID with a message in `err`
 * (printed as a usage error).
 */
typedef int (*cs_opt_fn)(const struct cs_option *opt, const char *arg,
                         struct cs_err *err);

enum cs_opt_kind {
    CS_OPTK_END = 0,
    CS_OPTK_SET,        /* no value: *(int *)value = ival */
    CS_OPTK_STRING,     /* *(const char **)value = the value */
    CS_OPTK_LIST,       /* repeatable: appended to *(char ***)value, a
                           NULL-terminated vector (new; the command frees
                           the vector, not the strings) */
    CS_OPTK_LONG,       /* *(long *)value, checked against [min, max] */
    CS_OPTK_DATE,       /* a YYYY-MM-DD day that exists; as a string */
    CS_OPTK_CHOICE,     /* one of argh's '|'-separated words; as a string */
    CS_OPTK_CALLBACK,   /* cb(opt, value or NULL, err) */
    CS_OPTK_HELP,       /* internal: -h, --help */
    CS_OPTK_LISTOPTS    /* internal: --list-options */
};

struct cs_option {
    enum cs_opt_kind kind;
    int short_name;         /* 0: none */
    const char *long_name;  /* NULL only with a short name */
    void *value;
    const char *argh;       /* the value's placeholder ("FILE"), NULL when
                               the option takes no value */
    const char *help;       /* NULL: hidden from --help */
    long ival;              /* CS_OPTK_SET: the value set */
    long min, max;          /* CS_OPTK_LONG: the range */
    cs_opt_fn cb;           /* CS_OPTK_CALLBACK */
};

/* What --help and usage errors say about a command. */
struct cs_opt_cmd {
    const char *name;       /* in messages: "kpis", "db migrate"; "" for
                               callscope itself */
    const char *usage;      /* printed after "usage: "; further lines as
                               written */
    const char *about;      /* the description, printed as written */
    const char *exits;      /* "Exit: 0 ok, ..." */
    int max_args;           /* arguments that are not options, at most
                               (0: none; CS_OPT_ANY: no limit) */
    const struct cs_cmd *cmds; /* a command with subcommands: their table
                                  (ends with {NULL}); options then stop at
                                  the first argument, the subcommand */
};

#define CS_OPT_ANY (-1)

/* cs_opt_parse's "go on": anything else is the command's exit code. */
#define CS_OPT_RUN (-1)

/* `p` as void *, with a compiler diagnostic (pointer type mismatch in the
 * conditional) unless it has type `type`. */
#define CS_OPT_PTR_(type, p) ((void *)(1 ? (p) : (type)0))

#define CS_OPT_END {.kind = CS_OPTK_END}
#define CS_OPT_SET(s, l, v, i, h)                                         \
    {.kind = CS_OPTK_SET, .short_name = (s), .long_name = (l),            \
     .value = CS_OPT_PTR_(int *, (v)), .help = (h), .ival = (i)}
#define CS_OPT_BOOL(s, l, v, h) CS_OPT_SET(s, l, v, 1, h)
#define CS_OPT_STRING(s, l, v, a, h)                                      \
    {.kind = CS_OPTK_STRING, .short_name = (s), .long_name = (l),         \
     .value = CS_OPT_PTR_(const char **, (v)), .argh = (a), .help = (h)}
#define CS_OPT_LIST(s, l, v, a, h)                                        \
    {.kind = CS_OPTK_LIST, .short_name = (s), .long_name = (l),           \
     .value = CS_OPT_PTR_(char ***, (v)), .argh = (a), .help = (h)}
#define CS_OPT_LONG(s, l, v, a, lo, hi, h)                                \
    {.kind = CS_OPTK_LONG, .short_name = (s), .long_name = (l),           \
     .value = CS_OPT_PTR_(long *, (v)), .argh = (a), .help = (h),         \
     .min = (lo), .max = (hi)}
#define CS_OPT_DATE(s, l, v, h)                                           \
    {.kind = CS_OPTK_DATE, .short_name = (s), .long_name = (l),           \
     .value = CS_OPT_PTR_(const char **, (v)), .argh = "DATE",            \
     .help = (h)}
#define CS_OPT_CHOICE(s, l, v, choices, h)                                \
    {.kind = CS_OPTK_CHOICE, .short_name = (s), .long_name = (l),         \
     .value = CS_OPT_PTR_(const char **, (v)), .argh = (choices),         \
     .help = (h)}
#define CS_OPT_CALLBACK(s, l, v, a, h, fn)                                \
    {.kind = CS_OPTK_CALLBACK, .short_name = (s), .long_name = (l),       \
     .value = (v), .argh = (a), .help = (h), .cb = (fn)}

/*
 * Parses argv[1..*argc) (argv[0] is the command's name) against `opts`
 * and the common options, acting on the common ones (ctx->config_path,
 * the log level). On success the arguments that are not options are
 * moved to argv[0..*argc) (argv[*argc] = NULL); with doc->cmds, parsing
 * stops at the first of them, which is argv[0] on return.
 *
 * Returns CS_OPT_RUN when the command should run, after loading the
 * configuration when ctx->flags ask for it (and doc->cmds is NULL);
 * otherwise the exit code the command returns at once: CS_EXIT_OK after
 * printing --help (or --list-options) on stdout, CS_EXIT_USAGE after one
 * usage message on stderr, CS_EXIT_INVALID when the configuration cannot
 * be loaded. On those returns the vectors of CS_OPT_LIST options have
 * been freed and reset to NULL.
 */
int cs_opt_parse(int *argc, char **argv, struct cs_ctx *ctx,
                 const struct cs_opt_cmd *doc, const struct cs_option *opts);

/*
 * Runs the command named by argv[0] from doc->cmds with argv[0..argc)
 * (its flags are added to ctx->flags). A missing or unknown name is a
 * usage error ("'migarte' is not a db command; did you mean 'migrate'?").
 * Returns the command's exit code.
 */
int cs_opt_run_cmd(int argc, char **argv, struct cs_ctx *ctx,
                   const struct cs_opt_cmd *doc);

/* cs_opt_parse with the common options only, then cs_opt_run_cmd: the
 * whole of a command made of subcommands (db, rubrics, ...). */
int cs_opt_dispatch(int argc, char **argv, struct cs_ctx *ctx,
                    const struct cs_opt_cmd *doc);

/* Prints the --help of `doc` and `opts` (NULL: no options of its own). */
void cs_opt_help(FILE *out, const struct cs_opt_cmd *doc,
                 const struct cs_option *opts);

#endif
