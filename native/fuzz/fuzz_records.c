/* fuzz_records.c - libFuzzer target for what a channel reads from memory
 * another process (or a bug) may have written:
 *
 *   mode 0  tensor records: psyne_tensor_validate on raw bytes
 *   mode 1  tensor records: a valid header from psyne_tensor_header_init,
 *           then a few bytes overwritten (reaches the checks past the magic)
 *   mode 2  ipc segment files: raw bytes as /dev/shm/psyne-<uid>-<name>,
 *           opened with psyne_channel_open_ipc
 *   mode 3  ipc segment files: a valid static header with fuzzed fields and
 *           its checksum fixed up, fuzzed control block and ring data;
 *           opened and drained
 *   mode 4  a ring region: an inproc channel (heap memory, so ASan sees every
 *           byte past it) whose cursors and data are overwritten with fuzz
 *           bytes, then driven with reads, releases, reserves and commits
 *
 * Every call must return one of its documented statuses; reading a record
 * touches each of its bytes, so a record that reaches past the ring is an
 * ASan report. The first input byte picks the mode.
 *
 *   CC=clang cmake -S . -B build/fuzz -G Ninja -DPSYNE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
 *   ninja -C build/fuzz fuzz_records
 *   ./build/fuzz/native/fuzz/fuzz_records -max_len=12288 -len_control=0 -max_total_time=20 corpus/
 */
#include "psyne/psyne.h"
#include "ring/ring.h" /* the region layout, to write a hostile one */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t take8(input *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static uint64_t take64(input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)take8(in) << (8 * i);
    return v;
}

static void must(int ok, const char *what, psyne_status s)
{
    if (!ok) {
        fprintf(stderr, "fuzz_records: %s returned %s: %s\n", what, psyne_status_name(s), psyne_last_error());
        abort();
    }
}

static volatile uint64_t sink;

static void touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += b[i];
    sink += s;
}

/* ---- tensors ------------------------------------------------------------------ */

static void check_tensor(const uint8_t *bytes, size_t n)
{
    /* An exact-size heap copy: a read past the record is an ASan report. */
    uint8_t *copy = aligned_alloc(64, n ? (n + 63) / 64 * 64 : 64);
    if (n) memcpy(copy, bytes, n);
    const psyne_tensor_header *h = NULL;
    psyne_status s = psyne_tensor_validate(copy, n, &h);
    must(s == PSYNE_OK || s == PSYNE_E_FORMAT, "psyne_tensor_validate", s);
    if (s == PSYNE_OK) {
        /* What validate promises. */
        if (!h || h->data_offset % 64 || h->data_offset + h->data_bytes != n || h->rank > 8) abort();
        if (h->flags & PSYNE_TENSOR_CSR) {
            if (h->values_offset < h->data_offset || h->values_offset > n) abort();
        }
        touch(copy + h->data_offset, (size_t)h->data_bytes);
    } else if (h) {
        abort();
    }
    free(copy);
}

static void fuzz_tensor_built(input *in)
{
    psyne_tensor_header h;
    uint64_t shape[8];
    for (int i = 0; i < 8; i++) shape[i] = take8(in) % 9;
    const int dtype = take8(in) % 11;
    const int rank = take8(in) % 10;
    const int layout = take8(in) % 6;
    if (take8(in) & 1) {
        if (psyne_tensor_header_init_csr(&h, dtype, take8(in) & 1 ? PSYNE_DTYPE_I64 : PSYNE_DTYPE_I32, shape[0],
                                         shape[1], shape[2]) != PSYNE_OK)
            return;
    } else if (psyne_tensor_header_init(&h, dtype, (uint32_t)rank, shape, layout) != PSYNE_OK) {
        return;
    }
    uint64_t n = 0;
    psyne_tensor_record_bytes(&h, &n);
    if (n > 1 << 16) return;
    uint8_t *rec = calloc(1, (size_t)n + 64);
    memcpy(rec, &h, sizeof h);
    const int edits = take8(in) % 6;
    for (int i = 0; i < edits; i++) {
        const uint8_t at = take8(in);
        rec[at % 256] = take8(in);
    }
    size_t len = (size_t)n;
    const uint8_t delta = take8(in);
    if (delta & 0x80) len = delta & 0x40 ? len + (delta & 63) : (len > (delta & 63) ? len - (delta & 63) : 0);
    check_tensor(rec, len);
    free(rec);
}

/* ---- ipc segment files ------------------------------------------------------------ */

static char seg_name[64];
static char seg_path[256];

static void drain(psyne_channel *ch, input *in)
{
    psyne_record recs[8];
    for (int step = 0; step < 16; step++) {
        uint32_t n = 0;
        psyne_status s = psyne_channel_try_read_batch(ch, 1 + take8(in) % 8, recs, &n);
        must(s == PSYNE_OK || s == PSYNE_E_TIMEOUT || s == PSYNE_E_CLOSED || s == PSYNE_E_FORMAT,
             "psyne_channel_try_read_batch", s);
        if (s != PSYNE_OK) break;
        for (uint32_t i = 0; i < n; i++) touch(recs[i].data, recs[i].length);
        s = psyne_channel_release_batch(ch, recs, n);
        must(s == PSYNE_OK || s == PSYNE_E_FORMAT || s == PSYNE_E_INVALID_ARGUMENT, "psyne_channel_release_batch", s);
    }
}

static void fuzz_segment(const uint8_t *bytes, size_t n, input *in)
{
    /* An empty file reads as a segment still being created, which open waits
     * for (half a second): not worth the fuzzer's time. */
    if (n == 0) return;
    int fd = open(seg_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0) abort();
    if (write(fd, bytes, n) != (ssize_t)n) abort();
    close(fd);
    psyne_channel *ch = NULL;
    const int role = 1 + take8(in) % 3;
    psyne_status s = psyne_channel_open_ipc(seg_name, role, &ch);
    must(s == PSYNE_OK || s == PSYNE_E_FORMAT || s == PSYNE_E_FULL || s == PSYNE_E_NOT_FOUND, "psyne_channel_open_ipc",
         s);
    if (s == PSYNE_OK) {
        if (role & PSYNE_ROLE_CONSUMER) drain(ch, in);
        if (role & PSYNE_ROLE_PRODUCER) {
            psyne_reservation r;
            s = psyne_channel_try_reserve(ch, take8(in) * 16u, 0, &r);
            must(s == PSYNE_OK || s == PSYNE_E_FULL || s == PSYNE_E_CLOSED || s == PSYNE_E_FORMAT ||
                     s == PSYNE_E_INVALID_ARGUMENT,
                 "psyne_channel_try_reserve", s);
            if (s == PSYNE_OK) {
                memset(r.data, 0x5A, r.capacity);
                psyne_channel_commit(ch, &r, r.capacity, 1);
            }
        }
        psyne_channel_stats st;
        psyne_channel_stats_get(ch, &st);
        psyne_channel_close(ch);
    }
    unlink(seg_path);
}

/* A segment that passes the static checks unless the fuzzer breaks them on purpose. */
static void fuzz_segment_built(input *in)
{
    const uint64_t capacity = 4096u << (take8(in) % 3);
    const size_t size = PSYNE_SEGMENT_DATA_OFFSET + (size_t)capacity;
    uint8_t *file = calloc(1, size);
    ring_ctl *c = (ring_ctl *)(void *)file;
    ring_static *st = &c->st;
    st->magic = PSYNE_SEGMENT_MAGIC;
    st->layout_version = PSYNE_SEGMENT_LAYOUT_VERSION;
    st->static_bytes = RING_STATIC_BYTES;
    st->flags = SEG_FLAG_IPC;
    st->kind = take8(in) % 4;
    st->capacity = capacity;
    st->data_offset = PSYNE_SEGMENT_DATA_OFFSET;
    st->segment_bytes = size;
    st->full_policy = take8(in) % 3;
    st->wait_policy = PSYNE_WAIT_SPIN;
    st->max_attach = PSYNE_IPC_MAX_ATTACH;
    st->creator_pid = (int32_t)getpid();
    const int edits = take8(in) % 4;
    for (int i = 0; i < edits; i++) {
        const uint8_t at = take8(in) % RING_CRC_OFFSET;
        file[at] = take8(in);
    }
    const int fix_crc = take8(in) % 8 != 0;
    if (fix_crc) {
        uint32_t crc = 0;
        psyne_crc32c(0, st, RING_CRC_OFFSET, &crc);
        st->header_crc = crc;
    }
    atomic_store(&c->state, take8(in) % 8 ? SEG_STATE_READY : take8(in));
    /* Cursors near each other most of the time, anywhere sometimes. */
    const uint64_t base = take64(in);
    const int wild = take8(in) % 4 == 0;
    atomic_store(&c->tail, wild ? take64(in) : base + take8(in) * 8u);
    atomic_store(&c->head, wild ? take64(in) : base + take8(in) * 8u);
    atomic_store(&c->release_head, wild ? take64(in) : base);
    atomic_store(&c->gate, take8(in) % 8 ? 0 : take8(in));
    /* Some ring data (the rest stays zero), then a few slots. */
    size_t data = (size_t)take8(in) * 16u;
    if (data > in->n) data = in->n;
    memcpy(file + PSYNE_SEGMENT_DATA_OFFSET, in->p, data);
    in->p += data;
    in->n -= data;
    if (take8(in) % 4 == 0) {
        ring_attach_slot *sl = &c->slots[take8(in) % PSYNE_IPC_MAX_ATTACH];
        atomic_store(&sl->state, take8(in) % 4);
        atomic_store(&sl->role, take8(in) % 4);
        atomic_store(&sl->pid, take8(in) & 1 ? (int32_t)getpid() : (int32_t)take64(in));
        atomic_store(&c->attached, take8(in) % 3);
    }
    fuzz_segment(file, size - (take8(in) % 16 == 0 ? take8(in) : 0), in);
    free(file);
}

/* ---- a ring region in the heap ------------------------------------------------------ */

static void fuzz_ring(input *in)
{
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.kind = take8(in) % 4;
    o.capacity = 4096;
    o.wait_policy = PSYNE_WAIT_SPIN;
    o.full_policy = take8(in) % 3;
    psyne_channel *ch = NULL;
    must(psyne_channel_create_inproc(&o, &ch) == PSYNE_OK, "psyne_channel_create_inproc", PSYNE_OK);
    /* A fresh ring's first empty record sits at index 0: that finds the region. */
    psyne_reservation r;
    must(psyne_channel_try_reserve(ch, 0, 0, &r) == PSYNE_OK, "first reserve", PSYNE_OK);
    uint8_t *data = (uint8_t *)r.data - PSYNE_RECORD_HEADER_BYTES;
    ring_ctl *c = (ring_ctl *)(void *)(data - PSYNE_SEGMENT_DATA_OFFSET);
    psyne_channel_abort(ch, &r);
    const uint64_t base = take64(in);
    const int wild = take8(in) % 4 == 0;
    const uint64_t aligned = base & ~(uint64_t)7;
    atomic_store(&c->tail, wild ? take64(in) : aligned + take8(in) * 8u);
    atomic_store(&c->head, wild ? take64(in) : aligned + take8(in) * 8u);
    atomic_store(&c->release_head, wild ? take64(in) : aligned);
    size_t n = (size_t)take8(in) * 16u;
    if (n > in->n) n = in->n;
    memset(data, 0, 4096);
    memcpy(data, in->p, n);
    in->p += n;
    in->n -= n;

    psyne_record held[64];
    int held_n = 0;
    for (int step = 0; step < 48 && in->n; step++) {
        const uint8_t op = take8(in);
        psyne_status s;
        switch (op % 5) {
        case 0: {
            uint32_t got = 0;
            const uint32_t room = (uint32_t)(64 - held_n);
            if (!room) break;
            s = psyne_channel_try_read_batch(ch, 1 + op / 5 % (room < 8 ? room : 8), &held[held_n], &got);
            must(s == PSYNE_OK || s == PSYNE_E_TIMEOUT || s == PSYNE_E_FORMAT || s == PSYNE_E_CLOSED,
                 "psyne_channel_try_read_batch", s);
            for (uint32_t i = 0; i < got; i++) touch(held[held_n + i].data, held[held_n + i].length);
            held_n += (int)got;
            break;
        }
        case 1:
            if (held_n) {
                const int k = take8(in) % held_n;
                s = psyne_channel_release(ch, &held[k]);
                must(s == PSYNE_OK || s == PSYNE_E_FORMAT || s == PSYNE_E_INVALID_ARGUMENT, "psyne_channel_release", s);
                if (!(take8(in) & 1)) held[k] = held[--held_n]; /* else keep it: released twice next time */
            }
            break;
        case 2: {
            const uint32_t size = (uint32_t)take8(in) * 17u;
            const uint32_t align = 1u << (take8(in) % 11);
            s = psyne_channel_try_reserve(ch, size, align, &r);
            must(s == PSYNE_OK || s == PSYNE_E_FULL || s == PSYNE_E_FORMAT || s == PSYNE_E_CLOSED ||
                     s == PSYNE_E_INVALID_ARGUMENT,
                 "psyne_channel_try_reserve", s);
            if (s == PSYNE_OK) {
                memset(r.data, 0xA5, r.capacity);
                if (take8(in) % 4) s = psyne_channel_commit(ch, &r, r.capacity - take8(in) % (r.capacity + 1), take8(in));
                else s = psyne_channel_abort(ch, &r);
                must(s == PSYNE_OK || s == PSYNE_E_INVALID_ARGUMENT, "psyne_channel_commit", s);
            }
            break;
        }
        case 3:
            s = psyne_channel_release_batch(ch, held, (uint32_t)held_n);
            must(s == PSYNE_OK || s == PSYNE_E_FORMAT || s == PSYNE_E_INVALID_ARGUMENT, "psyne_channel_release_batch", s);
            held_n = 0;
            break;
        default: {
            /* A few more bytes of the region change under us. */
            const uint16_t at = (uint16_t)(take8(in) | take8(in) << 8) % 4096;
            data[at & ~7u] = take8(in);
            break;
        }
        }
    }
    psyne_channel_stats st;
    psyne_channel_stats_get(ch, &st);
    psyne_channel_close(ch);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    static int ready, only = -1;
    if (!ready) {
        /* PSYNE_FUZZ_MODE=n fuzzes one mode only. */
        const char *m = getenv("PSYNE_FUZZ_MODE");
        if (m) only = atoi(m);
        psyne_init();
        snprintf(seg_name, sizeof seg_name, "fuzz-%d", (int)getpid());
        psyne_ipc_segment_path(seg_name, seg_path, sizeof seg_path);
        ready = 1;
    }
    if (size < 1) return 0;
    input in = {bytes + 1, size - 1};
    switch (only >= 0 ? only : bytes[0] % 5) {
    case 0: check_tensor(in.p, in.n); break;
    case 1: fuzz_tensor_built(&in); break;
    case 2: fuzz_segment(in.p, in.n, &(input){in.p, in.n < 8 ? in.n : 8}); break;
    case 3: fuzz_segment_built(&in); break;
    default: fuzz_ring(&in); break;
    }
    return 0;
}
