/* test_crc32c.c - CRC32C: known vectors, every variant against a bitwise
 * reference, chaining, argument errors and dispatch. */
#include "check.h"

#include <psyne/psyne.h>

#include <stdint.h>

static const psyne_crc32c_variant kVariants[] = {PSYNE_CRC32C_TABLE, PSYNE_CRC32C_HW, PSYNE_CRC32C_VPCLMUL};
enum { VARIANT_COUNT = sizeof kVariants / sizeof kVariants[0] };

/* Bit-at-a-time CRC32C, independent of the library's code. Finished crc in and out. */
static uint32_t reference_crc(uint32_t crc, const uint8_t *p, size_t n)
{
    uint32_t reg = ~crc;
    while (n--) {
        reg ^= *p++;
        for (int bit = 0; bit < 8; bit++)
            reg = (reg >> 1) ^ (0x82F63B78u & (0u - (reg & 1u)));
    }
    return ~reg;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t xorshift64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(xorshift64() >> 56);
}

static uint32_t crc_of(psyne_crc32c_variant variant, uint32_t crc, const void *data, size_t n)
{
    uint32_t out = 0xDEADBEEFu;
    CHECK_STATUS(PSYNE_OK, psyne_crc32c_variant_compute(variant, crc, data, n, &out));
    return out;
}

static int variant_supported(psyne_crc32c_variant variant, const psyne_cpu_info *cpu)
{
    const uint64_t hw = PSYNE_CPU_SSE42 | PSYNE_CPU_PCLMULQDQ;
    switch (variant) {
    case PSYNE_CRC32C_HW:
        return (cpu->features & hw) == hw;
    case PSYNE_CRC32C_VPCLMUL:
        return (cpu->features & hw) == hw && cpu->detected_isa == PSYNE_ISA_AVX512 &&
               (cpu->features & PSYNE_CPU_VPCLMULQDQ);
    default:
        return 1;
    }
}

static void test_known_vectors(void)
{
    uint8_t buf[48];
    uint32_t out = 0;

    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, "123456789", 9, &out));
    CHECK_EQ_U64(0xE3069283u, out);

    /* RFC 3720 appendix B.4. */
    memset(buf, 0x00, 32);
    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, buf, 32, &out));
    CHECK_EQ_U64(0x8A9136AAu, out);
    memset(buf, 0xFF, 32);
    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, buf, 32, &out));
    CHECK_EQ_U64(0x62A8AB43u, out);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, buf, 32, &out));
    CHECK_EQ_U64(0x46DD794Eu, out);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, buf, 32, &out));
    CHECK_EQ_U64(0x113FDB5Cu, out);
    static const uint8_t read_pdu[48] = {
        0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, read_pdu, sizeof read_pdu, &out));
    CHECK_EQ_U64(0xD9963A56u, out);
    CHECK_STATUS(PSYNE_OK, psyne_crc32c_small(0, read_pdu, sizeof read_pdu, &out));
    CHECK_EQ_U64(0xD9963A56u, out);
}

/* Every length 0..4096 at start offsets 0..7. Each buffer is its own
 * allocation ending exactly at the last byte, so sanitizer builds catch any
 * read past the end. Also continues from a non-zero crc at a third of the way. */
static void test_all_lengths(const psyne_cpu_info *cpu)
{
    enum { MAX_LEN = 4096, OFFSETS = 8 };
    static uint8_t source[MAX_LEN + OFFSETS];
    static uint32_t prefix[MAX_LEN + 1];
    fill_random(source, sizeof source);

    for (size_t offset = 0; offset < OFFSETS; offset++) {
        const uint8_t *src = source + offset;
        prefix[0] = 0;
        for (size_t n = 1; n <= MAX_LEN; n++)
            prefix[n] = reference_crc(prefix[n - 1], src + n - 1, 1);

        for (size_t n = 0; n <= MAX_LEN; n++) {
            uint8_t *block = malloc(offset + n > 0 ? offset + n : 1);
            CHECK(block != NULL);
            if (!block)
                return;
            uint8_t *data = block + offset;
            memcpy(data, src, n);
            const size_t split = n / 3;
            for (int v = 0; v < VARIANT_COUNT; v++) {
                if (!variant_supported(kVariants[v], cpu))
                    continue;
                uint32_t one_shot = crc_of(kVariants[v], 0, data, n);
                uint32_t continued = crc_of(kVariants[v], prefix[split], data + split, n - split);
                if (one_shot != prefix[n] || continued != prefix[n]) {
                    fprintf(stderr, "variant %s, length %zu, offset %zu: got 0x%08x / 0x%08x, want 0x%08x\n",
                            psyne_crc32c_variant_name(kVariants[v]), n, offset, one_shot, continued, prefix[n]);
                    check_failures++;
                    free(block);
                    return;
                }
            }
            uint32_t out = 0;
            CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, data, n, &out));
            CHECK_EQ_U64(prefix[n], out);
            CHECK_STATUS(PSYNE_OK, psyne_crc32c_small(0, data, n, &out));
            CHECK_EQ_U64(prefix[n], out);
            free(block);
        }
    }
}

/* Large lengths around the block sizes of the fast variants (hw: stripes of
 * 3 x 256 and 3 x 8192 bytes; vpclmul: chunks of 10496 bytes), against the
 * table variant (itself checked against the bitwise reference above), plus
 * chaining across variants at awkward split points. */
static void test_large(const psyne_cpu_info *cpu)
{
    static const size_t lengths[] = {
        3 * 8192 - 1, 3 * 8192, 3 * 8192 + 7, 3 * 8192 + 3 * 256 + 63, 10496 - 1, 10496, 10496 + 1,
        2 * 10496 + 127, 2 * 10496 + 128, 65536, 100003, (1u << 20) + 13,
    };
    const size_t max_len = (1u << 20) + 13;
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        const size_t n = lengths[i];
        for (size_t offset = 0; offset < 8; offset += (n > 65536 ? 3 : 1)) {
            uint8_t *block = malloc(offset + n);
            CHECK(block != NULL);
            if (!block)
                return;
            uint8_t *data = block + offset;
            fill_random(data, n);
            const uint32_t expected = crc_of(PSYNE_CRC32C_TABLE, 0, data, n);
            for (int v = 1; v < VARIANT_COUNT; v++)
                if (variant_supported(kVariants[v], cpu))
                    CHECK_EQ_U64(expected, crc_of(kVariants[v], 0, data, n));
            uint32_t out = 0;
            CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, data, n, &out));
            CHECK_EQ_U64(expected, out);
            free(block);
        }
    }

    uint8_t *data = malloc(max_len);
    CHECK(data != NULL);
    if (!data)
        return;
    fill_random(data, max_len);
    const uint32_t whole = crc_of(PSYNE_CRC32C_TABLE, 0, data, max_len);
    const size_t splits[] = {0, 1, 255, 256, 4097, 24576, max_len / 2, max_len - 300, max_len - 1, max_len};
    for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
        const size_t k = splits[s];
        uint32_t first = 0, second = 0;
        CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, data, k, &first));
        CHECK_STATUS(PSYNE_OK, psyne_crc32c(first, data + k, max_len - k, &second));
        CHECK_EQ_U64(whole, second);
        for (int a = 0; a < VARIANT_COUNT; a++) {
            for (int b = 0; b < VARIANT_COUNT; b++) {
                if (!variant_supported(kVariants[a], cpu) || !variant_supported(kVariants[b], cpu))
                    continue;
                uint32_t head = crc_of(kVariants[a], 0, data, k);
                CHECK_EQ_U64(whole, crc_of(kVariants[b], head, data + k, max_len - k));
            }
        }
    }
    free(data);
}

static void test_arguments(const psyne_cpu_info *cpu)
{
    uint8_t buf[PSYNE_CRC32C_HOT_MAX + 1] = {0};
    uint32_t out = 1;

    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, NULL, 0, &out));
    CHECK_EQ_U64(0, out);
    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0x12345678u, NULL, 0, &out));
    CHECK_EQ_U64(0x12345678u, out);
    CHECK_STATUS(PSYNE_OK, psyne_crc32c_small(0x12345678u, NULL, 0, &out));
    CHECK_EQ_U64(0x12345678u, out);
    CHECK_STATUS(PSYNE_OK, psyne_crc32c_variant_compute(PSYNE_CRC32C_TABLE, 7, NULL, 0, &out));
    CHECK_EQ_U64(7, out);

    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c(0, NULL, 1, &out));
    CHECK(strstr(psyne_last_error(), "NULL") != NULL);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c_small(0, NULL, 16, &out));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c_variant_compute(PSYNE_CRC32C_TABLE, 0, NULL, 16, &out));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c(0, buf, 1, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c_small(0, buf, 1, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c_variant_compute(PSYNE_CRC32C_AUTO, 0, buf, 1, NULL));

    CHECK_STATUS(PSYNE_OK, psyne_crc32c_small(0, buf, PSYNE_CRC32C_HOT_MAX, &out));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c_small(0, buf, PSYNE_CRC32C_HOT_MAX + 1, &out));
    CHECK(strstr(psyne_last_error(), "psyne_crc32c") != NULL);
    /* A success clears the previous message. */
    CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, buf, 1, &out));
    CHECK_EQ_U64(0, strlen(psyne_last_error()));

    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c_variant_compute((psyne_crc32c_variant)99, 0, buf, 1, &out));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_crc32c_variant_compute((psyne_crc32c_variant)-1, 0, buf, 1, &out));
    for (int v = 0; v < VARIANT_COUNT; v++) {
        psyne_status expected = variant_supported(kVariants[v], cpu) ? PSYNE_OK : PSYNE_E_UNSUPPORTED;
        CHECK_STATUS(expected, psyne_crc32c_variant_compute(kVariants[v], 0, buf, 1, &out));
        if (expected == PSYNE_E_UNSUPPORTED)
            printf("variant %s unsupported here: %s\n", psyne_crc32c_variant_name(kVariants[v]), psyne_last_error());
    }

    CHECK(strcmp(psyne_crc32c_variant_name(PSYNE_CRC32C_AUTO), "auto") == 0);
    CHECK(strcmp(psyne_crc32c_variant_name(PSYNE_CRC32C_TABLE), "table") == 0);
    CHECK(strcmp(psyne_crc32c_variant_name(PSYNE_CRC32C_HW), "hw") == 0);
    CHECK(strcmp(psyne_crc32c_variant_name(PSYNE_CRC32C_VPCLMUL), "vpclmul") == 0);
    CHECK(strcmp(psyne_crc32c_variant_name((psyne_crc32c_variant)42), "unknown") == 0);
}

static psyne_crc32c_variant expected_for(psyne_isa isa, const psyne_cpu_info *cpu)
{
    switch (isa) {
    case PSYNE_ISA_AVX512:
        return (cpu->features & PSYNE_CPU_VPCLMULQDQ) ? PSYNE_CRC32C_VPCLMUL : PSYNE_CRC32C_HW;
    case PSYNE_ISA_AVX2:
        return PSYNE_CRC32C_HW;
    default:
        return PSYNE_CRC32C_TABLE;
    }
}

static void test_dispatch(const psyne_cpu_info *cpu)
{
    const psyne_isa isa = psyne_isa_selected();
    const char *env = getenv("PSYNE_ISA");
    if (env && *env) {
        psyne_isa requested;
        CHECK_STATUS(PSYNE_OK, psyne_isa_parse(env, &requested));
        CHECK_EQ_U64(requested, isa);
    }
    printf("isa %s -> crc32c variant %s\n", psyne_isa_name(isa),
           psyne_crc32c_variant_name(psyne_crc32c_variant_selected()));
    CHECK_EQ_U64(expected_for(isa, cpu), psyne_crc32c_variant_selected());

    /* A new selection takes effect on the next call. */
    for (int other = PSYNE_ISA_SCALAR; other <= PSYNE_ISA_AVX512; other++) {
        if (psyne_isa_select((psyne_isa)other) != PSYNE_OK)
            continue;
        CHECK_EQ_U64(expected_for((psyne_isa)other, cpu), psyne_crc32c_variant_selected());
        uint32_t out = 0;
        CHECK_STATUS(PSYNE_OK, psyne_crc32c(0, "123456789", 9, &out));
        CHECK_EQ_U64(0xE3069283u, out);
    }
    CHECK_STATUS(PSYNE_OK, psyne_isa_select(isa));
}

int main(void)
{
    TEST_INIT();
    psyne_cpu_info cpu;
    CHECK_STATUS(PSYNE_OK, psyne_cpu_info_get(&cpu));
    test_known_vectors();
    test_arguments(&cpu);
    test_all_lengths(&cpu);
    test_large(&cpu);
    test_dispatch(&cpu);
    TEST_DONE();
}
