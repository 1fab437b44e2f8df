/*
 * ternary_internal.h - the ternary matrix object, the job every matmul kernel
 * receives, and the kernel table. Not installed.
 *
 * Packed layout (docs/ternary.md): row r occupies row_bytes = blocks * 64
 * bytes at packed + r * row_bytes; block b of a row covers columns
 * [256 b, 256 b + 256). Byte j (0..63) of a block holds the codes (w + 1, so
 * 0, 1 or 2) of columns 256 b + j + 64 k in bits 2k..2k+1, k = 0..3. Hence
 * (byte >> 2k) & 3 over the 64 bytes of a block gives the codes of 64
 * consecutive columns, lined up with one 64-byte load of activations.
 * Padding columns hold code 1 (weight 0).
 */
#ifndef PSYNE_TERNARY_INTERNAL_H
#define PSYNE_TERNARY_INTERNAL_H

#include "core/internal.h"

#include <stddef.h>
#include <stdint.h>

/* Packed matrices this large or larger ask for huge pages. */
enum { PSYNE__TERNARY_HUGE_BYTES = 2 * 1024 * 1024 };

struct psyne_ternary_matrix {
    uint32_t rows;
    uint32_t cols;
    uint32_t padded_cols;
    uint32_t blocks;         /* padded_cols / 256: blocks per row */
    uint32_t scale_mode;     /* psyne_ternary_scale_mode */
    uint32_t scale_count;    /* 1 or rows */
    size_t row_bytes;        /* blocks * 64 */
    size_t packed_bytes;     /* rows * row_bytes */
    uint8_t *packed;         /* 64-byte aligned, in packed_alloc */
    float *scales;           /* scale_count floats */
    psyne_allocation packed_alloc;
};

/* ---- matrix helpers (ternary_pack.c) ---------------------------------- */

/* Validates the shape and computes padded_cols, blocks, row_bytes and
 * packed_bytes into *shape (other fields zero). status names `function`;
 * `format` selects PSYNE_E_FORMAT instead of PSYNE_E_INVALID_ARGUMENT. */
psyne_status psyne__ternary_shape(const char *function, uint32_t rows, uint32_t cols, int format,
                                  struct psyne_ternary_matrix *shape);

/* Allocates a matrix for a shape from psyne__ternary_shape: packed storage
 * (uninitialised) and scale_count scales (uninitialised). */
psyne_status psyne__ternary_alloc(const char *function, const struct psyne_ternary_matrix *shape, uint32_t scale_mode,
                                  psyne_ternary_matrix **out);

/* Packs one row of ternary values (cols of them, each -1, 0 or 1) into dst
 * (row_bytes), padding with zero weights. */
void psyne__ternary_pack_row(const int8_t *wq, uint32_t cols, uint32_t blocks, uint8_t *dst);

/* Returns the index of the first packed byte that holds code 3, or of the
 * first padding column whose code is not 1, or SIZE_MAX when the row is valid.
 * *column gets the column of the offending weight. */
size_t psyne__ternary_check_row(const uint8_t *row, uint32_t cols, uint32_t blocks, uint32_t *column);

/* ---- matmul jobs ----------------------------------------------------- */

/* Everything a kernel needs. x is the caller's activations copied into a
 * 64-byte-aligned scratch, padded with zeros to padded_cols per token
 * (x_stride = padded_cols bytes between tokens), with xsum[t] = sum of token
 * t's activations, so a kernel may compute sum (code - 1) * x as
 * sum code * x - xsum exactly in int32. Output for (t, r) goes to acc or, when
 * y is not NULL, to y via psyne__ternary_store. */
typedef struct psyne__ternary_job {
    const uint8_t *packed;
    size_t row_bytes;
    uint32_t blocks;
    uint32_t rows;           /* output stride between tokens */
    uint32_t tokens;
    uint32_t scale_stride;   /* 0 (one scale) or 1 (a scale per row) */
    const int8_t *x;
    size_t x_stride;
    const int32_t *xsum;
    const float *scales;
    const float *act_scale;  /* per token: absmax / 127.0f */
    int32_t *acc;
    float *y;
} psyne__ternary_job;

/* Computes outputs for rows [row_begin, row_end), every token. */
typedef void (*psyne__ternary_rows_fn)(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end);

/* max |x| over n floats; sets *nonfinite to 1 when any is NaN or infinite
 * (the maximum is then meaningless), else 0. */
typedef float (*psyne__absmax_fn)(const float *x, size_t n, int *nonfinite);

/* Quantises one token of finite x whose absmax is known (docs/ternary.md). */
typedef void (*psyne__quantize_fn)(const float *x, uint32_t cols, float absmax, int8_t *xq);

/* One row of the dispatch table (ternary_dispatch.c). */
typedef struct psyne__ternary_kernel_entry {
    const char *name;
    psyne__ternary_rows_fn rows;   /* NULL where the platform has no such kernel */
    psyne__absmax_fn absmax;
    psyne__quantize_fn quantize;
} psyne__ternary_kernel_entry;

/* The entry PSYNE_TERNARY_KERNEL_AUTO resolves to now. */
const psyne__ternary_kernel_entry *psyne__ternary_auto(void);

/* round((double)x * 127 / a) half away from zero, for |x| <= a: |v| <= 127,
 * so the truncation fits int32 and v - t is exact. The one scalar definition:
 * SIMD variants do the same IEEE operations in the same order and use this
 * for their tails, so every variant gives the same bytes. */
static inline int8_t psyne__round_activation(double v)
{
    const int32_t t = (int32_t)v;
    const double frac = v - (double)t;
    const int32_t q = t + (frac >= 0.5) - (frac <= -0.5);
    return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

/* The one expression every kernel uses for its final value: so the float
 * output is identical across kernels. */
static inline void psyne__ternary_store(const psyne__ternary_job *job, uint32_t t, uint32_t r, int32_t value)
{
    const size_t index = (size_t)t * job->rows + r;
    if (job->y) job->y[index] = ((float)value * job->scales[(size_t)r * job->scale_stride]) * job->act_scale[t];
    else job->acc[index] = value;
}

/* Requests the first `bytes` of a GEMV's weight range [begin, limit) into L2
 * at once (prefetcht1). The kernels' in-loop prefetch only reaches lines that
 * far ahead, so each chunk of the thread pool would otherwise start with a
 * stretch of latency-bound misses. */
static inline void psyne__ternary_prefetch_head(const uint8_t *begin, const uint8_t *limit, size_t bytes)
{
    const uint8_t *head = (size_t)(limit - begin) > bytes ? begin + bytes : limit;
    for (const uint8_t *p = begin; p < head; p += 64) __builtin_prefetch(p, 0, 2);
}

void psyne__ternary_rows_scalar(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end);
float psyne__absmax_scalar(const float *x, size_t n, int *nonfinite);
void psyne__quantize_scalar(const float *x, uint32_t cols, float absmax, int8_t *xq);
#if PSYNE_X86_64
void psyne__ternary_rows_avx2(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end);
void psyne__ternary_rows_avx512(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end);
void psyne__ternary_rows_avx512_vnni(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end);
float psyne__absmax_avx2(const float *x, size_t n, int *nonfinite);
void psyne__quantize_avx2(const float *x, uint32_t cols, float absmax, int8_t *xq);
float psyne__absmax_avx512(const float *x, size_t n, int *nonfinite);
void psyne__quantize_avx512(const float *x, uint32_t cols, float absmax, int8_t *xq);
#endif

#endif /* PSYNE_TERNARY_INTERNAL_H */
