/* mem.h - allocation wrappers that never return NULL */
#ifndef CS_BASE_MEM_H
#define CS_BASE_MEM_H

#include <stddef.h>

/*
 * These print "callscope: out of memory" and abort() when the allocator
 * fails, so nothing else checks allocations for NULL. Free with free().
 */
void *cs_xmalloc(size_t n);
void *cs_xcalloc(size_t count, size_t size);
void *cs_xrealloc(void *p, size_t n);
char *cs_xstrdup(const char *s);
char *cs_xstrndup(const char *s, size_t n);

#endif
