/*
 * psyne_ternary.h - ternary (BitNet b1.58) compute: quantisers, the 2-bit
 * packed weight format, GEMV/GEMM kernels and the .psyt file format.
 *
 * Included by psyne.h after the core types; do not include it on its own.
 * docs/ternary.md describes the formulas, the packed layout and the .psyt
 * file byte by byte. The same rules as psyne.h hold: every call returns a
 * psyne_status, outputs go through pointers, bad input is reported with a
 * thread-local message (psyne_last_error) and never aborts.
 *
 * Numbers in one place:
 *   weights      Wq = clamp(round(W / (s + eps)), -1, 1), s = mean(|W|) over
 *                the tensor or over each output row; eps = psyne_ternary_eps()
 *                = 1e-5f. The stored scale is s itself (not s + eps).
 *   activations  per token (row of x): a = max(|x|);
 *                xq = clamp(round(x * 127 / a), -127, 127) as int8; a = 0 gives xq = 0.
 *   rounding     round half away from zero (C roundf): 0.5 -> 1, -2.5 -> -3.
 *   matmul       acc[t][r] = sum_k Wq[r][k] * xq[t][k], exact in int32;
 *                y[t][r]   = ((float)acc[t][r] * s(r)) * (a_t / 127.0f), float32,
 *                evaluated in that order, so every kernel gives identical bits.
 *
 * Threading: the matmul calls split output rows over libpsyne's thread pool
 * (psyne_threads_set); the calling thread takes part. Calls on one matrix
 * from several threads at once are safe (a matrix is read-only after
 * creation); if the pool is busy with another caller's job the call runs on
 * the calling thread alone. None of the matmul calls allocates, except the
 * first call on a thread (or a call needing more scratch than that thread's
 * previous calls), which grows a per-thread buffer that lives until the
 * thread exits.
 */
#ifndef PSYNE_TERNARY_H
#define PSYNE_TERNARY_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants --------------------------------------------------------- */

enum {
    /* Weights per packed block along a row (K); rows are padded with zero
     * weights to a whole number of blocks. */
    PSYNE_TERNARY_BLOCK_WEIGHTS = 256,
    /* Bytes per packed block (2 bits per weight). */
    PSYNE_TERNARY_BLOCK_BYTES = 64,
    /* Largest |xq|: activations are quantised to [-127, 127]. */
    PSYNE_TERNARY_ACTIVATION_MAX = 127,
    /* Largest cols (K): keeps every intermediate sum of the kernels inside int32. */
    PSYNE_TERNARY_MAX_COLS = 1 << 23,
    /* Largest rows (N). */
    PSYNE_TERNARY_MAX_ROWS = 1 << 24,
    /* Largest thread count psyne_threads_set accepts. */
    PSYNE_THREADS_MAX = 256
};

/* .psyt file format (docs/ternary.md). All fields little-endian. */
enum {
    PSYNE_PSYT_MAGIC = 0x54595350,  /* the bytes 'P' 'S' 'Y' 'T' read as a little-endian uint32 */
    PSYNE_PSYT_VERSION = 1,         /* the only version this library reads and writes */
    PSYNE_PSYT_HEADER_BYTES = 64,   /* fixed header; scales follow it */
    PSYNE_PSYT_ALIGNMENT = 64,      /* the packed weights start at a multiple of this in the file */
    PSYNE_PSYT_TRAILER_BYTES = 4    /* CRC32C of every byte before it */
};

/* ---- types ------------------------------------------------------------- */

/* A quantised weight matrix: rows (N, outputs) x cols (K, inputs), 2-bit
 * packed, with its scale(s). Opaque; read-only after creation, so it may be
 * shared by threads. Free with psyne_ternary_free. */
typedef struct psyne_ternary_matrix psyne_ternary_matrix;

typedef enum psyne_ternary_scale_mode {
    PSYNE_TERNARY_SCALE_TENSOR = 0, /* one scale, s = mean(|W|) over the whole matrix (BitNet b1.58) */
    PSYNE_TERNARY_SCALE_ROW = 1     /* one scale per output row, s(r) = mean(|W[r][:]|) */
} psyne_ternary_scale_mode;

typedef struct psyne_ternary_matrix_info {
    uint32_t rows;              /* N: output features */
    uint32_t cols;              /* K: input features */
    uint32_t padded_cols;       /* cols rounded up to PSYNE_TERNARY_BLOCK_WEIGHTS */
    int32_t scale_mode;         /* psyne_ternary_scale_mode */
    uint32_t scale_count;       /* 1 (tensor) or rows (row) */
    int32_t alloc_kind;         /* psyne_alloc_kind of the packed weights (huge pages or not) */
    uint64_t packed_bytes;      /* rows * padded_cols / 4 */
    uint64_t serialized_bytes;  /* size of the .psyt image psyne_ternary_serialize writes */
} psyne_ternary_matrix_info;

/* The matmul kernels. AUTO follows the selected ISA (psyne_isa_select):
 * avx512 uses AVX512_VNNI where the CPU has AVX-512 VNNI, else AVX512. */
typedef enum psyne_ternary_kernel {
    PSYNE_TERNARY_KERNEL_AUTO = 0,
    PSYNE_TERNARY_KERNEL_SCALAR = 1,      /* portable C reference */
    PSYNE_TERNARY_KERNEL_AVX2 = 2,        /* vpmaddubsw + vpmaddwd, 256-bit */
    PSYNE_TERNARY_KERNEL_AVX512 = 3,      /* vpmaddubsw + vpmaddwd, 512-bit (AVX-512BW) */
    PSYNE_TERNARY_KERNEL_AVX512_VNNI = 4  /* vpdpbusd, 512-bit (AVX-512 VNNI) */
} psyne_ternary_kernel;

/* ---- constants that are not integers ------------------------------------ */

/* eps of the weight quantiser: 1e-5f. Cannot fail. */
PSYNE_API PSYNE_HOT float psyne_ternary_eps(void);

/* ---- creating and inspecting matrices ---------------------------------- */

/* Quantises float weights w (rows x cols, row-major) with absmean and packs
 * them. Every element must be finite: a NaN or infinity gives
 * PSYNE_E_INVALID_ARGUMENT naming its row, column and index. Allocates the
 * packed matrix (64-byte aligned, huge pages when it is 2 MiB or more); costs
 * two passes over w. */
PSYNE_API psyne_status psyne_ternary_quantize(const float *w, uint32_t rows, uint32_t cols,
                                              psyne_ternary_scale_mode mode, psyne_ternary_matrix **out);

/* Packs weights that are already ternary (wq: rows x cols, row-major, each -1,
 * 0 or 1) with their scale(s): scale_count must be 1 for
 * PSYNE_TERNARY_SCALE_TENSOR and rows for PSYNE_TERNARY_SCALE_ROW; scales must
 * be finite. For loaders of other formats (GGUF TQ2_0/TQ1_0) and for tests.
 * Allocates like psyne_ternary_quantize. */
PSYNE_API psyne_status psyne_ternary_pack(const int8_t *wq, uint32_t rows, uint32_t cols,
                                          psyne_ternary_scale_mode mode, const float *scales,
                                          uint32_t scale_count, psyne_ternary_matrix **out);

/* Frees a matrix. NULL is accepted and ignored. The matrix must not be in use. */
PSYNE_API psyne_status psyne_ternary_free(psyne_ternary_matrix *matrix);

PSYNE_API psyne_status psyne_ternary_info(const psyne_ternary_matrix *matrix, psyne_ternary_matrix_info *out);

/* Copies the scale(s) into out; count must be at least info.scale_count. */
PSYNE_API psyne_status psyne_ternary_scales(const psyne_ternary_matrix *matrix, float *out, uint32_t count);

/* Writes the ternary weights (-1, 0, 1) as rows x cols int8, row-major,
 * without padding; count must be at least rows * cols. Dequantised weight =
 * wq * scale. */
PSYNE_API psyne_status psyne_ternary_unpack(const psyne_ternary_matrix *matrix, int8_t *wq_out, size_t count);

/* ---- .psyt images and files -------------------------------------------- */

/* Writes the .psyt image of matrix into buf and its size into *written.
 * buf == NULL with capacity == 0 is a size query: *written gets the size and
 * the call succeeds. A capacity smaller than the size gives
 * PSYNE_E_INVALID_ARGUMENT (with *written still set to the size needed). */
PSYNE_API psyne_status psyne_ternary_serialize(const psyne_ternary_matrix *matrix, void *buf, size_t capacity,
                                               size_t *written);

/* Reads a .psyt image of exactly length bytes. Every field is checked before
 * use: wrong magic or version, a truncated or oversized image, a CRC32C
 * mismatch, an impossible shape, non-finite scales or an invalid weight code
 * give PSYNE_E_FORMAT with a message saying what was expected and what was
 * found. Allocates the matrix; never reads outside buf. */
PSYNE_API psyne_status psyne_ternary_deserialize(const void *buf, size_t length, psyne_ternary_matrix **out);

/* Writes matrix to path as a .psyt file (created or truncated; removed again
 * if writing fails). PSYNE_E_IO when the system refuses. Streams the data:
 * allocates nothing the size of the matrix. */
PSYNE_API psyne_status psyne_ternary_save(const psyne_ternary_matrix *matrix, const char *path);

/* Reads a .psyt file with the checks of psyne_ternary_deserialize, straight
 * into the new matrix (no second copy). PSYNE_E_NOT_FOUND when path does not
 * exist, PSYNE_E_IO when it cannot be read, PSYNE_E_FORMAT when it is not a
 * valid .psyt file. */
PSYNE_API psyne_status psyne_ternary_load(const char *path, psyne_ternary_matrix **out);

/* ---- activations ------------------------------------------------------- */

/* Quantises x (tokens x cols, row-major) per token with absmax into xq
 * (tokens x cols int8) and absmax (tokens floats, a_t = max |x[t][:]|).
 * A NaN or infinity gives PSYNE_E_INVALID_ARGUMENT naming the token, column
 * and index. Allocates nothing; x and xq must not overlap. */
PSYNE_API psyne_status psyne_quantize_activations(const float *x, uint32_t tokens, uint32_t cols, int8_t *xq,
                                                  float *absmax);

/* ---- matmul ------------------------------------------------------------ */

/* Raw integer accumulators: acc[t * rows + r] = sum_k Wq[r][k] * xq[t * cols + k]
 * for tokens tokens (xq: tokens x cols int8, any alignment; acc: tokens x rows
 * int32). Every kernel gives the same bits. Multi-threaded over rows. */
PSYNE_API psyne_status psyne_ternary_gemm_i32(const psyne_ternary_matrix *matrix, const int8_t *xq, uint32_t tokens,
                                              int32_t *acc);

/* psyne_ternary_gemm_i32 with a named kernel, for tests and benchmarks.
 * PSYNE_E_UNSUPPORTED when this CPU cannot run it. */
PSYNE_API psyne_status psyne_ternary_kernel_gemm_i32(psyne_ternary_kernel kernel, const psyne_ternary_matrix *matrix,
                                                     const int8_t *xq, uint32_t tokens, int32_t *acc);

/* y[t * rows + r] = ((float)acc[t][r] * s(r)) * (absmax[t] / 127.0f), float32:
 * the scaled output for activations quantised by psyne_quantize_activations.
 * absmax values must be finite and >= 0. Multi-threaded over rows. */
PSYNE_API psyne_status psyne_ternary_gemm(const psyne_ternary_matrix *matrix, const int8_t *xq, const float *absmax,
                                          uint32_t tokens, float *y);

/* A BitLinear layer without its normalisation: quantises x (tokens x cols
 * float) into the caller's xq_scratch (tokens x cols) and absmax_scratch
 * (tokens), then runs psyne_ternary_gemm into y (tokens x rows). */
PSYNE_API psyne_status psyne_bitlinear(const psyne_ternary_matrix *matrix, const float *x, uint32_t tokens,
                                       int8_t *xq_scratch, float *absmax_scratch, float *y);

/* The kernel PSYNE_TERNARY_KERNEL_AUTO resolves to now. */
PSYNE_API psyne_ternary_kernel psyne_ternary_kernel_selected(void);

/* "auto", "scalar", "avx2", "avx512", "avx512-vnni"; "unknown" otherwise. Static storage. */
PSYNE_API const char *psyne_ternary_kernel_name(psyne_ternary_kernel kernel);

/* ---- threads ----------------------------------------------------------- */

/* Sets how many threads libpsyne's parallel kernels use, the calling thread
 * included: 1 runs everything on the caller with no synchronisation; 0 restores
 * the default, the number of online CPUs. At most PSYNE_THREADS_MAX. Workers
 * are created on first use and kept (parked) for later calls. Takes effect
 * for calls that start after it returns. */
PSYNE_API psyne_status psyne_threads_set(uint32_t count);

/* The thread count parallel kernels use now (at least 1). Cannot fail. */
PSYNE_API PSYNE_HOT uint32_t psyne_threads_get(void);

#ifdef __cplusplus
}
#endif

#endif /* PSYNE_TERNARY_H */
