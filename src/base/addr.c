/* addr.c - e-mail addresses: "local@domain" or "Display Name <local@domain>" */
#include "base/addr.h"

#include <stdio.h>
#include <string.h>

static int spec_ok(const char *s, size_t n, struct cs_err *err)
{
    const char *at = NULL;

    if (n == 0)
        return cs_err_set(err, CS_EINVALID, "no address");
    if (n > 254)
        return cs_err_set(err, CS_EINVALID, "address longer than 254 "
                          "bytes");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
            return cs_err_set(err, CS_EINVALID, "'%.*s' is not an address: "
                              "character 0x%02x at byte %zu", (int)n, s, c,
                              i + 1);
        if (c == '@') {
            if (at)
                return cs_err_set(err, CS_EINVALID, "'%.*s' is not an "
                                  "address: more than one '@'", (int)n, s);
            at = s + i;
        }
    }
    if (!at || at == s || at == s + n - 1 || at[1] == '.' ||
        s[n - 1] == '.')
        return cs_err_set(err, CS_EINVALID, "'%.*s' is not an address "
                          "(local@domain)", (int)n, s);
    return 0;
}

int cs_addr_parse(struct cs_addr *out, const char *text, struct cs_err *err)
{
    const char *lt, *gt, *name, *end;
    size_t n;
    int ret;

    memset(out, 0, sizeof(*out));
    for (const char *p = text; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return cs_err_set(err, CS_EINVALID, "address contains a "
                              "control character (0x%02x)",
                              (unsigned char)*p);
    }
    lt = strchr(text, '<');
    if (!lt) {
        while (*text == ' ')
            text++;
        n = strlen(text);
        while (n && text[n - 1] == ' ')
            n--;
        ret = spec_ok(text, n, err);
        if (!ret)
            snprintf(out->spec, sizeof(out->spec), "%.*s", (int)n, text);
        return ret;
    }
    gt = strchr(lt, '>');
    if (!gt || strchr(gt + 1, '<') || strchr(lt + 1, '<'))
        return cs_err_set(err, CS_EINVALID, "'%s' is not an address: "
                          "expected 'Name <local@domain>'", text);
    for (const char *p = gt + 1; *p; p++) {
        if (*p != ' ')
            return cs_err_set(err, CS_EINVALID, "'%s' is not an address: "
                              "text after '>'", text);
    }
    ret = spec_ok(lt + 1, (size_t)(gt - lt - 1), err);
    if (ret)
        return ret;
    snprintf(out->spec, sizeof(out->spec), "%.*s", (int)(gt - lt - 1),
             lt + 1);
    name = text;
    end = lt;
    while (name < end && *name == ' ')
        name++;
    while (end > name && end[-1] == ' ')
        end--;
    if (end - name >= 2 && *name == '"' && end[-1] == '"') {
        name++;
        end--;
    }
    if (memchr(name, '>', (size_t)(end - name)))
        return cs_err_set(err, CS_EINVALID, "'%s': a display name may not "
                          "hold '>'", text);
    if ((size_t)(end - name) >= sizeof(out->name))
        return cs_err_set(err, CS_EINVALID, "'%s': display name longer "
                          "than %zu bytes", text, sizeof(out->name) - 1);
    snprintf(out->name, sizeof(out->name), "%.*s", (int)(end - name), name);
    return 0;
}

const char *cs_addr_domain(const char *spec)
{
    const char *at = strchr(spec, '@');

    return at ? at + 1 : "";
}
