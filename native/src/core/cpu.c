/*
 * cpu.c - CPU feature detection and the ISA every dispatched kernel uses.
 *
 * Detection runs once; the selected ISA is one atomic word that kernels read
 * with a relaxed load on every call, so psyne_isa_select takes effect at once
 * and dispatch costs a load and a branch. PSYNE_ISA in the environment lowers
 * (never raises) the level so tests can run every variant on one machine.
 */
#include "core/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if PSYNE_X86_64
#  if defined(_MSC_VER)
#    include <intrin.h>
#  else
#    include <cpuid.h>
#  endif
#endif

#if defined(_WIN32)
#  include <windows.h>
#else
#  include <unistd.h>
#endif

enum { STATE_NEW = 0, STATE_RUNNING = 1, STATE_DONE = 2 };

static atomic_int detect_state = STATE_NEW;
static psyne_cpu_info detected;          /* written once before detect_state becomes DONE */
static atomic_int selected_isa = PSYNE_ISA_SCALAR;

static atomic_int init_state = STATE_NEW;
static psyne_status init_status = PSYNE_OK;
static char init_error[256];

#if PSYNE_X86_64
static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
#  if defined(_MSC_VER)
    int r[4];
    __cpuidex(r, (int)leaf, (int)subleaf);
    for (int i = 0; i < 4; i++) regs[i] = (uint32_t)r[i];
#  else
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#  endif
}

static uint64_t xgetbv0(void)
{
#  if defined(_MSC_VER)
    return _xgetbv(0);
#  else
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
#  endif
}

static uint64_t detect_x86(psyne_cpu_info *info)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    memcpy(info->vendor + 0, &r[1], 4);
    memcpy(info->vendor + 4, &r[3], 4);
    memcpy(info->vendor + 8, &r[2], 4);
    info->vendor[12] = '\0';

    uint64_t f = 0;
    cpuid(1, 0, r);
    const uint32_t ecx1 = r[2];
    info->cache_line_bytes = ((r[1] >> 8) & 0xff) * 8;
    if (ecx1 & (1u << 20)) f |= PSYNE_CPU_SSE42;
    if (ecx1 & (1u << 1)) f |= PSYNE_CPU_PCLMULQDQ;

    /* AVX state must be enabled by the OS (OSXSAVE + XCR0), not just present. */
    int os_avx = 0, os_avx512 = 0;
    if ((ecx1 & (1u << 27)) && (ecx1 & (1u << 28))) {
        uint64_t xcr0 = xgetbv0();
        os_avx = (xcr0 & 0x6) == 0x6;
        os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;
    }
    if (os_avx) {
        f |= PSYNE_CPU_AVX;
        if (ecx1 & (1u << 12)) f |= PSYNE_CPU_FMA;
    }
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        const uint32_t ebx = r[1], ecx = r[2];
        if (ebx & (1u << 8)) f |= PSYNE_CPU_BMI2;
        if (os_avx && (ebx & (1u << 5))) f |= PSYNE_CPU_AVX2;
        if (os_avx && (ecx & (1u << 10))) f |= PSYNE_CPU_VPCLMULQDQ;
        if (ecx & (1u << 8)) f |= PSYNE_CPU_GFNI;
        if (os_avx512) {
            if (ebx & (1u << 16)) f |= PSYNE_CPU_AVX512F;
            if (ebx & (1u << 17)) f |= PSYNE_CPU_AVX512DQ;
            if (ebx & (1u << 30)) f |= PSYNE_CPU_AVX512BW;
            if (ebx & (1u << 31)) f |= PSYNE_CPU_AVX512VL;
            if (ecx & (1u << 1)) f |= PSYNE_CPU_AVX512VBMI;
            if (ecx & (1u << 11)) f |= PSYNE_CPU_AVX512VNNI;
        }
        cpuid(7, 1, r);
        if (os_avx && (r[0] & (1u << 4))) f |= PSYNE_CPU_AVXVNNI;
    }

    cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000004u) {
        for (uint32_t i = 0; i < 3; i++) {
            cpuid(0x80000002u + i, 0, r);
            memcpy(info->brand + 16 * i, r, 16);
        }
        info->brand[48] = '\0';
        /* Brand strings are padded with leading spaces on some parts. */
        size_t lead = strspn(info->brand, " ");
        memmove(info->brand, info->brand + lead, strlen(info->brand + lead) + 1);
    }
    return f;
}
#endif

static uint32_t online_cpus(void)
{
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return (uint32_t)si.dwNumberOfProcessors;
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1u;
#endif
}

static const uint64_t AVX2_NEEDS =
    PSYNE_CPU_AVX2 | PSYNE_CPU_FMA | PSYNE_CPU_BMI2 | PSYNE_CPU_SSE42 | PSYNE_CPU_PCLMULQDQ;
static const uint64_t AVX512_NEEDS = PSYNE_CPU_AVX512F | PSYNE_CPU_AVX512BW | PSYNE_CPU_AVX512VL |
                                     PSYNE_CPU_AVX512DQ;

static int isa_supported_by(uint64_t features, psyne_isa isa)
{
    switch (isa) {
    case PSYNE_ISA_SCALAR: return 1;
    case PSYNE_ISA_AVX2: return (features & AVX2_NEEDS) == AVX2_NEEDS;
    case PSYNE_ISA_AVX512:
        return (features & (AVX2_NEEDS | AVX512_NEEDS)) == (AVX2_NEEDS | AVX512_NEEDS);
    }
    return 0;
}

static void detect_once(void)
{
    /* Fast path: after detection this is one acquire load, no write to a shared line. */
    if (PSYNE_LIKELY(atomic_load_explicit(&detect_state, memory_order_acquire) == STATE_DONE)) return;
    int expected = STATE_NEW;
    if (atomic_compare_exchange_strong(&detect_state, &expected, STATE_RUNNING)) {
        psyne_cpu_info info;
        memset(&info, 0, sizeof info);
        info.cache_line_bytes = 64;
#if PSYNE_X86_64
        info.features = detect_x86(&info);
#elif defined(__aarch64__)
        info.features = PSYNE_CPU_NEON;
        strcpy(info.vendor, "arm64");
#endif
        if (info.cache_line_bytes == 0) info.cache_line_bytes = 64;
        info.logical_cpus = online_cpus();
        psyne_isa best = PSYNE_ISA_SCALAR;
        if (isa_supported_by(info.features, PSYNE_ISA_AVX512)) best = PSYNE_ISA_AVX512;
        else if (isa_supported_by(info.features, PSYNE_ISA_AVX2)) best = PSYNE_ISA_AVX2;
        info.detected_isa = (int32_t)best;
        detected = info;
        atomic_store(&selected_isa, (int)best);
        atomic_store_explicit(&detect_state, STATE_DONE, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&detect_state, memory_order_acquire) != STATE_DONE) {
        /* Another thread is running cpuid; it takes microseconds. */
    }
}

uint64_t psyne__cpu_features(void)
{
    detect_once();
    return detected.features;
}

int psyne__isa_supported(psyne_isa isa)
{
    return isa_supported_by(psyne__cpu_features(), isa);
}

psyne_isa psyne__isa(void)
{
    if (PSYNE_UNLIKELY(atomic_load_explicit(&detect_state, memory_order_acquire) != STATE_DONE))
        detect_once();
    return (psyne_isa)atomic_load_explicit(&selected_isa, memory_order_relaxed);
}

psyne_isa psyne_isa_selected(void)
{
    return psyne__isa();
}

const char *psyne_isa_name(psyne_isa isa)
{
    switch (isa) {
    case PSYNE_ISA_SCALAR: return "scalar";
    case PSYNE_ISA_AVX2: return "avx2";
    case PSYNE_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

static int equals_ignore_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

psyne_status psyne_isa_parse(const char *name, psyne_isa *out)
{
    psyne__clear_error();
    if (!name || !out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_isa_parse: name and out must not be NULL");
    for (int isa = PSYNE_ISA_SCALAR; isa <= PSYNE_ISA_AVX512; isa++) {
        if (equals_ignore_case(name, psyne_isa_name((psyne_isa)isa))) {
            *out = (psyne_isa)isa;
            return PSYNE_OK;
        }
    }
    return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "unknown ISA '%.64s': expected one of scalar, avx2, avx512", name);
}

static const char *missing_features(psyne_isa isa)
{
    const uint64_t f = psyne__cpu_features();
    if (isa >= PSYNE_ISA_AVX2) {
        if (!(f & PSYNE_CPU_AVX2)) return "AVX2";
        if (!(f & PSYNE_CPU_FMA)) return "FMA";
        if (!(f & PSYNE_CPU_BMI2)) return "BMI2";
        if (!(f & PSYNE_CPU_SSE42)) return "SSE4.2";
        if (!(f & PSYNE_CPU_PCLMULQDQ)) return "PCLMULQDQ";
    }
    if (isa >= PSYNE_ISA_AVX512) {
        if (!(f & PSYNE_CPU_AVX512F)) return "AVX-512F";
        if (!(f & PSYNE_CPU_AVX512BW)) return "AVX-512BW";
        if (!(f & PSYNE_CPU_AVX512VL)) return "AVX-512VL";
        if (!(f & PSYNE_CPU_AVX512DQ)) return "AVX-512DQ";
    }
    return "a required feature";
}

psyne_status psyne_isa_select(psyne_isa isa)
{
    psyne__clear_error();
    if ((int)isa < PSYNE_ISA_SCALAR || (int)isa > PSYNE_ISA_AVX512)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_isa_select: %d is not a psyne_isa value", (int)isa);
    if (!psyne__isa_supported(isa))
        return psyne__fail(PSYNE_E_UNSUPPORTED, "ISA %s is not available on this CPU: it lacks %s",
                           psyne_isa_name(isa), missing_features(isa));
    atomic_store(&selected_isa, (int)isa);
    return PSYNE_OK;
}

static void apply_environment(void)
{
    const char *requested = getenv("PSYNE_ISA");
    if (!requested || !*requested) return;
    psyne_isa isa;
    psyne_status s = psyne_isa_parse(requested, &isa);
    if (s == PSYNE_OK) s = psyne_isa_select(isa);
    if (s != PSYNE_OK) {
        init_status = s;
        snprintf(init_error, sizeof init_error, "PSYNE_ISA=%.64s: %s", requested, psyne_last_error());
    }
}

psyne_status psyne_init(void)
{
    int expected = STATE_NEW;
    if (atomic_compare_exchange_strong(&init_state, &expected, STATE_RUNNING)) {
        detect_once();
        apply_environment();
        atomic_store_explicit(&init_state, STATE_DONE, memory_order_release);
    } else {
        while (atomic_load_explicit(&init_state, memory_order_acquire) != STATE_DONE) {
        }
    }
    psyne__clear_error();
    if (init_status != PSYNE_OK) return psyne__fail(init_status, "%s", init_error);
    return PSYNE_OK;
}

psyne_status psyne_cpu_info_get(psyne_cpu_info *out)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_cpu_info_get: out must not be NULL");
    detect_once();
    *out = detected;
    out->selected_isa = (int32_t)psyne__isa();
    return PSYNE_OK;
}
