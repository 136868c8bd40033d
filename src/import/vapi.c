/* vapi.c - a Vapi end-of-call-report (or a Call object) to a conversation */
#include "import/field.h"

#include <stdio.h>
#include <string.h>

/*
 * What one conversion reads. `mp` is the path of the message ("message."
 * for a server message body, "" for the bare message or a Call object),
 * `cp` that of the call, for the names in errors.
 */
struct vapi {
    struct cs_import_src src;
    const json_t *msg;
    const json_t *call;         /* NULL for a chat */
    const json_t *chat;
    int bare_call;              /* the payload is a Call (GET /call) */
    char mp[16], cp[24];
    char path[160];
};

/* The vendor path prefix+name, in a buffer reused by each call. */
static const char *at(struct vapi *c, const char *prefix, const char *name)
{
    snprintf(c->path, sizeof(c->path), "%s%s", prefix, name);
    return c->path;
}

static const char *const call_types[] = {
    "inboundPhoneCall", "outboundPhoneCall", "webCall",
    "vapi.websocketCall", NULL};

static int in(const char *s, const char *const *list)
{
    for (; s && *list; list++) {
        if (strcmp(s, *list) == 0)
            return 1;
    }
    return 0;
}

/* The outcome of docs/importers.md from endedReason (NULL: none). */
static const char *outcome_of(const char *r)
{
    static const char *const no_answer[] = {
        "customer-did-not-answer", "voicemail", "manually-canceled",
        "scheduled-call-deleted", "call-deleted", NULL};
    static const char *const failed_prefix[] = {
        "pipeline-error", "call.start.error", "call.in-progress.error",
        "assistant-not-", "assistant-request-", "assistant-join-timed-out",
        NULL};
    static const char *const failed_part[] = {
        "failed-to-connect", "-rejected", ".error", "-error", NULL};

    if (!r)
        return NULL;
    if (strcmp(r, "customer-busy") == 0)
        return "busy";
    if (strcmp(r, "call.ringing.sip-inbound-caller-hungup-before-call-"
                  "connect") == 0)
        return "abandoned";
    if (strcmp(r, "customer-did-not-answer") == 0 ||
        strcmp(r, "voicemail") == 0)
        return "no_answer";
    for (const char *const *p = failed_prefix; *p; p++) {
        if (cs_import_starts(r, *p))
            return "failed";
    }
    for (const char *const *p = failed_part; *p; p++) {
        if (cs_import_contains(r, *p))
            return "failed";
    }
    if (in(r, no_answer))
        return "no_answer";
    return "answered";
}

/* A member of the message, else of the call. */
static const json_t *msg_or_call(struct vapi *c, const char *key,
                                 const char **prefix)
{
    const json_t *j = json_object_get(c->msg, key);

    *prefix = c->mp;
    if ((!j || json_is_null(j)) && c->call && !c->bare_call) {
        j = json_object_get(c->call, key);
        *prefix = c->cp;
    }
    return j && !json_is_null(j) ? j : NULL;
}

/* startedAt / endedAt: the message's when it is a string, else the
 * call's; for the start, last the call's createdAt (calls that never
 * connected carry no startedAt). */
static int time_of(struct vapi *c, const char *key, int64_t *us,
                   int *present)
{
    const json_t *j = json_object_get(c->msg, key);
    int ret;

    *present = 0;
    if (json_is_string(j))
        return cs_import_get_time(&c->src, c->msg, key, at(c, c->mp, key),
                                  us, present);
    if (c->call && !c->bare_call) {
        ret = cs_import_get_time(&c->src, c->call, key, at(c, c->cp, key),
                                 us, present);
        if (ret || *present)
            return ret;
    }
    if (c->bare_call) {
        ret = cs_import_get_time(&c->src, c->call, key, at(c, c->cp, key),
                                 us, present);
        if (ret || *present)
            return ret;
    }
    if (strcmp(key, "startedAt") == 0 && c->call)
        return cs_import_get_time(&c->src, c->call, "createdAt",
                                  at(c, c->cp, "createdAt"), us, present);
    return 0;
}

/* The number of a customer or phone number object (a Twilio import
 * names it twilioPhoneNumber). */
static int number_of(struct vapi *c, const char *key, const char **out)
{
    const char *prefix;
    const json_t *o = msg_or_call(c, key, &prefix);
    char base[64];
    int ret;

    *out = NULL;
    snprintf(base, sizeof(base), "%s%s.", prefix, key);
    if (o && !json_is_object(o))
        return cs_import_bad(&c->src, at(c, prefix, key),
                             "expected an object, got %s",
                             cs_conv_json_type(o));
    ret = cs_import_get_str(&c->src, o, "number", at(c, base, "number"), out);
    if (!ret && !*out)
        ret = cs_import_get_str(&c->src, o, "twilioPhoneNumber",
                                at(c, base, "twilioPhoneNumber"), out);
    if (!ret && !*out && strcmp(key, "customer") == 0)
        ret = cs_import_get_str(&c->src, o, "sipUri", at(c, base, "sipUri"),
                                out);
    return ret;
}

/* `result` of a tool call result: an object with an "error" key (or the
 * JSON text of one) is a failure; its error, when a string, goes to
 * `error` (empty otherwise). */
static int tool_failed(const json_t *result, char *error, size_t size)
{
    json_t *parsed = NULL;
    const json_t *o = result;
    const char *e;
    int failed;

    error[0] = '\0';
    if (json_is_string(result)) {
        parsed = json_loads(json_string_value(result), JSON_DECODE_ANY, NULL);
        o = parsed;
    }
    failed = json_is_object(o) && json_object_get(o, "error") != NULL;
    e = failed ? json_string_value(json_object_get(o, "error")) : NULL;
    if (e)
        snprintf(error, size, "%s", e);
    json_decref(parsed);
    return failed;
}

/* The first tool call id of a tool_calls message and its time, to measure
 * how long the result took. */
static double call_time(const json_t *messages, const char *id)
{
    size_t i, k;
    json_t *m, *tc;

    json_array_foreach(messages, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        json_t *calls = json_object_get(m, "toolCalls");

        if (!role || strcmp(role, "tool_calls") != 0 ||
            !json_is_number(json_object_get(m, "time")))
            continue;
        json_array_foreach(calls, k, tc) {
            const char *cid = json_string_value(json_object_get(tc, "id"));

            if (cid && id && strcmp(cid, id) == 0)
                return json_number_value(json_object_get(m, "time"));
        }
    }
    return -1;
}

/* artifact.messages: turns and tool calls. */
static int messages(struct vapi *c, json_t *rec, const json_t *list,
                    const char *base)
{
    int ret = 0, system_seen = 0;
    char path[160];
    size_t i;
    json_t *m;

    json_array_foreach(list, i, m) {
        const char *role, *text, *name;
        char error[160];
        double start, dur, t0, t1;
        int has_start, has_dur, has_t1, ok;

        CS_TRY(cs_import_elem(&c->src, m, base, i));
        snprintf(path, sizeof(path), "%s[%zu].role", base, i);
        CS_TRY(cs_import_get_str(&c->src, m, "role", path, &role));
        if (!role)
            return cs_import_bad(&c->src, path, "missing");
        if (strcmp(role, "tool_call_result") == 0) {
            snprintf(path, sizeof(path), "%s[%zu].name", base, i);
            CS_TRY(cs_import_get_str(&c->src, m, "name", path, &name));
            if (!name)
                return cs_import_bad(&c->src, path, "missing");
            snprintf(path, sizeof(path), "%s[%zu].time", base, i);
            CS_TRY(cs_import_get_num(&c->src, m, "time", path, &t1, &has_t1));
            t0 = call_time(list, json_string_value(json_object_get(
                                     m, "toolCallId")));
            ok = !tool_failed(json_object_get(m, "result"), error,
                              sizeof(error));
            cs_import_put_tool(rec, name, ok,
                               has_t1 && t0 >= 0 && t1 >= t0 ? t1 - t0 : -1,
                               *error ? error : NULL);
            continue;
        }
        if (strcmp(role, "user") != 0 && strcmp(role, "bot") != 0 &&
            strcmp(role, "assistant") != 0 && strcmp(role, "system") != 0)
            continue; /* tool_calls and roles this converter does not know */
        if (strcmp(role, "system") == 0 && !system_seen++)
            continue; /* the prompt */
        snprintf(path, sizeof(path), "%s[%zu].message", base, i);
        CS_TRY(cs_import_get_str(&c->src, m, "message", path, &text));
        if (!text)
            continue;
        snprintf(path, sizeof(path), "%s[%zu].secondsFromStart", base, i);
        CS_TRY(cs_import_get_num(&c->src, m, "secondsFromStart", path, &start,
                                 &has_start));
        snprintf(path, sizeof(path), "%s[%zu].duration", base, i);
        CS_TRY(cs_import_get_num(&c->src, m, "duration", path, &dur, &has_dur));
        cs_import_put_turn(rec,
                           strcmp(role, "user") == 0     ? "customer"
                           : strcmp(role, "system") == 0 ? "system"
                                                         : "agent",
                           text, has_start ? start : -1,
                           has_start && has_dur && dur >= 0
                               ? start + dur / 1000 : -1);
    }
done:
    return ret;
}

/* costBreakdown (message, else call): its four parts and the rest. */
static int breakdown(struct vapi *c, json_t *costs, const json_t *b,
                     const char *base)
{
    static const struct {
        const char *from, *to;
    } parts[] = {{"transport", "telephony"}, {"stt", "stt"}, {"llm", "llm"},
                 {"tts", "tts"}};
    double v, total, sum = 0;
    int has, has_total, ret = 0;
    char path[96];

    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s.%s", base, parts[i].from);
        CS_TRY(cs_import_get_num(&c->src, b, parts[i].from, path, &v, &has));
        if (has && v < 0)
            return cs_import_bad(&c->src, path, "negative cost %g", v);
        if (has)
            cs_import_put_cost(costs, parts[i].to, v);
        sum += has ? v : 0;
    }
    snprintf(path, sizeof(path), "%s.total", base);
    CS_TRY(cs_import_get_num(&c->src, b, "total", path, &total, &has_total));
    if (has_total)
        cs_import_put_cost(costs, "other", total - sum);
done:
    return ret;
}

/* The `costs` array (transport, transcriber, model, voice, and the rest:
 * vapi, analysis, voicemail detection, knowledge base). */
static int cost_items(struct vapi *c, json_t *costs, const json_t *items,
                      const char *base)
{
    double sum[5] = {0, 0, 0, 0, 0}, v;
    static const char *const to[] = {"telephony", "stt", "llm", "tts",
                                     "other"};
    int has, ret = 0;
    char path[96];
    size_t i;
    json_t *it;

    json_array_foreach(items, i, it) {
        const char *type;
        int k = 4;

        snprintf(path, sizeof(path), "%s[%zu].type", base, i);
        CS_TRY(cs_import_get_str(&c->src, it, "type", path, &type));
        snprintf(path, sizeof(path), "%s[%zu].cost", base, i);
        CS_TRY(cs_import_get_num(&c->src, it, "cost", path, &v, &has));
        if (!has)
            continue;
        if (v < 0)
            return cs_import_bad(&c->src, path, "negative cost %g", v);
        if (type && strcmp(type, "transport") == 0)
            k = 0;
        else if (type && strcmp(type, "transcriber") == 0)
            k = 1;
        else if (type && strcmp(type, "model") == 0)
            k = 2;
        else if (type && strcmp(type, "voice") == 0)
            k = 3;
        sum[k] += v;
    }
    for (int k = 0; k < 5; k++)
        cs_import_put_cost(costs, to[k], sum[k]);
done:
    return ret;
}

static int costs_of(struct vapi *c, json_t *rec)
{
    const char *prefix;
    const json_t *b = msg_or_call(c, "costBreakdown", &prefix);
    json_t *costs = json_object();
    char base[64];
    double cost;
    int has, ret = 0;

    json_object_set_new(rec, "costs", costs);
    if (b) {
        snprintf(base, sizeof(base), "%scostBreakdown", prefix);
        if (!json_is_object(b))
            return cs_import_bad(&c->src, base, "expected an object, got %s",
                                 cs_conv_json_type(b));
        return breakdown(c, costs, b, base);
    }
    b = msg_or_call(c, "costs", &prefix);
    if (b) {
        snprintf(base, sizeof(base), "%scosts", prefix);
        if (!json_is_array(b))
            return cs_import_bad(&c->src, base, "expected an array, got %s",
                                 cs_conv_json_type(b));
        if (json_array_size(b))
            return cost_items(c, costs, b, base);
    }
    snprintf(base, sizeof(base), "%scost", c->mp);
    ret = cs_import_get_num(&c->src, c->msg, "cost", base, &cost, &has);
    if (!ret && !has && c->call && !c->bare_call) {
        snprintf(base, sizeof(base), "%scost", c->cp);
        ret = cs_import_get_num(&c->src, c->call, "cost", base, &cost, &has);
    }
    if (!ret && has && cost < 0)
        ret = cs_import_bad(&c->src, base, "negative cost %g", cost);
    if (!ret && has)
        cs_import_put_cost(costs, "other", cost);
    return ret;
}

/* endedReason transfer, or a destination with a transfer reason. */
static int handoff_of(struct vapi *c, json_t *rec, const char *reason)
{
    const char *prefix, *target = NULL, *mode = NULL;
    const json_t *d = msg_or_call(c, "destination", &prefix), *plan = NULL;
    char base[64], path[96];
    json_t *h;
    int ret = 0;

    if (!(reason && (strcmp(reason, "assistant-forwarded-call") == 0 ||
                     (d && cs_import_contains(reason, "transfer")))))
        return 0;
    snprintf(base, sizeof(base), "%sdestination", prefix);
    if (d && !json_is_object(d))
        return cs_import_bad(&c->src, base, "expected an object, got %s",
                             cs_conv_json_type(d));
    snprintf(path, sizeof(path), "%s.number", base);
    CS_TRY(cs_import_get_str(&c->src, d, "number", path, &target));
    if (!target) {
        snprintf(path, sizeof(path), "%s.sipUri", base);
        CS_TRY(cs_import_get_str(&c->src, d, "sipUri", path, &target));
    }
    if (!target && c->call)
        CS_TRY(cs_import_get_str(&c->src, c->call, "forwardedPhoneNumber",
                                 at(c, c->cp, "forwardedPhoneNumber"),
                                 &target));
    snprintf(path, sizeof(path), "%s.transferPlan", base);
    CS_TRY(cs_import_get_obj(&c->src, d, "transferPlan", path, &plan));
    snprintf(path, sizeof(path), "%s.transferPlan.mode", base);
    CS_TRY(cs_import_get_str(&c->src, plan, "mode", path, &mode));
    h = json_object();
    json_object_set_new(h, "type", json_string(cs_import_starts(
                                       mode, "warm-transfer") ? "warm"
                                                              : "cold"));
    cs_import_put_str(h, "target", target);
    cs_import_put_str(h, "reason", reason);
    json_object_set_new(rec, "handoff", h);
done:
    return ret;
}

static int spans_of(struct vapi *c, json_t *rec, const json_t *artifact,
                    const char *abase)
{
    static const struct {
        const char *from, *to;
    } hops[] = {{"transcriberLatencyAverage", "stt"},
                {"modelLatencyAverage", "llm"},
                {"voiceLatencyAverage", "tts"}};
    const json_t *pm;
    char base[96], path[160];
    double v;
    int has, ret;

    snprintf(base, sizeof(base), "%s.performanceMetrics", abase);
    ret = cs_import_get_obj(&c->src, artifact, "performanceMetrics", base,
                            &pm);
    for (size_t i = 0; !ret && pm && i < 3; i++) {
        snprintf(path, sizeof(path), "%s.%s", base, hops[i].from);
        ret = cs_import_get_num(&c->src, pm, hops[i].from, path, &v, &has);
        if (!ret && has)
            cs_import_put_span(rec, hops[i].to, v);
    }
    return ret;
}

/* analysis.successEvaluation -> vapi_success ("true"/"false" as
 * booleans; "" means no verdict). */
static int metrics_of(struct vapi *c, json_t *rec, const json_t *analysis,
                      const char *abase)
{
    const json_t *s = json_object_get(analysis, "successEvaluation");
    char path[96];

    snprintf(path, sizeof(path), "%s.successEvaluation", abase);
    if (!s || json_is_null(s))
        return 0;
    if (json_is_string(s)) {
        const char *v = json_string_value(s);

        if (strcmp(v, "true") == 0)
            cs_import_put_metric(rec, "vapi_success", json_true());
        else if (strcmp(v, "false") == 0)
            cs_import_put_metric(rec, "vapi_success", json_false());
        else if (*v)
            cs_import_put_metric(rec, "vapi_success", json_string(v));
        return 0;
    }
    if (json_is_boolean(s) || json_is_number(s)) {
        cs_import_put_metric(rec, "vapi_success", json_deep_copy(s));
        return 0;
    }
    return cs_import_bad(&c->src, path, "expected a string, got %s",
                         cs_conv_json_type(s));
}

static const char *const msg_known[] = {
    "type", "endedReason", "cost", "costs", "costBreakdown", "destination",
    "artifact", "assistant", "customer", "call", "chat", "phoneNumber",
    "analysis", "startedAt", "endedAt", NULL};

/* What lands in metadata.vapi (see docs/import-vapi.md). */
static void metadata_of(struct vapi *c, json_t *rec, const char *reason,
                        const json_t *artifact, const json_t *analysis)
{
    static const char *const call_ids[] = {
        "orgId", "assistantId", "squadId", "workflowId", "phoneNumberId",
        "customerId", "campaignId", "status", NULL};
    static const char *const artifact_keys[] = {
        "recordingUrl", "stereoRecordingUrl", "videoRecordingUrl",
        "performanceMetrics", "structuredOutputs", "scorecards", "transfers",
        NULL};
    json_t *meta = json_object(), *vm = json_object();
    const char *prefix;

    json_object_set_new(meta, "vapi", vm);
    json_object_set_new(rec, "metadata", meta);
    cs_import_put_str(vm, "endedReason", reason);
    if (c->call) {
        cs_import_put_meta(vm, "callType", json_object_get(c->call, "type"));
        for (const char *const *k = call_ids; *k; k++)
            cs_import_put_meta(vm, *k, json_object_get(c->call, *k));
    }
    if (c->chat)
        cs_import_put_meta(vm, "chatId", json_object_get(c->chat, "id"));
    for (const char *const *k = artifact_keys; *k; k++) {
        const json_t *v = json_object_get(artifact, *k);

        /* Older reports carry the recording URLs on the message. */
        if (!v)
            v = msg_or_call(c, *k, &prefix);
        cs_import_put_meta(vm, *k, v);
    }
    cs_import_put_meta(vm, "summary", json_object_get(analysis, "summary"));
    cs_import_put_meta(vm, "structuredData",
                       json_object_get(analysis, "structuredData"));
    cs_import_put_meta(vm, "costs", msg_or_call(c, "costs", &prefix));
    if (!c->bare_call)
        cs_import_meta_rest(vm, c->msg, msg_known);
}

/* The message object of a payload, and the paths to name its parts. */
static int find_message(struct vapi *c, const json_t *payload)
{
    const json_t *m = json_object_get(payload, "message");
    const char *type = json_string_value(json_object_get(payload, "type"));
    int ret;

    if (!json_is_object(payload))
        return cs_err_set(c->src.err, CS_EINVALID, "vapi payload: expected "
                          "an object, got %s", cs_conv_json_type(payload));
    if (m && !json_is_null(m)) {
        if (!json_is_object(m))
            return cs_import_bad(&c->src, "message", "expected an object, "
                                 "got %s", cs_conv_json_type(m));
        c->msg = m;
        snprintf(c->mp, sizeof(c->mp), "message.");
    } else if (in(type, call_types) &&
               json_object_get(payload, "orgId")) {
        /* A Call of the API (GET /call): the call is its own report. */
        c->msg = payload;
        c->call = payload;
        c->bare_call = 1;
        c->mp[0] = c->cp[0] = '\0';
        return 0;
    } else {
        c->msg = payload;
        c->mp[0] = '\0';
    }
    snprintf(c->cp, sizeof(c->cp), "%scall.", c->mp);
    ret = cs_import_get_obj(&c->src, c->msg, "call", at(c, c->mp, "call"),
                            &c->call);
    if (!ret)
        ret = cs_import_get_obj(&c->src, c->msg, "chat",
                                at(c, c->mp, "chat"), &c->chat);
    return ret;
}

int cs_import_vapi(json_t **record, const char **skipped,
                   const json_t *payload, const struct cs_import_opts *o,
                   struct cs_err *err)
{
    struct vapi c;
    json_t *rec = NULL;
    const json_t *artifact = NULL, *analysis = NULL, *list = NULL,
                 *assistant = NULL;
    const char *type, *id = NULL, *reason = NULL, *calltype = NULL,
               *agent = NULL, *customer = NULL, *line = NULL, *prefix,
               *outcome, *ids[3] = {NULL, NULL, NULL};
    char abase[64], lbase[80];
    int64_t start = 0, end = 0;
    int has_start, has_end, outbound, ret;

    *record = NULL;
    *skipped = NULL;
    memset(&c, 0, sizeof(c));
    c.src.vendor = "vapi";
    c.src.err = err;
    CS_TRY(find_message(&c, payload));
    if (c.bare_call) {
        type = "end-of-call-report";
    } else {
        CS_TRY(cs_import_get_str(&c.src, c.msg, "type", at(&c, c.mp, "type"),
                                 &type));
        if (!type) {
            ret = cs_import_bad(&c.src, at(&c, c.mp, "type"), "missing");
            goto done;
        }
    }
    if (strcmp(type, "end-of-call-report") != 0) {
        *skipped = type;
        goto done;
    }
    /* The conversation's id: the call's, or for a chat the chat's. */
    if (c.call)
        CS_TRY(cs_import_get_str(&c.src, c.call, "id", at(&c, c.cp, "id"),
                                 &id));
    else if (c.chat)
        CS_TRY(cs_import_get_str(&c.src, c.chat, "id",
                                 at(&c, c.mp, "chat.id"), &id));
    if (!id || !*id) {
        ret = cs_import_bad(&c.src, at(&c, c.cp, "id"), "missing");
        goto done;
    }
    CS_TRY(time_of(&c, "startedAt", &start, &has_start));
    if (!has_start) {
        ret = cs_import_bad(&c.src, at(&c, c.mp, "startedAt"), "missing "
                            "(and no call startedAt or createdAt)");
        goto done;
    }
    CS_TRY(time_of(&c, "endedAt", &end, &has_end));
    if (has_end && end < start) {
        ret = cs_import_bad(&c.src, at(&c, c.mp, "endedAt"), "before "
                            "startedAt");
        goto done;
    }
    CS_TRY(cs_import_get_str(&c.src, c.msg, "endedReason",
                             at(&c, c.mp, "endedReason"), &reason));
    if (!reason && c.call && !c.bare_call)
        CS_TRY(cs_import_get_str(&c.src, c.call, "endedReason",
                                 at(&c, c.cp, "endedReason"), &reason));
    if (c.call)
        CS_TRY(cs_import_get_str(&c.src, c.call, "type", at(&c, c.cp, "type"),
                                 &calltype));
    CS_TRY(cs_import_get_obj(&c.src, c.msg, "assistant",
                             at(&c, c.mp, "assistant"), &assistant));
    CS_TRY(cs_import_get_str(&c.src, assistant, "name",
                             at(&c, c.mp, "assistant.name"), &agent));
    CS_TRY(cs_import_get_str(&c.src, assistant, "id",
                             at(&c, c.mp, "assistant.id"), &ids[0]));
    if (c.call) {
        const char *aid;

        CS_TRY(cs_import_get_str(&c.src, c.call, "assistantId",
                                 at(&c, c.cp, "assistantId"), &aid));
        if (!agent)
            agent = aid;
        if (aid)
            ids[0] = aid;
        CS_TRY(cs_import_get_str(&c.src, c.call, "orgId",
                                 at(&c, c.cp, "orgId"), &ids[1]));
    }
    CS_TRY(number_of(&c, "customer", &customer));
    CS_TRY(number_of(&c, "phoneNumber", &line));
    outbound = calltype && strcmp(calltype, "outboundPhoneCall") == 0;

    rec = cs_import_record_new();
    cs_import_put_str(rec, "id", id);
    cs_import_put_time(rec, "started_at", start);
    cs_import_put_str(rec, "tenant", cs_import_tenant(o, ids, 2));
    cs_import_put_str(rec, "agent", agent);
    cs_import_put_str(rec, "channel", !c.call && c.chat ? "chat" : "voice");
    cs_import_put_str(rec, "direction", outbound ? "outbound" : "inbound");
    cs_import_put_str(rec, "caller", outbound ? line : customer);
    cs_import_put_str(rec, "callee", outbound ? customer : line);
    outcome = outcome_of(reason);
    if (outcome && strcmp(outcome, "answered") == 0)
        cs_import_put_time(rec, "answered_at", start);
    if (has_end)
        cs_import_put_time(rec, "ended_at", end);
    cs_import_put_str(rec, "outcome", outcome);
    CS_TRY(handoff_of(&c, rec, reason));

    /* The artifact (message, else call); a Call may hold `messages`. */
    artifact = msg_or_call(&c, "artifact", &prefix);
    snprintf(abase, sizeof(abase), "%sartifact", prefix);
    if (artifact && !json_is_object(artifact)) {
        ret = cs_import_bad(&c.src, abase, "expected an object, got %s",
                            cs_conv_json_type(artifact));
        goto done;
    }
    snprintf(lbase, sizeof(lbase), "%s.messages", abase);
    CS_TRY(cs_import_get_arr(&c.src, artifact, "messages", lbase, &list));
    if (!list && c.call) {
        snprintf(lbase, sizeof(lbase), "%smessages", c.cp);
        CS_TRY(cs_import_get_arr(&c.src, c.call, "messages", lbase, &list));
    }
    CS_TRY(messages(&c, rec, list, lbase));
    CS_TRY(spans_of(&c, rec, artifact, abase));
    CS_TRY(costs_of(&c, rec));
    analysis = msg_or_call(&c, "analysis", &prefix);
    snprintf(abase, sizeof(abase), "%sanalysis", prefix);
    if (analysis && !json_is_object(analysis)) {
        ret = cs_import_bad(&c.src, abase, "expected an object, got %s",
                            cs_conv_json_type(analysis));
        goto done;
    }
    CS_TRY(metrics_of(&c, rec, analysis, abase));
    metadata_of(&c, rec, reason, artifact, analysis);
    *record = cs_import_record_done(rec);
    rec = NULL;
done:
    json_decref(rec);
    return ret;
}
