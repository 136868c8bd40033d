/* batches.h - LLM batches handed to a provider, and their requests */
#ifndef CS_STORE_BATCHES_H
#define CS_STORE_BATCHES_H

#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

/*
 * The tables llm_batches and llm_batch_requests (migration 41). A batch
 * goes through:
 *
 *     cs_store_llm_batch_new(&id, st, model, base_url, &err);  preparing
 *     cs_store_llm_batch_add(st, id, reqs, n, &err);   before each claim
 *                                                      is released
 *     cs_store_llm_batch_uploaded(st, id, file_id, &err);
 *     cs_store_llm_batch_submitted(st, id, provider_id, cost, &err);
 *     ... later runs: cs_store_llm_batch_open, then, once it ended,
 *     cs_store_llm_batch_answers(...) and cs_store_llm_batch_end(...)
 *
 * While a batch is preparing or submitted, a run that finds one of its
 * requests for a conversation (cs_store_llm_waiting, `open`) leaves that
 * conversation for later rather than asking again. The process
 * preparing one holds a session advisory lock on it, so that another
 * process can tell a batch whose preparer died (`orphan`) from one being
 * written. Once it ends, each request row holds the provider's answer (a
 * chat-completions body) or why it failed, until the run that uses it
 * drops it (cs_store_llm_consumed); a request without either (expired,
 * cancelled, a transient failure) is dropped when the batch ends and
 * simply sent again. A batch whose submission failed stays preparing,
 * unlocked: the next collecting run adopts it (cs_store_llm_batch_adopt)
 * and submits it again once, else drops it. Ended batches go with `db
 * prune` (cs_store_llm_batches_prune).
 */

/* An open batch, as listed by cs_store_llm_batch_open. */
struct cs_store_llm_batch {
    long id;
    char *provider_id;      /* NULL while preparing */
    char *input_file_id;    /* NULL until uploaded */
    char *model;
    char *base_url;
    int submitted;          /* 0: preparing */
    int orphan;             /* preparing, and its process is gone */
    long requests;
    double estimated_cost;
};

/* One request written to a batch file, for one conversation (strings
 * borrowed). */
struct cs_store_llm_request {
    const char *custom_id;
    const char *tenant;
    const char *conversation_id;
    const char *body_hash;  /* SHA-256 hex of the request body */
    long prompt_est;        /* the body's token estimate */
    long metrics;           /* metrics it asks about */
};

/* What the provider answered to one custom_id: a chat-completions body,
 * or why the request failed for good (strings borrowed; one is NULL). */
struct cs_store_llm_answer {
    const char *custom_id;
    const char *answer;
    const char *error;
};

/* A request of a conversation in a batch (everything new): still open,
 * or ended with an answer or a failure. */
struct cs_store_llm_waiting {
    long batch_id;
    char *body_hash;
    int open;               /* its batch is preparing or submitted */
    char *answer;           /* or NULL */
    char *error;            /* or NULL */
    long prompt_est;
};

/* Makes a batch in state preparing for `model` at `base_url` and takes
 * its advisory lock on the store's connection; *id_out is its id. */
int cs_store_llm_batch_new(long *id_out, struct cs_store *st,
                           const char *model, const char *base_url,
                           struct cs_err *err);

/* Adds `n` requests to preparing batch `id` (in one statement). */
int cs_store_llm_batch_add(struct cs_store *st, long id,
                           const struct cs_store_llm_request *reqs, size_t n,
                           struct cs_err *err);

/* Records the uploaded input file of batch `id`. */
int cs_store_llm_batch_uploaded(struct cs_store *st, long id,
                                const char *input_file_id,
                                struct cs_err *err);

/* Batch `id` was created at the provider as `provider_id`: submitted,
 * with the requests it holds and their estimated cost; releases the
 * advisory lock. */
int cs_store_llm_batch_submitted(struct cs_store *st, long id,
                                 const char *provider_id, double cost,
                                 struct cs_err *err);

/* Every batch preparing or submitted, oldest first, in *out (new, *n_out
 * of them; cs_store_llm_batches_free). */
int cs_store_llm_batch_open(struct cs_store_llm_batch **out, size_t *n_out,
                            struct cs_store *st, struct cs_err *err);
void cs_store_llm_batches_free(struct cs_store_llm_batch *b, size_t n);

/*
 * Takes (1) or not (0: another process has it) the advisory lock that
 * lets one process at a time collect batch `id`; unlock with
 * cs_store_llm_batch_unlock.
 */
int cs_store_llm_batch_lock(int *got, struct cs_store *st, long id,
                            struct cs_err *err);
void cs_store_llm_batch_unlock(struct cs_store *st, long id);

/* Notes the provider's status of a batch still open. */
int cs_store_llm_batch_checked(struct cs_store *st, long id,
                               const char *provider_status,
                               struct cs_err *err);

/* Stores `n` answers of batch `id` by custom_id (rows of every
 * conversation that shares one); *stored (may be NULL) counts rows. */
int cs_store_llm_batch_answers(struct cs_store *st, long id,
                               const struct cs_store_llm_answer *a, size_t n,
                               long *stored, struct cs_err *err);

/* Batch `id` ended with `status` (completed, failed, expired, cancelled),
 * the provider's own status and `error` (may be NULL); its conversations
 * are claimed again, and its requests that got neither an answer nor a
 * failure are forgotten (they are asked again). */
int cs_store_llm_batch_end(struct cs_store *st, long id, const char *status,
                           const char *provider_status, const char *error,
                           struct cs_err *err);

/* *out is 1 when batch `id` is (still) preparing. */
int cs_store_llm_batch_preparing(int *out, struct cs_store *st, long id,
                                 struct cs_err *err);

/* Releases this process's advisory lock on preparing batch `id`, which
 * a submission failed: other runs then find it orphaned. */
void cs_store_llm_batch_leave(struct cs_store *st, long id);

/* What cs_store_llm_batch_adopt decided about an orphaned batch. */
enum cs_store_batch_adopt {
    CS_STORE_BATCH_NOT_OURS,    /* another process has it, or it is no
                                   longer preparing: leave it */
    CS_STORE_BATCH_RETRY,       /* ours to submit, the first time so */
    CS_STORE_BATCH_DROP         /* ours, and tried once before: drop it */
};

/* Takes the advisory lock of orphaned batch `id` (released by
 * cs_store_llm_batch_submitted or _drop) and marks it as resubmitted
 * once; *out (an enum cs_store_batch_adopt) says what to do. */
int cs_store_llm_batch_adopt(int *out, struct cs_store *st, long id,
                             struct cs_err *err);

/* Forgets batch `id` and its requests (their conversations are claimed
 * again), releasing its advisory lock if this process holds it. */
int cs_store_llm_batch_drop(struct cs_store *st, long id,
                            struct cs_err *err);

/* The requests of conversation (tenant, id) in open batches, and the
 * answers and failures of ended ones waiting for it, newest batch first,
 * in *out (new, *n_out; cs_store_llm_waiting_free). */
int cs_store_llm_waiting(struct cs_store_llm_waiting **out, size_t *n_out,
                         struct cs_store *st, const char *tenant,
                         const char *conversation_id, struct cs_err *err);
void cs_store_llm_waiting_free(struct cs_store_llm_waiting *w, size_t n);

/* Drops the waiting answers used: `keys` is a JSON array of [batch id,
 * tenant, conversation id, body hash]. */
int cs_store_llm_consumed(struct cs_store *st, const char *keys,
                          struct cs_err *err);

/* Deletes the batches that ended before `days` days ago, with whatever
 * is left of their requests (with `dry_run` only counts them); adds to
 * *n_out. */
int cs_store_llm_batches_prune(long *n_out, struct cs_store *st, long days,
                               int dry_run, struct cs_err *err);

/* *out is 1 when any batch request is recorded (open, or an answer no
 * run has used yet): scoring runs then look for their requests there. */
int cs_store_llm_batch_any(int *out, struct cs_store *st, struct cs_err *err);

#endif
