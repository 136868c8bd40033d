/* parse.c - strict parsing of numbers, dates and timestamps */
#include "base/parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int cs_parse_long(const char *s, long *out)
{
    char *end = NULL;
    long v;

    if (!s || !*s)
        return CS_EINVALID;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end)
        return CS_EINVALID;
    *out = v;
    return 0;
}

int cs_parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v;

    if (!s || !*s)
        return CS_EINVALID;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return CS_EINVALID;
    *out = v;
    return 0;
}

/* Howard Hinnant's days_from_civil. */
int64_t cs_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void cs_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

unsigned cs_days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    if (m == 2)
        return 28 + (unsigned)leap;
    return dm[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_ymd(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) ||
        s[7] != '-' || digits(s + 8, 2, d))
        return CS_EINVALID;
    if (*m < 1 || *m > 12 || *d < 1 ||
        (unsigned)*d > cs_days_in_month(*y, (unsigned)*m))
        return CS_EINVALID;
    return 0;
}

int cs_parse_date(const char *s, int64_t *out_days)
{
    int y, m, d;

    if (!s || strlen(s) != 10 || parse_ymd(s, &y, &m, &d))
        return CS_EINVALID;
    *out_days = cs_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int cs_parse_date_err(const char *s, int64_t *out_days, struct cs_err *err)
{
    static const char *const months[] = {
        "January", "February", "March", "April", "May", "June", "July",
        "August", "September", "October", "November", "December"};
    int y, m, d;

    if (cs_parse_date(s, out_days) == 0)
        return 0;
    /* The shape is right but the calendar says no: say why. */
    if (s && strlen(s) == 10 && digits(s, 4, &y) == 0 && s[4] == '-' &&
        digits(s + 5, 2, &m) == 0 && s[7] == '-' &&
        digits(s + 8, 2, &d) == 0) {
        if (m < 1 || m > 12)
            return cs_err_set(err, CS_EINVALID, "'%s' is not a date: there "
                              "is no month %02d", s, m);
        if (d < 1)
            return cs_err_set(err, CS_EINVALID, "'%s' is not a date: days "
                              "start at 01", s);
        if (m == 2)
            return cs_err_set(err, CS_EINVALID, "'%s' is not a date: "
                              "February %04d has %u days", s, y,
                              cs_days_in_month(y, 2));
        return cs_err_set(err, CS_EINVALID, "'%s' is not a date: %s has %u "
                          "days", s, months[m - 1],
                          cs_days_in_month(y, (unsigned)m));
    }
    return cs_err_set(err, CS_EINVALID, "'%s' is not a date: dates are "
                      "YYYY-MM-DD", s ? s : "");
}

void cs_format_date(int64_t days, char *out)
{
    int64_t y;
    unsigned m, d;

    cs_civil_from_days(days, &y, &m, &d);
    snprintf(out, 11, "%04d-%02u-%02u", (int)y, m, d);
}

int cs_parse_rfc3339(const char *s, int64_t *out_us)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    int64_t frac = 0, scale = 1000000, us;
    const char *p;

    if (!s || strlen(s) < 20 || parse_ymd(s, &y, &mo, &d))
        return CS_EINVALID;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return CS_EINVALID;
    if (digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
        s[16] != ':' || digits(s + 17, 2, &sec))
        return CS_EINVALID;
    if (h > 23 || mi > 59 || sec > 60)
        return CS_EINVALID;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return CS_EINVALID;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;

        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return CS_EINVALID;
        oh *= sign;
        om *= sign;
        p += 6;
    } else {
        return CS_EINVALID;
    }
    if (*p)
        return CS_EINVALID;
    if (sec == 60)
        sec = 59; /* leap second: clamp */
    us = cs_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL;
    us += h * 3600LL + mi * 60LL + sec - oh * 3600LL - om * 60LL;
    *out_us = us * 1000000LL + frac;
    return 0;
}
