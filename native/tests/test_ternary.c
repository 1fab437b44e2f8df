/* test_ternary.c - ternary quantisers against hand-computed cases, packing
 * round trips, the .psyt format (round trip, every kind of damage) and
 * argument errors. The matmul kernels are in test_ternary_kernels.c. */
#include "check.h"

#include <psyne/psyne.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_ERROR_HAS(text)                                                                   \
    do {                                                                                        \
        if (!strstr(psyne_last_error(), (text))) {                                              \
            fprintf(stderr, "%s:%d: last error \"%s\" does not mention \"%s\"\n", __FILE__,     \
                    __LINE__, psyne_last_error(), (text));                                      \
            check_failures++;                                                                   \
        }                                                                                       \
    } while (0)

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Quantises w with the given mode, unpacks it and returns the matrix. */
static psyne_ternary_matrix *quantize(const float *w, uint32_t rows, uint32_t cols, psyne_ternary_scale_mode mode,
                                      int8_t *wq, float *scales)
{
    psyne_ternary_matrix *m = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_quantize(w, rows, cols, mode, &m));
    if (!m) return NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_unpack(m, wq, (size_t)rows * cols));
    CHECK_STATUS(PSYNE_OK, psyne_ternary_scales(m, scales, mode == PSYNE_TERNARY_SCALE_ROW ? rows : 1));
    return m;
}

static void check_i8(const int8_t *expected, const int8_t *actual, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (expected[i] != actual[i]) {
            fprintf(stderr, "%s[%zu]: expected %d, got %d\n", what, i, expected[i], actual[i]);
            check_failures++;
            return;
        }
}

static void test_weight_rounding(void)
{
    /* Each row has mean |w| = 256, so s + eps rounds to exactly 256 in float
     * and w / (s + eps) is exact: ties are real ties. */
    const float w[] = {
        128.0f, -128.0f, 384.0f, 384.0f,          /* 0.5 -> 1, -0.5 -> -1, 1.5 -> 1 (clamped) */
        127.9921875f, 128.0078125f, -384.0f, 384.0f, /* just below / above 0.5 */
        -256.0f, 256.0f, 0.0f, 512.0f,            /* -1, 1, 0, 2 -> 1 */
    };
    const int8_t expected[] = {1, -1, 1, 1, 0, 1, -1, 1, -1, 1, 0, 1};
    int8_t wq[12];
    float scales[3];
    psyne_ternary_matrix *m = quantize(w, 3, 4, PSYNE_TERNARY_SCALE_ROW, wq, scales);
    check_i8(expected, wq, 12, "rounding wq");
    for (int r = 0; r < 3; r++) CHECK(scales[r] == 256.0f);
    psyne_ternary_free(m);
}

static void test_weight_cases(void)
{
    int8_t wq[16];
    float scales[4];
    psyne_ternary_matrix *m;

    /* All zeros: scale 0, weights 0. */
    const float zeros[8] = {0};
    m = quantize(zeros, 2, 4, PSYNE_TERNARY_SCALE_TENSOR, wq, scales);
    const int8_t zero_q[8] = {0};
    check_i8(zero_q, wq, 8, "zeros wq");
    CHECK(scales[0] == 0.0f);
    psyne_ternary_free(m);

    /* All-equal rows: |v| / (|v| + eps) rounds to 1 for ordinary v. */
    const float equal[8] = {-3.0f, -3.0f, -3.0f, -3.0f, 0.25f, 0.25f, 0.25f, 0.25f};
    const int8_t equal_q[8] = {-1, -1, -1, -1, 1, 1, 1, 1};
    m = quantize(equal, 2, 4, PSYNE_TERNARY_SCALE_ROW, wq, scales);
    check_i8(equal_q, wq, 8, "equal wq");
    CHECK(scales[0] == 3.0f && scales[1] == 0.25f);
    psyne_ternary_free(m);

    /* Per tensor vs per row: rows of 1 and 4. Tensor s = 2.5: 1 / 2.50001 = 0.4 -> 0,
     * 4 / 2.50001 -> 1. Per row both rows become 1. */
    const float mixed[8] = {1, 1, -1, 1, 4, -4, 4, 4};
    const int8_t tensor_q[8] = {0, 0, 0, 0, 1, -1, 1, 1};
    const int8_t row_q[8] = {1, 1, -1, 1, 1, -1, 1, 1};
    m = quantize(mixed, 2, 4, PSYNE_TERNARY_SCALE_TENSOR, wq, scales);
    check_i8(tensor_q, wq, 8, "tensor wq");
    CHECK(scales[0] == 2.5f);
    psyne_ternary_free(m);
    m = quantize(mixed, 2, 4, PSYNE_TERNARY_SCALE_ROW, wq, scales);
    check_i8(row_q, wq, 8, "row wq");
    CHECK(scales[0] == 1.0f && scales[1] == 4.0f);
    psyne_ternary_free(m);

    /* Tiny magnitudes: s = 1e-30 is swamped by eps, so everything rounds to 0
     * (documented: eps bounds the smallest scale that yields non-zero weights). */
    const float tiny[4] = {1e-30f, -1e-30f, 1e-30f, 1e-30f};
    const int8_t tiny_q[4] = {0, 0, 0, 0};
    m = quantize(tiny, 1, 4, PSYNE_TERNARY_SCALE_TENSOR, wq, scales);
    check_i8(tiny_q, wq, 4, "tiny wq");
    CHECK(scales[0] == 1e-30f);
    psyne_ternary_free(m);

    /* Huge magnitudes: the mean is accumulated in double, so 3e38 + 3e38 does not overflow. */
    const float huge[4] = {3e38f, -3e38f, 0.0f, 1e30f};
    const int8_t huge_q[4] = {1, -1, 0, 0};
    m = quantize(huge, 1, 4, PSYNE_TERNARY_SCALE_TENSOR, wq, scales);
    check_i8(huge_q, wq, 4, "huge wq");
    CHECK(scales[0] == (float)(((double)3e38f * 2 + (double)1e30f) / 4.0));
    psyne_ternary_free(m);

    CHECK(psyne_ternary_eps() == 1e-5f);
}

static void test_weight_errors(void)
{
    psyne_ternary_matrix *m = (psyne_ternary_matrix *)&m; /* must be cleared on failure */
    float w[6] = {1, 2, 3, 4, 5, 6};
    w[5] = NAN;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_quantize(w, 2, 3, PSYNE_TERNARY_SCALE_TENSOR, &m));
    CHECK_ERROR_HAS("index 5");
    CHECK_ERROR_HAS("NaN");
    CHECK(m == NULL);
    w[5] = 6;
    w[4] = -INFINITY;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_quantize(w, 2, 3, PSYNE_TERNARY_SCALE_ROW, &m));
    CHECK_ERROR_HAS("row 1, col 1");
    CHECK_ERROR_HAS("index 4");
    w[4] = 5;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_quantize(NULL, 2, 3, PSYNE_TERNARY_SCALE_TENSOR, &m));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_quantize(w, 2, 3, PSYNE_TERNARY_SCALE_TENSOR, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_quantize(w, 0, 3, PSYNE_TERNARY_SCALE_TENSOR, &m));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_quantize(w, 2, 0, PSYNE_TERNARY_SCALE_TENSOR, &m));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_quantize(w, 2, 3, (psyne_ternary_scale_mode)7, &m));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT,
                 psyne_ternary_quantize(w, 1, PSYNE_TERNARY_MAX_COLS + 1u, PSYNE_TERNARY_SCALE_TENSOR, &m));
    CHECK_ERROR_HAS("PSYNE_TERNARY_MAX_COLS");
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT,
                 psyne_ternary_quantize(w, PSYNE_TERNARY_MAX_ROWS + 1u, 1, PSYNE_TERNARY_SCALE_TENSOR, &m));
    CHECK(m == NULL);
}

static void test_activations(void)
{
    /* a = 127, so x * 127 / a = x exactly: ties are real ties. */
    const float x[] = {127.0f, 0.5f, -0.5f, 2.5f, -2.5f, 126.5f, -127.0f, 0.49999997f, -1.5f, 0.0f};
    const int8_t expected[] = {127, 1, -1, 3, -3, 127, -127, 0, -2, 0};
    int8_t xq[10];
    float a = -1;
    CHECK_STATUS(PSYNE_OK, psyne_quantize_activations(x, 1, 10, xq, &a));
    CHECK(a == 127.0f);
    check_i8(expected, xq, 10, "ties xq");

    /* Several tokens: an all-zero one (a = 0, xq = 0), tiny, subnormal and huge ones. */
    const float A = 3e38f, T = 1e-30f, S = 0x1p-140f;
    const float batch[5][4] = {
        {0.0f, -0.0f, 0.0f, 0.0f},
        {T, -T / 2, T / 4, 0.0f},        /* 127, -63.5 -> -64, 31.75 -> 32 */
        {S, -S / 2, S, -S},              /* subnormal: 127, -64, 127, -127 */
        {A, A / 2, -A, A / 4},           /* 127, 63.5 -> 64, -127, 32 (no float overflow) */
        {-1.0f, 0.25f, 0.125f, 0.0f},    /* a = 1: -127, 31.75 -> 32, 15.875 -> 16 */
    };
    const int8_t batch_q[5][4] = {
        {0, 0, 0, 0}, {127, -64, 32, 0}, {127, -64, 127, -127}, {127, 64, -127, 32}, {-127, 32, 16, 0},
    };
    int8_t bq[5][4];
    float ba[5];
    CHECK_STATUS(PSYNE_OK, psyne_quantize_activations(&batch[0][0], 5, 4, &bq[0][0], ba));
    check_i8(&batch_q[0][0], &bq[0][0], 20, "batch xq");
    CHECK(ba[0] == 0.0f && ba[1] == T && ba[2] == S && ba[3] == A && ba[4] == 1.0f);

    /* Errors, with the index. */
    float bad[2][3] = {{1, 2, 3}, {4, 5, 6}};
    bad[1][2] = INFINITY;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_quantize_activations(&bad[0][0], 2, 3, &bq[0][0], ba));
    CHECK_ERROR_HAS("token 1, col 2");
    CHECK_ERROR_HAS("index 5");
    bad[1][2] = 6;
    bad[0][1] = NAN;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_quantize_activations(&bad[0][0], 2, 3, &bq[0][0], ba));
    CHECK_ERROR_HAS("index 1");
    CHECK_ERROR_HAS("NaN");
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_quantize_activations(NULL, 2, 3, &bq[0][0], ba));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_quantize_activations(&bad[0][0], 2, 3, NULL, ba));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_quantize_activations(&bad[0][0], 2, 3, &bq[0][0], NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_quantize_activations(&bad[0][0], 0, 3, &bq[0][0], ba));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_quantize_activations(&bad[0][0], 2, 0, &bq[0][0], ba));
}

static void test_pack_round_trip(void)
{
    static const uint32_t shapes[][2] = {{1, 1}, {3, 255}, {2, 256}, {5, 257}, {4, 1000}, {2, 4109}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const uint32_t rows = shapes[s][0], cols = shapes[s][1];
        const size_t n = (size_t)rows * cols;
        int8_t *wq = malloc(n), *back = malloc(n);
        float *scales = malloc(rows * sizeof(float)), *scales_back = malloc(rows * sizeof(float));
        for (size_t i = 0; i < n; i++) wq[i] = (int8_t)((int)(next_random() % 3) - 1);
        for (uint32_t r = 0; r < rows; r++) scales[r] = 0.01f * (float)(r + 1);
        for (int mode = 0; mode < 2; mode++) {
            const uint32_t count = mode ? rows : 1;
            psyne_ternary_matrix *m = NULL;
            CHECK_STATUS(PSYNE_OK, psyne_ternary_pack(wq, rows, cols, (psyne_ternary_scale_mode)mode, scales, count, &m));
            if (!m) continue;
            psyne_ternary_matrix_info info;
            CHECK_STATUS(PSYNE_OK, psyne_ternary_info(m, &info));
            CHECK_EQ_U64(rows, info.rows);
            CHECK_EQ_U64(cols, info.cols);
            CHECK_EQ_U64((cols + 255) / 256 * 256, info.padded_cols);
            CHECK_EQ_U64(mode, info.scale_mode);
            CHECK_EQ_U64(count, info.scale_count);
            CHECK_EQ_U64((uint64_t)rows * info.padded_cols / 4, info.packed_bytes);
            const uint64_t offset = (64 + 4ull * count + 63) / 64 * 64;
            CHECK_EQ_U64(offset + info.packed_bytes + 4, info.serialized_bytes);
            memset(back, 9, n);
            CHECK_STATUS(PSYNE_OK, psyne_ternary_unpack(m, back, n));
            check_i8(wq, back, n, "unpacked");
            CHECK_STATUS(PSYNE_OK, psyne_ternary_scales(m, scales_back, count));
            CHECK(memcmp(scales, scales_back, count * sizeof(float)) == 0);
            if (n > 1) CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_unpack(m, back, n - 1));
            if (count > 1) CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_scales(m, scales_back, count - 1));
            psyne_ternary_free(m);
        }
        free(wq);
        free(back);
        free(scales);
        free(scales_back);
    }

    /* Bad input to pack. */
    psyne_ternary_matrix *m = NULL;
    int8_t wq[4] = {1, 0, -1, 2};
    float s[2] = {1.0f, 2.0f};
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(wq, 1, 4, PSYNE_TERNARY_SCALE_TENSOR, s, 1, &m));
    CHECK_ERROR_HAS("index 3");
    wq[3] = -2;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(wq, 1, 4, PSYNE_TERNARY_SCALE_TENSOR, s, 1, &m));
    wq[3] = 1;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(wq, 2, 2, PSYNE_TERNARY_SCALE_ROW, s, 1, &m));
    CHECK_ERROR_HAS("scale_count 1");
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(wq, 2, 2, PSYNE_TERNARY_SCALE_TENSOR, s, 2, &m));
    s[1] = NAN;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(wq, 2, 2, PSYNE_TERNARY_SCALE_ROW, s, 2, &m));
    CHECK_ERROR_HAS("scales[1]");
    s[1] = 2.0f;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(NULL, 2, 2, PSYNE_TERNARY_SCALE_ROW, s, 2, &m));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(wq, 2, 2, PSYNE_TERNARY_SCALE_ROW, NULL, 2, &m));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(wq, 0, 2, PSYNE_TERNARY_SCALE_ROW, s, 0, &m));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_pack(wq, 2, 2, PSYNE_TERNARY_SCALE_ROW, s, 2, NULL));
    CHECK(m == NULL);
    CHECK_STATUS(PSYNE_OK, psyne_ternary_free(NULL));
    psyne_ternary_matrix_info info;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_info(NULL, &info));
}

/* ---- .psyt ---------------------------------------------------------------- */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the CRC trailer so a test reaches the checks behind it. */
static void fix_crc(uint8_t *image, size_t n)
{
    uint32_t crc = 0;
    psyne_crc32c(0, image, n - 4, &crc);
    put32(image + n - 4, crc);
}

static void expect_format_error(const uint8_t *image, size_t n, const char *mentions)
{
    psyne_ternary_matrix *m = (psyne_ternary_matrix *)&m;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_ternary_deserialize(image, n, &m));
    CHECK(m == NULL);
    if (mentions) CHECK_ERROR_HAS(mentions);
}

static void test_psyt(void)
{
    const uint32_t rows = 3, cols = 300;
    int8_t wq[3 * 300];
    for (size_t i = 0; i < sizeof wq; i++) wq[i] = (int8_t)((int)(next_random() % 3) - 1);
    const float scales[3] = {0.5f, 1.25f, -2.0f};
    psyne_ternary_matrix *m = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_pack(wq, rows, cols, PSYNE_TERNARY_SCALE_ROW, scales, 3, &m));
    if (!m) return;

    size_t size = 0;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_serialize(m, NULL, 0, &size));
    CHECK_EQ_U64(64 + 64 + 3 * 512 / 4 * 1 + 4, size); /* header, scales padded to 64, 3 rows x 128 B, CRC */
    uint8_t *image = malloc(size + 16);
    uint8_t *copy = malloc(size + 16);
    size_t written = 0;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_serialize(m, image, size - 1, &written));
    CHECK_EQ_U64(size, written);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_serialize(m, NULL, 5, &written));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_serialize(m, image, size, NULL));
    CHECK_STATUS(PSYNE_OK, psyne_ternary_serialize(m, image, size + 16, &written));
    CHECK_EQ_U64(size, written);
    CHECK(memcmp(image, "PSYT", 4) == 0);
    CHECK_EQ_U64(PSYNE_PSYT_MAGIC, get32(image));
    CHECK_EQ_U64(1, get32(image + 4));
    CHECK_EQ_U64(rows, get32(image + 16));
    CHECK_EQ_U64(cols, get32(image + 20));

    /* Round trip in memory. */
    psyne_ternary_matrix *back = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_deserialize(image, size, &back));
    if (back) {
        int8_t wq_back[3 * 300];
        float s_back[3];
        CHECK_STATUS(PSYNE_OK, psyne_ternary_unpack(back, wq_back, sizeof wq_back));
        CHECK(memcmp(wq, wq_back, sizeof wq) == 0);
        CHECK_STATUS(PSYNE_OK, psyne_ternary_scales(back, s_back, 3));
        CHECK(memcmp(scales, s_back, sizeof scales) == 0);
        psyne_ternary_free(back);
    }

    /* Round trip through a file. */
    char path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/psyne_test_ternary_%d.psyt", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    CHECK_STATUS(PSYNE_OK, psyne_ternary_save(m, path));
    back = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_ternary_load(path, &back));
    if (back) {
        size_t size2 = 0;
        CHECK_STATUS(PSYNE_OK, psyne_ternary_serialize(back, copy, size, &size2));
        CHECK(size2 == size && memcmp(copy, image, size) == 0);
        psyne_ternary_free(back);
    }
    /* A truncated file, then a corrupted one. */
    FILE *f = fopen(path, "wb");
    fwrite(image, 1, size - 10, f);
    fclose(f);
    back = (psyne_ternary_matrix *)&back;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_ternary_load(path, &back));
    CHECK_ERROR_HAS("truncated");
    CHECK(back == NULL);
    memcpy(copy, image, size);
    copy[200] ^= 0x40;
    f = fopen(path, "wb");
    fwrite(copy, 1, size, f);
    fclose(f);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_ternary_load(path, &back));
    CHECK_ERROR_HAS("CRC32C mismatch");
    f = fopen(path, "wb");
    fwrite("PSYX", 1, 4, f);
    fclose(f);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_ternary_load(path, &back));
    CHECK_ERROR_HAS("wrong magic");
    remove(path);
    CHECK_STATUS(PSYNE_E_NOT_FOUND, psyne_ternary_load(path, &back));
    CHECK_STATUS(PSYNE_E_IO, psyne_ternary_load("/", &back));
    CHECK_STATUS(PSYNE_E_IO, psyne_ternary_save(m, "/nonexistent-dir/x.psyt"));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_save(NULL, path));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_load(NULL, &back));

    /* Every truncation is a format error, never a crash. */
    for (size_t n = 0; n < size; n++) {
        psyne_ternary_matrix *t = (psyne_ternary_matrix *)&t;
        psyne_status s = psyne_ternary_deserialize(image, n, &t);
        if (s != PSYNE_E_FORMAT || t != NULL) {
            fprintf(stderr, "truncated to %zu bytes: %s\n", n, psyne_status_name(s));
            check_failures++;
            break;
        }
    }
    expect_format_error(image, size - 1, "truncated");
    memcpy(copy, image, size);
    copy[size] = 0;
    expect_format_error(copy, size + 1, "unexpected byte");

    /* Wrong magic and version (the version check precedes the CRC). */
    memcpy(copy, image, size);
    copy[3] = 'X';
    expect_format_error(copy, size, "expected 'PSYT'");
    memcpy(copy, image, size);
    put32(copy + 4, 2);
    expect_format_error(copy, size, "version 2");

    /* Any flipped bit in the header, scales or weights is caught (by a field check or the CRC). */
    for (size_t i = 0; i < size; i += 7) {
        memcpy(copy, image, size);
        copy[i] ^= (uint8_t)(1u << (i % 8));
        psyne_ternary_matrix *t = (psyne_ternary_matrix *)&t;
        psyne_status s = psyne_ternary_deserialize(copy, size, &t);
        if (s != PSYNE_E_FORMAT || t != NULL) {
            fprintf(stderr, "bit flip at byte %zu: %s\n", i, psyne_status_name(s));
            check_failures++;
            break;
        }
    }
    memcpy(copy, image, size);
    copy[64 + 64 + 5] ^= 1;
    expect_format_error(copy, size, "CRC32C mismatch");

    /* Checks behind the CRC: impossible shapes, bad scales, bad codes. */
    memcpy(copy, image, size);
    put32(copy + 16, 0);
    fix_crc(copy, size);
    expect_format_error(copy, size, "rows and cols must both be at least 1");
    memcpy(copy, image, size);
    put32(copy + 16, 0xFFFFFFFFu);
    fix_crc(copy, size);
    expect_format_error(copy, size, "PSYNE_TERNARY_MAX_ROWS");
    memcpy(copy, image, size);
    put32(copy + 20, 5000);
    fix_crc(copy, size);
    expect_format_error(copy, size, "padded_cols");
    memcpy(copy, image, size);
    put32(copy + 28, 0); /* tensor mode with 3 scales */
    fix_crc(copy, size);
    expect_format_error(copy, size, "scale_count");
    memcpy(copy, image, size);
    put32(copy + 28, 9);
    fix_crc(copy, size);
    expect_format_error(copy, size, "scale_mode");
    memcpy(copy, image, size);
    put32(copy + 40, 0);
    fix_crc(copy, size);
    expect_format_error(copy, size, "packed_offset");
    memcpy(copy, image, size);
    put32(copy + 56, 1u << 30);
    fix_crc(copy, size);
    expect_format_error(copy, size, "file_bytes");
    memcpy(copy, image, size);
    put32(copy + 64 + 4, 0x7FC00000u); /* scale 1 = NaN */
    fix_crc(copy, size);
    expect_format_error(copy, size, "scale 1");
    memcpy(copy, image, size);
    copy[64 + 12] = 1; /* padding after the scales */
    fix_crc(copy, size);
    expect_format_error(copy, size, "padding");
    memcpy(copy, image, size);
    copy[128 + 10] |= 3; /* code 3 */
    fix_crc(copy, size);
    expect_format_error(copy, size, "invalid code");
    memcpy(copy, image, size);
    copy[128 + 128 - 1] = 0xAA; /* row 0's last byte is all padding (cols 300..511): codes must be 1 */
    fix_crc(copy, size);
    expect_format_error(copy, size, "padding columns");

    psyne_ternary_matrix *t = NULL;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_deserialize(NULL, 10, &t));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ternary_deserialize(image, size, NULL));
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_ternary_deserialize(NULL, 0, &t));

    free(image);
    free(copy);
    psyne_ternary_free(m);
}

static void test_threads_setting(void)
{
    const uint32_t initial = psyne_threads_get();
    CHECK(initial >= 1);
    CHECK_STATUS(PSYNE_OK, psyne_threads_set(3));
    CHECK_EQ_U64(3, psyne_threads_get());
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_threads_set(PSYNE_THREADS_MAX + 1));
    CHECK_EQ_U64(3, psyne_threads_get());
    CHECK_STATUS(PSYNE_OK, psyne_threads_set(0));
    CHECK_EQ_U64((uint64_t)sysconf(_SC_NPROCESSORS_ONLN), psyne_threads_get());
}

int main(void)
{
    TEST_INIT();
    test_weight_rounding();
    test_weight_cases();
    test_weight_errors();
    test_activations();
    test_pack_round_trip();
    test_psyt();
    test_threads_setting();
    TEST_DONE();
}
