/*
 * zmtp_socket_type.c - which socket types may be connected, checked when a
 * peer's READY names its Socket-Type (RFC 23/37, the same table as libzmq's
 * mechanism_t::check_socket_type).
 */
#include "net/zmtp_wire.h"

#include <string.h>

enum { REQ, REP, DEALER, ROUTER, PUB, XPUB, SUB, XSUB, PUSH, PULL, PAIR, TYPE_COUNT };

static const char *const type_names[TYPE_COUNT] = {"REQ", "REP", "DEALER", "ROUTER", "PUB", "XPUB",
                                                   "SUB", "XSUB", "PUSH", "PULL", "PAIR"};

/* peers[t] has bit u set when type t accepts type u. Symmetric by construction. */
#define BIT(t) (1u << (t))
static const uint32_t peers[TYPE_COUNT] = {
    [REQ] = BIT(REP) | BIT(ROUTER),
    [REP] = BIT(REQ) | BIT(DEALER),
    [DEALER] = BIT(REP) | BIT(DEALER) | BIT(ROUTER),
    [ROUTER] = BIT(REQ) | BIT(DEALER) | BIT(ROUTER),
    [PUB] = BIT(SUB) | BIT(XSUB),
    [XPUB] = BIT(SUB) | BIT(XSUB),
    [SUB] = BIT(PUB) | BIT(XPUB),
    [XSUB] = BIT(PUB) | BIT(XPUB),
    [PUSH] = BIT(PULL),
    [PULL] = BIT(PUSH),
    [PAIR] = BIT(PAIR),
};
#undef BIT

/* Case-sensitive, as libzmq compares them: "req" is not a socket type. */
static int type_of(const char *name, size_t len)
{
    for (int t = 0; t < TYPE_COUNT; t++) {
        if (strlen(type_names[t]) == len && memcmp(name, type_names[t], len) == 0) return t;
    }
    return -1;
}

psyne_status psyne_zmtp_socket_types_compatible(const char *ours, size_t ours_len, const char *theirs, size_t theirs_len,
                                                uint32_t *compatible)
{
    psyne__clear_error();
    if (compatible) *compatible = 0;
    if (!compatible || (!ours && ours_len) || (!theirs && theirs_len))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_zmtp_socket_types_compatible: compatible is NULL, or a name is NULL with a non-zero "
                           "length");
    const int a = ours_len ? type_of(ours, ours_len) : -1;
    const int b = theirs_len ? type_of(theirs, theirs_len) : -1;
    *compatible = a >= 0 && b >= 0 && (peers[a] >> b & 1u);
    return PSYNE_OK;
}
