/* err.c - error codes and the caller-owned error struct */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cs_err_clear(struct cs_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

/* The ellipsis that ends a message cut short (U+2026, 3 bytes). */
#define ELLIPSIS "\xe2\x80\xa6"

int cs_err_set(struct cs_err *err, int code, const char *fmt, ...)
{
    char tmp[sizeof(err->msg)];
    va_list ap;
    size_t cut;
    int n;

    if (!err)
        return code;
    /* Formatted apart first: a caller may pass err->msg as an argument
     * (adding context to a callee's message). */
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        tmp[0] = '\0';
    if (n >= (int)sizeof(tmp)) {
        /* Room for the ellipsis, backing off to a character boundary
         * (never inside a UTF-8 sequence). */
        cut = sizeof(tmp) - sizeof(ELLIPSIS);
        while (cut > 0 && ((unsigned char)tmp[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(tmp + cut, ELLIPSIS, sizeof(ELLIPSIS));
    }
    err->code = code;
    memcpy(err->msg, tmp, strlen(tmp) + 1);
    return code;
}
