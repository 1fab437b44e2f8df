/*
 * zmtp_greeting.c - the 64-byte ZMTP 3.x greeting: parse the peer's, write ours.
 *
 * Layout (RFC 23/37): 0xFF, 8 padding bytes, 0x7F, version major, version
 * minor, 20-byte mechanism name (NUL padded), as-server, 31 filler bytes.
 */
#include "net/zmtp_wire.h"

#include <string.h>

enum {
    AT_VERSION_MAJOR = 10,
    AT_VERSION_MINOR = 11,
    AT_MECHANISM = 12,
    AT_AS_SERVER = 32
};

static const char *const mechanism_names[] = {"NULL", "PLAIN", "CURVE"};

/* What a peer below ZMTP 3 is: libzmq numbers the revision byte 0 for ZMTP
 * 1.0 with a versioned greeting and 1 for ZMTP 2.0 (RFC 15). */
static const char *old_protocol(uint8_t major)
{
    switch (major) {
    case 0: return "ZMTP 1.0";
    case 1: return "ZMTP 2.0";
    default: return "a pre-3.0 ZMTP draft";
    }
}

static psyne_status check_prefix(const uint8_t *data, size_t len)
{
    if (len > 0 && data[0] != 0xFF)
        return psyne__fail(PSYNE_E_FORMAT,
                           "zmtp: greeting byte 0 is 0x%02x, expected 0xFF: the peer does not speak ZMTP 3 "
                           "(a ZMTP 1.0 peer or another protocol)",
                           data[0]);
    if (len > 9 && data[9] != 0x7F)
        return psyne__fail(PSYNE_E_FORMAT,
                           "zmtp: greeting byte 9 is 0x%02x, expected 0x7F: the peer does not speak ZMTP 3",
                           data[9]);
    if (len > AT_VERSION_MAJOR && data[AT_VERSION_MAJOR] < PSYNE_ZMTP_VERSION_MAJOR)
        return psyne__fail(PSYNE_E_FORMAT,
                           "zmtp: the peer's greeting has version major %u (%s); Psyne speaks ZMTP 3.0 and 3.1 "
                           "only: upgrade the peer to a ZMTP 3 library (libzmq 4.x, NetMQ 4.x)",
                           data[AT_VERSION_MAJOR], old_protocol(data[AT_VERSION_MAJOR]));
    return PSYNE_OK;
}

/* RFC 23: mechanism = 20mechanism-char, mechanism-char = "A"-"Z" | DIGIT
 * | "-" | "_" | "." | "+" | %x0. */
static int mechanism_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '+';
}

static psyne_status parse_mechanism(const uint8_t *field, uint32_t *out)
{
    size_t n = 0;
    while (n < PSYNE_ZMTP_MECHANISM_NAME_SIZE && field[n] != 0) {
        if (!mechanism_char(field[n]))
            return psyne__fail(PSYNE_E_FORMAT,
                               "zmtp: greeting mechanism byte %zu is 0x%02x; a mechanism name is made of "
                               "A-Z, 0-9, '-', '_', '.' and '+'",
                               n, field[n]);
        n++;
    }
    if (n == 0) return psyne__fail(PSYNE_E_FORMAT, "zmtp: greeting mechanism is empty (expected NULL, PLAIN or CURVE)");
    for (size_t i = n; i < PSYNE_ZMTP_MECHANISM_NAME_SIZE; i++) {
        if (field[i] != 0)
            return psyne__fail(PSYNE_E_FORMAT,
                               "zmtp: greeting mechanism has byte 0x%02x at position %zu, after its NUL padding began "
                               "at %zu",
                               field[i], i, n);
    }
    *out = PSYNE_ZMTP_MECHANISM_UNKNOWN;
    for (uint32_t m = 0; m < sizeof mechanism_names / sizeof mechanism_names[0]; m++) {
        if (strlen(mechanism_names[m]) == n && memcmp(field, mechanism_names[m], n) == 0) *out = m;
    }
    return PSYNE_OK;
}

psyne_status psyne_zmtp_greeting_check_prefix(const uint8_t *data, size_t len)
{
    psyne__clear_error();
    if (!data && len) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_zmtp_greeting_check_prefix: data is NULL");
    return check_prefix(data, len);
}

psyne_status psyne_zmtp_greeting_parse(const uint8_t *data, size_t len, psyne_zmtp_greeting *out)
{
    psyne__clear_error();
    if (!data || !out)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_zmtp_greeting_parse: data and out must not be NULL");
    if (len < PSYNE_ZMTP_GREETING_SIZE)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_zmtp_greeting_parse: %zu bytes given, a greeting is %d: read all of it first",
                           len, PSYNE_ZMTP_GREETING_SIZE);
    memset(out, 0, sizeof *out);
    psyne_status s = check_prefix(data, PSYNE_ZMTP_GREETING_SIZE);
    if (s != PSYNE_OK) return s;
    uint32_t mechanism = PSYNE_ZMTP_MECHANISM_UNKNOWN;
    s = parse_mechanism(data + AT_MECHANISM, &mechanism);
    if (s != PSYNE_OK) return s;
    const uint8_t as_server = data[AT_AS_SERVER];
    if (as_server > 1)
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: greeting as-server is 0x%02x, expected 0 or 1", as_server);
    /* The 31 filler bytes are zero per the RFC, but no peer depends on it and
     * libzmq does not check them either. */
    out->version_major = data[AT_VERSION_MAJOR];
    out->version_minor = data[AT_VERSION_MINOR];
    out->as_server = as_server;
    out->mechanism = mechanism;
    return PSYNE_OK;
}

psyne_status psyne_zmtp_greeting_write(uint8_t *out, size_t len, uint32_t mechanism, uint32_t as_server)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_zmtp_greeting_write: out is NULL");
    if (len < PSYNE_ZMTP_GREETING_SIZE)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_zmtp_greeting_write: %zu bytes of room, a greeting needs %d",
                           len, PSYNE_ZMTP_GREETING_SIZE);
    if (mechanism >= sizeof mechanism_names / sizeof mechanism_names[0])
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_zmtp_greeting_write: mechanism %u is not NULL (0), PLAIN (1) or CURVE (2)", mechanism);
    if (as_server > 1)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_zmtp_greeting_write: as_server is %u, expected 0 or 1",
                           as_server);
    memset(out, 0, PSYNE_ZMTP_GREETING_SIZE);
    out[0] = 0xFF;
    /* libzmq puts identity length + 1 here so a ZMTP 1.0 peer reads the
     * greeting as an empty identity frame; 1 is what it sends without one. */
    out[8] = 1;
    out[9] = 0x7F;
    out[AT_VERSION_MAJOR] = PSYNE_ZMTP_VERSION_MAJOR;
    out[AT_VERSION_MINOR] = PSYNE_ZMTP_VERSION_MINOR;
    memcpy(out + AT_MECHANISM, mechanism_names[mechanism], strlen(mechanism_names[mechanism]));
    out[AT_AS_SERVER] = (uint8_t)as_server;
    return PSYNE_OK;
}
