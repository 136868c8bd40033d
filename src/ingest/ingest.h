/* ingest.h - load JSONL conversation files into the store */
#ifndef CS_INGEST_INGEST_H
#define CS_INGEST_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/*
 * Converters: how ingest loads shapes other than its own (import/ supplies
 * them; ingest knows none). Ingest still reads every file, validates every
 * record it is handed with cs_conv_from_line, writes the rejects and
 * COPYs; a converter only turns documents into canonical records. A
 * document is one non-blank line of a JSON Lines file, or a whole *.json
 * (*.json.gz) file, which ingest reads only when a converter is set.
 *
 * All three callbacks run on the reader thread, one after the other.
 */
struct cs_ingest_rec {
    const char *text;       /* a canonical conversation (JSON text), or NULL
                               for a reject */
    size_t len;
    const char *reject;     /* with text NULL: why the payload is refused */
    const char *file;       /* where it came from; NULL: the document's file.
                               Must stay valid until cs_ingest_paths returns */
    long line;              /* its first line in that file */
    const char *raw;        /* the payload as it came, for the rejects file
                               (may be NULL); also used when `text` fails
                               validation */
    size_t raw_len;
};

/* Hands one record to ingest (loaded or rejected as it says). */
typedef void (*cs_ingest_emit_fn)(void *run, const struct cs_ingest_rec *rec);

struct cs_ingest_conv {
    /* 1 when the converter takes `file`, whose first document is `doc`
     * (`len` bytes, not NUL-terminated); 0 leaves it to ingest, which reads
     * its lines (or the whole *.json file) as canonical conversations. */
    int (*claim)(void *ctx, const char *file, const char *doc, size_t len);
    /* Converts one document of a claimed file that starts on line `line`,
     * handing each record to emit(run, rec). The document is borrowed for
     * the call. A negative return stops the run with `err`. */
    int (*convert)(void *ctx, const char *file, long line, const char *doc,
                   size_t len, cs_ingest_emit_fn emit, void *run,
                   struct cs_err *err);
    /* After the last file: emits what the converter held back (records
     * made of several documents). May be NULL. */
    int (*finish)(void *ctx, cs_ingest_emit_fn emit, void *run,
                  struct cs_err *err);
    void *ctx;
};

struct cs_ingest_opts {
    const char *rejects_path;   /* where rejected lines go (JSONL) */
    size_t max_line;            /* longer lines are rejected unread */
    size_t batch_rows;          /* rows per transaction (0: 5000) */
    int max_messages;           /* reject reasons echoed to stderr */
    const struct cs_ingest_conv *conv; /* NULL: canonical JSON Lines only */
    size_t max_doc;             /* a larger *.json file is rejected unread
                                   (0: 64 MiB) */
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
    long first_reject_line;     /* the first reject's line and reason (""
                                   when none), for one-line summaries */
    char first_reject[256];
};

/* 1 when a file name is an input file: *.jsonl or *.jsonl.gz. */
int cs_ingest_wanted(const char *name);

/* 1 for the files read whole when a converter is set: *.json, *.json.gz. */
int cs_ingest_whole(const char *name);

/*
 * Ingests files and folders (recursively, *.jsonl and *.jsonl.gz, and with
 * a converter *.json and *.json.gz too, in name order). Each bad line is
 * rejected with file, line and reason into the rejects file and the rest
 * goes on; an unreadable file or folder is counted and skipped. Returns 0
 * unless the store or the converter failed (CS_EDB: what was flushed
 * before stays stored). Fills *stats in every case. A SIGTERM or
 * SIGINT caught (base/sig.h) stops the reading before the next line; the
 * conversations read until then are committed, and stats->interrupted
 * says so (re-ingesting the file is safe: it is idempotent).
 */
int cs_ingest_paths(struct cs_ingest_stats *stats, struct cs_store *st,
                    char *const *paths, size_t n_paths,
                    const struct cs_ingest_opts *opts, struct cs_err *err);

#endif
