/* hash.h - SHA-256, HMAC-SHA256 and FNV-1a (hash tables, change detection) */
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
 * HMAC-SHA256 (RFC 2104 over SHA-256; checked against RFC 4231). A key
 * longer than the 64-byte block is hashed first, as the RFC says.
 *
 *     struct cs_hmac_sha256 h;
 *     cs_hmac_sha256_init(&h, key, key_len);
 *     cs_hmac_sha256_update(&h, body, body_len);
 *     cs_hmac_sha256_update(&h, stamp, stamp_len);
 *     cs_hmac_sha256_final(&h, mac);     (h is wiped)
 */
struct cs_hmac_sha256 {
    struct cs_sha256 inner;
    unsigned char okey[64];     /* key XOR opad */
};

void cs_hmac_sha256_init(struct cs_hmac_sha256 *h, const void *key,
                         size_t key_len);
void cs_hmac_sha256_update(struct cs_hmac_sha256 *h, const void *data,
                           size_t n);
void cs_hmac_sha256_final(struct cs_hmac_sha256 *h, unsigned char out[32]);
/* One-shot HMAC-SHA256 of `n` bytes under `key`. */
void cs_hmac_sha256(const void *key, size_t key_len, const void *data,
                    size_t n, unsigned char out[32]);

/* 1 when the `n` bytes at a and b are equal, in time that does not depend
 * on where they differ (for comparing MACs). */
int cs_hash_equal(const void *a, const void *b, size_t n);

/* The lower-case hex SHA-256 of the file at `path` into out (65 bytes),
 * read in pieces. 0, or CS_EIO naming the file. */
struct cs_err;
int cs_sha256_file(char out[65], const char *path, struct cs_err *err);

/* Lower-case hex of `n` bytes into out (2n + 1 bytes with the NUL). */
void cs_hash_hex(const unsigned char *d, size_t n, char *out);

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
