/*
 * tensor.c - the tensor message header: build it, size it, and check a
 * received one (docs/wire-format.md). Every number read from a record is
 * checked before it is used in arithmetic or as an offset; sizes are
 * computed with overflow checks.
 */
#include "core/internal.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(psyne_tensor_header) == PSYNE_TENSOR_HEADER_BYTES, "tensor header is 256 bytes");
_Static_assert(offsetof(psyne_tensor_header, shape) == 16, "shape at 16");
_Static_assert(offsetof(psyne_tensor_header, strides) == 80, "strides at 80");
_Static_assert(offsetof(psyne_tensor_header, scale) == 144, "scale at 144");
_Static_assert(offsetof(psyne_tensor_header, data_offset) == 160, "data_offset at 160");
_Static_assert(offsetof(psyne_tensor_header, values_offset) == 200, "values_offset at 200");
_Static_assert(PSYNE_TENSOR_HEADER_BYTES % PSYNE_TENSOR_ALIGNMENT == 0, "data right after the header is aligned");

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#  define PSYNE_BIG_ENDIAN 1
#else
#  define PSYNE_BIG_ENDIAN 0
#endif

uint32_t psyne_dtype_size(int32_t dtype)
{
    switch (dtype) {
    case PSYNE_DTYPE_F32: return 4;
    case PSYNE_DTYPE_F16: return 2;
    case PSYNE_DTYPE_BF16: return 2;
    case PSYNE_DTYPE_F64: return 8;
    case PSYNE_DTYPE_I8: return 1;
    case PSYNE_DTYPE_U8: return 1;
    case PSYNE_DTYPE_I32: return 4;
    case PSYNE_DTYPE_I64: return 8;
    default: return 0; /* TERNARY2 is sub-byte; unknown dtypes have no size */
    }
}

const char *psyne_dtype_name(int32_t dtype)
{
    switch (dtype) {
    case PSYNE_DTYPE_F32: return "f32";
    case PSYNE_DTYPE_F16: return "f16";
    case PSYNE_DTYPE_BF16: return "bf16";
    case PSYNE_DTYPE_F64: return "f64";
    case PSYNE_DTYPE_I8: return "i8";
    case PSYNE_DTYPE_U8: return "u8";
    case PSYNE_DTYPE_I32: return "i32";
    case PSYNE_DTYPE_I64: return "i64";
    case PSYNE_DTYPE_TERNARY2: return "ternary2";
    default: return "invalid";
    }
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static int add_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b > UINT64_MAX - a) return 0;
    *out = a + b;
    return 1;
}

static uint64_t align64(uint64_t v)
{
    return (v + 63) & ~(uint64_t)63;
}

static int known_dtype(int32_t d)
{
    return d >= PSYNE_DTYPE_F32 && d <= PSYNE_DTYPE_TERNARY2;
}

static int known_layout(int32_t l)
{
    return l >= PSYNE_LAYOUT_ROW_MAJOR && l <= PSYNE_LAYOUT_STRIDED;
}

/* Bytes of packed ternary data for a shape: the last dimension is padded to
 * whole blocks; the other dimensions multiply. 0 on overflow (*ok = 0). */
static uint64_t ternary_bytes(uint32_t rank, const uint64_t *shape, int *ok)
{
    *ok = 1;
    if (rank == 0) return PSYNE_TENSOR_TERNARY_BLOCK_BYTES; /* one weight, one block */
    uint64_t rows = 1;
    for (uint32_t i = 0; i + 1 < rank; i++)
        if (!mul_ok(rows, shape[i], &rows)) return *ok = 0, 0;
    const uint64_t last = shape[rank - 1];
    const uint64_t blocks = last / PSYNE_TENSOR_TERNARY_BLOCK_ELEMENTS + (last % PSYNE_TENSOR_TERNARY_BLOCK_ELEMENTS != 0);
    uint64_t bytes;
    if (!mul_ok(rows, blocks, &bytes) || !mul_ok(bytes, PSYNE_TENSOR_TERNARY_BLOCK_BYTES, &bytes)) return *ok = 0, 0;
    return bytes;
}

/* Bytes a dense tensor's strides address: (max offset + 1) * element size, 0
 * when a dimension is 0. *ok = 0 on overflow. */
static uint64_t strided_extent(uint32_t rank, const uint64_t *shape, const int64_t *strides, uint32_t elem, int *ok)
{
    *ok = 1;
    uint64_t max_offset = 0;
    for (uint32_t i = 0; i < rank; i++) {
        if (shape[i] == 0) return 0;
        uint64_t term;
        if (!mul_ok(shape[i] - 1, (uint64_t)strides[i], &term) || !add_ok(max_offset, term, &max_offset))
            return *ok = 0, 0;
    }
    uint64_t bytes;
    if (!add_ok(max_offset, 1, &bytes) || !mul_ok(bytes, elem, &bytes)) return *ok = 0, 0;
    return bytes;
}

psyne_status psyne_tensor_header_init(psyne_tensor_header *out, int32_t dtype, uint32_t rank, const uint64_t *shape,
                                      int32_t layout)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_header_init: out must not be NULL");
    memset(out, 0, sizeof *out);
    if (!known_dtype(dtype))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_header_init: dtype %d is not a psyne_dtype",
                           (int)dtype);
    if (!known_layout(layout))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_header_init: layout %d is not a psyne_tensor_layout",
                           (int)layout);
    if (rank > PSYNE_TENSOR_MAX_RANK)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_header_init: rank %u is over the maximum of %d",
                           (unsigned)rank, (int)PSYNE_TENSOR_MAX_RANK);
    if (rank && !shape) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_header_init: shape must not be NULL");
    if ((layout == PSYNE_LAYOUT_NCHW || layout == PSYNE_LAYOUT_NHWC) && rank != 4)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_header_init: layout %s needs rank 4, got rank %u",
                           layout == PSYNE_LAYOUT_NCHW ? "NCHW" : "NHWC", (unsigned)rank);
    if (dtype == PSYNE_DTYPE_TERNARY2 && layout != PSYNE_LAYOUT_ROW_MAJOR)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_tensor_header_init: packed ternary tensors are row-major (blocks along the last dimension)");
    out->magic = PSYNE_TENSOR_MAGIC;
    out->version = PSYNE_TENSOR_VERSION;
    out->header_bytes = PSYNE_TENSOR_HEADER_BYTES;
    out->dtype = (uint8_t)dtype;
    out->rank = (uint8_t)rank;
    out->layout = (uint8_t)layout;
    for (uint32_t i = 0; i < rank; i++) out->shape[i] = shape[i];
    int ok = 1;
    uint64_t bytes;
    if (dtype == PSYNE_DTYPE_TERNARY2) {
        bytes = ternary_bytes(rank, shape, &ok);
    } else {
        /* Contiguous strides; a zero-size dimension gives zero bytes. */
        uint64_t stride = 1;
        int zero = 0;
        for (uint32_t k = 0; k < rank; k++) {
            const uint32_t i = layout == PSYNE_LAYOUT_COL_MAJOR ? k : rank - 1 - k;
            if (stride > (uint64_t)INT64_MAX) ok = 0;
            out->strides[i] = (int64_t)stride;
            if (shape[i] == 0) zero = 1;
            else if (!mul_ok(stride, shape[i], &stride)) ok = 0;
        }
        if (ok && !mul_ok(zero ? 0 : stride, psyne_dtype_size(dtype), &bytes)) ok = 0;
    }
    if (!ok || bytes > UINT64_MAX - PSYNE_TENSOR_HEADER_BYTES) {
        memset(out, 0, sizeof *out);
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_header_init: the shape's size overflows 64 bits");
    }
    out->data_offset = PSYNE_TENSOR_HEADER_BYTES;
    out->data_bytes = bytes;
    return PSYNE_OK;
}

psyne_status psyne_tensor_header_init_csr(psyne_tensor_header *out, int32_t dtype, int32_t index_dtype, uint64_t rows,
                                          uint64_t cols, uint64_t nnz)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_header_init_csr: out must not be NULL");
    memset(out, 0, sizeof *out);
    if (!known_dtype(dtype) || dtype == PSYNE_DTYPE_TERNARY2)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_tensor_header_init_csr: dtype %d is not a byte-sized psyne_dtype", (int)dtype);
    if (index_dtype != PSYNE_DTYPE_I32 && index_dtype != PSYNE_DTYPE_I64)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_tensor_header_init_csr: index_dtype %d must be PSYNE_DTYPE_I32 or PSYNE_DTYPE_I64",
                           (int)index_dtype);
    const uint64_t isz = psyne_dtype_size(index_dtype), vsz = psyne_dtype_size(dtype);
    uint64_t cells, indptr_bytes, indices_bytes, values_bytes, indices_at, values_at, end;
    int ok = mul_ok(rows, cols, &cells) && nnz <= cells && add_ok(rows, 1, &indptr_bytes) &&
             mul_ok(indptr_bytes, isz, &indptr_bytes) && mul_ok(nnz, isz, &indices_bytes) &&
             mul_ok(nnz, vsz, &values_bytes) && add_ok(PSYNE_TENSOR_HEADER_BYTES, indptr_bytes, &indices_at) &&
             indices_at <= UINT64_MAX - 63 && add_ok(align64(indices_at), indices_bytes, &values_at) &&
             values_at <= UINT64_MAX - 63 && add_ok(align64(values_at), values_bytes, &end);
    if (index_dtype == PSYNE_DTYPE_I32 && (nnz > INT32_MAX || cols > (uint64_t)INT32_MAX + 1)) ok = 0;
    if (!ok)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_tensor_header_init_csr: %llu x %llu with %llu entries is impossible (nnz over "
                           "rows * cols, a size overflowing 64 bits, or indices that do not fit %s)",
                           (unsigned long long)rows, (unsigned long long)cols, (unsigned long long)nnz,
                           psyne_dtype_name(index_dtype));
    out->magic = PSYNE_TENSOR_MAGIC;
    out->version = PSYNE_TENSOR_VERSION;
    out->header_bytes = PSYNE_TENSOR_HEADER_BYTES;
    out->dtype = (uint8_t)dtype;
    out->rank = 2;
    out->layout = PSYNE_LAYOUT_ROW_MAJOR;
    out->flags = PSYNE_TENSOR_CSR;
    out->index_dtype = (uint8_t)index_dtype;
    out->shape[0] = rows;
    out->shape[1] = cols;
    out->nnz = nnz;
    out->data_offset = PSYNE_TENSOR_HEADER_BYTES;
    out->indptr_offset = PSYNE_TENSOR_HEADER_BYTES;
    out->indices_offset = align64(indices_at);
    out->values_offset = align64(values_at);
    out->data_bytes = end - PSYNE_TENSOR_HEADER_BYTES;
    return PSYNE_OK;
}

psyne_status psyne_tensor_record_bytes(const psyne_tensor_header *h, uint64_t *out)
{
    psyne__clear_error();
    if (!h || !out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_record_bytes: header and out must not be NULL");
    if (h->data_bytes > UINT64_MAX - h->data_offset)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_record_bytes: data_offset + data_bytes overflows");
    *out = h->data_offset + h->data_bytes;
    return PSYNE_OK;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* [at, at + bytes) lies inside the data region and at is 64-aligned. */
static int array_ok(const psyne_tensor_header *h, uint64_t at, uint64_t bytes)
{
    uint64_t end;
    return at % PSYNE_TENSOR_ALIGNMENT == 0 && at >= h->data_offset && add_ok(at, bytes, &end) &&
           end <= h->data_offset + h->data_bytes;
}

#define BAD(...) psyne__fail(PSYNE_E_FORMAT, "psyne_tensor_validate: " __VA_ARGS__)

psyne_status psyne_tensor_validate(const void *record, size_t length, const psyne_tensor_header **out)
{
    psyne__clear_error();
    if (out) *out = NULL;
    if (!record || !out)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_tensor_validate: record and out must not be NULL");
    if ((uintptr_t)record % 8)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_tensor_validate: the record is at an address that is not 8-byte aligned");
    if (PSYNE_BIG_ENDIAN)
        return psyne__fail(PSYNE_E_UNSUPPORTED, "psyne_tensor_validate: tensor headers are little-endian; this host is not");
    if (length < PSYNE_TENSOR_HEADER_BYTES)
        return BAD("the record is %zu bytes, shorter than the %d-byte tensor header", length,
                   (int)PSYNE_TENSOR_HEADER_BYTES);
    const psyne_tensor_header *h = record;
    if (h->magic != PSYNE_TENSOR_MAGIC)
        return BAD("magic is 0x%08x, expected 0x%08x ('PSTN'): the record is not a tensor", (unsigned)h->magic,
                   (unsigned)PSYNE_TENSOR_MAGIC);
    if (h->version != PSYNE_TENSOR_VERSION)
        return BAD("tensor header version %u, this library reads version %d: upgrade the writer or the reader",
                   (unsigned)h->version, (int)PSYNE_TENSOR_VERSION);
    if (h->header_bytes != PSYNE_TENSOR_HEADER_BYTES)
        return BAD("header_bytes is %u, expected %d", (unsigned)h->header_bytes, (int)PSYNE_TENSOR_HEADER_BYTES);
    if (!known_dtype(h->dtype)) return BAD("dtype %u is not a psyne_dtype", (unsigned)h->dtype);
    if (!known_layout(h->layout)) return BAD("layout %u is not a psyne_tensor_layout", (unsigned)h->layout);
    if (h->flags & ~(uint32_t)(PSYNE_TENSOR_QUANTIZED | PSYNE_TENSOR_CSR))
        return BAD("unknown flags 0x%02x", (unsigned)h->flags);
    if (h->rank > PSYNE_TENSOR_MAX_RANK)
        return BAD("rank %u is over the maximum of %d", (unsigned)h->rank, (int)PSYNE_TENSOR_MAX_RANK);
    if (!all_zero(h->reserved0, sizeof h->reserved0) || !all_zero(h->reserved1, sizeof h->reserved1))
        return BAD("reserved bytes are not zero");
    for (uint32_t i = h->rank; i < PSYNE_TENSOR_MAX_RANK; i++)
        if (h->shape[i] || h->strides[i])
            return BAD("shape[%u] or strides[%u] is set beyond rank %u", (unsigned)i, (unsigned)i, (unsigned)h->rank);
    if ((h->layout == PSYNE_LAYOUT_NCHW || h->layout == PSYNE_LAYOUT_NHWC) && h->rank != 4)
        return BAD("layout %s needs rank 4, the header has rank %u", h->layout == PSYNE_LAYOUT_NCHW ? "NCHW" : "NHWC",
                   (unsigned)h->rank);
    if (h->flags & PSYNE_TENSOR_QUANTIZED) {
        if (!isfinite(h->scale) || h->scale == 0.0)
            return BAD("a quantised tensor needs a finite, non-zero scale; got %g", h->scale);
    } else if (h->scale != 0.0 || h->zero_point != 0) {
        return BAD("scale and zero_point are set but the QUANTIZED flag is not");
    }
    if (h->data_offset % PSYNE_TENSOR_ALIGNMENT || h->data_offset < PSYNE_TENSOR_HEADER_BYTES)
        return BAD("data_offset %llu must be a multiple of %d and at least %d", (unsigned long long)h->data_offset,
                   (int)PSYNE_TENSOR_ALIGNMENT, (int)PSYNE_TENSOR_HEADER_BYTES);
    uint64_t end;
    if (!add_ok(h->data_offset, h->data_bytes, &end) || end != (uint64_t)length)
        return BAD("data_offset %llu + data_bytes %llu does not equal the record length %zu",
                   (unsigned long long)h->data_offset, (unsigned long long)h->data_bytes, length);

    if (h->flags & PSYNE_TENSOR_CSR) {
        if (h->rank != 2) return BAD("a CSR tensor has rank 2, the header has rank %u", (unsigned)h->rank);
        if (h->dtype == PSYNE_DTYPE_TERNARY2) return BAD("CSR values cannot be packed ternary");
        if (h->index_dtype != PSYNE_DTYPE_I32 && h->index_dtype != PSYNE_DTYPE_I64)
            return BAD("CSR index_dtype %u must be i32 (%d) or i64 (%d)", (unsigned)h->index_dtype,
                       (int)PSYNE_DTYPE_I32, (int)PSYNE_DTYPE_I64);
        if (h->strides[0] || h->strides[1]) return BAD("a CSR tensor has no strides (they must be 0)");
        if (h->layout != PSYNE_LAYOUT_ROW_MAJOR) return BAD("a CSR tensor's layout is ROW_MAJOR");
        const uint64_t isz = psyne_dtype_size(h->index_dtype), vsz = psyne_dtype_size(h->dtype);
        uint64_t cells, indptr_bytes, indices_bytes, values_bytes;
        if (!mul_ok(h->shape[0], h->shape[1], &cells) || h->nnz > cells)
            return BAD("nnz %llu is more than rows * cols (%llu x %llu)", (unsigned long long)h->nnz,
                       (unsigned long long)h->shape[0], (unsigned long long)h->shape[1]);
        if (!add_ok(h->shape[0], 1, &indptr_bytes) || !mul_ok(indptr_bytes, isz, &indptr_bytes) ||
            !mul_ok(h->nnz, isz, &indices_bytes) || !mul_ok(h->nnz, vsz, &values_bytes))
            return BAD("CSR array sizes overflow 64 bits");
        if (!array_ok(h, h->indptr_offset, indptr_bytes) || !array_ok(h, h->indices_offset, indices_bytes) ||
            !array_ok(h, h->values_offset, values_bytes))
            return BAD("CSR arrays (indptr at %llu, %llu bytes; indices at %llu, %llu bytes; values at %llu, %llu "
                       "bytes) must be 64-byte aligned and inside the data [%llu, %llu)",
                       (unsigned long long)h->indptr_offset, (unsigned long long)indptr_bytes,
                       (unsigned long long)h->indices_offset, (unsigned long long)indices_bytes,
                       (unsigned long long)h->values_offset, (unsigned long long)values_bytes,
                       (unsigned long long)h->data_offset, (unsigned long long)end);
        /* In order and apart: indptr, then indices, then values. */
        if (h->indptr_offset + indptr_bytes > h->indices_offset || h->indices_offset + indices_bytes > h->values_offset)
            return BAD("CSR arrays overlap or are out of order (indptr, indices, values)");
        return *out = h, PSYNE_OK;
    }

    if (h->nnz || h->indptr_offset || h->indices_offset || h->values_offset || h->index_dtype)
        return BAD("CSR fields are set but the CSR flag is not");
    int ok;
    uint64_t need;
    if (h->dtype == PSYNE_DTYPE_TERNARY2) {
        for (uint32_t i = 0; i < h->rank; i++)
            if (h->strides[i]) return BAD("packed ternary tensors have no strides (they must be 0)");
        if (h->layout != PSYNE_LAYOUT_ROW_MAJOR) return BAD("packed ternary tensors are ROW_MAJOR");
        need = ternary_bytes(h->rank, h->shape, &ok);
        if (!ok) return BAD("the shape's size overflows 64 bits");
        if (h->data_bytes != need)
            return BAD("packed ternary data is %llu bytes, the shape needs exactly %llu",
                       (unsigned long long)h->data_bytes, (unsigned long long)need);
        return *out = h, PSYNE_OK;
    }
    for (uint32_t i = 0; i < h->rank; i++)
        if (h->strides[i] < 0)
            return BAD("strides[%u] is %lld; negative strides are not supported in version %d", (unsigned)i,
                       (long long)h->strides[i], (int)PSYNE_TENSOR_VERSION);
    uint64_t elements = 1;
    for (uint32_t i = 0; i < h->rank; i++)
        if (!mul_ok(elements, h->shape[i], &elements)) return BAD("the shape's element count overflows 64 bits");
    need = strided_extent(h->rank, h->shape, h->strides, psyne_dtype_size(h->dtype), &ok);
    if (!ok) return BAD("the strides address bytes beyond 64 bits");
    if (h->data_bytes < need)
        return BAD("data is %llu bytes but the shape and strides address %llu bytes (%llu elements of %s)",
                   (unsigned long long)h->data_bytes, (unsigned long long)need, (unsigned long long)elements,
                   psyne_dtype_name(h->dtype));
    return *out = h, PSYNE_OK;
}
