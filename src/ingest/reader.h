/* reader.h - line reader over plain or gzip-compressed files */
#ifndef CS_INGEST_READER_H
#define CS_INGEST_READER_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * Reads a file line by line with bounded memory: a line longer than
 * `max_line` bytes is skipped (its bytes are never held) and reported as
 * too long. Plain files and .gz files are read the same way.
 */
struct cs_reader;

int cs_reader_open(struct cs_reader **out, const char *path, size_t max_line,
                   struct cs_err *err);

/*
 * Returns 1 with the next line in *line and *len (borrowed until the next call;
 * no newline, a final '\r' removed), 0 at end of file, or CS_EIO on a read
 * or decompression error. *too_long is set for a skipped overlong line
 * (*len then holds its length so far). *lineno is its 1-based number.
 */
int cs_reader_next(struct cs_reader *r, const char **line, size_t *len,
                   int *too_long, long *lineno, struct cs_err *err);

void cs_reader_close(struct cs_reader *r);

/*
 * Reads a whole file (plain or .gz) into `out` (reset first). A file of
 * more than `max` bytes is not read: CS_ETOOBIG, with its size so far in
 * *size_out (may be NULL). CS_ENOTFOUND / CS_EIO when it cannot be read.
 */
int cs_reader_slurp(struct cs_buf *out, size_t *size_out, const char *path,
                    size_t max, struct cs_err *err);

#endif
