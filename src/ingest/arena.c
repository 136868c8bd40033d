/* arena.c - a per-thread bump allocator for jansson while parsing a line */
#include "ingest/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/mem.h"

/*
 * Under AddressSanitizer the arena stays on (it is what production runs)
 * and tells ASan what is live: a block is poisoned when it is made and
 * when a line ends, each allocation is unpoisoned when handed out, with a
 * poisoned redzone after it, and free() poisons the allocation again (its
 * size is kept in a header before it). So a read past an allocation, after
 * its free or after cs_arena_end is reported like one on the heap.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CS_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CS_ARENA_ASAN 1
#endif
#endif

#ifdef CS_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define HEADER 16u              /* the allocation's size, before it */
#define REDZONE 16u             /* poisoned, after it */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define HEADER 0u
#define REDZONE 0u
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
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
    size_t need = HEADER + ((n + 15) & ~(size_t)15) + REDZONE;
    char *p;

    if (!a->active)
        return malloc(n);
    if (a->n == 0 || a->used + need > a->size[a->n - 1]) {
        size_t sz = need > BLOCK ? need : BLOCK;

        if (a->n == MAX_BLOCKS)
            return malloc(n); /* a huge line: the rest goes to malloc */
        /* Blocks are kept across lines; a too-small one is replaced. */
        if (a->base[a->n] && a->size[a->n] < sz) {
            UNPOISON(a->base[a->n], a->size[a->n]);
            free(a->base[a->n]);
            a->base[a->n] = NULL;
        }
        if (!a->base[a->n]) {
            a->base[a->n] = cs_xmalloc(sz);
            a->size[a->n] = sz;
            POISON(a->base[a->n], sz);
        }
        a->n++;
        a->used = 0;
    }
    p = a->base[a->n - 1] + a->used;
    a->used += need;
#ifdef CS_ARENA_ASAN
    UNPOISON(p, HEADER);
    memcpy(p, &n, sizeof(n));
    POISON(p, HEADER);
#endif
    UNPOISON(p + HEADER, n);
    return p + HEADER;
}

static void arena_free(void *p)
{
    if (!p)
        return;
    if (!(arena.n && owns(&arena, p))) {
        free(p);
        return;
    }
#ifdef CS_ARENA_ASAN
    {
        char *h = (char *)p - HEADER;
        size_t n;

        UNPOISON(h, HEADER);
        memcpy(&n, h, sizeof(n));
        POISON(h, HEADER + n);
    }
#endif
}

void cs_arena_install(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
}

void cs_arena_begin(void)
{
    arena.active = 1;
    arena.n = 0;
    arena.used = 0;
}

void cs_arena_end(void)
{
    /* Everything handed out since begin is dead now. */
    for (size_t i = 0; i < arena.n; i++)
        POISON(arena.base[i], arena.size[i]);
    arena.active = 0;
    arena.n = 0;
}

void cs_arena_release(void)
{
    for (size_t i = 0; i < MAX_BLOCKS; i++) {
        if (arena.base[i])
            UNPOISON(arena.base[i], arena.size[i]);
        free(arena.base[i]);
        arena.base[i] = NULL;
        arena.size[i] = 0;
    }
    arena.n = 0;
}
