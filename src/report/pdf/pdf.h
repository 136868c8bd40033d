/* pdf.h - the PDF reports: monthly executive, daily operations */
#ifndef CS_REPORT_PDF_PDF_H
#define CS_REPORT_PDF_PDF_H

#include "base/err.h"
#include "report/model.h"

/*
 * Path renderers (report/render.h) over a report computed by day with
 * its details (cs_kpi_query: by day, compare, details). The words come
 * from r->style.tmpl, the fonts and page size from r->style. A report of
 * one tenant gives that tenant's document; with r->style.all_tenants (or
 * several tenants) the all-tenants edition. Nothing is written when any
 * step fails: the error names the step.
 */

/* Page 1 (the answer), trends and drivers, quality and operations,
 * alerts, conversations worth a look and methods. */
int cs_render_pdf_executive(const struct cs_report *r, const char *path,
                            struct cs_err *err);

/* One page per tenant: each KPI yesterday, the day before and the same
 * weekday last week, alert crossings marked; the alerts; the
 * conversations worth a look (cut with "and N more" to fit). */
int cs_render_pdf_daily(const struct cs_report *r, const char *path,
                        struct cs_err *err);

#endif
