/* result.c - the outcome of evaluating one metric on one conversation */
#include "model/result.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

void cs_eval_result_release(struct cs_eval_result *res)
{
    json_decref(res->value);
    free(res->evidence);
    free(res->rationale);
    memset(res, 0, sizeof(*res));
}

void cs_eval_results_release(struct cs_eval_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cs_eval_result_release(&res[i]);
}

static void set_rationale_v(struct cs_eval_result *res, const char *fmt,
                            va_list ap) __attribute__((format(printf, 2, 0)));

static void set_rationale_v(struct cs_eval_result *res, const char *fmt,
                            va_list ap)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_vaddf(&b, fmt, ap);
    free(res->rationale);
    res->rationale = cs_buf_detach(&b, NULL);
}

void cs_eval_result_set_rationale(struct cs_eval_result *res,
                                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_rationale_v(res, fmt, ap);
    va_end(ap);
}

void cs_eval_result_set_error(struct cs_eval_result *res, const char *fmt,
                              ...)
{
    va_list ap;

    cs_eval_result_release(res);
    res->value = json_string("error");
    va_start(ap, fmt);
    set_rationale_v(res, fmt, ap);
    va_end(ap);
}

int cs_eval_value_is(const json_t *value, const char *s)
{
    return json_is_string(value) && strcmp(json_string_value(value), s) == 0;
}
