/* test_tensor.c - tensor message headers: building them for every dtype and
 * layout, CSR, sending them through a channel, and every malformed header
 * psyne_tensor_validate must refuse with PSYNE_E_FORMAT. */
#include "psyne/psyne.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(64) uint8_t buf[1 << 16];

/* Builds a record in buf from h (data left zero); returns its length. */
static size_t record(const psyne_tensor_header *h)
{
    uint64_t n = 0;
    psyne_tensor_record_bytes(h, &n);
    memset(buf, 0, n < sizeof buf ? n : sizeof buf);
    memcpy(buf, h, sizeof *h);
    return (size_t)n;
}

static void expect_format(const psyne_tensor_header *h, size_t length, const char *fragment, int line)
{
    memcpy(buf, h, sizeof *h);
    const psyne_tensor_header *out = (const psyne_tensor_header *)buf;
    psyne_status s = psyne_tensor_validate(buf, length, &out);
    if (s != PSYNE_E_FORMAT || out != NULL || (fragment && !strstr(psyne_last_error(), fragment))) {
        fprintf(stderr, "line %d: expected PSYNE_E_FORMAT with '%s', got %s: %s\n", line, fragment ? fragment : "",
                psyne_status_name(s), psyne_last_error());
        check_failures++;
    }
}
#define EXPECT_FORMAT(h, len, frag) expect_format(h, len, frag, __LINE__)

static void test_dtypes(void)
{
    static const int dtypes[] = {PSYNE_DTYPE_F32, PSYNE_DTYPE_F16, PSYNE_DTYPE_BF16, PSYNE_DTYPE_F64,
                                 PSYNE_DTYPE_I8,  PSYNE_DTYPE_U8,  PSYNE_DTYPE_I32,  PSYNE_DTYPE_I64};
    static const uint32_t sizes[] = {4, 2, 2, 8, 1, 1, 4, 8};
    const uint64_t shape[3] = {3, 5, 7};
    for (int i = 0; i < 8; i++) {
        psyne_tensor_header h;
        CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, dtypes[i], 3, shape, PSYNE_LAYOUT_ROW_MAJOR));
        CHECK_EQ_U64(sizes[i], psyne_dtype_size(dtypes[i]));
        CHECK_EQ_U64(PSYNE_TENSOR_MAGIC, h.magic);
        CHECK_EQ_U64(256, h.data_offset);
        CHECK_EQ_U64(105u * sizes[i], h.data_bytes);
        CHECK_EQ_U64(35, h.strides[0]);
        CHECK_EQ_U64(7, h.strides[1]);
        CHECK_EQ_U64(1, h.strides[2]);
        const size_t n = record(&h);
        const psyne_tensor_header *out = NULL;
        CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(buf, n, &out));
        CHECK(out == (const psyne_tensor_header *)buf);
        CHECK(strcmp(psyne_dtype_name(dtypes[i]), "invalid") != 0);
    }
    CHECK(strcmp(psyne_dtype_name(99), "invalid") == 0);
    CHECK_EQ_U64(0, psyne_dtype_size(PSYNE_DTYPE_TERNARY2));
    CHECK_EQ_U64(0, psyne_dtype_size(0));

    /* Column-major, NCHW/NHWC (rank 4 only), a scalar, a zero-size dimension, strided views. */
    psyne_tensor_header h;
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_F32, 3, shape, PSYNE_LAYOUT_COL_MAJOR));
    CHECK_EQ_U64(1, h.strides[0]);
    CHECK_EQ_U64(3, h.strides[1]);
    CHECK_EQ_U64(15, h.strides[2]);
    const uint64_t nchw[4] = {2, 3, 4, 5};
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_F16, 4, nchw, PSYNE_LAYOUT_NHWC));
    CHECK_EQ_U64(60, h.strides[0]);
    CHECK_EQ_U64(240, h.data_bytes);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init(&h, PSYNE_DTYPE_F32, 3, shape, PSYNE_LAYOUT_NCHW));
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_F64, 0, NULL, PSYNE_LAYOUT_ROW_MAJOR));
    CHECK_EQ_U64(8, h.data_bytes);
    const psyne_tensor_header *out;
    CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(buf, record(&h), &out));
    const uint64_t empty[2] = {4, 0};
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_I32, 2, empty, PSYNE_LAYOUT_ROW_MAJOR));
    CHECK_EQ_U64(0, h.data_bytes);
    CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(buf, record(&h), &out));
    /* A strided view: every other column of a 4 x 8 matrix, plus a broadcast (stride 0) dimension. */
    const uint64_t view[3] = {4, 4, 3};
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_F32, 3, view, PSYNE_LAYOUT_STRIDED));
    h.strides[0] = 8;
    h.strides[1] = 2;
    h.strides[2] = 0;
    h.data_bytes = 32 * 4;
    CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(buf, record(&h), &out));
    h.data_bytes = (3 * 8 + 3 * 2 + 1) * 4 - 1; /* one byte short of the last element */
    EXPECT_FORMAT(&h, 256 + h.data_bytes, "address");

    /* Packed ternary: the last dimension padded to 256-weight, 64-byte blocks. */
    const uint64_t tshape[2] = {3, 300};
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_TERNARY2, 2, tshape, PSYNE_LAYOUT_ROW_MAJOR));
    CHECK_EQ_U64(3 * 2 * 64, h.data_bytes);
    CHECK_EQ_U64(0, h.strides[0]);
    CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(buf, record(&h), &out));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT,
                 psyne_tensor_header_init(&h, PSYNE_DTYPE_TERNARY2, 2, tshape, PSYNE_LAYOUT_COL_MAJOR));

    /* Quantisation parameters. */
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_I8, 3, shape, PSYNE_LAYOUT_ROW_MAJOR));
    h.flags |= PSYNE_TENSOR_QUANTIZED;
    h.scale = 0.0125;
    h.zero_point = -3;
    CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(buf, record(&h), &out));
    CHECK(out->scale == 0.0125 && out->zero_point == -3);

    /* init refuses what it cannot describe. */
    const uint64_t huge[2] = {1ull << 40, 1ull << 40};
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init(&h, PSYNE_DTYPE_F32, 2, huge, PSYNE_LAYOUT_ROW_MAJOR));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init(&h, PSYNE_DTYPE_F32, 9, shape, PSYNE_LAYOUT_ROW_MAJOR));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init(&h, 0, 1, shape, PSYNE_LAYOUT_ROW_MAJOR));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init(&h, 10, 1, shape, PSYNE_LAYOUT_ROW_MAJOR));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init(&h, PSYNE_DTYPE_F32, 1, shape, 5));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init(&h, PSYNE_DTYPE_F32, 1, NULL, 0));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init(NULL, PSYNE_DTYPE_F32, 1, shape, 0));
}

static void test_csr(void)
{
    for (int idx = PSYNE_DTYPE_I32; idx <= PSYNE_DTYPE_I64; idx += PSYNE_DTYPE_I64 - PSYNE_DTYPE_I32) {
        psyne_tensor_header h;
        CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init_csr(&h, PSYNE_DTYPE_F32, idx, 100, 50, 37));
        const uint64_t isz = psyne_dtype_size(idx);
        CHECK_EQ_U64(PSYNE_TENSOR_CSR, h.flags);
        CHECK_EQ_U64(256, h.indptr_offset);
        CHECK_EQ_U64(0, h.indices_offset % 64);
        CHECK_EQ_U64(0, h.values_offset % 64);
        CHECK(h.indices_offset >= 256 + 101 * isz);
        CHECK(h.values_offset >= h.indices_offset + 37 * isz);
        CHECK_EQ_U64(h.values_offset + 37 * 4, h.data_offset + h.data_bytes);
        const size_t n = record(&h);
        const psyne_tensor_header *out = NULL;
        CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(buf, n, &out));

        psyne_tensor_header bad = h;
        bad.indices_offset = h.indptr_offset; /* overlaps indptr */
        EXPECT_FORMAT(&bad, n, "overlap");
        bad = h;
        bad.values_offset += 8; /* misaligned */
        EXPECT_FORMAT(&bad, n, "64-byte aligned");
        bad = h;
        bad.values_offset += 64; /* runs past the data */
        EXPECT_FORMAT(&bad, n, "inside the data");
        bad = h;
        bad.nnz = 100 * 50 + 1;
        EXPECT_FORMAT(&bad, n, "more than rows * cols");
        bad = h;
        bad.index_dtype = PSYNE_DTYPE_U8;
        EXPECT_FORMAT(&bad, n, "index_dtype");
        bad = h;
        bad.rank = 3;
        EXPECT_FORMAT(&bad, n, "rank 2");
        bad = h;
        bad.strides[0] = 1;
        EXPECT_FORMAT(&bad, n, "no strides");
        bad = h;
        bad.flags = 0;
        EXPECT_FORMAT(&bad, n, "CSR fields are set");
    }
    psyne_tensor_header h;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init_csr(&h, PSYNE_DTYPE_F32, PSYNE_DTYPE_I8, 4, 4, 1));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_header_init_csr(&h, PSYNE_DTYPE_F32, PSYNE_DTYPE_I32, 4, 4, 17));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT,
                 psyne_tensor_header_init_csr(&h, PSYNE_DTYPE_TERNARY2, PSYNE_DTYPE_I32, 4, 4, 1));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT,
                 psyne_tensor_header_init_csr(&h, PSYNE_DTYPE_F32, PSYNE_DTYPE_I32, 1ull << 33, 4, 1ull << 32));
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init_csr(&h, PSYNE_DTYPE_F64, PSYNE_DTYPE_I64, 0, 0, 0));
}

static void test_bad_headers(void)
{
    const uint64_t shape[2] = {4, 6};
    psyne_tensor_header good;
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&good, PSYNE_DTYPE_F32, 2, shape, PSYNE_LAYOUT_ROW_MAJOR));
    const size_t n = record(&good);
    psyne_tensor_header h;
    const psyne_tensor_header *out;

    h = good; h.magic ^= 1;               EXPECT_FORMAT(&h, n, "not a tensor");
    h = good; h.version = 2;              EXPECT_FORMAT(&h, n, "version 2, this library reads version 1");
    h = good; h.header_bytes = 128;       EXPECT_FORMAT(&h, n, "header_bytes");
    h = good; h.dtype = 0;                EXPECT_FORMAT(&h, n, "dtype 0");
    h = good; h.dtype = 200;              EXPECT_FORMAT(&h, n, "dtype 200");
    h = good; h.layout = 9;               EXPECT_FORMAT(&h, n, "layout 9");
    h = good; h.flags = 0x80;             EXPECT_FORMAT(&h, n, "unknown flags");
    h = good; h.rank = 9;                 EXPECT_FORMAT(&h, n, "rank 9");
    h = good; h.layout = PSYNE_LAYOUT_NCHW; EXPECT_FORMAT(&h, n, "rank 4");
    h = good; h.shape[2] = 1;             EXPECT_FORMAT(&h, n, "beyond rank");
    h = good; h.strides[7] = 1;           EXPECT_FORMAT(&h, n, "beyond rank");
    h = good; h.reserved0[1] = 1;         EXPECT_FORMAT(&h, n, "reserved");
    h = good; h.reserved1[47] = 1;        EXPECT_FORMAT(&h, n, "reserved");
    h = good; h.scale = 2.0;              EXPECT_FORMAT(&h, n, "QUANTIZED flag is not");
    h = good; h.flags = PSYNE_TENSOR_QUANTIZED; h.scale = 0; EXPECT_FORMAT(&h, n, "non-zero scale");
    h = good; h.flags = PSYNE_TENSOR_QUANTIZED; h.scale = NAN; EXPECT_FORMAT(&h, n, "finite");
    h = good; h.flags = PSYNE_TENSOR_QUANTIZED; h.scale = INFINITY; EXPECT_FORMAT(&h, n, "finite");
    h = good; h.data_offset = 320;        EXPECT_FORMAT(&h, n, "does not equal the record length");
    h = good; h.data_offset = 264;        EXPECT_FORMAT(&h, n + 8, "multiple of 64");
    h = good; h.data_offset = 192;        EXPECT_FORMAT(&h, n - 64, "at least 256");
    h = good; h.data_bytes += 1;          EXPECT_FORMAT(&h, n, "does not equal the record length");
    h = good;                             EXPECT_FORMAT(&h, n - 1, "does not equal the record length");
    h = good;                             EXPECT_FORMAT(&h, n + 1, "does not equal the record length");
    h = good; h.data_bytes = UINT64_MAX - 100; EXPECT_FORMAT(&h, n, "does not equal");
    h = good; h.data_bytes -= 4;          EXPECT_FORMAT(&h, n - 4, "address");
    h = good; h.strides[0] = -6;          EXPECT_FORMAT(&h, n, "negative strides");
    h = good; h.strides[0] = 7;           EXPECT_FORMAT(&h, n, "address");
    h = good; h.strides[0] = INT64_MAX;   EXPECT_FORMAT(&h, n, "beyond 64 bits");
    h = good; h.shape[0] = 1ull << 62; h.shape[1] = 1ull << 62; EXPECT_FORMAT(&h, n, "overflows");
    h = good; h.nnz = 1;                  EXPECT_FORMAT(&h, n, "CSR fields are set");
    h = good; h.index_dtype = PSYNE_DTYPE_I32; EXPECT_FORMAT(&h, n, "CSR fields are set");
    EXPECT_FORMAT(&good, 255, "shorter than the 256-byte tensor header");
    EXPECT_FORMAT(&good, 0, "shorter");
    /* Packed ternary: exact size, no strides. */
    const uint64_t tshape[1] = {257};
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_TERNARY2, 1, tshape, PSYNE_LAYOUT_ROW_MAJOR));
    psyne_tensor_header t = h;
    t.strides[0] = 1;
    EXPECT_FORMAT(&t, 256 + 128, "no strides");
    t = h;
    t.data_bytes = 64;
    EXPECT_FORMAT(&t, 256 + 64, "needs exactly 128");

    /* Not a format problem: the caller's pointers. */
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_validate(NULL, n, &out));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_validate(buf, n, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_tensor_validate(buf + 4, n, &out));
}

/* Random bytes never crash the validator, and a valid result is really valid. */
static void test_random(void)
{
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 20000; round++) {
        const uint64_t shape[3] = {3, 5, 7};
        psyne_tensor_header h;
        psyne_tensor_header_init(&h, 1 + round % 9, round % 4, shape, PSYNE_LAYOUT_ROW_MAJOR);
        uint8_t *p = (uint8_t *)&h;
        for (int k = 0; k < 1 + round % 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p[x % sizeof h] = (uint8_t)(x >> 32);
        }
        memcpy(buf, &h, sizeof h);
        const psyne_tensor_header *out = NULL;
        const size_t len = 256 + (size_t)(x >> 40) % 4096;
        psyne_status s = psyne_tensor_validate(buf, len, &out);
        CHECK(s == PSYNE_OK || s == PSYNE_E_FORMAT);
        if (s == PSYNE_OK) CHECK(out->data_offset + out->data_bytes == len);
    }
}

/* Each dtype and a CSR matrix through a channel: header and aligned data in one record. */
static void test_roundtrip(void)
{
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.capacity = 1u << 16;
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_create_inproc(&o, &ch));
    if (!ch) return;
    for (int dtype = PSYNE_DTYPE_F32; dtype <= PSYNE_DTYPE_TERNARY2 + 1; dtype++) {
        psyne_tensor_header h;
        if (dtype <= PSYNE_DTYPE_TERNARY2) {
            const uint64_t shape[2] = {7, 300};
            CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, dtype, 2, shape, PSYNE_LAYOUT_ROW_MAJOR));
        } else {
            CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init_csr(&h, PSYNE_DTYPE_BF16, PSYNE_DTYPE_I32, 30, 40, 55));
        }
        uint64_t bytes = 0;
        CHECK_STATUS(PSYNE_OK, psyne_tensor_record_bytes(&h, &bytes));
        psyne_reservation r;
        CHECK_STATUS(PSYNE_OK, psyne_channel_try_reserve(ch, (uint32_t)bytes, PSYNE_TENSOR_ALIGNMENT, &r));
        memcpy(r.data, &h, sizeof h);
        uint8_t *d = (uint8_t *)r.data + h.data_offset;
        for (uint64_t i = 0; i < h.data_bytes; i++) d[i] = (uint8_t)(i * 13 + (uint64_t)dtype);
        CHECK_STATUS(PSYNE_OK, psyne_channel_commit(ch, &r, (uint32_t)bytes, 0x7E));
        psyne_record rec;
        CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
        const psyne_tensor_header *out = NULL;
        CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(rec.data, rec.length, &out));
        if (out) {
            CHECK(memcmp(out, &h, sizeof h) == 0);
            const uint8_t *data = (const uint8_t *)rec.data + out->data_offset;
            CHECK_EQ_U64(0, (uintptr_t)data % 64);
            int same = 1;
            for (uint64_t i = 0; i < out->data_bytes; i++) same &= data[i] == (uint8_t)(i * 13 + (uint64_t)dtype);
            CHECK(same);
            if (out->flags & PSYNE_TENSOR_CSR) {
                CHECK_EQ_U64(0, (uintptr_t)((const uint8_t *)rec.data + out->values_offset) % 64);
                CHECK_EQ_U64(0, (uintptr_t)((const uint8_t *)rec.data + out->indices_offset) % 64);
            }
        }
        CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    }
    psyne_channel_close(ch);
}

int main(void)
{
    TEST_INIT();
    test_dtypes();
    test_csr();
    test_bad_headers();
    test_random();
    test_roundtrip();
    TEST_DONE();
}
