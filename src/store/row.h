/* row.h - a conversation as a COPY text row of the conversations table */
#ifndef CS_STORE_ROW_H
#define CS_STORE_ROW_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "model/conv.h"
#include "model/scan.h"

/*
 * The row encoding of bulk loading, apart from the COPY protocol (copy.c):
 * pure code over base/ and model/, with no libpq and no I/O, so that it
 * can run on the ingest reader thread and under a fuzzer.
 *
 *   struct cs_buf text = CS_BUF_INIT, key = CS_BUF_INIT;
 *
 *   cs_store_row_build(&text, &key, conv, line, len);  (a parsed line)
 *   cs_store_row_build_scan(&text, &key, &scan, line, len);  (scanned)
 *   ret = cs_store_row_from_line(&text, &key, line, len, &err);  (raw)
 *   ... cs_store_batch_add_row(batch, key.ptr, text.ptr, text.len, ...);
 *   cs_buf_release(&text);
 *   cs_buf_release(&key);
 *
 * A row is one line of COPY's text format without its last column and
 * newline: the cs_store_row_columns() columns of the statement from
 * cs_store_row_copy_sql, in its order, separated by tabs, with "\N" for
 * SQL NULL and every backslash, tab, newline and carriage return inside a
 * value escaped. The batch appends "\t<ingest_batch>\n". Both follow one
 * column table (row.c), so statement and rows cannot disagree. A row
 * allocates nothing through jansson, so it may be built while jansson
 * uses the ingest arena (ingest/arena.h).
 */

/* Appends `s` (`n` bytes) escaped for COPY's text format (backslash, tab,
 * newline, carriage return). */
void cs_store_copy_text(struct cs_buf *b, const char *s, size_t n);

/* Appends "COPY conversations (<the row's columns>, ingest_batch) FROM
 * STDIN" to `out`. */
void cs_store_row_copy_sql(struct cs_buf *out);

/* How many columns a row holds (the statement's, but ingest_batch). */
size_t cs_store_row_columns(void);
/* The 0-based column of started_at in a row. */
size_t cs_store_row_started_col(void);

/*
 * Resets and fills `text` with the row of `c` and `key` with its batch
 * key, "tenant\x1fid". `raw` is the line `c` was parsed from: time,
 * number and JSON values are copied from its bytes as they came. Both
 * buffers can be reused row after row. Cannot fail.
 */
void cs_store_row_build(struct cs_buf *text, struct cs_buf *key,
                        const struct cs_conv *c, const char *raw,
                        size_t raw_len);

/*
 * The same from a line the fast path accepted (model/scan.h): the row
 * cs_store_row_build makes of it, byte for byte, with `s` borrowed from
 * `raw`. Cannot fail.
 */
void cs_store_row_build_scan(struct cs_buf *text, struct cs_buf *key,
                             const struct cs_scan *s, const char *raw,
                             size_t raw_len);

/*
 * The same from a raw input line (`len` bytes, no newline, any bytes at
 * all), as ingest does it: through cs_scan_line when the line is in the
 * common shape, else parsed and validated by cs_conv_from_line. Returns
 * CS_EINVALID with the reason in `err` for a line that ingest would
 * reject, leaving the buffers reset. The fuzzing entry point.
 */
int cs_store_row_from_line(struct cs_buf *text, struct cs_buf *key,
                           const char *line, size_t len, struct cs_err *err);

#endif
