/* mime.h - the bytes of a message: headers, multipart body, encodings */
#ifndef CS_MAIL_MIME_H
#define CS_MAIL_MIME_H

#include <stddef.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * callscope builds its messages itself (libcurl only carries them), so the
 * bytes sent, the bytes written to the outbox and the bytes stored for a
 * resend are one and the same:
 *
 *     multipart/mixed
 *       multipart/alternative
 *         text/plain; charset=UTF-8   (quoted-printable)
 *         text/html; charset=UTF-8    (quoted-printable)
 *       application/pdf ...           (base64, lines of 76)
 *
 * Lines end with CRLF and are at most 76 characters in the bodies (RFC
 * 2045). Subject and display names are RFC 2047 encoded words (UTF-8,
 * base64) of at most 75 characters, split between UTF-8 characters,
 * whenever they are not plain printable ASCII. A header value that holds
 * a CR, an LF or another control character is refused (CS_EINVALID), so
 * data can never add a header.
 */

struct cs_mime_attachment {
    const char *filename;   /* ASCII file name shown to the recipient */
    const char *type;       /* "application/pdf" */
    const void *data;
    size_t len;
};

struct cs_mime_msg {
    const char *from;       /* "addr" or "Name <addr>" (base/addr.h) */
    const char *to;         /* one recipient, same forms */
    const char *subject;    /* UTF-8 */
    const char *message_id; /* "<...@...>" */
    time_t date;
    const char *text;       /* UTF-8, lines end with "\n" */
    const char *html;       /* UTF-8, or NULL for a text-only message */
    const struct cs_mime_attachment *att;
    size_t n_att;
};

/* Appends the whole message to `out`. CS_EINVALID for an address that
 * does not parse or a header value with a line break; nothing is appended
 * then. */
int cs_mime_build(struct cs_buf *out, const struct cs_mime_msg *m,
                  struct cs_err *err);

/* Base64 of `n` bytes in lines of 76 characters, each ended by CRLF. */
void cs_mime_base64(struct cs_buf *out, const void *data, size_t n);
/* The size cs_mime_base64 gives for `n` bytes. */
size_t cs_mime_base64_size(size_t n);

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text: "\n" becomes a CRLF
 * line break, lines are cut with soft breaks at 76 characters. */
void cs_mime_qp(struct cs_buf *out, const char *text);

/*
 * Appends "Name: value\r\n", the value folded, or as encoded words when
 * it is not printable ASCII (or looks like an encoded word itself).
 * CS_EINVALID for a control character in `value`.
 */
int cs_mime_header(struct cs_buf *out, const char *name, const char *value,
                   struct cs_err *err);

/* Appends "Name: display <addr>\r\n" from an address in either form. */
int cs_mime_address_header(struct cs_buf *out, const char *name,
                           const char *addr, struct cs_err *err);

/* "Sat, 01 Nov 2026 06:10:02 +0000" (RFC 5322, in UTC). */
void cs_mime_date(char out[40], time_t t);

/* The Message-ID of a delivery: "<" + 32 hex digits of SHA-256 over
 * `parts` (NULL-terminated, joined with NUL bytes) + "@" + `domain` + ">",
 * so the same job, tenant, period and recipient always give the same. */
void cs_mime_message_id(struct cs_buf *out, const char *const *parts,
                        const char *domain);

/* The media type of a report file from its extension: .pdf, .xlsx, .csv,
 * .json, .txt; else application/octet-stream. */
const char *cs_mime_type_for(const char *path);

#endif
