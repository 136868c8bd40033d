/* review.h - from numbers to conversations: list them by their outcomes,
 * show one whole, explain a verdict */
#ifndef CS_REVIEW_REVIEW_H
#define CS_REVIEW_REVIEW_H

#include <stdio.h>

#include "base/err.h"
#include "config/config.h"
#include "rubric/rubric.h"
#include "store/review.h"
#include "store/store.h"

/*
 * Usage (what `callscope conversations` does):
 *
 *     struct cs_conv_cond conds[8];
 *     struct cs_review_list o = {0};
 *
 *     for (each --where ARG)
 *         cs_review_parse_where(&conds[n++], ARG, set, &err);  // 0 or EINVALID
 *     o.conds = conds; o.n_conds = n; o.format = CS_REVIEW_TABLE; ...
 *     cs_review_list(st, cfg, &o, stdout, &err);
 *     cs_review_conds_release(conds, n);
 *
 * Dates are local dates of each tenant's configured zone, as in `kpis`,
 * so a list matches the KPI period it is read beside.
 */

enum cs_review_format { CS_REVIEW_TABLE, CS_REVIEW_JSONL, CS_REVIEW_CSV };

/* The metric whose "negative" `--where sentiment=negative` means. */
#define CS_REVIEW_SENTIMENT_METRIC "customer_sentiment"

/*
 * Parses one --where condition into *out (its strings new; release with
 * cs_review_conds_release): `handoff`, `no-handoff`, `tool-failed`,
 * `outcome=X` (also direction, channel, agent; `=` or `!=`), a number
 * of the conversation compared with any OP (duration_s, asa_s, turns,
 * csat, nps, cost, tool_calls: `duration_s>600`),
 * `sentiment=negative` (the sentiment metric), or `METRIC OP VALUE` with
 * OP one of = != < <= > >= (the last four for numbers). VALUE is read as
 * JSON when it is JSON (true, 3, "x"), else as a string label. `set` (may
 * be NULL) checks that METRIC is known and VALUE one it can have.
 * CS_EINVALID with the reason otherwise.
 */
int cs_review_parse_where(struct cs_conv_cond *out, const char *arg,
                          const struct cs_rubric_set *set,
                          struct cs_err *err);
void cs_review_conds_release(struct cs_conv_cond *conds, size_t n);

/* The time zones of the tenants as PostgreSQL must read them: *map_out a
 * JSON object {tenant: zone} of the configured tenants, *default_out the
 * zone of the others (both new). CS_EINVALID for a bad zone. */
int cs_review_zones(char **map_out, char **default_out, struct cs_store *st,
                    const struct cs_config *cfg, struct cs_err *err);

struct cs_review_list {
    const char *tenant;
    const char *from;
    const char *to;
    const struct cs_conv_cond *conds;
    size_t n_conds;
    long sample;            /* 0: all */
    const char *seed;       /* NULL: "0" */
    enum cs_review_format format;
    long total;             /* set: conversations matching */
    long listed;            /* set: rows written */
};

/*
 * Writes the conversations of `o` to `out`: a table for people (id,
 * started, agent, outcome, duration, the metrics the conditions name
 * with their values; the tenant first when the list spans several),
 * JSON Lines ({tenant, id, started_at, started (local), agent, channel,
 * direction, outcome, duration_s, handoff, metrics}) or CSV (the same
 * columns, one per metric; text from data neutralised against
 * formulas). Sets o->total and o->listed. The store's error, or CS_EIO.
 */
int cs_review_list(struct cs_store *st, const struct cs_config *cfg,
                   struct cs_review_list *o, FILE *out, struct cs_err *err);

/*
 * Writes conversation `id` of `tenant` for a person: the header (tenant,
 * agent, channel, direction, caller and callee, times in the tenant's
 * zone, outcome, ring and queue, handoff, costs, CSAT, NPS, topics), the
 * turns with their times and roles, tool calls (ok / failed with the
 * error), spans, the values the agent logged, then every metric's current
 * verdict with its evidence, rationale, evaluator, version and
 * confidence, the turns holding the evidence marked, and the history of
 * earlier verdicts. With `redact` the turns are shown as the LLM judge is
 * sent them (the configured redactor, one line each) and caller, callee
 * and metadata, which are never sent, are left out. With `color` the
 * evidence turns are highlighted with terminal escapes; otherwise they
 * carry a plain marker. CS_ENOTFOUND when there is no such conversation.
 */
int cs_review_show(struct cs_store *st, const struct cs_config *cfg,
                   const struct cs_rubric_set *set, const char *tenant,
                   const char *id, int redact, int color, FILE *out,
                   struct cs_err *err);

/* Conversations an LLM explanation reads by default. */
#define CS_REVIEW_EXPLAIN_SAMPLE 40

struct cs_review_explain {
    const char *metric;
    const char *value;      /* as given: false, billing, 3 */
    const char *tenant;     /* NULL: every tenant */
    const char *from;       /* local dates, or NULL */
    const char *to;
    long sample;            /* 0: the default (LLM), every one (offline) */
    const char *seed;       /* NULL: "explain" */
    int offline;            /* the rules' grouping even with an LLM */
    int json;               /* print the stored explanation as JSON */
    long matched;           /* set: conversations with the verdict */
    long sampled;           /* set: those read */
    long id;                /* set: the stored explanation */
};

/*
 * Why do conversations end with metric = value? With an LLM configured
 * (and not o->offline): a deterministic sample of the matching
 * conversations (o->sample, else CS_REVIEW_EXPLAIN_SAMPLE) is sent,
 * redacted, in the data part of one request with the verdicts'
 * rationales (llm/explain.h), cut to fit the context; the answer's
 * themes (at most 8, each with a count and example ids) are validated —
 * an answer naming a conversation that was not sent or counts that do
 * not add up is sent back once with its problems, then refused
 * (CS_ELLM, nothing stored). Offline: the themes are the rules and
 * evidence that produced the verdicts, grouped and counted over every
 * matching conversation (or the sample asked for). The explanation is
 * stored with its inputs (ids read, seed, the request and its SHA-256,
 * tokens) for the reports (store/review.h) and printed: a table, or
 * with o->json the stored object. CS_ENOTFOUND when no conversation has
 * the verdict; CS_EINVALID for a value the metric cannot have.
 */
int cs_review_explain(struct cs_store *st, const struct cs_config *cfg,
                      const struct cs_rubric_set *set,
                      struct cs_review_explain *o, FILE *out,
                      struct cs_err *err);

#endif
