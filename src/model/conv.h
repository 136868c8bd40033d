/* conv.h - the in-memory conversation record passed between stages */
#ifndef CS_MODEL_CONV_H
#define CS_MODEL_CONV_H

#include <stddef.h>

#include <jansson.h>

#include "base/err.h"

enum cs_role {
    CS_ROLE_AGENT = 0,
    CS_ROLE_CUSTOMER = 1,
    CS_ROLE_SYSTEM = 2,
    CS_ROLE_ANY = 3 /* only in rubric filters, never on a turn */
};

struct cs_turn {
    enum cs_role role;
    const char *text;   /* borrowed from the conversation's JSON, UTF-8 */
    size_t len;
    double start_s;     /* -1 when absent */
    double end_s;
};

/*
 * A validated conversation. Strings are borrowed from `doc`, which the
 * record owns (one reference); free everything with cs_conv_free.
 * `doc` holds the whole input object with defaults filled in, so that
 * generic field lookups (`applies_when.field`) see `direction` etc.
 */
struct cs_conv {
    json_t *doc;
    const char *tenant;
    const char *id;
    const char *agent;      /* NULL when absent */
    const char *channel;
    const char *direction;
    const char *outcome;
    size_t n_turns;
    struct cs_turn *turns;
};

/*
 * Builds a conversation from a parsed input object, validating it against
 * docs/conversation-format.md. Steals nothing: takes its own
 * reference to `obj`. On bad input returns CS_EINVALID with the field and
 * reason in `err` ("field 'turns[3].role': must be agent, customer or
 * system"). *out is new; free with cs_conv_free.
 */
int cs_conv_from_json(struct cs_conv **out, json_t *obj, struct cs_err *err);

void cs_conv_free(struct cs_conv *c);

/* "agent" / "customer" / "system" / "any" to a role; -1 when unknown. */
int cs_role_parse(const char *s);
const char *cs_role_name(enum cs_role r);

#endif
