/* arena.h - a per-thread bump allocator for jansson while parsing a line */
#ifndef CS_INGEST_ARENA_H
#define CS_INGEST_ARENA_H

/*
 * Parsing a conversation makes a few hundred small jansson allocations
 * that all die together when the line is done; malloc/free were an eighth
 * of the ingest CPU. cs_arena_install() routes jansson's allocations
 * through this allocator for good (call it once, before any thread uses
 * jansson). A thread that calls cs_arena_begin() gets bump allocation,
 * and free() of such memory is a no-op, until cs_arena_end(), which
 * recycles everything at once; every other allocation is plain malloc.
 * Nothing allocated between begin and end may be used after end.
 * AddressSanitizer builds run the arena too, with its memory poisoned
 * whenever it is not handed out (see arena.c), so ASan checks the
 * allocator production uses.
 */
void cs_arena_install(void);
void cs_arena_begin(void);
void cs_arena_end(void);
/* Frees this thread's blocks (at the end of the thread). */
void cs_arena_release(void);

#endif
