/* format.h - numbers as people read them, shared by every renderer */
#ifndef CS_REPORT_FORMAT_H
#define CS_REPORT_FORMAT_H

#include <stddef.h>

#include "base/buf.h"
#include "report/model.h"

/*
 * docs/report-design.md, "Precision follows meaning": rates with one
 * decimal ("71.3 %"), money in the tenant's currency (whole units from
 * 1,000 up, cents below; a loss with a minus sign), durations as "47.2 s"
 * or "3m 03s", counts with thousands separators, milliseconds whole,
 * ROI as "26.1×". Null is "—". Minus signs are U+2212.
 *
 * Every function appends to `b`. `fmt` (may be NULL: "$", ".", ",")
 * gives the tenant's currency and separators.
 */

#define CS_FMT_DASH "\xe2\x80\x94"  /* — */
#define CS_FMT_MINUS "\xe2\x88\x92" /* − */

/* A value of `unit`; `decimals` < 0 takes the unit's default. */
void cs_fmt_value(struct cs_buf *b, const struct cs_numfmt *fmt,
                  enum cs_unit unit, double v, int decimals);
/* Money with explicit precision (0 or 2 decimals, -1: by size). */
void cs_fmt_money(struct cs_buf *b, const struct cs_numfmt *fmt, double v,
                  int decimals);
/* A whole or decimal number with the tenant's separators. */
void cs_fmt_number(struct cs_buf *b, const struct cs_numfmt *fmt, double v,
                   int decimals);
/* A change in the KPI's own terms: "+2.1 pp", "−12.4 %", "−8 s". */
void cs_fmt_change(struct cs_buf *b, const struct cs_numfmt *fmt,
                   enum cs_unit unit, double change);
/* "▲" for a rise, "▼" for a fall, "" for none or no change. */
const char *cs_fmt_arrow(double change);

/*
 * The value and threshold of an alert, with as many decimals as it takes
 * for the two to read differently (a 97.96 % connector success against a
 * 98 % threshold must not print as "98.0 %" beside "98.0 %").
 */
void cs_fmt_alert(struct cs_buf *value, struct cs_buf *threshold,
                  const struct cs_numfmt *fmt, const struct cs_alert *a);

/* A p-value for people: "p = 0.0004", "p < 0.0001", "—". */
void cs_fmt_p(struct cs_buf *b, double p);

/* Columns a UTF-8 string takes on a terminal (code points). */
size_t cs_fmt_width(const char *s);
/* Appends `s` padded with spaces to `width` columns (right-aligned when
 * `right`), cut with "…" when longer. */
void cs_fmt_pad(struct cs_buf *b, const char *s, size_t width, int right);

#endif
