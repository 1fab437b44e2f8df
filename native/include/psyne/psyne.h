/*
 * psyne.h - the public C ABI of libpsyne.
 *
 * This header is the only contract between libpsyne and its users (the C#
 * bindings are generated from it). Rules that hold for every function:
 *   - it returns a psyne_status (except pure getters that cannot fail), and
 *     outputs go through pointers;
 *   - on failure, psyne_last_error() returns a thread-local message that is
 *     valid until the next libpsyne call on the same thread (PSYNE_HOT
 *     functions leave it untouched when they succeed);
 *   - bad input is reported, never aborts the process.
 * Functions marked PSYNE_HOT are tiny and never block: managed callers may
 * skip the GC transition for them.
 */
#ifndef PSYNE_H
#define PSYNE_H

#include <stddef.h>
#include <stdint.h>

#include "psyne/psyne_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ----------------------------------------------------------- */

enum {
    PSYNE_VERSION_MAJOR = 0,
    PSYNE_VERSION_MINOR = 1,
    PSYNE_VERSION_PATCH = 0
};

/* (major << 16) | (minor << 8) | patch of the loaded library. */
PSYNE_API PSYNE_HOT uint32_t psyne_version(void);

/* "major.minor.patch", static storage. */
PSYNE_API const char *psyne_version_string(void);

/* ---- status and errors ------------------------------------------------- */

typedef enum psyne_status {
    PSYNE_OK = 0,
    PSYNE_E_INVALID_ARGUMENT = 1, /* a null pointer, a length out of range, an unknown name */
    PSYNE_E_OUT_OF_MEMORY = 2,    /* an allocation or mapping failed */
    PSYNE_E_UNSUPPORTED = 3,      /* this CPU or platform cannot do what was asked */
    PSYNE_E_UNAVAILABLE = 4,      /* an optional system library is not installed */
    PSYNE_E_NOT_FOUND = 5,        /* a named object does not exist */
    PSYNE_E_FORMAT = 6,           /* data has a wrong magic, version, size or checksum */
    PSYNE_E_IO = 7,               /* the operating system refused an I/O operation */
    PSYNE_E_TIMEOUT = 8,          /* a wait ran out of time */
    PSYNE_E_CLOSED = 9,           /* the object or its peer is closed */
    PSYNE_E_FULL = 10,            /* no room, and the policy is not to wait */
    PSYNE_E_INTERNAL = 11         /* a broken invariant inside libpsyne: a bug, please report */
} psyne_status;

/* Thread-local message describing the last failure on this thread; "" if none.
 * Valid until the next libpsyne call on this thread. */
PSYNE_API const char *psyne_last_error(void);

/* Stable symbolic name of a status ("PSYNE_E_FORMAT"), static storage. */
PSYNE_API const char *psyne_status_name(psyne_status status);

/* ---- initialisation ---------------------------------------------------- */

/* Detects the CPU and applies PSYNE_ISA from the environment. Idempotent and
 * thread-safe; every other call works without it, falling back to the detected
 * ISA, but only psyne_init reports a bad PSYNE_ISA value. */
PSYNE_API psyne_status psyne_init(void);

/* ---- CPU features and ISA selection ------------------------------------ */

typedef enum psyne_isa {
    PSYNE_ISA_SCALAR = 0, /* portable C */
    PSYNE_ISA_AVX2 = 1,   /* x86-64 AVX2 + FMA + BMI2 + SSE4.2 + PCLMULQDQ */
    PSYNE_ISA_AVX512 = 2  /* AVX2 level + AVX-512 F/BW/VL (+ VNNI, VPCLMULQDQ where present) */
} psyne_isa;

typedef enum psyne_cpu_feature {
    PSYNE_CPU_SSE42 = 1 << 0,
    PSYNE_CPU_PCLMULQDQ = 1 << 1,
    PSYNE_CPU_AVX = 1 << 2,
    PSYNE_CPU_AVX2 = 1 << 3,
    PSYNE_CPU_FMA = 1 << 4,
    PSYNE_CPU_BMI2 = 1 << 5,
    PSYNE_CPU_AVX512F = 1 << 6,
    PSYNE_CPU_AVX512BW = 1 << 7,
    PSYNE_CPU_AVX512VL = 1 << 8,
    PSYNE_CPU_AVX512DQ = 1 << 9,
    PSYNE_CPU_AVX512VNNI = 1 << 10,
    PSYNE_CPU_AVX512VBMI = 1 << 11,
    PSYNE_CPU_VPCLMULQDQ = 1 << 12,
    PSYNE_CPU_AVXVNNI = 1 << 13,
    PSYNE_CPU_GFNI = 1 << 14,
    PSYNE_CPU_NEON = 1 << 15
} psyne_cpu_feature;

typedef struct psyne_cpu_info {
    uint64_t features;         /* psyne_cpu_feature bits the CPU and OS support */
    int32_t detected_isa;      /* best psyne_isa this CPU runs */
    int32_t selected_isa;      /* psyne_isa in use (PSYNE_ISA or psyne_isa_select may lower it) */
    uint32_t logical_cpus;     /* online logical processors */
    uint32_t cache_line_bytes; /* L1 data cache line */
    char vendor[16];           /* "GenuineIntel", "AuthenticAMD", ... NUL-terminated */
    char brand[64];            /* marketing name, NUL-terminated, may be empty */
} psyne_cpu_info;

PSYNE_API psyne_status psyne_cpu_info_get(psyne_cpu_info *out);

/* Selects the ISA every dispatched kernel uses from now on. Fails with
 * PSYNE_E_UNSUPPORTED when the CPU lacks it, leaving the selection unchanged. */
PSYNE_API psyne_status psyne_isa_select(psyne_isa isa);

PSYNE_API PSYNE_HOT psyne_isa psyne_isa_selected(void);

/* Parses "scalar", "avx2" or "avx512" (case-insensitive). */
PSYNE_API psyne_status psyne_isa_parse(const char *name, psyne_isa *out);

/* "scalar", "avx2", "avx512"; "unknown" otherwise. Static storage. */
PSYNE_API const char *psyne_isa_name(psyne_isa isa);

/* ---- memory ------------------------------------------------------------ */

typedef enum psyne_alloc_flags {
    PSYNE_ALLOC_DEFAULT = 0,
    PSYNE_ALLOC_HUGE_PAGES = 1 << 0, /* try explicit huge pages, then transparent ones, then normal pages */
    PSYNE_ALLOC_ZERO = 1 << 1        /* contents start zeroed */
} psyne_alloc_flags;

typedef enum psyne_alloc_kind {
    PSYNE_ALLOC_KIND_HEAP = 0,        /* aligned heap block */
    PSYNE_ALLOC_KIND_PAGES = 1,       /* anonymous mapping, normal pages */
    PSYNE_ALLOC_KIND_HUGETLB = 2,     /* anonymous mapping, explicit huge pages */
    PSYNE_ALLOC_KIND_TRANSPARENT = 3  /* anonymous mapping, transparent huge pages advised */
} psyne_alloc_kind;

typedef struct psyne_allocation {
    void *data;          /* aligned to the requested alignment */
    size_t size;         /* bytes requested */
    size_t mapped_size;  /* bytes actually reserved (rounded to the page size) */
    int32_t kind;        /* psyne_alloc_kind */
    uint32_t alignment;  /* alignment honoured */
} psyne_allocation;

/* Allocates size bytes aligned to alignment (a power of two, at least
 * sizeof(void*)). With PSYNE_ALLOC_HUGE_PAGES the block is backed by huge pages
 * when the system allows and falls back quietly otherwise; out->kind tells which. */
PSYNE_API psyne_status psyne_alloc(size_t size, size_t alignment, uint32_t flags, psyne_allocation *out);

/* Frees a block from psyne_alloc and clears *allocation. A cleared or zeroed
 * allocation is accepted and ignored. */
PSYNE_API psyne_status psyne_free(psyne_allocation *allocation);

/* ---- CRC32C (Castagnoli, as in iSCSI RFC 3720) --------------------------- */

typedef enum psyne_crc32c_variant {
    PSYNE_CRC32C_AUTO = 0,     /* the fastest variant for the selected ISA */
    PSYNE_CRC32C_TABLE = 1,    /* portable slicing-by-8 tables */
    PSYNE_CRC32C_HW = 2,       /* the crc32 instruction (SSE4.2 / ARMv8 CRC), three streams interleaved */
    PSYNE_CRC32C_VPCLMUL = 3   /* 512-bit carry-less-multiply folding (AVX-512 + VPCLMULQDQ) */
} psyne_crc32c_variant;

/* Continues a CRC32C: crc is 0 for a new checksum, or the result of a previous
 * call over the preceding bytes. data may be NULL only when length is 0. */
PSYNE_API psyne_status psyne_crc32c(uint32_t crc, const void *data, size_t length, uint32_t *out);

/* The same for short buffers (length <= PSYNE_CRC32C_HOT_MAX): no GC transition. */
PSYNE_API PSYNE_HOT psyne_status psyne_crc32c_small(uint32_t crc, const void *data, size_t length, uint32_t *out);

enum { PSYNE_CRC32C_HOT_MAX = 4096 };

/* One named variant, for tests and benchmarks. PSYNE_E_UNSUPPORTED when this
 * CPU cannot run it. */
PSYNE_API psyne_status psyne_crc32c_variant_compute(psyne_crc32c_variant variant, uint32_t crc,
                                                    const void *data, size_t length, uint32_t *out);

/* The variant PSYNE_CRC32C_AUTO resolves to for the selected ISA. */
PSYNE_API psyne_crc32c_variant psyne_crc32c_variant_selected(void);

/* "auto", "table", "hw", "vpclmul"; "unknown" otherwise. Static storage. */
PSYNE_API const char *psyne_crc32c_variant_name(psyne_crc32c_variant variant);

/* ---- optional system libraries ----------------------------------------- */

typedef enum psyne_syslib {
    PSYNE_SYSLIB_LIBFABRIC = 0,
    PSYNE_SYSLIB_LIBIBVERBS = 1,
    PSYNE_SYSLIB_UCX = 2,
    PSYNE_SYSLIB_NGTCP2 = 3,
    PSYNE_SYSLIB_CUDA_DRIVER = 4,
    PSYNE_SYSLIB_VULKAN = 5,
    PSYNE_SYSLIB_LIBZMQ = 6,
    PSYNE_SYSLIB_COUNT = 7
} psyne_syslib;

typedef struct psyne_syslib_info {
    int32_t available;  /* 1 when the library loaded, 0 otherwise */
    int32_t reserved;
    char name[32];      /* short name: "libfabric", "CUDA driver", ... */
    char soname[64];    /* file that was loaded, or the first one tried */
    char detail[256];   /* why it is unavailable and how to install it, or what was loaded */
} psyne_syslib_info;

/* Tries to load the library (dlopen on first use, cached) and describes the result.
 * Returns PSYNE_OK whether or not it is available; check out->available. */
PSYNE_API psyne_status psyne_syslib_probe(psyne_syslib library, psyne_syslib_info *out);

#ifdef __cplusplus
}
#endif

#include "psyne/psyne_ternary.h"
#include "psyne/psyne_channel.h"
#include "psyne/psyne_zmtp.h"
#include "psyne/psyne_net.h"

#endif /* PSYNE_H */
