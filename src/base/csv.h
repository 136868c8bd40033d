/* csv.h - RFC 4180 fields */
#ifndef CS_BASE_CSV_H
#define CS_BASE_CSV_H

#include <stdio.h>

/* Writes `s` as one CSV field: quoted (quotes doubled) when it holds a
 * comma, a quote or a line break. */
void cs_csv_field(FILE *out, const char *s);

#endif
