/* deps.c - rubric dependencies: applies_when.metric, order, cycles */
#include "rubric/rubric_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

long cs_rubric_find_key(const struct cs_rubric_set *set, const char *key)
{
    for (size_t i = 0; i < set->n; i++) {
        if (!strcmp(set->rubrics[i].key, key))
            return (long)i;
    }
    return -1;
}

/* Also checks that applies_when.equals is a value the other metric can
 * have. */
long *cs_rubric_resolve_deps(struct cs_rubric_loader *L)
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
        j = cs_rubric_find_key(set, a->name);
        if (j < 0) {
            cs_lint_error(L, i, "applies_when.metric", "unknown metric '%s'",
                          a->name);
            continue;
        }
        dep[i] = j;
        a->dep = (size_t)j;
        if (a->equals && set->rubrics[j].doc &&
            cs_rubric_values_checkable(L, j) &&
            !cs_rubric_value_valid(&set->rubrics[j], a->equals)) {
            cs_buf_reset(&who);
            cs_buf_addf(&who, "'%s'", set->rubrics[j].key);
            cs_lint_value(L, i, "applies_when.equals", &set->rubrics[j],
                          who.ptr, a->equals);
        }
    }
    cs_buf_release(&who);
    return dep;
}

/* Each rubric has at most one dependency, so a walk along the chain finds
 * every cycle. */
unsigned char *cs_rubric_order_deps(struct cs_rubric_loader *L,
                                    const long *dep)
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
            cs_lint_error(L, min, "applies_when.metric",
                          "dependency cycle: %s", msg.ptr);
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
