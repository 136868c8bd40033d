/* fuzz_answer.c - fuzz target: an LLM's response body, validated */
#include <string.h>

#include "base/err.h"
#include "fuzz.h"
#include "llm/answer.h"
#include "llm/prompt.h"
#include "model/conv.h"
#include "model/result.h"
#include "redact/redact.h"
#include "rubric/rubric.h"

/*
 * cs_llm_answer_parse on any body, for a request judging every starter
 * rubric on a fixed conversation: every metric of the group ends with a
 * value the rubric allows or "error" (never a value outside the rubric,
 * never none), a failure has a one-line summary, and "valid" (0) means
 * no metric is an error.
 */
#ifndef CS_SOURCE_DIR
#error "CS_SOURCE_DIR must name the source tree (for rubrics/)"
#endif

static struct cs_rubric_set *set;
static struct cs_redact *rd;
static struct cs_conv *conv;
static struct cs_llm_plan plan;

static const char line[] =
    "{\"id\":\"f1\",\"tenant\":\"t\",\"started_at\":\"2026-10-01T10:00:00Z\","
    "\"outcome\":\"answered\",\"turns\":[{\"role\":\"agent\",\"text\":"
    "\"Hello, how can I help?\"},{\"role\":\"customer\",\"text\":\"I'd like "
    "to book a cleaning for next Tuesday\"},{\"role\":\"agent\",\"text\":"
    "\"I understand how frustrating that is. Let me get this sorted for you "
    "right now. You're booked for Tuesday at 10:30am.\"}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct cs_err err;
    size_t idx[64];

    (void)argc;
    (void)argv;
    cs_err_clear(&err);
    FUZZ_CHECK(cs_rubric_set_load(&set, CS_SOURCE_DIR "/rubrics", NULL,
                                  &err) == 0);
    FUZZ_CHECK(set->n <= 64);
    FUZZ_CHECK(cs_redact_new(&rd, NULL, 0, &err) == 0);
    FUZZ_CHECK(cs_conv_from_line(&conv, line, strlen(line), &err) == 0);
    for (size_t i = 0; i < set->n; i++)
        idx[i] = i;
    FUZZ_CHECK(cs_llm_plan(&plan, set, idx, set->n, conv, rd, 128000,
                           &err) == 0);
    FUZZ_CHECK(plan.n_groups == 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cs_llm_group *g = &plan.groups[0];
    struct cs_llm_answer a;
    struct cs_err err;
    int ret, errors = 0;

    cs_err_clear(&err);
    ret = cs_llm_answer_parse(&a, &plan, 0, (const char *)data, size, &err);
    FUZZ_CHECK(a.n == g->n && a.results != NULL);
    for (size_t k = 0; k < a.n; k++) {
        const struct cs_rubric *r = &set->rubrics[g->metrics[k]];
        const json_t *v = a.results[k].value;

        FUZZ_CHECK(v != NULL);
        if (cs_eval_value_is(v, "error"))
            errors++;
        else
            FUZZ_CHECK(cs_rubric_value_valid(r, v));
        /* Stored in a text column: PostgreSQL takes UTF-8 only. */
        if (a.results[k].rationale)
            FUZZ_CHECK(cs_regex_utf8_check(a.results[k].rationale,
                                           strlen(a.results[k].rationale),
                                           NULL) == 0);
        if (a.results[k].evidence)
            FUZZ_CHECK(cs_regex_utf8_check(a.results[k].evidence,
                                           strlen(a.results[k].evidence),
                                           NULL) == 0);
    }
    if (ret) {
        FUZZ_CHECK_MSG(err.msg);
    } else {
        FUZZ_CHECK(errors == 0);
    }
    cs_llm_answer_release(&a);
    return 0;
}
