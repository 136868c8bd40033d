/* sample.h - deterministic generator of realistic sample conversations */
#ifndef CS_SAMPLE_SAMPLE_H
#define CS_SAMPLE_SAMPLE_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

/*
 * Usage:
 *
 *     struct cs_sample_opts o;
 *     cs_sample_opts_init(&o);          // seed 1, 2026-09-01, 60 days, 200/day
 *     o.seed = 42;
 *     if (cs_sample_generate(stdout, &o, &err) < 0) ...
 *
 * Output is JSON Lines in the input format of
 * docs/conversation-format.md: one conversation per line, UTF-8,
 * days in order and, within a day, lines in `started_at` order.
 *
 * The output is a pure function of the options: the same options give
 * byte-identical output on every run and platform (a private xoshiro256**
 * generator; no rand(), no clock, no locale). Memory stays constant: the
 * generator streams one hour of one day at a time.
 *
 * Tenants (time zones are those a config should give them for reports):
 *   acme-dental        AI receptionist, America/New_York: bookings,
 *                      reschedules, cancellations, insurance; reminder calls
 *   northwind-support  support agent, UTC, voice + chat + api: passwords,
 *                      billing and refunds with caller authentication,
 *                      troubleshooting with tickets, cancellations
 *   bluebird-energy    outbound campaigns, America/Chicago: appointment
 *                      reminders and contract renewals, many unanswered
 * Each has several agent versions, and a run of 10 days or more contains a
 * few incident days (a carrier outage, a slow LLM, a CRM outage) so that
 * alerts have something to find.
 */

struct cs_sample_opts {
    uint64_t seed;
    const char *start_date; /* "YYYY-MM-DD", UTC day of the first call */
    int days;               /* 1..3660 */
    long per_day;           /* average conversations per day, all tenants,
                               0..10,000,000 */
};

/* Fills `opts` with the defaults: seed 1, "2026-09-01", 60 days, 200/day. */
void cs_sample_opts_init(struct cs_sample_opts *opts);

/*
 * Number of conversations cs_sample_generate writes for `opts`: exactly
 * days * per_day (the daily counts vary with weekday and tenant mix but
 * always add up to that). Returns -1 when the options are invalid.
 */
long long cs_sample_count(const struct cs_sample_opts *opts);

/*
 * Writes the sample conversations for `opts` to `out` as JSON Lines.
 * Returns 0, CS_EINVALID for bad options (with the option named in `err`),
 * or CS_EIO when writing fails. `out` is flushed but not closed.
 */
int cs_sample_generate(FILE *out, const struct cs_sample_opts *opts,
                       struct cs_err *err);

#endif
