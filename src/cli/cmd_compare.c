/* cmd_compare.c - callscope compare --metric A --with B: two stored metrics */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "rubric/rubric.h"
#include "score/calibrate.h"
#include "store/compare.h"

static const struct cs_opt_cmd doc = {
    .name = "compare",
    .usage = "callscope compare --metric A --with B [--from D --to D] "
             "[--tenant T]\n"
             "       [--format table|json]",
    .about = "Agreement between two stored metrics over the conversations "
             "that have\n"
             "both: a platform's own verdict imported as an agent-logged "
             "metric\n"
             "(vapi_success, retell_success, retell_sentiment, a PolyAI "
             "metric;\n"
             "`score` stores them) against callscope's judge, or any two "
             "metrics.\n"
             "B is the reference: n, agreement, Cohen's kappa, the "
             "confusion matrix\n"
             "(rows B, columns A), the same over the conversations where "
             "both apply,\n"
             "and the ids that disagree. Values compare as labels, as "
             "calibrate does;\n"
             "'error' results are left out and counted.",
    .exits = "Exit: 0 ok, 1 store error, 2 usage (an unknown metric too).",
};

/* The pairs read, as label strings (owned). */
struct pairs {
    struct cs_calib_pair *all, *app;
    size_t n, n_app, cap;
    char **strings;
    size_t n_strings;
    long only_a, only_b, errors;
};

static char *keep(struct pairs *p, char *s)
{
    p->strings = cs_xrealloc(p->strings, (p->n_strings + 1) *
                                             sizeof(*p->strings));
    p->strings[p->n_strings++] = s;
    return s;
}

static char *label(struct pairs *p, const json_t *v)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_calibrate_label(&b, v);
    return keep(p, cs_buf_detach(&b, NULL));
}

static void on_pair(void *ctx, const char *tenant, const char *id,
                    const json_t *a, const json_t *b)
{
    struct pairs *p = ctx;
    const char *la, *lb, *shown;
    struct cs_buf name = CS_BUF_INIT;

    if (!a || !b) {
        p->only_a += a != NULL;
        p->only_b += b != NULL;
        return;
    }
    la = label(p, a);
    lb = label(p, b);
    if (strcmp(la, "error") == 0 || strcmp(lb, "error") == 0) {
        p->errors++;
        return;
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->all = cs_xrealloc(p->all, p->cap * sizeof(*p->all));
        p->app = cs_xrealloc(p->app, p->cap * sizeof(*p->app));
    }
    /* Ids are unique per tenant only: disagreements say tenant/id. */
    cs_buf_addf(&name, "%s/%s", tenant, id);
    shown = keep(p, cs_buf_detach(&name, NULL));
    p->all[p->n].id = shown;
    p->all[p->n].gold = lb;
    p->all[p->n].pred = la;
    p->n++;
    if (strcmp(la, "not_applicable") != 0 &&
        strcmp(lb, "not_applicable") != 0)
        p->app[p->n_app++] = p->all[p->n - 1];
}

static void print_table(const char *ma, const char *mb,
                        const struct cs_agreement *all,
                        const struct cs_agreement *app,
                        const struct pairs *p)
{
    struct cs_buf b = CS_BUF_INIT, title = CS_BUF_INIT;

    cs_buf_addf(&title, "%s vs %s", ma, mb);
    if (all->n == 0) {
        printf("== %s: no data (n=0)\n", title.ptr);
    } else {
        cs_calibrate_format(&b, title.ptr, all, app->n ? app : NULL);
        printf("(reference: %s in rows; %s in columns; accuracy is the "
               "agreement)\n%s", mb, ma, b.ptr);
        if (all->n_disagree) {
            printf("disagreements (%zu):", all->n_disagree);
            for (size_t i = 0; i < all->n_disagree; i++)
                printf(" %s", all->disagree_ids[i]);
            putchar('\n');
        }
    }
    printf("only %s: %ld, only %s: %ld, errors left out: %ld\n", ma,
           p->only_a, mb, p->only_b, p->errors);
    cs_buf_release(&b);
    cs_buf_release(&title);
}

int cs_cmd_compare(int argc, char **argv, struct cs_ctx *ctx)
{
    struct cs_cli_filter cf;
    const char *ma = NULL, *mb = NULL, *format = "table";
    struct cs_rubric_set *set = NULL;
    struct cs_agreement all, app;
    struct cs_err err = {0, ""};
    struct pairs p;
    char *names[3];
    int ret;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "metric", &ma, "A", "the metric compared (columns)"),
        CS_OPT_STRING(0, "with", &mb, "B",
                      "the reference metric (rows), e.g. vapi_success"),
        CS_OPT_DATE(0, "from", &cf.f.from,
                    "first UTC day of started_at (inclusive)"),
        CS_OPT_DATE(0, "to", &cf.f.to,
                    "last UTC day of started_at (exclusive)"),
        CS_OPT_STRING(0, "tenant", &cf.f.tenant, "T", "one tenant"),
        CS_OPT_CHOICE(0, "format", &format, "table|json",
                      "output (default table)"),
        CS_OPT_END};

    memset(&cf, 0, sizeof(cf));
    memset(&p, 0, sizeof(p));
    memset(&all, 0, sizeof(all));
    memset(&app, 0, sizeof(app));
    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        return ret;
    if (!ma || !mb)
        return cs_cli_usage("compare", "--metric A and --with B are "
                            "required");
    ret = cs_cli_open_store(ctx);
    if (ret)
        return ret;
    if (cs_rubric_set_load(&set, ctx->cfg->rubrics_dir, NULL, &err) < 0)
        set = NULL;
    names[0] = (char *)ma;
    names[1] = (char *)mb;
    names[2] = NULL;
    ret = cs_cli_check_metrics(ctx, "compare", set, names);
    if (!ret)
        ret = cs_cli_check_tenant(ctx, "compare", cf.f.tenant);
    if (ret)
        goto done;
    ret = cs_store_result_pairs(ctx->st, ma, mb, &cf.f, on_pair, &p, &err);
    if (ret) {
        ret = cs_cli_fail(ret, err.msg);
        goto done;
    }
    cs_calibrate(&all, p.all, p.n, CS_CALIBRATE_ALL);
    cs_calibrate(&app, p.app, p.n_app, CS_CALIBRATE_ALL);
    if (strcmp(format, "json") == 0) {
        json_t *o = cs_cli_agreement_json(&all);

        json_object_set_new(o, "metric", json_string(ma));
        json_object_set_new(o, "with", json_string(mb));
        json_object_set_new(o, "both_applicable",
                            cs_cli_agreement_json(&app));
        json_object_set_new(o, "only_metric", json_integer(p.only_a));
        json_object_set_new(o, "only_with", json_integer(p.only_b));
        json_object_set_new(o, "errors", json_integer(p.errors));
        cs_fmt_json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(o);
    } else {
        print_table(ma, mb, &all, &app, &p);
    }
    ret = CS_EXIT_OK;
done:
    cs_calibrate_release(&all);
    cs_calibrate_release(&app);
    for (size_t i = 0; i < p.n_strings; i++)
        free(p.strings[i]);
    free(p.strings);
    free(p.all);
    free(p.app);
    cs_rubric_set_free(set);
    return ret;
}
