/*
 * ternary_file.c - the .psyt image: serialise to a buffer or a file, and read
 * one back defensively (docs/ternary.md has the layout byte by byte).
 *
 *   off  size  field
 *     0     4  magic          'P' 'S' 'Y' 'T'
 *     4     4  version        1
 *     8     4  header_bytes   64
 *    12     4  block_weights  256
 *    16     4  rows
 *    20     4  cols
 *    24     4  padded_cols    cols rounded up to 256
 *    28     4  scale_mode     0 tensor, 1 row
 *    32     4  scale_count    1 or rows
 *    36     4  flags          0
 *    40     8  packed_offset  64 + 4 * scale_count rounded up to 64
 *    48     8  packed_bytes   rows * padded_cols / 4
 *    56     8  file_bytes     packed_offset + packed_bytes + 4
 *    64        scales         scale_count float32, then zero bytes up to packed_offset
 *  packed_offset  packed weights, rows * padded_cols / 4 bytes
 *  file_bytes-4   CRC32C of bytes [0, file_bytes - 4)
 *
 * Integers are little-endian; a reader trusts no field until it has checked
 * it against every other one, so each is read exactly once and compared
 * with the value the shape implies.
 */
#include "kernels/ternary_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_HEADER_BYTES = 8,
    OFF_BLOCK = 12,
    OFF_ROWS = 16,
    OFF_COLS = 20,
    OFF_PADDED_COLS = 24,
    OFF_SCALE_MODE = 28,
    OFF_SCALE_COUNT = 32,
    OFF_FLAGS = 36,
    OFF_PACKED_OFFSET = 40,
    OFF_PACKED_BYTES = 48,
    OFF_FILE_BYTES = 56
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t packed_offset_for(uint32_t scale_count)
{
    const uint64_t end = PSYNE_PSYT_HEADER_BYTES + 4ull * scale_count;
    return (end + PSYNE_PSYT_ALIGNMENT - 1) / PSYNE_PSYT_ALIGNMENT * PSYNE_PSYT_ALIGNMENT;
}

static uint64_t file_bytes_for(const psyne_ternary_matrix *m)
{
    return packed_offset_for(m->scale_count) + m->packed_bytes + PSYNE_PSYT_TRAILER_BYTES;
}

static void build_header(const psyne_ternary_matrix *m, uint8_t h[PSYNE_PSYT_HEADER_BYTES])
{
    memset(h, 0, PSYNE_PSYT_HEADER_BYTES);
    put32(h + OFF_MAGIC, PSYNE_PSYT_MAGIC);
    put32(h + OFF_VERSION, PSYNE_PSYT_VERSION);
    put32(h + OFF_HEADER_BYTES, PSYNE_PSYT_HEADER_BYTES);
    put32(h + OFF_BLOCK, PSYNE_TERNARY_BLOCK_WEIGHTS);
    put32(h + OFF_ROWS, m->rows);
    put32(h + OFF_COLS, m->cols);
    put32(h + OFF_PADDED_COLS, m->padded_cols);
    put32(h + OFF_SCALE_MODE, m->scale_mode);
    put32(h + OFF_SCALE_COUNT, m->scale_count);
    put32(h + OFF_FLAGS, 0);
    put64(h + OFF_PACKED_OFFSET, packed_offset_for(m->scale_count));
    put64(h + OFF_PACKED_BYTES, m->packed_bytes);
    put64(h + OFF_FILE_BYTES, file_bytes_for(m));
}

/* ---- writing --------------------------------------------------------- */

/* Where an image goes: a buffer or a stdio stream, with the running CRC. */
typedef struct sink {
    uint8_t *buf;
    FILE *file;
    size_t pos;
    uint32_t crc;
    int failed; /* errno of the first failed write, or -1 */
} sink;

static void sink_write(sink *s, const void *data, size_t n)
{
    if (s->failed || n == 0) return;
    psyne_crc32c(s->crc, data, n, &s->crc);
    if (s->buf) {
        memcpy(s->buf + s->pos, data, n);
    } else if (fwrite(data, 1, n, s->file) != n) {
        s->failed = errno ? errno : -1;
        return;
    }
    s->pos += n;
}

static void write_image(const psyne_ternary_matrix *m, sink *s)
{
    uint8_t header[PSYNE_PSYT_HEADER_BYTES];
    build_header(m, header);
    sink_write(s, header, sizeof header);
    uint8_t chunk[1024];
    for (uint32_t i = 0; i < m->scale_count;) {
        uint32_t n = 0;
        for (; n < sizeof chunk / 4 && i < m->scale_count; n++, i++) {
            uint32_t bits;
            memcpy(&bits, &m->scales[i], 4);
            put32(chunk + 4 * n, bits);
        }
        sink_write(s, chunk, 4 * (size_t)n);
    }
    const size_t padding = (size_t)(packed_offset_for(m->scale_count) - PSYNE_PSYT_HEADER_BYTES - 4ull * m->scale_count);
    memset(chunk, 0, padding);
    sink_write(s, chunk, padding);
    sink_write(s, m->packed, m->packed_bytes);
    if (s->failed) return;
    uint8_t trailer[4];
    put32(trailer, s->crc);
    const uint32_t crc = s->crc;
    sink_write(s, trailer, sizeof trailer);
    s->crc = crc;
}

psyne_status psyne_ternary_serialize(const psyne_ternary_matrix *matrix, void *buf, size_t capacity, size_t *written)
{
    static const char fn[] = "psyne_ternary_serialize";
    psyne__clear_error();
    if (!matrix || !written) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: matrix and written must not be NULL", fn);
    const uint64_t size = file_bytes_for(matrix);
    if (size > SIZE_MAX) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: the image is larger than this process can address", fn);
    *written = (size_t)size;
    if (!buf) {
        if (capacity != 0)
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: buf is NULL but capacity is %zu (NULL with 0 asks for the size)",
                               fn, capacity);
        return PSYNE_OK;
    }
    if (capacity < size)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: capacity %zu is smaller than the %zu bytes the image needs", fn,
                           capacity, (size_t)size);
    sink s = {.buf = buf};
    write_image(matrix, &s);
    return PSYNE_OK;
}

psyne_status psyne_ternary_save(const psyne_ternary_matrix *matrix, const char *path)
{
    static const char fn[] = "psyne_ternary_save";
    psyne__clear_error();
    if (!matrix || !path) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: matrix and path must not be NULL", fn);
    FILE *f = fopen(path, "wb");
    if (!f) return psyne__fail(PSYNE_E_IO, "%s: cannot create '%.300s': %s", fn, path, strerror(errno));
    sink s = {.file = f};
    errno = 0;
    write_image(matrix, &s);
    if (fclose(f) != 0 && !s.failed) s.failed = errno ? errno : -1;
    if (s.failed) {
        remove(path);
        return psyne__fail(PSYNE_E_IO, "%s: writing '%.300s' failed: %s", fn, path,
                           s.failed > 0 ? strerror(s.failed) : "short write");
    }
    return PSYNE_OK;
}

/* ---- reading --------------------------------------------------------- */

typedef struct psyt_layout {
    struct psyne_ternary_matrix shape;
    uint32_t scale_mode;
    uint32_t scale_count;
    uint64_t packed_offset;
    uint64_t file_bytes;
} psyt_layout;

static psyne_status mismatch(const char *fn, const char *field, unsigned long long found, unsigned long long expected)
{
    return psyne__fail(PSYNE_E_FORMAT, "%s: header field %s is %llu, expected %llu; the image is not a valid .psyt", fn,
                       field, found, expected);
}

/* Checks the header in h (available bytes of the image; total is the image
 * size) and computes the layout. */
static psyne_status parse_header(const char *fn, const uint8_t *h, size_t available, uint64_t total, psyt_layout *out)
{
    if (available < 4)
        return psyne__fail(PSYNE_E_FORMAT, "%s: truncated: %llu byte(s), a .psyt image starts with a %d-byte header", fn,
                           (unsigned long long)total, (int)PSYNE_PSYT_HEADER_BYTES);
    const uint32_t magic = get32(h + OFF_MAGIC);
    if (magic != PSYNE_PSYT_MAGIC)
        return psyne__fail(PSYNE_E_FORMAT,
                           "%s: wrong magic: expected 'PSYT' (50 53 59 54), found %02x %02x %02x %02x; not a .psyt image",
                           fn, h[0], h[1], h[2], h[3]);
    if (available < PSYNE_PSYT_HEADER_BYTES)
        return psyne__fail(PSYNE_E_FORMAT, "%s: truncated: %llu byte(s), shorter than the %d-byte .psyt header", fn,
                           (unsigned long long)total, (int)PSYNE_PSYT_HEADER_BYTES);
    const uint32_t version = get32(h + OFF_VERSION);
    if (version != PSYNE_PSYT_VERSION)
        return psyne__fail(PSYNE_E_FORMAT, "%s: .psyt version %u, this library reads version %d: convert the file or upgrade",
                           fn, (unsigned)version, (int)PSYNE_PSYT_VERSION);
    if (get32(h + OFF_HEADER_BYTES) != PSYNE_PSYT_HEADER_BYTES)
        return mismatch(fn, "header_bytes", get32(h + OFF_HEADER_BYTES), PSYNE_PSYT_HEADER_BYTES);
    if (get32(h + OFF_BLOCK) != PSYNE_TERNARY_BLOCK_WEIGHTS)
        return mismatch(fn, "block_weights", get32(h + OFF_BLOCK), PSYNE_TERNARY_BLOCK_WEIGHTS);
    if (get32(h + OFF_FLAGS) != 0) return mismatch(fn, "flags", get32(h + OFF_FLAGS), 0);

    memset(out, 0, sizeof *out);
    psyne_status s = psyne__ternary_shape(fn, get32(h + OFF_ROWS), get32(h + OFF_COLS), 1, &out->shape);
    if (s != PSYNE_OK) return s;
    const struct psyne_ternary_matrix *shape = &out->shape;
    if (get32(h + OFF_PADDED_COLS) != shape->padded_cols)
        return mismatch(fn, "padded_cols", get32(h + OFF_PADDED_COLS), shape->padded_cols);
    out->scale_mode = get32(h + OFF_SCALE_MODE);
    if (out->scale_mode != PSYNE_TERNARY_SCALE_TENSOR && out->scale_mode != PSYNE_TERNARY_SCALE_ROW)
        return psyne__fail(PSYNE_E_FORMAT, "%s: header field scale_mode is %u, expected 0 (tensor) or 1 (row)", fn,
                           (unsigned)out->scale_mode);
    out->scale_count = out->scale_mode == PSYNE_TERNARY_SCALE_ROW ? shape->rows : 1u;
    if (get32(h + OFF_SCALE_COUNT) != out->scale_count)
        return mismatch(fn, "scale_count", get32(h + OFF_SCALE_COUNT), out->scale_count);
    out->packed_offset = packed_offset_for(out->scale_count);
    if (get64(h + OFF_PACKED_OFFSET) != out->packed_offset)
        return mismatch(fn, "packed_offset", get64(h + OFF_PACKED_OFFSET), out->packed_offset);
    if (get64(h + OFF_PACKED_BYTES) != shape->packed_bytes)
        return mismatch(fn, "packed_bytes", get64(h + OFF_PACKED_BYTES), shape->packed_bytes);
    out->file_bytes = out->packed_offset + shape->packed_bytes + PSYNE_PSYT_TRAILER_BYTES;
    if (get64(h + OFF_FILE_BYTES) != out->file_bytes)
        return mismatch(fn, "file_bytes", get64(h + OFF_FILE_BYTES), out->file_bytes);
    if (total < out->file_bytes)
        return psyne__fail(PSYNE_E_FORMAT, "%s: truncated: the image is %llu bytes, its header says %llu (%u x %u)", fn,
                           (unsigned long long)total, (unsigned long long)out->file_bytes, (unsigned)shape->rows,
                           (unsigned)shape->cols);
    if (total > out->file_bytes)
        return psyne__fail(PSYNE_E_FORMAT, "%s: %llu unexpected byte(s) after the end of the .psyt image (%llu bytes)", fn,
                           (unsigned long long)(total - out->file_bytes), (unsigned long long)out->file_bytes);
    return PSYNE_OK;
}

/* Checks the scale section (scales and padding, packed_offset - 64 bytes) and
 * stores the scales in m. */
static psyne_status take_scales(const char *fn, const uint8_t *section, psyne_ternary_matrix *m)
{
    for (uint32_t i = 0; i < m->scale_count; i++) {
        const uint32_t bits = get32(section + 4 * (size_t)i);
        float v;
        memcpy(&v, &bits, 4);
        if (!isfinite(v))
            return psyne__fail(PSYNE_E_FORMAT, "%s: scale %u is %s (bits 0x%08x); scales must be finite", fn, (unsigned)i,
                               isnan(v) ? "NaN" : "infinite", (unsigned)bits);
        m->scales[i] = v;
    }
    const size_t end = (size_t)(packed_offset_for(m->scale_count) - PSYNE_PSYT_HEADER_BYTES);
    for (size_t i = 4 * (size_t)m->scale_count; i < end; i++)
        if (section[i] != 0)
            return psyne__fail(PSYNE_E_FORMAT, "%s: padding byte at offset %zu is 0x%02x, expected 0", fn,
                               (size_t)PSYNE_PSYT_HEADER_BYTES + i, section[i]);
    return PSYNE_OK;
}

static psyne_status check_codes(const char *fn, const psyne_ternary_matrix *m)
{
    for (uint32_t r = 0; r < m->rows; r++) {
        uint32_t col = 0;
        const uint8_t *row = m->packed + (size_t)r * m->row_bytes;
        const size_t at = psyne__ternary_check_row(row, m->cols, m->blocks, &col);
        if (at != SIZE_MAX)
            return psyne__fail(PSYNE_E_FORMAT,
                               "%s: packed byte 0x%02x of row %u holds an invalid code for column %u (codes are 0, 1, 2; "
                               "padding columns must be 1)",
                               fn, row[at], (unsigned)r, (unsigned)col);
    }
    return PSYNE_OK;
}

static psyne_status crc_mismatch(const char *fn, uint32_t stored, uint32_t computed)
{
    return psyne__fail(PSYNE_E_FORMAT, "%s: CRC32C mismatch: the image stores 0x%08x, its bytes give 0x%08x; it is corrupted",
                       fn, (unsigned)stored, (unsigned)computed);
}

psyne_status psyne_ternary_deserialize(const void *buf, size_t length, psyne_ternary_matrix **out)
{
    static const char fn[] = "psyne_ternary_deserialize";
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: out must not be NULL", fn);
    *out = NULL;
    if (!buf && length) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: buf is NULL but length is %zu", fn, length);
    const uint8_t *p = buf;
    psyt_layout layout;
    psyne_status s = parse_header(fn, p, length, length, &layout);
    if (s != PSYNE_OK) return s;

    const size_t body = (size_t)layout.file_bytes - PSYNE_PSYT_TRAILER_BYTES;
    uint32_t crc = 0;
    psyne_crc32c(0, p, body, &crc);
    if (crc != get32(p + body)) return crc_mismatch(fn, get32(p + body), crc);

    psyne_ternary_matrix *m;
    s = psyne__ternary_alloc(fn, &layout.shape, layout.scale_mode, &m);
    if (s != PSYNE_OK) return s;
    s = take_scales(fn, p + PSYNE_PSYT_HEADER_BYTES, m);
    if (s == PSYNE_OK) {
        memcpy(m->packed, p + layout.packed_offset, m->packed_bytes);
        s = check_codes(fn, m);
    }
    if (s != PSYNE_OK) {
        char message[512];
        snprintf(message, sizeof message, "%s", psyne_last_error());
        psyne_ternary_free(m); /* clears the message */
        return psyne__fail(s, "%s", message);
    }
    *out = m;
    return PSYNE_OK;
}

static psyne_status read_exact(const char *fn, const char *path, FILE *f, void *dst, size_t n, uint32_t *crc)
{
    if (n && fread(dst, 1, n, f) != n) {
        if (ferror(f)) return psyne__fail(PSYNE_E_IO, "%s: reading '%.300s' failed: %s", fn, path, strerror(errno));
        return psyne__fail(PSYNE_E_FORMAT, "%s: '%.300s' is truncated (it changed while being read?)", fn, path);
    }
    if (crc) psyne_crc32c(*crc, dst, n, crc);
    return PSYNE_OK;
}

static psyne_status load_stream(const char *fn, const char *path, FILE *f, uint64_t size, psyne_ternary_matrix **out)
{
    uint8_t header[PSYNE_PSYT_HEADER_BYTES];
    const size_t head = size < sizeof header ? (size_t)size : sizeof header;
    psyne_status s = read_exact(fn, path, f, header, head, NULL);
    if (s != PSYNE_OK) return s;
    psyt_layout layout;
    s = parse_header(fn, header, head, size, &layout);
    if (s != PSYNE_OK) {
        char message[512];
        snprintf(message, sizeof message, "%s", psyne_last_error());
        return psyne__fail(s, "%.300s (file '%.200s')", message, path);
    }

    psyne_ternary_matrix *m;
    s = psyne__ternary_alloc(fn, &layout.shape, layout.scale_mode, &m);
    if (s != PSYNE_OK) return s;
    uint32_t crc = 0;
    psyne_crc32c(0, header, sizeof header, &crc);
    const size_t section_bytes = (size_t)(layout.packed_offset - PSYNE_PSYT_HEADER_BYTES);
    uint8_t *section = malloc(section_bytes);
    uint8_t trailer[4];
    if (!section) s = psyne__fail(PSYNE_E_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes for the scales", fn, section_bytes);
    if (s == PSYNE_OK) s = read_exact(fn, path, f, section, section_bytes, &crc);
    if (s == PSYNE_OK) s = read_exact(fn, path, f, m->packed, m->packed_bytes, &crc);
    if (s == PSYNE_OK) s = read_exact(fn, path, f, trailer, sizeof trailer, NULL);
    if (s == PSYNE_OK && crc != get32(trailer)) s = crc_mismatch(fn, get32(trailer), crc);
    if (s == PSYNE_OK) s = take_scales(fn, section, m);
    if (s == PSYNE_OK) s = check_codes(fn, m);
    free(section);
    if (s != PSYNE_OK) {
        char message[512];
        snprintf(message, sizeof message, "%s", psyne_last_error());
        psyne_ternary_free(m);
        return psyne__fail(s, "%s (file '%.200s')", message, path);
    }
    *out = m;
    return PSYNE_OK;
}

psyne_status psyne_ternary_load(const char *path, psyne_ternary_matrix **out)
{
    static const char fn[] = "psyne_ternary_load";
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: out must not be NULL", fn);
    *out = NULL;
    if (!path) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: path must not be NULL", fn);
    FILE *f = fopen(path, "rb");
    if (!f) {
        const int e = errno;
        return psyne__fail(e == ENOENT ? PSYNE_E_NOT_FOUND : PSYNE_E_IO, "%s: cannot open '%.300s': %s", fn, path,
                           strerror(e));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        const int e = errno;
        fclose(f);
        return psyne__fail(PSYNE_E_IO, "%s: cannot stat '%.300s': %s", fn, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return psyne__fail(PSYNE_E_IO, "%s: '%.300s' is not a regular file", fn, path);
    }
    psyne_status s = load_stream(fn, path, f, (uint64_t)st.st_size, out);
    fclose(f);
    return s;
}
