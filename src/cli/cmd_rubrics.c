/* cmd_rubrics.c - callscope rubrics lint|list */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "rubric/rubric.h"

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
        if (r->n_tenants) {
            cs_buf_addf(&tags, "%stenants:", tags.len ? " " : "");
            for (size_t t = 0; t < r->n_tenants; t++)
                cs_buf_addf(&tags, "%s%s", t ? "," : "", r->tenants[t]);
        }
        printf("%-28s %-30s %-12s %-17s %s\n", r->key, r->name,
               cs_rubric_type_name(r->type), r->version, tags.ptr);
        cs_buf_release(&tags);
    }
    for (size_t i = 0; i < set->n_scorecards; i++) {
        const struct cs_scorecard *sc = &set->scorecards[i];
        struct cs_buf tags = CS_BUF_INIT;

        if (sc->n_tenants) {
            cs_buf_adds(&tags, "tenants:");
            for (size_t t = 0; t < sc->n_tenants; t++)
                cs_buf_addf(&tags, "%s%s", t ? "," : "", sc->tenants[t]);
        }
        printf("%-28s %-30s %-12s %-17s %s\n", sc->key, sc->name,
               "scorecard", sc->version, tags.ptr);
        cs_buf_release(&tags);
    }
    cs_rubric_set_free(set);
    return CS_EXIT_OK;
}

static const struct cs_opt_cmd lint_doc = {
    .name = "rubrics lint",
    .usage = "callscope rubrics lint [DIR]",
    .about = "Checks every rubric file (docs/rubric-format.md) and every "
             "QA\n"
             "scorecard (<key>.scorecard.json, docs/scorecard-format.md) and "
             "prints\n"
             "each problem as 'file: field: reason'; warnings (naming "
             "conventions)\n"
             "do not fail. DIR defaults to the configured rubrics dir "
             "(rubrics/).",
    .exits = "Exit: 0 clean (warnings allowed), 3 errors found, 1 unreadable "
             "folder,\n2 usage.",
    .max_args = 1,
};

static const struct cs_opt_cmd list_doc = {
    .name = "rubrics list",
    .usage = "callscope rubrics list [DIR]",
    .about = "Shows key, name, type, version and tags (and the tenants it "
             "is\n"
             "limited to) of each rubric, then each scorecard. DIR defaults "
             "to the\n"
             "configured rubrics dir (rubrics/).",
    .exits = "Exit: 0 ok, 1 unreadable folder or invalid set, 2 usage.",
    .max_args = 1,
};

static int cmd_lint(int argc, char **argv, struct cs_ctx *ctx)
{
    int ret = cs_opt_parse(&argc, argv, ctx, &lint_doc, NULL);

    if (ret != CS_OPT_RUN)
        return ret;
    return rubrics_lint(argc ? argv[0] : ctx->cfg->rubrics_dir);
}

static int cmd_list(int argc, char **argv, struct cs_ctx *ctx)
{
    int ret = cs_opt_parse(&argc, argv, ctx, &list_doc, NULL);

    if (ret != CS_OPT_RUN)
        return ret;
    return rubrics_list(argc ? argv[0] : ctx->cfg->rubrics_dir);
}

static const struct cs_cmd subcmds[] = {
    {"lint", cmd_lint, 0, "check a rubric set: file, field, reason"},
    {"list", cmd_list, 0, "list key, name, type, version, tags"},
    {NULL, NULL, 0, NULL},
};

static const struct cs_opt_cmd doc = {
    .name = "rubrics",
    .usage = "callscope rubrics lint [DIR]\n"
             "       callscope rubrics list [DIR]",
    .about = "Rubrics (docs/rubric-format.md): one <key>.json per metric;\n"
             "QA scorecards (docs/scorecard-format.md) as "
             "<key>.scorecard.json.",
    .exits = "Exit: 0 ok, 1 unreadable folder, 2 usage, 3 errors found.",
    .cmds = subcmds,
};

int cs_cmd_rubrics(int argc, char **argv, struct cs_ctx *ctx)
{
    return cs_opt_dispatch(argc, argv, ctx, &doc);
}
