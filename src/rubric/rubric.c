/* rubric.c - load, lint and version the metric rubrics of a directory */
#include "rubric/rubric.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/hash.h"
#include "base/mem.h"
#include "base/parse.h"
#include "regex/regex.h"

#define MAX_RUBRIC_FILE (1024 * 1024)

static const char *const top_fields[] = {
    "name", "type", "definition", "success", "failure", "partial",
    "categories", "scale", "applies_when", "rules", "tags", NULL};

/* Top-level conversation fields that applies_when.field may compare
 * (../shared/spec/conversation-format.md; arrays and objects other than
 * handoff make no sense to compare for equality). */
static const char *const conv_fields[] = {
    "id", "tenant", "agent", "channel", "direction", "caller", "callee",
    "started_at", "answered_at", "ended_at", "outcome", "ring_s",
    "queue_wait_s", "sip_error_code", "handoff", "csat", "nps", NULL};

struct loader {
    const char *dir;
    struct cs_lint_report *rep;
    struct cs_rubric_set *set;
    unsigned char *scale_ok;    /* per rubric: min < max were read */
};

/* ---- lint report ---- */

void cs_lint_report_init(struct cs_lint_report *rep)
{
    memset(rep, 0, sizeof(*rep));
}

void cs_lint_report_release(struct cs_lint_report *rep)
{
    for (size_t i = 0; i < rep->n; i++) {
        free(rep->items[i].file);
        free(rep->items[i].field);
        free(rep->items[i].reason);
    }
    free(rep->items);
    cs_lint_report_init(rep);
}

void cs_lint_item_format(struct cs_buf *out, const struct cs_lint_item *it)
{
    if (it->severity == CS_LINT_WARNING)
        cs_buf_adds(out, "warning: ");
    cs_buf_addf(out, "%s: ", it->file);
    if (it->field)
        cs_buf_addf(out, "%s: ", it->field);
    cs_buf_adds(out, it->reason);
}

static void report_v(struct cs_lint_report *rep, enum cs_lint_severity sev,
                     const char *file, const char *field, const char *fmt,
                     va_list ap) __attribute__((format(printf, 5, 0)));

static void report_v(struct cs_lint_report *rep, enum cs_lint_severity sev,
                     const char *file, const char *field, const char *fmt,
                     va_list ap)
{
    struct cs_buf reason = CS_BUF_INIT;
    struct cs_lint_item *it;

    if (rep->n == rep->alloc) {
        rep->alloc = rep->alloc ? rep->alloc * 2 : 16;
        rep->items = cs_xrealloc(rep->items,
                                 rep->alloc * sizeof(*rep->items));
    }
    cs_buf_vaddf(&reason, fmt, ap);
    it = &rep->items[rep->n++];
    it->severity = sev;
    it->file = cs_xstrdup(file);
    it->field = field ? cs_xstrdup(field) : NULL;
    it->reason = cs_buf_detach(&reason, NULL);
    if (sev == CS_LINT_ERROR)
        rep->n_errors++;
    else
        rep->n_warnings++;
}

static void lint_error(struct loader *L, size_t i, const char *field,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lint_error(struct loader *L, size_t i, const char *field,
                       const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_v(L->rep, CS_LINT_ERROR, L->set->rubrics[i].file, field, fmt, ap);
    va_end(ap);
}

static void lint_warning(struct loader *L, size_t i, const char *field,
                         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lint_warning(struct loader *L, size_t i, const char *field,
                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_v(L->rep, CS_LINT_WARNING, L->set->rubrics[i].file, field, fmt,
             ap);
    va_end(ap);
}

/* Formats a JSON path into `b` (reset first) and returns it. */
static const char *path(struct cs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *path(struct cs_buf *b, const char *fmt, ...)
{
    va_list ap;

    cs_buf_reset(b);
    va_start(ap, fmt);
    cs_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return b->ptr;
}

/* ---- small helpers ---- */

static int in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (!strcmp(s, list[i]))
            return 1;
    }
    return 0;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII case-insensitive equality (names are compared as users read them;
 * bytes beyond ASCII must match exactly). */
static int same_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (lower(*a) != lower(*b))
            return 0;
    }
    return *a == *b;
}

static int blank(const char *s)
{
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    }
    return 1;
}

/* Compact JSON text of `v` for messages; new. */
static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    char *copy;

    if (!s)
        return cs_xstrdup("?");
    copy = cs_xstrdup(s);
    free(s);
    return copy;
}

static int valid_key(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++) {
        if (!is_lower(*k) && !is_digit(*k) && *k != '_')
            return 0;
    }
    return 1;
}

const char *cs_rubric_type_name(enum cs_rubric_type t)
{
    switch (t) {
    case CS_RUBRIC_BOOLEAN:
        return "boolean";
    case CS_RUBRIC_CATEGORICAL:
        return "categorical";
    case CS_RUBRIC_SCORE:
        return "score";
    default:
        return "unknown";
    }
}

static int is_string_value(const json_t *v, const char *s)
{
    return json_is_string(v) && !strcmp(json_string_value(v), s);
}

int cs_rubric_value_valid(const struct cs_rubric *r, const json_t *value)
{
    double x;

    if (is_string_value(value, "not_applicable"))
        return 1;
    switch (r->type) {
    case CS_RUBRIC_BOOLEAN:
        return json_is_boolean(value) ||
               (r->partial && is_string_value(value, "partial"));
    case CS_RUBRIC_CATEGORICAL:
        if (!json_is_string(value))
            return 0;
        for (size_t i = 0; i < r->n_categories; i++) {
            if (!strcmp(r->categories[i].label, json_string_value(value)))
                return 1;
        }
        return 0;
    case CS_RUBRIC_SCORE:
        if (!json_is_number(value) || r->scale_min >= r->scale_max)
            return 0;
        x = json_number_value(value);
        return x >= (double)r->scale_min && x <= (double)r->scale_max;
    default:
        return 0;
    }
}

/* ---- per-file checks ---- */

/* Reads an optional (or required) non-blank string field. */
static void get_text(struct loader *L, size_t i, const char *field,
                     int required, const char **out)
{
    const json_t *v = json_object_get(L->set->rubrics[i].doc, field);

    *out = NULL;
    if (!v) {
        if (required)
            lint_error(L, i, field, "missing");
        return;
    }
    if (!json_is_string(v)) {
        lint_error(L, i, field, "must be a string");
        return;
    }
    if (blank(json_string_value(v))) {
        lint_error(L, i, field, "must not be empty");
        return;
    }
    *out = json_string_value(v);
}

static void check_pattern(struct loader *L, size_t i, const char *field,
                          const json_t *v, const char **out)
{
    struct cs_err e;

    *out = NULL;
    if (!v) {
        lint_error(L, i, field, "missing");
        return;
    }
    if (!json_is_string(v)) {
        lint_error(L, i, field, "must be a string (a PCRE2 pattern)");
        return;
    }
    if (!*json_string_value(v)) {
        lint_error(L, i, field, "must not be empty");
        return;
    }
    cs_err_clear(&e);
    if (cs_regex_check(json_string_value(v), &e) < 0) {
        lint_error(L, i, field, "%s", e.msg);
        return;
    }
    *out = json_string_value(v);
}

static void check_role(struct loader *L, size_t i, const char *field,
                       const json_t *v, enum cs_role *out)
{
    const char *s = json_string_value(v);
    char *d;

    *out = CS_ROLE_ANY;
    if (!v) {
        lint_error(L, i, field, "missing: must be agent, customer or any");
        return;
    }
    if (s && !strcmp(s, "agent")) {
        *out = CS_ROLE_AGENT;
    } else if (s && !strcmp(s, "customer")) {
        *out = CS_ROLE_CUSTOMER;
    } else if (s && !strcmp(s, "any")) {
        *out = CS_ROLE_ANY;
    } else {
        d = dump(v);
        lint_error(L, i, field, "unknown role %s: must be agent, customer "
                   "or any", d);
        free(d);
    }
}

static void check_type(struct loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "type");
    const char *s = json_string_value(v);
    char *d;

    r->type = CS_RUBRIC_UNKNOWN;
    if (!v) {
        lint_error(L, i, "type", "missing: must be boolean, categorical or "
                   "score");
        return;
    }
    if (s && !strcmp(s, "boolean")) {
        r->type = CS_RUBRIC_BOOLEAN;
    } else if (s && !strcmp(s, "categorical")) {
        r->type = CS_RUBRIC_CATEGORICAL;
    } else if (s && !strcmp(s, "score")) {
        r->type = CS_RUBRIC_SCORE;
    } else {
        d = dump(v);
        lint_error(L, i, "type", "unknown type %s: must be boolean, "
                   "categorical or score", d);
        free(d);
    }
}

static void check_categories(struct loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "categories");
    struct cs_buf p = CS_BUF_INIT;
    const char *label;
    json_t *desc;

    if (!v) {
        if (r->type == CS_RUBRIC_CATEGORICAL)
            lint_error(L, i, "categories", "required for a categorical "
                       "metric");
        return;
    }
    if (r->type != CS_RUBRIC_CATEGORICAL) {
        if (r->type != CS_RUBRIC_UNKNOWN)
            lint_error(L, i, "categories", "only categorical metrics have "
                       "categories");
        return;
    }
    if (!json_is_object(v)) {
        lint_error(L, i, "categories", "must be an object of label to "
                   "description");
        return;
    }
    if (json_object_size(v) == 0) {
        lint_error(L, i, "categories", "must not be empty");
        return;
    }
    r->categories = cs_xcalloc(json_object_size(v), sizeof(*r->categories));
    json_object_foreach((json_t *)v, label, desc) {
        if (blank(label)) {
            lint_error(L, i, "categories", "a label must not be empty");
            continue;
        }
        path(&p, "categories.%s", label);
        if (!strcmp(label, "not_applicable") || !strcmp(label, "error")) {
            lint_error(L, i, p.ptr, "reserved label: '%s' is a result of "
                       "every metric", label);
            continue;
        }
        if (!json_is_string(desc) || blank(json_string_value(desc))) {
            lint_error(L, i, p.ptr, "the description must be a non-empty "
                       "string");
        }
        r->categories[r->n_categories].label = label;
        r->categories[r->n_categories].description = json_string_value(desc);
        r->n_categories++;
    }
    cs_buf_release(&p);
}

static int get_int(struct loader *L, size_t i, const json_t *obj,
                   const char *key, const char *field, long *out)
{
    const json_t *v = json_object_get(obj, key);

    if (!v) {
        lint_error(L, i, field, "missing");
        return 0;
    }
    if (!json_is_integer(v)) {
        lint_error(L, i, field, "must be an integer");
        return 0;
    }
    *out = (long)json_integer_value(v);
    return 1;
}

static void check_scale(struct loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "scale");
    const json_t *anchors;
    struct cs_buf p = CS_BUF_INIT;
    const char *k;
    json_t *a;
    long lo = 0, hi = 0, n;
    int ok;

    if (!v) {
        if (r->type == CS_RUBRIC_SCORE)
            lint_error(L, i, "scale", "required for a score metric");
        return;
    }
    if (r->type != CS_RUBRIC_SCORE) {
        if (r->type != CS_RUBRIC_UNKNOWN)
            lint_error(L, i, "scale", "only score metrics have a scale");
        return;
    }
    if (!json_is_object(v)) {
        lint_error(L, i, "scale", "must be an object with min, max and "
                   "anchors");
        return;
    }
    json_object_foreach((json_t *)v, k, a) {
        if (strcmp(k, "min") && strcmp(k, "max") && strcmp(k, "anchors"))
            lint_error(L, i, path(&p, "scale.%s", k), "unknown field");
    }
    ok = get_int(L, i, v, "min", "scale.min", &lo);
    ok &= get_int(L, i, v, "max", "scale.max", &hi);
    if (ok && lo >= hi) {
        lint_error(L, i, "scale", "min (%ld) must be less than max (%ld)",
                   lo, hi);
        ok = 0;
    }
    if (ok) {
        r->scale_min = lo;
        r->scale_max = hi;
        L->scale_ok[i] = 1;
    }
    anchors = json_object_get(v, "anchors");
    if (!anchors)
        goto done;
    if (!json_is_object(anchors)) {
        lint_error(L, i, "scale.anchors", "must be an object of point to "
                   "description");
        goto done;
    }
    r->anchors = cs_xcalloc(json_object_size(anchors) + 1,
                            sizeof(*r->anchors));
    json_object_foreach((json_t *)anchors, k, a) {
        path(&p, "scale.anchors.%s", k);
        if (cs_parse_long(k, &n) < 0) {
            lint_error(L, i, p.ptr, "'%s' is not an integer point", k);
            continue;
        }
        if (ok && (n < lo || n > hi)) {
            lint_error(L, i, p.ptr, "point %ld is outside the scale "
                       "%ld..%ld", n, lo, hi);
            continue;
        }
        if (!json_is_string(a) || blank(json_string_value(a))) {
            lint_error(L, i, p.ptr, "must be a non-empty string");
            continue;
        }
        r->anchors[r->n_anchors].point = n;
        r->anchors[r->n_anchors].text = json_string_value(a);
        r->n_anchors++;
    }
done:
    cs_buf_release(&p);
}

/* Whether values of rubric i can be checked yet: its type and the parts
 * the check needs (categories, scale) were read without error. */
static int values_checkable(const struct loader *L, size_t i)
{
    const struct cs_rubric *r = &L->set->rubrics[i];

    switch (r->type) {
    case CS_RUBRIC_BOOLEAN:
        return 1;
    case CS_RUBRIC_CATEGORICAL:
        return r->n_categories > 0;
    case CS_RUBRIC_SCORE:
        return L->scale_ok[i];
    default:
        return 0;
    }
}

/* Reports why `v` is not a result rubric `r` can have; `who` names the
 * rubric in the message ("this metric", "'booking_completed'"). */
static void explain_value(struct loader *L, size_t i, const char *field,
                          const struct cs_rubric *r, const char *who,
                          const json_t *v)
{
    struct cs_buf labels = CS_BUF_INIT;
    char *d = dump(v);

    switch (r->type) {
    case CS_RUBRIC_BOOLEAN:
        lint_error(L, i, field, "value %s is not allowed for %s: must be "
                   "true, false%s or \"not_applicable\"", d, who,
                   r->partial ? ", \"partial\"" : "");
        break;
    case CS_RUBRIC_CATEGORICAL:
        for (size_t c = 0; c < r->n_categories; c++) {
            cs_buf_addf(&labels, "%s%s", c ? ", " : "",
                        r->categories[c].label);
        }
        lint_error(L, i, field, "value %s is not a category of %s (%s) "
                   "nor \"not_applicable\"", d, who, labels.ptr);
        break;
    default:
        if (json_is_number(v)) {
            lint_error(L, i, field, "value %s is outside the scale %ld..%ld "
                       "of %s", d, r->scale_min, r->scale_max, who);
        } else {
            lint_error(L, i, field, "value %s is not allowed for %s: must "
                       "be a number in %ld..%ld or \"not_applicable\"", d,
                       who, r->scale_min, r->scale_max);
        }
        break;
    }
    cs_buf_release(&labels);
    free(d);
}

static void check_value(struct loader *L, size_t i, const char *field,
                        const json_t *v)
{
    const struct cs_rubric *r = &L->set->rubrics[i];

    if (!values_checkable(L, i) || cs_rubric_value_valid(r, v))
        return;
    explain_value(L, i, field, r, "this metric", v);
}

static void check_applies(struct loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    struct cs_rubric_applies *a = &r->applies;
    const json_t *v = json_object_get(r->doc, "applies_when");
    const json_t *tm, *metric, *field;
    struct cs_buf p = CS_BUF_INIT;
    const char *k;
    json_t *x;
    int kinds;

    a->kind = CS_APPLIES_ALWAYS;
    if (!v)
        return;
    if (!json_is_object(v)) {
        lint_error(L, i, "applies_when", "must be an object");
        return;
    }
    tm = json_object_get(v, "turn_matches");
    metric = json_object_get(v, "metric");
    field = json_object_get(v, "field");
    kinds = !!tm + !!metric + !!field;
    if (kinds == 0) {
        lint_error(L, i, "applies_when", "unknown kind: must have "
                   "turn_matches, metric or field");
        return;
    }
    if (kinds > 1) {
        lint_error(L, i, "applies_when", "must have only one of "
                   "turn_matches, metric or field");
        return;
    }
    json_object_foreach((json_t *)v, k, x) {
        int known = tm ? (!strcmp(k, "turn_matches") || !strcmp(k, "role"))
                       : (!strcmp(k, metric ? "metric" : "field") ||
                          !strcmp(k, "equals"));

        if (!known)
            lint_error(L, i, path(&p, "applies_when.%s", k),
                       "unknown field");
    }
    if (tm) {
        a->kind = CS_APPLIES_TURN_MATCHES;
        check_pattern(L, i, "applies_when.turn_matches", tm, &a->pattern);
        check_role(L, i, "applies_when.role", json_object_get(v, "role"),
                   &a->role);
        goto done;
    }
    a->kind = metric ? CS_APPLIES_METRIC : CS_APPLIES_FIELD;
    k = metric ? "applies_when.metric" : "applies_when.field";
    x = metric ? (json_t *)metric : (json_t *)field;
    if (!json_is_string(x) || !*json_string_value(x)) {
        lint_error(L, i, k, "must be a non-empty string");
    } else if (field && !in_list(json_string_value(x), conv_fields)) {
        lint_error(L, i, k, "unknown conversation field '%s'",
                   json_string_value(x));
    } else {
        a->name = json_string_value(x);
    }
    a->equals = json_object_get(v, "equals");
    if (!a->equals)
        lint_error(L, i, "applies_when.equals", "missing");
done:
    cs_buf_release(&p);
}

static void check_rules(struct loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "rules");
    struct cs_buf p = CS_BUF_INIT;
    size_t n;

    if (!v)
        return;
    if (!json_is_array(v)) {
        lint_error(L, i, "rules", "must be an array");
        return;
    }
    n = json_array_size(v);
    r->rules = cs_xcalloc(n + 1, sizeof(*r->rules));
    for (size_t j = 0; j < n; j++) {
        const json_t *rule = json_array_get(v, j);
        struct cs_rubric_rule *out = &r->rules[r->n_rules];
        const json_t *def, *tm, *value;
        const char *k;
        json_t *x;

        if (!json_is_object(rule)) {
            lint_error(L, i, path(&p, "rules[%zu]", j), "must be an object");
            continue;
        }
        def = json_object_get(rule, "default");
        tm = json_object_get(rule, "turn_matches");
        value = json_object_get(rule, "value");
        if (def) {
            if (json_object_size(rule) > 1)
                lint_error(L, i, path(&p, "rules[%zu]", j), "a default "
                           "rule has no other field than default");
            if (j + 1 < n)
                lint_error(L, i, path(&p, "rules[%zu].default", j),
                           "must be the last rule (the rules after it are "
                           "never reached)");
            check_value(L, i, path(&p, "rules[%zu].default", j), def);
            out->is_default = 1;
            out->value = def;
            r->n_rules++;
            continue;
        }
        if (!tm && !value) {
            lint_error(L, i, path(&p, "rules[%zu]", j), "must have "
                       "turn_matches, role and value, or default");
            continue;
        }
        json_object_foreach((json_t *)rule, k, x) {
            if (strcmp(k, "turn_matches") && strcmp(k, "role") &&
                strcmp(k, "value"))
                lint_error(L, i, path(&p, "rules[%zu].%s", j, k),
                           "unknown field");
        }
        check_pattern(L, i, path(&p, "rules[%zu].turn_matches", j), tm,
                      &out->pattern);
        check_role(L, i, path(&p, "rules[%zu].role", j),
                   json_object_get(rule, "role"), &out->role);
        if (!value)
            lint_error(L, i, path(&p, "rules[%zu].value", j), "missing");
        else
            check_value(L, i, path(&p, "rules[%zu].value", j), value);
        out->value = value;
        r->n_rules++;
    }
    cs_buf_release(&p);
}

static void check_tags(struct loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "tags");
    struct cs_buf p = CS_BUF_INIT;
    size_t j;
    json_t *t;

    if (!v)
        return;
    if (!json_is_array(v)) {
        lint_error(L, i, "tags", "must be an array of strings");
        return;
    }
    r->tags = cs_xcalloc(json_array_size(v) + 1, sizeof(*r->tags));
    json_array_foreach(v, j, t) {
        if (!json_is_string(t) || blank(json_string_value(t))) {
            lint_error(L, i, path(&p, "tags[%zu]", j), "must be a non-empty "
                       "string");
            continue;
        }
        r->tags[r->n_tags++] = json_string_value(t);
    }
    cs_buf_release(&p);
}

/* Checks one parsed file and fills its struct cs_rubric. */
static void check_rubric(struct loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const char *k;
    json_t *v;

    json_object_foreach(r->doc, k, v) {
        if (!in_list(k, top_fields))
            lint_error(L, i, k, "unknown field");
    }
    get_text(L, i, "name", 1, &r->name);
    check_type(L, i);
    get_text(L, i, "definition", 1, &r->definition);
    get_text(L, i, "success", r->type == CS_RUBRIC_BOOLEAN, &r->success);
    get_text(L, i, "failure", r->type == CS_RUBRIC_BOOLEAN, &r->failure);
    get_text(L, i, "partial", 0, &r->partial);
    if (r->partial && r->type != CS_RUBRIC_BOOLEAN &&
        r->type != CS_RUBRIC_UNKNOWN)
        lint_error(L, i, "partial", "only boolean metrics have a partial "
                   "outcome");
    check_categories(L, i);
    check_scale(L, i);
    check_applies(L, i);
    check_rules(L, i);
    check_tags(L, i);
}

/* Reads and parses file i; 0, or a negative code when it cannot be read. */
static int read_rubric(struct loader *L, size_t i, struct cs_err *err)
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
    if (!valid_key(r->key))
        lint_error(L, i, NULL, "invalid key '%s': a rubric file name must "
                   "be [a-z0-9_]+.json", r->key);
    r->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->doc) {
        lint_error(L, i, NULL, "invalid JSON at line %d, column %d: %s",
                   jerr.line, jerr.column, jerr.text);
        goto done;
    }
    if (!json_is_object(r->doc)) {
        lint_error(L, i, NULL, "must be a JSON object");
        json_decref(r->doc);
        r->doc = NULL;
        goto done;
    }
    check_rubric(L, i);
done:
    free(text);
    cs_buf_release(&file);
    return ret;
}

/* ---- set-wide checks ---- */

static long find_key(const struct cs_rubric_set *set, const char *key)
{
    for (size_t i = 0; i < set->n; i++) {
        if (!strcmp(set->rubrics[i].key, key))
            return (long)i;
    }
    return -1;
}

/* Resolves applies_when.metric; returns a per-rubric dependency index
 * array (-1: none or unknown), new. */
static long *resolve_deps(struct loader *L)
{
    struct cs_rubric_set *set = L->set;
    long *dep = cs_xcalloc(set->n + 1, sizeof(*dep));
    struct cs_buf who = CS_BUF_INIT;

    for (size_t i = 0; i < set->n; i++) {
        struct cs_rubric_applies *a = &set->rubrics[i].applies;
        long j;

        dep[i] = -1;
        if (a->kind != CS_APPLIES_METRIC || !a->name)
            continue;
        j = find_key(set, a->name);
        if (j < 0) {
            lint_error(L, i, "applies_when.metric", "unknown metric '%s'",
                       a->name);
            continue;
        }
        dep[i] = j;
        a->dep = (size_t)j;
        if (a->equals && set->rubrics[j].doc && values_checkable(L, j) &&
            !cs_rubric_value_valid(&set->rubrics[j], a->equals)) {
            cs_buf_reset(&who);
            cs_buf_addf(&who, "'%s'", set->rubrics[j].key);
            explain_value(L, i, "applies_when.equals", &set->rubrics[j],
                          who.ptr, a->equals);
        }
    }
    cs_buf_release(&who);
    return dep;
}

/*
 * Reports each dependency cycle once (on the rubric of the cycle that
 * sorts first) and fills set->order, dependencies first. Each rubric has
 * at most one dependency, so a walk along the chain finds every cycle.
 * Returns a per-rubric flag array (new): 1 when the rubric is on or
 * behind a cycle.
 */
static unsigned char *order_deps(struct loader *L, const long *dep)
{
    struct cs_rubric_set *set = L->set;
    /* state: 0 not seen, 1 on the current walk, 2 placed in order */
    unsigned char *state = cs_xcalloc(set->n + 1, 1);
    unsigned char *cyclic = cs_xcalloc(set->n + 1, 1);
    size_t *chain = cs_xcalloc(set->n + 1, sizeof(*chain));
    size_t placed = 0;

    for (size_t start = 0; start < set->n; start++) {
        size_t len = 0, at = start;
        int found = 0, behind = 0;

        for (;;) {
            if (state[at] == 2) {
                behind = cyclic[at];
                break;
            }
            if (state[at] == 1) {
                found = 1;
                break;
            }
            state[at] = 1;
            chain[len++] = at;
            if (dep[at] < 0)
                break;
            at = (size_t)dep[at];
        }
        if (found) {
            struct cs_buf msg = CS_BUF_INIT;
            size_t c0 = 0, min;

            while (chain[c0] != at)
                c0++;
            min = chain[c0];
            for (size_t c = c0; c < len; c++) {
                if (chain[c] < min)
                    min = chain[c];
            }
            at = min;
            do {
                cs_buf_addf(&msg, "%s -> ", set->rubrics[at].key);
                at = (size_t)dep[at];
            } while (at != min);
            cs_buf_adds(&msg, set->rubrics[min].key);
            lint_error(L, min, "applies_when.metric", "dependency cycle: %s",
                       msg.ptr);
            cs_buf_release(&msg);
        }
        for (size_t c = len; c-- > 0;) {
            if (found || behind)
                cyclic[chain[c]] = 1;
            state[chain[c]] = 2;
            set->order[placed++] = chain[c];
        }
    }
    free(state);
    free(chain);
    return cyclic;
}

/* ---- naming advice (warnings) ---- */

enum {
    ST_SENTENCE = 1u << 0,
    ST_TITLE = 1u << 1,
    ST_LOWER = 1u << 2,
    ST_SNAKE = 1u << 3,
    ST_KEBAB = 1u << 4,
    ST_PASCAL = 1u << 5,
    ST_CAMEL = 1u << 6,
    ST_COUNT = 7
};

static const char *const style_names[ST_COUNT] = {
    "Sentence case", "Title Case", "lower case", "snake_case", "kebab-case",
    "PascalCase", "camelCase"};

/* Words Title Case leaves in lower case. */
static const char *const small_words[] = {
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or",
    "per", "the", "to", "via", "vs", "with", "without", NULL};

/* Styles a name without spaces can belong to ("booking_completed",
 * "BookingCompleted", "Booking"); 0 for a mix ("booking-Completed"). */
static unsigned token_styles(const char *s)
{
    size_t up = 0, low = 0, us = 0, dash = 0, other = 0, up_after0 = 0;

    for (const char *p = s; *p; p++) {
        if (is_upper(*p)) {
            up++;
            if (p != s)
                up_after0++;
        } else if (is_lower(*p)) {
            low++;
        } else if (*p == '_') {
            us++;
        } else if (*p == '-') {
            dash++;
        } else if (!is_digit(*p) && !((unsigned char)*p & 0x80)) {
            other++;
        }
    }
    if (other)
        return 0;
    if (!up) {
        if (us && dash)
            return 0;
        if (us)
            return ST_SNAKE;
        if (dash)
            return ST_KEBAB | ST_LOWER;
        return ST_LOWER | ST_SNAKE | ST_KEBAB | ST_CAMEL;
    }
    if (!low && up >= 2 && up <= 5 && !us && !dash) /* "CSAT" alone */
        return ST_SENTENCE | ST_TITLE | ST_LOWER | ST_PASCAL;
    if (us)
        return 0;
    if (dash) /* "Follow-up", "Follow-Up" */
        return is_upper(*s) ? (up_after0 ? ST_TITLE : ST_SENTENCE | ST_TITLE)
                            : 0;
    if (is_upper(*s))
        return up_after0 ? ST_PASCAL : ST_PASCAL | ST_SENTENCE | ST_TITLE;
    return ST_CAMEL;
}

/* Styles a name with spaces can belong to: Sentence case, Title Case or
 * lower case ("Auth: verified" is Sentence case; acronyms and words that
 * start with a digit or a non-ASCII letter fit every style). */
static unsigned spaced_styles(const char *name)
{
    unsigned m = ST_SENTENCE | ST_TITLE | ST_LOWER;
    int first = 1;
    const char *p = name;

    while (*p) {
        const char *w, *e;
        size_t up = 0, low = 0, len;
        int inner_up = 0, dash_up = 0;
        char word[64];

        while (*p == ' ')
            p++;
        w = p;
        while (*p && *p != ' ')
            p++;
        e = p;
        /* Strip punctuation around the word ("Auth:", "(beta)"). */
        while (w < e && !is_upper(*w) && !is_lower(*w) && !is_digit(*w) &&
               !((unsigned char)*w & 0x80))
            w++;
        while (e > w && !is_upper(e[-1]) && !is_lower(e[-1]) &&
               !is_digit(e[-1]) && !((unsigned char)e[-1] & 0x80))
            e--;
        if (w == e)
            continue;
        for (const char *c = w; c < e; c++) {
            if (*c == '_')
                return 0;
            if (is_upper(*c)) {
                up++;
                if (c > w && c[-1] == '-')
                    dash_up = 1;
                else if (c > w)
                    inner_up = 1;
            } else if (is_lower(*c)) {
                low++;
            }
        }
        if (!is_upper(*w) && !is_lower(*w))
            continue;               /* "24h", "élan": neutral */
        if (!low && up >= 2 && up <= 5) { /* an acronym: neutral */
            first = 0;
            continue;
        }
        if (inner_up)
            return 0;               /* "Booking CompletedNow", "COMPLETED" */
        if (dash_up)
            m &= ~(unsigned)(ST_SENTENCE | ST_LOWER);
        len = (size_t)(e - w);
        if (len >= sizeof(word))
            len = sizeof(word) - 1;
        memcpy(word, w, len);
        word[len] = '\0';
        if (first) {
            m &= is_upper(*w) ? ~(unsigned)ST_LOWER
                              : ~(unsigned)(ST_SENTENCE | ST_TITLE);
            first = 0;
        } else if (is_upper(*w)) {
            m &= ~(unsigned)(ST_SENTENCE | ST_LOWER);
        } else if (!in_list(word, small_words)) {
            m &= ~(unsigned)ST_TITLE;
        }
    }
    return m;
}

static unsigned name_styles(const char *name)
{
    return strchr(name, ' ') ? spaced_styles(name) : token_styles(name);
}

static const char *style_name(unsigned mask)
{
    for (unsigned s = 0; s < ST_COUNT; s++) {
        if (mask & (1u << s))
            return style_names[s];
    }
    return "mixed casing";
}

/* Warns about every name whose casing is not the style most names use. */
static void check_casing(struct loader *L)
{
    struct cs_rubric_set *set = L->set;
    unsigned *mask = cs_xcalloc(set->n + 1, sizeof(*mask));
    size_t count[ST_COUNT] = {0}, named = 0, best = 0;

    for (size_t i = 0; i < set->n; i++) {
        if (!set->rubrics[i].name)
            continue;
        named++;
        mask[i] = name_styles(set->rubrics[i].name);
        for (unsigned s = 0; s < ST_COUNT; s++) {
            if (mask[i] & (1u << s))
                count[s]++;
        }
    }
    for (unsigned s = 1; s < ST_COUNT; s++) {
        if (count[s] > count[best])
            best = s;
    }
    if (named < 2 || count[best] == named)
        goto done;
    for (size_t i = 0; i < set->n; i++) {
        if (!set->rubrics[i].name || (mask[i] & (1u << best)))
            continue;
        lint_warning(L, i, "name", "'%s' is in %s while the other names "
                     "use %s: keep one casing style per project",
                     set->rubrics[i].name, style_name(mask[i]),
                     style_names[best]);
    }
done:
    free(mask);
}

/* Words the project does not use for a handoff ("handoff" is the term);
 * "hand over", "handed off", "hand-over"... are found by hand_phrase. */
static const char *const handoff_synonyms[] = {"transfer", "escalat", NULL};

/* If a "hand" word starting at p is a handoff synonym ("hand over",
 * "handed-off", "handover"; not "handoff" itself), returns its end. */
static const char *hand_phrase(const char *p)
{
    static const char *const suffixes[] = {"ing", "ed", "s", "", NULL};
    const char *q = NULL;

    if (strncmp(p, "hand", 4))
        return NULL;
    for (size_t k = 0; suffixes[k]; k++) {
        size_t n = strlen(suffixes[k]);
        const char *r = p + 4;

        if (strncmp(r, suffixes[k], n))
            continue;
        r += n;
        if (*r == ' ' || *r == '-' || *r == '_')
            r++;
        else if (!strncmp(r, "off", 3) && !n)
            continue;       /* "handoff": the project's own term */
        if (!strncmp(r, "over", 4))
            q = r + 4;
        else if (!strncmp(r, "off", 3))
            q = r + 3;
        if (q && !is_lower(*q))
            return q;
        q = NULL;
    }
    return NULL;
}

/* Finds a handoff synonym in `s`; puts the words found (lower case) in
 * `word` and returns 1, or returns 0. */
static int find_synonym(struct cs_buf *word, const char *s)
{
    char *lc = cs_xstrdup(s);
    const char *b = NULL, *e = NULL;

    for (char *p = lc; *p; p++)
        *p = lower(*p);
    for (size_t k = 0; handoff_synonyms[k] && !b; k++) {
        const char *hit = strstr(lc, handoff_synonyms[k]);

        if (!hit)
            continue;
        b = hit;
        e = hit + strlen(handoff_synonyms[k]);
        while (b > lc && is_lower(b[-1]))
            b--;
        while (is_lower(*e))
            e++;
    }
    for (const char *p = lc; *p && !b; p++) {
        if (p == lc || !is_lower(p[-1])) {
            e = hand_phrase(p);
            if (e)
                b = p;
        }
    }
    if (b) {
        cs_buf_reset(word);
        cs_buf_add(word, b, (size_t)(e - b));
    }
    free(lc);
    return b != NULL;
}

static void check_terms(struct loader *L)
{
    struct cs_buf word = CS_BUF_INIT;

    for (size_t i = 0; i < L->set->n; i++) {
        const struct cs_rubric *r = &L->set->rubrics[i];

        if (find_synonym(&word, r->key))
            lint_warning(L, i, NULL, "key '%s' says '%s': the project term "
                         "is 'handoff'", r->key, word.ptr);
        if (r->name && find_synonym(&word, r->name))
            lint_warning(L, i, "name", "'%s' says '%s': the project term is "
                         "'handoff'", r->name, word.ptr);
    }
    cs_buf_release(&word);
}

/* Length of the "Prefix" of "Prefix: rest", or 0. */
static size_t prefix_len(const char *name)
{
    const char *c = strstr(name, ": ");

    if (!c || c == name || memchr(name, ' ', (size_t)(c - name)))
        return 0;
    return (size_t)(c - name);
}

/* The first word of a name, lower case, without punctuation. */
static void first_word(char *out, size_t n, const char *name)
{
    size_t k = 0;

    for (const char *p = name; *p && *p != ' ' && k + 1 < n; p++) {
        if (is_upper(*p) || is_lower(*p) || is_digit(*p) ||
            ((unsigned char)*p & 0x80))
            out[k++] = lower(*p);
        else if (*p == ':')
            break;
    }
    out[k] = '\0';
}

static int same_prefix(const char *a, const char *b)
{
    size_t la = prefix_len(a), lb = prefix_len(b);

    if (!la || la != lb)
        return 0;
    for (size_t k = 0; k < la; k++) {
        if (lower(a[k]) != lower(b[k]))
            return 0;
    }
    return 1;
}

/* Warns (once per rubric) when a rubric is related to an earlier one, by
 * the first word of their names or a shared tag, and their names do not
 * share a "Prefix: ". */
static void check_prefixes(struct loader *L)
{
    struct cs_rubric_set *set = L->set;
    struct cs_buf why = CS_BUF_INIT;

    for (size_t j = 0; j < set->n; j++) {
        const struct cs_rubric *b = &set->rubrics[j];
        char wb[64];

        if (!b->name)
            continue;
        first_word(wb, sizeof(wb), b->name);
        for (size_t i = 0; i < j; i++) {
            const struct cs_rubric *a = &set->rubrics[i];
            char wa[64];

            if (!a->name || same_prefix(a->name, b->name) ||
                same_ci(a->name, b->name))
                continue;
            cs_buf_reset(&why);
            first_word(wa, sizeof(wa), a->name);
            if (*wa && !strcmp(wa, wb))
                cs_buf_addf(&why, "the first word '%s'", wa);
            for (size_t x = 0; x < a->n_tags && !why.len; x++) {
                for (size_t y = 0; y < b->n_tags && !why.len; y++) {
                    if (same_ci(a->tags[x], b->tags[y]))
                        cs_buf_addf(&why, "the tag '%s'", a->tags[x]);
                }
            }
            if (!why.len)
                continue;
            lint_warning(L, j, "name", "'%s' and '%s' (%s) share %s but "
                         "not a 'Prefix: ' in their names", b->name,
                         a->name, a->file, why.ptr);
            break;
        }
    }
    cs_buf_release(&why);
}

static void check_names(struct loader *L)
{
    struct cs_rubric_set *set = L->set;

    for (size_t j = 0; j < set->n; j++) {
        for (size_t i = 0; i < j && set->rubrics[j].name; i++) {
            if (set->rubrics[i].name &&
                same_ci(set->rubrics[i].name, set->rubrics[j].name)) {
                lint_error(L, j, "name", "duplicate name '%s' (also in %s)",
                           set->rubrics[j].name, set->rubrics[i].file);
                break;
            }
        }
    }
    check_casing(L);
    check_terms(L);
    check_prefixes(L);
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The `*.json` file names of `dir` (hidden files skipped), sorted; new. */
static int list_dir(char ***out, size_t *n_out, const char *dir,
                    struct cs_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, alloc = 0;

    *out = NULL;
    *n_out = 0;
    if (!d)
        return cs_err_set(err, errno == ENOENT ? CS_ENOTFOUND : CS_EIO,
                          "cannot open rubric directory '%s': %s", dir,
                          strerror(errno));
    for (;;) {
        size_t len;

        errno = 0;
        e = readdir(d);
        if (!e)
            break;
        len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 ||
            strcmp(e->d_name + len - 5, ".json"))
            continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            names = cs_xrealloc(names, alloc * sizeof(*names));
        }
        names[n++] = cs_xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    *out = names;
    *n_out = n;
    return 0;
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
    size_t n = rep->n - from;
    struct cs_lint_item *v = rep->items + from;

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
    struct loader L;
    char **names = NULL;
    long *dep = NULL;
    unsigned char *cyclic = NULL;
    size_t n = 0, first_item = rep->n;
    int ret;

    *out = NULL;
    memset(&L, 0, sizeof(L));
    ret = list_dir(&names, &n, dir, err);
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
    dep = resolve_deps(&L);
    cyclic = order_deps(&L, dep);
    check_names(&L);
    sort_report(rep, first_item);
    for (size_t k = 0; k < n; k++) {
        size_t i = set->order[k];

        if (set->rubrics[i].doc)
            compute_version(set, i, cyclic[i] ? -1 : dep[i]);
    }
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
        json_decref(r->doc);
    }
    free(set->rubrics);
    free(set->order);
    free(set);
}

const struct cs_rubric *cs_rubric_set_find(const struct cs_rubric_set *set,
                                           const char *key)
{
    long i = find_key(set, key);

    return i < 0 ? NULL : &set->rubrics[i];
}
