/* answer.c - parse and validate a chat-completions answer to a plan group */
#include "llm/answer.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/mem.h"

/* Longest piece of a bad value quoted back in a problem. */
#define MAX_SHOWN 60

/* ---- evidence ---- */

static int is_blank(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * Appends `s` to `out` in the comparison form: ASCII lower case, every
 * run of white space (including no-break space) as one space, curly
 * quotes as straight ones and "…" as "...".
 */
static void normalise(struct cs_buf *out, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    int space = 0;

    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        const char *rep = NULL;
        size_t skip = 1;

        if (is_blank((char)c)) {
            space = 1;
            i++;
            continue;
        }
        if (c == 0xc2 && i + 1 < len && u[i + 1] == 0xa0) {
            space = 1;
            i += 2;
            continue;
        }
        if (c == 0xe2 && i + 2 < len && u[i + 1] == 0x80) {
            switch (u[i + 2]) {
            case 0x98: case 0x99: rep = "'"; break;
            case 0x9c: case 0x9d: rep = "\""; break;
            case 0xa6: rep = "..."; break;
            default: break;
            }
            if (rep)
                skip = 3;
        }
        if (space && out->len)
            cs_buf_addch(out, ' ');
        space = 0;
        if (rep)
            cs_buf_adds(out, rep);
        else if (c >= 'A' && c <= 'Z')
            cs_buf_addch(out, (char)(c - 'A' + 'a'));
        else
            cs_buf_addch(out, (char)c);
        i += skip;
    }
}

/* Drops blanks and one pair of surrounding quote marks from [*s, *e). */
static void trim_quote(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '"'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '"'))
        (*e)--;
    if (*e - *s >= 2 && **s == '\'' && (*e)[-1] == '\'') {
        (*s)++;
        (*e)--;
    }
}

/* memmem, which C11 and POSIX lack. */
static const char *find(const char *hay, size_t hlen, const char *needle,
                        size_t nlen)
{
    if (nlen == 0)
        return hay;
    for (size_t i = 0; i + nlen <= hlen; i++) {
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, nlen))
            return hay + i;
    }
    return NULL;
}

/* Like cs_llm_evidence_found with `text` already normalised. */
static int found_in(const struct cs_buf *text, const char *quote,
                    size_t len)
{
    struct cs_buf q = CS_BUF_INIT;
    const char *s, *e, *piece_end, *at;
    size_t from = 0;
    int ok = 1;

    normalise(&q, quote, len);
    s = q.ptr;
    e = q.ptr + q.len;
    trim_quote(&s, &e);
    while (s < e && ok) {
        const char *ps = s, *pe;

        piece_end = find(s, (size_t)(e - s), "...", 3);
        pe = piece_end ? piece_end : e;
        s = piece_end ? piece_end + 3 : e;
        while (ps < pe && *ps == ' ')
            ps++;
        while (pe > ps && pe[-1] == ' ')
            pe--;
        if (ps == pe)
            continue;
        at = find(text->ptr + from, text->len - from, ps, (size_t)(pe - ps));
        if (!at)
            ok = 0;
        else
            from = (size_t)(at - text->ptr) + (size_t)(pe - ps);
    }
    cs_buf_release(&q);
    return ok;
}

int cs_llm_evidence_found(const char *text, const char *quote, size_t len)
{
    struct cs_buf t = CS_BUF_INIT;
    int ok;

    normalise(&t, text, strlen(text));
    ok = found_in(&t, quote, len);
    cs_buf_release(&t);
    return ok;
}

/* Length of a double quote mark (", U+201C, U+201D) that starts
 * (`at_end` 0) or ends (1) [s, e), or 0. */
static size_t quote_mark(const char *s, const char *e, int at_end)
{
    static const char *const marks[] = {"\"", "\xe2\x80\x9c",
                                        "\xe2\x80\x9d"};

    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        size_t m = strlen(marks[i]);

        if ((size_t)(e - s) >= m &&
            !memcmp(at_end ? e - m : s, marks[i], m))
            return m;
    }
    return 0;
}

/*
 * The quote to store (new), or NULL when empty: without surrounding white
 * space and one pair of surrounding double quotes, which models often add.
 */
static char *clean_quote(const char *s, size_t len)
{
    const char *e = s + len;
    size_t a, b;

    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    a = quote_mark(s, e, 0);
    b = quote_mark(s, e, 1);
    if (a && b && a + b <= (size_t)(e - s)) {
        s += a;
        e -= b;
        while (s < e && is_blank(*s))
            s++;
        while (e > s && is_blank(e[-1]))
            e--;
    }
    return e > s ? cs_xstrndup(s, (size_t)(e - s)) : NULL;
}

/* ---- problems ---- */

/* Appends a short rendering of `v`: 'text' for strings, JSON otherwise,
 * cut at MAX_SHOWN bytes (on a UTF-8 boundary). */
static void show_value(struct cs_buf *b, const json_t *v)
{
    char *dumped = NULL;
    const char *s;
    size_t n;
    int str = json_is_string(v);

    if (str) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else {
        dumped = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        s = dumped ? dumped : "?";
        n = strlen(s);
    }
    if (n > MAX_SHOWN) {
        n = MAX_SHOWN;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    if (str)
        cs_buf_addch(b, '\'');
    cs_buf_add(b, s, n);
    if (n < strlen(s))
        cs_buf_adds(b, "...");
    if (str)
        cs_buf_addch(b, '\'');
    free(dumped);
}

/* Checks `v` against the rubric; returns the value to keep (new) or NULL
 * with the reason appended to `why`. */
static json_t *check_value(struct cs_buf *why, const struct cs_rubric *r,
                           const json_t *v)
{
    double x;

    switch (r->type) {
    case CS_RUBRIC_BOOLEAN:
        if (json_is_boolean(v))
            return json_incref((json_t *)v);
        if (json_is_string(v) && !strcmp(json_string_value(v), "partial")) {
            if (r->partial)
                return json_incref((json_t *)v);
            cs_buf_adds(why, "'partial' is not allowed for this metric, "
                        "answer true or false");
            return NULL;
        }
        show_value(why, v);
        cs_buf_adds(why, r->partial ? " is not one of true, false, "
                    "\"partial\"" : " is not true or false");
        return NULL;
    case CS_RUBRIC_CATEGORICAL:
        for (size_t i = 0; json_is_string(v) && i < r->n_categories; i++) {
            if (!strcmp(r->categories[i].label, json_string_value(v)))
                return json_incref((json_t *)v);
        }
        show_value(why, v);
        cs_buf_adds(why, " is not one of ");
        for (size_t i = 0; i < r->n_categories; i++)
            cs_buf_addf(why, "%s%s", i ? ", " : "", r->categories[i].label);
        return NULL;
    case CS_RUBRIC_SCORE:
        if (json_is_integer(v) || json_is_real(v)) {
            x = json_number_value(v);
            if (x != floor(x)) {
                show_value(why, v);
                cs_buf_addf(why, " is not an integer from %ld to %ld",
                            r->scale_min, r->scale_max);
                return NULL;
            }
            if (x < (double)r->scale_min || x > (double)r->scale_max) {
                show_value(why, v);
                cs_buf_addf(why, " is outside the scale %ld to %ld",
                            r->scale_min, r->scale_max);
                return NULL;
            }
            return json_integer((json_int_t)x);
        }
        show_value(why, v);
        cs_buf_addf(why, " is not an integer from %ld to %ld",
                    r->scale_min, r->scale_max);
        return NULL;
    default:
        assert(!"rubric of unknown type in a loaded set");
        return NULL;
    }
}

/* ---- results ---- */

/* Makes every result not yet set an "error" with `why` as rationale. */
static void fail_rest(struct cs_llm_answer *out, const char *why)
{
    for (size_t i = 0; i < out->n; i++) {
        if (!out->results[i].value)
            cs_eval_result_set_error(&out->results[i], "%s", why);
    }
}

/* Fails the whole answer: every result is an error, `err` says why. */
static int fail(struct cs_llm_answer *out, struct cs_err *err,
                const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct cs_llm_answer *out, struct cs_err *err,
                const char *fmt, ...)
{
    struct cs_buf raw = CS_BUF_INIT, why = CS_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    cs_buf_vaddf(&raw, fmt, ap);
    va_end(ap);
    /* What it quotes comes from the answer (jansson's "near '...'" holds
     * raw bytes, an error message line breaks): one line of UTF-8, as a
     * stored rationale must be. */
    cs_buf_add_excerpt(&why, raw.ptr, raw.len, 1024);
    fail_rest(out, why.ptr);
    cs_err_set(err, CS_ELLM, "%s", why.ptr);
    cs_buf_release(&raw);
    cs_buf_release(&why);
    return CS_ELLM;
}

/*
 * Reads one metric's entry into `res`, or appends "metric 'k': why" lines
 * to `problems` (several when the entry has several faults) and leaves
 * `res` empty. Returns the number of problems added.
 */
static size_t read_entry(struct cs_eval_result *res, struct cs_buf *problems,
                         const struct cs_rubric *r, const json_t *entry,
                         const struct cs_buf *transcript)
{
    struct cs_buf why = CS_BUF_INIT;
    const json_t *ev, *ra;
    json_t *value = NULL;
    size_t count = 0;
    int found;

    if (!entry) {
        cs_buf_addf(problems, "metric '%s': missing\n", r->key);
        return 1;
    }
    if (json_is_null(entry)) {
        cs_buf_addf(problems, "metric '%s': null, but it is one to judge\n",
                    r->key);
        return 1;
    }
    if (!json_is_object(entry)) {
        cs_buf_addf(problems, "metric '%s': must be an object with value, "
                    "evidence and rationale\n", r->key);
        return 1;
    }
    if (!json_object_get(entry, "value")) {
        cs_buf_addf(problems, "metric '%s': 'value' is missing\n", r->key);
        count++;
    } else {
        value = check_value(&why, r, json_object_get(entry, "value"));
        if (!value) {
            cs_buf_addf(problems, "metric '%s': %s\n", r->key, why.ptr);
            count++;
        }
    }
    ev = json_object_get(entry, "evidence");
    if (!json_is_string(ev)) {
        cs_buf_addf(problems, "metric '%s': 'evidence' must be a string (a "
                    "quote from the transcript, or \"\")\n", r->key);
        count++;
    }
    ra = json_object_get(entry, "rationale");
    if (!json_is_string(ra)) {
        cs_buf_addf(problems, "metric '%s': 'rationale' must be a string\n",
                    r->key);
        count++;
    }
    if (count)
        goto done;

    found = found_in(transcript, json_string_value(ev),
                     json_string_length(ev));
    cs_buf_reset(&why);
    res->value = value;
    value = NULL;
    res->evidence = clean_quote(json_string_value(ev),
                                json_string_length(ev));
    cs_buf_addf(&why, "%s%s", found ? "" : CS_LLM_EVIDENCE_NOT_FOUND,
                json_string_value(ra));
    res->rationale = cs_buf_detach(&why, NULL);
    res->has_confidence = 1;
    res->confidence = found ? CS_LLM_CONFIDENCE : CS_LLM_CONFIDENCE_UNSUPPORTED;

done:
    json_decref(value);
    cs_buf_release(&why);
    return count;
}

/* ---- the response ---- */

static long usage_field(const json_t *usage, const char *key)
{
    const json_t *v = json_object_get(usage, key);

    return json_is_integer(v) && json_integer_value(v) >= 0
               ? (long)json_integer_value(v) : -1;
}

/* The message content as text (new), joining the text parts of an array
 * content; NULL when there is none. */
static char *content_text(const json_t *content)
{
    struct cs_buf b = CS_BUF_INIT;
    size_t i;
    const json_t *part, *text;

    if (json_is_string(content))
        return cs_xstrdup(json_string_value(content));
    if (!json_is_array(content))
        return NULL;
    json_array_foreach(content, i, part) {
        text = json_object_get(part, "text");
        if (json_is_string(text))
            cs_buf_adds(&b, json_string_value(text));
    }
    if (!b.len) {
        cs_buf_release(&b);
        return NULL;
    }
    return cs_buf_detach(&b, NULL);
}

/* The JSON inside a Markdown code fence, which some OpenAI-compatible
 * servers without structured output still wrap answers in. */
static void unfence(const char **s, size_t *len)
{
    const char *p = *s, *e = *s + *len, *nl;

    while (p < e && is_blank(*p))
        p++;
    while (e > p && is_blank(e[-1]))
        e--;
    if (e - p >= 6 && !strncmp(p, "```", 3) && !strncmp(e - 3, "```", 3)) {
        nl = memchr(p, '\n', (size_t)(e - p));
        if (nl && nl < e - 3) {
            p = nl + 1;
            e -= 3;
        }
    }
    *s = p;
    *len = (size_t)(e - p);
}

int cs_llm_completion_read(struct cs_llm_completion *out, const char *body,
                           size_t len, long max_tokens,
                           struct cs_buf *problems, struct cs_err *err)
{
    json_t *resp = NULL;
    const json_t *choice, *msg, *v;
    json_error_t jerr;
    const char *finish, *text;
    size_t text_len;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    out->prompt_tokens = out->completion_tokens = out->cached_tokens = -1;
    resp = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(resp)) {
        ret = cs_err_set(err, CS_ELLM, "llm response is not a JSON object: "
                         "%s", resp ? "wrong type" : jerr.text);
        goto done;
    }
    v = json_object_get(resp, "usage");
    out->prompt_tokens = usage_field(v, "prompt_tokens");
    out->completion_tokens = usage_field(v, "completion_tokens");
    out->cached_tokens = usage_field(json_object_get(v,
                                                     "prompt_tokens_details"),
                                     "cached_tokens");
    v = json_object_get(resp, "error");
    if (v && !json_is_null(v)) {
        v = json_is_object(v) ? json_object_get(v, "message") : v;
        ret = cs_err_set(err, CS_ELLM, "llm error: %s",
                         json_is_string(v) ? json_string_value(v)
                                           : "(no message)");
        goto done;
    }
    choice = json_array_get(json_object_get(resp, "choices"), 0);
    msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        ret = cs_err_set(err, CS_ELLM, "llm response has no "
                         "choices[0].message");
        goto done;
    }
    v = json_object_get(choice, "finish_reason");
    finish = json_is_string(v) ? json_string_value(v) : NULL;
    out->finish_reason = finish ? cs_xstrdup(finish) : NULL;
    out->content = content_text(json_object_get(msg, "content"));
    v = json_object_get(msg, "refusal");
    if (json_is_string(v) && json_string_length(v)) {
        ret = cs_err_set(err, CS_ELLM, "llm refused: %s",
                         json_string_value(v));
        goto done;
    }
    if (finish && !strcmp(finish, "content_filter")) {
        ret = cs_err_set(err, CS_ELLM, "llm answer withheld by its content "
                         "filter");
        goto done;
    }
    if (finish && !strcmp(finish, "length")) {
        ret = cs_err_set(err, CS_ELLM, "llm answer cut off at max_tokens "
                         "(%ld)", max_tokens);
        goto done;
    }
    if (!out->content || !out->content[0]) {
        cs_buf_adds(problems, "the answer had no content\n");
        ret = cs_err_set(err, CS_ELLM, "llm answer has no content");
        goto done;
    }
    text = out->content;
    text_len = strlen(text);
    unfence(&text, &text_len);
    out->json = json_loadb(text, text_len, 0, &jerr);
    if (!out->json) {
        cs_buf_addf(problems, "the answer is not valid JSON (%s)\n",
                    jerr.text);
        ret = cs_err_set(err, CS_ELLM, "llm answer is not valid JSON: %s",
                         jerr.text);
    }
done:
    json_decref(resp);
    return ret;
}

void cs_llm_completion_release(struct cs_llm_completion *c)
{
    free(c->content);
    free(c->finish_reason);
    json_decref(c->json);
    memset(c, 0, sizeof(*c));
}

int cs_llm_answer_parse(struct cs_llm_answer *out,
                        const struct cs_llm_plan *plan, size_t group,
                        const char *body, size_t len, struct cs_err *err)
{
    const struct cs_llm_group *g;
    struct cs_buf problems = CS_BUF_INIT;
    struct cs_buf transcript = CS_BUF_INIT;
    struct cs_llm_completion c;
    struct cs_err cerr = {0, ""};
    json_t *answer = NULL;
    size_t n_problems = 0;
    int ret = 0;

    assert(out && plan && group < plan->n_groups && body);
    g = &plan->groups[group];
    memset(out, 0, sizeof(*out));
    out->n = g->n;
    out->results = cs_xcalloc(g->n ? g->n : 1, sizeof(*out->results));
    ret = cs_llm_completion_read(&c, body, len, g->max_tokens, &problems,
                                 &cerr);
    out->prompt_tokens = c.prompt_tokens;
    out->completion_tokens = c.completion_tokens;
    out->cached_tokens = c.cached_tokens;
    out->finish_reason = c.finish_reason;
    out->content = c.content;
    answer = c.json;
    c.finish_reason = c.content = NULL;
    c.json = NULL;
    if (ret) {
        ret = fail(out, err, "%s", cerr.msg);
        goto done;
    }
    if (!json_is_object(answer)) {
        cs_buf_adds(&problems, "the answer is not a JSON object with one "
                    "property per metric\n");
        ret = fail(out, err, "llm answer is not a JSON object");
        goto done;
    }

    normalise(&transcript, plan->transcript, plan->transcript_len);
    for (size_t i = 0; i < g->n; i++) {
        const struct cs_rubric *r = &plan->set->rubrics[g->metrics[i]];
        size_t start = problems.len;
        size_t k = read_entry(&out->results[i], &problems, r,
                              json_object_get(answer, r->key), &transcript);

        if (k) {
            /* The rationale of an "error" result: its first problem. */
            const char *nl = strchr(problems.ptr + start, '\n');

            cs_eval_result_set_error(&out->results[i],
                                     "llm answer invalid: %.*s",
                                     (int)(nl - (problems.ptr + start)),
                                     problems.ptr + start);
            n_problems += k;
        }
    }
    if (n_problems) {
        const char *nl = strchr(problems.ptr, '\n');

        ret = cs_err_set(err, CS_ELLM, "llm answer invalid (%zu problem%s): "
                         "%.*s", n_problems, n_problems == 1 ? "" : "s",
                         (int)(nl - problems.ptr), problems.ptr);
    }

done:
    if (problems.len)
        out->problems = cs_buf_detach(&problems, NULL);
    cs_buf_release(&problems);
    cs_buf_release(&transcript);
    json_decref(answer);
    return ret;
}

void cs_llm_answer_release(struct cs_llm_answer *a)
{
    if (!a)
        return;
    if (a->results)
        cs_eval_results_release(a->results, a->n);
    free(a->results);
    free(a->content);
    free(a->finish_reason);
    free(a->problems);
    memset(a, 0, sizeof(*a));
}
