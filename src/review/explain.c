/* explain.c - why do conversations end with a verdict: themes from an LLM
 * over a redacted sample, or from the rules and evidence offline */
#include "review/review.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "llm/explain.h"
#include "llm/prompt.h"
#include "net/http.h"
#include "redact/redact.h"
#include "review/review_internal.h"

/* Answer budget of an explanation. */
#define ANSWER_TOKENS 2048
/* Ids kept with an offline explanation's inputs. */
#define MAX_STORED_IDS 2000

/* What the selection found. */
struct picked {
    json_t *items;          /* [{tenant, id, evaluator, rationale}] */
};

static int pick(void *ctx, const struct cs_conv_item *it, struct cs_err *err)
{
    struct picked *p = ctx;

    (void)err;
    json_array_append_new(p->items, json_pack(
        "{s:s,s:s,s:s?,s:s?,s:s?}", "tenant", it->tenant, "id", it->id,
        "evaluator", it->evaluator, "rationale", it->rationale, "evidence",
        it->evidence));
    return 0;
}

/* ---- offline: the rules and evidence, grouped ---- */

/* `s` lower-cased, cut at 80 characters with "…", quoted. */
static void quoted(struct cs_buf *b, const char *s)
{
    size_t chars = 0;

    cs_buf_addch(b, '"');
    for (; *s && chars < 80; s++) {
        chars += ((unsigned char)*s & 0xC0) != 0x80;
        cs_buf_addch(b, (char)tolower((unsigned char)*s));
    }
    while (((unsigned char)*s & 0xC0) == 0x80)
        cs_buf_addch(b, *s++);
    cs_buf_adds(b, *s ? "\xe2\x80\xa6\"" : "\"");
}

/*
 * The theme a verdict belongs to: for a rule of the rules evaluator, the
 * rule and what it matched ("rule 2 matched \"you're booked\""), without
 * the turn it matched in; for the lexicon and an LLM judge (whose
 * rationales are numbers or free text) the evidence quoted, as the turn
 * that decided it; else the rationale itself ("no rule matched; rule 3
 * is the default", "logged by the agent at run time"). New.
 */
static char *theme_key(const char *evaluator, const char *rationale,
                       const char *evidence)
{
    struct cs_buf b = CS_BUF_INIT;
    const char *r = rationale ? rationale : "(no rationale)";
    const char *m = strstr(r, " matched ");
    const char *turn = m ? strstr(m, " turn ") : NULL;
    const char *colon = turn ? strchr(turn, ':') : NULL;
    int rules = evaluator && strcmp(evaluator, "rules") == 0;

    if (rules && strncmp(r, "rule ", 5) == 0 && colon && colon[1]) {
        cs_buf_add(&b, r, (size_t)(m - r) + 9);
        for (const char *q = colon + 2; *q; q++)
            cs_buf_addch(&b, (char)tolower((unsigned char)*q));
    } else if (evidence && *evidence &&
               ((rules && strncmp(r, "lexicon score", 13) == 0) ||
                (evaluator && strncmp(evaluator, "llm:", 4) == 0))) {
        quoted(&b, evidence);
    } else {
        cs_buf_adds(&b, r);
    }
    return cs_buf_detach(&b, NULL);
}

static int by_count(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a;
    const json_t *y = *(const json_t *const *)b;
    json_int_t cx = json_integer_value(json_object_get(x, "count"));
    json_int_t cy = json_integer_value(json_object_get(y, "count"));

    if (cx != cy)
        return cx < cy ? 1 : -1;
    return strcmp(json_string_value(json_object_get(x, "title")),
                  json_string_value(json_object_get(y, "title")));
}

/* Themes of every item: grouped by theme_key, the largest first, at most
 * CS_EXPLAIN_MAX_THEMES (the rest one "Other" theme). New. */
static json_t *offline_themes(const json_t *items)
{
    json_t *groups = json_object(), *out = json_array(), *g, *it;
    json_t **v;
    const char *k;
    size_t i, n = 0;

    json_array_foreach(items, i, it) {
        char *key = theme_key(
            json_string_value(json_object_get(it, "evaluator")),
            json_string_value(json_object_get(it, "rationale")),
            json_string_value(json_object_get(it, "evidence")));

        g = json_object_get(groups, key);
        if (!g) {
            g = json_pack("{s:s,s:s,s:I,s:[]}", "title", key, "description",
                          "", "count", (json_int_t)0, "examples");
            json_object_set_new(groups, key, g);
        }
        json_object_set_new(g, "count", json_integer(json_integer_value(
                                            json_object_get(g, "count")) +
                                        1));
        if (json_array_size(json_object_get(g, "examples")) <
            CS_EXPLAIN_MAX_EXAMPLES)
            json_array_append(json_object_get(g, "examples"),
                              json_object_get(it, "id"));
        free(key);
    }
    v = cs_xcalloc(json_object_size(groups) + 1, sizeof(*v));
    json_object_foreach(groups, k, g)
        v[n++] = g;
    qsort(v, n, sizeof(*v), by_count);
    for (i = 0; i < n; i++) {
        if (i + 1 < CS_EXPLAIN_MAX_THEMES || n == CS_EXPLAIN_MAX_THEMES) {
            json_array_append(out, v[i]);
            continue;
        }
        {
            /* The rest, one theme. */
            json_int_t count = 0;
            json_t *other = json_pack("{s:s,s:s,s:I,s:[]}", "title", "Other",
                                      "description", "", "count",
                                      (json_int_t)0, "examples");
            struct cs_buf d = CS_BUF_INIT;

            cs_buf_addf(&d, "%zu other reasons", n - i);
            for (size_t j = i; j < n; j++) {
                json_t *ex = json_object_get(v[j], "examples");

                count += json_integer_value(json_object_get(v[j], "count"));
                if (json_array_size(json_object_get(other, "examples")) <
                    CS_EXPLAIN_MAX_EXAMPLES)
                    json_array_append(json_object_get(other, "examples"),
                                      json_array_get(ex, 0));
            }
            json_object_set_new(other, "count", json_integer(count));
            json_object_set_new(other, "description", json_string(d.ptr));
            json_array_append_new(out, other);
            cs_buf_release(&d);
            break;
        }
    }
    free(v);
    json_decref(groups);
    return out;
}

/* ---- the LLM ---- */

struct reply {
    char *body;
    int code;
    char error[256];
};

static void on_done(const struct cs_http_result *res, void *user)
{
    struct reply *r = user;

    r->code = res->code;
    snprintf(r->error, sizeof(r->error), "%s", res->error);
    free(r->body);
    r->body = res->body ? cs_xstrndup(res->body, res->body_len) : NULL;
}

/* Posts `body` and waits for the answer (the client's retries apply). */
static int post(struct reply *out, const struct cs_config *cfg,
                const char *body, struct cs_err *err)
{
    struct cs_http_opts ho;
    struct cs_http *h = NULL;
    struct cs_buf url = CS_BUF_INIT;
    int ret;

    memset(out, 0, sizeof(*out));
    cs_http_opts_init(&ho);
    ho.concurrency = 1;
    ho.connect_timeout_ms = cfg->llm_connect_timeout_s * 1000;
    ho.timeout_ms = cfg->llm_timeout_s * 1000;
    ho.max_tries = (unsigned)cfg->llm_max_tries;
    ho.bearer = cfg->llm_api_key;
    ho.on_done = on_done;
    cs_buf_adds(&url, cfg->llm_base_url);
    while (url.len && url.ptr[url.len - 1] == '/')
        url.ptr[--url.len] = '\0';
    cs_buf_adds(&url, "/chat/completions");
    ret = cs_http_new(&h, &ho, err);
    if (!ret)
        ret = cs_http_post(h, url.ptr, body, strlen(body), out, err);
    if (!ret)
        ret = cs_http_wait_all(h, err);
    if (!ret && out->code)
        ret = cs_err_set(err, CS_ENET, "LLM request failed: %s", out->error);
    cs_http_free(h);
    cs_buf_release(&url);
    return ret;
}

/* The sample as the prompt carries it: aliases, redacted turns, the
 * verdicts' rationales. Fills convs[i] and owns the strings in `keep`. */
static int sample_texts(struct cs_explain_conv *convs, json_t *keep,
                        const json_t *items, struct cs_store *st,
                        struct cs_redact *rd, struct cs_err *err)
{
    struct cs_buf line = CS_BUF_INIT, red = CS_BUF_INIT;
    size_t i;
    json_t *it;
    int ret = 0;

    json_array_foreach(items, i, it) {
        json_t *doc = NULL, *turns, *t;
        const char *rationale = json_string_value(json_object_get(it,
                                                                  "rationale"));
        size_t k;
        char alias[32];

        ret = cs_store_conversation_get(
            &doc, st, json_string_value(json_object_get(it, "tenant")),
            json_string_value(json_object_get(it, "id")), "UTC", err);
        if (ret)
            break;
        cs_buf_reset(&line);
        turns = json_object_get(doc, "turns");
        json_array_foreach(turns, k, t) {
            const char *text = json_string_value(json_object_get(t, "text"));

            cs_buf_reset(&red);
            ret = cs_redact_apply(&red, NULL, rd, text ? text : "",
                                  text ? strlen(text) : 0, err);
            if (ret)
                break;
            cs_buf_addf(&line, "[%zu] %s: ", k + 1,
                        json_string_value(json_object_get(t, "role")));
            cs_llm_neutralise(&line, red.ptr, red.len);
            cs_buf_addch(&line, '\n');
        }
        /* The stored rationale is redacted already; once more does no
         * harm and covers rules added to the config since. */
        cs_buf_reset(&red);
        if (!ret && rationale)
            ret = cs_redact_apply(&red, NULL, rd, rationale,
                                  strlen(rationale), err);
        json_decref(doc);
        if (ret)
            break;
        snprintf(alias, sizeof(alias), "c%02zu", i + 1);
        json_array_append_new(keep, json_string(alias));
        json_array_append_new(keep, json_string(line.ptr));
        json_array_append_new(keep, rationale ? json_string(red.ptr)
                                              : json_null());
        convs[i].alias = json_string_value(json_array_get(keep, 3 * i));
        convs[i].turns = json_string_value(json_array_get(keep, 3 * i + 1));
        convs[i].rationale = json_string_value(json_array_get(keep,
                                                              3 * i + 2));
    }
    cs_buf_release(&line);
    cs_buf_release(&red);
    return ret;
}

/* Aliases back to conversation ids in the examples. */
static void unalias(json_t *themes, const json_t *items)
{
    size_t i, k;
    json_t *th, *e;

    json_array_foreach(themes, i, th) {
        json_t *ex = json_object_get(th, "examples");

        json_array_foreach(ex, k, e) {
            long at = strtol(json_string_value(e) + 1, NULL, 10) - 1;

            json_array_set(ex, k, json_object_get(json_array_get(items,
                                                                 (size_t)at),
                                                  "id"));
        }
    }
}

static int ask_llm(json_t **themes_out, json_t *inputs,
                   const struct cs_config *cfg, struct cs_store *st,
                   const struct cs_rubric *r, const char *metric,
                   const char *verdict, json_t *items, struct cs_err *err)
{
    struct cs_explain_conv *convs;
    struct cs_explain_ask a;
    struct cs_explain_usage use = {-1, -1, NULL};
    struct cs_redact *rd = NULL;
    struct reply rep = {NULL, 0, ""};
    json_t *keep = json_array(), *v = json_loads(verdict, JSON_DECODE_ANY,
                                                 NULL);
    char *body = NULL, *retry = NULL, *problems = NULL, sha[17];
    long budget;
    int ret;

    *themes_out = NULL;
    convs = cs_xcalloc(json_array_size(items) + 1, sizeof(*convs));
    memset(&a, 0, sizeof(a));
    a.metric = metric;
    a.name = r && r->name ? r->name : metric;
    a.definition = r ? r->definition : NULL;
    a.verdict = verdict;
    if (r && r->type == CS_RUBRIC_BOOLEAN)
        a.meaning = json_is_true(v) ? r->success
                    : json_is_false(v) ? r->failure
                                       : r->partial;
    for (size_t i = 0; r && i < r->n_categories; i++) {
        if (json_is_string(v) &&
            strcmp(r->categories[i].label, json_string_value(v)) == 0)
            a.meaning = r->categories[i].description;
    }
    a.max_tokens = ANSWER_TOKENS;
    ret = cs_redact_new_configured(&rd, cfg, err);
    if (!ret)
        ret = sample_texts(convs, keep, items, st, rd, err);
    if (ret)
        goto done;
    a.convs = convs;
    a.n = json_array_size(items);
    /* The sample must fit the context with its answer: cut from the
     * end, and say so. */
    budget = cfg->llm_context_tokens - ANSWER_TOKENS - 512;
    for (;;) {
        free(body);
        body = NULL;
        ret = cs_llm_explain_body(&body, &a, cfg->llm_model, err);
        if (ret)
            goto done;
        if (cs_llm_estimate_tokens(strlen(body)) <= budget || a.n <= 1)
            break;
        a.n--;
    }
    if (cs_llm_estimate_tokens(strlen(body)) > budget) {
        ret = cs_err_set(err, CS_ETOOBIG, "even one conversation does not "
                         "fit the LLM's context (%ld tokens)",
                         cfg->llm_context_tokens);
        goto done;
    }
    if (a.n < json_array_size(items)) {
        cs_log(CS_LOG_WARN, "the sample was cut to %zu conversations to fit "
               "the LLM's context", a.n);
        while (json_array_size(items) > a.n)
            json_array_remove(items, json_array_size(items) - 1);
    }
    ret = post(&rep, cfg, body, err);
    if (!ret)
        ret = cs_llm_explain_parse(themes_out, &problems, &use, rep.body,
                                   strlen(rep.body), &a, err);
    if (ret == CS_ELLM && problems) {
        /* Once: the answer back with what is wrong with it. */
        cs_log(CS_LOG_INFO, "the LLM's explanation was invalid, asking "
               "again: %s", err ? err->msg : "");
        free(rep.body);
        rep.body = NULL;
        ret = cs_llm_explain_retry_body(&retry, body, use.content, problems,
                                        err);
        free(use.content);
        use.content = NULL;
        free(problems);
        problems = NULL;
        if (!ret)
            ret = post(&rep, cfg, retry, err);
        if (!ret)
            ret = cs_llm_explain_parse(themes_out, &problems, &use, rep.body,
                                       strlen(rep.body), &a, err);
    }
    if (ret)
        goto done;
    unalias(*themes_out, items);
    cs_sha256_hex(body, strlen(body), sha, 16);
    json_object_set_new(inputs, "request_sha256", json_string(sha));
    json_object_set_new(inputs, "request", json_string(retry ? retry
                                                             : body));
    json_object_set_new(inputs, "tokens_in", json_integer(use.tokens_in));
    json_object_set_new(inputs, "tokens_out", json_integer(use.tokens_out));
    json_object_set_new(inputs, "cost", json_real(
        (double)(use.tokens_in > 0 ? use.tokens_in : 0) / 1000.0 *
            cfg->llm_price_in_per_1k +
        (double)(use.tokens_out > 0 ? use.tokens_out : 0) / 1000.0 *
            cfg->llm_price_out_per_1k));
done:
    if (ret) {
        json_decref(*themes_out);
        *themes_out = NULL;
    }
    free(body);
    free(retry);
    free(problems);
    free(use.content);
    free(rep.body);
    free(convs);
    json_decref(keep);
    json_decref(v);
    cs_redact_free(rd);
    return ret;
}

/* ---- the command ---- */

static void print_table(FILE *out, const json_t *e)
{
    const json_t *themes = json_object_get(e, "themes");
    const json_t *value = json_object_get(e, "value");
    size_t i;
    json_t *th;
    char *v = json_is_string(value) ? cs_xstrdup(json_string_value(value))
                                    : json_dumps(value, JSON_ENCODE_ANY);

    fprintf(out, "Why conversations end with %s = %s", json_string_value(
                                                         json_object_get(
                                                             e, "metric")),
            v);
    if (json_is_string(json_object_get(e, "tenant")))
        fprintf(out, " (%s)", json_string_value(json_object_get(e,
                                                                "tenant")));
    fprintf(out, "\n%lld matching, %lld %s, explained by %s; stored as "
            "explanation %lld\n\n",
            (long long)json_integer_value(json_object_get(e, "matched")),
            (long long)json_integer_value(json_object_get(e, "sampled")),
            strcmp(json_string_value(json_object_get(e, "evaluator")),
                   "rules") == 0 ? "grouped" : "sent (redacted)",
            json_string_value(json_object_get(e, "evaluator")),
            (long long)json_integer_value(json_object_get(e, "id")));
    json_array_foreach(themes, i, th) {
        const json_t *ex = json_object_get(th, "examples");
        const char *desc = json_string_value(json_object_get(th,
                                                             "description"));
        size_t k;
        json_t *x;

        fprintf(out, "%6lld  %s\n",
                (long long)json_integer_value(json_object_get(th, "count")),
                json_string_value(json_object_get(th, "title")));
        if (desc && *desc)
            fprintf(out, "        %s\n", desc);
        fprintf(out, "        e.g.");
        json_array_foreach(ex, k, x)
            fprintf(out, " %s", json_string_value(x));
        fputc('\n', out);
    }
    free(v);
}

int cs_review_explain(struct cs_store *st, const struct cs_config *cfg,
                      const struct cs_rubric_set *set,
                      struct cs_review_explain *o, FILE *out,
                      struct cs_err *err)
{
    struct cs_conv_cond cond;
    struct cs_conv_query q;
    struct picked p = {NULL};
    struct cs_buf arg = CS_BUF_INIT;
    const struct cs_rubric *r = set ? cs_rubric_set_find(set, o->metric)
                                    : NULL;
    char *zones = NULL, *def = NULL, *metrics[2] = {NULL, NULL};
    json_t *themes = NULL, *inputs = json_object(), *expl = NULL, *ids;
    int llm = cfg->llm_base_url && *cfg->llm_base_url && !o->offline;
    long total = 0, id = 0;
    size_t i;
    json_t *it;
    int ret;

    memset(&cond, 0, sizeof(cond));
    cs_buf_addf(&arg, "%s=%s", o->metric, o->value);
    ret = cs_review_parse_where(&cond, arg.ptr, set, err);
    if (ret)
        goto done;
    ret = cs_review_zones(&zones, &def, st, cfg, err);
    if (ret)
        goto done;
    p.items = json_array();
    metrics[0] = (char *)o->metric;
    memset(&q, 0, sizeof(q));
    q.tenant = o->tenant;
    q.from = o->from;
    q.to = o->to;
    q.tz = zones;
    q.default_tz = def;
    q.conds = &cond;
    q.n_conds = 1;
    q.verdict = o->metric;
    q.show = metrics;
    /* The LLM reads a sample; offline every verdict is counted unless a
     * sample is asked for. */
    q.sample = llm ? (o->sample > 0 ? o->sample : CS_REVIEW_EXPLAIN_SAMPLE)
                   : o->sample;
    q.seed = o->seed ? o->seed : "explain";
    ret = cs_store_conversations(st, &q, &total, pick, &p, err);
    if (ret)
        goto done;
    o->matched = total;
    o->sampled = (long)json_array_size(p.items);
    if (o->sampled == 0) {
        ret = cs_err_set(err, CS_ENOTFOUND, "nothing to explain: no "
                         "conversation has %s = %s in this selection (n=0)",
                         o->metric, o->value);
        goto done;
    }
    if (llm) {
        char evaluator[160];

        ret = ask_llm(&themes, inputs, cfg, st, r, o->metric, cond.value,
                      p.items, err);
        if (ret)
            goto done;
        snprintf(evaluator, sizeof(evaluator), "llm:%s", cfg->llm_model);
        o->sampled = (long)json_array_size(p.items);
        expl = json_pack("{s:s}", "evaluator", evaluator);
    } else {
        themes = offline_themes(p.items);
        expl = json_pack("{s:s}", "evaluator", "rules");
    }
    ids = json_array();
    json_array_foreach(p.items, i, it) {
        if (i >= MAX_STORED_IDS)
            break;
        json_array_append(ids, json_object_get(it, "id"));
    }
    json_object_set_new(inputs, "ids", ids);
    json_object_set_new(inputs, "sample", json_integer(q.sample));
    json_object_set_new(inputs, "seed", json_string(q.seed));
    json_object_set_new(expl, "tenant", o->tenant ? json_string(o->tenant)
                                                  : json_null());
    json_object_set_new(expl, "metric", json_string(o->metric));
    json_object_set_new(expl, "value", json_loads(cond.value,
                                                  JSON_DECODE_ANY, NULL));
    json_object_set_new(expl, "from", o->from ? json_string(o->from)
                                              : json_null());
    json_object_set_new(expl, "to", o->to ? json_string(o->to)
                                          : json_null());
    json_object_set_new(expl, "matched", json_integer(total));
    json_object_set_new(expl, "sampled", json_integer(o->sampled));
    json_object_set_new(expl, "themes", themes);
    themes = NULL;
    json_object_set_new(expl, "inputs", inputs);
    inputs = NULL;
    ret = cs_store_explanation_add(&id, st, expl, err);
    if (ret)
        goto done;
    o->id = id;
    json_object_set_new(expl, "id", json_integer(id));
    if (o->json) {
        json_object_del(json_object_get(expl, "inputs"), "request");
        cs_fmt_json_dumpf(expl, out, JSON_INDENT(2));
        fputc('\n', out);
    } else {
        print_table(out, expl);
    }
    if (ferror(out))
        ret = cs_err_set(err, CS_EIO, "cannot write the explanation");
done:
    cs_review_conds_release(&cond, 1);
    cs_buf_release(&arg);
    json_decref(p.items);
    json_decref(themes);
    json_decref(inputs);
    json_decref(expl);
    free(zones);
    free(def);
    return ret;
}
