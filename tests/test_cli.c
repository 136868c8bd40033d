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
        cmocka_unit_test(test_cli__config_show_thresholds_in_force),
        cmocka_unit_test(test_cli__invalid_config_exits_3),
    };

    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
