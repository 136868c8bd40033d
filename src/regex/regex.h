/* regex.h - PCRE2 patterns: compile, check, match (the only PCRE2 code) */
#ifndef CS_REGEX_REGEX_H
#define CS_REGEX_REGEX_H

#include <stddef.h>

#include "base/err.h"

/*
 * Usage:
 *
 *     struct cs_regex *re = NULL;
 *     struct cs_regex_matcher *m = NULL;
 *     struct cs_regex_subject s;
 *     struct cs_regex_span at;
 *
 *     if (cs_regex_new(&re, "(?i)\\bbook", NULL, &err) < 0)
 *         ...  // "pattern does not compile at offset N: <PCRE2 message>"
 *     cs_regex_matcher_new(&m);
 *     if (cs_regex_subject_init(&s, text, len, &err) < 0)
 *         ...  // not UTF-8: nothing can be matched in it
 *     ret = cs_regex_match(&at, m, re, &s, 0, &err);
 *     ...  // 1: text[at.start .. at.end) matched; 0: no match;
 *          // < 0: a limit was hit, err says which
 *     cs_regex_matcher_free(m);
 *     cs_regex_free(re);
 *
 * Every pattern is compiled with PCRE2_UTF | PCRE2_UCP (so \w, \b and
 * (?i) follow Unicode) and JIT-compiled; where JIT is unavailable (no
 * executable memory) the interpreter runs the same pattern, slower.
 * Inline options such as (?i) apply.
 *
 * A compiled pattern is read-only and may be shared between threads. A
 * matcher holds the match state (match data, JIT stack, limits), so a
 * thread needs its own. Each match runs under the limits below; hitting
 * one is an error for that match, never a silent "no match".
 *
 * A subject is checked for valid UTF-8 once, by cs_regex_subject_init;
 * every match then passes PCRE2_NO_UTF_CHECK. (PCRE2 would otherwise
 * re-check the subject on every call, which makes a loop of matches over
 * one large subject quadratic.)
 *
 * PCRE2's JIT may read up to CS_REGEX_SUBJECT_PAD bytes past the end of a
 * subject with wide loads (never across a page boundary). That is safe,
 * but valgrind reports it on a tightly allocated string: a subject that
 * should be clean under valgrind is followed by that many zero bytes.
 */

#define CS_REGEX_MATCH_LIMIT 10000000   /* backtracking steps per match */
#define CS_REGEX_HEAP_LIMIT_KB 65536    /* interpreter's backtrack memory */
#define CS_REGEX_JIT_STACK_MAX (1024 * 1024)
#define CS_REGEX_SUBJECT_PAD 32

struct cs_regex;
struct cs_regex_matcher;

/*
 * A check on a candidate match subj[start..end) of a subject of `len`
 * bytes: 1 accepts it, 0 rejects it, and the engine then backtracks to
 * look for another match (a shorter one, or one further on).
 */
typedef int (*cs_regex_check_fn)(const char *subj, size_t len, size_t start,
                                 size_t end);

/* Text known to be valid UTF-8 (only cs_regex_subject_init makes one). */
struct cs_regex_subject {
    const char *ptr;    /* borrowed */
    size_t len;
};

/* Where a match is, in bytes from the start of the subject. */
struct cs_regex_span {
    size_t start;
    size_t end;
};

/*
 * Compiles `pattern` (NUL-terminated). With `check` (may be NULL), every
 * match the pattern finds is offered to it first (see cs_regex_check_fn).
 * Returns CS_EINVALID with "pattern does not compile at offset N: <PCRE2
 * message>" in `err`, N counted in `pattern` as given. *out is new; free
 * it with cs_regex_free.
 */
int cs_regex_new(struct cs_regex **out, const char *pattern,
                 cs_regex_check_fn check, struct cs_err *err);

/* Frees a compiled pattern; NULL is a no-op. */
void cs_regex_free(struct cs_regex *re);

/*
 * Checks that `pattern` compiles (for linters): 0, or CS_EINVALID with the
 * message of cs_regex_new.
 */
int cs_regex_check(const char *pattern, struct cs_err *err);

/*
 * A static look for the shape that makes backtracking exponential: a
 * group repeated without bound (`*`, `+`, `{n,}`) that itself holds an
 * unbounded repeat, as in `^(\w+\s?)*$` or `(a+)+`. Possessive repeats
 * (`*+`) and atomic groups (`(?>...)`) do not backtrack and do not count;
 * escapes, character classes, \Q...\E and comments are skipped. Returns
 * 1 and sets *at (may be NULL) to the offset of the outer group, else 0.
 * A heuristic: it finds the common case, not every slow pattern.
 */
int cs_regex_nested_quantifier(const char *pattern, size_t *at);

/* Makes a matcher in *out (new; free with cs_regex_matcher_free). Cannot
 * fail (out of memory aborts). */
void cs_regex_matcher_new(struct cs_regex_matcher **out);

/* Frees a matcher; NULL is a no-op. */
void cs_regex_matcher_free(struct cs_regex_matcher *m);

/*
 * Sets the backtracking limit of every match `m` runs (default
 * CS_REGEX_MATCH_LIMIT; a pattern's own (*LIMIT_MATCH=n) may only lower
 * it). `setting` (may be NULL; copied) names where the limit is
 * configured, for the error: "pattern match failed: match limit of N
 * steps exceeded (score.match_limit)".
 */
void cs_regex_matcher_set_limit(struct cs_regex_matcher *m,
                                unsigned long match_limit,
                                const char *setting);

/*
 * Returns 0 when `len` bytes of `text` are valid UTF-8 (shortest forms,
 * no surrogates, at most U+10FFFF), else CS_EINVALID with "text is not
 * valid utf-8 at byte N".
 */
int cs_regex_utf8_check(const char *text, size_t len, struct cs_err *err);

/*
 * Checks `text` with cs_regex_utf8_check and, when it is valid, makes *out
 * a subject over it (borrowing `text`, which must outlive it). On error
 * *out is an empty subject.
 */
int cs_regex_subject_init(struct cs_regex_subject *out, const char *text,
                          size_t len, struct cs_err *err);

/*
 * Looks for the first match of `re` in `s` at or after byte `start` (a
 * character boundary; lookbehinds may look before it). Returns 1 and sets
 * *out, 0 when there is none, or CS_ERROR with "pattern match failed:
 * <PCRE2 message>" when a limit was hit.
 */
int cs_regex_match(struct cs_regex_span *out, struct cs_regex_matcher *m,
                   const struct cs_regex *re, const struct cs_regex_subject *s,
                   size_t start, struct cs_err *err);

#endif
