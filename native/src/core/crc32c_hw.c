/*
 * crc32c_hw.c - CRC32C with the SSE4.2 crc32 instruction, three streams.
 *
 * Compiled with -msse4.2 -mpclmul; the dispatcher calls it only on CPUs with
 * SSE4.2 and PCLMULQDQ.
 *
 * crc32 has a latency of 3 cycles but a throughput of one per cycle, so a
 * single dependent chain runs at a third of the possible speed. The buffer is
 * therefore cut into stripes of three equal blocks whose CRCs are computed in
 * one interleaved loop (three independent chains), and then combined:
 *
 *     crc(A || B || C) = shift(crc(A), 2N) ^ shift(crc(B), N) ^ crc(C)
 *
 * where B and C start from a zero register and shift(c, N) is the register c
 * advanced over N zero bytes, i.e. c * x^(8N) mod P. One PCLMULQDQ and one
 * crc32 compute it: for a bit-reflected 32-bit c and k = x^(8N-33) mod P
 * (bit-reflected), the 63-bit carry-less product read as a 64-bit reflected
 * value is c * k * x, and crc32 of that 64-bit value from a zero register
 * multiplies by x^32 and reduces mod P, giving c * x^(8N) mod P. Because the
 * shift is linear, both products are xored before the single crc32.
 */
#if defined(__x86_64__) || defined(_M_X64)

#include "core/crc32c_internal.h"

#include <nmmintrin.h>
#include <string.h>
#include <wmmintrin.h>

/* 3 x 8 KiB stripes make the combine cost negligible on large buffers;
 * 3 x 256 B stripes still pay off for medium ones. */
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

/* x^(8N-33) mod P, bit-reflected, for N = the block and twice the block. */
#define K_LONG_1 0x54a86326u  /* N = 8192 */
#define K_LONG_2 0x1dc403ccu  /* N = 16384 */
#define K_SHORT_1 0xb9e02b86u /* N = 256 */
#define K_SHORT_2 0xdd7e3b0cu /* N = 512 */

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t clmul32(uint32_t a, uint32_t k)
{
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)a), _mm_cvtsi32_si128((int)k), 0x00);
    return (uint64_t)_mm_cvtsi128_si64(product);
}

/* CRC of one stripe of three blocks of `block` bytes, continuing from reg. */
static uint32_t stripe3(uint32_t reg, const uint8_t *p, size_t block, uint32_t k1, uint32_t k2)
{
    uint64_t c0 = reg, c1 = 0, c2 = 0;
    for (size_t i = 0; i < block; i += 8) {
        c0 = _mm_crc32_u64(c0, load64(p + i));
        c1 = _mm_crc32_u64(c1, load64(p + block + i));
        c2 = _mm_crc32_u64(c2, load64(p + 2 * block + i));
    }
    uint64_t shifted = clmul32((uint32_t)c0, k2) ^ clmul32((uint32_t)c1, k1);
    return (uint32_t)_mm_crc32_u64(0, shifted) ^ (uint32_t)c2;
}

uint32_t psyne__crc32c_hw(uint32_t reg, const uint8_t *data, size_t length)
{
    while (length >= 3 * LONG_BLOCK) {
        reg = stripe3(reg, data, LONG_BLOCK, K_LONG_1, K_LONG_2);
        data += 3 * LONG_BLOCK;
        length -= 3 * LONG_BLOCK;
    }
    while (length >= 3 * SHORT_BLOCK) {
        reg = stripe3(reg, data, SHORT_BLOCK, K_SHORT_1, K_SHORT_2);
        data += 3 * SHORT_BLOCK;
        length -= 3 * SHORT_BLOCK;
    }
    uint64_t c = reg;
    for (; length >= 8; data += 8, length -= 8)
        c = _mm_crc32_u64(c, load64(data));
    reg = (uint32_t)c;
    while (length--)
        reg = _mm_crc32_u8(reg, *data++);
    return reg;
}

#endif
