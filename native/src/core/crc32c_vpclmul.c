/*
 * crc32c_vpclmul.c - CRC32C by carry-less-multiply folding, 4 x 512 bits,
 * with three crc32-instruction streams running alongside.
 *
 * Compiled with the AVX-512 flags; the dispatcher calls it only on CPUs with
 * the avx512 ISA level, PCLMULQDQ and VPCLMULQDQ.
 *
 * Folding keeps a running value congruent to the message mod P. In the
 * bit-reflected domain a 128-bit lane loaded from memory reads as
 * L * x^64 + H (L its low, H its high quadword). Moving the lane D bits
 * further down the message means multiplying it by x^D, and
 *
 *     L * x^(D+64) + H * x^D  ==  clmul(L, k_lo) ^ clmul(H, k_hi)   (mod P)
 *
 * with k_lo = x^(D+32) mod P and k_hi = x^(D-32) mod P, each bit-reflected and
 * shifted left by one (33-bit constants); the products fit in 128 bits and
 * are xored into the lane found D bits later. The constants were computed by
 * exponentiation mod P (0x1EDC6F41) with a throw-away script; the tests check
 * them by comparing every length 0..4096 and many larger ones with a bitwise
 * reference.
 *
 * Four 512-bit accumulators fold 256 bytes per iteration. The end reduces
 * 4 x 512 -> 512 -> 128 bits, and the last 128 bits and the tail bytes go
 * through the crc32 instruction: crc32 of the 16 bytes from a zero register is
 * the register for anything congruent to them, which is what folding preserved.
 *
 * The carry-less multiplier is the bottleneck of the folding loop (about 16
 * bytes per cycle on Zen 4), while the integer crc32 unit sits idle. Large
 * buffers are therefore cut into chunks in which the vector unit folds 8 KiB
 * and, in the same loop, three crc32 streams take 768 bytes each (24 bytes per
 * stream per 256-byte fold step, the ratio that measured fastest); the four
 * registers are then combined by shifting as in crc32c_hw.c. On Zen 4 this is
 * about 20% faster than folding alone.
 */
#if defined(__x86_64__) || defined(_M_X64)

#include "core/crc32c_internal.h"

#include <immintrin.h>
#include <string.h>

/* Below this the 3-stream crc32 path (one stream at these sizes) is faster. */
#define VPCLMUL_MIN_LENGTH 128

/* (k_lo, k_hi) = (x^(D+32), x^(D-32)) mod P, reflected, << 1, for distance D bits. */
#define K2048_LO 0x0dcb17aa4ull /* x^2080 */
#define K2048_HI 0x0b9e02b86ull /* x^2016 */
#define K1536_LO 0x0a87ab8a8ull /* x^1568 */
#define K1536_HI 0x0ab7aff2aull /* x^1504 */
#define K1024_LO 0x06992cea2ull /* x^1056 */
#define K1024_HI 0x00d3b6092ull /* x^992 */
#define K512_LO 0x0740eef02ull  /* x^544 */
#define K512_HI 0x09e4addf8ull  /* x^480 */
#define K384_LO 0x01c291d04ull  /* x^416 */
#define K384_HI 0x1d82c63daull  /* x^352 */
#define K256_LO 0x1384aa63aull  /* x^288 */
#define K256_HI 0x0ba4fc28eull  /* x^224 */
#define K128_LO 0x0f20c0dfeull  /* x^160 */
#define K128_HI 0x14cd00bd6ull  /* x^96 */

/* A chunk: STEPS * 256 bytes folded, then three crc32 streams of STREAM_BYTES. */
#define STEPS 32
#define STREAM_STEP 24
#define STREAM_BYTES (STEPS * STREAM_STEP)
#define CHUNK_BYTES (STEPS * 256 + 3 * STREAM_BYTES)

/* x^(8N-33) mod P, bit-reflected: shifts a register over N zero bytes (see crc32c_hw.c). */
#define K_SHIFT_768 0xd7a4825cu
#define K_SHIFT_1536 0x9ef68d35u
#define K_SHIFT_2304 0xbedc6ba1u

static __m512i fold_constant(uint64_t lo, uint64_t hi)
{
    return _mm512_broadcast_i32x4(_mm_set_epi64x((long long)hi, (long long)lo));
}

/* acc * x^D + next, for the D that k encodes (per 128-bit lane). */
static __m512i fold512(__m512i acc, __m512i k, __m512i next)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, k, 0x00),
                                     _mm512_clmulepi64_epi128(acc, k, 0x11), next, 0x96);
}

static __m128i fold128(__m128i acc, __m128i k, __m128i next)
{
    return _mm_ternarylogic_epi64(_mm_clmulepi64_si128(acc, k, 0x00), _mm_clmulepi64_si128(acc, k, 0x11),
                                  next, 0x96);
}

/* Xoring the register into the first four bytes and starting from zero is the
 * same as starting from the register. */
static __m512i load_first(const uint8_t *p, uint32_t reg)
{
    return _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_castsi128_si512(_mm_cvtsi32_si128((int)reg)));
}

/* Four accumulators over consecutive 64-byte groups -> one, on the last group. */
static __m512i reduce4(__m512i a0, __m512i a1, __m512i a2, __m512i a3)
{
    __m512i acc = fold512(a0, fold_constant(K1536_LO, K1536_HI), a3);
    acc = fold512(a1, fold_constant(K1024_LO, K1024_HI), acc);
    return fold512(a2, fold_constant(K512_LO, K512_HI), acc);
}

/* 512 -> 128: lanes 0, 1, 2 move 384, 256, 128 bits onto lane 3 (lane 3's
 * multiplier is zero, so only its own value survives from it). */
static __m128i reduce512(__m512i acc)
{
    const __m512i k_lanes = _mm512_set_epi64(0, 0, (long long)K128_HI, (long long)K128_LO, (long long)K256_HI,
                                             (long long)K256_LO, (long long)K384_HI, (long long)K384_LO);
    __m512i folded = fold512(acc, k_lanes, _mm512_maskz_mov_epi64(0xC0, acc));
    __m256i half = _mm256_xor_si256(_mm512_castsi512_si256(folded), _mm512_extracti64x4_epi64(folded, 1));
    return _mm_xor_si128(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
}

static uint32_t crc_of_128(__m128i v)
{
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(v));
    return (uint32_t)_mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(v, 1));
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t clmul32(uint64_t reg, uint32_t k)
{
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)reg), _mm_cvtsi32_si128((int)k), 0x00);
    return (uint64_t)_mm_cvtsi128_si64(product);
}

/* One CHUNK_BYTES chunk, continuing from reg. */
static uint32_t fold_chunk(uint32_t reg, const uint8_t *p)
{
    const uint8_t *s = p + STEPS * 256;
    const __m512i k2048 = fold_constant(K2048_LO, K2048_HI);
    __m512i a0 = load_first(p, reg);
    __m512i a1 = _mm512_loadu_si512(p + 64);
    __m512i a2 = _mm512_loadu_si512(p + 128);
    __m512i a3 = _mm512_loadu_si512(p + 192);
    uint64_t c0 = 0, c1 = 0, c2 = 0;
    for (size_t i = 0; i < STEPS; i++) {
        if (i > 0) {
            const uint8_t *q = p + 256 * i;
            a0 = fold512(a0, k2048, _mm512_loadu_si512(q));
            a1 = fold512(a1, k2048, _mm512_loadu_si512(q + 64));
            a2 = fold512(a2, k2048, _mm512_loadu_si512(q + 128));
            a3 = fold512(a3, k2048, _mm512_loadu_si512(q + 192));
        }
        const uint8_t *t = s + STREAM_STEP * i;
        for (size_t j = 0; j < STREAM_STEP; j += 8) {
            c0 = _mm_crc32_u64(c0, load64(t + j));
            c1 = _mm_crc32_u64(c1, load64(t + STREAM_BYTES + j));
            c2 = _mm_crc32_u64(c2, load64(t + 2 * STREAM_BYTES + j));
        }
    }
    uint32_t folded = crc_of_128(reduce512(reduce4(a0, a1, a2, a3)));
    uint64_t shifted = clmul32(folded, K_SHIFT_2304) ^ clmul32(c0, K_SHIFT_1536) ^ clmul32(c1, K_SHIFT_768);
    return (uint32_t)_mm_crc32_u64(0, shifted) ^ (uint32_t)c2;
}

uint32_t psyne__crc32c_vpclmul(uint32_t reg, const uint8_t *data, size_t length)
{
    for (; length >= CHUNK_BYTES; data += CHUNK_BYTES, length -= CHUNK_BYTES)
        reg = fold_chunk(reg, data);
    if (length < VPCLMUL_MIN_LENGTH)
        return psyne__crc32c_hw(reg, data, length);

    __m512i acc;
    if (length >= 256) {
        const __m512i k2048 = fold_constant(K2048_LO, K2048_HI);
        __m512i a0 = load_first(data, reg);
        __m512i a1 = _mm512_loadu_si512(data + 64);
        __m512i a2 = _mm512_loadu_si512(data + 128);
        __m512i a3 = _mm512_loadu_si512(data + 192);
        for (data += 256, length -= 256; length >= 256; data += 256, length -= 256) {
            a0 = fold512(a0, k2048, _mm512_loadu_si512(data));
            a1 = fold512(a1, k2048, _mm512_loadu_si512(data + 64));
            a2 = fold512(a2, k2048, _mm512_loadu_si512(data + 128));
            a3 = fold512(a3, k2048, _mm512_loadu_si512(data + 192));
        }
        acc = reduce4(a0, a1, a2, a3);
    } else {
        acc = load_first(data, reg);
        data += 64;
        length -= 64;
    }
    const __m512i k512 = fold_constant(K512_LO, K512_HI);
    for (; length >= 64; data += 64, length -= 64)
        acc = fold512(acc, k512, _mm512_loadu_si512(data));

    __m128i v = reduce512(acc);
    const __m128i k128 = _mm_set_epi64x((long long)K128_HI, (long long)K128_LO);
    for (; length >= 16; data += 16, length -= 16)
        v = fold128(v, k128, _mm_loadu_si128((const __m128i *)(const void *)data));
    return psyne__crc32c_hw(crc_of_128(v), data, length);
}

#endif
