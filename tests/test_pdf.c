/* test_pdf.c - the PDF reports through the binary, read back with real PDF
 * tools (qpdf, pdftotext, pdfinfo): numbers equal `callscope kpis`, hard
 * cases stay inside the page, failures write nothing */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/mem.h"
#include "helpers.h"
#include "report/model.h"

#define ENV_EXTRA                                                          \
    "CALLSCOPE_TEMPLATES_DIR=" CS_SOURCE_DIR "/templates "

static void expect_valid_pdf(const char *path)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *out = NULL;

    cs_buf_addf(&cmd, "qpdf --check '%s' 2>&1", path);
    if (th_sh(cmd.ptr, &out) != 0)
        fail_msg("qpdf --check %s: %s", path, out);
    assert_non_null(strstr(out, "No syntax or stream encoding errors"));
    free(out);
    cs_buf_release(&cmd);
}

static long pdf_pages(const char *path)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *out = NULL;
    const char *p;
    long n = -1;

    cs_buf_addf(&cmd, "pdfinfo '%s' 2>/dev/null", path);
    assert_int_equal(th_sh(cmd.ptr, &out), 0);
    p = strstr(out, "Pages:");
    if (p)
        n = strtol(p + 6, NULL, 10);
    free(out);
    cs_buf_release(&cmd);
    return n;
}

/*
 * Every word inside the page's margins: pdftotext -bbox gives each
 * word's box; none may reach past the 18 mm margins (a point of slack).
 */
static void expect_inside_margins(const char *path)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *out = NULL, *p;
    double page_w = 0;
    long words = 0;

    cs_buf_addf(&cmd, "pdftotext -q -bbox '%s' -", path);
    assert_int_equal(th_sh(cmd.ptr, &out), 0);
    for (p = strstr(out, "<page width=\""); p;
         p = strstr(p + 1, "<page width=\"")) {
        page_w = strtod(p + 13, NULL);
    }
    assert_true(page_w > 500);
    for (p = strstr(out, "<word xMin=\""); p;
         p = strstr(p + 1, "<word xMin=\"")) {
        double x0 = strtod(p + 12, NULL);
        const char *xm = strstr(p, "xMax=\"");
        double x1 = xm ? strtod(xm + 6, NULL) : 0;

        words++;
        if (x0 < 51 - 1.5 || x1 > page_w - 51 + 1.5) {
            char *end = strstr(p, "</word>");

            fail_msg("%s: a word leaves the margins (%.1f..%.1f of %.1f): "
                     "%.*s", path, x0, x1, page_w,
                     end ? (int)(end - p) : 80, p);
        }
    }
    assert_true(words > 50);
    free(out);
    cs_buf_release(&cmd);
}

static json_t *kpis(struct th_env *f, const char *env, const char *args)
{
    struct cs_buf a = CS_BUF_INIT;
    char *out = NULL;
    json_t *j;

    cs_buf_addf(&a, "kpis --format json %s", args);
    assert_int_equal(th_run(env, a.ptr, &out, NULL), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    free(out);
    cs_buf_release(&a);
    (void)f;
    return j;
}

static char *env_of(struct th_env *f, const char *rubrics)
{
    struct cs_buf e = CS_BUF_INIT;

    cs_buf_addf(&e, "%s" ENV_EXTRA "CALLSCOPE_RUBRICS_DIR=%s ", f->env.ptr,
                rubrics ? rubrics : CS_SOURCE_DIR "/rubrics");
    return cs_buf_detach(&e, NULL);
}

static void test_pdf__executive_holds_what_kpis_says(void **state)
{
    struct th_env *f = *state;
    char *env = env_of(f, CS_SOURCE_DIR "/tests/data/real-dev/rubrics");
    char *data = th_src("tests/data/real-dev/conversations.jsonl");
    struct cs_buf args = CS_BUF_INIT, want = CS_BUF_INIT, path = CS_BUF_INIT;
    char *out = NULL, *text;
    json_t *j, *t, *prev;
    size_t checked = 0;

    cs_buf_addf(&args, "ingest %s", data);
    assert_int_equal(th_run(env, args.ptr, NULL, NULL), 0);
    assert_int_equal(th_run(env, "score", NULL, NULL), 0);
    assert_int_equal(th_run(env, "report executive --month 2026-10 "
                            "--tenant civic-assist", &out, NULL), 0);
    cs_buf_addf(&path, "%s/reports/2026-10/executive-civic-assist.pdf",
                f->dir);
    assert_non_null(strstr(out, path.ptr));
    expect_valid_pdf(path.ptr);
    expect_inside_margins(path.ptr);
    text = th_pdf_text(path.ptr);
    j = kpis(f, env, "--from 2026-10-01 --to 2026-11-01 --tenant "
                     "civic-assist --no-compare");
    t = json_object_get(json_object_get(j, "tenants"), "civic-assist");
    assert_non_null(t);
    /* Every KPI of the definitions table, as the report formats it. */
    for (int i = 0; i < CS_KPI__COUNT; i++) {
        const struct cs_kpi_def *d = cs_kpi_def_get((enum cs_kpi_id)i);
        const char *dot = strchr(d->key, '.');
        json_t *v;

        if (d->flags & CS_KPI_F_NOT_IN_JSON)
            continue;
        if (dot) {
            char *head = cs_xstrndup(d->key, (size_t)(dot - d->key));

            v = json_object_get(json_object_get(t, head), dot + 1);
            free(head);
        } else {
            v = json_object_get(t, d->key);
        }
        assert_non_null(v);
        cs_buf_reset(&want);
        cs_buf_addf(&want, "%s ", d->label);
        th_people(&want, "$", d->unit, json_is_number(v) ? json_number_value(v)
                                                 : NAN);
        if (!strstr(text, want.ptr))
            fail_msg("the PDF lacks '%s'", want.ptr);
        checked++;
    }
    /* The tiles and the ROI panel say the same (the ROI line). */
    cs_buf_reset(&want);
    cs_buf_adds(&want, "Net savings ");
    th_people(&want, "$", CS_UNIT_MONEY,
           json_is_number(json_object_get(t, "net_savings"))
               ? json_number_value(json_object_get(t, "net_savings"))
               : NAN);
    assert_non_null(strstr(text, want.ptr));
    /* Every metric, by its rubric's name. */
    {
        static const char *const names[] = {"Call reason",
                                            "Task: completed",
                                            "Task: failure reported",
                                            "Task: offered by agent", NULL};
        const char *k;
        json_t *m;
        size_t n = 0;

        json_object_foreach(json_object_get(t, "metrics"), k, m)
            n++;
        assert_true(n >= 3);
        for (const char *const *nm = names; *nm; nm++) {
            if (!strstr(text, *nm))
                fail_msg("the PDF lacks the metric '%s'", *nm);
        }
    }
    /* The previous month is September's numbers. */
    prev = kpis(f, env, "--from 2026-09-01 --to 2026-10-01 --tenant "
                        "civic-assist --no-compare");
    cs_buf_reset(&want);
    th_people(&want, "$", CS_UNIT_COUNT,
           json_number_value(json_object_get(
               json_object_get(json_object_get(prev, "tenants"),
                               "civic-assist"),
               "conversations")));
    assert_non_null(strstr(text, want.ptr));
    assert_non_null(strstr(text, "page 1 of"));
    assert_non_null(strstr(text, "October 2026"));
    assert_true(checked > 30);
    json_decref(j);
    json_decref(prev);
    free(text);
    free(out);
    free(data);
    free(env);
    cs_buf_release(&args);
    cs_buf_release(&want);
    cs_buf_release(&path);
}

/* One conversation line with a failed tool call. */
static void add_line(struct cs_buf *b, const char *tenant, long i,
                     const char *day)
{
    cs_buf_addf(b, "{\"id\":\"c-%05ld\",\"tenant\":\"%s\",\"started_at\":"
                "\"%sT%02ld:%02ld:00Z\",\"answered_at\":\"%sT%02ld:%02ld:"
                "05Z\",\"ended_at\":\"%sT%02ld:%02ld:59Z\",\"turns\":["
                "{\"role\":\"customer\",\"text\":\"I want to book, call me "
                "at +1 415 555 0100\"},{\"role\":\"agent\",\"text\":\"Sorry,"
                " the calendar is down.\"}],\"tool_calls\":[{\"name\":"
                "\"calendar.book\",\"ok\":false}],\"costs\":{\"llm\":0.01}}"
                "\n", i, tenant, day, i % 24, i % 60, day, i % 24, i % 60,
                day, i % 24, i % 60);
}

static char *long_name(const char *stem)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_adds(&b, stem);
    while (b.len < 200)
        cs_buf_adds(&b, " Ærø Électricité Zürich");
    return cs_buf_detach(&b, NULL);
}

static void test_pdf__hard_cases_stay_inside_the_page(void **state)
{
    char *tenant_name = long_name("Société Générale d'Énergie");
    struct cs_buf cfg = CS_BUF_INIT, lines = CS_BUF_INIT, p = CS_BUF_INIT;
    struct th_env *f;
    char *env, *rdir, *text, *out = NULL, *err = NULL;

    (void)state;
    /* A 200-character accented display name, a fee that makes a loss. */
    cs_buf_addf(&cfg, "{\"tenants\": {\"default\": {\"human_cost_per_"
                "conversation\": 0.5, \"platform_fee\": 90000},"
                " \"long\": {\"display_name\": \"%s\"}}}", tenant_name);
    f = th_env_new(cfg.ptr);
    /* 40 rubrics with 200-character accented names. */
    rdir = th_tmpdir();
    for (int i = 0; i < 40; i++) {
        struct cs_buf r = CS_BUF_INIT, name = CS_BUF_INIT;
        char *nm;

        cs_buf_addf(&name, "M%02d: Qualité du résumé", i);
        nm = long_name(name.ptr);
        cs_buf_addf(&p, "%s/metric_%02d.json", rdir, i);
        cs_buf_addf(&r, "{\"name\": \"%s\", \"type\": \"boolean\","
                    " \"definition\": \"Whether the agent apologised.\","
                    " \"success\": \"It did.\", \"failure\": \"It did not.\","
                    " \"rules\": [{\"turn_matches\": \"(?i)sorry\","
                    " \"role\": \"agent\", \"value\": %s},"
                    " {\"default\": true}]}", nm, i % 2 ? "false" : "true");
        th_write(p.ptr, r.ptr, r.len);
        cs_buf_reset(&p);
        free(nm);
        cs_buf_release(&r);
        cs_buf_release(&name);
    }
    env = env_of(f, rdir);
    /* 5,000 conversations worth a look (a failed tool call each). */
    for (long i = 0; i < 5000; i++)
        add_line(&lines, "long", i, i % 2 ? "2026-10-14" : "2026-10-15");
    cs_buf_addf(&p, "%s/in.jsonl", f->dir);
    th_write(p.ptr, lines.ptr, lines.len);
    cs_buf_reset(&lines);
    cs_buf_addf(&lines, "ingest %s", p.ptr);
    assert_int_equal(th_run(env, lines.ptr, NULL, NULL), 0);
    assert_int_equal(th_run(env, "score", NULL, NULL), 0);
    /* A tenant that is never scored: ingested after scoring. */
    cs_buf_reset(&lines);
    add_line(&lines, "unscored", 1, "2026-10-15");
    th_write(p.ptr, lines.ptr, lines.len);
    cs_buf_reset(&lines);
    cs_buf_addf(&lines, "ingest %s", p.ptr);
    assert_int_equal(th_run(env, lines.ptr, NULL, NULL), 0);

    if (th_run(env, "report executive --month 2026-10", &out, &err) != 0)
        fail_msg("report executive: %s", err);
    free(out);
    free(err);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/2026-10/executive-long.pdf", f->dir);
    expect_valid_pdf(p.ptr);
    expect_inside_margins(p.ptr);
    text = th_pdf_text(p.ptr);
    assert_non_null(strstr(text, "cost more than it saved"));
    assert_non_null(strstr(text, "\xe2\x88\x92$")); /* the loss, signed */
    assert_non_null(strstr(text, "\xe2\x80\xa6")); /* long names cut */
    assert_non_null(strstr(text, "and 4990 more"));
    assert_non_null(strstr(text, "M39: Qualit")); /* the 40th metric */
    free(text);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/2026-10/executive-unscored.pdf", f->dir);
    expect_valid_pdf(p.ptr);
    expect_inside_margins(p.ptr);
    text = th_pdf_text(p.ptr);
    assert_non_null(strstr(text, "Not scored yet"));
    assert_non_null(strstr(text, "\xe2\x80\x94")); /* null KPIs */
    free(text);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/2026-10/executive-all.pdf", f->dir);
    expect_valid_pdf(p.ptr);
    expect_inside_margins(p.ptr);
    /* An empty month of a named tenant renders, and says so. */
    assert_int_equal(th_run(env, "report executive --month 2026-06 --tenant"
                            " long", NULL, NULL), 0);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/2026-06/executive-long.pdf", f->dir);
    expect_valid_pdf(p.ptr);
    expect_inside_margins(p.ptr);
    text = th_pdf_text(p.ptr);
    assert_non_null(strstr(text, "No conversations in June 2026"));
    free(text);
    /* The daily page holds on one page, the list cut with "and N more". */
    assert_int_equal(th_run(env, "report daily --date 2026-10-15 --tenant "
                            "long", NULL, NULL), 0);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/reports/daily/2026-10-15/daily-long.pdf", f->dir);
    expect_valid_pdf(p.ptr);
    expect_inside_margins(p.ptr);
    assert_int_equal(pdf_pages(p.ptr), 1);
    text = th_pdf_text(p.ptr);
    assert_non_null(strstr(text, " more"));
    /* The day's movers against the day before have their place too. */
    assert_non_null(strstr(text, "What moved against the day before"));
    free(text);
    th_rmtree(rdir);
    free(rdir);
    free(env);
    free(tenant_name);
    cs_buf_release(&cfg);
    cs_buf_release(&lines);
    cs_buf_release(&p);
    th_env_free(f);
}

static char *file_or_null(const char *path)
{
    return th_read(path);
}

static void test_pdf__a_failure_writes_nothing(void **state)
{
    struct th_env *f = *state;
    char *env = env_of(f, NULL), *before, *after, *err = NULL;
    struct cs_buf lines = CS_BUF_INIT, p = CS_BUF_INIT, e = CS_BUF_INIT;
    struct cs_buf pdf = CS_BUF_INIT, cmd = CS_BUF_INIT;
    char *listing = NULL;

    add_line(&lines, "acme", 1, "2026-10-15");
    cs_buf_addf(&p, "%s/in.jsonl", f->dir);
    th_write(p.ptr, lines.ptr, lines.len);
    cs_buf_reset(&lines);
    cs_buf_addf(&lines, "ingest %s", p.ptr);
    assert_int_equal(th_run(env, lines.ptr, NULL, NULL), 0);
    if (th_run(env, "report executive --month 2026-10 --tenant acme", NULL,
               &err) != 0)
        fail_msg("report executive: %s", err);
    free(err);
    cs_buf_addf(&pdf, "%s/reports/2026-10/executive-acme.pdf", f->dir);
    before = file_or_null(pdf.ptr);
    assert_non_null(before);

    /* A template without an entry the report needs. */
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/broken.tmpl", f->dir);
    {
        /* The real templates with one placeholder the code does not
         * know; then a file that lacks entries. */
        char *src = th_src("templates/report.tmpl");
        char *real = th_read(src), *at;

        assert_non_null(real);
        at = strstr(real, "{{tz}} \xc2\xb7 generated");
        assert_non_null(at);
        memcpy(at, "{{nope}}", 8);
        th_write(p.ptr, real, strlen(real));
        free(real);
        free(src);
    }
    cs_buf_addf(&e, "%s" ENV_EXTRA "CALLSCOPE_RUBRICS_DIR=%s/rubrics "
                "CALLSCOPE_CONFIG=%s/c.json ", f->env.ptr, CS_SOURCE_DIR,
                f->dir);
    cs_buf_reset(&lines);
    cs_buf_addf(&lines, "{\"report\": {\"templates\": \"%s\"}}", p.ptr);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/c.json", f->dir);
    th_write(p.ptr, lines.ptr, lines.len);
    assert_int_equal(th_run(e.ptr, "report executive --month 2026-10 "
                            "--tenant acme", NULL, &err), 3);
    if (!strstr(err, "broken.tmpl:") ||
        !strstr(err, ": '@subtitle': unknown placeholder 'nope'"))
        fail_msg("unexpected error: %s", err);
    free(err);
    cs_buf_reset(&lines);
    cs_buf_addf(&lines, "%s/broken.tmpl", f->dir);
    th_write(lines.ptr, "@month_10\nOctober\n", 18);
    assert_int_equal(th_run(e.ptr, "report executive --month 2026-10 "
                            "--tenant acme", NULL, &err), 3);
    assert_non_null(strstr(err, "no entry '@"));
    free(err);
    /* A missing font, named. */
    cs_buf_reset(&lines);
    cs_buf_adds(&lines, "{\"report\": {\"fonts\": {\"regular\": "
                "\"/nonexistent/Font.ttf\"}}}");
    th_write(p.ptr, lines.ptr, lines.len);
    assert_int_equal(th_run(e.ptr, "report executive --month 2026-10 "
                            "--tenant acme", NULL, &err), 3);
    assert_non_null(strstr(err, "/nonexistent/Font.ttf"));
    free(err);
    /* A logo that is not an image. */
    cs_buf_reset(&lines);
    cs_buf_addf(&lines, "{\"report\": {\"logo\": \"%s/in.jsonl\"}}", f->dir);
    th_write(p.ptr, lines.ptr, lines.len);
    assert_int_equal(th_run(e.ptr, "report executive --month 2026-10 "
                            "--tenant acme", NULL, &err), 3);
    assert_non_null(strstr(err, "neither PNG nor JPEG"));
    free(err);
    /* A disk that fills up while the PDF is written (a file size limit of
     * 64 KiB; the report is about 200): an error naming the file. */
    cs_buf_reset(&lines);
    cs_buf_addf(&lines, "ulimit -f 64; %s", env);
    assert_int_equal(th_run(lines.ptr, "report executive --month 2026-10 "
                            "--tenant acme", NULL, &err), 1);
    assert_non_null(strstr(err, "executive-acme.pdf"));
    free(err);
    /* A database that cannot be reached. */
    assert_int_equal(th_run("CALLSCOPE_DATABASE_URL='host=/nonexistent "
                            "dbname=x' " ENV_EXTRA,
                            "report executive --month 2026-10 --tenant acme",
                            NULL, &err), 1);
    free(err);
    /* The earlier file is untouched and no temporary file is left. */
    after = file_or_null(pdf.ptr);
    assert_non_null(after);
    assert_string_equal(before, after);
    cs_buf_addf(&cmd, "ls %s/reports/2026-10/", f->dir);
    assert_int_equal(th_sh(cmd.ptr, &listing), 0);
    assert_string_equal(listing, "executive-acme.pdf\n");
    free(listing);
    free(before);
    free(after);
    free(env);
    cs_buf_release(&lines);
    cs_buf_release(&p);
    cs_buf_release(&e);
    cs_buf_release(&pdf);
    cs_buf_release(&cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_ENV_TEST(test_pdf__executive_holds_what_kpis_says),
        cmocka_unit_test(test_pdf__hard_cases_stay_inside_the_page),
        TH_ENV_TEST(test_pdf__a_failure_writes_nothing),
    };

    return cmocka_run_group_tests_name("pdf", tests, NULL, NULL);
}
