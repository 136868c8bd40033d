/* hash.c - SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104), 64-bit FNV-1a */
#include "base/hash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(struct cs_sha256 *c, const unsigned char *p)
{
    uint32_t w[64], a, b, cc, d, e, f, g, h;

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
                      (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^
                      (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = c->h[0]; b = c->h[1]; cc = c->h[2]; d = c->h[3];
    e = c->h[4]; f = c->h[5]; g = c->h[6]; h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + s1 + ch + K[i] + w[i];
        uint32_t s0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
        uint32_t maj = (a & b) ^ (a & cc) ^ (b & cc);
        uint32_t t2 = s0 + maj;

        h = g; g = f; f = e; e = d + t1;
        d = cc; cc = b; b = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d;
    c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
}

void cs_sha256_init(struct cs_sha256 *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                   0xa54ff53a, 0x510e527f, 0x9b05688c,
                                   0x1f83d9ab, 0x5be0cd19};

    memcpy(c->h, iv, sizeof(iv));
    c->len = 0;
    c->used = 0;
}

void cs_sha256_update(struct cs_sha256 *c, const void *data, size_t n)
{
    const unsigned char *p = data;

    c->len += n;
    while (n) {
        size_t take = 64 - c->used;

        if (take > n)
            take = n;
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        n -= take;
        if (c->used == 64) {
            compress(c, c->block);
            c->used = 0;
        }
    }
}

void cs_sha256_final(struct cs_sha256 *c, unsigned char out[32])
{
    uint64_t bits = c->len * 8;
    unsigned char pad = 0x80, zero = 0, lenb[8];

    cs_sha256_update(c, &pad, 1);
    while (c->used != 56)
        cs_sha256_update(c, &zero, 1);
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    cs_sha256_update(c, lenb, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->h[i];
    }
}

void cs_sha256_hex(const void *data, size_t n, char *out, size_t hexlen)
{
    static const char hx[] = "0123456789abcdef";
    struct cs_sha256 c;
    unsigned char d[32];

    if (hexlen > 64)
        hexlen = 64;
    cs_sha256_init(&c);
    cs_sha256_update(&c, data, n);
    cs_sha256_final(&c, d);
    for (size_t i = 0; i < hexlen; i++)
        out[i] = hx[(d[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[hexlen] = '\0';
}

void cs_hmac_sha256_init(struct cs_hmac_sha256 *h, const void *key,
                         size_t key_len)
{
    unsigned char k[64], ipad[64];

    memset(k, 0, sizeof(k));
    if (key_len > sizeof(k)) {
        struct cs_sha256 c;

        cs_sha256_init(&c);
        cs_sha256_update(&c, key, key_len);
        cs_sha256_final(&c, k);
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    for (size_t i = 0; i < sizeof(k); i++) {
        ipad[i] = k[i] ^ 0x36;
        h->okey[i] = k[i] ^ 0x5c;
    }
    cs_sha256_init(&h->inner);
    cs_sha256_update(&h->inner, ipad, sizeof(ipad));
    memset(k, 0, sizeof(k));
    memset(ipad, 0, sizeof(ipad));
}

void cs_hmac_sha256_update(struct cs_hmac_sha256 *h, const void *data,
                           size_t n)
{
    cs_sha256_update(&h->inner, data, n);
}

void cs_hmac_sha256_final(struct cs_hmac_sha256 *h, unsigned char out[32])
{
    unsigned char ih[32];
    struct cs_sha256 outer;

    cs_sha256_final(&h->inner, ih);
    cs_sha256_init(&outer);
    cs_sha256_update(&outer, h->okey, sizeof(h->okey));
    cs_sha256_update(&outer, ih, sizeof(ih));
    cs_sha256_final(&outer, out);
    memset(ih, 0, sizeof(ih));
    memset(h, 0, sizeof(*h));
}

void cs_hmac_sha256(const void *key, size_t key_len, const void *data,
                    size_t n, unsigned char out[32])
{
    struct cs_hmac_sha256 h;

    cs_hmac_sha256_init(&h, key, key_len);
    cs_hmac_sha256_update(&h, data, n);
    cs_hmac_sha256_final(&h, out);
}

int cs_hash_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;

    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

void cs_hash_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}

uint64_t cs_fnv1a64_update(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t cs_fnv1a64(const void *data, size_t n)
{
    return cs_fnv1a64_update(CS_FNV1A64_BASIS, data, n);
}

int cs_sha256_file(char out[65], const char *path, struct cs_err *err)
{
    struct cs_sha256 c;
    unsigned char d[32], chunk[65536];
    FILE *f = fopen(path, "rb");
    size_t n;
    int bad;

    out[0] = '\0';
    if (!f)
        return cs_err_set(err, CS_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    cs_sha256_init(&c);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cs_sha256_update(&c, chunk, n);
    bad = ferror(f);
    fclose(f);
    if (bad)
        return cs_err_set(err, CS_EIO, "cannot read '%s'", path);
    cs_sha256_final(&c, d);
    cs_hash_hex(d, 32, out);
    return 0;
}
