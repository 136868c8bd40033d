/* format.c - numbers as people read them, shared by every renderer */
#include "report/format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cs_numfmt default_fmt = {"USD", "$", ".", ","};

static const struct cs_numfmt *fmt_or_default(const struct cs_numfmt *f)
{
    return f ? f : &default_fmt;
}

void cs_fmt_number(struct cs_buf *b, const struct cs_numfmt *fmt, double v,
                   int decimals)
{
    char text[64];
    const char *dot;
    size_t int_len;

    fmt = fmt_or_default(fmt);
    if (isnan(v)) {
        cs_buf_adds(b, CS_FMT_DASH);
        return;
    }
    snprintf(text, sizeof(text), "%.*f", decimals, fabs(v));
    /* No "−0.0": the sign only when the printed number is not zero. */
    if (v < 0 && strspn(text, "0.") != strlen(text))
        cs_buf_adds(b, CS_FMT_MINUS);
    dot = strchr(text, '.');
    int_len = dot ? (size_t)(dot - text) : strlen(text);
    for (size_t i = 0; i < int_len; i++) {
        if (i > 0 && (int_len - i) % 3 == 0)
            cs_buf_adds(b, fmt->thousands);
        cs_buf_addch(b, text[i]);
    }
    if (dot) {
        cs_buf_adds(b, fmt->decimal);
        cs_buf_adds(b, dot + 1);
    }
}

void cs_fmt_money(struct cs_buf *b, const struct cs_numfmt *fmt, double v,
                  int decimals)
{
    fmt = fmt_or_default(fmt);
    if (isnan(v)) {
        cs_buf_adds(b, CS_FMT_DASH);
        return;
    }
    if (decimals < 0)
        decimals = fabs(v) >= 1000 ? 0 : 2;
    if (*fmt->symbol) {
        /* −$1,204: the sign before the symbol. */
        if (v < 0 && fabs(v) * pow(10, decimals) >= 0.5)
            cs_buf_adds(b, CS_FMT_MINUS);
        cs_buf_adds(b, fmt->symbol);
        cs_fmt_number(b, fmt, fabs(v), decimals);
    } else {
        cs_fmt_number(b, fmt, v, decimals);
        cs_buf_addf(b, " %s", fmt->currency);
    }
}

static void duration(struct cs_buf *b, const struct cs_numfmt *fmt,
                     double v, int decimals)
{
    double a = fabs(v);
    long s;

    if (a < 60 || decimals >= 0) {
        cs_fmt_number(b, fmt, v, decimals >= 0 ? decimals : 1);
        cs_buf_adds(b, " s");
        return;
    }
    if (v < 0)
        cs_buf_adds(b, CS_FMT_MINUS);
    s = lround(a);
    if (s >= 3600)
        cs_buf_addf(b, "%ldh %02ldm", s / 3600, (s % 3600) / 60);
    else
        cs_buf_addf(b, "%ldm %02lds", s / 60, s % 60);
}

void cs_fmt_value(struct cs_buf *b, const struct cs_numfmt *fmt,
                  enum cs_unit unit, double v, int decimals)
{
    if (isnan(v)) {
        cs_buf_adds(b, CS_FMT_DASH);
        return;
    }
    switch (unit) {
    case CS_UNIT_RATE:
        cs_fmt_number(b, fmt, v * 100, decimals >= 0 ? decimals : 1);
        cs_buf_adds(b, " %");
        break;
    case CS_UNIT_MONEY:
        cs_fmt_money(b, fmt, v, decimals);
        break;
    case CS_UNIT_SECONDS:
        duration(b, fmt, v, decimals);
        break;
    case CS_UNIT_MS:
        cs_fmt_number(b, fmt, v, decimals >= 0 ? decimals : 0);
        cs_buf_adds(b, " ms");
        break;
    case CS_UNIT_SCORE:
        cs_fmt_number(b, fmt, v, decimals >= 0 ? decimals : 2);
        break;
    case CS_UNIT_RATIO:
        cs_fmt_number(b, fmt, v, decimals >= 0 ? decimals : 1);
        cs_buf_adds(b, "\xc3\x97"); /* × */
        break;
    case CS_UNIT_COUNT:
        if (decimals < 0)
            decimals = v == floor(v) ? 0 : 1;
        cs_fmt_number(b, fmt, v, decimals);
        break;
    }
}

/* "+" or "−" before a change (nothing for zero as printed). */
static void sign(struct cs_buf *b, double c, double shown)
{
    if (shown == 0)
        return;
    cs_buf_adds(b, c > 0 ? "+" : CS_FMT_MINUS);
}

void cs_fmt_change(struct cs_buf *b, const struct cs_numfmt *fmt,
                   enum cs_unit unit, double c)
{
    double a = fabs(c), shown;
    int dec;

    if (isnan(c)) {
        cs_buf_adds(b, CS_FMT_DASH);
        return;
    }
    switch (cs_change_kind_for(unit)) {
    case CS_CHANGE_POINTS:
        shown = round(a * 10) / 10;
        sign(b, c, shown);
        cs_fmt_number(b, fmt, a, 1);
        cs_buf_adds(b, " pp");
        return;
    case CS_CHANGE_RELATIVE:
        shown = round(a * 1000) / 10;
        sign(b, c, shown);
        cs_fmt_number(b, fmt, a * 100, 1);
        cs_buf_adds(b, " %");
        return;
    case CS_CHANGE_ABSOLUTE:
        break;
    }
    dec = unit == CS_UNIT_MS ? 0
          : unit == CS_UNIT_SCORE ? 2
          : unit == CS_UNIT_SECONDS ? (a >= 10 ? 0 : 1)
                                    : 1;
    shown = round(a * pow(10, dec)) / pow(10, dec);
    sign(b, c, shown);
    cs_fmt_value(b, fmt, unit, a, dec);
}

const char *cs_fmt_arrow(double change)
{
    if (isnan(change) || change == 0)
        return "";
    return change > 0 ? "\xe2\x96\xb2" : "\xe2\x96\xbc"; /* ▲ ▼ */
}

void cs_fmt_alert(struct cs_buf *value, struct cs_buf *threshold,
                  const struct cs_numfmt *fmt, const struct cs_alert *a)
{
    int dec;

    /* The unit's default precision first, then more until they differ. */
    switch (a->unit) {
    case CS_UNIT_RATE:
    case CS_UNIT_RATIO:
    case CS_UNIT_SECONDS:
        dec = 1;
        break;
    case CS_UNIT_SCORE:
    case CS_UNIT_MONEY:
        dec = 2;
        break;
    default:
        dec = 0;
    }
    for (;; dec++) {
        cs_buf_reset(value);
        cs_buf_reset(threshold);
        cs_fmt_value(value, fmt, a->unit, a->value, dec);
        cs_fmt_value(threshold, fmt, a->unit, a->threshold, dec);
        if (strcmp(value->ptr, threshold->ptr) != 0 || dec >= 8)
            break;
    }
}

size_t cs_fmt_width(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    }
    return n;
}

void cs_fmt_pad(struct cs_buf *b, const char *s, size_t width, int right)
{
    size_t w = cs_fmt_width(s);

    if (w > width) {
        /* Keep width - 1 code points, then "…". */
        if (width == 0)
            return;
        size_t kept = 0;
        const char *p = s;

        while (*p) {
            if (((unsigned char)*p & 0xc0) != 0x80) {
                if (kept == width - 1)
                    break;
                kept++;
            }
            p++;
        }
        cs_buf_add(b, s, (size_t)(p - s));
        cs_buf_adds(b, "\xe2\x80\xa6");
        return;
    }
    if (right) {
        for (size_t i = w; i < width; i++)
            cs_buf_addch(b, ' ');
    }
    cs_buf_adds(b, s);
    if (!right) {
        for (size_t i = w; i < width; i++)
            cs_buf_addch(b, ' ');
    }
}

/* "p = 0.0004", "p < 0.0001". */
void cs_fmt_p(struct cs_buf *b, double p)
{
    if (isnan(p))
        cs_buf_adds(b, CS_FMT_DASH);
    else if (p < 0.0001)
        cs_buf_adds(b, "p < 0.0001");
    else
        cs_buf_addf(b, "p = %.4f", p);
}
