/* config.c - the config file, environment overrides and per-tenant settings */
#include "config/config.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/fmt.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/parse.h"
#include "config/alerts.h"

enum opt_type { OPT_STR, OPT_LONG, OPT_DOUBLE };

/*
 * The settings table: the key path in the file ("" when the setting comes
 * only from the environment, as secrets do), the variable that overrides
 * it, the field, the default and the smallest allowed number.
 */
struct opt_spec {
    const char *key;
    const char *env;
    enum opt_type type;
    size_t offset;
    const char *def;
    double min;
    int secret;
};

#define F(field) offsetof(struct cs_config, field)

static const struct opt_spec specs[] = {
    {"database_url", "CALLSCOPE_DATABASE_URL", OPT_STR, F(database_url), NULL,
     0, 1},
    {"data_dir", "CALLSCOPE_DATA_DIR", OPT_STR, F(data_dir), "var", 0, 0},
    {"reports_dir", "CALLSCOPE_REPORTS_DIR", OPT_STR, F(reports_dir),
     "reports", 0, 0},
    {"rubrics_dir", "CALLSCOPE_RUBRICS_DIR", OPT_STR, F(rubrics_dir),
     "rubrics", 0, 0},
    {"sentiment_lexicon", NULL, OPT_STR, F(sentiment_lexicon),
     "config/sentiment-lexicon.txt", 0, 0},
    {"llm.base_url", "CALLSCOPE_LLM_BASE_URL", OPT_STR, F(llm_base_url),
     NULL, 0, 0},
    {"llm.model", "CALLSCOPE_LLM_MODEL", OPT_STR, F(llm_model),
     "gpt-4o-mini", 0, 0},
    {"", "CALLSCOPE_LLM_API_KEY", OPT_STR, F(llm_api_key), NULL, 0, 1},
    {"llm.concurrency", "CALLSCOPE_LLM_CONCURRENCY", OPT_LONG,
     F(llm_concurrency), "16", 1, 0},
    {"llm.timeout_s", NULL, OPT_LONG, F(llm_timeout_s), "60", 1, 0},
    {"llm.connect_timeout_s", NULL, OPT_LONG, F(llm_connect_timeout_s), "10",
     1, 0},
    {"llm.max_tries", NULL, OPT_LONG, F(llm_max_tries), "4", 1, 0},
    {"llm.context_tokens", NULL, OPT_LONG, F(llm_context_tokens), "128000",
     1000, 0},
    {"llm.price_in_per_1k", NULL, OPT_DOUBLE, F(llm_price_in_per_1k),
     "0.00015", 0, 0},
    {"llm.price_out_per_1k", NULL, OPT_DOUBLE, F(llm_price_out_per_1k),
     "0.0006", 0, 0},
    {"smtp.url", "CALLSCOPE_SMTP_URL", OPT_STR, F(smtp_url), NULL, 0, 0},
    {"", "CALLSCOPE_SMTP_USER", OPT_STR, F(smtp_user), NULL, 0, 1},
    {"", "CALLSCOPE_SMTP_PASSWORD", OPT_STR, F(smtp_password), NULL, 0, 1},
    {"mail.from", "CALLSCOPE_MAIL_FROM", OPT_STR, F(mail_from),
     "callscope@localhost", 0, 0},
    {"alerts_webhook_url", "CALLSCOPE_ALERT_WEBHOOK_URL", OPT_STR,
     F(alert_webhook_url), NULL, 0, 1},
    {"", "CALLSCOPE_RETELL_API_KEY", OPT_STR, F(retell_api_key), NULL, 0, 1},
    {"score.page_size", NULL, OPT_LONG, F(score_page), "500", 1, 0},
    {"ingest.batch_rows", NULL, OPT_LONG, F(ingest_batch_rows), "5000", 1,
     0},
    {"ingest.max_line_bytes", NULL, OPT_LONG, F(ingest_max_line_bytes),
     "16777216", 1024, 0},
};

/* Finds "a.b" in the file; NULL when absent. */
static json_t *lookup(json_t *root, const char *key)
{
    const char *dot = strchr(key, '.');
    char head[64];
    json_t *v;

    if (!dot)
        return json_object_get(root, key);
    snprintf(head, sizeof(head), "%.*s", (int)(dot - key), key);
    v = json_object_get(root, head);
    return json_is_object(v) ? json_object_get(v, dot + 1) : NULL;
}

static int set_value(struct cs_config *cfg, const struct opt_spec *s,
                     const char *text, json_t *jv, const char *origin,
                     struct cs_err *err)
{
    char *field = (char *)cfg + s->offset;
    double d;
    long l;

    switch (s->type) {
    case OPT_STR:
        if (jv && !json_is_string(jv))
            return cs_err_set(err, CS_EINVALID, "%s: '%s': expected a string",
                              origin, s->key);
        free(*(char **)field);
        *(char **)field = cs_xstrdup(jv ? json_string_value(jv) : text);
        return 0;
    case OPT_LONG:
        if (jv) {
            if (!json_is_integer(jv))
                return cs_err_set(err, CS_EINVALID,
                                  "%s: '%s': expected an integer", origin,
                                  s->key);
            l = (long)json_integer_value(jv);
        } else if (cs_parse_long(text, &l) < 0) {
            return cs_err_set(err, CS_EINVALID,
                              "%s: '%s': '%s' is not an integer", origin,
                              s->env ? s->env : s->key, text);
        }
        if ((double)l < s->min)
            return cs_err_set(err, CS_EINVALID, "%s: '%s': must be >= %g",
                              origin, s->env && !jv ? s->env : s->key,
                              s->min);
        *(long *)field = l;
        return 0;
    case OPT_DOUBLE:
        if (jv) {
            if (!json_is_number(jv))
                return cs_err_set(err, CS_EINVALID,
                                  "%s: '%s': expected a number", origin,
                                  s->key);
            d = json_number_value(jv);
        } else if (cs_parse_double(text, &d) < 0) {
            return cs_err_set(err, CS_EINVALID,
                              "%s: '%s': '%s' is not a number", origin,
                              s->env ? s->env : s->key, text);
        }
        if (d < s->min)
            return cs_err_set(err, CS_EINVALID, "%s: '%s': must be >= %g",
                              origin, s->key, s->min);
        *(double *)field = d;
        return 0;
    }
    return CS_ERROR;
}

/* Checks the per-tenant entries once, so reports never meet a bad one. */
static int check_tenants(json_t *root, const char *origin,
                         struct cs_err *err)
{
    json_t *tenants = json_object_get(root, "tenants"), *t;
    const char *name;

    if (!tenants)
        return 0;
    if (!json_is_object(tenants))
        return cs_err_set(err, CS_EINVALID, "%s: 'tenants': expected an "
                          "object", origin);
    json_object_foreach(tenants, name, t) {
        static const char *const nums[] = {"human_cost_per_conversation",
                                           "human_hourly_rate",
                                           "platform_fee", NULL};
        json_t *v;

        if (!json_is_object(t))
            return cs_err_set(err, CS_EINVALID, "%s: 'tenants.%s': expected "
                              "an object", origin, name);
        for (const char *const *k = nums; *k; k++) {
            v = json_object_get(t, *k);
            if (v && (!json_is_number(v) || json_number_value(v) < 0))
                return cs_err_set(err, CS_EINVALID, "%s: 'tenants.%s.%s': "
                                  "expected a number >= 0", origin, name, *k);
        }
        /* Strings, with the byte limits the report model keeps. */
        static const struct {
            const char *key;
            size_t max;
        } strs[] = {{"timezone", 256},         {"display_name", 1024},
                    {"currency", 7},           {"currency_symbol", 15},
                    {"decimal_separator", 7}, {"thousands_separator", 7}};
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
            v = json_object_get(t, strs[i].key);
            if (v && (!json_is_string(v) ||
                      strlen(json_string_value(v)) > strs[i].max))
                return cs_err_set(err, CS_EINVALID, "%s: 'tenants.%s.%s': "
                                  "expected a string of at most %zu bytes",
                                  origin, name, strs[i].key, strs[i].max);
        }
        v = json_object_get(t, "recipients");
        if (v && !json_is_array(v))
            return cs_err_set(err, CS_EINVALID, "%s: 'tenants.%s.recipients'"
                              ": expected an array of addresses", origin,
                              name);
    }
    return 0;
}

/* importers.tenant_map: vendor id -> tenant, each a tenant id. */
static int check_importers(json_t *root, const char *origin,
                           struct cs_err *err)
{
    json_t *imp = json_object_get(root, "importers"), *map, *t;
    const char *id;

    if (!imp)
        return 0;
    if (!json_is_object(imp))
        return cs_err_set(err, CS_EINVALID, "%s: 'importers': expected an "
                          "object", origin);
    map = json_object_get(imp, "tenant_map");
    if (map && !json_is_object(map))
        return cs_err_set(err, CS_EINVALID, "%s: 'importers.tenant_map': "
                          "expected an object of vendor id -> tenant",
                          origin);
    json_object_foreach(map, id, t) {
        if (!json_is_string(t) || json_string_length(t) == 0 ||
            json_string_length(t) > 128)
            return cs_err_set(err, CS_EINVALID, "%s: 'importers.tenant_map."
                              "%.80s': expected a tenant (a string of 1 to "
                              "128 bytes)", origin, id);
    }
    return 0;
}

int cs_config_load(struct cs_config **out, const char *path,
                   struct cs_err *err)
{
    struct cs_config *cfg = cs_xcalloc(1, sizeof(*cfg));
    const char *origin;
    json_error_t jerr;
    int explicit = path != NULL, ret = 0;

    *out = NULL;
    if (!path && getenv("CALLSCOPE_CONFIG") && *getenv("CALLSCOPE_CONFIG")) {
        path = getenv("CALLSCOPE_CONFIG");
        explicit = 1;
    }
    if (!path)
        path = "config/callscope.json";
    if (cs_fs_exists(path)) {
        cfg->root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!cfg->root) {
            ret = cs_err_set(err, CS_EINVALID, "%s:%d:%d: %s", path,
                             jerr.line, jerr.column, jerr.text);
            goto done;
        }
        if (!json_is_object(cfg->root)) {
            ret = cs_err_set(err, CS_EINVALID, "%s: expected a JSON object",
                             path);
            goto done;
        }
        cfg->path = cs_xstrdup(path);
    } else if (explicit) {
        ret = cs_err_set(err, CS_ENOTFOUND, "config file '%s' not found",
                         path);
        goto done;
    } else {
        cfg->root = json_object();
    }
    origin = cfg->path ? cfg->path : "defaults";

    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const struct opt_spec *s = &specs[i];
        const char *env = s->env ? getenv(s->env) : NULL;
        json_t *jv = *s->key ? lookup(cfg->root, s->key) : NULL;

        if (s->def) {
            ret = set_value(cfg, s, s->def, NULL, "defaults", err);
            if (ret)
                goto done;
        }
        if (jv && !json_is_null(jv)) {
            if (s->secret && s->env && !*s->key)
                continue;
            ret = set_value(cfg, s, NULL, jv, origin, err);
            if (ret)
                goto done;
        }
        if (env && *env) {
            ret = set_value(cfg, s, env, NULL, "environment", err);
            if (ret)
                goto done;
        }
    }
    if (!cfg->llm_api_key && getenv("OPENAI_API_KEY") &&
        *getenv("OPENAI_API_KEY"))
        cfg->llm_api_key = cs_xstrdup(getenv("OPENAI_API_KEY"));
    ret = check_tenants(cfg->root, origin, err);
    if (!ret)
        ret = check_importers(cfg->root, origin, err);
    if (ret)
        goto done;
    *out = cfg;
    cfg = NULL;
done:
    cs_config_free(cfg);
    return ret;
}

void cs_config_free(struct cs_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        if (specs[i].type == OPT_STR)
            free(*(char **)((char *)cfg + specs[i].offset));
    }
    free(cfg->path);
    json_decref(cfg->root);
    free(cfg);
}

/* The value of `key` for a tenant: its entry, else "default", else NULL. */
static json_t *tenant_get(const struct cs_config *cfg, const char *tenant,
                          const char *key)
{
    json_t *tenants = json_object_get(cfg->root, "tenants");
    json_t *v = json_object_get(json_object_get(tenants, tenant), key);

    if (!v)
        v = json_object_get(json_object_get(tenants, "default"), key);
    return v;
}

static double num_or(json_t *v, double def)
{
    return json_is_number(v) ? json_number_value(v) : def;
}

/* Merges alert overrides (top level, default tenant, the tenant). */
static void merge_alerts(json_t *into, json_t *src)
{
    const char *k;
    json_t *v;

    if (!json_is_object(src))
        return;
    json_object_foreach(src, k, v) {
        json_t *cur = json_object_get(into, k);

        if (json_is_object(cur) && json_is_object(v))
            json_object_update(cur, v);
        else
            json_object_set_new(into, k, json_deep_copy(v));
    }
}

/* The usual symbol of a few currencies; others show their code. */
static const char *currency_symbol(const char *code)
{
    static const char *const known[][2] = {
        {"USD", "$"}, {"EUR", "\xe2\x82\xac"}, {"GBP", "\xc2\xa3"},
        {"JPY", "\xc2\xa5"}, {"INR", "\xe2\x82\xb9"}, {"CAD", "CA$"},
        {"AUD", "A$"}, {"NZD", "NZ$"}};

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(code, known[i][0]) == 0)
            return known[i][1];
    }
    return "";
}

int cs_config_tenant(struct cs_tenant_cfg *out, const struct cs_config *cfg,
                     const char *tenant, struct cs_err *err)
{
    json_t *tenants = json_object_get(cfg->root, "tenants");
    json_t *v;

    (void)err;
    memset(out, 0, sizeof(*out));
    out->name = tenant;
    v = tenant_get(cfg, tenant, "timezone");
    out->timezone = json_is_string(v) ? json_string_value(v) : "UTC";
    v = tenant_get(cfg, tenant, "currency");
    out->currency = json_is_string(v) ? json_string_value(v) : "USD";
    v = json_object_get(json_object_get(tenants, tenant), "display_name");
    out->display_name = json_is_string(v) ? json_string_value(v) : NULL;
    v = tenant_get(cfg, tenant, "currency_symbol");
    out->currency_symbol = json_is_string(v) ? json_string_value(v)
                                             : currency_symbol(out->currency);
    v = tenant_get(cfg, tenant, "decimal_separator");
    out->decimal_separator = json_is_string(v) ? json_string_value(v) : ".";
    v = tenant_get(cfg, tenant, "thousands_separator");
    out->thousands_separator = json_is_string(v) ? json_string_value(v)
                                                 : ",";
    out->human_cost_per_conversation =
        num_or(tenant_get(cfg, tenant, "human_cost_per_conversation"), NAN);
    out->human_hourly_rate =
        num_or(tenant_get(cfg, tenant, "human_hourly_rate"), NAN);
    /* A tenant's own rate beats an inherited per-conversation cost. */
    if (json_object_get(json_object_get(tenants, tenant),
                        "human_hourly_rate") &&
        !json_object_get(json_object_get(tenants, tenant),
                         "human_cost_per_conversation"))
        out->human_cost_per_conversation = NAN;
    out->platform_fee = num_or(tenant_get(cfg, tenant, "platform_fee"), 0);
    v = tenant_get(cfg, tenant, "recipients");
    out->recipients = json_is_array(v) ? v : NULL;
    out->alerts = json_object();
    merge_alerts(out->alerts, json_object_get(cfg->root, "alerts"));
    merge_alerts(out->alerts,
                 json_object_get(json_object_get(tenants, "default"),
                                 "alerts"));
    if (strcmp(tenant, "default") != 0)
        merge_alerts(out->alerts,
                     json_object_get(json_object_get(tenants, tenant),
                                     "alerts"));
    return 0;
}

void cs_tenant_cfg_release(struct cs_tenant_cfg *t)
{
    json_decref(t->alerts);
    t->alerts = NULL;
}

/* The alert rules in force for one tenant, each marked with its source,
 * null for a built-in alert switched off. New. */
static json_t *shown_alerts(const struct cs_config *cfg, const char *tenant)
{
    struct cs_tenant_cfg t;
    json_t *rules, *shown = json_object(), *rule;
    const char *kpi;

    cs_config_tenant(&t, cfg, tenant, NULL);
    rules = cs_config_alert_rules(t.alerts);
    for (size_t i = 0; i < cs_config_alert_default_count(); i++) {
        kpi = cs_config_alert_default_kpi(i);
        if (!json_object_get(rules, kpi))
            json_object_set_new(shown, kpi, json_null());
    }
    json_object_foreach(rules, kpi, rule) {
        json_t *r = json_deep_copy(rule);

        json_object_set_new(r, "source", json_string(
            json_object_get(t.alerts, kpi) ? "config" : "default"));
        json_object_set_new(shown, kpi, r);
    }
    json_decref(rules);
    cs_tenant_cfg_release(&t);
    return shown;
}

int cs_config_show(const struct cs_config *cfg, FILE *out)
{
    json_t *o = json_object(), *t, *alerts, *by_tenant = json_object(), *v;
    const char *name;
    int ret;

    json_object_set_new(o, "config_file",
                        cfg->path ? json_string(cfg->path) : json_null());
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const struct opt_spec *s = &specs[i];
        const char *key = *s->key ? s->key : s->env;
        void *field = (char *)cfg + s->offset;

        if (s->type == OPT_STR) {
            const char *sv = *(char **)field;

            if (!sv)
                t = json_null();
            else if (s->secret)
                t = json_string("********");
            else
                t = json_string(sv);
        } else if (s->type == OPT_LONG) {
            t = json_integer(*(long *)field);
        } else {
            t = json_real(*(double *)field);
        }
        json_object_set_new(o, key, t);
    }
    t = json_object_get(cfg->root, "tenants");
    json_object_set_new(o, "tenants", t ? json_deep_copy(t) : json_object());
    /* Thresholds in force: the built-in defaults merged with the config,
     * for the tenants not listed, then for each listed tenant whose
     * thresholds differ from those. */
    alerts = shown_alerts(cfg, "default");
    json_object_foreach(t, name, v) {
        json_t *mine;

        if (strcmp(name, "default") == 0)
            continue;
        mine = shown_alerts(cfg, name);
        if (json_equal(mine, alerts))
            json_decref(mine);
        else
            json_object_set_new(by_tenant, name, mine);
    }
    json_object_set_new(o, "alerts", alerts);
    json_object_set_new(o, "alerts_by_tenant", by_tenant);
    ret = cs_fmt_json_dumpf(o, out, JSON_INDENT(2));
    if (!ret && fputc('\n', out) == EOF)
        ret = CS_EIO;
    json_decref(o);
    return ret;
}
