/* test_score.c - rules evaluator, lexicon sentiment, agreement statistics */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "helpers.h"
#include "model/conv.h"
#include "rubric/rubric.h"
#include "score/calibrate.h"
#include "score/rules.h"
#include "score/scorecard.h"
#include "score/sentiment.h"

/* ---- fixtures ---- */

static struct cs_conv *conv_of(const char *text)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    struct cs_conv *c = NULL;
    struct cs_err err;

    if (!obj)
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    cs_err_clear(&err);
    if (cs_conv_from_json(&c, obj, &err) < 0)
        fail_msg("bad test conversation: %s", err.msg);
    json_decref(obj);
    return c;
}

/* Loads a rubric set from {file name, content} pairs (NULL-terminated). */
static struct cs_rubric_set *set_of(const char *const *files)
{
    char *dir = th_tmpdir();
    struct cs_rubric_set *set = NULL;
    struct cs_buf p = CS_BUF_INIT;
    struct cs_err err;

    for (size_t i = 0; files[i]; i += 2) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/%s", dir, files[i]);
        th_write(p.ptr, files[i + 1], strlen(files[i + 1]));
    }
    cs_err_clear(&err);
    if (cs_rubric_set_load(&set, dir, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&p);
    return set;
}

/* A set, its compiled rules and room for one conversation's results. */
struct fx {
    struct cs_rubric_set *set;
    struct cs_rules *rules;
    struct cs_eval_result *res;
};

static void fx_open(struct fx *f, struct cs_rubric_set *set)
{
    struct cs_err err;

    cs_err_clear(&err);
    f->set = set;
    if (cs_rules_new(&f->rules, set, &err) < 0)
        fail_msg("%s", err.msg);
    f->res = cs_xcalloc(set->n + 1, sizeof(*f->res));
}

static void fx_close(struct fx *f)
{
    cs_eval_results_release(f->res, f->set->n);
    free(f->res);
    cs_rules_free(f->rules);
    cs_rubric_set_free(f->set);
}

/* Evaluates `conv_json` and returns the result of rubric `key`. */
static const struct cs_eval_result *eval(struct fx *f, const char *key,
                                         const char *conv_json)
{
    struct cs_conv *c = conv_of(conv_json);
    const struct cs_rubric *r = cs_rubric_set_find(f->set, key);

    assert_non_null(r);
    cs_eval_results_release(f->res, f->set->n);
    cs_rules_eval(f->res, f->rules, c);
    cs_conv_free(c);
    return &f->res[r - f->set->rubrics];
}

/* The value of a result as a label string (static buffer). */
static const char *label(const struct cs_eval_result *r)
{
    static char s[64];
    struct cs_buf b = CS_BUF_INIT;

    cs_calibrate_label(&b, r->value);
    snprintf(s, sizeof(s), "%s", b.ptr);
    cs_buf_release(&b);
    return s;
}

#define BOOL_HEAD "\"type\": \"boolean\", \"definition\": \"d\", " \
                  "\"success\": \"s\", \"failure\": \"f\""

static const char *const basic_files[] = {
    "greeted.json",
    "{\"name\": \"Greeted\", " BOOL_HEAD ", \"rules\": ["
    "{\"turn_matches\": \"(?i)\\\\bhello\\\\b\", \"role\": \"agent\","
    " \"value\": true}, {\"default\": false}]}",
    "booked.json",
    "{\"name\": \"Booked\", " BOOL_HEAD ","
    " \"applies_when\": {\"turn_matches\": \"(?i)\\\\bbook\","
    " \"role\": \"customer\"},"
    " \"rules\": [{\"turn_matches\": \"(?i)you're booked\","
    " \"role\": \"agent\", \"value\": true},"
    " {\"turn_matches\": \"(?i)\\\\bbook\", \"role\": \"customer\","
    " \"value\": false}]}",
    "outbound_only.json",
    "{\"name\": \"Outbound\", " BOOL_HEAD ","
    " \"applies_when\": {\"field\": \"direction\", \"equals\": \"outbound\"},"
    " \"rules\": [{\"default\": true}]}",
    "a_upsell.json",
    "{\"name\": \"Upsell\", " BOOL_HEAD ","
    " \"applies_when\": {\"metric\": \"z_base\", \"equals\": true},"
    " \"rules\": [{\"turn_matches\": \"(?i)extra\", \"role\": \"any\","
    " \"value\": true}, {\"default\": false}]}",
    "z_base.json",
    "{\"name\": \"Base\", " BOOL_HEAD ","
    " \"rules\": [{\"turn_matches\": \"(?i)confirmed\", \"role\": \"agent\","
    " \"value\": true}, {\"default\": false}]}",
    "order.json",
    "{\"name\": \"Order\", \"type\": \"categorical\", \"definition\": \"d\","
    " \"categories\": {\"first\": \"1\", \"second\": \"2\"},"
    " \"rules\": [{\"turn_matches\": \"(?i)second\", \"role\": \"agent\","
    " \"value\": \"second\"}, {\"turn_matches\": \"(?i)first\","
    " \"role\": \"agent\", \"value\": \"first\"}]}",
    NULL};

#define CONV(turns) \
    "{\"id\": \"t\", \"started_at\": \"2026-11-02T09:14:03Z\", " \
    "\"turns\": [" turns "]}"
#define AGENT(t) "{\"role\": \"agent\", \"text\": \"" t "\"}"
#define CUST(t) "{\"role\": \"customer\", \"text\": \"" t "\"}"

/* ---- rules evaluator ---- */

static void test_score__no_turns_is_not_applicable(void **state)
{
    struct fx f;

    (void)state;
    fx_open(&f, set_of(basic_files));
    eval(&f, "greeted", CONV(""));
    for (size_t i = 0; i < f.set->n; i++) {
        assert_string_equal(label(&f.res[i]), "not_applicable");
        assert_null(f.res[i].evidence);
        assert_string_equal(f.res[i].rationale,
                            "the conversation has no turns");
    }
    fx_close(&f);
}

static void test_score__applies_when_turn_matches_role(void **state)
{
    struct fx f;
    const struct cs_eval_result *r;

    (void)state;
    fx_open(&f, set_of(basic_files));
    /* "book" said by the agent only: the customer never asked. */
    r = eval(&f, "booked", CONV(AGENT("Do you want to book?")
                                "," CUST("No thanks.")));
    assert_string_equal(label(r), "not_applicable");
    assert_string_equal(r->rationale,
                        "applies_when: no customer turn matches");
    r = eval(&f, "booked", CONV(CUST("I want to BOOK a table.")
                                "," AGENT("You're booked.")));
    assert_string_equal(label(r), "true");
    fx_close(&f);
}

static void test_score__applies_when_field(void **state)
{
    struct fx f;
    const struct cs_eval_result *r;

    (void)state;
    fx_open(&f, set_of(basic_files));
    /* direction defaults to inbound. */
    r = eval(&f, "outbound_only", CONV(AGENT("Hello.")));
    assert_string_equal(label(r), "not_applicable");
    assert_string_equal(r->rationale, "applies_when: field 'direction' is "
                        "\"inbound\", not \"outbound\"");
    r = eval(&f, "outbound_only",
             "{\"id\": \"t\", \"started_at\": \"2026-11-02T09:14:03Z\","
             " \"direction\": \"outbound\", \"turns\": [" AGENT("Hi") "]}");
    assert_string_equal(label(r), "true");
    fx_close(&f);
}

static void test_score__metric_dependency_evaluated_first(void **state)
{
    struct fx f;
    const struct cs_eval_result *r;

    (void)state;
    fx_open(&f, set_of(basic_files));
    /* a_upsell sorts before z_base but needs z_base's result. */
    r = eval(&f, "a_upsell", CONV(AGENT("Your booking is confirmed.")
                                  "," AGENT("Want an extra cleaning?")));
    assert_string_equal(label(r), "true");
    r = eval(&f, "a_upsell", CONV(AGENT("Want an extra cleaning?")));
    assert_string_equal(label(r), "not_applicable");
    assert_string_equal(r->rationale,
                        "applies_when: metric 'z_base' is false, not true");
    fx_close(&f);
}

static void test_score__rules_in_file_order_first_match_wins(void **state)
{
    struct fx f;
    const struct cs_eval_result *r;

    (void)state;
    fx_open(&f, set_of(basic_files));
    /* "first" comes first in the transcript, but the "second" rule comes
     * first in the file. */
    r = eval(&f, "order", CONV(AGENT("This is the first turn.")
                               "," CUST("ok") ","
                               AGENT("And this is the second.")));
    assert_string_equal(label(r), "second");
    assert_string_equal(r->evidence, "And this is the second.");
    assert_string_equal(r->rationale,
                        "rule 1 matched agent turn 3: \"second\"");
    assert_int_equal(r->has_confidence, 0);
    fx_close(&f);
}

static void test_score__default_and_no_default(void **state)
{
    struct fx f;
    const struct cs_eval_result *r;

    (void)state;
    fx_open(&f, set_of(basic_files));
    r = eval(&f, "greeted", CONV(AGENT("Good morning.")));
    assert_string_equal(label(r), "false");
    assert_null(r->evidence);
    assert_string_equal(r->rationale,
                        "no rule matched; rule 2 is the default");
    /* order has no default. */
    r = eval(&f, "order", CONV(AGENT("Nothing to see.")));
    assert_string_equal(label(r), "not_applicable");
    assert_string_equal(r->rationale,
                        "no rule matched and there is no default");
    /* booked: rule 2 matches the customer turn that made it apply. */
    r = eval(&f, "booked", CONV(CUST("Can I book for two?")
                                "," AGENT("Sorry, we are full.")));
    assert_string_equal(label(r), "false");
    assert_string_equal(r->evidence, "Can I book for two?");
    assert_string_equal(r->rationale,
                        "rule 2 matched customer turn 1: \"book\"");
    fx_close(&f);
}

static void test_score__utf8_and_ucp(void **state)
{
    static const char *const files[] = {
        "cafe.json",
        "{\"name\": \"Cafe\", " BOOL_HEAD ", \"rules\": ["
        "{\"turn_matches\": \"(?i)\\\\bcafé\\\\b\", \"role\": \"any\","
        " \"value\": true}, {\"default\": false}]}",
        NULL};
    struct fx f;
    const struct cs_eval_result *r;

    (void)state;
    fx_open(&f, set_of(files));
    r = eval(&f, "cafe", CONV(CUST("Le CAFÉ est fermé ?")));
    assert_string_equal(label(r), "true");
    assert_string_equal(r->rationale,
                        "rule 1 matched customer turn 1: \"CAFÉ\"");
    /* With UCP, é is a word character: no \b inside "cafés". */
    r = eval(&f, "cafe", CONV(CUST("deux cafés")));
    assert_string_equal(label(r), "false");
    fx_close(&f);
}

static const char sample_booking[] = CONV(
    AGENT("Thanks for calling Acme Dental, how can I help?") ","
    CUST("Hi, I'd like to book a cleaning next Tuesday.") ","
    AGENT("You're booked for Tuesday at 10am. I've sent a text "
          "confirmation.") ","
    CUST("Thanks, that's great!"));

static const char sample_complaint[] = CONV(
    AGENT("For security, can you confirm your date of birth?") ","
    CUST("It's March 3rd 1980.") ","
    AGENT("I'm sorry, I couldn't verify your account with those "
          "details.") ","
    CUST("This is ridiculous, you're not helpful at all. There is a "
         "problem with my bill.") ","
    AGENT("I'm sorry to hear that. I understand how frustrating this is. "
          "Let me transfer you to a colleague who can help."));

static const char sample_reschedule[] = CONV(
    CUST("I need to reschedule my appointment to Friday.") ","
    AGENT("Sure. Can you give me the last four digits of your card?") ","
    CUST("1234.") ","
    AGENT("Thank you, I've verified your identity. Your appointment is "
          "confirmed for Friday at 9."));

static const char sample_pain[] = CONV(
    CUST("My tooth is in pain and I'm worried.") ","
    AGENT("I'm sorry to hear that.") ","
    AGENT("We have a slot at 3pm today."));

static void test_score__starter_rubrics_on_sample_phrases(void **state)
{
    char *dir = th_src("rubrics");
    struct cs_rubric_set *set = NULL;
    struct cs_err err;
    struct fx f;
    struct {
        const char *conv, *key, *want;
    } cases[] = {
        {sample_booking, "booking_completed", "true"},
        {sample_booking, "call_reason", "booking"},
        {sample_booking, "customer_sentiment", "positive"},
        {sample_booking, "resolution_without_handoff", "true"},
        {sample_booking, "caller_authenticated", "not_applicable"},
        {sample_booking, "agent_empathy", "not_applicable"},
        {sample_complaint, "caller_authenticated", "false"},
        {sample_complaint, "customer_sentiment", "negative"},
        {sample_complaint, "resolution_without_handoff", "false"},
        {sample_complaint, "agent_empathy", "5"},
        {sample_complaint, "call_reason", "billing"},
        {sample_complaint, "booking_completed", "not_applicable"},
        {sample_reschedule, "caller_authenticated", "true"},
        {sample_reschedule, "call_reason", "reschedule"},
        {sample_reschedule, "booking_completed", "not_applicable"},
        {sample_reschedule, "customer_sentiment", "neutral"},
        {sample_pain, "agent_empathy", "4"},
        {CONV(CUST("There's a problem with my booking.") ","
              AGENT("Sorry about that. What is the date?")),
         "agent_empathy", "3"},
        {CONV(CUST("The app is not working.") ","
              AGENT("What is your email address?")),
         "agent_empathy", "2"},
        {CONV(CUST("The app is not working.") ","
              AGENT("What is your email address?")),
         "call_reason", "technical_issue"},
        {CONV(CUST("I'd like to book a check-up.") ","
              AGENT("I can pencil you in for Monday and call you back to "
                    "confirm.")),
         "booking_completed", "partial"},
        {CONV(CUST("Can I book an appointment?") ","
              AGENT("Sorry, we have nothing this week.")),
         "booking_completed", "false"},
        {CONV(CUST("I want to cancel my appointment.") ","
              AGENT("Done, it's cancelled.")),
         "call_reason", "cancellation"},
        {CONV(CUST("Is my plan in network?")), "call_reason", "insurance"},
        {CONV(CUST("What are your opening hours?")), "call_reason",
         "information"},
        {CONV(CUST("Wrong number, sorry.")), "call_reason", "other"},
        {CONV(CUST("That's not good enough.")), "customer_sentiment",
         "negative"},
        {CONV(AGENT("Hello?")), "resolution_without_handoff",
         "not_applicable"},
    };

    (void)state;
    cs_err_clear(&err);
    if (cs_rubric_set_load(&set, dir, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    fx_open(&f, set);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct cs_eval_result *r = eval(&f, cases[i].key,
                                              cases[i].conv);

        if (strcmp(label(r), cases[i].want))
            fail_msg("case %zu: %s is %s (%s), want %s", i, cases[i].key,
                     label(r), r->rationale, cases[i].want);
    }
    fx_close(&f);
    free(dir);
}

/* ---- sentiment ---- */

static struct cs_sentiment_lexicon *lexicon(void)
{
    char *path = th_src("config/sentiment-lexicon.txt");
    struct cs_sentiment_lexicon *lex = NULL;
    struct cs_err err;

    cs_err_clear(&err);
    if (cs_sentiment_lexicon_load(&lex, path, &err) < 0)
        fail_msg("%s", err.msg);
    free(path);
    return lex;
}

static double raw(const struct cs_sentiment_lexicon *lex, const char *s)
{
    return cs_sentiment_text(lex, s, strlen(s), NULL);
}

static void test_score__sentiment_negation_and_intensifiers(void **state)
{
    struct cs_sentiment_lexicon *lex = lexicon();
    size_t hits = 0;

    (void)state;
    assert_true(cs_sentiment_lexicon_size(lex) > 100);
    assert_true(raw(lex, "I am happy") > 0);
    assert_true(raw(lex, "I am not happy") < 0);
    assert_true(raw(lex, "I'm NOT happy") < 0);
    assert_true(raw(lex, "I don't think that's good") < 0);
    /* "not bad" is mildly positive: above zero, below "good". */
    assert_true(raw(lex, "not bad") > 0);
    assert_true(raw(lex, "not bad") < raw(lex, "good"));
    assert_true(raw(lex, "very happy") > raw(lex, "happy"));
    assert_true(raw(lex, "slightly annoyed") > raw(lex, "annoyed"));
    assert_true(raw(lex, "not very happy") < 0);
    /* Negation reaches 3 words and stops at punctuation and "but". */
    assert_true(raw(lex, "not at all happy") < 0);
    assert_true(raw(lex, "Not. Happy now") > 0);
    assert_true(raw(lex, "I wasn't sure, but great") > 0);
    assert_true(raw(lex, "no problem at all") > 0);
    assert_true(raw(lex, "this is ridiculous") < 0);
    assert_true(raw(lex, "that was not helpful") < 0);
    assert_true(raw(lex, "thanks, that's great") > 0);
    assert_true(raw(lex, "that\xe2\x80\x99s great") ==
                raw(lex, "that's great"));
    assert_true(raw(lex, "table for two at seven") == 0);
    cs_sentiment_text(lex, "Great, thanks! Terrible wait though.",
                      strlen("Great, thanks! Terrible wait though."), &hits);
    assert_int_equal(hits, 4);
    cs_sentiment_lexicon_free(lex);
}

static void test_score__sentiment_of_conversation(void **state)
{
    struct cs_sentiment_lexicon *lex = lexicon();
    struct cs_sentiment s;
    struct cs_conv *c;

    (void)state;
    c = conv_of(CONV(AGENT("This is terrible, awful, horrible news.") ","
                     CUST("Can I book Tuesday?") ","
                     CUST("Thanks, that's great!")));
    cs_sentiment_score(&s, lex, c);
    assert_int_equal(s.label, CS_SENTIMENT_POSITIVE);
    assert_string_equal(cs_sentiment_label_name(s.label), "positive");
    assert_int_equal(s.evidence_turn, 2);
    assert_string_equal(s.evidence, "Thanks, that's great!");
    assert_true(s.score > 0 && s.score < 1);
    cs_sentiment_release(&s);
    cs_conv_free(c);

    c = conv_of(CONV(CUST("This is ridiculous.") ","
                     AGENT("I'm sorry to hear that.") ","
                     CUST("Not helpful.")));
    cs_sentiment_score(&s, lex, c);
    assert_int_equal(s.label, CS_SENTIMENT_NEGATIVE);
    assert_int_equal(s.evidence_turn, 0);
    cs_sentiment_release(&s);
    cs_conv_free(c);

    c = conv_of(CONV(CUST("I'd like a table for two at seven.") ","
                     CUST("Thanks for your help.")));
    cs_sentiment_score(&s, lex, c);
    assert_int_equal(s.label, CS_SENTIMENT_NEUTRAL);
    assert_null(s.evidence);
    assert_int_equal(s.evidence_turn, -1);
    cs_sentiment_release(&s);
    cs_conv_free(c);

    c = conv_of(CONV(""));
    cs_sentiment_score(&s, lex, c);
    assert_int_equal(s.label, CS_SENTIMENT_NEUTRAL);
    assert_true(s.score == 0);
    cs_sentiment_release(&s);
    cs_conv_free(c);
    cs_sentiment_lexicon_free(lex);
}

static void expect_lexicon_error(const char *text, const char *want)
{
    char *dir = th_tmpdir();
    struct cs_buf p = CS_BUF_INIT;
    struct cs_sentiment_lexicon *lex = NULL;
    struct cs_err err;

    cs_buf_addf(&p, "%s/lex.txt", dir);
    th_write(p.ptr, text, strlen(text));
    cs_err_clear(&err);
    assert_int_equal(cs_sentiment_lexicon_load(&lex, p.ptr, &err),
                     CS_EINVALID);
    assert_null(lex);
    if (!strstr(err.msg, want))
        fail_msg("'%s' does not contain '%s'", err.msg, want);
    th_rmtree(dir);
    free(dir);
    cs_buf_release(&p);
}

static void test_score__sentiment_lexicon_errors(void **state)
{
    struct cs_sentiment_lexicon *lex = NULL;
    struct cs_err err;

    (void)state;
    expect_lexicon_error("# c\ngood\t2\nbad\tx\n",
                         "line 3: weight 'x' must be a number");
    expect_lexicon_error("good\t2\nGood\t1\n", "line 2: duplicate entry "
                         "'good'");
    expect_lexicon_error("good 2\n", "line 1: expected entry<TAB>weight");
    expect_lexicon_error("very\t*0\n", "line 1: factor '*0'");
    expect_lexicon_error("good!\t1\n", "line 1: entry 'good!' must be words");
    cs_err_clear(&err);
    assert_int_equal(cs_sentiment_lexicon_load(&lex, "/nonexistent/lex.txt",
                                               &err), CS_ENOTFOUND);
}

/* ---- calibration ---- */

static void test_score__kappa_hand_computed(void **state)
{
    /* gold a a b b null, pred a b b b not_applicable:
     * all: po 4/5, gold (a2 b2 na1), pred (a1 b3 na1),
     *      pe (2 + 6 + 1)/25 = 0.36, kappa (0.8 - 0.36)/0.64 = 0.6875;
     * gold-applicable: po 3/4, pe (2 + 6)/16 = 0.5, kappa 0.5. */
    static const struct cs_calib_pair pairs[] = {
        {"1", "a", "a"}, {"2", "a", "b"}, {"3", "b", "b"}, {"4", "b", "b"},
        {"5", NULL, NULL}};
    struct cs_agreement all, app;

    (void)state;
    cs_calibrate(&all, pairs, 5, CS_CALIBRATE_ALL);
    assert_int_equal(all.n, 5);
    assert_int_equal(all.n_agree, 4);
    assert_true(all.accuracy > 0.8 - 1e-12 && all.accuracy < 0.8 + 1e-12);
    assert_true(all.kappa > 0.6875 - 1e-12 && all.kappa < 0.6875 + 1e-12);
    assert_int_equal(all.n_labels, 3);
    assert_string_equal(all.labels[0], "a");
    assert_string_equal(all.labels[1], "b");
    assert_string_equal(all.labels[2], "not_applicable");
    assert_int_equal(cs_calibrate_cell(&all, 0, 0), 1);
    assert_int_equal(cs_calibrate_cell(&all, 0, 1), 1);
    assert_int_equal(cs_calibrate_cell(&all, 1, 1), 2);
    assert_int_equal(cs_calibrate_cell(&all, 2, 2), 1);
    assert_int_equal(all.n_disagree, 1);
    assert_string_equal(all.disagree_ids[0], "2");

    cs_calibrate(&app, pairs, 5, CS_CALIBRATE_GOLD_APPLICABLE);
    assert_int_equal(app.n, 4);
    assert_true(app.accuracy > 0.75 - 1e-12 && app.accuracy < 0.75 + 1e-12);
    assert_true(app.kappa > 0.5 - 1e-12 && app.kappa < 0.5 + 1e-12);
    assert_int_equal(app.n_labels, 2);
    cs_calibrate_release(&all);
    cs_calibrate_release(&app);

    /* One shared label: chance agreement is 1, kappa 1 by convention. */
    cs_calibrate(&all, pairs + 2, 2, CS_CALIBRATE_ALL);
    assert_true(all.kappa == 1.0);
    cs_calibrate_release(&all);
    cs_calibrate(&all, pairs, 0, CS_CALIBRATE_ALL);
    assert_int_equal(all.n, 0);
    assert_true(all.kappa == 0.0 && all.accuracy == 0.0);
    cs_calibrate_release(&all);
}

static void test_score__calibrate_label_and_format(void **state)
{
    static const struct cs_calib_pair pairs[] = {
        {"1", "true", "true"}, {"2", "false", "true"},
        {"3", NULL, "not_applicable"}};
    struct cs_buf b = CS_BUF_INIT;
    struct cs_agreement all, app;
    json_t *v;

    (void)state;
    cs_calibrate_label(&b, json_true());
    cs_buf_addch(&b, ' ');
    cs_calibrate_label(&b, json_null());
    cs_buf_addch(&b, ' ');
    cs_calibrate_label(&b, NULL);
    cs_buf_addch(&b, ' ');
    v = json_integer(4);
    cs_calibrate_label(&b, v);
    json_decref(v);
    cs_buf_addch(&b, ' ');
    v = json_string("booking");
    cs_calibrate_label(&b, v);
    json_decref(v);
    assert_string_equal(b.ptr, "true not_applicable not_applicable 4 "
                        "booking");
    cs_buf_reset(&b);
    cs_calibrate(&all, pairs, 3, CS_CALIBRATE_ALL);
    cs_calibrate(&app, pairs, 3, CS_CALIBRATE_GOLD_APPLICABLE);
    cs_calibrate_format(&b, "m", &all, &app);
    assert_string_equal(b.ptr,
        "== m: n=3 accuracy=0.6667 kappa=0.5000 | gold-applicable n=2 "
        "accuracy=0.5000 kappa=0.0000\n"
        "gold \\ pred              false not_applicable           true\n"
        "false                        0              0              1\n"
        "not_applicable               0              1              0\n"
        "true                         0              0              1\n");
    cs_calibrate_release(&all);
    cs_calibrate_release(&app);
    cs_buf_release(&b);
}

/* ---- real-dev agreement ---- */

struct scored {
    size_t n;
    char **ids;
    char ***pred;       /* [rubric][conversation] label */
    double seconds;
};

/* Scores every conversation of real-dev (in `data`) with `set`;
 * checks each value is one the rubric allows. */
static void score_real_dev(struct scored *out, struct cs_rubric_set *set,
                           const char *data)
{
    struct cs_buf p = CS_BUF_INIT, lab = CS_BUF_INIT;
    struct cs_conv **convs;
    struct fx f;
    char *text, *line, *next;
    size_t alloc = 2048;
    double t0;

    memset(out, 0, sizeof(*out));
    cs_buf_addf(&p, "%s/conversations.jsonl", data);
    text = th_read(p.ptr);
    assert_non_null(text);
    convs = cs_xcalloc(alloc, sizeof(*convs));
    out->ids = cs_xcalloc(alloc, sizeof(*out->ids));
    for (line = text; line && *line; line = next) {
        json_error_t jerr;
        json_t *obj;
        struct cs_err err;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        obj = json_loads(line, 0, &jerr);
        if (!obj)
            fail_msg("line %zu: %s", out->n + 1, jerr.text);
        cs_err_clear(&err);
        assert_true(out->n < alloc);
        if (cs_conv_from_json(&convs[out->n], obj, &err) < 0)
            fail_msg("line %zu: %s", out->n + 1, err.msg);
        json_decref(obj);
        out->ids[out->n] = cs_xstrdup(convs[out->n]->id);
        out->n++;
    }
    free(text);
    fx_open(&f, set);
    out->pred = cs_xcalloc(set->n, sizeof(*out->pred));
    for (size_t r = 0; r < set->n; r++)
        out->pred[r] = cs_xcalloc(out->n, sizeof(**out->pred));
    t0 = cs_now();
    for (size_t i = 0; i < out->n; i++) {
        cs_eval_results_release(f.res, set->n);
        cs_rules_eval(f.res, f.rules, convs[i]);
        for (size_t r = 0; r < set->n; r++) {
            if (!cs_rubric_value_valid(&set->rubrics[r], f.res[r].value)) {
                fail_msg("%s: %s gave %s (%s)", out->ids[i],
                         set->rubrics[r].key, label(&f.res[r]),
                         f.res[r].rationale);
            }
            cs_buf_reset(&lab);
            cs_calibrate_label(&lab, f.res[r].value);
            out->pred[r][i] = cs_xstrdup(lab.ptr);
        }
    }
    out->seconds = cs_now() - t0;
    for (size_t i = 0; i < out->n; i++)
        cs_conv_free(convs[i]);
    free(convs);
    f.set = NULL;
    cs_eval_results_release(f.res, set->n);
    free(f.res);
    cs_rules_free(f.rules);
    cs_buf_release(&p);
    cs_buf_release(&lab);
}

static void scored_release(struct scored *s, size_t n_rubrics)
{
    for (size_t r = 0; r < n_rubrics; r++) {
        for (size_t i = 0; i < s->n; i++)
            free(s->pred[r][i]);
        free(s->pred[r]);
    }
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->pred);
    free(s->ids);
}

static struct cs_rubric_set *load_set(const char *dir)
{
    struct cs_rubric_set *set = NULL;
    struct cs_err err;

    cs_err_clear(&err);
    if (cs_rubric_set_load(&set, dir, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    return set;
}

/* 4-decimal figures of the baseline may round up by half a unit. */
#define ROUNDING 0.00005

static void test_score__real_dev_agreement_at_least_baseline(void **state)
{
    char *data = th_src("tests/data/real-dev");
    struct cs_buf p = CS_BUF_INIT, report = CS_BUF_INIT;
    struct cs_rubric_set *set;
    struct scored s;
    json_t *gold = json_object();
    char *text, *line, *next;
    size_t checked = 0;

    (void)state;
    cs_buf_addf(&p, "%s/rubrics", data);
    set = load_set(p.ptr);
    score_real_dev(&s, set, data);
    assert_int_equal(s.n, 1040);

    /* Gold labels by id. */
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/labels.jsonl", data);
    text = th_read(p.ptr);
    assert_non_null(text);
    for (line = text; line && *line; line = next) {
        json_t *obj;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        obj = json_loads(line, 0, NULL);
        assert_non_null(obj);
        json_object_set(gold, json_string_value(json_object_get(obj, "id")),
                        json_object_get(obj, "labels"));
        json_decref(obj);
    }
    free(text);
    assert_int_equal(json_object_size(gold), 1040);

    /* Every metric with figures in the baseline. */
    cs_buf_reset(&p);
    cs_buf_addf(&p, "%s/baseline_agreement_dev.txt", data);
    text = th_read(p.ptr);
    assert_non_null(text);
    for (line = text; line && *line; line = next) {
        char metric[64];
        size_t bn, ban;
        double bacc, bk, baacc, bak;
        const struct cs_rubric *r;
        struct cs_calib_pair *pairs;
        struct cs_buf *labs;
        struct cs_agreement all, app;
        size_t ri;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (sscanf(line, "== %63[^:]: n=%zu accuracy=%lf kappa=%lf | "
                   "gold-applicable n=%zu accuracy=%lf kappa=%lf", metric,
                   &bn, &bacc, &bk, &ban, &baacc, &bak) != 7)
            continue;
        r = cs_rubric_set_find(set, metric);
        if (!r)
            fail_msg("baseline metric '%s' has no rubric", metric);
        ri = (size_t)(r - set->rubrics);
        pairs = cs_xcalloc(s.n, sizeof(*pairs));
        labs = cs_xcalloc(s.n, sizeof(*labs));
        for (size_t i = 0; i < s.n; i++) {
            json_t *g = json_object_get(json_object_get(gold, s.ids[i]),
                                        metric);

            cs_buf_init(&labs[i]);
            pairs[i].id = s.ids[i];
            pairs[i].pred = s.pred[ri][i];
            if (g && !json_is_null(g)) {
                cs_calibrate_label(&labs[i], g);
                pairs[i].gold = labs[i].ptr;
            }
        }
        cs_calibrate(&all, pairs, s.n, CS_CALIBRATE_ALL);
        cs_calibrate(&app, pairs, s.n, CS_CALIBRATE_GOLD_APPLICABLE);
        cs_calibrate_format(&report, metric, &all, &app);
        cs_buf_addf(&report, "   baseline: n=%zu accuracy=%.4f kappa=%.4f "
                    "| gold-applicable n=%zu accuracy=%.4f kappa=%.4f\n",
                    bn, bacc, bk, ban, baacc, bak);
        assert_int_equal(all.n, bn);
        assert_int_equal(app.n, ban);
        if (all.accuracy < bacc - ROUNDING || all.kappa < bk - ROUNDING ||
            app.accuracy < baacc - ROUNDING || app.kappa < bak - ROUNDING) {
            fprintf(stderr, "%s", report.ptr);
            fail_msg("%s is below the baseline", metric);
        }
        checked++;
        cs_calibrate_release(&all);
        cs_calibrate_release(&app);
        for (size_t i = 0; i < s.n; i++)
            cs_buf_release(&labs[i]);
        free(labs);
        free(pairs);
    }
    free(text);
    assert_int_equal(checked, 4);
    fprintf(stderr, "%s", report.ptr);
    fprintf(stderr, "real-dev rubrics: %zu conversations in %.3f s "
            "(%.0f conversations/s)\n", s.n, s.seconds,
            s.seconds > 0 ? (double)s.n / s.seconds : 0.0);
    scored_release(&s, set->n);
    cs_rubric_set_free(set);
    json_decref(gold);
    cs_buf_release(&p);
    cs_buf_release(&report);
    free(data);
}

static void test_score__starter_rubrics_on_real_dev(void **state)
{
    char *data = th_src("tests/data/real-dev");
    char *dir = th_src("rubrics");
    struct cs_rubric_set *set = load_set(dir);
    struct scored s;
    size_t applicable = 0;

    (void)state;
    score_real_dev(&s, set, data);
    assert_int_equal(s.n, 1040);
    for (size_t r = 0; r < set->n; r++) {
        for (size_t i = 0; i < s.n; i++) {
            if (strcmp(s.pred[r][i], "not_applicable"))
                applicable++;
        }
    }
    assert_true(applicable > 1000);
    fprintf(stderr, "starter rubrics (%zu) on real-dev: %zu conversations "
            "in %.3f s (%.0f conversations/s)\n", set->n, s.n, s.seconds,
            s.seconds > 0 ? (double)s.n / s.seconds : 0.0);
    scored_release(&s, set->n);
    cs_rubric_set_free(set);
    free(dir);
    free(data);
}


/* ---- QA scorecards, hand-computed ---- */

/* The rubric folder of the scorecard cases: booked (boolean with
 * partial), reason (categorical), empathy (score 1-5), leak (boolean). */
static struct cs_rubric_set *scorecard_set(char **dir_out)
{
    char *dir = th_tmpdir();
    struct cs_rubric_set *set = NULL;
    struct cs_err err;
    static const char *const files[][2] = {
        {"booked.json",
         "{\"name\": \"Booked\", \"type\": \"boolean\", \"definition\": "
         "\"d\", \"success\": \"s\", \"failure\": \"f\", \"partial\": "
         "\"p\"}"},
        {"reason.json",
         "{\"name\": \"Reason\", \"type\": \"categorical\", \"definition\": "
         "\"d\", \"categories\": {\"booking\": \"b\", \"other\": \"o\"}}"},
        {"empathy.json",
         "{\"name\": \"Empathy\", \"type\": \"score\", \"definition\": \"d\","
         " \"scale\": {\"min\": 1, \"max\": 5}}"},
        {"leak.json",
         "{\"name\": \"Leak\", \"type\": \"boolean\", \"definition\": \"d\","
         " \"success\": \"s\", \"failure\": \"f\"}"},
        {"qa.scorecard.json",
         "{\"key\": \"qa\", \"name\": \"QA\", \"items\": ["
         "{\"metric\": \"booked\", \"value\": true, \"points\": 40,"
         " \"partial_points\": 20},"
         "{\"metric\": \"reason\", \"value\": \"booking\", \"points\": 30},"
         "{\"metric\": \"empathy\", \"min\": 4, \"points\": 30}],"
         " \"auto_fail\": [{\"metric\": \"leak\", \"value\": true}]}"},
    };
    struct cs_buf p = CS_BUF_INIT;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/%s", dir, files[i][0]);
        th_write(p.ptr, files[i][1], strlen(files[i][1]));
    }
    cs_buf_release(&p);
    cs_err_clear(&err);
    if (cs_rubric_set_load(&set, dir, NULL, &err) < 0)
        fail_msg("load: %s", err.msg);
    *dir_out = dir;
    return set;
}

/* The score for booked, reason, empathy, leak given as JSON texts (NULL:
 * no result); its value as JSON text (new), rationale in *why (new). */
static char *score_of(const struct cs_rubric_set *set, const char *booked,
                      const char *reason, const char *empathy,
                      const char *leak, char **why)
{
    const char *texts[4] = {booked, reason, empathy, leak};
    const char *keys[4] = {"booked", "reason", "empathy", "leak"};
    const json_t *values[8] = {NULL};
    json_t *owned[4] = {NULL};
    struct cs_eval_result res;
    char *v;

    memset(&res, 0, sizeof(res));
    for (int k = 0; k < 4; k++) {
        const struct cs_rubric *r = cs_rubric_set_find(set, keys[k]);

        if (!texts[k])
            continue;
        owned[k] = json_loads(texts[k], JSON_DECODE_ANY, NULL);
        values[r - set->rubrics] = owned[k];
    }
    cs_scorecard_compute(&res, &set->scorecards[0], set, values);
    v = json_dumps(res.value, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
    *why = cs_xstrdup(res.rationale ? res.rationale : "");
    cs_eval_result_release(&res);
    for (int k = 0; k < 4; k++)
        json_decref(owned[k]);
    return v;
}

static void expect_score(const struct cs_rubric_set *set, const char *b,
                         const char *r, const char *e, const char *l,
                         const char *want, const char *why_part)
{
    char *why = NULL, *got = score_of(set, b, r, e, l, &why);

    if (strcmp(got, want) != 0)
        fail_msg("booked=%s reason=%s empathy=%s leak=%s: %s, not %s (%s)",
                 b, r, e, l, got, want, why);
    if (why_part && !strstr(why, why_part))
        fail_msg("rationale '%s' lacks '%s'", why, why_part);
    free(got);
    free(why);
}

static void test_score__scorecard_hand_computed(void **state)
{
    char *dir = NULL;
    struct cs_rubric_set *set = scorecard_set(&dir);

    (void)state;
    assert_int_equal(set->n_scorecards, 1);
    assert_true(set->scorecards[0].pass_mark == 80);
    /* Everything met. */
    expect_score(set, "true", "\"booking\"", "5", "false", "100.0",
                 "= 100 of 100 points");
    /* Partial booking: 20 of 40; reason not met; empathy 4 >= 4. */
    expect_score(set, "\"partial\"", "\"other\"", "4", "false", "50.0",
                 "booked partly met 20/40");
    /* Not applicable is left out: (20 + 30) / (40 + 30) = 71.4. */
    expect_score(set, "\"partial\"", "\"not_applicable\"", "5", NULL, "71.4",
                 "reason left out (not applicable)");
    /* A missing result is left out too: 20 / 40. */
    expect_score(set, "\"partial\"", NULL, NULL, NULL, "50.0",
                 "empathy left out (no result)");
    /* Nothing met. */
    expect_score(set, "false", "\"other\"", "3", "false", "0.0",
                 "= 0 of 100 points");
    /* One decimal: 70 / 100 and 40 / 70 = 57.142... */
    expect_score(set, "true", "\"booking\"", "2", NULL, "70.0", NULL);
    expect_score(set, "true", "\"not_applicable\"", "1", NULL, "57.1", NULL);
    /* Auto-fail: 0 whatever else, the condition named. */
    expect_score(set, "true", "\"booking\"", "5", "true", "0.0",
                 "auto-fail: leak = true");
    expect_score(set, NULL, NULL, NULL, "true", "0.0", "auto-fail");
    /* An error among the items wins over an auto-fail. */
    expect_score(set, "true", "\"error\"", "5", "true", "\"error\"",
                 "the result of 'reason' is an error");
    /* An auto-fail metric's error is no item's: the items decide. */
    expect_score(set, "true", "\"booking\"", "5", "\"error\"", "100.0",
                 NULL);
    /* No item left. */
    expect_score(set, "\"not_applicable\"", NULL, "\"not_applicable\"",
                 "false", "\"not_applicable\"", "no item left");
    cs_rubric_set_free(set);
    th_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score__no_turns_is_not_applicable),
        cmocka_unit_test(test_score__applies_when_turn_matches_role),
        cmocka_unit_test(test_score__applies_when_field),
        cmocka_unit_test(test_score__metric_dependency_evaluated_first),
        cmocka_unit_test(test_score__rules_in_file_order_first_match_wins),
        cmocka_unit_test(test_score__default_and_no_default),
        cmocka_unit_test(test_score__utf8_and_ucp),
        cmocka_unit_test(test_score__starter_rubrics_on_sample_phrases),
        cmocka_unit_test(test_score__sentiment_negation_and_intensifiers),
        cmocka_unit_test(test_score__sentiment_of_conversation),
        cmocka_unit_test(test_score__sentiment_lexicon_errors),
        cmocka_unit_test(test_score__kappa_hand_computed),
        cmocka_unit_test(test_score__calibrate_label_and_format),
        cmocka_unit_test(test_score__real_dev_agreement_at_least_baseline),
        cmocka_unit_test(test_score__starter_rubrics_on_real_dev),
        cmocka_unit_test(test_score__scorecard_hand_computed),
    };

    return cmocka_run_group_tests_name("score", tests, NULL, NULL);
}
