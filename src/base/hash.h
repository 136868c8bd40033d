/* hash.h - SHA-256 for content and rubric version hashes */
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

#endif
