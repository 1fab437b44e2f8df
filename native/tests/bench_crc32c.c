/* bench_crc32c.c - GB/s of each CRC32C variant, and of a naive one-stream
 * crc32q loop for comparison. Not part of ctest; build by hand against a
 * release build, e.g.
 *
 *   gcc -std=c11 -O2 -D_GNU_SOURCE -Inative/include native/tests/bench_crc32c.c \
 *       -Lbuild/native -lpsyne -Wl,-rpath,$PWD/build/native -o build/bench_crc32c
 *   ./build/bench_crc32c [sizes in bytes...]
 *
 * Each figure is the best of several timed rounds over a buffer that stays
 * in cache (the default sizes, 64 KiB and 1 MiB, fit in L2 on current cores).
 */
#include <psyne/psyne.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#  include <nmmintrin.h>

/* The baseline the 3-stream variant is measured against: one dependent chain. */
__attribute__((target("sse4.2"))) static uint32_t naive_crc32q(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t reg = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        reg = _mm_crc32_u64(reg, word);
    }
    uint32_t r = (uint32_t)reg;
    while (n--)
        r = _mm_crc32_u8(r, *p++);
    return ~r;
}
#endif

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* variant NAIVE is the naive loop, PUBLIC psyne_crc32c (AUTO through the
 * public entry point, to see the dispatch cost on short buffers). Returns GB/s
 * (1e9 bytes per second). */
enum { NAIVE = -1, PUBLIC = -2 };

static double measure(int variant, const uint8_t *data, size_t size)
{
    size_t reps = (size_t)(64u << 20) / size + 1; /* about 64 MiB per round */
    double best = 1e30;
    uint32_t sink = 0;
    for (int round = 0; round < 7; round++) {
        double start = now_seconds();
        for (size_t r = 0; r < reps; r++) {
            uint32_t out = 0;
#if defined(__x86_64__)
            if (variant == NAIVE)
                out = naive_crc32q(sink, data, size);
            else
#endif
            if (variant == PUBLIC)
                psyne_crc32c(sink, data, size, &out);
            else
                psyne_crc32c_variant_compute((psyne_crc32c_variant)variant, sink, data, size, &out);
            sink = out;
        }
        double elapsed = now_seconds() - start;
        if (elapsed < best)
            best = elapsed;
    }
    if (sink == 0x12345678u) /* keep the result observable */
        printf(" ");
    return (double)size * (double)reps / best / 1e9;
}

int main(int argc, char **argv)
{
    size_t default_sizes[] = {1u << 20, 64u << 10};
    size_t count = sizeof default_sizes / sizeof default_sizes[0];
    size_t *sizes = default_sizes;
    if (argc > 1) {
        count = (size_t)(argc - 1);
        sizes = calloc(count, sizeof *sizes);
        if (!sizes)
            return 1;
        for (size_t i = 0; i < count; i++)
            sizes[i] = strtoull(argv[i + 1], NULL, 0);
    }
    psyne_cpu_info cpu;
    if (psyne_init() != PSYNE_OK || psyne_cpu_info_get(&cpu) != PSYNE_OK) {
        fprintf(stderr, "init failed: %s\n", psyne_last_error());
        return 1;
    }
    printf("%s\n", cpu.brand);
    printf("%10s %10s %10s %10s %10s %10s\n", "bytes", "table", "naive", "hw", "vpclmul", "public");
    for (size_t i = 0; i < count; i++) {
        uint8_t *data = malloc(sizes[i] ? sizes[i] : 1);
        if (!data)
            return 1;
        for (size_t j = 0; j < sizes[i]; j++)
            data[j] = (uint8_t)(j * 2654435761u >> 13);
        printf("%10zu %10.2f", sizes[i], measure(PSYNE_CRC32C_TABLE, data, sizes[i]));
#if defined(__x86_64__)
        printf(" %10.2f", measure(NAIVE, data, sizes[i]));
#else
        printf(" %10s", "-");
#endif
        for (int v = PSYNE_CRC32C_HW; v <= PSYNE_CRC32C_VPCLMUL; v++) {
            uint32_t probe;
            if (psyne_crc32c_variant_compute((psyne_crc32c_variant)v, 0, data, 1, &probe) == PSYNE_OK)
                printf(" %10.2f", measure(v, data, sizes[i]));
            else
                printf(" %10s", "n/a");
        }
        printf(" %10.2f", measure(PUBLIC, data, sizes[i]));
        printf("  GB/s\n");
        free(data);
    }
    if (sizes != default_sizes)
        free(sizes);
    return 0;
}
