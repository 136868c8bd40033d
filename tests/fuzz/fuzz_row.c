/* fuzz_row.c - fuzz target: the COPY row of one input line */
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "fuzz.h"
#include "store/row.h"

/*
 * cs_store_row_from_line on any bytes. A line ingest accepts becomes one
 * COPY text row: exactly cs_store_row_columns() fields separated by
 * tabs, no newline, carriage return or NUL left unescaped (any would make
 * PostgreSQL refuse the whole batch or shift its columns), and a key
 * "tenant\x1fid". A line it refuses leaves both buffers empty.
 */
static struct cs_buf text = CS_BUF_INIT, key = CS_BUF_INIT;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_err err;
    size_t tabs = 0;
    int ret;

    cs_err_clear(&err);
    ret = cs_store_row_from_line(&text, &key, (const char *)data, size,
                                 &err);
    if (ret) {
        FUZZ_CHECK(ret == CS_EINVALID && text.len == 0 && key.len == 0);
        FUZZ_CHECK_MSG(err.msg);
        return 0;
    }
    for (size_t i = 0; i < text.len; i++) {
        FUZZ_CHECK(text.ptr[i] != '\n' && text.ptr[i] != '\r' &&
                   text.ptr[i] != '\0');
        tabs += text.ptr[i] == '\t';
    }
    FUZZ_CHECK(tabs + 1 == cs_store_row_columns());
    FUZZ_CHECK(memchr(key.ptr, '\x1f', key.len) != NULL);
    return 0;
}
