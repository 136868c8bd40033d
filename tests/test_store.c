/* test_store.c - migrations and the embedded cluster, on real PostgreSQL */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "config/config.h"
#include "helpers.h"
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
    n = th_sql(db, "SELECT count(*) FROM schema_migrations");
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
    n = th_sql(db, "SELECT count(*) FROM schema_migrations");
    assert_int_equal(strtol(n, NULL, 10), cs_store_latest_version());
    free(n);
    cs_config_free(cfg);
    free(db);
}

static void test_store__bad_server_is_a_clear_error(void **state)
{
    struct cs_config *cfg = config_for("host=/nonexistent port=1 "
                                       "user=x password=hunter2 dbname=y");
    struct cs_store *st = NULL;
    struct cs_err err = {0, ""};

    (void)state;
    assert_int_equal(cs_store_open(&st, cfg, &err), CS_EDB);
    assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL"));
    assert_null(strstr(err.msg, "hunter2"));
    cs_config_free(cfg);
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
                    "content_hash) VALUES "
                    "('t', 'c1', 'm', 'v', 'rules', 'true', 'Call me on "
                    "+1 415 555 0142 or jane.doe@example.com, order "
                    "ORD-123456.', 'rule 1 matched customer turn 1: \"+1 "
                    "415 555 0142\"', 'h'), "
                    "('t', 'c2', 'm', 'v', 'rules', 'false', NULL, 'no rule "
                    "matched', 'h'), "
                    "('t', 'c3', 'm', 'v', 'llm:x', 'true', 'Fine, "
                    "[PHONE] noted.', NULL, 'h') RETURNING 1"));
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
        cmocka_unit_test(test_store__embedded_cluster_lifecycle),
        cmocka_unit_test(test_store__migration_redacts_stored_evidence),
    };

    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
