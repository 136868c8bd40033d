/* render.h - the report renderers, registered in one table */
#ifndef CS_REPORT_RENDER_H
#define CS_REPORT_RENDER_H

#include <stdio.h>

#include "base/err.h"
#include "report/model.h"

/*
 * A renderer writes a report in one format. Stream renderers (json, csv,
 * txt) write to a FILE; file renderers (xlsx; pdf later) write a path.
 * Every write is checked: a full disk is an error (CS_EIO naming the
 * file), never a silent truncation.
 *
 *     const struct cs_renderer *r = cs_render_find("csv");
 *     ret = cs_render_file(r, report, "reports/x/kpis.csv", &err);
 */

typedef int (*cs_render_stream_fn)(const struct cs_report *r, FILE *out,
                                   struct cs_err *err);
typedef int (*cs_render_path_fn)(const struct cs_report *r,
                                 const char *path, struct cs_err *err);

struct cs_renderer {
    const char *name;       /* "json" */
    const char *ext;        /* file extension */
    cs_render_stream_fn stream; /* or NULL */
    cs_render_path_fn path;     /* or NULL */
};

/* The renderer called `name`, or NULL. */
const struct cs_renderer *cs_render_find(const char *name);

/* Writes the report to `path` through a temporary file renamed into
 * place, so a reader never sees a half-written file and a failed write
 * leaves an earlier file as it was. */
int cs_render_file(const struct cs_renderer *rd, const struct cs_report *r,
                   const char *path, struct cs_err *err);

/* Writes a stream renderer's output to `out` (stdout), checking it. */
int cs_render_stream(const struct cs_renderer *rd, const struct cs_report *r,
                     FILE *out, const char *what, struct cs_err *err);

/* One alert as the JSON output writes it: {"kpi", "value", "level",
 * "threshold", "direction"} (new). */
struct json_t;
struct json_t *cs_render_alert_json(const struct cs_alert *a);

/* The movers of a report (kpi/movers.h) as "json", "csv" or a table
 * ("txt"): significant ones in the table, every tested one in JSON and
 * CSV, with test, p-value, effect, n and the conversations behind. */
int cs_render_movers(const struct cs_report *r, const char *format,
                     FILE *out, struct cs_err *err);
/* "good", "bad", "neutral". */
const char *cs_tone_name(enum cs_tone t);

/* The renderers. */
int cs_render_json(const struct cs_report *r, FILE *out, struct cs_err *err);
int cs_render_csv(const struct cs_report *r, FILE *out, struct cs_err *err);
int cs_render_txt(const struct cs_report *r, FILE *out, struct cs_err *err);
/* The client workbook of a report's only tenant (docs/xlsx.md); its
 * Conversations sheet streams the tenant's row source (t->conv). */
int cs_render_xlsx(const struct cs_report *r, const char *path,
                   struct cs_err *err);

#endif
