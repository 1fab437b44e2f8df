/*
 * crc32c_internal.h - the CRC32C variants behind psyne_crc32c's dispatch.
 *
 * Every variant takes and returns the *raw* CRC register (no pre/post
 * inversion); the public entry points apply the ~ on the way in and out, so
 * variants compose (a variant may hand a tail to another).
 */
#ifndef PSYNE_CRC32C_INTERNAL_H
#define PSYNE_CRC32C_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

uint32_t psyne__crc32c_table(uint32_t reg, const uint8_t *data, size_t length);

#if defined(__x86_64__) || defined(_M_X64)
uint32_t psyne__crc32c_hw(uint32_t reg, const uint8_t *data, size_t length);
uint32_t psyne__crc32c_vpclmul(uint32_t reg, const uint8_t *data, size_t length);
#endif

#endif /* PSYNE_CRC32C_INTERNAL_H */
