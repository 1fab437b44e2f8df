/*
 * psyne_zmtp.h - a bounds-checked parser for what a ZMTP 3.x peer sends:
 * the greeting, frames, commands, metadata, PLAIN HELLO and PING bodies.
 *
 * Included by psyne.h after the core types; do not include it on its own.
 * The socket layer (C#) owns the connection and encodes what it sends; these
 * calls only look at bytes it has received. They allocate nothing, never
 * block, never read outside [data, data + len), and never keep a pointer:
 * every result is an offset into the buffer the caller passed, so the caller
 * slices its own span. The specifications are rfc.zeromq.org/spec/23 (ZMTP
 * 3.0), /spec/37 (ZMTP 3.1) and /spec/24 (PLAIN); docs/wire-format.md,
 * section "ZMTP 3.1 framing as Psyne parses it", lists every limit and what
 * is rejected and why.
 *
 * Statuses besides PSYNE_OK:
 *   PSYNE_E_FORMAT            the peer sent something ZMTP does not allow (or
 *                             a frame over the caller's size limit); the
 *                             message (psyne_last_error) names the byte, the
 *                             value and what was expected. The connection
 *                             should be dropped.
 *   PSYNE_E_INVALID_ARGUMENT  a NULL pointer (data may be NULL only when its
 *                             length is 0), a buffer too short to hold what
 *                             the call must read or write, a cursor past the
 *                             end, or a value this side may not send.
 */
#ifndef PSYNE_ZMTP_H
#define PSYNE_ZMTP_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- greeting ---------------------------------------------------------- */

enum {
    PSYNE_ZMTP_GREETING_SIZE = 64,      /* signature 10, version 2, mechanism 20, as-server 1, filler 31 */
    PSYNE_ZMTP_GREETING_PREFIX_SIZE = 11, /* signature + version major: enough to reject a non-ZMTP 3 peer */
    PSYNE_ZMTP_MECHANISM_NAME_SIZE = 20,
    PSYNE_ZMTP_VERSION_MAJOR = 3,       /* what psyne_zmtp_greeting_write sends */
    PSYNE_ZMTP_VERSION_MINOR = 1
};

typedef enum psyne_zmtp_mechanism {
    PSYNE_ZMTP_MECHANISM_NULL = 0,
    PSYNE_ZMTP_MECHANISM_PLAIN = 1,
    PSYNE_ZMTP_MECHANISM_CURVE = 2,
    PSYNE_ZMTP_MECHANISM_UNKNOWN = 3 /* a well-formed name Psyne does not know ("GSSAPI", ...) */
} psyne_zmtp_mechanism;

typedef struct psyne_zmtp_greeting {
    uint8_t version_major; /* 3 or higher (a higher one is reported as-is: RFC 23 says accept it and speak 3.x) */
    uint8_t version_minor; /* 0 for ZMTP 3.0, 1 for 3.1, anything else as sent */
    uint8_t as_server;     /* 0 or 1 */
    uint8_t reserved;      /* always 0 */
    uint32_t mechanism;    /* psyne_zmtp_mechanism */
} psyne_zmtp_greeting;

/* Parses a peer's 64-byte greeting from data[0..64) (bytes after 64 are not
 * read). Checks: byte 0 is 0xFF and byte 9 is 0x7F (the 8 padding bytes
 * between them may hold anything); version major at least 3 (ZMTP 1.0 and
 * 2.0 peers are refused with a message that names their version); the
 * mechanism is 1 to 20 characters from A-Z 0-9 - _ . + padded with NULs and
 * nothing after the first NUL; as-server is 0 or 1. The filler is ignored.
 * len < PSYNE_ZMTP_GREETING_SIZE is PSYNE_E_INVALID_ARGUMENT: read the whole
 * greeting first (psyne_zmtp_greeting_check_prefix can look at less). */
PSYNE_API psyne_status psyne_zmtp_greeting_parse(const uint8_t *data, size_t len, psyne_zmtp_greeting *out);

/* Checks as many of the first PSYNE_ZMTP_GREETING_PREFIX_SIZE bytes as len
 * covers (0xFF, 8 bytes of anything, 0x7F, major >= 3), so a peer that does
 * not speak ZMTP 3 can be dropped before it has sent 64 bytes (libzmq sends
 * these 11 bytes first). PSYNE_OK means "plausible so far"; bytes past 11
 * are not read. data may be NULL when len is 0. */
PSYNE_API psyne_status psyne_zmtp_greeting_check_prefix(const uint8_t *data, size_t len);

/* Writes our greeting (ZMTP 3.1) to out[0..64): padding as libzmq sends it
 * (7 zeros then 1), the mechanism's name, as_server (0 or 1) and a zero
 * filler. mechanism must be NULL, PLAIN or CURVE; len at least 64. */
PSYNE_API psyne_status psyne_zmtp_greeting_write(uint8_t *out, size_t len, uint32_t mechanism, uint32_t as_server);

/* ---- frames ------------------------------------------------------------ */

enum {
    PSYNE_ZMTP_FLAG_MORE = 1,    /* another frame of this message follows */
    PSYNE_ZMTP_FLAG_LONG = 2,    /* the size is 8 bytes (big-endian), not 1 */
    PSYNE_ZMTP_FLAG_COMMAND = 4, /* a command frame (never with MORE) */
    PSYNE_ZMTP_FLAGS_RESERVED = 0xF8, /* bits that must be zero */
    PSYNE_ZMTP_SHORT_HEADER_SIZE = 2, /* flags + 1-byte size */
    PSYNE_ZMTP_LONG_HEADER_SIZE = 9,  /* flags + 8-byte size */
    PSYNE_ZMTP_SHORT_FRAME_MAX = 255  /* the largest payload a short frame can carry */
};

typedef struct psyne_zmtp_frame {
    uint64_t offset;      /* payload offset in the buffer given to psyne_zmtp_decode */
    uint64_t size;        /* payload bytes */
    uint32_t flags;       /* the flags byte as on the wire: MORE, LONG, COMMAND */
    uint32_t header_size; /* PSYNE_ZMTP_SHORT_HEADER_SIZE or PSYNE_ZMTP_LONG_HEADER_SIZE */
} psyne_zmtp_frame;

/* Decodes consecutive complete frames from data[0..len) into frames[0..capacity).
 * It stops at capacity frames (the frame after them is not looked at), at the
 * end of data, or at the first incomplete frame. Outputs, always written:
 *   *count     frames written;
 *   *consumed  bytes of those frames (headers + payloads): where the caller
 *              resumes;
 *   *pending   when the next frame's header is complete but its payload is
 *              not: that frame's header_size + size, the bytes to have at
 *              data + *consumed before it decodes (the caller can size a
 *              buffer and read the payload straight into it); 0 otherwise.
 * The frame after the *count good ones is PSYNE_E_FORMAT (those before it are
 * still reported) when its flags have a reserved bit set, when it is a command
 * with MORE set, when a long size has its top bit set (>= 2^63), or when its
 * size exceeds max_frame_size (UINT64_MAX: no limit). Flags are checked as
 * soon as their byte has arrived, sizes as soon as the header is complete, so
 * a bad peer is caught before its payload is awaited. A long frame with a
 * size below 256 is accepted, as libzmq does. frames may be NULL when capacity
 * is 0 (to validate and measure the next frame only). Loops over the buffer:
 * a normal call, not PSYNE_HOT. */
PSYNE_API psyne_status psyne_zmtp_decode(const uint8_t *data, size_t len, uint64_t max_frame_size,
                                         psyne_zmtp_frame *frames, size_t capacity, size_t *count,
                                         size_t *consumed, uint64_t *pending);

/* ---- commands ---------------------------------------------------------- */

typedef enum psyne_zmtp_command_kind {
    PSYNE_ZMTP_CMD_UNKNOWN = 0, /* a well-formed name not listed here: ZMTP says ignore it */
    PSYNE_ZMTP_CMD_READY = 1,
    PSYNE_ZMTP_CMD_ERROR = 2,
    PSYNE_ZMTP_CMD_SUBSCRIBE = 3,
    PSYNE_ZMTP_CMD_CANCEL = 4,
    PSYNE_ZMTP_CMD_PING = 5,
    PSYNE_ZMTP_CMD_PONG = 6,
    PSYNE_ZMTP_CMD_HELLO = 7,
    PSYNE_ZMTP_CMD_WELCOME = 8,
    PSYNE_ZMTP_CMD_INITIATE = 9
} psyne_zmtp_command_kind;

typedef struct psyne_zmtp_command {
    uint32_t kind;        /* psyne_zmtp_command_kind; names match case-sensitively, as libzmq does */
    uint32_t name_size;   /* 1..255 */
    uint64_t name_offset; /* always 1: the name follows its length byte */
    uint64_t data_offset; /* 1 + name_size */
    uint64_t data_size;   /* the rest of the body, may be 0 */
} psyne_zmtp_command;

/* Parses a command frame's body: a 1-byte name length (1..255; 0 or a name
 * longer than the body is PSYNE_E_FORMAT), the name, then the data. Offsets
 * are relative to body. Constant time. */
PSYNE_API PSYNE_HOT psyne_status psyne_zmtp_command_parse(const uint8_t *body, size_t len, psyne_zmtp_command *out);

/* ---- metadata (READY, INITIATE, WELCOME data) --------------------------- */

typedef struct psyne_zmtp_property {
    uint64_t name_offset;  /* offsets relative to the metadata's data */
    uint64_t name_size;    /* 1..255 */
    uint64_t value_offset;
    uint64_t value_size;   /* 0..2^32-1, may be 0 (an empty Identity) */
} psyne_zmtp_property;

/* Reads the property at *cursor: a 1-byte name length (1..255), the name, a
 * 4-byte big-endian value length, the value. Start with *cursor = 0. Returns
 * PSYNE_OK with *has_property = 1, the property in *out and *cursor moved past
 * it; or PSYNE_OK with *has_property = 0 when *cursor == len (the end).
 * A zero-length name or a property cut short is PSYNE_E_FORMAT (*cursor is
 * not moved); *cursor > len is PSYNE_E_INVALID_ARGUMENT. */
PSYNE_API psyne_status psyne_zmtp_metadata_next(const uint8_t *data, size_t len, size_t *cursor,
                                                psyne_zmtp_property *out, uint32_t *has_property);

/* Finds the first property named name[0..name_len) (ASCII case-insensitive,
 * as ZMTP says names are: "Socket-Type", "Identity", "User-Id"). *found is 1
 * with the property in *out, or 0. The whole metadata is checked, so
 * malformed metadata is PSYNE_E_FORMAT even when the name comes before the
 * damage. name_len must be 1..255 (names are never longer). */
PSYNE_API psyne_status psyne_zmtp_metadata_find(const uint8_t *data, size_t len, const char *name, size_t name_len,
                                                psyne_zmtp_property *out, uint32_t *found);

/* ---- mechanism and heartbeat command bodies ----------------------------- */

enum { PSYNE_ZMTP_PING_CONTEXT_MAX = 16 };

/* PLAIN HELLO data (RFC 24): a 1-byte username length, the username, a 1-byte
 * password length, the password, and nothing after (both may be empty).
 * Offsets are relative to data. */
PSYNE_API psyne_status psyne_zmtp_plain_hello_parse(const uint8_t *data, size_t len, uint64_t *user_offset,
                                                    uint64_t *user_size, uint64_t *password_offset,
                                                    uint64_t *password_size);

/* PING data (RFC 37): a 2-byte big-endian TTL in tenths of a second, then a
 * context of 0..PSYNE_ZMTP_PING_CONTEXT_MAX bytes that the PONG echoes.
 * Fewer than 2 bytes or a longer context is PSYNE_E_FORMAT. Offsets are
 * relative to data. Constant time. */
PSYNE_API PSYNE_HOT psyne_status psyne_zmtp_ping_parse(const uint8_t *data, size_t len, uint32_t *ttl_deciseconds,
                                                       uint64_t *context_offset, uint64_t *context_size);

/* ---- socket types -------------------------------------------------------- */

/* Whether a socket of type ours may talk to a peer whose READY said theirs,
 * per RFC 23/37 and libzmq: REQ-REP/ROUTER, REP-REQ/DEALER,
 * DEALER-REP/DEALER/ROUTER, ROUTER-REQ/DEALER/ROUTER, PUB-SUB/XSUB,
 * XPUB-SUB/XSUB, SUB-PUB/XPUB, XSUB-PUB/XPUB, PUSH-PULL, PULL-PUSH,
 * PAIR-PAIR (the relation is symmetric). Names are wire names ("REQ",
 * "XPUB"), given with their lengths (no NUL needed) and compared
 * case-sensitively, as libzmq does. *compatible is 1 or 0; an unknown name
 * on either side gives 0, not an error. */
PSYNE_API psyne_status psyne_zmtp_socket_types_compatible(const char *ours, size_t ours_len, const char *theirs,
                                                          size_t theirs_len, uint32_t *compatible);

#ifdef __cplusplus
}
#endif

#endif /* PSYNE_ZMTP_H */
