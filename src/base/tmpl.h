/* tmpl.h - text templates with {{placeholders}} */
#ifndef CS_BASE_TMPL_H
#define CS_BASE_TMPL_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * A template file holds named entries:
 *
 *     # a comment
 *     @headline
 *     {{conversations}} conversations; {{containment}} handled without
 *     a person.
 *
 *     @subject
 *     {{tenant}} — {{period}}
 *
 * An entry runs from its "@name" line to the next one; its lines are
 * joined with single spaces (a blank line inside keeps a line break), and
 * leading and trailing blanks are dropped. `{{name}}` is replaced by the
 * value the caller gives; `{{{{` is a literal "{{".
 *
 * Everything wrong is an error naming the file, the line and the name:
 * an unclosed `{{`, a bad placeholder name, an entry the code asks for
 * that the file lacks, a placeholder the caller does not know, and one it
 * knows but has no value for (never a blank in a report).
 *
 *     struct cs_tmpl *t = NULL;
 *     struct cs_tmpl_var vars[] = {{"tenant", name}, {"period", p}, {NULL}};
 *     if (cs_tmpl_load(&t, "templates/report.tmpl", &err) == 0 &&
 *         cs_tmpl_render(&out, t, "subject", vars, &err) == 0)
 *         ...
 *     cs_tmpl_free(t);
 */

struct cs_tmpl;

struct cs_tmpl_var {
    const char *name;
    const char *value;      /* NULL: known but without a value (an error
                               if the entry uses it) */
};

/* Loads a template file. *out is new (cs_tmpl_free). */
int cs_tmpl_load(struct cs_tmpl **out, const char *path, struct cs_err *err);
/* Parses template text; `origin` names it in errors. */
int cs_tmpl_parse(struct cs_tmpl **out, const char *text, const char *origin,
                  struct cs_err *err);
void cs_tmpl_free(struct cs_tmpl *t);

/* 1 when the file has an entry `name`. */
int cs_tmpl_has(const struct cs_tmpl *t, const char *name);

/* Appends entry `name` with `vars` (NULL-name terminated) filled in. On
 * error nothing is appended. */
int cs_tmpl_render(struct cs_buf *out, const struct cs_tmpl *t,
                   const char *name, const struct cs_tmpl_var *vars,
                   struct cs_err *err);

#endif
