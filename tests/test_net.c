/* test_net.c - the HTTP client against the real LLM double on loopback */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/parse.h"
#include "helpers.h"
#include "net/http.h"

#define MAXREQ 512

/* One completion as on_done saw it. */
struct got {
    int calls;          /* must end up exactly 1 */
    int code;
    enum cs_http_fail fail;
    long status;
    unsigned tries;
    double elapsed;
    double done_at;
    char *body;
    char *error;
};

struct fixture {
    struct th_double dbl;       /* the double, pid 0 when not running */
    char *dir;                  /* its temp dir: port, stats, log */
    struct cs_buf url;
    struct cs_http *h;
    struct got got[MAXREQ];
    int cb_calls;
    int repost;                 /* test_net__callback_may_post */
    json_t *stats;              /* the double's stats, after stop */
};

static struct fixture *current;

static void on_done(const struct cs_http_result *r, void *user)
{
    struct fixture *f = current;
    struct got *g = &f->got[(intptr_t)user];

    g->calls++;
    g->code = r->code;
    g->fail = r->fail;
    g->status = r->status;
    g->tries = r->tries;
    g->elapsed = r->elapsed;
    g->done_at = cs_now();
    free(g->body);
    free(g->error);
    g->body = strdup(r->body);
    g->error = strdup(r->error);
    f->cb_calls++;
    assert_true(r->body[r->body_len] == '\0');
    if (f->repost && (intptr_t)user == 0) {
        f->repost = 0;
        assert_int_equal(cs_http_post(f->h, f->url.ptr, "{}", 2,
                                      (void *)(intptr_t)1, NULL), 0);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    cs_buf_init(&f->url);
    current = f;
    *state = f;
    return 0;
}

static void dir_path(struct cs_buf *b, const struct fixture *f,
                     const char *name)
{
    cs_buf_reset(b);
    cs_buf_addf(b, "%s/%s", f->dir, name);
}

/* Stops the double with SIGTERM, which makes it write its stats file. */
static void double_stop(struct fixture *f)
{
    json_t *stats = th_double_stop(&f->dbl);

    if (stats) {
        json_decref(f->stats);
        f->stats = stats;
    }
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    size_t i;

    cs_http_free(f->h);
    double_stop(f);
    if (f->dir) {
        th_rmtree(f->dir);
        free(f->dir);
    }
    for (i = 0; i < MAXREQ; i++) {
        free(f->got[i].body);
        free(f->got[i].error);
    }
    json_decref(f->stats);
    cs_buf_release(&f->url);
    free(f);
    current = NULL;
    return 0;
}

/* Starts the double (tests/helpers.c) with the extra arguments (a
 * NULL-ended list); sets f->url to the chat endpoint. */
static void double_start(struct fixture *f, ...)
{
    const char *args[40];
    const char *a;
    va_list ap;
    int n = 0;

    f->dir = th_tmpdir();
    va_start(ap, f);
    for (a = va_arg(ap, const char *); a; a = va_arg(ap, const char *)) {
        assert_true(n < 39);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    th_double_start(&f->dbl, f->dir, args);
    cs_buf_reset(&f->url);
    cs_buf_addf(&f->url, "http://127.0.0.1:%ld/v1/chat/completions",
                f->dbl.port);
}

/* A chat-completions body whose user message is `text`. */
static void chat_body(struct cs_buf *out, const char *text)
{
    json_t *req = json_pack(
        "{s:s, s:f, s:[{s:s, s:s}, {s:s, s:s}], s:{s:s, s:{s:s, s:b, "
        "s:{s:s, s:{s:{s:[{s:s}, {s:s, s:[s]}]}, s:{s:s}, s:{s:s}}, "
        "s:[s, s, s], s:b}}}}",
        "model", "judge-1", "temperature", 0.0,
        "messages", "role", "system", "content", "You judge calls.",
        "role", "user", "content", text,
        "response_format", "type", "json_schema", "json_schema",
        "name", "booking_completed", "strict", 1,
        "schema", "type", "object", "properties",
        "value", "anyOf", "type", "boolean", "type", "string", "enum",
        "partial",
        "evidence", "type", "string", "rationale", "type", "string",
        "required", "value", "evidence", "rationale",
        "additionalProperties", 0);
    char *s;

    assert_non_null(req);
    s = json_dumps(req, JSON_COMPACT);
    cs_buf_reset(out);
    cs_buf_adds(out, s);
    free(s);
    json_decref(req);
}

static void make_client(struct fixture *f, struct cs_http_opts *o)
{
    struct cs_err err = {0};

    o->on_done = on_done;
    if (!o->seed)
        o->seed = 42;
    if (cs_http_new(&f->h, o, &err) < 0)
        fail_msg("cs_http_new: %s", err.msg);
}

/* Posts n requests, the i-th with user text "<pre><i><post>" and user
 * pointer i. */
static void post_n(struct fixture *f, int n, const char *pre,
                   const char *post)
{
    struct cs_buf text = CS_BUF_INIT, body = CS_BUF_INIT;
    struct cs_err err = {0};
    int i;

    for (i = 0; i < n; i++) {
        cs_buf_reset(&text);
        cs_buf_addf(&text, "%s%d%s", pre, i, post);
        chat_body(&body, text.ptr);
        if (cs_http_post(f->h, f->url.ptr, body.ptr, body.len,
                         (void *)(intptr_t)i, &err) < 0)
            fail_msg("cs_http_post: %s", err.msg);
    }
    cs_buf_release(&text);
    cs_buf_release(&body);
}

static void run_all(struct fixture *f)
{
    struct cs_err err = {0};

    if (cs_http_wait_all(f->h, &err) < 0)
        fail_msg("cs_http_wait_all: %s", err.msg);
}

static long stat_int(const struct fixture *f, const char *key,
                     const char *sub)
{
    json_t *v;

    assert_non_null(f->stats);
    v = json_object_get(f->stats, key);
    if (sub)
        v = json_object_get(v, sub);
    assert_non_null(v);
    return (long)json_integer_value(v);
}

/* ---- tests ------------------------------------------------------------ */

static void test_net__concurrent_requests(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_http_stats st;
    double t0, el;
    int i;

    double_start(f, "--latency-ms", "200", NULL);
    cs_http_opts_init(&o);
    o.concurrency = 16;
    make_client(f, &o);
    post_n(f, 32, "agent: you're booked, ticket req-", ".");
    t0 = cs_now();
    run_all(f);
    el = cs_now() - t0;
    print_message("32 requests, 200 ms each, concurrency 16: %.3f s\n", el);
    /* Serially this takes 6.4 s; two waves of 16 take 0.4 s. */
    assert_true(el < 1.5);
    assert_true(el >= 0.39);
    for (i = 0; i < 32; i++) {
        char tag[32];
        json_t *doc;
        json_error_t jerr;
        const char *content = NULL;

        assert_int_equal(f->got[i].calls, 1);
        assert_int_equal(f->got[i].code, 0);
        assert_int_equal(f->got[i].status, 200);
        assert_int_equal(f->got[i].tries, 1);
        assert_string_equal(f->got[i].error, "");
        /* Each answer belongs to its own request: the double quotes the
         * transcript in "evidence". */
        doc = json_loads(f->got[i].body, 0, &jerr);
        assert_non_null(doc);
        assert_int_equal(json_unpack(doc, "{s:[{s:{s:s}}]}", "choices",
                                     "message", "content", &content), 0);
        snprintf(tag, sizeof(tag), "req-%d.", i);
        assert_non_null(strstr(content, tag));
        json_decref(doc);
    }
    cs_http_get_stats(&st, f->h);
    assert_int_equal(st.max_in_flight, 16);
    assert_int_equal(st.tries, 32);
    assert_int_equal(st.succeeded, 32);
    assert_int_equal(st.in_flight + st.queued + st.backing_off, 0);
    double_stop(f);
    assert_int_equal(stat_int(f, "chat_requests", NULL), 32);
    /* Keep-alive: 32 requests over at most 16 connections. */
    assert_true(stat_int(f, "connections", NULL) <= 16);
}

/* Retry-After: 1 waits a second, 0 retries at once, and a long one is
 * capped at backoff_max_ms. */
static void test_net__retry_after_honoured(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_buf body = CS_BUF_INIT;

    double_start(f, NULL);
    cs_http_opts_init(&o);
    o.backoff_base_ms = 10;
    o.backoff_max_ms = 5000;
    make_client(f, &o);
    chat_body(&body, "a [[fault 429 times=1 retry_after=1]]");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)0, NULL);
    chat_body(&body, "b [[fault 429 times=1 retry_after=0]]");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)1, NULL);
    chat_body(&body, "c [[fault 429 times=1 retry_after=30]]");
    run_all(f);
    /* Retry-After: 1 waits a second; 0 retries at once. */
    assert_int_equal(f->got[0].code, 0);
    assert_int_equal(f->got[0].tries, 2);
    assert_true(f->got[0].elapsed >= 0.99);
    assert_true(f->got[0].elapsed < 1.5);
    assert_int_equal(f->got[1].code, 0);
    assert_int_equal(f->got[1].tries, 2);
    assert_true(f->got[1].elapsed < 0.3);
    cs_http_free(f->h);
    f->h = NULL;

    /* Retry-After: 30 is capped at backoff_max_ms. */
    o.backoff_max_ms = 300;
    make_client(f, &o);
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)2, NULL);
    run_all(f);
    assert_int_equal(f->got[2].code, 0);
    assert_int_equal(f->got[2].tries, 2);
    assert_true(f->got[2].elapsed >= 0.29);
    assert_true(f->got[2].elapsed < 1.0);
    cs_buf_release(&body);
}

static void test_net__server_error_retried(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_http_stats st;
    struct cs_buf body = CS_BUF_INIT;

    double_start(f, NULL);
    cs_http_opts_init(&o);
    o.backoff_base_ms = 20;
    o.backoff_max_ms = 100;
    o.max_tries = 3;
    make_client(f, &o);
    chat_body(&body, "twice [[fault 500 times=2]]");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)0, NULL);
    chat_body(&body, "always [[fault 500]]");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)1, NULL);
    chat_body(&body, "503 once [[fault 503 times=1]]");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)2, NULL);
    run_all(f);
    assert_int_equal(f->got[0].code, 0);
    assert_int_equal(f->got[0].tries, 3);
    assert_int_equal(f->got[1].code, CS_ENET);
    assert_int_equal(f->got[1].fail, CS_HTTP_STATUS);
    assert_int_equal(f->got[1].status, 500);
    assert_int_equal(f->got[1].tries, 3);
    assert_non_null(strstr(f->got[1].error, "http 500 after 3 tries"));
    assert_non_null(strstr(f->got[1].error, "the server had an error"));
    assert_int_equal(f->got[2].code, 0);
    assert_int_equal(f->got[2].tries, 2);
    cs_http_get_stats(&st, f->h);
    assert_int_equal(st.http_5xx, 2 + 3 + 1);
    assert_int_equal(st.tries, 3 + 3 + 2);
    assert_int_equal(st.retries, 2 + 2 + 1);
    assert_int_equal(st.failed, 1);
    double_stop(f);
    assert_int_equal(stat_int(f, "chat_requests", NULL), 8);
    cs_buf_release(&body);
}

static void test_net__client_errors_not_retried(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    const char *nomodel = "{\"messages\":[{\"role\":\"user\","
                          "\"content\":\"x\"}]}";

    double_start(f, NULL);
    cs_http_opts_init(&o);
    o.backoff_base_ms = 1;
    make_client(f, &o);
    cs_http_post(f->h, f->url.ptr, nomodel, strlen(nomodel), (void *)0,
                 NULL);
    run_all(f);
    assert_int_equal(f->got[0].code, CS_ENET);
    assert_int_equal(f->got[0].fail, CS_HTTP_STATUS);
    assert_int_equal(f->got[0].status, 400);
    assert_int_equal(f->got[0].tries, 1);
    assert_non_null(strstr(f->got[0].error, "http 400 after 1 try: "));
    assert_non_null(strstr(f->got[0].error, "'model' must be"));
    assert_null(strchr(f->got[0].error, '\n'));
}

static void test_net__hang_times_out_then_retried(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_buf body = CS_BUF_INIT;
    struct cs_http_stats st;
    int i;

    double_start(f, "--latency-ms", "20", NULL);
    cs_http_opts_init(&o);
    o.concurrency = 4;
    o.timeout_ms = 300;
    o.max_tries = 2;
    o.backoff_base_ms = 10;
    o.backoff_max_ms = 20;
    make_client(f, &o);
    chat_body(&body, "stuck [[fault hang ms=2000]]");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)0, NULL);
    chat_body(&body, "slow once [[fault hang ms=2000 times=1]]");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)1, NULL);
    for (i = 2; i < 12; i++) {
        struct cs_buf t = CS_BUF_INIT;

        cs_buf_addf(&t, "fine %d", i);
        chat_body(&body, t.ptr);
        cs_http_post(f->h, f->url.ptr, body.ptr, body.len,
                     (void *)(intptr_t)i, NULL);
        cs_buf_release(&t);
    }
    run_all(f);
    assert_int_equal(f->got[0].code, CS_ENET);
    assert_int_equal(f->got[0].fail, CS_HTTP_TIMEOUT);
    assert_int_equal(f->got[0].tries, 2);
    assert_non_null(strstr(f->got[0].error, "timeout after 2 tries"));
    assert_true(f->got[0].elapsed >= 0.6);
    assert_true(f->got[0].elapsed < 1.5);
    assert_int_equal(f->got[1].code, 0);
    assert_int_equal(f->got[1].tries, 2);
    /* The two hung requests held two of four slots; the ten others went
     * through the other two meanwhile, all before the first timeout. */
    for (i = 2; i < 12; i++) {
        assert_int_equal(f->got[i].code, 0);
        assert_int_equal(f->got[i].tries, 1);
        assert_true(f->got[i].done_at < f->got[1].done_at);
        assert_true(f->got[i].elapsed < 0.3);
    }
    cs_http_get_stats(&st, f->h);
    assert_int_equal(st.timeouts, 3);
    cs_buf_release(&body);
}

static void test_net__bounded_tries(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_http_stats st;
    int i;

    double_start(f, "--p500", "1", NULL);
    cs_http_opts_init(&o);
    o.concurrency = 8;
    o.max_tries = 3;
    o.backoff_base_ms = 5;
    o.backoff_max_ms = 20;
    make_client(f, &o);
    post_n(f, 20, "doomed ", "");
    run_all(f);
    for (i = 0; i < 20; i++) {
        assert_int_equal(f->got[i].calls, 1);
        assert_int_equal(f->got[i].code, CS_ENET);
        assert_int_equal(f->got[i].tries, 3);
    }
    cs_http_get_stats(&st, f->h);
    assert_int_equal(st.tries, 60);
    assert_int_equal(st.failed, 20);
    double_stop(f);
    assert_true(stat_int(f, "chat_requests", NULL) <= 20 * 3);
    assert_int_equal(stat_int(f, "chat_requests", NULL), 60);
}

static void test_net__mixed_faults_complete_once(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_http_stats st;
    const int n = 300;
    int i, ok = 0, bad = 0;
    double t0;

    double_start(f, "--p429", "0.10", "--p500", "0.05", "--pbad", "0.05",
                 "--phang", "0.01", "--hang-ms", "1500", "--retry-after",
                 "0", "--seed", "7", NULL);
    cs_http_opts_init(&o);
    o.concurrency = 16;
    o.timeout_ms = 400;
    o.max_tries = 4;
    o.backoff_base_ms = 5;
    o.backoff_max_ms = 50;
    make_client(f, &o);
    post_n(f, n, "conversation ", ": agent: hello. customer: bye.");
    t0 = cs_now();
    run_all(f);
    for (i = 0; i < n; i++) {
        json_t *doc;

        assert_int_equal(f->got[i].calls, 1);
        assert_true(f->got[i].tries >= 1 && f->got[i].tries <= 4);
        if (f->got[i].code != 0)
            continue;
        ok++;
        doc = json_loads(f->got[i].body, 0, NULL);
        bad += doc == NULL;
        json_decref(doc);
    }
    cs_http_get_stats(&st, f->h);
    print_message("%d requests in %.2f s: %d ok (%d malformed bodies), "
                  "%lu tries, %lu 429, %lu 5xx, %lu timeouts\n",
                  n, cs_now() - t0, ok, bad, (unsigned long)st.tries,
                  (unsigned long)st.http_429, (unsigned long)st.http_5xx,
                  (unsigned long)st.timeouts);
    assert_int_equal(f->cb_calls, n);
    assert_int_equal(st.completed, (uint64_t)n);
    assert_int_equal(st.posted, (uint64_t)n);
    assert_true(st.tries <= (uint64_t)n * 4);
    assert_true(st.retries > 0);
    /* With these rates a request fails all 4 tries with p ~ 0.16^4. */
    assert_true(ok >= n - 3);
    double_stop(f);
    assert_true(stat_int(f, "chat_requests", NULL) <= (long)n * 4);
    assert_int_equal(stat_int(f, "chat_requests", NULL), (long)st.tries);
    assert_true(stat_int(f, "faults", "bad") > 0);
}

static void test_net__bearer_token_header_only(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_buf body = CS_BUF_INIT, logp = CS_BUF_INIT;
    char *log = NULL;
    size_t len;
    json_t *rec;
    const char *key = "sk-test-S3CRET-token-4242";
    const char *wrong = "sk-wrong-T0KEN-9999";

    double_start(f, "--api-key", key, NULL);
    cs_http_opts_init(&o);
    o.bearer = key;
    make_client(f, &o);
    chat_body(&body, "my number is 415-555-2671");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)0, NULL);
    run_all(f);
    assert_int_equal(f->got[0].code, 0);
    cs_http_free(f->h);
    f->h = NULL;

    /* The wrong token: the double echoes it in its 401; the client's
     * error message must not carry it. */
    o.bearer = wrong;
    make_client(f, &o);
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)1, NULL);
    run_all(f);
    assert_int_equal(f->got[1].status, 401);
    assert_non_null(strstr(f->got[1].body, wrong));   /* it was echoed */
    assert_non_null(strstr(f->got[1].error, "http 401"));
    assert_null(strstr(f->got[1].error, wrong));
    assert_null(strstr(f->got[1].error, "T0KEN"));
    cs_http_free(f->h);
    f->h = NULL;

    /* A long token that the 160-byte snippet of the 401 would cut in two:
     * no part of it may show. The echo starts at byte 64 of the answer. */
    o.bearer = "sk-long-PREFIXPART-0123456789012345678901234567890123456789"
               "012345678901234567890123456789012345678901234567890123456789"
               "SUFFIXPART";
    make_client(f, &o);
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)3, NULL);
    run_all(f);
    assert_int_equal(f->got[3].status, 401);
    assert_non_null(strstr(f->got[3].body, "SUFFIXPART"));
    assert_null(strstr(f->got[3].error, "PREFIXPART"));
    assert_null(strstr(f->got[3].error, "sk-long"));
    cs_http_free(f->h);
    f->h = NULL;
    o.bearer = wrong;

    /* A transport error does not carry it either. */
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 5;
    make_client(f, &o);
    cs_http_post(f->h, "http://127.0.0.1:1/v1/chat/completions", body.ptr,
                 body.len, (void *)2, NULL);
    run_all(f);
    assert_int_not_equal(f->got[2].code, 0);
    assert_null(strstr(f->got[2].error, wrong));
    double_stop(f);

    /* What the double received: the key in the header, never the body. */
    dir_path(&logp, f, "double.log");
    assert_int_equal(cs_fs_read(&log, &len, logp.ptr, 1 << 20, NULL), 0);
    rec = json_loads(log, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(rec);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "headers"),
                                          "Authorization")),
        "Bearer sk-test-S3CRET-token-4242");
    assert_null(strstr(json_string_value(json_object_get(rec, "body")),
                       "S3CRET"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "headers"),
                                          "Content-Type")),
        "application/json");
    json_decref(rec);
    free(log);
    cs_buf_release(&body);
    cs_buf_release(&logp);
}

static void test_net__connection_refused_retried(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    struct cs_buf url = CS_BUF_INIT;
    int fd;

    /* A port nobody listens on: bind one, then close it. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    cs_buf_addf(&url, "http://127.0.0.1:%d/v1/chat/completions",
                ntohs(sa.sin_port));
    cs_http_opts_init(&o);
    o.max_tries = 3;
    o.backoff_base_ms = 5;
    o.backoff_max_ms = 10;
    make_client(f, &o);
    cs_http_post(f->h, url.ptr, "{}", 2, (void *)0, NULL);
    run_all(f);
    assert_int_equal(f->got[0].calls, 1);
    assert_int_equal(f->got[0].code, CS_ENET);
    assert_int_equal(f->got[0].fail, CS_HTTP_CONNECT);
    assert_int_equal(f->got[0].tries, 3);
    assert_non_null(strstr(f->got[0].error, "connection failed after 3"));
    cs_buf_release(&url);
}

static void test_net__answer_cap(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_buf body = CS_BUF_INIT;

    double_start(f, NULL);
    cs_http_opts_init(&o);
    o.max_body = 64;
    make_client(f, &o);
    chat_body(&body, "a normal answer is larger than 64 bytes");
    cs_http_post(f->h, f->url.ptr, body.ptr, body.len, (void *)0, NULL);
    run_all(f);
    assert_int_equal(f->got[0].code, CS_ETOOBIG);
    assert_int_equal(f->got[0].fail, CS_HTTP_TOOBIG);
    assert_int_equal(f->got[0].tries, 1);
    assert_true(strlen(f->got[0].body) <= 64);
    cs_buf_release(&body);
}

static void test_net__free_cancels_and_callback_may_post(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_err err = {0};
    int i;

    double_start(f, NULL);
    cs_http_opts_init(&o);
    make_client(f, &o);
    /* on_done of request 0 posts request 1. */
    f->repost = 1;
    post_n(f, 1, "first ", "");
    run_all(f);
    assert_int_equal(f->got[0].calls, 1);
    assert_int_equal(f->got[1].calls, 1);
    assert_int_equal(f->got[1].status, 400);    /* "{}" has no model */

    /* Freed with work pending: each request still completes once. */
    post_n(f, 5, "pending ", "");
    assert_int_equal(cs_http_run(f->h, 0, &err) >= 0, 1);
    cs_http_free(f->h);
    f->h = NULL;
    for (i = 0; i < 5; i++) {
        assert_true(f->got[i].calls == (i < 2 ? 2 : 1));
        assert_true(f->got[i].fail == CS_HTTP_CANCELLED ||
                    f->got[i].fail == CS_HTTP_OK);
    }
    assert_int_equal(f->cb_calls, 2 + 5);
}

static void test_net__bad_options_refused(void **state)
{
    struct fixture *f = *state;
    struct cs_http_opts o;
    struct cs_http *h = NULL;
    struct cs_err err = {0};

    cs_http_opts_init(&o);
    assert_int_equal(cs_http_new(&h, &o, &err), CS_EINVALID);  /* no cb */
    o.on_done = on_done;
    o.concurrency = 0;
    assert_int_equal(cs_http_new(&h, &o, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "concurrency"));
    o.concurrency = 2;
    o.bearer = "abc\r\nX-Evil: 1";
    assert_int_equal(cs_http_new(&h, &o, &err), CS_EINVALID);
    assert_null(strstr(err.msg, "abc"));
    o.bearer = NULL;
    make_client(f, &o);
    assert_int_equal(cs_http_post(f->h, "ftp://x/", "{}", 2, NULL, &err),
                     CS_EINVALID);
}

static void test_net__backoff_jitter_seeded(void **state)
{
    uint64_t a = 12345, b = 12345, c = 999;
    int same = 1, differs = 0;
    unsigned retry;
    int k;

    (void)state;
    for (k = 0; k < 200; k++) {
        for (retry = 1; retry <= 8; retry++) {
            long cap = 100L << (retry - 1);
            long x = cs_http_backoff_ms(&a, 100, 5000, retry, -1);
            long y = cs_http_backoff_ms(&b, 100, 5000, retry, -1);
            long z = cs_http_backoff_ms(&c, 100, 5000, retry, -1);

            if (cap > 5000)
                cap = 5000;
            assert_true(x >= 0 && x <= cap);
            same &= x == y;
            differs |= x != z;
        }
    }
    assert_true(same);
    assert_true(differs);
    /* Retry-After wins over the draw, capped at the maximum. */
    assert_int_equal(cs_http_backoff_ms(&a, 100, 5000, 1, 2000), 2000);
    assert_int_equal(cs_http_backoff_ms(&a, 100, 5000, 1, 60000), 5000);
    assert_int_equal(cs_http_backoff_ms(&a, 100, 5000, 1, 0), 0);
    /* A huge retry count neither overflows nor exceeds the cap. */
    assert_true(cs_http_backoff_ms(&a, 100, 5000, 200, -1) <= 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_net__concurrent_requests, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_net__retry_after_honoured, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_net__server_error_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_net__client_errors_not_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_net__hang_times_out_then_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_net__bounded_tries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_net__mixed_faults_complete_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_net__bearer_token_header_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_net__connection_refused_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_net__answer_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_net__free_cancels_and_callback_may_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net__bad_options_refused, setup,
                                        teardown),
        cmocka_unit_test(test_net__backoff_jitter_seeded),
    };

    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
