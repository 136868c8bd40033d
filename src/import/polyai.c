/* polyai.c - a PolyAI Conversations API record to a conversation */
#include "import/field.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/*
 * v3 writes top-level members in camelCase; v1 exports wrote them in
 * snake_case. Each top-level read tries the v3 name, then the v1 one.
 */
static int get_str2(const struct cs_import_src *v, const json_t *o,
                    const char *v3, const char *v1, const char **out)
{
    int ret = cs_import_get_text(v, o, v3, v3, out);

    if (!ret && !*out && v1)
        ret = cs_import_get_text(v, o, v1, v1, out);
    return ret;
}

static int get_time2(const struct cs_import_src *v, const json_t *o,
                     const char *v3, const char *v1, int64_t *us,
                     int *present)
{
    const json_t *j = json_object_get(o, v3);
    const char *key = j && !json_is_null(j) ? v3 : v1;
    const char *s;
    int ret;

    /* "" (v3's empty text) is no time. */
    *present = 0;
    *us = 0;
    ret = cs_import_get_text(v, o, key, key, &s);
    if (ret || !s)
        return ret;
    return cs_import_get_time(v, o, key, key, us, present);
}

/* Seconds from the start of the conversation to `key` of a turn. */
static int turn_time(const struct cs_import_src *v, const json_t *t,
                     const char *key, const char *path, int64_t start,
                     double *out)
{
    const char *s;
    int64_t us;
    int has, ret;

    *out = -1;
    ret = cs_import_get_text(v, t, key, path, &s);
    if (ret || !s)
        return ret;
    ret = cs_import_get_time(v, t, key, path, &us, &has);
    if (!ret && has && us >= start)
        *out = (double)(us - start) / 1e6;
    return ret;
}

static int turns_of(const struct cs_import_src *v, json_t *rec,
                    const json_t *turns, int64_t start)
{
    char path[96];
    int ret = 0;
    size_t i;
    json_t *t;

    json_array_foreach(turns, i, t) {
        const char *user, *agent;
        double ut, at;

        CS_TRY(cs_import_elem(v, t, "turns", i));
        snprintf(path, sizeof(path), "turns[%zu].user_input", i);
        CS_TRY(cs_import_get_text(v, t, "user_input", path, &user));
        snprintf(path, sizeof(path), "turns[%zu].agent_response", i);
        CS_TRY(cs_import_get_text(v, t, "agent_response", path, &agent));
        snprintf(path, sizeof(path), "turns[%zu].user_input_datetime", i);
        CS_TRY(turn_time(v, t, "user_input_datetime", path, start, &ut));
        snprintf(path, sizeof(path), "turns[%zu].agent_response_datetime",
                 i);
        CS_TRY(turn_time(v, t, "agent_response_datetime", path, start, &at));
        if (user)
            cs_import_put_turn(rec, "customer", user, ut, -1);
        if (agent)
            cs_import_put_turn(rec, "agent", agent, at, -1);
    }
done:
    return ret;
}

/* metrics: name -> value; scalars become metric events, the rest goes to
 * metadata.polyai.metrics. */
static void metrics_of(json_t *rec, json_t *pm, const json_t *metrics,
                       const json_t *score)
{
    json_t *rest = json_object();
    const char *k;
    json_t *x;

    json_object_foreach((json_t *)metrics, k, x) {
        if (json_is_boolean(x) || json_is_number(x))
            cs_import_put_metric(rec, k, json_deep_copy(x));
        else if (json_is_string(x) && *json_string_value(x))
            cs_import_put_metric(rec, k, json_deep_copy(x));
        else if (json_is_array(x) || json_is_object(x))
            cs_import_put_meta(rest, k, x);
    }
    if (json_object_size(rest))
        json_object_set(pm, "metrics", rest);
    json_decref(rest);
    if (json_is_number(score))
        cs_import_put_metric(rec, "polyai_score", json_deep_copy(score));
}

/* Members read above (v3 and v1 names) or dropped (personal data). */
static const char *const known[] = {
    "conversationId", "id", "startedAt", "started_at", "finishedAt",
    "finished_at", "totalDuration", "total_duration", "channel",
    "direction", "fromNumber", "from_number", "toNumber", "to_number",
    "variantId", "variant_id", "projectId", "project_id", "handoff",
    "handoffDestination", "handoff_destination", "handoffReason",
    "handoff_reason", "turns", "metrics", "polyScore", "poly_score", "tags",
    "inProgress", "in_progress", NULL};

int cs_import_polyai(json_t **record, const char **skipped,
                     const json_t *payload, const struct cs_import_opts *o,
                     struct cs_err *err)
{
    struct cs_import_src v = {"polyai", err};
    const char *id, *channel, *dir, *from, *to, *variant, *project,
               *account, *dest, *why, *ids[3];
    const json_t *turns, *metrics, *tags, *score;
    json_t *rec = NULL, *meta, *pm;
    int64_t start, end, dur;
    int has_start, has_end, has_dur, handoff, in_progress, ret;
    char low[16];

    *record = NULL;
    *skipped = NULL;
    if (!json_is_object(payload)) {
        ret = cs_err_set(err, CS_EINVALID, "polyai payload: expected an "
                         "object, got %s", cs_conv_json_type(payload));
        goto done;
    }
    CS_TRY(cs_import_get_bool(&v, payload, "inProgress", "inProgress",
                              &in_progress));
    if (in_progress == 1) {
        *skipped = "in progress";
        goto done;
    }
    CS_TRY(get_str2(&v, payload, "conversationId", "id", &id));
    if (!id) {
        ret = cs_import_bad(&v, "conversationId", "missing");
        goto done;
    }
    CS_TRY(get_time2(&v, payload, "startedAt", "started_at", &start,
                     &has_start));
    if (!has_start) {
        ret = cs_import_bad(&v, "startedAt", "missing");
        goto done;
    }
    CS_TRY(get_time2(&v, payload, "finishedAt", "finished_at", &end,
                     &has_end));
    if (!has_end) {
        CS_TRY(cs_import_get_i64(&v, payload, "totalDuration", "totalDuration",
                                 &dur, &has_dur));
        if (!has_dur)
            CS_TRY(cs_import_get_i64(&v, payload, "total_duration",
                                     "total_duration", &dur, &has_dur));
        if (has_dur && (dur < 0 || dur > 100L * 366 * 86400)) {
            ret = cs_import_bad(&v, "totalDuration", "%lld is not a "
                                "duration in seconds", (long long)dur);
            goto done;
        }
        if (has_dur) {
            end = start + dur * 1000000;
            has_end = 1;
        }
    }
    if (has_end && end < start) {
        ret = cs_import_bad(&v, "finishedAt", "before startedAt");
        goto done;
    }
    CS_TRY(get_str2(&v, payload, "channel", NULL, &channel));
    CS_TRY(get_str2(&v, payload, "direction", NULL, &dir));
    if (dir) {
        snprintf(low, sizeof(low), "%s", dir);
        for (char *p = low; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (strcmp(low, "inbound") != 0 && strcmp(low, "outbound") != 0) {
            ret = cs_import_bad(&v, "direction", "'%.40s' is not inbound or "
                                "outbound", dir);
            goto done;
        }
    }
    CS_TRY(get_str2(&v, payload, "fromNumber", "from_number", &from));
    CS_TRY(get_str2(&v, payload, "toNumber", "to_number", &to));
    CS_TRY(get_str2(&v, payload, "variantId", "variant_id", &variant));
    CS_TRY(get_str2(&v, payload, "projectId", "project_id", &project));
    CS_TRY(get_str2(&v, payload, "accountId", "account_id", &account));
    CS_TRY(cs_import_get_bool(&v, payload, "handoff", "handoff", &handoff));
    CS_TRY(get_str2(&v, payload, "handoffDestination", "handoff_destination",
                    &dest));
    CS_TRY(get_str2(&v, payload, "handoffReason", "handoff_reason", &why));
    CS_TRY(cs_import_get_arr(&v, payload, "turns", "turns", &turns));
    CS_TRY(cs_import_get_obj(&v, payload, "metrics", "metrics", &metrics));
    CS_TRY(cs_import_get_arr(&v, payload, "tags", "tags", &tags));
    score = json_object_get(payload, "polyScore");
    if (score && !json_is_null(score) && !json_is_number(score)) {
        ret = cs_import_bad(&v, "polyScore", "expected a number, got %s",
                            cs_conv_json_type(score));
        goto done;
    }
    ids[0] = project;
    ids[1] = account;
    ids[2] = variant;

    rec = cs_import_record_new();
    cs_import_put_str(rec, "id", id);
    cs_import_put_time(rec, "started_at", start);
    cs_import_put_str(rec, "tenant", cs_import_tenant(o, ids, 3));
    cs_import_put_str(rec, "agent", variant ? variant : project);
    /* v3 names channels "VOICE", "sip.polyai", "webchat.polyai",
     * "chat.polyai", "sms"; the contract's WEBCHAT too. */
    {
        char ch[64];

        snprintf(ch, sizeof(ch), "%s", channel ? channel : "");
        for (char *p = ch; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        cs_import_put_str(rec, "channel",
                          strstr(ch, "chat") || strcmp(ch, "sms") == 0
                              ? "chat" : "voice");
    }
    cs_import_put_str(rec, "direction", dir ? low : "inbound");
    cs_import_put_str(rec, "caller", from);
    cs_import_put_str(rec, "callee", to);
    if (has_end)
        cs_import_put_time(rec, "ended_at", end);
    if (handoff == 1) {
        json_t *h = json_object();

        json_object_set_new(h, "type", json_string("cold"));
        cs_import_put_str(h, "target", dest);
        cs_import_put_str(h, "reason", why);
        json_object_set_new(rec, "handoff", h);
    }
    CS_TRY(turns_of(&v, rec, turns, start));
    /* The format's default outcome (answered when anyone spoke); answered
     * when the conversation started. */
    if (json_array_size(json_object_get(rec, "turns")))
        cs_import_put_time(rec, "answered_at", start);
    {
        size_t i;
        json_t *t;

        json_array_foreach(tags, i, t) {
            if (!json_is_string(t)) {
                char path[48];

                snprintf(path, sizeof(path), "tags[%zu]", i);
                ret = cs_import_bad(&v, path, "expected a string, got %s",
                                    cs_conv_json_type(t));
                goto done;
            }
        }
        if (json_array_size(tags))
            json_object_set_new(rec, "topics", json_deep_copy(tags));
    }
    meta = json_object();
    pm = json_object();
    json_object_set_new(meta, "polyai", pm);
    json_object_set_new(rec, "metadata", meta);
    if (variant)
        cs_import_put_str(pm, "projectId", project);
    metrics_of(rec, pm, metrics, score);
    cs_import_meta_rest(pm, payload, known);
    *record = cs_import_record_done(rec);
    rec = NULL;
done:
    json_decref(rec);
    return ret;
}
