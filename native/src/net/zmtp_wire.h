/*
 * zmtp_wire.h - byte-order helpers shared by the ZMTP parsers. Not installed.
 *
 * ZMTP is big-endian on the wire. Byte-wise loads keep the readers free of
 * alignment and aliasing questions; compilers fold them into one load and a
 * byte swap.
 */
#ifndef PSYNE_ZMTP_WIRE_H
#define PSYNE_ZMTP_WIRE_H

#include "core/internal.h"

#include <stddef.h>
#include <stdint.h>

static inline uint32_t zmtp_be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static inline uint64_t zmtp_be32(const uint8_t *p)
{
    return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

static inline uint64_t zmtp_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

#endif /* PSYNE_ZMTP_WIRE_H */
