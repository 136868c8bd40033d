/* redact.h - replace personal data (phones, e-mails, cards...) in text */
#ifndef CS_REDACT_REDACT_H
#define CS_REDACT_REDACT_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

struct cs_config;

/*
 * Usage:
 *
 *     struct cs_redact *rd = NULL;
 *     struct cs_buf out = CS_BUF_INIT;
 *
 *     if (cs_redact_new(&rd, NULL, 0, err) < 0) ...      // the defaults
 *     if (cs_redact_add(rd, &(struct cs_redact_rule){"order",
 *             "\\bORD-\\d{6}\\b", "[ORDER]"}, err) < 0) ...
 *     if (cs_redact_apply(&out, NULL, rd, text, len, err) < 0) ...
 *     ...
 *     cs_buf_release(&out);
 *     cs_redact_free(rd);
 *
 * A redactor is an ordered list of rules; each rule's pattern (PCRE2 with
 * UTF and UCP, JIT-compiled once) is applied in turn to the output of the
 * previous one, and every match is replaced by the rule's replacement
 * text, taken literally. Rules named "card" and "iban" (the defaults, or
 * patterns given under those names) only replace matches whose digits
 * pass the Luhn check / the ISO 7064 mod-97 check, and "phone" and "ssn"
 * matches are checked against dates, years and thousands groupings; when a
 * check fails, the regex engine backtracks to look for a shorter match.
 *
 * The default rules, in order: email [EMAIL], iban [IBAN], card [CARD],
 * ssn [SSN] (US, 123-45-6789), phone [PHONE] (international "+..."
 * numbers, "(area) local", 7 to 15 digits in groups, national numbers
 * starting with 0). Times, dates, prices, decimals, years and short counts
 * are left alone; a run of digits without separators is a phone only when
 * it starts with "+" or "0".
 *
 * A redactor keeps match state, so use one per thread.
 *
 * The configured redactor (cs_redact_new_configured) is the one every
 * part of the program applies to text that leaves it or is stored: the
 * defaults, then the config's "redact" rules.
 */

struct cs_redact;

struct cs_redact_rule {
    const char *name;           /* [a-z0-9_-]+, e.g. "phone" */
    const char *pattern;        /* PCRE2, compiled with UTF|UCP */
    const char *replacement;    /* literal; NULL: "[NAME]" in upper case */
};

/* The built-in rules, in the order they run. */
extern const struct cs_redact_rule cs_redact_defaults[];
extern const size_t cs_redact_ndefaults;

/*
 * Makes a redactor in *out (new, free with cs_redact_free) from `n` rules,
 * or from the defaults when `rules` is NULL. Returns CS_EINVALID with
 * PCRE2's message and the offset when a pattern does not compile (the
 * message names the rule), or for a bad rule name.
 */
int cs_redact_new(struct cs_redact **out, const struct cs_redact_rule *rules,
                  size_t n, struct cs_err *err);

/*
 * Adds `rule` (strings copied) after the existing rules, or, when a rule
 * of the same name exists, replaces that rule's pattern and replacement
 * in place. On error (as cs_redact_new) the redactor is unchanged.
 */
int cs_redact_add(struct cs_redact *rd, const struct cs_redact_rule *rule,
                  struct cs_err *err);

/*
 * Makes the configured redactor in *out (new): the defaults, then the
 * config's "redact" array of {"name", "pattern", "replacement"} in order
 * (a rule named like a built-in one replaces it, see cs_redact_add).
 * Returns CS_EINVALID naming the config file and the entry when the array
 * is malformed, or cs_redact_add's error for a rule.
 */
int cs_redact_new_configured(struct cs_redact **out,
                             const struct cs_config *cfg,
                             struct cs_err *err);

/* Frees the redactor; NULL is a no-op. */
void cs_redact_free(struct cs_redact *rd);

/*
 * Appends `text` (`len` bytes of UTF-8) to `out` with every match of every
 * rule replaced, and sets *count_out (may be NULL) to the number of
 * replacements. Returns CS_EINVALID for text that is not valid UTF-8,
 * CS_ETOOBIG when `out` has a cap that the result exceeds (`out` then holds
 * only what it had before), CS_ERROR when PCRE2 fails (e.g. a custom
 * pattern exceeds the match limit).
 */
int cs_redact_apply(struct cs_buf *out, size_t *count_out,
                    struct cs_redact *rd, const char *text, size_t len,
                    struct cs_err *err);

#endif
