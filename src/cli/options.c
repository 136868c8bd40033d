/* options.c - option tables: one declaration gives parsing and --help */
#include "cli/options.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "base/suggest.h"
#include "cli/cli.h"

/* Help columns: options from HELP_INDENT, their help from at most
 * HELP_COL, wrapped at HELP_WIDTH. */
#define HELP_INDENT 2
#define HELP_COL 26
#define HELP_WIDTH 79

static int opt_quiet(const struct cs_option *opt, const char *arg,
                     struct cs_err *err)
{
    (void)opt;
    (void)arg;
    (void)err;
    cs_log_level = CS_LOG_WARN;
    return 0;
}

static int opt_verbose(const struct cs_option *opt, const char *arg,
                       struct cs_err *err)
{
    (void)opt;
    (void)arg;
    (void)err;
    if (cs_log_level < CS_LOG_DEBUG)
        cs_log_level++;
    return 0;
}

/* The common options, pointing into `ctx`; `out` holds 6 entries. */
static void common_options(struct cs_option *out, struct cs_ctx *ctx)
{
    const struct cs_option common[] = {
        CS_OPT_STRING('c', "config", &ctx->config_path, "FILE",
                      "config file (default: $CALLSCOPE_CONFIG or "
                      "config/callscope.json)"),
        CS_OPT_CALLBACK('q', "quiet", NULL, NULL,
                        "warnings and errors only", opt_quiet),
        CS_OPT_CALLBACK('v', "verbose", NULL, NULL,
                        "more detail (-vv: debug)", opt_verbose),
        {.kind = CS_OPTK_HELP, .short_name = 'h', .long_name = "help",
         .help = "this help"},
        {.kind = CS_OPTK_LISTOPTS, .long_name = "list-options"},
        CS_OPT_END};

    memcpy(out, common, sizeof(common));
}

#define N_COMMON 6

/* "; did you mean 'x'?" or "" (static storage: one message at a time). */
static const char *did_you_mean(const struct cs_suggest *s,
                                const char *prefix)
{
    static char text[128];

    if (!s->best)
        return "";
    snprintf(text, sizeof(text), "; did you mean '%s%s'?", prefix, s->best);
    return text;
}

/* What the user typed, for messages: "--from" or "-o". */
static void spelled(char *out, size_t n, const struct cs_option *o,
                    int as_short)
{
    if (as_short || !o->long_name)
        snprintf(out, n, "-%c", o->short_name);
    else
        snprintf(out, n, "--%s", o->long_name);
}

/* "json, csv or table" from "json|csv|table". */
static void choice_list(struct cs_buf *b, const char *choices)
{
    const char *last = strrchr(choices, '|');

    for (const char *p = choices; *p; p++) {
        if (*p != '|')
            cs_buf_addch(b, *p);
        else
            cs_buf_adds(b, p == last ? " or " : ", ");
    }
}

static int is_choice(const char *choices, const char *arg)
{
    size_t n = strlen(arg);

    for (const char *p = choices; p; p = strchr(p, '|')) {
        if (*p == '|')
            p++;
        if (strncmp(p, arg, n) == 0 && (p[n] == '|' || p[n] == '\0') && n)
            return 1;
    }
    return 0;
}

/* Stores `arg` for option `o`; a usage message in `err` on a bad one. */
static int take(const struct cs_option *o, const char *arg, const char *as,
                struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;
    char ***vec;
    size_t n = 0;
    long l;
    int ret = 0;

    switch (o->kind) {
    case CS_OPTK_SET:
        *(int *)o->value = (int)o->ival;
        break;
    case CS_OPTK_STRING:
        *(const char **)o->value = arg;
        break;
    case CS_OPTK_LIST:
        vec = o->value;
        while (*vec && (*vec)[n])
            n++;
        *vec = cs_xrealloc(*vec, (n + 2) * sizeof(**vec));
        (*vec)[n] = (char *)arg;
        (*vec)[n + 1] = NULL;
        break;
    case CS_OPTK_LONG:
        if (cs_parse_long(arg, &l) < 0 || l < o->min || l > o->max) {
            if (o->max == LONG_MAX)
                ret = cs_err_set(err, CS_EINVALID, "%s takes a whole "
                                 "number >= %ld, not '%s'", as, o->min,
                                 arg);
            else
                ret = cs_err_set(err, CS_EINVALID, "%s takes a whole "
                                 "number in %ld..%ld, not '%s'", as, o->min,
                                 o->max, arg);
            break;
        }
        *(long *)o->value = l;
        break;
    case CS_OPTK_DATE: {
        struct cs_err derr = {0, ""};
        int64_t day;

        if (cs_parse_date_err(arg, &day, &derr)) {
            ret = cs_err_set(err, CS_EINVALID, "%s: %s", as, derr.msg);
            break;
        }
        *(const char **)o->value = arg;
        break;
    }
    case CS_OPTK_CHOICE:
        if (!is_choice(o->argh, arg)) {
            choice_list(&b, o->argh);
            ret = cs_err_set(err, CS_EINVALID, "%s takes %s, not '%s'", as,
                             b.ptr, arg);
            break;
        }
        *(const char **)o->value = arg;
        break;
    case CS_OPTK_CALLBACK:
        ret = o->cb(o, arg, err);
        break;
    default:
        break;
    }
    cs_buf_release(&b);
    return ret;
}

/* Finds a long option by exact name, else by unique prefix. */
static int find_long(const struct cs_option **out,
                     const struct cs_option *const *tables,
                     const char *name, size_t len, struct cs_err *err)
{
    const struct cs_option *hit = NULL;
    struct cs_buf all = CS_BUF_INIT;
    struct cs_suggest s;
    char word[64];
    int hits = 0;

    *out = NULL;
    for (int t = 0; t < 2; t++) {
        for (const struct cs_option *o = tables[t]; o->kind; o++) {
            if (o->long_name && strlen(o->long_name) == len &&
                strncmp(o->long_name, name, len) == 0) {
                *out = o;
                return 0;
            }
        }
    }
    for (int t = 0; t < 2; t++) {
        for (const struct cs_option *o = tables[t]; o->kind; o++) {
            if (o->long_name && strncmp(o->long_name, name, len) == 0) {
                cs_buf_addf(&all, "%s--%s", hits ? ", " : "", o->long_name);
                hit = o;
                hits++;
            }
        }
    }
    if (hits == 1) {
        cs_buf_release(&all);
        *out = hit;
        return 0;
    }
    snprintf(word, sizeof(word), "%.*s", (int)len, name);
    if (hits > 1) {
        cs_err_set(err, CS_EINVALID, "option '--%s' is ambiguous (%s)", word,
                   all.ptr);
        cs_buf_release(&all);
        return CS_EINVALID;
    }
    s.word = word;
    s.best = NULL;
    s.dist = 0;
    for (int t = 0; t < 2; t++) {
        for (const struct cs_option *o = tables[t]; o->kind; o++) {
            if (o->help)
                cs_suggest_try(&s, o->long_name);
        }
    }
    cs_buf_release(&all);
    return cs_err_set(err, CS_EINVALID, "unknown option '--%s'%s", word,
                      did_you_mean(&s, "--"));
}

static const struct cs_option *find_short(
    const struct cs_option *const *tables, int c)
{
    for (int t = 0; t < 2; t++) {
        for (const struct cs_option *o = tables[t]; o->kind; o++) {
            if (o->short_name == c)
                return o;
        }
    }
    return NULL;
}

/* --list-options: the long options (and subcommands), one a line. */
static void list_options(const struct cs_opt_cmd *doc,
                         const struct cs_option *const *tables)
{
    for (int t = 0; t < 2; t++) {
        for (const struct cs_option *o = tables[t]; o->kind; o++) {
            if (o->long_name && o->help)
                printf("--%s%s\n", o->long_name, o->argh ? "=" : "");
        }
    }
    for (const struct cs_cmd *c = doc->cmds; c && c->name; c++)
        printf("%s\n", c->name);
}

/* Appends `text` wrapped to HELP_WIDTH, continuation lines indented by
 * `col`; the first line starts at column `at`. */
static void add_wrapped(struct cs_buf *b, const char *text, int at, int col)
{
    const char *p = text;

    while (*p) {
        size_t word = strcspn(p, " \n");

        if (at > col && at + 1 + (int)word > HELP_WIDTH) {
            cs_buf_addf(b, "\n%*s", col, "");
            at = col;
        } else if (at > col) {
            cs_buf_addch(b, ' ');
            at++;
        }
        cs_buf_add(b, p, word);
        at += (int)word;
        p += word;
        if (*p == '\n') {
            cs_buf_addf(b, "\n%*s", col, "");
            at = col;
            p++;
        }
        while (*p == ' ')
            p++;
    }
}

static void option_left(struct cs_buf *b, const struct cs_option *o)
{
    cs_buf_addf(b, "%*s", HELP_INDENT, "");
    if (o->short_name)
        cs_buf_addf(b, "-%c%s", o->short_name, o->long_name ? ", " : "");
    else
        cs_buf_adds(b, "    ");
    if (o->long_name)
        cs_buf_addf(b, "--%s", o->long_name);
    if (o->argh)
        cs_buf_addf(b, " %s", o->argh);
}

/* The help column for these tables: after the longest left part that
 * fits before HELP_COL. */
static int help_column(const struct cs_option *const *tables)
{
    int col = 0;

    for (int t = 0; t < 2; t++) {
        for (const struct cs_option *o = tables[t]; o && o->kind; o++) {
            struct cs_buf b = CS_BUF_INIT;

            if (!o->help)
                continue;
            option_left(&b, o);
            if ((int)b.len + 2 > col && (int)b.len + 2 <= HELP_COL)
                col = (int)b.len + 2;
            cs_buf_release(&b);
        }
    }
    return col ? col : HELP_COL;
}

static void add_options(struct cs_buf *b, const struct cs_option *opts,
                        int col)
{
    for (const struct cs_option *o = opts; o->kind; o++) {
        size_t start = b->len;

        if (!o->help)
            continue;
        option_left(b, o);
        if ((int)(b->len - start) + 2 > col)
            cs_buf_addf(b, "\n%*s", col, "");
        else
            cs_buf_addf(b, "%*s", col - (int)(b->len - start), "");
        add_wrapped(b, o->help, col, col);
        cs_buf_addch(b, '\n');
    }
}

static void help_text(struct cs_buf *b, const struct cs_opt_cmd *doc,
                      const struct cs_option *opts,
                      const struct cs_option *common)
{
    static const struct cs_option none[] = {CS_OPT_END};
    const struct cs_option *tables[2];
    int col, width = 0;

    if (!opts)
        opts = none;
    tables[0] = opts;
    tables[1] = common;
    col = help_column(tables);
    cs_buf_addf(b, "usage: %s\n", doc->usage);
    if (doc->about)
        cs_buf_addf(b, "\n%s\n", doc->about);
    if (opts->kind) {
        cs_buf_adds(b, "\nOptions:\n");
        add_options(b, opts, col);
    }
    if (doc->cmds) {
        for (const struct cs_cmd *c = doc->cmds; c->name; c++) {
            if ((int)strlen(c->name) > width)
                width = (int)strlen(c->name);
        }
        cs_buf_adds(b, "\nCommands:\n");
        for (const struct cs_cmd *c = doc->cmds; c->name; c++) {
            cs_buf_addf(b, "%*s%-*s  ", HELP_INDENT, "", width, c->name);
            add_wrapped(b, c->summary, HELP_INDENT + width + 2,
                        HELP_INDENT + width + 2);
            cs_buf_addch(b, '\n');
        }
    }
    cs_buf_adds(b, "\nCommon options:\n");
    add_options(b, common, col);
    if (doc->exits)
        cs_buf_addf(b, "\n%s\n", doc->exits);
}

void cs_opt_help(FILE *out, const struct cs_opt_cmd *doc,
                 const struct cs_option *opts)
{
    struct cs_option common[N_COMMON];
    struct cs_ctx dummy;
    struct cs_buf b = CS_BUF_INIT;

    memset(&dummy, 0, sizeof(dummy));
    common_options(common, &dummy);
    help_text(&b, doc, opts, common);
    fputs(b.ptr, out);
    cs_buf_release(&b);
}

static void release_lists(const struct cs_option *opts)
{
    for (const struct cs_option *o = opts; o && o->kind; o++) {
        if (o->kind == CS_OPTK_LIST) {
            free(*(char ***)o->value);
            *(char ***)o->value = NULL;
        }
    }
}

/*
 * One option at argv[*i]: a long one, or a cluster of short ones. Moves
 * *i past what it used. Returns 0, 1 for --help, 2 for --list-options,
 * or CS_EINVALID with the usage message in `err`.
 */
static int one_option(int *i, int argc, char **argv,
                      const struct cs_option *const *tables,
                      struct cs_err *err)
{
    const char *a = argv[*i], *val;
    const struct cs_option *o;
    char as[80];
    int ret;

    if (a[1] == '-') {
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);

        ret = find_long(&o, tables, name, len, err);
        if (ret)
            return ret;
        spelled(as, sizeof(as), o, 0);
        if (o->kind == CS_OPTK_HELP)
            return 1;
        if (o->kind == CS_OPTK_LISTOPTS)
            return 2;
        if (!o->argh && eq)
            return cs_err_set(err, CS_EINVALID, "option '%s' takes no "
                              "value", as);
        val = eq ? eq + 1 : NULL;
        if (o->argh && !val) {
            if (*i + 1 >= argc)
                return cs_err_set(err, CS_EINVALID, "option '%s' needs a "
                                  "value (%s)", as, o->argh);
            val = argv[++*i];
        }
        (*i)++;
        return take(o, val, as, err);
    }
    for (const char *p = a + 1; *p; p++) {
        o = find_short(tables, (unsigned char)*p);
        if (!o)
            return cs_err_set(err, CS_EINVALID, "unknown option '-%c'", *p);
        spelled(as, sizeof(as), o, 1);
        if (o->kind == CS_OPTK_HELP)
            return 1;
        if (!o->argh) {
            ret = take(o, NULL, as, err);
            if (ret)
                return ret;
            continue;
        }
        val = p[1] ? p + 1 : NULL;
        if (!val) {
            if (*i + 1 >= argc)
                return cs_err_set(err, CS_EINVALID, "option '%s' needs a "
                                  "value (%s)", as, o->argh);
            val = argv[++*i];
        }
        (*i)++;
        return take(o, val, as, err);
    }
    (*i)++;
    return 0;
}

int cs_opt_parse(int *argc, char **argv, struct cs_ctx *ctx,
                 const struct cs_opt_cmd *doc, const struct cs_option *opts)
{
    static const struct cs_option none[] = {CS_OPT_END};
    struct cs_option common[N_COMMON];
    const struct cs_option *tables[2];
    struct cs_err err = {0, ""};
    int i = 1, n = 0, only_args = 0, ret = CS_OPT_RUN, r;

    common_options(common, ctx);
    tables[0] = opts ? opts : none;
    tables[1] = common;
    while (i < *argc) {
        const char *a = argv[i];

        if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1;
            i++;
            continue;
        }
        if (only_args || a[0] != '-' || a[1] == '\0') {
            if (doc->cmds)
                break;  /* the subcommand parses the rest */
            argv[n++] = argv[i++];
            continue;
        }
        r = one_option(&i, *argc, argv, tables, &err);
        if (r == 1) {
            cs_opt_help(stdout, doc, opts);
            ret = CS_EXIT_OK;
            goto done;
        }
        if (r == 2) {
            list_options(doc, tables);
            ret = CS_EXIT_OK;
            goto done;
        }
        if (r) {
            ret = cs_cli_usage(doc->name, "%s", err.msg);
            goto done;
        }
    }
    if (doc->cmds) {
        /* Stopped at the subcommand's name (or the end). */
        n = *argc - i;
        memmove(argv, argv + i, (size_t)n * sizeof(*argv));
    } else if (doc->max_args != CS_OPT_ANY && n > doc->max_args) {
        ret = cs_cli_usage(doc->name, "unexpected argument '%s'",
                           argv[doc->max_args]);
        goto done;
    }
    argv[n] = NULL;
    *argc = n;
    if (!doc->cmds && (ctx->flags & (CS_CMD_CONFIG | CS_CMD_DB))) {
        r = cs_cli_load_config(ctx);
        if (r)
            ret = r;
    }
done:
    if (ret != CS_OPT_RUN)
        release_lists(opts);
    return ret;
}

int cs_opt_run_cmd(int argc, char **argv, struct cs_ctx *ctx,
                   const struct cs_opt_cmd *doc)
{
    struct cs_buf names = CS_BUF_INIT;
    struct cs_suggest s;
    int ret;

    if (argc == 0) {
        if (!*doc->name) {
            cs_opt_help(stderr, doc, NULL);
            return CS_EXIT_USAGE;
        }
        for (const struct cs_cmd *c = doc->cmds; c->name; c++)
            cs_buf_addf(&names, "%s%s", names.len ? ", " : "", c->name);
        ret = cs_cli_usage(doc->name, "expected one of %s", names.ptr);
        cs_buf_release(&names);
        return ret;
    }
    for (const struct cs_cmd *c = doc->cmds; c->name; c++) {
        if (strcmp(argv[0], c->name) == 0) {
            ctx->flags |= c->flags;
            return c->fn(argc, argv, ctx);
        }
    }
    s.word = argv[0];
    s.best = NULL;
    s.dist = 0;
    for (const struct cs_cmd *c = doc->cmds; c->name; c++)
        cs_suggest_try(&s, c->name);
    if (!*doc->name)
        return cs_cli_usage("", "'%s' is not a command%s", argv[0],
                            did_you_mean(&s, ""));
    return cs_cli_usage(doc->name, "'%s' is not a %s command%s", argv[0],
                        doc->name, did_you_mean(&s, ""));
}

int cs_opt_dispatch(int argc, char **argv, struct cs_ctx *ctx,
                    const struct cs_opt_cmd *doc)
{
    int ret = cs_opt_parse(&argc, argv, ctx, doc, NULL);

    if (ret != CS_OPT_RUN)
        return ret;
    return cs_opt_run_cmd(argc, argv, ctx, doc);
}
