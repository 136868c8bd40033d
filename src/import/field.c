/* field.c - reading vendor fields (errors name them) and writing records */
#include "import/field.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/parse.h"
#include "model/conv.h"

const char *cs_import_at(char *buf, size_t size, const char *base, size_t i,
                         const char *member)
{
    if (member)
        snprintf(buf, size, "%s[%zu].%s", base, i, member);
    else
        snprintf(buf, size, "%s[%zu]", base, i);
    return buf;
}

int cs_import_elem(const struct cs_import_src *v, const json_t *e,
                   const char *base, size_t i)
{
    char path[160];

    if (json_is_object(e))
        return 0;
    return cs_import_bad(v, cs_import_at(path, sizeof(path), base, i, NULL),
                         "expected an object, got %s",
                         cs_conv_json_type(e));
}

const json_t *cs_import_find(const json_t *list, const char *key,
                             const char *value, const char *idkey,
                             const char *id)
{
    size_t i;
    json_t *e;

    json_array_foreach(list, i, e) {
        const char *k = json_string_value(json_object_get(e, key));
        const char *x = json_string_value(json_object_get(e, idkey));

        if (k && x && id && strcmp(k, value) == 0 && strcmp(x, id) == 0)
            return e;
    }
    return NULL;
}

int cs_import_bad(const struct cs_import_src *v, const char *path,
                  const char *fmt, ...)
{
    char why[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    cs_err_set(v->err, CS_EINVALID, "%s field '%s': %s", v->vendor, path,
               why);
    cs_import_tidy(v->err);
    return CS_EINVALID;
}

void cs_import_tidy(struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;

    if (!err || !err->msg[0])
        return;
    cs_buf_add_excerpt(&b, err->msg, strlen(err->msg), sizeof(err->msg));
    if (b.len != strlen(err->msg) || memcmp(b.ptr, err->msg, b.len) != 0)
        cs_err_set(err, err->code, "%s", b.ptr);
    cs_buf_release(&b);
}

/* The member, NULL when absent or null. */
static const json_t *member(const json_t *o, const char *key)
{
    const json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;

    return j && !json_is_null(j) ? j : NULL;
}

static int wrong(const struct cs_import_src *v, const char *path,
                 const char *want, const json_t *got)
{
    return cs_import_bad(v, path, "expected %s, got %s", want,
                         cs_conv_json_type(got));
}

int cs_import_get_str(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path, const char **out)
{
    const json_t *j = member(o, key);

    *out = NULL;
    if (!j)
        return 0;
    if (!json_is_string(j))
        return wrong(v, path, "a string", j);
    *out = json_string_value(j);
    return 0;
}

int cs_import_get_text(const struct cs_import_src *v, const json_t *o,
                       const char *key, const char *path, const char **out)
{
    int ret = cs_import_get_str(v, o, key, path, out);

    if (!ret && *out && !**out)
        *out = NULL;
    return ret;
}

int cs_import_get_num(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path, double *out,
                      int *present)
{
    const json_t *j = member(o, key);

    *out = 0;
    *present = 0;
    if (!j)
        return 0;
    if (!json_is_number(j))
        return wrong(v, path, "a number", j);
    *out = json_number_value(j);
    if (!isfinite(*out))
        return cs_import_bad(v, path, "not a finite number");
    *present = 1;
    return 0;
}

int cs_import_get_bool(const struct cs_import_src *v, const json_t *o,
                       const char *key, const char *path, int *out)
{
    const json_t *j = member(o, key);

    *out = -1;
    if (!j)
        return 0;
    if (!json_is_boolean(j))
        return wrong(v, path, "a boolean", j);
    *out = json_is_true(j);
    return 0;
}

int cs_import_get_obj(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path, const json_t **out)
{
    const json_t *j = member(o, key);

    *out = NULL;
    if (!j)
        return 0;
    if (!json_is_object(j))
        return wrong(v, path, "an object", j);
    *out = j;
    return 0;
}

int cs_import_get_arr(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path, const json_t **out)
{
    const json_t *j = member(o, key);

    *out = NULL;
    if (!j)
        return 0;
    if (!json_is_array(j))
        return wrong(v, path, "an array", j);
    *out = j;
    return 0;
}

int cs_import_get_i64(const struct cs_import_src *v, const json_t *o,
                      const char *key, const char *path, int64_t *out,
                      int *present)
{
    const json_t *j = member(o, key);
    const char *s;
    int64_t n = 0;

    *out = 0;
    *present = 0;
    if (!j)
        return 0;
    if (json_is_integer(j)) {
        *out = (int64_t)json_integer_value(j);
        *present = 1;
        return 0;
    }
    if (!json_is_string(j))
        return wrong(v, path, "an integer", j);
    s = json_string_value(j);
    if (*s == '-')
        s++;
    if (!*s || strlen(s) > 18)
        return cs_import_bad(v, path, "'%.40s' is not an integer",
                             json_string_value(j));
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return cs_import_bad(v, path, "'%.40s' is not an integer",
                                 json_string_value(j));
        n = n * 10 + (*s - '0');
    }
    *out = json_string_value(j)[0] == '-' ? -n : n;
    *present = 1;
    return 0;
}

int cs_import_get_time(const struct cs_import_src *v, const json_t *o,
                       const char *key, const char *path, int64_t *out_us,
                       int *present)
{
    const char *s;
    int ret = cs_import_get_str(v, o, key, path, &s);

    *present = 0;
    *out_us = 0;
    if (ret || !s)
        return ret;
    if (cs_parse_rfc3339(s, out_us) < 0)
        return cs_import_bad(v, path, "'%.40s' is not an RFC 3339 timestamp",
                             s);
    *present = 1;
    return 0;
}

void cs_import_put_str(json_t *rec, const char *key, const char *s)
{
    if (s)
        json_object_set_new(rec, key, json_string(s));
}

void cs_import_put_time(json_t *rec, const char *key, int64_t us)
{
    int64_t secs = us / 1000000, frac = us % 1000000, days;
    char date[11], text[48];

    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    days = secs / 86400;
    if (secs % 86400 < 0)
        days--;
    secs -= days * 86400;
    cs_format_date(days, date);
    if (frac == 0)
        snprintf(text, sizeof(text), "%sT%02d:%02d:%02dZ", date,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    else if (frac % 1000 == 0)
        snprintf(text, sizeof(text), "%sT%02d:%02d:%02d.%03dZ", date,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                 (int)(frac / 1000));
    else
        snprintf(text, sizeof(text), "%sT%02d:%02d:%02d.%06dZ", date,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                 (int)frac);
    json_object_set_new(rec, key, json_string(text));
}

double cs_import_round(double v)
{
    double r = round(v * 1e10) / 1e10;

    return r == 0 ? 0 : r; /* no -0 */
}

void cs_import_put_cost(json_t *costs, const char *key, double v)
{
    v = cs_import_round(v);
    if (v > 0)
        json_object_set_new(costs, key, json_real(v));
}

void cs_import_put_metric(json_t *rec, const char *name, json_t *value)
{
    json_t *m = json_object_get(rec, "metrics");

    if (!m) {
        m = json_array();
        json_object_set_new(rec, "metrics", m);
    }
    json_array_append_new(m, json_pack("{s:s,s:o}", "name", name, "value",
                                       value));
}

void cs_import_put_turn(json_t *rec, const char *role, const char *text,
                        double start_s, double end_s)
{
    json_t *turns = json_object_get(rec, "turns");
    json_t *t = json_object();

    json_object_set_new(t, "role", json_string(role));
    json_object_set_new(t, "text", json_string(text));
    if (start_s >= 0)
        json_object_set_new(t, "start_s", json_real(cs_import_round(start_s)));
    if (end_s >= 0 && (start_s < 0 || end_s >= start_s))
        json_object_set_new(t, "end_s", json_real(cs_import_round(end_s)));
    json_array_append_new(turns, t);
}

void cs_import_put_tool(json_t *rec, const char *name, int ok,
                        double latency_ms, const char *error)
{
    json_t *a = json_object_get(rec, "tool_calls"), *t;

    if (!a) {
        a = json_array();
        json_object_set_new(rec, "tool_calls", a);
    }
    t = json_pack("{s:s,s:b}", "name", name, "ok", ok);
    if (latency_ms >= 0)
        json_object_set_new(t, "latency_ms",
                            json_real(cs_import_round(latency_ms)));
    if (error)
        json_object_set_new(t, "error", json_string(error));
    json_array_append_new(a, t);
}

void cs_import_put_span(json_t *rec, const char *name, double ms)
{
    json_t *a = json_object_get(rec, "spans");

    if (ms < 0)
        return;
    if (!a) {
        a = json_array();
        json_object_set_new(rec, "spans", a);
    }
    json_array_append_new(a, json_pack("{s:s,s:f}", "name", name,
                                       "duration_ms", cs_import_round(ms)));
}

json_t *cs_import_record_new(void)
{
    json_t *rec = json_object();

    json_object_set_new(rec, "turns", json_array());
    return rec;
}

/* An object with no members (after dropping empty objects inside). */
static int empty_object(json_t *o)
{
    const char *k;
    json_t *v;
    void *tmp;

    if (!json_is_object(o))
        return 0;
    json_object_foreach_safe(o, tmp, k, v) {
        if (json_is_object(v) && empty_object(v))
            json_object_del(o, k);
    }
    return json_object_size(o) == 0;
}

json_t *cs_import_record_done(json_t *rec)
{
    json_t *out = json_object();

    for (int f = 0; f < CS_CONV_N_FIELDS; f++) {
        const char *k = cs_conv_field_name((enum cs_conv_field)f);
        json_t *v = json_object_get(rec, k);

        if (!v || ((f == CS_CONV_COSTS || f == CS_CONV_METADATA) &&
                   empty_object(v)))
            continue;
        json_object_set(out, k, v);
    }
    json_decref(rec);
    return out;
}

int cs_import_starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int cs_import_contains(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

/* Member names that say their value is a secret: containing "secret",
 * "password", "credential", "authorization" or "private_key", or ending
 * in "token", "key" spelled apikey/api_key, "signature" or "signed_url"
 * ("llm_token_usage" is no secret; "access_token" is). */
static int secret_name(const char *k)
{
    static const char *const inside[] = {
        "secret", "password", "passwd", "credential", "authorization",
        "private_key", "privatekey", NULL};
    static const char *const ends[] = {
        "token", "apikey", "api_key", "signature", "signed_url",
        "signedurl", NULL};
    char low[128];
    size_t n = strlen(k);

    if (n >= sizeof(low))
        n = sizeof(low) - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)k[i]);
    low[n] = '\0';
    for (const char *const *p = inside; *p; p++) {
        if (strstr(low, *p))
            return 1;
    }
    for (const char *const *p = ends; *p; p++) {
        size_t m = strlen(*p);

        if (n >= m && strcmp(low + n - m, *p) == 0)
            return 1;
    }
    return 0;
}

/* "+1 (415) 555-0100", "+441632960001", "0044 20 7946 0958": at least 7
 * digits and nothing but digits, spaces and + - ( ) . */
static int looks_like_phone(const char *s)
{
    size_t digits = 0;

    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (!strchr("+-() .", *p))
            return 0;
    }
    return digits >= 7 && digits <= 15 && (s[0] == '+' || digits >= 10);
}

/* A URL with a signature or a token in its query: a capability, kept
 * out like any secret. */
static int signed_url(const char *s)
{
    static const char *const marks[] = {"X-Amz-Signature=", "Signature=",
                                        "signature=", "sig=", "token=",
                                        "X-Goog-Signature=", NULL};
    const char *q;

    if (!cs_import_starts(s, "http://") && !cs_import_starts(s, "https://"))
        return 0;
    q = strchr(s, '?');
    if (!q)
        return 0;
    for (const char *const *m = marks; *m; m++) {
        if (strstr(q, *m))
            return 1;
    }
    return 0;
}

json_t *cs_import_mask_phones(const char *s)
{
    struct cs_buf b = CS_BUF_INIT;
    json_t *j;
    size_t i = 0, n = strlen(s);

    while (i < n) {
        size_t k = i + (s[i] == '+'), digits = 0;

        while (k < n && isdigit((unsigned char)s[k])) {
            k++;
            digits++;
        }
        if (digits >= 7) {
            cs_buf_adds(&b, "[phone]");
            i = k;
        } else {
            cs_buf_addch(&b, s[i]);
            i++;
        }
    }
    j = json_string(b.ptr);
    cs_buf_release(&b);
    return j ? j : json_string("");
}

json_t *cs_import_scrub(const json_t *v)
{
    json_t *out;
    const char *k;
    json_t *x;
    size_t i;

    if (!v)
        return NULL;
    if (json_is_string(v)) {
        if (looks_like_phone(json_string_value(v)) ||
            signed_url(json_string_value(v)))
            return NULL;
        return json_incref((json_t *)v);
    }
    if (json_is_array(v)) {
        out = json_array();
        json_array_foreach(v, i, x) {
            json_t *c = cs_import_scrub(x);

            if (c)
                json_array_append_new(out, c);
        }
        return out;
    }
    if (!json_is_object(v))
        return json_incref((json_t *)v);
    out = json_object();
    json_object_foreach((json_t *)v, k, x) {
        json_t *c;

        if (secret_name(k))
            continue;
        c = cs_import_scrub(x);
        if (c)
            json_object_set_new(out, k, c);
    }
    return out;
}

void cs_import_put_meta(json_t *meta, const char *key, const json_t *v)
{
    json_t *c;

    if (!v || json_is_null(v) || secret_name(key) ||
        (json_is_string(v) && json_string_length(v) == 0))
        return;
    c = cs_import_scrub(v);
    if (c)
        json_object_set_new(meta, key, c);
}

void cs_import_meta_rest(json_t *meta, const json_t *o,
                         const char *const *known)
{
    const char *k;
    json_t *x;

    if (!json_is_object(o))
        return;
    json_object_foreach((json_t *)o, k, x) {
        const char *const *p = known;

        while (*p && strcmp(*p, k) != 0)
            p++;
        if (!*p && !json_object_get(meta, k))
            cs_import_put_meta(meta, k, x);
    }
}

const char *cs_import_tenant(const struct cs_import_opts *o,
                             const char *const *ids, size_t n)
{
    if (o && o->tenant)
        return o->tenant;
    for (size_t i = 0; o && o->tenant_map && i < n; i++) {
        const char *t;

        if (!ids[i])
            continue;
        t = json_string_value(json_object_get(o->tenant_map, ids[i]));
        if (t && *t)
            return t;
    }
    return "default";
}

const char *cs_import_json_why(struct cs_buf *b, const json_error_t *j)
{
    cs_buf_reset(b);
    cs_buf_add_excerpt(b, j->text, strnlen(j->text, sizeof(j->text)),
                       sizeof(j->text));
    return b->ptr;
}
