/* render.c - the renderer table, and writing a report to a file safely */
#include "report/render.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "report/pdf/pdf.h"

static const struct cs_renderer renderers[] = {
    {"json", "json", cs_render_json, NULL},
    {"csv", "csv", cs_render_csv, NULL},
    {"txt", "txt", cs_render_txt, NULL},
    {"pdf-executive", "pdf", NULL, cs_render_pdf_executive},
    {"pdf-daily", "pdf", NULL, cs_render_pdf_daily},
    {"xlsx", "xlsx", NULL, cs_render_xlsx},
};

const struct cs_renderer *cs_render_find(const char *name)
{
    for (size_t i = 0; i < sizeof(renderers) / sizeof(renderers[0]); i++) {
        if (strcmp(renderers[i].name, name) == 0)
            return &renderers[i];
    }
    return NULL;
}

int cs_render_stream(const struct cs_renderer *rd, const struct cs_report *r,
                     FILE *out, const char *what, struct cs_err *err)
{
    int ret;

    ret = rd->stream(r, out, err);
    /* A renderer says what it could not write; the message names where
     * (a full disk under the reports folder, say). */
    if (ret == CS_EIO && ferror(out)) {
        int e = errno ? errno : EIO;

        return cs_err_set(err, CS_EIO, "cannot write %s: %s", what,
                          strerror(e));
    }
    if (ret)
        return ret;
    if (fflush(out) != 0 || ferror(out))
        return cs_err_set(err, CS_EIO, "cannot write %s: %s", what,
                          strerror(errno ? errno : EIO));
    return 0;
}

int cs_render_file(const struct cs_renderer *rd, const struct cs_report *r,
                   const char *path, struct cs_err *err)
{
    struct cs_buf tmp = CS_BUF_INIT;
    FILE *f = NULL;
    int ret;

    cs_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    if (rd->path) {
        ret = rd->path(r, tmp.ptr, err);
        goto commit;
    }
    f = fopen(tmp.ptr, "wb");
    if (!f) {
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", tmp.ptr,
                         strerror(errno));
        goto done;
    }
    ret = cs_render_stream(rd, r, f, tmp.ptr, err);
    if (ret)
        goto done;
    if (fsync(fileno(f)) != 0 && errno != EINVAL) {
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", tmp.ptr,
                         strerror(errno));
        goto done;
    }
    ret = fclose(f);
    f = NULL;
    if (ret) {
        ret = cs_err_set(err, CS_EIO, "cannot write '%s': %s", tmp.ptr,
                         strerror(errno));
        goto done;
    }
commit:
    if (!ret && rename(tmp.ptr, path) < 0)
        ret = cs_err_set(err, CS_EIO, "cannot rename '%s' to '%s': %s",
                         tmp.ptr, path, strerror(errno));
done:
    if (f)
        fclose(f);
    if (ret)
        unlink(tmp.ptr);
    cs_buf_release(&tmp);
    return ret;
}
