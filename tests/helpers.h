/* helpers.h - shared by the test binaries: temp dirs, databases, running
 * the real callscope binary */
#ifndef CS_TESTS_HELPERS_H
#define CS_TESTS_HELPERS_H

#include <stddef.h>

#include "base/buf.h"

/* A fresh temporary directory (new string; removed by th_rmtree). */
char *th_tmpdir(void);
void th_rmtree(const char *dir);

/*
 * A fresh, empty database on the throwaway server the test command started
 * ($CALLSCOPE_TEST_PG). Returns its conninfo (new). Fails the test (never
 * skips it) when no server is configured.
 */
char *th_new_database(void);

/* Runs a SQL query on `conninfo` and returns the first value (new), or
 * NULL for SQL NULL / no row. Fails the test on error. */
char *th_sql(const char *conninfo, const char *sql);

/*
 * Runs the callscope binary through /bin/sh with `args` appended
 * (already shell-quoted by the caller), the environment extended with
 * `env` ("A=1 B=2" prefix, may be NULL). Captures stdout and stderr
 * (new strings in *out / *err, either may be NULL). Returns the exit code.
 */
int th_run(const char *env, const char *args, char **out, char **err);

/*
 * The callscope binary in the background, like th_run (`env`, `args`
 * shell-quoted by the caller), stdout and stderr in DIR/NAME.out and
 * DIR/NAME.err. The shell execs the binary, so `pid` is callscope's own,
 * for signals. th_bg_end sends `sig` (0: none), reaps the process, reads
 * what it printed into *out / *err (new; either may be NULL) and returns
 * its raw wait status.
 */
struct th_bg {
    int pid;
    struct cs_buf out;      /* the files */
    struct cs_buf err;
};
void th_bg_start(struct th_bg *bg, const char *env, const char *args,
                 const char *dir, const char *name);
int th_bg_end(struct th_bg *bg, int sig, char **out, char **err);

/* Fails the test unless wait status `st` is exit `code`, quoting what
 * the process printed. */
void th_expect_exit(int st, int code, const char *out, const char *err);

/* Writes a file (creating folders as needed). */
void th_write(const char *path, const char *data, size_t len);
/* Reads a whole file (new, NUL-terminated) or NULL. */
char *th_read(const char *path);

/*
 * The OpenAI-compatible test double (tests/llm_double/server.py), started
 * with the extra arguments `args` (NULL-terminated), its stats, port and
 * request log in `dir`. stop sends SIGTERM (the double writes its stats)
 * and returns them (new), or NULL.
 */
struct th_double {
    int pid;
    long port;
    char *dir;      /* borrowed */
};
void th_double_start(struct th_double *d, const char *dir,
                     const char *const *args);
struct json_t;
struct json_t *th_double_stop(struct th_double *d);

/*
 * A sandbox for driving the binary: a temp dir, a fresh database and the
 * environment that points callscope at them (data in DIR/var, reports in
 * DIR/reports), with `config` written as DIR/callscope.json when not NULL
 * (else no config file). th_env_free also stops `dbl` if it runs.
 */
struct th_env {
    char *dir;
    char *db;
    char *config;           /* the config file, or NULL */
    struct cs_buf env;      /* "VAR=... " prefix for th_run */
    struct th_double dbl;
};
struct th_env *th_env_new(const char *config);
void th_env_free(struct th_env *e);
/* cmocka fixtures for a th_env without a config file. */
int th_env_setup(void **state);
int th_env_teardown(void **state);
#define TH_ENV_TEST(fn)                                                   \
    cmocka_unit_test_setup_teardown(fn, th_env_setup, th_env_teardown)

/* th_run in the sandbox's environment, failing the test with its stderr
 * unless it exits `rc`; its stdout (new). */
char *th_run_ok(const struct th_env *e, const char *args, int rc);

/* The first value of a query as a number (-1 for none). */
long th_sql_long(const char *conninfo, const char *sql);

/* Checks that every case folder of tests/data/<rel>/ has an `input` and
 * an `expected` (so a case cannot silently test nothing) and that there
 * are at least `min` cases. */
void th_cases_complete(const char *rel, size_t min);

/* The value at a dotted path ("tenants.acme.latency_ms.calendar.book.p95")
 * of a JSON object; keys may hold dots, so the longest key that matches
 * wins. Borrowed, or NULL. */
struct json_t *th_json_path(const struct json_t *o, const char *path);

/* Path under the source tree (new). */
char *th_src(const char *rel);

/* Runs a shell command; returns its exit code, stdout in *out (new, may
 * be NULL). */
int th_sh(const char *cmd, char **out);

/* The text of a PDF (pdftotext -raw) with whitespace folded to one space
 * (new). Fails the test when pdftotext fails. */
char *th_pdf_text(const char *path);

/* Appends `v` as docs/report-design.md says people read a value of
 * `unit` (rates "71.3 %", money "<symbol>17,272" / "<symbol>0.06",
 * durations "47.2 s" / "3m 03s", counts "1,234", "—" for NAN), written
 * here apart from src/report/format.c so tests can hold one against the
 * other. */
#include "report/model.h"
void th_people(struct cs_buf *b, const char *symbol, enum cs_unit unit,
               double v);

#endif
