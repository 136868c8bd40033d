/* rng.h - small deterministic PRNG (xoshiro256**) for the sample generator */
#ifndef CS_SAMPLE_RNG_H
#define CS_SAMPLE_RNG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Usage:
 *
 *     struct cs_rng r;
 *     cs_rng_seed(&r, seed, stream);   // any two 64-bit keys
 *     if (cs_rng_chance(&r, 0.25)) ...
 *
 * The generator never touches global state (no rand(), no time()), so the
 * same keys always give the same sequence on every platform. Functions are
 * static inline: they run tens of times per generated conversation.
 */
struct cs_rng {
    uint64_t s[4];
};

/* One step of splitmix64: a good 64-bit mixer for deriving seeds. */
static inline uint64_t cs_rng_mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds `r` from two keys (for example the run seed and a stream number). */
static inline void cs_rng_seed(struct cs_rng *r, uint64_t key, uint64_t stream)
{
    uint64_t x = key ^ (stream * 0xd1342543de82ef95ULL);
    int i;

    for (i = 0; i < 4; i++)
        r->s[i] = cs_rng_mix(&x);
}

static inline uint64_t cs_rng_rotl(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

/* The next 64 random bits. */
static inline uint64_t cs_rng_next(struct cs_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = cs_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = cs_rng_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n); n must be > 0. Multiply-shift (bias below 2^-32). */
static inline uint32_t cs_rng_below(struct cs_rng *r, uint32_t n)
{
    return (uint32_t)(((cs_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi], both inclusive. */
static inline long cs_rng_range(struct cs_rng *r, long lo, long hi)
{
    return lo + (long)cs_rng_below(r, (uint32_t)(hi - lo + 1));
}

/* Uniform double in [0, 1). */
static inline double cs_rng_unit(struct cs_rng *r)
{
    return (double)(cs_rng_next(r) >> 11) * 0x1.0p-53;
}

/* 1 with probability p. */
static inline int cs_rng_chance(struct cs_rng *r, double p)
{
    return cs_rng_unit(r) < p;
}

/*
 * Approximately standard normal: the Irwin-Hall sum of four 16-bit uniforms,
 * rescaled. Its tails stop at +-3.46, which suits latencies and durations
 * that must stay plausible.
 */
static inline double cs_rng_normal(struct cs_rng *r)
{
    uint64_t v = cs_rng_next(r);
    double sum = (double)(v & 0xffff) + (double)((v >> 16) & 0xffff) +
                 (double)((v >> 32) & 0xffff) + (double)(v >> 48);

    return (sum / 65536.0 - 2.0) * 1.7320508075688772;
}

/* Index drawn from integer weights (at least one > 0). */
static inline size_t cs_rng_weighted(struct cs_rng *r, const int *w, size_t n)
{
    long total = 0;
    long x;
    size_t i;

    for (i = 0; i < n; i++)
        total += w[i];
    x = (long)cs_rng_below(r, (uint32_t)total);
    for (i = 0; i + 1 < n; i++) {
        x -= w[i];
        if (x < 0)
            return i;
    }
    return n - 1;
}

#endif
