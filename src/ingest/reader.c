/* reader.c - line reader over plain or gzip-compressed files */
#include "ingest/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "base/mem.h"

#define CHUNK (256u << 10)

struct cs_reader {
    gzFile gz;
    char *path;
    char *buf;
    size_t cap, start, end;
    size_t max_line;
    int eof;
    long lineno;
};

int cs_reader_open(struct cs_reader **out, const char *path, size_t max_line,
                   struct cs_err *err)
{
    struct cs_reader *r;
    gzFile gz;

    *out = NULL;
    gz = gzopen(path, "rb");
    if (!gz)
        return cs_err_set(err, errno == ENOENT ? CS_ENOTFOUND : CS_EIO,
                          "cannot open '%s': %s", path,
                          errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, CHUNK);
    r = cs_xcalloc(1, sizeof(*r));
    r->gz = gz;
    r->path = cs_xstrdup(path);
    r->max_line = max_line;
    r->cap = max_line + CHUNK + 1;
    r->buf = cs_xmalloc(r->cap);
    *out = r;
    return 0;
}

/* Reads more bytes after `end`; 0 at end of file, CS_EIO on error. */
static int fill(struct cs_reader *r, struct cs_err *err)
{
    int n, errnum;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->eof || r->end >= r->cap - 1)
        return 0;
    n = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - 1 - r->end));
    if (n < 0) {
        const char *msg = gzerror(r->gz, &errnum);

        return cs_err_set(err, CS_EIO, "cannot read '%s': %s", r->path,
                          errnum == Z_ERRNO ? strerror(errno) : msg);
    }
    if (n == 0) {
        /* A truncated .gz reads as a short file: gzerror says so. */
        const char *msg = gzerror(r->gz, &errnum);

        r->eof = 1;
        if (errnum != Z_OK && errnum != Z_BUF_ERROR)
            return cs_err_set(err, CS_EIO, "cannot read '%s': %s", r->path,
                              msg);
        if (errnum == Z_BUF_ERROR)
            return cs_err_set(err, CS_EIO, "cannot read '%s': unexpected "
                              "end of compressed data", r->path);
    }
    r->end += (size_t)n;
    return n;
}

int cs_reader_next(struct cs_reader *r, const char **line, size_t *len,
                   int *too_long, long *lineno, struct cs_err *err)
{
    size_t skipped = 0;
    int skipping = 0;

    *too_long = 0;
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        int n;

        if (nl) {
            char *s = r->buf + r->start;
            size_t l = (size_t)(nl - s);

            r->start += l + 1;
            *lineno = ++r->lineno;
            if (skipping || l > r->max_line) {
                *too_long = 1;
                *line = NULL;
                *len = skipped + l;
                return 1;
            }
            if (l && s[l - 1] == '\r')
                l--;
            *line = s;
            *len = l;
            return 1;
        }
        if (r->end - r->start > r->max_line) {
            /* Drop what we have of an overlong line and keep skipping. */
            skipped += r->end - r->start;
            r->start = r->end = 0;
            skipping = 1;
        }
        n = fill(r, err);
        if (n < 0)
            return n;
        if (n == 0 && r->eof) {
            if (r->end > r->start) {
                /* A last line without a newline. */
                size_t l = r->end - r->start;
                char *s = r->buf + r->start;

                r->start = r->end;
                *lineno = ++r->lineno;
                if (skipping || l > r->max_line) {
                    *too_long = 1;
                    *line = NULL;
                    *len = skipped + l;
                    return 1;
                }
                if (s[l - 1] == '\r')
                    l--;
                *line = s;
                *len = l;
                return 1;
            }
            if (skipping) {
                *lineno = ++r->lineno;
                *too_long = 1;
                *line = NULL;
                *len = skipped;
                return 1;
            }
            return 0;
        }
    }
}

void cs_reader_close(struct cs_reader *r)
{
    if (!r)
        return;
    gzclose(r->gz);
    free(r->path);
    free(r->buf);
    free(r);
}

int cs_reader_slurp(struct cs_buf *out, size_t *size_out, const char *path,
                    size_t max, struct cs_err *err)
{
    char chunk[64u << 10];
    size_t total = 0;
    gzFile gz;
    int n, errnum, ret = 0;

    cs_buf_reset(out);
    if (size_out)
        *size_out = 0;
    gz = gzopen(path, "rb");
    if (!gz)
        return cs_err_set(err, errno == ENOENT ? CS_ENOTFOUND : CS_EIO,
                          "cannot open '%s': %s", path,
                          errno ? strerror(errno) : "out of memory");
    for (;;) {
        n = gzread(gz, chunk, sizeof(chunk));
        if (n < 0) {
            const char *msg = gzerror(gz, &errnum);

            ret = cs_err_set(err, CS_EIO, "cannot read '%s': %s", path,
                             errnum == Z_ERRNO ? strerror(errno) : msg);
            break;
        }
        if (n == 0) {
            const char *msg = gzerror(gz, &errnum);

            if (errnum == Z_BUF_ERROR)
                ret = cs_err_set(err, CS_EIO, "cannot read '%s': unexpected "
                                 "end of compressed data", path);
            else if (errnum != Z_OK)
                ret = cs_err_set(err, CS_EIO, "cannot read '%s': %s", path,
                                 msg);
            break;
        }
        total += (size_t)n;
        if (total > max) {
            /* Count the rest without keeping it, to say how big it is. */
            cs_buf_reset(out);
            while ((n = gzread(gz, chunk, sizeof(chunk))) > 0)
                total += (size_t)n;
            ret = cs_err_set(err, CS_ETOOBIG, "'%s' holds more than %zu "
                             "bytes", path, max);
            break;
        }
        cs_buf_add(out, chunk, (size_t)n);
    }
    if (size_out)
        *size_out = total;
    gzclose(gz);
    return ret;
}
