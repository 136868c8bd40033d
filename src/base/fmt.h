/* fmt.h - numbers as text: the shortest double that reads back exactly */
#ifndef CS_BASE_FMT_H
#define CS_BASE_FMT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "base/buf.h"

/*
 * Usage:
 *
 *     char s[CS_FMT_DOUBLE_SIZE];
 *
 *     cs_fmt_double_shortest(s, 6.8);        // "6.8", not 6.7999999999999998
 *     cs_fmt_json_dumpf(obj, stdout, JSON_INDENT(2));
 *
 * jansson prints reals with 17 significant digits unless told otherwise,
 * and JSON_REAL_PRECISION(n) applies one n to every number of a document,
 * so 0.6 comes out as 0.59999999999999998 or 1234.5678 loses digits. These
 * print each double with the fewest significant digits (1 to 17) that
 * strtod reads back as the same double, in %g's notation choice for 17
 * digits (so 800 stays "800", never "8e+02").
 */

/* Room for any result of cs_fmt_double_shortest, NUL included. */
#define CS_FMT_DOUBLE_SIZE 32

/* Writes the shortest round-trip text of `v` into `out` and returns its
 * length. Infinities and NaN come out as "inf", "-inf", "nan". */
size_t cs_fmt_double_shortest(char out[CS_FMT_DOUBLE_SIZE], double v);

/*
 * Appends `json` to `out` exactly as json_dumps(json, flags) would
 * (JSON_INDENT, JSON_COMPACT, JSON_SORT_KEYS, JSON_ENSURE_ASCII and
 * JSON_ESCAPE_SLASH are honoured; any value, not only objects and arrays,
 * is accepted) except that reals use cs_fmt_double_shortest, with ".0"
 * added to integral ones as jansson does so they stay reals.
 */
void cs_fmt_json(struct cs_buf *out, const json_t *json, size_t flags);

/* cs_fmt_json to a stream; 0 or CS_EIO when the write fails. */
int cs_fmt_json_dumpf(const json_t *json, FILE *out, size_t flags);

#endif
