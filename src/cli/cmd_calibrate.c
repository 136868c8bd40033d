/* cmd_calibrate.c - callscope calibrate: agreement with human labels */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "rubric/rubric.h"
#include "score/calibrate.h"
#include "store/results.h"
#include "store/review.h"

static const struct cs_opt_cmd doc = {
    .name = "calibrate",
    .usage = "callscope calibrate --labels FILE [--metric KEY...] "
             "[--format table|json]",
    .about = "Compares the stored (current) results with human labels: JSONL "
             "lines\n"
             "{\"id\": ..., \"labels\": {\"<metric>\": value}} (null: the "
             "metric does\n"
             "not apply). Per metric: n, accuracy, Cohen's kappa and the "
             "confusion\n"
             "matrix over every labelled conversation, the same over those "
             "whose\n"
             "gold label is not null, and the ids of the disagreements to "
             "review.\n"
             "Conversations without a stored result are left out and counted; "
             "a\n"
             "metric with nothing to compare says \"no data\" (null in JSON).\n"
             "Each measurement is stored (date, the labels file's SHA-256, "
             "the rubric\nversion and evaluator compared, the figures): "
             "reports mark a metric\nwhose rubric sets min_kappa \"not yet "
             "verified against human labels\"\nuntil its last measurement "
             "reaches it.",
    .exits = "Exit: 0 ok, 1 store or file error, 2 usage (an unknown metric "
             "too),\n4 bad label lines.",
};

static void put_value(void *ctx, const char *id, const json_t *value)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_calibrate_label(&b, value);
    json_object_set_new((json_t *)ctx, id, json_string(b.ptr));
    cs_buf_release(&b);
}

/* Reads the labels file: {id: {metric: value}}; bad lines are counted. */
static int read_labels(json_t **out, long *bad, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    json_t *all;

    *bad = 0;
    if (!f) {
        cs_log(CS_LOG_ERROR, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    all = json_object();
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        json_t *id = json_object_get(o, "id");
        json_t *labels = json_object_get(o, "labels");

        lineno++;
        if (!json_is_string(id) || !json_is_object(labels)) {
            cs_log(CS_LOG_WARN, "%s:%ld: %s", path, lineno,
                   o ? "expected {\"id\": string, \"labels\": object}"
                     : jerr.text);
            (*bad)++;
        } else {
            json_object_set(all, json_string_value(id), labels);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    *out = all;
    return 0;
}

json_t *cs_cli_agreement_json(const struct cs_agreement *a)
{
    json_t *o = json_object(), *labels = json_array(), *m = json_array();
    json_t *ids = json_array();

    json_object_set_new(o, "n", json_integer((json_int_t)a->n));
    json_object_set_new(o, "accuracy", a->n ? json_real(a->accuracy)
                                            : json_null());
    json_object_set_new(o, "kappa", a->n ? json_real(a->kappa)
                                         : json_null());
    for (size_t g = 0; g < a->n_labels; g++) {
        json_t *row = json_array();

        json_array_append_new(labels, json_string(a->labels[g]));
        for (size_t p = 0; p < a->n_labels; p++)
            json_array_append_new(row, json_integer(
                (json_int_t)cs_calibrate_cell(a, g, p)));
        json_array_append_new(m, row);
    }
    for (size_t i = 0; i < a->n_disagree; i++)
        json_array_append_new(ids, json_string(a->disagree_ids[i]));
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "confusion", m);
    json_object_set_new(o, "disagreements", ids);
    return o;
}

/* cs_calibrate_format, with "no data" for a gold-applicable part that
 * counts nothing instead of its zeros. */
static void format_table(struct cs_buf *out, const char *metric,
                         const struct cs_agreement *all,
                         const struct cs_agreement *app)
{
    struct cs_buf b = CS_BUF_INIT;
    size_t eol;

    if (app->n) {
        cs_calibrate_format(out, metric, all, app);
        return;
    }
    cs_calibrate_format(&b, metric, all, NULL);
    eol = strcspn(b.ptr, "\n");
    cs_buf_add(out, b.ptr, eol);
    cs_buf_adds(out, " | gold-applicable n=0: no data");
    cs_buf_adds(out, b.ptr + eol);
    cs_buf_release(&b);
}

/* Agreement of one metric; adds to `report` or prints, and stores the
 * measurement (a metric with nothing to compare measured nothing). */
static int one_metric(struct cs_ctx *ctx, json_t *gold_all,
                      const char *metric, int as_json, json_t *report,
                      const char *labels_file, const char *sha)
{
    struct cs_err err = {0, ""};
    json_t *pred = json_object();
    struct cs_calib_pair *pairs;
    struct cs_agreement all, app;
    size_t n = 0, unscored = 0;
    const char *id;
    json_t *labels;
    char **gold_s;
    int ret;

    ret = cs_store_result_values(ctx->st, metric, put_value, pred, &err);
    if (ret) {
        json_decref(pred);
        return cs_cli_fail(ret, err.msg);
    }
    pairs = cs_xcalloc(json_object_size(gold_all) + 1, sizeof(*pairs));
    gold_s = cs_xcalloc(json_object_size(gold_all) + 1, sizeof(*gold_s));
    json_object_foreach(gold_all, id, labels) {
        json_t *p = json_object_get(pred, id);
        json_t *gv = json_object_get(labels, metric);
        struct cs_buf g = CS_BUF_INIT;

        if (!p) {
            unscored++;
            continue;
        }
        /* A null (or absent) gold label stays NULL: "does not apply". */
        if (gv && !json_is_null(gv)) {
            cs_calibrate_label(&g, gv);
            gold_s[n] = cs_buf_detach(&g, NULL);
        }
        pairs[n].id = id;
        pairs[n].gold = gold_s[n];
        pairs[n].pred = json_string_value(p);
        n++;
    }
    cs_calibrate(&all, pairs, n, CS_CALIBRATE_ALL);
    cs_calibrate(&app, pairs, n, CS_CALIBRATE_GOLD_APPLICABLE);
    if (all.n) {
        json_t *fig = cs_cli_agreement_json(&all);

        json_object_set_new(fig, "gold_applicable",
                            cs_cli_agreement_json(&app));
        ret = cs_store_calibration_add(ctx->st, metric, labels_file, sha, fig,
                                       &err);
        json_decref(fig);
        if (ret)
            ret = cs_cli_fail(ret, err.msg);
    }
    if (ret) {
        /* Nothing printed for a measurement that could not be kept. */
    } else if (as_json) {
        json_t *o = cs_cli_agreement_json(&all);

        json_object_set_new(o, "gold_applicable", cs_cli_agreement_json(&app));
        json_object_set_new(o, "unscored", json_integer((json_int_t)unscored));
        json_object_set_new(report, metric, o);
    } else if (all.n == 0) {
        /* Nothing to compare: no figures, not zeros. */
        printf("== %s: no data (n=0)\n", metric);
        if (unscored)
            printf("unscored: %zu labelled conversations have no result\n",
                   unscored);
        putchar('\n');
    } else {
        struct cs_buf b = CS_BUF_INIT;

        format_table(&b, metric, &all, &app);
        fputs(b.ptr, stdout);
        if (all.n_disagree) {
            printf("disagreements (%zu):", all.n_disagree);
            for (size_t i = 0; i < all.n_disagree; i++)
                printf(" %s", all.disagree_ids[i]);
            putchar('\n');
        }
        if (unscored)
            printf("unscored: %zu labelled conversations have no result\n",
                   unscored);
        putchar('\n');
        cs_buf_release(&b);
    }
    cs_calibrate_release(&all);
    cs_calibrate_release(&app);
    for (size_t i = 0; i < n; i++)
        free(gold_s[i]);
    free(gold_s);
    free(pairs);
    json_decref(pred);
    return ret;
}

int cs_cmd_calibrate(int argc, char **argv, struct cs_ctx *ctx)
{
    const char *path = NULL, *format = "table";
    json_t *gold = NULL, *metrics = json_array(), *report = json_object();
    struct cs_rubric_set *set = NULL;
    struct cs_err err = {0, ""};
    char **wanted = NULL;
    long bad = 0;
    char sha[65];
    int ret = CS_EXIT_OK;
    size_t i;
    json_t *m;
    const struct cs_option opts[] = {
        CS_OPT_STRING(0, "labels", &path, "FILE", "the human labels"),
        CS_OPT_LIST(0, "metric", &wanted, "KEY",
                    "only this metric (repeatable; default: every metric "
                    "with at least one non-null label)"),
        CS_OPT_CHOICE(0, "format", &format, "table|json",
                      "output (default table)"),
        CS_OPT_END};

    ret = cs_opt_parse(&argc, argv, ctx, &doc, opts);
    if (ret != CS_OPT_RUN)
        goto done;
    ret = CS_EXIT_OK;
    if (!path) {
        ret = cs_cli_usage("calibrate", "--labels FILE is required");
        goto done;
    }
    for (char **w = wanted; w && *w; w++)
        json_array_append_new(metrics, json_string(*w));
    if (read_labels(&gold, &bad, path) < 0) {
        ret = CS_EXIT_ERROR;
        goto done;
    }
    if (json_array_size(metrics) == 0) {
        /* Every metric with some non-null gold label, in name order. */
        json_t *seen = json_object();
        const char *id, *k;
        json_t *labels, *v;

        json_object_foreach(gold, id, labels) {
            json_object_foreach(labels, k, v) {
                if (!json_is_null(v))
                    json_object_set_new(seen, k, json_true());
            }
        }
        json_object_foreach(seen, k, v) {
            json_array_append_new(metrics, json_string(k));
        }
        json_decref(seen);
    }
    ret = cs_cli_open_store(ctx);
    if (ret)
        goto done;
    /* A metric asked for by name must exist; one only in the labels may
     * simply have no data. */
    if (wanted && cs_rubric_set_load(&set, ctx->cfg->rubrics_dir, NULL,
                                     &err) < 0)
        set = NULL;
    ret = cs_cli_check_metrics(ctx, "calibrate", set, wanted);
    if (ret)
        goto done;
    if (cs_sha256_file(sha, path, &err) < 0) {
        ret = cs_cli_fail(CS_EIO, err.msg);
        goto done;
    }
    json_array_foreach(metrics, i, m) {
        ret = one_metric(ctx, gold, json_string_value(m),
                         strcmp(format, "json") == 0, report, path, sha);
        if (ret)
            goto done;
    }
    if (strcmp(format, "json") == 0) {
        cs_fmt_json_dumpf(report, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
    }
    ret = bad ? CS_EXIT_PARTIAL : CS_EXIT_OK;
done:
    cs_rubric_set_free(set);
    free(wanted);
    json_decref(gold);
    json_decref(metrics);
    json_decref(report);
    return ret;
}
