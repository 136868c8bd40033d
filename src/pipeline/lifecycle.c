/* lifecycle.c - retention (db prune) and removing a tenant */
#include "pipeline/lifecycle.h"

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
#include "base/parse.h"
#include "kpi/kpi.h"
#include "store/batches.h"
#include "store/deliveries.h"
#include "store/partition.h"

int cs_lifecycle_prune(struct cs_prune_counts *out, struct cs_store *st,
                       const struct cs_config *cfg, int dry_run,
                       struct cs_err *err)
{
    char **tenants = NULL;
    size_t n = 0;
    json_t *limits = json_array();
    char *limits_text = NULL;
    struct limit {
        char *tz;
        char before[11];
    } *lim = NULL;
    struct cs_tenant_cfg dc;
    long keep;
    int ret;

    /* LLM batches belong to no tenant: kept as long as the longest
     * retention of the tenants with data (else the default's). */
    cs_config_tenant(&dc, cfg, "default", NULL);
    keep = dc.retention_days;
    cs_tenant_cfg_release(&dc);
    ret = cs_store_data_tenants(&tenants, st, err);
    while (tenants && tenants[n])
        n++;
    lim = cs_xcalloc(n + 1, sizeof(*lim));
    /* Each tenant's first local day kept, in its zone. */
    for (size_t i = 0; !ret && i < n; i++) {
        struct cs_tenant_cfg tc;
        char today[11];
        int64_t d = 0;

        cs_config_tenant(&tc, cfg, tenants[i], NULL);
        if (i == 0 || tc.retention_days > keep)
            keep = tc.retention_days;
        ret = cs_kpi_tz_sql(&lim[i].tz, st, tc.timezone, err);
        if (!ret)
            ret = cs_store_today(today, st, lim[i].tz, err);
        if (!ret && cs_parse_date(today, &d))
            ret = cs_err_set(err, CS_ERROR, "bad date '%s'", today);
        if (!ret) {
            cs_format_date(d - tc.retention_days, lim[i].before);
            json_array_append_new(limits, json_pack("[ss]", lim[i].before,
                                                    lim[i].tz));
        }
        cs_tenant_cfg_release(&tc);
    }
    limits_text = json_dumps(limits, JSON_COMPACT);
    /* The months older than every limit go whole, then the rest row by
     * row, tenant by tenant. */
    if (!ret && n)
        ret = cs_store_prune_months(out, st, limits_text, dry_run, err);
    for (size_t i = 0; !ret && i < n; i++)
        ret = cs_store_prune_tenant(out, st, tenants[i], lim[i].before,
                                    lim[i].tz, 5000, dry_run, err);
    for (size_t i = 0; i < n; i++)
        free(lim[i].tz);
    free(lim);
    free(limits_text);
    json_decref(limits);
    cs_strv_free(tenants);
    if (!ret)
        ret = cs_store_llm_batches_prune(&out->batches, st, keep, dry_run,
                                         err);
    return ret;
}

struct walk {
    const char *tenant;
    struct cs_buf own;      /* "-<tenant>." in report file names */
    struct cs_buf mail;     /* "_<tenant>_" in outbox file names */
    long removed;
};

/* Whether a file names this tenant as its own (and no other). */
static int own_file(const struct walk *w, const char *name)
{
    return strstr(name, w->own.ptr) != NULL ||
           (strstr(name, w->mail.ptr) != NULL &&
            strcmp(name + strlen(name) - 4, ".eml") == 0);
}

/* Files several tenants share: kept, but said if they mention it. */
static void shared_file(const struct walk *w, const char *path,
                        const char *name)
{
    char *text = NULL;
    size_t len = 0;

    if (strncmp(name, "kpis.", 5) != 0 && strcmp(name, "alerts.json") != 0)
        return;
    if (cs_fs_read(&text, &len, path, 64u << 20, NULL) == 0 &&
        strstr(text, w->tenant))
        cs_log(CS_LOG_WARN, "'%s' also lists other tenants and is kept; the "
               "next runs rewrite it without '%s'", path, w->tenant);
    free(text);
}

static int walk_dir(struct walk *w, const char *dir, struct cs_err *err)
{
    char **names = NULL;
    size_t n = 0;
    int ret;

    ret = cs_fs_list_sorted(&names, &n, dir, NULL, NULL, err);
    if (ret == CS_ENOTFOUND) {
        cs_err_clear(err);
        return 0;
    }
    for (size_t i = 0; !ret && i < n; i++) {
        struct cs_buf p = CS_BUF_INIT;
        struct stat sb;

        cs_buf_addf(&p, "%s/%s", dir, names[i]);
        if (lstat(p.ptr, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            ret = walk_dir(w, p.ptr, err);
        } else if (own_file(w, names[i])) {
            if (unlink(p.ptr) == 0)
                w->removed++;
            else
                ret = cs_err_set(err, CS_EIO, "cannot remove '%s': %s",
                                 p.ptr, strerror(errno));
        } else {
            shared_file(w, p.ptr, names[i]);
        }
        cs_buf_release(&p);
    }
    cs_fs_list_free(names, n);
    return ret;
}

int cs_lifecycle_delete_tenant(struct cs_prune_counts *out, long *files_out,
                               struct cs_store *st,
                               const struct cs_config *cfg,
                               const char *tenant, struct cs_err *err)
{
    struct walk w = {tenant, CS_BUF_INIT, CS_BUF_INIT, 0};
    int ret;

    *files_out = 0;
    ret = cs_store_delete_tenant(out, st, tenant, err);
    if (ret)
        return ret;
    /* Report files carry the tenant as a safe file name component. */
    cs_buf_addch(&w.own, '-');
    cs_fs_safe_name(&w.own, tenant);
    cs_buf_addch(&w.own, '.');
    cs_buf_addch(&w.mail, '_');
    cs_fs_safe_name(&w.mail, tenant);
    cs_buf_addch(&w.mail, '_');
    ret = walk_dir(&w, cfg->reports_dir, err);
    *files_out = w.removed;
    cs_buf_release(&w.own);
    cs_buf_release(&w.mail);
    return ret;
}
