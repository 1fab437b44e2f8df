/*
 * ternary_pack.c - the ternary matrix object: shape checks, allocation,
 * packing already-ternary weights, and reading weights and scales back.
 * The layout is described in ternary_internal.h and docs/ternary.md.
 */
#include "kernels/ternary_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float psyne_ternary_eps(void)
{
    return 1e-5f;
}

psyne_status psyne__ternary_shape(const char *function, uint32_t rows, uint32_t cols, int format,
                                  struct psyne_ternary_matrix *shape)
{
    const psyne_status bad = format ? PSYNE_E_FORMAT : PSYNE_E_INVALID_ARGUMENT;
    memset(shape, 0, sizeof *shape);
    if (rows == 0 || cols == 0)
        return psyne__fail(bad, "%s: the matrix is %u x %u; rows and cols must both be at least 1", function,
                           (unsigned)rows, (unsigned)cols);
    if (rows > PSYNE_TERNARY_MAX_ROWS)
        return psyne__fail(bad, "%s: %u rows is more than PSYNE_TERNARY_MAX_ROWS (%d)", function, (unsigned)rows,
                           (int)PSYNE_TERNARY_MAX_ROWS);
    if (cols > PSYNE_TERNARY_MAX_COLS)
        return psyne__fail(bad,
                           "%s: %u cols is more than PSYNE_TERNARY_MAX_COLS (%d), the most an int32 accumulator "
                           "holds without overflow",
                           function, (unsigned)cols, (int)PSYNE_TERNARY_MAX_COLS);
    shape->rows = rows;
    shape->cols = cols;
    shape->blocks = (cols + PSYNE_TERNARY_BLOCK_WEIGHTS - 1) / PSYNE_TERNARY_BLOCK_WEIGHTS;
    shape->padded_cols = shape->blocks * PSYNE_TERNARY_BLOCK_WEIGHTS;
    shape->row_bytes = (size_t)shape->blocks * PSYNE_TERNARY_BLOCK_BYTES;
    /* At most 2^24 rows of 2^21 bytes: 2^45, which fits a 64-bit size_t; a
     * 32-bit one must check. */
    if ((uint64_t)rows * shape->row_bytes > (uint64_t)(SIZE_MAX / 2))
        return psyne__fail(bad, "%s: %u x %u packs to %llu bytes, more than this process can address", function,
                           (unsigned)rows, (unsigned)cols, (unsigned long long)((uint64_t)rows * shape->row_bytes));
    shape->packed_bytes = (size_t)rows * shape->row_bytes;
    return PSYNE_OK;
}

psyne_status psyne__ternary_alloc(const char *function, const struct psyne_ternary_matrix *shape, uint32_t scale_mode,
                                  psyne_ternary_matrix **out)
{
    psyne_ternary_matrix *m = calloc(1, sizeof *m);
    if (!m) return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "%s: cannot allocate the matrix object", function);
    *m = *shape;
    m->scale_mode = scale_mode;
    m->scale_count = scale_mode == PSYNE_TERNARY_SCALE_ROW ? shape->rows : 1u;
    m->scales = malloc((size_t)m->scale_count * sizeof(float));
    if (!m->scales) {
        const uint32_t count = m->scale_count;
        free(m);
        return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "%s: cannot allocate %u scales", function, (unsigned)count);
    }
    const uint32_t flags = shape->packed_bytes >= PSYNE__TERNARY_HUGE_BYTES ? PSYNE_ALLOC_HUGE_PAGES : 0u;
    psyne_status s = psyne_alloc(shape->packed_bytes, PSYNE_TERNARY_BLOCK_BYTES, flags, &m->packed_alloc);
    if (s != PSYNE_OK) {
        free(m->scales);
        free(m);
        return psyne__fail(s, "%s: cannot allocate %zu bytes of packed weights", function, shape->packed_bytes);
    }
    m->packed = m->packed_alloc.data;
    *out = m;
    return PSYNE_OK;
}

psyne_status psyne_ternary_free(psyne_ternary_matrix *matrix)
{
    psyne__clear_error();
    if (!matrix) return PSYNE_OK;
    psyne_status s = psyne_free(&matrix->packed_alloc);
    free(matrix->scales);
    free(matrix);
    return s;
}

void psyne__ternary_pack_row(const int8_t *wq, uint32_t cols, uint32_t blocks, uint8_t *dst)
{
    for (uint32_t b = 0; b < blocks; b++) {
        const uint32_t base = b * PSYNE_TERNARY_BLOCK_WEIGHTS;
        uint8_t *block = dst + (size_t)b * PSYNE_TERNARY_BLOCK_BYTES;
        if (base + PSYNE_TERNARY_BLOCK_WEIGHTS <= cols) {
            const int8_t *w = wq + base;
            for (uint32_t j = 0; j < 64; j++)
                block[j] = (uint8_t)((w[j] + 1) | (w[j + 64] + 1) << 2 | (w[j + 128] + 1) << 4 | (w[j + 192] + 1) << 6);
        } else {
            for (uint32_t j = 0; j < 64; j++) {
                uint32_t byte = 0;
                for (uint32_t k = 0; k < 4; k++) {
                    const uint32_t col = base + 64 * k + j;
                    const uint32_t code = col < cols ? (uint32_t)(wq[col] + 1) : 1u;
                    byte |= code << (2 * k);
                }
                block[j] = (uint8_t)byte;
            }
        }
    }
}

size_t psyne__ternary_check_row(const uint8_t *row, uint32_t cols, uint32_t blocks, uint32_t *column)
{
    const size_t bytes = (size_t)blocks * PSYNE_TERNARY_BLOCK_BYTES;
    for (size_t i = 0; i < bytes; i++) {
        const uint32_t v = row[i];
        const uint32_t j = (uint32_t)(i % PSYNE_TERNARY_BLOCK_BYTES);
        const uint32_t base = (uint32_t)(i / PSYNE_TERNARY_BLOCK_BYTES) * PSYNE_TERNARY_BLOCK_WEIGHTS;
        if ((v & (v >> 1) & 0x55u) == 0 && base + PSYNE_TERNARY_BLOCK_WEIGHTS <= cols) continue;
        for (uint32_t k = 0; k < 4; k++) {
            const uint32_t code = (v >> (2 * k)) & 3u;
            const uint32_t col = base + 64 * k + j;
            if (code == 3 || (col >= cols && code != 1)) {
                *column = col;
                return i;
            }
        }
    }
    return SIZE_MAX;
}

static psyne_status check_out(const char *function, psyne_ternary_matrix **out)
{
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: out must not be NULL", function);
    *out = NULL;
    return PSYNE_OK;
}

psyne_status psyne_ternary_pack(const int8_t *wq, uint32_t rows, uint32_t cols, psyne_ternary_scale_mode mode,
                                const float *scales, uint32_t scale_count, psyne_ternary_matrix **out)
{
    static const char fn[] = "psyne_ternary_pack";
    psyne__clear_error();
    psyne_status s = check_out(fn, out);
    if (s != PSYNE_OK) return s;
    if (!wq || !scales) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: wq and scales must not be NULL", fn);
    if (mode != PSYNE_TERNARY_SCALE_TENSOR && mode != PSYNE_TERNARY_SCALE_ROW)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "%s: scale mode %d is neither PSYNE_TERNARY_SCALE_TENSOR (0) nor PSYNE_TERNARY_SCALE_ROW (1)",
                           fn, (int)mode);
    struct psyne_ternary_matrix shape;
    s = psyne__ternary_shape(fn, rows, cols, 0, &shape);
    if (s != PSYNE_OK) return s;
    const uint32_t expected = mode == PSYNE_TERNARY_SCALE_ROW ? rows : 1u;
    if (scale_count != expected)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: %s needs %u scale(s), got scale_count %u", fn,
                           mode == PSYNE_TERNARY_SCALE_ROW ? "PSYNE_TERNARY_SCALE_ROW" : "PSYNE_TERNARY_SCALE_TENSOR",
                           (unsigned)expected, (unsigned)scale_count);
    for (uint32_t i = 0; i < scale_count; i++)
        if (!isfinite(scales[i]))
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: scales[%u] is %s; scales must be finite", fn,
                               (unsigned)i, isnan(scales[i]) ? "NaN" : "infinite");
    const size_t total = (size_t)rows * cols;
    for (size_t i = 0; i < total; i++)
        if (wq[i] < -1 || wq[i] > 1)
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                               "%s: wq[row %u, col %u] (index %zu) is %d; ternary weights must be -1, 0 or 1", fn,
                               (unsigned)(i / cols), (unsigned)(i % cols), i, (int)wq[i]);
    psyne_ternary_matrix *m;
    s = psyne__ternary_alloc(fn, &shape, (uint32_t)mode, &m);
    if (s != PSYNE_OK) return s;
    memcpy(m->scales, scales, (size_t)scale_count * sizeof(float));
    for (uint32_t r = 0; r < rows; r++)
        psyne__ternary_pack_row(wq + (size_t)r * cols, cols, m->blocks, m->packed + (size_t)r * m->row_bytes);
    *out = m;
    return PSYNE_OK;
}

psyne_status psyne_ternary_info(const psyne_ternary_matrix *matrix, psyne_ternary_matrix_info *out)
{
    psyne__clear_error();
    if (!matrix || !out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_ternary_info: matrix and out must not be NULL");
    memset(out, 0, sizeof *out);
    out->rows = matrix->rows;
    out->cols = matrix->cols;
    out->padded_cols = matrix->padded_cols;
    out->scale_mode = (int32_t)matrix->scale_mode;
    out->scale_count = matrix->scale_count;
    out->alloc_kind = matrix->packed_alloc.kind;
    out->packed_bytes = matrix->packed_bytes;
    size_t written = 0;
    psyne_status s = psyne_ternary_serialize(matrix, NULL, 0, &written);
    if (s != PSYNE_OK) return s;
    out->serialized_bytes = written;
    return PSYNE_OK;
}

psyne_status psyne_ternary_scales(const psyne_ternary_matrix *matrix, float *out, uint32_t count)
{
    psyne__clear_error();
    if (!matrix || !out)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_ternary_scales: matrix and out must not be NULL");
    if (count < matrix->scale_count)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_ternary_scales: count %u is less than the %u scale(s) of the matrix",
                           (unsigned)count, (unsigned)matrix->scale_count);
    memcpy(out, matrix->scales, (size_t)matrix->scale_count * sizeof(float));
    return PSYNE_OK;
}

psyne_status psyne_ternary_unpack(const psyne_ternary_matrix *matrix, int8_t *wq_out, size_t count)
{
    psyne__clear_error();
    if (!matrix || !wq_out)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_ternary_unpack: matrix and wq_out must not be NULL");
    const size_t needed = (size_t)matrix->rows * matrix->cols;
    if (count < needed)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_ternary_unpack: count %zu is less than rows x cols = %u x %u = %zu", count,
                           (unsigned)matrix->rows, (unsigned)matrix->cols, needed);
    for (uint32_t r = 0; r < matrix->rows; r++) {
        const uint8_t *row = matrix->packed + (size_t)r * matrix->row_bytes;
        int8_t *dst = wq_out + (size_t)r * matrix->cols;
        for (uint32_t c = 0; c < matrix->cols; c++) {
            const uint32_t within = c % PSYNE_TERNARY_BLOCK_WEIGHTS;
            const uint8_t byte = row[(size_t)(c / PSYNE_TERNARY_BLOCK_WEIGHTS) * PSYNE_TERNARY_BLOCK_BYTES + within % 64];
            dst[c] = (int8_t)(((byte >> (2 * (within / 64))) & 3) - 1);
        }
    }
    return PSYNE_OK;
}
