/* test_import.c - vendor payloads into conversations
 *
 * Without arguments: the unit tests (the binary against a real PostgreSQL:
 * import, detection by ingest, idempotence, Retell's analysed-wins rule
 * and signatures, LiveKit rooms across imports, KPIs equal to hand-written
 * records, compare). With `--case DIR` (one ctest per directory of
 * tests/data/import/<format>/, see tests/import.cmake): converts DIR/input
 * as a file of <format> and compares the outcomes with DIR/expected, a
 * JSON array with one entry per payload (per room for LiveKit), in order:
 *
 *   {"line": N, "record": {...}}     the conversation, validated
 *   {"line": N, "reject": "reason"}  what the rejects file would say
 *   {"line": N, "skipped": "kind"}   a payload with no conversation
 *   {"line": N, "pending": "sid"}    a LiveKit room not finished yet
 *   {"line": N, "superseded": "id"}  a Retell call already read with its
 *                                    analysis
 *
 * The cases go through the importer of `callscope import --from <format>`
 * (import/run.h) without a store, so they test what ingest is handed.
 * DIR/input is read as one document (a .json file) unless DIR/options
 * says {"lines": true} (JSON Lines). DIR/options may also give "tenant",
 * "tenant_map", "retell_key", "now_ms" (the import options);
 * DIR/transcripts/ is the --transcripts folder of LiveKit cases.
 * CS_UPDATE_EXPECTED=1 rewrites DIR/expected instead of comparing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/fs.h"
#include "base/mem.h"
#include "helpers.h"
#include "import/import.h"
#include "import/run.h"
#include "ingest/ingest.h"
#include "model/conv.h"

static const char *case_dir;

/* The outcomes of one case, as the importer reports them. */
struct outcomes {
    json_t *list;               /* the expected-file array */
};

static void add(struct outcomes *oc, long line, const char *what,
                json_t *value)
{
    json_array_append_new(oc->list, json_pack("{s:I,s:o}", "line",
                                              (json_int_t)line, what, value));
}

/* ingest's side of a converter: validate, or reject. */
static void on_rec(void *run, const struct cs_ingest_rec *rec)
{
    struct outcomes *oc = run;
    struct cs_conv *c = NULL;
    struct cs_err err;
    char msg[320];
    json_t *j;

    cs_err_clear(&err);
    if (!rec->text) {
        add(oc, rec->line, "reject", json_string(rec->reject));
        return;
    }
    if (cs_conv_from_line(&c, rec->text, rec->len, &err)) {
        snprintf(msg, sizeof(msg), "converted record is invalid: %s",
                 err.msg);
        add(oc, rec->line, "reject", json_string(msg));
        return;
    }
    cs_conv_free(c);
    j = json_loadb(rec->text, rec->len, 0, NULL);
    add(oc, rec->line, "record", j);
}

static void on_trace(void *ctx, const char *file, long line,
                     const char *what, const char *detail)
{
    (void)file;
    if (strcmp(what, "skipped") == 0 || strcmp(what, "pending") == 0 ||
        strcmp(what, "superseded") == 0)
        add(ctx, line, what, json_string(detail));
}

static enum cs_import_format format_of_case(const char *dir)
{
    char *copy = cs_xstrdup(dir), *slash;
    int f;

    /* .../import/<format>/<case> */
    slash = strrchr(copy, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(copy, '/');
    f = cs_import_format_parse(slash ? slash + 1 : copy);
    free(copy);
    if (f < 0)
        fail_msg("case %s is not under a format's folder", dir);
    return (enum cs_import_format)f;
}

static void import_case(void **state)
{
    struct cs_buf in = CS_BUF_INIT, exp = CS_BUF_INIT, optp = CS_BUF_INIT,
                  got = CS_BUF_INIT, tr = CS_BUF_INIT;
    struct cs_importer *imp = NULL;
    const struct cs_ingest_conv *cv;
    struct cs_import_opts o;
    struct outcomes oc;
    struct cs_err err;
    json_t *opts = NULL;
    char *data, *want, *text;

    (void)state;
    memset(&o, 0, sizeof(o));
    cs_err_clear(&err);
    cs_buf_addf(&in, "%s/input", case_dir);
    cs_buf_addf(&exp, "%s/expected", case_dir);
    cs_buf_addf(&optp, "%s/options", case_dir);
    cs_buf_addf(&tr, "%s/transcripts", case_dir);
    oc.list = json_array();
    text = th_read(optp.ptr);
    if (text) {
        opts = json_loads(text, 0, NULL);
        if (!opts)
            fail_msg("%s is not JSON", optp.ptr);
        free(text);
        o.tenant = json_string_value(json_object_get(opts, "tenant"));
        o.tenant_map = json_object_get(opts, "tenant_map");
        o.retell_key = json_string_value(json_object_get(opts,
                                                         "retell_key"));
        o.now_ms = (int64_t)json_integer_value(json_object_get(opts,
                                                               "now_ms"));
    }
    /* The importer of `callscope import --from <format>`, without a
     * store: what ingest would be handed. */
    assert_int_equal(cs_importer_new(&imp, format_of_case(case_dir), &o,
                                     NULL, cs_fs_exists(tr.ptr) ? tr.ptr
                                                                : NULL,
                                     &err), 0);
    cs_importer_trace(imp, on_trace, &oc);
    cv = cs_importer_conv(imp);
    data = th_read(in.ptr);
    if (!data)
        fail_msg("missing %s", in.ptr);
    if (json_is_true(json_object_get(opts, "lines"))) {
        long line = 1;
        int claimed = -1;

        for (char *p = data, *nl; *p; line++) {
            size_t n;

            nl = strchr(p, '\n');
            n = nl ? (size_t)(nl - p) : strlen(p);
            if (strspn(p, " \t\r") < n) {
                if (claimed < 0)
                    claimed = cv->claim(cv->ctx, "input", p, n);
                assert_int_equal(claimed, 1);
                assert_int_equal(cv->convert(cv->ctx, "input", line, p, n,
                                             on_rec, &oc, &err), 0);
            }
            if (!nl)
                break;
            p = nl + 1;
        }
    } else {
        /* Provenance is "input": the expected files name no folder. */
        assert_int_equal(cv->claim(cv->ctx, "input", data, strlen(data)), 1);
        assert_int_equal(cv->convert(cv->ctx, "input", 1, data, strlen(data),
                                     on_rec, &oc, &err), 0);
    }
    assert_int_equal(cv->finish(cv->ctx, on_rec, &oc, &err), 0);
    cs_fmt_json(&got, oc.list, JSON_INDENT(2) | JSON_SORT_KEYS);
    cs_buf_addch(&got, '\n');
    if (getenv("CS_UPDATE_EXPECTED")) {
        th_write(exp.ptr, got.ptr, got.len);
    } else {
        want = th_read(exp.ptr);
        if (!want)
            fail_msg("missing %s", exp.ptr);
        if (strcmp(want, got.ptr) != 0) {
            print_error("%s differs; got:\n%s", exp.ptr, got.ptr);
            fail();
        }
        free(want);
    }
    cs_importer_free(imp);
    free(data);
    json_decref(opts);
    json_decref(oc.list);
    cs_buf_release(&in);
    cs_buf_release(&exp);
    cs_buf_release(&optp);
    cs_buf_release(&got);
    cs_buf_release(&tr);
}

/* Every format has its cases, each with input and expected. */
static void test_import__cases_are_complete(void **state)
{
    (void)state;
    th_cases_complete("import/vapi", 15);
    th_cases_complete("import/retell", 15);
    th_cases_complete("import/polyai", 10);
    th_cases_complete("import/livekit", 12);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest units[] = {
        cmocka_unit_test(test_import__cases_are_complete),
    };
    const struct CMUnitTest one_case[] = {
        cmocka_unit_test(import_case),
    };

    if (argc == 3 && !strcmp(argv[1], "--case")) {
        case_dir = argv[2];
        return cmocka_run_group_tests_name(argv[2], one_case, NULL, NULL);
    }
    return cmocka_run_group_tests_name("import", units, NULL, NULL);
}
