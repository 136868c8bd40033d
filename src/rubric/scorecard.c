/* scorecard.c - QA scorecards beside the rubrics: load, lint, version */
#include "rubric/rubric_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/hash.h"
#include "base/mem.h"

#define SUFFIX ".scorecard.json"
#define MAX_FILE (1024 * 1024)
#define DEFAULT_PASS_MARK 80.0

static const char *const top_fields[] = {"key", "name", "tenants", "items",
                                         "auto_fail", "pass_mark", NULL};
static const char *const item_fields[] = {"metric", "value", "min", "max",
                                          "points", "partial_points", NULL};

int cs_scorecard_file(const char *name)
{
    size_t len = strlen(name), sl = strlen(SUFFIX);

    return len > sl && strcmp(name + len - sl, SUFFIX) == 0;
}

/* 1 when DIR/<key>.scorecard.json exists. */
static int is_scorecard_key(const char *dir, const char *key)
{
    struct cs_buf p = CS_BUF_INIT;
    int yes;

    cs_buf_addf(&p, "%s/%s" SUFFIX, dir, key);
    yes = cs_fs_exists(p.ptr);
    cs_buf_release(&p);
    return yes;
}

static int list_filter(void *ctx, const char *dir, const char *name)
{
    (void)ctx;
    (void)dir;
    return cs_scorecard_file(name);
}

/* One scorecard being checked. */
struct sc_check {
    struct cs_rubric_loader *L;
    struct cs_scorecard *sc;
    struct cs_buf path;
    int ok;                 /* no error so far */
};

static void error(struct sc_check *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void error(struct sc_check *c, const char *field, const char *fmt, ...)
{
    struct cs_buf reason = CS_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    cs_buf_vaddf(&reason, fmt, ap);
    va_end(ap);
    cs_lint_add(c->L->rep, CS_LINT_ERROR, c->sc->file, field, "%s",
                reason.ptr);
    cs_buf_release(&reason);
    c->ok = 0;
}

static const char *at(struct sc_check *c, const char *list, size_t j,
                      const char *field)
{
    cs_buf_reset(&c->path);
    cs_buf_addf(&c->path, "%s[%zu]%s%s", list, j, field ? "." : "",
                field ? field : "");
    return c->path.ptr;
}

static int number(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

/* Checks items[j] (or auto_fail[j]) and fills `it`; 1 when usable. */
static int check_item(struct sc_check *c, const char *list, size_t j,
                      const json_t *o, struct cs_scorecard_item *it,
                      int with_points)
{
    const struct cs_rubric_set *set = c->L->set;
    const json_t *metric = json_object_get(o, "metric");
    const json_t *value = json_object_get(o, "value");
    const json_t *min = json_object_get(o, "min");
    const json_t *max = json_object_get(o, "max");
    const json_t *pts = json_object_get(o, "points");
    const json_t *pp = json_object_get(o, "partial_points");
    const struct cs_rubric *r;
    const char *k;
    json_t *x;
    long idx;

    memset(it, 0, sizeof(*it));
    it->min = it->max = NAN;
    if (!json_is_object(o)) {
        error(c, at(c, list, j, NULL), "must be an object");
        return 0;
    }
    json_object_foreach((json_t *)o, k, x) {
        if (!cs_rubric_in_list(k, item_fields) ||
            (!with_points && (!strcmp(k, "points") ||
                              !strcmp(k, "partial_points"))))
            error(c, at(c, list, j, k), "unknown field");
    }
    if (!json_is_string(metric) || !*json_string_value(metric)) {
        error(c, at(c, list, j, "metric"), metric ? "must be a metric key"
                                                  : "missing");
        return 0;
    }
    it->metric = json_string_value(metric);
    idx = cs_rubric_find_key(set, it->metric);
    if (idx < 0 && is_scorecard_key(c->L->dir, it->metric)) {
        error(c, at(c, list, j, "metric"), "'%s' is a scorecard: a "
              "scorecard cannot name another scorecard", it->metric);
        return 0;
    }
    if (idx < 0) {
        error(c, at(c, list, j, "metric"), "unknown metric '%s'",
              it->metric);
        return 0;
    }
    it->rubric = (size_t)idx;
    r = &set->rubrics[idx];
    if (value && (min || max)) {
        error(c, at(c, list, j, NULL), "has value and min/max: one or the "
              "other");
        return 0;
    }
    if (!value && !min && !max) {
        error(c, at(c, list, j, NULL), "needs value (or min/max for a score "
              "metric)");
        return 0;
    }
    if (value) {
        it->value = value;
        if (r->doc && (json_is_string(value) &&
                       !strcmp(json_string_value(value), "not_applicable"))) {
            error(c, at(c, list, j, "value"), "\"not_applicable\" never "
                  "counts: such a result leaves the item out");
        } else if (r->doc && r->type != CS_RUBRIC_UNKNOWN &&
                   !cs_rubric_value_valid(r, value)) {
            struct cs_buf why = CS_BUF_INIT, who = CS_BUF_INIT;

            cs_buf_addf(&who, "'%s'", r->key);
            cs_rubric_value_explain(&why, r, who.ptr, value);
            error(c, at(c, list, j, "value"), "%s", why.ptr);
            cs_buf_release(&why);
            cs_buf_release(&who);
        }
    } else if (r->type != CS_RUBRIC_SCORE) {
        error(c, at(c, list, j, min ? "min" : "max"), "min and max are for "
              "score metrics; '%s' is %s", r->key,
              cs_rubric_type_name(r->type));
    } else {
        if (min && !number(min, &it->min))
            error(c, at(c, list, j, "min"), "must be a number");
        if (max && !number(max, &it->max))
            error(c, at(c, list, j, "max"), "must be a number");
        if (!isnan(it->min) && !isnan(it->max) && it->min > it->max)
            error(c, at(c, list, j, NULL), "min (%g) is above max (%g)",
                  it->min, it->max);
    }
    if (!with_points)
        return 1;
    if (!pts) {
        error(c, at(c, list, j, "points"), "missing");
    } else if (!number(pts, &it->points) || it->points <= 0) {
        error(c, at(c, list, j, "points"), "must be a number above 0");
    }
    if (pp) {
        int boolean_true = r->type == CS_RUBRIC_BOOLEAN && r->partial &&
                           json_is_true(value);

        if (!number(pp, &it->partial_points) || it->partial_points < 0 ||
            (it->points > 0 && it->partial_points > it->points))
            error(c, at(c, list, j, "partial_points"), "must be a number "
                  "from 0 to the item's points");
        else if (!boolean_true)
            error(c, at(c, list, j, "partial_points"), "only an item "
                  "{\"value\": true} of a boolean metric with a partial "
                  "outcome earns partial points");
    }
    return 1;
}

/* Items or auto_fail conditions: an array of objects, no metric twice. */
static void check_list(struct sc_check *c, const char *list, int required,
                       struct cs_scorecard_item **out, size_t *n_out)
{
    const json_t *v = json_object_get(c->sc->doc, list);
    size_t j, n = 0;
    json_t *o;

    *out = NULL;
    *n_out = 0;
    if (!v) {
        if (required)
            error(c, list, "missing: a scorecard needs at least one item");
        return;
    }
    if (!json_is_array(v) || (required && json_array_size(v) == 0)) {
        error(c, list, required ? "must be a non-empty array of items"
                                : "must be an array of conditions");
        return;
    }
    *out = cs_xcalloc(json_array_size(v) + 1, sizeof(**out));
    json_array_foreach(v, j, o) {
        struct cs_scorecard_item *it = &(*out)[n];
        int dup = -1;

        if (!check_item(c, list, j, o, it, required))
            continue;
        for (size_t k = 0; k < n && required; k++) {
            if (strcmp((*out)[k].metric, it->metric) == 0)
                dup = (int)k;
        }
        if (dup >= 0) {
            error(c, at(c, list, j, "metric"), "metric '%s' is already "
                  "items[%d]", it->metric, dup);
            continue;
        }
        n++;
    }
    *n_out = n;
}

/* Warns where an item's metric does not apply to a tenant the scorecard
 * does: there the item is always left out. */
static void check_scope(struct sc_check *c)
{
    const struct cs_scorecard *sc = c->sc;

    for (size_t j = 0; j < sc->n_items; j++) {
        const struct cs_rubric *r = &c->L->set->rubrics[sc->items[j].rubric];
        int covered = 1;

        if (r->n_tenants == 0)
            continue;
        if (sc->n_tenants == 0)
            covered = 0;
        for (size_t t = 0; t < sc->n_tenants; t++)
            covered &= cs_rubric_for_tenant(r, sc->tenants[t]);
        if (!covered)
            cs_lint_add(c->L->rep, CS_LINT_WARNING, sc->file,
                        at(c, "items", j, "metric"), "'%s' does not apply "
                        "to every tenant of this scorecard: there the item "
                        "is left out", r->key);
    }
}

static void compute_version(struct cs_rubric_set *set,
                            struct cs_scorecard *sc)
{
    struct cs_buf b = CS_BUF_INIT;
    json_t *canon = json_copy(sc->doc);
    char *text;

    json_object_del(canon, "name");
    json_object_del(canon, "tenants");
    json_object_del(canon, "pass_mark");
    text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
    cs_buf_adds(&b, text ? text : "");
    /* The metrics' versions in key order (the rubrics are sorted). */
    for (size_t i = 0; i < set->n; i++) {
        int used = 0;

        for (size_t j = 0; j < sc->n_items; j++)
            used |= sc->items[j].rubric == i;
        for (size_t j = 0; j < sc->n_auto_fail; j++)
            used |= sc->auto_fail[j].rubric == i;
        if (used)
            cs_buf_addf(&b, "\n%s=%s", set->rubrics[i].key,
                        set->rubrics[i].version);
    }
    cs_sha256_hex(b.ptr, b.len, sc->version, 16);
    free(text);
    json_decref(canon);
    cs_buf_release(&b);
}

static void check_doc(struct sc_check *c)
{
    struct cs_scorecard *sc = c->sc;
    const struct cs_rubric_set *set = c->L->set;
    const json_t *key = json_object_get(sc->doc, "key");
    const json_t *name = json_object_get(sc->doc, "name");
    const json_t *pm = json_object_get(sc->doc, "pass_mark");
    const char *k;
    json_t *x;

    json_object_foreach(sc->doc, k, x) {
        if (!cs_rubric_in_list(k, top_fields))
            error(c, k, "unknown field");
    }
    if (!cs_rubric_valid_key(sc->key))
        error(c, NULL, "invalid key '%s': a scorecard file name must be "
              "[a-z0-9_]+" SUFFIX, sc->key);
    if (!key)
        error(c, "key", "missing: must be '%s' (the file name)", sc->key);
    else if (!json_is_string(key) || strcmp(json_string_value(key), sc->key))
        error(c, "key", "must be '%s', the file name without " SUFFIX,
              sc->key);
    if (cs_rubric_find_key(set, sc->key) >= 0)
        error(c, NULL, "'%s' is also a rubric: a scorecard's key names its "
              "results and must be its own", sc->key);
    if (!json_is_string(name) || !*json_string_value(name)) {
        error(c, "name", name ? "must be a non-empty string" : "missing");
    } else {
        sc->name = json_string_value(name);
        for (size_t i = 0; i < set->n; i++) {
            if (set->rubrics[i].name &&
                strcmp(set->rubrics[i].name, sc->name) == 0)
                error(c, "name", "'%s' is also the name of %s", sc->name,
                      set->rubrics[i].file);
        }
    }
    cs_lint_tenants(c->L->rep, sc->file, json_object_get(sc->doc, "tenants"),
                    &sc->n_tenants, &sc->tenants);
    sc->pass_mark = DEFAULT_PASS_MARK;
    if (pm && (!number(pm, &sc->pass_mark) || sc->pass_mark < 0 ||
               sc->pass_mark > 100))
        error(c, "pass_mark", "must be a number from 0 to 100");
    check_list(c, "items", 1, &sc->items, &sc->n_items);
    check_list(c, "auto_fail", 0, &sc->auto_fail, &sc->n_auto_fail);
    check_scope(c);
}

int cs_scorecards_load(struct cs_rubric_loader *L, struct cs_err *err)
{
    struct cs_rubric_set *set = L->set;
    struct sc_check c;
    char **names = NULL;
    size_t n = 0;
    int ret;

    memset(&c, 0, sizeof(c));
    cs_buf_init(&c.path);
    c.L = L;
    ret = cs_fs_list_sorted(&names, &n, L->dir, list_filter, NULL, err);
    if (ret < 0)
        goto done;
    set->scorecards = cs_xcalloc(n + 1, sizeof(*set->scorecards));
    for (size_t i = 0; i < n; i++) {
        struct cs_scorecard *sc = &set->scorecards[set->n_scorecards++];
        struct cs_buf file = CS_BUF_INIT;
        json_error_t jerr;
        char *text = NULL;
        size_t len = 0;

        sc->file = names[i];
        names[i] = NULL;
        sc->key = cs_xstrndup(sc->file, strlen(sc->file) - strlen(SUFFIX));
        c.sc = sc;
        c.ok = 1;
        cs_buf_addf(&file, "%s/%s", L->dir, sc->file);
        ret = cs_fs_read(&text, &len, file.ptr, MAX_FILE, err);
        cs_buf_release(&file);
        if (ret < 0)
            goto done;
        sc->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        free(text);
        if (!sc->doc) {
            error(&c, NULL, "invalid JSON at line %d, column %d: %s",
                  jerr.line, jerr.column, jerr.text);
            continue;
        }
        if (!json_is_object(sc->doc)) {
            error(&c, NULL, "must be a JSON object");
            continue;
        }
        check_doc(&c);
        if (c.ok)
            compute_version(set, sc);
    }
    for (size_t i = 0; i < set->n_scorecards; i++) {
        for (size_t j = 0; j < i; j++) {
            const struct cs_scorecard *a = &set->scorecards[j];

            c.sc = &set->scorecards[i];
            if (a->name && c.sc->name && strcmp(a->name, c.sc->name) == 0)
                error(&c, "name", "'%s' is also the name of %s", a->name,
                      a->file);
        }
    }
done:
    cs_buf_release(&c.path);
    cs_fs_list_free(names, n);
    return ret;
}
