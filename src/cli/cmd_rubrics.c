/* cmd_rubrics.c - callscope rubrics lint|list */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "rubric/rubric.h"

static const char help[] =
    "usage: callscope rubrics lint [DIR]\n"
    "       callscope rubrics list [DIR]\n\n"
    "lint checks every rubric file (../shared/spec/rubric-format.md) and\n"
    "prints each problem as 'file: field: reason'; warnings (naming\n"
    "conventions) do not fail. list shows key, name, type, version, tags.\n"
    "DIR defaults to the configured rubrics dir (rubrics/).\n\n"
    CS_COMMON_HELP
    "\nExit: 0 clean (warnings allowed), 3 errors found, 1 unreadable "
    "folder, 2 usage.\n";

static int rubrics_lint(const char *dir)
{
    struct cs_lint_report rep;
    struct cs_err err = {0, ""};
    int ret;

    cs_lint_report_init(&rep);
    ret = cs_rubric_lint(&rep, dir, &err);
    if (ret && rep.n == 0) {
        cs_lint_report_release(&rep);
        return cs_cli_fail(ret == CS_EINVALID ? CS_EIO : ret, err.msg);
    }
    for (size_t i = 0; i < rep.n; i++) {
        struct cs_buf line = CS_BUF_INIT;

        cs_lint_item_format(&line, &rep.items[i]);
        fprintf(stdout, "%s\n", line.ptr);
        cs_buf_release(&line);
    }
    printf("%s: %zu error(s), %zu warning(s)\n", dir, rep.n_errors,
           rep.n_warnings);
    ret = rep.n_errors ? CS_EXIT_INVALID : CS_EXIT_OK;
    cs_lint_report_release(&rep);
    return ret;
}

static int rubrics_list(const char *dir)
{
    struct cs_rubric_set *set = NULL;
    struct cs_err err = {0, ""};
    int ret;

    ret = cs_rubric_set_load(&set, dir, NULL, &err);
    if (ret)
        return cs_cli_fail(ret, err.msg);
    printf("%-28s %-30s %-12s %-17s %s\n", "KEY", "NAME", "TYPE", "VERSION",
           "TAGS");
    for (size_t i = 0; i < set->n; i++) {
        const struct cs_rubric *r = &set->rubrics[i];
        struct cs_buf tags = CS_BUF_INIT;

        for (size_t t = 0; t < r->n_tags; t++)
            cs_buf_addf(&tags, "%s%s", t ? "," : "", r->tags[t]);
        printf("%-28s %-30s %-12s %-17s %s\n", r->key, r->name,
               cs_rubric_type_name(r->type), r->version, tags.ptr);
        cs_buf_release(&tags);
    }
    cs_rubric_set_free(set);
    return CS_EXIT_OK;
}

int cs_cmd_rubrics(int argc, char **argv, struct cs_ctx *ctx)
{
    static const struct option opts[] = {CS_COMMON_OPTS, {NULL, 0, NULL, 0}};
    const char *dir;
    int c;

    while ((c = getopt_long(argc, argv, CS_COMMON_SHORT, opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return CS_EXIT_OK;
        }
        if (c == '?')
            return cs_cli_usage("rubrics", "unknown option");
    }
    if (optind >= argc || argc - optind > 2)
        return cs_cli_usage("rubrics", "expected 'lint [DIR]' or "
                            "'list [DIR]'");
    dir = argc - optind == 2 ? argv[optind + 1] : ctx->cfg->rubrics_dir;
    if (strcmp(argv[optind], "lint") == 0)
        return rubrics_lint(dir);
    if (strcmp(argv[optind], "list") == 0)
        return rubrics_list(dir);
    return cs_cli_usage("rubrics", "'%s' is not a rubrics subcommand",
                        argv[optind]);
}
