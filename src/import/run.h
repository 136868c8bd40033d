/* run.h - importing files: the converters behind ingest, with bookkeeping */
#ifndef CS_IMPORT_RUN_H
#define CS_IMPORT_RUN_H

#include <stdint.h>

#include <jansson.h>

#include "base/err.h"
#include "import/import.h"
#include "ingest/ingest.h"
#include "store/store.h"

/*
 * An importer is the converter (ingest.h) that `callscope import` and
 * `callscope ingest` hand to cs_ingest_paths, so converted records go
 * through ingest's validation, rejects file, COPY and replace-by-id
 * (import/ implements ingest's converter interface; ingest knows nothing
 * of import/, and the CLI puts the two together):
 *
 *     cs_importer_new(&imp, CS_IMPORT_VAPI, &opts, lookup, NULL, &err);
 *     io.conv = cs_importer_conv(imp);
 *     cs_ingest_paths(&stats, st, paths, n, &io, &err);
 *     cs_importer_done(imp, &err);       // after the load
 *     ... cs_importer_stats(imp) ...
 *     cs_importer_free(imp);
 *
 * With CS_IMPORT_AUTO each file is read in the format its first payload
 * has (cs_import_detect); a JSON Lines file of canonical records is left
 * to ingest. With a vendor format every file is read as that vendor's,
 * and a payload of another vendor is a reject.
 *
 * `lookup` is a store connection of its own (the converter runs on
 * ingest's reader thread while ingest COPYs on the other): through it a
 * Retell payload without analysis is skipped when the stored record of
 * the call holds one, and LiveKit events of rooms not finished are kept
 * in import_pending until the room's record is stored (every event read
 * is held first; done() forgets those of stored rooms, so a room refused
 * or rejected, or a run that dies, loses nothing). NULL: no store
 * (nothing kept across runs; for tests).
 */
struct cs_importer;

struct cs_import_stats {
    uint64_t payloads;          /* payloads read (not counting rejects of
                                   unreadable JSON) */
    uint64_t records;           /* records handed to ingest */
    uint64_t skipped;           /* payloads that carry no conversation */
    json_t *skipped_kinds;      /* {"status-update": 3, ...} (borrowed) */
    uint64_t superseded;        /* Retell payloads older than the analysed
                                   record stored or read before */
    uint64_t unchecked;         /* signatures present but not checked (no
                                   CALLSCOPE_RETELL_API_KEY) */
    uint64_t rooms_done;        /* LiveKit rooms completed */
    uint64_t rooms_pending;     /* rooms waiting for room_finished */
    uint64_t events_pending;    /* their events (this run's and before) */
    uint64_t events_late;       /* events of rooms already stored */
    uint64_t files[CS_IMPORT_N_FORMATS]; /* files read as each format */
};

/* `o` and `transcripts_dir` (LiveKit Agents session histories,
 * <dir>/<room name>.json; may be NULL) are borrowed for the importer's
 * life. *out is new; cs_importer_free. */
int cs_importer_new(struct cs_importer **out, enum cs_import_format f,
                    const struct cs_import_opts *o, struct cs_store *lookup,
                    const char *transcripts_dir, struct cs_err *err);

/* The converter to set as cs_ingest_opts.conv (borrowed). */
const struct cs_ingest_conv *cs_importer_conv(struct cs_importer *imp);

/* After cs_ingest_paths: forgets the held events of the rooms whose
 * records are now stored. 0 or CS_EDB. */
int cs_importer_done(struct cs_importer *imp, struct cs_err *err);

/*
 * Tells fn(ctx, file, line, what, detail) about every payload that gives
 * no record and no reject: what is "skipped" (detail: its kind),
 * "superseded" (the call id), "pending" (a room held; line: its last
 * event) or "late" (a room already stored). For -vv and the tests.
 */
typedef void (*cs_import_trace_fn)(void *ctx, const char *file, long line,
                                   const char *what, const char *detail);
void cs_importer_trace(struct cs_importer *imp, cs_import_trace_fn fn,
                       void *ctx);

/* Counts so far (borrowed). */
const struct cs_import_stats *cs_importer_stats(const struct cs_importer *imp);

/* Frees the importer (NULL: no-op); file names handed to ingest die with
 * it. */
void cs_importer_free(struct cs_importer *imp);

#endif
