/* fuzz_tmpl.c - fuzz target: a template file, parsed and rendered */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/tmpl.h"
#include "fuzz.h"

/*
 * cs_tmpl_parse on any text (cut at a NUL, as a C string is), then every
 * entry its "@name" lines name rendered with a few variables, one known
 * without a value: errors are one line, and a failed render appends
 * nothing.
 */
static const struct cs_tmpl_var vars[] = {
    {"tenant", "Acme"}, {"period", "October 2026"}, {"n", "1,234"},
    {"missing", NULL},  {NULL, NULL}};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_tmpl *t = NULL;
    struct cs_buf out = CS_BUF_INIT;
    struct cs_err err;
    char *text = malloc(size + 1);
    const char *p;
    int ret;

    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    cs_err_clear(&err);
    ret = cs_tmpl_parse(&t, text, "fuzz.tmpl", &err);
    if (ret) {
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK_MSG(err.msg);
        free(text);
        return 0;
    }
    /* Each "@name" at the start of a line. */
    for (p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        char name[128];
        size_t n, before;

        if (*p != '@')
            continue;
        n = strcspn(p + 1, " \t\r\n");
        if (n == 0 || n >= sizeof(name))
            continue;
        memcpy(name, p + 1, n);
        name[n] = '\0';
        cs_buf_addch(&out, '|');
        before = out.len;
        cs_err_clear(&err);
        if (cs_tmpl_render(&out, t, name, vars, &err)) {
            FUZZ_CHECK(out.len == before);
            FUZZ_CHECK_MSG(err.msg);
        }
    }
    cs_buf_release(&out);
    cs_tmpl_free(t);
    free(text);
    return 0;
}
