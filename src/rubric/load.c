/* load.c - load a rubric set from a directory and version its rubrics */
#include "rubric/rubric_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/hash.h"
#include "base/mem.h"

#define MAX_RUBRIC_FILE (1024 * 1024)

int cs_rubric_valid_key(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++) {
        if (!cs_rubric_is_lower(*k) && !cs_rubric_is_digit(*k) && *k != '_')
            return 0;
    }
    return 1;
}

/* Reads and parses file i; 0, or a negative code when it cannot be read. */
static int read_rubric(struct cs_rubric_loader *L, size_t i,
                       struct cs_err *err)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    struct cs_buf file = CS_BUF_INIT;
    json_error_t jerr;
    char *text = NULL;
    size_t len = 0;
    int ret;

    cs_buf_addf(&file, "%s/%s", L->dir, r->file);
    ret = cs_fs_read(&text, &len, file.ptr, MAX_RUBRIC_FILE, err);
    if (ret < 0)
        goto done;
    if (!cs_rubric_valid_key(r->key)) {
        struct cs_buf q = CS_BUF_INIT;

        cs_buf_add_excerpt(&q, r->key, strlen(r->key), 256);
        cs_lint_error(L, i, NULL, "invalid key '%s': a rubric file name must "
                      "be [a-z0-9_]+.json", q.ptr);
        cs_buf_release(&q);
    }
    r->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->doc) {
        struct cs_buf q = CS_BUF_INIT;

        /* jansson quotes the bytes it stopped at: any bytes. */
        cs_buf_add_excerpt(&q, jerr.text, strlen(jerr.text),
                           sizeof(jerr.text));
        cs_lint_error(L, i, NULL, "invalid JSON at line %d, column %d: %s",
                      jerr.line, jerr.column, q.ptr);
        cs_buf_release(&q);
        goto done;
    }
    if (!json_is_object(r->doc)) {
        cs_lint_error(L, i, NULL, "must be a JSON object");
        json_decref(r->doc);
        r->doc = NULL;
        goto done;
    }
    cs_rubric_check_file(L, i);
done:
    free(text);
    cs_buf_release(&file);
    return ret;
}

/* ---- version ---- */

/* Sets the version of rubric i; `dep` is the index of the rubric it depends
 * on (already versioned) or -1. */
static void compute_version(struct cs_rubric_set *set, size_t i, long dep)
{
    struct cs_rubric *r = &set->rubrics[i];
    struct cs_buf b = CS_BUF_INIT;
    json_t *canon = json_copy(r->doc);
    char *text;

    json_object_del(canon, "name");
    json_object_del(canon, "tags");
    json_object_del(canon, "direction"); /* how reports colour it */
    json_object_del(canon, "tenants");   /* where it applies, not what */
    json_object_del(canon, "min_kappa"); /* how reports qualify it */
    text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
    cs_buf_adds(&b, text ? text : "");
    if (dep >= 0)
        cs_buf_addf(&b, "\n%s=%s", set->rubrics[dep].key,
                    set->rubrics[dep].version);
    cs_sha256_hex(b.ptr, b.len, r->version, 16);
    free(text);
    json_decref(canon);
    cs_buf_release(&b);
}

/* ---- loading ---- */

/* A `*.json` file name that is not a scorecard's. */
static int is_rubric_file(void *ctx, const char *dir, const char *name)
{
    size_t len = strlen(name);

    (void)ctx;
    (void)dir;
    return len > 5 && strcmp(name + len - 5, ".json") == 0 &&
           !cs_scorecard_file(name);
}

static int cmp_item(const void *a, const void *b)
{
    const struct cs_lint_item *x = a, *y = b;
    int c = strcmp(x->file, y->file);

    if (c)
        return c;
    return (x->severity > y->severity) - (x->severity < y->severity);
}

/* Groups rep->items[from..] by file (sorted), keeping for each file the
 * order the problems were found in, errors before warnings. */
static void sort_report(struct cs_lint_report *rep, size_t from)
{
    size_t n;
    struct cs_lint_item *v;

    /* Nothing reported: items may still be NULL (no offset from it). */
    if (rep->n <= from)
        return;
    n = rep->n - from;
    v = rep->items + from;

    /* Insertion sort: stable, and reports are short. */
    for (size_t i = 1; i < n; i++) {
        struct cs_lint_item x = v[i];
        size_t j = i;

        while (j > 0 && cmp_item(&v[j - 1], &x) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static int load(struct cs_rubric_set **out, const char *dir,
                struct cs_lint_report *rep, struct cs_err *err)
{
    struct cs_rubric_set *set = cs_xcalloc(1, sizeof(*set));
    struct cs_rubric_loader L;
    char **names = NULL;
    long *dep = NULL;
    unsigned char *cyclic = NULL;
    size_t n = 0, first_item = rep->n;
    int ret;

    *out = NULL;
    memset(&L, 0, sizeof(L));
    ret = cs_fs_list_sorted(&names, &n, dir, is_rubric_file, NULL, err);
    if (ret < 0)
        goto done;
    L.dir = dir;
    L.rep = rep;
    L.set = set;
    L.scale_ok = cs_xcalloc(n + 1, 1);
    set->n = n;
    set->rubrics = cs_xcalloc(n + 1, sizeof(*set->rubrics));
    set->order = cs_xcalloc(n + 1, sizeof(*set->order));
    for (size_t i = 0; i < n; i++) {
        set->rubrics[i].file = names[i];
        set->rubrics[i].key = cs_xstrndup(names[i], strlen(names[i]) - 5);
    }
    for (size_t i = 0; i < n; i++) {
        ret = read_rubric(&L, i, err);
        if (ret < 0)
            goto done;
    }
    dep = cs_rubric_resolve_deps(&L);
    cyclic = cs_rubric_order_deps(&L, dep);
    cs_rubric_check_names(&L);
    for (size_t k = 0; k < n; k++) {
        size_t i = set->order[k];

        if (set->rubrics[i].doc)
            compute_version(set, i, cyclic[i] ? -1 : dep[i]);
    }
    ret = cs_scorecards_load(&L, err);
    if (ret < 0)
        goto done;
    sort_report(rep, first_item);
    *out = set;
    set = NULL;
done:
    cs_rubric_set_free(set);
    free(names);
    free(dep);
    free(cyclic);
    free(L.scale_ok);
    return ret;
}

int cs_rubric_lint(struct cs_lint_report *out, const char *dir,
                   struct cs_err *err)
{
    struct cs_rubric_set *set = NULL;
    int ret = load(&set, dir, out, err);

    cs_rubric_set_free(set);
    return ret;
}

int cs_rubric_set_load(struct cs_rubric_set **out, const char *dir,
                       struct cs_lint_report *report, struct cs_err *err)
{
    struct cs_lint_report local;
    struct cs_lint_report *rep = report ? report : &local;
    struct cs_rubric_set *set = NULL;
    struct cs_buf first = CS_BUF_INIT;
    size_t errors_before, item_before;
    int ret;

    *out = NULL;
    if (!report)
        cs_lint_report_init(&local);
    errors_before = rep->n_errors;
    item_before = rep->n;
    ret = load(&set, dir, rep, err);
    if (ret < 0)
        goto done;
    if (rep->n_errors > errors_before) {
        for (size_t k = item_before; k < rep->n; k++) {
            if (rep->items[k].severity == CS_LINT_ERROR) {
                cs_lint_item_format(&first, &rep->items[k]);
                break;
            }
        }
        ret = cs_err_set(err, CS_EINVALID, "rubric set '%s' is invalid: "
                         "%zu error%s, first: %s", dir,
                         rep->n_errors - errors_before,
                         rep->n_errors - errors_before == 1 ? "" : "s",
                         first.ptr);
        goto done;
    }
    *out = set;
    set = NULL;
done:
    cs_rubric_set_free(set);
    cs_buf_release(&first);
    if (!report)
        cs_lint_report_release(&local);
    return ret;
}

void cs_rubric_set_free(struct cs_rubric_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        struct cs_rubric *r = &set->rubrics[i];

        free((char *)r->key);
        free((char *)r->file);
        free(r->categories);
        free(r->anchors);
        free(r->rules);
        free(r->tags);
        free(r->tenants);
        json_decref(r->doc);
    }
    for (size_t i = 0; i < set->n_scorecards; i++) {
        struct cs_scorecard *sc = &set->scorecards[i];

        free((char *)sc->key);
        free((char *)sc->file);
        free(sc->tenants);
        free(sc->items);
        free(sc->auto_fail);
        json_decref(sc->doc);
    }
    free(set->scorecards);
    free(set->rubrics);
    free(set->order);
    free(set);
}

const struct cs_rubric *cs_rubric_set_find(const struct cs_rubric_set *set,
                                           const char *key)
{
    long i = cs_rubric_find_key(set, key);

    return i < 0 ? NULL : &set->rubrics[i];
}

const struct cs_scorecard *cs_scorecard_find(const struct cs_rubric_set *set,
                                             const char *key)
{
    for (size_t i = 0; set && i < set->n_scorecards; i++) {
        if (strcmp(set->scorecards[i].key, key) == 0)
            return &set->scorecards[i];
    }
    return NULL;
}

int cs_scorecard_for_tenant(const struct cs_scorecard *sc,
                            const char *tenant)
{
    return cs_tenant_listed(sc->tenants, sc->n_tenants, tenant);
}

int cs_rubric_set_has(const struct cs_rubric_set *set, const char *key,
                      const char *tenant)
{
    const struct cs_rubric *r = set ? cs_rubric_set_find(set, key) : NULL;
    const struct cs_scorecard *sc = r ? NULL : cs_scorecard_find(set, key);

    if (r)
        return cs_rubric_for_tenant(r, tenant);
    return sc && cs_scorecard_for_tenant(sc, tenant);
}
