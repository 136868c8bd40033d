/* test_mail.c - MIME, SMTP delivery, the delivery log, alerts, the jobs
 * that mail: against a real SMTP sink and webhook double on loopback */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/addr.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/mem.h"
#include "mail/mime.h"
#include "mail/smtp.h"
#include "pipeline/monthly.h"
#include "helpers.h"

extern char **environ;

/* ---- helpers ------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* A test server (a script of tests/mail_double) in `dir` with `args`. */
struct server {
    pid_t pid;
    long port;
    char *dir;
};

/* Every server started, so a failed test leaves none running. */
static pid_t started[16];
static size_t n_started;

static int stop_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_started; i++) {
        int st;

        if (kill(started[i], SIGTERM) == 0)
            waitpid(started[i], &st, 0);
    }
    n_started = 0;
    return 0;
}

static void server_start(struct server *s, const char *script,
                         const char *dir, const char *const *args)
{
    posix_spawn_file_actions_t fa;
    struct cs_buf lf = CS_BUF_INIT;
    char *path = NULL, *port = NULL;
    struct cs_buf rel = CS_BUF_INIT, pf = CS_BUF_INIT;
    char *argv[32];
    int argc = 0;

    cs_buf_addf(&rel, "tests/mail_double/%s", script);
    path = th_src(rel.ptr);
    assert_int_equal(cs_fs_mkdirs(dir, NULL), 0);
    cs_buf_addf(&pf, "%s/port", dir);
    unlink(pf.ptr);
    argv[argc++] = "/usr/bin/python3";
    argv[argc++] = path;
    argv[argc++] = "--dir";
    argv[argc++] = (char *)dir;
    for (; args && *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    /* Its output goes to a file: an inherited pipe would keep a reader
     * of the test's output waiting. */
    cs_buf_addf(&lf, "%s/server.log", dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, lf.ptr, O_WRONLY | O_CREAT |
                                     O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    assert_int_equal(posix_spawn(&s->pid, argv[0], &fa, NULL, argv,
                                 environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    cs_buf_release(&lf);
    if (n_started < sizeof(started) / sizeof(started[0]))
        started[n_started++] = s->pid;
    for (int i = 0; i < 500 && !port; i++) {
        port = th_read(pf.ptr);
        if (!port)
            sleep_ms(10);
    }
    assert_non_null(port);
    s->port = strtol(port, NULL, 10);
    s->dir = cs_xstrdup(dir);
    free(port);
    free(path);
    cs_buf_release(&rel);
    cs_buf_release(&pf);
}

static void server_stop(struct server *s)
{
    int st;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &st, 0);
    }
    s->pid = 0;
    free(s->dir);
    s->dir = NULL;
}

/* What the sink received, as inspect.py says (new). */
static json_t *sink_messages(const struct server *s)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *script = th_src("tests/mail_double/inspect.py"), *out;
    json_t *v;
    FILE *p;

    cs_buf_addf(&cmd, "/usr/bin/python3 %s --sink %s", script, s->dir);
    p = popen(cmd.ptr, "r");
    assert_non_null(p);
    v = json_loadf(p, 0, NULL);
    assert_int_equal(pclose(p), 0);
    assert_non_null(v);
    (void)out;
    free(script);
    cs_buf_release(&cmd);
    return v;
}

static json_t *inspect_files(const char *files)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *script = th_src("tests/mail_double/inspect.py");
    json_t *v;
    FILE *p;

    cs_buf_addf(&cmd, "/usr/bin/python3 %s %s", script, files);
    p = popen(cmd.ptr, "r");
    assert_non_null(p);
    v = json_loadf(p, 0, NULL);
    assert_int_equal(pclose(p), 0);
    assert_non_null(v);
    free(script);
    cs_buf_release(&cmd);
    return v;
}

static char *file_sha256(const char *path)
{
    char *data = NULL, hex[65];
    size_t n = 0;

    assert_int_equal(cs_fs_read(&data, &n, path, 0, NULL), 0);
    cs_sha256_hex(data, n, hex, 64);
    free(data);
    return cs_xstrdup(hex);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* The tenants of the sample data and what the test config gives them. */
#define TEST_CONFIG                                                        \
    "{\"sentiment_lexicon\": \"%s/config/sentiment-lexicon.txt\","        \
    " \"mail\": {\"from\": \"Callscope Reports <reports@callscope.test>\"," \
    " \"max_tries\": 2, \"backoff_ms\": 50, \"timeout_s\": 10%s},"         \
    " \"internal_recipients\": [\"internal@callscope.test\"],"            \
    " \"tenants\": {"                                                      \
    "  \"default\": {\"recipients\": [\"nobody@default.test\"]},"         \
    "  \"acme-dental\": {\"display_name\": \"Acme Dental \\u2014 Z\\u00fc" \
    "rich\", \"recipients\": [\"cfo@acme.test\","                         \
    " \"Ops T\\u00e9am <ops@acme.test>\"]%s},"                            \
    "  \"northwind-support\": {\"display_name\": \"Northwind <!channel> &" \
    " Co\", \"recipients\": [\"lead@northwind.test\"],"                   \
    " \"alert_recipients\": [\"noc@northwind.test\"]},"                   \
    "  \"bluebird-energy\": {\"recipients\": [\"campaigns@bluebird.test\"]}" \
    " }%s}"

/* A sandbox with sample data for 2026-10-25..31 and the test config;
 * `mail_extra`, `acme_extra` and `top_extra` are spliced into it. */
static struct th_env *mail_env(const char *mail_extra, const char *acme_extra,
                               const char *top_extra)
{
    struct cs_buf cfg = CS_BUF_INIT, cmd = CS_BUF_INIT;
    struct th_env *e;

    cs_buf_addf(&cfg, TEST_CONFIG, CS_SOURCE_DIR, mail_extra ? mail_extra
                                                             : "",
                acme_extra ? acme_extra : "", top_extra ? top_extra : "");
    e = th_env_new(cfg.ptr);
    cs_buf_addf(&cmd, "%s/var/inbox", e->dir);
    assert_int_equal(cs_fs_mkdirs(cmd.ptr, NULL), 0);
    cs_buf_reset(&cmd);
    cs_buf_addf(&e->env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics "
                "CALLSCOPE_TEMPLATES_DIR=%s/templates ", CS_SOURCE_DIR,
                CS_SOURCE_DIR);
    cs_buf_addf(&cmd, "sample --start 2026-10-25 --days 7 --per-day 30 "
                "--out %s/var/inbox/sample.jsonl", e->dir);
    assert_int_equal(th_run(e->env.ptr, cmd.ptr, NULL, NULL), 0);
    cs_buf_release(&cfg);
    cs_buf_release(&cmd);
    return e;
}

/* th_run with extra variables before the sandbox's. */
static int run(struct th_env *e, const char *extra, const char *args,
               char **out, char **err)
{
    struct cs_buf env = CS_BUF_INIT;
    int ret;

    cs_buf_addf(&env, "%s %s", e->env.ptr, extra ? extra : "");
    ret = th_run(env.ptr, args, out, err);
    cs_buf_release(&env);
    return ret;
}

static char *smtp_env(long port, const char *scheme)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addf(&b, "CALLSCOPE_SMTP_URL=%s://127.0.0.1:%ld ",
                scheme ? scheme : "smtp", port);
    return cs_buf_detach(&b, NULL);
}

/* The tenant a recipient belongs to in TEST_CONFIG. */
static const char *tenant_of(const char *rcpt)
{
    if (strstr(rcpt, "@acme.test"))
        return "acme-dental";
    if (strstr(rcpt, "@northwind.test"))
        return "northwind-support";
    if (strstr(rcpt, "@bluebird.test"))
        return "bluebird-energy";
    return strcmp(rcpt, "internal@callscope.test") == 0 ? "*" : "?";
}

/* ---- MIME ---------------------------------------------------------- */

static void test_mail__mime_headers_bodies_and_attachments(void **state)
{
    /* 90 characters, many of them two and three bytes long. */
    const char *subject = "Acme Dental \xe2\x80\x94 Oktober 2026: 71,3 % "
                          "abgewickelt, Einsparung 17.272 \xe2\x82\xac, "
                          "\xc3\xbc\xc3\xb6\xc3\xa4 \xe6\x97\xa5\xe6\x9c\xac"
                          " \xf0\x9f\x93\x9e und noch viel mehr Text am Ende";
    char *dir = th_tmpdir(), *sha;
    unsigned char bin[5000];
    struct cs_mime_attachment att = {"report.pdf", "application/pdf", bin,
                                     sizeof(bin)};
    struct cs_buf out = CS_BUF_INIT, path = CS_BUF_INIT, id = CS_BUF_INIT;
    struct cs_err err = {0, ""};
    struct cs_mime_msg m;
    json_t *v, *msg;

    (void)state;
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    {
        const char *parts[] = {"nightly", "report", "acme", "2026-10-31",
                               "", "cfo@acme.test", NULL};
        struct cs_buf id2 = CS_BUF_INIT;

        cs_mime_message_id(&id, parts, "callscope.test");
        cs_mime_message_id(&id2, parts, "callscope.test");
        assert_string_equal(id.ptr, id2.ptr);   /* a resend is the same */
        cs_buf_release(&id2);
    }
    memset(&m, 0, sizeof(m));
    m.from = "Callscope R\xc3\xa9ports <reports@callscope.test>";
    m.to = "\"Ops, Team\" <ops@acme.test>";
    m.subject = subject;
    m.message_id = id.ptr;
    m.date = 1793520000;
    m.text = "Line one\n.a line with a dot\nFrom here on\n"
             "a very long line that goes on and on and on and on and on and "
             "on and on and on and on and on \xe2\x80\x94 end\n";
    m.html = "<p>Caf\xc3\xa9 = <b>bien</b></p>\n";
    m.att = &att;
    m.n_att = 1;
    assert_int_equal(cs_mime_build(&out, &m, &err), 0);
    assert_int_equal(cs_mime_base64_size(sizeof(bin)),
                     (sizeof(bin) + 2) / 3 * 4 + 2 * ((sizeof(bin) + 56) / 57));
    cs_buf_addf(&path, "%s/m.eml", dir);
    th_write(path.ptr, out.ptr, out.len);
    v = inspect_files(path.ptr);
    msg = json_array_get(v, 0);
    assert_string_equal(jstr(msg, "subject"), subject);
    assert_string_equal(jstr(msg, "to"), "\"Ops, Team\" <ops@acme.test>");
    assert_string_equal(jstr(msg, "from"),
                        "Callscope R\xc3\xa9ports <reports@callscope.test>");
    assert_string_equal(jstr(msg, "message_id"), id.ptr);
    assert_true(json_integer_value(json_object_get(msg, "max_line")) <= 78);
    assert_int_equal(json_integer_value(json_object_get(msg, "bare_lf")), 0);
    if (!strstr(jstr(msg, "text"), ".a line with a dot\nFrom "))
        fail_msg("text: %s", jstr(msg, "text"));
    assert_non_null(strstr(jstr(msg, "html"), "Caf\xc3\xa9 = <b>"));
    {
        json_t *types = json_object_get(msg, "types");

        assert_string_equal(json_string_value(json_array_get(types, 0)),
                            "multipart/mixed");
        assert_string_equal(json_string_value(json_array_get(types, 1)),
                            "multipart/alternative");
        assert_string_equal(json_string_value(json_array_get(types, 2)),
                            "text/plain");
        assert_string_equal(json_string_value(json_array_get(types, 3)),
                            "text/html");
    }
    sha = cs_xmalloc(65);
    cs_sha256_hex(bin, sizeof(bin), sha, 64);
    assert_string_equal(jstr(json_array_get(json_object_get(msg,
                                                            "attachments"),
                                            0), "sha256"), sha);
    free(sha);
    /* Every encoded word is at most 75 characters and the raw subject
     * holds several (split on UTF-8 boundaries, or Python would not have
     * decoded it back). */
    {
        const char *raw = jstr(msg, "raw_subject"), *p = raw;
        int words = 0;

        while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
            const char *end = strstr(p + 10, "?=");

            assert_non_null(end);
            assert_true(end + 2 - p <= 75);
            words++;
            p = end + 2;
        }
        assert_true(words >= 3);
    }
    json_decref(v);

    /* Data cannot add a header. */
    cs_buf_reset(&out);
    m.subject = "Report\r\nBcc: everyone@example.com";
    assert_int_equal(cs_mime_build(&out, &m, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "line break"));
    assert_int_equal(out.len, 0);
    m.subject = "ok";
    m.to = "Evil\n <x@y.test>";
    assert_int_equal(cs_mime_build(&out, &m, &err), CS_EINVALID);
    m.to = "x@y.test\r\nRCPT TO:<z@z.test>";
    assert_int_equal(cs_mime_build(&out, &m, &err), CS_EINVALID);
    {
        struct cs_addr a;

        assert_int_equal(cs_addr_parse(&a, "a b@c.test", &err), CS_EINVALID);
        assert_int_equal(cs_addr_parse(&a, "a@b@c.test", &err), CS_EINVALID);
        assert_int_equal(cs_addr_parse(&a, "nobody", &err), CS_EINVALID);
        assert_int_equal(cs_addr_parse(&a, " \"Ann\" <ann@c.test> ", &err),
                         0);
        assert_string_equal(a.name, "Ann");
        assert_string_equal(a.spec, "ann@c.test");
    }
    /* TLS defaults: required, opportunistic only on loopback. */
    assert_int_equal(cs_smtp_tls_mode("smtp://mail.example.com", NULL),
                     CS_SMTP_TLS_REQUIRED);
    assert_int_equal(cs_smtp_tls_mode("smtp://127.0.0.1:2525", NULL),
                     CS_SMTP_TLS_OPPORTUNISTIC);
    assert_int_equal(cs_smtp_tls_mode("smtp://[::1]:25", NULL),
                     CS_SMTP_TLS_OPPORTUNISTIC);
    assert_int_equal(cs_smtp_tls_mode("smtp://localhost", "required"),
                     CS_SMTP_TLS_REQUIRED);
    assert_int_equal(cs_smtp_tls_mode("smtp://mail.example.com", "off"),
                     CS_SMTP_TLS_OFF);
    {
        char m7[8];

        cs_monthly_month_before(m7, "2026-01-15");
        assert_string_equal(m7, "2025-12");
        cs_monthly_month_before(m7, "2026-11-01");
        assert_string_equal(m7, "2026-10");
    }
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&out);
    cs_buf_release(&path);
    cs_buf_release(&id);
}

/* ---- the jobs against the sink -------------------------------------- */

/* Every message reached its envelope recipient only, belongs to that
 * recipient's tenant, and its attachments are the files on disk. Returns
 * the number of messages. */
static size_t check_isolation(json_t *msgs, const char *reports,
                              size_t from)
{
    size_t i;
    json_t *m;

    json_array_foreach(msgs, i, m) {
        if (i < from)
            continue;   /* mailed before the files were rendered again */
        json_t *rcpt = json_object_get(m, "rcpt"), *att;
        const char *r = json_string_value(json_array_get(rcpt, 0));
        const char *t = tenant_of(r);
        size_t k;

        assert_int_equal(json_array_size(rcpt), 1);
        assert_non_null(strstr(jstr(m, "to"), r));
        assert_string_not_equal(t, "?");
        if (strcmp(t, "acme-dental") == 0)
            assert_non_null(strstr(jstr(m, "subject"),
                                   "Acme Dental \xe2\x80\x94 Z\xc3\xbcrich"));
        if (strcmp(t, "*") == 0)
            assert_non_null(strstr(jstr(m, "subject"), "All tenants"));
        json_array_foreach(json_object_get(m, "attachments"), k, att) {
            const char *fn = jstr(att, "filename");
            struct cs_buf p = CS_BUF_INIT;
            char *sha;

            /* daily-<tenant>.pdf, executive-<tenant>.pdf,
             * client-<tenant>.xlsx: its own. */
            assert_non_null(strstr(fn, strcmp(t, "*") == 0 ? "-all."
                                                            : t));
            cs_buf_addf(&p, "%s/%s/%s", reports,
                        strncmp(fn, "daily", 5) == 0  ? "daily/2026-10-31"
                        : strncmp(fn, "client", 6) == 0 ? "2026-10-01_"
                                                          "2026-11-01"
                                                        : "2026-10",
                        fn);
            sha = file_sha256(p.ptr);
            assert_string_equal(jstr(att, "sha256"), sha);
            free(sha);
            cs_buf_release(&p);
        }
        assert_non_null(json_object_get(m, "html"));
        assert_non_null(json_object_get(m, "text"));
    }
    return json_array_size(msgs);
}

/* Every metric of a .prom file has its # HELP and # TYPE first. */
static void check_prom(const char *path)
{
    char *text = th_read(path), *save = NULL;
    struct cs_buf seen = CS_BUF_INIT;

    assert_non_null(text);
    for (char *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "# TYPE ", 7) == 0) {
            cs_buf_addf(&seen, "|%.*s|", (int)strcspn(l + 7, " "), l + 7);
        } else if (l[0] != '#') {
            struct cs_buf name = CS_BUF_INIT;

            cs_buf_addf(&name, "|%.*s|", (int)strcspn(l, "{ "), l);
            if (!strstr(seen.ptr, name.ptr))
                fail_msg("%s: no # TYPE before '%s'", path, l);
            cs_buf_release(&name);
        }
    }
    free(text);
    cs_buf_release(&seen);
}

static void test_mail__jobs_mail_each_tenant_its_own(void **state)
{
    struct th_env *e = mail_env(NULL, NULL, NULL);
    struct server sink;
    struct cs_buf sd = CS_BUF_INIT, reports = CS_BUF_INIT, p = CS_BUF_INIT;
    char *smtp, *out = NULL, *err = NULL;
    json_t *msgs;
    size_t nightly_n, n;

    (void)state;
    cs_buf_addf(&sd, "%s/sink", e->dir);
    cs_buf_addf(&reports, "%s/reports", e->dir);
    server_start(&sink, "smtp_sink.py", sd.ptr, NULL);
    smtp = smtp_env(sink.port, NULL);
    assert_int_equal(run(e, smtp, "nightly --date 2026-10-31", &out, &err),
                     0);
    assert_non_null(strstr(out, "mail: "));
    msgs = sink_messages(&sink);
    nightly_n = check_isolation(msgs, reports.ptr, 0);
    /* 4 report recipients, and the alert digests. */
    assert_true(nightly_n >= 4);
    {
        size_t i, reports_n = 0;
        json_t *m;

        json_array_foreach(msgs, i, m) {
            if (json_array_size(json_object_get(m, "attachments")) == 1)
                reports_n++;
        }
        assert_int_equal(reports_n, 4);
    }
    json_decref(msgs);
    free(out);
    free(err);
    /* A re-run for the same day sends nothing. */
    assert_int_equal(run(e, smtp, "nightly --date 2026-10-31", &out, NULL),
                     0);
    assert_non_null(strstr(out, "0 sent"));
    free(out);
    msgs = sink_messages(&sink);
    assert_int_equal(json_array_size(msgs), nightly_n);
    json_decref(msgs);
    cs_buf_addf(&p, "%s/metrics/callscope_nightly.prom", reports.ptr);
    check_prom(p.ptr);

    /* The monthly job: each tenant's report to its own recipients, the
     * all-tenants edition to internal_recipients only. */
    assert_int_equal(run(e, smtp, "monthly --month 2026-10", &out, &err), 0);
    msgs = sink_messages(&sink);
    n = check_isolation(msgs, reports.ptr, nightly_n);
    assert_int_equal(n, nightly_n + 5);
    {
        size_t i, internal = 0;
        json_t *m;

        json_array_foreach(msgs, i, m) {
            const char *r = json_string_value(
                json_array_get(json_object_get(m, "rcpt"), 0));

            if (strcmp(r, "internal@callscope.test") == 0) {
                internal++;
                assert_string_equal(jstr(json_array_get(json_object_get(
                                             m, "attachments"), 0),
                                         "filename"), "executive-all.pdf");
            } else if (i >= nightly_n) {
                /* A tenant's month: its executive PDF and its workbook. */
                json_t *att = json_object_get(m, "attachments");

                assert_int_equal(json_array_size(att), 2);
                assert_non_null(strstr(jstr(json_array_get(att, 1),
                                             "filename"), ".xlsx"));
            }
        }
        assert_int_equal(internal, 1);
    }
    json_decref(msgs);
    free(out);
    free(err);
    assert_int_equal(run(e, smtp, "monthly --month 2026-10", &out, NULL), 0);
    free(out);
    msgs = sink_messages(&sink);
    assert_int_equal(json_array_size(msgs), nightly_n + 5);
    json_decref(msgs);
    /* --force sends the month again, with the same Message-IDs. */
    assert_int_equal(run(e, smtp, "monthly --month 2026-10 --force", &out,
                         NULL), 0);
    free(out);
    msgs = sink_messages(&sink);
    assert_int_equal(json_array_size(msgs), nightly_n + 10);
    assert_string_equal(jstr(json_array_get(msgs, nightly_n), "message_id"),
                        jstr(json_array_get(msgs, nightly_n + 5),
                             "message_id"));
    json_decref(msgs);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/metrics/callscope_monthly.prom", reports.ptr);
    check_prom(p.ptr);
    assert_int_equal(run(e, NULL, "mail --status --since 2026-01-01", &out,
                         NULL), 0);
    assert_non_null(strstr(out, "internal@callscope.test"));
    assert_non_null(strstr(out, "sent"));
    free(out);
    server_stop(&sink);
    free(smtp);
    cs_buf_release(&sd);
    cs_buf_release(&reports);
    cs_buf_release(&p);
    th_env_free(e);
}

static void test_mail__smtp_down_then_resend_failed_once(void **state)
{
    struct th_env *e = mail_env(NULL, NULL, NULL);
    struct server sink;
    struct cs_buf sd = CS_BUF_INIT, port = CS_BUF_INIT, pdf = CS_BUF_INIT;
    char *smtp, *out = NULL, *err = NULL;
    json_t *msgs;
    long failed;

    (void)state;
    cs_buf_addf(&sd, "%s/sink", e->dir);
    /* A port that was free a moment ago: nothing listens on it. */
    server_start(&sink, "smtp_sink.py", sd.ptr, NULL);
    cs_buf_addf(&port, "%ld", sink.port);
    smtp = smtp_env(sink.port, NULL);
    server_stop(&sink);
    assert_int_equal(run(e, smtp, "nightly --date 2026-10-31", &out, &err),
                     4);
    assert_non_null(strstr(err, "cannot send"));
    cs_buf_addf(&pdf, "%s/reports/daily/2026-10-31/daily-acme-dental.pdf",
                e->dir);
    assert_true(cs_fs_exists(pdf.ptr));     /* the report is kept */
    free(out);
    free(err);
    failed = th_sql_long(e->db, "SELECT count(*) FROM deliveries WHERE "
                         "state = 'failed' AND tries = 2");
    assert_true(failed >= 4);
    assert_int_equal(run(e, NULL, "mail --status", &out, NULL), 0);
    assert_non_null(strstr(out, "failed"));
    free(out);
    {
        const char *args[] = {"--port", port.ptr, NULL};

        server_start(&sink, "smtp_sink.py", sd.ptr, args);
    }
    assert_int_equal(run(e, smtp, "mail --resend-failed", &out, &err), 0);
    free(out);
    free(err);
    msgs = sink_messages(&sink);
    assert_int_equal(json_array_size(msgs), (size_t)failed);
    json_decref(msgs);
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM deliveries "
                                 "WHERE state <> 'sent'"), 0);
    /* Exactly once: a second resend and a re-run send nothing. */
    assert_int_equal(run(e, smtp, "mail --resend-failed", &out, NULL), 0);
    free(out);
    assert_int_equal(run(e, smtp, "nightly --date 2026-10-31", &out, NULL),
                     0);
    free(out);
    msgs = sink_messages(&sink);
    assert_int_equal(json_array_size(msgs), (size_t)failed);
    json_decref(msgs);
    server_stop(&sink);
    free(smtp);
    cs_buf_release(&sd);
    cs_buf_release(&port);
    cs_buf_release(&pdf);
    th_env_free(e);
}

static void test_mail__webhook_gets_each_alert_once(void **state)
{
    struct th_env *e = mail_env(NULL, NULL, NULL);
    struct server hook;
    struct cs_buf wd = CS_BUF_INIT, env = CS_BUF_INIT, log = CS_BUF_INIT;
    const char *args[] = {"--script", "429,500,500", NULL};
    char *out = NULL, *err = NULL, *text, *save = NULL;
    long digests, ok = 0, total = 0;
    double last_t = -1;

    (void)state;
    cs_buf_addf(&wd, "%s/hook", e->dir);
    server_start(&hook, "webhook.py", wd.ptr, args);
    cs_buf_addf(&env, "CALLSCOPE_ALERT_WEBHOOK_URL=http://127.0.0.1:%ld/"
                "services/T000/B000/secret-token ", hook.port);
    assert_int_equal(run(e, env.ptr, "nightly --date 2026-10-31", &out, &err),
                     0);
    assert_non_null(strstr(out, "webhook: "));
    free(out);
    free(err);
    digests = th_sql_long(e->db, "SELECT count(*) FROM deliveries WHERE "
                          "channel = 'webhook' AND state = 'sent'");
    assert_true(digests >= 1);
    /* The log names the webhook, never its token. */
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM deliveries "
                                 "WHERE recipient LIKE '%secret%'"), 0);
    cs_buf_addf(&log, "%s/requests.jsonl", wd.ptr);
    text = th_read(log.ptr);
    assert_non_null(text);
    for (char *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        json_t *r = json_loads(l, 0, NULL), *body;
        double t = json_real_value(json_object_get(r, "t"));

        assert_true(json_is_true(json_object_get(r, "valid")));
        if (last_t >= 0)   /* at most one request a second */
            assert_true(t - last_t >= 0.95);
        last_t = t;
        total++;
        body = json_loads(jstr(r, "body"), 0, NULL);
        assert_non_null(body);
        if (strstr(jstr(body, "text"), "Northwind")) {
            /* Data cannot ping a channel. */
            assert_null(strstr(jstr(r, "body"), "<!channel>"));
            assert_non_null(strstr(jstr(body, "text"),
                                   "Northwind &lt;!channel&gt; &amp; Co"));
        }
        if (json_integer_value(json_object_get(r, "status")) == 200)
            ok++;
        json_decref(body);
        json_decref(r);
    }
    free(text);
    assert_int_equal(ok, digests);              /* each digest once */
    assert_int_equal(total, digests + 3);       /* 429, 500, 500 retried */
    /* A re-run within alerts.resend_after sends no alert again. */
    assert_int_equal(run(e, env.ptr, "nightly --date 2026-10-31", &out,
                         NULL), 0);
    free(out);
    text = th_read(log.ptr);
    {
        long lines = 0;

        for (char *c = text; *c; c++)
            lines += *c == '\n';
        assert_int_equal(lines, total);
    }
    free(text);
    server_stop(&hook);
    cs_buf_release(&wd);
    cs_buf_release(&env);
    cs_buf_release(&log);
    th_env_free(e);
}

/* Starts `callscope ARGS` in the background (the pid is callscope's). */
static pid_t spawn_callscope(struct th_env *e, const char *extra,
                             const char *args, const char *log)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *argv[4];
    pid_t pid;

    cs_buf_addf(&cmd, "exec env %s %s %s %s >%s 2>&1 </dev/null", e->env.ptr,
                extra ? extra : "", CS_BINARY, args, log);
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = cmd.ptr;
    argv[3] = NULL;
    assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ),
                     0);
    cs_buf_release(&cmd);
    return pid;
}

static long sink_count(const struct server *s)
{
    struct cs_buf p = CS_BUF_INIT;
    char *t;
    long n = 0;

    cs_buf_addf(&p, "%s/messages.jsonl", s->dir);
    t = th_read(p.ptr);
    for (char *c = t; c && *c; c++)
        n += *c == '\n';
    free(t);
    cs_buf_release(&p);
    return n;
}

static void test_mail__concurrent_nightly_runs_one(void **state)
{
    struct th_env *e = mail_env(NULL, NULL, NULL);
    const char *args[] = {"--delay-data-ms", "400", NULL};
    struct server sink;
    struct cs_buf sd = CS_BUF_INIT, log = CS_BUF_INIT;
    char *smtp, *err = NULL;
    pid_t a;
    int st;

    (void)state;
    cs_buf_addf(&sd, "%s/sink", e->dir);
    cs_buf_addf(&log, "%s/a.log", e->dir);
    server_start(&sink, "smtp_sink.py", sd.ptr, args);
    smtp = smtp_env(sink.port, NULL);
    a = spawn_callscope(e, smtp, "nightly --date 2026-10-31", log.ptr);
    /* Once the first one mails, it holds the lock for a while. */
    for (int i = 0; i < 3000 && sink_count(&sink) < 1; i++)
        sleep_ms(10);
    assert_true(sink_count(&sink) >= 1);
    assert_int_equal(run(e, smtp, "nightly --date 2026-10-31", NULL, &err),
                     5);
    assert_non_null(strstr(err, "already running"));
    free(err);
    assert_int_equal(waitpid(a, &st, 0), a);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* The monthly job has its own lock. */
    server_stop(&sink);
    free(smtp);
    cs_buf_release(&sd);
    cs_buf_release(&log);
    th_env_free(e);
}

static void test_mail__kill_during_mailing_then_exactly_once(void **state)
{
    struct th_env *e = mail_env(NULL, NULL, NULL);
    const char *args[] = {"--delay-data-ms", "300", NULL};
    struct server sink;
    struct cs_buf sd = CS_BUF_INIT, log = CS_BUF_INIT;
    char *smtp, *out = NULL, *err = NULL;
    json_t *msgs, *m;
    size_t i;
    pid_t a;
    int st;

    (void)state;
    cs_buf_addf(&sd, "%s/sink", e->dir);
    cs_buf_addf(&log, "%s/a.log", e->dir);
    server_start(&sink, "smtp_sink.py", sd.ptr, args);
    smtp = smtp_env(sink.port, NULL);
    a = spawn_callscope(e, smtp, "nightly --date 2026-10-31", log.ptr);
    for (int i2 = 0; i2 < 3000 && sink_count(&sink) < 2; i2++)
        sleep_ms(5);
    assert_true(sink_count(&sink) >= 2);
    kill(a, SIGKILL);
    assert_int_equal(waitpid(a, &st, 0), a);
    assert_true(WIFSIGNALED(st));
    /* The re-run finishes the work (0, or 4 when a message was cut off
     * between hand-over and reply: it arrived, so it is not sent again). */
    st = run(e, smtp, "nightly --date 2026-10-31", &out, &err);
    if (st != 0 && st != 4)
        fail_msg("re-run: exit %d: %s", st, err);
    free(out);
    free(err);
    msgs = sink_messages(&sink);
    /* Every delivery logged is in the sink exactly once. */
    assert_int_equal(json_array_size(msgs),
                     (size_t)th_sql_long(e->db, "SELECT count(*) FROM "
                                         "deliveries WHERE channel = "
                                         "'smtp'"));
    json_array_foreach(msgs, i, m) {
        size_t k;
        json_t *o;

        json_array_foreach(msgs, k, o) {
            if (k != i)
                assert_string_not_equal(jstr(m, "message_id"),
                                        jstr(o, "message_id"));
        }
    }
    json_decref(msgs);
    server_stop(&sink);
    free(smtp);
    cs_buf_release(&sd);
    cs_buf_release(&log);
    th_env_free(e);
}

/* A self-signed certificate for 127.0.0.1 in `dir` (cert.pem, key.pem). */
static void make_cert(const char *dir)
{
    struct cs_buf cmd = CS_BUF_INIT;

    cs_buf_addf(&cmd, "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
                "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1", dir,
                dir);
    assert_int_equal(system(cmd.ptr), 0);
    cs_buf_release(&cmd);
}

static void test_mail__tls_auth_and_refused_recipient(void **state)
{
    struct cs_buf mail = CS_BUF_INIT, cert = CS_BUF_INIT, key = CS_BUF_INIT;
    struct cs_buf sd = CS_BUF_INIT, env = CS_BUF_INIT;
    char *dir = th_tmpdir(), *out = NULL, *err = NULL;
    struct server sink;
    struct th_env *e;
    json_t *msgs, *m;
    size_t i;

    (void)state;
    make_cert(dir);
    cs_buf_addf(&cert, "%s/cert.pem", dir);
    cs_buf_addf(&key, "%s/key.pem", dir);
    cs_buf_addf(&mail, ", \"tls\": \"required\", \"ca_file\": \"%s\"",
                cert.ptr);
    e = mail_env(mail.ptr, NULL, NULL);
    cs_buf_addf(&sd, "%s/sink-plain", e->dir);
    /* TLS required, and the server offers none: nothing is sent. */
    server_start(&sink, "smtp_sink.py", sd.ptr, NULL);
    cs_buf_addf(&env, "CALLSCOPE_SMTP_URL=smtp://127.0.0.1:%ld ", sink.port);
    assert_int_equal(run(e, env.ptr, "nightly --date 2026-10-31", &out, &err),
                     4);
    assert_non_null(strstr(err, "STARTTLS"));
    assert_int_equal(sink_count(&sink), 0);
    free(out);
    free(err);
    server_stop(&sink);
    /* STARTTLS with AUTH from the environment; one address refused. */
    cs_buf_reset(&sd);
    cs_buf_addf(&sd, "%s/sink-tls", e->dir);
    {
        const char *args[] = {"--starttls", cert.ptr, key.ptr, "--auth",
                              "mailer:s3cret", "--reject-rcpt",
                              "ops@acme.test", NULL};

        server_start(&sink, "smtp_sink.py", sd.ptr, args);
    }
    cs_buf_reset(&env);
    cs_buf_addf(&env, "CALLSCOPE_SMTP_URL=smtp://127.0.0.1:%ld "
                "CALLSCOPE_SMTP_USER=mailer CALLSCOPE_SMTP_PASSWORD=s3cret ",
                sink.port);
    assert_int_equal(run(e, env.ptr, "mail --resend-failed", &out, &err), 4);
    if (!strstr(err, "550"))
        fail_msg("no 550 in: %s", err);
    free(out);
    free(err);
    msgs = sink_messages(&sink);
    assert_true(json_array_size(msgs) >= 3);
    json_array_foreach(msgs, i, m) {
        json_t *rec;
        struct cs_buf p = CS_BUF_INIT;
        char *line;

        (void)rec;
        assert_string_not_equal(json_string_value(json_array_get(
                                    json_object_get(m, "rcpt"), 0)),
                                "ops@acme.test");
        cs_buf_addf(&p, "%s/messages.jsonl", sd.ptr);
        line = th_read(p.ptr);
        assert_non_null(strstr(line, "\"tls\": true"));
        assert_non_null(strstr(line, "\"auth\": \"mailer\""));
        assert_null(strstr(line, "\"tls\": false"));
        free(line);
        cs_buf_release(&p);
    }
    json_decref(msgs);
    /* The refused one is failed with the server's words, not retried. */
    {
        char *reply = th_sql(e->db, "SELECT last_reply || ' ' || tries FROM "
                             "deliveries WHERE recipient = 'ops@acme.test' "
                             "AND state = 'failed' AND kind = 'report'");

        assert_non_null(reply);
        assert_non_null(strstr(reply, "550 5.1.1"));
        free(reply);
    }
    server_stop(&sink);
    /* smtps:// (TLS from the first byte); an unknown CA is refused. */
    cs_buf_reset(&sd);
    cs_buf_addf(&sd, "%s/sink-smtps", e->dir);
    {
        const char *args[] = {"--implicit-tls", cert.ptr, key.ptr, NULL};

        server_start(&sink, "smtp_sink.py", sd.ptr, args);
    }
    cs_buf_reset(&env);
    cs_buf_addf(&env, "CALLSCOPE_SMTP_URL=smtps://127.0.0.1:%ld ", sink.port);
    assert_int_equal(run(e, env.ptr, "nightly --date 2026-10-31 --force",
                         &out, &err), 0);
    free(out);
    free(err);
    assert_true(sink_count(&sink) >= 4);
    server_stop(&sink);
    th_env_free(e);
    e = mail_env(NULL, NULL, NULL);     /* no ca_file: verification fails */
    cs_buf_reset(&sd);
    cs_buf_addf(&sd, "%s/sink-unknown-ca", e->dir);
    {
        const char *args[] = {"--starttls", cert.ptr, key.ptr, NULL};

        server_start(&sink, "smtp_sink.py", sd.ptr, args);
    }
    cs_buf_reset(&env);
    cs_buf_addf(&env, "CALLSCOPE_SMTP_URL=smtp://127.0.0.1:%ld "
                "CALLSCOPE_SMTP_TLS=required ", sink.port);
    assert_int_equal(run(e, env.ptr, "nightly --date 2026-10-31", &out, &err),
                     4);
    assert_int_equal(sink_count(&sink), 0);
    assert_int_equal(th_sql_long(e->db, "SELECT max(tries) FROM deliveries"),
                     1);    /* a certificate problem is not retried */
    free(out);
    free(err);
    server_stop(&sink);
    th_env_free(e);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&mail);
    cs_buf_release(&cert);
    cs_buf_release(&key);
    cs_buf_release(&sd);
    cs_buf_release(&env);
}

static void test_mail__outbox_big_attachment_and_injection(void **state)
{
    struct th_env *e = mail_env(", \"max_attachment_bytes\": 1000",
                                NULL, NULL);
    struct cs_buf glob = CS_BUF_INIT, p = CS_BUF_INIT;
    char *out = NULL, *err = NULL, *cfg;
    json_t *msgs, *m;
    size_t i;

    (void)state;
    /* Northwind's name carries a line break: its mails are refused. */
    cs_buf_addf(&p, "%s/callscope.json", e->dir);
    cfg = th_read(p.ptr);
    {
        struct cs_buf c = CS_BUF_INIT;
        const char *at = strstr(cfg, "Northwind <!channel> & Co");

        assert_non_null(at);
        cs_buf_add(&c, cfg, (size_t)(at - cfg));
        cs_buf_adds(&c, "Northwind\\r\\nBcc: all@evil.test");
        cs_buf_adds(&c, at + strlen("Northwind <!channel> & Co"));
        th_write(p.ptr, c.ptr, c.len);
        cs_buf_release(&c);
    }
    free(cfg);
    assert_int_equal(run(e, NULL, "nightly --date 2026-10-31", &out, &err),
                     4);
    assert_non_null(strstr(err, "line break"));
    free(out);
    free(err);
    cs_buf_addf(&glob, "%s/reports/outbox/*.eml", e->dir);
    msgs = inspect_files(glob.ptr);
    assert_true(json_array_size(msgs) >= 3);
    json_array_foreach(msgs, i, m) {
        json_t *names = json_object_get(m, "header_names"), *h;
        size_t k;

        assert_null(strstr(jstr(m, "to"), "northwind"));
        json_array_foreach(names, k, h)
            assert_string_not_equal(json_string_value(h), "Bcc");
        if (strstr(jstr(m, "file"), "_report_")) {
            struct cs_buf path = CS_BUF_INIT;

            /* Too large to attach: named with its path instead. */
            assert_int_equal(json_array_size(json_object_get(m,
                                                             "attachments")),
                             0);
            assert_non_null(strstr(jstr(m, "text"), "Not attached"));
            cs_buf_addf(&path, "/reports/daily/2026-10-31/daily-");
            assert_non_null(strstr(jstr(m, "text"), path.ptr));
            cs_buf_release(&path);
        }
    }
    json_decref(msgs);
    /* The outbox is the delivery: a re-run writes nothing new. */
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM deliveries "
                                 "WHERE channel = 'outbox' AND state = "
                                 "'sent'"), (long)i);
    cs_buf_release(&glob);
    cs_buf_release(&p);
    th_env_free(e);
}

static void test_mail__config_is_checked(void **state)
{
    static const struct {
        const char *mail, *acme, *top, *env, *key;
    } cases[] = {
        {", \"tls\": \"sometimes\"", NULL, NULL, NULL, "mail.tls"},
        {NULL, NULL, NULL, "CALLSCOPE_SMTP_TLS=maybe", "CALLSCOPE_SMTP_TLS"},
        {NULL, ", \"alert_recipients\": [\"not an address\"]", NULL, NULL,
         "tenants.acme-dental.alert_recipients[0]"},
        {NULL, NULL, NULL, "CALLSCOPE_SMTP_URL=smtp://u:p@127.0.0.1:25",
         "smtp.url"},
        {NULL, NULL, ", \"alerts\": {\"resend_after\": \"soon\"}", NULL,
         "alerts.resend_after"},
        {NULL, ", \"alert_webhook_url\": \"ftp://x\"", NULL, NULL,
         "tenants.acme-dental.alert_webhook_url"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cs_buf cfg = CS_BUF_INIT, env = CS_BUF_INIT;
        struct th_env *e;
        char *err = NULL;

        cs_buf_addf(&cfg, TEST_CONFIG, CS_SOURCE_DIR,
                    cases[i].mail ? cases[i].mail : "",
                    cases[i].acme ? cases[i].acme : "",
                    cases[i].top ? cases[i].top : "");
        e = th_env_new(cfg.ptr);
        cs_buf_addf(&env, "%s %s", e->env.ptr,
                    cases[i].env ? cases[i].env : "");
        assert_int_equal(th_run(env.ptr, "nightly --date 2026-10-31", NULL,
                                &err), 3);
        if (!strstr(err, cases[i].key))
            fail_msg("case %zu: '%s' not named in: %s", i, cases[i].key,
                     err);
        free(err);
        cs_buf_release(&cfg);
        cs_buf_release(&env);
        th_env_free(e);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, stop_all)
    const struct CMUnitTest tests[] = {
        T(test_mail__mime_headers_bodies_and_attachments),
        T(test_mail__jobs_mail_each_tenant_its_own),
        T(test_mail__smtp_down_then_resend_failed_once),
        T(test_mail__webhook_gets_each_alert_once),
        T(test_mail__concurrent_nightly_runs_one),
        T(test_mail__kill_during_mailing_then_exactly_once),
        T(test_mail__tls_auth_and_refused_recipient),
        T(test_mail__outbox_big_attachment_and_injection),
        T(test_mail__config_is_checked),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
