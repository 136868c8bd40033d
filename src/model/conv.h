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
 * The top-level fields of the input format
 * (docs/conversation-format.md), in its order: the one list of
 * them that validation, the COPY rows and the rubric linter follow.
 * Anything else on a line is folded into `metadata`.
 */
enum cs_conv_field {
    CS_CONV_ID, CS_CONV_STARTED_AT, CS_CONV_TENANT, CS_CONV_AGENT,
    CS_CONV_CHANNEL, CS_CONV_DIRECTION, CS_CONV_CALLER, CS_CONV_CALLEE,
    CS_CONV_ANSWERED_AT, CS_CONV_ENDED_AT, CS_CONV_OUTCOME, CS_CONV_RING_S,
    CS_CONV_QUEUE_WAIT_S, CS_CONV_SIP_ERROR_CODE, CS_CONV_HANDOFF,
    CS_CONV_TURNS, CS_CONV_TOOL_CALLS, CS_CONV_SPANS, CS_CONV_COSTS,
    CS_CONV_CSAT, CS_CONV_NPS, CS_CONV_TOPICS, CS_CONV_METRICS,
    CS_CONV_METADATA,
    CS_CONV_N_FIELDS
};

/* The field's member name in the input object. */
const char *cs_conv_field_name(enum cs_conv_field f);

/* The field whose name is the `n` bytes at `name` (which need no NUL), or
 * -1 when the format has no such top-level field. */
int cs_conv_field_find(const char *name, size_t n);

/* 1 if `name` is a field that a rubric's applies_when.field may compare
 * for equality: the scalars and handoff, not the arrays and objects. */
int cs_conv_field_comparable(const char *name);

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

/*
 * Parses one input line (`len` bytes without its newline; a key given
 * twice is an error) and builds a conversation from it as
 * cs_conv_from_json does. On bad input returns CS_EINVALID with the
 * reason in `err`: "NUL byte at column 7", "invalid JSON at column 12:
 * ...", or a field's problem. *out is new; free with cs_conv_free.
 */
int cs_conv_from_line(struct cs_conv **out, const char *line, size_t len,
                      struct cs_err *err);

void cs_conv_free(struct cs_conv *c);

/* "an object", "an array", "a string", "an integer", "a number", "a
 * boolean" or "null": how validation names a JSON value's type. */
const char *cs_conv_json_type(const json_t *v);

/* "agent" / "customer" / "system" / "any" to a role; -1 when unknown. */
int cs_role_parse(const char *s);
const char *cs_role_name(enum cs_role r);

#endif
