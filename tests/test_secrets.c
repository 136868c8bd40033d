/* test_secrets.c - secrets and personal data stay where they belong: the
 * whole product run once (score by the LLM double, nightly, monthly, the
 * client workbook, exports), then every output searched */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "helpers.h"

#define LLM_KEY "sk-live-7Hq2-NEVER-ANYWHERE"
#define SMTP_PW "smtp-pw-Zx81-NEVER-ANYWHERE"
#define PHONE "+1 415 555 0199"
#define EMAIL "jane.doe.secret@example.org"
#define CARD "4111 1111 1111 1111"

static const char *const secrets[] = {LLM_KEY, SMTP_PW, NULL};
static const char *const personal[] = {PHONE, EMAIL, CARD, "4111111111111111",
                                       "555 0199", NULL};

static void expect_none(const char *what, const char *text,
                        const char *const *needles)
{
    for (const char *const *n = needles; *n; n++) {
        if (text && strstr(text, *n))
            fail_msg("%s holds '%s'", what, *n);
    }
}

/* The text a person or a program could read from every file under
 * `dir`: PDFs through pdftotext, workbooks unzipped, mails decoded,
 * everything else as it is. */
static char *readable_files(const char *dir)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *out = NULL;

    cs_buf_addf(&cmd,
                "find '%s' -type f | sort | while read -r f; do "
                "echo \"== $f\"; case \"$f\" in "
                "*.pdf) pdftotext -q -enc UTF-8 \"$f\" - ;; "
                "*.xlsx) /usr/bin/python3 -c 'import sys,zipfile; "
                "z=zipfile.ZipFile(sys.argv[1]); "
                "print(\"\".join(z.read(n).decode(\"utf-8\",\"replace\") "
                "for n in z.namelist()))' \"$f\" ;; "
                "*.eml) /usr/bin/python3 -c 'import sys,email,email.policy; "
                "m=email.message_from_bytes(open(sys.argv[1],\"rb\").read(),"
                "policy=email.policy.default); print(str(m.items())); "
                "[print(p.get_content()) for p in m.walk() "
                "if p.get_content_maintype()==\"text\"]' \"$f\"; "
                "cat \"$f\" ;; "
                "*) cat \"$f\" ;; esac; done", dir);
    assert_int_equal(th_sh(cmd.ptr, &out), 0);
    cs_buf_release(&cmd);
    return out;
}

static void test_secrets__no_key_password_or_personal_data_leaks(
    void **state)
{
    struct th_env *e;
    struct cs_buf cfg = CS_BUF_INIT, env = CS_BUF_INIT, log = CS_BUF_INIT;
    struct cs_buf p = CS_BUF_INIT, lines = CS_BUF_INIT;
    char *out = NULL, *err = NULL, *files, *dump = NULL, *requests;
    static const char *const cmds[] = {
        "score -vv",
        "nightly -vv --date 2026-10-15",
        "monthly -vv --month 2026-10",
        "report client -vv --tenant acme --from 2026-10-01 --to 2026-11-01",
        "results export --format csv",
        "results export --format jsonl",
        "kpis --format table --from 2026-10-01 --to 2026-11-01",
        "config show",
        "mail --status",
        NULL};

    (void)state;
    cs_buf_addf(&cfg, "{\"sentiment_lexicon\": \"%s/config/sentiment-"
                "lexicon.txt\", \"llm\": {\"model\": \"judge-1\"},"
                " \"tenants\": {\"acme\": {\"display_name\": \"Acme\","
                " \"human_cost_per_conversation\": 4,"
                " \"recipients\": [\"ops@acme.example\"]}},"
                " \"internal_recipients\": [\"team@callscope.example\"]}",
                CS_SOURCE_DIR);
    e = th_env_new(cfg.ptr);
    th_double_start(&e->dbl, e->dir, NULL);
    cs_buf_addf(&env, "%sCALLSCOPE_RUBRICS_DIR=%s/rubrics "
                "CALLSCOPE_TEMPLATES_DIR=%s/templates "
                "CALLSCOPE_LLM_BASE_URL=http://127.0.0.1:%ld/v1 "
                "CALLSCOPE_LLM_API_KEY=" LLM_KEY " "
                "CALLSCOPE_SMTP_USER=reports CALLSCOPE_SMTP_PASSWORD=" SMTP_PW
                " ", e->env.ptr, CS_SOURCE_DIR, CS_SOURCE_DIR, e->dbl.port);
    /* Personal data in the caller's turns, the agent's and the handoff
     * reason of conversations of October. */
    for (int i = 0; i < 12; i++)
        cs_buf_addf(&lines,
                    "{\"id\":\"c%02d\",\"tenant\":\"acme\",\"started_at\":"
                    "\"2026-10-%02dT10:00:00Z\",\"answered_at\":\"2026-10-"
                    "%02dT10:00:02Z\",\"ended_at\":\"2026-10-%02dT10:03:00Z\","
                    "\"caller\":\"" PHONE "\",\"handoff\":%s,"
                    "\"turns\":[{\"role\":\"customer\",\"text\":\"I want to "
                    "book; call me on " PHONE " or mail " EMAIL ", card "
                    CARD "\"},{\"role\":\"agent\",\"text\":\"You're booked, "
                    "I sent it to " EMAIL ".\"}],\"tool_calls\":[{\"name\":"
                    "\"calendar.book\",\"ok\":%s}],\"costs\":{\"llm\":0.01},"
                    "\"csat\":%d}\n", i, 10 + i % 6, 10 + i % 6, 10 + i % 6,
                    i % 3 ? "null"
                          : "{\"type\":\"warm\",\"target\":\"desk\","
                            "\"reason\":\"asked to call " PHONE "\"}",
                    i % 4 ? "true" : "false", 1 + i % 5);
    cs_buf_addf(&p, "%s/pii.jsonl", e->dir);
    th_write(p.ptr, lines.ptr, lines.len);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "ingest -vv %s/pii.jsonl", e->dir);
    assert_int_equal(th_run(env.ptr, p.ptr, &out, &err), 0);
    cs_buf_addf(&log, "%s%s", out, err);
    free(out);
    free(err);
    for (const char *const *c = cmds; *c; c++) {
        int rc = th_run(env.ptr, *c, &out, &err);

        if (rc != 0 && rc != 4)
            fail_msg("'%s' exited %d: %s", *c, rc, err);
        cs_buf_addf(&log, "== %s\n%s%s", *c, out, err);
        free(out);
        free(err);
    }
    /* The LLM key went into the Authorization header, and nowhere else:
     * not into any output, log, report, mail, metrics file or table. */
    expect_none("the commands' output and logs", log.ptr, secrets);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports", e->dir);
    files = readable_files(p.ptr);
    assert_non_null(strstr(files, ".eml"));
    assert_non_null(strstr(files, ".prom"));
    assert_non_null(strstr(files, "executive-acme.pdf"));
    assert_non_null(strstr(files, "client-acme.xlsx"));
    expect_none("the files under reports/", files, secrets);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "pg_dump --data-only '%s' 2>/dev/null || "
                "/usr/lib/postgresql/*/bin/pg_dump --data-only '%s'", e->db,
                e->db);
    assert_int_equal(th_sh(p.ptr, &dump), 0);
    assert_non_null(strstr(dump, "COPY public.results"));
    expect_none("the database", dump, secrets);
    /* The search sees what is there: the stored conversations keep the
     * caller's number as ingested (only what leaves is redacted). */
    assert_non_null(strstr(dump, PHONE));
    assert_non_null(strstr(log.ptr, "scored 12 conversations"));
    /* Personal data: redacted before the LLM saw a turn, and in no report,
     * mail, export or log (the stored conversations keep it, as
     * ingested). */
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/double.log", e->dir);
    requests = th_read(p.ptr);
    assert_non_null(requests);
    assert_non_null(strstr(requests, "[PHONE]"));
    expect_none("the requests the LLM received", requests, personal);
    expect_none("the files under reports/", files, personal);
    expect_none("the commands' output and logs", log.ptr, personal);
    free(requests);
    free(files);
    free(dump);
    cs_buf_release(&cfg);
    cs_buf_release(&env);
    cs_buf_release(&log);
    cs_buf_release(&p);
    cs_buf_release(&lines);
    th_env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_secrets__no_key_password_or_personal_data_leaks),
    };

    return cmocka_run_group_tests_name("secrets", tests, NULL, NULL);
}
