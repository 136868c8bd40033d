/* arena.c - a per-thread bump allocator for jansson while parsing a line */
#include "ingest/arena.h"

#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "base/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define CS_ARENA_OFF 1
#else
#define CS_ARENA_OFF 0
#endif

#define BLOCK (256u << 10)
#define MAX_BLOCKS 64

struct arena {
    int active;
    size_t n;                   /* blocks in use */
    char *base[MAX_BLOCKS];
    size_t size[MAX_BLOCKS];
    size_t used;                /* in the last block */
};

static _Thread_local struct arena arena;

static int owns(const struct arena *a, const void *p)
{
    for (size_t i = 0; i < a->n; i++) {
        if ((const char *)p >= a->base[i] &&
            (const char *)p < a->base[i] + a->size[i])
            return 1;
    }
    return 0;
}

static void *arena_malloc(size_t n)
{
    struct arena *a = &arena;
    size_t need = (n + 15) & ~(size_t)15;

    if (!a->active)
        return malloc(n);
    if (a->n == 0 || a->used + need > a->size[a->n - 1]) {
        size_t sz = need > BLOCK ? need : BLOCK;

        if (a->n == MAX_BLOCKS)
            return malloc(n); /* a huge line: the rest goes to malloc */
        /* Blocks are kept across lines; a too-small one is replaced. */
        if (a->base[a->n] && a->size[a->n] < sz) {
            free(a->base[a->n]);
            a->base[a->n] = NULL;
        }
        if (!a->base[a->n]) {
            a->base[a->n] = cs_xmalloc(sz);
            a->size[a->n] = sz;
        }
        a->n++;
        a->used = 0;
    }
    a->used += need;
    return a->base[a->n - 1] + a->used - need;
}

static void arena_free(void *p)
{
    if (p && !(arena.n && owns(&arena, p)))
        free(p);
}

void cs_arena_install(void)
{
    if (!CS_ARENA_OFF)
        json_set_alloc_funcs(arena_malloc, arena_free);
}

void cs_arena_begin(void)
{
    if (CS_ARENA_OFF)
        return;
    arena.active = 1;
    arena.n = 0;
    arena.used = 0;
}

void cs_arena_end(void)
{
    arena.active = 0;
    arena.n = 0;
}

void cs_arena_release(void)
{
    for (size_t i = 0; i < MAX_BLOCKS; i++) {
        free(arena.base[i]);
        arena.base[i] = NULL;
        arena.size[i] = 0;
    }
    arena.n = 0;
}
