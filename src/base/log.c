/* log.c - leveled logging and terminal progress on stderr */
#define _POSIX_C_SOURCE 200809L
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int cs_log_level = CS_LOG_INFO;

void cs_log_write(int level, const char *fmt, ...)
{
    static const char *prefix[] = {"error: ", "warning: ", "", "debug: "};
    va_list ap;

    if (level < 0 || level > CS_LOG_DEBUG)
        level = CS_LOG_DEBUG;
    fprintf(stderr, "callscope: %s", prefix[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

double cs_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cs_progress_start(struct cs_progress *p, const char *verb,
                       uint64_t total)
{
    p->verb = verb;
    p->total = total;
    p->done = 0;
    p->started = cs_now();
    p->last_shown = 0;
    p->enabled = isatty(2) && cs_log_level >= CS_LOG_INFO;
}

void cs_progress_update(struct cs_progress *p, uint64_t done)
{
    double now, el, rate;

    p->done = done;
    if (!p->enabled)
        return;
    now = cs_now();
    if (now - p->last_shown < 0.2 && !(p->total && done == p->total))
        return;
    p->last_shown = now;
    el = now - p->started;
    rate = el > 0 ? (double)done / el : 0;
    if (p->total && rate > 0) {
        double eta = (double)(p->total - (done < p->total ? done : p->total))
                     / rate;
        fprintf(stderr, "\r%s %llu/%llu (%.0f/s, ETA %.0fs)   ", p->verb,
                (unsigned long long)done, (unsigned long long)p->total, rate,
                eta);
    } else {
        fprintf(stderr, "\r%s %llu (%.0f/s)   ", p->verb,
                (unsigned long long)done, rate);
    }
    fflush(stderr);
}

void cs_progress_end(struct cs_progress *p)
{
    if (p->enabled && p->last_shown > 0)
        fputs("\r\033[K", stderr);
}
