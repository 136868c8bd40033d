/* test_ingest.c - ingest through the real binary into a real PostgreSQL */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/mem.h"
#include "helpers.h"
#include "ingest/arena.h"

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

/* What identifies the stored state: every key with its content. */
static char *fingerprint(struct th_env *f)
{
    return th_sql(f->db, "SELECT count(*) || ':' || md5(string_agg(tenant "
                         "|| '/' || id || '/' || content_hash, ',' ORDER "
                         "BY tenant, id)) FROM conversations");
}

/*
 * Two ingests of the same file at once wait for each other's rows of the
 * same conversations (the deferred key at commit, the delete of older
 * versions) and PostgreSQL fails one with "deadlock detected": that batch
 * is written again. Both processes succeed, many times over, and the
 * store ends as one ingest leaves it.
 */
static void test_ingest__concurrent_ingests_of_one_file(void **state)
{
    struct th_env *f = *state;
    struct cs_buf args = CS_BUF_INIT, cmd = CS_BUF_INIT;
    char *want, *got;
    int retried = 0;

    cs_buf_addf(&args, "sample --days 2 --per-day 400 --out %s/s.jsonl",
                f->dir);
    assert_int_equal(th_run(NULL, args.ptr, NULL, NULL), 0);
    cs_buf_reset(&args);
    cs_buf_addf(&args, "ingest --batch 50 %s/s.jsonl", f->dir);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    want = fingerprint(f);
    assert_non_null(strstr(want, "800:"));
    for (int round = 0; round < 12; round++) {
        FILE *p[2];
        int st[2];

        /* Each round starts from an empty table half the time: first
         * ingests race on the key, re-ingests on the delete too. */
        if (round % 2)
            free(th_sql(f->db, "DELETE FROM conversations RETURNING 1"));
        for (int i = 0; i < 2; i++) {
            cs_buf_reset(&cmd);
            cs_buf_addf(&cmd, "%s %s -v %s >%s/out%d 2>%s/err%d",
                        f->env.ptr, CS_BINARY, args.ptr, f->dir, i, f->dir,
                        i);
            p[i] = popen(cmd.ptr, "r");
            assert_non_null(p[i]);
        }
        for (int i = 0; i < 2; i++)
            st[i] = pclose(p[i]);
        for (int i = 0; i < 2; i++) {
            char *e;

            cs_buf_reset(&cmd);
            cs_buf_addf(&cmd, "%s/err%d", f->dir, i);
            e = th_read(cmd.ptr);
            if (!WIFEXITED(st[i]) || WEXITSTATUS(st[i]) != 0)
                fail_msg("round %d: ingest %d failed: %s", round, i, e);
            retried += strstr(e, "writing the batch again") != NULL;
            free(e);
        }
        got = fingerprint(f);
        assert_string_equal(got, want);
        free(got);
    }
    /* The collision this is about did happen (runs where it did not
     * would prove nothing). */
    assert_true(retried > 0);
    free(want);
    cs_buf_release(&args);
    cs_buf_release(&cmd);
}

/*
 * A batch the database fails as a whole (here a deferred trigger at
 * commit) is an error naming the file and the lines of that batch, with
 * the server's whole message (no longer cut at 256 bytes); the batches
 * before it stay stored.
 */
static void test_ingest__failed_batch_names_file_and_lines(void **state)
{
    struct th_env *f = *state;
    struct cs_buf data = CS_BUF_INIT, path = CS_BUF_INIT, args = CS_BUF_INIT;
    char *err = NULL, *out = NULL;

    for (int i = 1; i <= 120; i++)
        cs_buf_addf(&data, "{\"id\":\"c-%d\",\"tenant\":\"t1\","
                    "\"started_at\":\"2026-10-01T10:00:00Z\",\"turns\":[]}\n",
                    i);
    cs_buf_addf(&path, "%s/in.jsonl", f->dir);
    th_write(path.ptr, data.ptr, data.len);
    /* Migrate first, so the table exists for the trigger. */
    assert_int_equal(th_run(f->env.ptr, "db migrate", NULL, NULL), 0);
    free(th_sql(f->db, "CREATE FUNCTION refuse() RETURNS trigger "
                       "LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = 'c-75' THEN "
                       "RAISE EXCEPTION 'refused at commit, a message long "
                       "enough to pass the old bound of 256 bytes: %', "
                       "repeat('x', 300); END IF; RETURN NEW; END $$"));
    free(th_sql(f->db, "CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON "
                       "conversations DEFERRABLE INITIALLY DEFERRED FOR EACH "
                       "ROW EXECUTE FUNCTION refuse()"));
    cs_buf_addf(&args, "ingest --batch 50 %s", path.ptr);
    assert_int_equal(th_run(f->env.ptr, args.ptr, &out, &err), 1);
    /* How far it got, not "ingested 120". */
    assert_non_null(strstr(out, "ingest stopped after "));
    assert_non_null(strstr(out, ": 50 conversations stored"));
    free(out);
    assert_non_null(strstr(err, "refused at commit"));
    /* All 300 of them, and the message is one line. */
    assert_non_null(strstr(err, ": x"));
    assert_int_equal(strspn(strstr(err, ": x") + 2, "x"), 300);
    assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1);
    cs_buf_reset(&args);
    cs_buf_addf(&args, "batch of 50 conversations: '%s' lines 51-100",
                path.ptr);
    if (!strstr(err, args.ptr))
        fail_msg("no '%s' in: %s", args.ptr, err);
    assert_int_equal(count_rows(f, ""), 50);
    free(err);
    cs_buf_release(&data);
    cs_buf_release(&path);
    cs_buf_release(&args);
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#include <sanitizer/asan_interface.h>
#else
#define ASAN 0
#endif

/*
 * The parsing arena (ingest/arena.h) is what production runs, so the
 * sanitizer build runs it too: memory is handed out unpoisoned with a
 * poisoned redzone after it, poisoned again on free and at the end of a
 * line, and recycled for the next line. Under ASan a read after the end
 * of the line is reported (in a child, which ASan ends).
 */
static void test_ingest__arena_poisons_what_it_recycles(void **state)
{
    json_malloc_t jmalloc;
    json_free_t jfree;
    char *a, *b, *c;

    (void)state;
    cs_arena_install();
    json_get_alloc_funcs(&jmalloc, &jfree);
    cs_arena_begin();
    a = jmalloc(24);
    b = jmalloc(40);
    memset(a, 1, 24);
    memset(b, 2, 40);
    assert_true(b >= a + 24);
#if ASAN
    assert_false(__asan_address_is_poisoned(a + 23));
    assert_true(__asan_address_is_poisoned(a + 24));
    jfree(a);
    assert_true(__asan_address_is_poisoned(a));
    assert_false(__asan_address_is_poisoned(b));
#else
    jfree(a); /* a no-op in the arena */
#endif
    cs_arena_end();
#if ASAN
    assert_true(__asan_address_is_poisoned(b));
    assert_true(__asan_address_is_poisoned(b + 39));
#endif
    /* The next line gets the same memory, usable again. */
    cs_arena_begin();
    c = jmalloc(24);
    assert_ptr_equal(c, a);
    memset(c, 3, 24);
    cs_arena_end();
#if ASAN
    {
        char log[] = "/tmp/cs-test.arena-XXXXXX";
        int fd = mkstemp(log), st = 0;
        pid_t pid;
        char *text;

        assert_true(fd >= 0);
        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            volatile char x;

            dup2(fd, 2);
            cs_arena_begin();
            c = jmalloc(16);
            cs_arena_end();
            x = c[0]; /* use after the line ended */
            (void)x;
            _exit(0);
        }
        close(fd);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        text = th_read(log);
        unlink(log);
        assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_non_null(strstr(text, "use-after-poison"));
        free(text);
    }
#endif
    cs_arena_release();
    json_set_alloc_funcs(malloc, free);
}

/*
 * SIGTERM in the middle of a long ingest: the reading stops before the
 * next line, what was read is committed (whole conversations), the
 * summary says it stopped and how many are stored, and the exit is 6.
 * Ingesting the file again loads the rest.
 */
static void test_ingest__sigterm_commits_what_was_read(void **state)
{
    struct th_env *f = *state;
    struct cs_buf data = CS_BUF_INIT, path = CS_BUF_INIT, args = CS_BUF_INIT;
    struct timespec ts = {1, 0};
    const long total = 300000;
    struct th_bg bg;
    char *out, *err, *p;
    long said;

    for (long i = 0; i < total; i++)
        cs_buf_addf(&data, "{\"id\":\"s-%ld\",\"tenant\":\"t1\","
                    "\"started_at\":\"2026-10-01T10:00:00Z\",\"turns\":"
                    "[{\"role\":\"customer\",\"text\":\"hello %ld\"}]}\n",
                    i, i);
    cs_buf_addf(&path, "%s/big.jsonl", f->dir);
    th_write(path.ptr, data.ptr, data.len);
    cs_buf_addf(&args, "ingest --batch 500 %s", path.ptr);
    th_bg_start(&bg, f->env.ptr, args.ptr, f->dir, "ingest");
    nanosleep(&ts, NULL);
    th_expect_exit(th_bg_end(&bg, SIGTERM, &out, &err), 6, out, err);
    assert_non_null(strstr(err, "SIGTERM received"));
    assert_non_null(strstr(err, "stopped reading"));
    assert_non_null(strstr(out, "stopped by SIGTERM before the end of the "
                                "input"));
    p = strstr(out, "ingested ");
    assert_non_null(p);
    said = strtol(p + 9, NULL, 10);
    assert_true(said > 0 && said < total);
    assert_int_equal(count_rows(f, ""), said);
    free(out);
    free(err);
    cs_buf_reset(&args);
    cs_buf_addf(&args, "ingest %s", path.ptr);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 0);
    assert_int_equal(count_rows(f, ""), total);
    cs_buf_release(&data);
    cs_buf_release(&path);
    cs_buf_release(&args);
}

/* A file whose name is not UTF-8: its rejected lines are still recorded
 * (the name with that byte as \xNN), not dropped from the rejects file. */
static void test_ingest__rejects_of_a_file_named_in_latin1(void **state)
{
    struct th_env *f = *state;
    struct cs_buf path = CS_BUF_INIT, args = CS_BUF_INIT, rj = CS_BUF_INIT;
    char *rejects;

    cs_buf_addf(&path, "%s/caf\xe9.jsonl", f->dir);
    th_write(path.ptr, "{\"id\": 1}\n", 10);
    cs_buf_addf(&rj, "%s/rejects.jsonl", f->dir);
    cs_buf_addf(&args, "ingest --rejects %s '%s'", rj.ptr, path.ptr);
    assert_int_equal(th_run(f->env.ptr, args.ptr, NULL, NULL), 4);
    rejects = th_read(rj.ptr);
    assert_non_null(rejects);
    assert_non_null(strstr(rejects, "caf\\\\xe9.jsonl\",\"line\":1,"));
    assert_non_null(strstr(rejects, "\"reason\":\"field 'id'"));
    free(rejects);
    cs_buf_release(&path);
    cs_buf_release(&args);
    cs_buf_release(&rj);
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
        TH_ENV_TEST(test_ingest__concurrent_ingests_of_one_file),
        TH_ENV_TEST(test_ingest__failed_batch_names_file_and_lines),
        cmocka_unit_test(test_ingest__arena_poisons_what_it_recycles),
        TH_ENV_TEST(test_ingest__sigterm_commits_what_was_read),
        TH_ENV_TEST(test_ingest__rejects_of_a_file_named_in_latin1),
        TH_ENV_TEST(test_ingest__rejects_file_on_a_full_disk_is_an_error),
    };

    return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
