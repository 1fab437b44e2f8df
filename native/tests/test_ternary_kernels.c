/* test_ternary_kernels.c - the ternary matmul: every kernel the CPU runs is
 * bit-exact with an independent int64 reference (and so with each other) on
 * the int32 accumulators, across awkward shapes, token counts, unaligned
 * activations, 1 and 2 threads, ISA switches within the process and extreme
 * values; the float output matches a double-precision reference; concurrent
 * callers; argument errors. */
#include "check.h"

#include <psyne/psyne.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static psyne_cpu_info cpu;

static int kernel_supported(psyne_ternary_kernel k)
{
    const int avx2 = cpu.detected_isa >= PSYNE_ISA_AVX2, avx512 = cpu.detected_isa >= PSYNE_ISA_AVX512;
    switch (k) {
    case PSYNE_TERNARY_KERNEL_AUTO:
    case PSYNE_TERNARY_KERNEL_SCALAR: return 1;
    case PSYNE_TERNARY_KERNEL_AVX2: return avx2;
    case PSYNE_TERNARY_KERNEL_AVX512: return avx512;
    case PSYNE_TERNARY_KERNEL_AVX512_VNNI: return avx512 && (cpu.features & PSYNE_CPU_AVX512VNNI);
    }
    return 0;
}

static const psyne_ternary_kernel all_kernels[] = {PSYNE_TERNARY_KERNEL_SCALAR, PSYNE_TERNARY_KERNEL_AVX2,
                                                   PSYNE_TERNARY_KERNEL_AVX512, PSYNE_TERNARY_KERNEL_AVX512_VNNI};

/* Independent of the library: int64 sums straight from the ternary weights. */
static void reference(const int8_t *wq, uint32_t rows, uint32_t cols, const int8_t *xq, uint32_t tokens, int32_t *acc)
{
    for (uint32_t t = 0; t < tokens; t++)
        for (uint32_t r = 0; r < rows; r++) {
            int64_t sum = 0;
            for (uint32_t k = 0; k < cols; k++) sum += (int64_t)wq[(size_t)r * cols + k] * xq[(size_t)t * cols + k];
            if (sum < INT32_MIN || sum > INT32_MAX) {
                fprintf(stderr, "reference overflows int32\n");
                check_failures++;
            }
            acc[(size_t)t * rows + r] = (int32_t)sum;
        }
}

static int compare(const int32_t *expected, const int32_t *actual, uint32_t rows, uint32_t tokens, const char *what,
                   uint32_t cols, uint32_t threads)
{
    for (size_t i = 0; i < (size_t)rows * tokens; i++)
        if (expected[i] != actual[i]) {
            fprintf(stderr, "%s: %u x %u, %u token(s), %u thread(s): acc[token %zu][row %zu] = %d, expected %d\n", what,
                    (unsigned)rows, (unsigned)cols, (unsigned)tokens, (unsigned)threads, i / rows, i % rows,
                    (int)actual[i], (int)expected[i]);
            check_failures++;
            return 0;
        }
    return 1;
}

enum { FILL_RANDOM = 0, FILL_MAX = 1, FILL_MIN = 2, FILL_SPARSE = 3 };

/* Packs random (or extreme) weights, runs every kernel, compares with the reference. */
static void run_case(uint32_t rows, uint32_t cols, uint32_t tokens, int fill, size_t misalign)
{
    const size_t nw = (size_t)rows * cols, nx = (size_t)tokens * cols;
    int8_t *wq = malloc(nw);
    int8_t *x_raw = malloc(nx + 64);
    int8_t *xq = x_raw + misalign;
    int32_t *expected = malloc((size_t)rows * tokens * sizeof(int32_t));
    int32_t *actual = malloc((size_t)rows * tokens * sizeof(int32_t));
    for (size_t i = 0; i < nw; i++) {
        switch (fill) {
        case FILL_MAX: wq[i] = 1; break;
        case FILL_MIN: wq[i] = (i & 1) ? 1 : -1; break;
        case FILL_SPARSE: wq[i] = (int8_t)(next_random() % 8 == 0 ? ((next_random() & 1) ? 1 : -1) : 0); break;
        default: wq[i] = (int8_t)((int)(next_random() % 3) - 1); break;
        }
    }
    for (size_t i = 0; i < nx; i++) {
        switch (fill) {
        case FILL_MAX: xq[i] = (i / cols) % 2 ? 127 : -128; break;   /* largest int16 partial sums */
        case FILL_MIN: xq[i] = (i & 1) ? 127 : -128; break;
        default: xq[i] = (int8_t)(next_random() >> 56); break;      /* the full int8 range, -128 included */
        }
    }
    float scale = 1.0f;
    psyne_ternary_matrix *m = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_pack(wq, rows, cols, PSYNE_TERNARY_SCALE_TENSOR, &scale, 1, &m));
    if (!m) goto done;
    reference(wq, rows, cols, xq, tokens, expected);
    for (uint32_t threads = 1; threads <= 2; threads++) {
        psyne_threads_set(threads);
        memset(actual, 0x5A, (size_t)rows * tokens * sizeof(int32_t));
        CHECK_STATUS(PSYNE_OK, psyne_ternary_gemm_i32(m, xq, tokens, actual));
        if (!compare(expected, actual, rows, tokens, "auto", cols, threads)) break;
        for (size_t k = 0; k < sizeof all_kernels / sizeof all_kernels[0]; k++) {
            if (!kernel_supported(all_kernels[k])) {
                CHECK_STATUS(PSYNE_E_UNSUPPORTED, psyne_ternary_kernel_gemm_i32(all_kernels[k], m, xq, tokens, actual));
                continue;
            }
            memset(actual, 0x5A, (size_t)rows * tokens * sizeof(int32_t));
            CHECK_STATUS(PSYNE_OK, psyne_ternary_kernel_gemm_i32(all_kernels[k], m, xq, tokens, actual));
            if (!compare(expected, actual, rows, tokens, psyne_ternary_kernel_name(all_kernels[k]), cols, threads))
                break;
        }
    }
    psyne_ternary_free(m);
done:
    free(wq);
    free(x_raw);
    free(expected);
    free(actual);
}

static void test_shapes(void)
{
    static const uint32_t cols_list[] = {1, 255, 256, 257, 1000, 4096 + 13};
    static const uint32_t rows_list[] = {1, 3, 17, 64, 130};
    for (size_t c = 0; c < sizeof cols_list / sizeof cols_list[0]; c++)
        for (size_t r = 0; r < sizeof rows_list / sizeof rows_list[0]; r++) {
            const uint32_t tokens = 2 + (uint32_t)(next_random() % 63);
            run_case(rows_list[r], cols_list[c], 1, FILL_RANDOM, (c + r) % 64);
            run_case(rows_list[r], cols_list[c], tokens, FILL_RANDOM, (size_t)(next_random() % 64));
        }
    /* Every token count 1..64, so every remainder of every tile shape. */
    for (uint32_t tokens = 1; tokens <= 64; tokens++) run_case(9, 513, tokens, FILL_RANDOM, tokens % 3);
    /* Extreme values: int16 partial sums at their bounds, int8 -128 included. */
    run_case(5, 4096 + 13, 9, FILL_MAX, 1);
    run_case(6, 8192, 3, FILL_MIN, 0);
    run_case(7, 2048, 1, FILL_MAX, 0);
    run_case(33, 700, 12, FILL_SPARSE, 5);
    /* One token over rows that span several pool chunks, each longer than the
     * GEMV's prefetch distance (its head and its clamp at the chunk's end), odd
     * and even row counts. */
    run_case(601, 4096 + 13, 1, FILL_RANDOM, 0);
    run_case(600, 4096, 1, FILL_MAX, 0);
}

/* psyne_isa_select switches the AUTO kernel at once, within the process. */
static void test_isa_switch(void)
{
    const psyne_isa original = psyne_isa_selected();
    const uint32_t rows = 37, cols = 777, tokens = 11;
    int8_t *wq = malloc((size_t)rows * cols), *xq = malloc((size_t)tokens * cols);
    int32_t *expected = malloc((size_t)rows * tokens * 4), *actual = malloc((size_t)rows * tokens * 4);
    for (size_t i = 0; i < (size_t)rows * cols; i++) wq[i] = (int8_t)((int)(next_random() % 3) - 1);
    for (size_t i = 0; i < (size_t)tokens * cols; i++) xq[i] = (int8_t)(next_random() >> 56);
    float scale = 0.5f;
    psyne_ternary_matrix *m = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_pack(wq, rows, cols, PSYNE_TERNARY_SCALE_TENSOR, &scale, 1, &m));
    reference(wq, rows, cols, xq, tokens, expected);
    for (int isa = PSYNE_ISA_SCALAR; isa <= cpu.detected_isa; isa++) {
        CHECK_STATUS(PSYNE_OK, psyne_isa_select((psyne_isa)isa));
        const psyne_ternary_kernel k = psyne_ternary_kernel_selected();
        CHECK(isa == PSYNE_ISA_SCALAR ? k == PSYNE_TERNARY_KERNEL_SCALAR
              : isa == PSYNE_ISA_AVX2 ? k == PSYNE_TERNARY_KERNEL_AVX2
                                      : (k == PSYNE_TERNARY_KERNEL_AVX512 || k == PSYNE_TERNARY_KERNEL_AVX512_VNNI));
        for (uint32_t threads = 1; threads <= 2; threads++) {
            psyne_threads_set(threads);
            memset(actual, 0, (size_t)rows * tokens * 4);
            CHECK_STATUS(PSYNE_OK, psyne_ternary_gemm_i32(m, xq, tokens, actual));
            compare(expected, actual, rows, tokens, psyne_ternary_kernel_name(k), cols, threads);
        }
    }
    CHECK_STATUS(PSYNE_OK, psyne_isa_select(original));
    psyne_ternary_free(m);
    free(wq);
    free(xq);
    free(expected);
    free(actual);
}

static float uniform(void)
{
    return (float)((double)(next_random() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* bitlinear against double precision from the dequantised operands. The only
 * roundings are (float)acc, two float multiplies and absmax / 127, so the
 * relative error is a few float ulps: the bound is 1e-6. */
static void test_bitlinear(void)
{
    const uint32_t rows = 70, cols = 1000, tokens = 6;
    const double tolerance = 1e-6;
    float *w = malloc((size_t)rows * cols * sizeof(float)), *x = malloc((size_t)tokens * cols * sizeof(float));
    for (size_t i = 0; i < (size_t)rows * cols; i++) w[i] = uniform() * 0.05f;
    for (size_t i = 0; i < (size_t)tokens * cols; i++) x[i] = uniform() * 4.0f;
    memset(x + 2 * cols, 0, cols * sizeof(float)); /* token 2 is all zero: a = 0, y = 0 */
    int8_t *wq = malloc((size_t)rows * cols), *xq = malloc((size_t)tokens * cols);
    float scales[70], absmax[6];
    float *y = malloc((size_t)tokens * rows * sizeof(float)), *y2 = malloc((size_t)tokens * rows * sizeof(float));
    for (int mode = 0; mode < 2; mode++) {
        psyne_ternary_matrix *m = NULL;
        CHECK_STATUS(PSYNE_OK, psyne_ternary_quantize(w, rows, cols, (psyne_ternary_scale_mode)mode, &m));
        if (!m) continue;
        CHECK_STATUS(PSYNE_OK, psyne_ternary_unpack(m, wq, (size_t)rows * cols));
        CHECK_STATUS(PSYNE_OK, psyne_ternary_scales(m, scales, mode ? rows : 1));
        CHECK_STATUS(PSYNE_OK, psyne_bitlinear(m, x, tokens, xq, absmax, y));
        CHECK(absmax[2] == 0.0f);
        double worst = 0.0;
        for (uint32_t t = 0; t < tokens; t++)
            for (uint32_t r = 0; r < rows; r++) {
                const double s = scales[mode ? r : 0];
                double ref = 0.0;
                for (uint32_t k = 0; k < cols; k++)
                    ref += (s * wq[(size_t)r * cols + k]) * ((double)absmax[t] / 127.0 * xq[(size_t)t * cols + k]);
                const double got = y[(size_t)t * rows + r];
                const double err = fabs(got - ref);
                if (t == 2) CHECK(got == 0.0);
                if (err > tolerance * fabs(ref) && err > 1e-30) {
                    fprintf(stderr, "bitlinear y[%u][%u] = %.9g, reference %.9g\n", (unsigned)t, (unsigned)r, got, ref);
                    check_failures++;
                    t = tokens;
                    break;
                }
                if (ref != 0.0 && err / fabs(ref) > worst) worst = err / fabs(ref);
            }
        printf("bitlinear (%s scale): worst relative error %.3g (bound %.0e)\n", mode ? "row" : "tensor", worst,
               tolerance);
        /* The same through psyne_ternary_gemm, and on every ISA: identical bits. */
        const psyne_isa original = psyne_isa_selected();
        for (int isa = PSYNE_ISA_SCALAR; isa <= cpu.detected_isa; isa++) {
            psyne_isa_select((psyne_isa)isa);
            for (uint32_t threads = 1; threads <= 2; threads++) {
                psyne_threads_set(threads);
                memset(y2, 0xFF, (size_t)tokens * rows * sizeof(float));
                CHECK_STATUS(PSYNE_OK, psyne_ternary_gemm(m, xq, absmax, tokens, y2));
                CHECK(memcmp(y, y2, (size_t)tokens * rows * sizeof(float)) == 0);
            }
        }
        psyne_isa_select(original);

        /* Quantisation error itself, for the record: the ternary layer approximates x W^T loosely. */
        psyne_ternary_free(m);
    }
    free(w);
    free(x);
    free(wq);
    free(xq);
    free(y);
    free(y2);
}

/* The activation quantiser of every ISA gives the same bytes and scales, for
 * every length (SIMD bodies and scalar tails) and value mix, ties included. */
static void test_activation_variants(void)
{
    enum { MAX_COLS = 200, TOKENS = 3 };
    float *x = malloc(TOKENS * MAX_COLS * sizeof(float));
    int8_t ref_q[TOKENS * MAX_COLS], q[TOKENS * MAX_COLS];
    float ref_a[TOKENS], a[TOKENS];
    const psyne_isa original = psyne_isa_selected();
    for (uint32_t cols = 1; cols <= MAX_COLS; cols += (cols < 40 ? 1 : 13)) {
        for (uint32_t i = 0; i < TOKENS * cols; i++) {
            const uint32_t t = i / cols;
            if (t == 0) x[i] = (float)((int)(next_random() % 255) - 127) + ((next_random() & 1) ? 0.5f : 0.0f);
            else if (t == 1) x[i] = uniform() * 1e-3f;
            else x[i] = uniform() * 3e37f;
        }
        x[0] = 127.0f; /* token 0: a = 127 exactly, so k + 0.5 are exact ties */
        psyne_isa_select(PSYNE_ISA_SCALAR);
        CHECK_STATUS(PSYNE_OK, psyne_quantize_activations(x, TOKENS, cols, ref_q, ref_a));
        for (int isa = PSYNE_ISA_AVX2; isa <= cpu.detected_isa; isa++) {
            psyne_isa_select((psyne_isa)isa);
            memset(q, 0x55, sizeof q);
            CHECK_STATUS(PSYNE_OK, psyne_quantize_activations(x, TOKENS, cols, q, a));
            if (memcmp(ref_q, q, TOKENS * cols) != 0 || memcmp(ref_a, a, sizeof a) != 0) {
                fprintf(stderr, "activation quantiser on %s differs from scalar at cols %u\n",
                        psyne_isa_name((psyne_isa)isa), (unsigned)cols);
                check_failures++;
            }
            /* Non-finite values are found by every variant, wherever they are. */
            const uint32_t at = (uint32_t)(next_random() % (TOKENS * cols));
            const float saved = x[at];
            x[at] = (next_random() & 1) ? NAN : -INFINITY;
            CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_quantize_activations(x, TOKENS, cols, q, a));
            x[at] = saved;
        }
    }
    psyne_isa_select(original);
    free(x);
}

typedef struct worker_args {
    const psyne_ternary_matrix *m;
    const int8_t *xq;
    const int32_t *expected;
    uint32_t rows, tokens;
    int mismatches;
} worker_args;

static void *worker(void *p)
{
    worker_args *a = p;
    int32_t *acc = malloc((size_t)a->rows * a->tokens * 4);
    for (int i = 0; i < 30; i++) {
        if (psyne_ternary_gemm_i32(a->m, a->xq, a->tokens, acc) != PSYNE_OK ||
            memcmp(acc, a->expected, (size_t)a->rows * a->tokens * 4) != 0)
            a->mismatches++;
    }
    free(acc);
    return NULL;
}

/* Callers on several threads share one matrix and the pool. */
static void test_concurrent_callers(void)
{
    const uint32_t rows = 300, cols = 600, tokens = 5;
    int8_t *wq = malloc((size_t)rows * cols), *xq = malloc((size_t)tokens * cols);
    int32_t *expected = malloc((size_t)rows * tokens * 4);
    for (size_t i = 0; i < (size_t)rows * cols; i++) wq[i] = (int8_t)((int)(next_random() % 3) - 1);
    for (size_t i = 0; i < (size_t)tokens * cols; i++) xq[i] = (int8_t)(next_random() >> 56);
    float scale = 1.0f;
    psyne_ternary_matrix *m = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_pack(wq, rows, cols, PSYNE_TERNARY_SCALE_TENSOR, &scale, 1, &m));
    reference(wq, rows, cols, xq, tokens, expected);
    psyne_threads_set(2);
    worker_args args[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (worker_args){.m = m, .xq = xq, .expected = expected, .rows = rows, .tokens = tokens};
        CHECK(pthread_create(&threads[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        CHECK_EQ_U64(0, args[i].mismatches);
    }
    psyne_ternary_free(m);
    free(wq);
    free(xq);
    free(expected);
}

static void test_errors(void)
{
    int8_t wq[6] = {1, 0, -1, 1, 1, 0};
    float scale = 1.0f;
    psyne_ternary_matrix *m = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_pack(wq, 2, 3, PSYNE_TERNARY_SCALE_TENSOR, &scale, 1, &m));
    int8_t xq[6] = {1, 2, 3, 4, 5, 6};
    float x[6] = {1, 2, 3, 4, 5, 6};
    float absmax[2] = {1.0f, 2.0f}, y[4];
    int32_t acc[4];
    int8_t xs[6];
    float as[2];
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_gemm_i32(NULL, xq, 2, acc));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_gemm_i32(m, NULL, 2, acc));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_gemm_i32(m, xq, 2, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_gemm_i32(m, xq, 0, acc));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_kernel_gemm_i32((psyne_ternary_kernel)99, m, xq, 2, acc));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_gemm(m, xq, NULL, 2, y));
    absmax[1] = NAN;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_gemm(m, xq, absmax, 2, y));
    CHECK(strstr(psyne_last_error(), "absmax[1]") != NULL);
    absmax[1] = -1.0f;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_gemm(m, xq, absmax, 2, y));
    absmax[1] = INFINITY;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_gemm(m, xq, absmax, 2, y));
    absmax[1] = 2.0f;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_gemm(m, xq, absmax, 2, y));
    /* acc = [1*1 + 0*2 - 1*3, 1*1 + 1*2 + 0] = [-2, 3] for token 0, [4 - 6, 4 + 5] = [-2, 9] for token 1. */
    CHECK(y[0] == -2.0f * (1.0f / 127.0f) && y[1] == 3.0f * (1.0f / 127.0f));
    CHECK(y[2] == (-2.0f * 1.0f) * (2.0f / 127.0f) && y[3] == (9.0f * 1.0f) * (2.0f / 127.0f));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_bitlinear(m, NULL, 2, xs, as, y));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_bitlinear(m, x, 2, NULL, as, y));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_bitlinear(m, x, 2, xs, NULL, y));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_bitlinear(m, x, 2, xs, as, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_bitlinear(m, x, 0, xs, as, y));
    x[4] = NAN;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_bitlinear(m, x, 2, xs, as, y));
    CHECK(strstr(psyne_last_error(), "index 4") != NULL);
    CHECK(strcmp(psyne_ternary_kernel_name((psyne_ternary_kernel)42), "unknown") == 0);
    CHECK(strcmp(psyne_ternary_kernel_name(PSYNE_TERNARY_KERNEL_AVX512_VNNI), "avx512-vnni") == 0);
    psyne_ternary_free(m);
}

int main(void)
{
    TEST_INIT();
    CHECK_STATUS(PSYNE_OK, psyne_cpu_info_get(&cpu));
    printf("selected ISA %s, kernel %s\n", psyne_isa_name(psyne_isa_selected()),
           psyne_ternary_kernel_name(psyne_ternary_kernel_selected()));
    test_shapes();
    test_isa_switch();
    test_bitlinear();
    test_activation_variants();
    test_concurrent_callers();
    test_errors();
    psyne_threads_set(0);
    TEST_DONE();
}
