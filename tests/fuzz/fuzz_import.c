/* fuzz_import.c - fuzz target: one vendor payload to a conversation */
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "fuzz.h"
#include "import/import.h"

/*
 * cs_import_bytes for the vendor format FUZZ_VARIANT ("vapi", "retell",
 * "polyai", "livekit", or "auto" to detect it): a record that is a JSON
 * object, or no record (CS_ENOTFOUND) or a reject (CS_EINVALID) with a
 * one-line reason. One source for every format: the target line
 * `import_<format>` in tests/fuzz/targets builds it with that variant.
 * The clock is fixed, so an input means the same every run.
 */
#ifndef FUZZ_VARIANT
#define FUZZ_VARIANT "auto"
#endif

static enum cs_import_format format;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int f = cs_import_format_parse(FUZZ_VARIANT);

    (void)argc;
    (void)argv;
    format = f < 0 ? CS_IMPORT_AUTO : (enum cs_import_format)f;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_import_opts o;
    struct cs_err err;
    char *out = NULL;
    json_t *rec;
    int ret;

    memset(&o, 0, sizeof(o));
    o.now_ms = 1790000000000LL;
    cs_err_clear(&err);
    ret = cs_import_bytes(&out, format, (const char *)data, size, &o, &err);
    if (ret) {
        FUZZ_CHECK(ret == CS_ENOTFOUND || ret == CS_EINVALID);
        FUZZ_CHECK(out == NULL);
        FUZZ_CHECK_MSG(err.msg);
        return 0;
    }
    FUZZ_CHECK(out != NULL);
    rec = json_loads(out, 0, NULL);
    FUZZ_CHECK(json_is_object(rec));
    json_decref(rec);
    free(out);
    return 0;
}
