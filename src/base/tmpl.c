/* tmpl.c - text templates with {{placeholders}} */
#include "base/tmpl.h"

#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/mem.h"

struct entry {
    char *name;
    char *text;             /* lines joined */
    long line;              /* of the "@name" line */
    long *line_of;          /* source line of each byte of text */
};

struct cs_tmpl {
    char *origin;
    struct entry *v;
    size_t n;
};

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Checks the placeholders of one entry. */
static int check_entry(const struct cs_tmpl *t, const struct entry *e,
                       struct cs_err *err)
{
    for (size_t i = 0; e->text[i]; i++) {
        size_t j;

        if (strncmp(e->text + i, "{{{{", 4) == 0) {
            i += 3;
            continue;
        }
        if (strncmp(e->text + i, "{{", 2) != 0)
            continue;
        for (j = i + 2; e->text[j] && name_char(e->text[j]); j++)
            ;
        if (strncmp(e->text + j, "}}", 2) != 0) {
            struct cs_buf q = CS_BUF_INIT;
            int ret;

            cs_buf_add_excerpt(&q, e->text + i,
                               j - i + (e->text[j] ? 1 : 0), 80);
            ret = cs_err_set(err, CS_EINVALID, "%s:%ld: '@%s': unclosed or "
                             "bad placeholder '%s'", t->origin,
                             e->line_of[i], e->name, q.ptr);
            cs_buf_release(&q);
            return ret;
        }
        if (j == i + 2)
            return cs_err_set(err, CS_EINVALID, "%s:%ld: '@%s': empty "
                              "placeholder", t->origin, e->line_of[i],
                              e->name);
        i = j + 1;
    }
    return 0;
}

static void entry_add_line(struct entry *e, size_t *len, size_t *cap,
                           const char *s, size_t n, long line)
{
    /* Trim the line; join with a space, a blank line keeps a break. */
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (*len + n + 2 > *cap) {
        *cap = (*len + n + 2) * 2;
        e->text = cs_xrealloc(e->text, *cap);
        e->line_of = cs_xrealloc(e->line_of, *cap * sizeof(*e->line_of));
    }
    if (n == 0) {
        if (*len && e->text[*len - 1] != '\n') {
            e->line_of[*len] = line;
            e->text[(*len)++] = '\n';
        }
        e->text[*len] = '\0';
        return;
    }
    if (*len && e->text[*len - 1] != '\n') {
        e->line_of[*len] = line;
        e->text[(*len)++] = ' ';
    }
    for (size_t i = 0; i < n; i++) {
        e->line_of[*len] = line;
        e->text[(*len)++] = s[i];
    }
    e->text[*len] = '\0';
}

static void entry_end(struct entry *e, size_t *len)
{
    while (*len && (e->text[*len - 1] == '\n' || e->text[*len - 1] == ' '))
        e->text[--(*len)] = '\0';
}

int cs_tmpl_parse(struct cs_tmpl **out, const char *text, const char *origin,
                  struct cs_err *err)
{
    struct cs_tmpl *t = cs_xcalloc(1, sizeof(*t));
    struct entry *cur = NULL;
    size_t len = 0, cap = 0;
    long line = 0;
    int ret = 0;

    *out = NULL;
    t->origin = cs_xstrdup(origin);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        line++;
        if (n && p[0] == '#') {
            /* comment */
        } else if (n && p[0] == '@') {
            size_t k = 1;

            if (cur)
                entry_end(cur, &len);
            while (k < n && name_char(p[k]))
                k++;
            if (k == 1 || (k < n && p[k] != ' ' && p[k] != '\r')) {
                struct cs_buf q = CS_BUF_INIT;

                cs_buf_add_excerpt(&q, p, n, 80);
                ret = cs_err_set(err, CS_EINVALID, "%s:%ld: bad entry name "
                                 "'%s'", origin, line, q.ptr);
                cs_buf_release(&q);
                goto done;
            }
            t->v = cs_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
            cur = &t->v[t->n++];
            memset(cur, 0, sizeof(*cur));
            cur->name = cs_xstrndup(p + 1, k - 1);
            cur->line = line;
            cur->text = cs_xstrdup("");
            cur->line_of = cs_xcalloc(1, sizeof(*cur->line_of));
            len = 0;
            cap = 1;
            for (size_t i = 0; i + 1 < t->n; i++) {
                if (strcmp(t->v[i].name, cur->name) == 0) {
                    ret = cs_err_set(err, CS_EINVALID, "%s:%ld: entry '@%s' "
                                     "defined twice", origin, line,
                                     cur->name);
                    goto done;
                }
            }
        } else if (cur) {
            entry_add_line(cur, &len, &cap, p, n, line);
        } else if (strspn(p, " \t\r") < n) {
            ret = cs_err_set(err, CS_EINVALID, "%s:%ld: text before the "
                             "first '@name' line", origin, line);
            goto done;
        }
        p = nl ? nl + 1 : p + n;
    }
    if (cur)
        entry_end(cur, &len);
    for (size_t i = 0; i < t->n && !ret; i++)
        ret = check_entry(t, &t->v[i], err);
done:
    if (ret) {
        cs_tmpl_free(t);
        return ret;
    }
    *out = t;
    return 0;
}

int cs_tmpl_load(struct cs_tmpl **out, const char *path, struct cs_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int ret;

    *out = NULL;
    ret = cs_fs_read(&text, &len, path, 1 << 20, err);
    if (!ret && memchr(text, '\0', len))
        ret = cs_err_set(err, CS_EINVALID, "%s: not a text file", path);
    if (!ret)
        ret = cs_tmpl_parse(out, text, path, err);
    free(text);
    return ret;
}

void cs_tmpl_free(struct cs_tmpl *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].name);
        free(t->v[i].text);
        free(t->v[i].line_of);
    }
    free(t->v);
    free(t->origin);
    free(t);
}

static const struct entry *find(const struct cs_tmpl *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].name, name) == 0)
            return &t->v[i];
    }
    return NULL;
}

int cs_tmpl_has(const struct cs_tmpl *t, const char *name)
{
    return find(t, name) != NULL;
}

int cs_tmpl_render(struct cs_buf *out, const struct cs_tmpl *t,
                   const char *name, const struct cs_tmpl_var *vars,
                   struct cs_err *err)
{
    const struct entry *e = find(t, name);
    struct cs_buf b = CS_BUF_INIT;
    int ret = 0;

    if (!e)
        return cs_err_set(err, CS_EINVALID, "%s: no entry '@%s'", t->origin,
                          name);
    for (size_t i = 0; e->text[i]; i++) {
        const struct cs_tmpl_var *v;
        size_t j, n;

        if (strncmp(e->text + i, "{{{{", 4) == 0) {
            cs_buf_adds(&b, "{{");
            i += 3;
            continue;
        }
        if (strncmp(e->text + i, "{{", 2) != 0) {
            cs_buf_addch(&b, e->text[i]);
            continue;
        }
        for (j = i + 2; name_char(e->text[j]); j++)
            ;
        n = j - i - 2;
        for (v = vars; v && v->name; v++) {
            if (strlen(v->name) == n && strncmp(v->name, e->text + i + 2,
                                                n) == 0)
                break;
        }
        if (!v || !v->name) {
            ret = cs_err_set(err, CS_EINVALID, "%s:%ld: '@%s': unknown "
                             "placeholder '%.*s'", t->origin,
                             e->line_of[i], name, (int)n, e->text + i + 2);
            goto done;
        }
        if (!v->value) {
            ret = cs_err_set(err, CS_EINVALID, "%s:%ld: '@%s': placeholder "
                             "'%.*s' has no value", t->origin,
                             e->line_of[i], name, (int)n, e->text + i + 2);
            goto done;
        }
        cs_buf_adds(&b, v->value);
        i = j + 1;
    }
    cs_buf_add(out, b.ptr, b.len);
done:
    cs_buf_release(&b);
    return ret;
}
