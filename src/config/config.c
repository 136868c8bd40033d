/* config.c - the config file, environment overrides and per-tenant settings */
#include "config/config.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/buf.h"
#include "base/fmt.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/parse.h"
#include "config/alerts.h"
#include "config/schema.h"

/* OPT_BOOL: a JSON boolean, or "1"/"0"/"true"/"false" in the environment
 * (an int field); OPT_DURATION: seconds, from an integer or a string with
 * a unit ("90s", "30m", "24h", "2d"; a long field). */
enum opt_type { OPT_STR, OPT_LONG, OPT_DOUBLE, OPT_BOOL, OPT_DURATION };

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
    const char *choices;    /* OPT_STR: the '|'-separated values allowed */
};

#define F(field) offsetof(struct cs_config, field)

static const struct opt_spec specs[] = {
    {"database_url", "CALLSCOPE_DATABASE_URL", OPT_STR, F(database_url), NULL,
     0, 1, NULL},
    {"data_dir", "CALLSCOPE_DATA_DIR", OPT_STR, F(data_dir), "var", 0, 0,
     NULL},
    {"reports_dir", "CALLSCOPE_REPORTS_DIR", OPT_STR, F(reports_dir),
     "reports", 0, 0, NULL},
    {"rubrics_dir", "CALLSCOPE_RUBRICS_DIR", OPT_STR, F(rubrics_dir),
     "rubrics", 0, 0, NULL},
    {"sentiment_lexicon", NULL, OPT_STR, F(sentiment_lexicon),
     "config/sentiment-lexicon.txt", 0, 0, NULL},
    {"llm.base_url", "CALLSCOPE_LLM_BASE_URL", OPT_STR, F(llm_base_url),
     NULL, 0, 0, NULL},
    {"llm.model", "CALLSCOPE_LLM_MODEL", OPT_STR, F(llm_model),
     "gpt-4o-mini", 0, 0, NULL},
    {"", "CALLSCOPE_LLM_API_KEY", OPT_STR, F(llm_api_key), NULL, 0, 1, NULL},
    {"llm.concurrency", "CALLSCOPE_LLM_CONCURRENCY", OPT_LONG,
     F(llm_concurrency), "16", 1, 0, NULL},
    {"llm.timeout_s", NULL, OPT_LONG, F(llm_timeout_s), "60", 1, 0,
     NULL},
    {"llm.connect_timeout_s", NULL, OPT_LONG, F(llm_connect_timeout_s), "10",
     1, 0, NULL},
    {"llm.max_tries", NULL, OPT_LONG, F(llm_max_tries), "4", 1, 0, NULL},
    {"llm.context_tokens", NULL, OPT_LONG, F(llm_context_tokens), "128000",
     1000, 0, NULL},
    {"llm.price_in_per_1k", NULL, OPT_DOUBLE, F(llm_price_in_per_1k),
     "0.00015", 0, 0, NULL},
    {"llm.price_out_per_1k", NULL, OPT_DOUBLE, F(llm_price_out_per_1k),
     "0.0006", 0, 0, NULL},
    {"llm.price_cached_in_per_1k", NULL, OPT_DOUBLE,
     F(llm_price_cached_in_per_1k), "0.000075", 0, 0, NULL},
    {"llm.batch_price_in_per_1k", NULL, OPT_DOUBLE,
     F(llm_batch_price_in_per_1k), "0.000075", 0, 0, NULL},
    {"llm.batch_price_out_per_1k", NULL, OPT_DOUBLE,
     F(llm_batch_price_out_per_1k), "0.0003", 0, 0, NULL},
    {"llm.batch_price_cached_in_per_1k", NULL, OPT_DOUBLE,
     F(llm_batch_price_cached_in_per_1k), "0.0000375", 0, 0, NULL},
    {"smtp.url", "CALLSCOPE_SMTP_URL", OPT_STR, F(smtp_url), NULL, 0, 0, NULL},
    {"", "CALLSCOPE_SMTP_USER", OPT_STR, F(smtp_user), NULL, 0, 1, NULL},
    {"", "CALLSCOPE_SMTP_PASSWORD", OPT_STR, F(smtp_password), NULL, 0, 1,
     NULL},
    {"mail.from", "CALLSCOPE_MAIL_FROM", OPT_STR, F(mail_from),
     "callscope@localhost", 0, 0, NULL},
    {"mail.tls", "CALLSCOPE_SMTP_TLS", OPT_STR, F(mail_tls), NULL, 0, 0,
     "required|opportunistic|off"},
    {"mail.verify_tls", NULL, OPT_BOOL, F(mail_verify_tls), "true", 0, 0, NULL},
    {"mail.ca_file", NULL, OPT_STR, F(mail_ca_file), NULL, 0, 0, NULL},
    {"mail.max_attachment_bytes", NULL, OPT_LONG,
     F(mail_max_attachment_bytes), "7340032", 0, 0, NULL},
    {"mail.max_tries", NULL, OPT_LONG, F(mail_max_tries), "3", 1, 0, NULL},
    {"mail.backoff_ms", NULL, OPT_LONG, F(mail_backoff_ms), "2000", 0, 0, NULL},
    {"mail.timeout_s", NULL, OPT_LONG, F(mail_timeout_s), "60", 1, 0, NULL},
    {"alerts_webhook_url", "CALLSCOPE_ALERT_WEBHOOK_URL", OPT_STR,
     F(alert_webhook_url), NULL, 0, 1, NULL},
    {"", "CALLSCOPE_RETELL_API_KEY", OPT_STR, F(retell_api_key), NULL, 0, 1,
     NULL},
    {"alerts.resend_after", NULL, OPT_DURATION, F(alerts_resend_after_s),
     "24h", 0, 0, NULL},
    {"alerts.webhook_max_tries", NULL, OPT_LONG, F(alerts_webhook_max_tries),
     "6", 1, 0, NULL},
    {"score.page_size", NULL, OPT_LONG, F(score_page), "500", 1, 0, NULL},
    {"ingest.batch_rows", NULL, OPT_LONG, F(ingest_batch_rows), "5000", 1,
     0, NULL},
    {"ingest.max_line_bytes", NULL, OPT_LONG, F(ingest_max_line_bytes),
     "16777216", 1024, 0, NULL},
    /* Designated, so that a column added to the table leaves these be. */
    {.key = "database.connect_timeout_s",
     .env = "CALLSCOPE_DB_CONNECT_TIMEOUT_S", .type = OPT_LONG,
     .offset = F(db_connect_timeout_s), .def = "10", .min = 2},
    {.key = "database.connect_retry_s", .env = "CALLSCOPE_DB_CONNECT_RETRY_S",
     .type = OPT_LONG, .offset = F(db_connect_retry_s), .def = "30",
     .min = 0},
    {.key = "database.statement_timeout_s",
     .env = "CALLSCOPE_DB_STATEMENT_TIMEOUT_S", .type = OPT_LONG,
     .offset = F(db_statement_timeout_s), .def = "1800", .min = 0},
    {.key = "score.match_limit", .type = OPT_LONG,
     .offset = F(score_match_limit), .def = "10000000", .min = 1000},
    {.key = "score.time_budget_ms", .type = OPT_LONG,
     .offset = F(score_time_budget_ms), .def = "1000", .min = 0},
    {.key = "score.batch", .type = OPT_BOOL, .offset = F(score_batch),
     .def = "false"},
    /* What the Batch API takes in one input file (OpenAI's limits; a
     * provider that takes less is configured lower). */
    {.key = "llm.batch_max_requests", .type = OPT_LONG,
     .offset = F(llm_batch_max_requests), .def = "50000", .min = 1},
    {.key = "llm.batch_max_bytes", .type = OPT_LONG,
     .offset = F(llm_batch_max_bytes), .def = "200000000", .min = 1024},
};

/* The largest value of the few numeric settings that have one (a column
 * of the table would make every entry above name it). */
static const struct {
    const char *key;
    double max;
} maxima[] = {
    {"llm.batch_max_requests", 50000},
    {"llm.batch_max_bytes", 200000000},
};

/* The largest value allowed for setting `key`, or 0: no bound. */
static double max_of(const char *key)
{
    for (size_t i = 0; i < sizeof(maxima) / sizeof(maxima[0]); i++) {
        if (strcmp(maxima[i].key, key) == 0)
            return maxima[i].max;
    }
    return 0;
}

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

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);

    for (const char *p = choices; *p;) {
        size_t w = strcspn(p, "|");

        if (w == n && strncmp(p, v, n) == 0)
            return 1;
        p += w;
        if (*p == '|')
            p++;
    }
    return 0;
}

/* "3600", "90s", "30m", "24h", "2d" to seconds; 0 or -1. */
static int parse_duration(const char *s, long *out)
{
    static const struct {
        char unit;
        long mul;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    char num[32];
    size_t n = strlen(s);
    long v, mul = 1;

    if (n == 0 || n >= sizeof(num))
        return -1;
    memcpy(num, s, n + 1);
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (num[n - 1] == units[i].unit) {
            mul = units[i].mul;
            num[--n] = '\0';
            break;
        }
    }
    if (n == 0 || cs_parse_long(num, &v) < 0 || v < 0 || v > 366L * 86400)
        return -1;
    *out = v * mul;
    return 0;
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
        if (s->choices && !choice_ok(s->choices,
                                     jv ? json_string_value(jv) : text))
            return cs_err_set(err, CS_EINVALID, "%s: '%s': expected one of "
                              "%s, not '%s'", origin,
                              s->env && !jv ? s->env : s->key, s->choices,
                              jv ? json_string_value(jv) : text);
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
        if (max_of(s->key) > 0 && (double)l > max_of(s->key))
            return cs_err_set(err, CS_EINVALID, "%s: '%s': must be <= %.0f",
                              origin, s->env && !jv ? s->env : s->key,
                              max_of(s->key));
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
    case OPT_BOOL:
        if (jv) {
            if (!json_is_boolean(jv))
                return cs_err_set(err, CS_EINVALID, "%s: '%s': expected true "
                                  "or false", origin, s->key);
            *(int *)field = json_is_true(jv);
        } else if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
            *(int *)field = 1;
        } else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
            *(int *)field = 0;
        } else {
            return cs_err_set(err, CS_EINVALID, "%s: '%s': '%s' is not true "
                              "or false", origin, s->env ? s->env : s->key,
                              text);
        }
        return 0;
    case OPT_DURATION:
        if (jv && json_is_integer(jv)) {
            l = (long)json_integer_value(jv);
        } else if (jv && !json_is_string(jv)) {
            return cs_err_set(err, CS_EINVALID, "%s: '%s': expected seconds "
                              "or a string like \"24h\"", origin, s->key);
        } else if (parse_duration(jv ? json_string_value(jv) : text, &l)) {
            return cs_err_set(err, CS_EINVALID, "%s: '%s': '%s' is not a "
                              "duration (like 90s, 30m, 24h, 2d)", origin,
                              s->key, jv ? json_string_value(jv) : text);
        }
        if (l < 0)
            return cs_err_set(err, CS_EINVALID, "%s: '%s': must be >= 0",
                              origin, s->key);
        *(long *)field = l;
        return 0;
    }
    return CS_ERROR;
}

/* An array of addresses (absent or null is fine), each parsed. */
static int check_addresses(json_t *v, const char *origin, const char *key,
                           struct cs_err *err)
{
    struct cs_err why = {0, ""};
    struct cs_addr a;
    size_t i;
    json_t *e;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return cs_err_set(err, CS_EINVALID, "%s: '%s': expected an array of "
                          "addresses", origin, key);
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return cs_err_set(err, CS_EINVALID, "%s: '%s[%zu]': expected a "
                              "string", origin, key, i);
        if (cs_addr_parse(&a, json_string_value(e), &why))
            return cs_err_set(err, CS_EINVALID, "%s: '%s[%zu]': %s", origin,
                              key, i, why.msg);
    }
    return 0;
}

static int check_http_url(const char *u, const char *origin, const char *key,
                          struct cs_err *err)
{
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return cs_err_set(err, CS_EINVALID, "%s: '%s': expected an http:// "
                          "or https:// URL", origin, key);
    if (strpbrk(u, " \r\n\t"))
        return cs_err_set(err, CS_EINVALID, "%s: '%s': the URL contains "
                          "white space", origin, key);
    return 0;
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
        v = json_object_get(t, "retention_days");
        if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
                  json_integer_value(v) > 36500))
            return cs_err_set(err, CS_EINVALID, "%s: 'tenants.%s."
                              "retention_days': expected a whole number of "
                              "days from 1 to 36500", origin, name);
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
        v = json_object_get(t, "timezone");
        if (v) {
            struct cs_err why = {0, ""};

            if (cs_config_tz_check(json_string_value(v), &why))
                return cs_err_set(err, CS_EINVALID, "%s: 'tenants.%s."
                                  "timezone': %s", origin, name, why.msg);
        }
        for (size_t i = 0; i < 2; i++) {
            static const char *const lists[] = {"recipients",
                                                "alert_recipients"};
            struct cs_buf key = CS_BUF_INIT;
            int ret;

            cs_buf_addf(&key, "tenants.%s.%s", name, lists[i]);
            ret = check_addresses(json_object_get(t, lists[i]), origin,
                                  key.ptr, err);
            cs_buf_release(&key);
            if (ret)
                return ret;
        }
        v = json_object_get(t, "alert_webhook_url");
        if (v && !json_is_null(v)) {
            struct cs_buf key = CS_BUF_INIT;
            int ret;

            cs_buf_addf(&key, "tenants.%s.alert_webhook_url", name);
            ret = json_is_string(v)
                      ? check_http_url(json_string_value(v), origin, key.ptr,
                                       err)
                      : cs_err_set(err, CS_EINVALID, "%s: '%s': expected a "
                                   "string", origin, key.ptr);
            cs_buf_release(&key);
            if (ret)
                return ret;
        }
    }
    return 0;
}

/* The settings of mail delivery that must hold together. */
static int check_mail(const struct cs_config *cfg, const char *origin,
                      struct cs_err *err)
{
    struct cs_addr a;
    struct cs_err why = {0, ""};
    const char *u = cfg->smtp_url;
    int ret;

    if (cs_addr_parse(&a, cfg->mail_from, &why))
        return cs_err_set(err, CS_EINVALID, "%s: 'mail.from' "
                          "(CALLSCOPE_MAIL_FROM): %s", origin, why.msg);
    ret = check_addresses(json_object_get(cfg->root, "internal_recipients"),
                          origin, "internal_recipients", err);
    if (ret)
        return ret;
    if (cfg->alert_webhook_url && *cfg->alert_webhook_url) {
        ret = check_http_url(cfg->alert_webhook_url, origin,
                             "alerts_webhook_url (CALLSCOPE_ALERT_WEBHOOK_URL)",
                             err);
        if (ret)
            return ret;
    }
    if (!u || !*u)
        return 0;
    if (strncmp(u, "smtp://", 7) != 0 && strncmp(u, "smtps://", 8) != 0)
        return cs_err_set(err, CS_EINVALID, "%s: 'smtp.url' "
                          "(CALLSCOPE_SMTP_URL): expected smtp://host[:port] "
                          "or smtps://host[:port], not '%s'", origin, u);
    {
        const char *host = strstr(u, "://") + 3;
        size_t n = strcspn(host, "/?#");

        if (memchr(host, '@', n))
            return cs_err_set(err, CS_EINVALID, "%s: 'smtp.url' "
                              "(CALLSCOPE_SMTP_URL): no user or password in "
                              "the URL; they come from CALLSCOPE_SMTP_USER "
                              "and CALLSCOPE_SMTP_PASSWORD", origin);
        if (n == 0)
            return cs_err_set(err, CS_EINVALID, "%s: 'smtp.url' "
                              "(CALLSCOPE_SMTP_URL): no host in '%s'",
                              origin, u);
    }
    if (strncmp(u, "smtps://", 8) == 0 && cfg->mail_tls &&
        strcmp(cfg->mail_tls, "off") == 0)
        return cs_err_set(err, CS_EINVALID, "%s: 'mail.tls' "
                          "(CALLSCOPE_SMTP_TLS) is 'off' but smtps:// always "
                          "uses TLS", origin);
    if (cfg->mail_ca_file && !cs_fs_exists(cfg->mail_ca_file))
        return cs_err_set(err, CS_EINVALID, "%s: 'mail.ca_file': '%s' does "
                          "not exist", origin, cfg->mail_ca_file);
    return 0;
}

/* A string member of the "report" (or "mail") object, or NULL. */
static int section_str(const char **out, json_t *root, const char *section,
                       const char *a, const char *b, const char *origin,
                       struct cs_err *err)
{
    json_t *v = json_object_get(json_object_get(root, section), a);

    if (b)
        v = json_object_get(v, b);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return cs_err_set(err, CS_EINVALID, "%s: '%s.%s%s%s': expected a "
                          "string", origin, section, a, b ? "." : "",
                          b ? b : "");
    *out = json_string_value(v);
    return 0;
}

/* What the reports and mails will read, checked before any work: the
 * page size, the colours' form and the files named (a logo, fonts,
 * templates; the defaults are looked for when a report is made). */
static int check_report(json_t *root, const char *origin,
                        struct cs_err *err)
{
    static const struct {
        const char *section, *a, *b;
    } files[] = {{"report", "logo", NULL},
                 {"report", "fonts", "regular"},
                 {"report", "fonts", "bold"},
                 {"report", "templates", NULL},
                 {"mail", "templates", NULL}};
    json_t *colors = json_object_get(json_object_get(root, "report"),
                                     "colors"), *v;
    const char *page, *name, *path;
    int ret;

    ret = section_str(&page, root, "report", "page_size", NULL, origin, err);
    if (ret)
        return ret;
    if (page && strcmp(page, "A4") != 0 && strcmp(page, "Letter") != 0)
        return cs_err_set(err, CS_EINVALID, "%s: 'report.page_size': "
                          "expected \"A4\" or \"Letter\", not '%s'", origin,
                          page);
    if (colors && !json_is_object(colors))
        return cs_err_set(err, CS_EINVALID, "%s: 'report.colors': expected "
                          "an object of name -> \"#rrggbb\"", origin);
    json_object_foreach(colors, name, v) {
        const char *hex = json_string_value(v);

        if (name[0] == '_')
            continue;
        if (!hex || hex[0] != '#' || strlen(hex) != 7 ||
            strspn(hex + 1, "0123456789abcdefABCDEF") != 6)
            return cs_err_set(err, CS_EINVALID, "%s: 'report.colors.%s': "
                              "expected \"#rrggbb\"", origin, name);
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        ret = section_str(&path, root, files[i].section, files[i].a,
                          files[i].b, origin, err);
        if (ret)
            return ret;
        if (path && !cs_fs_exists(path))
            return cs_err_set(err, CS_EINVALID, "%s: '%s.%s%s%s': '%s' "
                              "does not exist", origin, files[i].section,
                              files[i].a, files[i].b ? "." : "",
                              files[i].b ? files[i].b : "", path);
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
        size_t len = 0;

        ret = cs_fs_read(&cfg->text, &len, path, 16u << 20, err);
        if (ret) {
            ret = cs_err_set(err, CS_EINVALID, "config: %s", err->msg);
            goto done;
        }
        cfg->root = json_loadb(cfg->text, len, JSON_REJECT_DUPLICATES,
                               &jerr);
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
    {
        const char *known[sizeof(specs) / sizeof(specs[0]) + 1];

        for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
            known[i] = specs[i].key;
        known[sizeof(specs) / sizeof(specs[0])] = NULL;
        ret = cs_config_check_keys(cfg->root, known, origin, err);
        if (ret)
            goto done;
    }

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
        ret = check_mail(cfg, origin, err);
    if (!ret)
        ret = check_importers(cfg->root, origin, err);
    if (!ret)
        ret = check_report(cfg->root, origin, err);
    if (!ret && cfg->llm_base_url && *cfg->llm_base_url)
        ret = check_http_url(cfg->llm_base_url,
                             getenv("CALLSCOPE_LLM_BASE_URL") &&
                                     *getenv("CALLSCOPE_LLM_BASE_URL")
                                 ? "environment" : origin,
                             "llm.base_url (CALLSCOPE_LLM_BASE_URL)", err);
    if (ret)
        goto done;
    *out = cfg;
    cfg = NULL;
done:
    if (ret && cfg->path)
        cs_config_locate(err, cfg->path, cfg->text);
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
    free(cfg->text);
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
    out->retention_days = (long)num_or(tenant_get(cfg, tenant,
                                                  "retention_days"), 365);
    v = tenant_get(cfg, tenant, "recipients");
    out->recipients = json_is_array(v) ? v : NULL;
    v = tenant_get(cfg, tenant, "alert_recipients");
    out->alert_recipients = json_is_array(v) ? v : NULL;
    v = tenant_get(cfg, tenant, "alert_webhook_url");
    out->alert_webhook_url = json_is_string(v) && *json_string_value(v)
                                 ? json_string_value(v) : NULL;
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
        } else if (s->type == OPT_LONG || s->type == OPT_DURATION) {
            t = json_integer(*(long *)field);
        } else if (s->type == OPT_BOOL) {
            t = json_boolean(*(int *)field);
        } else {
            t = json_real(*(double *)field);
        }
        json_object_set_new(o, key, t);
    }
    t = json_object_get(cfg->root, "tenants");
    {
        /* A webhook URL carries its token: masked like the global one. */
        json_t *shown = t ? json_deep_copy(t) : json_object(), *e;

        json_object_foreach(shown, name, e) {
            if (json_is_string(json_object_get(e, "alert_webhook_url")))
                json_object_set_new(e, "alert_webhook_url",
                                    json_string("********"));
        }
        json_object_set_new(o, "tenants", shown);
    }
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
