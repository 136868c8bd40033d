/* lint.c - check one rubric file against the format; the lint report */
#include "rubric/rubric_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/parse.h"
#include "regex/regex.h"

static const char *const top_fields[] = {
    "name", "type", "definition", "success", "failure", "partial",
    "categories", "scale", "applies_when", "rules", "tags", "direction",
    "tenants", "min_kappa", NULL};


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
    struct cs_buf raw = CS_BUF_INIT, reason = CS_BUF_INIT,
                  where = CS_BUF_INIT;
    struct cs_lint_item *it;

    if (rep->n == rep->alloc) {
        rep->alloc = rep->alloc ? rep->alloc * 2 : 16;
        rep->items = cs_xrealloc(rep->items,
                                 rep->alloc * sizeof(*rep->items));
    }
    /* Reasons and fields quote the files (names, keys, labels): one line
     * of UTF-8 each, whatever they hold (cs_buf_add_excerpt). */
    cs_buf_vaddf(&raw, fmt, ap);
    cs_buf_add_excerpt(&reason, raw.ptr, raw.len, 4096);
    if (field)
        cs_buf_add_excerpt(&where, field, strlen(field), 1024);
    it = &rep->items[rep->n++];
    it->severity = sev;
    it->file = cs_xstrdup(file);
    it->field = field ? cs_buf_detach(&where, NULL) : NULL;
    it->reason = cs_buf_detach(&reason, NULL);
    cs_buf_release(&raw);
    cs_buf_release(&where);
    if (sev == CS_LINT_ERROR)
        rep->n_errors++;
    else
        rep->n_warnings++;
}

void cs_lint_add(struct cs_lint_report *rep, enum cs_lint_severity sev,
                 const char *file, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_v(rep, sev, file, field, fmt, ap);
    va_end(ap);
}

void cs_lint_error(struct cs_rubric_loader *L, size_t i, const char *field,
                   const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_v(L->rep, CS_LINT_ERROR, L->set->rubrics[i].file, field, fmt, ap);
    va_end(ap);
}

void cs_lint_warning(struct cs_rubric_loader *L, size_t i,
                     const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_v(L->rep, CS_LINT_WARNING, L->set->rubrics[i].file, field, fmt,
             ap);
    va_end(ap);
}

/* ---- small helpers ---- */

int cs_rubric_in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (!strcmp(s, list[i]))
            return 1;
    }
    return 0;
}

int cs_rubric_is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

int cs_rubric_is_digit(char c)
{
    return c >= '0' && c <= '9';
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

/* ---- values ---- */

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
static void get_text(struct cs_rubric_loader *L, size_t i,
                     const char *field, int required, const char **out)
{
    const json_t *v = json_object_get(L->set->rubrics[i].doc, field);

    *out = NULL;
    if (!v) {
        if (required)
            cs_lint_error(L, i, field, "missing");
        return;
    }
    if (!json_is_string(v)) {
        cs_lint_error(L, i, field, "must be a string");
        return;
    }
    if (blank(json_string_value(v))) {
        cs_lint_error(L, i, field, "must not be empty");
        return;
    }
    *out = json_string_value(v);
}

static void check_pattern(struct cs_rubric_loader *L, size_t i,
                          const char *field, const json_t *v,
                          const char **out)
{
    struct cs_err e;
    size_t at = 0;

    *out = NULL;
    if (!v) {
        cs_lint_error(L, i, field, "missing");
        return;
    }
    if (!json_is_string(v)) {
        cs_lint_error(L, i, field, "must be a string (a PCRE2 pattern)");
        return;
    }
    if (!*json_string_value(v)) {
        cs_lint_error(L, i, field, "must not be empty");
        return;
    }
    cs_err_clear(&e);
    if (cs_regex_check(json_string_value(v), &e) < 0) {
        cs_lint_error(L, i, field, "%s", e.msg);
        return;
    }
    if (cs_regex_nested_quantifier(json_string_value(v), &at))
        cs_lint_warning(L, i, field, "the group at offset %zu repeats "
                        "without bound and holds an unbounded repeat "
                        "itself: matching can take exponential time (each "
                        "match stops at score.match_limit steps, a "
                        "conversation at score.time_budget_ms); make the "
                        "inner repeat possessive (*+, ++) or the group "
                        "atomic (?>...)", at);
    *out = json_string_value(v);
}

static void check_role(struct cs_rubric_loader *L, size_t i,
                       const char *field, const json_t *v,
                       enum cs_role *out)
{
    const char *s = json_string_value(v);
    char *d;

    *out = CS_ROLE_ANY;
    if (!v) {
        cs_lint_error(L, i, field, "missing: must be agent, customer or any");
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
        cs_lint_error(L, i, field, "unknown role %s: must be agent, customer "
                      "or any", d);
        free(d);
    }
}

static void check_type(struct cs_rubric_loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "type");
    const char *s = json_string_value(v);
    char *d;

    r->type = CS_RUBRIC_UNKNOWN;
    if (!v) {
        cs_lint_error(L, i, "type", "missing: must be boolean, categorical or "
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
        cs_lint_error(L, i, "type", "unknown type %s: must be boolean, "
                      "categorical or score", d);
        free(d);
    }
}

static void check_categories(struct cs_rubric_loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "categories");
    struct cs_buf p = CS_BUF_INIT;
    const char *label;
    json_t *desc;

    if (!v) {
        if (r->type == CS_RUBRIC_CATEGORICAL)
            cs_lint_error(L, i, "categories", "required for a categorical "
                          "metric");
        return;
    }
    if (r->type != CS_RUBRIC_CATEGORICAL) {
        if (r->type != CS_RUBRIC_UNKNOWN)
            cs_lint_error(L, i, "categories", "only categorical metrics have "
                          "categories");
        return;
    }
    if (!json_is_object(v)) {
        cs_lint_error(L, i, "categories", "must be an object of label to "
                      "description");
        return;
    }
    if (json_object_size(v) == 0) {
        cs_lint_error(L, i, "categories", "must not be empty");
        return;
    }
    r->categories = cs_xcalloc(json_object_size(v), sizeof(*r->categories));
    json_object_foreach((json_t *)v, label, desc) {
        if (blank(label)) {
            cs_lint_error(L, i, "categories", "a label must not be empty");
            continue;
        }
        path(&p, "categories.%s", label);
        if (!strcmp(label, "not_applicable") || !strcmp(label, "error")) {
            cs_lint_error(L, i, p.ptr, "reserved label: '%s' is a result of "
                          "every metric", label);
            continue;
        }
        if (!json_is_string(desc) || blank(json_string_value(desc))) {
            cs_lint_error(L, i, p.ptr, "the description must be a non-empty "
                          "string");
        }
        r->categories[r->n_categories].label = label;
        r->categories[r->n_categories].description = json_string_value(desc);
        r->n_categories++;
    }
    cs_buf_release(&p);
}

static int get_int(struct cs_rubric_loader *L, size_t i,
                   const json_t *obj, const char *key, const char *field,
                   long *out)
{
    const json_t *v = json_object_get(obj, key);

    if (!v) {
        cs_lint_error(L, i, field, "missing");
        return 0;
    }
    if (!json_is_integer(v)) {
        cs_lint_error(L, i, field, "must be an integer");
        return 0;
    }
    *out = (long)json_integer_value(v);
    return 1;
}

static void check_scale(struct cs_rubric_loader *L, size_t i)
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
            cs_lint_error(L, i, "scale", "required for a score metric");
        return;
    }
    if (r->type != CS_RUBRIC_SCORE) {
        if (r->type != CS_RUBRIC_UNKNOWN)
            cs_lint_error(L, i, "scale", "only score metrics have a scale");
        return;
    }
    if (!json_is_object(v)) {
        cs_lint_error(L, i, "scale", "must be an object with min, max and "
                      "anchors");
        return;
    }
    json_object_foreach((json_t *)v, k, a) {
        if (strcmp(k, "min") && strcmp(k, "max") && strcmp(k, "anchors"))
            cs_lint_error(L, i, path(&p, "scale.%s", k), "unknown field");
    }
    ok = get_int(L, i, v, "min", "scale.min", &lo);
    ok &= get_int(L, i, v, "max", "scale.max", &hi);
    if (ok && lo >= hi) {
        cs_lint_error(L, i, "scale", "min (%ld) must be less than max (%ld)",
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
        cs_lint_error(L, i, "scale.anchors", "must be an object of point to "
                      "description");
        goto done;
    }
    r->anchors = cs_xcalloc(json_object_size(anchors) + 1,
                            sizeof(*r->anchors));
    json_object_foreach((json_t *)anchors, k, a) {
        path(&p, "scale.anchors.%s", k);
        if (cs_parse_long(k, &n) < 0) {
            cs_lint_error(L, i, p.ptr, "'%s' is not an integer point", k);
            continue;
        }
        if (ok && (n < lo || n > hi)) {
            cs_lint_error(L, i, p.ptr, "point %ld is outside the scale "
                          "%ld..%ld", n, lo, hi);
            continue;
        }
        if (!json_is_string(a) || blank(json_string_value(a))) {
            cs_lint_error(L, i, p.ptr, "must be a non-empty string");
            continue;
        }
        r->anchors[r->n_anchors].point = n;
        r->anchors[r->n_anchors].text = json_string_value(a);
        r->n_anchors++;
    }
done:
    cs_buf_release(&p);
}

int cs_rubric_values_checkable(const struct cs_rubric_loader *L, size_t i)
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

void cs_rubric_value_explain(struct cs_buf *out, const struct cs_rubric *r,
                             const char *who, const json_t *v)
{
    char *d = dump(v);

    switch (r->type) {
    case CS_RUBRIC_BOOLEAN:
        cs_buf_addf(out, "value %s is not allowed for %s: must be true, "
                    "false%s or \"not_applicable\"", d, who,
                    r->partial ? ", \"partial\"" : "");
        break;
    case CS_RUBRIC_CATEGORICAL:
        cs_buf_addf(out, "value %s is not a category of %s (", d, who);
        for (size_t c = 0; c < r->n_categories; c++) {
            cs_buf_addf(out, "%s%s", c ? ", " : "",
                        r->categories[c].label);
        }
        cs_buf_adds(out, ") nor \"not_applicable\"");
        break;
    default:
        if (json_is_number(v)) {
            cs_buf_addf(out, "value %s is outside the scale %ld..%ld of %s",
                        d, r->scale_min, r->scale_max, who);
        } else {
            cs_buf_addf(out, "value %s is not allowed for %s: must be a "
                        "number in %ld..%ld or \"not_applicable\"", d, who,
                        r->scale_min, r->scale_max);
        }
        break;
    }
    free(d);
}

void cs_lint_value(struct cs_rubric_loader *L, size_t i, const char *field,
                   const struct cs_rubric *r, const char *who,
                   const json_t *v)
{
    struct cs_buf why = CS_BUF_INIT;

    cs_rubric_value_explain(&why, r, who, v);
    cs_lint_error(L, i, field, "%s", why.ptr);
    cs_buf_release(&why);
}

static void check_value(struct cs_rubric_loader *L, size_t i,
                        const char *field, const json_t *v)
{
    const struct cs_rubric *r = &L->set->rubrics[i];

    if (!cs_rubric_values_checkable(L, i) || cs_rubric_value_valid(r, v))
        return;
    cs_lint_value(L, i, field, r, "this metric", v);
}

static void check_applies(struct cs_rubric_loader *L, size_t i)
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
        cs_lint_error(L, i, "applies_when", "must be an object");
        return;
    }
    tm = json_object_get(v, "turn_matches");
    metric = json_object_get(v, "metric");
    field = json_object_get(v, "field");
    kinds = !!tm + !!metric + !!field;
    if (kinds == 0) {
        cs_lint_error(L, i, "applies_when", "unknown kind: must have "
                      "turn_matches, metric or field");
        return;
    }
    if (kinds > 1) {
        cs_lint_error(L, i, "applies_when", "must have only one of "
                      "turn_matches, metric or field");
        return;
    }
    json_object_foreach((json_t *)v, k, x) {
        int known = tm ? (!strcmp(k, "turn_matches") || !strcmp(k, "role"))
                       : (!strcmp(k, metric ? "metric" : "field") ||
                          !strcmp(k, "equals"));

        if (!known)
            cs_lint_error(L, i, path(&p, "applies_when.%s", k),
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
        cs_lint_error(L, i, k, "must be a non-empty string");
    } else if (field &&
               !cs_conv_field_comparable(json_string_value(x))) {
        cs_lint_error(L, i, k, "unknown conversation field '%s'",
                      json_string_value(x));
    } else {
        a->name = json_string_value(x);
    }
    a->equals = json_object_get(v, "equals");
    if (!a->equals)
        cs_lint_error(L, i, "applies_when.equals", "missing");
done:
    cs_buf_release(&p);
}

static void check_rules(struct cs_rubric_loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "rules");
    struct cs_buf p = CS_BUF_INIT;
    size_t n;

    if (!v)
        return;
    if (!json_is_array(v)) {
        cs_lint_error(L, i, "rules", "must be an array");
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
            cs_lint_error(L, i, path(&p, "rules[%zu]", j),
                          "must be an object");
            continue;
        }
        def = json_object_get(rule, "default");
        tm = json_object_get(rule, "turn_matches");
        value = json_object_get(rule, "value");
        if (def) {
            if (json_object_size(rule) > 1)
                cs_lint_error(L, i, path(&p, "rules[%zu]", j), "a default "
                              "rule has no other field than default");
            if (j + 1 < n)
                cs_lint_error(L, i, path(&p, "rules[%zu].default", j),
                              "must be the last rule (the rules after it are "
                              "never reached)");
            check_value(L, i, path(&p, "rules[%zu].default", j), def);
            out->is_default = 1;
            out->value = def;
            r->n_rules++;
            continue;
        }
        if (!tm && !value) {
            cs_lint_error(L, i, path(&p, "rules[%zu]", j), "must have "
                          "turn_matches, role and value, or default");
            continue;
        }
        json_object_foreach((json_t *)rule, k, x) {
            if (strcmp(k, "turn_matches") && strcmp(k, "role") &&
                strcmp(k, "value"))
                cs_lint_error(L, i, path(&p, "rules[%zu].%s", j, k),
                              "unknown field");
        }
        check_pattern(L, i, path(&p, "rules[%zu].turn_matches", j), tm,
                      &out->pattern);
        check_role(L, i, path(&p, "rules[%zu].role", j),
                   json_object_get(rule, "role"), &out->role);
        if (!value)
            cs_lint_error(L, i, path(&p, "rules[%zu].value", j), "missing");
        else
            check_value(L, i, path(&p, "rules[%zu].value", j), value);
        out->value = value;
        r->n_rules++;
    }
    cs_buf_release(&p);
}

static void check_tags(struct cs_rubric_loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "tags");
    struct cs_buf p = CS_BUF_INIT;
    size_t j;
    json_t *t;

    if (!v)
        return;
    if (!json_is_array(v)) {
        cs_lint_error(L, i, "tags", "must be an array of strings");
        return;
    }
    r->tags = cs_xcalloc(json_array_size(v) + 1, sizeof(*r->tags));
    json_array_foreach(v, j, t) {
        if (!json_is_string(t) || blank(json_string_value(t))) {
            cs_lint_error(L, i, path(&p, "tags[%zu]", j),
                          "must be a non-empty string");
            continue;
        }
        r->tags[r->n_tags++] = json_string_value(t);
    }
    cs_buf_release(&p);
}

/* How reports colour a change (docs/rubric-format.md): for a boolean its
 * true rate, for a score its mean; categorical metrics have none. */
static void check_direction(struct cs_rubric_loader *L, size_t i)
{
    static const char *const names[] = {"higher_is_good", "lower_is_good",
                                        "neutral", NULL};
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "direction");
    const char *s = json_string_value(v);

    r->direction = CS_RUBRIC_HIGHER_IS_GOOD;
    if (!v)
        return;
    if (!s || !cs_rubric_in_list(s, names)) {
        cs_lint_error(L, i, "direction", "must be \"higher_is_good\", "
                      "\"lower_is_good\" or \"neutral\"");
        return;
    }
    if (r->type == CS_RUBRIC_CATEGORICAL) {
        cs_lint_error(L, i, "direction", "a categorical metric has no "
                      "direction (its labels are not better or worse)");
        return;
    }
    r->direction = strcmp(s, "lower_is_good") == 0 ? CS_RUBRIC_LOWER_IS_GOOD
                   : strcmp(s, "neutral") == 0     ? CS_RUBRIC_NEUTRAL
                                                   : CS_RUBRIC_HIGHER_IS_GOOD;
}

void cs_lint_tenants(struct cs_lint_report *rep, const char *file,
                     const json_t *v, size_t *n_out, const char ***out)
{
    struct cs_buf p = CS_BUF_INIT;
    const char **list;
    size_t j, n = 0;
    json_t *t;

    *n_out = 0;
    *out = NULL;
    if (!v)
        return;
    if (!json_is_array(v)) {
        cs_lint_add(rep, CS_LINT_ERROR, file, "tenants", "must be an array "
                    "of tenant names");
        return;
    }
    if (json_array_size(v) == 0) {
        cs_lint_add(rep, CS_LINT_ERROR, file, "tenants", "must name at least "
                    "one tenant (leave it out for every tenant)");
        return;
    }
    list = cs_xcalloc(json_array_size(v) + 1, sizeof(*list));
    json_array_foreach(v, j, t) {
        const char *s = json_string_value(t);
        int dup = 0;

        cs_buf_reset(&p);
        cs_buf_addf(&p, "tenants[%zu]", j);
        if (!s || blank(s)) {
            cs_lint_add(rep, CS_LINT_ERROR, file, p.ptr,
                        "must be a non-empty string");
            continue;
        }
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(list[k], s) == 0;
        if (dup) {
            cs_lint_add(rep, CS_LINT_ERROR, file, p.ptr, "'%s' is named "
                        "twice", s);
            continue;
        }
        list[n++] = s;
    }
    *n_out = n;
    *out = list;
    cs_buf_release(&p);
}

int cs_tenant_listed(const char *const *tenants, size_t n,
                     const char *tenant)
{
    if (n == 0 || !tenant)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tenants[i], tenant) == 0)
            return 1;
    }
    return 0;
}

int cs_rubric_for_tenant(const struct cs_rubric *r, const char *tenant)
{
    return cs_tenant_listed(r->tenants, r->n_tenants, tenant);
}

/* The agreement with human labels below which reports say the metric is
 * not yet verified (Cohen's kappa, so 0..1 as the format says). */
static void check_min_kappa(struct cs_rubric_loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const json_t *v = json_object_get(r->doc, "min_kappa");

    r->min_kappa = NAN;
    if (!v)
        return;
    if (!json_is_number(v) || json_number_value(v) < 0 ||
        json_number_value(v) > 1) {
        cs_lint_error(L, i, "min_kappa", "must be a number from 0 to 1");
        return;
    }
    r->min_kappa = json_number_value(v);
}

void cs_rubric_check_file(struct cs_rubric_loader *L, size_t i)
{
    struct cs_rubric *r = &L->set->rubrics[i];
    const char *k;
    json_t *v;

    json_object_foreach(r->doc, k, v) {
        if (!cs_rubric_in_list(k, top_fields))
            cs_lint_error(L, i, k, "unknown field");
    }
    get_text(L, i, "name", 1, &r->name);
    check_type(L, i);
    get_text(L, i, "definition", 1, &r->definition);
    get_text(L, i, "success", r->type == CS_RUBRIC_BOOLEAN, &r->success);
    get_text(L, i, "failure", r->type == CS_RUBRIC_BOOLEAN, &r->failure);
    get_text(L, i, "partial", 0, &r->partial);
    if (r->partial && r->type != CS_RUBRIC_BOOLEAN &&
        r->type != CS_RUBRIC_UNKNOWN)
        cs_lint_error(L, i, "partial", "only boolean metrics have a partial "
                      "outcome");
    check_categories(L, i);
    check_scale(L, i);
    check_applies(L, i);
    check_rules(L, i);
    check_tags(L, i);
    check_direction(L, i);
    cs_lint_tenants(L->rep, r->file, json_object_get(r->doc, "tenants"),
                    &r->n_tenants, &r->tenants);
    check_min_kappa(L, i);
}
