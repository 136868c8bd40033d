/* err.h - error codes and the caller-owned error struct */
#ifndef CS_BASE_ERR_H
#define CS_BASE_ERR_H

/*
 * A function that can fail returns 0 or one of these negative codes, and
 * fills a caller-owned `struct cs_err` (which may be NULL) with a one-line
 * message. Callees pass a callee's error up unchanged; only the CLI adds
 * context such as file:line.
 */
enum {
    CS_OK = 0,
    CS_ERROR = -1,      /* anything not listed below */
    CS_ENOTFOUND = -2,
    CS_EINVALID = -3,   /* bad input: data, config, rubric, usage */
    CS_EIO = -4,
    CS_EDB = -5,
    CS_ENET = -6,
    CS_ELLM = -7,
    CS_ETOOBIG = -8,    /* a capped buffer or a limit was exceeded */
    CS_ELOCKED = -9     /* another run of the same job holds its lock */
};

/*
 * Messages are kept whole up to CS_ERR_MSG_MAX - 1 bytes (a server's
 * error with its detail, a path and a line range fit); a longer one is
 * cut at a UTF-8 character boundary and ends in "\u2026" so a reader
 * sees it was cut. The struct stays fixed-size and caller-owned.
 */
#define CS_ERR_MSG_MAX 2048

struct cs_err {
    int code;
    char msg[CS_ERR_MSG_MAX];
};

/* Resets `err` (may be NULL) to "no error". */
void cs_err_clear(struct cs_err *err);

/*
 * Formats a message into `err` (may be NULL) and returns `code`, so that
 * error paths read `return cs_err_set(err, CS_EINVALID, "...", ...);`.
 */
int cs_err_set(struct cs_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
