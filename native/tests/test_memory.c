/* test_memory.c - aligned and huge-page-backed allocation. */
#include "psyne/psyne.h"
#include "check.h"

#include <stdint.h>
#include <string.h>

static void test_aligned(void)
{
    const size_t alignments[] = {8, 64, 4096, 1u << 21};
    const size_t sizes[] = {1, 63, 4096, 1000003};
    for (size_t a = 0; a < sizeof alignments / sizeof *alignments; a++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            psyne_allocation block;
            CHECK_STATUS(PSYNE_OK, psyne_alloc(sizes[s], alignments[a], PSYNE_ALLOC_ZERO, &block));
            CHECK(block.data != NULL);
            CHECK_EQ_U64(0, (uintptr_t)block.data % alignments[a]);
            CHECK_EQ_U64(sizes[s], block.size);
            CHECK(block.mapped_size >= block.size);
            const uint8_t *p = block.data;
            int zero = 1;
            for (size_t i = 0; i < sizes[s]; i++) zero &= p[i] == 0;
            CHECK(zero);
            memset(block.data, 0xAB, block.size); /* the whole block is writable */
            CHECK_STATUS(PSYNE_OK, psyne_free(&block));
            CHECK(block.data == NULL);
        }
    }
}

static void test_huge_pages_fall_back(void)
{
    psyne_allocation block;
    const size_t size = 5u * 1024 * 1024 + 17;
    CHECK_STATUS(PSYNE_OK, psyne_alloc(size, 64, PSYNE_ALLOC_HUGE_PAGES, &block));
    CHECK(block.kind == PSYNE_ALLOC_KIND_HUGETLB || block.kind == PSYNE_ALLOC_KIND_TRANSPARENT ||
          block.kind == PSYNE_ALLOC_KIND_PAGES);
    CHECK_EQ_U64(0, (uintptr_t)block.data % (2u * 1024 * 1024));
    CHECK_EQ_U64(0, block.mapped_size % (2u * 1024 * 1024));
    const uint8_t *p = block.data;
    CHECK(p[0] == 0 && p[size - 1] == 0); /* mappings start zeroed */
    memset(block.data, 1, size);
    CHECK_STATUS(PSYNE_OK, psyne_free(&block));
    CHECK_STATUS(PSYNE_OK, psyne_free(&block)); /* freeing a cleared allocation is a no-op */
}

static void test_bad_input(void)
{
    psyne_allocation block;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_alloc(0, 64, 0, &block));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_alloc(64, 48, 0, &block));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_alloc(64, 2, 0, &block));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_alloc(64, 64, 0x80, &block));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_alloc(64, 64, 0, NULL));
    CHECK_STATUS(PSYNE_E_OUT_OF_MEMORY, psyne_alloc(SIZE_MAX - 10, 64, 0, &block));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_free(NULL));
    psyne_allocation bogus = {.data = &block, .kind = 99};
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_free(&bogus));
}

int main(void)
{
    TEST_INIT();
    test_aligned();
    test_huge_pages_fall_back();
    test_bad_input();
    TEST_DONE();
}
