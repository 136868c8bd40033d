/* nightly.c - the nightly job: ingest the inbox, daily KPIs and alerts */
#include "pipeline/nightly.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/parse.h"
#include "kpi/kpi.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Ingests the inbox file by file, moving each one read to done_dir. */
static int ingest_inbox(struct cs_nightly_result *res, struct cs_store *st,
                        const struct cs_config *cfg,
                        const struct cs_nightly_opts *o, struct cs_err *err)
{
    struct cs_ingest_opts io;
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d;
    struct dirent *e;
    int ret = 0;

    d = opendir(o->inbox);
    if (!d) {
        if (errno == ENOENT)
            return 0; /* no inbox: nothing new */
        return cs_err_set(err, CS_EIO, "cannot read inbox '%s': %s",
                          o->inbox, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !cs_ingest_wanted(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = cs_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = cs_xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    memset(&io, 0, sizeof(io));
    io.rejects_path = o->rejects_path;
    io.max_line = (size_t)cfg->ingest_max_line_bytes;
    io.batch_rows = (size_t)cfg->ingest_batch_rows;
    io.max_messages = 20;
    if (n)
        ret = cs_fs_mkdirs(o->done_dir, err);
    for (size_t i = 0; i < n && !ret; i++) {
        struct cs_buf src = CS_BUF_INIT, dst = CS_BUF_INIT;
        struct cs_ingest_stats s;
        char *path;

        cs_buf_addf(&src, "%s/%s", o->inbox, names[i]);
        cs_buf_addf(&dst, "%s/%s", o->done_dir, names[i]);
        path = src.ptr;
        ret = cs_ingest_paths(&s, st, &path, 1, &io, err);
        res->ingest.files += s.files;
        res->ingest.files_failed += s.files_failed;
        res->ingest.lines += s.lines;
        res->ingest.loaded += s.loaded;
        res->ingest.rejected += s.rejected;
        res->ingest.bytes += s.bytes;
        if (!ret && !s.files_failed) {
            if (rename(src.ptr, dst.ptr) == 0)
                res->files_moved++;
            else
                cs_log(CS_LOG_WARN, "cannot move '%s' to '%s': %s", src.ptr,
                       dst.ptr, strerror(errno));
        }
        cs_buf_release(&src);
        cs_buf_release(&dst);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ret;
}

/* Writes report.{json,csv,txt} with `stem` under `dir`. */
static int write_report(const json_t *report, const char *dir,
                        const char *stem, struct cs_err *err)
{
    static const struct {
        const char *ext;
        void (*fn)(const json_t *, FILE *);
    } kinds[] = {{"json", cs_kpi_write_json},
                 {"csv", cs_kpi_write_csv},
                 {"txt", cs_kpi_write_table}};
    int ret = 0;

    for (size_t i = 0; i < 3 && !ret; i++) {
        struct cs_buf path = CS_BUF_INIT;
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);

        kinds[i].fn(report, mem);
        fclose(mem);
        cs_buf_addf(&path, "%s/%s.%s", dir, stem, kinds[i].ext);
        ret = cs_fs_write_atomic(path.ptr, text, len, err);
        free(text);
        cs_buf_release(&path);
    }
    return ret;
}

/* Adds each tenant's KPIs of the same weekday a week earlier. */
static int add_last_week(json_t *report, struct cs_store *st,
                         const struct cs_config *cfg,
                         const struct cs_rubric_set *rubrics, int64_t day,
                         struct cs_err *err)
{
    struct cs_kpi_query q;
    json_t *wk = NULL, *t;
    const char *name;
    int ret;

    memset(&q, 0, sizeof(q));
    q.rubrics = rubrics;
    cs_format_date(day - 7, q.from);
    cs_format_date(day - 6, q.to);
    ret = cs_kpi_compute(&wk, st, cfg, &q, err);
    if (ret)
        return ret;
    json_object_foreach(json_object_get(report, "tenants"), name, t) {
        json_t *w = json_object_get(json_object_get(wk, "tenants"), name);

        json_object_set(t, "same_weekday_last_week", w ? w : json_null());
    }
    json_decref(wk);
    return 0;
}

static void collect_alerts(json_t *all, const json_t *report,
                           struct cs_nightly_result *res)
{
    const char *name;
    json_t *t;

    json_object_foreach(json_object_get(report, "tenants"), name, t) {
        size_t i;
        json_t *a;

        json_array_foreach(json_object_get(t, "alerts"), i, a) {
            json_t *c = json_deep_copy(a);

            json_object_set_new(c, "tenant", json_string(name));
            json_object_set(c, "date", json_object_get(report, "from"));
            if (strcmp(json_string_value(json_object_get(a, "level")),
                       "critical") == 0)
                res->alerts_critical++;
            else
                res->alerts_warning++;
            json_array_append_new(all, c);
        }
    }
}

int cs_nightly_run(struct cs_nightly_result *res, struct cs_store *st,
                   const struct cs_config *cfg,
                   const struct cs_nightly_opts *o, struct cs_err *err)
{
    struct cs_kpi_query q;
    struct cs_buf dir = CS_BUF_INIT, pdir = CS_BUF_INIT, path = CS_BUF_INIT;
    json_t *daily = NULL, *period = NULL, *alerts = json_array();
    char *text = NULL;
    int64_t day;
    int ret;

    memset(res, 0, sizeof(*res));
    if (cs_parse_date(o->date, &day)) {
        ret = cs_err_set(err, CS_EINVALID, "'%s' is not a date", o->date);
        goto done;
    }
    res->ingest_seconds = cs_now();
    ret = ingest_inbox(res, st, cfg, o, err);
    res->ingest_seconds = cs_now() - res->ingest_seconds;
    if (ret)
        goto done;
    {
        struct cs_score_opts so;

        memset(&so, 0, sizeof(so));
        so.sentiment_metric = "customer_sentiment";
        so.lexicon_path = cfg->sentiment_lexicon;
        so.page_size = cfg->score_page;
        ret = cs_score_run(&res->score, st, o->rubrics, cfg, &so, err);
        if (ret)
            goto done;
    }

    memset(&q, 0, sizeof(q));
    q.compare = 1;
    q.rubrics = o->rubrics;
    cs_format_date(day, q.from);
    cs_format_date(day + 1, q.to);
    ret = cs_kpi_compute(&daily, st, cfg, &q, err);
    if (!ret)
        ret = add_last_week(daily, st, cfg, o->rubrics, day, err);
    if (ret)
        goto done;
    cs_buf_addf(&dir, "%s/daily/%s", cfg->reports_dir, q.from);
    ret = cs_fs_mkdirs(dir.ptr, err);
    if (!ret)
        ret = write_report(daily, dir.ptr, "kpis", err);
    if (ret)
        goto done;
    collect_alerts(alerts, daily, res);
    text = json_dumps(alerts, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    cs_buf_addf(&path, "%s/alerts.json", dir.ptr);
    ret = cs_fs_write_atomic(path.ptr, text, strlen(text), err);
    if (ret)
        goto done;

    q.by = CS_KPI_BY_DAY;
    cs_format_date(day + 1 - (o->period_days > 0 ? o->period_days : 30),
                   q.from);
    cs_format_date(day + 1, q.to);
    ret = cs_kpi_compute(&period, st, cfg, &q, err);
    if (ret)
        goto done;
    cs_buf_addf(&pdir, "%s/period/%s_%s", cfg->reports_dir, q.from, q.to);
    ret = cs_fs_mkdirs(pdir.ptr, err);
    if (!ret)
        ret = write_report(period, pdir.ptr, "kpis", err);
    if (ret)
        goto done;
    res->report_dir = cs_buf_detach(&dir, NULL);
done:
    json_decref(daily);
    json_decref(period);
    json_decref(alerts);
    free(text);
    cs_buf_release(&dir);
    cs_buf_release(&pdir);
    cs_buf_release(&path);
    return ret;
}

void cs_nightly_result_release(struct cs_nightly_result *res)
{
    free(res->report_dir);
    res->report_dir = NULL;
}
