/* parse.h - strict parsing of numbers, dates and timestamps */
#ifndef CS_BASE_PARSE_H
#define CS_BASE_PARSE_H

#include <stdint.h>

/* Whole string must be a number; 0 or CS_EINVALID. */
int cs_parse_long(const char *s, long *out);
int cs_parse_double(const char *s, double *out);

/*
 * RFC 3339 timestamp ("2026-11-02T09:14:03Z", "...03.5+01:00"; 't' and ' '
 * accepted as separator) to microseconds since the Unix epoch, UTC.
 * Returns 0 or CS_EINVALID.
 */
int cs_parse_rfc3339(const char *s, int64_t *out_us);

/* "YYYY-MM-DD" to days since 1970-01-01; 0 or CS_EINVALID. */
int cs_parse_date(const char *s, int64_t *out_days);

/*
 * cs_parse_date that says what is wrong in `err`: "'2026-11-31' is not a
 * date: November has 30 days" for a day that does not exist (likewise a
 * month 13 or February 29th of a common year), "'26-1-5' is not a date:
 * dates are YYYY-MM-DD" for anything else. 0 or CS_EINVALID.
 */
struct cs_err;
int cs_parse_date_err(const char *s, int64_t *out_days, struct cs_err *err);

/* Days since the epoch to "YYYY-MM-DD" (out must hold 11 bytes). */
void cs_format_date(int64_t days, char *out);

/* Civil date helpers (proleptic Gregorian). */
int64_t cs_days_from_civil(int64_t y, unsigned m, unsigned d);
void cs_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
unsigned cs_days_in_month(int64_t y, unsigned m);

#endif
