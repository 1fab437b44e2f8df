/*
 * ternary_quant.c - the two quantisers of BitNet b1.58 (docs/ternary.md).
 *
 * Weights, absmean:   s = mean(|W|) (per tensor or per row), accumulated in
 *                     double in row-major order and rounded to float;
 *                     Wq = clamp(roundf(W / (s + eps)), -1, 1), the division
 *                     in float.
 * Activations, absmax per token:
 *                     a = max |x|;
 *                     xq = clamp(round((double)x * 127 / (double)a), -127, 127),
 *                     in double so that no finite input overflows (x * 127 in
 *                     float would for |x| > 2.6e36) or underflows; a = 0 gives 0.
 * Rounding is half away from zero in both (as C's roundf / round), written
 * out without libm (psyne__round_activation) so the SIMD variants of the
 * activation quantiser in ternary_avx2.c / ternary_avx512.c match it exactly.
 */
#include "kernels/ternary_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *nonfinite_name(float v)
{
    return isnan(v) ? "NaN" : v > 0 ? "+infinity" : "-infinity";
}

float psyne__absmax_scalar(const float *x, size_t n, int *nonfinite)
{
    float m = 0.0f;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        bad |= !(a <= FLT_MAX);
        m = a > m ? a : m;
    }
    *nonfinite = bad;
    return m;
}

static size_t first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return n;
}

/* clamp(round(q), -1, 1) with round half away from zero, for any q that is not NaN. */
static int8_t round_weight(float q)
{
    return (int8_t)((q >= 0.5f) - (q <= -0.5f));
}

void psyne__quantize_scalar(const float *x, uint32_t cols, float absmax, int8_t *xq)
{
    if (absmax == 0.0f) {
        memset(xq, 0, cols);
        return;
    }
    const double a = absmax;
    for (uint32_t i = 0; i < cols; i++) xq[i] = psyne__round_activation((double)x[i] * 127.0 / a);
}

psyne_status psyne_quantize_activations(const float *x, uint32_t tokens, uint32_t cols, int8_t *xq, float *absmax)
{
    static const char fn[] = "psyne_quantize_activations";
    psyne__clear_error();
    if (!x || !xq || !absmax) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: x, xq and absmax must not be NULL", fn);
    if (tokens == 0 || cols == 0)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: tokens (%u) and cols (%u) must both be at least 1", fn,
                           (unsigned)tokens, (unsigned)cols);
    /* Check everything first so a bad token leaves no half-written batch behind
     * that looks valid. */
    const psyne__ternary_kernel_entry *k = psyne__ternary_auto();
    for (uint32_t t = 0; t < tokens; t++) {
        const float *row = x + (size_t)t * cols;
        int bad;
        absmax[t] = k->absmax(row, cols, &bad);
        if (bad) {
            const size_t c = first_nonfinite(row, cols);
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                               "%s: x[token %u, col %zu] (index %zu) is %s; activations must be finite", fn,
                               (unsigned)t, c, (size_t)t * cols + c, nonfinite_name(row[c]));
        }
    }
    for (uint32_t t = 0; t < tokens; t++)
        k->quantize(x + (size_t)t * cols, cols, absmax[t], xq + (size_t)t * cols);
    return PSYNE_OK;
}

psyne_status psyne_ternary_quantize(const float *w, uint32_t rows, uint32_t cols, psyne_ternary_scale_mode mode,
                                    psyne_ternary_matrix **out)
{
    static const char fn[] = "psyne_ternary_quantize";
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: out must not be NULL", fn);
    *out = NULL;
    if (!w) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: w must not be NULL", fn);
    if (mode != PSYNE_TERNARY_SCALE_TENSOR && mode != PSYNE_TERNARY_SCALE_ROW)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "%s: scale mode %d is neither PSYNE_TERNARY_SCALE_TENSOR (0) nor PSYNE_TERNARY_SCALE_ROW (1)",
                           fn, (int)mode);
    struct psyne_ternary_matrix shape;
    psyne_status s = psyne__ternary_shape(fn, rows, cols, 0, &shape);
    if (s != PSYNE_OK) return s;

    /* Pass 1: finiteness and the absmean sums. */
    double *row_sums = malloc((size_t)rows * sizeof(double));
    int8_t *wq = malloc(cols);
    if (!row_sums || !wq) {
        free(row_sums);
        free(wq);
        return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "%s: cannot allocate %u row sums", fn, (unsigned)rows);
    }
    double total = 0.0;
    for (uint32_t r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * cols;
        double sum = 0.0;
        int nonfinite = 0;
        for (uint32_t c = 0; c < cols; c++) {
            const float a = fabsf(row[c]);
            nonfinite |= !(a <= FLT_MAX);
            sum += a;
        }
        if (nonfinite) {
            const size_t c = first_nonfinite(row, cols);
            free(row_sums);
            free(wq);
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: w[row %u, col %zu] (index %zu) is %s; weights must be finite",
                               fn, (unsigned)r, c, (size_t)r * cols + c, nonfinite_name(row[c]));
        }
        row_sums[r] = sum;
        total += sum;
    }

    psyne_ternary_matrix *m;
    s = psyne__ternary_alloc(fn, &shape, (uint32_t)mode, &m);
    if (s != PSYNE_OK) {
        free(row_sums);
        free(wq);
        return s;
    }
    if (mode == PSYNE_TERNARY_SCALE_TENSOR)
        m->scales[0] = (float)(total / ((double)rows * (double)cols));
    else
        for (uint32_t r = 0; r < rows; r++) m->scales[r] = (float)(row_sums[r] / (double)cols);

    /* Pass 2: quantise and pack row by row. */
    const float eps = psyne_ternary_eps();
    for (uint32_t r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * cols;
        const float d = m->scales[mode == PSYNE_TERNARY_SCALE_ROW ? r : 0] + eps;
        for (uint32_t c = 0; c < cols; c++) wq[c] = round_weight(row[c] / d);
        psyne__ternary_pack_row(wq, cols, m->blocks, m->packed + (size_t)r * m->row_bytes);
    }
    free(row_sums);
    free(wq);
    *out = m;
    return PSYNE_OK;
}
