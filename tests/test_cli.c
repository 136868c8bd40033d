/* test_cli.c - the command line: help, usage errors, exit codes, secrets */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "helpers.h"

static void test_cli__every_command_has_help(void **state)
{
    static const char *const cmds[] = {"nightly", "ingest", "score",
                                       "rescore", "kpis", "results",
                                       "calibrate", "rubrics", "sample",
                                       "db", "config", NULL};
    char *out = NULL, *err = NULL;

    (void)state;
    assert_int_equal(th_run(NULL, "--help", &out, NULL), 0);
    for (const char *const *c = cmds; *c; c++) {
        struct cs_buf a = CS_BUF_INIT, u = CS_BUF_INIT;
        char *h = NULL;

        /* Listed in the overview... */
        assert_non_null(strstr(out, *c));
        /* ...and answering --help without touching a database. */
        cs_buf_addf(&a, "%s --help", *c);
        cs_buf_addf(&u, "usage: callscope %s", *c);
        assert_int_equal(th_run("CALLSCOPE_DATABASE_URL='host=/nonexistent'",
                                a.ptr, &h, NULL), 0);
        if (!strstr(h, u.ptr))
            fail_msg("'%s' printed no usage: %s", a.ptr, h);
        assert_non_null(strstr(h, "Exit:"));
        free(h);
        cs_buf_release(&a);
        cs_buf_release(&u);
    }
    free(out);
    assert_int_equal(th_run(NULL, "frobnicate", NULL, &err), 2);
    assert_non_null(strstr(err, "'frobnicate' is not a command"));
    free(err);
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
    assert_int_equal(th_run(NULL, "--config /nonexistent.json config show",
                            NULL, &err), 1);
    assert_non_null(strstr(err, "not found"));
    free(err);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&p);
    cs_buf_release(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli__every_command_has_help),
        cmocka_unit_test(test_cli__config_show_masks_secrets),
        cmocka_unit_test(test_cli__invalid_config_exits_3),
    };

    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
