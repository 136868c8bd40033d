/* naming.c - duplicate rubric names and the naming advice (warnings) */
#include "rubric/rubric_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* A letter, a digit, or a byte of a non-ASCII character. */
static int word_char(char c)
{
    return is_upper(c) || cs_rubric_is_lower(c) || cs_rubric_is_digit(c) ||
           ((unsigned char)c & 0x80);
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
        } else if (cs_rubric_is_lower(*p)) {
            low++;
        } else if (*p == '_') {
            us++;
        } else if (*p == '-') {
            dash++;
        } else if (!cs_rubric_is_digit(*p) && !((unsigned char)*p & 0x80)) {
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
        while (w < e && !word_char(*w))
            w++;
        while (e > w && !word_char(e[-1]))
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
            } else if (cs_rubric_is_lower(*c)) {
                low++;
            }
        }
        if (!is_upper(*w) && !cs_rubric_is_lower(*w))
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
        } else if (!cs_rubric_in_list(word, small_words)) {
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
static void check_casing(struct cs_rubric_loader *L)
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
        cs_lint_warning(L, i, "name", "'%s' is in %s while the other names "
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
        if (q && !cs_rubric_is_lower(*q))
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
        while (b > lc && cs_rubric_is_lower(b[-1]))
            b--;
        while (cs_rubric_is_lower(*e))
            e++;
    }
    for (const char *p = lc; *p && !b; p++) {
        if (p == lc || !cs_rubric_is_lower(p[-1])) {
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

static void check_terms(struct cs_rubric_loader *L)
{
    struct cs_buf word = CS_BUF_INIT;

    for (size_t i = 0; i < L->set->n; i++) {
        const struct cs_rubric *r = &L->set->rubrics[i];

        if (find_synonym(&word, r->key))
            cs_lint_warning(L, i, NULL, "key '%s' says '%s': the project term "
                            "is 'handoff'", r->key, word.ptr);
        if (r->name && find_synonym(&word, r->name))
            cs_lint_warning(L, i, "name", "'%s' says '%s': the project "
                            "term is 'handoff'", r->name, word.ptr);
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
        if (word_char(*p))
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
static void check_prefixes(struct cs_rubric_loader *L)
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
            cs_lint_warning(L, j, "name", "'%s' and '%s' (%s) share %s but "
                            "not a 'Prefix: ' in their names", b->name,
                            a->name, a->file, why.ptr);
            break;
        }
    }
    cs_buf_release(&why);
}

void cs_rubric_check_names(struct cs_rubric_loader *L)
{
    struct cs_rubric_set *set = L->set;

    for (size_t j = 0; j < set->n; j++) {
        for (size_t i = 0; i < j && set->rubrics[j].name; i++) {
            if (set->rubrics[i].name &&
                same_ci(set->rubrics[i].name, set->rubrics[j].name)) {
                cs_lint_error(L, j, "name", "duplicate name '%s' (also in %s)",
                              set->rubrics[j].name, set->rubrics[i].file);
                break;
            }
        }
    }
    check_casing(L);
    check_terms(L);
    check_prefixes(L);
}
