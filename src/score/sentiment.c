/* sentiment.c - offline lexicon-based sentiment of the customer's turns */
#include "score/sentiment.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/mem.h"
#include "base/parse.h"

#define MAX_LEXICON_FILE (16 * 1024 * 1024)
#define MAX_PHRASE_WORDS 4
#define NEG_REACH 3         /* words a negator reaches */
#define MULT_REACH 2        /* words an intensifier reaches */
#define NEG_OF_POSITIVE (-0.8)
#define NEG_OF_NEGATIVE (-0.4)
#define NORM_ALPHA 15.0
#define LABEL_THRESHOLD 0.15

enum kind {
    K_VALENCE = 0,
    K_NEG = 1,
    K_MULT = 2,
    K_BREAK = 3
};

struct entry {
    char *key;          /* NULL: free slot */
    enum kind kind;
    double w;           /* valence or factor */
};

struct cs_sentiment_lexicon {
    struct entry *slots;
    size_t cap;         /* a power of two */
    size_t n;
    size_t max_words;
};

/* A token of a text: a word in `norm`, or a clause break. */
struct tok {
    size_t off, len;
    int brk;
};

struct toks {
    struct cs_buf norm; /* lower-case words, each NUL-separated */
    struct tok *v;
    size_t n, alloc;
};

static struct entry *slot_for(const struct cs_sentiment_lexicon *lex,
                              const char *key, size_t n)
{
    size_t i = (size_t)cs_fnv1a64(key, n) & (lex->cap - 1);

    for (;;) {
        struct entry *e = &lex->slots[i];

        if (!e->key || (strlen(e->key) == n && !memcmp(e->key, key, n)))
            return e;
        i = (i + 1) & (lex->cap - 1);
    }
}

static const struct entry *lookup(const struct cs_sentiment_lexicon *lex,
                                  const char *key, size_t n)
{
    const struct entry *e = slot_for(lex, key, n);

    return e->key ? e : NULL;
}

static void grow(struct cs_sentiment_lexicon *lex)
{
    struct entry *old = lex->slots;
    size_t old_cap = lex->cap;

    lex->cap = old_cap ? old_cap * 2 : 256;
    lex->slots = cs_xcalloc(lex->cap, sizeof(*lex->slots));
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key)
            *slot_for(lex, old[i].key, strlen(old[i].key)) = old[i];
    }
    free(old);
}

void cs_sentiment_lexicon_free(struct cs_sentiment_lexicon *lex)
{
    if (!lex)
        return;
    for (size_t i = 0; i < lex->cap; i++)
        free(lex->slots[i].key);
    free(lex->slots);
    free(lex);
}

size_t cs_sentiment_lexicon_size(const struct cs_sentiment_lexicon *lex)
{
    return lex->n;
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * What the UTF-8 punctuation at s[i] is: 1 an apostrophe (’ ‘), 2 a
 * clause break (– — …), 3 other punctuation to skip (“ ”), else 0. Sets
 * *n to its byte length.
 */
static int special(const char *s, size_t len, size_t i, size_t *n)
{
    const unsigned char *u = (const unsigned char *)s + i;

    *n = 3;
    if (i + 2 >= len || u[0] != 0xE2 || u[1] != 0x80)
        return 0;
    switch (u[2]) {
    case 0x98:
    case 0x99:
        return 1;
    case 0x93:
    case 0x94:
    case 0xA6:
        return 2;
    case 0x9C:
    case 0x9D:
        return 3;
    default:
        return 0;
    }
}

static void push(struct toks *t, size_t off, size_t len, int brk)
{
    if (t->n == t->alloc) {
        t->alloc = t->alloc ? t->alloc * 2 : 64;
        t->v = cs_xrealloc(t->v, t->alloc * sizeof(*t->v));
    }
    t->v[t->n].off = off;
    t->v[t->n].len = len;
    t->v[t->n].brk = brk;
    t->n++;
}

/* Splits `s` into lower-case words and clause breaks. */
static void tokenize(struct toks *t, const char *s, size_t len)
{
    size_t i = 0, n;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        int sp = special(s, len, i, &n);

        if (sp == 2 || c == '.' || c == ',' || c == ';' || c == ':' ||
            c == '!' || c == '?') {
            push(t, 0, 0, 1);
            i += sp ? n : 1;
        } else if (sp == 3) {
            i += n;
        } else if (is_word_byte(c) || sp == 1) {
            size_t off = t->norm.len, wlen;

            while (i < len) {
                sp = special(s, len, i, &n);
                if (sp == 1) {
                    cs_buf_addch(&t->norm, '\'');
                    i += n;
                } else if (!sp && is_word_byte((unsigned char)s[i])) {
                    cs_buf_addch(&t->norm, lower(s[i]));
                    i++;
                } else {
                    break;
                }
            }
            /* Quotes around a word are not part of it ('great'). */
            while (off < t->norm.len && t->norm.ptr[off] == '\'')
                off++;
            wlen = t->norm.len - off;
            while (wlen && t->norm.ptr[off + wlen - 1] == '\'')
                wlen--;
            if (wlen)
                push(t, off, wlen, 0);
            cs_buf_addch(&t->norm, '\0');
        } else {
            i++;
        }
    }
}

static void toks_release(struct toks *t)
{
    cs_buf_release(&t->norm);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* The longest entry starting at token i; sets *used to its word count. */
static const struct entry *longest(const struct cs_sentiment_lexicon *lex,
                                   const struct toks *t, size_t i,
                                   struct cs_buf *phrase, size_t *used)
{
    size_t avail = 0;

    while (avail < lex->max_words && i + avail < t->n &&
           !t->v[i + avail].brk)
        avail++;
    for (size_t n = avail; n > 0; n--) {
        const struct entry *e;

        cs_buf_reset(phrase);
        for (size_t k = 0; k < n; k++) {
            if (k)
                cs_buf_addch(phrase, ' ');
            cs_buf_add(phrase, t->norm.ptr + t->v[i + k].off,
                       t->v[i + k].len);
        }
        e = lookup(lex, phrase->ptr, phrase->len);
        if (e) {
            *used = n;
            return e;
        }
    }
    return NULL;
}

double cs_sentiment_text(const struct cs_sentiment_lexicon *lex,
                         const char *text, size_t len, size_t *hits)
{
    struct toks t;
    struct cs_buf phrase = CS_BUF_INIT;
    double total = 0, mult = 1;
    size_t neg_left = 0, mult_left = 0, found = 0, i = 0;

    memset(&t, 0, sizeof(t));
    cs_buf_init(&t.norm);
    tokenize(&t, text, len);
    while (i < t.n) {
        const struct entry *e = NULL;
        size_t used = 1;
        double w;

        if (!t.v[i].brk)
            e = longest(lex, &t, i, &phrase, &used);
        if (t.v[i].brk || (e && e->kind == K_BREAK)) {
            neg_left = mult_left = 0;
            mult = 1;
        } else if (!e) {
            if (neg_left)
                neg_left--;
            if (mult_left && --mult_left == 0)
                mult = 1;
        } else if (e->kind == K_NEG) {
            neg_left = NEG_REACH;
        } else if (e->kind == K_MULT) {
            mult *= e->w;
            mult_left = MULT_REACH;
        } else {
            w = e->w * mult;
            if (neg_left)
                w *= w > 0 ? NEG_OF_POSITIVE : NEG_OF_NEGATIVE;
            total += w;
            if (e->w != 0)
                found++;
            neg_left = mult_left = 0;
            mult = 1;
        }
        i += used;
    }
    toks_release(&t);
    cs_buf_release(&phrase);
    if (hits)
        *hits = found;
    return total;
}

/* Normalises a lexicon entry into `out`: lower case, ’ to ', single
 * spaces. Returns its word count, or 0 when it holds anything but words. */
static size_t normalize_entry(struct cs_buf *out, const char *s, size_t len)
{
    size_t words = 0, n;
    int in_word = 0;

    cs_buf_reset(out);
    for (size_t i = 0; i < len;) {
        int sp = special(s, len, i, &n);

        if (s[i] == ' ' || s[i] == '\t') {
            in_word = 0;
            i++;
            continue;
        }
        if (sp != 1 && (sp || !is_word_byte((unsigned char)s[i])))
            return 0;
        if (!in_word) {
            if (words)
                cs_buf_addch(out, ' ');
            words++;
            in_word = 1;
        }
        if (sp == 1) {
            cs_buf_addch(out, '\'');
            i += n;
        } else {
            cs_buf_addch(out, lower(s[i]));
            i++;
        }
    }
    return words;
}

static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Parses one non-comment line into the lexicon; 0 or CS_EINVALID. */
static int add_line(struct cs_sentiment_lexicon *lex, char *line,
                    const char *path, size_t lineno, struct cs_buf *key,
                    struct cs_err *err)
{
    char *tab = strchr(line, '\t');
    char *weight;
    struct entry *e;
    enum kind kind = K_VALENCE;
    double w = 0;
    size_t words;

    if (!tab)
        return cs_err_set(err, CS_EINVALID, "'%s' line %zu: expected "
                          "entry<TAB>weight", path, lineno);
    *tab = '\0';
    weight = trim(tab + 1);
    words = normalize_entry(key, line, strlen(line));
    if (words == 0)
        return cs_err_set(err, CS_EINVALID, "'%s' line %zu: entry '%s' "
                          "must be words separated by spaces", path, lineno,
                          line);
    if (words > MAX_PHRASE_WORDS)
        return cs_err_set(err, CS_EINVALID, "'%s' line %zu: entry '%s' has "
                          "more than %d words", path, lineno, line,
                          MAX_PHRASE_WORDS);
    if (!strcmp(weight, "neg")) {
        kind = K_NEG;
    } else if (!strcmp(weight, "|")) {
        kind = K_BREAK;
    } else if (weight[0] == '*') {
        kind = K_MULT;
        if (cs_parse_double(weight + 1, &w) < 0 || w <= 0 || w > 10)
            return cs_err_set(err, CS_EINVALID, "'%s' line %zu: factor "
                              "'%s' must be a number in (0, 10]", path,
                              lineno, weight);
    } else if (cs_parse_double(weight, &w) < 0 || fabs(w) > 10) {
        return cs_err_set(err, CS_EINVALID, "'%s' line %zu: weight '%s' "
                          "must be a number in -10..10, neg, *<factor> or |",
                          path, lineno, weight);
    }
    if ((lex->n + 1) * 2 > lex->cap)
        grow(lex);
    e = slot_for(lex, key->ptr, key->len);
    if (e->key)
        return cs_err_set(err, CS_EINVALID, "'%s' line %zu: duplicate entry "
                          "'%s'", path, lineno, key->ptr);
    e->key = cs_xstrndup(key->ptr, key->len);
    e->kind = kind;
    e->w = w;
    lex->n++;
    if (words > lex->max_words)
        lex->max_words = words;
    return 0;
}

int cs_sentiment_lexicon_load(struct cs_sentiment_lexicon **out,
                              const char *path, struct cs_err *err)
{
    struct cs_sentiment_lexicon *lex = cs_xcalloc(1, sizeof(*lex));
    struct cs_buf key = CS_BUF_INIT;
    char *text = NULL, *line, *next;
    size_t len = 0, lineno = 0;
    int ret;

    *out = NULL;
    grow(lex);
    ret = cs_fs_read(&text, &len, path, MAX_LEXICON_FILE, err);
    if (ret < 0)
        goto done;
    if (memchr(text, '\0', len)) {
        ret = cs_err_set(err, CS_EINVALID, "'%s': not a text file", path);
        goto done;
    }
    for (line = text; line; line = next) {
        char *s;

        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        s = trim(line);
        if (!*s || *s == '#')
            continue;
        ret = add_line(lex, s, path, lineno, &key, err);
        if (ret < 0)
            goto done;
    }
    *out = lex;
    lex = NULL;
done:
    cs_sentiment_lexicon_free(lex);
    cs_buf_release(&key);
    free(text);
    return ret;
}

void cs_sentiment_score(struct cs_sentiment *out,
                        const struct cs_sentiment_lexicon *lex,
                        const struct cs_conv *conv)
{
    double best_pos = 0, best_neg = 0;
    long pos_turn = -1, neg_turn = -1;

    memset(out, 0, sizeof(*out));
    out->evidence_turn = -1;
    for (size_t i = 0; i < conv->n_turns; i++) {
        const struct cs_turn *t = &conv->turns[i];
        size_t hits = 0;
        double raw;

        if (t->role != CS_ROLE_CUSTOMER)
            continue;
        raw = cs_sentiment_text(lex, t->text, t->len, &hits);
        out->raw += raw;
        out->hits += hits;
        if (raw > best_pos) {
            best_pos = raw;
            pos_turn = (long)i;
        }
        if (raw < best_neg) {
            best_neg = raw;
            neg_turn = (long)i;
        }
    }
    out->score = out->raw / sqrt(out->raw * out->raw + NORM_ALPHA);
    if (out->score >= LABEL_THRESHOLD) {
        out->label = CS_SENTIMENT_POSITIVE;
        out->evidence_turn = pos_turn;
    } else if (out->score <= -LABEL_THRESHOLD) {
        out->label = CS_SENTIMENT_NEGATIVE;
        out->evidence_turn = neg_turn;
    } else {
        out->label = CS_SENTIMENT_NEUTRAL;
    }
    if (out->evidence_turn >= 0) {
        const struct cs_turn *t = &conv->turns[out->evidence_turn];

        out->evidence = cs_xstrndup(t->text, t->len);
    }
}

void cs_sentiment_release(struct cs_sentiment *s)
{
    free(s->evidence);
    memset(s, 0, sizeof(*s));
    s->evidence_turn = -1;
}

const char *cs_sentiment_label_name(enum cs_sentiment_label label)
{
    switch (label) {
    case CS_SENTIMENT_NEGATIVE:
        return "negative";
    case CS_SENTIMENT_POSITIVE:
        return "positive";
    default:
        return "neutral";
    }
}
