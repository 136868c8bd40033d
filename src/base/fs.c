/* fs.c - folders (creating, listing), whole-file reads and atomic writes */
#define _POSIX_C_SOURCE 200809L
#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"

int cs_fs_mkdirs(const char *path, struct cs_err *err)
{
    char *p = cs_xstrdup(path);
    int ret = 0;

    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;

            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                ret = cs_err_set(err, CS_EIO, "cannot create '%s': %s", p,
                                 strerror(errno));
                break;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    return ret;
}

int cs_fs_read(char **out, size_t *len_out, const char *path, size_t max,
               struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;
    char chunk[65536];
    FILE *f = fopen(path, "rb");
    size_t n;
    int ret = 0;

    *out = NULL;
    if (!f)
        return cs_err_set(err, errno == ENOENT ? CS_ENOTFOUND : CS_EIO,
                          "cannot open '%s': %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (max && b.len + n > max) {
            ret = cs_err_set(err, CS_ETOOBIG, "'%s' is larger than %zu bytes",
                             path, max);
            goto done;
        }
        cs_buf_add(&b, chunk, n);
    }
    if (ferror(f)) {
        ret = cs_err_set(err, CS_EIO, "cannot read '%s': %s", path,
                         strerror(errno));
        goto done;
    }
    *out = cs_buf_detach(&b, len_out);
done:
    fclose(f);
    cs_buf_release(&b);
    return ret;
}

int cs_fs_write_atomic(const char *path, const void *data, size_t len,
                       struct cs_err *err)
{
    struct cs_buf tmp = CS_BUF_INIT;
    FILE *f = NULL;
    int ret = 0;

    cs_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp.ptr, "wb");
    if (!f) {
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", tmp.ptr,
                         strerror(errno));
        goto done;
    }
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0) {
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", tmp.ptr,
                         strerror(errno));
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", tmp.ptr,
                         strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp.ptr, path) < 0) {
        ret = cs_err_set(err, CS_EIO, "cannot rename to '%s': %s", path,
                         strerror(errno));
        goto done;
    }
done:
    if (f)
        fclose(f);
    if (ret)
        unlink(tmp.ptr);
    cs_buf_release(&tmp);
    return ret;
}

int cs_fs_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cs_fs_list_sorted(char ***out, size_t *n_out, const char *dir,
                      cs_fs_filter_fn filter, void *ctx, struct cs_err *err)
{
    DIR *d = NULL;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int ret = 0;

    *out = NULL;
    *n_out = 0;
    d = opendir(dir);
    if (!d) {
        ret = cs_err_set(err, errno == ENOENT ? CS_ENOTFOUND : CS_EIO,
                         "cannot read folder '%s': %s", dir,
                         strerror(errno));
        goto done;
    }
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (!e)
            break;
        if (e->d_name[0] == '.' || (filter && !filter(ctx, dir, e->d_name)))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = cs_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = cs_xstrdup(e->d_name);
    }
    if (errno) {
        ret = cs_err_set(err, CS_EIO, "cannot read folder '%s': %s", dir,
                         strerror(errno));
        goto done;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    *out = names;
    *n_out = n;
    names = NULL;
    n = 0;
done:
    if (d)
        closedir(d);
    cs_fs_list_free(names, n);
    return ret;
}

void cs_fs_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void cs_fs_safe_name(struct cs_buf *out, const char *name)
{
    size_t n = 0;

    for (const char *p = name; *p && n < 120; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                 (c == '.' && n > 0);

        cs_buf_addch(out, ok ? c : '_');
    }
    if (n == 0)
        cs_buf_addch(out, '_');
}

int cs_fs_archive(char **dst_out, const char *src, const char *dir,
                  struct cs_err *err)
{
    static const char *const exts[] = {".jsonl.gz", ".json.gz", ".jsonl",
                                       ".json", ".gz", NULL};
    const char *name = strrchr(src, '/'), *ext = "";
    struct cs_buf dst = CS_BUF_INIT;
    size_t stem;
    int ret = 0;

    *dst_out = NULL;
    name = name ? name + 1 : src;
    stem = strlen(name);
    for (const char *const *e = exts; *e; e++) {
        size_t n = strlen(*e);

        if (stem > n && strcmp(name + stem - n, *e) == 0) {
            ext = *e;
            stem -= n;
            break;
        }
    }
    for (int k = 1;; k++) {
        cs_buf_reset(&dst);
        cs_buf_addf(&dst, "%s/%.*s", dir, (int)stem, name);
        if (k > 1)
            cs_buf_addf(&dst, "-%d", k);
        cs_buf_adds(&dst, ext);
        /* link() refuses an existing name, so two runs never take the
         * same one; across file systems, rename() after a check. */
        if (link(src, dst.ptr) == 0) {
            if (unlink(src) != 0)
                ret = cs_err_set(err, CS_EIO, "cannot remove '%s' after "
                                 "archiving it as '%s': %s", src, dst.ptr,
                                 strerror(errno));
            break;
        }
        if (errno == EEXIST)
            continue;
        if ((errno == EXDEV || errno == EPERM) && !cs_fs_exists(dst.ptr)) {
            if (rename(src, dst.ptr) != 0)
                ret = cs_err_set(err, CS_EIO, "cannot move '%s' to '%s': "
                                 "%s", src, dst.ptr, strerror(errno));
            break;
        }
        ret = cs_err_set(err, CS_EIO, "cannot move '%s' to '%s': %s", src,
                         dst.ptr, strerror(errno));
        break;
    }
    if (!ret)
        *dst_out = cs_buf_detach(&dst, NULL);
    cs_buf_release(&dst);
    return ret;
}
