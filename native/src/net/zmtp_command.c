/*
 * zmtp_command.c - command frame bodies: the name, and the two command data
 * layouts that are not metadata (PLAIN HELLO, PING).
 *
 * command_parse and ping_parse are PSYNE_HOT (SUBSCRIBE, CANCEL and PING
 * arrive on the data path): they do a constant amount of work and leave the
 * thread's error message alone when they succeed.
 */
#include "net/zmtp_wire.h"

#include <string.h>

static const struct {
    const char *name;
    uint32_t size;
    uint32_t kind;
} commands[] = {
    {"READY", 5, PSYNE_ZMTP_CMD_READY},       {"ERROR", 5, PSYNE_ZMTP_CMD_ERROR},
    {"SUBSCRIBE", 9, PSYNE_ZMTP_CMD_SUBSCRIBE}, {"CANCEL", 6, PSYNE_ZMTP_CMD_CANCEL},
    {"PING", 4, PSYNE_ZMTP_CMD_PING},         {"PONG", 4, PSYNE_ZMTP_CMD_PONG},
    {"HELLO", 5, PSYNE_ZMTP_CMD_HELLO},       {"WELCOME", 7, PSYNE_ZMTP_CMD_WELCOME},
    {"INITIATE", 8, PSYNE_ZMTP_CMD_INITIATE},
};

psyne_status psyne_zmtp_command_parse(const uint8_t *body, size_t len, psyne_zmtp_command *out)
{
    if (PSYNE_UNLIKELY(!out || (!body && len)))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_zmtp_command_parse: out is NULL, or body is NULL with len %zu",
                           len);
    if (PSYNE_UNLIKELY(len == 0))
        return psyne__fail_static(PSYNE_E_FORMAT, "zmtp: empty command frame (a command starts with its name's length)");
    const uint32_t name_size = body[0];
    if (PSYNE_UNLIKELY(name_size == 0))
        return psyne__fail_static(PSYNE_E_FORMAT, "zmtp: command name has length 0 (names are 1 to 255 bytes)");
    if (PSYNE_UNLIKELY(name_size > len - 1))
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: command name of %u bytes does not fit in a %zu-byte command frame",
                           name_size, len);
    uint32_t kind = PSYNE_ZMTP_CMD_UNKNOWN;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (commands[i].size == name_size && memcmp(body + 1, commands[i].name, name_size) == 0) {
            kind = commands[i].kind;
            break;
        }
    }
    out->kind = kind;
    out->name_size = name_size;
    out->name_offset = 1;
    out->data_offset = 1 + (uint64_t)name_size;
    out->data_size = len - 1 - name_size;
    return PSYNE_OK;
}

psyne_status psyne_zmtp_ping_parse(const uint8_t *data, size_t len, uint32_t *ttl_deciseconds, uint64_t *context_offset,
                                   uint64_t *context_size)
{
    if (PSYNE_UNLIKELY(!ttl_deciseconds || !context_offset || !context_size || (!data && len)))
        return psyne__fail_static(PSYNE_E_INVALID_ARGUMENT,
                                  "psyne_zmtp_ping_parse: an output is NULL, or data is NULL with a non-zero len");
    if (PSYNE_UNLIKELY(len < 2))
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: PING data of %zu bytes is shorter than its 2-byte TTL", len);
    if (PSYNE_UNLIKELY(len - 2 > PSYNE_ZMTP_PING_CONTEXT_MAX))
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: PING context of %zu bytes exceeds the maximum of %d", len - 2,
                           PSYNE_ZMTP_PING_CONTEXT_MAX);
    *ttl_deciseconds = zmtp_be16(data);
    *context_offset = 2;
    *context_size = len - 2;
    return PSYNE_OK;
}

psyne_status psyne_zmtp_plain_hello_parse(const uint8_t *data, size_t len, uint64_t *user_offset, uint64_t *user_size,
                                          uint64_t *password_offset, uint64_t *password_size)
{
    psyne__clear_error();
    if (!user_offset || !user_size || !password_offset || !password_size || (!data && len))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_zmtp_plain_hello_parse: an output is NULL, or data is NULL with len %zu", len);
    if (len < 1) return psyne__fail(PSYNE_E_FORMAT, "zmtp: PLAIN HELLO data is empty (expected a username length)");
    const size_t user = data[0];
    if (user > len - 1)
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: PLAIN HELLO username of %zu bytes does not fit in %zu bytes of data",
                           user, len);
    const size_t at = 1 + user;
    if (at >= len)
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: PLAIN HELLO data of %zu bytes ends before the password length", len);
    const size_t password = data[at];
    if (password > len - at - 1)
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: PLAIN HELLO password of %zu bytes does not fit in %zu bytes of data",
                           password, len);
    if (at + 1 + password != len)
        return psyne__fail(PSYNE_E_FORMAT, "zmtp: PLAIN HELLO data has %zu bytes after the password",
                           len - (at + 1 + password));
    *user_offset = 1;
    *user_size = user;
    *password_offset = at + 1;
    *password_size = password;
    return PSYNE_OK;
}
