/* test_zmtp.c - the ZMTP 3.x parsers against hand-made wire bytes.
 *
 * Greetings are byte for byte what libzmq 4.1 (ZMTP 3.0) and 4.2+ (ZMTP 3.1)
 * send. Truncated inputs are exact-size heap copies, so the ASan build
 * reports any read past them. */
#include "psyne/psyne.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An exact-size heap copy (one byte allocated for an empty one). */
static uint8_t *exact(const uint8_t *bytes, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (n) memcpy(p, bytes, n);
    return p;
}

static int error_mentions(const char *needle)
{
    if (strstr(psyne_last_error(), needle)) return 1;
    fprintf(stderr, "last error \"%s\" does not mention \"%s\"\n", psyne_last_error(), needle);
    return 0;
}

/* ---- greeting ------------------------------------------------------------------ */

/* libzmq's greeting: 0xFF, routing-id size + 1 as a big-endian u64, 0x7F, version, mechanism, as-server, filler. */
static void make_greeting(uint8_t g[64], uint8_t major, uint8_t minor, const char *mechanism, uint8_t as_server)
{
    memset(g, 0, 64);
    g[0] = 0xFF;
    g[8] = 1;
    g[9] = 0x7F;
    g[10] = major;
    g[11] = minor;
    memcpy(g + 12, mechanism, strlen(mechanism));
    g[32] = as_server;
}

static void test_greeting_libzmq(void)
{
    static const struct {
        uint8_t minor;
        const char *mechanism;
        uint8_t as_server;
        uint32_t expected;
    } cases[] = {
        {1, "NULL", 0, PSYNE_ZMTP_MECHANISM_NULL},   {0, "NULL", 0, PSYNE_ZMTP_MECHANISM_NULL},
        {1, "PLAIN", 1, PSYNE_ZMTP_MECHANISM_PLAIN}, {1, "PLAIN", 0, PSYNE_ZMTP_MECHANISM_PLAIN},
        {0, "PLAIN", 1, PSYNE_ZMTP_MECHANISM_PLAIN}, {1, "CURVE", 1, PSYNE_ZMTP_MECHANISM_CURVE},
        {1, "GSSAPI", 0, PSYNE_ZMTP_MECHANISM_UNKNOWN},
        {1, "A-Z_0.9+", 0, PSYNE_ZMTP_MECHANISM_UNKNOWN},
        {1, "ABCDEFGHIJKLMNOPQRST", 0, PSYNE_ZMTP_MECHANISM_UNKNOWN}, /* 20 characters, no NUL */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t g[64];
        make_greeting(g, 3, cases[i].minor, cases[i].mechanism, cases[i].as_server);
        uint8_t *copy = exact(g, 64);
        psyne_zmtp_greeting out;
        memset(&out, 0xAA, sizeof out);
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_parse(copy, 64, &out));
        CHECK_EQ_U64(3, out.version_major);
        CHECK_EQ_U64(cases[i].minor, out.version_minor);
        CHECK_EQ_U64(cases[i].as_server, out.as_server);
        CHECK_EQ_U64(0, out.reserved);
        CHECK_EQ_U64(cases[i].expected, out.mechanism);
        free(copy);
    }

    /* The literal bytes libzmq 4.3 sends for a NULL client, spelled out once. */
    static const uint8_t libzmq_null[64] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1, 'N', 'U', 'L', 'L'};
    psyne_zmtp_greeting out;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_parse(libzmq_null, 64, &out));
    CHECK_EQ_U64(PSYNE_ZMTP_MECHANISM_NULL, out.mechanism);

    /* Longer buffers: only the first 64 bytes are read (frames may follow). */
    uint8_t more[80];
    make_greeting(more, 3, 1, "NULL", 0);
    memset(more + 64, 0x55, 16);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_parse(more, sizeof more, &out));

    /* Padding and filler may hold anything. */
    uint8_t g[64];
    make_greeting(g, 3, 1, "NULL", 0);
    memset(g + 1, 0xEE, 8);
    memset(g + 33, 0x33, 31);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_parse(g, 64, &out));

    /* A later version is accepted and reported as sent (RFC 23: accept higher versions). */
    make_greeting(g, 4, 0, "NULL", 0);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK_EQ_U64(4, out.version_major);
    CHECK_EQ_U64(0, out.version_minor);
    make_greeting(g, 3, 7, "NULL", 0);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK_EQ_U64(7, out.version_minor);
}

static void test_greeting_rejects(void)
{
    uint8_t g[64];
    psyne_zmtp_greeting out;
    make_greeting(g, 3, 1, "NULL", 0);

    /* Truncated: not an error in the peer, a call made too early. */
    for (size_t n = 0; n < 64; n++) {
        uint8_t *copy = exact(g, n);
        CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_greeting_parse(copy, n, &out));
        free(copy);
    }
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_greeting_parse(NULL, 64, &out));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_greeting_parse(g, 64, NULL));

    g[0] = 0x01; /* a ZMTP 1.0 peer starts with its identity frame's length */
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK(error_mentions("byte 0 is 0x01"));
    g[0] = 0xFF;
    g[9] = 0x7E;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK(error_mentions("byte 9 is 0x7e"));

    make_greeting(g, 1, 5, "NULL", 0); /* ZMTP 2.0: revision 1, then the socket type */
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK(error_mentions("version major 1 (ZMTP 2.0)"));
    make_greeting(g, 2, 0, "NULL", 0);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK(error_mentions("version major 2"));
    make_greeting(g, 0, 0, "NULL", 0);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK(error_mentions("ZMTP 1.0"));

    make_greeting(g, 3, 1, "", 0);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK(error_mentions("mechanism is empty"));
    make_greeting(g, 3, 1, "NULL", 0);
    g[12 + 6] = 'X'; /* "NULL\0\0X" */
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK(error_mentions("after its NUL padding"));
    make_greeting(g, 3, 1, "NULL", 0);
    g[31] = 1; /* the last mechanism byte */
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    make_greeting(g, 3, 1, "null", 0);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
    CHECK(error_mentions("byte 0 is 0x6e"));
    make_greeting(g, 3, 1, "NU LL", 0);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));

    for (unsigned v = 2; v < 256; v += 51) {
        make_greeting(g, 3, 1, "PLAIN", (uint8_t)v);
        CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_parse(g, 64, &out));
        CHECK(error_mentions("as-server"));
    }
}

static void test_greeting_prefix(void)
{
    uint8_t g[64];
    make_greeting(g, 3, 1, "NULL", 0);
    for (size_t n = 0; n <= 64; n++) {
        uint8_t *copy = exact(g, n);
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_check_prefix(copy, n));
        free(copy);
    }
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_check_prefix(NULL, 0));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_greeting_check_prefix(NULL, 1));

    /* A ZMTP 2.0 peer looks right until byte 10. */
    make_greeting(g, 1, 5, "", 0);
    for (size_t n = 0; n <= 64; n++) {
        uint8_t *copy = exact(g, n);
        CHECK_STATUS(n <= 10 ? PSYNE_OK : PSYNE_E_FORMAT, psyne_zmtp_greeting_check_prefix(copy, n));
        free(copy);
    }
    /* An HTTP client is refused on its first byte. */
    static const uint8_t http[] = "GET / HTTP/1.1\r\n";
    for (size_t n = 1; n < sizeof http; n++)
        CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_check_prefix(http, n));
    /* Byte 9 must be 0x7F once it is there. */
    make_greeting(g, 3, 1, "NULL", 0);
    g[9] = 0x7D;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_check_prefix(g, 9));
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_greeting_check_prefix(g, 10));
}

static void test_greeting_write(void)
{
    static const char *names[] = {"NULL", "PLAIN", "CURVE"};
    for (uint32_t m = 0; m < 3; m++) {
        for (uint32_t server = 0; server < 2; server++) {
            uint8_t out[64], want[64];
            memset(out, 0xCC, sizeof out);
            CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_write(out, sizeof out, m, server));
            make_greeting(want, 3, 1, names[m], (uint8_t)server);
            CHECK(memcmp(out, want, 64) == 0); /* exactly what libzmq 4.3 sends */
            psyne_zmtp_greeting back;
            CHECK_STATUS(PSYNE_OK, psyne_zmtp_greeting_parse(out, 64, &back));
            CHECK_EQ_U64(m, back.mechanism);
            CHECK_EQ_U64(server, back.as_server);
            CHECK_EQ_U64(PSYNE_ZMTP_VERSION_MAJOR, back.version_major);
            CHECK_EQ_U64(PSYNE_ZMTP_VERSION_MINOR, back.version_minor);
        }
    }
    uint8_t out[64];
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_greeting_write(out, 63, 0, 0));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_greeting_write(NULL, 64, 0, 0));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_greeting_write(out, 64, PSYNE_ZMTP_MECHANISM_UNKNOWN, 0));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_greeting_write(out, 64, 0, 2));
}

/* ---- frames ---------------------------------------------------------------------- */

typedef struct expect_frame {
    uint64_t offset, size;
    uint32_t flags, header_size;
} expect_frame;

/* Appends a frame to buf at *n; short unless long_form or size > 255. */
static expect_frame put_frame(uint8_t *buf, size_t *n, uint8_t flags, uint64_t size, int long_form, uint8_t fill)
{
    expect_frame e;
    if (long_form || size > 255) flags |= PSYNE_ZMTP_FLAG_LONG;
    buf[(*n)++] = flags;
    if (flags & PSYNE_ZMTP_FLAG_LONG) {
        for (int i = 7; i >= 0; i--) buf[(*n)++] = (uint8_t)(size >> (8 * i));
        e.header_size = 9;
    } else {
        buf[(*n)++] = (uint8_t)size;
        e.header_size = 2;
    }
    e.offset = *n;
    e.size = size;
    e.flags = flags;
    memset(buf + *n, fill, (size_t)size);
    *n += (size_t)size;
    return e;
}

static void test_decode_basic(void)
{
    uint8_t buf[1024];
    size_t n = 0;
    expect_frame want[6];
    want[0] = put_frame(buf, &n, PSYNE_ZMTP_FLAG_MORE, 0, 0, 0);     /* empty delimiter */
    want[1] = put_frame(buf, &n, 0, 5, 0, 'a');                       /* short */
    want[2] = put_frame(buf, &n, PSYNE_ZMTP_FLAG_MORE, 300, 0, 'b');  /* long */
    want[3] = put_frame(buf, &n, 0, 17, 1, 'c');                      /* long with a small size: libzmq accepts it */
    want[4] = put_frame(buf, &n, PSYNE_ZMTP_FLAG_COMMAND, 255, 0, 'd'); /* short command at the short maximum */
    want[5] = put_frame(buf, &n, PSYNE_ZMTP_FLAG_COMMAND, 256, 0, 'e'); /* long command */

    psyne_zmtp_frame frames[8];
    size_t count = 99, consumed = 99;
    uint64_t pending = 99;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(buf, n, UINT64_MAX, frames, 8, &count, &consumed, &pending));
    CHECK_EQ_U64(6, count);
    CHECK_EQ_U64(n, consumed);
    CHECK_EQ_U64(0, pending);
    for (size_t i = 0; i < 6; i++) {
        CHECK_EQ_U64(want[i].offset, frames[i].offset);
        CHECK_EQ_U64(want[i].size, frames[i].size);
        CHECK_EQ_U64(want[i].flags, frames[i].flags);
        CHECK_EQ_U64(want[i].header_size, frames[i].header_size);
    }
    CHECK(frames[1].offset + 5 <= n && buf[frames[1].offset] == 'a');

    /* Capacity stops it; the next frame is not looked at, so pending stays 0. */
    for (size_t cap = 0; cap <= 6; cap++) {
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(buf, n, UINT64_MAX, cap ? frames : NULL, cap, &count, &consumed,
                                                 &pending));
        CHECK_EQ_U64(cap, count);
        CHECK_EQ_U64(cap ? want[cap - 1].offset + want[cap - 1].size : 0, consumed);
        CHECK_EQ_U64(0, pending);
    }
    /* Capacity reached right before a bad frame: no error yet. */
    uint8_t bad[] = {0, 1, 'x', 0xFF, 0};
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(bad, sizeof bad, UINT64_MAX, frames, 1, &count, &consumed, &pending));
    CHECK_EQ_U64(1, count);
    CHECK_EQ_U64(3, consumed);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(bad, sizeof bad, UINT64_MAX, frames, 2, &count, &consumed, &pending));
    CHECK_EQ_U64(1, count);
    CHECK_EQ_U64(3, consumed);

    /* Empty input. */
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(NULL, 0, UINT64_MAX, frames, 8, &count, &consumed, &pending));
    CHECK_EQ_U64(0, count);
    CHECK_EQ_U64(0, consumed);
    CHECK_EQ_U64(0, pending);

    /* Bad arguments. */
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_decode(NULL, 1, UINT64_MAX, frames, 8, &count, &consumed, &pending));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_decode(buf, n, UINT64_MAX, NULL, 1, &count, &consumed, &pending));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_decode(buf, n, UINT64_MAX, frames, 8, NULL, &consumed, &pending));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_decode(buf, n, UINT64_MAX, frames, 8, &count, NULL, &pending));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_decode(buf, n, UINT64_MAX, frames, 8, &count, &consumed, NULL));
}

/* Every split of a stream: the frames wholly inside the prefix, and pending
 * for the one that is cut once its header is there. */
static void test_decode_split(void)
{
    uint8_t buf[1024];
    size_t n = 0;
    expect_frame want[7];
    want[0] = put_frame(buf, &n, PSYNE_ZMTP_FLAG_COMMAND, 40, 0, 'r');
    want[1] = put_frame(buf, &n, PSYNE_ZMTP_FLAG_MORE, 0, 0, 0);
    want[2] = put_frame(buf, &n, PSYNE_ZMTP_FLAG_MORE, 3, 0, 'h');
    want[3] = put_frame(buf, &n, 0, 280, 0, 'p');
    want[4] = put_frame(buf, &n, 0, 0, 1, 0);
    want[5] = put_frame(buf, &n, PSYNE_ZMTP_FLAG_MORE, 1, 1, 'z');
    want[6] = put_frame(buf, &n, 0, 7, 0, 'q');
    const size_t frames_n = 7;

    for (size_t cut = 0; cut <= n; cut++) {
        uint8_t *copy = exact(buf, cut);
        psyne_zmtp_frame frames[8];
        size_t count, consumed;
        uint64_t pending;
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(copy, cut, UINT64_MAX, frames, 8, &count, &consumed, &pending));
        size_t expect_count = 0;
        while (expect_count < frames_n && want[expect_count].offset + want[expect_count].size <= cut) expect_count++;
        const size_t expect_consumed =
            expect_count ? (size_t)(want[expect_count - 1].offset + want[expect_count - 1].size) : 0;
        uint64_t expect_pending = 0;
        if (expect_count < frames_n && want[expect_count].offset <= cut)
            expect_pending = want[expect_count].header_size + want[expect_count].size;
        CHECK_EQ_U64(expect_count, count);
        CHECK_EQ_U64(expect_consumed, consumed);
        CHECK_EQ_U64(expect_pending, pending);
        for (size_t i = 0; i < count && i < frames_n; i++) CHECK_EQ_U64(want[i].offset, frames[i].offset);
        free(copy);
    }

    /* A caller that gets the stream in pieces of every size, keeps what was
     * not consumed and decodes again, sees every frame once, in order. */
    for (size_t piece = 1; piece <= 40; piece++) {
        uint8_t pend[1024];
        size_t held = 0, seen = 0, fed = 0;
        while (fed < n || held) {
            const size_t take = n - fed < piece ? n - fed : piece;
            memcpy(pend + held, buf + fed, take);
            held += take;
            fed += take;
            psyne_zmtp_frame frames[2];
            size_t count, consumed;
            uint64_t pending;
            CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(pend, held, UINT64_MAX, frames, 2, &count, &consumed, &pending));
            for (size_t i = 0; i < count; i++, seen++) {
                CHECK(seen < frames_n);
                if (seen >= frames_n) break;
                CHECK_EQ_U64(want[seen].size, frames[i].size);
                CHECK_EQ_U64(want[seen].flags, frames[i].flags);
                if (frames[i].size) CHECK(pend[frames[i].offset] == buf[want[seen].offset]);
            }
            if (pending) CHECK(pending > held - consumed);
            memmove(pend, pend + consumed, held - consumed);
            held -= consumed;
            if (!count && take == 0) break; /* everything fed and nothing decodes: stuck */
        }
        CHECK_EQ_U64(frames_n, seen);
        CHECK_EQ_U64(0, held);
    }
}

static void test_decode_errors(void)
{
    psyne_zmtp_frame frames[4];
    size_t count, consumed;
    uint64_t pending;

    /* Each reserved bit, reported as soon as the flags byte arrives. */
    for (int bit = 3; bit < 8; bit++) {
        uint8_t b[] = {0, 1, 'k', (uint8_t)(1u << bit), 0};
        for (size_t len = 4; len <= sizeof b; len++) {
            CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(b, len, UINT64_MAX, frames, 4, &count, &consumed, &pending));
            CHECK_EQ_U64(1, count); /* the good frame before it is still reported */
            CHECK_EQ_U64(3, consumed);
            CHECK_EQ_U64(0, pending);
        }
        CHECK(error_mentions("reserved bits set"));
    }
    uint8_t reserved[] = {0xF8 | PSYNE_ZMTP_FLAG_MORE, 0};
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(reserved, 2, UINT64_MAX, frames, 4, &count, &consumed, &pending));
    CHECK(error_mentions("frame flags 0xf9 at offset 0 have reserved bits set"));

    /* A command with MORE. */
    uint8_t cmd_more[] = {PSYNE_ZMTP_FLAG_COMMAND | PSYNE_ZMTP_FLAG_MORE, 0};
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(cmd_more, 1, UINT64_MAX, frames, 4, &count, &consumed, &pending));
    CHECK(error_mentions("MORE"));
    cmd_more[0] |= PSYNE_ZMTP_FLAG_LONG;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(cmd_more, 2, UINT64_MAX, frames, 4, &count, &consumed, &pending));

    /* 2^63 and above, whatever the limit. */
    static const uint8_t top[][9] = {
        {PSYNE_ZMTP_FLAG_LONG, 0x80, 0, 0, 0, 0, 0, 0, 0},
        {PSYNE_ZMTP_FLAG_LONG | PSYNE_ZMTP_FLAG_MORE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
        {PSYNE_ZMTP_FLAG_LONG | PSYNE_ZMTP_FLAG_COMMAND, 0x80, 0, 0, 0, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < 3; i++) {
        uint8_t *copy = exact(top[i], 9);
        CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(copy, 9, UINT64_MAX, frames, 4, &count, &consumed, &pending));
        CHECK_EQ_U64(0, count);
        CHECK_EQ_U64(0, pending);
        CHECK(error_mentions("below 2^63"));
        /* With fewer bytes the header is incomplete: nothing to say yet. */
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(copy, 8, UINT64_MAX, frames, 4, &count, &consumed, &pending));
        free(copy);
    }
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(top[0], 9, UINT64_MAX, frames, 4, &count, &consumed, &pending));
    CHECK(error_mentions("declares 9223372036854775808 bytes"));
    /* 2^63 - 1 is legal (if the limit allows it): the frame is pending. */
    uint8_t big[9] = {PSYNE_ZMTP_FLAG_LONG, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(big, 9, UINT64_MAX, frames, 4, &count, &consumed, &pending));
    CHECK_EQ_U64(9 + 0x7FFFFFFFFFFFFFFFull, pending);

    /* The caller's limit, short and long frames, checked before the payload arrives. */
    uint8_t s[] = {0, 100};
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(s, 2, 100, frames, 4, &count, &consumed, &pending));
    CHECK_EQ_U64(102, pending);
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(s, 2, 99, frames, 4, &count, &consumed, &pending));
    CHECK(error_mentions("frame of 100 bytes at offset 0 exceeds the maximum of 99"));
    CHECK_EQ_U64(0, pending);
    uint8_t l[] = {PSYNE_ZMTP_FLAG_LONG, 0, 0, 0, 0, 0, 0x10, 0, 0};
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_decode(l, 9, (1 << 20) - 1, frames, 4, &count, &consumed, &pending));
    CHECK(error_mentions("1048576 bytes"));
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(l, 9, 1 << 20, frames, 4, &count, &consumed, &pending));
    /* A limit of 0 allows only empty frames. */
    uint8_t empty[] = {0, 0, PSYNE_ZMTP_FLAG_LONG, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_decode(empty, sizeof empty, 0, frames, 4, &count, &consumed, &pending));
    CHECK_EQ_U64(2, count);
    CHECK_EQ_U64(sizeof empty, consumed);
}

/* ---- commands and metadata ------------------------------------------------------------ */

/* Appends a property: 1-byte name length, name, 4-byte big-endian value length, value. */
static void put_property(uint8_t *buf, size_t *n, const char *name, const char *value, size_t value_len)
{
    const size_t name_len = strlen(name);
    buf[(*n)++] = (uint8_t)name_len;
    memcpy(buf + *n, name, name_len);
    *n += name_len;
    for (int i = 3; i >= 0; i--) buf[(*n)++] = (uint8_t)(value_len >> (8 * i));
    memcpy(buf + *n, value, value_len);
    *n += value_len;
}

static void test_command_ready(void)
{
    /* READY as libzmq 4.3 sends it from a DEALER with no routing id. */
    uint8_t body[128];
    size_t n = 0;
    body[n++] = 5;
    memcpy(body + n, "READY", 5);
    n += 5;
    const size_t data_at = n;
    put_property(body, &n, "Socket-Type", "DEALER", 6);
    put_property(body, &n, "Identity", "", 0);
    put_property(body, &n, "X-Custom", "v", 1);

    psyne_zmtp_command cmd;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_command_parse(body, n, &cmd));
    CHECK_EQ_U64(PSYNE_ZMTP_CMD_READY, cmd.kind);
    CHECK_EQ_U64(5, cmd.name_size);
    CHECK_EQ_U64(1, cmd.name_offset);
    CHECK_EQ_U64(data_at, cmd.data_offset);
    CHECK_EQ_U64(n - data_at, cmd.data_size);

    const uint8_t *md = body + cmd.data_offset;
    const size_t md_len = (size_t)cmd.data_size;
    static const char *names[] = {"Socket-Type", "Identity", "X-Custom"};
    static const char *values[] = {"DEALER", "", "v"};
    size_t cursor = 0;
    psyne_zmtp_property p;
    uint32_t has = 0;
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_metadata_next(md, md_len, &cursor, &p, &has));
        CHECK_EQ_U64(1, has);
        CHECK_EQ_U64(strlen(names[i]), p.name_size);
        CHECK(memcmp(md + p.name_offset, names[i], (size_t)p.name_size) == 0);
        CHECK_EQ_U64(strlen(values[i]), p.value_size);
        CHECK(p.value_offset + p.value_size <= md_len);
        CHECK(memcmp(md + p.value_offset, values[i], (size_t)p.value_size) == 0);
    }
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_metadata_next(md, md_len, &cursor, &p, &has));
    CHECK_EQ_U64(0, has);
    CHECK_EQ_U64(md_len, cursor);
    cursor = md_len + 1;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_metadata_next(md, md_len, &cursor, &p, &has));

    uint32_t found = 9;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_metadata_find(md, md_len, "socket-type", 11, &p, &found));
    CHECK_EQ_U64(1, found);
    CHECK(p.value_size == 6 && memcmp(md + p.value_offset, "DEALER", 6) == 0);
    uint32_t compatible = 9;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_socket_types_compatible("ROUTER", 6, (const char *)md + p.value_offset,
                                                              (size_t)p.value_size, &compatible));
    CHECK_EQ_U64(1, compatible);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_metadata_find(md, md_len, "IDENTITY", 8, &p, &found));
    CHECK_EQ_U64(1, found);
    CHECK_EQ_U64(0, p.value_size);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_metadata_find(md, md_len, "Identit", 7, &p, &found));
    CHECK_EQ_U64(0, found);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_metadata_find(md, md_len, "User-Id", 7, &p, &found));
    CHECK_EQ_U64(0, found);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_metadata_find(NULL, 0, "Identity", 8, &p, &found));
    CHECK_EQ_U64(0, found);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_metadata_find(md, md_len, "", 0, &p, &found));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_metadata_find(md, md_len, NULL, 3, &p, &found));

    /* Every cut of the metadata: at a property boundary it is shorter metadata,
     * anywhere else it is malformed, for next and for find alike. */
    const size_t boundaries[] = {0, 1 + 11 + 4 + 6, 1 + 11 + 4 + 6 + 1 + 8 + 4, md_len};
    for (size_t cut = 0; cut <= md_len; cut++) {
        int at_boundary = 0;
        for (size_t b = 0; b < 4; b++) at_boundary |= boundaries[b] == cut;
        uint8_t *copy = exact(md, cut);
        cursor = 0;
        psyne_status s;
        while ((s = psyne_zmtp_metadata_next(copy, cut, &cursor, &p, &has)) == PSYNE_OK && has) {
        }
        CHECK_STATUS(at_boundary ? PSYNE_OK : PSYNE_E_FORMAT, s);
        if (s != PSYNE_OK) CHECK(cursor < cut); /* not moved past the damage */
        CHECK_STATUS(at_boundary ? PSYNE_OK : PSYNE_E_FORMAT,
                     psyne_zmtp_metadata_find(copy, cut, "Socket-Type", 11, &p, &found));
        if (!at_boundary) CHECK_EQ_U64(0, found);
        free(copy);
    }

    /* Damage after the property we look for still fails the lookup. */
    uint8_t tail[64];
    size_t tn = 0;
    put_property(tail, &tn, "Socket-Type", "PUB", 3);
    tail[tn++] = 3;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_metadata_find(tail, tn, "Socket-Type", 11, &p, &found));
    CHECK_EQ_U64(0, found);
    /* A zero-length name. */
    uint8_t zero_name[] = {0, 0, 0, 0, 0};
    cursor = 0;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_metadata_next(zero_name, sizeof zero_name, &cursor, &p, &has));
    CHECK(error_mentions("empty name"));
    CHECK_EQ_U64(0, cursor);
    /* A value length beyond the data (and beyond 2^31: no sign trouble). */
    uint8_t huge[] = {1, 'A', 0xFF, 0xFF, 0xFF, 0xFF, 'x'};
    cursor = 0;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_metadata_next(huge, sizeof huge, &cursor, &p, &has));
    CHECK(error_mentions("4294967295-byte value"));
    /* A 255-byte name with non-printable bytes: the message shows it safely. */
    uint8_t long_name[1 + 255 + 4];
    long_name[0] = 255;
    memset(long_name + 1, 0x01, 255);
    memset(long_name + 256, 0xFF, 4);
    cursor = 0;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_metadata_next(long_name, sizeof long_name, &cursor, &p, &has));
    CHECK(error_mentions("'????"));
}

static void test_command_names(void)
{
    static const struct {
        const char *name;
        uint32_t kind;
    } names[] = {
        {"READY", PSYNE_ZMTP_CMD_READY},   {"ERROR", PSYNE_ZMTP_CMD_ERROR},     {"SUBSCRIBE", PSYNE_ZMTP_CMD_SUBSCRIBE},
        {"CANCEL", PSYNE_ZMTP_CMD_CANCEL}, {"PING", PSYNE_ZMTP_CMD_PING},       {"PONG", PSYNE_ZMTP_CMD_PONG},
        {"HELLO", PSYNE_ZMTP_CMD_HELLO},   {"WELCOME", PSYNE_ZMTP_CMD_WELCOME}, {"INITIATE", PSYNE_ZMTP_CMD_INITIATE},
        {"ready", PSYNE_ZMTP_CMD_UNKNOWN}, {"JOIN", PSYNE_ZMTP_CMD_UNKNOWN},    {"READYX", PSYNE_ZMTP_CMD_UNKNOWN},
        {"PIN", PSYNE_ZMTP_CMD_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint8_t body[32];
        const size_t len = strlen(names[i].name);
        body[0] = (uint8_t)len;
        memcpy(body + 1, names[i].name, len);
        body[1 + len] = 0x42;
        psyne_zmtp_command cmd;
        uint8_t *copy = exact(body, len + 1); /* no data */
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_command_parse(copy, len + 1, &cmd));
        CHECK_EQ_U64(names[i].kind, cmd.kind);
        CHECK_EQ_U64(0, cmd.data_size);
        free(copy);
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_command_parse(body, len + 2, &cmd));
        CHECK_EQ_U64(1, cmd.data_size);
        CHECK_EQ_U64(len + 1, cmd.data_offset);
    }
    /* A SUBSCRIBE as libzmq 4.3 sends it for the topic "A". */
    static const uint8_t sub[] = {9, 'S', 'U', 'B', 'S', 'C', 'R', 'I', 'B', 'E', 'A'};
    psyne_zmtp_command cmd;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_command_parse(sub, sizeof sub, &cmd));
    CHECK_EQ_U64(PSYNE_ZMTP_CMD_SUBSCRIBE, cmd.kind);
    CHECK(cmd.data_size == 1 && sub[cmd.data_offset] == 'A');

    /* Malformed: empty, zero-length name, name past the end (every cut). */
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_command_parse(NULL, 0, &cmd));
    static const uint8_t zero[] = {0, 'X'};
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_command_parse(zero, sizeof zero, &cmd));
    CHECK(error_mentions("length 0"));
    for (size_t cut = 1; cut < 10; cut++) {
        uint8_t *copy = exact(sub, cut);
        CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_command_parse(copy, cut, &cmd));
        free(copy);
    }
    uint8_t max_name[256];
    max_name[0] = 255;
    memset(max_name + 1, 'N', 255);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_command_parse(max_name, 256, &cmd));
    CHECK_EQ_U64(255, cmd.name_size);
    CHECK_EQ_U64(0, cmd.data_size);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_command_parse(sub, sizeof sub, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_command_parse(NULL, 3, &cmd));
}

static void test_plain_hello(void)
{
    uint8_t d[64];
    size_t n = 0;
    d[n++] = 5;
    memcpy(d + n, "admin", 5);
    n += 5;
    d[n++] = 6;
    memcpy(d + n, "secret", 6);
    n += 6;
    uint64_t uo, us, po, ps;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_plain_hello_parse(d, n, &uo, &us, &po, &ps));
    CHECK(uo == 1 && us == 5 && memcmp(d + uo, "admin", 5) == 0);
    CHECK(po == 7 && ps == 6 && memcmp(d + po, "secret", 6) == 0);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = exact(d, cut);
        CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_plain_hello_parse(copy, cut, &uo, &us, &po, &ps));
        free(copy);
    }
    d[n] = 'x';
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_plain_hello_parse(d, n + 1, &uo, &us, &po, &ps));
    CHECK(error_mentions("1 bytes after the password"));

    static const uint8_t empty[] = {0, 0};
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_plain_hello_parse(empty, 2, &uo, &us, &po, &ps));
    CHECK(uo == 1 && us == 0 && po == 2 && ps == 0);
    static const uint8_t max_user[] = {255};
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_plain_hello_parse(max_user, 1, &uo, &us, &po, &ps));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_plain_hello_parse(empty, 2, NULL, &us, &po, &ps));
}

static void test_ping(void)
{
    uint32_t ttl = 0;
    uint64_t co = 9, cs = 9;
    static const uint8_t bare[] = {0x01, 0x2C}; /* 300 deciseconds, no context */
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_ping_parse(bare, 2, &ttl, &co, &cs));
    CHECK_EQ_U64(300, ttl);
    CHECK_EQ_U64(2, co);
    CHECK_EQ_U64(0, cs);
    uint8_t ctx[2 + 17] = {0xFF, 0xFF};
    for (size_t i = 0; i < 17; i++) ctx[2 + i] = (uint8_t)i;
    for (size_t len = 2; len <= 18; len++) {
        uint8_t *copy = exact(ctx, len);
        CHECK_STATUS(PSYNE_OK, psyne_zmtp_ping_parse(copy, len, &ttl, &co, &cs));
        CHECK_EQ_U64(65535, ttl);
        CHECK_EQ_U64(len - 2, cs);
        free(copy);
    }
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_ping_parse(ctx, 19, &ttl, &co, &cs));
    CHECK(error_mentions("17 bytes exceeds the maximum of 16"));
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_ping_parse(ctx, 1, &ttl, &co, &cs));
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_zmtp_ping_parse(NULL, 0, &ttl, &co, &cs));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_ping_parse(ctx, 2, NULL, &co, &cs));
}

/* ---- socket types ------------------------------------------------------------------------- */

static void test_socket_types(void)
{
    static const char *types[] = {"REQ", "REP", "DEALER", "ROUTER", "PUB", "XPUB",
                                  "SUB", "XSUB", "PUSH", "PULL", "PAIR"};
    /* The RFC 23 table, one row per type: the peers it accepts. */
    static const char *accepts[] = {
        "REP ROUTER",      "REQ DEALER", "REP DEALER ROUTER", "REQ DEALER ROUTER", "SUB XSUB", "SUB XSUB",
        "PUB XPUB",        "PUB XPUB",   "PULL",              "PUSH",              "PAIR",
    };
    const size_t nt = sizeof types / sizeof types[0];
    int pairs = 0;
    for (size_t a = 0; a < nt; a++) {
        for (size_t b = 0; b < nt; b++) {
            char padded[16];
            snprintf(padded, sizeof padded, " %s ", types[b]);
            char row[64];
            snprintf(row, sizeof row, " %s ", accepts[a]);
            const uint32_t want = strstr(row, padded) != NULL;
            uint32_t got = 9, back = 9;
            /* Names are not NUL-terminated on the wire: give them inside longer text. */
            char ours[32], theirs[32];
            snprintf(ours, sizeof ours, "%sZZZ", types[a]);
            snprintf(theirs, sizeof theirs, "%sZZZ", types[b]);
            CHECK_STATUS(PSYNE_OK, psyne_zmtp_socket_types_compatible(ours, strlen(types[a]), theirs,
                                                                      strlen(types[b]), &got));
            CHECK_STATUS(PSYNE_OK, psyne_zmtp_socket_types_compatible(theirs, strlen(types[b]), ours,
                                                                      strlen(types[a]), &back));
            if (got != want) fprintf(stderr, "%s with %s: expected %u\n", types[a], types[b], want);
            CHECK_EQ_U64(want, got);
            CHECK_EQ_U64(got, back); /* symmetric */
            pairs += (int)got;
        }
    }
    CHECK_EQ_U64(21, pairs); /* ordered pairs that may talk */

    uint32_t c = 9;
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_socket_types_compatible("req", 3, "REP", 3, &c));
    CHECK_EQ_U64(0, c);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_socket_types_compatible("REQ", 3, "REPLY", 5, &c));
    CHECK_EQ_U64(0, c);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_socket_types_compatible("STREAM", 6, "STREAM", 6, &c));
    CHECK_EQ_U64(0, c);
    CHECK_STATUS(PSYNE_OK, psyne_zmtp_socket_types_compatible("PAIR", 4, NULL, 0, &c));
    CHECK_EQ_U64(0, c);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_socket_types_compatible("PAIR", 4, NULL, 4, &c));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_zmtp_socket_types_compatible("PAIR", 4, "PAIR", 4, NULL));
}

int main(void)
{
    TEST_INIT();
    test_greeting_libzmq();
    test_greeting_rejects();
    test_greeting_prefix();
    test_greeting_write();
    test_decode_basic();
    test_decode_split();
    test_decode_errors();
    test_command_ready();
    test_command_names();
    test_plain_hello();
    test_ping();
    test_socket_types();
    TEST_DONE();
}
