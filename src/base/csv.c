/* csv.c - RFC 4180 fields */
#include "base/csv.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void cs_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void cs_csv_text(FILE *out, const char *s)
{
    if (*s && strchr("=+-@\t\r", *s)) {
        size_t n = strlen(s);
        char *q = cs_xmalloc(n + 2);

        q[0] = '\'';
        memcpy(q + 1, s, n + 1);
        cs_csv_field(out, q);
        free(q);
        return;
    }
    cs_csv_field(out, s);
}
