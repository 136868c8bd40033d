/* fuzz_redact.c - fuzz target: the built-in PII redactor over any text */
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "fuzz.h"
#include "redact/redact.h"
#include "regex/regex.h"

/*
 * cs_redact_apply with the default rules: text that is not UTF-8 is
 * refused (CS_EINVALID) and nothing else is an error; the output is
 * UTF-8; into a capped buffer the result fits or nothing is appended
 * (CS_ETOOBIG).
 */
static struct cs_redact *rd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct cs_err err;

    (void)argc;
    (void)argv;
    cs_err_clear(&err);
    FUZZ_CHECK(cs_redact_new(&rd, NULL, 0, &err) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_buf out = CS_BUF_INIT, capped;
    struct cs_err err;
    size_t n = 0;
    int ret, utf8;

    utf8 = cs_regex_utf8_check((const char *)data, size, NULL) == 0;
    cs_err_clear(&err);
    ret = cs_redact_apply(&out, &n, rd, (const char *)data, size, &err);
    if (!utf8) {
        FUZZ_CHECK(ret == CS_EINVALID);
        FUZZ_CHECK_MSG(err.msg);
        cs_buf_release(&out);
        return 0;
    }
    FUZZ_CHECK(ret == 0);
    FUZZ_CHECK(cs_regex_utf8_check(out.ptr, out.len, NULL) == 0);
    FUZZ_CHECK(n > 0 || (out.len == size && memcmp(out.ptr, data, size) ==
                                                0));
    /* The same into a buffer too small for it (a cap of 0 is none). */
    if (out.len >= 2) {
        cs_buf_init_max(&capped, out.len / 2);
        cs_err_clear(&err);
        ret = cs_redact_apply(&capped, NULL, rd, (const char *)data, size,
                              &err);
        FUZZ_CHECK(ret == CS_ETOOBIG && capped.len == 0);
        cs_buf_release(&capped);
    }
    cs_buf_release(&out);
    return 0;
}
