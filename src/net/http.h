/* http.h - concurrent HTTP client for JSON APIs with retries (libcurl) */
#ifndef CS_NET_HTTP_H
#define CS_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * Usage:
 *
 *     struct cs_http_opts o;
 *     struct cs_http *h = NULL;
 *
 *     cs_http_opts_init(&o);
 *     o.concurrency = 16;
 *     o.bearer = getenv("CALLSCOPE_LLM_API_KEY");  // copied, never logged
 *     o.on_done = got_answer;                      // called once per post
 *     if (cs_http_new(&h, &o, err) < 0) ...
 *     for (...)
 *         cs_http_post(h, url, body.ptr, body.len, ctx, err);
 *     while ((n = cs_http_run(h, 1000, err)) > 0)
 *         ;                                        // or: cs_http_wait_all()
 *     cs_http_free(h);
 *
 * Posted requests wait in a FIFO queue; at most `concurrency` are on the
 * wire at once, over connections the handle keeps alive and reuses. A try
 * that ends in HTTP 429, 5xx, a timeout or a connection error is retried
 * after an exponential backoff with full jitter (or after the server's
 * Retry-After seconds, capped at `backoff_max_ms`), up to `max_tries`
 * tries in all; then the request completes with an error and the others go
 * on. Every posted request completes exactly once, through `on_done`,
 * from inside cs_http_run() (or cs_http_free() for the ones never run).
 * `on_done` may post new requests; it must not free the handle.
 *
 * A handle is not thread-safe: use it from one thread.
 */

struct cs_http;

/* Why a request failed; CS_HTTP_OK when it got a 2xx answer. */
enum cs_http_fail {
    CS_HTTP_OK = 0,
    CS_HTTP_STATUS,     /* a non-2xx answer (status holds it) */
    CS_HTTP_TIMEOUT,    /* connect or total timeout of the last try */
    CS_HTTP_CONNECT,    /* connection refused, reset or closed early */
    CS_HTTP_TOOBIG,     /* the answer was larger than max_body */
    CS_HTTP_TRANSPORT,  /* any other transport failure */
    CS_HTTP_CANCELLED   /* the handle was freed before the request ran */
};

/* What on_done receives. Everything in it is borrowed for the call only. */
struct cs_http_result {
    int code;               /* 0, or CS_ENET / CS_ETOOBIG */
    enum cs_http_fail fail;
    long status;            /* HTTP status of the last try; 0 if none */
    const char *body;       /* the last try's answer, NUL-terminated */
    size_t body_len;
    unsigned tries;         /* tries made, retries included */
    double elapsed;         /* seconds from post to completion */
    const char *error;      /* one line, "" on success; never the token */
};

typedef void (*cs_http_done_fn)(const struct cs_http_result *res,
                                void *user);
typedef double (*cs_http_clock_fn)(void *ctx);

struct cs_http_opts {
    unsigned concurrency;       /* requests in flight (16) */
    long connect_timeout_ms;    /* per try (10000) */
    long timeout_ms;            /* whole try, connect included (120000) */
    unsigned max_tries;         /* tries per request, first included (4) */
    long backoff_base_ms;       /* first retry waits up to this (500) */
    long backoff_max_ms;        /* cap on any wait, Retry-After too (30000) */
    long min_interval_ms;       /* tries start at least this far apart, for
                                   a rate-limited endpoint (0: no limit) */
    const char *bearer;         /* API token or NULL; copied */
    size_t max_body;            /* cap on an answer's size (8 MiB) */
    cs_http_done_fn on_done;    /* required */
    uint64_t seed;              /* jitter seed; 0 picks one from the time */
    cs_http_clock_fn clock;     /* seconds, monotonic; NULL: cs_now() */
    void *clock_ctx;
};

/* Counters since the handle was made. */
struct cs_http_stats {
    uint64_t posted;        /* cs_http_post calls accepted */
    uint64_t completed;     /* on_done calls */
    uint64_t succeeded;     /* ... of which with code 0 */
    uint64_t failed;
    uint64_t tries;         /* requests sent on the wire, retries included */
    uint64_t retries;       /* tries that were retries */
    uint64_t http_429;      /* tries answered 429 */
    uint64_t http_5xx;
    uint64_t timeouts;      /* tries that timed out */
    uint64_t conn_errors;   /* tries that failed to connect or were cut */
    unsigned in_flight;     /* now on the wire */
    unsigned queued;        /* now waiting for a first try */
    unsigned backing_off;   /* now waiting for a retry */
    unsigned max_in_flight; /* the most ever on the wire at once */
};

/* Fills `o` with the defaults above (on_done NULL, no token). */
void cs_http_opts_init(struct cs_http_opts *o);

/*
 * Makes a client handle in *out (new, free with cs_http_free). Copies what
 * it keeps from `opts`. Returns CS_EINVALID for unusable options (e.g. a
 * concurrency of 0 or no on_done), CS_ENET if libcurl cannot start.
 */
int cs_http_new(struct cs_http **out, const struct cs_http_opts *opts,
                struct cs_err *err);

/*
 * Completes every unfinished request with CS_HTTP_CANCELLED (on_done is
 * still called once for each), then frees the handle. NULL is a no-op.
 */
void cs_http_free(struct cs_http *h);

/*
 * Queues a POST of `len` bytes of JSON `body` to `url` (both copied);
 * `user` is handed to on_done. Nothing is sent before cs_http_run().
 * Returns 0, or CS_EINVALID for a URL that is not http(s)://.
 */
int cs_http_post(struct cs_http *h, const char *url, const char *body,
                 size_t len, void *user, struct cs_err *err);

/* A request other than a JSON POST, for cs_http_send. */
struct cs_http_req {
    const char *method;         /* "GET", "DELETE" or "POST" (NULL:
                                   POST); GET and DELETE send no body */
    const char *url;
    const char *body;           /* POST: `len` bytes of JSON */
    size_t len;
    /* POST as multipart/form-data instead: the parts `fields` (name,
     * value, ..., NULL; may be NULL), then the file at `file_path` as part
     * `file_field` (its name the file's base name). */
    const char *const *fields;
    const char *file_field;
    const char *file_path;
};

/*
 * Queues the request `rq` (everything copied; a form's file is read when
 * it is sent, at every try) like cs_http_post: the same retries,
 * completion and token handling; a GET, a DELETE and a form send no
 * JSON Content-Type. Returns 0, or CS_EINVALID for a URL that is not
 * http(s):// or another method.
 */
int cs_http_send(struct cs_http *h, const struct cs_http_req *rq,
                 void *user, struct cs_err *err);

/*
 * Starts what may start, waits up to `timeout_ms` for network activity or
 * a retry coming due, and completes what finished (calling on_done).
 * Returns how many requests remain unfinished (0: all done), or CS_ENET
 * if libcurl's multi handle fails.
 */
int cs_http_run(struct cs_http *h, int timeout_ms, struct cs_err *err);

/*
 * Stops new work, for a run that is ending: every request not on the
 * wire (queued, or waiting for a retry) completes now with
 * CS_HTTP_CANCELLED, a request posted later is cancelled the same way at
 * the next cs_http_run, and a try on the wire that fails is not retried
 * (it completes with its error). The tries on the wire run to their end.
 * Not from inside on_done.
 */
void cs_http_stop(struct cs_http *h);

/* Runs until every posted request has completed; 0 or CS_ENET. */
int cs_http_wait_all(struct cs_http *h, struct cs_err *err);

/* Copies the counters into *out. */
void cs_http_get_stats(struct cs_http_stats *out, const struct cs_http *h);

/*
 * The wait before retry number `retry` (1 for the first retry) in ms:
 * `retry_after_ms` capped at max_ms when it is >= 0 (the server said so),
 * else a uniform draw from [0, min(max_ms, base_ms * 2^(retry-1))]
 * ("full jitter"). `rng` is the jitter state; the same seed gives the
 * same waits. Exposed for tests.
 */
long cs_http_backoff_ms(uint64_t *rng, long base_ms, long max_ms,
                        unsigned retry, long retry_after_ms);

#endif
