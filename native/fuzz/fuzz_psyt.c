/* fuzz_psyt.c - libFuzzer target for the .psyt reader.
 *
 * Any input must give PSYNE_OK or PSYNE_E_FORMAT (never a crash, a hang, a
 * leak or a read outside the buffer: the build adds ASan and UBSan). An
 * accepted image must be fully usable: it serialises back to the very same
 * bytes, and the matmul runs on it. A second input shape lets the fuzzer get
 * past the CRC: when the first byte is 'F', the rest is taken as an image
 * whose CRC trailer is recomputed before parsing, so the checks behind the
 * checksum (shape, scales, codes, padding) are reached too.
 *
 * Build and run: see native/fuzz/CMakeLists.txt (clang, -DPSYNE_FUZZ=ON;
 * make_psyt_seeds writes a seed corpus, psyt.dict is the dictionary).
 */
#include <psyne/psyne.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void check_accepted(psyne_ternary_matrix *m, const uint8_t *image, size_t size)
{
    psyne_ternary_matrix_info info;
    if (psyne_ternary_info(m, &info) != PSYNE_OK) abort();
    if (info.serialized_bytes != size) abort();
    uint8_t *copy = malloc(size);
    size_t written = 0;
    if (!copy || psyne_ternary_serialize(m, copy, size, &written) != PSYNE_OK || written != size ||
        memcmp(copy, image, size) != 0)
        abort();
    free(copy);
    /* Small enough to multiply: one token through the selected kernel. */
    if ((uint64_t)info.rows * info.cols <= (1u << 20)) {
        int8_t *xq = calloc(info.cols, 1);
        int32_t *acc = calloc(info.rows, sizeof(int32_t));
        if (!xq || !acc || psyne_ternary_gemm_i32(m, xq, 1, acc) != PSYNE_OK) abort();
        for (uint32_t r = 0; r < info.rows; r++)
            if (acc[r] != 0) abort(); /* zero activations give zero */
        free(xq);
        free(acc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised = 0;
    if (!initialised) {
        psyne_init();
        psyne_threads_set(1);
        initialised = 1;
    }
    const uint8_t *image = data;
    uint8_t *fixed = NULL;
    if (size >= 1 + 8 && data[0] == 'F') {
        fixed = malloc(size - 1);
        if (!fixed) return 0;
        memcpy(fixed, data + 1, size - 1);
        size -= 1;
        uint32_t crc = 0;
        psyne_crc32c(0, fixed, size - 4, &crc);
        put32(fixed + size - 4, crc);
        image = fixed;
    }
    psyne_ternary_matrix *m = NULL;
    const psyne_status s = psyne_ternary_deserialize(image, size, &m);
    if (s == PSYNE_OK) {
        if (!m) abort();
        check_accepted(m, image, size);
        psyne_ternary_free(m);
    } else if (s != PSYNE_E_FORMAT || m != NULL || psyne_last_error()[0] == '\0') {
        fprintf(stderr, "unexpected result %s: %s\n", psyne_status_name(s), psyne_last_error());
        abort();
    }
    free(fixed);
    return 0;
}
