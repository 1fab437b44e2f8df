/*
 * zmtp_frame.c - splits received bytes into ZMTP 3.x frames.
 *
 * A frame is a flags byte, a size (1 byte, or 8 bytes big-endian when the
 * LONG flag is set) and the payload. Nothing is copied: each frame is
 * reported as an offset and size in the caller's buffer. Every size is
 * checked against the caller's limit before the caller is told to wait for
 * (or allocate) the payload, as libzmq's decoder does.
 */
#include "net/zmtp_wire.h"

static psyne_status bad_flags(uint8_t flags, uint64_t at)
{
    if (flags & PSYNE_ZMTP_FLAGS_RESERVED)
        return psyne__fail(PSYNE_E_FORMAT,
                           "zmtp: frame flags 0x%02x at offset %llu have reserved bits set (0x%02x must be zero)", flags,
                           (unsigned long long)at, PSYNE_ZMTP_FLAGS_RESERVED);
    return psyne__fail(PSYNE_E_FORMAT,
                       "zmtp: command frame at offset %llu has the MORE flag set; a ZMTP 3.1 command is a single frame",
                       (unsigned long long)at);
}

psyne_status psyne_zmtp_decode(const uint8_t *data, size_t len, uint64_t max_frame_size, psyne_zmtp_frame *frames,
                               size_t capacity, size_t *count, size_t *consumed, uint64_t *pending)
{
    psyne__clear_error();
    if (count) *count = 0;
    if (consumed) *consumed = 0;
    if (pending) *pending = 0;
    if (!count || !consumed || !pending)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_zmtp_decode: count, consumed and pending must not be NULL");
    if ((!data && len) || (!frames && capacity))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_zmtp_decode: data (len %zu) or frames (capacity %zu) is NULL", len, capacity);

    size_t n = 0, pos = 0;
    psyne_status status = PSYNE_OK;
    while (n < capacity && pos < len) {
        const size_t left = len - pos;
        const uint8_t flags = data[pos];
        if (flags & PSYNE_ZMTP_FLAGS_RESERVED ||
            (flags & (PSYNE_ZMTP_FLAG_COMMAND | PSYNE_ZMTP_FLAG_MORE)) ==
                (PSYNE_ZMTP_FLAG_COMMAND | PSYNE_ZMTP_FLAG_MORE)) {
            status = bad_flags(flags, pos);
            break;
        }
        const size_t header = flags & PSYNE_ZMTP_FLAG_LONG ? PSYNE_ZMTP_LONG_HEADER_SIZE : PSYNE_ZMTP_SHORT_HEADER_SIZE;
        if (left < header) break;
        const uint64_t size = flags & PSYNE_ZMTP_FLAG_LONG ? zmtp_be64(data + pos + 1) : data[pos + 1];
        if (size >> 63) {
            status = psyne__fail(PSYNE_E_FORMAT,
                                 "zmtp: frame at offset %zu declares %llu bytes; a ZMTP frame size must be below 2^63",
                                 pos, (unsigned long long)size);
            break;
        }
        if (size > max_frame_size) {
            status = psyne__fail(PSYNE_E_FORMAT,
                                 "zmtp: frame of %llu bytes at offset %zu exceeds the maximum of %llu (raise the "
                                 "socket's maximum message size to accept it)",
                                 (unsigned long long)size, pos, (unsigned long long)max_frame_size);
            break;
        }
        /* Compared in 64 bits: size may exceed what size_t holds on a 32-bit host. */
        if ((uint64_t)(left - header) < size) {
            *pending = header + size; /* size < 2^63, so this cannot wrap */
            break;
        }
        frames[n].offset = pos + header;
        frames[n].size = size;
        frames[n].flags = flags;
        frames[n].header_size = (uint32_t)header;
        pos += header + (size_t)size;
        n++;
    }
    *count = n;
    *consumed = pos;
    return status;
}
