/* builder.h - builds one sample conversation: turns, tool calls, spans, JSON */
#ifndef CS_SAMPLE_BUILDER_H
#define CS_SAMPLE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "sample/rng.h"

/*
 * Internal to src/sample/. The record writer (sample.c) resets a
 * `struct cs_sample_conv`, lets a tenant's setup function pick the channel,
 * agent and people, and, for answered conversations, lets the tenant's
 * dialogue script add turns through the helpers below. The helpers keep the
 * clock: every turn, tool call and pipeline span advances `now_ms` the way a
 * real voice or chat agent would, and write their JSON fragments straight
 * into the `turns`, `tools`, `spans`, `metrics` and `topics` buffers.
 *
 * Texts are templates with {slot} placeholders. Person, time and personal
 * data slots are filled lazily from the conversation's customer; domain
 * slots ({svc}, {plan}...) are set by the script with cs_sample_set().
 */

enum cs_sample_channel {
    CS_SAMPLE_VOICE = 0,
    CS_SAMPLE_CHAT = 1,
    CS_SAMPLE_API = 2
};

enum cs_sample_mood {
    CS_MOOD_POSITIVE = 0,
    CS_MOOD_NEUTRAL = 1,
    CS_MOOD_NEGATIVE = 2
};

enum cs_sample_slot {
    CS_SLOT_NAME,       /* customer first name */
    CS_SLOT_FULL,       /* first and last name */
    CS_SLOT_BOT,        /* the assistant's persona name */
    CS_SLOT_DAY,        /* a weekday, "Tuesday" */
    CS_SLOT_DAY2,       /* another weekday */
    CS_SLOT_TIME,       /* "10am" */
    CS_SLOT_TIME2,      /* another time */
    CS_SLOT_DATE,       /* a date after the call, "November 14th" */
    CS_SLOT_PHONE,      /* the customer's number as spoken (personal data) */
    CS_SLOT_EMAIL,      /* the customer's e-mail (personal data) */
    CS_SLOT_EMAIL2,     /* a new e-mail address of the customer */
    CS_SLOT_CARD,       /* a payment card number (personal data) */
    CS_SLOT_LAST4,      /* last four digits of the customer's phone */
    CS_SLOT_DOB,        /* date of birth */
    CS_SLOT_AMOUNT,     /* money, "$42.17" */
    CS_SLOT_TICKET,     /* ticket number */
    CS_SLOT_ACCOUNT,    /* account number */
    CS_SLOT_SVC,        /* script-set slots from here on */
    CS_SLOT_WHO,
    CS_SLOT_INS,
    CS_SLOT_PLAN,
    CS_SLOT_DEVICE,
    CS_SLOT_RATE,
    CS_SLOT_COUNT
};

struct cs_sample_conv {
    struct cs_rng rng;

    /* Set by the tenant's setup function. */
    int channel;                /* enum cs_sample_channel */
    int outbound;
    int version;                /* agent generation, used by scripts */
    int mood;                   /* enum cs_sample_mood, may change */
    int pii;                    /* this customer shares personal data */
    int spanish;                /* es-US conversation */
    int scenario;               /* tenant-specific, chosen by setup */
    const char *agent;
    const char *campaign;       /* NULL: none */
    const char *locale;
    const char *company_number;
    char customer_handle[40];   /* caller or callee: phone or chat handle */
    uint32_t customer;          /* customer id within the tenant */
    int64_t day;                /* days since the epoch of the call */
    double tool_fail_scale;     /* 1.0 normally, more on incident days */
    double llm_scale;           /* 1.0 normally, more on slow days */
    int llm_median_ms;
    int attempt;                /* outbound dial attempt, 0: not written */
    const char *entry;          /* chat/api entry point, NULL: none */
    int tagging;                /* 1: the platform tags topics */
    int logs_metrics;           /* 1: this agent logs metric events */

    /* Outcome of the dialogue, set by the script. */
    int task_ok;                /* -1: no task, 0: failed, 1: done */
    int handoff;
    const char *handoff_type;
    const char *handoff_target;
    const char *handoff_reason;
    int64_t handoff_at_ms;
    int voicemail;

    /* Clock and counters, kept by the helpers. */
    int64_t now_ms;             /* end of the last turn, from answer */
    int64_t pending_ms;         /* latency of the agent response in flight */
    int response_open;
    int last_role;              /* -1 none, 0 agent, 1 customer, 2 system */
    int n_turns, n_tools, n_tool_fail, n_spans, n_metrics, n_topics;
    int n_llm;
    int n_sms;

    /* JSON fragments (array bodies without brackets). */
    struct cs_buf turns, tools, spans, metrics, topics, text;

    /* Slot values: pointers into constant tables or into `store`. */
    const char *slot[CS_SLOT_COUNT];
    char store[CS_SLOT_COUNT][48];
};

/* Sets up `c` (no allocation yet); _release frees its buffers. */
void cs_sample_conv_init(struct cs_sample_conv *c);
void cs_sample_conv_release(struct cs_sample_conv *c);
/* Empties `c` for the next conversation, keeping buffer memory. */
void cs_sample_conv_reset(struct cs_sample_conv *c);

/* Sets customer_handle to the customer's E.164 phone number. */
void cs_sample_phone_handle(struct cs_sample_conv *c);

/* Sets a slot value; `value` must outlive the conversation. */
void cs_sample_set(struct cs_sample_conv *c, int slot, const char *value);

/* A slot's value, filled now if it is still unset (borrowed). */
const char *cs_sample_get(struct cs_sample_conv *c, int slot);

/* Adds a turn from a template picked at random from `pool` (n > 0). */
void cs_sample_agent(struct cs_sample_conv *c, const char *const *pool,
                     size_t n);
void cs_sample_customer(struct cs_sample_conv *c, const char *const *pool,
                        size_t n);
/* A system event; `timed` 0 writes it without start_s/end_s. */
void cs_sample_system(struct cs_sample_conv *c, const char *tmpl, int timed);

/*
 * Records a tool call made while the agent prepares its next answer, with
 * its span. It fails with probability fail_p * tool_fail_scale, with an
 * error from a generic list. `creates` is "ticket", "crm_update",
 * "appointment" or NULL. Returns 1 when the call succeeded.
 */
int cs_sample_tool(struct cs_sample_conv *c, const char *name,
                   const char *creates, double fail_p, int median_ms);

/* Metric events the agent logs itself ({"name", "value"}), and upstream
 * topic tags (dropped unless `tagging` is set). `name` and `topic` are
 * plain ASCII constants. */
void cs_sample_metric_bool(struct cs_sample_conv *c, const char *name, int v);
void cs_sample_metric_str(struct cs_sample_conv *c, const char *name,
                          const char *v);
void cs_sample_metric_num(struct cs_sample_conv *c, const char *name, long v);
void cs_sample_topic(struct cs_sample_conv *c, const char *topic);

/* Marks the conversation handed to a person at the current time, and adds
 * the system turn that records it. */
void cs_sample_handoff(struct cs_sample_conv *c, const char *type,
                       const char *target, const char *reason);

/* Appends `s` to `b` as a JSON string (quotes included), escaping '"', '\\'
 * and control characters. `s` must be valid UTF-8. */
void cs_sample_json_str(struct cs_buf *b, const char *s, size_t len);
/* Appends the decimal form of v / 10^decimals with exactly `decimals`
 * digits after the point (v >= 0). */
void cs_sample_json_fixed(struct cs_buf *b, int64_t v, int decimals);

#define CS_POOL(pool) (pool), (sizeof(pool) / sizeof((pool)[0]))
#define CS_PICK(c, pool) \
    ((pool)[cs_rng_below(&(c)->rng, sizeof(pool) / sizeof((pool)[0]))])
#define CS_ADDL(b, lit) cs_buf_add((b), (lit), sizeof(lit) - 1)

#endif
