/* csv.h - RFC 4180 fields */
#ifndef CS_BASE_CSV_H
#define CS_BASE_CSV_H

#include <stdio.h>

/* Writes `s` as one CSV field: quoted (quotes doubled) when it holds a
 * comma, a quote or a line break. */
void cs_csv_field(FILE *out, const char *s);

/* Like cs_csv_field for text that may come from data: a value starting
 * with '=', '+', '-', '@', a tab or a carriage return is prefixed with
 * "'" so that a spreadsheet opening the file never runs it as a
 * formula. */
void cs_csv_text(FILE *out, const char *s);

#endif
