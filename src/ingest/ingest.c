/* ingest.c - load JSONL conversation files into the store */
#define _POSIX_C_SOURCE 200809L /* ftello, ftruncate, fileno */
#include "ingest/ingest.h"

#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sig.h"
#include "ingest/arena.h"
#include "ingest/reader.h"
#include "model/conv.h"
#include "model/scan.h"
#include "store/row.h"

/*
 * Two threads share the work: a reader validates lines and builds their
 * COPY rows (most lines on the fast path of model/scan.h, the rest through
 * jansson) and hands them through a bounded queue to the writer, this
 * thread, which streams them to PostgreSQL. Order is kept, so a later
 * line still wins.
 */

/* A queue slot; its buffers stay with the slot and are reused, so that no
 * memory passes between threads row by row (that made malloc contend). */
struct item {
    struct cs_buf text;
    struct cs_buf key;
    const char *file;
    long line;
};

#define QUEUE_CAP 256
#define WAKE_AT 64

struct run {
    const struct cs_ingest_opts *opts;
    struct cs_ingest_stats *stats;
    char *const *files;
    size_t n_files;
    pthread_mutex_t lock;       /* guards all below and the rejects file */
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    struct item items[QUEUE_CAP];
    size_t head, count;
    int reader_done;
    int writer_waiting;
    int stop;                   /* the writer failed: the reader stops */
    int halted;                 /* reader side: stop reading (a full stop,
                                   or the converter failed) */
    const char *cur_file;       /* the file being read (reader side) */
    struct cs_err conv_err;     /* why the converter stopped the run */
    int conv_ret;
    FILE *rejects;
    int rejects_errno;          /* a write to the rejects file failed */
    off_t rejects_whole;        /* its size up to the last whole line */
    int messages;
    struct cs_progress progress;
    struct cs_scan scan;        /* the reader's fast path (model/scan.h) */
};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cs_ingest_wanted(const char *name)
{
    return has_suffix(name, ".jsonl") || has_suffix(name, ".jsonl.gz");
}

int cs_ingest_whole(const char *name)
{
    return has_suffix(name, ".json") || has_suffix(name, ".json.gz");
}

/* A sub-folder, or an input file (a dangling link is neither); `ctx` is
 * the options (with a converter, *.json files are input too). */
static int wanted_entry(void *ctx, const char *dir, const char *name)
{
    const struct cs_ingest_opts *opts = ctx;
    struct cs_buf p = CS_BUF_INIT;
    struct stat st;
    int ok;

    cs_buf_addf(&p, "%s/%s", dir, name);
    ok = stat(p.ptr, &st) == 0 &&
         (S_ISDIR(st.st_mode) || cs_ingest_wanted(name) ||
          (opts->conv && cs_ingest_whole(name)));
    cs_buf_release(&p);
    return ok;
}

/* Appends the files under `path` (a file is taken as given). */
static void collect(char ***files, size_t *n, size_t *cap, const char *path,
                    const struct cs_ingest_opts *opts, uint64_t *failed)
{
    struct cs_err lerr = {0, ""};
    struct stat st;
    char **sub = NULL;
    size_t nsub = 0;

    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *files = cs_xrealloc(*files, *cap * sizeof(**files));
        }
        (*files)[(*n)++] = cs_xstrdup(path);
        return;
    }
    if (cs_fs_list_sorted(&sub, &nsub, path, wanted_entry, (void *)opts,
                          &lerr)) {
        cs_log(CS_LOG_ERROR, "%s", lerr.msg);
        (*failed)++;
        return;
    }
    for (size_t i = 0; i < nsub; i++) {
        struct cs_buf p = CS_BUF_INIT;

        cs_buf_addf(&p, "%s/%s", path, sub[i]);
        collect(files, n, cap, p.ptr, opts, failed);
        cs_buf_release(&p);
    }
    cs_fs_list_free(sub, nsub);
}

/* The longest prefix of `s` (at most `max` bytes) that is whole UTF-8. */
static json_t *excerpt(const char *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;

    /* A cut may split a character: back off at most 3 bytes. */
    for (int back = 0; back < 4 && n > 0; back++, n--) {
        json_t *j = json_stringn(s, n);

        if (j)
            return j;
    }
    return json_null();
}

/* Copies `s` into out[n], cut before a character that does not fit
 * (UTF-8). */
static void copy_cut(char *out, size_t n, const char *s)
{
    size_t len = strlen(s);

    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, s, len);
    out[len] = '\0';
}

static void reject_locked(struct run *r, const char *file, long line,
                          const char *reason, const char *raw,
                          size_t raw_len)
{
    json_t *o;

    if (r->stats->rejected++ == 0) {
        r->stats->first_reject_line = line;
        copy_cut(r->stats->first_reject, sizeof(r->stats->first_reject),
                 reason);
    }
    if (r->messages < r->opts->max_messages)
        cs_log(CS_LOG_WARN, "%s:%ld: %s", file, line, reason);
    else if (r->messages == r->opts->max_messages)
        cs_log(CS_LOG_WARN, "more rejected lines: see %s",
               r->opts->rejects_path);
    r->messages++;
    if (!r->rejects && !r->rejects_errno) {
        struct cs_buf dir = CS_BUF_INIT;
        const char *slash = strrchr(r->opts->rejects_path, '/');

        if (slash) {
            cs_buf_add(&dir, r->opts->rejects_path,
                       (size_t)(slash - r->opts->rejects_path));
            cs_fs_mkdirs(dir.ptr, NULL);
        }
        cs_buf_release(&dir);
        r->rejects = fopen(r->opts->rejects_path, "a");
        if (!r->rejects) {
            if (!r->rejects_errno)
                r->rejects_errno = errno ? errno : EIO;
            return;
        }
        r->rejects_whole = fseeko(r->rejects, 0, SEEK_END) == 0
                               ? ftello(r->rejects) : -1;
    }
    if (r->rejects_errno)
        return; /* the run ends in an error naming the file */
    o = json_pack("{s:s,s:I,s:s,s:o}", "file", file, "line",
                  (json_int_t)line, "reason", reason, "raw",
                  raw ? excerpt(raw, raw_len, 4096) : json_null());
    if (!o) {
        /* A file name that is not UTF-8 cannot be a JSON string: it is
         * written with those bytes as \xNN rather than not at all. */
        struct cs_buf f = CS_BUF_INIT, why = CS_BUF_INIT;

        cs_buf_add_excerpt(&f, file, strlen(file), 4096);
        cs_buf_add_excerpt(&why, reason, strlen(reason), 4096);
        o = json_pack("{s:s,s:I,s:s,s:o}", "file", f.ptr, "line",
                      (json_int_t)line, "reason", why.ptr, "raw",
                      raw ? excerpt(raw, raw_len, 4096) : json_null());
        cs_buf_release(&f);
        cs_buf_release(&why);
    }
    /* Each line is flushed whole: when one cannot be (a full disk), the
     * file is closed and cut back to the lines before it, so it never
     * ends in half a line, and the run ends in an error naming it. */
    if (json_dumpf(o, r->rejects, JSON_COMPACT) != 0 ||
        fputc('\n', r->rejects) == EOF || fflush(r->rejects) != 0) {
        r->rejects_errno = errno ? errno : EIO;
        fclose(r->rejects);
        r->rejects = NULL;
        if (r->rejects_whole >= 0 &&
            truncate(r->opts->rejects_path, r->rejects_whole) != 0)
            cs_log(CS_LOG_WARN, "cannot cut '%s' back to its whole lines: "
                   "%s", r->opts->rejects_path, strerror(errno));
    } else {
        r->rejects_whole = ftello(r->rejects);
    }
    json_decref(o);
}

/*
 * Closes the rejects file; a rejected line that could not be recorded
 * (open, write, flush or close failed: a full disk, say) makes the run an
 * error naming the file, so no reject is lost silently.
 */
static int close_rejects(struct run *r, int ret, struct cs_err *err)
{
    if (r->rejects) {
        if ((fflush(r->rejects) != 0 || ferror(r->rejects)) &&
            !r->rejects_errno)
            r->rejects_errno = errno ? errno : EIO;
        if (fclose(r->rejects) != 0 && !r->rejects_errno)
            r->rejects_errno = errno ? errno : EIO;
        r->rejects = NULL;
    }
    if (!r->rejects_errno || ret)
        return ret;
    return cs_err_set(err, CS_EIO, "rejected lines could not be recorded in "
                      "the rejects file '%s': %s", r->opts->rejects_path,
                      strerror(r->rejects_errno));
}

static void reject(struct run *r, const char *file, long line,
                   const char *reason, const char *raw, size_t raw_len)
{
    pthread_mutex_lock(&r->lock);
    reject_locked(r, file, line, reason, raw, raw_len);
    pthread_mutex_unlock(&r->lock);
}

/* The next free slot, for the reader to fill; NULL when the writer
 * stopped. */
static struct item *slot_get(struct run *r)
{
    struct item *it = NULL;

    pthread_mutex_lock(&r->lock);
    while (r->count == QUEUE_CAP && !r->stop)
        pthread_cond_wait(&r->not_full, &r->lock);
    if (!r->stop)
        it = &r->items[(r->head + r->count) % QUEUE_CAP];
    pthread_mutex_unlock(&r->lock);
    return it;
}

/* Hands the filled slot to the writer. */
static void slot_put(struct run *r)
{
    pthread_mutex_lock(&r->lock);
    /* Wake a waiting writer only once a run of rows is ready, so each
     * wake-up (a system call on both sides) pays for many rows. */
    if (++r->count == WAKE_AT)
        pthread_cond_signal(&r->not_empty);
    pthread_mutex_unlock(&r->lock);
}

/* The oldest filled slot, left in place until slot_done; NULL when the
 * reader is done and none is left. */
static struct item *slot_next(struct run *r)
{
    struct item *it = NULL;

    pthread_mutex_lock(&r->lock);
    if (r->count == 0 && !r->reader_done) {
        r->writer_waiting = 1;
        while (r->count < WAKE_AT && !r->reader_done)
            pthread_cond_wait(&r->not_empty, &r->lock);
        r->writer_waiting = 0;
    }
    if (r->count)
        it = &r->items[r->head];
    pthread_mutex_unlock(&r->lock);
    return it;
}

static void slot_done(struct run *r)
{
    pthread_mutex_lock(&r->lock);
    r->head = (r->head + 1) % QUEUE_CAP;
    /* Wake the reader only when it may be waiting (queue was full). */
    if (r->count-- == QUEUE_CAP)
        pthread_cond_signal(&r->not_full);
    pthread_mutex_unlock(&r->lock);
}

static void on_db_reject(void *ctx, const char *file, long line,
                         const char *reason)
{
    struct run *r = ctx;

    r->stats->loaded--; /* counted when it was added */
    reject(r, file, line, reason, NULL, 0);
}

/* Validates one line and queues it, or rejects it. -1: stop reading.
 * A converted record (`raw` set) is rejected with its payload and says
 * that the conversion made it. */
static int one_line_in_arena(struct run *r, const char *file, long lineno,
                             const char *line, size_t len, const char *raw,
                             size_t raw_len)
{
    struct cs_err verr = {0, ""};
    struct cs_conv *conv = NULL;
    struct item *it;

    if (cs_conv_from_line(&conv, line, len, &verr)) {
        if (raw) {
            struct cs_buf msg = CS_BUF_INIT;

            cs_buf_addf(&msg, "converted record is invalid: %s", verr.msg);
            reject(r, file, lineno, msg.ptr,
                   memchr(raw, '\0', raw_len) ? NULL : raw, raw_len);
            cs_buf_release(&msg);
            return 0;
        }
        /* A line with a NUL byte is not copied into the rejects file. */
        reject(r, file, lineno, verr.msg,
               memchr(line, '\0', len) ? NULL : line, len);
        return 0;
    }
    /* The row is built here, into the slot, and the parsed tree freed by
     * the thread that made it. */
    it = slot_get(r);
    if (!it) {
        cs_conv_free(conv);
        return -1;
    }
    cs_store_row_build(&it->text, &it->key, conv, line, len);
    cs_conv_free(conv);
    it->file = file;
    it->line = lineno;
    slot_put(r);
    return 0;
}

/*
 * A line in the common shape takes the fast path: scanned from its bytes
 * and its row built from them, with no JSON tree. Any other line, and
 * every invalid one, goes through jansson, with everything jansson
 * allocates for it in one arena that dies with the line.
 */
static int one_line(struct run *r, const char *file, long lineno,
                    const char *line, size_t len, const char *raw,
                    size_t raw_len)
{
    struct item *it;
    int ret;

    if (cs_scan_line(&r->scan, line, len) == 0) {
        it = slot_get(r);
        if (!it)
            return -1;
        cs_store_row_build_scan(&it->text, &it->key, &r->scan, line, len);
        it->file = file;
        it->line = lineno;
        slot_put(r);
        return 0;
    }
    cs_arena_begin();
    ret = one_line_in_arena(r, file, lineno, line, len, raw, raw_len);
    cs_arena_end();
    return ret;
}

/* The converter's records: loaded like lines, or rejected. */
static void emit(void *arg, const struct cs_ingest_rec *rec)
{
    struct run *r = arg;
    const char *file = rec->file ? rec->file : r->cur_file;

    if (r->halted)
        return;
    if (!rec->text) {
        reject(r, file, rec->line, rec->reject ? rec->reject : "rejected",
               rec->raw && !memchr(rec->raw, '\0', rec->raw_len) ? rec->raw
                                                                 : NULL,
               rec->raw_len);
        return;
    }
    if (one_line(r, file, rec->line, rec->text, rec->len,
                 rec->raw ? rec->raw : rec->text,
                 rec->raw ? rec->raw_len : rec->len) < 0)
        r->halted = 1;
}

/* Hands a document to the converter. -1: stop reading. */
static int convert_doc(struct run *r, const char *file, long lineno,
                       const char *doc, size_t len)
{
    const struct cs_ingest_conv *cv = r->opts->conv;
    int ret;

    ret = cv->convert(cv->ctx, file, lineno, doc, len, emit, r,
                      &r->conv_err);
    if (ret < 0) {
        r->conv_ret = ret;
        r->halted = 1;
    }
    return r->halted ? -1 : 0;
}

/* A *.json file: one document, read whole. */
static int whole_file(struct run *r, const char *file)
{
    const struct cs_ingest_conv *cv = r->opts->conv;
    size_t max = r->opts->max_doc ? r->opts->max_doc : (size_t)64 << 20;
    struct cs_err ferr = {0, ""};
    struct cs_buf doc = CS_BUF_INIT;
    size_t size = 0;
    int ret;

    ret = cs_reader_slurp(&doc, &size, file, max, &ferr);
    if (ret == CS_ETOOBIG) {
        char msg[160];

        r->stats->files++;
        r->stats->lines++;
        r->stats->bytes += size;
        snprintf(msg, sizeof(msg), "a .json file of %zu bytes exceeds the "
                 "limit of %zu bytes (write JSON Lines instead)", size, max);
        reject(r, file, 1, msg, NULL, 0);
        cs_buf_release(&doc);
        return 0;
    }
    if (ret) {
        r->stats->files_failed++;
        cs_log(CS_LOG_ERROR, "%s", ferr.msg);
        cs_buf_release(&doc);
        return 0;
    }
    r->stats->files++;
    r->stats->bytes += doc.len;
    ret = 0;
    if (strspn(doc.ptr, " \t\r\n") < doc.len) {
        r->stats->lines++;
        if (cv->claim(cv->ctx, file, doc.ptr, doc.len))
            ret = convert_doc(r, file, 1, doc.ptr, doc.len);
        else
            ret = one_line(r, file, 1, doc.ptr, doc.len, NULL, 0);
    }
    cs_buf_release(&doc);
    return ret;
}

static int one_file(struct run *r, const char *file)
{
    const struct cs_ingest_conv *cv = r->opts->conv;
    struct cs_err ferr = {0, ""};
    struct cs_reader *rd = NULL;
    const char *line;
    size_t len;
    long lineno = 0;
    int too_long, ret, claimed = -1;

    r->cur_file = file;
    if (cv && cs_ingest_whole(file))
        return whole_file(r, file);
    ret = cs_reader_open(&rd, file, r->opts->max_line, &ferr);
    if (ret) {
        r->stats->files_failed++;
        cs_log(CS_LOG_ERROR, "%s", ferr.msg);
        return 0;
    }
    r->stats->files++;
    for (;;) {
        ret = cs_reader_next(rd, &line, &len, &too_long, &lineno, &ferr);
        if (ret < 0) {
            r->stats->files_failed++;
            cs_log(CS_LOG_ERROR, "%s (lines before %ld were read)", ferr.msg,
                   lineno + 1);
            ret = 0;
            break;
        }
        if (ret == 0)
            break;
        r->stats->bytes += len + 1;
        if (too_long) {
            char msg[128];

            r->stats->lines++;
            snprintf(msg, sizeof(msg), "line of %zu bytes exceeds the limit "
                     "of %zu bytes", len, r->opts->max_line);
            reject(r, file, lineno, msg, NULL, 0);
            continue;
        }
        if (strspn(line, " \t\r") >= len)
            continue; /* blank */
        if (cs_sig_received()) {
            /* Stop reading; what was read is committed by the writer. */
            r->stats->interrupted = cs_sig_received();
            cs_log(CS_LOG_WARN, "stopped reading '%s' at line %ld: the "
                   "lines before it are stored", file, lineno);
            ret = -1;
            break;
        }
        r->stats->lines++;
        /* The first document decides who reads the file. */
        if (claimed < 0)
            claimed = cv && cv->claim(cv->ctx, file, line, len);
        if (claimed)
            ret = convert_doc(r, file, lineno, line, len);
        else
            ret = one_line(r, file, lineno, line, len, NULL, 0);
        if (ret < 0)
            break;
    }
    cs_reader_close(rd);
    return ret;
}

static void *reader_main(void *arg)
{
    struct run *r = arg;
    const struct cs_ingest_conv *cv = r->opts->conv;
    int ret;

    for (size_t i = 0; i < r->n_files; i++) {
        if (one_file(r, r->files[i]) < 0)
            break;
    }
    if (cv && cv->finish && !r->halted) {
        r->cur_file = NULL;
        ret = cv->finish(cv->ctx, emit, r, &r->conv_err);
        if (ret < 0)
            r->conv_ret = ret;
    }
    cs_arena_release();
    pthread_mutex_lock(&r->lock);
    r->reader_done = 1;
    pthread_cond_signal(&r->not_empty);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* The writer: adds queued conversations to the store's batch. */
static int write_all(struct run *r, struct cs_store_batch *batch,
                     struct cs_err *err)
{
    struct item *it;
    int ret = 0;

    while ((it = slot_next(r)) != NULL) {
        if (!ret) {
            r->stats->loaded++;
            ret = cs_store_batch_add_row(batch, it->key.ptr, it->text.ptr,
                                         it->text.len, it->file, it->line,
                                         err);
            if (ret) {
                pthread_mutex_lock(&r->lock);
                r->stop = 1;
                pthread_cond_signal(&r->not_full);
                pthread_mutex_unlock(&r->lock);
            }
            if ((r->stats->loaded & 1023) == 0)
                cs_progress_update(&r->progress, r->stats->loaded);
        }
        slot_done(r);
    }
    if (!ret && r->conv_ret < 0) {
        /* The converter stopped the run: keep what it loaded before. */
        ret = cs_store_batch_flush(batch, err);
        if (!ret)
            ret = cs_err_set(err, r->conv_ret, "%s", r->conv_err.msg);
        return ret;
    }
    if (!ret)
        ret = cs_store_batch_flush(batch, err);
    return ret;
}

int cs_ingest_paths(struct cs_ingest_stats *stats, struct cs_store *st,
                    char *const *paths, size_t n_paths,
                    const struct cs_ingest_opts *opts, struct cs_err *err)
{
    struct run *r = cs_xcalloc(1, sizeof(*r));
    struct cs_store_batch *batch = NULL;
    char **files = NULL;
    size_t n = 0, cap = 0;
    pthread_t reader;
    int ret = 0;

    memset(stats, 0, sizeof(*stats));
    for (size_t i = 0; i < QUEUE_CAP; i++) {
        cs_buf_init(&r->items[i].text);
        cs_buf_init(&r->items[i].key);
    }
    r->opts = opts;
    r->stats = stats;
    cs_scan_init(&r->scan);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->not_empty, NULL);
    pthread_cond_init(&r->not_full, NULL);
    for (size_t i = 0; i < n_paths; i++)
        collect(&files, &n, &cap, paths[i], opts, &stats->files_failed);
    r->files = files;
    r->n_files = n;
    cs_store_batch_new(&batch, st, opts->batch_rows, on_db_reject, r);
    cs_progress_start(&r->progress, "ingested", 0);
    /* jansson seeds its hash function on first use; do it before a second
     * thread can race for it. File names stay alive until the last flush:
     * rows point at them. */
    json_object_seed(0);
    cs_arena_install();
    if (pthread_create(&reader, NULL, reader_main, r) != 0) {
        ret = cs_err_set(err, CS_ERROR, "cannot start the reader thread");
    } else {
        ret = write_all(r, batch, err);
        pthread_join(reader, NULL);
    }
    cs_progress_end(&r->progress);
    if (ret)
        stats->loaded = cs_store_batch_stored(batch); /* the rest rolled back */
    cs_store_batch_free(batch);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    ret = close_rejects(r, ret, err);
    for (size_t i = 0; i < QUEUE_CAP; i++) {
        cs_buf_release(&r->items[i].text);
        cs_buf_release(&r->items[i].key);
    }
    cs_scan_release(&r->scan);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->not_empty);
    pthread_cond_destroy(&r->not_full);
    free(r);
    return ret;
}
