/* csv.c - the CSV rendering of a report: one row per KPI and group */
#include <math.h>

#include "base/csv.h"
#include "base/fmt.h"
#include "report/format.h"
#include "report/render.h"

/*
 * Columns: tenant, group (a day or an agent; empty for the whole period),
 * kpi (its JSON path), label, unit, value, then per comparison its value
 * and the change, and the kind of change (points: percentage points;
 * relative: a fraction, 0.124 = +12.4 %; absolute: in the KPI's unit).
 * Numbers are plain (a rate is a fraction) in their shortest exact form;
 * null is an empty field. Text from data is neutralised against formulas.
 */
static const char header[] =
    "tenant,group,kpi,label,unit,value,previous,previous_change,"
    "same_weekday_last_week,same_weekday_last_week_change,change_kind\n";

/* ",<shortest exact text>", or "," for null. */
static void num(FILE *out, double v)
{
    char text[CS_FMT_DOUBLE_SIZE];

    fputc(',', out);
    if (!isnan(v)) {
        cs_fmt_double_shortest(text, v);
        fputs(text, out);
    }
}

static void rows(FILE *out, const char *tenant, const char *group,
                 const struct cs_kpi_row *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cs_csv_text(out, tenant);
        fputc(',', out);
        cs_csv_text(out, group);
        fputc(',', out);
        cs_csv_text(out, r[i].key);
        fputc(',', out);
        cs_csv_text(out, r[i].label);
        fputc(',', out);
        fputs(cs_unit_name(r[i].unit), out);
        num(out, r[i].value);
        for (int c = 0; c < CS_CMP__COUNT; c++) {
            num(out, r[i].cmp[c].value);
            num(out, r[i].cmp[c].change);
        }
        fputc(',', out);
        fputs(cs_change_kind_name(cs_change_kind_for(r[i].unit)), out);
        fputc('\n', out);
    }
}

int cs_render_csv(const struct cs_report *r, FILE *out, struct cs_err *err)
{
    (void)err;
    fputs(header, out);
    for (size_t i = 0; i < r->n_tenants; i++) {
        const struct cs_report_tenant *t = &r->tenants[i];

        rows(out, t->name, "", t->rows, t->n_rows);
        for (size_t g = 0; g < t->n_groups; g++) {
            struct cs_kpi_row *gr = NULL;
            size_t n = 0;

            cs_kpi_rows_build(&gr, &n, &t->groups[g], NULL);
            rows(out, t->name, t->groups[g].group, gr, n);
            cs_kpi_rows_free(gr, n);
        }
    }
    return 0;
}
