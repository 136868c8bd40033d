/* fuzz_conv.c - fuzz target: one input line, parsed and validated */
#include <string.h>

#include "base/err.h"
#include "fuzz.h"
#include "model/conv.h"

/*
 * cs_conv_from_line on any bytes: either a conversation whose required
 * fields are there and whose turns are what it says, or CS_EINVALID with
 * a one-line reason -- never a crash, a leak or undefined behaviour.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_conv *c = NULL;
    struct cs_err err;
    int ret;

    cs_err_clear(&err);
    ret = cs_conv_from_line(&c, (const char *)data, size, &err);
    if (ret) {
        FUZZ_CHECK(ret == CS_EINVALID && c == NULL);
        FUZZ_CHECK_MSG(err.msg);
        return 0;
    }
    FUZZ_CHECK(c && c->id && *c->id && c->tenant && *c->tenant);
    FUZZ_CHECK(strlen(c->id) <= 256 && strlen(c->tenant) <= 128);
    for (size_t i = 0; i < c->n_turns; i++)
        FUZZ_CHECK(c->turns[i].text && strlen(c->turns[i].text) ==
                                           c->turns[i].len);
    cs_conv_free(c);
    return 0;
}
