/* claim.h - claim conversations to score, a page at a time */
#ifndef CS_STORE_CLAIM_H
#define CS_STORE_CLAIM_H

#include <stddef.h>

#include <jansson.h>

#include "base/err.h"
#include "model/conv.h"
#include "store/store.h"

/* Which conversations a scoring run or an export covers. */
struct cs_score_filter {
    const char *from;       /* UTC date "YYYY-MM-DD" of started_at, or NULL */
    const char *to;         /* exclusive, or NULL */
    const char *tenant;     /* or NULL */
    /*
     * For scoring: {"": {"metric": "rubric version", ...}, "<tenant>":
     * {...}} as JSON text, the metrics wanted for every tenant under ""
     * and, for each tenant a rubric is limited to, its own set; when
     * set, only the conversations with something to do are walked: a
     * wanted metric lacks a current result of that version (by
     * `evaluator`, the agent or a scorecard) for the stored content, or
     * a value the
     * agent logged (in the content, or current in the results) does not
     * match the stored content. `scope` (a JSON array of names, or NULL
     * for all) limits which agent values count.
     */
    const char *want;
    const char *evaluator;
    const char *scope;
};

struct cs_claim;

/* One conversation to score and what is stored for it. */
struct cs_score_item {
    struct cs_conv *conv;   /* new; cs_score_item_release */
    char content_hash[17];
    json_t *current;        /* {metric: [rubric_version, evaluator, hash,
                               retry, value]}, retry: a judge's "error"
                               (the agent's and scorecards' are not
                               retried) */
    struct cs_claim *claim; /* borrowed: pass to cs_store_claim_put */
};

/* Frees the conversation and summary (not the claim). */
void cs_score_item_release(struct cs_score_item *it);

/*
 * Walks the conversations of a filter month by month (UTC), in (tenant,
 * id) order within each month, a page at a time. Each page is CLAIMED
 * first: its conversation rows are locked with FOR UPDATE SKIP LOCKED in
 * a transaction on a connection of its own, so several processes (on one
 * machine or many) share the work without overlap; a process that dies
 * releases its claims with its connections.
 * After claiming, staleness is checked again with a fresh snapshot, so a
 * conversation another process has just finished is not scored twice.
 *
 * When every item of a page has been put back (cs_store_claim_put) and the
 * cursor has moved on, `flush(ctx)` is called (write the results) and the
 * claim is committed. next returns 1 with an item, 0 at the end, or CS_EDB.
 */
struct cs_score_cursor;
typedef int (*cs_flush_fn)(void *ctx, struct cs_err *err);

int cs_store_score_cursor_new(struct cs_score_cursor **out,
                              struct cs_store *st,
                              const struct cs_score_filter *f,
                              size_t page_size, cs_flush_fn flush,
                              void *flush_ctx);

/* Done with one item of the claim (its results are in the writer). */
int cs_store_claim_put(struct cs_claim *claim, struct cs_err *err);
int cs_store_score_cursor_next(struct cs_score_cursor *c,
                               struct cs_score_item *out, struct cs_err *err);
/* Releases what is left: flushes and commits finished claims, rolls back
 * claims with items still out (their conversations stay unscored). */
void cs_store_score_cursor_free(struct cs_score_cursor *c);

/* Number of conversations the filter covers. */
int cs_store_score_count(long *out, struct cs_store *st,
                         const struct cs_score_filter *f, struct cs_err *err);

#endif
