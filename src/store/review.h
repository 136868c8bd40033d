/* review.h - conversations by their outcomes: filters, samples, one
 * conversation whole; stored explanations and calibrations */
#ifndef CS_STORE_REVIEW_H
#define CS_STORE_REVIEW_H

#include <stddef.h>

#include <jansson.h>

#include "base/err.h"
#include "store/store.h"

/* One condition on a conversation (all of a query's must hold). */
enum cs_cond_kind {
    CS_COND_METRIC,         /* the current result of `name` compares with
                               `value` (JSON text) by `op` */
    CS_COND_FIELD,          /* conversation field `name` (outcome,
                               direction, channel, agent) = / != `value` */
    CS_COND_HANDOFF,        /* handed to a person */
    CS_COND_NO_HANDOFF,
    CS_COND_TOOL_FAILED,    /* at least one tool call failed */
    CS_COND_NUMBER          /* a number of the conversation, `name` one
                               of duration_s (answer to end), asa_s (ring
                               and queue), turns, csat, nps, cost,
                               tool_calls, compared by `op` with `value` */
};

enum cs_cond_op { CS_OP_EQ, CS_OP_NE, CS_OP_LT, CS_OP_LE, CS_OP_GT, CS_OP_GE };

struct cs_conv_cond {
    enum cs_cond_kind kind;
    const char *name;
    enum cs_cond_op op;
    const char *value;
};

/*
 * Which conversations: those of `tenant` (NULL: all) started on local
 * dates [from, to) (either NULL: open) of each tenant's zone, `tz` a JSON
 * object {tenant: zone as PostgreSQL reads it} with `default_tz` for the
 * others, matching every condition. With sample > 0, a deterministic
 * random sample of that many of them: the md5 of seed, tenant and id
 * orders them, so the same seed gives the same ids and a sample is a
 * subset of the whole filter. Strings are borrowed.
 */
struct cs_conv_query {
    const char *tenant;
    const char *from;
    const char *to;
    const char *tz;
    const char *default_tz;
    const struct cs_conv_cond *conds;
    size_t n_conds;
    long sample;            /* 0: all */
    const char *seed;
    char *const *show;      /* metrics whose current values each row
                               carries (NULL-terminated, may be NULL) */
    const char *verdict;    /* a metric whose current result's evaluator,
                               rationale and evidence each row carries, or
                               NULL */
};

/* 1 when `name` is a number a CS_COND_NUMBER condition may compare. */
int cs_store_cond_number(const char *name);

/* One conversation of a query; strings borrowed for the call. */
struct cs_conv_item {
    const char *tenant;
    const char *id;
    const char *started;    /* local "YYYY-MM-DD HH:MM:SS" */
    const char *started_at; /* UTC RFC 3339 */
    const char *agent;      /* NULL when none */
    const char *channel;
    const char *direction;
    const char *outcome;
    double duration_s;      /* answer to end; NAN when unknown */
    int handoff;
    const json_t *metrics;  /* {metric: value} of q->show, borrowed */
    const char *evaluator;  /* of q->verdict's result, or NULL */
    const char *rationale;  /* of q->verdict's result, or NULL */
    const char *evidence;   /* of q->verdict's result, or NULL */
};

typedef int (*cs_conv_item_fn)(void *ctx, const struct cs_conv_item *it,
                               struct cs_err *err);

/*
 * Calls fn for each conversation of `q` in order of their start (then
 * tenant and id), a page at a time in one read-only snapshot; fn returns
 * 0 to go on. *total_out (may be NULL) is the number matching before any
 * sample. CS_EINVALID for a bad condition value (a non-number compared
 * with < or >).
 */
int cs_store_conversations(struct cs_store *st, const struct cs_conv_query *q,
                           long *total_out, cs_conv_item_fn fn, void *ctx,
                           struct cs_err *err);

/* The tenants that have a conversation `id`: *out a new NULL-terminated
 * array (cs_strv_free). */
int cs_store_conversation_tenants(char ***out, struct cs_store *st,
                                  const char *id, struct cs_err *err);

/*
 * Conversation `id` of `tenant` whole, as a JSON object (new): its stored
 * fields (times as local "YYYY-MM-DD HH:MM:SS" in `tz` and UTC), turns,
 * tool calls, spans, costs, the agent's metrics, metadata, and "results":
 * every result stored for it, current ones first, each {metric, value,
 * evidence, rationale, evaluator, rubric_version, confidence,
 * evaluated_at, current}, by metric then newest first. CS_ENOTFOUND when
 * there is none.
 */
int cs_store_conversation_get(json_t **out, struct cs_store *st,
                              const char *tenant, const char *id,
                              const char *tz, struct cs_err *err);

/*
 * Explanations (`callscope explain`). An explanation is stored whole:
 * {tenant or null, metric, value, from, to, evaluator, matched, sampled,
 * themes, inputs}. add stores one and sets *id_out (may be NULL).
 * latest finds the newest one of `tenant` (never another tenant's, nor
 * one made over all tenants, so a tenant's report quotes only its own
 * conversations), `metric` and `value` (JSON text) whose period overlaps
 * [from, to) (local dates; an explanation without dates overlaps all):
 * *out the stored object with "id" and "created_at" (new), or NULL when
 * there is none.
 */
int cs_store_explanation_add(long *id_out, struct cs_store *st,
                             const json_t *expl, struct cs_err *err);
int cs_store_explanation_latest(json_t **out, struct cs_store *st,
                                const char *tenant, const char *metric,
                                const char *value, const char *from,
                                const char *to, struct cs_err *err);

/*
 * Calibrations (`callscope calibrate`): add stores one measurement of
 * `metric` against the labels file `labels_file` whose SHA-256 is
 * `labels_sha256`, with the agreement figures `figures` (the JSON that
 * `calibrate --format json` prints for the metric); the rubric version
 * and evaluator most of the metric's current results carry are recorded
 * with it. latest calls fn for the newest measurement of each metric.
 */
int cs_store_calibration_add(struct cs_store *st, const char *metric,
                             const char *labels_file,
                             const char *labels_sha256,
                             const json_t *figures, struct cs_err *err);
struct cs_calibration_row {
    const char *metric;
    const char *measured_at;    /* UTC "YYYY-MM-DD" */
    const char *labels_sha256;
    const char *version;        /* NULL when unknown */
    const char *evaluator;
    long n;
    double accuracy;            /* NAN when null */
    double kappa;
};
typedef void (*cs_calibration_fn)(void *ctx,
                                  const struct cs_calibration_row *row);
int cs_store_calibration_latest(struct cs_store *st, cs_calibration_fn fn,
                                void *ctx, struct cs_err *err);

#endif
