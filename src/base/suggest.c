/* suggest.c - "did you mean": edit distance and the closest name */
#include "base/suggest.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

size_t cs_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), d;
    size_t *m = cs_xcalloc((la + 1) * (lb + 1), sizeof(*m));

#define M(i, j) m[(i) * (lb + 1) + (j)]
    for (size_t i = 0; i <= la; i++)
        M(i, 0) = i;
    for (size_t j = 0; j <= lb; j++)
        M(0, j) = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = M(i - 1, j) + 1;

            if (M(i, j - 1) + 1 < best)
                best = M(i, j - 1) + 1;
            if (M(i - 1, j - 1) + cost < best)
                best = M(i - 1, j - 1) + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && M(i - 2, j - 2) + 1 < best)
                best = M(i - 2, j - 2) + 1;
            M(i, j) = best;
        }
    }
    d = M(la, lb);
#undef M
    free(m);
    return d;
}

void cs_suggest_try(struct cs_suggest *s, const char *name)
{
    size_t d, limit = (strlen(s->word) + 2) / 3;

    if (!name)
        return;
    d = cs_edit_distance(s->word, name);
    if (d <= limit && (!s->best || d < s->dist)) {
        s->best = name;
        s->dist = d;
    }
}
