/* log.h - leveled logging and terminal progress on stderr */
#ifndef CS_BASE_LOG_H
#define CS_BASE_LOG_H

#include <stdint.h>

enum cs_log_level {
    CS_LOG_ERROR = 0,
    CS_LOG_WARN = 1,
    CS_LOG_INFO = 2,   /* default */
    CS_LOG_DEBUG = 3
};

/* The current level: -q sets WARN, -v INFO... -vv DEBUG. */
extern int cs_log_level;

/*
 * cs_log(level, fmt, ...) writes "callscope: error: ..." (or warning:,
 * nothing for info, debug:) and a newline to stderr, formatting only when
 * the level is enabled.
 */
#define cs_log(level, ...)                                                   \
    do {                                                                     \
        if ((level) <= cs_log_level)                                         \
            cs_log_write((level), __VA_ARGS__);                              \
    } while (0)

void cs_log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Progress of a long loop. Shown as "verb done/total (rate/s, ETA)" on
 * stderr only when stderr is a terminal and the level is INFO or more;
 * otherwise silent (a summary line is the caller's job).
 */
struct cs_progress {
    const char *verb;
    uint64_t total;     /* 0: unknown */
    uint64_t done;
    double started;
    double last_shown;
    int enabled;
};

void cs_progress_start(struct cs_progress *p, const char *verb,
                       uint64_t total);
void cs_progress_update(struct cs_progress *p, uint64_t done);
/* Clears the progress line. */
void cs_progress_end(struct cs_progress *p);

/* Monotonic seconds. */
double cs_now(void);

#endif
