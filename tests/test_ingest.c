/* test_ingest.c - ingest through the real binary into a real PostgreSQL */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/mem.h"
#include "helpers.h"

#define GOOD(id, extra)                                                    \
    "{\"id\":\"" id "\",\"tenant\":\"t1\",\"started_at\":"                 \
    "\"2026-10-01T10:00:00Z\",\"answered_at\":\"2026-10-01T10:00:02Z\","   \
    "\"ended_at\":\"2026-10-01T10:03:00Z\",\"turns\":[{\"role\":\"agent\"," \
    "\"text\":\"Hello, how can I help?\"}]" extra "}\n"

static long count_rows(struct th_env *f, const char *where)
{
    struct cs_buf q = CS_BUF_INIT;
    long n;

    cs_buf_addf(&q, "SELECT count(*) FROM conversations %s", where);
    n = th_sql_long(f->db, q.ptr);
    cs_buf_release(&q);
    return n;
}

/* Finds the rejects entry for `line` and checks its reason mentions `what`. */
static void expect_reject(const char *rejects, const char *file, long line,
                          const char *what)
{
    char needle[512];
    const char *p;

    snprintf(needle, sizeof(needle), "\"file\":\"%s\",\"line\":%ld,", file,
             line);
    p = strstr(rejects, needle);
    if (!p)
        fail_msg("no reject for line %ld in:\n%s", line, rejects);
    p = strstr(p, "\"reason\":\"");
    assert_non_null(p);
    if (!strstr(p, what) || strchr(p, '\n') < strstr(p, what))
        fail_msg("reject of line %ld does not mention '%s': %.200s", line,
                 what, p);
}

static void test_ingest__bad_lines_rejected_rest_loaded(void **state)
{
    struct th_env *f = *state;
    struct cs_buf data = CS_BUF_INIT, path = CS_BUF_INIT, args = CS_BUF_INIT,
                  rj = CS_BUF_INIT;
    char *out = NULL, *err = NULL, *rejects, *agent;
    int rc;

    cs_buf_adds(&data, GOOD("a1", ",\"agent\":\"v1\""));              /* 1 */
    cs_buf_adds(&data, "{not json\n");                                  /* 2 */
    cs_buf_adds(&data, GOOD("a2", ""));                                 /* 3 */
    cs_buf_adds(&data, "{\"started_at\":\"2026-10-01T10:00:00Z\","
                       "\"turns\":[]}\n");                              /* 4 */
    cs_buf_adds(&data, "{\"id\":\"x5\",\"turns\":[]}\n");               /* 5 */
    cs_buf_adds(&data, GOOD("x6", ",\"ring_s\":\"3\""));                /* 6 */
    cs_buf_adds(&data, GOOD("x7", ",\"queue_wait_s\":-1"));            /* 7 */
    cs_buf_adds(&data, "{\"id\":\"x8\",\"started_at\":\"2026-10-01T10:00:"
                       "00Z\",\"ended_at\":\"2026-10-01T09:00:00Z\","
                       "\"turns\":[]}\n");                              /* 8 */
    cs_buf_adds(&data, "{\"id\":\"x9\",\"started_at\":\"2026-10-01T10:00:"
                       "00Z\",\"agent\":\"\xff\xfe\",\"turns\":[]}\n"); /* 9 */
    cs_buf_adds(&data, "{\"id\":\"x10\",");                            /* 10 */
    cs_buf_add(&data, "\0", 1);
    cs_buf_adds(&data, "\"started_at\":\"2026-10-01T10:00:00Z\"}\n");
    cs_buf_adds(&data, "{\"id\":\"x11\",\"started_at\":\"2026-10-01T10:00:"
                       "00Z\",\"turns\":[],\"metadata\":");             /* 11 */
    for (int i = 0; i < 5000; i++)
        cs_buf_addch(&data, '[');
    for (int i = 0; i < 5000; i++)
        cs_buf_addch(&data, ']');
    cs_buf_adds(&data, "}\n");
    cs_buf_adds(&data, "{\"id\":\"x12\",\"pad\":\"");                  /* 12 */
    for (int i = 0; i < 3 * 1024 * 1024; i++)
        cs_buf_addch(&data, 'a');
    cs_buf_adds(&data, "\"}\n");
    cs_buf_adds(&data, "   \n");                                       /* 13 */
    cs_buf_adds(&data, GOOD("a1", ",\"agent\":\"v2\""));              /* 14 */
    cs_buf_adds(&data, "{\"id\":\"x15\",\"started_at\":\"2026-10-01T10:00:"
                       "00Z\",\"turns\":[{\"role\":\"robot\",\"text\":"
                       "\"hi\"}]}\n");                                  /* 15 */
    cs_buf_adds(&data, GOOD("x16", ",\"csat\":9"));                    /* 16 */
    cs_buf_adds(&data, "[1,2,3]\n");                                    /* 17 */
    cs_buf_adds(&data, "{\"id\":\"x18\",\"started_at\":\"yesterday\","
                       "\"turns\":[]}\n");                              /* 18 */
    cs_buf_adds(&data, GOOD("a3", ",\"surprise\":{\"k\":1}"));         /* 19 */
    cs_buf_addf(&path, "%s/in/calls.jsonl", f->dir);
    th_write(path.ptr, data.ptr, data.len);
    cs_buf_addf(&rj, "%s/rejects.jsonl", f->dir);
    cs_buf_addf(&args, "ingest --max-line-bytes 1048576 --rejects %s %s",
                rj.ptr, path.ptr);

    rc = th_run(f->env.ptr, args.ptr, &out, &err);
    assert_int_equal(rc, 4); /* partial: some lines rejected */
    assert_non_null(strstr(out, "ingested 4 conversations"));
    assert_non_null(strstr(out, "14 rejected"));
    rejects = th_read(rj.ptr);
    assert_non_null(rejects);
    expect_reject(rejects, path.ptr, 2, "invalid JSON");
    expect_reject(rejects, path.ptr, 4, "field 'id': missing");
    expect_reject(rejects, path.ptr, 5, "field 'started_at': missing");
    expect_reject(rejects, path.ptr, 6, "field 'ring_s': expected a number");
    expect_reject(rejects, path.ptr, 7, "field 'queue_wait_s': must be >= 0");
    expect_reject(rejects, path.ptr, 8, "field 'ended_at': before "
                                        "started_at");
    expect_reject(rejects, path.ptr, 9, "invalid JSON");
    expect_reject(rejects, path.ptr, 10, "NUL byte at column 13");
    expect_reject(rejects, path.ptr, 11, "maximum parsing depth");
    expect_reject(rejects, path.ptr, 12, "exceeds the limit of 1048576");
    expect_reject(rejects, path.ptr, 15, "field 'turns[0].role'");
    expect_reject(rejects, path.ptr, 16, "field 'csat': must be between 1 "
                                         "and 5");
    expect_reject(rejects, path.ptr, 17, "expected a JSON object");
    expect_reject(rejects, path.ptr, 18, "not an RFC 3339 timestamp");
    /* The same messages reach stderr with file:line. */
    assert_non_null(strstr(err, "calls.jsonl:7: field 'queue_wait_s'"));
    assert_int_equal(count_rows(f, ""), 3);
    /* The later line of a1 replaced the earlier one. */
    agent = th_sql(f->db, "SELECT agent FROM conversations WHERE id='a1'");
    assert_string_equal(agent, "v2");
    free(agent);
    /* Unknown fields are kept in metadata. */
    agent = th_sql(f->db, "SELECT metadata->'surprise'->>'k' FROM "
                          "conversations WHERE id='a3'");
    assert_string_equal(agent, "1");
    free(agent);
    free(rejects);
    free(out);
    free(err);
    cs_buf_release(&data);
    cs_buf_release(&path);
    cs_buf_release(&args);
    cs_buf_release(&rj);
}

static void test_ingest__reingest_replaces_and_is_idempotent(void **state)
{
    struct th_env *f = *state;
    struct cs_buf path = CS_BUF_INIT, args = CS_BUF_INIT;
    const char *v1 = GOOD("r1", ",\"csat\":2") GOOD("r2", "");
    const char *v2 = GOOD("r1", ",\"csat\":5");
    char *out = NULL, *csat;

    cs_buf_addf(&path, "%s/a.jsonl", f->dir);
    th_write(path.ptr, v1, strlen(v1));
    cs_buf_addf(&args, "ingest %s", path.ptr);
    assert_int_equal(th_run(f->env.ptr, args.ptr, &out, NULL), 0);
    free(out);
    assert_int_equal(th_run(f->env.ptr, args.ptr, &out, NULL), 0);
    assert_non_null(strstr(out, "ingested 2 conversations"));
    free(out);
    assert_int_equal(count_rows(f, ""), 2);
    th_write(path.ptr, v2, strlen(v2));
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    assert_int_equal(count_rows(f, ""), 2);
    csat = th_sql(f->db, "SELECT csat FROM conversations WHERE id='r1'");
    assert_string_equal(csat, "5");
    free(csat);
    cs_buf_release(&path);
    cs_buf_release(&args);
}

static void test_ingest__gzip_folders_and_unreadable_files(void **state)
{
    struct th_env *f = *state;
    struct cs_buf p = CS_BUF_INIT, args = CS_BUF_INIT;
    const char *a = GOOD("g1", "") GOOD("g2", "");
    char *out = NULL, *err = NULL;
    gzFile gz;

    cs_buf_addf(&p, "%s/in/sub/b.jsonl.gz", f->dir);
    th_write(p.ptr, "", 0);
    gz = gzopen(p.ptr, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, a, (unsigned)strlen(a)), (int)strlen(a));
    assert_int_equal(gzclose(gz), Z_OK);
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/in/c.jsonl", f->dir);
    th_write(p.ptr, GOOD("g3", ""), strlen(GOOD("g3", "")));
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/in/notes.txt", f->dir); /* not a .jsonl: ignored */
    th_write(p.ptr, "garbage\n", 8);
    cs_buf_reset(&p);
    /* A truncated .gz: the file is an error, the others still load. */
    cs_buf_addf(&p, "%s/in/d.jsonl.gz", f->dir);
    th_write(p.ptr, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x4b\x4c", 12);
    cs_buf_addf(&args, "ingest %s/in %s/missing.jsonl", f->dir, f->dir);
    assert_int_equal(th_run(f->env.ptr, args.ptr, &out, &err), 4);
    assert_non_null(strstr(out, "ingested 3 conversations"));
    assert_non_null(strstr(out, "2 file(s) unreadable"));
    assert_non_null(strstr(err, "missing.jsonl"));
    assert_non_null(strstr(err, "d.jsonl.gz"));
    assert_int_equal(count_rows(f, ""), 3);
    free(out);
    free(err);
    cs_buf_release(&p);
    cs_buf_release(&args);
}

static void test_ingest__defaults_are_filled(void **state)
{
    struct th_env *f = *state;
    struct cs_buf p = CS_BUF_INIT, args = CS_BUF_INIT;
    const char *line = "{\"id\":\"d1\",\"started_at\":\"2026-10-01T10:00:00"
                       "+02:00\",\"turns\":[]}\n";
    char *v;

    cs_buf_addf(&p, "%s/d.jsonl", f->dir);
    th_write(p.ptr, line, strlen(line));
    cs_buf_addf(&args, "ingest %s", p.ptr);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    v = th_sql(f->db, "SELECT tenant || ' ' || channel || ' ' || direction "
                      "|| ' ' || outcome || ' ' || to_char(started_at AT "
                      "TIME ZONE 'UTC', 'HH24:MI') FROM conversations");
    assert_string_equal(v, "default voice inbound no_answer 08:00");
    free(v);
    cs_buf_release(&p);
    cs_buf_release(&args);
}

/* Each value lands in its own column (the COPY column order). */
static void test_ingest__values_land_in_their_columns(void **state)
{
    struct th_env *f = *state;
    struct cs_buf p = CS_BUF_INIT, args = CS_BUF_INIT;
    const char *line =
        "{\"id\":\"c1\",\"tenant\":\"t\",\"agent\":\"ag\",\"channel\":"
        "\"chat\",\"direction\":\"outbound\",\"caller\":\"A\",\"callee\":"
        "\"B\",\"started_at\":\"2026-10-01T10:00:00Z\",\"answered_at\":"
        "\"2026-10-01T10:00:01Z\",\"ended_at\":\"2026-10-01T10:00:09Z\","
        "\"outcome\":\"failed\",\"ring_s\":1.5,\"queue_wait_s\":2.5,"
        "\"sip_error_code\":486,\"turns\":[{\"role\":\"agent\",\"text\":"
        "\"x\"}],\"tool_calls\":[{\"name\":\"crm\",\"ok\":true,"
        "\"creates\":\"crm_update\"},{\"name\":\"tk\",\"ok\":false}],"
        "\"spans\":[{\"name\":\"llm\",\"duration_ms\":700}],\"costs\":"
        "{\"llm\":0.25,\"tts\":0.5},\"csat\":4,\"nps\":9,\"topics\":"
        "[\"billing\"],\"metrics\":[{\"name\":\"m\",\"value\":1}]}\n";
    char *v;

    cs_buf_addf(&p, "%s/c.jsonl", f->dir);
    th_write(p.ptr, line, strlen(line));
    cs_buf_addf(&args, "ingest %s", p.ptr);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    v = th_sql(f->db, "SELECT concat_ws('|', tenant, id, agent, channel, "
                      "direction, caller, callee, extract(epoch FROM "
                      "ended_at - answered_at), outcome, ring_s, "
                      "queue_wait_s, sip_error_code, n_turns, tools_total, "
                      "tools_ok, created_ticket, created_crm, created_appt, "
                      "span_names[1], span_ms[1], cost_total, csat, nps, "
                      "topics[1], metrics->0->>'name') FROM conversations");
    assert_string_equal(v, "t|c1|ag|chat|outbound|A|B|8.000000|failed|1.5|"
                           "2.5|486|1|2|1|0|1|0|llm|700|0.75|4|9|billing|m");
    free(v);
    cs_buf_release(&p);
    cs_buf_release(&args);
}

static void test_ingest__sample_data_loads_completely(void **state)
{
    struct th_env *f = *state;
    struct cs_buf args = CS_BUF_INIT;
    char *out = NULL;
    long expected;

    cs_buf_addf(&args, "sample --days 3 --per-day 150 --out %s/s.jsonl",
                f->dir);
    assert_int_equal(th_run(NULL, args.ptr, NULL, NULL), 0);
    assert_int_equal(th_run(NULL, "sample --days 3 --per-day 150 --count",
                            &out, NULL), 0);
    expected = strtol(out, NULL, 10);
    free(out);
    assert_true(expected == 450);
    cs_buf_reset(&args);
    cs_buf_addf(&args, "ingest %s/s.jsonl", f->dir);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    assert_int_equal(count_rows(f, ""), expected);
    cs_buf_release(&args);
}

/* Rejected lines that cannot be recorded (a full disk) are not lost
 * silently: the run is an error naming the rejects file; the good lines
 * are still stored. */
static void test_ingest__rejects_file_on_a_full_disk_is_an_error(void **state)
{
    struct th_env *f = *state;
    struct cs_buf p = CS_BUF_INIT, a = CS_BUF_INIT;
    char *out = NULL, *err = NULL;
    static const char text[] =
        "{\"id\":\"ok-1\",\"started_at\":\"2026-10-01T10:00:00Z\","
        "\"turns\":[]}\n"
        "{\"id\": 1}\n";

    cs_buf_addf(&p, "%s/in.jsonl", f->dir);
    th_write(p.ptr, text, strlen(text));
    cs_buf_addf(&a, "ingest --rejects /dev/full %s", p.ptr);
    assert_int_equal(th_run(f->env.ptr, a.ptr, &out, &err), 1);
    assert_non_null(strstr(err, "rejected lines could not be recorded in "
                                "the rejects file '/dev/full'"));
    assert_non_null(strstr(out, "1 rejected"));
    assert_int_equal(count_rows(f, "WHERE id = 'ok-1'"), 1);
    free(out);
    free(err);
    cs_buf_release(&p);
    cs_buf_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_ENV_TEST(test_ingest__bad_lines_rejected_rest_loaded),
        TH_ENV_TEST(test_ingest__reingest_replaces_and_is_idempotent),
        TH_ENV_TEST(test_ingest__gzip_folders_and_unreadable_files),
        TH_ENV_TEST(test_ingest__defaults_are_filled),
        TH_ENV_TEST(test_ingest__values_land_in_their_columns),
        TH_ENV_TEST(test_ingest__sample_data_loads_completely),
        TH_ENV_TEST(test_ingest__rejects_file_on_a_full_disk_is_an_error),
    };

    return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
