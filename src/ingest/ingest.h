/* ingest.h - load JSONL conversation files into the store */
#ifndef CS_INGEST_INGEST_H
#define CS_INGEST_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct cs_ingest_opts {
    const char *rejects_path;   /* where rejected lines go (JSONL) */
    size_t max_line;            /* longer lines are rejected unread */
    size_t batch_rows;          /* rows per transaction (0: 5000) */
    int max_messages;           /* reject reasons echoed to stderr */
};

struct cs_ingest_stats {
    uint64_t files;             /* files opened */
    uint64_t files_failed;      /* files or folders not (fully) read */
    uint64_t lines;             /* non-blank lines seen */
    uint64_t loaded;            /* conversations stored */
    uint64_t rejected;          /* lines rejected (see the rejects file) */
    uint64_t bytes;             /* bytes of the lines seen */
    int interrupted;            /* the signal that stopped the reading (the
                                   lines read before it are stored), or 0 */
};

/* 1 when a file name is an input file: *.jsonl or *.jsonl.gz. */
int cs_ingest_wanted(const char *name);

/*
 * Ingests files and folders (recursively, *.jsonl and *.jsonl.gz, in name
 * order). Each bad line is rejected with file, line and reason into the
 * rejects file and the rest goes on; an unreadable file or folder is
 * counted and skipped. Returns 0 unless the store failed (CS_EDB: what was
 * flushed before stays stored). Fills *stats in every case. A SIGTERM or
 * SIGINT caught (base/sig.h) stops the reading before the next line; the
 * conversations read until then are committed, and stats->interrupted
 * says so (re-ingesting the file is safe: it is idempotent).
 */
int cs_ingest_paths(struct cs_ingest_stats *stats, struct cs_store *st,
                    char *const *paths, size_t n_paths,
                    const struct cs_ingest_opts *opts, struct cs_err *err);

#endif
