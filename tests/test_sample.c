/* test_sample.c - the sample generator: determinism, the input format of
 * conversation-format.md, plausible shares, evaluator language, PII */
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
#include "base/mem.h"
#include "base/parse.h"
#include "sample/builder.h"
#include "sample/sample.h"

/* The shared sample: 14 days from 2026-10-26 (spans the end of US daylight
 * saving time) at 300 a day, parsed once for the whole group. */
#define FX_START "2026-10-26"
#define FX_DAYS 14
#define FX_PER_DAY 300

struct fx {
    char *text;
    size_t len;
    json_t **recs;
    size_t n;
};

/* Generates `o` into memory (new string, NUL-terminated). */
static char *generate(const struct cs_sample_opts *o, size_t *len)
{
    struct cs_err err = {0, ""};
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    int ret;

    assert_non_null(f);
    ret = cs_sample_generate(f, o, &err);
    fclose(f);
    if (ret != 0)
        fail_msg("generate failed: %s", err.msg);
    *len = size;
    return buf;
}

/* Parses each line; fails the test on the first line that is not a JSON
 * object. Returns a new array of new references. */
static json_t **parse_lines(const char *text, size_t len, size_t *n_out)
{
    json_t **recs = NULL;
    size_t n = 0, cap = 0;
    const char *p = text;
    const char *end = text + len;
    const char *nl;
    json_error_t jerr;
    json_t *v;

    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            fail_msg("line %zu: no final newline", n + 1);
        v = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &jerr);
        if (!v || !json_is_object(v))
            fail_msg("line %zu: not a JSON object: %s", n + 1, jerr.text);
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            recs = cs_xrealloc(recs, cap * sizeof(*recs));
        }
        recs[n++] = v;
        p = nl + 1;
    }
    *n_out = n;
    return recs;
}

static void free_recs(json_t **recs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        json_decref(recs[i]);
    free(recs);
}

static int setup(void **state)
{
    struct fx *f = cs_xcalloc(1, sizeof(*f));
    struct cs_sample_opts o;

    cs_sample_opts_init(&o);
    o.seed = 42;
    o.start_date = FX_START;
    o.days = FX_DAYS;
    o.per_day = FX_PER_DAY;
    f->text = generate(&o, &f->len);
    f->recs = parse_lines(f->text, f->len, &f->n);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    free_recs(f->recs, f->n);
    free(f->text);
    free(f);
    return 0;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int is(json_t *o, const char *key, const char *value)
{
    const char *s = str(o, key);

    return s && !strcmp(s, value);
}

static int64_t ts_ms(json_t *o, const char *key)
{
    int64_t us;

    if (cs_parse_rfc3339(str(o, key), &us) < 0)
        fail_msg("'%s' is not RFC 3339: %s", key, str(o, key));
    return us / 1000;
}

static int one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++) {
        if (!strcmp(s, *set))
            return 1;
    }
    return 0;
}

/* Concatenated turn texts of one role ("" for every role), new. */
static char *texts(json_t *rec, const char *role)
{
    struct cs_buf b = CS_BUF_INIT;
    json_t *t;
    size_t i;

    json_array_foreach(json_object_get(rec, "turns"), i, t) {
        if (!*role || is(t, "role", role)) {
            cs_buf_adds(&b, str(t, "text"));
            cs_buf_addch(&b, '\n');
        }
    }
    return cs_buf_detach(&b, NULL);
}

/*
 * Checks one record against conversation-format.md; returns NULL or the
 * reason it breaks the format.
 */
static const char *check_record(json_t *r)
{
    static const char *const top[] = {
        "id", "started_at", "tenant", "agent", "channel", "direction",
        "caller", "callee", "answered_at", "ended_at", "outcome", "ring_s",
        "queue_wait_s", "sip_error_code", "handoff", "turns", "tool_calls",
        "spans", "costs", "csat", "nps", "topics", "metrics", "metadata",
        NULL};
    static const char *const channels[] = {"voice", "chat", "api", NULL};
    static const char *const dirs[] = {"inbound", "outbound", NULL};
    static const char *const outcomes[] = {
        "answered", "no_answer", "busy", "failed", "abandoned", NULL};
    static const char *const roles[] = {"agent", "customer", "system", NULL};
    static const char *const kinds[] = {
        "ticket", "crm_update", "appointment", NULL};
    static const char *const cost_keys[] = {
        "telephony", "stt", "llm", "tts", "other", NULL};
    const char *key;
    json_t *v, *e, *h;
    size_t i;
    int64_t us;

    json_object_foreach(r, key, v) {
        if (!one_of(key, top))
            return "unknown top-level field";
    }
    if (!str(r, "id") || !*str(r, "id"))
        return "id";
    if (!str(r, "started_at") || cs_parse_rfc3339(str(r, "started_at"), &us))
        return "started_at";
    if (str(r, "started_at")[strlen(str(r, "started_at")) - 1] != 'Z')
        return "started_at not UTC";
    if (!str(r, "tenant") || !str(r, "agent") || !str(r, "caller") ||
        !str(r, "callee"))
        return "tenant/agent/caller/callee";
    if (!one_of(str(r, "channel"), channels))
        return "channel";
    if (!one_of(str(r, "direction"), dirs))
        return "direction";
    if (!one_of(str(r, "outcome"), outcomes))
        return "outcome";
    if (json_object_get(r, "answered_at") &&
        (!str(r, "answered_at") ||
         cs_parse_rfc3339(str(r, "answered_at"), &us)))
        return "answered_at";
    if (!str(r, "ended_at") || cs_parse_rfc3339(str(r, "ended_at"), &us))
        return "ended_at";
    v = json_object_get(r, "ring_s");
    if (v && (!json_is_number(v) || json_number_value(v) < 0))
        return "ring_s";
    v = json_object_get(r, "queue_wait_s");
    if (v && (!json_is_number(v) || json_number_value(v) < 0))
        return "queue_wait_s";
    v = json_object_get(r, "sip_error_code");
    if (v && (!json_is_integer(v) || !is(r, "outcome", "failed")))
        return "sip_error_code";
    h = json_object_get(r, "handoff");
    if (h && !json_is_null(h)) {
        if (!json_is_object(h) ||
            !(is(h, "type", "warm") || is(h, "type", "cold")) ||
            !str(h, "target") || !str(h, "reason") ||
            !json_is_number(json_object_get(h, "at_s")))
            return "handoff";
    }
    v = json_object_get(r, "turns");
    if (!json_is_array(v))
        return "turns";
    json_array_foreach(v, i, e) {
        json_t *s = json_object_get(e, "start_s");
        json_t *t = json_object_get(e, "end_s");

        if (!json_is_object(e) || !one_of(str(e, "role"), roles) ||
            !str(e, "text") || !*str(e, "text"))
            return "turn role/text";
        if ((s && !json_is_number(s)) || (t && !json_is_number(t)) ||
            (s && t && json_number_value(s) > json_number_value(t)))
            return "turn times";
    }
    json_array_foreach(json_object_get(r, "tool_calls"), i, e) {
        json_t *c = json_object_get(e, "creates");

        if (!str(e, "name") || !json_is_boolean(json_object_get(e, "ok")) ||
            !json_is_number(json_object_get(e, "latency_ms")) ||
            !c || !(json_is_null(c) || one_of(json_string_value(c), kinds)))
            return "tool call";
        if (json_is_false(json_object_get(e, "ok")) != !!str(e, "error"))
            return "tool call error iff not ok";
    }
    json_array_foreach(json_object_get(r, "spans"), i, e) {
        if (!str(e, "name") ||
            !json_is_number(json_object_get(e, "duration_ms")) ||
            json_number_value(json_object_get(e, "duration_ms")) <= 0)
            return "span";
    }
    v = json_object_get(r, "costs");
    if (v) {
        if (!json_is_object(v))
            return "costs";
        json_object_foreach(v, key, e) {
            if (!one_of(key, cost_keys) || !json_is_number(e) ||
                json_number_value(e) < 0)
                return "costs entry";
        }
    }
    v = json_object_get(r, "csat");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
              json_integer_value(v) > 5))
        return "csat";
    v = json_object_get(r, "nps");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
              json_integer_value(v) > 10))
        return "nps";
    json_array_foreach(json_object_get(r, "topics"), i, e) {
        if (!json_is_string(e))
            return "topic";
    }
    json_array_foreach(json_object_get(r, "metrics"), i, e) {
        json_t *mv = json_object_get(e, "value");

        if (!str(e, "name") || !mv ||
            !(json_is_boolean(mv) || json_is_string(mv) || json_is_number(mv)))
            return "metric";
    }
    v = json_object_get(r, "metadata");
    if (v && !json_is_object(v))
        return "metadata";
    /* Our answered conversations always have turns, the others none. */
    if (is(r, "outcome", "answered") != (json_array_size(
                                             json_object_get(r, "turns")) > 0))
        return "turns vs outcome";
    if (is(r, "outcome", "answered") != !!json_object_get(r, "answered_at"))
        return "answered_at vs outcome";
    return NULL;
}

static void test_sample__same_seed_same_bytes(void **state)
{
    struct cs_sample_opts o;
    char *a, *b, *c;
    size_t la, lb, lc;

    (void)state;
    cs_sample_opts_init(&o);
    o.seed = 7;
    o.days = 12;
    o.per_day = 60;
    a = generate(&o, &la);
    b = generate(&o, &lb);
    o.seed = 8;
    c = generate(&o, &lc);
    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_true(la != lc || memcmp(a, c, la) != 0);
    free(a);
    free(b);
    free(c);
}

static void test_sample__count_is_exact(void **state)
{
    struct fx *f = *state;
    struct cs_sample_opts o;
    char *text;
    size_t len, i, lines = 0;

    cs_sample_opts_init(&o);
    o.start_date = FX_START;
    o.days = FX_DAYS;
    o.per_day = FX_PER_DAY;
    assert_int_equal(cs_sample_count(&o), (long long)FX_DAYS * FX_PER_DAY);
    assert_int_equal(f->n, (size_t)FX_DAYS * FX_PER_DAY);

    o.days = 1;
    o.per_day = 1;
    text = generate(&o, &len);
    for (i = 0; i < len; i++)
        lines += text[i] == '\n';
    assert_int_equal(lines, 1);
    free(text);

    o.per_day = 0;
    text = generate(&o, &len);
    assert_int_equal(len, 0);
    free(text);
}

static void test_sample__rejects_bad_options(void **state)
{
    struct cs_sample_opts o;
    struct cs_err err = {0, ""};
    FILE *f = fopen("/dev/null", "w");

    (void)state;
    assert_non_null(f);
    cs_sample_opts_init(&o);
    o.start_date = "2026-13-01";
    assert_int_equal(cs_sample_generate(f, &o, &err), CS_EINVALID);
    assert_non_null(strstr(err.msg, "2026-13-01"));
    assert_int_equal(cs_sample_count(&o), -1);

    cs_sample_opts_init(&o);
    o.days = 0;
    assert_int_equal(cs_sample_generate(f, &o, &err), CS_EINVALID);
    assert_int_equal(cs_sample_count(&o), -1);

    cs_sample_opts_init(&o);
    o.per_day = -5;
    assert_int_equal(cs_sample_generate(f, &o, &err), CS_EINVALID);
    fclose(f);
}

static void test_sample__write_error_is_reported(void **state)
{
    struct cs_sample_opts o;
    struct cs_err err = {0, ""};
    FILE *f = fopen("/dev/null", "r"); /* writes to it fail */

    (void)state;
    assert_non_null(f);
    cs_sample_opts_init(&o);
    o.days = 2;
    o.per_day = 20;
    assert_int_equal(cs_sample_generate(f, &o, &err), CS_EIO);
    assert_non_null(strstr(err.msg, "cannot write"));
    fclose(f);
}

static void test_sample__records_follow_the_format(void **state)
{
    struct fx *f = *state;
    const char *why;
    size_t i;

    for (i = 0; i < f->n; i++) {
        why = check_record(f->recs[i]);
        if (why)
            fail_msg("line %zu (%s): %s", i + 1, str(f->recs[i], "id"), why);
    }
}

static void test_sample__times_are_consistent(void **state)
{
    struct fx *f = *state;
    int64_t first_day, from, to, started, answered, ended, prev = 0;
    double ring, queue;
    json_t *r, *t, *h;
    size_t i, k;

    assert_int_equal(cs_parse_date(FX_START, &first_day), 0);
    from = first_day * 86400000LL;
    to = (first_day + FX_DAYS) * 86400000LL;
    for (i = 0; i < f->n; i++) {
        r = f->recs[i];
        started = ts_ms(r, "started_at");
        ended = ts_ms(r, "ended_at");
        assert_true(started >= from && started < to);
        assert_true(started >= prev); /* started_at order */
        prev = started;
        assert_true(ended >= started);
        if (!json_object_get(r, "answered_at"))
            continue;
        answered = ts_ms(r, "answered_at");
        ring = json_number_value(json_object_get(r, "ring_s"));
        queue = json_number_value(json_object_get(r, "queue_wait_s"));
        assert_true(answered >= started && ended >= answered);
        /* answered_at = started_at + ring_s + queue_wait_s */
        assert_true(llabs(answered - started -
                          (int64_t)((ring + queue) * 1000 + 0.5)) <= 1);
        json_array_foreach(json_object_get(r, "turns"), k, t) {
            if (json_object_get(t, "end_s"))
                assert_true(json_number_value(json_object_get(t, "end_s")) *
                                1000 <= (double)(ended - answered));
        }
        h = json_object_get(r, "handoff");
        if (json_is_object(h))
            assert_true(json_number_value(json_object_get(h, "at_s")) * 1000 <=
                        (double)(ended - answered));
    }
}

static void test_sample__ids_unique_per_tenant(void **state)
{
    struct fx *f = *state;
    json_t *seen = json_object();
    struct cs_buf key = CS_BUF_INIT;
    size_t i;

    for (i = 0; i < f->n; i++) {
        cs_buf_reset(&key);
        cs_buf_addf(&key, "%s/%s", str(f->recs[i], "tenant"),
                    str(f->recs[i], "id"));
        if (json_object_get(seen, key.ptr))
            fail_msg("duplicate id %s", key.ptr);
        json_object_set_new(seen, key.ptr, json_true());
    }
    assert_true(json_object_size(seen) == f->n);
    cs_buf_release(&key);
    json_decref(seen);
}

/* Per-tenant and overall shares land where a real deployment's would. */
static void test_sample__shares_are_plausible(void **state)
{
    static const char *const tenants[] = {
        "acme-dental", "northwind-support", "bluebird-energy"};
    static const double ho_lo[] = {0.10, 0.18, 0.06};
    static const double ho_hi[] = {0.30, 0.38, 0.25};
    struct fx *f = *state;
    long in = 0, in_ans = 0, in_abandoned = 0, out = 0, out_ans = 0;
    long failed = 0, failed_voice_nosip = 0, answered = 0, csat = 0, nps = 0;
    long tools = 0, tool_fail = 0, ans_t[3] = {0}, ho_t[3] = {0}, n_t[3] = {0};
    json_t *r, *e;
    size_t i, k;
    int t;

    for (i = 0; i < f->n; i++) {
        r = f->recs[i];
        for (t = 0; t < 3 && !is(r, "tenant", tenants[t]); t++)
            ;
        assert_true(t < 3);
        n_t[t]++;
        if (is(r, "direction", "inbound")) {
            in++;
            in_ans += is(r, "outcome", "answered");
            in_abandoned += is(r, "outcome", "abandoned");
        } else {
            out++;
            out_ans += is(r, "outcome", "answered");
        }
        if (is(r, "outcome", "failed")) {
            failed++;
            if (is(r, "channel", "voice") &&
                !json_object_get(r, "sip_error_code"))
                failed_voice_nosip++;
        }
        if (is(r, "outcome", "answered")) {
            answered++;
            ans_t[t]++;
            ho_t[t] += json_is_object(json_object_get(r, "handoff"));
            csat += !!json_object_get(r, "csat");
            nps += !!json_object_get(r, "nps");
        }
        json_array_foreach(json_object_get(r, "tool_calls"), k, e) {
            tools++;
            tool_fail += json_is_false(json_object_get(e, "ok"));
        }
    }
    assert_true(in_ans > 0.90 * in && in_ans < 0.975 * in);
    assert_true(in_abandoned > 0.01 * in && in_abandoned < 0.06 * in);
    assert_true(out_ans > 0.35 * out && out_ans < 0.65 * out);
    assert_true(failed > 0.003 * (long)f->n && failed < 0.04 * (long)f->n);
    assert_int_equal(failed_voice_nosip, 0);
    for (t = 0; t < 3; t++) {
        assert_true(n_t[t] > 0.1 * (long)f->n);
        if (ho_t[t] < ho_lo[t] * ans_t[t] || ho_t[t] > ho_hi[t] * ans_t[t])
            fail_msg("%s: handoff share %.3f", tenants[t],
                     (double)ho_t[t] / ans_t[t]);
    }
    assert_true(tool_fail > 0.01 * tools && tool_fail < 0.05 * tools);
    assert_true(csat > 0.15 * answered && csat < 0.35 * answered);
    assert_true(nps > 0.05 * answered && nps < 0.15 * answered);
}

/* Weekdays are busier than weekends, and the outbound campaign rests on
 * Sundays. */
static void test_sample__volume_follows_the_week(void **state)
{
    struct fx *f = *state;
    long weekday = 0, weekend = 0, sunday_outbound = 0, sunday_all = 0;
    int64_t day;
    int wd;
    size_t i;

    for (i = 0; i < f->n; i++) {
        day = ts_ms(f->recs[i], "started_at") / 86400000LL;
        wd = (int)((day + 3) % 7); /* 0 = Monday */
        if (wd >= 5)
            weekend++;
        else
            weekday++;
        if (wd == 6) {
            sunday_all++;
            sunday_outbound += is(f->recs[i], "tenant", "bluebird-energy") &&
                               is(f->recs[i], "direction", "outbound");
        }
    }
    /* 10 weekdays and 4 weekend days in the fixture. */
    assert_true(weekday / 10.0 > 1.3 * (weekend / 4.0));
    assert_true(sunday_all > 0);
    assert_true(sunday_outbound < 0.05 * sunday_all);
}

/* Latencies: LLM mostly 400-900 ms with a tail, speech hops only on voice. */
static void test_sample__spans_are_realistic(void **state)
{
    struct fx *f = *state;
    long llm = 0, llm_mid = 0, llm_slow = 0, chat_speech = 0, voice_tts = 0;
    long voice_answered = 0;
    json_t *r, *e;
    double ms;
    size_t i, k;

    for (i = 0; i < f->n; i++) {
        r = f->recs[i];
        if (is(r, "outcome", "answered") && is(r, "channel", "voice"))
            voice_answered++;
        json_array_foreach(json_object_get(r, "spans"), k, e) {
            ms = json_number_value(json_object_get(e, "duration_ms"));
            if (is(e, "name", "llm")) {
                llm++;
                llm_mid += ms >= 350 && ms <= 900;
                llm_slow += ms > 1200;
            }
            if (is(e, "name", "stt") || is(e, "name", "tts")) {
                if (!is(r, "channel", "voice"))
                    chat_speech++;
                else if (is(e, "name", "tts"))
                    voice_tts++;
                assert_true(ms >= 80 && ms <= 500);
            }
        }
    }
    assert_true(llm > 0);
    assert_true(llm_mid > 0.85 * llm);
    assert_true(llm_slow > 0 && llm_slow < 0.05 * llm);
    assert_int_equal(chat_speech, 0);
    assert_true(voice_tts >= 3 * voice_answered);
}

static void test_sample__costs_follow_channel(void **state)
{
    struct fx *f = *state;
    json_t *r, *costs, *e;
    size_t i, k;
    long voice = 0, llm_spans;

    for (i = 0; i < f->n; i++) {
        r = f->recs[i];
        costs = json_object_get(r, "costs");
        if (is(r, "channel", "voice")) {
            assert_non_null(costs);
            assert_true(json_number_value(json_object_get(costs,
                                                          "telephony")) > 0);
            voice++;
        } else if (costs) {
            assert_null(json_object_get(costs, "telephony"));
            assert_null(json_object_get(costs, "stt"));
        }
        if (!is(r, "outcome", "answered"))
            continue;
        assert_non_null(costs);
        llm_spans = 0;
        json_array_foreach(json_object_get(r, "spans"), k, e)
            llm_spans += is(e, "name", "llm");
        if (llm_spans)
            assert_true(json_number_value(json_object_get(costs, "llm")) > 0);
    }
    assert_true(voice > 0);
}

/* Every field, enum value and nested key of the spec shows up within 2,000
 * conversations. */
static void test_sample__every_spec_field_appears(void **state)
{
    static const char *const want[] = {
        /* top level */
        "id", "started_at", "tenant", "agent", "channel", "direction",
        "caller", "callee", "answered_at", "ended_at", "outcome", "ring_s",
        "queue_wait_s", "sip_error_code", "handoff", "turns", "tool_calls",
        "spans", "costs", "csat", "nps", "topics", "metrics", "metadata",
        /* values */
        "channel=voice", "channel=chat", "channel=api",
        "direction=inbound", "direction=outbound", "outcome=answered",
        "outcome=no_answer", "outcome=busy", "outcome=failed",
        "outcome=abandoned", "handoff=null",
        /* nested */
        "handoff.type=warm", "handoff.type=cold", "handoff.target",
        "handoff.at_s", "handoff.reason", "turn.role=agent",
        "turn.role=customer", "turn.role=system", "turn.text",
        "turn.start_s", "turn.end_s", "turn.untimed", "tool.name",
        "tool.ok=true", "tool.ok=false", "tool.latency_ms", "tool.error",
        "tool.creates=ticket", "tool.creates=crm_update",
        "tool.creates=appointment", "tool.creates=null", "span=stt",
        "span=llm", "span=tts", "span=tool", "costs.telephony", "costs.stt",
        "costs.llm", "costs.tts", "costs.other", "metric=bool",
        "metric=string", "metric=number", NULL};
    struct cs_sample_opts o;
    json_t *seen = json_object();
    json_t **recs, *r, *e, *v;
    struct cs_buf k = CS_BUF_INIT;
    const char *key;
    char *text;
    size_t len, n, i, j;

    (void)state;
    cs_sample_opts_init(&o);
    o.seed = 3;
    o.days = 20;
    o.per_day = 100;
    text = generate(&o, &len);
    recs = parse_lines(text, len, &n);
    assert_int_equal(n, 2000);
#define SEEN(s) json_object_set_new(seen, (s), json_true())
    for (i = 0; i < n; i++) {
        r = recs[i];
        json_object_foreach(r, key, v) {
            SEEN(key);
            if (json_is_string(v) && (!strcmp(key, "channel") ||
                                      !strcmp(key, "direction") ||
                                      !strcmp(key, "outcome"))) {
                cs_buf_reset(&k);
                cs_buf_addf(&k, "%s=%s", key, json_string_value(v));
                SEEN(k.ptr);
            }
        }
        v = json_object_get(r, "handoff");
        if (json_is_null(v))
            SEEN("handoff=null");
        if (json_is_object(v)) {
            cs_buf_reset(&k);
            cs_buf_addf(&k, "handoff.type=%s", str(v, "type"));
            SEEN(k.ptr);
            json_object_foreach(v, key, e) {
                cs_buf_reset(&k);
                cs_buf_addf(&k, "handoff.%s", key);
                SEEN(k.ptr);
            }
        }
        json_array_foreach(json_object_get(r, "turns"), j, e) {
            cs_buf_reset(&k);
            cs_buf_addf(&k, "turn.role=%s", str(e, "role"));
            SEEN(k.ptr);
            if (str(e, "text"))
                SEEN("turn.text");
            if (json_object_get(e, "start_s"))
                SEEN("turn.start_s");
            else
                SEEN("turn.untimed");
            if (json_object_get(e, "end_s"))
                SEEN("turn.end_s");
        }
        json_array_foreach(json_object_get(r, "tool_calls"), j, e) {
            SEEN("tool.name");
            SEEN(json_is_true(json_object_get(e, "ok")) ? "tool.ok=true"
                                                       : "tool.ok=false");
            if (json_object_get(e, "latency_ms"))
                SEEN("tool.latency_ms");
            if (str(e, "error"))
                SEEN("tool.error");
            cs_buf_reset(&k);
            cs_buf_addf(&k, "tool.creates=%s",
                        str(e, "creates") ? str(e, "creates") : "null");
            SEEN(k.ptr);
        }
        json_array_foreach(json_object_get(r, "spans"), j, e) {
            if (is(e, "name", "stt") || is(e, "name", "llm") ||
                is(e, "name", "tts")) {
                cs_buf_reset(&k);
                cs_buf_addf(&k, "span=%s", str(e, "name"));
                SEEN(k.ptr);
            } else {
                SEEN("span=tool");
            }
        }
        json_object_foreach(json_object_get(r, "costs"), key, e) {
            cs_buf_reset(&k);
            cs_buf_addf(&k, "costs.%s", key);
            SEEN(k.ptr);
        }
        json_array_foreach(json_object_get(r, "metrics"), j, e) {
            v = json_object_get(e, "value");
            SEEN(json_is_boolean(v)  ? "metric=bool"
                 : json_is_string(v) ? "metric=string"
                                     : "metric=number");
        }
    }
#undef SEEN
    for (i = 0; want[i]; i++) {
        if (!json_object_get(seen, want[i]))
            fail_msg("never generated: %s", want[i]);
    }
    cs_buf_release(&k);
    json_decref(seen);
    free_recs(recs, n);
    free(text);
}

/* The phrases the rules evaluator and the sentiment scorer look for. */
static void test_sample__transcripts_carry_evaluator_language(void **state)
{
    static const char *const phrases[] = {
        "You're booked for", "appointment is confirmed", "couldn't book",
        "I've verified your identity", "couldn't verify your account",
        "Thanks, that's great", "This is ridiculous", "I'm frustrated",
        "not helpful", "not happy", "I'm sorry to hear that",
        "I understand how frustrating", "transfer you to a colleague",
        "Not bad", "Gracias", NULL};
    struct fx *f = *state;
    long count[16] = {0};
    char *all, *agent;
    json_t *r, *h;
    size_t i, p;

    for (i = 0; i < f->n; i++) {
        r = f->recs[i];
        all = texts(r, "");
        for (p = 0; phrases[p]; p++)
            count[p] += strstr(all, phrases[p]) != NULL;
        h = json_object_get(r, "handoff");
        agent = texts(r, "agent");
        /* The agent announces every handoff, and only handoffs. */
        if (json_is_object(h) && !strstr(agent, "colleague"))
            fail_msg("%s: handoff without an announcement", str(r, "id"));
        if (!json_is_object(h) && strstr(agent, "transfer you"))
            fail_msg("%s: transfer announced, no handoff", str(r, "id"));
        free(agent);
        free(all);
    }
    for (p = 0; phrases[p]; p++) {
        if (count[p] == 0)
            fail_msg("no transcript says '%s'", phrases[p]);
    }
}

/* Phone numbers, e-mail addresses and card numbers appear in customer
 * turns of a minority of conversations. */
static void test_sample__pii_in_a_minority(void **state)
{
    struct fx *f = *state;
    long with_pii = 0, email = 0, card = 0, phone = 0, answered = 0;
    char *all;
    const char *at;
    size_t i;
    int any;

    for (i = 0; i < f->n; i++) {
        if (!is(f->recs[i], "outcome", "answered"))
            continue;
        answered++;
        all = texts(f->recs[i], "customer");
        any = 0;
        at = strstr(all, "@example.");
        if (at) {
            email++;
            any = 1;
        }
        if (strstr(all, "1111 1111 1111") || strstr(all, "5555 5555") ||
            strstr(all, "4242 4242") || strstr(all, "4000-0566") ||
            strstr(all, "3782 822463") || strstr(all, "6011 1111")) {
            card++;
            any = 1;
        }
        if (strstr(all, " 555 01") || strstr(all, ") 555-01") ||
            strstr(all, "-555-01")) {
            phone++;
            any = 1;
        }
        with_pii += any;
        free(all);
    }
    assert_true(email > 0 && card > 0 && phone > 0);
    if (with_pii < 0.02 * answered || with_pii > 0.25 * answered)
        fail_msg("PII in %ld of %ld answered", with_pii, answered);
}

static void test_sample__utf8_beyond_ascii(void **state)
{
    struct fx *f = *state;
    size_t i, high = 0;

    /* jansson already rejected any invalid UTF-8 in the fixture. */
    for (i = 0; i < f->len; i++)
        high += (unsigned char)f->text[i] >= 0x80;
    assert_true(high > 0);
}

/* Multi-turn dialogues: mostly 6 to 30 turns. */
static void test_sample__dialogues_are_multi_turn(void **state)
{
    struct fx *f = *state;
    long answered = 0, six_plus = 0;
    size_t i, n, max = 0;

    for (i = 0; i < f->n; i++) {
        if (!is(f->recs[i], "outcome", "answered"))
            continue;
        n = json_array_size(json_object_get(f->recs[i], "turns"));
        answered++;
        six_plus += n >= 6;
        if (n > max)
            max = n;
    }
    assert_true(six_plus > 0.85 * answered);
    assert_true(max >= 18 && max <= 40);
}

static void test_sample__json_string_escaping(void **state)
{
    struct cs_buf b = CS_BUF_INIT;
    const char in[] = "a\"b\\c\nd\te\x01 caf\xc3\xa9 \xe2\x82\xac";

    (void)state;
    cs_sample_json_str(&b, in, sizeof(in) - 1);
    assert_string_equal(b.ptr, "\"a\\\"b\\\\c\\nd\\te\\u0001 caf\xc3\xa9 "
                               "\xe2\x82\xac\"");
    cs_buf_reset(&b);
    cs_sample_json_str(&b, "", 0);
    assert_string_equal(b.ptr, "\"\"");
    cs_buf_reset(&b);
    cs_sample_json_fixed(&b, 1234, 2);
    cs_buf_addch(&b, ' ');
    cs_sample_json_fixed(&b, 5, 3);
    cs_buf_addch(&b, ' ');
    cs_sample_json_fixed(&b, 0, 0);
    cs_buf_addch(&b, ' ');
    cs_sample_json_fixed(&b, 14235, 6);
    assert_string_equal(b.ptr, "12.34 0.005 0 0.014235");
    cs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample__same_seed_same_bytes),
        cmocka_unit_test(test_sample__count_is_exact),
        cmocka_unit_test(test_sample__rejects_bad_options),
        cmocka_unit_test(test_sample__write_error_is_reported),
        cmocka_unit_test(test_sample__records_follow_the_format),
        cmocka_unit_test(test_sample__times_are_consistent),
        cmocka_unit_test(test_sample__ids_unique_per_tenant),
        cmocka_unit_test(test_sample__shares_are_plausible),
        cmocka_unit_test(test_sample__volume_follows_the_week),
        cmocka_unit_test(test_sample__spans_are_realistic),
        cmocka_unit_test(test_sample__costs_follow_channel),
        cmocka_unit_test(test_sample__every_spec_field_appears),
        cmocka_unit_test(test_sample__transcripts_carry_evaluator_language),
        cmocka_unit_test(test_sample__pii_in_a_minority),
        cmocka_unit_test(test_sample__utf8_beyond_ascii),
        cmocka_unit_test(test_sample__dialogues_are_multi_turn),
        cmocka_unit_test(test_sample__json_string_escaping),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
