/* addr.h - e-mail addresses: "local@domain" or "Display Name <local@domain>" */
#ifndef CS_BASE_ADDR_H
#define CS_BASE_ADDR_H

#include <stddef.h>

#include "base/err.h"

/*
 * Addresses come from the config, never from conversation data, but they
 * still end up in SMTP commands and message headers, so the parser is
 * strict: no control characters at all (a CR or LF would start a new
 * header or command), an addr-spec of printable ASCII without spaces,
 * quotes, brackets, commas or semicolons, exactly one '@' with a dotless
 * or dotted domain, at most 254 bytes. The display name may hold any
 * UTF-8 text but no control characters and no '<' or '>'; surrounding
 * double quotes are removed.
 */
struct cs_addr {
    char name[256];         /* "" when none */
    char spec[256];         /* "local@domain" */
};

/* Parses `text` into *out. CS_EINVALID with the reason in `err`. */
int cs_addr_parse(struct cs_addr *out, const char *text, struct cs_err *err);

/* The part after '@' of an addr-spec (borrowed, inside `spec`). */
const char *cs_addr_domain(const char *spec);

#endif
