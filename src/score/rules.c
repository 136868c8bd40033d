/* rules.c - the offline rules evaluator: rubric rules over the turns */
#include "score/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "regex/regex.h"

/* Longest quote of the matched substring kept in a rationale. */
#define MAX_QUOTE 120

struct compiled {
    struct cs_regex *applies;   /* applies_when.turn_matches, or NULL */
    struct cs_regex **rules;    /* one per rule; NULL for the default */
};

struct cs_rules {
    const struct cs_rubric_set *set;
    struct compiled *c;
    struct cs_regex_matcher *m;
    struct cs_buf subjects;     /* the turns of the current conversation */
    size_t *offs;               /* where each turn starts in `subjects` */
    struct cs_regex_subject *subj;  /* each turn, or an empty one when
                                       `bad` says it is not UTF-8 */
    unsigned char *bad;
    size_t offs_alloc;
    struct cs_err merr;         /* why the last match failed */
    double budget;              /* seconds of matching per conversation */
    double spent;               /* ... spent on the current one */
};

/* The outcome of looking for a turn that a pattern matches. */
struct hit {
    long turn;          /* index, or -1 for no match */
    size_t so, eo;      /* the matched substring within the turn */
    int error;          /* 1: matching failed, R->merr says why */
};

/* Compiles one pattern of rubric `r`; `field` names it in the error. */
static int compile(struct cs_regex **out, const struct cs_rubric *r,
                   const char *field, const char *pattern,
                   struct cs_err *err)
{
    struct cs_err e;
    int ret;

    cs_err_clear(&e);
    ret = cs_regex_new(out, pattern, NULL, &e);
    if (ret < 0)
        return cs_err_set(err, ret, "rubric '%s': %s: %s", r->key, field,
                          e.msg);
    return 0;
}

int cs_rules_new(struct cs_rules **out, const struct cs_rubric_set *set,
                 struct cs_err *err)
{
    struct cs_rules *R = cs_xcalloc(1, sizeof(*R));
    struct cs_buf field = CS_BUF_INIT;
    int ret = 0;

    *out = NULL;
    R->set = set;
    cs_buf_init(&R->subjects);
    R->c = cs_xcalloc(set->n + 1, sizeof(*R->c));
    for (size_t i = 0; i < set->n; i++) {
        const struct cs_rubric *r = &set->rubrics[i];
        struct compiled *c = &R->c[i];

        if (r->applies.kind == CS_APPLIES_TURN_MATCHES) {
            ret = compile(&c->applies, r, "applies_when.turn_matches",
                          r->applies.pattern, err);
            if (ret < 0)
                goto done;
        }
        c->rules = cs_xcalloc(r->n_rules + 1, sizeof(*c->rules));
        for (size_t j = 0; j < r->n_rules; j++) {
            if (r->rules[j].is_default)
                continue;
            cs_buf_reset(&field);
            cs_buf_addf(&field, "rules[%zu].turn_matches", j);
            ret = compile(&c->rules[j], r, field.ptr, r->rules[j].pattern,
                          err);
            if (ret < 0)
                goto done;
        }
    }
    cs_regex_matcher_new(&R->m);
    *out = R;
    R = NULL;
done:
    cs_rules_free(R);
    cs_buf_release(&field);
    return ret;
}

void cs_rules_set_limits(struct cs_rules *rules, unsigned long match_limit,
                         long time_budget_ms)
{
    cs_regex_matcher_set_limit(rules->m, match_limit, "score.match_limit");
    rules->budget = (double)time_budget_ms / 1000.0;
}

void cs_rules_free(struct cs_rules *rules)
{
    if (!rules)
        return;
    for (size_t i = 0; rules->c && i < rules->set->n; i++) {
        const struct cs_rubric *r = &rules->set->rubrics[i];

        cs_regex_free(rules->c[i].applies);
        for (size_t j = 0; rules->c[i].rules && j < r->n_rules; j++)
            cs_regex_free(rules->c[i].rules[j]);
        free(rules->c[i].rules);
    }
    free(rules->c);
    cs_regex_matcher_free(rules->m);
    cs_buf_release(&rules->subjects);
    free(rules->offs);
    free(rules->subj);
    free(rules->bad);
    free(rules);
}

/*
 * Copies the turn texts of `conv` into one buffer, each followed by
 * CS_REGEX_SUBJECT_PAD zero bytes (the JIT's wide loads then stay inside
 * initialised memory, see regex.h; one copy per conversation costs far
 * less than the matching), and checks each turn's UTF-8 once.
 */
static void copy_turns(struct cs_rules *R, const struct cs_conv *conv)
{
    static const char zeros[CS_REGEX_SUBJECT_PAD];

    if (conv->n_turns > R->offs_alloc) {
        R->offs_alloc = conv->n_turns * 2;
        R->offs = cs_xrealloc(R->offs, R->offs_alloc * sizeof(*R->offs));
        R->subj = cs_xrealloc(R->subj, R->offs_alloc * sizeof(*R->subj));
        R->bad = cs_xrealloc(R->bad, R->offs_alloc);
    }
    R->spent = 0;
    cs_buf_reset(&R->subjects);
    for (size_t t = 0; t < conv->n_turns; t++) {
        R->offs[t] = R->subjects.len;
        cs_buf_add(&R->subjects, conv->turns[t].text, conv->turns[t].len);
        cs_buf_add(&R->subjects, zeros, sizeof(zeros));
    }
    /* Only now: the buffer no longer moves. */
    for (size_t t = 0; t < conv->n_turns; t++)
        R->bad[t] = cs_regex_subject_init(&R->subj[t],
                                          R->subjects.ptr + R->offs[t],
                                          conv->turns[t].len, NULL) < 0;
}

/* Finds the first turn of `role` (CS_ROLE_ANY: every turn) that `re`
 * matches. */
static struct hit find_turn(struct cs_rules *R, const struct cs_regex *re,
                            enum cs_role role, const struct cs_conv *conv)
{
    struct hit h = {-1, 0, 0, 0};
    struct cs_regex_span at;
    double t0;

    for (size_t t = 0; t < conv->n_turns; t++) {
        int rc;

        if (role != CS_ROLE_ANY && conv->turns[t].role != role)
            continue;
        if (R->bad[t]) {
            cs_err_set(&R->merr, CS_EINVALID, "turn %zu is not valid "
                       "utf-8", t + 1);
            h.error = 1;
            return h;
        }
        if (R->budget > 0 && R->spent >= R->budget) {
            cs_err_set(&R->merr, CS_ETOOBIG, "the time budget of %.0f ms "
                       "per conversation is spent (score.time_budget_ms)",
                       R->budget * 1000);
            h.error = 1;
            return h;
        }
        t0 = R->budget > 0 ? cs_now() : 0;
        rc = cs_regex_match(&at, R->m, re, &R->subj[t], 0, &R->merr);
        if (R->budget > 0)
            R->spent += cs_now() - t0;
        if (rc == 0)
            continue;
        if (rc < 0) {
            h.error = 1;
            return h;
        }
        h.turn = (long)t;
        h.so = at.start;
        h.eo = at.end;
        return h;
    }
    return h;
}

static void not_applicable(struct cs_eval_result *res)
{
    res->value = json_string("not_applicable");
}

static void match_error(struct cs_rules *R, struct cs_eval_result *res,
                        const char *what)
{
    cs_eval_result_set_error(res, "%s: %s", what, R->merr.msg);
}

static const char *role_word(enum cs_role role)
{
    return role == CS_ROLE_ANY ? "" : role == CS_ROLE_AGENT ? "agent "
                                                           : "customer ";
}

/* Compact JSON of `v` for a rationale; new. */
static char *dump(const json_t *v)
{
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char *copy = cs_xstrdup(s ? s : "null");

    free(s);
    return copy;
}

/* Length of at most `max` bytes of s[0..len) not cutting a UTF-8
 * sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Checks applies_when; returns 1 when the rubric applies, else fills
 * `res` (not_applicable or error) and returns 0. */
static int applies(struct cs_rules *R, size_t i, const struct cs_conv *conv,
                   struct cs_eval_result *all)
{
    const struct cs_rubric *r = &R->set->rubrics[i];
    const struct cs_rubric_applies *a = &r->applies;
    struct cs_eval_result *res = &all[i];
    const json_t *have;
    struct hit h;
    char *d1, *d2;

    switch (a->kind) {
    case CS_APPLIES_TURN_MATCHES:
        h = find_turn(R, R->c[i].applies, a->role, conv);
        if (h.error) {
            match_error(R, res, "applies_when");
            return 0;
        }
        if (h.turn >= 0)
            return 1;
        not_applicable(res);
        cs_eval_result_set_rationale(res, "applies_when: no %sturn "
                                     "matches", role_word(a->role));
        return 0;
    case CS_APPLIES_METRIC:
        have = all[a->dep].value;
        if (!have || cs_eval_value_is(have, "error")) {
            cs_eval_result_set_error(res, "applies_when: metric '%s' has "
                                     "no result", a->name);
            return 0;
        }
        break;
    case CS_APPLIES_FIELD:
        have = json_object_get(conv->doc, a->name);
        if (!have)
            have = json_null();
        break;
    default:
        return 1;
    }
    if (json_equal((json_t *)have, (json_t *)a->equals))
        return 1;
    not_applicable(res);
    d1 = dump(have);
    d2 = dump(a->equals);
    cs_eval_result_set_rationale(res, "applies_when: %s '%s' is %s, not %s",
                                 a->kind == CS_APPLIES_METRIC ? "metric"
                                                              : "field",
                                 a->name, d1, d2);
    free(d1);
    free(d2);
    return 0;
}

static void eval_one(struct cs_rules *R, size_t i, const struct cs_conv *conv,
                     struct cs_eval_result *all)
{
    const struct cs_rubric *r = &R->set->rubrics[i];
    struct cs_eval_result *res = &all[i];
    struct cs_buf what = CS_BUF_INIT;

    if (!applies(R, i, conv, all))
        goto done;
    for (size_t j = 0; j < r->n_rules; j++) {
        const struct cs_rubric_rule *rule = &r->rules[j];
        const struct cs_turn *turn;
        struct hit h;
        size_t qlen;

        if (rule->is_default) {
            res->value = json_incref((json_t *)rule->value);
            cs_eval_result_set_rationale(res, "no rule matched; rule %zu "
                                         "is the default", j + 1);
            goto done;
        }
        h = find_turn(R, R->c[i].rules[j], rule->role, conv);
        if (h.error) {
            cs_buf_addf(&what, "rule %zu", j + 1);
            match_error(R, res, what.ptr);
            goto done;
        }
        if (h.turn < 0)
            continue;
        turn = &conv->turns[h.turn];
        qlen = utf8_cut(turn->text + h.so, h.eo - h.so, MAX_QUOTE);
        res->value = json_incref((json_t *)rule->value);
        res->evidence = cs_xstrndup(turn->text, turn->len);
        cs_eval_result_set_rationale(res, "rule %zu matched %s turn %ld: "
                                     "\"%.*s%s\"", j + 1,
                                     cs_role_name(turn->role), h.turn + 1,
                                     (int)qlen, turn->text + h.so,
                                     qlen < h.eo - h.so ? "..." : "");
        goto done;
    }
    not_applicable(res);
    cs_eval_result_set_rationale(res, "no rule matched and there is no "
                                 "default");
done:
    cs_buf_release(&what);
}

void cs_rules_prepare(struct cs_rules *rules, const struct cs_conv *conv)
{
    copy_turns(rules, conv);
}

int cs_rules_applies(struct cs_rules *rules, size_t i,
                     const struct cs_conv *conv, struct cs_eval_result *all)
{
    if (conv->n_turns == 0) {
        not_applicable(&all[i]);
        cs_eval_result_set_rationale(&all[i], "the conversation has no "
                                     "turns");
        return 0;
    }
    return applies(rules, i, conv, all);
}

void cs_rules_eval(struct cs_eval_result *out, struct cs_rules *rules,
                   const struct cs_conv *conv)
{
    const struct cs_rubric_set *set = rules->set;

    memset(out, 0, set->n * sizeof(*out));
    if (conv->n_turns == 0) {
        for (size_t i = 0; i < set->n; i++) {
            not_applicable(&out[i]);
            cs_eval_result_set_rationale(&out[i], "the conversation has "
                                         "no turns");
        }
        return;
    }
    copy_turns(rules, conv);
    for (size_t k = 0; k < set->n; k++)
        eval_one(rules, set->order[k], conv, out);
}
