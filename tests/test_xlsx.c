/* test_xlsx.c - the client workbook through the real binary, read back
 * by LibreOffice (every sheet as CSV) and by Python's zipfile */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <dirent.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/parse.h"
#include "helpers.h"
#include "report/model.h"

#define FROM "2026-10-01"
#define TO "2026-11-01"
#define ZONE "America/New_York"
#define N_METRICS 40

/* ---- CSV as LibreOffice writes it -------------------------------------- */

struct csv {
    char ***rows;           /* rows[i][j] */
    size_t *n_fields;
    size_t n;
};

static struct csv *csv_read(const char *path)
{
    char *text = th_read(path);
    struct csv *c = cs_xcalloc(1, sizeof(*c));
    struct cs_buf field = CS_BUF_INIT;
    char **row = NULL;
    size_t nf = 0;
    int quoted = 0;

    if (!text)
        fail_msg("LibreOffice wrote no '%s'", path);
    for (const char *p = text;; p++) {
        if (quoted) {
            if (*p == '\0')
                fail_msg("%s: unterminated quote", path);
            if (*p == '"' && p[1] == '"') {
                cs_buf_addch(&field, '"');
                p++;
            } else if (*p == '"') {
                quoted = 0;
            } else {
                cs_buf_addch(&field, *p);
            }
            continue;
        }
        if (*p == '"') {
            quoted = 1;
        } else if (*p == ',' || *p == '\n' || *p == '\0') {
            if (*p == '\0' && nf == 0 && field.len == 0)
                break;
            row = cs_xrealloc(row, (nf + 1) * sizeof(*row));
            row[nf++] = cs_buf_detach(&field, NULL);
            if (*p != ',') {
                c->rows = cs_xrealloc(c->rows, (c->n + 1) * sizeof(*c->rows));
                c->n_fields = cs_xrealloc(c->n_fields,
                                          (c->n + 1) * sizeof(*c->n_fields));
                c->rows[c->n] = row;
                c->n_fields[c->n++] = nf;
                row = NULL;
                nf = 0;
            }
            if (*p == '\0')
                break;
        } else if (*p != '\r') {
            cs_buf_addch(&field, *p);
        }
    }
    free(text);
    return c;
}

static const char *csv_at(const struct csv *c, size_t r, size_t f)
{
    return r < c->n && f < c->n_fields[r] ? c->rows[r][f] : "";
}

static void csv_free(struct csv *c)
{
    for (size_t i = 0; c && i < c->n; i++) {
        for (size_t j = 0; j < c->n_fields[i]; j++)
            free(c->rows[i][j]);
        free(c->rows[i]);
    }
    if (c) {
        free(c->rows);
        free(c->n_fields);
    }
    free(c);
}

/* A cell LibreOffice exported unformatted: a number, a percentage
 * ("93.8%" = 0.938), or null ("" or "—"). Returns 0 for null. */
static int cell_number(const char *s, double *out, int *percent)
{
    char *end;
    size_t n = strlen(s);

    *percent = 0;
    if (n == 0 || strcmp(s, "\xe2\x80\x94") == 0)
        return 0;
    *out = strtod(s, &end);
    if (*end == '%' && end[1] == '\0') {
        *out /= 100;
        *percent = 1;
    } else if (*end != '\0') {
        fail_msg("'%s' is not a number", s);
    }
    return 1;
}

static int close_to(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(a));
}

/* ---- The fixture ------------------------------------------------------- */

struct fx {
    struct th_env *e;
    char *display;          /* 200 characters, accents and an '&' */
    char *xlsx;             /* acme-dental, October */
    char *empty_xlsx;       /* bluebird-energy, a period without data */
    char *quiet_xlsx;       /* a tenant nobody scored */
    char *csv;              /* LibreOffice's output folder */
    json_t *kpis;           /* `kpis --format json` of acme-dental */
};

static char *run_ok(struct fx *f, const char *args)
{
    char *out = NULL, *err = NULL;
    int rc = th_run(f->e->env.ptr, args, &out, &err);

    if (rc != 0)
        fail_msg("'callscope %s' exited %d: %s", args, rc, err);
    free(err);
    return out;
}

/* A path printed by `report client`, without its newline (new). */
static char *report(struct fx *f, const char *tenant, const char *from,
                    const char *to)
{
    struct cs_buf a = CS_BUF_INIT;
    char *out;

    cs_buf_addf(&a, "report client --tenant %s --from %s --to %s", tenant,
                from, to);
    out = run_ok(f, a.ptr);
    cs_buf_release(&a);
    out[strcspn(out, "\n")] = '\0';
    assert_true(cs_fs_exists(out));
    return out;
}

static void ingest_text(struct fx *f, const char *name, const char *text)
{
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;

    cs_buf_addf(&p, "%s/%s", f->e->dir, name);
    th_write(p.ptr, text, strlen(text));
    cs_buf_addf(&a, "ingest %s", p.ptr);
    free(run_ok(f, a.ptr));
    cs_buf_release(&p);
    cs_buf_release(&a);
}

/* Conversations whose text looks like formulas, a phone number in a
 * handoff reason, a control character, and 40 metrics the agent logged
 * (booleans, numbers, labels). Two lie on the edges of October in New
 * York: 2026-10-01T03:30Z is still September there, 2026-11-01T03:30Z
 * still October. */
static void crafted(struct cs_buf *b)
{
    static const char *const convs[][4] = {
        {"=HYPERLINK(\\\"http://x.example\\\",\\\"x\\\")", "+agent-v9",
         "2026-11-01T03:30:00Z",
         "@SUM(A1) then =1+2; call me at +1 415 555 0123 \\u0007 ok"},
        {"-42", "@bot", "2026-10-15T12:00:00Z", "-1+1 caller asked"},
        {"edge-september", "receptionist-v3", "2026-10-01T03:30:00Z",
         "too early"},
    };

    for (size_t i = 0; i < 3; i++) {
        char ans[40], end[40];

        snprintf(ans, sizeof(ans), "%.17s02Z", convs[i][2]);
        snprintf(end, sizeof(end), "%.14s31:02Z", convs[i][2]);
        cs_buf_addf(b, "{\"id\":\"%s\",\"tenant\":\"acme-dental\","
                    "\"agent\":\"%s\",\"started_at\":\"%s\","
                    "\"answered_at\":\"%s\",\"ended_at\":\"%s\","
                    "\"caller\":\"+14155550199\",\"callee\":\"+18005550100\","
                    "\"handoff\":{\"type\":\"warm\",\"target\":\"desk\","
                    "\"at_s\":30,\"reason\":\"%s\"},"
                    "\"turns\":[{\"role\":\"customer\",\"text\":\"=2+2 "
                    "book me\"},{\"role\":\"agent\",\"text\":\"sure\"}],"
                    "\"costs\":{\"llm\":0.0125},\"csat\":4,\"metrics\":[",
                    convs[i][0], convs[i][1], convs[i][2], ans, end,
                    convs[i][3]);
        for (int m = 1; m <= N_METRICS; m++) {
            cs_buf_addf(b, "%s{\"name\":\"m%02d\",\"value\":", m > 1 ? "," : "",
                        m);
            if (m % 3 == 0)
                cs_buf_addf(b, "%s", (m + (int)i) % 2 ? "true" : "false");
            else if (m % 3 == 1)
                cs_buf_addf(b, "%d.5", m);
            else
                cs_buf_adds(b, m == 2 ? "\"=cmd|' /C calc'!A0\"" : "\"lbl\"");
            cs_buf_addch(b, '}');
        }
        cs_buf_adds(b, "]}\n");
    }
}

/* 200 characters (not bytes): accents, an ampersand, a dash. */
static char *long_name(void)
{
    static const char part[] = "Clínica Dentária São João & Zoë "
                               "Ærøskøbing — Müller-Ñúñez · ";
    struct cs_buf b = CS_BUF_INIT;
    size_t chars = 0;

    for (size_t i = 0;; i++) {
        char ch = part[i % (sizeof(part) - 1)];

        if (((unsigned char)ch & 0xC0) != 0x80 && chars++ == 200)
            break;
        cs_buf_addch(&b, ch);
    }
    return cs_buf_detach(&b, NULL);
}

/* Every sheet of the given files as CSV in UTF-8 (one LibreOffice run). */
static void to_csv(struct fx *f, const char *files)
{
    struct cs_buf cmd = CS_BUF_INIT;
    char *log;
    int rc;

    cs_buf_addf(&cmd, "soffice --headless -env:UserInstallation=file://%s/lo"
                " --convert-to 'csv:Text - txt - csv (StarCalc):44,34,76,1,,"
                "0,false,true,false,false,false,-1' --outdir %s %s "
                ">%s/lo.log 2>&1", f->e->dir, f->csv, files, f->e->dir);
    rc = system(cmd.ptr);
    cs_buf_reset(&cmd);
    cs_buf_addf(&cmd, "%s/lo.log", f->e->dir);
    log = th_read(cmd.ptr);
    if (rc != 0)
        fail_msg("soffice failed (%d): %s", rc, log ? log : "");
    free(log);
    cs_buf_release(&cmd);
}

static struct csv *sheet(struct fx *f, const char *stem, const char *name)
{
    struct cs_buf p = CS_BUF_INIT;
    struct csv *c;

    cs_buf_addf(&p, "%s/%s-%s.csv", f->csv, stem, name);
    c = csv_read(p.ptr);
    cs_buf_release(&p);
    return c;
}

static int group_setup(void **state)
{
    struct fx *f = cs_xcalloc(1, sizeof(*f));
    struct cs_buf cfg = CS_BUF_INIT, data = CS_BUF_INIT, a = CS_BUF_INIT;
    char *out;
    json_error_t jerr;

    f->display = long_name();
    cs_buf_addf(&cfg,
                "{\"sentiment_lexicon\": \"%s/config/sentiment-lexicon.txt\","
                " \"tenants\": {"
                "  \"default\": {\"timezone\": \"UTC\","
                "   \"human_cost_per_conversation\": 4.5},"
                "  \"acme-dental\": {\"timezone\": \"" ZONE "\","
                "   \"display_name\": \"%s\", \"currency\": \"EUR\","
                "   \"currency_symbol\": \"\xe2\x82\xac\","
                "   \"platform_fee\": 50},"
                "  \"bluebird-energy\": {\"timezone\": \"America/Chicago\"},"
                "  \"quiet\": {\"timezone\": \"Europe/Berlin\"}}}",
                CS_SOURCE_DIR, f->display);
    f->e = th_env_new(cfg.ptr);
    cs_buf_addf(&f->e->env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics ",
                CS_SOURCE_DIR);
    cs_buf_addf(&a, "sample --start 2026-09-01 --days 61 --per-day 40 "
                "-o %s/sample.jsonl", f->e->dir);
    free(run_ok(f, a.ptr));
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest %s/sample.jsonl", f->e->dir);
    free(run_ok(f, a.ptr));
    crafted(&data);
    ingest_text(f, "crafted.jsonl", data.ptr);
    free(run_ok(f, "score"));
    /* Ingested after scoring: nothing of it is scored. */
    ingest_text(f, "quiet.jsonl",
                "{\"id\":\"q1\",\"tenant\":\"quiet\",\"started_at\":"
                "\"2026-10-10T10:00:00Z\",\"turns\":[{\"role\":\"customer\","
                "\"text\":\"hello\"}]}\n");

    f->xlsx = report(f, "acme-dental", FROM, TO);
    f->empty_xlsx = report(f, "bluebird-energy", "2030-01-01", "2030-02-01");
    f->quiet_xlsx = report(f, "quiet", FROM, TO);
    cs_buf_reset(&a);
    cs_buf_addf(&a, "%s/csv", f->e->dir);
    f->csv = cs_buf_detach(&a, NULL);
    cs_buf_addf(&a, "'%s' '%s' '%s'", f->xlsx, f->empty_xlsx, f->quiet_xlsx);
    to_csv(f, a.ptr);
    out = run_ok(f, "kpis --format json --from " FROM " --to " TO
                 " --tenant acme-dental");
    f->kpis = json_loads(out, 0, &jerr);
    assert_non_null(f->kpis);
    free(out);
    cs_buf_release(&cfg);
    cs_buf_release(&data);
    cs_buf_release(&a);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fx *f = *state;

    th_env_free(f->e);
    free(f->display);
    free(f->xlsx);
    free(f->empty_xlsx);
    free(f->quiet_xlsx);
    free(f->csv);
    json_decref(f->kpis);
    free(f);
    return 0;
}

/* Runs /usr/bin/python3 -c `script` with `arg`; its stdout (new). */
static char *python(struct fx *f, const char *script, const char *arg)
{
    struct cs_buf p = CS_BUF_INIT, cmd = CS_BUF_INIT;
    char *out;

    cs_buf_addf(&p, "%s/check.py", f->e->dir);
    th_write(p.ptr, script, strlen(script));
    cs_buf_addf(&cmd, "/usr/bin/python3 %s '%s' >%s.out 2>&1", p.ptr, arg,
                p.ptr);
    if (system(cmd.ptr) != 0) {
        cs_buf_addf(&p, ".out");
        fail_msg("python check failed: %s", th_read(p.ptr));
    }
    cs_buf_addf(&p, ".out");
    out = th_read(p.ptr);
    cs_buf_release(&p);
    cs_buf_release(&cmd);
    return out;
}

/* ---- Tests -------------------------------------------------------------- */

/* Numeric leaves of the tenant's JSON that the Summary must carry. */
static void kpi_leaves(json_t *o, const char *prefix, json_t *acc)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v) {
        struct cs_buf p = CS_BUF_INIT;

        if (!*prefix && (strcmp(k, "previous") == 0 ||
                         strcmp(k, "alerts") == 0))
            continue;
        if (strcmp(k, "counts") == 0 || strcmp(k, "type") == 0)
            continue;
        cs_buf_addf(&p, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(v))
            kpi_leaves(v, p.ptr, acc);
        else if (json_is_number(v) || json_is_null(v))
            json_array_append_new(acc, json_string(p.ptr));
        cs_buf_release(&p);
    }
}

static void expect_cell(const char *what, const char *key, const char *cell,
                        const json_t *want)
{
    double got = 0;
    int pct;

    /* A metric's count absent from the other period is 0 there (the
     * JSON of that period has no such key). */
    if (!want && strncmp(key, "metrics.", 8) == 0 &&
        strcmp(cell, "0") == 0)
        return;
    if (!cell_number(cell, &got, &pct)) {
        if (want && !json_is_null(want))
            fail_msg("%s of '%s': empty, expected %.17g", what, key,
                     json_number_value(want));
        return;
    }
    if (!json_is_number(want))
        fail_msg("%s of '%s': %s, expected null", what, key, cell);
    if (!close_to(json_number_value(want), got))
        fail_msg("%s of '%s': %.17g, expected %.17g", what, key, got,
                 json_number_value(want));
}

/*
 * One tenant-month, three renderings of one model: every KPI of the
 * definitions table is the same number in `kpis --format json`, in the
 * XLSX Summary (as a typed cell) and in the executive PDF (as the report
 * formats it, read back with pdftotext).
 */
static void test_xlsx__pdf_and_xlsx_carry_the_same_numbers(void **state)
{
    struct fx *f = *state;
    struct csv *c = sheet(f, "client-acme-dental", "Summary");
    json_t *t = th_json_path(f->kpis, "tenants.acme-dental");
    struct cs_buf env = CS_BUF_INIT, pdf = CS_BUF_INIT, want = CS_BUF_INIT;
    char *out = NULL, *err = NULL, *text;
    size_t checked = 0;

    cs_buf_addf(&env, "%sCALLSCOPE_TEMPLATES_DIR=%s/templates ",
                f->e->env.ptr, CS_SOURCE_DIR);
    if (th_run(env.ptr, "report executive --month 2026-10 --tenant "
               "acme-dental", &out, &err) != 0)
        fail_msg("report executive: %s", err);
    cs_buf_addf(&pdf, "%s/reports/2026-10/executive-acme-dental.pdf",
                f->e->dir);
    text = th_pdf_text(pdf.ptr);
    for (int i = 0; i < CS_KPI__COUNT; i++) {
        const struct cs_kpi_def *d = cs_kpi_def_get((enum cs_kpi_id)i);
        const json_t *v;
        size_t r = 0;

        if (d->flags & CS_KPI_F_NOT_IN_JSON)
            continue;
        v = th_json_path(t, d->key);
        assert_non_null(v);
        /* The XLSX. */
        while (r < c->n && strcmp(csv_at(c, r, 4), d->key) != 0)
            r++;
        if (r == c->n)
            fail_msg("no Summary row for '%s'", d->key);
        expect_cell("XLSX value", d->key, csv_at(c, r, 1), v);
        /* The PDF: "<label> <value>" in the methods table. */
        cs_buf_reset(&want);
        cs_buf_addf(&want, "%s ", d->label);
        th_people(&want, "\xe2\x82\xac", d->unit,
                  json_is_number(v) ? json_number_value(v) : NAN);
        if (!strstr(text, want.ptr))
            fail_msg("the PDF lacks '%s'", want.ptr);
        checked++;
    }
    assert_true(checked > 30);
    free(text);
    free(out);
    free(err);
    csv_free(c);
    cs_buf_release(&env);
    cs_buf_release(&pdf);
    cs_buf_release(&want);
}

static void test_xlsx__summary_matches_kpis_json(void **state)
{
    struct fx *f = *state;
    struct csv *c = sheet(f, "client-acme-dental", "Summary");
    json_t *t = th_json_path(f->kpis, "tenants.acme-dental");
    json_t *prev = json_object_get(t, "previous");
    json_t *leaves = json_array(), *seen = json_object();
    size_t i, n = 0, head = 0;
    const char *title;
    json_t *v;

    assert_non_null(t);
    /* The title is the display name, accents intact, shortened with
     * "…" (the properties keep it whole); the note row gives the period
     * and the zone. */
    title = csv_at(c, 0, 0);
    assert_true(strlen(title) > 80);
    assert_int_equal(strncmp(title, f->display, strlen(title) - 3), 0);
    assert_string_equal(title + strlen(title) - 3, "\xe2\x80\xa6");
    assert_non_null(strstr(csv_at(c, 1, 0), FROM " to 2026-10-31"));
    assert_non_null(strstr(csv_at(c, 1, 0), ZONE));
    while (head < c->n && strcmp(csv_at(c, head, 0), "KPI") != 0)
        head++;
    assert_string_equal(csv_at(c, head, 1), "Value");
    for (size_t r = head + 1; r < c->n; r++) {
        const char *key = csv_at(c, r, 4);
        const struct cs_kpi_def *d = cs_kpi_def_find(key);
        double val, pv, ch;
        int pct, chpct;

        if (!*key)
            continue;
        n++;
        json_object_set_new(seen, key, json_true());
        if (d && (d->flags & CS_KPI_F_NOT_IN_JSON))
            continue; /* derived for people */
        if (!th_json_path(t, key))
            fail_msg("Summary row '%s' is not in the JSON", key);
        expect_cell("value", key, csv_at(c, r, 1), th_json_path(t, key));
        expect_cell("previous", key, csv_at(c, r, 2),
                    th_json_path(prev, key));
        /* The change in the KPI's own terms: points for rates (the value
         * is a percentage), relative where the change is, else absolute. */
        if (!cell_number(csv_at(c, r, 3), &ch, &chpct))
            continue;
        assert_true(cell_number(csv_at(c, r, 1), &val, &pct));
        assert_true(cell_number(csv_at(c, r, 2), &pv, &pct));
        if (pct)
            assert_true(close_to((val - pv) * 100, ch));
        else if (chpct)
            assert_true(close_to((val - pv) / fabs(pv), ch));
        else
            assert_true(close_to(val - pv, ch));
    }
    /* Every KPI of the tenant-month is there. */
    kpi_leaves(t, "", leaves);
    json_array_foreach(leaves, i, v) {
        if (!json_object_get(seen, json_string_value(v)))
            fail_msg("KPI '%s' is missing from the Summary",
                     json_string_value(v));
    }
    assert_true(n > 100);
    json_decref(leaves);
    json_decref(seen);
    csv_free(c);
}

static void test_xlsx__one_row_per_conversation_in_the_tenants_zone(
    void **state)
{
    struct fx *f = *state;
    struct csv *c = sheet(f, "client-acme-dental", "Conversations");
    struct cs_buf got = CS_BUF_INIT;
    char *want;
    long n;

    n = th_sql_long(f->e->db, "SELECT count(*) FROM conversations WHERE "
                    "tenant = 'acme-dental' AND started_at >= '" FROM
                    "'::timestamp AT TIME ZONE '" ZONE "' AND started_at < '"
                    TO "'::timestamp AT TIME ZONE '" ZONE "'");
    assert_true(n > 200);
    assert_int_equal(c->n, (size_t)n + 1);
    assert_string_equal(csv_at(c, 0, 1), "Started (" ZONE ")");
    /* Each id with its start as a New York wall clock, in order. */
    want = th_sql(f->e->db, "SELECT string_agg(id || ' ' || to_char("
                  "started_at AT TIME ZONE '" ZONE "', 'YYYY-MM-DD HH24:MI:SS'"
                  "), E'\\n' ORDER BY started_at, id) FROM conversations "
                  "WHERE tenant = 'acme-dental' AND started_at >= '" FROM
                  "'::timestamp AT TIME ZONE '" ZONE "' AND started_at < '"
                  TO "'::timestamp AT TIME ZONE '" ZONE "'");
    for (size_t r = 1; r < c->n; r++)
        cs_buf_addf(&got, "%s%s %s", r > 1 ? "\n" : "", csv_at(c, r, 0),
                    csv_at(c, r, 1));
    assert_string_equal(got.ptr, want);
    /* The edges of the month in New York. */
    assert_null(strstr(got.ptr, "edge-september"));
    assert_non_null(strstr(got.ptr, "2026-10-31 23:30:00"));
    free(want);
    cs_buf_release(&got);
    csv_free(c);
}

static void test_xlsx__one_daily_row_per_local_day(void **state)
{
    struct fx *f = *state;
    struct csv *c = sheet(f, "client-acme-dental", "Daily");
    const json_t *t = th_json_path(f->kpis, "tenants.acme-dental");
    double sum = 0;
    int64_t first;

    assert_int_equal(cs_parse_date(FROM, &first), 0);
    assert_int_equal(c->n, 1 + 31);
    assert_string_equal(csv_at(c, 0, 0), "Date");
    assert_string_equal(csv_at(c, 0, 1), "Conversations");
    for (size_t r = 1; r < c->n; r++) {
        char day[11];

        cs_format_date(first + (int64_t)r - 1, day);
        assert_string_equal(csv_at(c, r, 0), day);
        sum += strtod(csv_at(c, r, 1), NULL);
    }
    assert_true(close_to(sum, json_number_value(
                                  json_object_get(t, "conversations"))));
    csv_free(c);
}

static const char zip_check[] =
    "import sys, zipfile, xml.etree.ElementTree as ET\n"
    "z = zipfile.ZipFile(sys.argv[1])\n"
    "assert z.testzip() is None\n"
    "ns = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}\n"
    "for n in z.namelist():\n"
    "    if n.endswith('.xml') or n.endswith('.rels'):\n"
    "        ET.fromstring(z.read(n))\n"
    "for n in sorted(z.namelist()):\n"
    "    if n.startswith('xl/charts/'):\n"
    "        x = z.read(n).decode()\n"
    "        print('chart', n, 'c:lineChart' in x)\n"
    "formulas = strings = 0\n"
    "for n in z.namelist():\n"
    "    if not n.startswith('xl/worksheets/sheet'):\n"
    "        continue\n"
    "    for c in ET.fromstring(z.read(n)).iter('{%s}c' % ns['m']):\n"
    "        if c.find('m:f', ns) is not None:\n"
    "            formulas += 1\n"
    "        t = c.find('m:is/m:t', ns)\n"
    "        if t is not None and t.text and t.text[0] in '=+-@':\n"
    "            assert c.get('t') == 'inlineStr', c.attrib\n"
    "            strings += 1\n"
    "            print('string', t.text)\n"
    "print('formulas', formulas)\n"
    "print('formula-like strings', strings)\n"
    "p = z.read('docProps/core.xml').decode()\n"
    "print('creator', '<dc:creator>callscope</dc:creator>' in p)\n"
    "from xml.sax.saxutils import unescape\n"
    "print('title', unescape(p.split('<dc:title>')[1]"
    ".split('</dc:title>')[0]))\n"
    "a = z.read('docProps/app.xml').decode()\n"
    "print('company', '<Company>callscope</Company>' in a)\n"
    "print('caller', any(b'4155550199' in z.read(n) for n in z.namelist()))\n";

static void test_xlsx__charts_are_native_line_charts(void **state)
{
    struct fx *f = *state;
    char *out = python(f, zip_check, f->xlsx);

    assert_non_null(strstr(out, "chart xl/charts/chart1.xml True"));
    assert_non_null(strstr(out, "chart xl/charts/chart2.xml True"));
    free(out);
}

static void test_xlsx__text_from_data_is_never_a_formula(void **state)
{
    struct fx *f = *state;
    char *out = python(f, zip_check, f->xlsx);
    struct csv *c = sheet(f, "client-acme-dental", "Conversations");
    int found = 0;

    assert_non_null(strstr(out, "formulas 0\n"));
    assert_non_null(strstr(out, "string =HYPERLINK("));
    assert_non_null(strstr(out, "string +agent-v9"));
    assert_non_null(strstr(out, "string @SUM(A1)"));
    assert_non_null(strstr(out, "string -42"));
    assert_non_null(strstr(out, "string =cmd|' /C calc'!A0"));
    /* LibreOffice reads the text back as it was. */
    for (size_t r = 1; r < c->n; r++) {
        if (strcmp(csv_at(c, r, 0),
                   "=HYPERLINK(\"http://x.example\",\"x\")") == 0) {
            found = 1;
            assert_string_equal(csv_at(c, r, 2), "+agent-v9");
            assert_true(strncmp(csv_at(c, r, 7), "@SUM(A1) then =1+2;",
                                19) == 0);
        }
        if (strcmp(csv_at(c, r, 0), "-42") == 0)
            assert_string_equal(csv_at(c, r, 7), "-1+1 caller asked");
    }
    assert_true(found);
    free(out);
    csv_free(c);
}

static void test_xlsx__reasons_redacted_and_no_caller(void **state)
{
    struct fx *f = *state;
    char *out = python(f, zip_check, f->xlsx);
    struct csv *c = sheet(f, "client-acme-dental", "Conversations");

    assert_non_null(strstr(out, "caller False"));
    for (size_t j = 0; j < c->n_fields[0]; j++) {
        assert_int_not_equal(strcasecmp(csv_at(c, 0, j), "caller"), 0);
        assert_int_not_equal(strcasecmp(csv_at(c, 0, j), "callee"), 0);
    }
    for (size_t r = 1; r < c->n; r++) {
        if (csv_at(c, r, 0)[0] == '=') {
            assert_non_null(strstr(csv_at(c, r, 7), "[PHONE]"));
            assert_null(strstr(csv_at(c, r, 7), "555 0123"));
        }
    }
    free(out);
    csv_free(c);
}

static void test_xlsx__workbook_properties(void **state)
{
    struct fx *f = *state;
    char *out = python(f, zip_check, f->xlsx);

    assert_non_null(strstr(out, "creator True"));
    assert_non_null(strstr(out, "company True"));
    assert_non_null(strstr(out, "title Cl\xc3\xadnica Dent"));
    assert_non_null(strstr(out, f->display)); /* whole, accents intact */
    free(out);
}

static void test_xlsx__forty_metrics_are_typed_columns(void **state)
{
    struct fx *f = *state;
    struct csv *c = sheet(f, "client-acme-dental", "Conversations");
    struct csv *m = sheet(f, "client-acme-dental", "Metrics");
    size_t col = 0, r;

    for (size_t j = 0; j < c->n_fields[0]; j++) {
        if (strcmp(csv_at(c, 0, j), "m01") == 0)
            col = j;
    }
    assert_true(col > 0);
    assert_true(c->n_fields[0] >= col + N_METRICS);
    for (r = 1; r < c->n; r++) {
        if (strcmp(csv_at(c, r, 0), "-42") == 0)
            break;
    }
    assert_true(r < c->n);
    assert_string_equal(csv_at(c, r, col), "1.5");            /* m01 */
    assert_string_equal(csv_at(c, r, col + 1),
                        "=cmd|' /C calc'!A0");                 /* m02 */
    assert_string_equal(csv_at(c, r, col + 2), "FALSE");       /* m03 */
    assert_string_equal(csv_at(c, r, col + 5), "TRUE");        /* m06 */
    /* Booleans, a handed-off flag, a numeric CSAT. */
    assert_string_equal(csv_at(c, r, 6), "TRUE");
    assert_string_equal(csv_at(c, r, 11), "4");
    /* The Metrics sheet lists them with the rubrics' metrics. */
    assert_true(m->n >= 1 + N_METRICS);
    assert_string_equal(csv_at(m, 0, 0), "Key");
    /* Then the scorecards' figures and the judge's agreement. */
    assert_string_equal(csv_at(m, 0, 8), "Pass mark");
    assert_string_equal(csv_at(m, 0, 9), "Below pass mark");
    assert_string_equal(csv_at(m, 0, 19), "90-100");
    assert_string_equal(csv_at(m, 0, 23), "Verified");
    csv_free(c);
    csv_free(m);
}

static void test_xlsx__empty_period_and_unscored_tenant_render(void **state)
{
    struct fx *f = *state;
    struct csv *c = sheet(f, "client-bluebird-energy", "Conversations");
    struct csv *d = sheet(f, "client-bluebird-energy", "Daily");
    struct csv *s = sheet(f, "client-bluebird-energy", "Summary");
    struct csv *q = sheet(f, "client-quiet", "Summary");
    struct csv *qm = sheet(f, "client-quiet", "Metrics");
    int zero = 0, dash = 0, not_scored = 0;

    assert_int_equal(c->n, 1);
    assert_int_equal(d->n, 1 + 31);
    for (size_t r = 0; r < s->n; r++) {
        if (strcmp(csv_at(s, r, 4), "conversations") == 0)
            zero = strcmp(csv_at(s, r, 1), "0") == 0;
        if (strcmp(csv_at(s, r, 4), "answer_rate") == 0)
            dash = strcmp(csv_at(s, r, 1), "\xe2\x80\x94") == 0;
    }
    assert_true(zero);
    assert_true(dash); /* null is "—", never 0 */
    for (size_t r = 0; r < q->n; r++) {
        if (strncmp(csv_at(q, r, 0), "Not scored yet", 14) == 0)
            not_scored = 1;
    }
    assert_true(not_scored);
    assert_int_equal(strncmp(csv_at(qm, 1, 0), "Not scored yet", 14), 0);
    csv_free(c);
    csv_free(d);
    csv_free(s);
    csv_free(q);
    csv_free(qm);
}

static void write_text(const char *path, const char *text)
{
    th_write(path, text, strlen(text));
}

/* Runs `args` with shell commands `pre` (trap, ulimit) before the
 * fixture's environment and assignments `env` after it (overriding it);
 * either may be NULL. */
static void expect_exit(struct fx *f, const char *pre, const char *env,
                        const char *args, int want, const char *msg)
{
    struct cs_buf e = CS_BUF_INIT;
    char *err = NULL;
    int rc;

    cs_buf_addf(&e, "%s%s%s", pre ? pre : "", f->e->env.ptr, env ? env : "");
    rc = th_run(e.ptr, args, NULL, &err);
    if (rc != want)
        fail_msg("'%s' exited %d, expected %d: %s", args, rc, want, err);
    if (msg && !strstr(err, msg))
        fail_msg("'%s': no '%s' in: %s", args, msg, err);
    free(err);
    cs_buf_release(&e);
}

static void test_xlsx__usage_and_config_errors(void **state)
{
    struct fx *f = *state;
    struct cs_buf cfg = CS_BUF_INIT, env = CS_BUF_INIT;
    char *out = NULL;

    assert_int_equal(th_run(f->e->env.ptr, "report client --help", &out,
                            NULL), 0);
    assert_non_null(strstr(out, "--tenant"));
    free(out);
    assert_int_equal(th_run(f->e->env.ptr, "report --help", &out, NULL), 0);
    assert_non_null(strstr(out, "client"));
    free(out);
    expect_exit(f, NULL, NULL, "report client --tenant nobody --from " FROM
                " --to " TO, 2, "unknown tenant 'nobody'");
    expect_exit(f, NULL, NULL, "report client --tenant acme-dental "
                "--from 2026-10 --to " TO, 2, "YYYY-MM-DD");
    expect_exit(f, NULL, NULL, "report client --tenant acme-dental --from " TO
                " --to " FROM, 2, "after");
    expect_exit(f, NULL, NULL, "report client --from " FROM " --to " TO, 2,
                "required");
    expect_exit(f, NULL, NULL, "report weekly", 2, "is not a report command");
    /* A bad zone or redaction rule in the config is a config error. */
    cs_buf_addf(&cfg, "%s/bad-tz.json", f->e->dir);
    write_text(cfg.ptr, "{\"tenants\": {\"acme-dental\": {\"timezone\": "
               "\"Mars/Olympus\"}}}");
    cs_buf_addf(&env, "CALLSCOPE_CONFIG=%s ", cfg.ptr);
    expect_exit(f, NULL, env.ptr, "report client --tenant acme-dental "
                "--from " FROM " --to " TO, 3, "Mars/Olympus");
    cs_buf_reset(&cfg);
    cs_buf_reset(&env);
    cs_buf_addf(&cfg, "%s/bad-redact.json", f->e->dir);
    write_text(cfg.ptr, "{\"redact\": [{\"name\": \"x\", \"pattern\": "
               "\"(\"}]}");
    cs_buf_addf(&env, "CALLSCOPE_CONFIG=%s ", cfg.ptr);
    expect_exit(f, NULL, env.ptr, "report client --tenant acme-dental "
                "--from " FROM " --to " TO, 3, NULL);
    cs_buf_release(&cfg);
    cs_buf_release(&env);
}

/* Files of the report folder other than the report itself. */
static int leftovers(const char *xlsx)
{
    char *dir = cs_xstrdup(xlsx);
    DIR *d;
    struct dirent *e;
    int n = 0;

    *strrchr(dir, '/') = '\0';
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".tmp."))
            n++;
    }
    closedir(d);
    free(dir);
    return n;
}

static void test_xlsx__failure_leaves_previous_file(void **state)
{
    struct fx *f = *state;
    char *before = th_read(f->xlsx), *after, *cfg;
    struct cs_buf p = CS_BUF_INIT, text = CS_BUF_INIT, env = CS_BUF_INIT;
    struct stat st0, st1;

    assert_int_equal(stat(f->xlsx, &st0), 0);
    /* A KPI query fails: nothing is written. */
    free(th_sql(f->e->db, "ALTER TABLE results RENAME TO results_gone"));
    expect_exit(f, NULL, NULL, "report client --tenant acme-dental --from " FROM
                " --to " TO, 1, "error");
    free(th_sql(f->e->db, "ALTER TABLE results_gone RENAME TO results"));
    /* The conversation rows fail halfway through the workbook (the KPIs
     * do not read handoff reasons): nothing is written either. */
    free(th_sql(f->e->db, "ALTER TABLE conversations ALTER COLUMN handoff "
                "TYPE text"));
    expect_exit(f, NULL, NULL, "report client --tenant acme-dental --from " FROM
                " --to " TO, 1, "conversation query failed");
    free(th_sql(f->e->db, "ALTER TABLE conversations ALTER COLUMN handoff "
                "TYPE jsonb USING handoff::jsonb"));
    /* A row fails halfway through the stream: a redaction rule gives up
     * on one handoff reason (PCRE2's match limit). The query is cancelled
     * and nothing is written. */
    ingest_text(f, "slow.jsonl",
                "{\"id\":\"slow-reason\",\"tenant\":\"acme-dental\","
                "\"started_at\":\"2026-10-20T12:00:00Z\",\"handoff\":"
                "{\"type\":\"cold\",\"target\":\"x\",\"at_s\":1,\"reason\":"
                "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"},\"turns\":"
                "[{\"role\":\"customer\",\"text\":\"hi\"}]}\n");
    cfg = th_read(f->e->config);
    cs_buf_addf(&p, "%s/slow-redact.json", f->e->dir);
    cs_buf_addf(&text, "{\"redact\": [{\"name\": \"slow\", \"pattern\": "
                "\"(a+)+$\"}], %s", cfg + 1);
    write_text(p.ptr, text.ptr);
    cs_buf_addf(&env, "CALLSCOPE_CONFIG=%s ", p.ptr);
    expect_exit(f, NULL, env.ptr, "report client --tenant acme-dental "
                "--from " FROM " --to " TO, 1, "redact rule 'slow'");
    cs_buf_release(&env);
    /* The disk (here: the file size limit) cannot take the workbook:
     * libxlsxwriter would close a truncated one without an error; the
     * renderer does not let it. */
    for (int kb = 16; kb <= 1024; kb *= 4) {
        struct cs_buf limit = CS_BUF_INIT;

        cs_buf_addf(&limit, "trap '' XFSZ; ulimit -f %d; ", kb);
        expect_exit(f, limit.ptr, NULL, "report client --tenant acme-dental "
                    "--from " FROM " --to " TO, 1, "cannot write");
        cs_buf_release(&limit);
    }
    assert_int_equal(stat(f->xlsx, &st1), 0);
    assert_int_equal(st0.st_size, st1.st_size);
    assert_int_equal(st0.st_mtime, st1.st_mtime);
    after = th_read(f->xlsx);
    assert_memory_equal(before, after, (size_t)st0.st_size);
    assert_int_equal(leftovers(f->xlsx), 0);
    free(before);
    free(after);
    free(cfg);
    cs_buf_release(&p);
    cs_buf_release(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xlsx__summary_matches_kpis_json),
        cmocka_unit_test(test_xlsx__pdf_and_xlsx_carry_the_same_numbers),
        cmocka_unit_test(
            test_xlsx__one_row_per_conversation_in_the_tenants_zone),
        cmocka_unit_test(test_xlsx__one_daily_row_per_local_day),
        cmocka_unit_test(test_xlsx__charts_are_native_line_charts),
        cmocka_unit_test(test_xlsx__text_from_data_is_never_a_formula),
        cmocka_unit_test(test_xlsx__reasons_redacted_and_no_caller),
        cmocka_unit_test(test_xlsx__workbook_properties),
        cmocka_unit_test(test_xlsx__forty_metrics_are_typed_columns),
        cmocka_unit_test(test_xlsx__empty_period_and_unscored_tenant_render),
        cmocka_unit_test(test_xlsx__usage_and_config_errors),
        /* Last: it alters the schema and puts it back. */
        cmocka_unit_test(test_xlsx__failure_leaves_previous_file),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
