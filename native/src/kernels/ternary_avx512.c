/*
 * ternary_avx512.c - the 512-bit kernels: matmul with VNNI and without, and
 * the activation quantiser (compiled with the AVX512 flags of
 * cmake/PsyneIsa.cmake; called only when the CPU has them).
 *
 * One 64-byte block of a packed row unpacks, with shifts and masks, into
 * four vectors of 64 codes (w + 1, in 0..2) lined up with four 64-byte loads
 * of activations. Then
 *     sum_k w * x = sum_k code * x - sum_k x,
 * where sum_k x (job->xsum) is computed once per token, so the products are
 * u8 x s8 - exactly what vpdpbusd (VNNI) and vpmaddubsw take. All sums stay
 * inside int32 for cols <= PSYNE_TERNARY_MAX_COLS.
 *
 * Register blocking. Batched: a 4 rows x 4 tokens tile (16 accumulators);
 * each block of each row is unpacked once for the 4 tokens, each activation
 * vector loaded once for the 4 rows, and 4 tokens of activations (16 KiB at
 * cols = 4096) stay in L1 (a 2 x 8 tile streams 32 KiB from L2 and runs
 * ~10 % slower on Zen 4). The 16 sums are reduced together by a transposed
 * tree. Leftover rows and tokens use a generic R x T tile. Single token: 2
 * rows at a time, two accumulators per row, cheaper unpacking (vnni_gemv),
 * and a software prefetch of the weight stream (see PREFETCH_BYTES).
 *
 * The non-VNNI variant accumulates vpmaddubsw results in int16: one lane of
 * one vpmaddubsw is code0 * x0 + code1 * x1, in [-512, 508] (int8 -128 is
 * accepted), so 64 of them (4 quarters x BW_FLUSH_BLOCKS = 16 blocks) stay in
 * [-32768, 32512]; vpmaddwd widens them to int32 every 16 blocks.
 */
#include "kernels/ternary_internal.h"

#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

enum { MAX_R = 4, MAX_T = 8, BW_FLUSH_BLOCKS = 16 };

/* The single-token kernel streams the weights once and computes too little
 * per byte for out-of-order execution alone to keep enough DRAM reads in
 * flight: with no software prefetch it draws ~30-40 % of a streaming read
 * (the hardware prefetchers, stopping at 4 KiB pages, help little). So each
 * weight line is prefetched into L2 (T1) PREFETCH_BYTES ahead in address
 * order; 16 KiB covers the DRAM latency at full bandwidth (tuned on Zen 4:
 * 8-32 KiB do about as well, 4 KiB ~60 %; into L1 (T0) or NTA ~35 %).
 *
 * GEMV_R rows at a time. Measured on Zen 4 (cols = 4096, 1 KiB rows, one
 * thread, weights from DRAM): 2 rows reach 92-96 % of a streaming read, 4
 * rows only 75-80 % whatever the prefetch distance (8-24 KiB), although 4
 * rows run ~10 % faster from L3 (fewer activation loads per weight line).
 * Four short streams inside each 4 KiB page seem to be what the prefetchers
 * handle badly; a weight matrix larger than the caches is the case that
 * matters for decoding, so the kernel takes 2. */
#define PREFETCH_BYTES 16384
enum { GEMV_R = 2 };

/* An empty asm that claims to change v, so v must sit in a register there:
 * GCC then loads an activation vector once for all rows instead of folding
 * the load into every vpdpbusd, and does not re-associate the int16 sums of
 * the non-VNNI tile into a tree of temporaries that spills. */
#define KEEP_IN_REGISTER(v) __asm__("" : "+v"(v))

INLINE void unpack4(const uint8_t *p, __m512i mask, __m512i c[4])
{
    const __m512i v = _mm512_load_si512((const void *)p);
    c[0] = _mm512_and_si512(v, mask);
    c[1] = _mm512_and_si512(_mm512_srli_epi16(v, 2), mask);
    c[2] = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
    c[3] = _mm512_and_si512(_mm512_srli_epi16(v, 6), mask);
}

/* ---- VNNI ------------------------------------------------------------ */

INLINE void vnni_tile(const psyne__ternary_job *job, uint32_t r, uint32_t t0, const int R, const int T)
{
    const __m512i mask = _mm512_set1_epi8(3);
    const uint8_t *w[MAX_R];
    const int8_t *x[MAX_T];
    __m512i acc[MAX_R][MAX_T];
    for (int i = 0; i < R; i++) w[i] = job->packed + (size_t)(r + i) * job->row_bytes;
    for (int j = 0; j < T; j++) x[j] = job->x + (size_t)(t0 + j) * job->x_stride;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm512_setzero_si512();
    const uint32_t blocks = job->blocks;
    for (uint32_t b = 0; b < blocks; b++) {
        __m512i c[MAX_R][4];
        for (int i = 0; i < R; i++) unpack4(w[i] + 64 * (size_t)b, mask, c[i]);
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < T; j++) {
                __m512i xv = _mm512_load_si512((const void *)(x[j] + 256 * (size_t)b + 64 * k));
                if (R > 1) KEEP_IN_REGISTER(xv);
                for (int i = 0; i < R; i++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], c[i][k], xv);
            }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            psyne__ternary_store(job, t0 + (uint32_t)j, r + (uint32_t)i,
                                 _mm512_reduce_add_epi32(acc[i][j]) - job->xsum[t0 + (uint32_t)j]);
}

/* Sums of 16 vectors at once: out[i] = sum of the lanes of v[i]. A transposed
 * reduction tree, 45 instructions instead of 16 separate reductions (~150). */
INLINE __m512i reduce16(const __m512i v[16])
{
    __m512i s1[8], s2[4], s3[2];
    for (int i = 0; i < 8; i++) /* per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3] */
        s1[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]),
                                 _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) /* per 128-bit lane: the lane's sums of v[4i .. 4i+3] */
        s2[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(s1[2 * i], s1[2 * i + 1]),
                                 _mm512_unpackhi_epi64(s1[2 * i], s1[2 * i + 1]));
    for (int i = 0; i < 2; i++) /* lanes pairwise: [e01, e23, f01, f23] */
        s3[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(s2[2 * i], s2[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_i32x4(s2[2 * i], s2[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(s3[0], s3[1], _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(s3[0], s3[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/* 4 rows x 4 tokens with named accumulators (GCC shuffles and spills the
 * array form): 16 accumulators, 4 code vectors unpacked per quarter just
 * before use, one activation vector. Per 64 vpdpbusd: 4 weight and 16
 * activation loads (2 x 8 needs 2 and 32), and only 16 KiB of activations per
 * pass at cols = 4096, so they stay in L1 where 2 x 8's 32 KiB stream from L2
 * at the limit of its bandwidth. Measured on Zen 4: 0.9 vpdpbusd per cycle
 * against 0.8 for 2 x 8. */
static void vnni_tile_4x4(const psyne__ternary_job *job, uint32_t r, uint32_t t0)
{
    const __m512i mask = _mm512_set1_epi8(3);
    const size_t rb = job->row_bytes;
    const uint8_t *w0 = job->packed + (size_t)r * rb;
    const size_t xs = job->x_stride;
    const int8_t *x = job->x + (size_t)t0 * xs;
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00;
    __m512i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512i a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    __m512i a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    const uint32_t blocks = job->blocks;
    for (uint32_t b = 0; b < blocks; b++) {
        const uint8_t *wb = w0 + 64 * (size_t)b;
        const __m512i v0 = _mm512_load_si512((const void *)wb);
        const __m512i v1 = _mm512_load_si512((const void *)(wb + rb));
        const __m512i v2 = _mm512_load_si512((const void *)(wb + 2 * rb));
        const __m512i v3 = _mm512_load_si512((const void *)(wb + 3 * rb));
        const int8_t *xb = x + 256 * (size_t)b;
        _mm_prefetch((const char *)(wb + 4 * rb), _MM_HINT_T0);
        _mm_prefetch((const char *)(wb + 5 * rb), _MM_HINT_T0);
        _mm_prefetch((const char *)(wb + 6 * rb), _MM_HINT_T0);
        _mm_prefetch((const char *)(wb + 7 * rb), _MM_HINT_T0);
#define QUARTER(k)                                                                                  \
        do {                                                                                        \
            const __m512i c0 = _mm512_and_si512(_mm512_srli_epi16(v0, 2 * (k)), mask);              \
            const __m512i c1 = _mm512_and_si512(_mm512_srli_epi16(v1, 2 * (k)), mask);              \
            const __m512i c2 = _mm512_and_si512(_mm512_srli_epi16(v2, 2 * (k)), mask);              \
            const __m512i c3 = _mm512_and_si512(_mm512_srli_epi16(v3, 2 * (k)), mask);              \
            __m512i xv;                                                                             \
            STEP(0, a00, a10, a20, a30, k); STEP(1, a01, a11, a21, a31, k);                         \
            STEP(2, a02, a12, a22, a32, k); STEP(3, a03, a13, a23, a33, k);                         \
        } while (0)
#define STEP(j, acc0, acc1, acc2, acc3, k)                                              \
        xv = _mm512_load_si512((const void *)(xb + (j) * xs + 64 * (k)));              \
        KEEP_IN_REGISTER(xv);                                                           \
        acc0 = _mm512_dpbusd_epi32(acc0, c0, xv);                                       \
        acc1 = _mm512_dpbusd_epi32(acc1, c1, xv);                                       \
        acc2 = _mm512_dpbusd_epi32(acc2, c2, xv);                                       \
        acc3 = _mm512_dpbusd_epi32(acc3, c3, xv)
        QUARTER(0);
        QUARTER(1);
        QUARTER(2);
        QUARTER(3);
#undef STEP
#undef QUARTER
    }
    const __m512i all[16] = {a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33};
    int32_t sums[16];
    _mm512_storeu_si512((void *)sums, reduce16(all));
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t j = 0; j < 4; j++) psyne__ternary_store(job, t0 + j, r + i, sums[4 * i + j] - job->xsum[t0 + j]);
}

/* Rows r .. r+R-1, every token, with the generic tile (R < 4 or few tokens). */
INLINE void vnni_rows_tokens(const psyne__ternary_job *job, uint32_t r, uint32_t t, const int R)
{
    const uint32_t tokens = job->tokens;
    for (; t + MAX_T <= tokens; t += MAX_T) vnni_tile(job, r, t, R, MAX_T);
    switch (tokens - t) {
    case 7: vnni_tile(job, r, t, R, 7); break;
    case 6: vnni_tile(job, r, t, R, 6); break;
    case 5: vnni_tile(job, r, t, R, 5); break;
    case 4: vnni_tile(job, r, t, R, 4); break;
    case 3: vnni_tile(job, r, t, R, 3); break;
    case 2: vnni_tile(job, r, t, R, 2); break;
    case 1: vnni_tile(job, r, t, R, 1); break;
    default: break;
    }
}

/* One token, R rows. Each weight byte is used once, so unpacking dominates
 * beside the vpdpbusd: here it takes one shift and four masks instead of
 * three and four. Codes of quarters 1 and 3 are left in place, i.e. times 4
 * ((v & 0x0C) = 4 * code), and go to a second accumulator whose lanes (sums
 * of multiples of 4, at most 32 * cols in magnitude) are divided by 4 exactly
 * with an arithmetic shift at the end. Two accumulators per row also break
 * the vpdpbusd dependency chain.
 *
 * The weights stream through once: each line is prefetched PREFETCH_BYTES
 * ahead in address order, but never at or past `limit` (the end of this
 * call's rows: a line beyond it is another thread's chunk or another
 * allocation, and fetching it is bandwidth lost); there the line about to be
 * loaded is named instead (a hit, nothing fetched). v is loaded once (GCC
 * would otherwise fold the load into each of its three uses). */
INLINE void vnni_gemv(const psyne__ternary_job *job, uint32_t r, const int R, const uint8_t *limit)
{
    const __m512i mask = _mm512_set1_epi8(0x03);
    const __m512i mask4 = _mm512_set1_epi8(0x0C);
    const size_t rb = job->row_bytes;
    const uint8_t *w = job->packed + (size_t)r * rb;
    __m512i acc0[GEMV_R], acc1[GEMV_R];
    for (int i = 0; i < R; i++) {
        acc0[i] = _mm512_setzero_si512();
        acc1[i] = _mm512_setzero_si512();
    }
    const int8_t *x = job->x;
    const uint32_t blocks = job->blocks;
    for (uint32_t b = 0; b < blocks; b++, w += 64, x += 256) {
        const __m512i x0 = _mm512_load_si512((const void *)x);
        const __m512i x1 = _mm512_load_si512((const void *)(x + 64));
        const __m512i x2 = _mm512_load_si512((const void *)(x + 128));
        const __m512i x3 = _mm512_load_si512((const void *)(x + 192));
        for (int i = 0; i < R; i++) {
            const uint8_t *p = w + (size_t)i * rb;
            _mm_prefetch((const char *)((size_t)(limit - p) > PREFETCH_BYTES ? p + PREFETCH_BYTES : p), _MM_HINT_T1);
            __m512i v = _mm512_load_si512((const void *)p);
            KEEP_IN_REGISTER(v);
            const __m512i v4 = _mm512_srli_epi16(v, 4);
            acc0[i] = _mm512_dpbusd_epi32(acc0[i], _mm512_and_si512(v, mask), x0);
            acc1[i] = _mm512_dpbusd_epi32(acc1[i], _mm512_and_si512(v, mask4), x1);
            acc0[i] = _mm512_dpbusd_epi32(acc0[i], _mm512_and_si512(v4, mask), x2);
            acc1[i] = _mm512_dpbusd_epi32(acc1[i], _mm512_and_si512(v4, mask4), x3);
        }
    }
    for (int i = 0; i < R; i++) {
        const __m512i sum = _mm512_add_epi32(acc0[i], _mm512_srai_epi32(acc1[i], 2));
        psyne__ternary_store(job, 0, r + (uint32_t)i, _mm512_reduce_add_epi32(sum) - job->xsum[0]);
    }
}

/* Rows [row_begin, row_end) of one token, the first PREFETCH_BYTES requested
 * at once, then GEMV_R rows at a time. */
static void vnni_gemv_rows(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end)
{
    const uint8_t *limit = job->packed + (size_t)row_end * job->row_bytes;
    psyne__ternary_prefetch_head(job->packed + (size_t)row_begin * job->row_bytes, limit, PREFETCH_BYTES);
    uint32_t r = row_begin;
    for (; r + GEMV_R <= row_end; r += GEMV_R) vnni_gemv(job, r, GEMV_R, limit);
    for (; r < row_end; r++) vnni_gemv(job, r, 1, limit);
}

void psyne__ternary_rows_avx512_vnni(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end)
{
    uint32_t r = row_begin;
    if (job->tokens == 1) {
        vnni_gemv_rows(job, row_begin, row_end);
        return;
    }
    for (; r + 4 <= row_end; r += 4) {
        uint32_t t = 0;
        for (; t + 4 <= job->tokens; t += 4) vnni_tile_4x4(job, r, t);
        if (t < job->tokens) vnni_rows_tokens(job, r, t, 4);
    }
    switch (row_end - r) {
    case 3: vnni_rows_tokens(job, r, 0, 3); break;
    case 2: vnni_rows_tokens(job, r, 0, 2); break;
    case 1: vnni_rows_tokens(job, r, 0, 1); break;
    default: break;
    }
}

/* ---- AVX-512BW without VNNI ---------------------------------------------- */

INLINE void bw_tile(const psyne__ternary_job *job, uint32_t r, uint32_t t0, const int R, const int T)
{
    const __m512i mask = _mm512_set1_epi8(3);
    const __m512i ones = _mm512_set1_epi16(1);
    const uint8_t *w[MAX_R];
    const int8_t *x[MAX_T];
    __m512i acc[MAX_R][MAX_T];
    for (int i = 0; i < R; i++) w[i] = job->packed + (size_t)(r + i) * job->row_bytes;
    for (int j = 0; j < T; j++) x[j] = job->x + (size_t)(t0 + j) * job->x_stride;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm512_setzero_si512();
    const uint32_t blocks = job->blocks;
    for (uint32_t b0 = 0; b0 < blocks; b0 += BW_FLUSH_BLOCKS) {
        const uint32_t b1 = blocks - b0 < BW_FLUSH_BLOCKS ? blocks : b0 + BW_FLUSH_BLOCKS;
        __m512i acc16[MAX_R][MAX_T];
        for (int i = 0; i < R; i++)
            for (int j = 0; j < T; j++) acc16[i][j] = _mm512_setzero_si512();
        for (uint32_t b = b0; b < b1; b++) {
            __m512i c[MAX_R][4];
            for (int i = 0; i < R; i++) unpack4(w[i] + 64 * (size_t)b, mask, c[i]);
            for (int k = 0; k < 4; k++)
                for (int j = 0; j < T; j++) {
                    const __m512i xv = _mm512_load_si512((const void *)(x[j] + 256 * (size_t)b + 64 * k));
                    for (int i = 0; i < R; i++)
                        acc16[i][j] = _mm512_add_epi16(acc16[i][j], _mm512_maddubs_epi16(c[i][k], xv));
                }
        }
        for (int i = 0; i < R; i++)
            for (int j = 0; j < T; j++) acc[i][j] = _mm512_add_epi32(acc[i][j], _mm512_madd_epi16(acc16[i][j], ones));
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            psyne__ternary_store(job, t0 + (uint32_t)j, r + (uint32_t)i,
                                 _mm512_reduce_add_epi32(acc[i][j]) - job->xsum[t0 + (uint32_t)j]);
}

/* The 4 x 4 tile of the VNNI kernel with vpmaddubsw + int16 sums; the int32
 * partials live in memory and are touched only every BW_FLUSH_BLOCKS blocks. */
static void bw_tile_4x4(const psyne__ternary_job *job, uint32_t r, uint32_t t0)
{
    const __m512i mask = _mm512_set1_epi8(3);
    const __m512i ones = _mm512_set1_epi16(1);
    const size_t rb = job->row_bytes;
    const uint8_t *w0 = job->packed + (size_t)r * rb;
    const size_t xs = job->x_stride;
    const int8_t *x = job->x + (size_t)t0 * xs;
    __m512i acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_si512();
    const uint32_t blocks = job->blocks;
    for (uint32_t b0 = 0; b0 < blocks; b0 += BW_FLUSH_BLOCKS) {
        const uint32_t b1 = blocks - b0 < BW_FLUSH_BLOCKS ? blocks : b0 + BW_FLUSH_BLOCKS;
        __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00;
        __m512i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        __m512i a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        __m512i a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (uint32_t b = b0; b < b1; b++) {
            const uint8_t *wb = w0 + 64 * (size_t)b;
            const __m512i v0 = _mm512_load_si512((const void *)wb);
            const __m512i v1 = _mm512_load_si512((const void *)(wb + rb));
            const __m512i v2 = _mm512_load_si512((const void *)(wb + 2 * rb));
            const __m512i v3 = _mm512_load_si512((const void *)(wb + 3 * rb));
            const int8_t *xb = x + 256 * (size_t)b;
            _mm_prefetch((const char *)(wb + 4 * rb), _MM_HINT_T0);
            _mm_prefetch((const char *)(wb + 5 * rb), _MM_HINT_T0);
            _mm_prefetch((const char *)(wb + 6 * rb), _MM_HINT_T0);
            _mm_prefetch((const char *)(wb + 7 * rb), _MM_HINT_T0);
#define QUARTER(k)                                                                                  \
            do {                                                                                    \
                const __m512i c0 = _mm512_and_si512(_mm512_srli_epi16(v0, 2 * (k)), mask);          \
                const __m512i c1 = _mm512_and_si512(_mm512_srli_epi16(v1, 2 * (k)), mask);          \
                const __m512i c2 = _mm512_and_si512(_mm512_srli_epi16(v2, 2 * (k)), mask);          \
                const __m512i c3 = _mm512_and_si512(_mm512_srli_epi16(v3, 2 * (k)), mask);          \
                __m512i xv;                                                                         \
                STEP(0, a00, a10, a20, a30, k); STEP(1, a01, a11, a21, a31, k);                     \
                STEP(2, a02, a12, a22, a32, k); STEP(3, a03, a13, a23, a33, k);                     \
            } while (0)
#define STEP(j, acc0, acc1, acc2, acc3, k)                                              \
            xv = _mm512_load_si512((const void *)(xb + (j) * xs + 64 * (k)));          \
            KEEP_IN_REGISTER(xv);                                                       \
            acc0 = _mm512_add_epi16(acc0, _mm512_maddubs_epi16(c0, xv));                \
            acc1 = _mm512_add_epi16(acc1, _mm512_maddubs_epi16(c1, xv));                \
            acc2 = _mm512_add_epi16(acc2, _mm512_maddubs_epi16(c2, xv));                \
            acc3 = _mm512_add_epi16(acc3, _mm512_maddubs_epi16(c3, xv));                \
            KEEP_IN_REGISTER(acc0);                                                     \
            KEEP_IN_REGISTER(acc1);                                                     \
            KEEP_IN_REGISTER(acc2);                                                     \
            KEEP_IN_REGISTER(acc3)
            QUARTER(0);
            QUARTER(1);
            QUARTER(2);
            QUARTER(3);
#undef STEP
#undef QUARTER
        }
        const __m512i part[16] = {a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33};
        for (int i = 0; i < 16; i++) acc[i] = _mm512_add_epi32(acc[i], _mm512_madd_epi16(part[i], ones));
    }
    int32_t sums[16];
    _mm512_storeu_si512((void *)sums, reduce16(acc));
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t j = 0; j < 4; j++) psyne__ternary_store(job, t0 + j, r + i, sums[4 * i + j] - job->xsum[t0 + j]);
}

INLINE void bw_rows_tokens(const psyne__ternary_job *job, uint32_t r, uint32_t t, const int R)
{
    const uint32_t tokens = job->tokens;
    for (; t + MAX_T <= tokens; t += MAX_T) bw_tile(job, r, t, R, MAX_T);
    switch (tokens - t) {
    case 7: bw_tile(job, r, t, R, 7); break;
    case 6: bw_tile(job, r, t, R, 6); break;
    case 5: bw_tile(job, r, t, R, 5); break;
    case 4: bw_tile(job, r, t, R, 4); break;
    case 3: bw_tile(job, r, t, R, 3); break;
    case 2: bw_tile(job, r, t, R, 2); break;
    case 1: bw_tile(job, r, t, R, 1); break;
    default: break;
    }
}

INLINE void bw_gemv(const psyne__ternary_job *job, uint32_t r, const int R)
{
    const __m512i mask = _mm512_set1_epi8(3);
    const __m512i ones = _mm512_set1_epi16(1);
    const uint8_t *w[MAX_R];
    __m512i acc[MAX_R];
    for (int i = 0; i < R; i++) {
        w[i] = job->packed + (size_t)(r + i) * job->row_bytes;
        acc[i] = _mm512_setzero_si512();
    }
    const int8_t *x = job->x;
    const uint32_t blocks = job->blocks;
    for (uint32_t b0 = 0; b0 < blocks; b0 += BW_FLUSH_BLOCKS) {
        const uint32_t b1 = blocks - b0 < BW_FLUSH_BLOCKS ? blocks : b0 + BW_FLUSH_BLOCKS;
        __m512i acc16[MAX_R];
        for (int i = 0; i < R; i++) acc16[i] = _mm512_setzero_si512();
        for (uint32_t b = b0; b < b1; b++) {
            const __m512i x0 = _mm512_load_si512((const void *)(x + 256 * (size_t)b));
            const __m512i x1 = _mm512_load_si512((const void *)(x + 256 * (size_t)b + 64));
            const __m512i x2 = _mm512_load_si512((const void *)(x + 256 * (size_t)b + 128));
            const __m512i x3 = _mm512_load_si512((const void *)(x + 256 * (size_t)b + 192));
            for (int i = 0; i < R; i++) {
                const uint8_t *p = w[i] + 64 * (size_t)b;
                _mm_prefetch((const char *)(p + PREFETCH_BYTES), _MM_HINT_T1);
                __m512i c[4];
                unpack4(p, mask, c);
                const __m512i s01 = _mm512_add_epi16(_mm512_maddubs_epi16(c[0], x0), _mm512_maddubs_epi16(c[1], x1));
                const __m512i s23 = _mm512_add_epi16(_mm512_maddubs_epi16(c[2], x2), _mm512_maddubs_epi16(c[3], x3));
                acc16[i] = _mm512_add_epi16(acc16[i], _mm512_add_epi16(s01, s23));
            }
        }
        for (int i = 0; i < R; i++) acc[i] = _mm512_add_epi32(acc[i], _mm512_madd_epi16(acc16[i], ones));
    }
    for (int i = 0; i < R; i++)
        psyne__ternary_store(job, 0, r + (uint32_t)i, _mm512_reduce_add_epi32(acc[i]) - job->xsum[0]);
}

void psyne__ternary_rows_avx512(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end)
{
    uint32_t r = row_begin;
    if (job->tokens == 1) {
        for (; r + 4 <= row_end; r += 4) bw_gemv(job, r, 4);
        switch (row_end - r) {
        case 3: bw_gemv(job, r, 3); break;
        case 2: bw_gemv(job, r, 2); break;
        case 1: bw_gemv(job, r, 1); break;
        default: break;
        }
        return;
    }
    for (; r + 4 <= row_end; r += 4) {
        uint32_t t = 0;
        for (; t + 4 <= job->tokens; t += 4) bw_tile_4x4(job, r, t);
        if (t < job->tokens) bw_rows_tokens(job, r, t, 4);
    }
    switch (row_end - r) {
    case 3: bw_rows_tokens(job, r, 0, 3); break;
    case 2: bw_rows_tokens(job, r, 0, 2); break;
    case 1: bw_rows_tokens(job, r, 0, 1); break;
    default: break;
    }
}

/* ---- activation quantiser ------------------------------------------------- */

float psyne__absmax_avx512(const float *x, size_t n, int *nonfinite)
{
    const __m512 flt_max = _mm512_set1_ps(3.402823466e38f);
    __m512 m = _mm512_setzero_ps();
    __mmask16 bad = 0;
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(live, x + i));
        bad |= _mm512_cmp_ps_mask(a, flt_max, _CMP_NLE_UQ); /* NaN or infinite */
        m = _mm512_max_ps(m, a);
    }
    *nonfinite = bad != 0;
    return _mm512_reduce_max_ps(m);
}

/* Eight doubles of x * 127 / a, rounded half away from zero: the operations
 * of psyne__round_activation, lane by lane. */
INLINE __m256i round8(__m512d v)
{
    const __m512d t = _mm512_roundscale_pd(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512d frac = _mm512_sub_pd(v, t);
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d q = _mm512_mask_add_pd(t, _mm512_cmp_pd_mask(frac, _mm512_set1_pd(0.5), _CMP_GE_OQ), t, one);
    q = _mm512_mask_sub_pd(q, _mm512_cmp_pd_mask(frac, _mm512_set1_pd(-0.5), _CMP_LE_OQ), q, one);
    return _mm512_cvttpd_epi32(q);
}

void psyne__quantize_avx512(const float *x, uint32_t cols, float absmax, int8_t *xq)
{
    if (absmax == 0.0f) {
        memset(xq, 0, cols);
        return;
    }
    const __m512d a = _mm512_set1_pd((double)absmax);
    const __m512d k127 = _mm512_set1_pd(127.0);
    for (uint32_t i = 0; i < cols; i += 16) {
        const __mmask16 live = cols - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - i)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(live, x + i);
        const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        const __m256i qlo = round8(_mm512_div_pd(_mm512_mul_pd(lo, k127), a));
        const __m256i qhi = round8(_mm512_div_pd(_mm512_mul_pd(hi, k127), a));
        const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(qlo), qhi, 1);
        _mm_mask_storeu_epi8(xq + i, live, _mm512_cvtsepi32_epi8(q)); /* |q| <= 127: no saturation happens */
    }
}
