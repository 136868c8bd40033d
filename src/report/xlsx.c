/* xlsx.c - the client workbook (the only libxlsxwriter code) */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <time.h>

#include <xlsxwriter.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/parse.h"
#include "report/conv_rows.h"
#include "report/format.h"
#include "report/render.h"

/*
 * One tenant's period as a workbook (docs/xlsx.md): Summary, Daily (with
 * its charts), Conversations (streamed from the tenant's row source),
 * Metrics and Alerts. Every number is a number cell with a format chosen
 * by its unit, dates are date cells, text is always a string cell (never
 * a formula, whatever it starts with), and null is an empty cell in the
 * data sheets and "—" where people read single values.
 *
 * The workbook is written in libxlsxwriter's constant_memory mode: each
 * sheet is written row by row, top to bottom, and a finished row leaves
 * memory, so the Conversations sheet costs the same at 100 rows and at a
 * million. That mode keeps no cell values for the charts' data caches;
 * spreadsheet programs read the charts' cell ranges instead (docs/xlsx.md
 * says what was measured).
 */

#define TIMES "\xc3\x97"             /* × */
#define EXCEL_EPOCH_DAYS 25569.0    /* 1970-01-01 as an Excel serial */
#define TEXT_MAX 32000              /* bytes; a cell holds 32,767 chars */
#define TITLE_CHARS 72              /* 14 pt across the Summary's columns */

#define COLOUR_GOOD 0x1A7F37
#define COLOUR_BAD 0xC62828
#define COLOUR_MUTED 0x6B7280
#define COLOUR_HEAD_FILL 0xEEF1F5
#define COLOUR_SECTION_FILL 0xF7F8FA
#define COLOUR_WARNING 0xB26A00

/* Format traits (combined with a number format and a font colour). */
enum {
    F_BOLD = 1u << 0,
    F_WRAP = 1u << 1,
    F_HEAD = 1u << 2,       /* bold on a grey band, a rule below */
    F_CENTER = 1u << 3,
    F_INDENT = 1u << 4,
    F_TITLE = 1u << 5,      /* 14 pt bold */
    F_SECTION = 1u << 6,    /* bold on a light band */
    F_RIGHT = 1u << 7,
    F_TOP = 1u << 8         /* vertical alignment top */
};

struct fmt_slot {
    char *key;
    lxw_format *f;
};

struct xw {
    lxw_workbook *wb;
    const struct cs_report *r;
    const struct cs_report_tenant *t;
    lxw_error first;        /* the first failed call */
    lxw_worksheet *sheets[8];
    size_t n_sheets;
    struct fmt_slot *fmts;
    size_t n_fmts;
    struct cs_buf scratch;
    char generated[32];     /* "2026-11-01 06:10 UTC" */
    char last_day[11];      /* the period's last day (inclusive) */
};

static void note(struct xw *x, lxw_error e)
{
    if (e != LXW_NO_ERROR && x->first == LXW_NO_ERROR)
        x->first = e;
}

/* The format with number format `num` (NULL: General), traits `flags`
 * and font colour `colour` (0: default), made once per workbook. */
static lxw_format *fmt(struct xw *x, const char *num, unsigned flags,
                       uint32_t colour)
{
    struct cs_buf key = CS_BUF_INIT;
    lxw_format *f;

    cs_buf_addf(&key, "%s|%x|%x", num ? num : "", flags, (unsigned)colour);
    for (size_t i = 0; i < x->n_fmts; i++) {
        if (strcmp(x->fmts[i].key, key.ptr) == 0) {
            cs_buf_release(&key);
            return x->fmts[i].f;
        }
    }
    f = workbook_add_format(x->wb);
    if (num)
        format_set_num_format(f, num);
    if (flags & (F_BOLD | F_HEAD | F_TITLE | F_SECTION))
        format_set_bold(f);
    if (flags & F_TITLE)
        format_set_font_size(f, 14);
    if (flags & F_WRAP)
        format_set_text_wrap(f);
    if (flags & F_HEAD) {
        format_set_bg_color(f, COLOUR_HEAD_FILL);
        format_set_bottom(f, LXW_BORDER_THIN);
        format_set_text_wrap(f);
        format_set_align(f, LXW_ALIGN_VERTICAL_TOP);
    }
    if (flags & F_SECTION)
        format_set_bg_color(f, COLOUR_SECTION_FILL);
    if (flags & F_CENTER)
        format_set_align(f, LXW_ALIGN_CENTER);
    if (flags & F_RIGHT)
        format_set_align(f, LXW_ALIGN_RIGHT);
    if (flags & F_TOP)
        format_set_align(f, LXW_ALIGN_VERTICAL_TOP);
    if (flags & F_INDENT)
        format_set_indent(f, 1);
    if (colour)
        format_set_font_color(f, colour);
    x->fmts = cs_xrealloc(x->fmts, (x->n_fmts + 1) * sizeof(*x->fmts));
    x->fmts[x->n_fmts].key = cs_buf_detach(&key, NULL);
    x->fmts[x->n_fmts++].f = f;
    return f;
}

/* Appends `s` as a quoted literal of a number format. */
static void fmt_literal(struct cs_buf *b, const char *s)
{
    cs_buf_addch(b, '"');
    for (; *s; s++) {
        if (*s != '"' && *s != '\\')
            cs_buf_addch(b, *s);
    }
    cs_buf_addch(b, '"');
}

/* A money format in the tenant's currency: "$"#,##0.00, a loss in red
 * with a minus sign before the symbol ("−$1,204"), or 1,204.00 USD when
 * the tenant has no symbol. Separators are the reader's locale's. */
static void money_format(struct cs_buf *b, const struct cs_numfmt *nf,
                         int decimals)
{
    const char *body = decimals == 0   ? "#,##0"
                       : decimals == 4 ? "#,##0.0000"
                                       : "#,##0.00";

    for (int neg = 0; neg < 2; neg++) {
        if (neg)
            cs_buf_adds(b, ";[Red]" "\"" CS_FMT_MINUS "\"");
        if (*nf->symbol) {
            fmt_literal(b, nf->symbol);
            cs_buf_adds(b, body);
        } else {
            cs_buf_adds(b, body);
            cs_buf_adds(b, "\" ");
            cs_buf_adds(b, nf->currency);
            cs_buf_adds(b, "\"");
        }
    }
}

/* The number format of a value of `unit` (kpi flags `kflags`; `v` picks
 * whole units or cents for money, -1 decimals: by size). */
static void value_format(struct cs_buf *b, const struct cs_numfmt *nf,
                         enum cs_unit unit, unsigned kflags, double v,
                         int money_decimals)
{
    switch (unit) {
    case CS_UNIT_COUNT:
        cs_buf_adds(b, (kflags & CS_KPI_F_MEAN) ? "#,##0.0" : "#,##0");
        break;
    case CS_UNIT_RATE:
        cs_buf_adds(b, "0.0%");
        break;
    case CS_UNIT_SECONDS:
        cs_buf_adds(b, "#,##0.0\" s\"");
        break;
    case CS_UNIT_MONEY:
        if (money_decimals < 0)
            money_decimals = fabs(v) >= 1000 ? 0 : 2;
        money_format(b, nf, money_decimals);
        break;
    case CS_UNIT_SCORE:
        cs_buf_adds(b, "0.00");
        break;
    case CS_UNIT_MS:
        cs_buf_adds(b, "#,##0\" ms\"");
        break;
    case CS_UNIT_RATIO:
        /* 26.1x, but 0.04x rather than a bare 0.0x */
        cs_buf_addf(b, "%s\"" TIMES "\";[Red]\"" CS_FMT_MINUS "\"%s\"" TIMES
                    "\"", fabs(v) < 1 ? "0.00" : "0.0",
                    fabs(v) < 1 ? "0.00" : "0.0");
        break;
    }
}

/* The number format of a change in the KPI's own terms, with ▲/▼ and a
 * sign so that colour is never the only cue: +2.1 pp, −12.4 %, −8.0 s. */
static void change_format(struct cs_buf *b, enum cs_unit unit)
{
    const char *body, *suffix;

    switch (cs_change_kind_for(unit)) {
    case CS_CHANGE_POINTS:
        body = "0.0", suffix = " pp";
        break;
    case CS_CHANGE_RELATIVE:
        body = "0.0%", suffix = "";
        break;
    default:
        body = unit == CS_UNIT_SCORE ? "0.00" : unit == CS_UNIT_MS
                                                    ? "#,##0" : "0.0";
        suffix = unit == CS_UNIT_SECONDS ? " s"
                 : unit == CS_UNIT_MS    ? " ms"
                 : unit == CS_UNIT_RATIO ? TIMES
                                         : "";
        break;
    }
    cs_buf_addf(b, "\"\xe2\x96\xb2 +\"%s", body); /* ▲ + */
    if (*suffix)
        cs_buf_addf(b, "\"%s\"", suffix);
    cs_buf_addf(b, ";\"\xe2\x96\xbc " CS_FMT_MINUS "\"%s", body); /* ▼ − */
    if (*suffix)
        cs_buf_addf(b, "\"%s\"", suffix);
    cs_buf_addf(b, ";%s", body);
    if (*suffix)
        cs_buf_addf(b, "\"%s\"", suffix);
}

static void put_num(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                    lxw_col_t col, double v, lxw_format *f)
{
    if (!isfinite(v))
        return; /* null: an empty cell */
    note(x, worksheet_write_number(ws, row, col, v, f));
}

/* Text as a string cell, never a formula; cut (at a character) where a
 * cell would refuse it. */
static void put_text(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                     lxw_col_t col, const char *s, lxw_format *f)
{
    size_t n;

    if (!s)
        return;
    n = strlen(s);
    if (n <= TEXT_MAX) {
        note(x, worksheet_write_string(ws, row, col, s, f));
        return;
    }
    n = TEXT_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    cs_buf_reset(&x->scratch);
    cs_buf_add(&x->scratch, s, n);
    cs_buf_adds(&x->scratch, "\xe2\x80\xa6");
    note(x, worksheet_write_string(ws, row, col, x->scratch.ptr, f));
}

static lxw_worksheet *add_sheet(struct xw *x, const char *name)
{
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, name);

    if (!ws)
        note(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
    else if (x->n_sheets < sizeof(x->sheets) / sizeof(x->sheets[0]))
        x->sheets[x->n_sheets++] = ws;
    return ws;
}

/* The date cell of a local day "YYYY-MM-DD". */
static void put_day(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                    lxw_col_t col, const char *day)
{
    int64_t d;

    if (!day || cs_parse_date(day, &d)) {
        put_text(x, ws, row, col, day, NULL);
        return;
    }
    put_num(x, ws, row, col, EXCEL_EPOCH_DAYS + (double)d,
            fmt(x, "yyyy-mm-dd", F_RIGHT, 0));
}

/* Every printed page says whose report it is, of when, in which zone,
 * and which page (docs/report-design.md, principle 8). In a footer '&' is
 * a control character, and the whole holds at most 255 characters, so
 * a long name is cut. */
static void footer(struct xw *x, lxw_worksheet *ws)
{
    struct cs_buf b = CS_BUF_INIT;
    const char *s = x->t->display_name;
    size_t n = strlen(s), cut = n > 80 ? 80 : n;

    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    cs_buf_adds(&b, "&L&8");
    for (size_t i = 0; i < cut; i++) {
        if (s[i] == '&')
            cs_buf_addch(&b, '&');
        cs_buf_addch(&b, s[i]);
    }
    if (cut < n)
        cs_buf_adds(&b, "\xe2\x80\xa6");
    cs_buf_addf(&b, " \xc2\xb7 %s to %s \xc2\xb7 %s&R&8page &P of &N",
                x->r->period.from, x->last_day, x->t->tz);
    note(x, worksheet_set_footer(ws, b.ptr));
    worksheet_set_paper(ws, 9); /* A4 */
    cs_buf_release(&b);
}

/* A header cell; over numbers it is right-aligned like them (1), over
 * centred cells centred (2). */
static void head_cell(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                      lxw_col_t col, const char *text, int numeric)
{
    put_text(x, ws, row, col, text,
             fmt(x, NULL, F_HEAD | (numeric == 1   ? F_RIGHT
                                    : numeric == 2 ? F_CENTER
                                                   : 0), 0));
}

/* A header row of `n` cells; bit i of `numeric` marks column i. */
static void head_row(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                     const char *const *cells, size_t n, unsigned numeric)
{
    for (size_t i = 0; i < n; i++)
        head_cell(x, ws, row, (lxw_col_t)i, cells[i], (numeric >> i) & 1);
}

/* ---- Summary ---------------------------------------------------------- */

static void summary_value(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                          lxw_col_t col, const struct cs_kpi_row *k,
                          double v)
{
    if (isnan(v)) {
        put_text(x, ws, row, col, CS_FMT_DASH,
                 fmt(x, NULL, F_RIGHT, COLOUR_MUTED));
        return;
    }
    cs_buf_reset(&x->scratch);
    value_format(&x->scratch, &x->t->fmt, k->unit, k->flags, v, -1);
    put_num(x, ws, row, col, v, fmt(x, x->scratch.ptr, 0, 0));
}

static void summary_change(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                           lxw_col_t col, const struct cs_kpi_row *k)
{
    double c = k->cmp[CS_CMP_PREVIOUS].change;
    enum cs_tone tone = cs_report_tone(k->direction, c);

    if (isnan(c)) {
        put_text(x, ws, row, col, CS_FMT_DASH,
                 fmt(x, NULL, F_RIGHT, COLOUR_MUTED));
        return;
    }
    cs_buf_reset(&x->scratch);
    change_format(&x->scratch, k->unit);
    put_num(x, ws, row, col, c,
            fmt(x, x->scratch.ptr, 0,
                tone == CS_TONE_GOOD  ? COLOUR_GOOD
                : tone == CS_TONE_BAD ? COLOUR_BAD
                                      : COLOUR_MUTED));
}

/* A row across the five columns of the Summary with only a label. */
static void summary_band(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                         const char *label, unsigned flags, uint32_t colour)
{
    lxw_format *f = fmt(x, NULL, flags, colour);

    put_text(x, ws, row, 0, label, f);
    for (lxw_col_t c = 1; c < 5; c++)
        note(x, worksheet_write_blank(ws, row, c, f));
}

/* The title: the display name, shortened with "…" past what the printed
 * width of the table holds (the workbook's properties keep it whole). */
static void title(struct xw *x, lxw_worksheet *ws, lxw_row_t row,
                  const char *name)
{
    size_t chars = 0, i;

    for (i = 0; name[i]; i++) {
        if (((unsigned char)name[i] & 0xC0) != 0x80 &&
            chars++ == TITLE_CHARS)
            break;
    }
    if (!name[i]) {
        put_text(x, ws, row, 0, name, fmt(x, NULL, F_TITLE, 0));
        return;
    }
    cs_buf_reset(&x->scratch);
    cs_buf_add(&x->scratch, name, i);
    cs_buf_adds(&x->scratch, "\xe2\x80\xa6");
    put_text(x, ws, row, 0, x->scratch.ptr, fmt(x, NULL, F_TITLE, 0));
}

static void write_summary(struct xw *x)
{
    static const char *const head[] = {"KPI", "Value", "Previous", "Change",
                                       "Key"};
    const struct cs_report_tenant *t = x->t;
    lxw_worksheet *ws = add_sheet(x, "Summary");
    struct cs_buf b = CS_BUF_INIT;
    lxw_row_t row = 0;
    int section = -1;

    if (!ws)
        return;
    worksheet_set_column(ws, 0, 0, 46, NULL);
    worksheet_set_column(ws, 1, 2, 14, NULL);
    worksheet_set_column(ws, 3, 3, 17, NULL);
    worksheet_set_column(ws, 4, 4, 44, NULL);
    worksheet_fit_to_pages(ws, 1, 0);
    footer(x, ws);
    title(x, ws, row++, t->display_name);
    cs_buf_addf(&b, "Client report, %s to %s (local dates in %s)",
                x->r->period.from, x->last_day, t->tz);
    put_text(x, ws, row++, 0, b.ptr, NULL);
    cs_buf_reset(&b);
    if (x->r->has_cmp[CS_CMP_PREVIOUS]) {
        char last[11];
        int64_t d;

        cs_parse_date(x->r->cmp_period[CS_CMP_PREVIOUS].to, &d);
        cs_format_date(d - 1, last);
        cs_buf_addf(&b, "Previous: %s to %s. ",
                    x->r->cmp_period[CS_CMP_PREVIOUS].from, last);
    }
    cs_buf_addf(&b, "Generated %s by callscope %s.", x->generated,
                CS_VERSION);
    put_text(x, ws, row++, 0, b.ptr, fmt(x, NULL, 0, COLOUR_MUTED));
    row++;
    head_row(x, ws, row, head, 5, 0xE);
    worksheet_freeze_panes(ws, ++row, 0);
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct cs_kpi_row *k = &t->rows[i];
        int detail = (k->flags & CS_KPI_F_DETAIL) != 0;

        if ((int)k->section != section) {
            section = (int)k->section;
            summary_band(x, ws, row++, cs_kpi_section_title(k->section),
                         F_SECTION, 0);
            if (k->section == CS_SECTION_METRICS && t->has_details &&
                t->scored == 0)
                summary_band(x, ws, row++, "Not scored yet: no conversation "
                             "of the period has an evaluator's result.",
                             F_INDENT, COLOUR_MUTED);
        }
        if (detail) {
            lxw_row_col_options o = {0, 1, 0};

            note(x, worksheet_set_row_opt(ws, row, LXW_DEF_ROW_HEIGHT, NULL,
                                          &o));
        }
        put_text(x, ws, row, 0, k->label,
                 fmt(x, NULL, detail ? F_INDENT : 0,
                     detail ? COLOUR_MUTED : 0));
        summary_value(x, ws, row, 1, k, k->value);
        if (x->r->has_cmp[CS_CMP_PREVIOUS]) {
            summary_value(x, ws, row, 2, k, k->cmp[CS_CMP_PREVIOUS].value);
            summary_change(x, ws, row, 3, k);
        }
        put_text(x, ws, row, 4, k->key, fmt(x, NULL, F_INDENT, COLOUR_MUTED));
        row++;
    }
    if (section != CS_SECTION_METRICS && t->has_details && t->scored == 0) {
        summary_band(x, ws, row++, cs_kpi_section_title(CS_SECTION_METRICS),
                     F_SECTION, 0);
        summary_band(x, ws, row++, "Not scored yet: no conversation of the "
                     "period has an evaluator's result.", F_INDENT,
                     COLOUR_MUTED);
    }
    row++;
    put_text(x, ws, row++, 0, "Rates are shares of the period; changes of "
             "rates are in percentage points (pp), of counts and money "
             "relative, of times absolute.", fmt(x, NULL, 0, COLOUR_MUTED));
    put_text(x, ws, row, 0, "Green is good for the business, red is bad, "
             "grey neutral; \xe2\x80\x94 means no value (nothing to divide "
             "by).", fmt(x, NULL, 0, COLOUR_MUTED));
    /* The Key column is for matching the JSON and CSV exports: on
     * screen, not on paper. */
    note(x, worksheet_print_area(ws, 0, 0, row, 3));
    cs_buf_release(&b);
}

/* ---- Daily ------------------------------------------------------------ */

static void daily_chart(struct xw *x, lxw_worksheet *ws, lxw_row_t at,
                        lxw_row_t n, enum cs_kpi_id id, const char *title,
                        int rate)
{
    lxw_chart *ch = workbook_add_chart(x->wb, LXW_CHART_LINE);
    lxw_chart_series *s;
    lxw_chart_axis *y;
    lxw_chart_options o;
    lxw_col_t col = (lxw_col_t)(1 + id);
    lxw_chart_font font = {.bold = 1, .size = 11};

    if (!ch) {
        note(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
        return;
    }
    s = chart_add_series(ch, NULL, NULL);
    chart_series_set_categories(s, "Daily", 1, 0, n, 0);
    chart_series_set_values(s, "Daily", 1, col, n, col);
    chart_series_set_name(s, cs_kpi_def_get(id)->label);
    chart_title_set_name(ch, title);
    chart_title_set_name_font(ch, &font);
    chart_legend_set_position(ch, LXW_CHART_LEGEND_NONE);
    y = chart_axis_get(ch, LXW_CHART_AXIS_TYPE_Y);
    /* Counts start at zero; rates share the 0-100 % scale. */
    chart_axis_set_min(y, 0);
    if (rate) {
        chart_axis_set_max(y, 1);
        chart_axis_set_num_format(y, "0%");
    } else {
        chart_axis_set_num_format(y, "#,##0");
    }
    chart_axis_set_num_format(chart_axis_get(ch, LXW_CHART_AXIS_TYPE_X),
                              "mm-dd");
    memset(&o, 0, sizeof(o));
    o.x_scale = 1.4;
    o.y_scale = 0.9;
    note(x, worksheet_insert_chart_opt(ws, at, 0, ch, &o));
}

static void write_daily(struct xw *x)
{
    const struct cs_report_tenant *t = x->t;
    lxw_worksheet *ws = add_sheet(x, "Daily");
    lxw_row_t n = t->by == CS_REPORT_BY_DAY ? (lxw_row_t)t->n_groups : 0;
    struct cs_buf b = CS_BUF_INIT;

    if (!ws)
        return;
    worksheet_set_column(ws, 0, 0, 11, NULL);
    worksheet_set_column(ws, 1, CS_KPI__COUNT, 13, NULL);
    worksheet_set_row(ws, 0, 45, NULL);
    worksheet_freeze_panes(ws, 1, 1);
    worksheet_set_landscape(ws);
    worksheet_repeat_rows(ws, 0, 0);
    worksheet_repeat_columns(ws, 0, 0);
    footer(x, ws);
    head_cell(x, ws, 0, 0, "Date", 1);
    for (int k = 0; k < CS_KPI__COUNT; k++)
        head_cell(x, ws, 0, (lxw_col_t)(1 + k),
                  cs_kpi_def_get((enum cs_kpi_id)k)->label, 1);
    for (lxw_row_t i = 0; i < n; i++) {
        const struct cs_kpi_set *s = &t->groups[i];

        put_day(x, ws, 1 + i, 0, s->group);
        for (int k = 0; k < CS_KPI__COUNT; k++) {
            const struct cs_kpi_def *d = cs_kpi_def_get((enum cs_kpi_id)k);

            cs_buf_reset(&b);
            value_format(&b, &t->fmt, d->unit, d->flags, s->v[k], 2);
            put_num(x, ws, 1 + i, (lxw_col_t)(1 + k), s->v[k],
                    fmt(x, b.ptr, 0, 0));
        }
    }
    note(x, worksheet_autofilter(ws, 0, 0, n, CS_KPI__COUNT));
    if (n) {
        /* Below the table, on a printed page of their own, one above the
         * other so that the days line up (libxlsxwriter 1.1.4 has no
         * secondary axis: docs/xlsx.md). */
        lxw_row_t breaks[] = {n + 1, 0};

        note(x, worksheet_set_h_pagebreaks(ws, breaks));
        daily_chart(x, ws, n + 2, n, CS_KPI_CONVERSATIONS,
                    "Conversations per day", 0);
        daily_chart(x, ws, n + 17, n, CS_KPI_CONTAINMENT_RATE,
                    "Containment per day (handled without a person)", 1);
    }
    cs_buf_release(&b);
}

/* ---- Conversations ---------------------------------------------------- */

enum {
    CC_ID, CC_STARTED, CC_AGENT, CC_CHANNEL, CC_DIRECTION, CC_OUTCOME,
    CC_HANDED_OFF, CC_REASON, CC_DURATION, CC_TURNS, CC_COST, CC_CSAT,
    CC_NPS, CC_SENTIMENT, CC__COUNT
};

static const struct {
    const char *head;
    double width;
    int numeric;            /* 1: right-aligned, 2: centred */
} conv_cols[CC__COUNT] = {
    [CC_ID] = {"ID", 24, 0},
    [CC_STARTED] = {"Started", 21, 2},
    [CC_AGENT] = {"Agent", 18, 0},
    [CC_CHANNEL] = {"Channel", 9, 0},
    [CC_DIRECTION] = {"Direction", 10, 0},
    [CC_OUTCOME] = {"Outcome", 11, 0},
    [CC_HANDED_OFF] = {"Handed off", 10, 0},
    [CC_REASON] = {"Handoff reason", 36, 0},
    [CC_DURATION] = {"Duration (s)", 10, 1},
    [CC_TURNS] = {"Turns", 7, 1},
    [CC_COST] = {"Cost", 10, 1},
    [CC_CSAT] = {"CSAT", 6, 1},
    [CC_NPS] = {"NPS", 6, 1},
    [CC_SENTIMENT] = {"Sentiment", 10, 0},
};

/* What writing one conversation row needs, made once. */
struct conv_writer {
    struct xw *x;
    lxw_worksheet *ws;
    lxw_row_t row;
    size_t n_metrics;
    lxw_format *datetime, *duration, *count, *cost, *whole, *number;
};

static void put_cell(struct conv_writer *w, lxw_col_t col,
                     const struct cs_cell *c)
{
    switch (c->kind) {
    case CS_CELL_BOOL:
        note(w->x, worksheet_write_boolean(w->ws, w->row, col, c->b, NULL));
        break;
    case CS_CELL_NUMBER:
        put_num(w->x, w->ws, w->row, col, c->num, w->number);
        break;
    case CS_CELL_TEXT:
        put_text(w->x, w->ws, w->row, col, c->text, NULL);
        break;
    case CS_CELL_EMPTY:
        break;
    }
}

static int conv_row(void *ctx, const struct cs_conv_row *c,
                    struct cs_err *err)
{
    struct conv_writer *w = ctx;
    struct xw *x = w->x;
    lxw_worksheet *ws = w->ws;
    lxw_row_t r = ++w->row;

    put_text(x, ws, r, CC_ID, c->id, NULL);
    put_num(x, ws, r, CC_STARTED, EXCEL_EPOCH_DAYS + c->started_local / 86400,
            w->datetime);
    put_text(x, ws, r, CC_AGENT, c->agent, NULL);
    put_text(x, ws, r, CC_CHANNEL, c->channel, NULL);
    put_text(x, ws, r, CC_DIRECTION, c->direction, NULL);
    put_text(x, ws, r, CC_OUTCOME, c->outcome, NULL);
    note(x, worksheet_write_boolean(ws, r, CC_HANDED_OFF, c->handed_off,
                                    NULL));
    put_text(x, ws, r, CC_REASON, c->handoff_reason, NULL);
    put_num(x, ws, r, CC_DURATION, c->duration_s, w->duration);
    put_num(x, ws, r, CC_TURNS, (double)c->turns, w->count);
    put_num(x, ws, r, CC_COST, c->cost, w->cost);
    put_num(x, ws, r, CC_CSAT, c->csat, w->whole);
    put_num(x, ws, r, CC_NPS, c->nps, w->whole);
    put_text(x, ws, r, CC_SENTIMENT, c->sentiment, NULL);
    for (size_t m = 0; m < w->n_metrics; m++)
        put_cell(w, (lxw_col_t)(CC__COUNT + m), &c->metrics[m]);
    if (x->first != LXW_NO_ERROR)
        return cs_err_set(err, CS_EIO, "cannot write conversation '%s': %s",
                          c->id, lxw_strerror(x->first));
    return 0;
}

static int write_conversations(struct xw *x, struct cs_err *err)
{
    const struct cs_report_tenant *t = x->t;
    const struct cs_conv_source *src = t->conv;
    lxw_worksheet *ws = add_sheet(x, "Conversations");
    struct conv_writer w;
    struct cs_buf b = CS_BUF_INIT;
    lxw_col_t last;
    int ret = 0;

    if (!ws)
        return 0;
    memset(&w, 0, sizeof(w));
    w.x = x;
    w.ws = ws;
    w.n_metrics = src ? src->n_metrics : 0;
    w.datetime = fmt(x, "yyyy-mm-dd hh:mm:ss", F_CENTER, 0);
    w.duration = fmt(x, "#,##0.0", 0, 0);
    w.count = fmt(x, "#,##0", 0, 0);
    w.whole = fmt(x, "0", 0, 0);
    w.number = fmt(x, "General", 0, 0);
    money_format(&b, &t->fmt, 4);
    w.cost = fmt(x, b.ptr, 0, 0);
    last = (lxw_col_t)(CC__COUNT + w.n_metrics - 1);
    for (int c = 0; c < CC__COUNT; c++)
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c,
                             conv_cols[c].width, NULL);
    if (w.n_metrics)
        worksheet_set_column(ws, CC__COUNT, last, 14, NULL);
    worksheet_set_row(ws, 0, 30, NULL);
    worksheet_freeze_panes(ws, 1, 1);
    worksheet_set_landscape(ws);
    worksheet_repeat_rows(ws, 0, 0);
    footer(x, ws);
    for (int c = 0; c < CC__COUNT; c++) {
        cs_buf_reset(&b);
        cs_buf_adds(&b, conv_cols[c].head);
        if (c == CC_STARTED)
            cs_buf_addf(&b, " (%s)", t->tz);
        head_cell(x, ws, 0, (lxw_col_t)c, b.ptr, conv_cols[c].numeric);
    }
    for (size_t m = 0; m < w.n_metrics; m++) {
        const struct cs_metric_kpi *mk =
            cs_kpi_set_find_metric(&t->cur, src->metrics[m]);

        head_cell(x, ws, 0, (lxw_col_t)(CC__COUNT + m),
                  mk ? mk->name : src->metrics[m], 0);
    }
    if (src)
        ret = src->each(src->ctx, conv_row, &w, err);
    note(x, worksheet_autofilter(ws, 0, 0, w.row, last));
    cs_buf_release(&b);
    return ret;
}

/* ---- Metrics and Alerts ----------------------------------------------- */

#define NAME_W 24
#define DEFINITION_W 56

/* About how many lines `s` takes wrapped in a column `width` wide (a
 * width is that many digits; text runs a little narrower, measured in
 * LibreOffice and leaving room for Excel's Calibri). */
static size_t wrapped_lines(const char *s, double width)
{
    size_t chars = 0;

    for (; s && *s; s++)
        chars += ((unsigned char)*s & 0xC0) != 0x80;
    return (size_t)ceil((double)chars / (width * 1.1));
}

static void write_metrics(struct xw *x)
{
    /* Then the scorecards' pass mark, share below it and 10-point
     * buckets, and the judge's last agreement with human labels. */
    static const char *const head[] = {
        "Key", "Name", "Type", "Definition", "Version", "Evaluator",
        "Applicable", "Errors", "Pass mark", "Below pass mark", "0-10",
        "10-20", "20-30", "30-40", "40-50", "50-60", "60-70", "70-80",
        "80-90", "90-100", "Min kappa", "Last kappa", "Calibrated",
        "Verified"};
    enum { N_HEAD = sizeof(head) / sizeof(head[0]) };
    const struct cs_report_tenant *t = x->t;
    lxw_worksheet *ws = add_sheet(x, "Metrics");
    lxw_format *wrap, *count;
    lxw_row_t row = 1;

    if (!ws)
        return;
    wrap = fmt(x, NULL, F_WRAP | F_TOP, 0);
    count = fmt(x, "#,##0", F_TOP, 0);
    worksheet_set_column(ws, 0, 0, 22, fmt(x, NULL, F_TOP, 0));
    worksheet_set_column(ws, 1, 1, NAME_W, wrap);
    worksheet_set_column(ws, 2, 2, 11, fmt(x, NULL, F_TOP, 0));
    worksheet_set_column(ws, 3, 3, DEFINITION_W, wrap);
    worksheet_set_column(ws, 4, 4, 19, fmt(x, NULL, F_TOP, 0));
    worksheet_set_column(ws, 5, 5, 16, fmt(x, NULL, F_TOP, 0));
    worksheet_set_column(ws, 6, 7, 10, count);
    worksheet_set_column(ws, 8, 8, 10, fmt(x, "0.0", F_TOP, 0));
    worksheet_set_column(ws, 9, 9, 12, fmt(x, "0.0%", F_TOP, 0));
    worksheet_set_column(ws, 10, 19, 7, count);
    worksheet_set_column(ws, 20, 21, 10, fmt(x, "0.00", F_TOP, 0));
    worksheet_set_column(ws, 22, 22, 12, fmt(x, NULL, F_TOP, 0));
    worksheet_set_column(ws, 23, 23, 26, wrap);
    worksheet_freeze_panes(ws, 1, 0);
    worksheet_repeat_rows(ws, 0, 0);
    worksheet_set_landscape(ws);
    worksheet_fit_to_pages(ws, 1, 0);
    footer(x, ws);
    head_row(x, ws, 0, head, N_HEAD, 0xC0);
    if (t->has_details && t->scored == 0)
        put_text(x, ws, row++, 0, "Not scored yet: no conversation of the "
                 "period has an evaluator's result.",
                 fmt(x, NULL, 0, COLOUR_MUTED));
    for (size_t i = 0; i < t->cur.n_metrics; i++) {
        const struct cs_metric_kpi *m = &t->cur.metrics[i];
        size_t lines = wrapped_lines(m->definition, DEFINITION_W);

        if (wrapped_lines(m->name, NAME_W) > lines)
            lines = wrapped_lines(m->name, NAME_W);
        /* Spreadsheet programs do not grow a row for wrapped text that
         * was written without a height. */
        if (lines > 1)
            note(x, worksheet_set_row(ws, row, 15.0 * (double)lines, NULL));
        put_text(x, ws, row, 0, m->key, fmt(x, NULL, F_TOP, 0));
        put_text(x, ws, row, 1, m->name, wrap);
        put_text(x, ws, row, 2, cs_metric_type_name(m->type),
                 fmt(x, NULL, F_TOP, 0));
        put_text(x, ws, row, 3, m->definition, wrap);
        put_text(x, ws, row, 4, m->version, fmt(x, NULL, F_TOP, 0));
        put_text(x, ws, row, 5, m->evaluator, fmt(x, NULL, F_TOP, 0));
        put_num(x, ws, row, 6, (double)m->applicable, count);
        put_num(x, ws, row, 7, (double)m->errors, count);
        if (m->type == CS_METRIC_SCORECARD) {
            put_num(x, ws, row, 8, m->pass_mark, fmt(x, "0.0", F_TOP, 0));
            put_num(x, ws, row, 9, m->below_pass_rate,
                    fmt(x, "0.0%", F_TOP, 0));
            for (int b = 0; b < CS_SCORECARD_BUCKETS; b++)
                put_num(x, ws, row, (lxw_col_t)(10 + b),
                        (double)m->buckets[b], count);
        }
        put_num(x, ws, row, 20, m->min_kappa, fmt(x, "0.00", F_TOP, 0));
        if (m->calibration) {
            put_num(x, ws, row, 21, m->calibration->kappa,
                    fmt(x, "0.00", F_TOP, 0));
            put_day(x, ws, row, 22, m->calibration->measured_at);
        }
        if (!isnan(m->min_kappa))
            put_text(x, ws, row, 23, m->unverified
                                         ? CS_REPORT_UNVERIFIED
                                         : "yes", wrap);
        row++;
    }
    if (t->cur.n_metrics == 0)
        put_text(x, ws, row, 0, "No metric results in this period.",
                 fmt(x, NULL, 0, COLOUR_MUTED));
}

/* The label of an alert's KPI path: its row's ("Latency llm p95"), else
 * the path. */
static const char *alert_label(const struct cs_report_tenant *t,
                               const struct cs_alert *a)
{
    const struct cs_kpi_row *k = cs_report_row(t, a->kpi);

    return k ? k->label : a->kpi;
}

static void write_alerts(struct xw *x)
{
    static const char *const head[] = {"Date", "KPI", "Value", "Threshold",
                                       "Direction", "Level", "Key"};
    const struct cs_report_tenant *t = x->t;
    lxw_worksheet *ws = add_sheet(x, "Alerts");
    struct cs_buf b = CS_BUF_INIT;
    lxw_row_t row = 1;

    if (!ws)
        return;
    worksheet_set_column(ws, 0, 0, 12, NULL);
    worksheet_set_column(ws, 1, 1, 30, NULL);
    worksheet_set_column(ws, 2, 3, 12, NULL);
    worksheet_set_column(ws, 4, 5, 11, NULL);
    worksheet_set_column(ws, 6, 6, 28, fmt(x, NULL, 0, COLOUR_MUTED));
    worksheet_freeze_panes(ws, 1, 0);
    worksheet_fit_to_pages(ws, 1, 0);
    worksheet_repeat_rows(ws, 0, 0);
    footer(x, ws);
    head_row(x, ws, 0, head, 7, 0xD);
    for (size_t g = 0; t->by == CS_REPORT_BY_DAY && g < t->n_groups; g++) {
        const struct cs_kpi_set *s = &t->groups[g];

        for (size_t i = 0; i < s->n_alerts; i++) {
            const struct cs_alert *a = &s->alerts[i];

            put_day(x, ws, row, 0, s->group);
            put_text(x, ws, row, 1, alert_label(t, a),
                     fmt(x, NULL, F_INDENT, 0));
            /* Enough digits to see the breach: 97.96 % below 98.0 %. */
            cs_buf_reset(&b);
            cs_buf_adds(&b, a->unit == CS_UNIT_RATE ? "0.00%" : "");
            if (!b.len)
                value_format(&b, &t->fmt, a->unit, 0, a->value, 2);
            put_num(x, ws, row, 2, a->value, fmt(x, b.ptr, 0, 0));
            put_num(x, ws, row, 3, a->threshold, fmt(x, b.ptr, 0, 0));
            put_text(x, ws, row, 4, a->below ? "below" : "above",
                     fmt(x, NULL, F_INDENT, 0));
            put_text(x, ws, row, 5, a->critical ? "critical" : "warning",
                     fmt(x, NULL, F_BOLD | F_INDENT,
                         a->critical ? COLOUR_BAD : COLOUR_WARNING));
            put_text(x, ws, row, 6, a->kpi, fmt(x, NULL, 0, COLOUR_MUTED));
            row++;
        }
    }
    if (row == 1)
        put_text(x, ws, row, 0, "No alerts in this period.",
                 fmt(x, NULL, 0, COLOUR_MUTED));
    cs_buf_release(&b);
}

/* ---- The workbook ----------------------------------------------------- */

/*
 * libxlsxwriter 1.1.4 does not check its writes to temporary files: the
 * file a constant_memory sheet streams its rows into, and at close the
 * file each sheet's XML is assembled in before it is zipped. A full disk
 * or a file size limit there gives a truncated sheet in a workbook that
 * closes without an error (measured: docs/xlsx.md). So the renderer
 * checks the row files itself (their handles are public in worksheet.h)
 * and, before closing, that the disk and the file size limit leave room
 * for what close writes: each sheet's XML (its rows and a little more)
 * beside the row files, and the zip. Only a disk filled by someone else
 * during close is left to chance.
 */
#define CLOSE_SLACK (1024.0 * 1024.0)

static int check_tmpfiles(struct xw *x, const char *path, const char *dir,
                          struct cs_err *err)
{
    double total = 0, largest = 0, need;
    struct statvfs vfs;
    struct rlimit fsize;

    for (size_t i = 0; i < x->n_sheets; i++) {
        FILE *f = x->sheets[i]->optimize_tmpfile;
        long n;

        if (!f)
            continue;
        n = fflush(f) == 0 && !ferror(f) ? ftell(f) : -1;
        if (n < 0)
            return cs_err_set(err, CS_EIO, "cannot write '%s': the "
                              "temporary file of sheet '%s' failed: %s",
                              path, x->sheets[i]->name,
                              strerror(errno ? errno : EIO));
        total += (double)n;
        if ((double)n > largest)
            largest = (double)n;
    }
    need = 2 * total + CLOSE_SLACK;
    if (statvfs(dir, &vfs) == 0 &&
        (double)vfs.f_bavail * (double)vfs.f_frsize < need)
        return cs_err_set(err, CS_EIO, "cannot write '%s': %.0f MB free in "
                          "'%s', the workbook needs about %.0f MB to close",
                          path, (double)vfs.f_bavail * (double)vfs.f_frsize
                          / 1e6, dir, need / 1e6);
    if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 &&
        fsize.rlim_cur != RLIM_INFINITY &&
        (double)fsize.rlim_cur < largest + CLOSE_SLACK)
        return cs_err_set(err, CS_EIO, "cannot write '%s': the file size "
                          "limit (%.0f kB) is too small for the workbook's "
                          "temporary files", path,
                          (double)fsize.rlim_cur / 1024);
    return 0;
}

static void properties(struct xw *x, struct cs_buf *title,
                       struct cs_buf *subject, struct cs_buf *comments)
{
    lxw_doc_properties p;

    cs_buf_addf(title, "%s \xe2\x80\x94 client report", x->t->display_name);
    cs_buf_addf(subject, "%s, %s to %s", x->t->display_name,
                x->r->period.from, x->last_day);
    cs_buf_addf(comments, "Generated by callscope %s on %s. Dates and times "
                "are local to %s; the period is the local dates %s to %s "
                "inclusive.", CS_VERSION, x->generated, x->t->tz,
                x->r->period.from, x->last_day);
    memset(&p, 0, sizeof(p));
    p.title = title->ptr;
    p.subject = subject->ptr;
    p.author = "callscope";
    p.company = "callscope";
    p.comments = comments->ptr;
    p.keywords = "callscope, KPIs, conversations";
    note(x, workbook_set_properties(x->wb, &p));
}

int cs_render_xlsx(const struct cs_report *r, const char *path,
                   struct cs_err *err)
{
    struct cs_buf title = CS_BUF_INIT, subject = CS_BUF_INIT,
                  comments = CS_BUF_INIT, dir = CS_BUF_INIT;
    lxw_workbook_options o;
    struct xw x;
    struct tm tm;
    time_t now = time(NULL);
    int64_t last;
    int ret;

    memset(&x, 0, sizeof(x));
    cs_buf_init(&x.scratch);
    if (r->n_tenants != 1) {
        ret = cs_err_set(err, CS_EINVALID, "a client workbook is for one "
                         "tenant, not %zu", r->n_tenants);
        goto done;
    }
    x.r = r;
    x.t = &r->tenants[0];
    gmtime_r(&now, &tm);
    strftime(x.generated, sizeof(x.generated), "%Y-%m-%d %H:%M UTC", &tm);
    cs_parse_date(r->period.to, &last);
    cs_format_date(last - 1, x.last_day);
    /* libxlsxwriter's temporary files go beside the output, not to a
     * /tmp that may be memory. */
    cs_buf_adds(&dir, path);
    memset(&o, 0, sizeof(o));
    o.constant_memory = 1;
    o.tmpdir = dirname(dir.ptr);
    x.wb = workbook_new_opt(path, &o);
    if (!x.wb) {
        ret = cs_err_set(err, CS_EIO, "cannot create '%s'", path);
        goto done;
    }
    properties(&x, &title, &subject, &comments);
    write_summary(&x);
    write_daily(&x);
    ret = write_conversations(&x, err);
    if (ret)
        goto done;
    write_metrics(&x);
    write_alerts(&x);
    if (x.first != LXW_NO_ERROR) {
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", path,
                         lxw_strerror(x.first));
        goto done;
    }
    ret = check_tmpfiles(&x, path, o.tmpdir, err);
    if (ret)
        goto done;
    ret = (int)workbook_close(x.wb);
    x.wb = NULL;
    if (ret != LXW_NO_ERROR) {
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", path,
                         lxw_strerror((lxw_error)ret));
        goto done;
    }
    ret = 0;
done:
    /* A failed workbook is freed without being written. */
    if (x.wb)
        lxw_workbook_free(x.wb);
    for (size_t i = 0; i < x.n_fmts; i++)
        free(x.fmts[i].key);
    free(x.fmts);
    cs_buf_release(&x.scratch);
    cs_buf_release(&title);
    cs_buf_release(&subject);
    cs_buf_release(&comments);
    cs_buf_release(&dir);
    return ret;
}
