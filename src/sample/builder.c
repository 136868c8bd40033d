/* builder.c - builds one sample conversation: turns, tool calls, spans, JSON */
#include "sample/builder.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"

/* Customers: display name and the ASCII form used in e-mail addresses. */
struct person_name {
    const char *display;
    const char *ascii;
};

static const struct person_name first_names[] = {
    {"Jane", "jane"},       {"Michael", "michael"}, {"Priya", "priya"},
    {"José", "jose"},       {"Emily", "emily"},     {"David", "david"},
    {"Aisha", "aisha"},     {"Tom", "tom"},         {"Renée", "renee"},
    {"Carlos", "carlos"},   {"Linda", "linda"},     {"Wei", "wei"},
    {"Sarah", "sarah"},     {"James", "james"},     {"Fatima", "fatima"},
    {"Robert", "robert"},   {"Zoë", "zoe"},         {"Kevin", "kevin"},
    {"Maria", "maria"},     {"Daniel", "daniel"},   {"Olga", "olga"},
    {"Marcus", "marcus"},   {"Hannah", "hannah"},   {"Luis", "luis"},
    {"Grace", "grace"},     {"Ahmed", "ahmed"},     {"Chloé", "chloe"},
    {"Brian", "brian"},     {"Nina", "nina"},       {"Samuel", "samuel"},
    {"Keiko", "keiko"},     {"Patrick", "patrick"},
};

static const struct person_name last_names[] = {
    {"Doe", "doe"},           {"Smith", "smith"},     {"García", "garcia"},
    {"Nguyen", "nguyen"},     {"Patel", "patel"},     {"Müller", "muller"},
    {"O'Brien", "obrien"},    {"Johnson", "johnson"}, {"Kowalski", "kowalski"},
    {"Okafor", "okafor"},     {"Chen", "chen"},       {"Rossi", "rossi"},
    {"Williams", "williams"}, {"Brown", "brown"},     {"Haddad", "haddad"},
    {"Martínez", "martinez"}, {"Lee", "lee"},
    {"Andersson", "andersson"},
    {"Davis", "davis"},       {"Tanaka", "tanaka"},   {"Murphy", "murphy"},
    {"Silva", "silva"},       {"Cohen", "cohen"},     {"Walker", "walker"},
};

static const char *const email_domains[] = {
    "example.com", "example.org", "example.net", "mail.example.com",
};

/* Area codes of the fictional 555-01xx numbers customers call from. */
static const char *const area_codes[] = {
    "415", "212", "646", "718", "312", "617", "202", "305", "404", "512",
    "206", "303", "702", "213", "860", "973", "919", "615", "503", "801",
};

static const char *const weekdays[] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};

static const char *const times[] = {
    "8:30am", "9am", "9:30am", "10am", "10:45am", "11am", "11:30am", "1pm",
    "1:30pm", "2pm", "2:30pm", "3pm", "3:15pm", "4pm", "4:30pm", "5pm",
};

static const char *const months[] = {
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
};

/* Well-known test card numbers, in the forms people read them out. */
static const char *const cards[] = {
    "4111 1111 1111 1111", "5555 5555 5555 4444", "4242 4242 4242 4242",
    "4000-0566-5566-5556", "3782 822463 10005",   "6011 1111 1111 1117",
};

static const char *const tool_errors[] = {
    "timeout after 5000 ms",
    "HTTP 503 Service Unavailable",
    "HTTP 500 Internal Server Error",
    "connection reset by peer",
    "rate limited (HTTP 429)",
    "invalid response: missing field 'id'",
};

/* Slot names in enum cs_sample_slot order. */
static const char *const slot_names[CS_SLOT_COUNT] = {
    "name",   "full",   "bot",   "day",    "day2",   "time",
    "time2",  "date",   "phone", "email",  "email2", "card",
    "last4",  "dob",    "amount", "ticket", "account", "svc",
    "who",    "ins",    "plan",  "device", "rate",
};

enum { ROLE_AGENT = 0, ROLE_CUSTOMER = 1, ROLE_SYSTEM = 2 };

void cs_sample_conv_init(struct cs_sample_conv *c)
{
    cs_buf_init(&c->turns);
    cs_buf_init(&c->tools);
    cs_buf_init(&c->spans);
    cs_buf_init(&c->metrics);
    cs_buf_init(&c->topics);
    cs_buf_init(&c->text);
    cs_sample_conv_reset(c);
}

void cs_sample_conv_release(struct cs_sample_conv *c)
{
    cs_buf_release(&c->turns);
    cs_buf_release(&c->tools);
    cs_buf_release(&c->spans);
    cs_buf_release(&c->metrics);
    cs_buf_release(&c->topics);
    cs_buf_release(&c->text);
}

void cs_sample_conv_reset(struct cs_sample_conv *c)
{
    cs_buf_reset(&c->turns);
    cs_buf_reset(&c->tools);
    cs_buf_reset(&c->spans);
    cs_buf_reset(&c->metrics);
    cs_buf_reset(&c->topics);
    cs_buf_reset(&c->text);
    c->channel = CS_SAMPLE_VOICE;
    c->outbound = 0;
    c->version = 0;
    c->mood = CS_MOOD_NEUTRAL;
    c->pii = 0;
    c->spanish = 0;
    c->scenario = 0;
    c->agent = NULL;
    c->campaign = NULL;
    c->locale = "en-US";
    c->company_number = NULL;
    c->customer_handle[0] = '\0';
    c->customer = 0;
    c->day = 0;
    c->tool_fail_scale = 1.0;
    c->llm_scale = 1.0;
    c->llm_median_ms = 600;
    c->attempt = 0;
    c->entry = NULL;
    c->tagging = 0;
    c->logs_metrics = 0;
    c->task_ok = -1;
    c->handoff = 0;
    c->handoff_type = NULL;
    c->handoff_target = NULL;
    c->handoff_reason = NULL;
    c->handoff_at_ms = 0;
    c->voicemail = 0;
    c->now_ms = 0;
    c->pending_ms = 0;
    c->response_open = 0;
    c->last_role = -1;
    c->n_turns = 0;
    c->n_tools = 0;
    c->n_tool_fail = 0;
    c->n_spans = 0;
    c->n_metrics = 0;
    c->n_topics = 0;
    c->n_llm = 0;
    c->n_sms = 0;
    memset(c->slot, 0, sizeof(c->slot));
}

void cs_sample_set(struct cs_sample_conv *c, int slot, const char *value)
{
    assert(slot >= 0 && slot < CS_SLOT_COUNT);
    c->slot[slot] = value;
}

/* A customer's name indices are a function of the customer id, so that a
 * repeat caller keeps the same name, number and e-mail address. */
static uint64_t customer_hash(const struct cs_sample_conv *c)
{
    uint64_t x = (uint64_t)c->customer * 0x9e3779b97f4a7c15ULL + 12345;

    return cs_rng_mix(&x);
}

/*
 * Formats a slot value into its fixed-size store. Slot values are short
 * bounded fields filled on the hot path, so snprintf into the struct is
 * clearer and cheaper here than a heap-backed cs_buf per slot.
 */
static const char *store_f(struct cs_sample_conv *c, int slot,
                           const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *store_f(struct cs_sample_conv *c, int slot,
                           const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->store[slot], sizeof(c->store[slot]), fmt, ap);
    va_end(ap);
    c->slot[slot] = c->store[slot];
    return c->slot[slot];
}

/* The customer's own number: +1 <area> 555 01<xx>. */
static void phone_parts(const struct cs_sample_conv *c, const char **area,
                        unsigned *line)
{
    uint64_t h = customer_hash(c);
    size_t n = sizeof(area_codes) / sizeof(area_codes[0]);

    *area = area_codes[(h >> 8) % n];
    *line = 100 + (unsigned)((h >> 20) % 100);
}

void cs_sample_phone_handle(struct cs_sample_conv *c)
{
    const char *area;
    unsigned line;

    phone_parts(c, &area, &line);
    snprintf(c->customer_handle, sizeof(c->customer_handle), "+1%s5550%u",
             area, line);
}

static const char *fill_slot(struct cs_sample_conv *c, int slot);

/* Appends `s` lower-cased (ASCII letters only, so UTF-8 stays intact) and
 * without apostrophes. */
static void add_lower(struct cs_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\'')
            continue;
        if (*s >= 'A' && *s <= 'Z')
            cs_buf_addch(b, (char)(*s - 'A' + 'a'));
        else
            cs_buf_addch(b, *s);
    }
}

/* Some people's addresses keep the accents of their names
 * ("josé.garcía@example.com"), which a redactor must still catch. */
static const char *display_email(struct cs_sample_conv *c,
                                 const struct person_name *fn,
                                 const struct person_name *ln,
                                 const char *domain)
{
    struct cs_buf *b = &c->text;
    size_t keep = b->len;

    add_lower(b, fn->display);
    cs_buf_addch(b, '.');
    add_lower(b, ln->display);
    cs_buf_addch(b, '@');
    cs_buf_adds(b, domain);
    store_f(c, CS_SLOT_EMAIL, "%s", b->ptr + keep);
    b->len = keep;
    b->ptr[keep] = '\0';
    return c->slot[CS_SLOT_EMAIL];
}

static const char *slot_get(struct cs_sample_conv *c, int slot)
{
    return c->slot[slot] ? c->slot[slot] : fill_slot(c, slot);
}

const char *cs_sample_get(struct cs_sample_conv *c, int slot)
{
    assert(slot >= 0 && slot < CS_SLOT_COUNT);
    return slot_get(c, slot);
}

static const char *fill_slot(struct cs_sample_conv *c, int slot)
{
    uint64_t h = customer_hash(c);
    const struct person_name *fn =
        &first_names[h % (sizeof(first_names) / sizeof(first_names[0]))];
    const struct person_name *ln =
        &last_names[(h >> 32) % (sizeof(last_names) / sizeof(last_names[0]))];
    const char *area;
    unsigned line, m, d;
    int64_t y;
    uint32_t k;

    switch (slot) {
    case CS_SLOT_NAME:
        return c->slot[slot] = fn->display;
    case CS_SLOT_FULL:
        return store_f(c, slot, "%s %s", fn->display, ln->display);
    case CS_SLOT_BOT:
        return c->slot[slot] = "Ava";
    case CS_SLOT_DAY:
        return c->slot[slot] = CS_PICK(c, weekdays);
    case CS_SLOT_DAY2:
        k = cs_rng_below(&c->rng, 5);
        if (weekdays[k] == slot_get(c, CS_SLOT_DAY))
            k = 5;
        return c->slot[slot] = weekdays[k];
    case CS_SLOT_TIME:
        return c->slot[slot] = CS_PICK(c, times);
    case CS_SLOT_TIME2:
        k = cs_rng_below(&c->rng, 15);
        if (times[k] == slot_get(c, CS_SLOT_TIME))
            k = 15;
        return c->slot[slot] = times[k];
    case CS_SLOT_DATE:
        cs_civil_from_days(c->day + cs_rng_range(&c->rng, 3, 40), &y, &m, &d);
        return store_f(c, slot, "%s %u%s", months[m - 1], d,
                       (d % 10 == 1 && d != 11)   ? "st"
                       : (d % 10 == 2 && d != 12) ? "nd"
                       : (d % 10 == 3 && d != 13) ? "rd"
                                                  : "th");
    case CS_SLOT_PHONE:
        phone_parts(c, &area, &line);
        switch (cs_rng_below(&c->rng, 4)) {
        case 0:
            return store_f(c, slot, "+1 %s 555 0%u", area, line);
        case 1:
            return store_f(c, slot, "(%s) 555-0%u", area, line);
        case 2:
            return store_f(c, slot, "%s-555-0%u", area, line);
        default:
            return store_f(c, slot, "%s 555 0%u", area, line);
        }
    case CS_SLOT_EMAIL:
        if ((h >> 50) % 4 == 0)
            return display_email(c, fn, ln, email_domains[(h >> 40) % 4]);
        return store_f(c, slot, "%s.%s@%s", fn->ascii, ln->ascii,
                       email_domains[(h >> 40) % 4]);
    case CS_SLOT_EMAIL2:
        return store_f(c, slot, "%s_%s%u@%s", fn->ascii, ln->ascii,
                       (unsigned)((h >> 44) % 90) + 10,
                       email_domains[((h >> 40) + 1) % 4]);
    case CS_SLOT_CARD:
        return c->slot[slot] = CS_PICK(c, cards);
    case CS_SLOT_LAST4:
        phone_parts(c, &area, &line);
        return store_f(c, slot, "0%u", line);
    case CS_SLOT_DOB:
        return store_f(c, slot, "%s %u, %u", months[(h >> 12) % 12],
                       (unsigned)((h >> 16) % 28) + 1,
                       (unsigned)(1948 + (h >> 24) % 58));
    case CS_SLOT_AMOUNT:
        return store_f(c, slot, "$%ld.%02ld", cs_rng_range(&c->rng, 19, 189),
                       cs_rng_range(&c->rng, 0, 99));
    case CS_SLOT_TICKET:
        return store_f(c, slot, "NW-%06ld", cs_rng_range(&c->rng, 100000,
                                                         999999));
    case CS_SLOT_ACCOUNT:
        return store_f(c, slot, "7%07u", (unsigned)((h >> 28) % 10000000));
    default:
        /* A script slot the script forgot to set: keep the text readable. */
        return c->slot[slot] = "that";
    }
}

/* Expands {slot} placeholders of `tmpl` into c->text (raw UTF-8). */
static void expand(struct cs_sample_conv *c, const char *tmpl)
{
    const char *p = tmpl;
    const char *open;
    const char *close;
    size_t klen;
    int i;

    cs_buf_reset(&c->text);
    for (;;) {
        open = strchr(p, '{');
        if (!open) {
            cs_buf_adds(&c->text, p);
            return;
        }
        cs_buf_add(&c->text, p, (size_t)(open - p));
        close = strchr(open, '}');
        assert(close);
        klen = (size_t)(close - open - 1);
        for (i = 0; i < CS_SLOT_COUNT; i++) {
            if (strlen(slot_names[i]) == klen &&
                !memcmp(slot_names[i], open + 1, klen))
                break;
        }
        assert(i < CS_SLOT_COUNT);
        cs_buf_adds(&c->text, slot_get(c, i));
        p = close + 1;
    }
}

/* Characters that need escaping inside a JSON string. */
static int needs_escape(unsigned char ch)
{
    return ch < 0x20 || ch == '"' || ch == '\\';
}

void cs_sample_json_str(struct cs_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    size_t run;
    unsigned char ch;
    char esc[6];

    cs_buf_grow(b, len + 2);
    cs_buf_addch(b, '"');
    while (i < len) {
        run = i;
        while (run < len && !needs_escape((unsigned char)s[run]))
            run++;
        cs_buf_add(b, s + i, run - i);
        if (run == len)
            break;
        ch = (unsigned char)s[run];
        esc[0] = '\\';
        switch (ch) {
        case '"':
        case '\\':
            esc[1] = (char)ch;
            cs_buf_add(b, esc, 2);
            break;
        case '\n':
            esc[1] = 'n';
            cs_buf_add(b, esc, 2);
            break;
        case '\t':
            esc[1] = 't';
            cs_buf_add(b, esc, 2);
            break;
        default:
            cs_buf_add(b, "\\u00", 4);
            esc[0] = hex[ch >> 4];
            esc[1] = hex[ch & 15];
            cs_buf_add(b, esc, 2);
            break;
        }
        i = run + 1;
    }
    cs_buf_addch(b, '"');
}

void cs_sample_json_fixed(struct cs_buf *b, int64_t v, int decimals)
{
    char tmp[32];
    int n = 0;
    int i;

    assert(v >= 0 && decimals >= 0 && decimals < 12);
    /* Digits in reverse: the fraction first, then the integer part. */
    for (i = 0; i < decimals; i++) {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    }
    if (decimals)
        tmp[n++] = '.';
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    cs_buf_grow(b, (size_t)n);
    while (n)
        b->ptr[b->len++] = tmp[--n];
    b->ptr[b->len] = '\0';
}

/* A duration around `median` ms, log-normally spread, clamped. */
static int64_t spread_ms(struct cs_sample_conv *c, double median, double sigma,
                         int64_t lo, int64_t hi)
{
    double v = median * exp(sigma * cs_rng_normal(&c->rng));

    if (v < (double)lo)
        return lo;
    if (v > (double)hi)
        return hi;
    return (int64_t)v;
}

static void add_span(struct cs_sample_conv *c, const char *name, int64_t ms)
{
    struct cs_buf *b = &c->spans;

    if (c->n_spans++)
        cs_buf_addch(b, ',');
    CS_ADDL(b, "{\"name\":\"");
    cs_buf_adds(b, name);
    CS_ADDL(b, "\",\"duration_ms\":");
    cs_sample_json_fixed(b, ms, 0);
    cs_buf_addch(b, '}');
}

/* Turn times are written in seconds with two decimals. */
static void add_turn(struct cs_sample_conv *c, int role, int64_t start_ms,
                     int64_t end_ms, int timed)
{
    static const char *const roles[] = {
        "{\"role\":\"agent\",\"text\":",
        "{\"role\":\"customer\",\"text\":",
        "{\"role\":\"system\",\"text\":",
    };
    struct cs_buf *b = &c->turns;

    if (c->n_turns++)
        cs_buf_addch(b, ',');
    cs_buf_adds(b, roles[role]);
    cs_sample_json_str(b, c->text.ptr, c->text.len);
    if (timed) {
        CS_ADDL(b, ",\"start_s\":");
        cs_sample_json_fixed(b, (start_ms + 5) / 10, 2);
        CS_ADDL(b, ",\"end_s\":");
        cs_sample_json_fixed(b, (end_ms + 5) / 10, 2);
    }
    cs_buf_addch(b, '}');
    c->last_role = role;
}

/*
 * Starts the agent's next response: speech recognition of the customer's
 * last utterance (voice), then the LLM. A static greeting needs neither.
 */
static void open_response(struct cs_sample_conv *c)
{
    double median;
    int64_t ms;

    if (c->response_open)
        return;
    c->response_open = 1;
    c->pending_ms = 0;
    if (c->n_turns == 0 || c->last_role == ROLE_SYSTEM) {
        c->pending_ms = cs_rng_range(&c->rng, 200, 900);
        return;
    }
    if (c->channel == CS_SAMPLE_VOICE && c->last_role == ROLE_CUSTOMER) {
        ms = spread_ms(c, 205, 0.28, 120, 450);
        add_span(c, "stt", ms);
        c->pending_ms += ms;
    }
    median = c->llm_median_ms * c->llm_scale;
    if (cs_rng_chance(&c->rng, 0.02))
        ms = (int64_t)(median * (1.5 + 1.8 * cs_rng_unit(&c->rng)));
    else
        ms = spread_ms(c, median, 0.2, 280, 4000);
    add_span(c, "llm", ms);
    c->pending_ms += ms;
    c->n_llm++;
}

void cs_sample_agent(struct cs_sample_conv *c, const char *const *pool,
                     size_t n)
{
    int64_t start, dur, tts;

    expand(c, pool[cs_rng_below(&c->rng, (uint32_t)n)]);
    open_response(c);
    if (c->channel == CS_SAMPLE_VOICE) {
        tts = spread_ms(c, 170, 0.3, 90, 320);
        add_span(c, "tts", tts);
        start = c->now_ms + c->pending_ms + tts;
        dur = 250 + (int64_t)c->text.len * cs_rng_range(&c->rng, 55, 66);
    } else {
        start = c->now_ms + c->pending_ms + cs_rng_range(&c->rng, 50, 250);
        dur = 150 + (int64_t)c->text.len * 4;
    }
    add_turn(c, ROLE_AGENT, start, start + dur, 1);
    c->now_ms = start + dur;
    c->response_open = 0;
    c->pending_ms = 0;
}

void cs_sample_customer(struct cs_sample_conv *c, const char *const *pool,
                        size_t n)
{
    int64_t start, dur;

    expand(c, pool[cs_rng_below(&c->rng, (uint32_t)n)]);
    if (c->channel == CS_SAMPLE_VOICE) {
        start = c->now_ms + spread_ms(c, 650, 0.35, 250, 2500);
        dur = 300 + (int64_t)c->text.len * cs_rng_range(&c->rng, 60, 78);
    } else {
        start = c->now_ms + spread_ms(c, 3500, 0.5, 800, 20000);
        dur = 400 + (int64_t)c->text.len * cs_rng_range(&c->rng, 90, 160);
    }
    add_turn(c, ROLE_CUSTOMER, start, start + dur, 1);
    c->now_ms = start + dur;
}

void cs_sample_system(struct cs_sample_conv *c, const char *tmpl, int timed)
{
    expand(c, tmpl);
    add_turn(c, ROLE_SYSTEM, c->now_ms, c->now_ms, timed);
}

int cs_sample_tool(struct cs_sample_conv *c, const char *name,
                   const char *creates, double fail_p, int median_ms)
{
    struct cs_buf *b = &c->tools;
    const char *error = NULL;
    int64_t ms;
    int ok = 1;

    open_response(c);
    if (cs_rng_chance(&c->rng, 0.02))
        ms = spread_ms(c, median_ms * 3.5, 0.3, median_ms, 9000);
    else
        ms = spread_ms(c, median_ms, 0.35, 25, 9000);
    if (cs_rng_chance(&c->rng, fail_p * c->tool_fail_scale)) {
        ok = 0;
        error = CS_PICK(c, tool_errors);
        if (error[0] == 't')
            ms = 5000;
        c->n_tool_fail++;
    }
    add_span(c, name, ms);
    c->pending_ms += ms;

    if (c->n_tools++)
        cs_buf_addch(b, ',');
    CS_ADDL(b, "{\"name\":\"");
    cs_buf_adds(b, name);
    if (ok)
        CS_ADDL(b, "\",\"ok\":true,\"latency_ms\":");
    else
        CS_ADDL(b, "\",\"ok\":false,\"latency_ms\":");
    cs_sample_json_fixed(b, ms, 0);
    CS_ADDL(b, ",\"creates\":");
    if (creates) {
        cs_buf_addch(b, '"');
        cs_buf_adds(b, creates);
        cs_buf_addch(b, '"');
    } else {
        CS_ADDL(b, "null");
    }
    if (error) {
        CS_ADDL(b, ",\"error\":");
        cs_sample_json_str(b, error, strlen(error));
    }
    cs_buf_addch(b, '}');
    if (ok && !strcmp(name, "sms.send"))
        c->n_sms++;
    return ok;
}

static void metric_head(struct cs_sample_conv *c, const char *name)
{
    struct cs_buf *b = &c->metrics;

    if (c->n_metrics++)
        cs_buf_addch(b, ',');
    CS_ADDL(b, "{\"name\":\"");
    cs_buf_adds(b, name);
    CS_ADDL(b, "\",\"value\":");
}

void cs_sample_metric_bool(struct cs_sample_conv *c, const char *name, int v)
{
    metric_head(c, name);
    if (v)
        CS_ADDL(&c->metrics, "true}");
    else
        CS_ADDL(&c->metrics, "false}");
}

void cs_sample_metric_str(struct cs_sample_conv *c, const char *name,
                          const char *v)
{
    metric_head(c, name);
    cs_sample_json_str(&c->metrics, v, strlen(v));
    cs_buf_addch(&c->metrics, '}');
}

void cs_sample_metric_num(struct cs_sample_conv *c, const char *name, long v)
{
    metric_head(c, name);
    if (v < 0) {
        cs_buf_addch(&c->metrics, '-');
        v = -v;
    }
    cs_sample_json_fixed(&c->metrics, v, 0);
    cs_buf_addch(&c->metrics, '}');
}

void cs_sample_topic(struct cs_sample_conv *c, const char *topic)
{
    if (!c->tagging)
        return;
    if (c->n_topics++)
        cs_buf_addch(&c->topics, ',');
    cs_sample_json_str(&c->topics, topic, strlen(topic));
}

void cs_sample_handoff(struct cs_sample_conv *c, const char *type,
                       const char *target, const char *reason)
{
    c->handoff = 1;
    c->handoff_type = type;
    c->handoff_target = target;
    c->handoff_reason = reason;
    c->handoff_at_ms = c->now_ms;
    cs_buf_reset(&c->text);
    if (c->channel != CS_SAMPLE_VOICE)
        cs_buf_adds(&c->text, "Conversation handed off to a human agent (");
    else if (type[0] == 'w')
        cs_buf_adds(&c->text, "Warm transfer started to ");
    else
        cs_buf_adds(&c->text, "Cold transfer to ");
    cs_buf_adds(&c->text, target);
    if (c->channel != CS_SAMPLE_VOICE)
        cs_buf_addch(&c->text, ')');
    cs_buf_addch(&c->text, '.');
    add_turn(c, ROLE_SYSTEM, c->now_ms, c->now_ms, 1);
}
