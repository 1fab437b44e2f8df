/*
 * ternary_dispatch.c - the public matmul entry points, the kernel table, and
 * the per-thread activation scratch.
 *
 * A call checks its arguments, copies the caller's activations into this
 * thread's scratch (64-byte aligned, each token zero-padded to padded_cols,
 * with its sum and its float scale beside it), resolves the kernel from the
 * selected ISA (one relaxed atomic load, so psyne_isa_select takes effect at
 * once) and hands rows to the thread pool. Tokens go through in tiles of at
 * most TILE_TOKENS so the scratch stays small and in cache whatever the batch.
 */
#include "kernels/ternary_internal.h"

#include "core/threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
    TILE_TOKENS = 64,                       /* tokens per pass over the weights */
    TILE_BYTES = 4 * 1024 * 1024,           /* fewer tokens per tile when a token is this large */
    MIN_GRAIN_ROWS = 16,
    MAX_GRAIN_ROWS = 256,
    CHUNKS_PER_THREAD = 8,                  /* enough chunks for the pool to balance load */
    GEMV_CHUNKS_PER_THREAD = 4              /* one token: long chunks, see grain_for */
};

/* The one dispatch table, indexed by psyne_ternary_kernel: the matmul and
 * the activation quantiser of each variant. */
static const psyne__ternary_kernel_entry kernels[] = {
    [PSYNE_TERNARY_KERNEL_AUTO] = {"auto", NULL, NULL, NULL},
    [PSYNE_TERNARY_KERNEL_SCALAR] = {"scalar", psyne__ternary_rows_scalar, psyne__absmax_scalar, psyne__quantize_scalar},
#if PSYNE_X86_64
    [PSYNE_TERNARY_KERNEL_AVX2] = {"avx2", psyne__ternary_rows_avx2, psyne__absmax_avx2, psyne__quantize_avx2},
    [PSYNE_TERNARY_KERNEL_AVX512] = {"avx512", psyne__ternary_rows_avx512, psyne__absmax_avx512, psyne__quantize_avx512},
    [PSYNE_TERNARY_KERNEL_AVX512_VNNI] = {"avx512-vnni", psyne__ternary_rows_avx512_vnni, psyne__absmax_avx512,
                                          psyne__quantize_avx512},
#else
    [PSYNE_TERNARY_KERNEL_AVX2] = {"avx2", NULL, NULL, NULL},
    [PSYNE_TERNARY_KERNEL_AVX512] = {"avx512", NULL, NULL, NULL},
    [PSYNE_TERNARY_KERNEL_AVX512_VNNI] = {"avx512-vnni", NULL, NULL, NULL},
#endif
};
enum { KERNEL_COUNT = sizeof kernels / sizeof kernels[0] };

static psyne_ternary_kernel resolve_auto(void)
{
#if PSYNE_X86_64
    switch (psyne__isa()) {
    case PSYNE_ISA_AVX512:
        return (psyne__cpu_features() & PSYNE_CPU_AVX512VNNI) ? PSYNE_TERNARY_KERNEL_AVX512_VNNI
                                                              : PSYNE_TERNARY_KERNEL_AVX512;
    case PSYNE_ISA_AVX2:
        return PSYNE_TERNARY_KERNEL_AVX2;
    default:
        return PSYNE_TERNARY_KERNEL_SCALAR;
    }
#else
    return PSYNE_TERNARY_KERNEL_SCALAR;
#endif
}

const psyne__ternary_kernel_entry *psyne__ternary_auto(void)
{
    return &kernels[resolve_auto()];
}

psyne_ternary_kernel psyne_ternary_kernel_selected(void)
{
    return resolve_auto();
}

const char *psyne_ternary_kernel_name(psyne_ternary_kernel kernel)
{
    if ((int)kernel < 0 || (int)kernel >= KERNEL_COUNT) return "unknown";
    return kernels[kernel].name;
}

static psyne_status check_kernel(const char *fn, psyne_ternary_kernel kernel)
{
    if ((int)kernel < 0 || (int)kernel >= KERNEL_COUNT)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: %d is not a psyne_ternary_kernel value", fn, (int)kernel);
    if (kernel == PSYNE_TERNARY_KERNEL_AUTO || kernel == PSYNE_TERNARY_KERNEL_SCALAR) return PSYNE_OK;
    if (!kernels[kernel].rows)
        return psyne__fail(PSYNE_E_UNSUPPORTED, "%s: the %s kernel exists for x86-64 only", fn, kernels[kernel].name);
    const psyne_isa needs = kernel == PSYNE_TERNARY_KERNEL_AVX2 ? PSYNE_ISA_AVX2 : PSYNE_ISA_AVX512;
    if (!psyne__isa_supported(needs))
        return psyne__fail(PSYNE_E_UNSUPPORTED, "%s: the %s kernel needs the %s ISA level, which this CPU lacks", fn,
                           kernels[kernel].name, psyne_isa_name(needs));
    if (kernel == PSYNE_TERNARY_KERNEL_AVX512_VNNI && !(psyne__cpu_features() & PSYNE_CPU_AVX512VNNI))
        return psyne__fail(PSYNE_E_UNSUPPORTED, "%s: the avx512-vnni kernel needs AVX-512 VNNI, which this CPU lacks", fn);
    return PSYNE_OK;
}

/* ---- per-thread scratch ---------------------------------------------- */

typedef struct scratch {
    psyne_allocation alloc;
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_destroy(void *p)
{
    scratch *s = p;
    psyne_free(&s->alloc);
    free(s);
}

static void scratch_key_create(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_destroy) == 0;
}

/* At least bytes of 64-byte-aligned memory owned by the calling thread. */
static psyne_status scratch_get(const char *fn, size_t bytes, uint8_t **out)
{
    pthread_once(&scratch_once, scratch_key_create);
    if (!scratch_key_ok) return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "%s: cannot create the per-thread scratch key", fn);
    scratch *s = pthread_getspecific(scratch_key);
    if (s && s->alloc.size >= bytes) {
        *out = s->alloc.data;
        return PSYNE_OK;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "%s: cannot allocate the per-thread scratch", fn);
        if (pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "%s: cannot register the per-thread scratch", fn);
        }
    }
    psyne_free(&s->alloc);
    psyne_status st = psyne_alloc(bytes, PSYNE_TERNARY_BLOCK_BYTES, PSYNE_ALLOC_DEFAULT, &s->alloc);
    if (st != PSYNE_OK) return psyne__fail(st, "%s: cannot allocate %zu bytes of activation scratch", fn, bytes);
    *out = s->alloc.data;
    return PSYNE_OK;
}

/* ---- running a job --------------------------------------------------- */

typedef struct run_context {
    psyne__ternary_rows_fn rows;
    psyne__ternary_job job;
} run_context;

static void run_rows(void *context, uint32_t begin, uint32_t end)
{
    const run_context *c = context;
    c->rows(&c->job, begin, end);
}

/* Rows per pool chunk. A GEMV (one token) is a stream of weights from memory,
 * and every chunk restarts that stream (its first lines arrive at DRAM latency
 * before the prefetch runs ahead; docs/architecture.md, "GEMV from DRAM"), so
 * it gets about GEMV_CHUNKS_PER_THREAD long chunks per thread instead of ~8:
 * measured at 2 threads on Zen 4 from DRAM, 4096 x 4096 went from 87 % of a
 * streaming read with 256-row chunks to 93 % with 1024, and 11008 x 4096 from
 * 86 % to 98 % with 1376 or 2752. Since the pool's owner no longer waits for a
 * worker that never joined, the tail matters more than the restarts: four
 * per thread (512 rows for 4096 x 4096 at 2 threads) measured best
 * at 2 threads (median 0.85 of the same-run streaming read against 0.76 with
 * two; 11008 x 4096 0.88-0.91 either way), and one thread is unaffected. */
static uint32_t grain_for(uint32_t rows, uint32_t tokens)
{
    const uint32_t threads = psyne_threads_get();
    const uint32_t per_thread = tokens == 1 ? GEMV_CHUNKS_PER_THREAD : CHUNKS_PER_THREAD;
    uint32_t grain = rows / (threads * per_thread);
    grain = (grain + MIN_GRAIN_ROWS - 1) / MIN_GRAIN_ROWS * MIN_GRAIN_ROWS;
    if (grain < MIN_GRAIN_ROWS) grain = MIN_GRAIN_ROWS;
    if (tokens > 1 && grain > MAX_GRAIN_ROWS) grain = MAX_GRAIN_ROWS;
    return grain;
}

/* Validated: matrix, xq, tokens >= 1, exactly one of acc / y, absmax with y. */
static psyne_status run(const char *fn, psyne__ternary_rows_fn rows, const psyne_ternary_matrix *m, const int8_t *xq,
                        const float *absmax, uint32_t tokens, int32_t *acc, float *y)
{
    const size_t kp = m->padded_cols;
    /* One cache line more than a token needs: padded_cols is a multiple of
     * 256 and often of 4096, and tokens 4 KiB apart would all land in the
     * same L1 set, evicting each other inside the kernels' tiles. */
    const size_t stride = kp + PSYNE_TERNARY_BLOCK_BYTES;
    uint32_t tile = (uint32_t)(TILE_BYTES / stride);
    if (tile > TILE_TOKENS) tile = TILE_TOKENS;
    if (tile < 1) tile = 1;
    if (tile > tokens) tile = tokens;
    /* x (tile * stride bytes), then xsum and act_scale (tile of each). */
    const size_t x_bytes = (size_t)tile * stride;
    uint8_t *mem = NULL;
    psyne_status s = scratch_get(fn, x_bytes + (size_t)tile * (sizeof(int32_t) + sizeof(float)), &mem);
    if (s != PSYNE_OK) return s;
    int8_t *x = (int8_t *)mem;
    int32_t *xsum = (int32_t *)(mem + x_bytes);
    float *act_scale = (float *)(xsum + tile);

    run_context c;
    c.rows = rows;
    c.job.packed = m->packed;
    c.job.row_bytes = m->row_bytes;
    c.job.blocks = m->blocks;
    c.job.rows = m->rows;
    c.job.scale_stride = m->scale_mode == PSYNE_TERNARY_SCALE_ROW ? 1u : 0u;
    c.job.x = x;
    c.job.x_stride = stride;
    c.job.xsum = xsum;
    c.job.scales = m->scales;
    c.job.act_scale = act_scale;
    const uint32_t grain = grain_for(m->rows, tile);
    const uint32_t cols = m->cols;
    for (uint32_t t0 = 0; t0 < tokens; t0 += tile) {
        const uint32_t n = tokens - t0 < tile ? tokens - t0 : tile;
        for (uint32_t t = 0; t < n; t++) {
            const int8_t *src = xq + (size_t)(t0 + t) * cols;
            int8_t *dst = x + (size_t)t * stride;
            memcpy(dst, src, cols);
            memset(dst + cols, 0, kp - cols);
            int32_t sum = 0;
            for (uint32_t k = 0; k < cols; k++) sum += src[k];
            xsum[t] = sum;
            act_scale[t] = absmax ? absmax[t0 + t] / 127.0f : 0.0f;
        }
        c.job.tokens = n;
        c.job.acc = acc ? acc + (size_t)t0 * m->rows : NULL;
        c.job.y = y ? y + (size_t)t0 * m->rows : NULL;
        psyne__parallel_for(m->rows, grain, run_rows, &c);
    }
    return PSYNE_OK;
}

static psyne_status check_common(const char *fn, const psyne_ternary_matrix *m, const void *x, uint32_t tokens,
                                  const void *out, const char *out_name)
{
    if (!m) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: matrix must not be NULL", fn);
    if (!x) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: the activations must not be NULL", fn);
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: %s must not be NULL", fn, out_name);
    if (tokens == 0) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: tokens must be at least 1", fn);
    return PSYNE_OK;
}

psyne_status psyne_ternary_kernel_gemm_i32(psyne_ternary_kernel kernel, const psyne_ternary_matrix *matrix,
                                           const int8_t *xq, uint32_t tokens, int32_t *acc)
{
    static const char fn[] = "psyne_ternary_kernel_gemm_i32";
    psyne__clear_error();
    psyne_status s = check_kernel(fn, kernel);
    if (s == PSYNE_OK) s = check_common(fn, matrix, xq, tokens, acc, "acc");
    if (s != PSYNE_OK) return s;
    if (kernel == PSYNE_TERNARY_KERNEL_AUTO) kernel = resolve_auto();
    return run(fn, kernels[kernel].rows, matrix, xq, NULL, tokens, acc, NULL);
}

psyne_status psyne_ternary_gemm_i32(const psyne_ternary_matrix *matrix, const int8_t *xq, uint32_t tokens, int32_t *acc)
{
    static const char fn[] = "psyne_ternary_gemm_i32";
    psyne__clear_error();
    psyne_status s = check_common(fn, matrix, xq, tokens, acc, "acc");
    if (s != PSYNE_OK) return s;
    return run(fn, kernels[resolve_auto()].rows, matrix, xq, NULL, tokens, acc, NULL);
}

static psyne_status check_absmax(const char *fn, const float *absmax, uint32_t tokens)
{
    if (!absmax) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: absmax must not be NULL", fn);
    for (uint32_t t = 0; t < tokens; t++)
        if (!(absmax[t] >= 0.0f && absmax[t] <= 3.402823466e38f))
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: absmax[%u] is %g; it must be finite and >= 0", fn,
                               (unsigned)t, (double)absmax[t]);
    return PSYNE_OK;
}

psyne_status psyne_ternary_gemm(const psyne_ternary_matrix *matrix, const int8_t *xq, const float *absmax,
                                uint32_t tokens, float *y)
{
    static const char fn[] = "psyne_ternary_gemm";
    psyne__clear_error();
    psyne_status s = check_common(fn, matrix, xq, tokens, y, "y");
    if (s == PSYNE_OK) s = check_absmax(fn, absmax, tokens);
    if (s != PSYNE_OK) return s;
    return run(fn, kernels[resolve_auto()].rows, matrix, xq, absmax, tokens, NULL, y);
}

psyne_status psyne_bitlinear(const psyne_ternary_matrix *matrix, const float *x, uint32_t tokens, int8_t *xq_scratch,
                             float *absmax_scratch, float *y)
{
    static const char fn[] = "psyne_bitlinear";
    psyne__clear_error();
    psyne_status s = check_common(fn, matrix, x, tokens, y, "y");
    if (s != PSYNE_OK) return s;
    if (!xq_scratch || !absmax_scratch)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: xq_scratch and absmax_scratch must not be NULL", fn);
    s = psyne_quantize_activations(x, tokens, matrix->cols, xq_scratch, absmax_scratch);
    if (s != PSYNE_OK) return s;
    return run(fn, kernels[resolve_auto()].rows, matrix, xq_scratch, absmax_scratch, tokens, NULL, y);
}
