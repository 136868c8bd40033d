/* schema.h - what a config file may hold: keys, time zones, and where */
#ifndef CS_CONFIG_SCHEMA_H
#define CS_CONFIG_SCHEMA_H

#include <jansson.h>

#include "base/err.h"

/*
 * The checks cs_config_load runs before any work, so that a typo fails
 * the command at once (exit 3) instead of being ignored or found after
 * ingest and scoring.
 *
 * cs_config_check_keys: every key of `root` must be one callscope reads:
 * `known` lists the settings of the table in config.c (dotted, NULL-
 * terminated), the rest (tenants, alerts, report, redact, importers,
 * mail.templates) is described here. An unknown key is CS_EINVALID:
 * "config/callscope.json: 'llm.modle': unknown key; did you mean
 * 'llm.model'?". Keys starting with '_' are comments ("_comment") and
 * are skipped, whatever they hold.
 */
int cs_config_check_keys(const json_t *root, const char *const *known,
                         const char *origin, struct cs_err *err);

/*
 * A time zone as callscope accepts it: an ISO 8601 offset ("+05:45",
 * "-08", "+0530"; east of UTC positive, at most 15:59) or a name of the
 * IANA tz database ("Europe/Berlin", "UTC"), looked up in $TZDIR or
 * /usr/share/zoneinfo (when neither folder exists the name is left to the
 * database server to judge). "UTC+2" is refused as ambiguous. 0 or
 * CS_EINVALID with the reason (no key, no file: the caller adds them).
 */
int cs_config_tz_check(const char *tz, struct cs_err *err);

/*
 * The line of the file `text` (valid JSON) where the member at `dotted`
 * ("tenants.acme.timezone", "redact[1].pattern") starts, or 0 when there
 * is none. A key holding dots is found too: the path's parts are compared
 * joined.
 */
int cs_config_key_line(const char *text, const char *dotted);

/*
 * Adds the line to a message of the form "<path>: '<key>...": it becomes
 * "<path>:<line>: '<key>...", when `text` (the file's) holds that key.
 * Other messages are left as they are.
 */
void cs_config_locate(struct cs_err *err, const char *path,
                      const char *text);

#endif
