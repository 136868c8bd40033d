/* test_cli.c - the command line: help, usage errors, exit codes, secrets */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "helpers.h"

/* Whether the help text `h` lists option `opt` ("--from"). */
static int lists_option(const char *h, const char *opt)
{
    size_t n = strlen(opt);

    for (const char *p = strstr(h, opt); p; p = strstr(p + 1, opt)) {
        if (p[n] == ' ' || p[n] == '\n')
            return 1;
    }
    return 0;
}

/*
 * `cmd --help` prints its usage and exit codes without touching a
 * database, and lists every option of its table (as --list-options gives
 * them) and every subcommand, whose help is checked the same way.
 */
static void check_help(const char *cmd, size_t *n_options)
{
    struct cs_buf a = CS_BUF_INIT, u = CS_BUF_INIT, l = CS_BUF_INIT;
    char *h = NULL, *list = NULL, *line, *save = NULL;
    const char *env = "CALLSCOPE_DATABASE_URL='host=/nonexistent'";

    cs_buf_addf(&a, "%s --help", cmd);
    cs_buf_addf(&u, "usage: callscope %s", cmd);
    cs_buf_addf(&l, "%s --list-options", cmd);
    assert_int_equal(th_run(env, a.ptr, &h, NULL), 0);
    if (!strstr(h, u.ptr))
        fail_msg("'%s' printed no usage: %s", a.ptr, h);
    assert_non_null(strstr(h, "Exit:"));
    assert_int_equal(th_run(env, l.ptr, &list, NULL), 0);
    for (line = strtok_r(list, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);

        if (strncmp(line, "--", 2) == 0) {
            if (line[n - 1] == '=')
                line[n - 1] = '\0';
            if (!lists_option(h, line))
                fail_msg("'%s' does not list %s:\n%s", a.ptr, line, h);
            (*n_options)++;
        } else {
            struct cs_buf sub = CS_BUF_INIT, row = CS_BUF_INIT;

            cs_buf_addf(&row, "\n  %s ", line);
            if (!strstr(h, row.ptr))
                fail_msg("'%s' does not list '%s':\n%s", a.ptr, line, h);
            cs_buf_addf(&sub, "%s %s", cmd, line);
            check_help(sub.ptr, n_options);
            cs_buf_release(&sub);
            cs_buf_release(&row);
        }
    }
    /* Every command takes the common options. */
    assert_true(lists_option(h, "--config") && lists_option(h, "--quiet") &&
                lists_option(h, "--verbose") && lists_option(h, "--help"));
    free(list);
    free(h);
    cs_buf_release(&a);
    cs_buf_release(&u);
    cs_buf_release(&l);
}

static void test_cli__every_command_has_help(void **state)
{
    static const char *const cmds[] = {"nightly", "ingest", "score",
                                       "rescore", "kpis", "results",
                                       "calibrate", "rubrics", "sample",
                                       "db", "config", NULL};
    char *out = NULL, *err = NULL;
    size_t n_options = 0;

    (void)state;
    assert_int_equal(th_run(NULL, "--help", &out, NULL), 0);
    for (const char *const *c = cmds; *c; c++) {
        /* Listed in the overview, and with a help of its own. */
        assert_non_null(strstr(out, *c));
        check_help(*c, &n_options);
    }
    /* The tables are not empty: each command's options, 4 common ones. */
    assert_true(n_options > 4 * 19 + 30);
    free(out);
    /* The help of a subcommand shows its own options. */
    assert_int_equal(th_run(NULL, "results export --help", &out, NULL), 0);
    assert_true(lists_option(out, "--format"));
    assert_non_null(strstr(out, "--format jsonl|csv"));
    assert_true(lists_option(out, "--history"));
    assert_true(lists_option(out, "--metric"));
    free(out);
    assert_int_equal(th_run(NULL, "help kpis", &out, NULL), 0);
    assert_non_null(strstr(out, "usage: callscope kpis"));
    free(out);
    assert_int_equal(th_run(NULL, "", NULL, NULL), 2);
    {
        /* A usage error opens nothing: no embedded cluster appears. */
        char *dir = th_tmpdir();
        struct cs_buf env = CS_BUF_INIT, var = CS_BUF_INIT;

        cs_buf_addf(&env, "CALLSCOPE_DATABASE_URL= CALLSCOPE_DATA_DIR=%s/var",
                    dir);
        cs_buf_addf(&var, "%s/var", dir);
        assert_int_equal(th_run(env.ptr, "kpis --from 2026-01-01", NULL,
                                &err), 2);
        assert_non_null(strstr(err, "--to are required"));
        assert_false(cs_fs_exists(var.ptr));
        free(err);
        th_rmtree(dir);
        free(dir);
        cs_buf_release(&env);
        cs_buf_release(&var);
    }
}

/* Runs `args` expecting exit 2 and stderr exactly `want` (the message and
 * the hint, nothing else). */
static void usage_error(const char *args, const char *want)
{
    char *err = NULL, *out = NULL;
    int rc = th_run(NULL, args, &out, &err);

    if (rc != 2 || strcmp(err, want) != 0)
        fail_msg("'%s' exited %d with:\n%s\nnot 2 with:\n%s", args, rc, err,
                 want);
    assert_string_equal(out, "");
    free(err);
    free(out);
}

static void test_cli__unknown_option_one_message(void **state)
{
    (void)state;
    usage_error("kpis --bogus", "callscope kpis: unknown option '--bogus'\n"
                "Try 'callscope kpis --help'.\n");
    usage_error("kpis -x", "callscope kpis: unknown option '-x'\n"
                "Try 'callscope kpis --help'.\n");
    usage_error("kpis --tenat x", "callscope kpis: unknown option '--tenat'"
                "; did you mean '--tenant'?\nTry 'callscope kpis --help'.\n");
    usage_error("--bogus kpis", "callscope: unknown option '--bogus'\n"
                "Try 'callscope --help'.\n");
    usage_error("results export --format xml",
                "callscope results export: --format takes jsonl or csv, not "
                "'xml'\nTry 'callscope results export --help'.\n");
    usage_error("kpis --from", "callscope kpis: option '--from' needs a "
                "value (DATE)\nTry 'callscope kpis --help'.\n");
    usage_error("ingest --json=1 x", "callscope ingest: option '--json' takes "
                "no value\nTry 'callscope ingest --help'.\n");
    usage_error("kpis --t x", "callscope kpis: option '--t' is ambiguous "
                "(--to, --tenant, --tz)\nTry 'callscope kpis --help'.\n");
    usage_error("nightly --period-days 0",
                "callscope nightly: --period-days takes a whole number in "
                "1..366, not '0'\nTry 'callscope nightly --help'.\n");
    usage_error("sample extra", "callscope sample: unexpected argument "
                "'extra'\nTry 'callscope sample --help'.\n");
}

static void test_cli__mistyped_command_suggests(void **state)
{
    (void)state;
    usage_error("kpsi", "callscope: 'kpsi' is not a command; did you mean "
                "'kpis'?\nTry 'callscope --help'.\n");
    usage_error("scroe --from x", "callscope: 'scroe' is not a command; did "
                "you mean 'score'?\nTry 'callscope --help'.\n");
    usage_error("frobnicate", "callscope: 'frobnicate' is not a command\n"
                "Try 'callscope --help'.\n");
    usage_error("db migarte", "callscope db: 'migarte' is not a db command; "
                "did you mean 'migrate'?\nTry 'callscope db --help'.\n");
    usage_error("db", "callscope db: expected one of migrate, status, start, "
                "stop, prune, rebuild-rollups, compact-rollups\nTry "
                "'callscope db --help'.\n");
}

static void test_cli__dates_that_do_not_exist(void **state)
{
    (void)state;
    usage_error("kpis --from 2026-11-31 --to 2026-12-01",
                "callscope kpis: --from: '2026-11-31' is not a date: "
                "November has 30 days\nTry 'callscope kpis --help'.\n");
    usage_error("score --to 2026-02-29", "callscope score: --to: "
                "'2026-02-29' is not a date: February 2026 has 28 days\n"
                "Try 'callscope score --help'.\n");
    usage_error("nightly --date 2026-13-01", "callscope nightly: --date: "
                "'2026-13-01' is not a date: there is no month 13\n"
                "Try 'callscope nightly --help'.\n");
    /* A malformed one still says the format. */
    usage_error("kpis --from 2026/11/01 --to 2026-12-01",
                "callscope kpis: --from: '2026/11/01' is not a date: dates "
                "are YYYY-MM-DD\nTry 'callscope kpis --help'.\n");
}

/*
 * `{ callscope ARGS; } TAIL` (a pipe or a redirection of stdout): the
 * status of callscope and its stderr.
 */
static int run_stdout_to(const char *args, const char *tail, char **err)
{
    char *dir = th_tmpdir();
    struct cs_buf cmd = CS_BUF_INIT, rc = CS_BUF_INIT, pe = CS_BUF_INIT;
    char *text;
    int status;

    cs_buf_addf(&rc, "%s/rc", dir);
    cs_buf_addf(&pe, "%s/err", dir);
    cs_buf_addf(&cmd, "{ %s %s 2>%s; echo $? >%s; } %s", CS_BINARY, args,
                pe.ptr, rc.ptr, tail);
    assert_int_equal(system(cmd.ptr), 0);
    text = th_read(rc.ptr);
    assert_non_null(text);
    status = (int)strtol(text, NULL, 10);
    free(text);
    *err = th_read(pe.ptr);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&cmd);
    cs_buf_release(&rc);
    cs_buf_release(&pe);
    return status;
}

static void test_cli__closed_pipe_ends_quietly(void **state)
{
    char *err = NULL;

    (void)state;
    /* Megabytes into a reader that leaves after one byte: no error, the
     * status of a filter ended by SIGPIPE (128 + 13), as git or cat give. */
    assert_int_equal(run_stdout_to("sample --days 30", "| head -c 1 "
                                   ">/dev/null", &err), 141);
    assert_string_equal(err, "");
    free(err);
    /* Output that fits the pipe before the reader leaves: all is well. */
    assert_int_equal(run_stdout_to("--help", "| head -c 1 >/dev/null", &err),
                     0);
    assert_string_equal(err, "");
    free(err);
    /* Other write errors are still errors. */
    assert_int_equal(run_stdout_to("sample --days 30", ">/dev/full", &err),
                     1);
    assert_non_null(strstr(err, "callscope: error: cannot write"));
    free(err);
    assert_int_equal(run_stdout_to("--help", ">/dev/full", &err), 1);
    assert_non_null(strstr(err, "callscope: error: cannot write output"));
    free(err);
}

static void test_cli__config_show_masks_secrets(void **state)
{
    char *out = NULL;

    (void)state;
    assert_int_equal(th_run("CALLSCOPE_CONFIG= CALLSCOPE_LLM_API_KEY=sk-live-"
                            "abcdef CALLSCOPE_SMTP_PASSWORD=pw-123456 "
                            "CALLSCOPE_DATABASE_URL='postgresql://u:"
                            "dbpass99@h/db' CALLSCOPE_LLM_CONCURRENCY=7",
                            "config show", &out, NULL), 0);
    assert_null(strstr(out, "sk-live-abcdef"));
    assert_null(strstr(out, "pw-123456"));
    assert_null(strstr(out, "dbpass99"));
    assert_non_null(strstr(out, "\"llm.concurrency\": 7"));
    assert_non_null(strstr(out, "********"));
    free(out);
}

static void test_cli__config_show_thresholds_in_force(void **state)
{
    char *dir = th_tmpdir();
    struct cs_buf p = CS_BUF_INIT, env = CS_BUF_INIT;
    const char *cfg =
        "{\"alerts\": {\"answer_rate\": {\"warning\": 0.9},\n"
        "            \"aht_s\": {\"direction\": \"above\", "
        "\"warning\": 600.5, \"critical\": 900}},\n"
        " \"tenants\": {\"default\": {\"human_cost_per_conversation\": "
        "6.8},\n"
        "             \"quiet\": {\"alerts\": {\"error_rate\": null}},\n"
        "             \"same\": {\"platform_fee\": 0.6}}}";
    json_t *j, *a, *r;
    char *out = NULL;

    (void)state;
    cs_buf_addf(&p, "%s/c.json", dir);
    th_write(p.ptr, cfg, strlen(cfg));
    cs_buf_addf(&env, "CALLSCOPE_CONFIG=%s", p.ptr);
    assert_int_equal(th_run(env.ptr, "config show", &out, NULL), 0);
    /* Numbers as written, not 6.7999999999999998 or 0.59999999999999998. */
    assert_non_null(strstr(out, "\"human_cost_per_conversation\": 6.8\n"));
    assert_non_null(strstr(out, "\"platform_fee\": 0.6\n"));
    assert_non_null(strstr(out, "\"llm.price_in_per_1k\": 0.00015,"));
    assert_null(strstr(out, "99999"));
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    a = json_object_get(j, "alerts");
    /* A default the config changed: merged key by key, marked. */
    r = json_object_get(a, "answer_rate");
    assert_string_equal(json_string_value(json_object_get(r, "source")),
                        "config");
    assert_true(json_number_value(json_object_get(r, "warning")) == 0.9);
    assert_true(json_number_value(json_object_get(r, "critical")) == 0.9);
    assert_string_equal(json_string_value(json_object_get(r, "direction")),
                        "below");
    /* Defaults in force though the file never names them. */
    r = json_object_get(a, "latency_ms.llm.p95");
    assert_string_equal(json_string_value(json_object_get(r, "source")),
                        "default");
    assert_true(json_number_value(json_object_get(r, "warning")) == 800);
    assert_true(json_number_value(json_object_get(r, "critical")) == 1200);
    r = json_object_get(a, "connector_success_rate");
    assert_true(json_number_value(json_object_get(r, "warning")) == 0.98);
    assert_non_null(json_object_get(a, "abandonment_rate"));
    assert_non_null(json_object_get(a, "error_rate"));
    r = json_object_get(a, "aht_s");
    assert_string_equal(json_string_value(json_object_get(r, "source")),
                        "config");
    /* Per tenant only where they differ; null: switched off. */
    a = json_object_get(j, "alerts_by_tenant");
    assert_int_equal(json_object_size(a), 1);
    r = json_object_get(json_object_get(a, "quiet"), "error_rate");
    assert_non_null(r);
    assert_true(json_is_null(r));
    json_decref(j);
    free(out);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&p);
    cs_buf_release(&env);
}

static void test_cli__invalid_config_exits_3(void **state)
{
    char *dir = th_tmpdir();
    struct cs_buf p = CS_BUF_INIT, env = CS_BUF_INIT;
    char *err = NULL;

    (void)state;
    cs_buf_addf(&p, "%s/bad.json", dir);
    {
        const char *bad = "{\"llm\": {\"concurrency\": \"lots\"}}";

        th_write(p.ptr, bad, strlen(bad));
    }
    cs_buf_addf(&env, "CALLSCOPE_CONFIG=%s", p.ptr);
    assert_int_equal(th_run(env.ptr, "config show", NULL, &err), 3);
    assert_non_null(strstr(err, "llm.concurrency"));
    free(err);
    /* A config file that is not there is invalid configuration too. */
    assert_int_equal(th_run(NULL, "--config /nonexistent.json config show",
                            NULL, &err), 3);
    assert_non_null(strstr(err, "config file '/nonexistent.json' not found"));
    free(err);
    assert_int_equal(th_run("CALLSCOPE_CONFIG=/nonexistent.json",
                            "kpis --from 2026-01-01 --to 2026-01-02", NULL,
                            &err), 3);
    assert_non_null(strstr(err, "'/nonexistent.json'"));
    free(err);
    assert_int_equal(th_run(NULL, "db status --config /nonexistent.json",
                            NULL, &err), 3);
    free(err);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&p);
    cs_buf_release(&env);
}

/* A database with a day of sample conversations (tenants acme-dental,
 * northwind-support, bluebird-energy), the real-dev rubrics, and a config
 * naming one more tenant that has no conversations. */
static int data_setup(void **state)
{
    struct th_env *e = th_env_new("{\"tenants\": {\"default\": {}, "
                                  "\"configured-only\": {}},"
                                  " \"sentiment_lexicon\": \"" CS_SOURCE_DIR
                                  "/config/sentiment-lexicon.txt\"}");
    struct cs_buf a = CS_BUF_INIT;

    /* The starter rubrics: the sample's agents log call reasons of their
     * categories (real-dev's would make those agent values errors). */
    cs_buf_addf(&e->env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics ", CS_SOURCE_DIR);
    cs_buf_addf(&a, "sample --days 1 --per-day 30 -o %s/s.jsonl", e->dir);
    assert_int_equal(th_run(e->env.ptr, a.ptr, NULL, NULL), 0);
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest -q %s/s.jsonl", e->dir);
    assert_int_equal(th_run(e->env.ptr, a.ptr, NULL, NULL), 0);
    cs_buf_release(&a);
    *state = e;
    return 0;
}

/* Runs `args` in the sandbox, expects exit `rc`; stderr must contain
 * `in_err` (or be empty when NULL). Returns stdout (new). */
static char *run_in(struct th_env *e, const char *args, int rc,
                    const char *in_err)
{
    char *out = NULL, *err = NULL;
    int got = th_run(e->env.ptr, args, &out, &err);

    if (got != rc || (in_err ? !strstr(err, in_err) : *err != '\0'))
        fail_msg("'%s' exited %d with '%s', not %d with '%s'", args, got,
                 err, rc, in_err ? in_err : "");
    free(err);
    return out;
}

static void test_cli__unknown_tenant_or_metric(void **state)
{
    struct th_env *e = *state;
    const char *period = "kpis --from 2026-09-01 --to 2026-09-02 ";
    struct cs_buf a = CS_BUF_INIT;

    /* Known: conversations stored, or named by the config. */
    free(run_in(e, "kpis --from 2026-09-01 --to 2026-09-02 --tenant "
                   "acme-dental", 0, NULL));
    free(run_in(e, "kpis --from 2026-09-01 --to 2026-09-02 --tenant "
                   "configured-only", 0, NULL));
    /* Unknown: a usage error, not a table of zeros. */
    cs_buf_addf(&a, "%s--tenant acme-dentl", period);
    free(run_in(e, a.ptr, 2, "callscope kpis: unknown tenant "
                             "'acme-dentl'"));
    free(run_in(e, "score --tenant nobody", 2, "callscope score: unknown "
                                               "tenant 'nobody'"));
    free(run_in(e, "score --tenant default", 2, "unknown tenant "
                                                "'default'"));
    free(run_in(e, "score --metric call_reason --metric nonesuch", 2,
                "callscope score: unknown metric 'nonesuch'"));
    free(run_in(e, "rescore --metric nonesuch", 2,
                "callscope rescore: unknown metric 'nonesuch'"));
    /* Nothing was scored by the refused runs. */
    assert_int_equal(th_sql_long(e->db, "SELECT count(*) FROM results"), 0);
    /* A rubric's key is known before any result exists; a metric the
     * agent logged is known once stored. */
    free(run_in(e, "score -q --metric call_reason --tenant acme-dental", 0,
                NULL));
    free(run_in(e, "score -q", 0, NULL));
    assert_true(th_sql_long(e->db, "SELECT count(*) FROM results WHERE "
                                   "metric = 'auth_verified'") > 0);
    free(run_in(e, "rescore -q --metric auth_verified", 0,
                "warning: no rubric 'auth_verified'"));
    cs_buf_release(&a);
}

static void test_cli__calibrate_no_data(void **state)
{
    struct th_env *e = *state;
    struct cs_buf a = CS_BUF_INIT, p = CS_BUF_INIT;
    const char *labels =
        "{\"id\": \"nw-20260901-00001\", \"labels\": {\"call_reason\": "
        "\"other\", \"task_completed\": true}}\n"
        "{\"id\": \"nw-20260901-00002\", \"labels\": {\"call_reason\": "
        "\"billing\"}}\n";
    json_t *j;
    char *out;

    cs_buf_addf(&p, "%s/labels.jsonl", e->dir);
    th_write(p.ptr, labels, strlen(labels));
    /* Nothing scored yet: no data, not n=0 accuracy=0.0000. */
    cs_buf_addf(&a, "calibrate --labels %s --metric call_reason", p.ptr);
    out = run_in(e, a.ptr, 0, NULL);
    assert_non_null(strstr(out, "== call_reason: no data (n=0)"));
    assert_null(strstr(out, "accuracy=0.0000"));
    assert_non_null(strstr(out, "unscored: 2 labelled"));
    free(out);
    cs_buf_addf(&a, " --format json");
    out = run_in(e, a.ptr, 0, NULL);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(j, "call_reason"), "n")), 0);
    assert_true(json_is_null(json_object_get(json_object_get(j,
                                                             "call_reason"),
                                             "accuracy")));
    assert_true(json_is_null(json_object_get(json_object_get(j,
                                                             "call_reason"),
                                             "kappa")));
    json_decref(j);
    free(out);
    /* A metric that does not exist is a usage error. */
    cs_buf_reset(&a);
    cs_buf_addf(&a, "calibrate --labels %s --metric call_reasno", p.ptr);
    free(run_in(e, a.ptr, 2, "callscope calibrate: unknown metric "
                             "'call_reasno'"));
    /* Once scored, figures. */
    free(run_in(e, "score -q", 0, NULL));
    cs_buf_reset(&a);
    cs_buf_addf(&a, "calibrate --labels %s --metric call_reason", p.ptr);
    out = run_in(e, a.ptr, 0, NULL);
    assert_non_null(strstr(out, "== call_reason: n=2 accuracy="));
    free(out);
    cs_buf_release(&a);
    cs_buf_release(&p);
}

/* Runs a shell command in the source tree; its stdout (new). */
static char *sh_in_tree(const char *cmd)
{
    struct cs_buf full = CS_BUF_INIT, out = CS_BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *p;

    cs_buf_addf(&full, "cd '%s' && %s", CS_SOURCE_DIR, cmd);
    p = popen(full.ptr, "r");
    assert_non_null(p);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        cs_buf_add(&out, chunk, n);
    pclose(p);
    cs_buf_release(&full);
    return cs_buf_detach(&out, NULL);
}

static void test_cli__docs_cover_the_tree(void **state)
{
    char *out, *env_doc, *line, *save = NULL;

    (void)state;
    /* Nothing points outside the clone (the pattern is split so that
     * this file does not match itself). */
    out = sh_in_tree("grep -rIlF -e '../share''d/' src README.md rubrics "
                     "templates tests bench 2>/dev/null");
    if (*out)
        fail_msg("files pointing at the shared folder, not docs/:\n%s", out);
    free(out);
    /* Every docs/ page named in the code, the help texts and the README
     * exists. */
    out = sh_in_tree("grep -rIohE 'docs/[a-z0-9-]+\\.md' src README.md "
                     "tests | sort -u");
    assert_non_null(strstr(out, "docs/kpis.md"));
    for (line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *path = th_src(line);

        if (!cs_fs_exists(path))
            fail_msg("'%s' is named but does not exist", line);
        free(path);
    }
    free(out);
    /* Every environment variable read is documented. */
    env_doc = th_read(CS_SOURCE_DIR "/docs/environment.md");
    assert_non_null(env_doc);
    out = sh_in_tree("{ grep -rIohE 'getenv\\(\"[A-Z0-9_]+\"\\)' src tests "
                     "| sed 's/getenv(\"//; s/\")//'; grep -rIohE "
                     "'\"(CALLSCOPE|OPENAI)_[A-Z0-9_]+\"' src | tr -d '\"'; } "
                     "| sort -u");
    assert_non_null(strstr(out, "CALLSCOPE_PG_BIN"));
    assert_non_null(strstr(out, "CALLSCOPE_RUBRICS_DIR"));
    save = NULL;
    for (line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        struct cs_buf quoted = CS_BUF_INIT;

        cs_buf_addf(&quoted, "`%s`", line);
        if (!strstr(env_doc, quoted.ptr))
            fail_msg("%s is read but not in docs/environment.md", line);
        cs_buf_release(&quoted);
    }
    free(out);
    free(env_doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli__every_command_has_help),
        cmocka_unit_test(test_cli__unknown_option_one_message),
        cmocka_unit_test(test_cli__mistyped_command_suggests),
        cmocka_unit_test(test_cli__dates_that_do_not_exist),
        cmocka_unit_test(test_cli__closed_pipe_ends_quietly),
        cmocka_unit_test(test_cli__docs_cover_the_tree),
        cmocka_unit_test_setup_teardown(test_cli__unknown_tenant_or_metric,
                                        data_setup, th_env_teardown),
        cmocka_unit_test_setup_teardown(test_cli__calibrate_no_data,
                                        data_setup, th_env_teardown),
        cmocka_unit_test(test_cli__config_show_masks_secrets),
        cmocka_unit_test(test_cli__config_show_thresholds_in_force),
        cmocka_unit_test(test_cli__invalid_config_exits_3),
    };

    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
