/* err.c - error codes and the caller-owned error struct */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

void cs_err_clear(struct cs_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

int cs_err_set(struct cs_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}
