/* helpers.c - shared by the test binaries */
#include "helpers.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <time.h>
#include <libpq-fe.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

char *th_tmpdir(void)
{
    char tmpl[] = "/tmp/cs-test.XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return cs_xstrdup(d);
}

void th_rmtree(const char *dir)
{
    struct cs_buf b = CS_BUF_INIT;

    if (!dir || strncmp(dir, "/tmp/cs-test.", 13) != 0)
        return;
    cs_buf_addf(&b, "rm -rf '%s'", dir);
    if (system(b.ptr) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    cs_buf_release(&b);
}

static PGconn *connect_or_fail(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to the test PostgreSQL (%s): %s", conninfo,
                 PQerrorMessage(c));
    return c;
}

char *th_new_database(void)
{
    static int seq;
    const char *admin = getenv("CALLSCOPE_TEST_PG");
    struct cs_buf sql = CS_BUF_INIT, info = CS_BUF_INIT;
    char name[64];
    PGconn *c;
    PGresult *r;

    if (!admin || !*admin)
        fail_msg("CALLSCOPE_TEST_PG is not set: run the suite with "
                 "scripts/test.sh, which starts a throwaway PostgreSQL");
    snprintf(name, sizeof(name), "cs_test_%ld_%d", (long)getpid(), ++seq);
    c = connect_or_fail(admin);
    cs_buf_addf(&sql, "DROP DATABASE IF EXISTS %s", name);
    PQclear(PQexec(c, sql.ptr));
    cs_buf_reset(&sql);
    cs_buf_addf(&sql, "CREATE DATABASE %s", name);
    r = PQexec(c, sql.ptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("cannot create a test database: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    cs_buf_addf(&info, "%s dbname=%s", admin, name);
    cs_buf_release(&sql);
    return cs_buf_detach(&info, NULL);
}

char *th_sql(const char *conninfo, const char *sql)
{
    PGconn *c = connect_or_fail(conninfo);
    PGresult *r = PQexec(c, sql);
    char *v = NULL;

    if (PQresultStatus(r) != PGRES_TUPLES_OK &&
        PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("query failed: %s: %s", sql, PQerrorMessage(c));
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
        !PQgetisnull(r, 0, 0))
        v = cs_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

int th_run(const char *env, const char *args, char **out, char **err)
{
    char *dir = th_tmpdir();
    struct cs_buf cmd = CS_BUF_INIT, po = CS_BUF_INIT, pe = CS_BUF_INIT;
    int st;

    cs_buf_addf(&po, "%s/out", dir);
    cs_buf_addf(&pe, "%s/err", dir);
    cs_buf_addf(&cmd, "%s %s %s >%s 2>%s </dev/null", env ? env : "",
                CS_BINARY, args, po.ptr, pe.ptr);
    st = system(cmd.ptr);
    if (out)
        *out = th_read(po.ptr);
    if (err)
        *err = th_read(pe.ptr);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&cmd);
    cs_buf_release(&po);
    cs_buf_release(&pe);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

void th_bg_start(struct th_bg *bg, const char *env, const char *args,
                 const char *dir, const char *name)
{
    struct cs_buf cmd = CS_BUF_INIT;
    pid_t pid;

    cs_buf_init(&bg->out);
    cs_buf_init(&bg->err);
    cs_buf_addf(&bg->out, "%s/%s.out", dir, name);
    cs_buf_addf(&bg->err, "%s/%s.err", dir, name);
    cs_buf_addf(&cmd, "exec env %s %s %s >%s 2>%s </dev/null",
                env ? env : "", CS_BINARY, args, bg->out.ptr, bg->err.ptr);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd.ptr, (char *)NULL);
        _exit(127);
    }
    bg->pid = (int)pid;
    cs_buf_release(&cmd);
}

int th_bg_end(struct th_bg *bg, int sig, char **out, char **err)
{
    int st = 0;

    if (sig)
        assert_int_equal(kill((pid_t)bg->pid, sig), 0);
    assert_int_equal(waitpid((pid_t)bg->pid, &st, 0), (pid_t)bg->pid);
    if (out)
        *out = th_read(bg->out.ptr);
    if (err)
        *err = th_read(bg->err.ptr);
    cs_buf_release(&bg->out);
    cs_buf_release(&bg->err);
    return st;
}

void th_expect_exit(int st, int code, const char *out, const char *err)
{
    if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
        fail_msg("exited with status %d, not %d:\n%s%s", st, code,
                 out ? out : "", err ? err : "");
}

void th_write(const char *path, const char *data, size_t len)
{
    char *dir = cs_xstrdup(path);
    char *slash = strrchr(dir, '/');
    FILE *f;

    if (slash) {
        *slash = '\0';
        assert_int_equal(cs_fs_mkdirs(dir, NULL), 0);
    }
    free(dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *th_read(const char *path)
{
    char *s = NULL;
    size_t n;

    if (cs_fs_read(&s, &n, path, 0, NULL) < 0)
        return NULL;
    return s;
}

char *th_src(const char *rel)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addf(&b, "%s/%s", CS_SOURCE_DIR, rel);
    return cs_buf_detach(&b, NULL);
}

extern char **environ;

void th_double_start(struct th_double *d, const char *dir,
                     const char *const *args)
{
    struct cs_buf portf = CS_BUF_INIT, statf = CS_BUF_INIT,
                  logf = CS_BUF_INIT;
    char *server = th_src("tests/llm_double/server.py");
    char *argv[48];
    char *port = NULL;
    pid_t pid;
    int argc = 0, st;

    d->dir = (char *)dir;
    cs_buf_addf(&portf, "%s/double.port", dir);
    cs_buf_addf(&statf, "%s/double.stats", dir);
    cs_buf_addf(&logf, "%s/double.log", dir);
    unlink(portf.ptr);
    argv[argc++] = "/usr/bin/python3";
    argv[argc++] = server;
    argv[argc++] = "--port-file";
    argv[argc++] = portf.ptr;
    argv[argc++] = "--stats-file";
    argv[argc++] = statf.ptr;
    argv[argc++] = "--log-file";
    argv[argc++] = logf.ptr;
    for (; args && *args && argc < 46; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ),
                     0);
    d->pid = (int)pid;
    for (int i = 0; i < 1000 && !port; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};

        /* The double renames the file into place: it is whole or absent. */
        port = th_read(portf.ptr);
        if (!port) {
            assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
            nanosleep(&ts, NULL);
        }
    }
    assert_non_null(port);
    d->port = strtol(port, NULL, 10);
    assert_true(d->port > 0);
    free(port);
    free(server);
    cs_buf_release(&portf);
    cs_buf_release(&statf);
    cs_buf_release(&logf);
}

json_t *th_double_stop(struct th_double *d)
{
    struct cs_buf p = CS_BUF_INIT;
    json_t *stats;
    int st;

    if (!d->pid)
        return NULL;
    kill((pid_t)d->pid, SIGTERM);
    waitpid((pid_t)d->pid, &st, 0);
    d->pid = 0;
    cs_buf_addf(&p, "%s/double.stats", d->dir);
    stats = json_load_file(p.ptr, 0, NULL);
    cs_buf_release(&p);
    return stats;
}

void th_cases_complete(const char *rel, size_t min)
{
    struct cs_buf root = CS_BUF_INIT, p = CS_BUF_INIT;
    struct dirent *e;
    size_t cases = 0;
    char *src;
    DIR *d;

    cs_buf_addf(&root, "tests/data/%s", rel);
    src = th_src(root.ptr);
    d = opendir(src);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        static const char *const parts[] = {"input", "expected"};

        if (e->d_name[0] == '.')
            continue;
        for (int i = 0; i < 2; i++) {
            cs_buf_reset(&p);
            cs_buf_addf(&p, "%s/%s/%s", src, e->d_name, parts[i]);
            if (!cs_fs_exists(p.ptr))
                fail_msg("case %s/%s has no %s", rel, e->d_name, parts[i]);
        }
        cases++;
    }
    closedir(d);
    assert_true(cases >= min);
    cs_buf_release(&root);
    cs_buf_release(&p);
    free(src);
}

struct th_env *th_env_new(const char *config)
{
    struct th_env *e = cs_xcalloc(1, sizeof(*e));

    e->dir = th_tmpdir();
    e->db = th_new_database();
    cs_buf_init(&e->env);
    if (config) {
        struct cs_buf p = CS_BUF_INIT;

        cs_buf_addf(&p, "%s/callscope.json", e->dir);
        th_write(p.ptr, config, strlen(config));
        e->config = cs_buf_detach(&p, NULL);
    }
    cs_buf_addf(&e->env, "CALLSCOPE_DATABASE_URL='%s' CALLSCOPE_DATA_DIR=%s/"
                "var CALLSCOPE_REPORTS_DIR=%s/reports CALLSCOPE_CONFIG=%s ",
                e->db, e->dir, e->dir, e->config ? e->config : "");
    return e;
}

void th_env_free(struct th_env *e)
{
    if (!e)
        return;
    json_decref(th_double_stop(&e->dbl));
    th_rmtree(e->dir);
    free(e->dir);
    free(e->db);
    free(e->config);
    cs_buf_release(&e->env);
    free(e);
}

int th_env_setup(void **state)
{
    *state = th_env_new(NULL);
    return 0;
}

int th_env_teardown(void **state)
{
    th_env_free(*state);
    return 0;
}

char *th_run_ok(const struct th_env *e, const char *args, int rc)
{
    char *out = NULL, *err = NULL;
    int got = th_run(e->env.ptr, args, &out, &err);

    if (got != rc)
        fail_msg("'%s' exited %d, not %d: %s", args, got, rc, err);
    free(err);
    return out;
}

long th_sql_long(const char *conninfo, const char *sql)
{
    char *v = th_sql(conninfo, sql);
    long n = v ? strtol(v, NULL, 10) : -1;

    free(v);
    return n;
}

/* Looks up "a.b.c" paths; keys may hold dots ("calendar.book"), so the
 * longest prefix ending at a dot is tried first. Borrowed or NULL. */
json_t *th_json_path(const json_t *o, const char *path)
{
    const json_t *cur = o;

    while (cur && *path) {
        size_t n = strlen(path);
        json_t *next = NULL;

        for (;;) {
            char *part = cs_xstrndup(path, n);

            next = json_object_get(cur, part);
            free(part);
            if (next)
                break;
            while (n > 0 && path[--n] != '.')
                ;
            if (n == 0)
                break;
        }
        if (!next)
            return NULL;
        cur = next;
        path += n;
        if (*path == '.')
            path++;
    }
    return (json_t *)cur;
}

/* Runs a shell command, returns its exit code and stdout (new). */
int th_sh(const char *cmd, char **out)
{
    struct cs_buf b = CS_BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *p = popen(cmd, "r");
    int rc;

    assert_non_null(p);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        cs_buf_add(&b, chunk, n);
    rc = pclose(p);
    if (out)
        *out = cs_buf_detach(&b, NULL);
    cs_buf_release(&b);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The text of a PDF in reading order, whitespace folded to one space. */
char *th_pdf_text(const char *path)
{
    struct cs_buf cmd = CS_BUF_INIT, folded = CS_BUF_INIT;
    char *raw = NULL;
    int space = 0;

    cs_buf_addf(&cmd, "pdftotext -q -raw -enc UTF-8 '%s' -", path);
    assert_int_equal(th_sh(cmd.ptr, &raw), 0);
    for (const char *p = raw; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\f') {
            space = 1;
            continue;
        }
        if (space && folded.len)
            cs_buf_addch(&folded, ' ');
        space = 0;
        cs_buf_addch(&folded, *p);
    }
    free(raw);
    cs_buf_release(&cmd);
    return cs_buf_detach(&folded, NULL);
}

/* The KPI value formatted as docs/report-design.md says, written here
 * independently of src/report/format.c. */
void th_people(struct cs_buf *b, const char *symbol, enum cs_unit unit,
               double v)
{
    char t[64];
    const char *dot;
    size_t n;
    double a = fabs(v);

    if (isnan(v)) {
        cs_buf_adds(b, "\xe2\x80\x94");
        return;
    }
    switch (unit) {
    case CS_UNIT_RATE:
        snprintf(t, sizeof(t), "%.1f", v * 100);
        cs_buf_addf(b, "%s %%", t);
        return;
    case CS_UNIT_SECONDS:
        if (a < 60)
            cs_buf_addf(b, "%.1f s", v);
        else
            cs_buf_addf(b, "%ldm %02lds", lround(a) / 60, lround(a) % 60);
        return;
    case CS_UNIT_RATIO:
        if (v < 0 && round(a * 10) > 0)
            cs_buf_adds(b, "\xe2\x88\x92");
        cs_buf_addf(b, "%.1f\xc3\x97", a);
        return;
    case CS_UNIT_SCORE:
        if (v < 0)
            cs_buf_adds(b, "\xe2\x88\x92");
        cs_buf_addf(b, "%.2f", a);
        return;
    default:
        break;
    }
    /* count, ms, money: thousands separators */
    if (unit == CS_UNIT_MONEY)
        snprintf(t, sizeof(t), a >= 1000 ? "%.0f" : "%.2f", a);
    else
        snprintf(t, sizeof(t), v == floor(v) ? "%.0f" : "%.1f", a);
    if (v < 0 && strspn(t, "0.") != strlen(t))
        cs_buf_adds(b, "\xe2\x88\x92");
    if (unit == CS_UNIT_MONEY)
        cs_buf_adds(b, symbol);
    dot = strchr(t, '.');
    n = dot ? (size_t)(dot - t) : strlen(t);
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            cs_buf_addch(b, ',');
        cs_buf_addch(b, t[i]);
    }
    if (dot)
        cs_buf_adds(b, dot);
    if (unit == CS_UNIT_MS)
        cs_buf_adds(b, " ms");
}

