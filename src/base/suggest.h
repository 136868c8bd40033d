/* suggest.h - "did you mean": the closest of a set of names to a word */
#ifndef CS_BASE_SUGGEST_H
#define CS_BASE_SUGGEST_H

#include <stddef.h>

/*
 * Offer each candidate with cs_suggest_try; `best` is then the closest
 * one within a third of the word's length in edits (Levenshtein plus
 * transpositions, so "kpsi" is one step from "kpis"), or NULL:
 *
 *     struct cs_suggest s = {word, NULL, 0};
 *
 *     for (size_t i = 0; i < n; i++)
 *         cs_suggest_try(&s, names[i]);
 *     if (s.best)
 *         ... "did you mean '%s'?", s.best ...
 */
struct cs_suggest {
    const char *word;
    const char *best;
    size_t dist;
};

void cs_suggest_try(struct cs_suggest *s, const char *name);

/* The optimal string alignment distance between `a` and `b`. */
size_t cs_edit_distance(const char *a, const char *b);

#endif
