/*
 * memory.c - aligned and huge-page-backed allocation.
 *
 * Rings and weight matrices are large and touched by hot loops, so a block
 * backed by 2 MiB pages saves TLB misses. Explicit huge pages (hugetlbfs) are
 * tried first because they are guaranteed; most systems reserve none, so the
 * fallback is an aligned anonymous mapping with MADV_HUGEPAGE (transparent
 * huge pages), then normal pages. The caller learns what it got from
 * psyne_allocation.kind; nothing fails just because huge pages are missing.
 */
#include "core/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#  include <sys/mman.h>
#  include <unistd.h>
#  define PSYNE_HAVE_MMAP 1
#elif defined(__APPLE__)
#  include <sys/mman.h>
#  include <unistd.h>
#  define PSYNE_HAVE_MMAP 1
#else
#  define PSYNE_HAVE_MMAP 0
#endif

#if defined(_WIN32)
#  include <malloc.h>
#endif

enum { HUGE_PAGE_BYTES = 2u * 1024u * 1024u };

static size_t round_up(size_t value, size_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

static int is_power_of_two(size_t v)
{
    return v && !(v & (v - 1));
}

#if PSYNE_HAVE_MMAP
/* Maps size bytes aligned to alignment by over-mapping and trimming both ends. */
static void *map_aligned(size_t size, size_t alignment)
{
    size_t span = size + alignment;
    if (span < size) return NULL;
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t aligned = round_up((uintptr_t)raw, alignment);
    size_t head = aligned - (uintptr_t)raw;
    size_t tail = span - head - size;
    if (head) munmap(raw, head);
    if (tail) munmap((uint8_t *)aligned + size, tail);
    return (void *)aligned;
}

static psyne_status alloc_huge(size_t size, size_t alignment, psyne_allocation *out)
{
    const size_t mapped = round_up(size, HUGE_PAGE_BYTES);
#  if defined(MAP_HUGETLB)
    if (alignment <= HUGE_PAGE_BYTES) {
        void *p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (p != MAP_FAILED) {
            out->data = p;
            out->mapped_size = mapped;
            out->kind = PSYNE_ALLOC_KIND_HUGETLB;
            return PSYNE_OK;
        }
    }
#  endif
    const size_t align = alignment > HUGE_PAGE_BYTES ? alignment : HUGE_PAGE_BYTES;
    void *p = map_aligned(mapped, align);
    if (!p) return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "psyne_alloc: cannot map %zu bytes: %s", mapped, strerror(errno));
    out->data = p;
    out->mapped_size = mapped;
    out->kind = PSYNE_ALLOC_KIND_PAGES;
#  if defined(MADV_HUGEPAGE)
    if (madvise(p, mapped, MADV_HUGEPAGE) == 0) out->kind = PSYNE_ALLOC_KIND_TRANSPARENT;
#  endif
    return PSYNE_OK;
}
#endif

static psyne_status alloc_heap(size_t size, size_t alignment, uint32_t flags, psyne_allocation *out)
{
    const size_t rounded = round_up(size, alignment);
    if (rounded < size)
        return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "psyne_alloc: %zu bytes overflow when aligned to %zu", size, alignment);
#if defined(_WIN32)
    void *p = _aligned_malloc(rounded, alignment);
#else
    void *p = NULL;
    if (posix_memalign(&p, alignment, rounded) != 0) p = NULL;
#endif
    if (!p) return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "psyne_alloc: cannot allocate %zu bytes aligned to %zu", size, alignment);
    if (flags & PSYNE_ALLOC_ZERO) memset(p, 0, rounded);
    out->data = p;
    out->mapped_size = rounded;
    out->kind = PSYNE_ALLOC_KIND_HEAP;
    return PSYNE_OK;
}

psyne_status psyne_alloc(size_t size, size_t alignment, uint32_t flags, psyne_allocation *out)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_alloc: out must not be NULL");
    memset(out, 0, sizeof *out);
    if (size == 0) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_alloc: size must be greater than 0");
    if (!is_power_of_two(alignment) || alignment < sizeof(void *))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_alloc: alignment %zu must be a power of two of at least %zu", alignment, sizeof(void *));
    if (alignment > (size_t)1 << 30)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_alloc: alignment %zu is larger than 1 GiB", alignment);
    if (flags & ~(uint32_t)(PSYNE_ALLOC_HUGE_PAGES | PSYNE_ALLOC_ZERO))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_alloc: unknown flags 0x%x", (unsigned)flags);
    if (size > SIZE_MAX / 2)
        return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "psyne_alloc: %zu bytes is more than this process can address", size);

    psyne_status s;
#if PSYNE_HAVE_MMAP
    if (flags & PSYNE_ALLOC_HUGE_PAGES) s = alloc_huge(size, alignment, out); /* mappings start zeroed */
    else s = alloc_heap(size, alignment, flags, out);
#else
    s = alloc_heap(size, alignment, flags, out);
#endif
    if (s != PSYNE_OK) return s;
    out->size = size;
    out->alignment = (uint32_t)alignment;
    return PSYNE_OK;
}

psyne_status psyne_free(psyne_allocation *allocation)
{
    psyne__clear_error();
    if (!allocation) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_free: allocation must not be NULL");
    if (!allocation->data) return PSYNE_OK;
    switch (allocation->kind) {
    case PSYNE_ALLOC_KIND_HEAP:
#if defined(_WIN32)
        _aligned_free(allocation->data);
#else
        free(allocation->data);
#endif
        break;
#if PSYNE_HAVE_MMAP
    case PSYNE_ALLOC_KIND_PAGES:
    case PSYNE_ALLOC_KIND_HUGETLB:
    case PSYNE_ALLOC_KIND_TRANSPARENT:
        if (munmap(allocation->data, allocation->mapped_size) != 0)
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_free: munmap failed: %s", strerror(errno));
        break;
#endif
    default:
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_free: allocation kind %d is not one psyne_alloc returns",
                           (int)allocation->kind);
    }
    memset(allocation, 0, sizeof *allocation);
    return PSYNE_OK;
}
