/* movers.c - the movers of a report as a table, JSON or CSV */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/fmt.h"
#include "report/format.h"
#include "report/render.h"

const char *cs_tone_name(enum cs_tone t)
{
    return t == CS_TONE_GOOD ? "good" : t == CS_TONE_BAD ? "bad"
                                                         : "neutral";
}

static json_t *num(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static json_t *mover_json(const struct cs_mover *m)
{
    json_t *o = json_object(), *ids = json_array();

    json_object_set_new(o, "kpi", json_string(m->key));
    json_object_set_new(o, "label", json_string(m->label));
    json_object_set_new(o, "unit", json_string(cs_unit_name(m->unit)));
    json_object_set_new(o, "value", num(m->value));
    json_object_set_new(o, "previous", num(m->previous));
    json_object_set_new(o, "change", num(m->change));
    json_object_set_new(o, "change_kind", json_string(cs_change_kind_name(
                                              cs_change_kind_for(m->unit))));
    json_object_set_new(o, "direction", json_string(cs_tone_name(m->tone)));
    json_object_set_new(o, "test", json_string(m->welch ? "welch_t"
                                                        : "two_proportion_z"));
    json_object_set_new(o, "statistic", num(m->stat));
    json_object_set_new(o, "p", num(m->p));
    json_object_set_new(o, "effect", num(m->effect));
    json_object_set_new(o, "n", json_integer((json_int_t)m->n));
    json_object_set_new(o, "n_previous", json_integer((json_int_t)m->n_prev));
    json_object_set_new(o, "significant", json_boolean(m->significant));
    if (m->unverified)
        json_object_set_new(o, "verified", json_false());
    for (size_t i = 0; i < m->n_ids; i++)
        json_array_append_new(ids, json_string(m->ids[i]));
    json_object_set_new(o, "conversations", ids);
    json_object_set_new(o, "behind", m->why ? json_string(m->why)
                                            : json_null());
    if (m->has_explanation) {
        json_t *th = json_array();

        for (size_t i = 0; i < m->n_themes; i++)
            json_array_append_new(th, json_pack("{s:s,s:I}", "title",
                                                m->themes[i].title, "count",
                                                (json_int_t)m->themes[i]
                                                    .count));
        json_object_set_new(o, "explanation",
                            json_pack("{s:s,s:s,s:I,s:o}", "evaluator",
                                      m->expl_evaluator, "created_at",
                                      m->expl_created, "sampled",
                                      (json_int_t)m->expl_sampled, "themes",
                                      th));
    }
    return o;
}

static int movers_json(const struct cs_report *r, FILE *out,
                       struct cs_err *err)
{
    json_t *root = json_object(), *tenants = json_object();
    int ret = 0;

    json_object_set_new(root, "from", json_string(r->period.from));
    json_object_set_new(root, "to", json_string(r->period.to));
    json_object_set_new(root, "previous",
                        json_pack("{s:s,s:s}", "from",
                                  r->cmp_period[CS_CMP_PREVIOUS].from, "to",
                                  r->cmp_period[CS_CMP_PREVIOUS].to));
    json_object_set_new(root, "min_n", json_integer(r->movers.min_n));
    json_object_set_new(root, "alpha", json_real(r->movers.alpha));
    json_object_set_new(root, "tenants", tenants);
    for (size_t i = 0; i < r->n_tenants; i++) {
        const struct cs_report_tenant *t = &r->tenants[i];
        json_t *o = json_object(), *a = json_array();
        size_t sig = 0;

        for (size_t k = 0; k < t->n_movers; k++) {
            if (isnan(t->movers[k].p))
                continue; /* not tested (too few) */
            sig += t->movers[k].significant;
            json_array_append_new(a, mover_json(&t->movers[k]));
        }
        json_object_set_new(o, "tz", json_string(t->tz));
        json_object_set_new(o, "tested", json_integer((json_int_t)t->n_tested));
        json_object_set_new(o, "significant", json_integer((json_int_t)sig));
        json_object_set_new(o, "movers", a);
        json_object_set_new(tenants, t->name, o);
    }
    if (cs_fmt_json_dumpf(root, out, JSON_INDENT(2)) != 0 ||
        fputc('\n', out) == EOF)
        ret = cs_err_set(err, CS_EIO, "cannot write the movers");
    json_decref(root);
    return ret;
}

static void csv_num(FILE *out, double v)
{
    char t[CS_FMT_DOUBLE_SIZE];

    fputc(',', out);
    if (!isnan(v) && !isinf(v)) {
        cs_fmt_double_shortest(t, v);
        fputs(t, out);
    }
}

static int movers_csv(const struct cs_report *r, FILE *out,
                      struct cs_err *err)
{
    (void)err;
    fputs("tenant,kpi,label,unit,value,previous,change,change_kind,"
          "direction,test,statistic,p,effect,n,n_previous,significant,"
          "behind,conversations\n", out);
    for (size_t i = 0; i < r->n_tenants; i++) {
        const struct cs_report_tenant *t = &r->tenants[i];

        for (size_t k = 0; k < t->n_movers; k++) {
            const struct cs_mover *m = &t->movers[k];
            struct cs_buf ids = CS_BUF_INIT;

            if (isnan(m->p))
                continue;
            cs_csv_text(out, t->name);
            fputc(',', out);
            cs_csv_text(out, m->key);
            fputc(',', out);
            cs_csv_text(out, m->label);
            fprintf(out, ",%s", cs_unit_name(m->unit));
            csv_num(out, m->value);
            csv_num(out, m->previous);
            csv_num(out, m->change);
            fprintf(out, ",%s,%s,%s",
                    cs_change_kind_name(cs_change_kind_for(m->unit)),
                    cs_tone_name(m->tone),
                    m->welch ? "welch_t" : "two_proportion_z");
            csv_num(out, m->stat);
            csv_num(out, m->p);
            csv_num(out, m->effect);
            csv_num(out, m->n);
            csv_num(out, m->n_prev);
            fprintf(out, ",%s,", m->significant ? "true" : "false");
            cs_csv_text(out, m->why ? m->why : "");
            for (size_t j = 0; j < m->n_ids; j++)
                cs_buf_addf(&ids, "%s%s", j ? " " : "", m->ids[j]);
            fputc(',', out);
            cs_csv_text(out, ids.ptr);
            fputc('\n', out);
            cs_buf_release(&ids);
        }
    }
    return 0;
}

static int movers_txt(const struct cs_report *r, FILE *out,
                      struct cs_err *err)
{
    struct cs_buf line = CS_BUF_INIT;

    (void)err;
    for (size_t i = 0; i < r->n_tenants; i++) {
        const struct cs_report_tenant *t = &r->tenants[i];
        size_t sig = 0;

        for (size_t k = 0; k < t->n_movers; k++)
            sig += t->movers[k].significant;
        fprintf(out, "%s%s \xe2\x80\x94 %s to %s against %s to %s (%s)\n",
                i ? "\n" : "", t->display_name, r->period.from,
                r->period.to, r->cmp_period[CS_CMP_PREVIOUS].from,
                r->cmp_period[CS_CMP_PREVIOUS].to, t->tz);
        fprintf(out, "%zu tested (n >= %ld on both sides), %zu significant "
                "(Holm, family-wise %g %%)\n", t->n_tested, r->movers.min_n,
                sig, r->movers.alpha * 100);
        if (!sig) {
            fputs("  nothing moved more than noise\n", out);
            continue;
        }
        cs_buf_reset(&line);
        cs_buf_adds(&line, "  ");
        cs_fmt_pad(&line, "KPI", 34, 0);
        cs_fmt_pad(&line, "now", 10, 1);
        cs_fmt_pad(&line, "before", 10, 1);
        cs_fmt_pad(&line, "change", 10, 1);
        cs_buf_adds(&line, "  ");
        cs_fmt_pad(&line, "news", 8, 0);
        cs_fmt_pad(&line, "test", 13, 0);
        cs_fmt_pad(&line, "n now/before", 14, 0);
        cs_buf_adds(&line, "conversations behind it");
        fprintf(out, "%s\n", line.ptr);
        for (size_t k = 0; k < t->n_movers; k++) {
            const struct cs_mover *m = &t->movers[k];
            struct cs_buf v = CS_BUF_INIT, p = CS_BUF_INIT, c = CS_BUF_INIT;
            struct cs_buf test = CS_BUF_INIT, n = CS_BUF_INIT;
            struct cs_buf label = CS_BUF_INIT;

            if (!m->significant)
                continue;
            cs_buf_reset(&line);
            cs_buf_adds(&line, "  ");
            cs_buf_addf(&label, "%s%s", m->label, m->unverified ? " *" : "");
            cs_fmt_pad(&line, label.ptr, 34, 0);
            cs_fmt_value(&v, &t->fmt, m->unit, m->value, -1);
            cs_fmt_value(&p, &t->fmt, m->unit, m->previous, -1);
            cs_fmt_change(&c, &t->fmt, m->unit, m->change);
            cs_fmt_pad(&line, v.ptr, 10, 1);
            cs_fmt_pad(&line, p.ptr, 10, 1);
            cs_fmt_pad(&line, c.ptr, 10, 1);
            cs_buf_adds(&line, "  ");
            cs_fmt_pad(&line, cs_tone_name(m->tone), 8, 0);
            cs_fmt_p(&test, m->p);
            cs_fmt_pad(&line, test.ptr, 13, 0);
            cs_buf_addf(&n, "%.0f/%.0f", m->n, m->n_prev);
            cs_fmt_pad(&line, n.ptr, 14, 0);
            if (m->why)
                cs_buf_addf(&line, "%s:", m->why);
            for (size_t j = 0; j < m->n_ids; j++)
                cs_buf_addf(&line, " %s", m->ids[j]);
            fprintf(out, "%s\n", line.ptr);
            cs_buf_release(&v);
            cs_buf_release(&p);
            cs_buf_release(&c);
            cs_buf_release(&test);
            cs_buf_release(&n);
            cs_buf_release(&label);
        }
        for (size_t k = 0; k < t->n_movers; k++) {
            if (t->movers[k].significant && t->movers[k].unverified) {
                fprintf(out, "  * " CS_REPORT_UNVERIFIED "\n");
                break;
            }
        }
    }
    cs_buf_release(&line);
    return 0;
}

int cs_render_movers(const struct cs_report *r, const char *format,
                     FILE *out, struct cs_err *err)
{
    int ret;

    if (strcmp(format, "json") == 0)
        ret = movers_json(r, out, err);
    else if (strcmp(format, "csv") == 0)
        ret = movers_csv(r, out, err);
    else
        ret = movers_txt(r, out, err);
    if (!ret && (fflush(out) != 0 || ferror(out)))
        ret = cs_err_set(err, CS_EIO, "cannot write the movers");
    return ret;
}
