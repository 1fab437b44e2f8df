/* bench_ternary.c - throughput of the ternary GEMV/GEMM kernels, with the
 * peers the targets are stated against, measured in the same run:
 *   - hot GEMV vs an AVX-512 fp32 GEMV (dot per row) over 64 MiB of floats;
 *   - cold GEMV (weights rotated over >= 1 GiB of copies, so they come from
 *     DRAM) vs a streaming AVX-512 read of >= 1 GiB at the same thread count;
 *   - GEMM GOPS (2 * rows * cols * tokens / time) per kernel.
 * Every kernel's int32 accumulators are checked against the scalar kernel
 * (the "wrong" column counts mismatching outputs, as nccl-tests do).
 *
 * Not part of ctest; build against a release build, e.g.
 *
 *   gcc -std=c11 -O2 -D_GNU_SOURCE -Inative/include native/bench/bench_ternary.c \
 *       -Lbuild/native -lpsyne -lpthread -Wl,-rpath,$PWD/build/native -o build/bench_ternary
 *   ./build/bench_ternary [--quick] [--cold-mib N]
 *
 * Each figure is the best of several timed rounds of about 0.1 s.
 */
#include <psyne/psyne.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#  include <immintrin.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(const char *what, psyne_status s)
{
    fprintf(stderr, "%s failed: %s: %s\n", what, psyne_status_name(s), psyne_last_error());
    exit(1);
}

static int quick = 0;

/* Best seconds per call of fn over rounds of at least min_seconds. */
typedef void (*bench_fn)(void *ctx);
static double best_time(bench_fn fn, void *ctx, double min_seconds)
{
    fn(ctx); /* warm-up */
    double best = 1e30;
    const int rounds = quick ? 2 : 5;
    for (int round = 0; round < rounds; round++) {
        int calls = 0;
        const double start = now();
        double elapsed;
        do {
            fn(ctx);
            calls++;
            elapsed = now() - start;
        } while (elapsed < min_seconds);
        if (elapsed / calls < best) best = elapsed / calls;
    }
    return best;
}

/* ---- the ternary kernels ---------------------------------------------- */

typedef struct gemm_ctx {
    psyne_ternary_kernel kernel;
    psyne_ternary_matrix *m;
    const int8_t *xq;
    uint32_t tokens;
    int32_t *acc;
} gemm_ctx;

static void run_gemm(void *p)
{
    gemm_ctx *c = p;
    psyne_status s = psyne_ternary_kernel_gemm_i32(c->kernel, c->m, c->xq, c->tokens, c->acc);
    if (s != PSYNE_OK) die("psyne_ternary_kernel_gemm_i32", s);
}

/* ---- peers ------------------------------------------------------------- */

#if defined(__x86_64__)
typedef struct fp32_ctx {
    const float *w;
    const float *x;
    float *y;
    uint32_t rows, cols;
} fp32_ctx;

/* The plain fp32 GEMV the issue compares against: one dot per row, 4 rows at
 * a time so the loads of x are shared, FMA into 512-bit accumulators. */
__attribute__((target("avx512f,fma"))) static void run_fp32_gemv(void *p)
{
    fp32_ctx *c = p;
    for (uint32_t r = 0; r < c->rows; r += 4) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const float *w0 = c->w + (size_t)r * c->cols, *w1 = w0 + c->cols, *w2 = w1 + c->cols, *w3 = w2 + c->cols;
        for (uint32_t k = 0; k < c->cols; k += 16) {
            const __m512 xv = _mm512_loadu_ps(c->x + k);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + k), xv, a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + k), xv, a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + k), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + k), xv, a3);
        }
        c->y[r] = _mm512_reduce_add_ps(a0);
        c->y[r + 1] = _mm512_reduce_add_ps(a1);
        c->y[r + 2] = _mm512_reduce_add_ps(a2);
        c->y[r + 3] = _mm512_reduce_add_ps(a3);
    }
}

typedef struct stream_ctx {
    const uint8_t *data;
    size_t bytes;
    uint64_t sink;
} stream_ctx;

/* Streaming read: the most bandwidth one thread draws from memory. */
__attribute__((target("avx512f"))) static void *stream_read_part(void *p)
{
    stream_ctx *c = p;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 256 <= c->bytes; i += 256) {
        a0 = _mm512_xor_si512(a0, _mm512_load_si512((const void *)(c->data + i)));
        a1 = _mm512_xor_si512(a1, _mm512_load_si512((const void *)(c->data + i + 64)));
        a2 = _mm512_xor_si512(a2, _mm512_load_si512((const void *)(c->data + i + 128)));
        a3 = _mm512_xor_si512(a3, _mm512_load_si512((const void *)(c->data + i + 192)));
    }
    a0 = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    c->sink = (uint64_t)_mm512_reduce_add_epi64(a0);
    return NULL;
}

/* Seconds of one pass reading bytes at data with `threads` threads. */
static double stream_read_pass(const uint8_t *data, size_t bytes, uint32_t threads)
{
    stream_ctx ctx[8];
    pthread_t tid[8];
    const size_t part = bytes / threads;
    const double start = now();
    for (uint32_t t = 0; t < threads; t++) {
        ctx[t] = (stream_ctx){.data = data + t * part, .bytes = part};
        if (t) pthread_create(&tid[t], NULL, stream_read_part, &ctx[t]);
    }
    stream_read_part(&ctx[0]);
    for (uint32_t t = 1; t < threads; t++) pthread_join(tid[t], NULL);
    return now() - start;
}
#endif

/* ---- the report ---------------------------------------------------------- */

static psyne_ternary_matrix *random_matrix(uint32_t rows, uint32_t cols)
{
    int8_t *wq = malloc((size_t)rows * cols);
    for (size_t i = 0; i < (size_t)rows * cols; i++) wq[i] = (int8_t)((int)(next_random() % 3) - 1);
    float scale = 0.02f;
    psyne_ternary_matrix *m = NULL;
    psyne_status s = psyne_ternary_pack(wq, rows, cols, PSYNE_TERNARY_SCALE_TENSOR, &scale, 1, &m);
    if (s != PSYNE_OK) die("psyne_ternary_pack", s);
    free(wq);
    return m;
}

static int kernel_ok(psyne_ternary_kernel k)
{
    int8_t xq[1] = {0};
    int32_t acc[1];
    float scale = 1.0f;
    int8_t wq[1] = {1};
    psyne_ternary_matrix *m = NULL;
    psyne_ternary_pack(wq, 1, 1, PSYNE_TERNARY_SCALE_TENSOR, &scale, 1, &m);
    psyne_status s = psyne_ternary_kernel_gemm_i32(k, m, xq, 1, acc);
    psyne_ternary_free(m);
    return s == PSYNE_OK;
}

static void bench_shapes(void)
{
    static const uint32_t shapes[][2] = {{4096, 4096}, {11008, 4096}};
    static const psyne_ternary_kernel kernels[] = {PSYNE_TERNARY_KERNEL_SCALAR, PSYNE_TERNARY_KERNEL_AVX2,
                                                   PSYNE_TERNARY_KERNEL_AVX512, PSYNE_TERNARY_KERNEL_AVX512_VNNI};
    const uint32_t max_tokens = 32;
    printf("\n%-12s %-6s %-7s %-12s %10s %10s %12s %6s\n", "shape", "batch", "threads", "kernel", "time_us", "GOPS",
           "weight_GB/s", "wrong");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const uint32_t rows = shapes[s][0], cols = shapes[s][1];
        psyne_ternary_matrix *m = random_matrix(rows, cols);
        psyne_ternary_matrix_info info;
        psyne_ternary_info(m, &info);
        int8_t *xq = malloc((size_t)max_tokens * cols);
        for (size_t i = 0; i < (size_t)max_tokens * cols; i++) xq[i] = (int8_t)((int)(next_random() % 255) - 127);
        int32_t *ref = malloc((size_t)max_tokens * rows * 4), *acc = malloc((size_t)max_tokens * rows * 4);
        static const uint32_t batches[] = {1, 32};
        for (size_t b = 0; b < 2; b++) {
            const uint32_t tokens = batches[b];
            psyne_threads_set(2);
            gemm_ctx rc = {PSYNE_TERNARY_KERNEL_SCALAR, m, xq, tokens, ref};
            run_gemm(&rc);
            for (uint32_t threads = 1; threads <= 2; threads++) {
                psyne_threads_set(threads);
                for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
                    if (!kernel_ok(kernels[k])) continue;
                    if (kernels[k] == PSYNE_TERNARY_KERNEL_SCALAR && tokens > 1) continue; /* seconds per call */
                    gemm_ctx c = {kernels[k], m, xq, tokens, acc};
                    memset(acc, 0, (size_t)tokens * rows * 4);
                    run_gemm(&c);
                    size_t wrong = 0;
                    for (size_t i = 0; i < (size_t)tokens * rows; i++) wrong += acc[i] != ref[i];
                    const double t = best_time(run_gemm, &c, quick ? 0.05 : 0.1);
                    const double ops = 2.0 * rows * cols * tokens;
                    char name[32];
                    snprintf(name, sizeof name, "%ux%u", (unsigned)rows, (unsigned)cols);
                    printf("%-12s %-6u %-7u %-12s %10.1f %10.1f %12.1f %6zu\n", name, (unsigned)tokens,
                           (unsigned)threads, psyne_ternary_kernel_name(kernels[k]), t * 1e6, ops / t / 1e9,
                           (double)info.packed_bytes / t / 1e9, wrong);
                }
            }
        }
        free(xq);
        free(ref);
        free(acc);
        psyne_ternary_free(m);
    }
}

typedef struct bitlinear_ctx {
    psyne_ternary_matrix *m;
    const float *x;
    uint32_t tokens;
    int8_t *xq;
    float *absmax, *y;
} bitlinear_ctx;

static void run_bitlinear(void *p)
{
    bitlinear_ctx *c = p;
    psyne_status s = psyne_bitlinear(c->m, c->x, c->tokens, c->xq, c->absmax, c->y);
    if (s != PSYNE_OK) die("psyne_bitlinear", s);
}

static void run_quantize(void *p)
{
    bitlinear_ctx *c = p;
    psyne_status s = psyne_quantize_activations(c->x, c->tokens, 4096, c->xq, c->absmax);
    if (s != PSYNE_OK) die("psyne_quantize_activations", s);
}

/* The whole layer from float activations: quantise + matmul + scale. */
static void bench_bitlinear(void)
{
    const uint32_t rows = 4096, cols = 4096, max_tokens = 32;
    psyne_ternary_matrix *m = random_matrix(rows, cols);
    float *x = malloc((size_t)max_tokens * cols * sizeof(float));
    for (size_t i = 0; i < (size_t)max_tokens * cols; i++) x[i] = (float)((int)(next_random() % 2001) - 1000) * 1e-3f;
    int8_t *xq = malloc((size_t)max_tokens * cols);
    float *absmax = malloc(max_tokens * sizeof(float)), *y = malloc((size_t)max_tokens * rows * sizeof(float));
    printf("\nbitlinear 4096x4096 (float in, float out), %s:\n", psyne_ternary_kernel_name(psyne_ternary_kernel_selected()));
    printf("%-6s %-7s %14s %14s\n", "batch", "threads", "quantize_us", "bitlinear_us");
    for (uint32_t tokens = 1; tokens <= max_tokens; tokens *= 32)
        for (uint32_t threads = 1; threads <= 2; threads++) {
            psyne_threads_set(threads);
            bitlinear_ctx c = {m, x, tokens, xq, absmax, y};
            const double tq = best_time(run_quantize, &c, quick ? 0.05 : 0.1);
            const double tb = best_time(run_bitlinear, &c, quick ? 0.05 : 0.1);
            printf("%-6u %-7u %14.1f %14.1f\n", (unsigned)tokens, (unsigned)threads, tq * 1e6, tb * 1e6);
        }
    free(x);
    free(xq);
    free(absmax);
    free(y);
    psyne_ternary_free(m);
}

#if defined(__x86_64__)
static void bench_fp32_peer(void)
{
    const uint32_t rows = 4096, cols = 4096;
    float *w = aligned_alloc(64, (size_t)rows * cols * 4), *x = aligned_alloc(64, cols * 4), *y = malloc(rows * 4);
    for (size_t i = 0; i < (size_t)rows * cols; i++) w[i] = (float)((int)(next_random() % 3) - 1) * 0.02f;
    for (uint32_t i = 0; i < cols; i++) x[i] = (float)((int)(next_random() % 255) - 127);
    fp32_ctx c = {w, x, y, rows, cols};
    psyne_ternary_matrix *m = random_matrix(rows, cols);
    int8_t *xq = malloc(cols);
    for (uint32_t i = 0; i < cols; i++) xq[i] = (int8_t)((int)(next_random() % 255) - 127);
    int32_t *acc = malloc(rows * 4);
    psyne_threads_set(1);
    gemm_ctx g = {PSYNE_TERNARY_KERNEL_AUTO, m, xq, 1, acc};
    /* Alternate the peer and the kernel so both see the same machine. */
    double t = 1e30, tt = 1e30;
    for (int round = 0; round < 3; round++) {
        const double a = best_time(run_fp32_gemv, &c, quick ? 0.05 : 0.1);
        const double b = best_time(run_gemm, &g, quick ? 0.05 : 0.1);
        if (a < t) t = a;
        if (b < tt) tt = b;
    }
    printf("\nGEMV 4096x4096, 1 thread (hot): fp32 AVX-512 dot per row over 64 MiB %.1f us (%.1f GB/s); "
           "ternary %s %.1f us; ratio %.1fx\n",
           t * 1e6, (double)rows * cols * 4 / t / 1e9, psyne_ternary_kernel_name(psyne_ternary_kernel_selected()),
           tt * 1e6, t / tt);
    free(w);
    free(x);
    free(y);
    free(xq);
    free(acc);
    psyne_ternary_free(m);
}

/* Cold GEMV: the same shape in copies spanning >= cold_mib, visited in turn. */
static void bench_cold(uint32_t cold_mib)
{
    const uint32_t rows = 4096, cols = 4096;
    psyne_ternary_matrix *m = random_matrix(rows, cols);
    psyne_ternary_matrix_info info;
    psyne_ternary_info(m, &info);
    size_t image_bytes = 0;
    psyne_ternary_serialize(m, NULL, 0, &image_bytes);
    uint8_t *image = malloc(image_bytes);
    psyne_ternary_serialize(m, image, image_bytes, &image_bytes);
    const uint32_t copies = (uint32_t)(((uint64_t)cold_mib << 20) / info.packed_bytes) + 1;
    psyne_ternary_matrix **all = calloc(copies, sizeof *all);
    for (uint32_t i = 0; i < copies; i++) {
        psyne_status s = psyne_ternary_deserialize(image, image_bytes, &all[i]);
        if (s != PSYNE_OK) die("psyne_ternary_deserialize", s);
    }
    psyne_ternary_info(all[0], &info);
    int8_t *xq = malloc(cols);
    for (uint32_t i = 0; i < cols; i++) xq[i] = (int8_t)((int)(next_random() % 255) - 127);
    int32_t *acc = malloc(rows * 4);

    psyne_allocation buf;
    const size_t stream_bytes = (size_t)copies * info.packed_bytes;
    psyne_status s = psyne_alloc(stream_bytes, 64, PSYNE_ALLOC_HUGE_PAGES, &buf);
    if (s != PSYNE_OK) die("psyne_alloc", s);
    memset(buf.data, 1, stream_bytes);

    printf("\nCold GEMV 4096x4096 over %u copies (%.0f MiB of packed weights, alloc kind %d):\n", (unsigned)copies,
           (double)stream_bytes / (1 << 20), (int)info.alloc_kind);
    static const psyne_ternary_kernel kernels[] = {PSYNE_TERNARY_KERNEL_AVX2, PSYNE_TERNARY_KERNEL_AVX512,
                                                   PSYNE_TERNARY_KERNEL_AVX512_VNNI};
    printf("%-7s %-12s %14s %16s %8s\n", "threads", "kernel", "ternary_GB/s", "stream_read_GB/s", "ratio");
    for (uint32_t threads = 1; threads <= 2; threads++) {
        psyne_threads_set(threads);
        for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
            if (!kernel_ok(kernels[k])) continue;
            /* Passes of the peer and of the kernel alternate, so both see the
             * same machine; each figure is the best of its passes. */
            double best = 1e30, best_stream = 1e30;
            for (int pass = 0; pass < (quick ? 2 : 4); pass++) {
                const double stream = stream_read_pass(buf.data, stream_bytes, threads);
                if (stream < best_stream) best_stream = stream;
                const double start = now();
                for (uint32_t i = 0; i < copies; i++) psyne_ternary_kernel_gemm_i32(kernels[k], all[i], xq, 1, acc);
                const double elapsed = now() - start;
                if (elapsed < best) best = elapsed;
            }
            const double ternary = (double)copies * info.packed_bytes / best / 1e9;
            const double stream = (double)stream_bytes / best_stream / 1e9;
            printf("%-7u %-12s %14.1f %16.1f %7.0f%%\n", (unsigned)threads, psyne_ternary_kernel_name(kernels[k]),
                   ternary, stream, 100.0 * ternary / stream);
        }
    }
    psyne_free(&buf);
    for (uint32_t i = 0; i < copies; i++) psyne_ternary_free(all[i]);
    free(all);
    free(image);
    free(xq);
    free(acc);
    psyne_ternary_free(m);
}
#endif

int main(int argc, char **argv)
{
    uint32_t cold_mib = 1024;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--cold-mib") == 0 && i + 1 < argc) cold_mib = (uint32_t)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--quick] [--cold-mib N]\n", argv[0]);
            return 2;
        }
    }
    psyne_status s = psyne_init();
    if (s != PSYNE_OK) die("psyne_init", s);
    psyne_cpu_info cpu;
    psyne_cpu_info_get(&cpu);
    printf("cpu: %s, %u logical CPUs, ISA %s, ternary kernel %s\n", cpu.brand, (unsigned)cpu.logical_cpus,
           psyne_isa_name(psyne_isa_selected()), psyne_ternary_kernel_name(psyne_ternary_kernel_selected()));
    bench_shapes();
    bench_bitlinear();
#if defined(__x86_64__)
    if (cpu.features & PSYNE_CPU_AVX512F) {
        bench_fp32_peer();
        bench_cold(cold_mib);
    }
#endif
    psyne_threads_set(0);
    return 0;
}
