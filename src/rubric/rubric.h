/* rubric.h - load, lint and version the metric rubrics of a directory */
#ifndef CS_RUBRIC_RUBRIC_H
#define CS_RUBRIC_RUBRIC_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "model/conv.h"

/*
 * Usage:
 *
 *     struct cs_rubric_set *set = NULL;
 *     struct cs_lint_report rep;
 *
 *     cs_lint_report_init(&rep);
 *     if (cs_rubric_set_load(&set, "rubrics", &rep, &err) < 0)
 *         ...  // err says why; rep lists every problem (errors and warnings)
 *     for (size_t i = 0; i < set->n; i++) {
 *         const struct cs_rubric *r = &set->rubrics[set->order[i]];
 *         ...  // dependencies (applies_when.metric) come before dependents
 *     }
 *     cs_rubric_set_free(set);
 *     cs_lint_report_release(&rep);
 *
 * The format is docs/rubric-format.md: one `<key>.json` per
 * metric, the key being the file name without `.json` ([a-z0-9_]+).
 * A loaded set is always valid: cs_rubric_set_load refuses a directory
 * with any lint error (warnings do not block).
 *
 * Version: `version` is the first 16 hex digits of the SHA-256 of the
 * rubric's canonical form, which is the file's JSON object without `name`,
 * `tags`, `direction`, `tenants` and `min_kappa` (display-only or scope:
 * renaming a metric, regrouping it on a dashboard, changing how reports
 * colour it, which tenants it applies to or the agreement it must reach
 * does not re-score it), dumped compactly with sorted keys
 * (jansson JSON_COMPACT|JSON_SORT_KEYS), so whitespace, key order and
 * string escapes do not matter while any change of type, definition,
 * success/failure/partial, categories, scale, applies_when or rules does.
 * A rubric whose applies_when names another metric also hashes that
 * metric's version ("<canonical>\n<dep key>=<dep version>"), because its
 * results follow from the other metric's results; a change to a metric
 * thus re-scores it and the metrics that depend on it, nothing else.
 */

enum cs_rubric_type {
    CS_RUBRIC_UNKNOWN = 0,  /* only while linting a broken file */
    CS_RUBRIC_BOOLEAN = 1,
    CS_RUBRIC_CATEGORICAL = 2,
    CS_RUBRIC_SCORE = 3
};

/* Which way of a boolean's true rate or a score's mean is good news. */
enum cs_rubric_direction {
    CS_RUBRIC_HIGHER_IS_GOOD = 0,   /* the default */
    CS_RUBRIC_LOWER_IS_GOOD,
    CS_RUBRIC_NEUTRAL
};

enum cs_applies_kind {
    CS_APPLIES_ALWAYS = 0,      /* no applies_when */
    CS_APPLIES_TURN_MATCHES = 1,
    CS_APPLIES_METRIC = 2,
    CS_APPLIES_FIELD = 3
};

/* All strings and json_t values below are borrowed from the rubric's
 * `doc` and stay valid until the set is freed. */

struct cs_rubric_category {
    const char *label;
    const char *description;
};

struct cs_rubric_anchor {
    long point;
    const char *text;
};

struct cs_rubric_applies {
    enum cs_applies_kind kind;
    const char *pattern;    /* TURN_MATCHES */
    enum cs_role role;      /* TURN_MATCHES: AGENT, CUSTOMER or ANY */
    const char *name;       /* METRIC: the key; FIELD: the field name */
    size_t dep;             /* METRIC: index of that rubric in the set */
    const json_t *equals;   /* METRIC, FIELD */
};

struct cs_rubric_rule {
    int is_default;         /* {"default": v}; pattern and role unused */
    const char *pattern;
    enum cs_role role;
    const json_t *value;
};

struct cs_rubric {
    const char *key;        /* from the file name */
    const char *file;       /* "<key>.json" */
    const char *name;
    enum cs_rubric_type type;
    const char *definition;
    const char *success;    /* NULL when absent */
    const char *failure;
    const char *partial;
    size_t n_categories;    /* categorical: labels in file order */
    struct cs_rubric_category *categories;
    long scale_min;         /* score */
    long scale_max;
    size_t n_anchors;
    struct cs_rubric_anchor *anchors;
    struct cs_rubric_applies applies;
    size_t n_rules;
    struct cs_rubric_rule *rules;
    size_t n_tags;
    const char **tags;
    enum cs_rubric_direction direction;
    size_t n_tenants;       /* 0: every tenant */
    const char **tenants;
    double min_kappa;       /* NAN when absent */
    char version[17];
    json_t *doc;            /* the whole file, owned by the set */
};

/*
 * A QA scorecard (docs/scorecard-format.md), `<key>.scorecard.json` in
 * the rubric folder: weighted points over metric results, with auto-fail
 * conditions. An item or condition is met when the metric's result
 * equals `value`, or (score metrics) is >= `min` and <= `max` (NAN when
 * not given); `rubric` is the metric's index in set->rubrics. Strings and
 * JSON values are borrowed from `doc`.
 */
struct cs_scorecard_item {
    const char *metric;
    size_t rubric;
    const json_t *value;    /* NULL when min/max are used */
    double min;
    double max;
    double points;          /* items only */
    double partial_points;  /* a boolean "partial" result (default 0) */
};

struct cs_scorecard {
    const char *key;        /* from the file name */
    const char *file;       /* "<key>.scorecard.json" */
    const char *name;
    size_t n_tenants;       /* 0: every tenant */
    const char **tenants;
    size_t n_items;
    struct cs_scorecard_item *items;
    size_t n_auto_fail;
    struct cs_scorecard_item *auto_fail;
    double pass_mark;       /* the score a conversation must reach (80) */
    /* First 16 hex digits of the SHA-256 of the file without its display
     * fields (name, tenants, pass_mark), plus each metric's version. */
    char version[17];
    json_t *doc;
};

struct cs_rubric_set {
    size_t n;
    struct cs_rubric *rubrics;  /* sorted by key */
    size_t *order;              /* n indices into rubrics, dependencies first */
    size_t n_scorecards;
    struct cs_scorecard *scorecards; /* sorted by key */
};

enum cs_lint_severity {
    CS_LINT_ERROR = 0,
    CS_LINT_WARNING = 1
};

/* One problem: `file` is the file name within the directory, `field` a
 * JSON path ("rules[2].turn_matches") or NULL for the whole file. */
struct cs_lint_item {
    enum cs_lint_severity severity;
    char *file;
    char *field;
    char *reason;
};

struct cs_lint_report {
    size_t n;
    size_t alloc;
    struct cs_lint_item *items;
    size_t n_errors;
    size_t n_warnings;
};

/* Sets up an empty report (no allocation). */
void cs_lint_report_init(struct cs_lint_report *rep);

/* Frees the items and leaves the report empty. */
void cs_lint_report_release(struct cs_lint_report *rep);

/*
 * Appends one line for `it` to `out`: "file: field: reason" (the field
 * part omitted when NULL), prefixed with "warning: " for warnings.
 */
void cs_lint_item_format(struct cs_buf *out, const struct cs_lint_item *it);

/*
 * Checks every `*.json` file of `dir` against the rubric format and the
 * naming advice, appending each problem to `out` (initialised by the
 * caller), errors and warnings alike, in file order and then set-wide
 * problems. Returns 0 when the check ran, whatever it found (see
 * out->n_errors), or CS_ENOTFOUND / CS_EIO when `dir` or a file cannot be
 * read.
 */
int cs_rubric_lint(struct cs_lint_report *out, const char *dir,
                   struct cs_err *err);

/*
 * Loads the rubric set of `dir`. When the set has a lint error, returns
 * CS_EINVALID with the count and the first problem in `err` and sets *out
 * to NULL. `report` (may be NULL) receives every problem, warnings
 * included. *out is new; free it with cs_rubric_set_free.
 */
int cs_rubric_set_load(struct cs_rubric_set **out, const char *dir,
                       struct cs_lint_report *report, struct cs_err *err);

/* Frees the set and everything borrowed from it; NULL is a no-op. */
void cs_rubric_set_free(struct cs_rubric_set *set);

/* The rubric with this key, borrowed from `set`, or NULL. */
const struct cs_rubric *cs_rubric_set_find(const struct cs_rubric_set *set,
                                           const char *key);

/* The scorecard with this key, borrowed from `set`, or NULL. */
const struct cs_scorecard *cs_scorecard_find(const struct cs_rubric_set *set,
                                             const char *key);

/* 1 when the rubric applies to `tenant` (it names no tenants, or this
 * one), else 0. */
int cs_rubric_for_tenant(const struct cs_rubric *r, const char *tenant);
int cs_scorecard_for_tenant(const struct cs_scorecard *sc,
                            const char *tenant);

/* 1 when `key` names a metric of the set for `tenant`: a rubric or a
 * scorecard that applies to it (NULL tenant: any). */
int cs_rubric_set_has(const struct cs_rubric_set *set, const char *key,
                      const char *tenant);

/*
 * 1 when `value` is a result the rubric may produce: true/false (and
 * "partial" when the rubric defines partial) for boolean, one of the
 * category labels for categorical, a number within the scale for score,
 * and "not_applicable" for every type; else 0.
 */
int cs_rubric_value_valid(const struct cs_rubric *r, const json_t *value);

/*
 * Appends to `out` why `value` is not a result rubric `r` can have (call
 * it when cs_rubric_value_valid says 0), naming the rubric as `who`:
 * "value \"x\" is not a category of 'call_reason' (billing, booking) nor
 * \"not_applicable\"".
 */
void cs_rubric_value_explain(struct cs_buf *out, const struct cs_rubric *r,
                             const char *who, const json_t *value);

/* "boolean", "categorical", "score" (or "unknown"). */
const char *cs_rubric_type_name(enum cs_rubric_type t);

#endif
