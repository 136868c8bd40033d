/* alerts.h - alert thresholds: the built-in defaults and config overrides */
#ifndef CS_CONFIG_ALERTS_H
#define CS_CONFIG_ALERTS_H

#include <jansson.h>

/*
 * A rule is {"direction": "below"|"above", "warning": x, "critical": y}
 * under a KPI name or path ("latency_ms.llm.p95"). The built-in rules are
 * the defaults of docs/kpis.md; the config's "alerts" objects (top level,
 * tenants.default, the tenant: see cs_config_tenant) override them key by
 * key, and a rule that is null or false switches that alert off.
 */

/* Number of built-in rules, and rule `i` of them (new object). */
size_t cs_config_alert_default_count(void);
const char *cs_config_alert_default_kpi(size_t i);
json_t *cs_config_alert_default(size_t i);

/*
 * The rules in force under `overrides` (an object of rules, or NULL): the
 * built-in ones with the overrides merged into them. Returns a new object
 * {"<kpi>": rule}; switched-off alerts are absent.
 */
json_t *cs_config_alert_rules(const json_t *overrides);

#endif
