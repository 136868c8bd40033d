/* schema.c - what a config file may hold: keys, time zones, and where */
#include "config/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/suggest.h"

/*
 * The keys read outside the settings table of config.c. A name ending in
 * ".*" takes any member name below it (tenants, vendor ids); "alerts" and
 * "tenants.*.alerts" hold alert rules (a KPI key -> rule), checked by
 * check_rules; "redact" is an array of rules.
 */
static const char *const extra_keys[] = {
    "internal_recipients",
    "redact",
    "importers.tenant_map.*",
    "report.page_size",
    "report.logo",
    "report.fonts.regular",
    "report.fonts.bold",
    "report.templates",
    /* the colour names of report/pdf/canvas.c */
    "report.colors.ink",
    "report.colors.muted",
    "report.colors.good",
    "report.colors.bad",
    "report.colors.warning",
    "report.colors.accent",
    "report.colors.accent_light",
    "mail.templates",
    NULL,
};

/* The members of a tenant's entry (tenants.<id>.<key>). */
static const char *const tenant_keys[] = {
    "timezone",          "currency",
    "display_name",      "currency_symbol",
    "decimal_separator", "thousands_separator",
    "human_cost_per_conversation", "human_hourly_rate",
    "platform_fee",      "retention_days",
    "recipients",        "alert_recipients",
    "alert_webhook_url", "alerts",
    NULL,
};

static const char *const rule_keys[] = {"direction", "warning", "critical",
                                        NULL};
static const char *const redact_keys[] = {"name", "pattern", "replacement",
                                          NULL};

struct keys {
    const char *const *known;   /* the settings table's keys */
    const char *origin;
    struct cs_err *err;
};

static int is_comment(const char *k)
{
    return k[0] == '_';
}

/* Whether `full` ("llm.model") is `prefix` + "." + `name`, or matches a
 * ".*" entry under `prefix`. */
static int names(const char *full, const char *prefix, const char *name)
{
    size_t np = strlen(prefix);

    if (np) {
        if (strncmp(full, prefix, np) != 0 || full[np] != '.')
            return 0;
        full += np + 1;
    }
    return strcmp(full, name) == 0 || strcmp(full, "*") == 0;
}

/* Whether some key lies below `prefix` + "." + `name` (an object). */
static int is_section(const char *full, const char *prefix, const char *name)
{
    struct cs_buf b = CS_BUF_INIT;
    int yes;

    if (*prefix)
        cs_buf_addf(&b, "%s.%s.", prefix, name);
    else
        cs_buf_addf(&b, "%s.", name);
    yes = strncmp(full, b.ptr, b.len) == 0;
    cs_buf_release(&b);
    return yes;
}

typedef void (*each_key_fn)(const char *full, void *ctx);

static void each_key(const struct keys *k, each_key_fn fn, void *ctx)
{
    for (size_t i = 0; k->known[i]; i++) {
        if (*k->known[i])
            fn(k->known[i], ctx);
    }
    for (size_t i = 0; extra_keys[i]; i++)
        fn(extra_keys[i], ctx);
}

struct probe {
    const char *prefix;
    const char *name;
    int leaf, section;
    char sibling[128];          /* the closest key at the same level */
    size_t sibling_dist;
    const char *elsewhere;      /* the same name in another section */
};

static void probe_one(const char *full, void *vp)
{
    struct probe *p = vp;
    size_t np = strlen(p->prefix);
    const char *last = strrchr(full, '.');

    if (names(full, p->prefix, p->name))
        p->leaf = 1;
    if (is_section(full, p->prefix, p->name))
        p->section = 1;
    /* a sibling: the part of `full` after the prefix */
    if (!np || (strncmp(full, p->prefix, np) == 0 && full[np] == '.')) {
        const char *rest = np ? full + np + 1 : full;
        size_t n = strcspn(rest, ".");
        char part[128];

        if (n < sizeof(part) && strncmp(rest, "*", n) != 0) {
            struct cs_suggest s = {p->name, NULL, 0};

            memcpy(part, rest, n);
            part[n] = '\0';
            cs_suggest_try(&s, part);
            if (s.best && (!p->sibling[0] || s.dist < p->sibling_dist)) {
                memcpy(p->sibling, part, n + 1);
                p->sibling_dist = s.dist;
            }
        }
    }
    /* "model" at the top level is 'llm.model' */
    last = last ? last + 1 : full;
    if (strcmp(last, p->name) == 0 && !p->elsewhere)
        p->elsewhere = full;
}

static int unknown(const struct keys *k, const char *prefix,
                   const char *name, const struct probe *p)
{
    struct cs_buf at = CS_BUF_INIT;
    int ret;

    cs_buf_addf(&at, "%s%s%s", prefix, *prefix ? "." : "", name);
    if (p->sibling[0])
        ret = cs_err_set(k->err, CS_EINVALID, "%s: '%s': unknown key; did "
                         "you mean '%s%s%s'?", k->origin, at.ptr, prefix,
                         *prefix ? "." : "", p->sibling);
    else if (p->elsewhere)
        ret = cs_err_set(k->err, CS_EINVALID, "%s: '%s': unknown key; did "
                         "you mean '%s'?", k->origin, at.ptr, p->elsewhere);
    else
        ret = cs_err_set(k->err, CS_EINVALID, "%s: '%s': unknown key (see "
                         "docs/config.md)", k->origin, at.ptr);
    cs_buf_release(&at);
    return ret;
}

/* A fixed list: tenant members, rule members, redact rule members. */
static int check_list(const struct keys *k, const json_t *obj,
                      const char *at, const char *const *list)
{
    const char *name;
    json_t *v;

    json_object_foreach((json_t *)obj, name, v) {
        struct cs_suggest s = {name, NULL, 0};
        int found = 0;

        if (is_comment(name))
            continue;
        for (size_t i = 0; list[i] && !found; i++) {
            found = strcmp(list[i], name) == 0;
            cs_suggest_try(&s, list[i]);
        }
        if (found)
            continue;
        if (s.best)
            return cs_err_set(k->err, CS_EINVALID, "%s: '%s.%s': unknown "
                              "key; did you mean '%s.%s'?", k->origin, at,
                              name, at, s.best);
        return cs_err_set(k->err, CS_EINVALID, "%s: '%s.%s': unknown key "
                          "(see docs/config.md)", k->origin, at, name);
    }
    return 0;
}

/* alerts: KPI key -> {direction, warning, critical}, or null/false to
 * switch a built-in alert off. The KPI keys are checked by the command
 * line against the KPI table (cli/cli.c). */
static int check_rules(const struct keys *k, const json_t *alerts,
                       const char *at, int top)
{
    const char *kpi;
    json_t *rule;

    if (!json_is_object(alerts))
        return cs_err_set(k->err, CS_EINVALID, "%s: '%s': expected an "
                          "object of KPI key -> alert rule", k->origin, at);
    json_object_foreach((json_t *)alerts, kpi, rule) {
        struct cs_buf here = CS_BUF_INIT;
        const json_t *dir, *v;
        int ret = 0;

        if (is_comment(kpi) ||
            (top && (strcmp(kpi, "resend_after") == 0 ||
                     strcmp(kpi, "webhook_max_tries") == 0)))
            continue;
        cs_buf_addf(&here, "%s.%s", at, kpi);
        if (json_is_null(rule) || json_is_false(rule))
            goto next;
        if (!json_is_object(rule)) {
            ret = cs_err_set(k->err, CS_EINVALID, "%s: '%s': expected an "
                             "alert rule {\"direction\", \"warning\", "
                             "\"critical\"}, or null to switch it off",
                             k->origin, here.ptr);
            goto next;
        }
        ret = check_list(k, rule, here.ptr, rule_keys);
        if (ret)
            goto next;
        dir = json_object_get(rule, "direction");
        if (dir && (!json_is_string(dir) ||
                    (strcmp(json_string_value(dir), "above") != 0 &&
                     strcmp(json_string_value(dir), "below") != 0))) {
            ret = cs_err_set(k->err, CS_EINVALID, "%s: '%s.direction': "
                             "expected \"above\" or \"below\"", k->origin,
                             here.ptr);
            goto next;
        }
        for (size_t i = 1; i < 3 && !ret; i++) {
            v = json_object_get(rule, rule_keys[i]);
            if (v && !json_is_null(v) && !json_is_number(v))
                ret = cs_err_set(k->err, CS_EINVALID, "%s: '%s.%s': "
                                 "expected a number", k->origin, here.ptr,
                                 rule_keys[i]);
        }
    next:
        cs_buf_release(&here);
        if (ret)
            return ret;
    }
    return 0;
}

static int check_tenants(const struct keys *k, const json_t *tenants)
{
    const char *name;
    json_t *t;

    if (!json_is_object(tenants))
        return 0;   /* config.c says what is wrong with it */
    json_object_foreach((json_t *)tenants, name, t) {
        struct cs_buf at = CS_BUF_INIT;
        const json_t *alerts;
        int ret = 0;

        if (!json_is_object(t) || is_comment(name))
            continue;
        cs_buf_addf(&at, "tenants.%s", name);
        ret = check_list(k, t, at.ptr, tenant_keys);
        alerts = json_object_get(t, "alerts");
        if (!ret && alerts && !json_is_null(alerts)) {
            cs_buf_adds(&at, ".alerts");
            ret = check_rules(k, alerts, at.ptr, 0);
        }
        cs_buf_release(&at);
        if (ret)
            return ret;
    }
    return 0;
}

static int check_redact(const struct keys *k, const json_t *rules)
{
    size_t i;
    json_t *r;

    if (!json_is_array(rules))
        return 0;   /* redact/ says what is wrong with it */
    json_array_foreach(rules, i, r) {
        char at[32];
        int ret;

        if (!json_is_object(r))
            return cs_err_set(k->err, CS_EINVALID, "%s: 'redact[%zu]': "
                              "expected an object {name, pattern, "
                              "replacement}", k->origin, i);
        snprintf(at, sizeof(at), "redact[%zu]", i);
        ret = check_list(k, r, at, redact_keys);
        if (ret)
            return ret;
    }
    return 0;
}

/* The members of object `obj` found at `prefix` ("" for the root). */
static int check_object(const struct keys *k, const json_t *obj,
                        const char *prefix)
{
    const char *name;
    json_t *v;

    json_object_foreach((json_t *)obj, name, v) {
        struct probe p;
        int ret = 0;

        if (is_comment(name))
            continue;
        if (!*prefix && strcmp(name, "tenants") == 0) {
            ret = check_tenants(k, v);
        } else if (!*prefix && strcmp(name, "alerts") == 0) {
            ret = check_rules(k, v, "alerts", 1);
        } else if (!*prefix && strcmp(name, "redact") == 0) {
            ret = check_redact(k, v);
        } else {
            memset(&p, 0, sizeof(p));
            p.prefix = prefix;
            p.name = name;
            each_key(k, probe_one, &p);
            if (p.section && json_is_object(v)) {
                struct cs_buf sub = CS_BUF_INIT;

                cs_buf_addf(&sub, "%s%s%s", prefix, *prefix ? "." : "",
                            name);
                ret = check_object(k, v, sub.ptr);
                cs_buf_release(&sub);
            } else if (!p.leaf && !p.section) {
                ret = unknown(k, prefix, name, &p);
            }
            /* A leaf holding an object, or a section holding a scalar,
             * is a type error config.c and the readers report. */
        }
        if (ret)
            return ret;
    }
    return 0;
}

int cs_config_check_keys(const json_t *root, const char *const *known,
                         const char *origin, struct cs_err *err)
{
    struct keys k = {known, origin, err};

    return check_object(&k, root, "");
}

/* ---- time zones ---- */

static int offset_ok(const char *s)
{
    /* ±hh:mm, ±hhmm or ±hh; hours up to 15, minutes below 60 */
    size_t n = strlen(s);
    int h, m = 0;

    if ((s[0] != '+' && s[0] != '-') || (n != 3 && n != 5 && n != 6))
        return -1;
    for (size_t i = 1; i < n; i++) {
        if (n == 6 && i == 3 ? s[i] != ':' : (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    h = (s[1] - '0') * 10 + (s[2] - '0');
    if (n > 3)
        m = (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
    return h <= 15 && m < 60 ? 0 : 1;
}

int cs_config_tz_check(const char *tz, struct cs_err *err)
{
    const char *dir = getenv("TZDIR");
    struct cs_buf path = CS_BUF_INIT;
    char *head = NULL;
    size_t len = 0;
    int ret = 0, off;

    if (!tz || !*tz)
        return cs_err_set(err, CS_EINVALID, "an empty time zone");
    if ((strncmp(tz, "UTC", 3) == 0 || strncmp(tz, "GMT", 3) == 0) &&
        (tz[3] == '+' || tz[3] == '-'))
        return cs_err_set(err, CS_EINVALID,
                          "time zone '%s' is ambiguous: write an ISO 8601 "
                          "offset such as '%c%s' (east of UTC positive) "
                          "or a zone name such as 'Europe/Berlin'",
                          tz, tz[3], tz + 4);
    off = offset_ok(tz);
    if (off == 0)
        return 0;
    if (off > 0)
        return cs_err_set(err, CS_EINVALID, "time zone '%s': an offset's "
                          "hours go up to 15 and its minutes below 60", tz);
    if (strlen(tz) > 64 || strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "abcdefghijklmnopqrstuvwxyz"
                                      "0123456789/_+-") != strlen(tz) ||
        tz[0] == '/' || strstr(tz, ".."))
        return cs_err_set(err, CS_EINVALID, "unknown time zone '%s': "
                          "expected a zone name such as 'Europe/Berlin' or "
                          "an ISO 8601 offset such as '+05:45'", tz);
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    if (!cs_fs_exists(dir))
        return 0;   /* no tz database here: the server's is the judge */
    cs_buf_addf(&path, "%s/%s", dir, tz);
    /* A zone file starts with "TZif"; a folder ("America") is none. */
    if (cs_fs_read(&head, &len, path.ptr, 1 << 20, NULL) || len < 4 ||
        memcmp(head, "TZif", 4) != 0)
        ret = cs_err_set(err, CS_EINVALID, "unknown time zone '%s' (not in "
                         "the tz database, %s): expected a zone name such "
                         "as 'Europe/Berlin' or an ISO 8601 offset such as "
                         "'+05:45'", tz, dir);
    free(head);
    cs_buf_release(&path);
    return ret;
}

/* ---- where a key is ---- */

struct scan {
    const char *p;
    int line;
    const char *want;
    int found;
};

static void skip_ws(struct scan *s)
{
    while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
           *s->p == '\r') {
        if (*s->p == '\n')
            s->line++;
        s->p++;
    }
}

/* A string at s->p (its opening quote); its text, roughly unescaped (a
 * \uXXXX stays as written), appended to `out` when not NULL. */
static void scan_string(struct scan *s, struct cs_buf *out)
{
    s->p++;
    while (*s->p && *s->p != '"') {
        if (*s->p == '\\' && s->p[1]) {
            char c = s->p[1];

            if (out)
                cs_buf_addch(out, c == 'n' ? '\n' : c == 't' ? '\t' : c);
            s->p += 2;
            continue;
        }
        if (out)
            cs_buf_addch(out, *s->p);
        s->p++;
    }
    if (*s->p == '"')
        s->p++;
}

static void scan_value(struct scan *s, struct cs_buf *path);

static void scan_member(struct scan *s, struct cs_buf *path, size_t keep,
                        int line)
{
    if (!s->found && strcmp(path->ptr, s->want) == 0)
        s->found = line;
    scan_value(s, path);
    path->len = keep;
    path->ptr[keep] = '\0';
}

static void scan_value(struct scan *s, struct cs_buf *path)
{
    size_t keep = path->len;

    skip_ws(s);
    if (*s->p == '{') {
        s->p++;
        for (;;) {
            int line;

            skip_ws(s);
            if (*s->p != '"')
                break;
            line = s->line;
            if (keep)
                cs_buf_addch(path, '.');
            scan_string(s, path);
            skip_ws(s);
            if (*s->p == ':')
                s->p++;
            scan_member(s, path, keep, line);
            skip_ws(s);
            if (*s->p != ',')
                break;
            s->p++;
        }
        if (*s->p == '}')
            s->p++;
    } else if (*s->p == '[') {
        s->p++;
        for (size_t i = 0;; i++) {
            skip_ws(s);
            if (*s->p == ']' || !*s->p)
                break;
            cs_buf_addf(path, "[%zu]", i);
            scan_member(s, path, keep, s->line);
            skip_ws(s);
            if (*s->p != ',')
                break;
            s->p++;
        }
        if (*s->p == ']')
            s->p++;
    } else if (*s->p == '"') {
        scan_string(s, NULL);
    } else {
        while (*s->p && !strchr(",]} \t\r\n", *s->p))
            s->p++;
    }
}

int cs_config_key_line(const char *text, const char *dotted)
{
    struct scan s = {text, 1, dotted, 0};
    struct cs_buf path = CS_BUF_INIT;

    if (!text || !dotted || !*dotted)
        return 0;
    cs_buf_adds(&path, "");
    scan_value(&s, &path);
    cs_buf_release(&path);
    return s.found;
}

void cs_config_locate(struct cs_err *err, const char *path,
                      const char *text)
{
    size_t np;
    const char *key, *end;
    struct cs_buf k = CS_BUF_INIT, msg = CS_BUF_INIT;
    int line;

    if (!path || !text)
        return;
    np = strlen(path);
    if (strncmp(err->msg, path, np) != 0 ||
        strncmp(err->msg + np, ": '", 3) != 0)
        return;
    key = err->msg + np + 3;
    end = key + strcspn(key, "' ");
    if (!*end)
        return;
    cs_buf_add(&k, key, (size_t)(end - key));
    /* 'mail.from' (CALLSCOPE_MAIL_FROM): the key is before the blank */
    line = cs_config_key_line(text, k.ptr);
    if (line > 0) {
        cs_buf_addf(&msg, "%s:%d%s", path, line, err->msg + np);
        cs_err_set(err, err->code, "%s", msg.ptr);
    }
    cs_buf_release(&k);
    cs_buf_release(&msg);
}
