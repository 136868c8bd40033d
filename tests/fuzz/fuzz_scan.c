/* fuzz_scan.c - fuzz target: ingest's fast path against the jansson path */
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "fuzz.h"
#include "model/conv.h"
#include "model/scan.h"
#include "store/row.h"

/*
 * Both paths on any bytes. The fast path (cs_scan_line, then
 * cs_store_row_build_scan) may decline any line, but a line it takes
 * must be one that cs_conv_from_line accepts, and its COPY row and batch
 * key must be byte for byte those that cs_store_row_build makes from the
 * parsed conversation. A line it declines goes to the jansson path in
 * ingest, so what that path says of it -- its row or its message -- is
 * what ingest says.
 */
static struct cs_buf text = CS_BUF_INIT, key = CS_BUF_INIT,
                     ftext = CS_BUF_INIT, fkey = CS_BUF_INIT;
static struct cs_scan scan;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cs_scan_init(&scan);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    struct cs_conv *c = NULL;
    struct cs_err err;
    int slow, fast;

    cs_err_clear(&err);
    slow = cs_conv_from_line(&c, line, size, &err);
    FUZZ_CHECK(slow == 0 || slow == CS_EINVALID);
    fast = cs_scan_line(&scan, line, size);
    FUZZ_CHECK(fast == 0 || fast == 1);
    if (fast == 0) {
        if (slow != 0) {
            fprintf(stderr, "fast path accepted what jansson rejects: %s\n",
                    err.msg);
            abort();
        }
        cs_store_row_build(&text, &key, c, line, size);
        cs_store_row_build_scan(&ftext, &fkey, &scan, line, size);
        if (ftext.len != text.len || memcmp(ftext.ptr, text.ptr, text.len)) {
            fprintf(stderr, "rows differ:\njansson: %s\nfast:    %s\n",
                    text.ptr, ftext.ptr);
            abort();
        }
        FUZZ_CHECK(fkey.len == key.len &&
                   memcmp(fkey.ptr, key.ptr, key.len) == 0);
    }
    cs_conv_free(c);
    return 0;
}
