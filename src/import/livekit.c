/* livekit.c - the webhook events of a LiveKit room to a conversation */
#include "import/field.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

/*
 * Webhook bodies are protobuf JSON (livekit_webhook.proto, with
 * livekit_models.proto): lowerCamelCase names, int64 as strings, enums by
 * name, zero values left out. Names are read in lowerCamelCase first and
 * in the proto's snake_case second (what a parser of the proto accepts).
 */
static const json_t *get2(const json_t *o, const char *camel,
                          const char *snake)
{
    const json_t *j = json_object_get(o, camel);

    if ((!j || json_is_null(j)) && snake)
        j = json_object_get(o, snake);
    return j && !json_is_null(j) ? j : NULL;
}

/* The name actually present, for reading it with a typed getter. */
static const char *name2(const json_t *o, const char *camel,
                         const char *snake)
{
    const json_t *j = json_object_get(o, camel);

    return (!j || json_is_null(j)) && snake && json_object_get(o, snake)
               ? snake : camel;
}

static int check_str(const struct cs_import_src *v, const json_t *o,
                     const char *camel, const char *snake, const char *base)
{
    const char *s, *k = name2(o, camel, snake);
    char path[96];

    snprintf(path, sizeof(path), "%s.%s", base, k);
    return cs_import_get_str(v, o, k, path, &s);
}

static int check_i64(const struct cs_import_src *v, const json_t *o,
                     const char *camel, const char *snake, const char *base)
{
    const char *k = name2(o, camel, snake);
    char path[96];
    int64_t n;
    int has;

    snprintf(path, sizeof(path), "%s%s%s", base, *base ? "." : "", k);
    return cs_import_get_i64(v, o, k, path, &n, &has);
}

static int check_room(const struct cs_import_src *v, const json_t *room,
                      const char *base)
{
    int ret = check_str(v, room, "sid", NULL, base);

    if (!ret)
        ret = check_str(v, room, "name", NULL, base);
    if (!ret)
        ret = check_i64(v, room, "creationTime", "creation_time", base);
    if (!ret)
        ret = check_i64(v, room, "creationTimeMs", "creation_time_ms", base);
    return ret;
}

static int check_participant(const struct cs_import_src *v, const json_t *p)
{
    static const struct {
        const char *camel, *snake;
    } strs[] = {{"sid", NULL}, {"identity", NULL}, {"name", NULL},
                {"kind", NULL}, {"disconnectReason", "disconnect_reason"}};
    const json_t *attrs = NULL;
    const char *k;
    json_t *x;
    int ret = 0;

    if (!json_is_object(p))
        return cs_import_bad(v, "participant", "expected an object, got %s",
                             cs_conv_json_type(p));
    for (size_t i = 0; !ret && i < sizeof(strs) / sizeof(*strs); i++)
        ret = check_str(v, p, strs[i].camel, strs[i].snake, "participant");
    if (!ret)
        ret = check_i64(v, p, "joinedAt", "joined_at", "participant");
    if (!ret)
        ret = check_i64(v, p, "joinedAtMs", "joined_at_ms", "participant");
    if (!ret)
        ret = cs_import_get_obj(v, p, "attributes", "participant.attributes",
                                &attrs);
    if (ret || !attrs)
        return ret;
    json_object_foreach((json_t *)attrs, k, x) {
        if (!ret && !json_is_string(x)) {
            char path[160];

            snprintf(path, sizeof(path), "participant.attributes.%.100s", k);
            ret = cs_import_bad(v, path, "expected a string, got %s",
                                cs_conv_json_type(x));
        }
    }
    return ret;
}

int cs_import_livekit_event(const char **room, const char **skipped,
                            const json_t *event, struct cs_err *err)
{
    struct cs_import_src v = {"livekit", err};
    const json_t *r, *p, *job;
    const char *kind, *sid;
    int ret;

    *room = NULL;
    *skipped = NULL;
    if (!json_is_object(event))
        return cs_err_set(err, CS_EINVALID, "livekit event: expected an "
                          "object, got %s", cs_conv_json_type(event));
    CS_TRY(cs_import_get_str(&v, event, "event", "event", &kind));
    if (!kind)
        return cs_import_bad(&v, "event", "missing");
    CS_TRY(cs_import_get_str(&v, event, "id", "id", &sid));
    CS_TRY(check_i64(&v, event, "createdAt", "created_at", ""));
    if (cs_import_starts(kind, "track_") || cs_import_starts(kind, "egress_")
        || cs_import_starts(kind, "ingress_")) {
        *skipped = kind;
        return 0;
    }
    if (strcmp(kind, "room_started") != 0 &&
        strcmp(kind, "room_finished") != 0 &&
        !cs_import_starts(kind, "participant_") &&
        !cs_import_starts(kind, "agent_job_")) {
        *skipped = kind;
        return 0;
    }
    CS_TRY(cs_import_get_obj(&v, event, "job", "job", &job));
    if (job)
        CS_TRY(check_str(&v, job, "agentName", "agent_name", "job"));
    CS_TRY(cs_import_get_obj(&v, event, "room", "room", &r));
    if (!r && job)
        CS_TRY(cs_import_get_obj(&v, job, "room", "job.room", &r));
    if (!r)
        return cs_import_bad(&v, "room", "missing");
    CS_TRY(check_room(&v, r, job && !json_object_get(event, "room") ? "job.room"
                                                                    : "room"));
    CS_TRY(cs_import_get_str(&v, r, "sid", "room.sid", &sid));
    if (!sid || !*sid)
        return cs_import_bad(&v, "room.sid", "missing");
    if (cs_import_starts(kind, "participant_")) {
        p = json_object_get(event, "participant");
        if (!p || json_is_null(p))
            return cs_import_bad(&v, "participant", "missing");
        CS_TRY(check_participant(&v, p));
    }
    *room = sid;
done:
    return ret;
}

/* A checked int64 member (0 when absent). */
/* Milliseconds up to the year 9999: times past it are no times (0, as
 * absent), and seconds or milliseconds scaled by 1000 cannot overflow. */
#define MAX_TIME_MS INT64_C(253402300799999)

static int64_t num2(const json_t *o, const char *camel, const char *snake)
{
    const json_t *j = get2(o, camel, snake);
    int64_t v = 0;

    if (json_is_integer(j))
        v = (int64_t)json_integer_value(j);
    else if (json_is_string(j))
        v = strtoll(json_string_value(j), NULL, 10);
    return v >= -MAX_TIME_MS && v <= MAX_TIME_MS ? v : 0;
}

/* Times are kept in milliseconds since the epoch; NONE is unknown (the
 * room is in the room forever for a departure). */
#define NONE INT64_MIN

static const char *str2(const json_t *o, const char *camel,
                        const char *snake)
{
    return json_string_value(get2(o, camel, snake));
}

enum kind { K_STANDARD, K_SIP, K_AGENT, K_OTHER };

struct who {
    const char *identity;       /* borrowed from an event */
    const char *name;
    const json_t *attrs;
    const char *reason;         /* disconnectReason */
    enum kind kind;
    int64_t joined;             /* ms; NONE when unknown */
    int64_t left;               /* NONE while in the room */
};

struct room {
    struct who *p;
    size_t n;
    const char *sid, *name, *agent_name;
    int64_t created;            /* room.creationTime; NONE when unknown */
    int64_t started_event;      /* room_started createdAt; NONE */
    int64_t finished;           /* room_finished createdAt; NONE */
    int has_finished;
};

static enum kind kind_of(const char *k)
{
    if (!k || strcmp(k, "STANDARD") == 0)
        return K_STANDARD;
    if (strcmp(k, "SIP") == 0)
        return K_SIP;
    if (strcmp(k, "AGENT") == 0)
        return K_AGENT;
    return K_OTHER;
}

static struct who *who_of(struct room *r, const json_t *p)
{
    const char *id = json_string_value(json_object_get(p, "identity"));
    struct who *w;

    if (!id)
        id = json_string_value(json_object_get(p, "sid"));
    if (!id)
        id = "";
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->p[i].identity, id) == 0)
            return &r->p[i];
    }
    r->p = cs_xrealloc(r->p, (r->n + 1) * sizeof(*r->p));
    w = &r->p[r->n++];
    memset(w, 0, sizeof(*w));
    w->identity = id;
    w->joined = NONE;
    w->left = NONE;
    return w;
}

/* The join time a participant object says: joinedAtMs, else joinedAt. */
static int64_t joined_of(const json_t *p)
{
    int64_t ms = num2(p, "joinedAtMs", "joined_at_ms");
    int64_t s = num2(p, "joinedAt", "joined_at");

    if (ms > 0)
        return ms;
    return s > 0 ? s * 1000 : NONE;
}

static int cmp_created(const void *a, const void *b)
{
    int64_t x = num2(*(json_t *const *)a, "createdAt", "created_at");
    int64_t y = num2(*(json_t *const *)b, "createdAt", "created_at");

    return (x > y) - (x < y);
}

/* Folds one event into the room. */
static void fold(struct room *r, const json_t *ev)
{
    const char *kind = json_string_value(json_object_get(ev, "event"));
    const json_t *room = json_object_get(ev, "room");
    const json_t *job = json_object_get(ev, "job");
    const json_t *p = json_object_get(ev, "participant");
    int64_t at = num2(ev, "createdAt", "created_at") * 1000;
    struct who *w;

    if (!json_is_object(room) && job)
        room = json_object_get(job, "room");
    if (json_is_object(room)) {
        int64_t ct = num2(room, "creationTime", "creation_time");
        int64_t ctm = num2(room, "creationTimeMs", "creation_time_ms");

        if (!r->name && str2(room, "name", NULL) &&
            *str2(room, "name", NULL))
            r->name = str2(room, "name", NULL);
        if (r->created == NONE && (ct > 0 || ctm > 0))
            r->created = ct > 0 ? ct * 1000 : ctm;
    }
    if (job && str2(job, "agentName", "agent_name") &&
        *str2(job, "agentName", "agent_name"))
        r->agent_name = str2(job, "agentName", "agent_name");
    if (strcmp(kind, "room_started") == 0 && at > 0)
        r->started_event = at;
    if (strcmp(kind, "room_finished") == 0) {
        r->has_finished = 1;
        if (at > 0)
            r->finished = at;
    }
    if (!cs_import_starts(kind, "participant_") || !json_is_object(p))
        return;
    w = who_of(r, p);
    w->kind = kind_of(str2(p, "kind", NULL));
    if (str2(p, "name", NULL) && *str2(p, "name", NULL))
        w->name = str2(p, "name", NULL);
    if (json_is_object(json_object_get(p, "attributes")))
        w->attrs = json_object_get(p, "attributes");
    if (w->joined == NONE)
        w->joined = joined_of(p);
    if (strcmp(kind, "participant_joined") == 0 && w->joined == NONE &&
        at > 0)
        w->joined = at;
    if (strcmp(kind, "participant_left") == 0 ||
        strcmp(kind, "participant_connection_aborted") == 0) {
        if (at > 0)
            w->left = at;
        if (str2(p, "disconnectReason", "disconnect_reason"))
            w->reason = str2(p, "disconnectReason", "disconnect_reason");
    }
}

static const char *attr(const struct who *w, const char *k)
{
    return json_string_value(json_object_get(w->attrs, k));
}

/* When `a` and `b` were first in the room together; NONE if never. */
static int64_t together(const struct who *a, const struct who *b)
{
    int64_t from, until = INT64_MAX;

    if (a->joined == NONE || b->joined == NONE)
        return NONE;
    from = a->joined > b->joined ? a->joined : b->joined;
    if (a->left != NONE && a->left < until)
        until = a->left;
    if (b->left != NONE && b->left < until)
        until = b->left;
    return from < until ? from : NONE;
}

/* The LiveKit Agents session history: turns, then tool calls. */
static int history_of(const struct cs_import_src *v, json_t *rec,
                      const json_t *history, int64_t zero)
{
    const json_t *items;
    char path[96];
    int ret = 0;
    size_t i, k;
    json_t *it, *c;

    if (!history)
        return 0;
    if (!json_is_object(history))
        return cs_import_bad(v, "history", "expected an object, got %s",
                             cs_conv_json_type(history));
    CS_TRY(cs_import_get_arr(v, history, "items", "history.items", &items));
    json_array_foreach(items, i, it) {
        const char *type, *role, *cid;
        const json_t *content;
        struct cs_buf text = CS_BUF_INIT;
        double created;
        int has_created, is_error;

        CS_TRY(cs_import_elem(v, it, "history.items", i));
        snprintf(path, sizeof(path), "history.items[%zu].type", i);
        CS_TRY(cs_import_get_str(v, it, "type", path, &type));
        if (!type)
            continue;
        if (strcmp(type, "function_call_output") == 0) {
            const char *name, *oname;

            snprintf(path, sizeof(path), "history.items[%zu].call_id", i);
            CS_TRY(cs_import_get_str(v, it, "call_id", path, &cid));
            snprintf(path, sizeof(path), "history.items[%zu].is_error", i);
            CS_TRY(cs_import_get_bool(v, it, "is_error", path, &is_error));
            snprintf(path, sizeof(path), "history.items[%zu].name", i);
            CS_TRY(cs_import_get_text(v, it, "name", path, &oname));
            name = json_string_value(json_object_get(cs_import_find(
                items, "type", "function_call", "call_id", cid), "name"));
            if (!name)
                name = oname;
            if (name)
                cs_import_put_tool(rec, name, is_error != 1, -1, NULL);
            continue;
        }
        if (strcmp(type, "message") != 0)
            continue;
        snprintf(path, sizeof(path), "history.items[%zu].role", i);
        CS_TRY(cs_import_get_str(v, it, "role", path, &role));
        if (!role || (strcmp(role, "user") != 0 &&
                      strcmp(role, "assistant") != 0))
            continue;
        content = json_object_get(it, "content");
        if (json_is_string(content)) {
            cs_buf_adds(&text, json_string_value(content));
        } else if (json_is_array(content)) {
            json_array_foreach(content, k, c) {
                if (!json_is_string(c))
                    continue; /* images, audio */
                if (text.len)
                    cs_buf_addch(&text, '\n');
                cs_buf_adds(&text, json_string_value(c));
            }
        } else if (content && !json_is_null(content)) {
            snprintf(path, sizeof(path), "history.items[%zu].content", i);
            return cs_import_bad(v, path, "expected an array, got %s",
                                 cs_conv_json_type(content));
        }
        snprintf(path, sizeof(path), "history.items[%zu].created_at", i);
        ret = cs_import_get_num(v, it, "created_at", path, &created,
                                &has_created);
        if (!ret && text.len) {
            int64_t at = has_created && fabs(created) * 1000 <
                                            (double)MAX_TIME_MS
                             ? llround(created * 1000) : NONE;

            cs_import_put_turn(rec, strcmp(role, "user") == 0 ? "customer"
                                                              : "agent",
                               text.ptr,
                               at != NONE && at >= zero
                                   ? (double)(at - zero) / 1000 : -1,
                               -1);
        }
        cs_buf_release(&text);
        if (ret)
            goto done;
    }
done:
    return ret;
}

static int by_join(const void *a, const void *b)
{
    const struct who *x = a, *y = b;
    int64_t jx = x->joined == NONE ? INT64_MAX : x->joined;
    int64_t jy = y->joined == NONE ? INT64_MAX : y->joined;

    return (jx > jy) - (jx < jy);
}

/* SIP disconnect reasons that mean the call was never answered, whoever
 * was in the room while it rang (an outbound SIP participant joins the
 * room as it dials). */
static const char *unanswered_outcome(const char *reason)
{
    if (!reason)
        return NULL;
    if (strcmp(reason, "USER_UNAVAILABLE") == 0)
        return "no_answer";
    if (strcmp(reason, "USER_REJECTED") == 0)
        return "busy";
    if (strcmp(reason, "SIP_TRUNK_FAILURE") == 0)
        return "failed";
    return NULL;
}

int cs_import_livekit_room(json_t **record, const json_t *events,
                           const json_t *history,
                           const struct cs_import_opts *o,
                           struct cs_err *err)
{
    struct cs_import_src v = {"livekit", err};
    struct room r;
    json_t **sorted = NULL, *rec = NULL, *meta, *lm;
    struct who *sip = NULL, *caller = NULL, *agent = NULL;
    const char *outcome, *ids[2];
    int64_t answered = NONE, start, end, agent_in = NONE;
    size_t n = 0, i;
    int inbound, ret = 0;
    json_t *ev;

    *record = NULL;
    memset(&r, 0, sizeof(r));
    r.created = r.started_event = r.finished = NONE;
    if (!json_is_array(events)) {
        ret = cs_err_set(err, CS_EINVALID, "livekit room: expected an array "
                         "of events");
        goto done;
    }
    sorted = cs_xcalloc(json_array_size(events) + 1, sizeof(*sorted));
    json_array_foreach(events, i, ev) {
        const char *room, *skipped, *id;
        int dup = 0;

        CS_TRY(cs_import_livekit_event(&room, &skipped, ev, err));
        if (!room)
            continue;
        if (r.sid && strcmp(r.sid, room) != 0) {
            ret = cs_err_set(err, CS_EINVALID, "livekit events of two rooms "
                             "('%.60s' and '%.60s')", r.sid, room);
            goto done;
        }
        r.sid = room;
        /* A webhook delivered twice is one event. */
        id = json_string_value(json_object_get(ev, "id"));
        for (size_t k = 0; id && k < n; k++) {
            const char *o2 = json_string_value(json_object_get(sorted[k],
                                                               "id"));

            dup |= o2 && strcmp(o2, id) == 0;
        }
        if (!dup)
            sorted[n++] = ev;
    }
    /* Webhooks may arrive out of order: replay them by createdAt. */
    qsort(sorted, n, sizeof(*sorted), cmp_created);
    for (i = 0; i < n; i++)
        fold(&r, sorted[i]);
    if (!r.has_finished) {
        ret = cs_err_set(err, CS_ENOTFOUND, "livekit room '%.80s' not "
                         "finished (no room_finished yet)",
                         r.sid ? r.sid : "?");
        goto done;
    }
    if (r.n)
        qsort(r.p, r.n, sizeof(*r.p), by_join);
    for (i = 0; i < r.n; i++) {
        struct who *w = &r.p[i];

        if (w->kind == K_SIP && !sip)
            sip = w;
        if (w->kind == K_AGENT && !agent)
            agent = w;
        if (w->kind == K_AGENT && w->joined != NONE &&
            (agent_in == NONE || w->joined < agent_in))
            agent_in = w->joined;
    }
    caller = sip;
    for (i = 0; !caller && i < r.n; i++) {
        if (r.p[i].kind == K_STANDARD)
            caller = &r.p[i];
    }
    start = r.created != NONE ? r.created : r.started_event;
    if (start == NONE) {
        ret = cs_import_bad(&v, "room.creationTime", "missing (and no "
                            "room_started event)");
        goto done;
    }
    if (sip && attr(sip, "sip.callDirection") &&
        *attr(sip, "sip.callDirection"))
        inbound = strcmp(attr(sip, "sip.callDirection"), "outbound") != 0;
    else if (sip)
        inbound = attr(sip, "sip.ruleID") && *attr(sip, "sip.ruleID");
    else
        inbound = 1;
    for (i = 0; caller && i < r.n; i++) {
        int64_t t;

        if (r.p[i].kind != K_AGENT)
            continue;
        t = together(&r.p[i], caller);
        if (t != NONE && (answered == NONE || t < answered))
            answered = t;
    }
    /* A SIP leg that ended unanswered was only ringing, agent or not. */
    if (sip && unanswered_outcome(sip->reason))
        answered = NONE;
    end = caller && caller->left != NONE ? caller->left : r.finished;
    if (answered != NONE && answered < start)
        answered = start;
    if (end != NONE && end < start)
        end = start;
    /* A time of seconds scaled to milliseconds may still lie past the
     * year 9999: no record then (its microseconds would overflow). */
    if (start < 0 || start > MAX_TIME_MS ||
        (answered != NONE && answered > MAX_TIME_MS) ||
        (end != NONE && end > MAX_TIME_MS)) {
        ret = cs_import_bad(&v, "room.creationTime", "a time of the room "
                            "is out of range (before 1970 or after the "
                            "year 9999)");
        goto done;
    }

    if (answered != NONE)
        outcome = "answered";
    else if (sip && unanswered_outcome(sip->reason))
        outcome = unanswered_outcome(sip->reason);
    else if (sip && sip->reason &&
             (strcmp(sip->reason, "MEDIA_FAILURE") == 0 ||
              strcmp(sip->reason, "CONNECTION_TIMEOUT") == 0))
        outcome = "failed";
    else if (inbound && caller && caller->left != NONE &&
             (agent_in == NONE || caller->left <= agent_in))
        outcome = "abandoned";
    else
        outcome = "no_answer";

    ids[0] = r.agent_name;
    ids[1] = r.name;
    rec = cs_import_record_new();
    cs_import_put_str(rec, "id", r.sid);
    cs_import_put_time(rec, "started_at", start * 1000);
    cs_import_put_str(rec, "tenant", cs_import_tenant(o, ids, 2));
    cs_import_put_str(rec, "agent", r.agent_name ? r.agent_name
                                    : agent ? agent->name : NULL);
    cs_import_put_str(rec, "channel", "voice");
    cs_import_put_str(rec, "direction", inbound ? "inbound" : "outbound");
    if (sip) {
        const char *ext = attr(sip, "sip.phoneNumber");
        const char *trunk = attr(sip, "sip.trunkPhoneNumber");

        cs_import_put_str(rec, "caller", ext && *ext && inbound ? ext
                          : trunk && *trunk && !inbound ? trunk : NULL);
        cs_import_put_str(rec, "callee", ext && *ext && !inbound ? ext
                          : trunk && *trunk && inbound ? trunk : NULL);
    }
    if (answered != NONE)
        cs_import_put_time(rec, "answered_at", answered * 1000);
    if (end != NONE)
        cs_import_put_time(rec, "ended_at", end * 1000);
    cs_import_put_str(rec, "outcome", outcome);
    if (sip && inbound && answered != NONE && sip->joined != NONE &&
        answered >= sip->joined)
        json_object_set_new(rec, "ring_s", json_real(
            (double)(answered - sip->joined) / 1000));
    /* A person (a further SIP leg or a web client) joining after the
     * agent: the agent brought someone in. */
    for (i = 0; agent_in != NONE && i < r.n; i++) {
        struct who *w = &r.p[i];

        if (w == caller || (w->kind != K_SIP && w->kind != K_STANDARD) ||
            w->joined == NONE || w->joined < agent_in)
            continue;
        json_object_set_new(rec, "handoff", json_pack(
            "{s:s,s:s}", "type", "warm", "target", w->identity));
        break;
    }
    CS_TRY(history_of(&v, rec, history, answered != NONE ? answered : start));
    meta = json_object();
    lm = json_object();
    json_object_set_new(meta, "livekit", lm);
    json_object_set_new(rec, "metadata", meta);
    /* The name of a SIP room holds the caller's number: masked. */
    if (r.name)
        json_object_set_new(lm, "room", cs_import_mask_phones(r.name));
    if (sip) {
        cs_import_put_meta(lm, "sipCallID", json_object_get(sip->attrs,
                                                            "sip.callID"));
        cs_import_put_meta(lm, "sipTrunkID", json_object_get(sip->attrs,
                                                             "sip.trunkID"));
        cs_import_put_meta(lm, "sipRuleID", json_object_get(sip->attrs,
                                                            "sip.ruleID"));
        cs_import_put_str(lm, "sipDisconnectReason", sip->reason);
    }
    json_object_set_new(lm, "participants", json_integer((json_int_t)r.n));
    *record = cs_import_record_done(rec);
    rec = NULL;
done:
    json_decref(rec);
    free(sorted);
    free(r.p);
    return ret;
}
