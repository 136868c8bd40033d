/* sample.c - deterministic generator of realistic sample conversations */
#include "sample/sample.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/parse.h"
#include "sample/builder.h"
#include "sample/rng.h"
#include "sample/scripts.h"

#define MAX_TENANTS 8
#define MAX_DAYS 3660
#define MAX_PER_DAY 10000000L
#define FLUSH_AT (1u << 20)
#define MS_PER_DAY 86400000LL

enum outcome {
    OUT_ANSWERED, OUT_NO_ANSWER, OUT_BUSY, OUT_FAILED, OUT_ABANDONED
};

static const char *const outcome_names[] = {
    "answered", "no_answer", "busy", "failed", "abandoned",
};

static const char *const channel_names[] = {"voice", "chat", "api"};

/* One conversation to generate within the current hour. */
struct item {
    int64_t ms_of_day;
    uint32_t tenant;
    uint32_t order;         /* creation order: a total order for ties */
};

struct gen {
    uint64_t seed;
    int64_t first_day;
    int days;
    FILE *out;
    struct cs_buf line;     /* output, flushed every FLUSH_AT bytes */
    struct cs_sample_conv conv;
    struct item *items;
    size_t items_cap;
    uint32_t seq[MAX_TENANTS];
    /* Incident days (-1: none): a carrier outage, a slow LLM provider,
     * and one tenant's back-office outage. */
    int64_t outage_day, slow_llm_day, tools_down_day;
    size_t tools_down_tenant;
};

void cs_sample_opts_init(struct cs_sample_opts *opts)
{
    opts->seed = 1;
    opts->start_date = "2026-09-01";
    opts->days = 60;
    opts->per_day = 200;
}

static int check_opts(const struct cs_sample_opts *opts, int64_t *first_day,
                      struct cs_err *err)
{
    if (!opts->start_date || cs_parse_date(opts->start_date, first_day) < 0)
        return cs_err_set(err, CS_EINVALID,
                          "invalid start date '%s': expected YYYY-MM-DD",
                          opts->start_date ? opts->start_date : "");
    if (opts->days < 1 || opts->days > MAX_DAYS)
        return cs_err_set(err, CS_EINVALID,
                          "invalid number of days %d: must be 1 to %d",
                          opts->days, MAX_DAYS);
    if (opts->per_day < 0 || opts->per_day > MAX_PER_DAY)
        return cs_err_set(err, CS_EINVALID,
                          "invalid conversations per day %ld: must be 0 to "
                          "%ld", opts->per_day, MAX_PER_DAY);
    return 0;
}

long long cs_sample_count(const struct cs_sample_opts *opts)
{
    int64_t first_day;

    if (check_opts(opts, &first_day, NULL) < 0)
        return -1;
    return (long long)opts->days * opts->per_day;
}

/* 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday). */
static int weekday_mon0(int64_t day)
{
    int64_t w = (day + 3) % 7;

    return (int)(w < 0 ? w + 7 : w);
}

/* US daylight saving time: second Sunday of March to first Sunday of
 * November (the 2am switch is ignored: nobody calls at 2am here). */
static int us_dst(int64_t day)
{
    int64_t y;
    unsigned m, d;
    int64_t first;
    int64_t sunday;

    cs_civil_from_days(day, &y, &m, &d);
    if (m < 3 || m > 11)
        return 0;
    if (m > 3 && m < 11)
        return 1;
    first = cs_days_from_civil(y, m, 1);
    sunday = first + (6 - weekday_mon0(first));
    if (m == 3)
        return day >= sunday + 7;
    return day < sunday;
}

/* A tenant's relative volume on a day: its share, the weekday, and some
 * day-to-day noise. A pure function of (seed, day, tenant). */
static double tenant_day_weight(uint64_t seed, int64_t day, size_t t)
{
    const struct cs_sample_tenant *tn = &cs_sample_tenants[t];
    struct cs_rng r;

    cs_rng_seed(&r, seed ^ 0x7765696768747321ULL,
                (uint64_t)day * MAX_TENANTS + t);
    return tn->share * tn->weekday[weekday_mon0(day)] *
           (0.88 + 0.24 * cs_rng_unit(&r));
}

static double day_weight(uint64_t seed, int64_t day)
{
    double w = 0;
    size_t t;

    for (t = 0; t < cs_sample_n_tenants; t++)
        w += tenant_day_weight(seed, day, t);
    return w;
}

/*
 * Splits `total` into n parts proportional to w[] by rounding the running
 * sum, so the parts always add up to exactly `total`.
 */
static void apportion(long long *out, const double *w, size_t n,
                      long long total)
{
    double sum = 0, cum = 0;
    long long prev = 0, at;
    size_t i;

    for (i = 0; i < n; i++)
        sum += w[i];
    for (i = 0; i < n; i++) {
        cum += w[i];
        at = sum > 0 ? (long long)floor((double)total * cum / sum + 0.5) : 0;
        if (i == n - 1)
            at = sum > 0 ? total : 0;
        out[i] = at - prev;
        prev = at;
    }
}

static int flush_line(struct gen *g, struct cs_err *err)
{
    if (g->line.len &&
        fwrite(g->line.ptr, 1, g->line.len, g->out) != g->line.len)
        return cs_err_set(err, CS_EIO, "cannot write sample output: %s",
                          strerror(errno));
    cs_buf_reset(&g->line);
    return 0;
}

static void put_digits(struct cs_buf *b, long long v, int width)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < width);
    cs_buf_grow(b, (size_t)n);
    while (n)
        b->ptr[b->len++] = tmp[--n];
    b->ptr[b->len] = '\0';
}

/* RFC 3339 UTC with a Z; milliseconds only when there are any. */
static void put_ts(struct cs_buf *b, int64_t ms)
{
    int64_t day = ms / MS_PER_DAY;
    int64_t in_day = ms % MS_PER_DAY;
    int64_t y;
    unsigned m, d;

    cs_civil_from_days(day, &y, &m, &d);
    cs_buf_addch(b, '"');
    put_digits(b, y, 4);
    cs_buf_addch(b, '-');
    put_digits(b, m, 2);
    cs_buf_addch(b, '-');
    put_digits(b, d, 2);
    cs_buf_addch(b, 'T');
    put_digits(b, in_day / 3600000, 2);
    cs_buf_addch(b, ':');
    put_digits(b, in_day / 60000 % 60, 2);
    cs_buf_addch(b, ':');
    put_digits(b, in_day / 1000 % 60, 2);
    if (in_day % 1000) {
        cs_buf_addch(b, '.');
        put_digits(b, in_day % 1000, 3);
    }
    CS_ADDL(b, "Z\"");
}

static enum outcome pick_outcome(struct cs_sample_conv *c, int outage,
                                 int *sip)
{
    static const int outbound_w[] = {52, 35, 11, 2, 0};
    static const int voice_w[] = {940, 15, 5, 10, 30};
    static const int chat_w[] = {955, 0, 0, 5, 40};
    static const int api_w[] = {980, 0, 0, 20, 0};
    static const int sip_in[] = {503, 500, 480, 408, 486, 488};
    static const int sip_in_w[] = {35, 25, 15, 10, 10, 5};
    static const int sip_out[] = {404, 480, 486, 503, 500};
    static const int sip_out_w[] = {20, 30, 10, 25, 15};
    enum outcome o;

    *sip = 0;
    if (c->channel == CS_SAMPLE_VOICE && outage &&
        cs_rng_chance(&c->rng, 0.25)) {
        *sip = 503;
        return OUT_FAILED;
    }
    if (c->outbound)
        o = (enum outcome)cs_rng_weighted(&c->rng, CS_POOL(outbound_w));
    else if (c->channel == CS_SAMPLE_VOICE)
        o = (enum outcome)cs_rng_weighted(&c->rng, CS_POOL(voice_w));
    else if (c->channel == CS_SAMPLE_CHAT)
        o = (enum outcome)cs_rng_weighted(&c->rng, CS_POOL(chat_w));
    else
        o = (enum outcome)cs_rng_weighted(&c->rng, CS_POOL(api_w));
    if (o == OUT_FAILED && c->channel == CS_SAMPLE_VOICE) {
        if (c->outbound)
            *sip = sip_out[cs_rng_weighted(&c->rng, CS_POOL(sip_out_w))];
        else
            *sip = sip_in[cs_rng_weighted(&c->rng, CS_POOL(sip_in_w))];
    }
    return o;
}

/* Ring and queue times in ms, by channel, direction and outcome. */
static void pick_waits(struct cs_sample_conv *c, enum outcome o,
                       double queue_p, int64_t *ring, int64_t *queue)
{
    struct cs_rng *r = &c->rng;

    *ring = 0;
    *queue = 0;
    if (c->channel == CS_SAMPLE_CHAT) {
        if (o == OUT_ANSWERED)
            *queue = cs_rng_range(r, 0, 30) * 100;
        else if (o == OUT_ABANDONED)
            *queue = cs_rng_range(r, 100, 1200) * 100;
        return;
    }
    if (c->channel == CS_SAMPLE_API)
        return;
    if (c->outbound) {
        if (o == OUT_ANSWERED)
            *ring = cs_rng_range(r, 30, 220) * 100;
        else if (o == OUT_NO_ANSWER)
            *ring = cs_rng_range(r, 250, 450) * 100;
        else if (o == OUT_BUSY)
            *ring = cs_rng_range(r, 5, 30) * 100;
        else
            *ring = cs_rng_range(r, 0, 10) * 100;
        return;
    }
    switch (o) {
    case OUT_ANSWERED:
        *ring = cs_rng_range(r, 5, 40) * 100;
        if (cs_rng_chance(r, queue_p))
            *queue = cs_rng_range(r, 30, 900) * 100;
        break;
    case OUT_ABANDONED:
        *ring = cs_rng_range(r, 5, 40) * 100;
        *queue = cs_rng_range(r, 150, 2400) * 100;
        break;
    case OUT_NO_ANSWER:
        *ring = cs_rng_range(r, 200, 350) * 100;
        break;
    case OUT_BUSY:
        break;
    default:
        *ring = cs_rng_range(r, 0, 20) * 100;
        break;
    }
}

/* Survey answers follow how the conversation went: 0 badly, 1 so-so,
 * 2 well (the rows of the answer weights below). */
static int went(const struct cs_sample_conv *c)
{
    if (c->mood == CS_MOOD_NEGATIVE || c->task_ok == 0)
        return 0;
    return c->mood == CS_MOOD_POSITIVE && !c->handoff ? 2 : 1;
}

static int pick_csat(struct cs_sample_conv *c)
{
    static const int w[3][5] = {{30, 30, 25, 10, 5},
                                {4, 7, 25, 40, 24},
                                {1, 1, 6, 30, 62}};

    return 1 + (int)cs_rng_weighted(&c->rng, w[went(c)], 5);
}

static int pick_nps(struct cs_sample_conv *c)
{
    static const int w[3][11] = {{14, 10, 12, 14, 12, 12, 10, 7, 5, 2, 2},
                                 {1, 1, 2, 4, 6, 12, 15, 20, 18, 12, 9},
                                 {0, 0, 0, 1, 1, 2, 3, 8, 20, 30, 35}};

    return (int)cs_rng_weighted(&c->rng, w[went(c)], 11);
}

/* Carriers bill in 6-second increments, at least one. */
static int64_t billed_ms(int64_t ms)
{
    return ms <= 6000 ? 6000 : (ms + 5999) / 6000 * 6000;
}

/* Money in millionths: telephony by the minute, speech by the AI's talk
 * time, LLM per call, SMS and chat platform fees as "other". */
static void put_costs(struct cs_buf *b, struct cs_sample_conv *c,
                      enum outcome o, int64_t started, int64_t answered,
                      int64_t ended)
{
    int64_t ai_ms = c->handoff ? c->handoff_at_ms : c->now_ms;
    int64_t tel, llm, other;
    int i;

    if (c->channel != CS_SAMPLE_VOICE && o != OUT_ANSWERED)
        return;
    CS_ADDL(b, ",\"costs\":{");
    if (c->channel == CS_SAMPLE_VOICE) {
        if (c->outbound) {
            tel = 400; /* per dial attempt */
            if (o == OUT_ANSWERED)
                tel += billed_ms(ended - answered) * 13 / 60;
        } else {
            tel = billed_ms(ended - started) * 85 / 600;
        }
        CS_ADDL(b, "\"telephony\":");
        cs_sample_json_fixed(b, tel, 6);
        if (o != OUT_ANSWERED) {
            cs_buf_addch(b, '}');
            return;
        }
        CS_ADDL(b, ",\"stt\":");
        cs_sample_json_fixed(b, ai_ms / 10, 6);
        CS_ADDL(b, ",\"tts\":");
        cs_sample_json_fixed(b, ai_ms * 2 / 15, 6);
        cs_buf_addch(b, ',');
    }
    llm = 0;
    for (i = 0; i < c->n_llm; i++)
        llm += cs_rng_range(&c->rng, 700, 1500);
    CS_ADDL(b, "\"llm\":");
    cs_sample_json_fixed(b, llm, 6);
    other = c->n_sms * 7900 + (c->channel != CS_SAMPLE_VOICE ? 500 : 0);
    if (other) {
        CS_ADDL(b, ",\"other\":");
        cs_sample_json_fixed(b, other, 6);
    }
    cs_buf_addch(b, '}');
}

static void put_handoff(struct cs_buf *b, const struct cs_sample_conv *c)
{
    CS_ADDL(b, ",\"handoff\":");
    if (!c->handoff) {
        CS_ADDL(b, "null");
        return;
    }
    CS_ADDL(b, "{\"type\":\"");
    cs_buf_adds(b, c->handoff_type);
    CS_ADDL(b, "\",\"target\":\"");
    cs_buf_adds(b, c->handoff_target);
    CS_ADDL(b, "\",\"at_s\":");
    cs_sample_json_fixed(b, (c->handoff_at_ms + 5) / 10, 2);
    CS_ADDL(b, ",\"reason\":\"");
    cs_buf_adds(b, c->handoff_reason);
    CS_ADDL(b, "\"}");
}

/* ,"<name>":[<items>], from a fragment the builder wrote. */
static void put_array(struct cs_buf *b, const char *name,
                      const struct cs_buf *items)
{
    CS_ADDL(b, ",\"");
    cs_buf_adds(b, name);
    CS_ADDL(b, "\":[");
    cs_buf_add(b, items->ptr, items->len);
    cs_buf_addch(b, ']');
}

static void put_metadata(struct cs_buf *b, const struct cs_sample_conv *c)
{
    CS_ADDL(b, ",\"metadata\":{\"locale\":\"");
    cs_buf_adds(b, c->locale);
    cs_buf_addch(b, '"');
    if (c->campaign) {
        CS_ADDL(b, ",\"campaign\":\"");
        cs_buf_adds(b, c->campaign);
        cs_buf_addch(b, '"');
    }
    if (c->attempt) {
        CS_ADDL(b, ",\"attempt\":");
        put_digits(b, c->attempt, 1);
    }
    if (c->entry) {
        CS_ADDL(b, ",\"entry\":\"");
        cs_buf_adds(b, c->entry);
        cs_buf_addch(b, '"');
    }
    if (c->voicemail)
        CS_ADDL(b, ",\"voicemail\":true");
    if (c->channel == CS_SAMPLE_VOICE && !c->outbound)
        CS_ADDL(b, ",\"recorded\":true");
    cs_buf_addch(b, '}');
}

/* Generates one conversation and appends its line to g->line. */
static void emit(struct gen *g, size_t t, int64_t day, int64_t ms_of_day,
                 uint32_t seq)
{
    const struct cs_sample_tenant *tn = &cs_sample_tenants[t];
    struct cs_sample_conv *c = &g->conv;
    struct cs_buf *b = &g->line;
    int64_t started = day * MS_PER_DAY + ms_of_day;
    int64_t ring, queue, answered, ended, hour;
    int64_t y;
    unsigned m, d;
    enum outcome o;
    int sip, outage;

    cs_sample_conv_reset(c);
    cs_rng_seed(&c->rng, g->seed,
                ((uint64_t)day << 28) ^ ((uint64_t)t << 24) ^
                    ((uint64_t)seq * 0x100000001b3ULL));
    c->day = day;
    tn->setup(c, (double)(day - g->first_day) / g->days);
    hour = ms_of_day / 3600000;
    outage = day == g->outage_day && hour >= 14 && hour < 18;
    if (day == g->slow_llm_day)
        c->llm_scale = 1.8;
    if (day == g->tools_down_day && t == g->tools_down_tenant)
        c->tool_fail_scale = 8.0;

    o = pick_outcome(c, outage, &sip);
    pick_waits(c, o, tn->queue_p, &ring, &queue);
    answered = started + ring + queue;
    if (o == OUT_ANSWERED) {
        tn->talk(c);
        ended = answered + c->now_ms + cs_rng_range(&c->rng, 500, 2500);
        /* A handed-off call goes on with a person: ended_at covers it. */
        if (c->handoff && c->channel == CS_SAMPLE_VOICE)
            ended += (int64_t)(180000 * exp(0.5 * cs_rng_normal(&c->rng)));
        else if (c->handoff)
            ended += (int64_t)(420000 * exp(0.6 * cs_rng_normal(&c->rng)));
    } else {
        ended = answered + cs_rng_range(&c->rng, 0, 800);
    }

    /* id, tenant, agent, channel, direction, caller, callee */
    CS_ADDL(b, "{\"id\":\"");
    cs_buf_adds(b, tn->id_prefix);
    cs_buf_addch(b, '-');
    cs_civil_from_days(day, &y, &m, &d);
    put_digits(b, y * 10000 + m * 100 + d, 8);
    cs_buf_addch(b, '-');
    put_digits(b, seq, 5);
    CS_ADDL(b, "\",\"tenant\":\"");
    cs_buf_adds(b, tn->name);
    CS_ADDL(b, "\",\"agent\":\"");
    cs_buf_adds(b, c->agent);
    CS_ADDL(b, "\",\"channel\":\"");
    cs_buf_adds(b, channel_names[c->channel]);
    if (c->outbound) {
        CS_ADDL(b, "\",\"direction\":\"outbound\",\"caller\":\"");
        cs_buf_adds(b, c->company_number);
        CS_ADDL(b, "\",\"callee\":");
        cs_sample_json_str(b, c->customer_handle, strlen(c->customer_handle));
    } else {
        CS_ADDL(b, "\",\"direction\":\"inbound\",\"caller\":");
        cs_sample_json_str(b, c->customer_handle, strlen(c->customer_handle));
        CS_ADDL(b, ",\"callee\":\"");
        cs_buf_adds(b, c->channel == CS_SAMPLE_VOICE ? c->company_number
                                                     : tn->name);
        cs_buf_addch(b, '"');
    }

    /* times and outcome */
    CS_ADDL(b, ",\"started_at\":");
    put_ts(b, started);
    if (o == OUT_ANSWERED) {
        CS_ADDL(b, ",\"answered_at\":");
        put_ts(b, answered);
    }
    CS_ADDL(b, ",\"ended_at\":");
    put_ts(b, ended);
    CS_ADDL(b, ",\"outcome\":\"");
    cs_buf_adds(b, outcome_names[o]);
    cs_buf_addch(b, '"');
    if (c->channel == CS_SAMPLE_VOICE) {
        CS_ADDL(b, ",\"ring_s\":");
        cs_sample_json_fixed(b, ring / 100, 1);
    }
    if (!c->outbound && c->channel != CS_SAMPLE_API) {
        CS_ADDL(b, ",\"queue_wait_s\":");
        cs_sample_json_fixed(b, queue / 100, 1);
    }
    if (sip) {
        CS_ADDL(b, ",\"sip_error_code\":");
        put_digits(b, sip, 1);
    }

    /* the conversation itself */
    if (o == OUT_ANSWERED)
        put_handoff(b, c);
    put_array(b, "turns", &c->turns);
    if (c->n_tools)
        put_array(b, "tool_calls", &c->tools);
    if (c->n_spans)
        put_array(b, "spans", &c->spans);
    put_costs(b, c, o, started, answered, ended);
    if (o == OUT_ANSWERED && !c->voicemail) {
        if (cs_rng_chance(&c->rng, c->outbound ? 0.12 : 0.28)) {
            CS_ADDL(b, ",\"csat\":");
            put_digits(b, pick_csat(c), 1);
        }
        if (cs_rng_chance(&c->rng, 0.10)) {
            CS_ADDL(b, ",\"nps\":");
            put_digits(b, pick_nps(c), 1);
        }
    }
    if (c->n_topics)
        put_array(b, "topics", &c->topics);
    if (c->n_metrics)
        put_array(b, "metrics", &c->metrics);
    put_metadata(b, c);
    CS_ADDL(b, "}\n");
}

static int item_cmp(const void *pa, const void *pb)
{
    const struct item *a = pa;
    const struct item *b = pb;

    if (a->ms_of_day != b->ms_of_day)
        return a->ms_of_day < b->ms_of_day ? -1 : 1;
    if (a->tenant != b->tenant)
        return a->tenant < b->tenant ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Writes the `n` conversations of one UTC day, hour by hour. */
static int gen_day(struct gen *g, int64_t day, long long n,
                   struct cs_err *err)
{
    double tw[MAX_TENANTS], hw[24];
    long long per_tenant[MAX_TENANTS], per_hour[MAX_TENANTS][24];
    struct cs_rng r;
    size_t t, k, count;
    int h, off;
    long long i;
    uint32_t order;
    int ret;

    for (t = 0; t < cs_sample_n_tenants; t++)
        tw[t] = tenant_day_weight(g->seed, day, t);
    apportion(per_tenant, tw, cs_sample_n_tenants, n);

    cs_rng_seed(&r, g->seed ^ 0x686f757273ULL, (uint64_t)day);
    for (t = 0; t < cs_sample_n_tenants; t++) {
        const struct cs_sample_tenant *tn = &cs_sample_tenants[t];

        off = tn->utc_offset_h + (tn->us_dst && us_dst(day) ? 1 : 0);
        for (h = 0; h < 24; h++)
            hw[h] = tn->hours[((h + off) % 24 + 24) % 24] *
                    (0.85 + 0.3 * cs_rng_unit(&r));
        apportion(per_hour[t], hw, 24, per_tenant[t]);
        g->seq[t] = 0;
    }

    for (h = 0; h < 24; h++) {
        count = 0;
        for (t = 0; t < cs_sample_n_tenants; t++)
            count += (size_t)per_hour[t][h];
        if (count == 0)
            continue;
        if (count > g->items_cap) {
            g->items_cap = count + count / 2;
            g->items = cs_xrealloc(g->items,
                                   g->items_cap * sizeof(*g->items));
        }
        k = 0;
        order = 0;
        for (t = 0; t < cs_sample_n_tenants; t++) {
            for (i = 0; i < per_hour[t][h]; i++) {
                g->items[k].ms_of_day =
                    (int64_t)h * 3600000 + cs_rng_below(&r, 3600) * 1000LL;
                g->items[k].tenant = (uint32_t)t;
                g->items[k].order = order++;
                k++;
            }
        }
        qsort(g->items, count, sizeof(*g->items), item_cmp);
        for (k = 0; k < count; k++) {
            t = g->items[k].tenant;
            emit(g, t, day, g->items[k].ms_of_day, ++g->seq[t]);
            if (g->line.len >= FLUSH_AT) {
                ret = flush_line(g, err);
                if (ret < 0)
                    return ret;
            }
        }
    }
    return 0;
}

/* Picks the incident days from the seed; short runs have none. */
static void pick_incidents(struct gen *g)
{
    struct cs_rng r;

    g->outage_day = g->slow_llm_day = g->tools_down_day = -1;
    g->tools_down_tenant = 0;
    if (g->days < 10)
        return;
    cs_rng_seed(&r, g->seed ^ 0x696e636964656e74ULL, 0);
    g->outage_day = g->first_day + cs_rng_range(&r, 3, g->days - 1);
    g->slow_llm_day = g->first_day + cs_rng_range(&r, 3, g->days - 1);
    g->tools_down_day = g->first_day + cs_rng_range(&r, 3, g->days - 1);
    g->tools_down_tenant = cs_rng_below(&r, (uint32_t)cs_sample_n_tenants);
}

int cs_sample_generate(FILE *out, const struct cs_sample_opts *opts,
                       struct cs_err *err)
{
    struct gen g;
    double total_w = 0, cum = 0;
    long long total, prev = 0, at;
    int64_t day;
    int i, ret;

    if (cs_sample_n_tenants > MAX_TENANTS)
        return cs_err_set(err, CS_ERROR, "too many sample tenants");
    memset(&g, 0, sizeof(g));
    ret = check_opts(opts, &g.first_day, err);
    if (ret < 0)
        return ret;
    g.seed = opts->seed;
    g.days = opts->days;
    g.out = out;
    cs_buf_init(&g.line);
    cs_sample_conv_init(&g.conv);
    pick_incidents(&g);

    total = (long long)opts->days * opts->per_day;
    for (i = 0; i < opts->days; i++)
        total_w += day_weight(g.seed, g.first_day + i);
    for (i = 0; i < opts->days; i++) {
        day = g.first_day + i;
        cum += day_weight(g.seed, day);
        at = (long long)floor((double)total * cum / total_w + 0.5);
        if (i == opts->days - 1)
            at = total;
        ret = gen_day(&g, day, at - prev, err);
        if (ret < 0)
            goto done;
        prev = at;
    }
    ret = flush_line(&g, err);
    if (ret < 0)
        goto done;
    if (fflush(out) != 0 || ferror(out)) {
        ret = cs_err_set(err, CS_EIO, "cannot write sample output: %s",
                         strerror(errno));
        goto done;
    }

done:
    cs_buf_release(&g.line);
    cs_sample_conv_release(&g.conv);
    free(g.items);
    return ret;
}
