/* scripts.h - sample tenants: volume profiles and dialogue scripts */
#ifndef CS_SAMPLE_SCRIPTS_H
#define CS_SAMPLE_SCRIPTS_H

#include <stddef.h>

#include "sample/builder.h"

/*
 * Internal to src/sample/. One entry per sample tenant. sample.c decides
 * how many conversations each tenant gets per day and hour from the volume
 * fields, then for each conversation calls `setup` (channel, direction,
 * agent, customer, scenario), decides the outcome, and calls `talk` only
 * for answered ones.
 */
struct cs_sample_tenant {
    const char *name;
    const char *id_prefix;
    int utc_offset_h;       /* standard time */
    int us_dst;             /* 1: follows US daylight saving time */
    int share;              /* relative volume among tenants */
    int weekday[7];         /* relative volume, Monday..Sunday */
    int hours[24];          /* relative volume per local hour */
    double queue_p;         /* answered inbound voice calls that queued */
    /* `progress` runs from 0 to 1 over the generated period (rollouts). */
    void (*setup)(struct cs_sample_conv *c, double progress);
    void (*talk)(struct cs_sample_conv *c);
};

extern const struct cs_sample_tenant cs_sample_tenants[];
extern const size_t cs_sample_n_tenants;

#endif
