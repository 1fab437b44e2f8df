/*
 * ternary_avx2.c - the 256-bit kernels: matmul and the activation quantiser
 * (compiled with the AVX2 flags of cmake/PsyneIsa.cmake; called only when
 * the CPU has them).
 *
 * Same identity as the AVX-512 kernels (sum w * x = sum code * x - sum x,
 * see ternary_avx512.c), on half blocks: bytes 32h..32h+31 of a block unpack
 * into four vectors of 32 codes, lined up with activations at 64k + 32h.
 * vpmaddubsw lanes (code0 * x0 + code1 * x1, in [-512, 508]) are summed in
 * int16 for FLUSH_BLOCKS = 8 blocks (64 of them: within [-32768, 32512]) and
 * widened with vpmaddwd.
 *
 * With 16 ymm registers the batched tile is 2 rows x 4 tokens (8 int16
 * accumulators, two code vectors, one activation vector, the mask); the
 * single token goes one row at a time (gemv_row).
 */
#include "kernels/ternary_internal.h"

#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

enum { MAX_R = 4, MAX_T = 8, FLUSH_BLOCKS = 8 };

/* Prefetch distance of the single-token kernel into L2; see gemv_row. */
#define PREFETCH_BYTES 16384

/* An empty asm that claims to change v: the value must sit in a register
 * here, so GCC neither folds a load into each use nor re-associates the
 * int16 sums into a tree of temporaries (which spills with 16 registers). */
#define PIN(v) __asm__("" : "+x"(v))

INLINE int32_t hsum(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Generic tile: R rows x T tokens, codes unpacked per quarter as needed. */
INLINE void tile(const psyne__ternary_job *job, uint32_t r, uint32_t t0, const int R, const int T)
{
    const __m256i mask = _mm256_set1_epi8(3);
    const __m256i ones = _mm256_set1_epi16(1);
    const uint8_t *w[MAX_R];
    const int8_t *x[MAX_T];
    __m256i acc[MAX_R][MAX_T];
    for (int i = 0; i < R; i++) w[i] = job->packed + (size_t)(r + i) * job->row_bytes;
    for (int j = 0; j < T; j++) x[j] = job->x + (size_t)(t0 + j) * job->x_stride;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm256_setzero_si256();
    const uint32_t blocks = job->blocks;
    for (uint32_t b0 = 0; b0 < blocks; b0 += FLUSH_BLOCKS) {
        const uint32_t b1 = blocks - b0 < FLUSH_BLOCKS ? blocks : b0 + FLUSH_BLOCKS;
        __m256i acc16[MAX_R][MAX_T];
        for (int i = 0; i < R; i++)
            for (int j = 0; j < T; j++) acc16[i][j] = _mm256_setzero_si256();
        for (uint32_t b = b0; b < b1; b++)
            for (int h = 0; h < 2; h++)
                for (int k = 0; k < 4; k++) {
                    __m256i c[MAX_R];
                    for (int i = 0; i < R; i++) {
                        const __m256i v = _mm256_load_si256((const __m256i *)(w[i] + 64 * (size_t)b + 32 * h));
                        c[i] = _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), mask);
                    }
                    for (int j = 0; j < T; j++) {
                        const __m256i xv =
                            _mm256_load_si256((const __m256i *)(x[j] + 256 * (size_t)b + 64 * k + 32 * h));
                        for (int i = 0; i < R; i++)
                            acc16[i][j] = _mm256_add_epi16(acc16[i][j], _mm256_maddubs_epi16(c[i], xv));
                    }
                }
        for (int i = 0; i < R; i++)
            for (int j = 0; j < T; j++) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(acc16[i][j], ones));
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            psyne__ternary_store(job, t0 + (uint32_t)j, r + (uint32_t)i, hsum(acc[i][j]) - job->xsum[t0 + (uint32_t)j]);
}

/* 2 rows x 4 tokens written out with named int16 accumulators, so the
 * 16 ymm registers hold 8 accumulators, two code vectors, the activation
 * vector and the mask; the int32 partials live in memory between flushes.
 * Each activation vector is loaded once for both rows, and 4 tokens of
 * activations (16 KiB at cols = 4096) stay in L1. */
static void tile_2x4(const psyne__ternary_job *job, uint32_t r, uint32_t t0)
{
    const __m256i mask = _mm256_set1_epi8(3);
    const __m256i ones = _mm256_set1_epi16(1);
    const size_t rb = job->row_bytes;
    const uint8_t *w0 = job->packed + (size_t)r * rb;
    const size_t xs = job->x_stride;
    const int8_t *x = job->x + (size_t)t0 * xs;
    __m256i acc[8];
    for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_si256();
    const uint32_t blocks = job->blocks;
    for (uint32_t b0 = 0; b0 < blocks; b0 += FLUSH_BLOCKS) {
        const uint32_t b1 = blocks - b0 < FLUSH_BLOCKS ? blocks : b0 + FLUSH_BLOCKS;
        __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;
        __m256i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        for (uint32_t b = b0; b < b1; b++) {
            const uint8_t *wb = w0 + 64 * (size_t)b;
            _mm_prefetch((const char *)(wb + 2 * rb), _MM_HINT_T0);
            _mm_prefetch((const char *)(wb + 3 * rb), _MM_HINT_T0);
            for (int h = 0; h < 2; h++) {
                const __m256i v0 = _mm256_load_si256((const __m256i *)(wb + 32 * h));
                const __m256i v1 = _mm256_load_si256((const __m256i *)(wb + rb + 32 * h));
                const int8_t *xb = x + 256 * (size_t)b + 32 * h;
#define QUARTER(k)                                                                              \
                do {                                                                            \
                    const __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(v0, 2 * (k)), mask);  \
                    const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(v1, 2 * (k)), mask);  \
                    __m256i xv;                                                                 \
                    STEP(0, a00, a10, k); STEP(1, a01, a11, k);                                 \
                    STEP(2, a02, a12, k); STEP(3, a03, a13, k);                                 \
                } while (0)
#define STEP(j, acc0, acc1, k)                                                              \
                xv = _mm256_load_si256((const __m256i *)(xb + (j) * xs + 64 * (k)));        \
                PIN(xv);                                                                    \
                acc0 = _mm256_add_epi16(acc0, _mm256_maddubs_epi16(c0, xv));                \
                acc1 = _mm256_add_epi16(acc1, _mm256_maddubs_epi16(c1, xv));                \
                PIN(acc0);                                                                  \
                PIN(acc1)
                QUARTER(0);
                QUARTER(1);
                QUARTER(2);
                QUARTER(3);
#undef STEP
#undef QUARTER
            }
        }
        const __m256i part[8] = {a00, a01, a02, a03, a10, a11, a12, a13};
        for (int i = 0; i < 8; i++) acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(part[i], ones));
    }
    for (uint32_t j = 0; j < 4; j++) {
        psyne__ternary_store(job, t0 + j, r, hsum(acc[j]) - job->xsum[t0 + j]);
        psyne__ternary_store(job, t0 + j, r + 1, hsum(acc[4 + j]) - job->xsum[t0 + j]);
    }
}

INLINE void rows_tokens(const psyne__ternary_job *job, uint32_t r, uint32_t t, const int R)
{
    const uint32_t tokens = job->tokens;
    for (; t + 4 <= tokens; t += 4) tile(job, r, t, R, 4);
    switch (tokens - t) {
    case 3: tile(job, r, t, R, 3); break;
    case 2: tile(job, r, t, R, 2); break;
    case 1: tile(job, r, t, R, 1); break;
    default: break;
    }
}

/* One token, one row: the weights stream through once, so this kernel is
 * shaped by memory, as the AVX-512 one is (ternary_avx512.c). One row at a
 * time keeps the weight reads a single sequential stream (measured on Zen 3,
 * cols = 4096, weights from DRAM: 4 rows at a time, i.e. four short streams
 * in each 4 KiB page, drew 50-55 % of a streaming read; one row with the
 * prefetch below 83-94 %). Each weight line is prefetched into L2 (T1)
 * PREFETCH_BYTES ahead in address order, never at or past `limit` (the end
 * of this call's rows); T0 or 1-2 KiB did markedly worse.
 *
 * Unpacking takes one shift and four masks: quarters 1 and 3 stay in place,
 * i.e. times 4 ((v & 0x0C) = 4 * code), in a second int16 sum. A lane of
 * vpmaddubsw of such codes is in 4 * [-512, 508] (int8 -128 accepted) and
 * that sum takes two per half block, so it is widened every GEMV_FLUSH = 4
 * blocks (16 lanes: within [-32768, 32512]); the int32 sum, a multiple of 4,
 * is divided exactly with an arithmetic shift at the end. */
enum { GEMV_FLUSH = 4 };

#define GEMV_HALF(h)                                                                                  \
    do {                                                                                              \
        const int8_t *xh = xb + 32 * (h);                                                             \
        const __m256i x0 = _mm256_load_si256((const __m256i *)xh);                                    \
        const __m256i x1 = _mm256_load_si256((const __m256i *)(xh + 64));                             \
        const __m256i x2 = _mm256_load_si256((const __m256i *)(xh + 128));                            \
        const __m256i x3 = _mm256_load_si256((const __m256i *)(xh + 192));                            \
        __m256i v = _mm256_load_si256((const __m256i *)(wb + 32 * (h)));                             \
        PIN(v);                                                                                       \
        const __m256i v4 = _mm256_srli_epi16(v, 4);                                                   \
        s0 = _mm256_add_epi16(s0, _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(v, mask), x0), \
                                                   _mm256_maddubs_epi16(_mm256_and_si256(v4, mask), x2))); \
        s1 = _mm256_add_epi16(s1, _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(v, mask4), x1), \
                                                   _mm256_maddubs_epi16(_mm256_and_si256(v4, mask4), x3))); \
    } while (0)

static void gemv_row(const psyne__ternary_job *job, uint32_t r, const uint8_t *limit)
{
    const __m256i mask = _mm256_set1_epi8(0x03);
    const __m256i mask4 = _mm256_set1_epi8(0x0C);
    const __m256i ones = _mm256_set1_epi16(1);
    const uint8_t *w = job->packed + (size_t)r * job->row_bytes;
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
    const uint32_t blocks = job->blocks;
    for (uint32_t b0 = 0; b0 < blocks; b0 += GEMV_FLUSH) {
        const uint32_t b1 = blocks - b0 < GEMV_FLUSH ? blocks : b0 + GEMV_FLUSH;
        __m256i s0 = _mm256_setzero_si256(), s1 = s0;
        for (uint32_t b = b0; b < b1; b++) {
            const uint8_t *wb = w + 64 * (size_t)b;
            const int8_t *xb = job->x + 256 * (size_t)b;
            _mm_prefetch((const char *)((size_t)(limit - wb) > PREFETCH_BYTES ? wb + PREFETCH_BYTES : wb), _MM_HINT_T1);
            GEMV_HALF(0);
            GEMV_HALF(1);
        }
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(s0, ones));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(s1, ones));
    }
    const __m256i sum = _mm256_add_epi32(acc0, _mm256_srai_epi32(acc1, 2));
    psyne__ternary_store(job, 0, r, hsum(sum) - job->xsum[0]);
}
#undef GEMV_HALF

/* Rows [row_begin, row_end) of one token, the first PREFETCH_BYTES requested at once. */
static void gemv_rows(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end)
{
    const uint8_t *limit = job->packed + (size_t)row_end * job->row_bytes;
    psyne__ternary_prefetch_head(job->packed + (size_t)row_begin * job->row_bytes, limit, PREFETCH_BYTES);
    for (uint32_t r = row_begin; r < row_end; r++) gemv_row(job, r, limit);
}

void psyne__ternary_rows_avx2(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end)
{
    uint32_t r = row_begin;
    if (job->tokens == 1) {
        gemv_rows(job, row_begin, row_end);
        return;
    }
    for (; r + 2 <= row_end; r += 2) {
        uint32_t t = 0;
        for (; t + 4 <= job->tokens; t += 4) tile_2x4(job, r, t);
        if (t < job->tokens) rows_tokens(job, r, t, 2);
    }
    if (r < row_end) rows_tokens(job, r, 0, 1);
}

/* ---- activation quantiser ------------------------------------------------- */

float psyne__absmax_avx2(const float *x, size_t n, int *nonfinite)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 flt_max = _mm256_set1_ps(3.402823466e38f);
    __m256 m = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask);
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, flt_max, _CMP_NLE_UQ)); /* NaN or infinite */
        m = _mm256_max_ps(m, a);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    float result = 0.0f;
    for (int j = 0; j < 8; j++) result = lanes[j] > result ? lanes[j] : result;
    int tail_bad = 0;
    const float tail = psyne__absmax_scalar(x + i, n - i, &tail_bad);
    *nonfinite = _mm256_movemask_ps(bad) != 0 || tail_bad;
    return tail > result ? tail : result;
}

/* Four doubles of x * 127 / a, rounded half away from zero: the operations
 * of psyne__round_activation, lane by lane. */
INLINE __m128i round4(__m256d v)
{
    const __m256d t = _mm256_round_pd(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256d frac = _mm256_sub_pd(v, t);
    const __m256d one = _mm256_set1_pd(1.0);
    const __m256d up = _mm256_and_pd(_mm256_cmp_pd(frac, _mm256_set1_pd(0.5), _CMP_GE_OQ), one);
    const __m256d down = _mm256_and_pd(_mm256_cmp_pd(frac, _mm256_set1_pd(-0.5), _CMP_LE_OQ), one);
    return _mm256_cvttpd_epi32(_mm256_sub_pd(_mm256_add_pd(t, up), down));
}

void psyne__quantize_avx2(const float *x, uint32_t cols, float absmax, int8_t *xq)
{
    if (absmax == 0.0f) {
        memset(xq, 0, cols);
        return;
    }
    const double da = absmax;
    const __m256d a = _mm256_set1_pd(da);
    const __m256d k127 = _mm256_set1_pd(127.0);
    uint32_t i = 0;
    for (; i + 16 <= cols; i += 16) {
        __m128i q[4];
        for (int j = 0; j < 4; j++) {
            const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * j));
            q[j] = round4(_mm256_div_pd(_mm256_mul_pd(v, k127), a));
        }
        /* |q| <= 127, so the saturating packs keep every value. */
        const __m128i q16a = _mm_packs_epi32(q[0], q[1]);
        const __m128i q16b = _mm_packs_epi32(q[2], q[3]);
        _mm_storeu_si128((__m128i *)(xq + i), _mm_packs_epi16(q16a, q16b));
    }
    for (; i < cols; i++) xq[i] = psyne__round_activation((double)x[i] * 127.0 / da);
}
