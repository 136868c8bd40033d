/* show.c - one conversation whole, for a person */
#include "review/review.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/mem.h"
#include "kpi/kpi.h"
#include "llm/answer.h"
#include "redact/redact.h"
#include "review/review_internal.h"

#define HIGHLIGHT "\x1b[1;7m"
#define BOLD "\x1b[1m"
#define PLAIN "\x1b[0m"
#define MARK "\xe2\x96\xb6 "   /* ▶ */
#define BACK "\xe2\x97\x80 "   /* ◀ */

void cs_review_pad(struct cs_buf *b, const char *s, size_t width)
{
    size_t chars = 0, i = 0, cut = 0;

    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == width - 1)
                cut = i;
            chars++;
        }
    }
    if (chars > width && width > 1) {
        cs_buf_add(b, s, cut);
        cs_buf_adds(b, "\xe2\x80\xa6 ");
        return;
    }
    cs_buf_adds(b, s);
    for (; chars < width; chars++)
        cs_buf_addch(b, ' ');
    cs_buf_addch(b, ' ');
}

struct show {
    FILE *out;
    int color;
    int redact;
    struct cs_redact *rd;
    json_t *doc;
    char **turn_text;       /* per turn: as shown */
    char **turn_clean;      /* per turn: redacted (what evidence quotes) */
    struct cs_buf *marks;   /* per turn: metrics whose evidence it holds */
    size_t n_turns;
};

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* A number of `o` as text, "—" when absent. */
static void num(struct cs_buf *b, const json_t *o, const char *k,
                const char *unit)
{
    const json_t *v = json_object_get(o, k);
    char t[CS_FMT_DOUBLE_SIZE];

    if (!json_is_number(v)) {
        cs_buf_adds(b, CS_REVIEW_DASH);
        return;
    }
    /* Money and seconds to 10 decimals: no binary noise (0.0552190...4). */
    cs_fmt_double_shortest(t, round(json_number_value(v) * 1e10) / 1e10);
    cs_buf_addf(b, "%s%s", t, unit ? unit : "");
}

static void field(struct show *s, const char *label, const char *value)
{
    fprintf(s->out, "  %-11s %s\n", label,
            value && *value ? value : CS_REVIEW_DASH);
}

static void value_text(struct cs_buf *b, const json_t *v)
{
    if (json_is_string(v))
        cs_buf_adds(b, json_string_value(v));
    else
        cs_fmt_json(b, v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* The turns as shown and as the redactor leaves them. */
static int prepare_turns(struct show *s, struct cs_err *err)
{
    const json_t *turns = json_object_get(s->doc, "turns");
    struct cs_buf b = CS_BUF_INIT;
    int ret = 0;

    s->n_turns = json_array_size(turns);
    s->turn_text = cs_xcalloc(s->n_turns + 1, sizeof(*s->turn_text));
    s->turn_clean = cs_xcalloc(s->n_turns + 1, sizeof(*s->turn_clean));
    s->marks = cs_xcalloc(s->n_turns + 1, sizeof(*s->marks));
    for (size_t i = 0; i < s->n_turns && !ret; i++) {
        const char *t = str(json_array_get(turns, i), "text");

        cs_buf_init(&s->marks[i]);
        cs_buf_reset(&b);
        ret = cs_redact_apply(&b, NULL, s->rd, t ? t : "",
                              t ? strlen(t) : 0, err);
        if (ret)
            break;
        s->turn_clean[i] = cs_xstrdup(b.ptr);
        if (s->redact) {
            /* One line each, as the judge is sent them. */
            for (char *p = b.ptr; *p; p++) {
                if (*p == '\n' || *p == '\r')
                    *p = ' ';
            }
            s->turn_text[i] = cs_buf_detach(&b, NULL);
        } else {
            s->turn_text[i] = cs_xstrdup(t ? t : "");
        }
    }
    cs_buf_release(&b);
    return ret;
}

/* Marks the turns holding each current verdict's evidence. */
static void mark_evidence(struct show *s)
{
    const json_t *results = json_object_get(s->doc, "results");
    size_t i;
    json_t *r;

    json_array_foreach(results, i, r) {
        const char *ev = str(r, "evidence");

        if (!json_is_true(json_object_get(r, "current")) || !ev || !*ev)
            continue;
        for (size_t t = 0; t < s->n_turns; t++) {
            if (!cs_llm_evidence_found(s->turn_clean[t], ev, strlen(ev)))
                continue;
            cs_buf_addf(&s->marks[t], "%s%s", s->marks[t].len ? ", " : "",
                        str(r, "metric"));
            break;
        }
    }
}

static void header(struct show *s, const char *tz)
{
    const json_t *d = s->doc, *h = json_object_get(d, "handoff");
    struct cs_buf b = CS_BUF_INIT;

    fprintf(s->out, "%sConversation %s%s (tenant %s)\n",
            s->color ? BOLD : "", str(d, "id"), s->color ? PLAIN : "",
            str(d, "tenant"));
    field(s, "agent", str(d, "agent"));
    cs_buf_addf(&b, "%s, %s", str(d, "channel"), str(d, "direction"));
    field(s, "channel", b.ptr);
    if (s->redact) {
        field(s, "caller", "(never sent to the LLM)");
        field(s, "callee", "(never sent to the LLM)");
    } else {
        field(s, "caller", str(d, "caller"));
        field(s, "callee", str(d, "callee"));
    }
    cs_buf_reset(&b);
    cs_buf_addf(&b, "%s (%s; UTC %s)", str(d, "started"), tz,
                str(d, "started_at"));
    field(s, "started", b.ptr);
    field(s, "answered", str(d, "answered"));
    cs_buf_reset(&b);
    cs_buf_adds(&b, str(d, "ended") ? str(d, "ended") : CS_REVIEW_DASH);
    if (json_is_number(json_object_get(d, "duration_s"))) {
        double sec = json_number_value(json_object_get(d, "duration_s"));

        if (sec >= 60)
            cs_buf_addf(&b, " (%ldm %02lds after the answer)",
                        (long)sec / 60, (long)sec % 60);
        else
            cs_buf_addf(&b, " (%.0f s after the answer)", sec);
    }
    field(s, "ended", b.ptr);
    field(s, "outcome", str(d, "outcome"));
    cs_buf_reset(&b);
    cs_buf_adds(&b, "ring ");
    num(&b, d, "ring_s", " s");
    cs_buf_adds(&b, ", queue ");
    num(&b, d, "queue_wait_s", " s");
    if (json_is_number(json_object_get(d, "sip_error_code"))) {
        cs_buf_adds(&b, ", SIP error ");
        num(&b, d, "sip_error_code", NULL);
    }
    field(s, "waiting", b.ptr);
    cs_buf_reset(&b);
    if (json_is_object(h)) {
        cs_buf_addf(&b, "yes: %s", str(h, "type") ? str(h, "type") : "");
        if (str(h, "target") && !s->redact)
            cs_buf_addf(&b, " to %s", str(h, "target"));
        if (json_is_number(json_object_get(h, "at_s"))) {
            cs_buf_adds(&b, " at ");
            num(&b, h, "at_s", " s");
        }
        if (str(h, "reason"))
            cs_buf_addf(&b, ", reason: %s", str(h, "reason"));
    } else {
        cs_buf_adds(&b, "no");
    }
    field(s, "handoff", b.ptr);
    cs_buf_reset(&b);
    {
        const json_t *costs = json_object_get(d, "costs");
        const char *k;
        json_t *v;

        json_object_foreach((json_t *)costs, k, v) {
            cs_buf_addf(&b, "%s%s ", b.len ? ", " : "", k);
            num(&b, costs, k, NULL);
        }
        cs_buf_addf(&b, "%stotal ", b.len ? "; " : "");
        num(&b, d, "cost_total", NULL);
    }
    field(s, "costs", b.ptr);
    cs_buf_reset(&b);
    cs_buf_adds(&b, "CSAT ");
    num(&b, d, "csat", NULL);
    cs_buf_adds(&b, ", NPS ");
    num(&b, d, "nps", NULL);
    field(s, "survey", b.ptr);
    cs_buf_reset(&b);
    {
        size_t i;
        json_t *t;

        json_array_foreach(json_object_get(d, "topics"), i, t)
            cs_buf_addf(&b, "%s%s", i ? ", " : "", json_string_value(t));
    }
    field(s, "topics", b.ptr);
    cs_buf_release(&b);
}

static void turns(struct show *s)
{
    const json_t *all = json_object_get(s->doc, "turns");

    fprintf(s->out, "\n%sTurns%s%s\n", s->color ? BOLD : "",
            s->color ? PLAIN : "",
            s->redact ? " (redacted, as the LLM judge is sent them)" : "");
    if (s->n_turns == 0)
        fprintf(s->out, "  none\n");
    for (size_t i = 0; i < s->n_turns; i++) {
        const json_t *t = json_array_get(all, i);
        struct cs_buf when = CS_BUF_INIT, role = CS_BUF_INIT;
        int marked = s->marks[i].len > 0;

        if (json_is_number(json_object_get(t, "start_s"))) {
            num(&when, t, "start_s", NULL);
            if (json_is_number(json_object_get(t, "end_s"))) {
                cs_buf_adds(&when, "\xe2\x80\x93");
                num(&when, t, "end_s", NULL);
            }
            cs_buf_adds(&when, " s");
        }
        cs_buf_addf(&role, "%s", str(t, "role"));
        fprintf(s->out, "%s%s[%zu] %-12s %-8s %s%s",
                marked ? MARK : "  ", marked && s->color ? HIGHLIGHT : "",
                i + 1, when.ptr, role.ptr, s->turn_text[i],
                marked && s->color ? PLAIN : "");
        if (marked)
            fprintf(s->out, "  %sevidence: %s", BACK, s->marks[i].ptr);
        fputc('\n', s->out);
        cs_buf_release(&when);
        cs_buf_release(&role);
    }
}

static void tools_and_spans(struct show *s)
{
    const json_t *tools = json_object_get(s->doc, "tool_calls");
    const json_t *spans = json_object_get(s->doc, "spans");
    const json_t *logged = json_object_get(s->doc, "metrics");
    size_t i;
    json_t *x;

    fprintf(s->out, "\nTool calls\n");
    if (json_array_size(tools) == 0)
        fprintf(s->out, "  none\n");
    json_array_foreach(tools, i, x) {
        struct cs_buf b = CS_BUF_INIT;
        int ok = json_is_true(json_object_get(x, "ok"));

        cs_review_pad(&b, str(x, "name") ? str(x, "name") : "?", 22);
        cs_review_pad(&b, ok ? "ok" : "FAILED", 7);
        num(&b, x, "latency_ms", " ms");
        if (str(x, "creates"))
            cs_buf_addf(&b, ", creates %s", str(x, "creates"));
        if (str(x, "error"))
            cs_buf_addf(&b, ", error: %s", str(x, "error"));
        fprintf(s->out, "  %s\n", b.ptr);
        cs_buf_release(&b);
    }
    fprintf(s->out, "\nSpans\n  ");
    if (json_array_size(spans) == 0)
        fprintf(s->out, "none");
    json_array_foreach(spans, i, x) {
        struct cs_buf b = CS_BUF_INIT;

        num(&b, x, "duration_ms", " ms");
        fprintf(s->out, "%s%s %s", i ? " \xc2\xb7 " : "", str(x, "name"),
                b.ptr);
        cs_buf_release(&b);
    }
    fputc('\n', s->out);
    if (json_array_size(logged) == 0)
        return;
    fprintf(s->out, "\nLogged by the agent\n");
    json_array_foreach(logged, i, x) {
        struct cs_buf b = CS_BUF_INIT;

        value_text(&b, json_object_get(x, "value"));
        fprintf(s->out, "  %s = %s\n", str(x, "name"), b.ptr);
        cs_buf_release(&b);
    }
}

static void verdict(struct show *s, const json_t *r,
                    const struct cs_rubric_set *set, int history)
{
    const char *metric = str(r, "metric");
    const struct cs_rubric *rb = set ? cs_rubric_set_find(set, metric)
                                     : NULL;
    const struct cs_scorecard *sc = set && !rb ? cs_scorecard_find(set,
                                                                   metric)
                                               : NULL;
    struct cs_buf v = CS_BUF_INIT, meta = CS_BUF_INIT;
    const char *name = rb && rb->name ? rb->name : sc ? sc->name : NULL;

    value_text(&v, json_object_get(r, "value"));
    cs_buf_addf(&meta, "%s \xc2\xb7 version %s", str(r, "evaluator"),
                str(r, "rubric_version"));
    if (json_is_number(json_object_get(r, "confidence"))) {
        cs_buf_adds(&meta, " \xc2\xb7 confidence ");
        num(&meta, r, "confidence", NULL);
    }
    cs_buf_addf(&meta, " \xc2\xb7 %s", str(r, "evaluated_at"));
    if (!json_is_true(json_object_get(r, "for_content")))
        cs_buf_adds(&meta, " \xc2\xb7 for earlier content");
    fprintf(s->out, "  %s%s%s%s%s = %s%s%s\n", s->color ? BOLD : "", metric,
            name ? " (" : "", name ? name : "", name ? ")" : "",
            v.ptr, s->color ? PLAIN : "", "");
    fprintf(s->out, "      %s\n", meta.ptr);
    if (!history && str(r, "evidence"))
        fprintf(s->out, "      evidence:  \"%s\"\n", str(r, "evidence"));
    if (str(r, "rationale"))
        fprintf(s->out, "      rationale: %s\n", str(r, "rationale"));
    cs_buf_release(&v);
    cs_buf_release(&meta);
}

static void verdicts(struct show *s, const struct cs_rubric_set *set)
{
    const json_t *results = json_object_get(s->doc, "results");
    size_t i, n_hist = 0, n_cur = 0;
    json_t *r;

    fprintf(s->out, "\n%sVerdicts%s\n", s->color ? BOLD : "",
            s->color ? PLAIN : "");
    json_array_foreach(results, i, r) {
        if (!json_is_true(json_object_get(r, "current")))
            continue;
        verdict(s, r, set, 0);
        n_cur++;
    }
    if (!n_cur)
        fprintf(s->out, "  not scored yet\n");
    json_array_foreach(results, i, r)
        n_hist += !json_is_true(json_object_get(r, "current"));
    if (!n_hist)
        return;
    fprintf(s->out, "\nHistory (earlier verdicts, newest first)\n");
    json_array_foreach(results, i, r) {
        if (!json_is_true(json_object_get(r, "current")))
            verdict(s, r, set, 1);
    }
}

int cs_review_show(struct cs_store *st, const struct cs_config *cfg,
                   const struct cs_rubric_set *set, const char *tenant,
                   const char *id, int redact, int color, FILE *out,
                   struct cs_err *err)
{
    struct cs_tenant_cfg t;
    struct show s;
    char *tz = NULL;
    int ret;

    memset(&s, 0, sizeof(s));
    s.out = out;
    s.color = color;
    s.redact = redact;
    cs_config_tenant(&t, cfg, tenant, NULL);
    ret = cs_kpi_tz_sql(&tz, st, t.timezone, err);
    if (!ret)
        ret = cs_store_conversation_get(&s.doc, st, tenant, id, tz, err);
    if (!ret)
        ret = cs_redact_new_configured(&s.rd, cfg, err);
    if (!ret)
        ret = prepare_turns(&s, err);
    if (ret)
        goto done;
    mark_evidence(&s);
    header(&s, t.timezone);
    turns(&s);
    tools_and_spans(&s);
    verdicts(&s, set);
    if (!redact && json_object_size(json_object_get(s.doc, "metadata"))) {
        struct cs_buf m = CS_BUF_INIT;

        cs_fmt_json(&m, json_object_get(s.doc, "metadata"),
                    JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(out, "\nMetadata\n  %s\n", m.ptr);
        cs_buf_release(&m);
    }
    if (ferror(out))
        ret = cs_err_set(err, CS_EIO, "cannot write the conversation");
done:
    for (size_t i = 0; i < s.n_turns; i++) {
        free(s.turn_text[i]);
        free(s.turn_clean[i]);
        cs_buf_release(&s.marks[i]);
    }
    free(s.turn_text);
    free(s.turn_clean);
    free(s.marks);
    cs_redact_free(s.rd);
    json_decref(s.doc);
    free(tz);
    cs_tenant_cfg_release(&t);
    return ret;
}
