/* fuzz_zmtp.c - libFuzzer target for the ZMTP 3.x parsers: everything a
 * remote peer can send before and after the handshake.
 *
 * Input: one option byte, then the bytes "from the wire".
 *   bits 0-1  max_frame_size: no limit, 0, 256 or 64 KiB
 *   bits 2-3  decode capacity: 1 to 4 frames per call
 *   bit 4     the stream starts with a 64-byte greeting (parsed, then skipped)
 * The stream is decoded in a loop as a socket would (capacity frames per
 * call, resuming at *consumed), every command frame is parsed, and its data
 * goes through the parser its name calls for (metadata, PLAIN HELLO, PING).
 * The raw stream is also handed to each body parser directly, so they are
 * fuzzed without the framing in the way.
 *
 * Invariants (abort on violation): every call returns PSYNE_OK or
 * PSYNE_E_FORMAT for wire input; every reported offset + size lies within
 * the buffer; consumed <= len; frames are contiguous; decoding with a small
 * capacity gives the same frames as one call with room for all of them.
 * Buffers are exact-size heap copies, so a read past one is an ASan report.
 *
 *   CC=clang cmake -S . -B build/fuzz -G Ninja -DPSYNE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
 *   ninja -C build/fuzz fuzz_zmtp make_zmtp_seeds
 *   mkdir -p build/fuzz/corpus-zmtp && ./build/fuzz/native/fuzz/make_zmtp_seeds build/fuzz/corpus-zmtp
 *   ./build/fuzz/native/fuzz/fuzz_zmtp -dict=native/fuzz/zmtp.dict -max_total_time=60 build/fuzz/corpus-zmtp
 */
#include <psyne/psyne.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what, psyne_status s)
{
    fprintf(stderr, "fuzz_zmtp: %s (status %s: %s)\n", what, psyne_status_name(s), psyne_last_error());
    abort();
}

static void must(int ok, const char *what, psyne_status s)
{
    if (!ok) fail(what, s);
}

/* A wire parser may accept or reject, nothing else; a rejection says why. */
static void wire_status(psyne_status s, const char *what)
{
    must(s == PSYNE_OK || s == PSYNE_E_FORMAT, what, s);
    must(s == PSYNE_OK || psyne_last_error()[0] != '\0', "a FORMAT error without a message", s);
}

static volatile uint64_t sink;

/* Reads every byte of a reported range: outside the buffer is an ASan report. */
static void touch(const uint8_t *base, size_t len, uint64_t offset, uint64_t size)
{
    if (offset > len || size > len - offset) fail("a reported range lies outside the buffer", PSYNE_OK);
    uint64_t s = 0;
    for (uint64_t i = 0; i < size; i++) s += base[offset + i];
    sink += s;
}

static int lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ---- greeting ------------------------------------------------------------------ */

static void fuzz_greeting(const uint8_t *p, size_t n)
{
    const size_t prefix = n < PSYNE_ZMTP_GREETING_PREFIX_SIZE ? n : PSYNE_ZMTP_GREETING_PREFIX_SIZE;
    const psyne_status ps = psyne_zmtp_greeting_check_prefix(p, prefix);
    wire_status(ps, "psyne_zmtp_greeting_check_prefix");
    psyne_zmtp_greeting g;
    const psyne_status s = psyne_zmtp_greeting_parse(p, n, &g);
    if (n < PSYNE_ZMTP_GREETING_SIZE) {
        must(s == PSYNE_E_INVALID_ARGUMENT, "a short greeting is not INVALID_ARGUMENT", s);
        return;
    }
    wire_status(s, "psyne_zmtp_greeting_parse");
    if (s != PSYNE_OK) return;
    must(ps == PSYNE_OK, "greeting accepted but its prefix rejected", ps);
    must(g.version_major >= 3 && g.as_server <= 1 && g.reserved == 0 && g.mechanism <= PSYNE_ZMTP_MECHANISM_UNKNOWN,
         "greeting fields out of range", s);
    /* Ours, with what the peer asked for, reads back the same. */
    if (g.mechanism != PSYNE_ZMTP_MECHANISM_UNKNOWN) {
        uint8_t ours[PSYNE_ZMTP_GREETING_SIZE];
        must(psyne_zmtp_greeting_write(ours, sizeof ours, g.mechanism, g.as_server) == PSYNE_OK, "greeting_write",
             PSYNE_OK);
        psyne_zmtp_greeting back;
        must(psyne_zmtp_greeting_parse(ours, sizeof ours, &back) == PSYNE_OK && back.mechanism == g.mechanism &&
                 back.as_server == g.as_server,
             "our greeting does not read back", PSYNE_OK);
    }
}

/* ---- command bodies ------------------------------------------------------------ */

static void fuzz_metadata(const uint8_t *d, size_t n)
{
    size_t cursor = 0;
    psyne_zmtp_property p;
    uint32_t has = 0;
    psyne_status s;
    uint64_t socket_type_at = UINT64_MAX, socket_type_size = 0;
    for (;;) {
        const size_t before = cursor;
        s = psyne_zmtp_metadata_next(d, n, &cursor, &p, &has);
        wire_status(s, "psyne_zmtp_metadata_next");
        if (s != PSYNE_OK) {
            must(cursor == before && has == 0, "a failed metadata_next moved the cursor", s);
            break;
        }
        if (!has) {
            must(cursor == n, "metadata ended before its end", s);
            break;
        }
        must(cursor > before && cursor <= n, "metadata cursor did not advance within the data", s);
        must(p.name_offset == before + 1 && p.name_size >= 1 && p.name_size <= 255 &&
                 p.value_offset == p.name_offset + p.name_size + 4 && p.value_offset + p.value_size == cursor,
             "property layout", s);
        touch(d, n, p.name_offset, p.name_size);
        touch(d, n, p.value_offset, p.value_size);
        if (socket_type_at == UINT64_MAX && p.name_size == 11) {
            int same = 1;
            for (int i = 0; i < 11; i++) same &= lower(d[p.name_offset + (uint64_t)i]) == lower((uint8_t)"socket-type"[i]);
            if (same) {
                socket_type_at = p.value_offset;
                socket_type_size = p.value_size;
            }
        }
    }
    /* find agrees with iteration: fails when it failed, finds what it saw first. */
    uint32_t found = 0;
    const psyne_status fs = psyne_zmtp_metadata_find(d, n, "Socket-Type", 11, &p, &found);
    wire_status(fs, "psyne_zmtp_metadata_find");
    must(fs == s, "metadata_find and metadata_next disagree on validity", fs);
    if (fs == PSYNE_OK) {
        must(found == (socket_type_at != UINT64_MAX), "metadata_find found something iteration did not", fs);
        if (found) {
            must(p.value_offset == socket_type_at && p.value_size == socket_type_size, "metadata_find found another",
                 fs);
            /* The compatibility check reads only the given bytes, and is symmetric. */
            static const char *ours[] = {"REQ", "ROUTER", "SUB", "PAIR"};
            for (int i = 0; i < 4; i++) {
                uint32_t a = 2, b = 2;
                must(psyne_zmtp_socket_types_compatible(ours[i], strlen(ours[i]), (const char *)d + p.value_offset,
                                                        (size_t)p.value_size, &a) == PSYNE_OK &&
                         psyne_zmtp_socket_types_compatible((const char *)d + p.value_offset, (size_t)p.value_size,
                                                            ours[i], strlen(ours[i]), &b) == PSYNE_OK &&
                         a <= 1 && a == b,
                     "socket type compatibility", PSYNE_OK);
            }
        }
    } else {
        must(found == 0, "metadata_find failed but set found", fs);
    }
    uint32_t id_found = 0;
    wire_status(psyne_zmtp_metadata_find(d, n, "Identity", 8, &p, &id_found), "psyne_zmtp_metadata_find");
    if (id_found) touch(d, n, p.value_offset, p.value_size);
}

static void fuzz_plain_hello(const uint8_t *d, size_t n)
{
    uint64_t uo, us, po, pz;
    const psyne_status s = psyne_zmtp_plain_hello_parse(d, n, &uo, &us, &po, &pz);
    wire_status(s, "psyne_zmtp_plain_hello_parse");
    if (s != PSYNE_OK) return;
    must(uo == 1 && po == 2 + us && po + pz == n && us <= 255 && pz <= 255, "PLAIN HELLO layout", s);
    touch(d, n, uo, us);
    touch(d, n, po, pz);
}

static void fuzz_ping(const uint8_t *d, size_t n)
{
    uint32_t ttl;
    uint64_t co, cs;
    const psyne_status s = psyne_zmtp_ping_parse(d, n, &ttl, &co, &cs);
    wire_status(s, "psyne_zmtp_ping_parse");
    if (s != PSYNE_OK) return;
    must(ttl <= 0xFFFF && co == 2 && cs <= PSYNE_ZMTP_PING_CONTEXT_MAX && co + cs == n, "PING layout", s);
    touch(d, n, co, cs);
}

/* A command frame's body, in its own exact-size buffer. */
static void fuzz_command(const uint8_t *body, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, body, n);
    psyne_zmtp_command cmd;
    const psyne_status s = psyne_zmtp_command_parse(copy, n, &cmd);
    wire_status(s, "psyne_zmtp_command_parse");
    if (s == PSYNE_OK) {
        must(cmd.kind <= PSYNE_ZMTP_CMD_INITIATE && cmd.name_offset == 1 && cmd.name_size >= 1 &&
                 cmd.data_offset == 1 + (uint64_t)cmd.name_size && cmd.data_offset + cmd.data_size == n,
             "command layout", s);
        touch(copy, n, cmd.name_offset, cmd.name_size);
        const uint8_t *data = copy + cmd.data_offset;
        const size_t dn = (size_t)cmd.data_size;
        switch (cmd.kind) {
        case PSYNE_ZMTP_CMD_READY:
        case PSYNE_ZMTP_CMD_INITIATE:
        case PSYNE_ZMTP_CMD_WELCOME: fuzz_metadata(data, dn); break;
        case PSYNE_ZMTP_CMD_HELLO: fuzz_plain_hello(data, dn); break;
        case PSYNE_ZMTP_CMD_PING: fuzz_ping(data, dn); break;
        default: touch(copy, n, cmd.data_offset, cmd.data_size); break;
        }
    }
    free(copy);
}

/* ---- frames -------------------------------------------------------------------- */

static void fuzz_stream(const uint8_t *p, size_t n, uint64_t max_frame_size, size_t capacity)
{
    /* Reference: one call with room for every frame (a frame takes 2 bytes at least). */
    const size_t all_cap = n / 2 + 1;
    psyne_zmtp_frame *all = malloc(all_cap * sizeof *all);
    size_t all_count = 0, all_consumed = 0;
    uint64_t all_pending = 0;
    const psyne_status all_s =
        psyne_zmtp_decode(p, n, max_frame_size, all, all_cap, &all_count, &all_consumed, &all_pending);
    wire_status(all_s, "psyne_zmtp_decode");

    /* As a socket reads: capacity frames per call, resuming where it stopped. */
    size_t pos = 0, seen = 0;
    psyne_status s = PSYNE_OK;
    uint64_t pending = 0;
    for (;;) {
        psyne_zmtp_frame frames[4];
        size_t count = 99, consumed = 99;
        s = psyne_zmtp_decode(p + pos, n - pos, max_frame_size, frames, capacity, &count, &consumed, &pending);
        wire_status(s, "psyne_zmtp_decode");
        must(count <= capacity && consumed <= n - pos, "decode reported more than it was given", s);
        size_t end = 0;
        for (size_t i = 0; i < count; i++) {
            const psyne_zmtp_frame *f = &frames[i];
            must((f->header_size == 2 || f->header_size == 9) && f->offset == end + f->header_size &&
                     (f->flags & PSYNE_ZMTP_FLAGS_RESERVED) == 0 && f->size <= max_frame_size &&
                     (f->header_size == 9) == ((f->flags & PSYNE_ZMTP_FLAG_LONG) != 0) &&
                     (f->flags & (PSYNE_ZMTP_FLAG_COMMAND | PSYNE_ZMTP_FLAG_MORE)) !=
                         (PSYNE_ZMTP_FLAG_COMMAND | PSYNE_ZMTP_FLAG_MORE),
                 "frame layout", s);
            touch(p + pos, n - pos, f->offset, f->size);
            end = (size_t)(f->offset + f->size);
            /* Same frame as the one-call decode saw, at the same place. */
            must(seen < all_count && all[seen].offset == pos + f->offset && all[seen].size == f->size &&
                     all[seen].flags == f->flags,
                 "small-capacity decode differs from one call", s);
            seen++;
            if (f->flags & PSYNE_ZMTP_FLAG_COMMAND) fuzz_command(p + pos + f->offset, (size_t)f->size);
        }
        must(end == consumed, "consumed is not the end of the last frame", s);
        /* Stopping short of capacity without an error means what follows is
         * incomplete; pending describes it exactly when its header is there. */
        const size_t rest = n - pos - consumed;
        const uint8_t *next = p + pos + consumed;
        if (s == PSYNE_OK && count < capacity && rest > 0) {
            const size_t header = next[0] & PSYNE_ZMTP_FLAG_LONG ? 9 : 2;
            if (rest < header) {
                must(pending == 0, "pending set for an incomplete header", s);
            } else {
                uint64_t want = next[1];
                if (header == 9) {
                    want = 0;
                    for (int i = 1; i < 9; i++) want = want << 8 | next[i];
                }
                must(want < (UINT64_C(1) << 63) && want <= max_frame_size && pending == header + want &&
                         pending > rest,
                     "pending does not describe the incomplete frame", s);
            }
        } else {
            must(pending == 0, "pending set without an incomplete frame", s);
        }
        pos += consumed;
        if (s != PSYNE_OK || count < capacity) break;
    }
    must(s == all_s && seen == all_count && pos == all_consumed && pending == all_pending,
         "small-capacity decode ends differently from one call", s);
    free(all);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    static int ready;
    if (!ready) {
        psyne_init();
        ready = 1;
    }
    if (size < 1) return 0;
    static const uint64_t limits[] = {UINT64_MAX, 0, 256, 65536};
    const uint8_t opt = bytes[0];
    const uint64_t max_frame_size = limits[opt & 3];
    const size_t capacity = 1 + (opt >> 2 & 3);
    const size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    if (n) memcpy(p, bytes + 1, n);

    fuzz_greeting(p, n);
    size_t skip = 0;
    if (opt & 16) skip = n < PSYNE_ZMTP_GREETING_SIZE ? n : PSYNE_ZMTP_GREETING_SIZE;
    uint8_t *stream = malloc(n - skip ? n - skip : 1);
    if (n - skip) memcpy(stream, p + skip, n - skip);
    fuzz_stream(stream, n - skip, max_frame_size, capacity);
    free(stream);

    /* The body parsers on raw bytes. */
    fuzz_command(p, n);
    fuzz_metadata(p, n);
    fuzz_plain_hello(p, n);
    fuzz_ping(p, n);
    free(p);
    return 0;
}
