/* test_faults.c - faults as tests: the database killed in the middle of
 * ingest, score (LLM and rules) and the PDF reports, the LLM endpoint
 * failing in each way its double can, a full disk under the reports, the
 * rejects file and the outbox, SMTP refusing. Each ends with a clear error
 * and a documented exit code, and a re-run stores everything exactly once.
 *
 * The database is a cluster of this test's own (initdb, pg_ctl), not the
 * suite's throwaway one: `pg_ctl stop -m immediate` of that one would kill
 * the tests running beside this one under `ctest -j`. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "helpers.h"
#include "report/model.h"

extern char **environ;

/* ---- the cluster of this test ------------------------------------- */

static char *pg_dir;        /* socket folder; the data in pg_dir/data */
/* The sandboxes of the test running, freed (their doubles stopped) by
 * fx_teardown even when it fails. */
static struct th_env *live[4];

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    nanosleep(&ts, NULL);
}

/* `tool` (initdb, pg_ctl) of the newest PostgreSQL, as the cluster's
 * owner, with the arguments `what`; its exit code. */
static int pg_tool(const char *tool, const char *what)
{
    struct cs_buf cmd = CS_BUF_INIT;
    int st;

    cs_buf_addf(&cmd, "PGB=${CALLSCOPE_PG_BIN:-$(ls -d /usr/lib/postgresql/"
                "*/bin | sort -V | tail -n1)}; R=; [ \"$(id -u)\" = 0 ] && "
                "R='runuser -u postgres --'; cd '%s' && $R \"$PGB/%s\" %s "
                ">>'%s/tool.log' 2>&1", pg_dir, tool, what, pg_dir);
    st = system(cmd.ptr);
    cs_buf_release(&cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static void pg_start(void)
{
    struct cs_buf a = CS_BUF_INIT;

    cs_buf_addf(&a, "-D '%s/data' -l '%s/server.log' -w -t 60 -o \"-p 5432 "
                "-k %s -c listen_addresses='' -c fsync=off "
                "-c max_connections=100\" start", pg_dir, pg_dir, pg_dir);
    if (pg_tool("pg_ctl", a.ptr) != 0)
        fail_msg("cannot start the test's cluster (see %s)", pg_dir);
    cs_buf_release(&a);
}

/* The fault: an immediate shutdown, as a crash or an OOM kill does. */
static void pg_kill(void)
{
    struct cs_buf a = CS_BUF_INIT;

    cs_buf_addf(&a, "-D '%s/data' -m immediate -w stop", pg_dir);
    assert_int_equal(pg_tool("pg_ctl", a.ptr), 0);
    cs_buf_release(&a);
}

/* Starts the cluster again after `delay` seconds, in the background (a
 * child to reap with pg_started). */
static pid_t pg_start_later(double delay)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sleep_s(delay);
        pg_start();
        _exit(0);
    }
    return pid;
}

static void pg_started(pid_t pid)
{
    int st;

    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int group_setup(void **state)
{
    struct cs_buf a = CS_BUF_INIT;

    (void)state;
    pg_dir = th_tmpdir();
    chmod(pg_dir, 0755);
    if (getuid() == 0) {
        cs_buf_addf(&a, "chown postgres: '%s'", pg_dir);
        assert_int_equal(system(a.ptr), 0);
        cs_buf_reset(&a);
    }
    cs_buf_addf(&a, "-D '%s/data' -U postgres -A trust -E UTF8 "
                "--locale=C.UTF-8 --no-sync", pg_dir);
    if (pg_tool("initdb", a.ptr) != 0) {
        fprintf(stderr, "test_faults: initdb failed (see %s/tool.log)\n",
                pg_dir);
        return -1;
    }
    cs_buf_release(&a);
    pg_start();
    return 0;
}

/* After each test: its sandboxes freed, the cluster up again. */
static int fx_teardown(void **state)
{
    struct cs_buf a = CS_BUF_INIT;

    (void)state;
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        th_env_free(live[i]);
        live[i] = NULL;
    }
    cs_buf_addf(&a, "-D '%s/data' status", pg_dir);
    if (pg_tool("pg_ctl", a.ptr) != 0)
        pg_start();
    cs_buf_release(&a);
    return 0;
}

static int group_teardown(void **state)
{
    struct cs_buf a = CS_BUF_INIT;

    (void)state;
    cs_buf_addf(&a, "-D '%s/data' -m immediate -w stop", pg_dir);
    pg_tool("pg_ctl", a.ptr);
    th_rmtree(pg_dir);
    free(pg_dir);
    cs_buf_release(&a);
    return 0;
}

static void run_ok(struct th_env *e, const char *extra, const char *args,
                   int want);

/* A sandbox like th_env_new's, its database on the cluster of this test
 * (migrated); the templates and `rubrics` (NULL: the starter set) of the
 * tree; `config`, members of the config file, may be NULL. */
static struct th_env *fx_new(const char *config, const char *rubrics)
{
    static int seq;
    struct th_env *e = cs_xcalloc(1, sizeof(*e));
    struct cs_buf sql = CS_BUF_INIT, info = CS_BUF_INIT;
    char *admin;

    e->dir = th_tmpdir();
    chmod(e->dir, 0755);
    cs_buf_addf(&info, "host=%s port=5432 user=postgres dbname=", pg_dir);
    admin = cs_xstrdup(info.ptr);
    cs_buf_addf(&info, "faults_%ld_%d", (long)getpid(), ++seq);
    cs_buf_addf(&sql, "CREATE DATABASE faults_%ld_%d", (long)getpid(), seq);
    {
        struct cs_buf a = CS_BUF_INIT;

        cs_buf_addf(&a, "%spostgres", admin);
        free(th_sql(a.ptr, sql.ptr));
        cs_buf_release(&a);
    }
    e->db = cs_buf_detach(&info, NULL);
    {
        struct cs_buf p = CS_BUF_INIT, c = CS_BUF_INIT;

        cs_buf_addf(&p, "%s/callscope.json", e->dir);
        cs_buf_addf(&c, "{\"sentiment_lexicon\": \"%s/config/sentiment-"
                    "lexicon.txt\"%s%s}", CS_SOURCE_DIR, config ? ", " : "",
                    config ? config : "");
        th_write(p.ptr, c.ptr, c.len);
        e->config = cs_buf_detach(&p, NULL);
        cs_buf_release(&c);
    }
    cs_buf_init(&e->env);
    cs_buf_addf(&e->env, "CALLSCOPE_DATABASE_URL='%s' CALLSCOPE_DATA_DIR=%s/"
                "var CALLSCOPE_REPORTS_DIR=%s/reports CALLSCOPE_CONFIG=%s "
                "CALLSCOPE_TEMPLATES_DIR=%s/templates "
                "CALLSCOPE_RUBRICS_DIR=%s CALLSCOPE_DB_CONNECT_RETRY_S=0 ",
                e->db, e->dir, e->dir, e->config ? e->config : "",
                CS_SOURCE_DIR, rubrics ? rubrics : CS_SOURCE_DIR "/rubrics");
    free(admin);
    cs_buf_release(&sql);
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        if (!live[i]) {
            live[i] = e;
            break;
        }
    }
    run_ok(e, NULL, "db migrate", 0);
    return e;
}

static long q_long(struct th_env *e, const char *sql)
{
    return th_sql_long(e->db, sql);
}

/* th_run in the sandbox with `extra` assignments (or shell commands
 * such as `ulimit`, when `pre`) around its environment. */
static int run(struct th_env *e, const char *pre, const char *extra,
               const char *args, char **out, char **err)
{
    struct cs_buf env = CS_BUF_INIT;
    int rc;

    cs_buf_addf(&env, "%s%s%s", pre ? pre : "", e->env.ptr,
                extra ? extra : "");
    rc = th_run(env.ptr, args, out, err);
    cs_buf_release(&env);
    return rc;
}

static void run_ok(struct th_env *e, const char *extra, const char *args,
                   int want)
{
    char *out = NULL, *err = NULL;
    int rc = run(e, NULL, extra, args, &out, &err);

    if (rc != want)
        fail_msg("'%s' exited %d, not %d:\n%s%s", args, rc, want, out, err);
    free(out);
    free(err);
}

/* Whether the background run has ended (it is not reaped). */
static int bg_ended(const struct th_bg *bg)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    assert_int_equal(waitid(P_PID, (id_t)bg->pid, &si,
                            WEXITED | WNOHANG | WNOWAIT), 0);
    return si.si_pid != 0;
}

/* Waits until `sql` counts at least `min` while `bg` runs; fails the test
 * when the run ends first (the fault would not land mid-run). */
static void wait_mid_run(struct th_env *e, const struct th_bg *bg,
                         const char *sql, long min)
{
    for (int i = 0; i < 6000; i++) {
        if (bg_ended(bg)) {
            char *out = th_read(bg->out.ptr), *err = th_read(bg->err.ptr);

            fail_msg("the run ended before the fault:\n%s%s", out, err);
        }
        if (q_long(e, sql) >= min)
            return;
        sleep_s(0.01);
    }
    fail_msg("the run never got to '%s' >= %ld", sql, min);
}

/* The database killed: the run ends by itself, exit 1, with an error on
 * stderr that names the server; its stdout in *out (new), its stderr in
 * *err_out (new) unless NULL. */
static void expect_db_error(struct th_bg *bg, char **out, char **err_out)
{
    char *err = NULL;
    int st = th_bg_end(bg, 0, out, &err);

    th_expect_exit(st, 1, *out, err);
    if (!strstr(err, "callscope: error: ") || !strstr(err, pg_dir))
        fail_msg("no error naming the server '%s' in: %s", pg_dir, err);
    /* One line each, libpq's indented lines joined. */
    if (strchr(err, '\t'))
        fail_msg("a tab in: %s", err);
    if (err_out)
        *err_out = err;
    else
        free(err);
}

/*
 * What a run killed with the database says it stored, `stored`, against
 * what the server kept, `got`: the same, unless the connection was lost
 * between a COMMIT and its answer; then that batch (`in_doubt` rows, said
 * so) may have been stored too.
 */
static void expect_stored(long got, long stored, long in_doubt)
{
    if (got != stored && !(in_doubt > 0 && got == stored + in_doubt))
        fail_msg("%ld stored, the run said %ld (and %ld in doubt)", got,
                 stored, in_doubt);
}

/* The re-run, started while the server is still down: the store waits
 * for it (database.connect_retry_s) and says so. */
static char *rerun_through_restart(struct th_env *e, const char *args,
                                   int want)
{
    pid_t later = pg_start_later(1.5);
    char *out = NULL, *err = NULL;
    int rc = run(e, NULL, "CALLSCOPE_DB_CONNECT_RETRY_S=120 ", args, &out,
                 &err);

    pg_started(later);
    if (rc != want)
        fail_msg("re-run '%s' exited %d, not %d:\n%s%s", args, rc, want, out,
                 err);
    assert_non_null(strstr(err, "not accepting connections"));
    assert_non_null(strstr(err, "answered after"));
    free(err);
    return out;
}

/* The number that follows `before` in `text`, or -1. */
static long number_after(const char *text, const char *before)
{
    const char *p = text ? strstr(text, before) : NULL;

    return p ? strtol(p + strlen(before), NULL, 10) : -1;
}

/* The number just before `after` in `text` ("... 11000 conversations
 * stored"), or -1. */
static long number_before(const char *text, const char *after)
{
    const char *p = text ? strstr(text, after) : NULL;

    if (!p)
        return -1;
    while (p > text && p[-1] == ' ')
        p--;
    while (p > text && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return strtol(p, NULL, 10);
}

static long count_lines(const char *path)
{
    char *t = th_read(path);
    long n = 0;

    assert_non_null(t);
    for (const char *c = t; *c; c++)
        n += *c == '\n';
    free(t);
    return n;
}

/* Fails the test unless every result is stored once: one current row per
 * (tenant, conversation, metric) and no other row. */
static void expect_results_once(struct th_env *e, long want)
{
    assert_int_equal(q_long(e, "SELECT count(*) FROM results"), want);
    assert_int_equal(q_long(e, "SELECT count(*) FROM (SELECT DISTINCT "
                               "tenant, conversation_id, metric FROM "
                               "results) d"), want);
    assert_int_equal(q_long(e, "SELECT count(*) FROM results WHERE NOT "
                               "current OR value = '\"error\"'"), 0);
}

/* The current results, as one text to compare between two databases. */
static char *results_digest(struct th_env *e)
{
    return th_sql(e->db, "SELECT count(*) || ' ' || md5(string_agg(tenant || "
                         "'/' || conversation_id || '/' || metric || '=' || "
                         "value::text || '/' || evaluator, ',' ORDER BY "
                         "tenant, conversation_id, metric)) FROM results");
}

/* ---- the database killed mid-run ----------------------------------- */

static void test_faults__db_killed_during_ingest(void **state)
{
    struct th_env *e = fx_new("\"ingest\": {\"batch_rows\": 500}", NULL);
    struct cs_buf a = CS_BUF_INIT, file = CS_BUF_INIT;
    struct th_bg bg;
    char *out = NULL, *err = NULL;
    long lines, stored;

    (void)state;
    cs_buf_addf(&file, "%s/big.jsonl", e->dir);
    cs_buf_addf(&a, "sample --days 40 --per-day 1000 -o %s", file.ptr);
    run_ok(e, NULL, a.ptr, 0);
    lines = count_lines(file.ptr);
    assert_true(lines > 15000);
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest %s", file.ptr);
    th_bg_start(&bg, e->env.ptr, a.ptr, e->dir, "ingest");
    wait_mid_run(e, &bg, "SELECT count(*) FROM conversations", 1);
    pg_kill();
    expect_db_error(&bg, &out, &err);
    /* The summary says what is stored: whole batches, not the file (and
     * the error names the batch whose COMMIT went unanswered). */
    assert_non_null(strstr(out, "it failed"));
    stored = number_before(out, " conversations stored");
    pg_start();
    expect_stored(q_long(e, "SELECT count(*) FROM conversations"), stored,
                  strstr(err, "COMMIT failed") ? 500 : 0);
    assert_true(stored > 0 && stored < lines);
    assert_int_equal(stored % 500, 0);
    free(out);
    free(err);
    pg_kill();
    /* Run again while the server comes back: all of it, each once. */
    out = rerun_through_restart(e, a.ptr, 0);
    assert_int_equal(number_before(out, " conversations from"), lines);
    free(out);
    assert_int_equal(q_long(e, "SELECT count(*) FROM conversations"), lines);
    assert_int_equal(q_long(e, "SELECT count(DISTINCT (tenant, id)) FROM "
                               "conversations"), lines);
    cs_buf_release(&a);
    cs_buf_release(&file);
}

/* The LLM double slow (150 ms an answer, 4 at a time): the kill lands
 * while results are being stored. */
static void test_faults__db_killed_during_llm_score(void **state)
{
    const char *slow[] = {"--latency-ms", "150", NULL};
    const char *fast[] = {"--latency-ms", "1", NULL};
    struct th_env *e = fx_new("\"llm\": {\"model\": \"judge-1\", "
                              "\"concurrency\": 4}, \"score\": "
                              "{\"page_size\": 24}",
                              CS_SOURCE_DIR "/tests/data/real-dev/rubrics");
    char *data = th_src("tests/data/real-dev/conversations.jsonl");
    struct cs_buf a = CS_BUF_INIT, llm = CS_BUF_INIT;
    struct th_bg bg;
    char *out = NULL;
    json_t *stats;
    long stored, doubt, judged, paid;

    (void)state;
    cs_buf_addf(&a, "ingest %s", data);
    run_ok(e, NULL, a.ptr, 0);
    th_double_start(&e->dbl, e->dir, slow);
    cs_buf_addf(&llm, "%sCALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1",
                e->env.ptr, e->dbl.port);
    th_bg_start(&bg, llm.ptr, "score", e->dir, "score");
    wait_mid_run(e, &bg, "SELECT count(*) FROM results", 1);
    pg_kill();
    expect_db_error(&bg, &out, NULL);
    /* What it says it stored is what is stored. */
    if (!strstr(out, "score stopped after ") || !strstr(out, "it failed"))
        fail_msg("no failure summary in: %s", out);
    stored = number_before(out, " evaluations stored");
    doubt = number_before(out, " more evaluations were being committed");
    json_decref(th_double_stop(&e->dbl));
    pg_start();
    expect_stored(q_long(e, "SELECT count(*) FROM results"), stored, doubt);
    judged = q_long(e, "SELECT count(DISTINCT conversation_id) FROM results");
    paid = q_long(e, "SELECT count(DISTINCT conversation_id) FROM results "
                     "WHERE tokens_in > 0");
    if (doubt <= 0)
        assert_int_equal(number_after(out, "score stopped after "), judged);
    assert_true(judged > 0 && judged < 1040);
    free(out);
    pg_kill();
    th_double_start(&e->dbl, e->dir, fast);
    cs_buf_reset(&llm);
    cs_buf_addf(&llm, "CALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1 "
                "CALLSCOPE_DB_CONNECT_RETRY_S=120 ", e->dbl.port);
    {
        pid_t later = pg_start_later(1.5);
        char *err = NULL;
        int rc = run(e, NULL, llm.ptr, "score", &out, &err);

        pg_started(later);
        if (rc != 0)
            fail_msg("re-run exited %d:\n%s%s", rc, out, err);
        assert_non_null(strstr(err, "answered after"));
        free(err);
    }
    free(out);
    /* The rest, once: what was stored is not judged again. */
    expect_results_once(e, 4160);
    /* Only what had not been stored was asked again: one request for
     * each conversation with turns, none twice. */
    stats = th_double_stop(&e->dbl);
    assert_int_equal(json_integer_value(json_object_get(stats, "ok")),
                     q_long(e, "SELECT count(DISTINCT conversation_id) FROM "
                               "results WHERE tokens_in > 0") - paid);
    json_decref(stats);
    free(data);
    cs_buf_release(&a);
    cs_buf_release(&llm);
}

static void test_faults__db_killed_during_rules_score(void **state)
{
    const char *cfg = "\"score\": {\"page_size\": 50}";
    struct th_env *e = fx_new(cfg, NULL), *control = fx_new(cfg, NULL);
    struct cs_buf a = CS_BUF_INIT, file = CS_BUF_INIT;
    struct th_bg bg;
    char *out = NULL, *want, *got;
    long stored;

    (void)state;
    cs_buf_addf(&file, "%s/in.jsonl", e->dir);
    cs_buf_addf(&a, "sample --days 10 --per-day 1000 -o %s", file.ptr);
    run_ok(e, NULL, a.ptr, 0);
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest %s", file.ptr);
    run_ok(e, NULL, a.ptr, 0);
    run_ok(control, NULL, a.ptr, 0);
    run_ok(control, NULL, "score", 0);
    th_bg_start(&bg, e->env.ptr, "score", e->dir, "score");
    wait_mid_run(e, &bg, "SELECT count(*) FROM results", 1);
    pg_kill();
    expect_db_error(&bg, &out, NULL);
    stored = number_before(out, " evaluations stored");
    pg_start();
    expect_stored(q_long(e, "SELECT count(*) FROM results"), stored,
                  number_before(out, " more evaluations were being "
                                     "committed"));
    assert_true(q_long(e, "SELECT count(*) FROM results") > 0);
    free(out);
    pg_kill();
    out = rerun_through_restart(e, "score", 0);
    free(out);
    /* The same results as a run that nothing stopped, each once. */
    want = results_digest(control);
    got = results_digest(e);
    assert_string_equal(got, want);
    assert_int_equal(q_long(e, "SELECT count(*) FROM results WHERE NOT "
                               "current"), 0);
    free(want);
    free(got);
    cs_buf_release(&a);
    cs_buf_release(&file);
}

/* ---- reports -------------------------------------------------------- */

static void expect_valid_pdf(const char *path)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *out = NULL;

    cs_buf_addf(&cmd, "qpdf --check '%s' 2>&1", path);
    if (th_sh(cmd.ptr, &out) != 0 ||
        !strstr(out, "No syntax or stream encoding errors"))
        fail_msg("qpdf --check %s: %s", path, out);
    free(out);
    cs_buf_release(&cmd);
}

/* Every file under `dir` (recursively) is whole: no temporary file is
 * left, each PDF passes qpdf, each JSON parses. Returns how many PDFs. */
static long expect_whole_files(const char *dir)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *list = NULL, *save = NULL;
    long pdfs = 0;

    cs_buf_addf(&cmd, "find '%s' -type f 2>/dev/null", dir);
    assert_int_equal(th_sh(cmd.ptr, &list), 0);
    for (char *f = strtok_r(list, "\n", &save); f;
         f = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(f);

        if (strstr(f, ".tmp"))
            fail_msg("a temporary file is left: %s", f);
        if (n > 4 && strcmp(f + n - 4, ".pdf") == 0) {
            expect_valid_pdf(f);
            pdfs++;
        } else if (n > 5 && strcmp(f + n - 5, ".json") == 0) {
            json_t *j = json_load_file(f, 0, NULL);

            if (!j)
                fail_msg("%s is not whole JSON", f);
            json_decref(j);
        }
    }
    free(list);
    cs_buf_release(&cmd);
    return pdfs;
}

/* `kpis --format json ARGS`, the one tenant's object (new). */
static json_t *tenant_kpis(struct th_env *e, const char *args,
                           const char *tenant)
{
    struct cs_buf a = CS_BUF_INIT;
    char *out = NULL;
    json_t *j, *t;

    cs_buf_addf(&a, "kpis --format json --no-compare --tenant %s %s", tenant,
                args);
    assert_int_equal(run(e, NULL, NULL, a.ptr, &out, NULL), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    t = json_incref(json_object_get(json_object_get(j, "tenants"), tenant));
    assert_non_null(t);
    json_decref(j);
    free(out);
    cs_buf_release(&a);
    return t;
}

static double kpi_value(const json_t *t, const char *key)
{
    const char *dot = strchr(key, '.');
    json_t *v;

    if (dot) {
        char *head = cs_xstrndup(key, (size_t)(dot - key));

        v = json_object_get(json_object_get(t, head), dot + 1);
        free(head);
    } else {
        v = json_object_get(t, key);
    }
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The executive PDF of `tenant` holds every KPI as `kpis` says it. */
static void expect_executive_equals_kpis(struct th_env *e, const char *pdf,
                                         const char *tenant)
{
    json_t *t = tenant_kpis(e, "--from 2026-10-01 --to 2026-11-01", tenant);
    struct cs_buf want = CS_BUF_INIT;
    char *text = th_pdf_text(pdf);
    int checked = 0;

    for (int i = 0; i < CS_KPI__COUNT; i++) {
        const struct cs_kpi_def *d = cs_kpi_def_get((enum cs_kpi_id)i);

        if (d->flags & CS_KPI_F_NOT_IN_JSON)
            continue;
        cs_buf_reset(&want);
        cs_buf_addf(&want, "%s ", d->label);
        th_people(&want, "$", d->unit, kpi_value(t, d->key));
        if (!strstr(text, want.ptr))
            fail_msg("%s lacks '%s'", pdf, want.ptr);
        checked++;
    }
    assert_true(checked > 30);
    json_decref(t);
    free(text);
    cs_buf_release(&want);
}

/* The day's conversations and containment of `tenant` as `kpis` says,
 * in its daily PDF. */
static void expect_daily_equals_kpis(struct th_env *e, const char *pdf,
                                     const char *tenant)
{
    json_t *t = tenant_kpis(e, "--from 2026-10-31 --to 2026-11-01", tenant);
    static const enum cs_kpi_id ids[] = {CS_KPI_CONVERSATIONS,
                                         CS_KPI_CONTAINMENT_RATE,
                                         CS_KPI_HANDOFF_RATE};
    struct cs_buf want = CS_BUF_INIT;
    char *text = th_pdf_text(pdf);

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const struct cs_kpi_def *d = cs_kpi_def_get(ids[i]);

        cs_buf_reset(&want);
        th_people(&want, "$", d->unit, kpi_value(t, d->key));
        if (!strstr(text, want.ptr))
            fail_msg("%s lacks %s '%s'", pdf, d->key, want.ptr);
    }
    json_decref(t);
    free(text);
    cs_buf_release(&want);
}

/*
 * A session of the test's holding `calibrations` (which only the PDF
 * reports read, after their KPI queries): the report blocks on it; once a
 * session of the sandbox's database waits on a lock, the kill lands in
 * the middle of the reports.
 */
static PGconn *hold_calibrations(struct th_env *e)
{
    PGconn *c = PQconnectdb(e->db);
    PGresult *r;

    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, "BEGIN; LOCK TABLE calibrations IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return c;
}

static const char *const tenants[] = {"acme-dental", "bluebird-energy",
                                      "northwind-support"};

static void test_faults__db_killed_during_report_executive(void **state)
{
    struct th_env *e = fx_new(NULL, NULL);
    struct cs_buf a = CS_BUF_INIT, dir = CS_BUF_INIT, p = CS_BUF_INIT;
    struct th_bg bg;
    PGconn *held;
    char *out = NULL;

    (void)state;
    cs_buf_addf(&p, "%s/in.jsonl", e->dir);
    cs_buf_addf(&a, "sample --start 2026-09-01 --days 61 --per-day 40 -o %s",
                p.ptr);
    run_ok(e, NULL, a.ptr, 0);
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest %s", p.ptr);
    run_ok(e, NULL, a.ptr, 0);
    run_ok(e, NULL, "score", 0);
    held = hold_calibrations(e);
    th_bg_start(&bg, e->env.ptr, "report executive --month 2026-10", e->dir,
                "report");
    wait_mid_run(e, &bg, "SELECT count(*) FROM pg_stat_activity WHERE "
                         "datname = current_database() AND wait_event_type "
                         "= 'Lock'", 1);
    pg_kill();
    PQfinish(held);
    expect_db_error(&bg, &out, NULL);
    free(out);
    cs_buf_addf(&dir, "%s/reports", e->dir);
    expect_whole_files(dir.ptr);
    out = rerun_through_restart(e, "report executive --month 2026-10", 0);
    free(out);
    /* Every file whole, each tenant's numbers those of `kpis`. */
    assert_int_equal(expect_whole_files(dir.ptr), 4);
    for (size_t i = 0; i < 3; i++) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/2026-10/executive-%s.pdf", dir.ptr, tenants[i]);
        expect_executive_equals_kpis(e, p.ptr, tenants[i]);
    }
    cs_buf_release(&a);
    cs_buf_release(&dir);
    cs_buf_release(&p);
}

/* Recipients for every tenant: mail goes to the outbox (no SMTP). */
#define RECIPIENTS                                                         \
    "\"internal_recipients\": [\"internal@callscope.test\"], "          \
    "\"tenants\": {\"default\": {\"recipients\": "                     \
    "[\"ops@example.test\", \"cfo@example.test\"]}}"

static void test_faults__db_killed_during_nightly_pdfs(void **state)
{
    struct th_env *e = fx_new(RECIPIENTS, NULL);
    struct cs_buf a = CS_BUF_INIT, dir = CS_BUF_INIT, p = CS_BUF_INIT;
    struct th_bg bg;
    PGconn *held;
    char *out = NULL;
    long lines, eml;

    (void)state;
    cs_buf_addf(&p, "%s/var/inbox", e->dir);
    assert_int_equal(cs_fs_mkdirs(p.ptr, NULL), 0);
    cs_buf_adds(&p, "/in.jsonl");
    cs_buf_addf(&a, "sample --start 2026-10-25 --days 7 --per-day 30 -o %s",
                p.ptr);
    run_ok(e, NULL, a.ptr, 0);
    lines = count_lines(p.ptr);
    held = hold_calibrations(e);
    th_bg_start(&bg, e->env.ptr, "nightly --date 2026-10-31", e->dir,
                "nightly");
    wait_mid_run(e, &bg, "SELECT count(*) FROM pg_stat_activity WHERE "
                         "datname = current_database() AND wait_event_type "
                         "= 'Lock'", 1);
    /* It got as far as the PDFs: ingested and scored. */
    assert_int_equal(q_long(e, "SELECT count(*) FROM conversations"), lines);
    pg_kill();
    PQfinish(held);
    expect_db_error(&bg, &out, NULL);
    free(out);
    cs_buf_addf(&dir, "%s/reports", e->dir);
    expect_whole_files(dir.ptr);
    out = rerun_through_restart(e, "nightly --date 2026-10-31", 0);
    free(out);
    assert_int_equal(expect_whole_files(dir.ptr), 3);
    for (size_t i = 0; i < 3; i++) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/daily/2026-10-31/daily-%s.pdf", dir.ptr,
                    tenants[i]);
        expect_daily_equals_kpis(e, p.ptr, tenants[i]);
    }
    /* Each conversation, result and mail once. */
    assert_int_equal(q_long(e, "SELECT count(*) FROM conversations"), lines);
    assert_int_equal(q_long(e, "SELECT count(*) FROM results WHERE NOT "
                               "current"), 0);
    assert_int_equal(q_long(e, "SELECT count(*) FROM results"),
                     q_long(e, "SELECT count(*) FROM (SELECT DISTINCT tenant,"
                               " conversation_id, metric FROM results) d"));
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ls %s/outbox | grep -c '\\.eml$'", dir.ptr);
    {
        char *n = NULL;

        th_sh(a.ptr, &n);
        eml = strtol(n, NULL, 10);
        free(n);
    }
    assert_true(eml >= 4);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE state "
                               "= 'sent' AND channel = 'outbox'"), eml);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries"), eml);
    cs_buf_release(&a);
    cs_buf_release(&dir);
    cs_buf_release(&p);
}

/* ---- the LLM endpoint failing ---------------------------------------- */

#define LLM_KEY "sk-faults-test-key"

/*
 * Each way the double can fail, persistently for one run (markers with
 * times=N outlast the tries of one run, llm.max_tries 2 and one re-ask
 * of a bad answer; or a double that always breaks the answer, or none
 * listening, or a wrong key; `env` says), one tenant each of three
 * conversations and three metrics: `score` exits 4 saying why on stderr,
 * every result of the tenant is an 'error' with its reason; a second run
 * stores each result once (the errors become history).
 */
static void test_faults__llm_endpoint_faults(void **state)
{
    static const struct {
        const char *name, *marker, *env, *says;
        int errors;     /* of the 9 evaluations: all, or one metric's */
    } modes[] = {
        {"r429", "[[fault 429 times=2 retry_after=0]]", NULL, "http 429", 9},
        {"r429none", "[[fault 429 times=2 retry_after=none]]", NULL,
         "http 429", 9},
        {"r500", "[[fault 500 times=2]]", NULL, "http 500", 9},
        {"r503", "[[fault 503 times=2]]", NULL, "http 503", 9},
        /* Headers cut off, then closed: to libcurl an empty 200. */
        {"close", "[[fault close times=2]]", NULL, "not a JSON object", 9},
        {"hang", "[[fault hang ms=2500 times=2]]", NULL, "timeout", 9},
        {"malformed", "[[fault bad kind=malformed_body times=2]]", NULL,
         "not a JSON object", 9},
        {"nonjson", "[[fault bad kind=non_json_content times=1]]", NULL,
         "not valid JSON", 9},
        /* One metric of the answer wrong: the second run asks about that
         * one alone, another body, so a double that always breaks it. */
        {"outside", "", "label_outside_enum", "definitely-not-a-label", 3},
        {"missing", "", "missing_property", "missing", 3},
        {"range", "", "score_out_of_range", "outside the scale", 3},
        {"unauth", "", "CALLSCOPE_LLM_API_KEY=sk-wrong ", "http 401", 9},
        {"down", "", "", "LLM request failed", 9},
    };
    static const char *const rubrics[][2] = {
        {"greeted.json",
         "{\"name\": \"Greeted\", \"type\": \"boolean\", \"definition\": "
         "\"The agent greeted.\", \"success\": \"Yes.\", \"failure\": "
         "\"No.\"}"},
        {"booked.json",
         "{\"name\": \"Booked\", \"type\": \"boolean\", \"definition\": "
         "\"A booking was made.\", \"success\": \"Yes.\", \"failure\": "
         "\"No.\"}"},
        {"quality.json",
         "{\"name\": \"Quality\", \"type\": \"score\", \"definition\": "
         "\"How good the call was.\", \"scale\": {\"min\": 1, \"max\": 5, "
         "\"anchors\": {\"1\": \"Bad.\", \"5\": \"Good.\"}}}"},
    };
    const char *args[] = {"--api-key", LLM_KEY, NULL};
    char *rdir = th_tmpdir();
    struct th_env *e, *holder;
    struct cs_buf p = CS_BUF_INIT, lines = CS_BUF_INIT, env = CS_BUF_INIT;
    long closed_port;

    (void)state;
    for (size_t i = 0; i < sizeof(rubrics) / sizeof(rubrics[0]); i++) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/%s", rdir, rubrics[i][0]);
        th_write(p.ptr, rubrics[i][1], strlen(rubrics[i][1]));
    }
    e = fx_new("\"llm\": {\"model\": \"judge-1\", \"max_tries\": 2, "
               "\"timeout_s\": 1}", rdir);
    /* The double that breaks answers, stopped by fx_teardown if need be. */
    holder = cs_xcalloc(1, sizeof(*holder));
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        if (!live[i]) {
            live[i] = holder;
            break;
        }
    }
    th_double_start(&e->dbl, e->dir, args);
    {
        /* A port nobody listens on: the double's, once it is gone. */
        struct th_double gone;

        th_double_start(&gone, e->dir, NULL);
        closed_port = gone.port;
        json_decref(th_double_stop(&gone));
    }
    cs_buf_addf(&e->env, "CALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1 "
                "CALLSCOPE_LLM_API_KEY=" LLM_KEY " ", e->dbl.port);
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        const char *t = modes[m].name;
        char *out = NULL, *err = NULL;
        struct cs_buf q = CS_BUF_INIT, a = CS_BUF_INIT, bdir = CS_BUF_INIT;
        int rc;

        cs_buf_reset(&lines);
        for (int i = 1; i <= 3; i++)
            cs_buf_addf(&lines, "{\"id\":\"%s-%d\",\"tenant\":\"%s\","
                        "\"started_at\":\"2026-10-01T1%d:00:00Z\",\"turns\":"
                        "[{\"role\":\"customer\",\"text\":\"Hello, call %d "
                        "of %s: I want to book a table. %s\"},{\"role\":"
                        "\"agent\",\"text\":\"Hello! It is booked.\"}]}\n",
                        t, i, t, i, i, t, modes[m].marker);
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/%s.jsonl", e->dir, t);
        th_write(p.ptr, lines.ptr, lines.len);
        cs_buf_addf(&a, "ingest %s", p.ptr);
        run_ok(e, NULL, a.ptr, 0);
        cs_buf_reset(&env);
        if (modes[m].env && !*modes[m].env) {   /* nothing listening */
            cs_buf_addf(&env, "CALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1 ",
                        closed_port);
        } else if (modes[m].env && !strchr(modes[m].env, '=')) {
            const char *bad[] = {"--pbad", "1", "--bad-kinds", modes[m].env,
                                 NULL};

            cs_buf_addf(&bdir, "%s/%s", e->dir, t);
            assert_int_equal(cs_fs_mkdirs(bdir.ptr, NULL), 0);
            th_double_start(&holder->dbl, bdir.ptr, bad);
            cs_buf_addf(&env, "CALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1 ",
                        holder->dbl.port);
        } else if (modes[m].env) {
            cs_buf_adds(&env, modes[m].env);
        }
        cs_buf_reset(&a);
        cs_buf_addf(&a, "score --tenant %s", t);
        rc = run(e, NULL, env.ptr, a.ptr, &out, &err);
        json_decref(th_double_stop(&holder->dbl));
        cs_buf_addf(&q, "%d evaluations ended in 'error'", modes[m].errors);
        if (rc != 4 || !strstr(err, q.ptr) || !strstr(err, modes[m].says))
            fail_msg("%s: exit %d (not 4) or no '%s' on stderr:\n%s%s", t,
                     rc, modes[m].says, out, err);
        free(out);
        free(err);
        cs_buf_reset(&q);
        cs_buf_addf(&q, "SELECT count(*) FROM results WHERE tenant = '%s' "
                    "AND current AND value = '\"error\"' AND rationale <> ''",
                    t);
        assert_int_equal(q_long(e, q.ptr), modes[m].errors);
        /* Again, with the endpoint well: each result once. */
        rc = run(e, NULL, NULL, a.ptr, &out, &err);
        if (rc != 0 || strstr(err, "ended in 'error'"))
            fail_msg("%s: the second run exited %d:\n%s%s", t, rc, out, err);
        free(out);
        free(err);
        cs_buf_reset(&q);
        cs_buf_addf(&q, "SELECT count(*) FROM results WHERE tenant = '%s' "
                    "AND current AND value <> '\"error\"'", t);
        assert_int_equal(q_long(e, q.ptr), 9);
        cs_buf_reset(&q);
        cs_buf_addf(&q, "SELECT count(*) FROM results WHERE tenant = '%s' "
                    "AND NOT current AND value = '\"error\"'", t);
        assert_int_equal(q_long(e, q.ptr), modes[m].errors);
        cs_buf_reset(&q);
        cs_buf_addf(&q, "SELECT count(*) FROM results WHERE tenant = '%s'",
                    t);
        assert_int_equal(q_long(e, q.ptr), 9 + modes[m].errors);
        cs_buf_release(&q);
        cs_buf_release(&a);
        cs_buf_release(&bdir);
    }
    th_rmtree(rdir);
    free(rdir);
    cs_buf_release(&p);
    cs_buf_release(&lines);
    cs_buf_release(&env);
}

/* ---- a full disk ------------------------------------------------------ */

/* Lines of `path` that are whole JSON objects; fails on any other line. */
static long whole_json_lines(const char *path)
{
    char *t = th_read(path), *save = NULL;
    long n = 0;

    assert_non_null(t);
    if (*t)
        assert_int_equal(t[strlen(t) - 1], '\n');
    for (char *l = strtok_r(t, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(l, 0, NULL);

        if (!json_is_object(j))
            fail_msg("%s: not a whole line: %.120s", path, l);
        json_decref(j);
        n++;
    }
    free(t);
    return n;
}

/* How many mails the outbox under `reports` holds. */
static long outbox_count(const char *reports)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *out = NULL;
    long n;

    cs_buf_addf(&cmd, "ls %s/outbox | grep -c '\\.eml$'", reports);
    th_sh(cmd.ptr, &out);
    n = strtol(out ? out : "-1", NULL, 10);
    free(out);
    cs_buf_release(&cmd);
    return n;
}

/*
 * The disk full (a file size limit, `ulimit -f` of /bin/sh in blocks of
 * 512 bytes: writes fail with EFBIG) under the
 * reports folder -- the period's KPI files, then the daily PDFs -- and
 * under the outbox: each run says which file, exits as documented (1 when
 * the job cannot go on, 4 when a report or a mail failed and the rest was
 * done), leaves no file half written under its name and mails no report
 * that is not whole; once there is room, `mail --resend-failed` and a
 * re-run finish it, each mail once.
 */
static void test_faults__disk_full_reports_and_outbox(void **state)
{
    struct th_env *e = fx_new(RECIPIENTS, NULL);
    struct cs_buf a = CS_BUF_INIT, dir = CS_BUF_INIT, p = CS_BUF_INIT;
    char *out = NULL, *err = NULL;
    long eml, deliveries;
    int rc;

    (void)state;
    cs_buf_addf(&p, "%s/var/inbox", e->dir);
    assert_int_equal(cs_fs_mkdirs(p.ptr, NULL), 0);
    cs_buf_addf(&a, "sample --start 2026-10-25 --days 7 --per-day 30 -o "
                "%s/in.jsonl", p.ptr);
    run_ok(e, NULL, a.ptr, 0);
    cs_buf_addf(&dir, "%s/reports", e->dir);
    /* 100 kB: the day's KPI files fit, the 30 days' do not. */
    rc = run(e, "ulimit -f 200; ", NULL, "nightly --date 2026-10-31", &out,
             &err);
    if (rc != 1 || !strstr(err, "/reports/period/") || !strstr(err, "kpis."))
        fail_msg("exit %d, not 1 naming the period's file:\n%s%s", rc, out,
                 err);
    free(out);
    free(err);
    expect_whole_files(dir.ptr);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries"), 0);
    /* 160 kB: a 1-day summary fits; the PDFs (about 190 kB) do not: none
     * is mailed (fail closed), exit 4. */
    rc = run(e, "ulimit -f 320; ", NULL, "nightly --date 2026-10-31 "
             "--period-days 1", &out, &err);
    if (rc != 4 || !strstr(err, "daily-") || !strstr(err, ".pdf"))
        fail_msg("exit %d, not 4 naming a PDF:\n%s%s", rc, out, err);
    free(out);
    free(err);
    assert_int_equal(expect_whole_files(dir.ptr), 0);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE kind "
                               "= 'report'"), 0);
    /* 230 kB: the PDFs fit, their mails (about 265 kB) do not. */
    rc = run(e, "ulimit -f 460; ", NULL, "nightly --date 2026-10-31 "
             "--period-days 1", &out, &err);
    if (rc != 4 || !strstr(err, "/reports/outbox/") || !strstr(err, ".eml"))
        fail_msg("exit %d, not 4 naming a mail:\n%s%s", rc, out, err);
    free(out);
    free(err);
    assert_int_equal(expect_whole_files(dir.ptr), 3);
    assert_true(q_long(e, "SELECT count(*) FROM deliveries WHERE kind = "
                          "'report' AND state = 'failed' AND last_reply LIKE "
                          "'%.eml%'") >= 3);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE kind "
                               "= 'report' AND state <> 'failed'"), 0);
    eml = outbox_count(dir.ptr);
    assert_int_equal(eml, q_long(e, "SELECT count(*) FROM deliveries WHERE "
                                    "state = 'sent'"));
    /* Room again: the failed mails once, and a re-run sends nothing. */
    run_ok(e, NULL, "mail --resend-failed", 0);
    deliveries = q_long(e, "SELECT count(*) FROM deliveries");
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE state "
                               "= 'sent'"), deliveries);
    assert_int_equal(outbox_count(dir.ptr),
                     deliveries);
    run_ok(e, NULL, "nightly --date 2026-10-31 --period-days 1", 0);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries"),
                     deliveries);
    assert_int_equal(outbox_count(dir.ptr),
                     deliveries);
    assert_int_equal(expect_whole_files(dir.ptr), 3);
    for (size_t i = 0; i < 3; i++) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/daily/2026-10-31/daily-%s.pdf", dir.ptr,
                    tenants[i]);
        expect_daily_equals_kpis(e, p.ptr, tenants[i]);
    }
    cs_buf_release(&a);
    cs_buf_release(&dir);
    cs_buf_release(&p);
}

/*
 * The monthly job with room for the PDFs (about 210 kB) but not for the
 * client workbooks' temporary files nor the all-tenants mail: exit 4, the
 * summary counts the failed workbooks (it said "0 failed"), nothing is
 * left half written, the tenants are not mailed without their workbook;
 * a re-run with room mails each once.
 */
static void test_faults__disk_full_monthly_workbooks(void **state)
{
    struct th_env *e = fx_new(RECIPIENTS, NULL);
    struct cs_buf a = CS_BUF_INIT, dir = CS_BUF_INIT;
    char *out = NULL, *err = NULL;
    long deliveries;
    int rc;

    (void)state;
    cs_buf_addf(&a, "sample --start 2026-10-25 --days 7 --per-day 30 -o "
                "%s/in.jsonl", e->dir);
    run_ok(e, NULL, a.ptr, 0);
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest %s/in.jsonl", e->dir);
    run_ok(e, NULL, a.ptr, 0);
    run_ok(e, NULL, "score", 0);
    cs_buf_addf(&dir, "%s/reports", e->dir);
    rc = run(e, "ulimit -f 520; ", NULL, "monthly --month 2026-10", &out,
             &err);
    if (rc != 4 || !strstr(out, "3 failed") || !strstr(err, "client-") ||
        !strstr(err, ".xlsx"))
        fail_msg("exit %d, not 4 with the 3 workbooks failed:\n%s%s", rc,
                 out, err);
    free(out);
    free(err);
    assert_int_equal(expect_whole_files(dir.ptr), 4);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE state "
                               "= 'sent'"), 0);
    run_ok(e, NULL, "monthly --month 2026-10", 0);
    deliveries = q_long(e, "SELECT count(*) FROM deliveries");
    assert_int_equal(deliveries, 7);    /* 2 per tenant, 1 internal */
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE state "
                               "= 'sent'"), deliveries);
    assert_int_equal(outbox_count(dir.ptr), deliveries);
    run_ok(e, NULL, "monthly --month 2026-10", 0);
    assert_int_equal(outbox_count(dir.ptr), deliveries);
    expect_whole_files(dir.ptr);
    cs_buf_release(&a);
    cs_buf_release(&dir);
}

/*
 * The rejects file cannot grow (20 kB for 300 rejected lines of 600
 * bytes): ingest ends in an error naming it, exit 1, and the file holds
 * whole lines only; the conversations are stored. With room again a
 * re-run records every rejected line (exit 4), each conversation once.
 */
static void test_faults__disk_full_rejects(void **state)
{
    struct th_env *e = fx_new(NULL, NULL);
    struct cs_buf a = CS_BUF_INIT, in = CS_BUF_INIT, lines = CS_BUF_INIT;
    char *out = NULL, *err = NULL, *list = NULL, *save = NULL;
    long first = -1, second = -1;
    int rc;

    (void)state;
    cs_buf_addf(&in, "%s/in.jsonl", e->dir);
    cs_buf_addf(&a, "sample --days 2 --per-day 100 -o %s", in.ptr);
    run_ok(e, NULL, a.ptr, 0);
    for (int i = 0; i < 300; i++) {
        cs_buf_addf(&lines, "{\"id\": \"bad-%d\", \"tenant\": \"t\", "
                    "\"started_at\": \"nope\", \"turns\": [], \"pad\": \"",
                    i);
        for (int k = 0; k < 500; k++)
            cs_buf_addch(&lines, 'x');
        cs_buf_adds(&lines, "\"}\n");
    }
    {
        FILE *f = fopen(in.ptr, "a");

        assert_non_null(f);
        assert_int_equal(fwrite(lines.ptr, 1, lines.len, f), lines.len);
        assert_int_equal(fclose(f), 0);
    }
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest %s", in.ptr);
    rc = run(e, "ulimit -f 40; ", NULL, a.ptr, &out, &err);
    if (rc != 1 || !strstr(err, "rejects file '") ||
        !strstr(err, "/var/rejects/ingest-"))
        fail_msg("exit %d, not 1 naming the rejects file:\n%s%s", rc, out,
                 err);
    free(out);
    free(err);
    assert_int_equal(q_long(e, "SELECT count(*) FROM conversations"), 200);
    rc = run(e, NULL, NULL, a.ptr, &out, &err);
    if (rc != 4)
        fail_msg("re-run exited %d, not 4:\n%s%s", rc, out, err);
    free(out);
    free(err);
    assert_int_equal(q_long(e, "SELECT count(*) FROM conversations"), 200);
    /* Two files: the cut one, whole lines only; the one of the re-run,
     * every rejected line. */
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ls -tr %s/var/rejects/*.jsonl", e->dir);
    assert_int_equal(th_sh(a.ptr, &list), 0);
    for (char *f = strtok_r(list, "\n", &save); f;
         f = strtok_r(NULL, "\n", &save)) {
        if (first < 0)
            first = whole_json_lines(f);
        else
            second = whole_json_lines(f);
    }
    assert_true(first > 0 && first < 300);
    assert_int_equal(second, 300);
    free(list);
    cs_buf_release(&a);
    cs_buf_release(&in);
    cs_buf_release(&lines);
}

/* ---- SMTP refusing ------------------------------------------------------ */

/* The SMTP sink (tests/mail_double/smtp_sink.py) in `dir` with `args`;
 * its pid, its port in *port. */
static pid_t sink_start(const char *dir, const char *const *args, long *port)
{
    posix_spawn_file_actions_t fa;
    struct cs_buf pf = CS_BUF_INIT, lf = CS_BUF_INIT;
    char *script = th_src("tests/mail_double/smtp_sink.py"), *text = NULL;
    char *argv[16];
    int argc = 0;
    pid_t pid;

    assert_int_equal(cs_fs_mkdirs(dir, NULL), 0);
    cs_buf_addf(&pf, "%s/port", dir);
    cs_buf_addf(&lf, "%s/sink.log", dir);
    unlink(pf.ptr);
    argv[argc++] = "/usr/bin/python3";
    argv[argc++] = script;
    argv[argc++] = "--dir";
    argv[argc++] = (char *)dir;
    for (; args && *args && argc < 15; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    /* Its output to a file: an inherited pipe keeps ctest waiting. */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, lf.ptr, O_WRONLY | O_CREAT |
                                     O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ),
                     0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 500 && !text; i++) {
        text = th_read(pf.ptr);
        if (!text)
            sleep_s(0.01);
    }
    assert_non_null(text);
    *port = strtol(text, NULL, 10);
    free(text);
    free(script);
    cs_buf_release(&pf);
    cs_buf_release(&lf);
    return pid;
}

static void sink_stop(pid_t *pid)
{
    int st;

    if (*pid > 0 && kill(*pid, SIGTERM) == 0)
        waitpid(*pid, &st, 0);
    *pid = 0;
}

static pid_t sink_pid;

static int sink_teardown(void **state)
{
    sink_stop(&sink_pid);
    return fx_teardown(state);
}

/* What the sink accepted: messages, and those with a Message-ID seen
 * before (a message sent twice). */
static void sink_count(const char *dir, long *messages, long *repeated)
{
    struct cs_buf p = CS_BUF_INIT, cmd = CS_BUF_INIT;
    char *out = NULL;

    cs_buf_addf(&p, "%s/messages.jsonl", dir);
    *messages = 0;
    if (cs_fs_exists(p.ptr))
        *messages = count_lines(p.ptr);
    cs_buf_addf(&cmd, "cat %s/msg-*.eml 2>/dev/null | grep -i "
                "'^Message-ID:' | sort | uniq -d | wc -l", dir);
    th_sh(cmd.ptr, &out);
    *repeated = strtol(out ? out : "-1", NULL, 10);
    free(out);
    cs_buf_release(&p);
    cs_buf_release(&cmd);
}

/*
 * The SMTP server refuses a recipient (550 to RCPT), then the data of
 * every message (451 to DATA, on each try): the run says so, exit 4, the
 * deliveries are failed with the server's reply; `mail --resend-failed`
 * to a server that accepts sends each exactly once, and a re-run of the
 * job sends nothing again. (Nothing listening: test_mail.)
 */
static void test_faults__smtp_refuses_rcpt_and_data(void **state)
{
    struct th_env *e = fx_new(RECIPIENTS ", \"mail\": {\"max_tries\": 2, "
                              "\"backoff_ms\": 50, \"timeout_s\": 10}", NULL);
    struct cs_buf a = CS_BUF_INIT, sd = CS_BUF_INIT, smtp = CS_BUF_INIT,
                  port = CS_BUF_INIT;
    char *out = NULL, *err = NULL;
    long p, failed, sent, msgs, repeated;
    int rc;

    (void)state;
    cs_buf_addf(&a, "%s/var/inbox", e->dir);
    assert_int_equal(cs_fs_mkdirs(a.ptr, NULL), 0);
    cs_buf_adds(&a, "/in.jsonl");
    {
        struct cs_buf s = CS_BUF_INIT;

        cs_buf_addf(&s, "sample --start 2026-10-25 --days 7 --per-day 20 -o "
                    "%s", a.ptr);
        run_ok(e, NULL, s.ptr, 0);
        cs_buf_release(&s);
    }
    cs_buf_addf(&sd, "%s/sink", e->dir);
    {
        const char *args[] = {"--reject-rcpt", "cfo@example.test", NULL};

        sink_pid = sink_start(sd.ptr, args, &p);
    }
    cs_buf_addf(&port, "%ld", p);
    cs_buf_addf(&smtp, "CALLSCOPE_SMTP_URL=smtp://127.0.0.1:%ld ", p);
    /* RCPT refused: that address's mails fail, not retried; the others
     * go. */
    rc = run(e, NULL, smtp.ptr, "nightly --date 2026-10-31", &out, &err);
    if (rc != 4 || !strstr(err, "550") || !strstr(err, "cfo@example.test"))
        fail_msg("exit %d, not 4 naming the refused recipient:\n%s%s", rc,
                 out, err);
    free(out);
    free(err);
    failed = q_long(e, "SELECT count(*) FROM deliveries WHERE state = "
                       "'failed' AND recipient = 'cfo@example.test' AND "
                       "tries = 1 AND last_reply LIKE '550%'");
    assert_true(failed >= 3);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE state "
                               "= 'failed'"), failed);
    sent = q_long(e, "SELECT count(*) FROM deliveries WHERE state = 'sent'");
    sink_count(sd.ptr, &msgs, &repeated);
    assert_int_equal(msgs, sent);
    sink_stop(&sink_pid);
    /* DATA refused (451 on every try) for the next day's mails. */
    {
        const char *args[] = {"--port", port.ptr, "--tempfail-first", "1000",
                              NULL};

        sink_pid = sink_start(sd.ptr, args, &p);
    }
    rc = run(e, NULL, smtp.ptr, "nightly --date 2026-10-30", &out, &err);
    if (rc != 4 || !strstr(err, "451"))
        fail_msg("exit %d, not 4 with the server's 451:\n%s%s", rc, out,
                 err);
    free(out);
    free(err);
    assert_true(q_long(e, "SELECT count(*) FROM deliveries WHERE state = "
                          "'failed' AND period = '2026-10-30' AND tries = 2 "
                          "AND last_reply LIKE '451%'") >= 3);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE "
                               "period = '2026-10-30' AND state <> "
                               "'failed'"), 0);
    sink_count(sd.ptr, &msgs, &repeated);
    assert_int_equal(msgs, sent);
    sink_stop(&sink_pid);
    /* A server that takes them: each failed mail once, then nothing. */
    {
        const char *args[] = {"--port", port.ptr, NULL};

        sink_pid = sink_start(sd.ptr, args, &p);
    }
    run_ok(e, smtp.ptr, "mail --resend-failed", 0);
    assert_int_equal(q_long(e, "SELECT count(*) FROM deliveries WHERE state "
                               "<> 'sent'"), 0);
    run_ok(e, smtp.ptr, "mail --resend-failed", 0);
    run_ok(e, smtp.ptr, "nightly --date 2026-10-31", 0);
    run_ok(e, smtp.ptr, "nightly --date 2026-10-30", 0);
    sink_count(sd.ptr, &msgs, &repeated);
    assert_int_equal(msgs, q_long(e, "SELECT count(*) FROM deliveries"));
    assert_int_equal(repeated, 0);
    sink_stop(&sink_pid);
    cs_buf_release(&a);
    cs_buf_release(&sd);
    cs_buf_release(&smtp);
    cs_buf_release(&port);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_faults__db_killed_during_ingest),
        T(test_faults__db_killed_during_llm_score),
        T(test_faults__db_killed_during_rules_score),
        T(test_faults__db_killed_during_report_executive),
        T(test_faults__db_killed_during_nightly_pdfs),
        T(test_faults__llm_endpoint_faults),
        T(test_faults__disk_full_reports_and_outbox),
        T(test_faults__disk_full_monthly_workbooks),
        T(test_faults__disk_full_rejects),
        cmocka_unit_test_teardown(test_faults__smtp_refuses_rcpt_and_data,
                                  sink_teardown),
    };

    /* CS_TEST_FILTER=pattern runs the tests it matches (while iterating). */
    if (getenv("CS_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CS_TEST_FILTER"));
    return cmocka_run_group_tests_name("faults", tests, group_setup,
                                       group_teardown);
}
