/* sentiment.h - offline lexicon-based sentiment of the customer's turns */
#ifndef CS_SCORE_SENTIMENT_H
#define CS_SCORE_SENTIMENT_H

#include <stddef.h>

#include "base/err.h"
#include "model/conv.h"

/*
 * Usage:
 *
 *     struct cs_sentiment_lexicon *lex = NULL;
 *     struct cs_sentiment s;
 *
 *     if (cs_sentiment_lexicon_load(&lex, "config/sentiment-lexicon.txt",
 *                                   &err) < 0)
 *         ...
 *     cs_sentiment_score(&s, lex, conv);
 *     ... s.label, s.score, s.evidence ...
 *     cs_sentiment_release(&s);
 *     cs_sentiment_lexicon_free(lex);
 *
 * The word list is data. Each line of the lexicon file is
 * `entry<TAB>weight`; `#` starts a comment, blank lines are skipped. An
 * entry is a word or a phrase of up to 4 words (lower case; matched
 * case-insensitively, ’ read as '). The weight is one of:
 *
 *   a number   valence, about -3 (very negative) .. +3 (very positive);
 *              0 makes a phrase neutral ("no thanks")
 *   neg        a negator ("not", "never", "don't"): the next sentiment
 *              word within 3 words is flipped, a positive one to
 *              -0.8 x its weight ("not happy" is negative), a negative one
 *              to -0.4 x its weight ("not bad" is mildly positive)
 *   *<factor>  an intensifier or diminisher ("very *1.5", "slightly *0.5")
 *              applied to the next sentiment word within 2 words
 *   |          a clause break ("but"), like . , ; : ! ?, which ends the
 *              reach of a pending negator or intensifier
 *
 * The longest entry wins at each position. A conversation's raw score is
 * the sum over its customer turns; `score` is raw / sqrt(raw^2 + 15), in
 * (-1, 1), positive at >= 0.15, negative at <= -0.15, else neutral.
 */

struct cs_sentiment_lexicon;

enum cs_sentiment_label {
    CS_SENTIMENT_NEGATIVE = -1,
    CS_SENTIMENT_NEUTRAL = 0,
    CS_SENTIMENT_POSITIVE = 1
};

/*
 * The sentiment of one conversation. `evidence` is the text of the
 * customer turn that pulled most towards the label (new, freed by
 * cs_sentiment_release), or NULL for neutral or without customer turns;
 * `evidence_turn` is its index (or -1).
 */
struct cs_sentiment {
    enum cs_sentiment_label label;
    double score;
    double raw;
    size_t hits;        /* sentiment words and phrases found */
    char *evidence;
    long evidence_turn;
};

/*
 * Loads a lexicon file (format above). Returns CS_ENOTFOUND/CS_EIO when it
 * cannot be read, CS_EINVALID with "'<path>' line <n>: <reason>" for a bad
 * line or a duplicate entry. *out is new; free with
 * cs_sentiment_lexicon_free.
 */
int cs_sentiment_lexicon_load(struct cs_sentiment_lexicon **out,
                              const char *path, struct cs_err *err);

/* Frees the lexicon; NULL is a no-op. */
void cs_sentiment_lexicon_free(struct cs_sentiment_lexicon *lex);

/* Number of entries in the lexicon. */
size_t cs_sentiment_lexicon_size(const struct cs_sentiment_lexicon *lex);

/*
 * The raw score of one text (the sum of its weighted sentiment words);
 * `hits` (may be NULL) receives how many were found. Cannot fail.
 */
double cs_sentiment_text(const struct cs_sentiment_lexicon *lex,
                         const char *text, size_t len, size_t *hits);

/* Scores the customer turns of `conv` into *out (overwritten). */
void cs_sentiment_score(struct cs_sentiment *out,
                        const struct cs_sentiment_lexicon *lex,
                        const struct cs_conv *conv);

/* Frees the evidence and zeroes *s. */
void cs_sentiment_release(struct cs_sentiment *s);

/* "negative", "neutral" or "positive". */
const char *cs_sentiment_label_name(enum cs_sentiment_label label);

#endif
