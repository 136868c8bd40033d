/* fs.h - folders (creating, listing), whole-file reads and atomic writes */
#ifndef CS_BASE_FS_H
#define CS_BASE_FS_H

#include <stddef.h>

#include "base/err.h"

/* mkdir -p with mode 0755; 0 or CS_EIO. */
int cs_fs_mkdirs(const char *path, struct cs_err *err);

/* Reads a whole file (at most `max` bytes, else CS_ETOOBIG) into *out,
 * new and NUL-terminated (the caller frees it). */
int cs_fs_read(char **out, size_t *len_out, const char *path, size_t max,
               struct cs_err *err);

/* Writes `len` bytes to `path` through a temporary file and rename(), so a
 * reader never sees a half-written file. */
int cs_fs_write_atomic(const char *path, const void *data, size_t len,
                       struct cs_err *err);

/* Appends `name` as one safe file name component: bytes other than
 * letters, digits, '.', '_' and '-' become '_', a leading '.' too, and
 * it is cut at 120 bytes (tenant ids are data, not paths). */
struct cs_buf;
void cs_fs_safe_name(struct cs_buf *out, const char *name);

/*
 * Moves file `src` into folder `dir` under its own name, never replacing
 * a file there: when the name is taken, "-2", "-3", ... goes before its
 * extension (".jsonl.gz", ".json", ...). Sets *dst_out (new) to the path
 * it got. CS_EIO naming both paths on failure.
 */
int cs_fs_archive(char **dst_out, const char *src, const char *dir,
                  struct cs_err *err);

/* 1 if `path` exists. */
int cs_fs_exists(const char *path);

/* Whether the entry `name` of folder `dir` is listed (1) or not (0). */
typedef int (*cs_fs_filter_fn)(void *ctx, const char *dir, const char *name);

/*
 * The names of the entries of folder `dir` that `filter` (NULL: all)
 * accepts, hidden ones (a leading '.') never, sorted by strcmp. *out is a
 * new array of *n_out new strings (NULL when none); free it with
 * cs_fs_list_free. CS_ENOTFOUND when `dir` does not exist, else CS_EIO.
 */
int cs_fs_list_sorted(char ***out, size_t *n_out, const char *dir,
                      cs_fs_filter_fn filter, void *ctx, struct cs_err *err);
void cs_fs_list_free(char **names, size_t n);

#endif
