/* test_store.c - migrations and the embedded cluster on real PostgreSQL;
 * the COPY row encoder without one */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "base/buf.h"
#include "config/config.h"
#include "helpers.h"
#include "model/conv.h"
#include "model/scan.h"
#include "sample/sample.h"
#include "store/row.h"
#include "store/store.h"

static struct cs_config *config_for(const char *db)
{
    struct cs_config *cfg = NULL;
    struct cs_err err = {0, ""};

    setenv("CALLSCOPE_DATABASE_URL", db, 1);
    unsetenv("CALLSCOPE_CONFIG");
    assert_int_equal(cs_config_load(&cfg, NULL, &err), 0);
    unsetenv("CALLSCOPE_DATABASE_URL");
    return cfg;
}

static void test_store__migrations_are_idempotent(void **state)
{
    char *db = th_new_database();
    struct cs_config *cfg = config_for(db);
    struct cs_store *st = NULL;
    struct cs_err err = {0, ""};
    int applied = -1, version = 0;
    char *n;

    (void)state;
    assert_int_equal(cs_store_open(&st, cfg, &err), 0);
    assert_int_equal(cs_store_migrate(st, &applied, &err), 0);
    assert_int_equal(applied, 0); /* opening applied them already */
    assert_int_equal(cs_store_schema_version(st, &version, &err), 0);
    assert_int_equal(version, cs_store_latest_version());
    cs_store_close(st);
    /* Versions may have gaps (branches number theirs apart): the highest
     * applied is the latest, each once (the primary key). */
    n = th_sql(db, "SELECT max(version) FROM schema_migrations");
    assert_int_equal(strtol(n, NULL, 10), cs_store_latest_version());
    free(n);
    cs_config_free(cfg);
    free(db);
}

static void test_store__concurrent_migrations_apply_once(void **state)
{
    char *db = th_new_database();
    struct cs_config *cfg = config_for(db);
    pid_t kids[4];
    char *n;

    (void)state;
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            struct cs_store *st = NULL;
            struct cs_err err = {0, ""};
            int ret = cs_store_open(&st, cfg, &err);

            if (ret)
                fprintf(stderr, "child: %s\n", err.msg);
            cs_store_close(st);
            _exit(ret ? 1 : 0);
        }
    }
    for (int i = 0; i < 4; i++) {
        int status = 0;

        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    /* Versions may have gaps (branches number theirs apart): the highest
     * applied is the latest, each once (the primary key). */
    n = th_sql(db, "SELECT max(version) FROM schema_migrations");
    assert_int_equal(strtol(n, NULL, 10), cs_store_latest_version());
    free(n);
    cs_config_free(cfg);
    free(db);
}

static void test_store__bad_server_is_a_clear_error(void **state)
{
    struct cs_config *cfg;
    struct cs_store *st = NULL;
    struct cs_err err = {0, ""};

    (void)state;
    setenv("CALLSCOPE_DB_CONNECT_RETRY_S", "0", 1);
    cfg = config_for("host=/nonexistent port=1 user=x password=hunter2 "
                     "dbname=y");
    unsetenv("CALLSCOPE_DB_CONNECT_RETRY_S");
    assert_int_equal(cs_store_open(&st, cfg, &err), CS_EDB);
    assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL"));
    assert_non_null(strstr(err.msg, "/nonexistent/.s.PGSQL.1"));
    assert_null(strstr(err.msg, "hunter2"));
    assert_null(strchr(err.msg, '\n'));
    cs_config_free(cfg);
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A TCP listener on loopback that accepts every connection and never
 * says a word (Python, as the test doubles are). Returns its pid and
 * sets *port.
 */
static pid_t silent_listener(long *port, int *fd)
{
    static const char script[] =
        "import os, socket, sys\n"
        "s = socket.socket()\n"
        "s.bind(('127.0.0.1', 0))\n"
        "s.listen(64)\n"
        "sys.stdout.write('%d\\n' % s.getsockname()[1])\n"
        "sys.stdout.flush()\n"
        "held = []\n"
        "while True:\n"
        "    held.append(s.accept()[0])\n";
    int fds[2];
    char buf[32] = "";
    size_t got = 0;
    pid_t pid;
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", "-c", script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* The whole line; the pipe stays open until the listener is gone. */
    while (got < sizeof(buf) - 1 && !strchr(buf, '\n')) {
        n = read(fds[0], buf + got, sizeof(buf) - 1 - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    *fd = fds[0];
    *port = strtol(buf, NULL, 10);
    assert_true(*port > 0);
    return pid;
}

/* A server that accepts the connection and never answers: the command
 * ends after the connect timeout, naming the server and the setting,
 * instead of hanging; with a retry budget it says that it waited. */
static void test_store__silent_server_times_out(void **state)
{
    struct cs_buf env = CS_BUF_INIT;
    char *err = NULL;
    long port = 0;
    int fd = -1;
    pid_t pid = silent_listener(&port, &fd);
    double t0, took;
    int status;

    (void)state;
    cs_buf_addf(&env, "CALLSCOPE_CONFIG= CALLSCOPE_DATABASE_URL='host="
                "127.0.0.1 port=%ld user=x dbname=y' "
                "CALLSCOPE_DB_CONNECT_TIMEOUT_S=2 "
                "CALLSCOPE_DB_CONNECT_RETRY_S=0", port);
    t0 = mono_now();
    assert_int_equal(th_run(env.ptr, "kpis --from 2026-10-01 --to "
                            "2026-10-02", NULL, &err), 1);
    took = mono_now() - t0;
    assert_true(took >= 1.5 && took < 10);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_non_null(strstr(err, "127.0.0.1"));
    assert_non_null(strstr(err, "timeout expired"));
    assert_non_null(strstr(err, "database.connect_timeout_s"));
    assert_null(strstr(err, "waited"));
    free(err);
    /* With 3 s to wait: tried again, said so, still bounded. */
    cs_buf_reset(&env);
    cs_buf_addf(&env, "CALLSCOPE_CONFIG= CALLSCOPE_DATABASE_URL='host="
                "127.0.0.1 port=%ld user=x dbname=y' "
                "CALLSCOPE_DB_CONNECT_TIMEOUT_S=2 "
                "CALLSCOPE_DB_CONNECT_RETRY_S=3", port);
    t0 = mono_now();
    assert_int_equal(th_run(env.ptr, "ingest /nonexistent.jsonl", NULL,
                            &err), 1);
    took = mono_now() - t0;
    assert_true(took >= 3 && took < 15);
    assert_non_null(strstr(err, "not accepting connections"));
    assert_non_null(strstr(err, "waited"));
    assert_non_null(strstr(err, "database.connect_retry_s"));
    free(err);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(fd);
    cs_buf_release(&env);
}

/* Runs `cmd` through the shell, failing the test unless it exits 0. */
static void sh_ok(const char *cmd)
{
    int st = system(cmd);

    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("command failed: %s", cmd);
}

/*
 * A server shutting down, then down, then started again while a command
 * waits: the command connects once it is up and says that it waited,
 * instead of failing at once with "the database system is shutting
 * down" or "no such file". pg_ctl on an embedded cluster of its own.
 */
static void test_store__waits_for_a_restarting_server(void **state)
{
    char *dir = th_tmpdir();
    struct cs_buf env = CS_BUF_INIT, url = CS_BUF_INIT, cmd = CS_BUF_INIT;
    char *out = NULL, *where, *end, *err;
    PGconn *held;
    FILE *bg;
    int st;

    (void)state;
    chmod(dir, 0755);
    cs_buf_addf(&env, "CALLSCOPE_DATABASE_URL= CALLSCOPE_CONFIG= "
                "CALLSCOPE_DATA_DIR=%s/var", dir);
    assert_int_equal(th_run(env.ptr, "db migrate", NULL, NULL), 0);
    assert_int_equal(th_run(env.ptr, "db status", &out, NULL), 0);
    where = strstr(out, "embedded cluster in ");
    assert_non_null(where);
    where += strlen("embedded cluster in ");
    end = strstr(where, ": ");
    assert_non_null(end);
    *end = '\0';
    cs_buf_addf(&url, "host=%s port=5432 user=callscope dbname=callscope",
                where);
    /* A session that keeps a smart shutdown going: meanwhile the server
     * refuses new connections ("the database system is shutting down"). */
    held = PQconnectdb(url.ptr);
    assert_int_equal(PQstatus(held), CONNECTION_OK);
    cs_buf_addf(&cmd, "PGB=${CALLSCOPE_PG_BIN:-$(ls -d /usr/lib/postgresql/"
                "*/bin | sort -V | tail -n1)}; R=; [ \"$(id -u)\" = 0 ] && "
                "R='runuser -u postgres --'; $R \"$PGB/pg_ctl\" -D '%s/data' "
                "-m smart -W stop >/dev/null", where);
    sh_ok(cmd.ptr);
    cs_buf_reset(&cmd);
    cs_buf_addf(&cmd, "CALLSCOPE_CONFIG= CALLSCOPE_DATABASE_URL='%s' "
                "CALLSCOPE_DB_CONNECT_RETRY_S=60 %s kpis --from 2026-10-01 "
                "--to 2026-10-02 --format json 2>%s/bg.err >%s/bg.out",
                url.ptr, CS_BINARY, dir, dir);
    bg = popen(cmd.ptr, "r");
    assert_non_null(bg);
    sleep(2);
    /* The last session goes: the server stops. Then it starts again. */
    PQfinish(held);
    sleep(2);
    assert_int_equal(th_run(env.ptr, "db start", NULL, NULL), 0);
    st = pclose(bg);
    assert_true(WIFEXITED(st));
    cs_buf_reset(&cmd);
    cs_buf_addf(&cmd, "%s/bg.err", dir);
    err = th_read(cmd.ptr);
    assert_non_null(err);
    if (WEXITSTATUS(st) != 0)
        fail_msg("the waiting command failed: %s", err);
    assert_non_null(strstr(err, "not accepting connections"));
    assert_non_null(strstr(err, "answered after"));
    free(err);
    cs_buf_reset(&cmd);
    cs_buf_addf(&cmd, "%s/bg.out", dir);
    err = th_read(cmd.ptr);
    assert_non_null(strstr(err, "\"tenants\""));
    free(err);
    assert_int_equal(th_run(env.ptr, "db stop", NULL, NULL), 0);
    free(out);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&env);
    cs_buf_release(&url);
    cs_buf_release(&cmd);
}

/* With no database configured, callscope runs its own cluster under the
 * data dir: created on first use, reused, stopped on request. */
static void test_store__embedded_cluster_lifecycle(void **state)
{
    char *dir = th_tmpdir();
    struct cs_buf env = CS_BUF_INIT;
    char *out = NULL, *err = NULL;

    (void)state;
    /* Reachable by the cluster's user when the suite runs as root. */
    chmod(dir, 0755);
    cs_buf_addf(&env, "CALLSCOPE_DATABASE_URL= CALLSCOPE_CONFIG= "
                "CALLSCOPE_DATA_DIR=%s/var", dir);
    assert_int_equal(th_run(env.ptr, "db status", &out, NULL), 0);
    assert_non_null(strstr(out, "not created"));
    free(out);
    assert_int_equal(th_run(env.ptr, "db migrate", &out, &err), 0);
    assert_non_null(strstr(out, "schema at version"));
    free(out);
    free(err);
    assert_int_equal(th_run(env.ptr, "db status", &out, NULL), 0);
    assert_non_null(strstr(out, "running"));
    assert_non_null(strstr(out, "schema version"));
    free(out);
    assert_int_equal(th_run(env.ptr, "db stop", &out, NULL), 0);
    free(out);
    assert_int_equal(th_run(env.ptr, "db status", &out, NULL), 0);
    assert_non_null(strstr(out, "stopped"));
    free(out);
    /* Used again transparently: started on demand, data kept. */
    assert_int_equal(th_run(env.ptr, "kpis --from 2026-10-01 --to "
                            "2026-10-02 --format json", &out, NULL), 0);
    assert_non_null(strstr(out, "\"tenants\": {}"));
    free(out);
    assert_int_equal(th_run(env.ptr, "db stop", NULL, NULL), 0);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&env);
}

/* ---- the row encoder (no database) ---- */

/* The value of column `name` in `row`, by the statement's column list
 * (new string); fails the test when there is no such column. */
static char *row_value(const char *row, const char *name)
{
    struct cs_buf sql = CS_BUF_INIT, want = CS_BUF_INIT;
    const char *p, *list, *end;
    size_t idx = 0;
    char *v;

    cs_store_row_copy_sql(&sql);
    list = strchr(sql.ptr, '(') + 1;
    cs_buf_addf(&want, ", %s,", name);
    /* ", " before the first name too, so every match reads the same. */
    p = strstr(list, want.ptr + 2) == list ? list : strstr(list, want.ptr);
    if (!p)
        fail_msg("no column '%s' in %s", name, sql.ptr);
    for (const char *q = list; q < p; q++)
        idx += *q == ',';
    if (p != list)
        idx++;
    for (p = row; idx > 0; idx--) {
        p = strchr(p, '\t');
        assert_non_null(p);
        p++;
    }
    end = strchr(p, '\t');
    v = end ? strndup(p, (size_t)(end - p)) : strdup(p);
    cs_buf_release(&sql);
    cs_buf_release(&want);
    return v;
}

static void expect_col(const char *row, const char *name, const char *val)
{
    char *v = row_value(row, name);

    if (strcmp(v, val) != 0)
        fail_msg("column '%s' is '%s', expected '%s'", name, v, val);
    free(v);
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

static void test_store__row_statement_follows_the_column_table(void **state)
{
    struct cs_buf sql = CS_BUF_INIT;

    (void)state;
    cs_store_row_copy_sql(&sql);
    assert_non_null(strstr(sql.ptr, "COPY conversations (tenant, id, agent,"));
    assert_non_null(strstr(sql.ptr, ", tools_total, tools_ok, created_ticket,"
                                    " created_crm, created_appt, "));
    assert_non_null(strstr(sql.ptr, ", content_hash, ingest_batch) FROM "
                                    "STDIN"));
    /* One more name than a row has: the batch column. */
    assert_int_equal(count_char(sql.ptr, sql.len, ',') + 1,
                     cs_store_row_columns() + 1);
    assert_int_equal(cs_store_row_columns(), 33);
    cs_buf_release(&sql);
}

static void test_store__row_values_land_in_their_columns(void **state)
{
    static const char line[] =
        "{\"id\":\"c1\",\"tenant\":\"t\",\"agent\":\"ag\",\"channel\":"
        "\"chat\",\"direction\":\"outbound\",\"caller\":\"A\",\"callee\":"
        "\"B\",\"started_at\":\"2016-12-31T23:59:60Z\",\"answered_at\":"
        "\"2017-01-01T02:00:01+02:00\",\"ended_at\":"
        "\"2026-10-01T10:00:00Z\",\"outcome\":\"failed\",\"ring_s\":1.50,"
        "\"queue_wait_s\":2.5,\"sip_error_code\":486,\"turns\":[{\"role\":"
        "\"agent\",\"text\":\"x\"}],\"tool_calls\":[{\"name\":\"crm\","
        "\"ok\":true,\"creates\":\"crm_update\"},{\"name\":\"tk\",\"ok\":"
        "false,\"creates\":\"ticket\"}],\"spans\":[{\"name\":\"llm\","
        "\"duration_ms\":700},{\"name\":\"tts\",\"duration_ms\":1.5}],"
        "\"costs\":{\"llm\":0.25,\"tts\":0.5},\"csat\":4,\"nps\":9,"
        "\"topics\":[\"billing\",\"a\\\"b\"],\"metrics\":[{\"name\":\"m\","
        "\"value\":1}]}";
    struct cs_buf text = CS_BUF_INIT, key = CS_BUF_INIT;
    struct cs_err err = {0, ""};

    (void)state;
    if (cs_store_row_from_line(&text, &key, line, sizeof(line) - 1, &err))
        fail_msg("%s", err.msg);
    assert_memory_equal(key.ptr, "t\x1f" "c1", 5);
    assert_int_equal(key.len, 4);
    assert_int_equal(count_char(text.ptr, text.len, '\t'),
                     cs_store_row_columns() - 1);
    assert_null(memchr(text.ptr, '\n', text.len));
    expect_col(text.ptr, "tenant", "t");
    expect_col(text.ptr, "id", "c1");
    expect_col(text.ptr, "agent", "ag");
    expect_col(text.ptr, "channel", "chat");
    expect_col(text.ptr, "direction", "outbound");
    expect_col(text.ptr, "caller", "A");
    expect_col(text.ptr, "callee", "B");
    /* Timestamps go as written, but a leap second is re-formatted. */
    expect_col(text.ptr, "started_at", "2016-12-31 23:59:59.000000+00");
    expect_col(text.ptr, "answered_at", "2017-01-01T02:00:01+02:00");
    expect_col(text.ptr, "ended_at", "2026-10-01T10:00:00Z");
    expect_col(text.ptr, "outcome", "failed");
    expect_col(text.ptr, "ring_s", "1.50");    /* the bytes as they came */
    expect_col(text.ptr, "queue_wait_s", "2.5");
    expect_col(text.ptr, "sip_error_code", "486");
    expect_col(text.ptr, "handoff", "\\N");
    expect_col(text.ptr, "n_turns", "1");
    expect_col(text.ptr, "turns", "[{\"role\":\"agent\",\"text\":\"x\"}]");
    expect_col(text.ptr, "tools_total", "2");
    expect_col(text.ptr, "tools_ok", "1");
    expect_col(text.ptr, "created_ticket", "0");  /* not ok: not counted */
    expect_col(text.ptr, "created_crm", "1");
    expect_col(text.ptr, "created_appt", "0");
    expect_col(text.ptr, "span_names", "{\"llm\",\"tts\"}");
    expect_col(text.ptr, "span_ms", "{700,1.5}");
    expect_col(text.ptr, "costs", "{\"llm\":0.25,\"tts\":0.5}");
    expect_col(text.ptr, "cost_total", "0.75");
    expect_col(text.ptr, "csat", "4");
    expect_col(text.ptr, "nps", "9");
    /* Array quoting, then COPY escaping. */
    expect_col(text.ptr, "topics", "{\"billing\",\"a\\\\\"b\"}");
    expect_col(text.ptr, "metrics", "[{\"name\":\"m\",\"value\":1}]");
    expect_col(text.ptr, "metadata", "\\N");
    cs_buf_release(&text);
    cs_buf_release(&key);
}

static void test_store__row_escapes_and_defaults(void **state)
{
    static const char line[] =
        "{ \"id\" : \"e1\", \"started_at\":\"2026-10-01T10:00:00Z\","
        "\"turns\":[{\"role\":\"agent\",\"text\":\"a\\tb\\nc\\\\d\"}],"
        "\"agent\":\"x\\ty\",\"extra\":true}";
    struct cs_buf text = CS_BUF_INIT, key = CS_BUF_INIT;

    (void)state;
    assert_int_equal(cs_store_row_from_line(&text, &key, line,
                                            sizeof(line) - 1, NULL), 0);
    assert_int_equal(count_char(text.ptr, text.len, '\t'),
                     cs_store_row_columns() - 1);
    assert_null(memchr(text.ptr, '\n', text.len));
    expect_col(text.ptr, "tenant", "default");
    expect_col(text.ptr, "channel", "voice");
    expect_col(text.ptr, "outcome", "answered");
    expect_col(text.ptr, "agent", "x\\ty");
    /* The JSON's own backslashes doubled for COPY. */
    expect_col(text.ptr, "turns", "[{\"role\":\"agent\",\"text\":"
                                    "\"a\\\\tb\\\\nc\\\\\\\\d\"}]");
    /* Unknown fields were folded into metadata. */
    expect_col(text.ptr, "metadata", "{\"extra\":true}");
    expect_col(text.ptr, "tools_total", "0");
    expect_col(text.ptr, "span_names", "\\N");
    expect_col(text.ptr, "cost_total", "0");
    cs_buf_release(&text);
    cs_buf_release(&key);
}

/* Content hashes decide which stored scores are stale: they must not
 * change from one release to the next. */
static void test_store__row_content_hash_is_stable(void **state)
{
    static const char line[] =
        "{\"id\":\"c1\",\"started_at\":\"2026-10-01T10:00:00Z\","
        "\"turns\":[]}";
    struct cs_buf text = CS_BUF_INIT, key = CS_BUF_INIT;

    (void)state;
    assert_int_equal(cs_store_row_from_line(&text, &key, line,
                                            sizeof(line) - 1, NULL), 0);
    expect_col(text.ptr, "content_hash", "de27c7453fac382c");
    cs_buf_release(&text);
    cs_buf_release(&key);
}

static void test_store__row_from_bad_lines(void **state)
{
    static const struct {
        const char *line;
        size_t len;         /* 0: strlen */
        const char *reason;
    } cases[] = {
        {"{\"id\":\0\"x\"}", 11, "NUL byte at column 7"},
        {"{\"id\":", 0, "invalid JSON at column"},
        {"{\"id\":\"a\",\"id\":\"b\"}", 0, "invalid JSON at column"},
        {"[]", 0, "expected a JSON object"},
        {"{\"started_at\":\"2026-10-01T10:00:00Z\",\"turns\":[]}", 0,
         "field 'id': missing"},
        {"", 0, "invalid JSON"},
    };
    struct cs_buf text = CS_BUF_INIT, key = CS_BUF_INIT;
    struct cs_err err = {0, ""};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].line);

        cs_buf_adds(&text, "stale");
        cs_buf_adds(&key, "stale");
        assert_int_equal(cs_store_row_from_line(&text, &key, cases[i].line,
                                                len, &err), CS_EINVALID);
        if (!strstr(err.msg, cases[i].reason))
            fail_msg("case %zu: '%s' does not say '%s'", i, err.msg,
                     cases[i].reason);
        assert_int_equal(text.len, 0);
        assert_int_equal(key.len, 0);
    }
    cs_buf_release(&text);
    cs_buf_release(&key);
}

/*
 * The fast path against the jansson path on one line: a line the scan
 * takes must be one that jansson accepts, with the same row and key.
 * Counts the lines jansson accepts and those the scan took.
 */
struct diff {
    struct cs_scan scan;
    struct cs_buf text, key, ftext, fkey;
    long valid, fast;
};

static void diff_line(struct diff *d, const char *line, size_t len)
{
    struct cs_err err = {0, ""};
    struct cs_conv *c = NULL;
    int slow = cs_conv_from_line(&c, line, len, &err);
    int fast = cs_scan_line(&d->scan, line, len);

    d->valid += slow == 0;
    if (fast != 0) {
        assert_int_equal(fast, 1);
        cs_conv_free(c);
        return;
    }
    d->fast++;
    if (slow != 0)
        fail_msg("the fast path took a line jansson rejects (%s): %.*s",
                 err.msg, (int)len, line);
    cs_store_row_build(&d->text, &d->key, c, line, len);
    cs_store_row_build_scan(&d->ftext, &d->fkey, &d->scan, line, len);
    if (d->text.len != d->ftext.len ||
        memcmp(d->text.ptr, d->ftext.ptr, d->text.len) != 0)
        fail_msg("rows differ for %.*s\njansson: %s\nfast:    %s", (int)len,
                 line, d->text.ptr, d->ftext.ptr);
    assert_string_equal(d->key.ptr, d->fkey.ptr);
    cs_conv_free(c);
}

/* Each line of `data`; with `mutate`, each with every byte in turn left
 * out, and replaced by bytes that change what a line means. */
static void diff_lines(struct diff *d, const char *data, int mutate)
{
    static const char swaps[] = "\"\\-0e.}],:n \x80";
    struct cs_buf m = CS_BUF_INIT;

    while (*data) {
        const char *nl = strchr(data, '\n');
        size_t len = nl ? (size_t)(nl - data) : strlen(data);

        diff_line(d, data, len);
        for (size_t i = 0; mutate && i < len; i++) {
            cs_buf_reset(&m);
            cs_buf_add(&m, data, i);
            cs_buf_add(&m, data + i + 1, len - i - 1);
            diff_line(d, m.ptr, m.len);
            for (size_t k = 0; k < sizeof(swaps) - 1; k++) {
                cs_buf_reset(&m);
                cs_buf_add(&m, data, len);
                m.ptr[i] = swaps[k];
                diff_line(d, m.ptr, m.len);
            }
        }
        data += len + (nl != NULL);
    }
    cs_buf_release(&m);
}

static char *read_data(const char *rel)
{
    struct cs_buf p = CS_BUF_INIT;
    char *data;

    cs_buf_addf(&p, "%s/%s", CS_SOURCE_DIR, rel);
    data = th_read(p.ptr);
    if (!data)
        fail_msg("cannot read %s", p.ptr);
    cs_buf_release(&p);
    return data;
}

/* The rows of results as a digest, in the columns every version has. */
#define RESULTS_DIGEST(where)                                              \
    "SELECT md5(string_agg(concat_ws('|', r.id, r.tenant, "                \
    "r.conversation_id, r.metric, r.rubric_version, r.evaluator, r.value, "\
    "r.confidence, r.evidence, r.rationale, r.tokens_in, r.tokens_out, "   \
    "r.cost, r.content_hash, r.evaluated_at, r.current, r.cached_tokens), " \
    "E'\\n' ORDER BY r.id)) FROM results r" where

static char *table_digest(const char *db, const char *table)
{
    struct cs_buf q = CS_BUF_INIT;
    char *v;

    cs_buf_addf(&q, "SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER "
                "BY t::text)), '-') FROM %s t", table);
    v = th_sql(db, q.ptr);
    cs_buf_release(&q);
    return v;
}

static void ignore_reject(void *ctx, const char *file, long line,
                          const char *reason)
{
    (void)ctx;
    fail_msg("%s:%ld: %s", file, line, reason);
}

/*
 * An installation of the schema before partitions (version 41), with the
 * real-dev conversations and results (current and history, and one of a
 * conversation no longer stored), migrated in place: conversations and
 * results become partitioned by month with every row as it was (the
 * orphan result excepted), the rollups untouched and equal to a rebuild,
 * the triggers kept; afterwards the KPIs from the rollups equal the scan,
 * a re-ingest replaces (the key holds across months), and new results
 * continue the old ids.
 */
static void test_store__migration_partitions_in_place(void **state)
{
    static const char *const rollups[] = {"kpi_rollup", "kpi_span_d",
                                          "kpi_span_h", "kpi_result_rollup"};
    char *db = th_new_database(), *dir = th_tmpdir();
    struct cs_config *cfg = config_for(db);
    struct cs_store *st = NULL;
    struct cs_store_batch *b = NULL;
    struct cs_err err = {0, ""};
    struct cs_buf text = CS_BUF_INIT, key = CS_BUF_INIT, env = CS_BUF_INIT;
    char *data = read_data("tests/data/real-dev/conversations.jsonl");
    char *conv_before, *res_before, *roll_before[4], *v, *out = NULL;
    char *line = data, *nl, *scan = NULL;
    long n = 0, max_id;
    int applied = 0;

    (void)state;
    assert_int_equal(cs_store_open_at(&st, cfg, 41, &err), 0);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM "
                                 "pg_partitioned_table"), 0);
    assert_int_equal(cs_store_batch_new(&b, st, 300, ignore_reject, NULL),
                     0);
    for (; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_int_equal(cs_store_row_from_line(&text, &key, line,
                                                (size_t)(nl - line), &err),
                         0);
        assert_int_equal(cs_store_batch_add_row(b, key.ptr, text.ptr,
                                                text.len, "real-dev",
                                                ++n, &err), 0);
    }
    assert_int_equal(cs_store_batch_flush(b, &err), 0);
    cs_store_batch_free(b);
    assert_int_equal(n, 1040);
    /* Results as the schema had them: one superseded and one current
     * per conversation and metric, and one whose conversation is gone. */
    free(th_sql(db, "INSERT INTO results (tenant, conversation_id, metric, "
                    "rubric_version, evaluator, value, content_hash, "
                    "current, cached_tokens) SELECT c.tenant, c.id, m, 'v1', "
                    "'rules', to_jsonb(c.n_turns % k = 0), c.content_hash, "
                    "cur, c.n_turns FROM conversations c, (VALUES "
                    "('resolved', 2), ('polite', 3)) AS x(m, k), (VALUES "
                    "(false), (true)) AS y(cur) ORDER BY c.id, m, cur "
                    "RETURNING 1"));
    free(th_sql(db, "INSERT INTO results (tenant, conversation_id, metric, "
                    "rubric_version, evaluator, value, content_hash) VALUES "
                    "('gone', 'x', 'resolved', 'v1', 'rules', 'true', 'h') "
                    "RETURNING 1"));
    conv_before = table_digest(db, "conversations");
    res_before = th_sql(db, RESULTS_DIGEST(" WHERE r.tenant <> 'gone'"));
    for (int i = 0; i < 4; i++)
        roll_before[i] = table_digest(db, rollups[i]);
    max_id = th_sql_long(db, "SELECT max(id) FROM results");

    assert_int_equal(cs_store_migrate(st, &applied, &err), 0);
    assert_true(applied >= 1);
    cs_store_close(st);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM "
                                 "pg_partitioned_table WHERE partrelid IN "
                                 "('conversations'::regclass, "
                                 "'results'::regclass)"), 2);
    /* Every month of the data, for both tables. */
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM (SELECT DISTINCT "
                                 "date_trunc('month', started_at AT TIME "
                                 "ZONE 'UTC') FROM conversations) m"),
                     th_sql_long(db, "SELECT count(*) FROM pg_inherits "
                                 "WHERE inhparent = 'conversations'::"
                                 "regclass AND inhrelid::regclass::text IN "
                                 "(SELECT 'conversations_p' || to_char("
                                 "started_at AT TIME ZONE 'UTC', 'YYYYMM') "
                                 "FROM conversations)"));
    v = table_digest(db, "conversations");
    assert_string_equal(v, conv_before);
    free(v);
    v = th_sql(db, RESULTS_DIGEST(""));
    assert_string_equal(v, res_before);
    free(v);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM results r JOIN "
                                 "conversations c ON c.tenant = r.tenant "
                                 "AND c.id = r.conversation_id AND "
                                 "c.started_at = r.started_at"), 4 * 1040);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM "
                                 "conversation_keys"), 1040);
    for (int i = 0; i < 4; i++) {
        v = table_digest(db, rollups[i]);
        assert_string_equal(v, roll_before[i]);
        free(v);
    }
    free(th_sql(db, "SELECT cs_rollup_rebuild(NULL)"));
    for (int i = 0; i < 4; i++) {
        v = table_digest(db, rollups[i]);
        assert_string_equal(v, roll_before[i]);
        free(v);
        free(roll_before[i]);
    }

    /* The triggers work on the new tables: the KPIs from the rollups
     * equal the scan after a re-ingest of every conversation (replaced,
     * not duplicated) and a scoring run. */
    cs_buf_reset(&text);
    cs_buf_addf(&text, "%s/callscope.json", dir);
    {
        const char *cfg_text = "{\"sentiment_lexicon\": \"" CS_SOURCE_DIR
                               "/config/sentiment-lexicon.txt\"}";

        th_write(text.ptr, cfg_text, strlen(cfg_text));
    }
    cs_buf_addf(&env, "CALLSCOPE_CONFIG=%s CALLSCOPE_DATABASE_URL='%s' "
                "CALLSCOPE_DATA_DIR=%s/var CALLSCOPE_RUBRICS_DIR=%s/rubrics "
                "CALLSCOPE_TEMPLATES_DIR=%s/templates", text.ptr, db, dir,
                CS_SOURCE_DIR, CS_SOURCE_DIR);
    cs_buf_reset(&text);
    cs_buf_addf(&text, "ingest -q %s/tests/data/real-dev/conversations.jsonl",
                CS_SOURCE_DIR);
    assert_int_equal(th_run(env.ptr, text.ptr, NULL, NULL), 0);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM conversations"),
                     1040);
    assert_int_equal(th_run(env.ptr, "score -q", NULL, NULL), 0);
    assert_true(th_sql_long(db, "SELECT min(id) FROM results WHERE "
                            "rubric_version <> 'v1'") > max_id);
    assert_int_equal(th_run(env.ptr, "kpis --format json --tz UTC --from "
                            "2026-09-01 --to 2026-11-21", &out, NULL), 0);
    cs_buf_reset(&text);
    cs_buf_addf(&text, "%s CALLSCOPE_KPI_SCAN=1", env.ptr);
    assert_int_equal(th_run(text.ptr, "kpis --format json --tz UTC --from "
                            "2026-09-01 --to 2026-11-21", &scan, NULL), 0);
    assert_string_equal(out, scan);
    /* civic-assist's count in tests/data/real-dev/kpis_expected.json */
    assert_non_null(strstr(out, "\"conversations\": 196,"));

    free(out);
    free(scan);
    free(conv_before);
    free(res_before);
    free(data);
    cs_buf_release(&text);
    cs_buf_release(&key);
    cs_buf_release(&env);
    cs_config_free(cfg);
    th_rmtree(dir);
    free(dir);
    free(db);
}

/*
 * The differential test of ingest's two paths over the test data: the
 * real-dev conversations and generated sample days, which must all take
 * the fast path, and tests/data/model/lines.jsonl (the shapes the scan
 * declines or must reject, valid and not), each line also mutated byte by
 * byte. tests/fuzz/fuzz_scan.c does the same on any bytes.
 */
static void test_store__row_fast_path_matches_jansson(void **state)
{
    struct diff d = {.text = CS_BUF_INIT, .key = CS_BUF_INIT,
                     .ftext = CS_BUF_INIT, .fkey = CS_BUF_INIT};
    struct cs_sample_opts o;
    struct cs_err err = {0, ""};
    struct cs_buf sample = CS_BUF_INIT;
    char *data, chunk[4096];
    FILE *f;
    size_t n;

    (void)state;
    cs_scan_init(&d.scan);
    data = read_data("tests/data/real-dev/conversations.jsonl");
    diff_lines(&d, data, 0);
    free(data);
    assert_int_equal(d.valid, 1040);
    assert_int_equal(d.fast, 1040);

    cs_sample_opts_init(&o);
    o.days = 3;
    o.per_day = 400;
    f = tmpfile();
    assert_non_null(f);
    assert_int_equal(cs_sample_generate(f, &o, &err), 0);
    rewind(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cs_buf_add(&sample, chunk, n);
    fclose(f);
    d.valid = d.fast = 0;
    diff_lines(&d, sample.ptr, 0);
    assert_int_equal(d.valid, 1200);
    assert_int_equal(d.fast, 1200);
    cs_buf_release(&sample);

    data = read_data("tests/data/model/lines.jsonl");
    d.valid = d.fast = 0;
    diff_lines(&d, data, 1);
    free(data);
    /* The file holds both kinds: the scan declined some valid lines. */
    assert_true(d.fast > 0 && d.fast < d.valid);
    cs_scan_release(&d.scan);
    cs_buf_release(&d.text);
    cs_buf_release(&d.key);
    cs_buf_release(&d.ftext);
    cs_buf_release(&d.fkey);
}

/* Results stored before evidence was redacted (the schema before version
 * 3): migrating redacts them with the configured redactor, once; running
 * it again, even the data step itself, changes nothing. */
static void test_store__migration_redacts_stored_evidence(void **state)
{
    char *db = th_new_database();
    char *dir = th_tmpdir();
    struct cs_buf path = CS_BUF_INIT;
    const char *json = "{\"redact\": [{\"name\": \"order\", \"pattern\": "
                       "\"\\\\bORD-\\\\d{6}\\\\b\", \"replacement\": "
                       "\"[ORDER]\"}]}";
    struct cs_config *cfg = NULL;
    struct cs_store *st = NULL;
    struct cs_err err = {0, ""};
    int applied = -1;
    char *v, *before, *after;

    (void)state;
    cs_buf_addf(&path, "%s/callscope.json", dir);
    th_write(path.ptr, json, strlen(json));
    setenv("CALLSCOPE_DATABASE_URL", db, 1);
    unsetenv("CALLSCOPE_CONFIG");
    assert_int_equal(cs_config_load(&cfg, path.ptr, &err), 0);
    unsetenv("CALLSCOPE_DATABASE_URL");
    assert_int_equal(cs_store_open(&st, cfg, &err), 0);
    free(th_sql(db, "INSERT INTO results (tenant, conversation_id, metric, "
                    "rubric_version, evaluator, value, evidence, rationale, "
                    "content_hash, started_at) VALUES "
                    "('t', 'c1', 'm', 'v', 'rules', 'true', 'Call me on "
                    "+1 415 555 0142 or jane.doe@example.com, order "
                    "ORD-123456.', 'rule 1 matched customer turn 1: \"+1 "
                    "415 555 0142\"', 'h', now()), "
                    "('t', 'c2', 'm', 'v', 'rules', 'false', NULL, 'no rule "
                    "matched', 'h', now()), "
                    "('t', 'c3', 'm', 'v', 'llm:x', 'true', 'Fine, "
                    "[PHONE] noted.', NULL, 'h', now()) RETURNING 1"));
    /* As if the database were still at version 2. */
    free(th_sql(db, "DELETE FROM schema_migrations WHERE version = 3 "
                    "RETURNING 1"));
    assert_int_equal(cs_store_migrate(st, &applied, &err), 0);
    assert_int_equal(applied, 1);
    v = th_sql(db, "SELECT evidence || ' | ' || rationale FROM results "
                   "WHERE conversation_id = 'c1'");
    assert_string_equal(v, "Call me on [PHONE] or [EMAIL], order [ORDER]. | "
                           "rule 1 matched customer turn 1: \"[PHONE]\"");
    free(v);
    assert_int_equal(th_sql_long(db, "SELECT count(*) FROM results WHERE "
                                     "concat(evidence, rationale) ~ "
                                     "'555|@example|ORD-'"), 0);
    v = th_sql(db, "SELECT rationale FROM results WHERE conversation_id = "
                   "'c2'");
    assert_string_equal(v, "no rule matched");
    free(v);

    /* Again: nothing to apply, nothing changes. Even the data step run
     * once more rewrites no row (the row versions stay the same). */
    before = th_sql(db, "SELECT string_agg(id || ':' || xmin || ':' || "
                        "coalesce(evidence, '') || coalesce(rationale, ''), "
                        "'/' ORDER BY id) FROM results");
    assert_int_equal(cs_store_migrate(st, &applied, &err), 0);
    assert_int_equal(applied, 0);
    free(th_sql(db, "DELETE FROM schema_migrations WHERE version = 3 "
                    "RETURNING 1"));
    assert_int_equal(cs_store_migrate(st, &applied, &err), 0);
    assert_int_equal(applied, 1);
    after = th_sql(db, "SELECT string_agg(id || ':' || xmin || ':' || "
                       "coalesce(evidence, '') || coalesce(rationale, ''), "
                       "'/' ORDER BY id) FROM results");
    assert_string_equal(before, after);
    free(before);
    free(after);
    cs_store_close(st);
    cs_config_free(cfg);
    th_rmtree(dir);
    free(dir);
    free(db);
    cs_buf_release(&path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store__migrations_are_idempotent),
        cmocka_unit_test(test_store__concurrent_migrations_apply_once),
        cmocka_unit_test(test_store__bad_server_is_a_clear_error),
        cmocka_unit_test(test_store__silent_server_times_out),
        cmocka_unit_test(test_store__waits_for_a_restarting_server),
        cmocka_unit_test(test_store__embedded_cluster_lifecycle),
        cmocka_unit_test(test_store__row_statement_follows_the_column_table),
        cmocka_unit_test(test_store__row_values_land_in_their_columns),
        cmocka_unit_test(test_store__row_escapes_and_defaults),
        cmocka_unit_test(test_store__row_content_hash_is_stable),
        cmocka_unit_test(test_store__row_from_bad_lines),
        cmocka_unit_test(test_store__row_fast_path_matches_jansson),
        cmocka_unit_test(test_store__migration_redacts_stored_evidence),
        cmocka_unit_test(test_store__migration_partitions_in_place),
    };

    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
