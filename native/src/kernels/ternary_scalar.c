/*
 * ternary_scalar.c - the reference matmul kernel, portable C.
 *
 * Deliberately the plainest reading of the layout: decode every 2-bit code,
 * subtract 1, multiply. It does not use the sum-of-activations identity the
 * SIMD kernels rely on, so the bit-exact tests compare two different
 * computations of the same integers.
 */
#include "kernels/ternary_internal.h"

void psyne__ternary_rows_scalar(const psyne__ternary_job *job, uint32_t row_begin, uint32_t row_end)
{
    for (uint32_t r = row_begin; r < row_end; r++) {
        const uint8_t *w = job->packed + (size_t)r * job->row_bytes;
        for (uint32_t t = 0; t < job->tokens; t++) {
            const int8_t *x = job->x + (size_t)t * job->x_stride;
            int32_t acc = 0;
            for (uint32_t b = 0; b < job->blocks; b++) {
                const uint8_t *block = w + (size_t)b * PSYNE_TERNARY_BLOCK_BYTES;
                const int8_t *xb = x + (size_t)b * PSYNE_TERNARY_BLOCK_WEIGHTS;
                for (uint32_t k = 0; k < 4; k++)
                    for (uint32_t j = 0; j < 64; j++)
                        acc += (int32_t)(((block[j] >> (2 * k)) & 3) - 1) * xb[64 * k + j];
            }
            psyne__ternary_store(job, t, r, acc);
        }
    }
}
