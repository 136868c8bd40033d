/* http.c - concurrent HTTP client for JSON APIs with retries (libcurl) */
#include "net/http.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"

/* What a request sends. */
enum req_kind { REQ_JSON, REQ_GET, REQ_DELETE, REQ_FORM };

/* One posted request, from cs_http_post() until its on_done call. */
struct req {
    struct req *next;           /* queue link */
    enum req_kind kind;
    char *url;
    char *body;
    size_t body_len;
    char **fields;              /* REQ_FORM: name, value, ..., NULL */
    char *file_field;           /* REQ_FORM: the part holding the file */
    char *file_path;
    curl_mime *mime;            /* REQ_FORM, while on the wire */
    void *user;
    unsigned tries;
    unsigned slot;              /* index in active[] while on the wire */
    CURL *easy;                 /* while on the wire */
    uint64_t seq;               /* tie-break in the backoff heap */
    double posted_at;
    double due;                 /* when the next retry may start */
    long retry_after_ms;        /* from the last answer; -1: none */
    int toobig;
    struct cs_buf resp;
    struct cs_buf msg;
    char errbuf[CURL_ERROR_SIZE];
};

struct cs_http {
    struct cs_http_opts o;
    char *bearer;
    CURLM *multi;
    struct curl_slist *headers;     /* JSON bodies */
    struct curl_slist *plain;       /* GET and forms: no Content-Type */
    CURL **idle;                /* easy handles not in use */
    unsigned n_idle;
    struct req **active;        /* concurrency slots; NULL: free */
    unsigned n_active;
    struct req *qhead, *qtail;  /* waiting for a first try */
    unsigned n_queued;
    struct req **heap;          /* waiting for a retry, min-heap on due */
    size_t n_heap, cap_heap;
    uint64_t rng;
    uint64_t seq;
    int in_run;
    int closing;
    int stopping;               /* cs_http_stop: no new tries */
    double next_start;          /* min_interval_ms: no try starts before */
    struct cs_http_stats st;
};

static void cancel_waiting(struct cs_http *h);

void cs_http_opts_init(struct cs_http_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->concurrency = 16;
    o->connect_timeout_ms = 10000;
    o->timeout_ms = 120000;
    o->max_tries = 4;
    o->backoff_base_ms = 500;
    o->backoff_max_ms = 30000;
    o->max_body = 8u << 20;
}

static double now(const struct cs_http *h)
{
    return h->o.clock ? h->o.clock(h->o.clock_ctx) : cs_now();
}

/* xorshift64* on a splitmix64-scrambled seed: small, fast, reproducible. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;

    if (x == 0)
        x = 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t rng_seed(uint64_t seed)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
}

long cs_http_backoff_ms(uint64_t *rng, long base_ms, long max_ms,
                        unsigned retry, long retry_after_ms)
{
    long cap = max_ms;

    if (retry_after_ms >= 0)
        return retry_after_ms < max_ms ? retry_after_ms : max_ms;
    if (retry < 1)
        retry = 1;
    if (base_ms <= 0)
        return 0;
    if (retry - 1 < 31 && base_ms <= (max_ms >> (retry - 1)))
        cap = base_ms << (retry - 1);
    if (cap <= 0)
        return 0;
    return (long)(rng_next(rng) % ((uint64_t)cap + 1));
}

/* ---- the backoff heap ------------------------------------------------- */

static int heap_less(const struct req *a, const struct req *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_push(struct cs_http *h, struct req *r)
{
    size_t i;

    if (h->n_heap == h->cap_heap) {
        h->cap_heap = h->cap_heap ? h->cap_heap * 2 : 16;
        h->heap = cs_xrealloc(h->heap, h->cap_heap * sizeof(*h->heap));
    }
    i = h->n_heap++;
    while (i > 0 && heap_less(r, h->heap[(i - 1) / 2])) {
        h->heap[i] = h->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->heap[i] = r;
}

static struct req *heap_pop(struct cs_http *h)
{
    struct req *top = h->heap[0], *last = h->heap[--h->n_heap];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n_heap)
            break;
        if (c + 1 < h->n_heap && heap_less(h->heap[c + 1], h->heap[c]))
            c++;
        if (!heap_less(h->heap[c], last))
            break;
        h->heap[i] = h->heap[c];
        i = c;
    }
    if (h->n_heap)
        h->heap[i] = last;
    return top;
}

/* ---- libcurl callbacks ------------------------------------------------ */

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
    struct req *r = ud;

    if (cs_buf_add(&r->resp, data, size * n) < 0) {
        r->toobig = 1;
        return 0;   /* makes libcurl fail the transfer with WRITE_ERROR */
    }
    return size * n;
}

/* Picks up Retry-After (seconds, or an HTTP date) from the answer. */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    struct req *r = ud;
    size_t len = size * n, vlen;
    const char *v;
    char tmp[64];
    long secs;

    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        r->retry_after_ms = -1;     /* a new answer (e.g. after a 100) */
        return len;
    }
    if (len < 12 || strncasecmp(line, "retry-after:", 12) != 0)
        return len;
    v = line + 12;
    vlen = len - 12;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
                    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (vlen == 0 || vlen >= sizeof(tmp))
        return len;
    memcpy(tmp, v, vlen);
    tmp[vlen] = '\0';
    if (cs_parse_long(tmp, &secs) == 0) {
        if (secs < 0)
            return len;
    } else {
        time_t when = curl_getdate(tmp, NULL);

        if (when == (time_t)-1)
            return len;
        secs = when > time(NULL) ? (long)(when - time(NULL)) : 0;
    }
    r->retry_after_ms = secs > 86400 ? 86400000L : secs * 1000;
    return len;
}

/* ---- requests --------------------------------------------------------- */

static void req_free(struct req *r)
{
    if (!r)
        return;
    free(r->url);
    free(r->body);
    for (size_t i = 0; r->fields && r->fields[i]; i++)
        free(r->fields[i]);
    free(r->fields);
    free(r->file_field);
    free(r->file_path);
    curl_mime_free(r->mime);
    cs_buf_release(&r->resp);
    cs_buf_release(&r->msg);
    free(r);
}

/* Replaces every copy of the token in `b` (defence in depth: no message is
 * built from headers, but a server may echo them). */
static void scrub(struct cs_buf *b, const char *secret)
{
    size_t sl;
    char *p;

    if (!secret || !*secret)
        return;
    sl = strlen(secret);
    p = strstr(b->ptr, secret);
    while (p) {
        memset(p, '*', sl);
        p = strstr(p + sl, secret);
    }
}

/* Appends up to `max` bytes of an answer as one printable line. */
static void add_snippet(struct cs_buf *b, const char *s, size_t len,
                        size_t max)
{
    size_t i;

    for (i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];

        cs_buf_addch(b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
    if (len > max)
        cs_buf_adds(b, "...");
}

static void complete(struct cs_http *h, struct req *r, enum cs_http_fail fail,
                     long status)
{
    struct cs_http_result res;

    if (fail != CS_HTTP_OK)
        scrub(&r->msg, h->bearer);
    memset(&res, 0, sizeof(res));
    res.code = fail == CS_HTTP_OK ? 0
               : fail == CS_HTTP_TOOBIG ? CS_ETOOBIG : CS_ENET;
    res.fail = fail;
    res.status = status;
    res.body = r->resp.ptr;
    res.body_len = r->resp.len;
    res.tries = r->tries;
    res.elapsed = now(h) - r->posted_at;
    res.error = r->msg.ptr;
    h->st.completed++;
    if (fail == CS_HTTP_OK)
        h->st.succeeded++;
    else
        h->st.failed++;
    h->o.on_done(&res, r->user);
    req_free(r);
}

static const char *tries_word(unsigned n)
{
    return n == 1 ? "try" : "tries";
}

/* Queues a request made by the caller (h's checks passed). */
static void enqueue(struct cs_http *h, struct req *r, void *user)
{
    r->user = user;
    r->retry_after_ms = -1;
    r->seq = h->seq++;
    r->posted_at = now(h);
    cs_buf_init_max(&r->resp, h->o.max_body);
    cs_buf_init(&r->msg);
    if (h->qtail)
        h->qtail->next = r;
    else
        h->qhead = r;
    h->qtail = r;
    h->n_queued++;
    h->st.posted++;
}

static int check_url(const struct cs_http *h, const char *url,
                     struct cs_err *err)
{
    if (h->closing)
        return cs_err_set(err, CS_EINVALID, "http client is shutting down");
    if (strncasecmp(url, "http://", 7) != 0 &&
        strncasecmp(url, "https://", 8) != 0)
        return cs_err_set(err, CS_EINVALID,
                          "url must start with http:// or https://");
    return 0;
}

int cs_http_post(struct cs_http *h, const char *url, const char *body,
                 size_t len, void *user, struct cs_err *err)
{
    struct req *r;
    int ret;

    assert(h && url && (body || len == 0));
    ret = check_url(h, url, err);
    if (ret)
        return ret;
    r = cs_xcalloc(1, sizeof(*r));
    r->kind = REQ_JSON;
    r->url = cs_xstrdup(url);
    r->body = cs_xstrndup(body ? body : "", len);
    r->body_len = len;
    enqueue(h, r, user);
    return 0;
}

int cs_http_send(struct cs_http *h, const struct cs_http_req *rq,
                 void *user, struct cs_err *err)
{
    struct req *r;
    size_t n = 0;
    int ret;

    assert(h && rq && rq->url);
    if (!rq->method || !strcmp(rq->method, "POST")) {
        if (!rq->file_path)
            return cs_http_post(h, rq->url, rq->body, rq->len, user, err);
    } else if (strcmp(rq->method, "GET") != 0 &&
               strcmp(rq->method, "DELETE") != 0) {
        return cs_err_set(err, CS_EINVALID, "http: method '%s' is not GET, "
                          "DELETE or POST", rq->method);
    }
    ret = check_url(h, rq->url, err);
    if (ret)
        return ret;
    r = cs_xcalloc(1, sizeof(*r));
    r->url = cs_xstrdup(rq->url);
    r->body = cs_xstrdup("");
    if (rq->method && !strcmp(rq->method, "GET")) {
        r->kind = REQ_GET;
    } else if (rq->method && !strcmp(rq->method, "DELETE")) {
        r->kind = REQ_DELETE;
    } else {
        assert(rq->file_field);
        r->kind = REQ_FORM;
        r->file_field = cs_xstrdup(rq->file_field);
        r->file_path = cs_xstrdup(rq->file_path);
        while (rq->fields && rq->fields[n])
            n++;
        assert(n % 2 == 0);
        r->fields = cs_xcalloc(n + 1, sizeof(*r->fields));
        for (size_t i = 0; i < n; i++)
            r->fields[i] = cs_xstrdup(rq->fields[i]);
    }
    enqueue(h, r, user);
    return 0;
}

/* ---- easy handles ----------------------------------------------------- */

static CURL *easy_get(struct cs_http *h)
{
    CURL *e;

    if (h->n_idle)
        return h->idle[--h->n_idle];
    e = curl_easy_init();
    if (!e)
        return NULL;
    /* Options that stay the same for every request of this handle. */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "callscope/" CS_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    return e;
}

static void easy_put(struct cs_http *h, CURL *e)
{
    h->idle[h->n_idle++] = e;
}

/* The multipart form of `r` (new), or NULL when libcurl cannot make it.
 * Built again for every try: the file is read as it is sent. */
static curl_mime *form_of(CURL *e, const struct req *r)
{
    curl_mime *m = curl_mime_init(e);
    curl_mimepart *p;

    if (!m)
        return NULL;
    for (size_t i = 0; r->fields[i]; i += 2) {
        p = curl_mime_addpart(m);
        if (!p || curl_mime_name(p, r->fields[i]) != CURLE_OK ||
            curl_mime_data(p, r->fields[i + 1], CURL_ZERO_TERMINATED) !=
                CURLE_OK) {
            curl_mime_free(m);
            return NULL;
        }
    }
    p = curl_mime_addpart(m);
    if (!p || curl_mime_name(p, r->file_field) != CURLE_OK ||
        curl_mime_filedata(p, r->file_path) != CURLE_OK) {
        curl_mime_free(m);
        return NULL;
    }
    return m;
}

/* Sets what this try sends: a handle may have sent another kind before. */
static int set_request(struct cs_http *h, CURL *e, struct req *r)
{
    /* Only a DELETE names its method; the others' follow their body. */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                     r->kind == REQ_DELETE ? "DELETE" : NULL);
    switch (r->kind) {
    case REQ_GET:
    case REQ_DELETE:
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->plain);
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return 0;
    case REQ_FORM:
        r->mime = form_of(e, r);
        if (!r->mime)
            return -1;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->plain);
        curl_easy_setopt(e, CURLOPT_MIMEPOST, r->mime);
        return 0;
    default:
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)r->body_len);
        return 0;
    }
}

/* Puts `r` on the wire in a free slot; on failure completes it. */
static int start(struct cs_http *h, struct req *r, struct cs_err *err)
{
    CURL *e = easy_get(h);
    CURLMcode mc;
    unsigned slot;

    if (!e) {
        cs_buf_adds(&r->msg, "cannot make a libcurl handle");
        complete(h, r, CS_HTTP_TRANSPORT, 0);
        return 0;
    }
    for (slot = 0; h->active[slot]; slot++)
        ;
    r->slot = slot;
    r->toobig = 0;
    r->retry_after_ms = -1;
    r->errbuf[0] = '\0';
    cs_buf_reset(&r->resp);
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    if (set_request(h, e, r) < 0) {
        easy_put(h, e);
        cs_buf_adds(&r->msg, "cannot build the form to send");
        complete(h, r, CS_HTTP_TRANSPORT, 0);
        return 0;
    }
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    mc = curl_multi_add_handle(h->multi, e);
    if (mc != CURLM_OK) {
        easy_put(h, e);
        cs_buf_addf(&r->msg, "cannot start a request: %s",
                    curl_multi_strerror(mc));
        complete(h, r, CS_HTTP_TRANSPORT, 0);
        return cs_err_set(err, CS_ENET, "http: %s", curl_multi_strerror(mc));
    }
    r->easy = e;
    h->active[slot] = r;
    h->n_active++;
    r->tries++;
    h->st.tries++;
    if (h->o.min_interval_ms > 0)
        h->next_start = now(h) + (double)h->o.min_interval_ms / 1000.0;
    if (r->tries > 1)
        h->st.retries++;
    if (h->n_active > h->st.max_in_flight)
        h->st.max_in_flight = h->n_active;
    return 0;
}

/* Fills free slots: retries that are due first, then new requests. */
static int start_due(struct cs_http *h, struct cs_err *err)
{
    double t = now(h);
    int ret;

    if (h->o.min_interval_ms > 0 && t < h->next_start)
        return 0;
    while (h->n_active < h->o.concurrency && h->n_heap &&
           h->heap[0]->due <= t) {
        if (h->o.min_interval_ms > 0 && now(h) < h->next_start)
            return 0;
        ret = start(h, heap_pop(h), err);
        if (ret < 0)
            return ret;
    }
    while (h->n_active < h->o.concurrency && h->qhead) {
        struct req *r = h->qhead;

        if (h->o.min_interval_ms > 0 && now(h) < h->next_start)
            return 0;
        h->qhead = r->next;
        if (!h->qhead)
            h->qtail = NULL;
        r->next = NULL;
        h->n_queued--;
        ret = start(h, r, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Detaches the easy handle of a finished or cancelled try. */
static void detach(struct cs_http *h, CURL *e, struct req *r)
{
    curl_multi_remove_handle(h->multi, e);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    if (r->mime) {
        curl_easy_setopt(e, CURLOPT_MIMEPOST, NULL);
        curl_mime_free(r->mime);
        r->mime = NULL;
    }
    easy_put(h, e);
    r->easy = NULL;
    h->active[r->slot] = NULL;
    h->n_active--;
}

static const char *curl_reason(const struct req *r, CURLcode cc)
{
    return r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc);
}

/* Decides what a finished try means: done, or retry later. */
static void finish_try(struct cs_http *h, CURL *e, CURLcode cc)
{
    void *priv = NULL;
    struct req *r;
    enum cs_http_fail fail = CS_HTTP_OK;
    long status = 0;
    int retry = 0;

    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    r = priv;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    detach(h, e, r);
    cs_buf_reset(&r->msg);

    if (cc == CURLE_OK) {
        if (status >= 200 && status < 300) {
            complete(h, r, CS_HTTP_OK, status);
            return;
        }
        fail = CS_HTTP_STATUS;
        if (status == 429) {
            h->st.http_429++;
            retry = 1;
        } else if (status >= 500 && status < 600) {
            h->st.http_5xx++;
            retry = 1;
        }
    } else if (cc == CURLE_WRITE_ERROR && r->toobig) {
        fail = CS_HTTP_TOOBIG;
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        fail = CS_HTTP_TIMEOUT;
        h->st.timeouts++;
        retry = 1;
    } else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_GOT_NOTHING ||
               cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
               cc == CURLE_PARTIAL_FILE) {
        fail = CS_HTTP_CONNECT;
        h->st.conn_errors++;
        retry = 1;
    } else {
        fail = CS_HTTP_TRANSPORT;
    }

    if (retry && r->tries < h->o.max_tries && !h->stopping) {
        long wait = cs_http_backoff_ms(&h->rng, h->o.backoff_base_ms,
                                       h->o.backoff_max_ms, r->tries,
                                       r->retry_after_ms);

        r->due = now(h) + (double)wait / 1000.0;
        heap_push(h, r);
        return;
    }

    switch (fail) {
    case CS_HTTP_STATUS:
        cs_buf_addf(&r->msg, "http %ld after %u %s", status, r->tries,
                    tries_word(r->tries));
        if (r->resp.len) {
            /* Scrub before cutting, over a window that holds any token
             * starting inside the snippet, so no token prefix survives. */
            struct cs_buf win = CS_BUF_INIT;
            size_t wl = 160 + (h->bearer ? strlen(h->bearer) : 0);

            cs_buf_add(&win, r->resp.ptr, r->resp.len < wl ? r->resp.len
                                                           : wl);
            scrub(&win, h->bearer);
            cs_buf_adds(&r->msg, ": ");
            add_snippet(&r->msg, win.ptr, r->resp.len < wl ? win.len
                                                           : r->resp.len,
                        160);
            cs_buf_release(&win);
        }
        break;
    case CS_HTTP_TOOBIG:
        cs_buf_addf(&r->msg, "answer larger than %zu bytes", h->o.max_body);
        break;
    case CS_HTTP_TIMEOUT:
        cs_buf_addf(&r->msg, "timeout after %u %s: %s", r->tries,
                    tries_word(r->tries), curl_reason(r, cc));
        break;
    case CS_HTTP_CONNECT:
        cs_buf_addf(&r->msg, "connection failed after %u %s: %s", r->tries,
                    tries_word(r->tries), curl_reason(r, cc));
        break;
    default:
        cs_buf_addf(&r->msg, "transfer failed: %s", curl_reason(r, cc));
        break;
    }
    complete(h, r, fail, status);
}

static void drain(struct cs_http *h)
{
    CURLMsg *m;
    int left;

    m = curl_multi_info_read(h->multi, &left);
    while (m) {
        if (m->msg == CURLMSG_DONE)
            finish_try(h, m->easy_handle, m->data.result);
        m = curl_multi_info_read(h->multi, &left);
    }
}

static unsigned unfinished(const struct cs_http *h)
{
    return h->n_queued + h->n_active + (unsigned)h->n_heap;
}

/* Runs libcurl and completes finished tries until nothing new starts. */
static int pump(struct cs_http *h, struct cs_err *err)
{
    int running, ret;
    unsigned before;
    CURLMcode mc;

    do {
        ret = start_due(h, err);
        if (ret < 0)
            return ret;
        mc = curl_multi_perform(h->multi, &running);
        if (mc != CURLM_OK)
            return cs_err_set(err, CS_ENET, "http: %s",
                              curl_multi_strerror(mc));
        before = h->n_active;
        drain(h);
        /* A completion frees a slot: fill it now instead of after a poll. */
    } while (h->n_active < before &&
             (h->qhead || (h->n_heap && h->heap[0]->due <= now(h))));
    return start_due(h, err);
}

int cs_http_run(struct cs_http *h, int timeout_ms, struct cs_err *err)
{
    int ret, wait = timeout_ms < 0 ? 0 : timeout_ms;
    CURLMcode mc;

    assert(h && !h->in_run);
    h->in_run = 1;
    if (h->stopping)
        cancel_waiting(h);
    ret = pump(h, err);
    if (ret < 0)
        goto done;
    if (unfinished(h) == 0)
        goto done;
    if ((h->n_heap || h->qhead) && h->n_active < h->o.concurrency) {
        double due = h->n_heap ? h->heap[0]->due : now(h);
        double d;
        int due_ms;

        if (h->qhead && due > now(h))
            due = now(h);
        if (h->o.min_interval_ms > 0 && due < h->next_start)
            due = h->next_start;
        d = (due - now(h)) * 1000.0;
        due_ms = d <= 0 ? 0 : (int)d + 1;
        if (due_ms < wait)
            wait = due_ms;
    }
    /* curl_multi_poll also returns when libcurl's own timers fire. */
    mc = curl_multi_poll(h->multi, NULL, 0, wait, NULL);
    if (mc != CURLM_OK) {
        ret = cs_err_set(err, CS_ENET, "http: %s", curl_multi_strerror(mc));
        goto done;
    }
    ret = pump(h, err);
done:
    h->in_run = 0;
    return ret < 0 ? ret : (int)unfinished(h);
}

int cs_http_wait_all(struct cs_http *h, struct cs_err *err)
{
    int n;

    do {
        n = cs_http_run(h, 1000, err);
    } while (n > 0);
    return n < 0 ? n : 0;
}

void cs_http_get_stats(struct cs_http_stats *out, const struct cs_http *h)
{
    *out = h->st;
    out->in_flight = h->n_active;
    out->queued = h->n_queued;
    out->backing_off = (unsigned)h->n_heap;
}

/* ---- lifecycle -------------------------------------------------------- */

int cs_http_new(struct cs_http **out, const struct cs_http_opts *opts,
                struct cs_err *err)
{
    struct cs_http *h = NULL;
    struct cs_buf auth = CS_BUF_INIT;
    struct curl_slist *l;
    int ret = 0;

    assert(out && opts);
    *out = NULL;
    if (!opts->on_done)
        return cs_err_set(err, CS_EINVALID, "http: no completion callback");
    if (opts->concurrency < 1 || opts->concurrency > 1024)
        return cs_err_set(err, CS_EINVALID,
                          "http: concurrency must be 1 to 1024, not %u",
                          opts->concurrency);
    if (opts->max_tries < 1)
        return cs_err_set(err, CS_EINVALID, "http: max_tries must be >= 1");
    if (opts->timeout_ms < 0 || opts->connect_timeout_ms < 0 ||
        opts->backoff_base_ms < 0 || opts->backoff_max_ms < 0 ||
        opts->min_interval_ms < 0)
        return cs_err_set(err, CS_EINVALID,
                          "http: timeouts and backoffs must be >= 0");
    if (opts->bearer && strpbrk(opts->bearer, "\r\n"))
        return cs_err_set(err, CS_EINVALID,
                          "http: the API token contains a line break");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cs_err_set(err, CS_ENET, "http: cannot initialise libcurl");

    h = cs_xcalloc(1, sizeof(*h));
    h->o = *opts;
    h->o.bearer = NULL;
    if (h->o.max_body == 0)
        h->o.max_body = 8u << 20;
    h->rng = rng_seed(opts->seed ? opts->seed
                                 : (uint64_t)time(NULL) ^ (uintptr_t)h);
    h->idle = cs_xcalloc(opts->concurrency, sizeof(*h->idle));
    h->active = cs_xcalloc(opts->concurrency, sizeof(*h->active));
    h->multi = curl_multi_init();
    if (!h->multi) {
        ret = cs_err_set(err, CS_ENET, "http: cannot make a multi handle");
        goto done;
    }
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)opts->concurrency);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
                      (long)opts->concurrency);

    /* "Expect:" stops libcurl from waiting for "100 Continue" on big
     * bodies, a round trip most JSON APIs never need. */
    l = curl_slist_append(NULL, "Content-Type: application/json");
    l = l ? curl_slist_append(l, "Accept: application/json") : NULL;
    l = l ? curl_slist_append(l, "Expect:") : NULL;
    h->headers = l;
    h->plain = curl_slist_append(NULL, "Expect:");
    if (l && h->plain && opts->bearer && *opts->bearer) {
        h->bearer = cs_xstrdup(opts->bearer);
        cs_buf_addf(&auth, "Authorization: Bearer %s", opts->bearer);
        l = curl_slist_append(h->headers, auth.ptr);
        l = l ? curl_slist_append(h->plain, auth.ptr) : NULL;
        memset(auth.ptr, 0, auth.len);
    }
    if (!l || !h->plain) {
        ret = cs_err_set(err, CS_ENET, "http: cannot build headers");
        goto done;
    }
    *out = h;
    h = NULL;
done:
    cs_buf_release(&auth);
    if (h)
        cs_http_free(h);
    return ret;
}

static void cancel(struct cs_http *h, struct req *r)
{
    cs_buf_reset(&r->msg);
    cs_buf_reset(&r->resp);
    cs_buf_adds(&r->msg, h->stopping && !h->closing
                             ? "cancelled: the run is stopping"
                             : "cancelled: the http client was freed");
    complete(h, r, CS_HTTP_CANCELLED, 0);
}

/* Cancels what is not on the wire. */
static void cancel_waiting(struct cs_http *h)
{
    while (h->n_heap)
        cancel(h, heap_pop(h));
    while (h->qhead) {
        struct req *r = h->qhead;

        h->qhead = r->next;
        if (!h->qhead)
            h->qtail = NULL;
        h->n_queued--;
        cancel(h, r);
    }
}

void cs_http_stop(struct cs_http *h)
{
    assert(h && !h->in_run);
    h->stopping = 1;
    cancel_waiting(h);
}

void cs_http_free(struct cs_http *h)
{
    unsigned i;

    if (!h)
        return;
    assert(!h->in_run);
    h->closing = 1;
    for (i = 0; h->active && i < h->o.concurrency; i++) {
        struct req *r = h->active[i];

        if (r) {
            detach(h, r->easy, r);
            cancel(h, r);
        }
    }
    while (h->n_heap)
        cancel(h, heap_pop(h));
    while (h->qhead) {
        struct req *r = h->qhead;

        h->qhead = r->next;
        h->n_queued--;
        cancel(h, r);
    }
    for (i = 0; i < h->n_idle; i++)
        curl_easy_cleanup(h->idle[i]);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    curl_slist_free_all(h->headers);
    curl_slist_free_all(h->plain);
    if (h->bearer) {
        memset(h->bearer, 0, strlen(h->bearer));
        free(h->bearer);
    }
    free(h->heap);
    free(h->idle);
    free(h->active);
    free(h);
    curl_global_cleanup();
}
