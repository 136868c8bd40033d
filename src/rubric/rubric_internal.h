/* rubric_internal.h - what the rubric module's files share (never included
 * outside rubric/) */
#ifndef CS_RUBRIC_INTERNAL_H
#define CS_RUBRIC_INTERNAL_H

#include <stddef.h>

#include "rubric/rubric.h"

/*
 * Loading a rubric set is one pass over its files (load.c: read and parse
 * each file, lint.c: check it and fill its struct cs_rubric), then the
 * set-wide steps: dependencies (deps.c: resolve applies_when.metric, order
 * the set, find cycles), names (naming.c: duplicates and naming advice),
 * and versions (load.c). Every step reports into the loader's report.
 */
struct cs_rubric_loader {
    const char *dir;
    struct cs_lint_report *rep;
    struct cs_rubric_set *set;
    unsigned char *scale_ok;    /* per rubric: min < max were read */
};

/* Appends an error / a warning about rubric i's `field` (a JSON path, or
 * NULL for the whole file) to the loader's report. */
void cs_lint_error(struct cs_rubric_loader *L, size_t i, const char *field,
                   const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cs_lint_warning(struct cs_rubric_loader *L, size_t i,
                     const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* lint.c: appends one problem about `file` to `rep`. */
void cs_lint_add(struct cs_lint_report *rep, enum cs_lint_severity sev,
                 const char *file, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* lint.c: checks a `tenants` field `v` (may be NULL: every tenant) of
 * `file`: a non-empty array of distinct non-empty strings. *out is a new
 * array of *n_out names borrowed from `v` (NULL when absent or broken). */
void cs_lint_tenants(struct cs_lint_report *rep, const char *file,
                     const json_t *v, size_t *n_out, const char ***out);

/* lint.c: 1 when `tenant` is among the `n` names (or n is 0, or tenant
 * NULL). */
int cs_tenant_listed(const char *const *tenants, size_t n,
                     const char *tenant);

/* scorecard.c: loads, checks and versions every `*.scorecard.json` of
 * L->dir into L->set (after the rubrics are loaded and versioned). */
int cs_scorecards_load(struct cs_rubric_loader *L, struct cs_err *err);

/* 1 when `name` is a scorecard file name ("<key>.scorecard.json"). */
int cs_scorecard_file(const char *name);

/* lint.c: checks the parsed file of rubric i and fills its struct. */
void cs_rubric_check_file(struct cs_rubric_loader *L, size_t i);

/* lint.c: whether values of rubric i can be checked yet: its type and the
 * parts the check needs (categories, scale) were read without error. */
int cs_rubric_values_checkable(const struct cs_rubric_loader *L, size_t i);

/* lint.c: reports on rubric i's `field` why `v` is not a result rubric
 * `r` can have; `who` names `r` in the message ("this metric",
 * "'booking_completed'"). */
void cs_lint_value(struct cs_rubric_loader *L, size_t i, const char *field,
                   const struct cs_rubric *r, const char *who,
                   const json_t *v);

/* deps.c: the index of the rubric with this key, or -1. */
long cs_rubric_find_key(const struct cs_rubric_set *set, const char *key);

/* deps.c: resolves applies_when.metric; returns a per-rubric dependency
 * index array (-1: none or unknown), new. */
long *cs_rubric_resolve_deps(struct cs_rubric_loader *L);

/*
 * deps.c: reports each dependency cycle once (on the rubric of the cycle
 * that sorts first) and fills set->order, dependencies first. Returns a
 * per-rubric flag array (new): 1 when the rubric is on or behind a cycle.
 */
unsigned char *cs_rubric_order_deps(struct cs_rubric_loader *L,
                                    const long *dep);

/* naming.c: duplicate names (errors), then the naming advice (warnings):
 * one casing style, one term for handoff, shared prefixes. */
void cs_rubric_check_names(struct cs_rubric_loader *L);

/* load.c: 1 when `k` is a valid metric key, [a-z0-9_]+. */
int cs_rubric_valid_key(const char *k);

/* lint.c: 1 when `s` is in the NULL-terminated `list`. */
int cs_rubric_in_list(const char *s, const char *const *list);

/* lint.c: ASCII only on purpose (keys and names are compared as users
 * type them). */
int cs_rubric_is_lower(char c);
int cs_rubric_is_digit(char c);

#endif
