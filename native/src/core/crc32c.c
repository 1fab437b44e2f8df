/*
 * crc32c.c - public CRC32C entry points and variant dispatch.
 *
 * The public crc is the finished CRC32C (as stored in iSCSI, ext4, ...): the
 * register is its complement, so psyne_crc32c(psyne_crc32c(0, a), b) is the
 * CRC of a || b. Variants work on the raw register (crc32c_internal.h).
 *
 * AUTO is resolved on every call from the selected ISA (a relaxed atomic
 * load), so psyne_isa_select takes effect at once without any lock here.
 */
#include "core/crc32c_internal.h"
#include "core/internal.h"

static psyne_crc32c_variant resolve_auto(void)
{
#if PSYNE_X86_64
    switch (psyne__isa()) {
    case PSYNE_ISA_AVX512:
        if (psyne__cpu_features() & PSYNE_CPU_VPCLMULQDQ)
            return PSYNE_CRC32C_VPCLMUL;
        return PSYNE_CRC32C_HW;
    case PSYNE_ISA_AVX2:
        /* The AVX2 level includes SSE4.2 and PCLMULQDQ, all that HW needs. */
        return PSYNE_CRC32C_HW;
    default:
        return PSYNE_CRC32C_TABLE;
    }
#else
    return PSYNE_CRC32C_TABLE;
#endif
}

/* variant is concrete (not AUTO) and supported. */
static uint32_t compute(psyne_crc32c_variant variant, uint32_t crc, const void *data, size_t length)
{
    if (length == 0)
        return crc; /* also keeps NULL data away from pointer arithmetic */
    uint32_t reg = ~crc;
    switch (variant) {
#if PSYNE_X86_64
    case PSYNE_CRC32C_VPCLMUL:
        reg = psyne__crc32c_vpclmul(reg, data, length);
        break;
    case PSYNE_CRC32C_HW:
        reg = psyne__crc32c_hw(reg, data, length);
        break;
#endif
    default:
        reg = psyne__crc32c_table(reg, data, length);
        break;
    }
    return ~reg;
}

static psyne_status check_buffers(const char *function, const void *data, size_t length, const uint32_t *out)
{
    if (out == NULL)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: out is NULL", function);
    if (data == NULL && length > 0)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: data is NULL but length is %zu (NULL is allowed only with length 0)",
                           function, length);
    return PSYNE_OK;
}

#if PSYNE_X86_64
static psyne_status unsupported(psyne_crc32c_variant variant, const char *missing)
{
    return psyne__fail(PSYNE_E_UNSUPPORTED, "CRC32C variant \"%s\" needs %s, which this CPU lacks",
                       psyne_crc32c_variant_name(variant), missing);
}

static psyne_status check_supported(psyne_crc32c_variant variant)
{
    uint64_t features = psyne__cpu_features();
    if (!(features & PSYNE_CPU_SSE42))
        return unsupported(variant, "SSE4.2 (the crc32 instruction)");
    if (!(features & PSYNE_CPU_PCLMULQDQ))
        return unsupported(variant, "PCLMULQDQ");
    if (variant == PSYNE_CRC32C_VPCLMUL) {
        if (!psyne__isa_supported(PSYNE_ISA_AVX512))
            return unsupported(variant, "the avx512 ISA level (AVX-512 F/BW/VL/DQ)");
        if (!(features & PSYNE_CPU_VPCLMULQDQ))
            return unsupported(variant, "VPCLMULQDQ");
    }
    return PSYNE_OK;
}
#else
static psyne_status check_supported(psyne_crc32c_variant variant)
{
    return psyne__fail(PSYNE_E_UNSUPPORTED, "CRC32C variant \"%s\" is implemented for x86-64 only; use \"table\" here",
                       psyne_crc32c_variant_name(variant));
}
#endif

psyne_status psyne_crc32c(uint32_t crc, const void *data, size_t length, uint32_t *out)
{
    psyne__clear_error();
    psyne_status status = check_buffers("psyne_crc32c", data, length, out);
    if (status != PSYNE_OK)
        return status;
    *out = compute(resolve_auto(), crc, data, length);
    return PSYNE_OK;
}

psyne_status psyne_crc32c_small(uint32_t crc, const void *data, size_t length, uint32_t *out)
{
    /* PSYNE_HOT: no psyne__clear_error on the way in; the thread-local access
     * would be a sizeable part of a 16-byte checksum. */
    if (length > PSYNE_CRC32C_HOT_MAX)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_crc32c_small: length %zu exceeds PSYNE_CRC32C_HOT_MAX (%d); use psyne_crc32c",
                           length, (int)PSYNE_CRC32C_HOT_MAX);
    psyne_status status = check_buffers("psyne_crc32c_small", data, length, out);
    if (status != PSYNE_OK)
        return status;
    *out = compute(resolve_auto(), crc, data, length);
    return PSYNE_OK;
}

psyne_status psyne_crc32c_variant_compute(psyne_crc32c_variant variant, uint32_t crc, const void *data, size_t length,
                                          uint32_t *out)
{
    psyne__clear_error();
    psyne_status status = check_buffers("psyne_crc32c_variant_compute", data, length, out);
    if (status != PSYNE_OK)
        return status;
    switch (variant) {
    case PSYNE_CRC32C_AUTO:
        variant = resolve_auto();
        break;
    case PSYNE_CRC32C_TABLE:
        break;
    case PSYNE_CRC32C_HW:
    case PSYNE_CRC32C_VPCLMUL:
        status = check_supported(variant);
        if (status != PSYNE_OK)
            return status;
        break;
    default:
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_crc32c_variant_compute: unknown variant %d", (int)variant);
    }
    *out = compute(variant, crc, data, length);
    return PSYNE_OK;
}

psyne_crc32c_variant psyne_crc32c_variant_selected(void)
{
    return resolve_auto();
}

const char *psyne_crc32c_variant_name(psyne_crc32c_variant variant)
{
    switch (variant) {
    case PSYNE_CRC32C_AUTO:
        return "auto";
    case PSYNE_CRC32C_TABLE:
        return "table";
    case PSYNE_CRC32C_HW:
        return "hw";
    case PSYNE_CRC32C_VPCLMUL:
        return "vpclmul";
    }
    return "unknown";
}
