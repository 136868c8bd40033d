/* retell.c - a Retell call (or its webhook event) to a conversation */
#include "import/field.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int in(const char *s, const char *const *list)
{
    for (; s && *list; list++) {
        if (strcmp(s, *list) == 0)
            return 1;
    }
    return 0;
}

/* docs/importers.md: the outcome from disconnection_reason, else from
 * call_status. */
static const char *outcome_of(const char *reason, const char *status)
{
    static const char *const no_answer[] = {"dial_no_answer",
                                            "voicemail_reached", NULL};
    static const char *const failed[] = {
        "dial_failed", "invalid_destination", "sip_routing_error",
        "marked_as_spam", "scam_detected", "concurrency_limit_reached",
        "no_concurrency_fallback", "no_valid_payment",
        "registered_call_timeout", NULL};

    if (in(reason, no_answer))
        return "no_answer";
    if (reason && strcmp(reason, "user_declined") == 0)
        return "no_answer"; /* on a dial attempt: busy (see the caller) */
    if (reason && strcmp(reason, "dial_busy") == 0)
        return "busy";
    if (in(reason, failed) || cs_import_starts(reason, "error_") ||
        cs_import_starts(reason, "telephony_provider_"))
        return "failed";
    if (status && strcmp(status, "not_connected") == 0)
        return "no_answer";
    return "answered";
}

/* The first word's start and the last word's end of an utterance. */
static int word_times(const struct cs_import_src *v, const json_t *words,
                      const char *base, double *start, double *end)
{
    char path[128];
    double t;
    int has, ret = 0;
    size_t n = json_array_size(words);

    *start = *end = -1;
    if (n == 0)
        return 0;
    snprintf(path, sizeof(path), "%s[0].start", base);
    CS_TRY(cs_import_get_num(v, json_array_get(words, 0), "start", path, &t,
                             &has));
    if (has)
        *start = t;
    snprintf(path, sizeof(path), "%s[%zu].end", base, n - 1);
    CS_TRY(cs_import_get_num(v, json_array_get(words, n - 1), "end", path, &t,
                             &has));
    if (has)
        *end = t;
done:
    return ret;
}

/* transcript_object: turns; *transfer_target set when such an utterance
 * is there. */
static int turns_of(const struct cs_import_src *v, json_t *rec,
                    const json_t *list, int *transfer_target)
{
    char path[128], wbase[96];
    int ret = 0;
    size_t i;
    json_t *u;

    *transfer_target = 0;
    json_array_foreach(list, i, u) {
        const char *role, *text, *as;
        const json_t *words;
        double start, end;

        CS_TRY(cs_import_elem(v, u, "call.transcript_object", i));
        snprintf(path, sizeof(path), "call.transcript_object[%zu].role", i);
        CS_TRY(cs_import_get_str(v, u, "role", path, &role));
        if (!role)
            return cs_import_bad(v, path, "missing");
        if (strcmp(role, "agent") == 0)
            as = "agent";
        else if (strcmp(role, "user") == 0)
            as = "customer";
        else if (strcmp(role, "transfer_target") == 0)
            as = "system";
        else
            return cs_import_bad(v, path, "'%.40s' is not agent, user or "
                                 "transfer_target", role);
        *transfer_target |= strcmp(role, "transfer_target") == 0;
        snprintf(path, sizeof(path), "call.transcript_object[%zu].content",
                 i);
        CS_TRY(cs_import_get_str(v, u, "content", path, &text));
        if (!text)
            return cs_import_bad(v, path, "missing");
        snprintf(wbase, sizeof(wbase), "call.transcript_object[%zu].words",
                 i);
        CS_TRY(cs_import_get_arr(v, u, "words", wbase, &words));
        CS_TRY(word_times(v, words, wbase, &start, &end));
        cs_import_put_turn(rec, as, text, start, end);
    }
done:
    return ret;
}

/* transcript_with_tool_calls: each tool_call_result, named by the
 * invocation with its tool_call_id. */
static int tools_of(const struct cs_import_src *v, json_t *rec,
                    const json_t *list)
{
    char path[128];
    int ret = 0;
    size_t i;
    json_t *u;

    json_array_foreach(list, i, u) {
        const char *role, *id, *name;
        int ok;

        snprintf(path, sizeof(path), "call.transcript_with_tool_calls[%zu]"
                 ".role", i);
        CS_TRY(cs_import_get_str(v, u, "role", path, &role));
        if (!role || strcmp(role, "tool_call_result") != 0)
            continue;
        snprintf(path, sizeof(path), "call.transcript_with_tool_calls[%zu]"
                 ".tool_call_id", i);
        CS_TRY(cs_import_get_str(v, u, "tool_call_id", path, &id));
        name = json_string_value(json_object_get(cs_import_find(
            list, "role", "tool_call_invocation", "tool_call_id", id),
            "name"));
        if (!name)
            continue; /* a result of no call we know the name of */
        snprintf(path, sizeof(path), "call.transcript_with_tool_calls[%zu]"
                 ".successful", i);
        CS_TRY(cs_import_get_bool(v, u, "successful", path, &ok));
        cs_import_put_tool(rec, name, ok == 1, -1,
                           ok < 0 ? "no result status" : NULL);
    }
done:
    return ret;
}

static int spans_of(const struct cs_import_src *v, json_t *rec,
                    const json_t *call)
{
    static const struct {
        const char *from, *to;
    } hops[] = {{"asr", "stt"}, {"llm", "llm"}, {"tts", "tts"}};
    const json_t *lat, *hop;
    char path[64];
    double p50;
    int has, ret;

    ret = cs_import_get_obj(v, call, "latency", "call.latency", &lat);
    for (size_t i = 0; !ret && lat && i < 3; i++) {
        snprintf(path, sizeof(path), "call.latency.%s", hops[i].from);
        ret = cs_import_get_obj(v, lat, hops[i].from, path, &hop);
        if (ret || !hop)
            continue;
        snprintf(path, sizeof(path), "call.latency.%s.p50", hops[i].from);
        ret = cs_import_get_num(v, hop, "p50", path, &p50, &has);
        if (!ret && has)
            cs_import_put_span(rec, hops[i].to, p50);
    }
    return ret;
}

static int metrics_of(const struct cs_import_src *v, json_t *rec,
                      const json_t *analysis)
{
    const char *sentiment;
    char low[32];
    int ok, ret;

    ret = cs_import_get_bool(v, analysis, "call_successful",
                             "call.call_analysis.call_successful", &ok);
    if (!ret && ok >= 0)
        cs_import_put_metric(rec, "retell_success", json_boolean(ok));
    if (!ret)
        ret = cs_import_get_str(v, analysis, "user_sentiment",
                                "call.call_analysis.user_sentiment",
                                &sentiment);
    if (ret || !sentiment || !*sentiment)
        return ret;
    snprintf(low, sizeof(low), "%s", sentiment);
    for (char *p = low; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strcmp(low, "unknown") != 0)
        cs_import_put_metric(rec, "retell_sentiment", json_string(low));
    return 0;
}

/* Members of the call read above or dropped on purpose (secrets, signed
 * links, copies of the transcript, the dynamic variables' PII). */
static const char *const call_known[] = {
    "call_id", "agent_id", "agent_version", "agent_name", "call_type",
    "call_status", "direction", "from_number", "to_number",
    "start_timestamp", "end_timestamp", "disconnection_reason",
    "transfer_destination", "transcript", "transcript_object",
    "transcript_with_tool_calls", "scrubbed_transcript_with_tool_calls",
    "latency", "call_cost", "call_analysis", "access_token",
    "opt_in_signed_url", "retell_llm_dynamic_variables",
    "collected_dynamic_variables", "custom_sip_headers", NULL};

/* Recording and log links, dropped when the agent opted in to signed
 * (expiring) URLs. */
static const char *const signed_links[] = {
    "recording_url", "recording_multi_channel_url", "scrubbed_recording_url",
    "scrubbed_recording_multi_channel_url", "public_log_url",
    "knowledge_base_retrieved_contents_url", NULL};

static void metadata_of(json_t *rec, const json_t *call, const char *event,
                        const char *reason, const json_t *cost,
                        const json_t *analysis)
{
    json_t *meta = json_object(), *rm = json_object();
    int signed_urls = json_is_true(json_object_get(call, "opt_in_signed_url"));
    const char *k;
    json_t *x;

    json_object_set_new(meta, "retell", rm);
    json_object_set_new(rec, "metadata", meta);
    cs_import_put_str(rm, "event", event);
    json_object_set_new(rm, "analyzed", json_boolean(analysis != NULL));
    cs_import_put_meta(rm, "call_type", json_object_get(call, "call_type"));
    cs_import_put_meta(rm, "call_status",
                       json_object_get(call, "call_status"));
    cs_import_put_str(rm, "disconnection_reason", reason);
    cs_import_put_meta(rm, "agent_id", json_object_get(call, "agent_id"));
    cs_import_put_meta(rm, "agent_version",
                       json_object_get(call, "agent_version"));
    cs_import_put_meta(rm, "product_costs",
                       json_object_get(cost, "product_costs"));
    json_object_foreach((json_t *)analysis, k, x) {
        if (strcmp(k, "call_successful") != 0 &&
            strcmp(k, "user_sentiment") != 0)
            cs_import_put_meta(rm, k, x);
    }
    json_object_foreach((json_t *)call, k, x) {
        const char *const *p = call_known;

        while (*p && strcmp(*p, k) != 0)
            p++;
        if (*p || json_object_get(rm, k))
            continue;
        if (signed_urls && in(k, signed_links))
            continue;
        cs_import_put_meta(rm, k, x);
    }
}

/* The call object and the event it came with ("call" for a bare call). */
static int find_call(const struct cs_import_src *v, const json_t *payload,
                     const json_t **call, const char **event)
{
    const json_t *c = json_object_get(payload, "call");
    int ret;

    *event = NULL;
    *call = NULL;
    if (!json_is_object(payload))
        return cs_err_set(v->err, CS_EINVALID, "retell payload: expected an "
                          "object, got %s", cs_conv_json_type(payload));
    ret = cs_import_get_str(v, payload, "event", "event", event);
    if (!ret && !*event)
        ret = cs_import_get_str(v, payload, "event_type", "event_type",
                                event);
    if (ret)
        return ret;
    if (c && !json_is_null(c)) {
        if (!json_is_object(c))
            return cs_import_bad(v, "call", "expected an object, got %s",
                                 cs_conv_json_type(c));
        /* A webhook names its event; without one it is not a call. */
        if (!*event)
            return cs_import_bad(v, "event", "missing (a webhook with "
                                 "\"call\" names its event)");
        *call = c;
        return 0;
    }
    if (*event)
        return cs_import_bad(v, "call", "missing");
    *call = payload;
    *event = "call";
    return 0;
}

int cs_import_retell(json_t **record, const char **skipped,
                     const json_t *payload, const struct cs_import_opts *o,
                     struct cs_err *err)
{
    struct cs_import_src v = {"retell", err};
    const json_t *call, *words, *list, *cost, *analysis;
    const char *event, *id, *agent, *agent_id, *dir, *from, *to, *reason,
               *status, *dest, *outcome, *ids[1];
    json_t *rec = NULL, *costs;
    int64_t start, end, version;
    int has_start, has_end, has_version, transfer_target, ret;
    double combined;
    int has_combined;
    char agentv[192];

    *record = NULL;
    *skipped = NULL;
    CS_TRY(find_call(&v, payload, &call, &event));
    if (strcmp(event, "call_ended") != 0 &&
        strcmp(event, "call_analyzed") != 0 && strcmp(event, "call") != 0) {
        *skipped = event;
        goto done;
    }
    CS_TRY(cs_import_get_str(&v, call, "call_id", "call.call_id", &id));
    if (!id || !*id) {
        ret = cs_import_bad(&v, "call.call_id", "missing");
        goto done;
    }
    CS_TRY(cs_import_get_i64(&v, call, "start_timestamp",
                             "call.start_timestamp", &start, &has_start));
    if (!has_start) {
        ret = cs_import_bad(&v, "call.start_timestamp", "missing");
        goto done;
    }
    CS_TRY(cs_import_get_i64(&v, call, "end_timestamp", "call.end_timestamp",
                             &end, &has_end));
    /* Milliseconds since 1970, up to the year 9999 (so that the
     * microseconds of a record cannot overflow). */
    if (start < 0 || start > INT64_C(253402300799999)) {
        ret = cs_import_bad(&v, "call.start_timestamp", "%lld is out of "
                            "range (milliseconds since 1970, before the "
                            "year 10000)", (long long)start);
        goto done;
    }
    if (has_end && (end < 0 || end > INT64_C(253402300799999))) {
        ret = cs_import_bad(&v, "call.end_timestamp", "%lld is out of "
                            "range (milliseconds since 1970, before the "
                            "year 10000)", (long long)end);
        goto done;
    }
    if (has_end && end < start) {
        ret = cs_import_bad(&v, "call.end_timestamp", "before "
                            "start_timestamp");
        goto done;
    }
    CS_TRY(cs_import_get_str(&v, call, "agent_name", "call.agent_name",
                             &agent));
    CS_TRY(cs_import_get_str(&v, call, "agent_id", "call.agent_id", &agent_id));
    CS_TRY(cs_import_get_i64(&v, call, "agent_version", "call.agent_version",
                             &version, &has_version));
    if (!agent && agent_id) {
        if (has_version)
            snprintf(agentv, sizeof(agentv), "%.160s@v%lld", agent_id,
                     (long long)version);
        else
            snprintf(agentv, sizeof(agentv), "%.160s", agent_id);
        agent = agentv;
    }
    CS_TRY(cs_import_get_str(&v, call, "direction", "call.direction", &dir));
    if (dir && strcmp(dir, "inbound") != 0 && strcmp(dir, "outbound") != 0) {
        ret = cs_import_bad(&v, "call.direction", "'%.40s' is not inbound or "
                            "outbound", dir);
        goto done;
    }
    CS_TRY(cs_import_get_str(&v, call, "from_number", "call.from_number",
                             &from));
    CS_TRY(cs_import_get_str(&v, call, "to_number", "call.to_number", &to));
    CS_TRY(cs_import_get_str(&v, call, "disconnection_reason",
                             "call.disconnection_reason", &reason));
    CS_TRY(cs_import_get_str(&v, call, "call_status", "call.call_status",
                             &status));
    CS_TRY(cs_import_get_str(&v, call, "transfer_destination",
                             "call.transfer_destination", &dest));
    CS_TRY(cs_import_get_arr(&v, call, "transcript_object",
                             "call.transcript_object", &words));
    CS_TRY(cs_import_get_arr(&v, call, "transcript_with_tool_calls",
                             "call.transcript_with_tool_calls", &list));
    CS_TRY(cs_import_get_obj(&v, call, "call_cost", "call.call_cost", &cost));
    CS_TRY(cs_import_get_obj(&v, call, "call_analysis", "call.call_analysis",
                             &analysis));
    ids[0] = agent_id;

    rec = cs_import_record_new();
    cs_import_put_str(rec, "id", id);
    cs_import_put_time(rec, "started_at", start * 1000);
    cs_import_put_str(rec, "tenant", cs_import_tenant(o, ids, 1));
    cs_import_put_str(rec, "agent", agent);
    cs_import_put_str(rec, "channel", "voice");
    cs_import_put_str(rec, "direction", dir ? dir : "inbound");
    cs_import_put_str(rec, "caller", from);
    cs_import_put_str(rec, "callee", to);
    outcome = outcome_of(reason, status);
    /* A declined dial attempt (an outbound call the callee refused) is
     * busy, as a SIP 486/603 would say. */
    if (reason && strcmp(reason, "user_declined") == 0 && dir &&
        strcmp(dir, "outbound") == 0)
        outcome = "busy";
    if (strcmp(outcome, "answered") == 0)
        cs_import_put_time(rec, "answered_at", start * 1000);
    if (has_end)
        cs_import_put_time(rec, "ended_at", end * 1000);
    cs_import_put_str(rec, "outcome", outcome);
    CS_TRY(turns_of(&v, rec, words, &transfer_target));
    if ((reason && (strcmp(reason, "call_transfer") == 0 ||
                    strcmp(reason, "transfer_bridged") == 0)) ||
        (dest && *dest)) {
        json_t *h = json_object();

        json_object_set_new(h, "type", json_string(
            (reason && strcmp(reason, "transfer_bridged") == 0) ||
                    transfer_target ? "warm" : "cold"));
        cs_import_put_str(h, "target", dest && *dest ? dest : NULL);
        cs_import_put_str(h, "reason", reason);
        json_object_set_new(rec, "handoff", h);
    }
    CS_TRY(tools_of(&v, rec, list));
    CS_TRY(spans_of(&v, rec, call));
    costs = json_object();
    json_object_set_new(rec, "costs", costs);
    CS_TRY(cs_import_get_num(&v, cost, "combined_cost",
                             "call.call_cost.combined_cost", &combined,
                             &has_combined));
    if (has_combined && combined < 0) {
        ret = cs_import_bad(&v, "call.call_cost.combined_cost", "negative "
                            "cost %g", combined);
        goto done;
    }
    if (has_combined)
        cs_import_put_cost(costs, "other", combined / 100);
    CS_TRY(metrics_of(&v, rec, analysis));
    metadata_of(rec, call, event, reason, cost, analysis);
    *record = cs_import_record_done(rec);
    rec = NULL;
done:
    json_decref(rec);
    return ret;
}
