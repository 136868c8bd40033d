/* ingest.c - load JSONL conversation files into the store */
#include "ingest/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "ingest/reader.h"
#include "model/conv.h"

struct run {
    const struct cs_ingest_opts *opts;
    struct cs_ingest_stats *stats;
    FILE *rejects;
    int messages;
    struct cs_progress progress;
};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int wanted(const char *name)
{
    return has_suffix(name, ".jsonl") || has_suffix(name, ".jsonl.gz");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the files under `path` (a file is taken as given). */
static void collect(char ***files, size_t *n, size_t *cap, const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char **sub = NULL;
    size_t nsub = 0, capsub = 0;

    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *files = cs_xrealloc(*files, *cap * sizeof(**files));
        }
        (*files)[(*n)++] = cs_xstrdup(path);
        return;
    }
    d = opendir(path);
    if (!d) {
        cs_log(CS_LOG_ERROR, "cannot read folder '%s': %s", path,
               strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct cs_buf p = CS_BUF_INIT;
        struct stat es;

        if (e->d_name[0] == '.')
            continue;
        cs_buf_addf(&p, "%s/%s", path, e->d_name);
        if (stat(p.ptr, &es) == 0 && (S_ISDIR(es.st_mode) ||
                                       wanted(e->d_name))) {
            if (nsub == capsub) {
                capsub = capsub ? capsub * 2 : 16;
                sub = cs_xrealloc(sub, capsub * sizeof(*sub));
            }
            sub[nsub++] = cs_buf_detach(&p, NULL);
        }
        cs_buf_release(&p);
    }
    closedir(d);
    if (nsub)
        qsort(sub, nsub, sizeof(*sub), cmp_str);
    for (size_t i = 0; i < nsub; i++) {
        collect(files, n, cap, sub[i]);
        free(sub[i]);
    }
    free(sub);
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

static void reject(struct run *r, const char *file, long line,
                   const char *reason, const char *raw, size_t raw_len)
{
    json_t *o;

    r->stats->rejected++;
    if (r->messages < r->opts->max_messages)
        cs_log(CS_LOG_WARN, "%s:%ld: %s", file, line, reason);
    else if (r->messages == r->opts->max_messages)
        cs_log(CS_LOG_WARN, "more rejected lines: see %s",
               r->opts->rejects_path);
    r->messages++;
    if (!r->rejects) {
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
            cs_log(CS_LOG_ERROR, "cannot write rejects file '%s': %s",
                   r->opts->rejects_path, strerror(errno));
            return;
        }
    }
    o = json_pack("{s:s,s:I,s:s,s:o}", "file", file, "line",
                  (json_int_t)line, "reason", reason, "raw",
                  raw ? excerpt(raw, raw_len, 4096) : json_null());
    json_dumpf(o, r->rejects, JSON_COMPACT);
    fputc('\n', r->rejects);
    json_decref(o);
}

static void on_db_reject(void *ctx, const char *file, long line,
                         const char *reason)
{
    struct run *r = ctx;

    r->stats->loaded--; /* counted when it was added */
    reject(r, file, line, reason, NULL, 0);
}

/* Validates one line; adds it to the batch or rejects it. */
static int one_line(struct run *r, struct cs_store_batch *batch,
                    const char *file, long lineno, const char *line,
                    size_t len, struct cs_err *err)
{
    struct cs_err verr = {0, ""};
    struct cs_conv *conv = NULL;
    json_error_t jerr;
    const char *nul;
    json_t *obj;
    int ret;

    nul = memchr(line, '\0', len);
    if (nul) {
        char msg[96];

        snprintf(msg, sizeof(msg), "NUL byte at column %zu",
                 (size_t)(nul - line) + 1);
        reject(r, file, lineno, msg, NULL, 0);
        return 0;
    }
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        char msg[300];

        snprintf(msg, sizeof(msg), "invalid JSON at column %d: %s",
                 jerr.column, jerr.text);
        reject(r, file, lineno, msg, line, len);
        return 0;
    }
    ret = cs_conv_from_json(&conv, obj, &verr);
    json_decref(obj);
    if (ret) {
        reject(r, file, lineno, verr.msg, line, len);
        return 0;
    }
    r->stats->loaded++;
    ret = cs_store_batch_add(batch, conv, line, len, file, lineno, err);
    cs_conv_free(conv);
    return ret;
}

static int one_file(struct run *r, struct cs_store_batch *batch,
                    const char *file, struct cs_err *err)
{
    struct cs_err ferr = {0, ""};
    struct cs_reader *rd = NULL;
    const char *line;
    size_t len;
    long lineno;
    int too_long, ret;

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
        r->stats->lines++;
        ret = one_line(r, batch, file, lineno, line, len, err);
        if (ret)
            break;
        if ((r->stats->lines & 1023) == 0)
            cs_progress_update(&r->progress, r->stats->lines);
    }
    cs_reader_close(rd);
    return ret;
}

int cs_ingest_paths(struct cs_ingest_stats *stats, struct cs_store *st,
                    char *const *paths, size_t n_paths,
                    const struct cs_ingest_opts *opts, struct cs_err *err)
{
    struct run r;
    struct cs_store_batch *batch = NULL;
    char **files = NULL;
    size_t n = 0, cap = 0;
    int ret = 0;

    memset(stats, 0, sizeof(*stats));
    memset(&r, 0, sizeof(r));
    r.opts = opts;
    r.stats = stats;
    for (size_t i = 0; i < n_paths; i++)
        collect(&files, &n, &cap, paths[i]);
    cs_store_batch_new(&batch, st, opts->batch_rows, on_db_reject, &r);
    cs_progress_start(&r.progress, "ingested lines", 0);
    for (size_t i = 0; i < n && !ret; i++) {
        /* Keep file names alive until the last flush (rows point at them). */
        ret = one_file(&r, batch, files[i], err);
    }
    if (!ret)
        ret = cs_store_batch_flush(batch, err);
    cs_progress_end(&r.progress);
    if (ret) {
        /* Rows of the failed batch were not stored. */
        stats->loaded = cs_store_batch_stored(batch);
    }
    cs_store_batch_free(batch);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    if (r.rejects)
        fclose(r.rejects);
    return ret;
}
