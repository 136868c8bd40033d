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
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/fs.h"
#include "base/hash.h"
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
    struct cs_buf msg = CS_BUF_INIT;
    json_t *j;

    cs_err_clear(&err);
    if (!rec->text) {
        add(oc, rec->line, "reject", json_string(rec->reject));
        return;
    }
    if (cs_conv_from_line(&c, rec->text, rec->len, &err)) {
        cs_buf_addf(&msg, "converted record is invalid: %s", err.msg);
        add(oc, rec->line, "reject", json_string(msg.ptr));
        cs_buf_release(&msg);
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

/* Copies fixture tests/data/import/<rel> to <dir>/<name>. */
static void put_fixture(const char *dir, const char *rel, const char *name)
{
    struct cs_buf src = CS_BUF_INIT, dst = CS_BUF_INIT;
    char *data;

    cs_buf_addf(&src, "%s/tests/data/import/%s", CS_SOURCE_DIR, rel);
    cs_buf_addf(&dst, "%s/%s", dir, name);
    data = th_read(src.ptr);
    if (!data)
        fail_msg("no fixture %s", src.ptr);
    th_write(dst.ptr, data, strlen(data));
    free(data);
    cs_buf_release(&src);
    cs_buf_release(&dst);
}

/* The same, gzip-compressed. */
static void put_fixture_gz(const char *dir, const char *rel, const char *name)
{
    struct cs_buf src = CS_BUF_INIT, dst = CS_BUF_INIT;
    char *data;
    gzFile gz;

    cs_buf_addf(&src, "%s/tests/data/import/%s", CS_SOURCE_DIR, rel);
    cs_buf_addf(&dst, "%s/%s", dir, name);
    data = th_read(src.ptr);
    assert_non_null(data);
    assert_int_equal(cs_fs_mkdirs(dir, NULL), 0);
    gz = gzopen(dst.ptr, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)strlen(data)),
                     (int)strlen(data));
    assert_int_equal(gzclose(gz), Z_OK);
    free(data);
    cs_buf_release(&src);
    cs_buf_release(&dst);
}

/* Runs the binary in the sandbox (`extra` env first); stdout (new), and
 * checks the exit code. */
static char *run(struct th_env *e, const char *extra, const char *args,
                 int want)
{
    struct cs_buf env = CS_BUF_INIT;
    char *out = NULL, *err = NULL;
    int rc;

    cs_buf_addf(&env, "%s %s", e->env.ptr, extra ? extra : "");
    rc = th_run(env.ptr, args, &out, &err);
    if (rc != want)
        fail_msg("callscope %s: exit %d, not %d\nstdout: %s\nstderr: %s",
                 args, rc, want, out ? out : "", err ? err : "");
    free(err);
    cs_buf_release(&env);
    return out ? out : cs_xstrdup("");
}

static void expect_in(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' not in:\n%s", part, text);
}

static long count(struct th_env *e, const char *where)
{
    struct cs_buf q = CS_BUF_INIT;
    long n;

    cs_buf_addf(&q, "SELECT count(*) FROM conversations %s", where);
    n = th_sql_long(e->db, q.ptr);
    cs_buf_release(&q);
    return n;
}

/* The stored rows, as one text: re-importing must not change it. */
static char *rows(struct th_env *e)
{
    return th_sql(e->db, "SELECT string_agg(tenant || '/' || id || '/' || "
                         "content_hash || '/' || outcome, ' ' ORDER BY id) "
                         "FROM conversations");
}

static void test_import__every_format_loads_and_reimport_replaces(
    void **state)
{
    struct th_env *e = *state;
    struct cs_buf in = CS_BUF_INIT, args = CS_BUF_INIT;
    char *out, *before, *after;

    cs_buf_addf(&in, "%s/in", e->dir);
    put_fixture(in.ptr, "vapi/answered_contained/input", "vapi.json");
    put_fixture(in.ptr, "retell/webhook_sequence/input", "retell.jsonl");
    put_fixture(in.ptr, "polyai/page/input", "polyai.json");
    put_fixture(in.ptr, "livekit/answered_contained/input", "livekit.jsonl");
    cs_buf_addf(&args, "import %s", in.ptr);
    out = run(e, NULL, args.ptr, 0);
    /* 1 Vapi report, 1 Retell call (ended, then analysed: two loads of
     * one record, as ingest counts a line given twice), 2 PolyAI
     * conversations (a third in progress), 1 LiveKit room. */
    expect_in(out, "imported 6 conversations from 4 file(s)");
    expect_in(out, "vapi (1 file), retell (1 file), polyai (1 file), "
                   "livekit (1 file)");
    /* Kinds in the order first met (files in name order). */
    expect_in(out, "5 skipped (track_published 2, in progress 1, "
                   "call_started 1, transcript_updated 1)");
    expect_in(out, "1 kept the analysed record already read");
    free(out);
    assert_int_equal(count(e, ""), 5);
    before = rows(e);
    out = th_sql(e->db, "SELECT metadata #>> '{retell,analyzed}' FROM "
                        "conversations WHERE id = "
                        "'call_a1b2c3d4e5f60718293a4b5c6d7e8f16'");
    assert_string_equal(out, "true");
    free(out);
    /* Phone numbers are in caller/callee and nowhere else. */
    assert_int_equal(count(e, "WHERE metadata::text LIKE '%+1415%' OR "
                              "turns::text LIKE '%+1415%'"), 0);
    out = run(e, NULL, args.ptr, 0);
    free(out);
    after = rows(e);
    assert_string_equal(before, after);
    assert_int_equal(count(e, ""), 5);
    free(before);
    free(after);
    cs_buf_release(&in);
    cs_buf_release(&args);
}

/* Writes `len` bytes of `data` to DIR/<name> and imports that file
 * --from `format`: its stdout (new), the exit code checked against
 * `want`. */
static char *import_bytes(struct th_env *e, const char *name,
                          const char *data, size_t len, const char *format,
                          int want)
{
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;
    char *out;

    cs_buf_addf(&p, "%s/%s", e->dir, name);
    th_write(p.ptr, data, len);
    cs_buf_addf(&a, "import --from %s %s", format, p.ptr);
    out = run(e, NULL, a.ptr, want);
    cs_buf_release(&p);
    cs_buf_release(&a);
    return out;
}

static void test_import__retell_analysis_is_never_replaced(void **state)
{
    struct th_env *e = *state;
    struct cs_buf in = CS_BUF_INIT;
    char *data, *line3, *line4, *out;
    size_t n3, n4;

    cs_buf_addf(&in, "%s/tests/data/import/retell/webhook_sequence/input",
                CS_SOURCE_DIR);
    data = th_read(in.ptr);
    assert_non_null(data);
    /* Lines 3 and 4: call_ended, call_analyzed of one call. */
    line3 = strchr(strchr(data, '\n') + 1, '\n') + 1;
    line4 = strchr(line3, '\n') + 1;
    n3 = (size_t)(line4 - line3);
    n4 = (size_t)(strchr(line4, '\n') + 1 - line4);
    free(import_bytes(e, "analyzed.jsonl", line4, n4, "retell", 0));
    /* The later call_ended does not replace the analysed record. */
    out = import_bytes(e, "ended.jsonl", line3, n3, "retell", 0);
    expect_in(out, "imported 0 conversations");
    expect_in(out, "1 kept the analysed record already read");
    free(out);
    out = th_sql(e->db, "SELECT metadata #>> '{retell,event}' || ' ' || "
                        "jsonb_array_length(metrics) FROM conversations");
    assert_string_equal(out, "call_analyzed 2");
    free(out);
    /* The other order: the analysed one replaces the ended one. */
    free(th_sql(e->db, "DELETE FROM conversations"));
    free(import_bytes(e, "ended.jsonl", line3, n3, "retell", 0));
    free(import_bytes(e, "analyzed.jsonl", line4, n4, "retell", 0));
    out = th_sql(e->db, "SELECT id || ' ' || (metadata #>> "
                        "'{retell,event}') FROM conversations");
    assert_string_equal(out, "call_a1b2c3d4e5f60718293a4b5c6d7e8f16 "
                             "call_analyzed");
    free(out);
    free(data);
    cs_buf_release(&in);
}

/* A webhook capture signed with `key` at `ts` (ms). */
static void signed_line(struct cs_buf *out, const char *key, long long ts,
                        const char *body)
{
    unsigned char mac[32];
    struct cs_hmac_sha256 h;
    struct cs_buf stamp = CS_BUF_INIT;
    char hex[65];
    json_t *j;

    cs_buf_addf(&stamp, "%lld", ts);
    cs_hmac_sha256_init(&h, key, strlen(key));
    cs_hmac_sha256_update(&h, body, strlen(body));
    cs_hmac_sha256_update(&h, stamp.ptr, stamp.len);
    cs_hmac_sha256_final(&h, mac);
    cs_hash_hex(mac, 32, hex);
    cs_buf_reset(&stamp);
    cs_buf_addf(&stamp, "v=%lld,d=%s", ts, hex);
    j = json_pack("{s:{s:s},s:s}", "headers", "X-Retell-Signature",
                  stamp.ptr, "body", body);
    cs_fmt_json(out, j, JSON_COMPACT);
    cs_buf_addch(out, '\n');
    json_decref(j);
    cs_buf_release(&stamp);
}

static void test_import__retell_signatures(void **state)
{
    static const char key[] = "key_6d1fa73e4b9c0e2a5f8d";
    struct th_env *e = *state;
    struct cs_buf lines = CS_BUF_INIT, p = CS_BUF_INIT, a = CS_BUF_INIT,
                  env = CS_BUF_INIT;
    long long now = (long long)time(NULL) * 1000;
    char *out, *rejects;
    const char *body =
        "{\"event\":\"call_ended\",\"call\":{\"call_id\":\"call_sig_1\","
        "\"agent_id\":\"agent_1\",\"start_timestamp\":1791212400000,"
        "\"end_timestamp\":1791212460000,\"disconnection_reason\":"
        "\"user_hangup\"}}";

    /* Signed now (good), signed 10 minutes ago (stale, no received_at:
     * judged against the import's clock), signed with another key. */
    signed_line(&lines, key, now - 2000, body);
    signed_line(&lines, key, now - 600000, body);
    signed_line(&lines, "another-key", now, body);
    cs_buf_addf(&p, "%s/captured.jsonl", e->dir);
    th_write(p.ptr, lines.ptr, lines.len);
    cs_buf_addf(&a, "import --from retell --rejects %s/rj.jsonl %s", e->dir,
                p.ptr);
    cs_buf_addf(&env, "CALLSCOPE_RETELL_API_KEY=%s", key);
    out = run(e, env.ptr, a.ptr, 4);
    expect_in(out, "imported 1 conversations");
    expect_in(out, "2 rejected");
    free(out);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/rj.jsonl", e->dir);
    rejects = th_read(p.ptr);
    assert_non_null(rejects);
    expect_in(rejects, "\"line\":2,\"reason\":\"stale X-Retell-Signature");
    expect_in(rejects, "\"line\":3,\"reason\":\"bad X-Retell-Signature");
    /* The key is never written anywhere. */
    assert_null(strstr(rejects, key));
    free(rejects);
    /* Without the key nothing is checked, and the summary says so. */
    out = run(e, NULL, a.ptr, 0);
    expect_in(out, "3 signature(s) not checked");
    free(out);
    assert_int_equal(count(e, ""), 1);
    cs_buf_release(&lines);
    cs_buf_release(&p);
    cs_buf_release(&a);
    cs_buf_release(&env);
}

/* Line 3 of livekit/wrong_type with its bad joinedAt corrected (new). */
static char *redelivery(const char *data)
{
    static const char bad[] = "\"joinedAt\": \"soon\"";
    const char *line3 = strchr(strchr(data, '\n') + 1, '\n') + 1;
    const char *end = strchr(line3, '\n');
    const char *at = strstr(line3, bad);
    struct cs_buf fixed = CS_BUF_INIT;

    assert_true(at && end && at < end);
    cs_buf_add(&fixed, line3, (size_t)(at - line3));
    cs_buf_adds(&fixed, "\"joinedAt\": \"1791277201\"");
    cs_buf_add(&fixed, at + sizeof(bad) - 1,
               (size_t)(end - (at + sizeof(bad) - 1)));
    cs_buf_addch(&fixed, '\n');
    return cs_buf_detach(&fixed, NULL);
}

static long held(struct th_env *e)
{
    return th_sql_long(e->db, "SELECT count(*) FROM import_pending");
}

static void test_import__livekit_room_completes_across_imports(void **state)
{
    struct th_env *e = *state;
    struct cs_buf src = CS_BUF_INIT;
    char *data, *cut, *out, *fixed;
    int nl = 0;

    cs_buf_addf(&src, "%s/tests/data/import/livekit/answered_contained/"
                "input", CS_SOURCE_DIR);
    data = th_read(src.ptr);
    assert_non_null(data);
    /* The first six events now, the rest (room_finished among them) in a
     * second import. */
    for (cut = data; *cut && nl < 6; cut++)
        nl += *cut == '\n';
    out = import_bytes(e, "part1.jsonl", data, (size_t)(cut - data),
                       "livekit", 0);
    expect_in(out, "imported 0 conversations");
    expect_in(out, "0 room(s) completed, 1 pending (4 events kept)");
    free(out);
    assert_int_equal(count(e, ""), 0);
    assert_int_equal(held(e), 4);
    /* Importing the same part again keeps the same events once. */
    free(import_bytes(e, "part1.jsonl", data, (size_t)(cut - data),
                      "livekit", 0));
    assert_int_equal(held(e), 4);
    out = import_bytes(e, "part2.jsonl", cut, strlen(cut), "livekit", 0);
    expect_in(out, "imported 1 conversations");
    expect_in(out, "1 room(s) completed, 0 pending");
    free(out);
    /* The record has what only the first part said (the joins). */
    out = th_sql(e->db, "SELECT outcome || ' ' || answered_at || ' ' || "
                        "ring_s || ' ' || caller FROM conversations");
    assert_string_equal(out, "answered 2026-10-06 09:00:03.3+00 2.26 "
                             "+14155550123");
    free(out);
    assert_int_equal(held(e), 0);
    free(data);
    /* A room with a refused event is not recorded from the rest, and
     * nothing is lost: the corrected delivery alone completes it. */
    cs_buf_reset(&src);
    cs_buf_addf(&src, "%s/tests/data/import/livekit/wrong_type/input",
                CS_SOURCE_DIR);
    data = th_read(src.ptr);
    assert_non_null(data);
    out = import_bytes(e, "wrong.jsonl", data, strlen(data), "livekit", 4);
    expect_in(out, "imported 0 conversations");
    expect_in(out, "2 rejected");
    free(out);
    assert_int_equal(count(e, "WHERE id = 'RM_Wrong000014'"), 0);
    assert_int_equal(held(e), 7);
    fixed = redelivery(data);
    out = import_bytes(e, "redelivered.jsonl", fixed, strlen(fixed),
                       "livekit", 0);
    expect_in(out, "imported 1 conversations");
    free(out);
    assert_int_equal(count(e, "WHERE id = 'RM_Wrong000014' AND outcome = "
                              "'answered'"), 1);
    assert_int_equal(held(e), 0);
    free(fixed);
    free(data);
    cs_buf_release(&src);
}

/* kpis --format json of [from, to) for tenant acme. */
static char *kpis(struct th_env *e)
{
    return run(e, NULL, "kpis --from 2026-10-05 --to 2026-10-07 --tenant "
                        "acme --format json", 0);
}

static void test_import__kpis_equal_hand_written_records(void **state)
{
    static const char *const files[][2] = {
        {"vapi/answered_contained/input", "v1.json"},
        {"vapi/transferred/input", "v2.json"},
        {"vapi/no_answer/input", "v3.json"},
        {"vapi/busy/input", "v4.json"},
        {"vapi/tool_calls/input", "v5.json"},
        {"retell/answered_contained/input", "r1.json"},
        {"retell/transferred/input", "r2.json"},
        {"retell/failed/input", "r3.json"},
        {"polyai/answered_contained/input", "p1.json"},
        {"polyai/transferred/input", "p2.json"},
        {"livekit/answered_contained/input", "l1.jsonl"},
        {"livekit/abandoned/input", "l2.jsonl"}};
    struct th_env *vendor = *state, *hand = th_env_new(NULL);
    struct cs_buf in = CS_BUF_INIT, a = CS_BUF_INIT;
    char *k1, *k2;

    cs_buf_addf(&in, "%s/in", vendor->dir);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        put_fixture(in.ptr, files[i][0], files[i][1]);
    cs_buf_addf(&a, "import --tenant acme %s", in.ptr);
    free(run(vendor, NULL, a.ptr, 0));
    assert_int_equal(count(vendor, ""), 12);
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest %s/tests/data/import_kpis/hand.jsonl",
                CS_SOURCE_DIR);
    free(run(hand, NULL, a.ptr, 0));
    assert_int_equal(count(hand, ""), 12);
    k1 = kpis(vendor);
    k2 = kpis(hand);
    expect_in(k1, "\"conversations\": 12");
    assert_string_equal(k1, k2);
    free(k1);
    free(k2);
    th_env_free(hand);
    cs_buf_release(&in);
    cs_buf_release(&a);
}

static void test_import__ingest_detects_vendor_files(void **state)
{
    struct th_env *e = *state;
    struct cs_buf in = CS_BUF_INIT, a = CS_BUF_INIT;
    char *out;

    cs_buf_addf(&in, "%s/inbox", e->dir);
    put_fixture(in.ptr, "vapi/outbound/input", "vapi-report.json");
    put_fixture(in.ptr, "livekit/web_call/input", "rooms.jsonl");
    put_fixture(in.ptr, "polyai/answered_contained/input",
                "sub/polyai.json");
    {
        struct cs_buf p = CS_BUF_INIT;
        static const char canon[] =
            "{\"id\":\"hand-1\",\"started_at\":\"2026-10-05T10:00:00Z\","
            "\"turns\":[]}\n";

        cs_buf_addf(&p, "%s/records.jsonl", in.ptr);
        th_write(p.ptr, canon, strlen(canon));
        cs_buf_release(&p);
    }
    /* Compressed: a .json.gz read whole, a .jsonl.gz line by line. */
    put_fixture_gz(in.ptr, "retell/outbound/input", "retell.json.gz");
    put_fixture_gz(in.ptr, "livekit/outbound/input", "more-rooms.jsonl.gz");
    cs_buf_addf(&a, "ingest %s", in.ptr);
    out = run(e, NULL, a.ptr, 0);
    expect_in(out, "ingested 6 conversations from 6 file(s)");
    expect_in(out, "read as vapi (1 file), retell (1 file), polyai (1 "
                   "file), livekit (2 files)");
    free(out);
    assert_int_equal(count(e, "WHERE id IN ('RM_Outbound0007', "
                              "'call_a1b2c3d4e5f60718293a4b5c6d7e8f07')"), 2);
    /* The same files given to import: the records file is a canonical
     * one, read as it is. */
    cs_buf_reset(&a);
    cs_buf_addf(&a, "import %s", in.ptr);
    out = run(e, NULL, a.ptr, 0);
    expect_in(out, "imported 6 conversations from 6 file(s)");
    free(out);
    assert_int_equal(count(e, "WHERE id = 'hand-1'"), 1);
    /* --from forces a format: a Vapi file read as Retell is refused. */
    cs_buf_reset(&a);
    cs_buf_addf(&a, "ingest --from retell %s/vapi-report.json", in.ptr);
    free(run(e, NULL, a.ptr, 4));
    cs_buf_release(&in);
    cs_buf_release(&a);
}

static void test_import__compare_platform_verdict_with_the_judge(
    void **state)
{
    static const char rubric[] =
        "{\"name\": \"Resolved\", \"type\": \"boolean\", "
        "\"definition\": \"The caller got what they called for.\", "
        "\"success\": \"The agent booked or confirmed.\", "
        "\"failure\": \"Anything else.\", "
        "\"rules\": [{\"turn_matches\": \"(?i)booked|see you\", "
        "\"role\": \"agent\", \"value\": true}, {\"default\": false}]}\n";
    static const char *const calls[] = {
        "answered_contained", "transferred", "outbound", "voicemail",
        "tool_calls"};
    struct th_env *e = *state;
    struct cs_buf in = CS_BUF_INIT, a = CS_BUF_INIT, env = CS_BUF_INIT,
                  p = CS_BUF_INIT;
    json_t *j;
    char *out;

    cs_buf_addf(&in, "%s/in", e->dir);
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        cs_buf_reset(&p);
        cs_buf_reset(&a);
        cs_buf_addf(&p, "retell/%s/input", calls[i]);
        cs_buf_addf(&a, "%s.json", calls[i]);
        put_fixture(in.ptr, p.ptr, a.ptr);
    }
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/rubrics/resolved.json", e->dir);
    th_write(p.ptr, rubric, strlen(rubric));
    cs_buf_addf(&env, "CALLSCOPE_RUBRICS_DIR=%s/rubrics", e->dir);
    cs_buf_reset(&a);
    cs_buf_addf(&a, "import %s", in.ptr);
    free(run(e, env.ptr, a.ptr, 0));
    /* Before scoring there is nothing to compare with. */
    free(run(e, env.ptr, "compare --metric resolved --with retell_success",
             2));
    free(run(e, env.ptr, "score -q", 0));
    out = run(e, env.ptr, "compare --metric resolved --with retell_success "
                          "--format json", 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    /* The judge says true for the booking and the confirmation; Retell
     * also for the tool-call call, where nothing was booked. */
    assert_int_equal(json_integer_value(json_object_get(j, "n")), 5);
    assert_true(json_real_value(json_object_get(j, "accuracy")) == 0.8);
    assert_int_equal(json_array_size(json_object_get(j, "disagreements")),
                     1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(j, "disagreements"), 0)),
                        "default/call_a1b2c3d4e5f60718293a4b5c6d7e8f09");
    json_decref(j);
    free(out);
    out = run(e, env.ptr, "compare --metric resolved --with retell_success",
              0);
    expect_in(out, "== resolved vs retell_success: n=5 accuracy=0.8000");
    free(out);
    cs_buf_release(&in);
    cs_buf_release(&a);
    cs_buf_release(&env);
    cs_buf_release(&p);
}

static void test_import__tenant_map_from_the_config(void **state)
{
    struct th_env *e = th_env_new(
        "{\"importers\": {\"tenant_map\": {\"agent_3f5e9a1c7b2d4e6f8a0b1c2d\""
        ": \"acme-dental\"}}}");
    struct th_env *bad = th_env_new(
        "{\"importers\": {\"tenant_map\": {\"agent_x\": 7}}}");
    struct cs_buf in = CS_BUF_INIT, a = CS_BUF_INIT;
    char *out;

    (void)state;
    cs_buf_addf(&in, "%s/in", e->dir);
    put_fixture(in.ptr, "retell/outbound/input", "r.json");
    cs_buf_addf(&a, "import --from retell %s", in.ptr);
    free(run(e, NULL, a.ptr, 0));
    assert_int_equal(count(e, "WHERE tenant = 'acme-dental'"), 1);
    /* --tenant wins over the map. */
    cs_buf_reset(&a);
    cs_buf_addf(&a, "import --from retell --tenant other %s", in.ptr);
    free(run(e, NULL, a.ptr, 0));
    assert_int_equal(count(e, "WHERE tenant = 'other'"), 1);
    out = run(bad, NULL, a.ptr, 3);
    free(out);
    th_env_free(e);
    th_env_free(bad);
    cs_buf_release(&in);
    cs_buf_release(&a);
}

/* A refused payload is shown scrubbed in the rejects file: its
 * credentials and phone numbers are not written anywhere. */
static void test_import__rejects_keep_no_secrets(void **state)
{
    struct th_env *e = *state;
    struct cs_buf in = CS_BUF_INIT, a = CS_BUF_INIT, p = CS_BUF_INIT;
    char *out, *rejects;

    cs_buf_addf(&in, "%s/in", e->dir);
    put_fixture(in.ptr, "vapi/wrong_type/input", "bad.json");
    put_fixture(in.ptr, "vapi/truncated/input", "cut.json");
    cs_buf_addf(&p, "%s/rejects.jsonl", e->dir);
    cs_buf_addf(&a, "import --from vapi --rejects %s %s", p.ptr, in.ptr);
    out = run(e, NULL, a.ptr, 4);
    expect_in(out, "2 rejected");
    free(out);
    rejects = th_read(p.ptr);
    assert_non_null(rejects);
    expect_in(rejects, "vapi field 'message.call.id': expected a string");
    expect_in(rejects, "end-of-call-report"); /* the payload is there */
    assert_null(strstr(rejects, "must-not-be-kept"));
    assert_null(strstr(rejects, "+1415555"));
    free(rejects);
    cs_buf_release(&in);
    cs_buf_release(&a);
    cs_buf_release(&p);
}

static void test_import__usage_errors(void **state)
{
    struct th_env *e = *state;

    free(run(e, NULL, "import --from genesys x.json", 2));
    free(run(e, NULL, "import --from vapi", 2));
    free(run(e, NULL, "import --from livekit --transcripts /nonexistent "
                      "x.jsonl", 2));
    free(run(e, NULL, "compare --metric a", 2));
}

/*
 * The pure entry point takes any bytes: every prefix and some corrupted
 * copies of every fixture, in every format, end in a record or a reason
 * (the sanitizer pass makes this a small fuzzing run).
 */
static void test_import__converters_take_any_bytes(void **state)
{
    static const char *const formats[] = {"vapi", "retell", "polyai",
                                          "livekit"};
    struct cs_import_opts o;
    uint32_t seed = 2166136261u;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.retell_key = "k";
    o.now_ms = 1791212400000LL;
    for (size_t f = 0; f < 4; f++) {
        struct cs_buf dir = CS_BUF_INIT;
        char **names = NULL;
        size_t n = 0;

        cs_buf_addf(&dir, "%s/tests/data/import/%s", CS_SOURCE_DIR,
                    formats[f]);
        assert_int_equal(cs_fs_list_sorted(&names, &n, dir.ptr, NULL, NULL,
                                           NULL), 0);
        for (size_t i = 0; i < n; i++) {
            struct cs_buf p = CS_BUF_INIT;
            char *data;
            size_t len, step;

            cs_buf_addf(&p, "%s/%s/input", dir.ptr, names[i]);
            data = th_read(p.ptr);
            cs_buf_release(&p);
            if (!data)
                continue;
            len = strlen(data);
            step = len / 48 + 1;
            for (size_t cut = 0; cut <= len; cut += step) {
                for (int g = 0; g <= CS_IMPORT_LIVEKIT; g++) {
                    struct cs_err err;
                    char *out = NULL;
                    int ret;

                    if (g == CS_IMPORT_CANONICAL)
                        continue;
                    cs_err_clear(&err);
                    ret = cs_import_bytes(&out, (enum cs_import_format)g,
                                          data, cut, &o, &err);
                    assert_true(ret == 0 || ret == CS_ENOTFOUND ||
                                ret == CS_EINVALID);
                    assert_true((ret == 0) == (out != NULL) ||
                                g == CS_IMPORT_AUTO);
                    free(out);
                }
            }
            /* Flipped bytes. */
            for (int k = 0; k < 32 && len; k++) {
                char *copy = cs_xstrdup(data);
                struct cs_err err;
                char *out = NULL;

                for (int b = 0; b < 4; b++) {
                    seed = seed * 1103515245u + 12345u;
                    copy[(seed >> 8) % len] = (char)(seed >> 20);
                }
                cs_err_clear(&err);
                (void)cs_import_bytes(&out, (enum cs_import_format)(
                                                CS_IMPORT_VAPI + f),
                                      copy, len, &o, &err);
                free(out);
                free(copy);
            }
            free(data);
        }
        cs_fs_list_free(names, n);
        cs_buf_release(&dir);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest units[] = {
        cmocka_unit_test(test_import__cases_are_complete),
        cmocka_unit_test(test_import__converters_take_any_bytes),
        TH_ENV_TEST(test_import__every_format_loads_and_reimport_replaces),
        TH_ENV_TEST(test_import__retell_analysis_is_never_replaced),
        TH_ENV_TEST(test_import__retell_signatures),
        TH_ENV_TEST(test_import__livekit_room_completes_across_imports),
        TH_ENV_TEST(test_import__kpis_equal_hand_written_records),
        TH_ENV_TEST(test_import__ingest_detects_vendor_files),
        TH_ENV_TEST(test_import__compare_platform_verdict_with_the_judge),
        cmocka_unit_test(test_import__tenant_map_from_the_config),
        TH_ENV_TEST(test_import__rejects_keep_no_secrets),
        TH_ENV_TEST(test_import__usage_errors),
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
