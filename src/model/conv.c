/* conv.c - validate an input conversation object and index its turns */
#include "model/conv.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/buf.h"
#include "base/parse.h"
#include <stdio.h>

static const char *const channels[] = {"voice", "chat", "api", NULL};
static const char *const directions[] = {"inbound", "outbound", NULL};
static const char *const outcomes[] = {"answered", "no_answer", "busy",
                                       "failed", "abandoned", NULL};
static const char *const handoff_types[] = {"warm", "cold", NULL};
static const char *const creates_kinds[] = {"ticket", "crm_update",
                                            "appointment", NULL};
static const char *const cost_keys[] = {"telephony", "stt", "llm", "tts",
                                        "other", NULL};

/* The format's top-level fields, indexed by enum cs_conv_field. */
#define FIELD(f, s, cmp) [f] = {s, sizeof(s) - 1, cmp}
static const struct {
    const char *name;
    size_t len;
    int comparable;     /* see cs_conv_field_comparable */
} fields[CS_CONV_N_FIELDS] = {
    FIELD(CS_CONV_ID, "id", 1),
    FIELD(CS_CONV_STARTED_AT, "started_at", 1),
    FIELD(CS_CONV_TENANT, "tenant", 1),
    FIELD(CS_CONV_AGENT, "agent", 1),
    FIELD(CS_CONV_CHANNEL, "channel", 1),
    FIELD(CS_CONV_DIRECTION, "direction", 1),
    FIELD(CS_CONV_CALLER, "caller", 1),
    FIELD(CS_CONV_CALLEE, "callee", 1),
    FIELD(CS_CONV_ANSWERED_AT, "answered_at", 1),
    FIELD(CS_CONV_ENDED_AT, "ended_at", 1),
    FIELD(CS_CONV_OUTCOME, "outcome", 1),
    FIELD(CS_CONV_RING_S, "ring_s", 1),
    FIELD(CS_CONV_QUEUE_WAIT_S, "queue_wait_s", 1),
    FIELD(CS_CONV_SIP_ERROR_CODE, "sip_error_code", 1),
    FIELD(CS_CONV_HANDOFF, "handoff", 1),
    FIELD(CS_CONV_TURNS, "turns", 0),
    FIELD(CS_CONV_TOOL_CALLS, "tool_calls", 0),
    FIELD(CS_CONV_SPANS, "spans", 0),
    FIELD(CS_CONV_COSTS, "costs", 0),
    FIELD(CS_CONV_CSAT, "csat", 1),
    FIELD(CS_CONV_NPS, "nps", 1),
    FIELD(CS_CONV_TOPICS, "topics", 0),
    FIELD(CS_CONV_METRICS, "metrics", 0),
    FIELD(CS_CONV_METADATA, "metadata", 0),
};
#undef FIELD

const char *cs_conv_field_name(enum cs_conv_field f)
{
    assert((unsigned)f < CS_CONV_N_FIELDS);
    return fields[f].name;
}

int cs_conv_field_find(const char *name, size_t n)
{
    for (int i = 0; i < CS_CONV_N_FIELDS; i++) {
        if (fields[i].len == n && memcmp(fields[i].name, name, n) == 0)
            return i;
    }
    return -1;
}

int cs_conv_field_comparable(const char *name)
{
    int f = cs_conv_field_find(name, strlen(name));

    return f >= 0 && fields[f].comparable;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(s, *list) == 0)
            return 1;
    }
    return 0;
}

const char *cs_conv_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* A value from data as quoted in a message (new string in `b`): at most
 * `max` bytes, one line, valid UTF-8 (cs_buf_add_excerpt). */
static const char *quoted(struct cs_buf *b, const char *s, size_t max)
{
    cs_buf_reset(b);
    cs_buf_add_excerpt(b, s, strlen(s), max);
    return b->ptr;
}

static int bad(struct cs_err *err, const char *field, const char *why,
               const json_t *v)
{
    if (v)
        return cs_err_set(err, CS_EINVALID, "field '%s': %s, got %s", field,
                          why, cs_conv_json_type(v));
    return cs_err_set(err, CS_EINVALID, "field '%s': %s", field, why);
}

/* An optional string; NULL or JSON null counts as absent. */
static int opt_string(const json_t *v, const char *field, struct cs_err *err)
{
    if (!v || json_is_null(v) || json_is_string(v))
        return 0;
    return bad(err, field, "expected a string", v);
}

static int opt_enum(const json_t *v, const char *field,
                    const char *const *list, struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;
    int ret;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad(err, field, "expected a string", v);
    if (in_list(json_string_value(v), list))
        return 0;
    for (const char *const *p = list; *p; p++)
        cs_buf_addf(&b, "%s%s", p == list ? "" : ", ", *p);
    {
        struct cs_buf q = CS_BUF_INIT;

        ret = cs_err_set(err, CS_EINVALID, "field '%s': '%s' is not one of "
                         "%s", field, quoted(&q, json_string_value(v), 60),
                         b.ptr);
        cs_buf_release(&q);
    }
    cs_buf_release(&b);
    return ret;
}

static int opt_nonneg(const json_t *v, const char *field, struct cs_err *err)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return bad(err, field, "expected a number", v);
    if (!(json_number_value(v) >= 0) || !isfinite(json_number_value(v)))
        return cs_err_set(err, CS_EINVALID,
                          "field '%s': must be >= 0, got %g", field,
                          json_number_value(v));
    return 0;
}

static int opt_int_range(const json_t *v, const char *field, long lo,
                         long hi, struct cs_err *err)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return bad(err, field, "expected an integer", v);
    if (json_integer_value(v) < lo || json_integer_value(v) > hi)
        return cs_err_set(err, CS_EINVALID,
                          "field '%s': must be between %ld and %ld, got %lld",
                          field, lo, hi, (long long)json_integer_value(v));
    return 0;
}

static int opt_time(const json_t *v, const char *field, int64_t *out,
                    int *present, struct cs_err *err)
{
    *present = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad(err, field, "expected an RFC 3339 timestamp string", v);
    if (cs_parse_rfc3339(json_string_value(v), out) < 0) {
        struct cs_buf q = CS_BUF_INIT;
        int ret = cs_err_set(err, CS_EINVALID, "field '%s': '%s' is not an "
                             "RFC 3339 timestamp", field,
                             quoted(&q, json_string_value(v), 40));

        cs_buf_release(&q);
        return ret;
    }
    *present = 1;
    return 0;
}

static int check_handoff(const json_t *h, struct cs_err *err)
{
    int ret;

    if (!h || json_is_null(h))
        return 0;
    if (!json_is_object(h))
        return bad(err, "handoff", "expected an object or null", h);
    ret = opt_enum(json_object_get(h, "type"), "handoff.type", handoff_types,
                   err);
    if (!ret)
        ret = opt_string(json_object_get(h, "target"), "handoff.target", err);
    if (!ret)
        ret = opt_nonneg(json_object_get(h, "at_s"), "handoff.at_s", err);
    if (!ret)
        ret = opt_string(json_object_get(h, "reason"), "handoff.reason", err);
    return ret;
}

/*
 * The arrays of objects (turns, tool_calls, spans, metrics) share their
 * walk: absent or null is allowed, anything else must be an array of
 * objects, and `fn` checks one element's members. A member's path,
 * "<array>[i].<member>", is only formatted for a message (path()):
 * formatting it for every member looked up was a tenth of the ingest CPU.
 */
struct elem {
    const char *array;
    size_t i;
    const json_t *o;
    char field[80];
};

typedef int (*elem_fn)(struct elem *e, void *ctx, struct cs_err *err);

/* e->field set to the path of the element's member `name`. */
static const char *path(struct elem *e, const char *name)
{
    snprintf(e->field, sizeof(e->field), "%s[%zu].%s", e->array, e->i, name);
    return e->field;
}

/* What opt_string, opt_enum and opt_nonneg accept, without a message. */
static int string_ok(const json_t *v)
{
    return !v || json_is_null(v) || json_is_string(v);
}

static int enum_ok(const json_t *v, const char *const *list)
{
    return !v || json_is_null(v) ||
           (json_is_string(v) && in_list(json_string_value(v), list));
}

static int nonneg_ok(const json_t *v)
{
    return !v || json_is_null(v) ||
           (json_is_number(v) && json_number_value(v) >= 0 &&
            isfinite(json_number_value(v)));
}

static int each_object(const json_t *a, const char *array, elem_fn fn,
                       void *ctx, struct cs_err *err)
{
    struct elem e;
    json_t *o;
    int ret;

    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return bad(err, array, "expected an array", a);
    e.array = array;
    json_array_foreach(a, e.i, o) {
        if (!json_is_object(o)) {
            snprintf(e.field, sizeof(e.field), "%s[%zu]", array, e.i);
            return bad(err, e.field, "expected an object", o);
        }
        e.o = o;
        ret = fn(&e, ctx, err);
        if (ret)
            return ret;
    }
    return 0;
}

static int check_turn(struct elem *e, void *ctx, struct cs_err *err)
{
    struct cs_turn *turn = &((struct cs_conv *)ctx)->turns[e->i];
    json_t *role = json_object_get(e->o, "role"), *text, *st, *en;
    int r, ret;

    if (!json_is_string(role))
        return bad(err, path(e, "role"), "expected agent, customer or "
                   "system", role);
    r = cs_role_parse(json_string_value(role));
    if (r < 0 || r == CS_ROLE_ANY) {
        struct cs_buf q = CS_BUF_INIT;

        ret = cs_err_set(err, CS_EINVALID, "field '%s': '%s' is not one of "
                         "agent, customer, system", path(e, "role"),
                         quoted(&q, json_string_value(role), 40));
        cs_buf_release(&q);
        return ret;
    }
    text = json_object_get(e->o, "text");
    if (!json_is_string(text))
        return bad(err, path(e, "text"), "expected a string", text);
    st = json_object_get(e->o, "start_s");
    if (!nonneg_ok(st))
        return opt_nonneg(st, path(e, "start_s"), err);
    en = json_object_get(e->o, "end_s");
    if (!nonneg_ok(en))
        return opt_nonneg(en, path(e, "end_s"), err);
    turn->role = (enum cs_role)r;
    turn->text = json_string_value(text);
    turn->len = json_string_length(text);
    turn->start_s = json_is_number(st) ? json_number_value(st) : -1;
    turn->end_s = json_is_number(en) ? json_number_value(en) : -1;
    if (turn->start_s >= 0 && turn->end_s >= 0 &&
        turn->end_s < turn->start_s)
        return cs_err_set(err, CS_EINVALID, "field '%s': end_s before "
                          "start_s", path(e, "end_s"));
    return 0;
}

static int check_turns(struct cs_conv *c, const json_t *turns,
                       struct cs_err *err)
{
    if (!turns)
        return cs_err_set(err, CS_EINVALID, "field 'turns': missing "
                          "(an empty array when nobody spoke)");
    if (!json_is_array(turns))
        return bad(err, "turns", "expected an array", turns);
    c->n_turns = json_array_size(turns);
    c->turns = cs_xcalloc(c->n_turns, sizeof(*c->turns));
    return each_object(turns, "turns", check_turn, c, err);
}

static int check_tool_call(struct elem *e, void *ctx, struct cs_err *err)
{
    json_t *v;

    (void)ctx;
    v = json_object_get(e->o, "name");
    if (!json_is_string(v))
        return bad(err, path(e, "name"), "expected a string", v);
    v = json_object_get(e->o, "ok");
    if (!json_is_boolean(v))
        return bad(err, path(e, "ok"), "expected a boolean", v);
    v = json_object_get(e->o, "latency_ms");
    if (!nonneg_ok(v))
        return opt_nonneg(v, path(e, "latency_ms"), err);
    v = json_object_get(e->o, "creates");
    if (!enum_ok(v, creates_kinds))
        return opt_enum(v, path(e, "creates"), creates_kinds, err);
    v = json_object_get(e->o, "error");
    if (!string_ok(v))
        return opt_string(v, path(e, "error"), err);
    return 0;
}

static int check_span(struct elem *e, void *ctx, struct cs_err *err)
{
    json_t *v;

    (void)ctx;
    v = json_object_get(e->o, "name");
    if (!json_is_string(v))
        return bad(err, path(e, "name"), "expected a string", v);
    v = json_object_get(e->o, "duration_ms");
    if (!v)
        return bad(err, path(e, "duration_ms"), "missing", NULL);
    if (json_is_null(v))
        return bad(err, path(e, "duration_ms"), "expected a number", v);
    if (!nonneg_ok(v))
        return opt_nonneg(v, path(e, "duration_ms"), err);
    return 0;
}

static int check_metric(struct elem *e, void *ctx, struct cs_err *err)
{
    json_t *v;

    (void)ctx;
    v = json_object_get(e->o, "name");
    if (!json_is_string(v))
        return bad(err, path(e, "name"), "expected a string", v);
    v = json_object_get(e->o, "value");
    if (!v || !(json_is_boolean(v) || json_is_string(v) ||
                json_is_number(v)))
        return bad(err, path(e, "value"), "expected a boolean, string or "
                   "number", v);
    return 0;
}

static int check_costs(const json_t *o, struct cs_err *err)
{
    char field[64];
    const char *k;
    json_t *v;

    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return bad(err, "costs", "expected an object", o);
    json_object_foreach((json_t *)o, k, v) {
        int ret;

        if (!in_list(k, cost_keys)) {
            struct cs_buf q = CS_BUF_INIT;

            ret = cs_err_set(err, CS_EINVALID, "field 'costs.%s': unknown "
                             "cost component (telephony, stt, llm, tts, "
                             "other)", quoted(&q, k, 40));
            cs_buf_release(&q);
            return ret;
        }
        if (nonneg_ok(v))
            continue;
        snprintf(field, sizeof(field), "costs.%s", k);
        return opt_nonneg(v, field, err);
    }
    return 0;
}

static int check_string_array(const json_t *a, const char *name,
                              struct cs_err *err)
{
    char field[64];
    size_t i;
    json_t *s;

    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return bad(err, name, "expected an array", a);
    json_array_foreach(a, i, s) {
        if (!json_is_string(s)) {
            snprintf(field, sizeof(field), "%s[%zu]", name, i);
            return bad(err, field, "expected a string", s);
        }
    }
    return 0;
}

/* Moves unknown top-level fields into metadata (creating it). */
static void fold_unknown(json_t *doc)
{
    json_t *meta = json_object_get(doc, "metadata");
    const char *k;
    json_t *v;
    void *tmp;

    json_object_foreach_safe(doc, tmp, k, v) {
        if (cs_conv_field_find(k, strlen(k)) >= 0)
            continue;
        if (!meta || !json_is_object(meta)) {
            meta = json_object();
            json_object_set_new(doc, "metadata", meta);
        }
        json_object_set(meta, k, v);
        json_object_del(doc, k);
    }
}

static void set_default(json_t *doc, const char *key, const char *value)
{
    json_t *v = json_object_get(doc, key);

    if (!v || json_is_null(v))
        json_object_set_new(doc, key, json_string(value));
}

int cs_conv_from_json(struct cs_conv **out, json_t *obj, struct cs_err *err)
{
    struct cs_conv *c = NULL;
    json_t *doc, *v;
    int64_t t_start = 0, t_ans = 0, t_end = 0;
    int has_start, has_ans, has_end, ret;

    *out = NULL;
    if (!json_is_object(obj))
        return cs_err_set(err, CS_EINVALID, "expected a JSON object, got %s",
                          cs_conv_json_type(obj));
    c = cs_xcalloc(1, sizeof(*c));
    c->doc = doc = json_incref(obj);

    v = json_object_get(doc, "id");
    if (!v) {
        ret = bad(err, "id", "missing", NULL);
        goto done;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > 256) {
        ret = bad(err, "id", "expected a non-empty string of at most 256 "
                  "bytes", v);
        goto done;
    }
    v = json_object_get(doc, "started_at");
    if (!v || json_is_null(v)) {
        ret = bad(err, "started_at", "missing", NULL);
        goto done;
    }
    ret = opt_time(v, "started_at", &t_start, &has_start, err);
    if (ret)
        goto done;
    ret = opt_time(json_object_get(doc, "answered_at"), "answered_at",
                   &t_ans, &has_ans, err);
    if (ret)
        goto done;
    ret = opt_time(json_object_get(doc, "ended_at"), "ended_at", &t_end,
                   &has_end, err);
    if (ret)
        goto done;
    if (has_end && t_end < t_start) {
        ret = cs_err_set(err, CS_EINVALID,
                         "field 'ended_at': before started_at");
        goto done;
    }
    if (has_ans && t_ans < t_start) {
        ret = cs_err_set(err, CS_EINVALID,
                         "field 'answered_at': before started_at");
        goto done;
    }
    if (has_ans && has_end && t_end < t_ans) {
        ret = cs_err_set(err, CS_EINVALID,
                         "field 'ended_at': before answered_at");
        goto done;
    }
    v = json_object_get(doc, "tenant");
    if (v && !json_is_null(v) &&
        (!json_is_string(v) || json_string_length(v) == 0 ||
         json_string_length(v) > 128)) {
        ret = bad(err, "tenant", "expected a non-empty string of at most 128 "
                  "bytes", v);
        goto done;
    }
    ret = opt_string(json_object_get(doc, "agent"), "agent", err);
    if (!ret)
        ret = opt_enum(json_object_get(doc, "channel"), "channel", channels,
                       err);
    if (!ret)
        ret = opt_enum(json_object_get(doc, "direction"), "direction",
                       directions, err);
    if (!ret)
        ret = opt_string(json_object_get(doc, "caller"), "caller", err);
    if (!ret)
        ret = opt_string(json_object_get(doc, "callee"), "callee", err);
    if (!ret)
        ret = opt_enum(json_object_get(doc, "outcome"), "outcome", outcomes,
                       err);
    if (!ret)
        ret = opt_nonneg(json_object_get(doc, "ring_s"), "ring_s", err);
    if (!ret)
        ret = opt_nonneg(json_object_get(doc, "queue_wait_s"),
                         "queue_wait_s", err);
    if (!ret)
        ret = opt_int_range(json_object_get(doc, "sip_error_code"),
                            "sip_error_code", 100, 699, err);
    if (!ret)
        ret = check_handoff(json_object_get(doc, "handoff"), err);
    if (!ret)
        ret = check_turns(c, json_object_get(doc, "turns"), err);
    if (!ret)
        ret = each_object(json_object_get(doc, "tool_calls"), "tool_calls",
                          check_tool_call, NULL, err);
    if (!ret)
        ret = each_object(json_object_get(doc, "spans"), "spans",
                          check_span, NULL, err);
    if (!ret)
        ret = check_costs(json_object_get(doc, "costs"), err);
    if (!ret)
        ret = opt_int_range(json_object_get(doc, "csat"), "csat", 1, 5, err);
    if (!ret)
        ret = opt_int_range(json_object_get(doc, "nps"), "nps", 0, 10, err);
    if (!ret)
        ret = check_string_array(json_object_get(doc, "topics"), "topics",
                                 err);
    if (!ret)
        ret = each_object(json_object_get(doc, "metrics"), "metrics",
                          check_metric, NULL, err);
    if (ret)
        goto done;
    v = json_object_get(doc, "metadata");
    if (v && !json_is_null(v) && !json_is_object(v)) {
        ret = bad(err, "metadata", "expected an object", v);
        goto done;
    }

    fold_unknown(doc);
    set_default(doc, "tenant", "default");
    set_default(doc, "channel", "voice");
    set_default(doc, "direction", "inbound");
    set_default(doc, "outcome", c->n_turns ? "answered" : "no_answer");
    c->id = json_string_value(json_object_get(doc, "id"));
    c->tenant = json_string_value(json_object_get(doc, "tenant"));
    c->agent = json_string_value(json_object_get(doc, "agent"));
    c->channel = json_string_value(json_object_get(doc, "channel"));
    c->direction = json_string_value(json_object_get(doc, "direction"));
    c->outcome = json_string_value(json_object_get(doc, "outcome"));
    *out = c;
    c = NULL;
done:
    cs_conv_free(c);
    return ret;
}

int cs_conv_from_line(struct cs_conv **out, const char *line, size_t len,
                      struct cs_err *err)
{
    json_error_t jerr;
    const char *nul;
    json_t *obj;
    int ret;

    *out = NULL;
    nul = memchr(line, '\0', len);
    if (nul)
        return cs_err_set(err, CS_EINVALID, "NUL byte at column %zu",
                          (size_t)(nul - line) + 1);
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        /* jansson's text quotes the bytes it stopped at ("near '...'"):
         * any bytes, so through an excerpt. */
        struct cs_buf q = CS_BUF_INIT;

        ret = cs_err_set(err, CS_EINVALID, "invalid JSON at column %d: %s",
                         jerr.column, quoted(&q, jerr.text,
                                             sizeof(jerr.text)));
        cs_buf_release(&q);
        return ret;
    }
    ret = cs_conv_from_json(out, obj, err);
    json_decref(obj);
    return ret;
}

void cs_conv_free(struct cs_conv *c)
{
    if (!c)
        return;
    json_decref(c->doc);
    free(c->turns);
    free(c);
}

int cs_role_parse(const char *s)
{
    if (strcmp(s, "agent") == 0)
        return CS_ROLE_AGENT;
    if (strcmp(s, "customer") == 0)
        return CS_ROLE_CUSTOMER;
    if (strcmp(s, "system") == 0)
        return CS_ROLE_SYSTEM;
    if (strcmp(s, "any") == 0)
        return CS_ROLE_ANY;
    return -1;
}

const char *cs_role_name(enum cs_role r)
{
    static const char *const names[] = {"agent", "customer", "system", "any"};

    return (unsigned)r < 4 ? names[r] : "?";
}
