/*
 * zmtp_metadata.c - the property lists in READY, INITIATE and WELCOME data:
 * name (1-byte length, 1..255 bytes), value (4-byte big-endian length).
 *
 * Stricter than libzmq in two places, both as RFC 23 writes the grammar: a
 * zero-length name is malformed (libzmq skips it), and so is a property cut
 * short anywhere (libzmq ignores a lone trailing byte).
 */
#include "net/zmtp_wire.h"

/* A property name for an error message: printable ASCII only, since the
 * bytes came from the peer and the message ends up in an exception. */
static const char *printable_name(const uint8_t *name, size_t size, char out[40])
{
    size_t n = size < 32 ? size : 32;
    for (size_t i = 0; i < n; i++) out[i] = name[i] >= 0x20 && name[i] < 0x7F ? (char)name[i] : '?';
    if (size > n) {
        out[n++] = '.';
        out[n++] = '.';
        out[n++] = '.';
    }
    out[n] = '\0';
    return out;
}

/* Reads one property at *cursor without touching the error message on success. */
static psyne_status read_property(const uint8_t *data, size_t len, size_t *cursor, psyne_zmtp_property *out)
{
    const size_t at = *cursor;
    const size_t left = len - at;
    const size_t name = data[at];
    char shown[40];
    if (name == 0)
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: metadata property at offset %zu has an empty name", at);
    if (left < 1 + name)
        return psyne__fail(PSYNE_E_FORMAT,
                           "zmtp: metadata property at offset %zu: a %zu-byte name does not fit in the %zu bytes left",
                           at, name, left - 1);
    if (left - 1 - name < 4)
        return psyne__fail(PSYNE_E_FORMAT,
                           "zmtp: metadata property '%s' at offset %zu is cut short before its 4-byte value length",
                           printable_name(data + at + 1, name, shown), at);
    const uint64_t value = zmtp_be32(data + at + 1 + name);
    if ((uint64_t)(left - 1 - name - 4) < value)
        return psyne__fail(PSYNE_E_FORMAT,
                           "zmtp: metadata property '%s' at offset %zu declares a %llu-byte value, %zu bytes are left",
                           printable_name(data + at + 1, name, shown), at, (unsigned long long)value,
                           left - 1 - name - 4);
    out->name_offset = at + 1;
    out->name_size = name;
    out->value_offset = at + 1 + name + 4;
    out->value_size = value;
    *cursor = at + 1 + name + 4 + (size_t)value;
    return PSYNE_OK;
}

psyne_status psyne_zmtp_metadata_next(const uint8_t *data, size_t len, size_t *cursor, psyne_zmtp_property *out,
                                      uint32_t *has_property)
{
    psyne__clear_error();
    if (has_property) *has_property = 0;
    if (!cursor || !out || !has_property || (!data && len))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_zmtp_metadata_next: cursor, out and has_property must not be NULL, nor data when "
                           "len (%zu) is not 0",
                           len);
    if (*cursor > len)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_zmtp_metadata_next: cursor %zu is past the end (%zu)",
                           *cursor, len);
    if (*cursor == len) return PSYNE_OK;
    const psyne_status s = read_property(data, len, cursor, out);
    if (s == PSYNE_OK) *has_property = 1;
    return s;
}

static int ascii_lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

psyne_status psyne_zmtp_metadata_find(const uint8_t *data, size_t len, const char *name, size_t name_len,
                                      psyne_zmtp_property *out, uint32_t *found)
{
    psyne__clear_error();
    if (found) *found = 0;
    if (!name || !out || !found || (!data && len))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_zmtp_metadata_find: name, out and found must not be NULL, nor data when len (%zu) "
                           "is not 0",
                           len);
    if (name_len < 1 || name_len > 255)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_zmtp_metadata_find: a property name is 1 to 255 bytes, %zu given", name_len);
    size_t cursor = 0;
    uint32_t hit = 0;
    psyne_zmtp_property p = {0, 0, 0, 0}, first = p;
    /* Every property is read, not just those before a match: metadata that is
     * damaged after the name we want is still a peer to drop. */
    while (cursor < len) {
        const psyne_status s = read_property(data, len, &cursor, &p);
        if (s != PSYNE_OK) return s;
        if (hit || p.name_size != name_len) continue;
        const uint8_t *n = data + p.name_offset;
        size_t i = 0;
        while (i < name_len && ascii_lower(n[i]) == ascii_lower((uint8_t)name[i])) i++;
        if (i == name_len) {
            first = p;
            hit = 1;
        }
    }
    if (hit) *out = first;
    *found = hit;
    return PSYNE_OK;
}
