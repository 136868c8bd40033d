/* scan.h - a conversation line in its common shape, checked from its bytes */
#ifndef CS_MODEL_SCAN_H
#define CS_MODEL_SCAN_H

#include <stddef.h>

#include "model/conv.h"

/*
 * The fast path of ingest: one pass over a line's bytes that validates it
 * and indexes what its COPY row needs, with no JSON tree and, once warm,
 * no allocation.
 *
 *   struct cs_scan s;
 *
 *   cs_scan_init(&s);
 *   for each line:
 *       if (cs_scan_line(&s, line, len) == 0)
 *           ... s.v[CS_CONV_ID] ...  (borrowed from `line`)
 *       else
 *           ... cs_conv_from_line(&c, line, len, &err) decides ...
 *   cs_scan_release(&s);
 *
 * It accepts a line only if cs_conv_from_line accepts it, and then only
 * in the common shape: every top-level key is one of the format's,
 * written without escapes; no key anywhere holds an escape; the strings
 * the row takes decoded (id, tenant, agent, channel, direction, caller,
 * callee, outcome, the times, turn roles, tool `creates`, span names,
 * topics) hold none either; the numbers that validation compares are not
 * negative (not even -0); the times are in the form PostgreSQL reads as
 * they came (a 'T', no leap second); nesting is at most CS_SCAN_MAX_DEPTH
 * deep, an object has at most CS_SCAN_MAX_KEYS keys, and the integers of
 * the line have at most 18 digits. Anything else, and every line that is
 * invalid, returns 1, "not handled": the caller takes the jansson path,
 * which accepts or rejects the line with its message as it always did.
 * tests/fuzz/fuzz_scan.c holds the two paths to the same answer and, for
 * what both accept, the same row.
 */

#define CS_SCAN_MAX_DEPTH 32
#define CS_SCAN_MAX_KEYS 64
#define CS_SCAN_MAX_ITEMS 4096  /* spans or topics of one line */

enum cs_scan_type {
    CS_SCAN_ABSENT = 0,
    CS_SCAN_NULL,
    CS_SCAN_FALSE,
    CS_SCAN_TRUE,
    CS_SCAN_INT,
    CS_SCAN_REAL,
    CS_SCAN_STRING,
    CS_SCAN_ARRAY,
    CS_SCAN_OBJECT
};

/* A value as written on the line: its bytes (a string's with its quotes,
 * which cs_scan_str leaves out) and its type. */
struct cs_scan_val {
    const char *p;
    size_t n;
    enum cs_scan_type type;
};

/* One element of `spans`: its name (a string without escapes) and its
 * duration_ms (an INT or a REAL >= 0, with its value). */
struct cs_scan_span {
    struct cs_scan_val name;
    struct cs_scan_val ms;
    double ms_value;
};

struct cs_scan {
    struct cs_scan_val v[CS_CONV_N_FIELDS];  /* by field; ABSENT if not */
    size_t n_turns;
    long tools_total, tools_ok;             /* tool_calls, those ok */
    long created[3];                        /* ok ones creating a ticket,
                                               a crm_update, an
                                               appointment */
    double cost_total;  /* the costs added in their order, from 0 */
    struct cs_scan_span *spans;
    size_t n_spans, spans_cap;
    struct cs_scan_val *topics;             /* strings without escapes */
    size_t n_topics, topics_cap;
};

void cs_scan_init(struct cs_scan *s);
void cs_scan_release(struct cs_scan *s);

/*
 * Scans the `len` bytes at `line` (no newline needed; any bytes). Returns
 * 0 when the line is valid and in the common shape, with `s` filled (its
 * values borrowed from `line`); 1 when it is not handled (see above), `s`
 * then holding nothing of use. Cannot fail otherwise.
 */
int cs_scan_line(struct cs_scan *s, const char *line, size_t len);

/* The text of a string value without its quotes (it holds no escape). */
static inline const char *cs_scan_str(const struct cs_scan_val *v,
                                      size_t *n)
{
    *n = v->n - 2;
    return v->p + 1;
}

#endif
