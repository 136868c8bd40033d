/* hash.h - SHA-256 and FNV-1a (hash tables, change detection) */
#ifndef CS_BASE_HASH_H
#define CS_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

struct cs_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char block[64];
    size_t used;
};

void cs_sha256_init(struct cs_sha256 *c);
void cs_sha256_update(struct cs_sha256 *c, const void *data, size_t n);
void cs_sha256_final(struct cs_sha256 *c, unsigned char out[32]);
/* One-shot: lower-case hex of the first `hexlen` (<= 64) digits into out
 * (which must hold hexlen + 1 bytes). */
void cs_sha256_hex(const void *data, size_t n, char *out, size_t hexlen);

/*
 * 64-bit FNV-1a: fast, not cryptographic (hash tables, change detection).
 * cs_fnv1a64 hashes `n` bytes from the standard offset basis;
 * cs_fnv1a64_update goes on from `h` (a previous result, or a basis), so
 * data can be hashed in pieces.
 */
#define CS_FNV1A64_BASIS 0xcbf29ce484222325ULL

uint64_t cs_fnv1a64_update(uint64_t h, const void *data, size_t n);
uint64_t cs_fnv1a64(const void *data, size_t n);

#endif
