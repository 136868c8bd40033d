/* review_internal.h - what the review module's files share (never
 * included outside review/) */
#ifndef CS_REVIEW_INTERNAL_H
#define CS_REVIEW_INTERNAL_H

#include "base/buf.h"

#define CS_REVIEW_DASH "\xe2\x80\x94" /* — */

/* Appends `s` padded with spaces to `width` characters (UTF-8 counted as
 * characters), or cut with "…" to fit, then one space. */
void cs_review_pad(struct cs_buf *b, const char *s, size_t width);

#endif
