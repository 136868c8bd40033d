/* alerts.c - alert thresholds: the built-in defaults and config overrides */
#include "config/alerts.h"

static const struct alert_default {
    const char *kpi;
    const char *direction;
    double warning;
    double critical;
} alert_defaults[] = {
    {"answer_rate", "below", 0.95, 0.90},
    {"abandonment_rate", "above", 0.05, 0.10},
    {"error_rate", "above", 0.01, 0.05},
    {"connector_success_rate", "below", 0.98, 0.95},
    {"latency_ms.llm.p95", "above", 800, 1200},
};

#define N_DEFAULTS (sizeof(alert_defaults) / sizeof(*alert_defaults))

size_t cs_config_alert_default_count(void)
{
    return N_DEFAULTS;
}

const char *cs_config_alert_default_kpi(size_t i)
{
    return i < N_DEFAULTS ? alert_defaults[i].kpi : NULL;
}

json_t *cs_config_alert_default(size_t i)
{
    const struct alert_default *d = &alert_defaults[i];

    return json_pack("{s:s,s:f,s:f}", "direction", d->direction, "warning",
                     d->warning, "critical", d->critical);
}

json_t *cs_config_alert_rules(const json_t *overrides)
{
    json_t *rules = json_object(), *rule;
    const char *kpi;

    for (size_t i = 0; i < N_DEFAULTS; i++)
        json_object_set_new(rules, alert_defaults[i].kpi,
                            cs_config_alert_default(i));
    if (json_is_object(overrides)) {
        json_object_foreach((json_t *)overrides, kpi, rule) {
            json_t *cur = json_object_get(rules, kpi);

            if (json_is_object(cur) && json_is_object(rule))
                json_object_update(cur, rule);
            else if (json_is_object(rule))
                json_object_set_new(rules, kpi, json_deep_copy(rule));
            else if (json_is_null(rule) || json_is_false(rule))
                json_object_del(rules, kpi); /* alert switched off */
        }
    }
    return rules;
}
