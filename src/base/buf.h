/* buf.h - growable string builder with an optional size cap */
#ifndef CS_BASE_BUF_H
#define CS_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Usage:
 *
 *     struct cs_buf b = CS_BUF_INIT;
 *     cs_buf_addf(&b, "%d calls", n);
 *     puts(b.ptr);              // always NUL-terminated, never NULL
 *     cs_buf_release(&b);
 *
 * Invariants: `ptr` is never NULL (it points at a static "" until the first
 * add), `ptr[len] == '\0'`. With a cap (cs_buf_init_max), an add that would
 * grow `len` past `max` appends nothing and returns CS_ETOOBIG; the buffer
 * stays valid. Without a cap adds cannot fail and return 0.
 */
struct cs_buf {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max; /* 0: no cap */
};

extern char cs_buf_empty[];
#define CS_BUF_INIT { cs_buf_empty, 0, 0, 0 }

void cs_buf_init(struct cs_buf *b);
void cs_buf_init_max(struct cs_buf *b, size_t max);
/* Frees the contents and leaves `b` empty, as after init (keeping its
 * size cap, if any). */
void cs_buf_release(struct cs_buf *b);
/* Empties `b`, keeping its memory. */
void cs_buf_reset(struct cs_buf *b);
/* Ensures room for `extra` more bytes. */
int cs_buf_grow(struct cs_buf *b, size_t extra);
int cs_buf_add(struct cs_buf *b, const void *data, size_t len);
int cs_buf_adds(struct cs_buf *b, const char *s);
int cs_buf_addch(struct cs_buf *b, char c);
int cs_buf_addf(struct cs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cs_buf_vaddf(struct cs_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/*
 * Appends `len` bytes of `s` (text from data, any bytes) as an excerpt
 * for a one-line message: at most `max` bytes of it, cut at a character
 * boundary and then "…"; line breaks and tabs as \n \r \t, other control
 * characters and bytes that are not UTF-8 as \xNN. So a value quoted in
 * an error can neither break the line (nor forge a log line) nor make the
 * message invalid UTF-8.
 */
void cs_buf_add_excerpt(struct cs_buf *b, const char *s, size_t len,
                        size_t max);

/* Returns the string, new (the caller frees it); `b` is reset to empty. */
char *cs_buf_detach(struct cs_buf *b, size_t *len_out);

#endif
