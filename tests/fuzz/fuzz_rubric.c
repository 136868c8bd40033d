/* fuzz_rubric.c - fuzz target: a rubric set, linted, loaded and run */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fs.h"
#include "fuzz.h"
#include "model/conv.h"
#include "model/result.h"
#include "rubric/rubric.h"
#include "score/rules.h"

/*
 * The input is up to four rubric files joined by "\n----\n" (so lint's
 * set-wide checks -- dependencies, cycles, duplicate names -- are reached
 * too), written as r0.json ... into a private folder. Then: lint reports
 * (every line one line), the set loads exactly when lint found no error,
 * a loaded set has a 16-hex-digit version per rubric and its patterns
 * compile for the rules evaluator, which judges a fixed conversation
 * under a small match limit.
 */
#define SEP "\n----\n"
#define MAX_FILES 4

static char dir[64];
static struct cs_conv *conv;

static const char line[] =
    "{\"id\":\"f1\",\"tenant\":\"t\",\"started_at\":\"2026-10-01T10:00:00Z\","
    "\"outcome\":\"answered\",\"turns\":[{\"role\":\"agent\",\"text\":"
    "\"Hello, how can I help?\"},{\"role\":\"customer\",\"text\":\"I'd like "
    "to book a cleaning for Tuesday, my number is 0612345678\"},{\"role\":"
    "\"agent\",\"text\":\"You're booked for Tuesday at 10:30am.\"}]}";

/* The folder goes with the process. */
static void remove_dir(void)
{
    for (int i = 0; i < MAX_FILES; i++) {
        char path[96];

        snprintf(path, sizeof(path), "%s/r%d.json", dir, i);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct cs_err err;
    const char *tmp = getenv("TMPDIR");

    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/cs-fuzz-rubric.XXXXXX",
             tmp && *tmp && strlen(tmp) < 30 ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    atexit(remove_dir);
    cs_err_clear(&err);
    FUZZ_CHECK(cs_conv_from_line(&conv, line, strlen(line), &err) == 0);
    return 0;
}

/* The parts of the input, as r0.json ... (the files of parts the input
 * does not have are removed). */
static void write_files(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t at = 0, sep = strlen(SEP);
    int more = 1;

    for (int i = 0; i < MAX_FILES; i++) {
        struct cs_buf path = CS_BUF_INIT;
        size_t end = size;
        FILE *f;

        cs_buf_addf(&path, "%s/r%d.json", dir, i);
        if (!more) {
            unlink(path.ptr);
            cs_buf_release(&path);
            continue;
        }
        for (size_t q = at; q + sep <= size; q++) {
            if (memcmp(p + q, SEP, sep) == 0) {
                end = q;
                break;
            }
        }
        f = fopen(path.ptr, "wb");
        FUZZ_CHECK(f != NULL);
        if (end > at)
            fwrite(p + at, 1, end - at, f);
        FUZZ_CHECK(fclose(f) == 0);
        cs_buf_release(&path);
        more = end < size;
        at = more ? end + sep : size;
    }
}

static void run_rules(const struct cs_rubric_set *set)
{
    struct cs_rules *rules = NULL;
    struct cs_eval_result *res;
    struct cs_err err;

    cs_err_clear(&err);
    /* The loader compiled every pattern already: this cannot fail. */
    FUZZ_CHECK(cs_rules_new(&rules, set, &err) == 0);
    cs_rules_set_limits(rules, 100000, 0);
    res = calloc(set->n ? set->n : 1, sizeof(*res));
    FUZZ_CHECK(res != NULL);
    cs_rules_eval(res, rules, conv);
    for (size_t i = 0; i < set->n; i++)
        FUZZ_CHECK(res[i].value != NULL);
    cs_eval_results_release(res, set->n);
    free(res);
    cs_rules_free(rules);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_lint_report rep;
    struct cs_rubric_set *set = NULL;
    struct cs_buf item = CS_BUF_INIT;
    struct cs_err err;
    int ret;

    write_files(data, size);
    cs_lint_report_init(&rep);
    cs_err_clear(&err);
    FUZZ_CHECK(cs_rubric_lint(&rep, dir, &err) == 0);
    for (size_t i = 0; i < rep.n; i++) {
        cs_buf_reset(&item);
        cs_lint_item_format(&item, &rep.items[i]);
        FUZZ_CHECK_MSG(item.ptr);
    }
    cs_err_clear(&err);
    ret = cs_rubric_set_load(&set, dir, NULL, &err);
    FUZZ_CHECK((ret == 0) == (rep.n_errors == 0));
    if (ret == 0) {
        for (size_t i = 0; i < set->n; i++)
            FUZZ_CHECK(strlen(set->rubrics[i].version) == 16 &&
                       strspn(set->rubrics[i].version,
                              "0123456789abcdef") == 16);
        run_rules(set);
    } else {
        FUZZ_CHECK(set == NULL);
        FUZZ_CHECK_MSG(err.msg);
    }
    cs_rubric_set_free(set);
    cs_lint_report_release(&rep);
    cs_buf_release(&item);
    return 0;
}
