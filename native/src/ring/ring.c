/*
 * ring.c - reserve / commit / read / release over the ring layout (ring.h).
 *
 * Who writes what:
 *   tail          producers (SP: a plain store by its only writer; MP: CAS)
 *   head          consumers (SC: a plain store; MC: CAS)
 *   release_head  consumers (SC: a plain store; MC: CAS to set bit 0, which
 *                 makes one thread at a time the one that moves it over
 *                 released records, then a store that clears the bit)
 *   record header producers publish it (store-release); consumers turn it
 *                 into a RELEASED marker, and (MP) back to 0
 * Nothing here blocks. Every length, span and cursor read from the region
 * is checked (bounds, multiple of 8, at most a lap apart) before use, so a
 * corrupt or hostile region can make a call fail with PSYNE_E_FORMAT but
 * never makes it touch memory outside the ring, nor loop without bound.
 *
 * Multi-consumer claims read a header at the head they loaded and then CAS
 * the head. When that head is stale the slot may be changing under the read
 * (a producer filling it a lap later); the value is discarded because the
 * CAS fails, as a seqlock reader discards a torn read. ThreadSanitizer
 * reports these reads (in read_mc and advance_mc); they are expected.
 */
#include "ring/ring.h"

#include "ipc/wait.h"

#include <string.h>
#include <time.h>

#define RLX memory_order_relaxed
#define ACQ memory_order_acquire
#define REL memory_order_release
#define ACQREL memory_order_acq_rel
#define SEQ memory_order_seq_cst

static inline _Atomic uint64_t *hdr_at(const psyne__ring *r, uint64_t index)
{
    return (_Atomic uint64_t *)(void *)(r->data + index);
}

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* ---- format and validation --------------------------------------------- */

uint32_t psyne__ring_static_crc(const ring_static *st)
{
    uint32_t crc = 0;
    psyne_crc32c(0, st, RING_CRC_OFFSET, &crc);
    return crc;
}

void psyne__ring_format(void *region, const psyne_channel_options *o, uint32_t flags, int32_t creator_pid,
                        uint64_t creator_start)
{
    ring_ctl *c = region;
    memset(c, 0, PSYNE_SEGMENT_DATA_OFFSET);
    ring_static *st = &c->st;
    st->magic = PSYNE_SEGMENT_MAGIC;
    st->layout_version = PSYNE_SEGMENT_LAYOUT_VERSION;
    st->static_bytes = RING_STATIC_BYTES;
    st->flags = flags;
    st->kind = (uint32_t)o->kind;
    st->capacity = o->capacity;
    st->data_offset = PSYNE_SEGMENT_DATA_OFFSET;
    st->segment_bytes = PSYNE_SEGMENT_DATA_OFFSET + o->capacity;
    st->full_policy = (uint32_t)o->full_policy;
    st->wait_policy = (uint32_t)o->wait_policy;
    st->spin_count = o->spin_count;
    st->yield_count = o->yield_count;
    st->creator_pid = creator_pid;
    st->max_attach = PSYNE_IPC_MAX_ATTACH;
    st->creator_start = creator_start;
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    st->created_unix_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    st->header_crc = psyne__ring_static_crc(st);
}

static int is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

psyne_status psyne__ring_static_validate(const void *bytes, uint64_t file_bytes, const char *label)
{
    if (file_bytes < RING_STATIC_BYTES)
        return psyne__fail(PSYNE_E_FORMAT,
                           "segment '%s' is %llu bytes, too short for a psyne segment header (%d bytes): it is not a "
                           "psyne segment, or its creator died while creating it; remove it with psyne_ipc_unlink",
                           label, (unsigned long long)file_bytes, (int)RING_STATIC_BYTES);
    ring_static st;
    memcpy(&st, bytes, sizeof st);
    if (st.magic != PSYNE_SEGMENT_MAGIC)
        return psyne__fail(PSYNE_E_FORMAT,
                           "segment '%s' starts with 0x%08x, not the psyne segment magic 0x%08x ('PSYC'): it is not a "
                           "psyne segment; remove it with psyne_ipc_unlink or use another name",
                           label, (unsigned)st.magic, (unsigned)PSYNE_SEGMENT_MAGIC);
    if (st.layout_version != PSYNE_SEGMENT_LAYOUT_VERSION)
        return psyne__fail(PSYNE_E_FORMAT,
                           "segment '%s' has layout version %u, this library reads version %d: upgrade the writer or "
                           "the reader so both use one libpsyne version",
                           label, (unsigned)st.layout_version, (int)PSYNE_SEGMENT_LAYOUT_VERSION);
    if (st.static_bytes != RING_STATIC_BYTES)
        return psyne__fail(PSYNE_E_FORMAT, "segment '%s' declares a %u-byte header, expected %d: the segment is corrupt",
                           label, (unsigned)st.static_bytes, (int)RING_STATIC_BYTES);
    const uint32_t crc = psyne__ring_static_crc(&st);
    if (crc != st.header_crc)
        return psyne__fail(PSYNE_E_FORMAT,
                           "segment '%s' header checksum is 0x%08x, computed 0x%08x: the segment is corrupt; remove it "
                           "with psyne_ipc_unlink and create it again",
                           label, (unsigned)st.header_crc, (unsigned)crc);
    if (!is_pow2(st.capacity) || st.capacity < PSYNE_CHANNEL_MIN_CAPACITY || st.capacity > PSYNE_CHANNEL_MAX_CAPACITY)
        return psyne__fail(PSYNE_E_FORMAT, "segment '%s' has capacity %llu, not a power of two in [%d, %d]", label,
                           (unsigned long long)st.capacity, (int)PSYNE_CHANNEL_MIN_CAPACITY,
                           (int)PSYNE_CHANNEL_MAX_CAPACITY);
    if (st.data_offset != PSYNE_SEGMENT_DATA_OFFSET || st.segment_bytes != st.data_offset + st.capacity)
        return psyne__fail(PSYNE_E_FORMAT,
                           "segment '%s' has data offset %llu and size %llu, expected %d and %llu: the segment is corrupt",
                           label, (unsigned long long)st.data_offset, (unsigned long long)st.segment_bytes,
                           (int)PSYNE_SEGMENT_DATA_OFFSET,
                           (unsigned long long)(PSYNE_SEGMENT_DATA_OFFSET + st.capacity));
    if (file_bytes < st.segment_bytes)
        return psyne__fail(PSYNE_E_FORMAT,
                           "segment '%s' is %llu bytes but its header says %llu: the file was truncated", label,
                           (unsigned long long)file_bytes, (unsigned long long)st.segment_bytes);
    if (st.kind > PSYNE_CHANNEL_MPMC || st.full_policy > PSYNE_FULL_FAIL || st.wait_policy > PSYNE_WAIT_FUTEX)
        return psyne__fail(PSYNE_E_FORMAT, "segment '%s' has kind %u, full policy %u, wait policy %u: unknown values",
                           label, (unsigned)st.kind, (unsigned)st.full_policy, (unsigned)st.wait_policy);
    if (st.max_attach != PSYNE_IPC_MAX_ATTACH || (st.flags & ~(uint32_t)(SEG_FLAG_IPC | SEG_FLAG_HUGE_PAGES)))
        return psyne__fail(PSYNE_E_FORMAT, "segment '%s' has %u attach slots and flags 0x%x, expected %d and known flags",
                           label, (unsigned)st.max_attach, (unsigned)st.flags, (int)PSYNE_IPC_MAX_ATTACH);
    return PSYNE_OK;
}

void psyne__ring_view(psyne__ring *r, void *region, const char *label)
{
    ring_ctl *c = region;
    memset(r, 0, sizeof *r);
    r->ctl = c;
    r->data = (uint8_t *)region + PSYNE_SEGMENT_DATA_OFFSET;
    r->capacity = c->st.capacity;
    r->mask = c->st.capacity - 1;
    r->kind = c->st.kind;
    r->mp = c->st.kind == PSYNE_CHANNEL_MPSC || c->st.kind == PSYNE_CHANNEL_MPMC;
    r->mc = c->st.kind == PSYNE_CHANNEL_SPMC || c->st.kind == PSYNE_CHANNEL_MPMC;
    r->wake = c->st.wait_policy == PSYNE_WAIT_FUTEX;
    r->fence = r->wake && !psyne__asym_fence_ready();
    r->label = label;
}

uint64_t psyne__ring_max_payload(uint64_t capacity, uint32_t alignment)
{
    /* At index 0: header, alignment padding, payload, and the next header's slot. */
    return capacity - RING_SLACK - align_up(PSYNE_RECORD_HEADER_BYTES, alignment);
}

uint64_t psyne__ring_used(const psyne__ring *r)
{
    const uint64_t rel = atomic_load_explicit(&r->ctl->release_head, ACQ) & ~(uint64_t)1;
    const uint64_t tail = atomic_load_explicit(&r->ctl->tail, ACQ);
    return tail >= rel ? tail - rel : 0;
}

/* ---- wake-ups ------------------------------------------------------------ */

static void wake_word(_Atomic uint32_t *word)
{
    atomic_fetch_add_explicit(word, 1, SEQ);
    psyne__futex_wake(word);
}

/* Orders the stores that published records (or freed space) before the
 * load of the sleeper count; a sleeper increments the count (seq_cst) before
 * re-checking the ring, so either it sees our record or we see it. Where
 * this process is registered for membarrier the sleeper's barrier covers us
 * and a compiler barrier is all we pay (the asymmetric handshake, ipc/wait.h);
 * otherwise a full fence, which waits for the header's cache line. */
static inline void publish_barrier(const psyne__ring *r)
{
    if (r->fence) psyne__full_fence();
    else atomic_signal_fence(memory_order_seq_cst);
}

/* After publishing records: wake readers that announced they sleep. */
static inline void wake_readers(const psyne__ring *r)
{
    if (!r->wake) return;
    publish_barrier(r);
    if (PSYNE_UNLIKELY(atomic_load_explicit(&r->ctl->readers_waiting, RLX) != 0)) wake_word(&r->ctl->data_futex);
}

static inline void wake_writers(const psyne__ring *r)
{
    if (!r->wake) return;
    publish_barrier(r);
    if (PSYNE_UNLIKELY(atomic_load_explicit(&r->ctl->writers_waiting, RLX) != 0)) wake_word(&r->ctl->space_futex);
}

void psyne__ring_wake_side(psyne__ring *r, bool consumers)
{
    wake_word(consumers ? &r->ctl->data_futex : &r->ctl->space_futex);
}

void psyne__ring_wake_all(psyne__ring *r)
{
    wake_word(&r->ctl->data_futex);
    wake_word(&r->ctl->space_futex);
}

void psyne__ring_fault(ring_ctl *c, uint32_t reason, int32_t pid)
{
    uint32_t none = FAULT_NONE;
    if (atomic_compare_exchange_strong_explicit(&c->fault, &none, reason, SEQ, SEQ))
        atomic_store_explicit(&c->fault_pid, pid, SEQ);
    atomic_fetch_or_explicit(&c->gate, GATE_FAULTED, SEQ);
    wake_word(&c->data_futex);
    wake_word(&c->space_futex);
}

/* ---- corruption ------------------------------------------------------------ */

static psyne_status corrupt(const psyne__ring *r, uint64_t pos, uint64_t value, const char *what)
{
    return psyne__fail(PSYNE_E_FORMAT,
                       "channel '%s' is corrupt at position %llu (index %llu of %llu, value 0x%016llx): %s; the "
                       "channel is faulted",
                       r->label, (unsigned long long)pos, (unsigned long long)(pos & r->mask),
                       (unsigned long long)r->capacity, (unsigned long long)value, what);
}

/* Span of a published header at index idx, or 0 when it is malformed. */
static inline uint64_t record_span(const psyne__ring *r, uint64_t idx, uint64_t h)
{
    const uint32_t flags = ring_h_flags(h);
    if ((flags & ~(uint32_t)(RING_FLAG_COMMITTED | RING_FLAG_PADDING)) || ring_h_skip(h) > RING_MAX_SKIP) return 0;
    if ((flags & RING_FLAG_PADDING) && (ring_h_skip(h) || ring_h_type(h))) return 0;
    const uint64_t span = ring_align8((uint64_t)PSYNE_RECORD_HEADER_BYTES + 8u * ring_h_skip(h) + ring_h_length(h));
    return span <= r->capacity - idx ? span : 0;
}

/* Span of a RELEASED marker at index idx, or 0 when it is malformed. */
static inline uint64_t marker_span(const psyne__ring *r, uint64_t idx, uint64_t h)
{
    const uint64_t span = (uint32_t)h;
    if (span < PSYNE_RECORD_HEADER_BYTES || (span & 7) || span > r->capacity - idx) return 0;
    return span;
}

/* ---- reserve -------------------------------------------------------------- */

static inline void fill_reservation(const psyne__ring *r, psyne_reservation *out, uint64_t pos, uint64_t payload_index,
                                    uint32_t size)
{
    out->data = r->data + payload_index;
    out->capacity = size;
    out->length = size;
    out->type = 0;
    out->reserved0 = 0;
    out->reserved1 = 0;
    out->token = pos;
}

/* Re-reads release_head; its distance to pos (where this call has reserved
 * up to, padding published included, which consumers may already have
 * released) is checked, as a corrupt region could put it anywhere. Returns
 * the new limit, or 0 when corrupt. */
static inline uint64_t refresh_limit(psyne__ring *r, psyne__ring_producer *prod, uint64_t pos)
{
    const uint64_t rel = atomic_load_explicit(&r->ctl->release_head, ACQ) & ~(uint64_t)1;
    if (PSYNE_UNLIKELY((rel & 7) || rel > pos || pos - rel > r->capacity)) return 0;
    prod->cached_release = rel;
    return rel + r->capacity;
}

static int reserve_sp(psyne__ring *r, psyne__ring_producer *prod, const uint32_t *sizes, uint32_t count, uint32_t a,
                      psyne_reservation *out, uint32_t *reserved)
{
    ring_ctl *c = r->ctl;
    const uint64_t cap = r->capacity, mask = r->mask;
    const uint64_t start = atomic_load_explicit(&c->tail, RLX);
    uint64_t pos = start;
    uint64_t limit = prod->cached_release + cap;
    uint32_t n = 0;
    if (PSYNE_UNLIKELY(start & 7)) {
        *reserved = 0;
        return corrupt(r, start, 0, "the tail is not a multiple of 8");
    }
    while (n < count) {
        uint64_t idx = pos & mask;
        uint64_t payload = align_up(idx + PSYNE_RECORD_HEADER_BYTES, a);
        uint64_t span = ring_align8(payload - idx + sizes[n]);
        if (idx + span > cap) {
            /* Does not fit before the end: pad to the end and start the next lap. */
            const uint64_t pad = cap - idx;
            if (pos + pad + RING_SLACK > limit) {
                if (!(limit = refresh_limit(r, prod, pos))) goto corrupt_cursors;
                if (pos + pad + RING_SLACK > limit) break;
            }
            atomic_store_explicit(hdr_at(r, 0), 0, RLX);
            atomic_store_explicit(hdr_at(r, idx),
                                  ring_header((uint32_t)(pad - PSYNE_RECORD_HEADER_BYTES), 0,
                                              RING_FLAG_COMMITTED | RING_FLAG_PADDING, 0),
                                  REL);
            pos += pad;
            /* A sleeping consumer must wake to skip it, or we could wait for each other. */
            wake_readers(r);
            continue;
        }
        if (pos + span + RING_SLACK > limit) {
            if (!(limit = refresh_limit(r, prod, pos))) goto corrupt_cursors;
            if (pos + span + RING_SLACK > limit) break;
        }
        /* Zero ahead: the slot after this record reads 0 until it is published. */
        atomic_store_explicit(hdr_at(r, (pos + span) & mask), 0, RLX);
        fill_reservation(r, &out[n], pos, payload, sizes[n]);
        pos += span;
        n++;
    }
    if (pos != start) atomic_store_explicit(&c->tail, pos, REL);
    *reserved = n;
    return n ? PSYNE_OK : PSYNE_E_FULL;
corrupt_cursors:
    if (pos != start) atomic_store_explicit(&c->tail, pos, REL);
    *reserved = n;
    if (n) return PSYNE_OK;
    return corrupt(r, start, 0, "the producer's cursors are more than a lap apart");
}

static int reserve_mp(psyne__ring *r, const uint32_t *sizes, uint32_t count, uint32_t a, psyne_reservation *out,
                      uint32_t *reserved)
{
    ring_ctl *c = r->ctl;
    const uint64_t cap = r->capacity, mask = r->mask;
    uint64_t t = atomic_load_explicit(&c->tail, ACQ);
    for (;;) {
        const uint64_t rel = atomic_load_explicit(&c->release_head, ACQ) & ~(uint64_t)1;
        if (PSYNE_UNLIKELY((t | rel) & 7)) {
            *reserved = 0;
            return corrupt(r, t, rel, "the tail or release head is not a multiple of 8");
        }
        const uint64_t limit = rel + cap;
        uint64_t pos = t;
        uint32_t n = 0;
        while (n < count) {
            const uint64_t idx = pos & mask;
            const uint64_t payload = align_up(idx + PSYNE_RECORD_HEADER_BYTES, a);
            const uint64_t span = ring_align8(payload - idx + sizes[n]);
            if (idx + span > cap) {
                if (n > 0) break; /* a batch stops at the end of the lap */
                const uint64_t pad = cap - idx;
                if (pos + pad + RING_SLACK > limit) break;
                /* Claim the rest of the lap as padding on its own, then start over at index 0. */
                if (atomic_compare_exchange_weak_explicit(&c->tail, &t, t + pad, ACQREL, ACQ)) {
                    atomic_store_explicit(hdr_at(r, idx),
                                          ring_header((uint32_t)(pad - PSYNE_RECORD_HEADER_BYTES), 0,
                                                      RING_FLAG_COMMITTED | RING_FLAG_PADDING, 0),
                                          REL);
                    t += pad;
                    wake_readers(r);
                }
                goto retry;
            }
            if (pos + span + RING_SLACK > limit) break;
            fill_reservation(r, &out[n], pos, payload, sizes[n]);
            pos += span;
            n++;
        }
        if (n == 0) {
            *reserved = 0;
            return PSYNE_E_FULL;
        }
        if (atomic_compare_exchange_weak_explicit(&c->tail, &t, pos, ACQREL, ACQ)) {
            *reserved = n;
            return PSYNE_OK;
        }
    retry:;
    }
}

int psyne__ring_reserve(psyne__ring *r, psyne__ring_producer *prod, const uint32_t *sizes, uint32_t count,
                        uint32_t alignment, psyne_reservation *out, uint32_t *reserved)
{
    return r->mp ? reserve_mp(r, sizes, count, alignment, out, reserved)
                 : reserve_sp(r, prod, sizes, count, alignment, out, reserved);
}

int psyne__ring_reserve_one(psyne__ring *r, psyne__ring_producer *prod, uint32_t size, uint32_t a,
                            psyne_reservation *out)
{
    if (PSYNE_LIKELY(!r->mp)) {
        ring_ctl *c = r->ctl;
        const uint64_t pos = atomic_load_explicit(&c->tail, RLX);
        const uint64_t idx = pos & r->mask;
        const uint64_t payload = align_up(idx + PSYNE_RECORD_HEADER_BYTES, a);
        const uint64_t span = ring_align8(payload - idx + size);
        /* The common case: aligned cursor, no wrap, room within the cached limit. */
        if (PSYNE_LIKELY(!(pos & 7) && idx + span <= r->capacity &&
                         pos + span + RING_SLACK <= prod->cached_release + r->capacity)) {
            atomic_store_explicit(hdr_at(r, (pos + span) & r->mask), 0, RLX);
            fill_reservation(r, out, pos, payload, size);
            atomic_store_explicit(&c->tail, pos + span, REL);
            return PSYNE_OK;
        }
    }
    uint32_t n = 0;
    return psyne__ring_reserve(r, prod, &size, 1, a, out, &n);
}

/* ---- commit ---------------------------------------------------------------- */

psyne_status psyne__ring_commit(psyne__ring *r, const psyne_reservation *res, uint32_t count, int use_fields,
                                uint32_t length, uint16_t type, int abort)
{
    ring_ctl *c = r->ctl;
    uint64_t messages = 0, bytes = 0;
    psyne_status status = PSYNE_OK;
    for (uint32_t i = 0; i < count; i++) {
        const psyne_reservation *v = &res[i];
        const uint64_t idx = v->token & r->mask;
        const uint64_t payload = (uint64_t)((uintptr_t)v->data - (uintptr_t)r->data);
        /* The reservation must describe a record this ring could have handed out. */
        if (PSYNE_UNLIKELY((v->token & 7) || !v->data || (uintptr_t)v->data < (uintptr_t)r->data || payload > r->capacity ||
                           payload < idx + PSYNE_RECORD_HEADER_BYTES || ((payload - idx) & 7) ||
                           (payload - idx - PSYNE_RECORD_HEADER_BYTES) / 8 > RING_MAX_SKIP ||
                           v->capacity > r->capacity - payload)) {
            status = psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                                 "channel '%s': reservation %u (token %llu) does not belong to this channel or was "
                                 "changed; pass back what reserve returned",
                                 r->label, (unsigned)i, (unsigned long long)v->token);
            break;
        }
        const uint32_t skip = (uint32_t)((payload - idx - PSYNE_RECORD_HEADER_BYTES) / 8);
        const uint32_t len = use_fields ? v->length : length;
        const uint16_t typ = use_fields ? v->type : type;
        if (PSYNE_UNLIKELY(len > v->capacity)) {
            status = psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                                 "channel '%s': commit of %u bytes into a reservation of %u bytes", r->label,
                                 (unsigned)len, (unsigned)v->capacity);
            break;
        }
        _Atomic uint64_t *h = hdr_at(r, idx);
        if (PSYNE_UNLIKELY(atomic_load_explicit(h, RLX) != 0)) {
            status = psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                                 "channel '%s': reservation with token %llu was already committed or aborted",
                                 r->label, (unsigned long long)v->token);
            break;
        }
        const uint64_t reserved_span = ring_align8(payload - idx + v->capacity);
        if (abort) {
            atomic_store_explicit(h,
                                  ring_header((uint32_t)(reserved_span - PSYNE_RECORD_HEADER_BYTES), 0,
                                              RING_FLAG_COMMITTED | RING_FLAG_PADDING, 0),
                                  REL);
            continue;
        }
        const uint64_t span = ring_align8(payload - idx + len);
        if (span < reserved_span) /* give the rest back as padding, published by the store below */
            atomic_store_explicit(hdr_at(r, idx + span),
                                  ring_header((uint32_t)(reserved_span - span - PSYNE_RECORD_HEADER_BYTES), 0,
                                              RING_FLAG_COMMITTED | RING_FLAG_PADDING, 0),
                                  RLX);
        atomic_store_explicit(h, ring_header(len, typ, RING_FLAG_COMMITTED, skip), REL);
        messages++;
        bytes += len;
    }
    if (messages) {
        if (r->mp) {
            atomic_fetch_add_explicit(&c->messages_written, messages, RLX);
            atomic_fetch_add_explicit(&c->bytes_written, bytes, RLX);
        } else {
            atomic_store_explicit(&c->messages_written, atomic_load_explicit(&c->messages_written, RLX) + messages, RLX);
            atomic_store_explicit(&c->bytes_written, atomic_load_explicit(&c->bytes_written, RLX) + bytes, RLX);
        }
    }
    wake_readers(r);
    return status;
}

psyne_status psyne__ring_commit_one(psyne__ring *r, const psyne_reservation *v, uint32_t len, uint16_t type)
{
    const uint64_t idx = v->token & r->mask;
    const uint64_t payload = (uint64_t)((uintptr_t)v->data - (uintptr_t)r->data);
    const uint64_t off = payload - idx - PSYNE_RECORD_HEADER_BYTES; /* wraps (fails) when payload is before it */
    /* Anything unusual (a bad reservation, a short commit) takes the general path and its messages. */
    if (PSYNE_UNLIKELY(((v->token | off) & 7) || off > 8u * RING_MAX_SKIP || payload > r->capacity ||
                       v->capacity > r->capacity - payload || len != v->capacity ||
                       atomic_load_explicit(hdr_at(r, idx), RLX) != 0))
        return psyne__ring_commit(r, v, 1, 0, len, type, 0);
    _Atomic uint64_t *h = hdr_at(r, idx);
    atomic_store_explicit(h, ring_header(len, type, RING_FLAG_COMMITTED, (uint32_t)(off / 8)), REL);
    ring_ctl *c = r->ctl;
    if (r->mp) {
        atomic_fetch_add_explicit(&c->messages_written, 1, RLX);
        atomic_fetch_add_explicit(&c->bytes_written, len, RLX);
    } else {
        atomic_store_explicit(&c->messages_written, atomic_load_explicit(&c->messages_written, RLX) + 1, RLX);
        atomic_store_explicit(&c->bytes_written, atomic_load_explicit(&c->bytes_written, RLX) + len, RLX);
    }
    wake_readers(r);
    return PSYNE_OK;
}

/* ---- release ----------------------------------------------------------------- */

/* SC: only the single consumer writes release_head. A record released at
 * the front (the usual case) moves release_head at once, with no store into
 * the ring; one released out of order becomes a marker that a later sweep
 * moves over. *rh is the consumer's running copy of release_head. */
static inline void release_sc_one(psyne__ring *r, uint64_t pos, uint64_t idx, uint64_t span, uint64_t *rh)
{
    if (r->mp) memset(r->data + idx + PSYNE_RECORD_HEADER_BYTES, 0, span - PSYNE_RECORD_HEADER_BYTES);
    if (pos == *rh) {
        if (r->mp) atomic_store_explicit(hdr_at(r, idx), 0, RLX);
        *rh += span;
    } else {
        atomic_store_explicit(hdr_at(r, idx), ring_marker(span), RLX);
    }
}

/* Moves *rh over released markers up to head, then publishes it if it moved from start. */
static psyne_status advance_sc(psyne__ring *r, uint64_t start, uint64_t rh)
{
    ring_ctl *c = r->ctl;
    const uint64_t head = atomic_load_explicit(&c->head, RLX);
    psyne_status status = PSYNE_OK;
    if (PSYNE_UNLIKELY(head - start > r->capacity))
        return corrupt(r, start, 0, "the consumer's cursors are more than a lap apart");
    while (rh < head) {
        const uint64_t idx = rh & r->mask;
        const uint64_t h = atomic_load_explicit(hdr_at(r, idx), RLX);
        if (!ring_is_marker(h)) break;
        const uint64_t span = marker_span(r, idx, h);
        if (!span) {
            status = corrupt(r, rh, h, "a released record's marker has an impossible span");
            break;
        }
        if (r->mp) atomic_store_explicit(hdr_at(r, idx), 0, RLX);
        rh += span;
    }
    if (rh != start) {
        atomic_store_explicit(&c->release_head, rh, REL);
        wake_writers(r);
    }
    return status;
}

/* MC: whoever sets bit 0 of release_head moves it; the others leave. After
 * clearing the bit the mover looks again, and a releaser that found the bit
 * set had stored its marker (seq_cst) before looking, so no marker is left
 * behind at the front with nobody to move over it. */
static psyne_status advance_mc(psyne__ring *r)
{
    ring_ctl *c = r->ctl;
    psyne_status status = PSYNE_OK;
    for (;;) {
        uint64_t rh = atomic_load_explicit(&c->release_head, SEQ);
        if (rh & 1) return status;
        if (PSYNE_UNLIKELY(rh & 7)) return corrupt(r, rh, 0, "the release head is not a multiple of 8");
        const uint64_t front = atomic_load_explicit(hdr_at(r, rh & r->mask), SEQ);
        if (!ring_is_marker(front)) return status;
        if (!atomic_compare_exchange_strong_explicit(&c->release_head, &rh, rh | 1, SEQ, SEQ)) continue;
        const uint64_t head = atomic_load_explicit(&c->head, ACQ);
        uint64_t p = rh;
        /* While we hold the bit, head <= tail <= rh + capacity - 8. */
        if (PSYNE_UNLIKELY(head - rh > r->capacity)) {
            atomic_store_explicit(&c->release_head, rh, SEQ);
            return corrupt(r, rh, 0, "the consumers' cursors are more than a lap apart");
        }
        while (p < head) {
            const uint64_t idx = p & r->mask;
            const uint64_t h = atomic_load_explicit(hdr_at(r, idx), ACQ);
            if (!ring_is_marker(h)) break;
            const uint64_t span = marker_span(r, idx, h);
            if (!span) {
                status = corrupt(r, p, h, "a released record's marker has an impossible span");
                break;
            }
            if (r->mp) atomic_store_explicit(hdr_at(r, idx), 0, RLX);
            p += span;
        }
        atomic_store_explicit(&c->release_head, p, SEQ);
        if (status != PSYNE_OK) return status;
        /* A marker at the front that is not below head cannot be. */
        if (PSYNE_UNLIKELY(p == rh)) return corrupt(r, rh, front, "a released record's marker lies beyond the head");
        wake_writers(r);
    }
}

/* Turns the record at pos (header h, span) into a RELEASED marker. MP rings
 * zero the payload first: free space must read as zeros there. */
static inline void mark_released(psyne__ring *r, uint64_t idx, uint64_t span)
{
    if (r->mp) memset(r->data + idx + PSYNE_RECORD_HEADER_BYTES, 0, span - PSYNE_RECORD_HEADER_BYTES);
    atomic_store_explicit(hdr_at(r, idx), ring_marker(span), r->mc ? SEQ : RLX);
}

psyne_status psyne__ring_release(psyne__ring *r, const psyne_record *records, uint32_t count)
{
    ring_ctl *c = r->ctl;
    psyne_status status = PSYNE_OK;
    const uint64_t start = atomic_load_explicit(&c->release_head, ACQ) & ~(uint64_t)1;
    uint64_t rh = start; /* SC: our running release_head */
    if (PSYNE_UNLIKELY(start & 7)) return corrupt(r, start, 0, "the release head is not a multiple of 8");
    uint32_t done = 0;
    for (; done < count; done++) {
        const psyne_record *rec = &records[done];
        const uint64_t pos = rec->token, idx = pos & r->mask;
        const uint64_t rel = r->mc ? atomic_load_explicit(&c->release_head, ACQ) & ~(uint64_t)1 : rh;
        const uint64_t head = atomic_load_explicit(&c->head, ACQ);
        const uint64_t h = (!(pos & 7) && pos - rel < head - rel) ? atomic_load_explicit(hdr_at(r, idx), ACQ) : 0;
        const uint64_t span = (ring_h_flags(h) == RING_FLAG_COMMITTED) ? record_span(r, idx, h) : 0;
        if (PSYNE_UNLIKELY(!span || rec->data != r->data + idx + PSYNE_RECORD_HEADER_BYTES + 8u * ring_h_skip(h))) {
            status = psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                                 "channel '%s': record with token %llu is not outstanding (released twice, or not "
                                 "from this channel)",
                                 r->label, (unsigned long long)pos);
            break;
        }
        if (r->mc) mark_released(r, idx, span);
        else release_sc_one(r, pos, idx, span, &rh);
    }
    if (done) {
        const psyne_status s = r->mc ? advance_mc(r) : advance_sc(r, start, rh);
        if (status == PSYNE_OK) status = s;
    }
    return status;
}

psyne_status psyne__ring_release_one(psyne__ring *r, const psyne_record *rec)
{
    if (PSYNE_LIKELY(!r->mc && !r->mp)) {
        ring_ctl *c = r->ctl;
        const uint64_t pos = rec->token;
        const uint64_t rh = atomic_load_explicit(&c->release_head, RLX);
        const uint64_t head = atomic_load_explicit(&c->head, RLX);
        /* The common case: the single consumer releases the oldest record it holds. */
        if (PSYNE_LIKELY(pos == rh && !(pos & 7) && pos < head && head - pos <= r->capacity)) {
            const uint64_t idx = pos & r->mask;
            const uint64_t h = atomic_load_explicit(hdr_at(r, idx), RLX);
            const uint64_t span = ring_h_flags(h) == RING_FLAG_COMMITTED ? record_span(r, idx, h) : 0;
            if (PSYNE_LIKELY(span && rec->data == r->data + idx + PSYNE_RECORD_HEADER_BYTES + 8u * ring_h_skip(h))) {
                if (pos + span < head) return advance_sc(r, rh, pos + span); /* markers may follow */
                atomic_store_explicit(&c->release_head, pos + span, REL);
                wake_writers(r);
                return PSYNE_OK;
            }
        }
    }
    return psyne__ring_release(r, rec, 1);
}

/* ---- read ------------------------------------------------------------------- */

static inline void fill_record(const psyne__ring *r, psyne_record *out, uint64_t pos, uint64_t idx, uint64_t h)
{
    out->data = r->data + idx + PSYNE_RECORD_HEADER_BYTES + 8u * ring_h_skip(h);
    out->length = ring_h_length(h);
    out->type = ring_h_type(h);
    out->reserved0 = 0;
    out->token = pos;
}

static void count_read(const psyne__ring *r, uint32_t n, uint64_t bytes)
{
    ring_ctl *c = r->ctl;
    if (r->mc) {
        atomic_fetch_add_explicit(&c->messages_read, n, RLX);
        atomic_fetch_add_explicit(&c->bytes_read, bytes, RLX);
    } else {
        atomic_store_explicit(&c->messages_read, atomic_load_explicit(&c->messages_read, RLX) + n, RLX);
        atomic_store_explicit(&c->bytes_read, atomic_load_explicit(&c->bytes_read, RLX) + bytes, RLX);
    }
}

static int read_sc(psyne__ring *r, psyne_record *out, uint32_t max_count, uint32_t *count)
{
    ring_ctl *c = r->ctl;
    uint64_t head = atomic_load_explicit(&c->head, RLX);
    const uint64_t start = head;
    if (PSYNE_UNLIKELY((head & 7) || head - atomic_load_explicit(&c->release_head, RLX) > r->capacity)) {
        *count = 0;
        return corrupt(r, head, 0, "the consumer's cursors are more than a lap apart");
    }
    uint32_t n = 0;
    uint64_t bytes = 0;
    int status = PSYNE_OK, busy = 0;
    while (n < max_count) {
        const uint64_t idx = head & r->mask;
        const uint64_t h = atomic_load_explicit(hdr_at(r, idx), ACQ);
        if (!(ring_h_flags(h) & RING_FLAG_COMMITTED)) {
            if (PSYNE_UNLIKELY(h != 0)) status = corrupt(r, head, h, "the next record header is neither published nor empty");
            break;
        }
        const uint64_t span = record_span(r, idx, h);
        if (PSYNE_UNLIKELY(!span)) {
            status = corrupt(r, head, h, "the record header's length, flags or alignment run past the end of the ring");
            break;
        }
        if (PSYNE_UNLIKELY(head + span - start > r->capacity)) {
            /* A lap of padding in one call: come back for the rest (a corrupt
             * ring full of padding cannot keep a call here forever). */
            busy = 1;
            break;
        }
        if (ring_h_flags(h) & RING_FLAG_PADDING) {
            /* Consumed and released here; the caller never sees padding. */
            const uint64_t pad_pos = head;
            head += span;
            atomic_store_explicit(&c->head, head, RLX);
            const uint64_t rel = atomic_load_explicit(&c->release_head, RLX);
            uint64_t rh = rel;
            release_sc_one(r, pad_pos, idx, span, &rh);
            status = advance_sc(r, rel, rh);
            if (status != PSYNE_OK) break;
            continue;
        }
        fill_record(r, &out[n], head, idx, h);
        bytes += ring_h_length(h);
        n++;
        head += span;
    }
    if (n) {
        atomic_store_explicit(&c->head, head, RLX);
        count_read(r, n, bytes);
    }
    *count = n;
    if (status != PSYNE_OK && n == 0) return status;
    return n ? PSYNE_OK : busy ? RING_BUSY : RING_EMPTY;
}

static int read_mc(psyne__ring *r, psyne_record *out, uint32_t max_count, uint32_t *count)
{
    ring_ctl *c = r->ctl;
    uint64_t padding = 0; /* bytes of padding this call claimed */
    for (;;) {
        uint64_t head = atomic_load_explicit(&c->head, ACQ);
        if (PSYNE_UNLIKELY(head & 7)) {
            *count = 0;
            return corrupt(r, head, 0, "the head is not a multiple of 8");
        }
        uint64_t pos = head;
        uint32_t n = 0;
        uint64_t bytes = 0, pad_pos = 0, pad_span = 0;
        while (n < max_count) {
            const uint64_t idx = pos & r->mask;
            const uint64_t h = atomic_load_explicit(hdr_at(r, idx), ACQ);
            uint64_t span = 0;
            if (ring_h_flags(h) & RING_FLAG_COMMITTED) span = record_span(r, idx, h);
            if (!span) {
                if (h == 0) break; /* nothing published there yet */
                /* Not a valid published header. With a stale head that proves
                 * nothing (the slot was consumed and reused since); the claim
                 * below fails, or the re-check here sends us round again. */
                if (n > 0 || pad_span) break;
                if (atomic_load_explicit(&c->head, ACQ) != head) goto retry;
                *count = 0;
                return corrupt(r, pos, h,
                               (ring_h_flags(h) & RING_FLAG_COMMITTED)
                                   ? "the record header's length, flags or alignment run past the end of the ring"
                                   : "the next record header is neither published nor empty");
            }
            if (ring_h_flags(h) & RING_FLAG_PADDING) {
                /* Claim it with the records before it and release it after the claim. */
                pad_pos = pos;
                pad_span = span;
                pos += span;
                break;
            }
            fill_record(r, &out[n], pos, idx, h);
            bytes += ring_h_length(h);
            n++;
            pos += span;
        }
        if (pos == head) {
            if (atomic_load_explicit(&c->head, ACQ) != head) continue;
            *count = 0;
            return RING_EMPTY;
        }
        if (!atomic_compare_exchange_strong_explicit(&c->head, &head, pos, ACQREL, ACQ)) continue;
        if (pad_span) {
            mark_released(r, pad_pos & r->mask, pad_span);
            const psyne_status s = advance_mc(r);
            if (s != PSYNE_OK && n == 0) {
                *count = 0;
                return s;
            }
        }
        if (n == 0) {
            padding += pad_span;
            if (padding > r->capacity) {
                *count = 0;
                return RING_BUSY;
            }
            continue;
        }
        count_read(r, n, bytes);
        *count = n;
        return PSYNE_OK;
    retry:;
    }
}

int psyne__ring_read_one(psyne__ring *r, psyne_record *out)
{
    if (PSYNE_LIKELY(!r->mc)) {
        ring_ctl *c = r->ctl;
        const uint64_t head = atomic_load_explicit(&c->head, RLX);
        if (PSYNE_LIKELY(!(head & 7))) {
            const uint64_t idx = head & r->mask;
            const uint64_t h = atomic_load_explicit(hdr_at(r, idx), ACQ);
            if (h == 0) return RING_EMPTY;
            /* The common case: a record (not padding) that fits the ring and the lap. */
            const uint64_t span = ring_h_flags(h) == RING_FLAG_COMMITTED ? record_span(r, idx, h) : 0;
            if (PSYNE_LIKELY(span && head + span - atomic_load_explicit(&c->release_head, RLX) <= r->capacity)) {
                fill_record(r, out, head, idx, h);
                atomic_store_explicit(&c->head, head + span, RLX);
                atomic_store_explicit(&c->messages_read, atomic_load_explicit(&c->messages_read, RLX) + 1, RLX);
                atomic_store_explicit(&c->bytes_read, atomic_load_explicit(&c->bytes_read, RLX) + ring_h_length(h),
                                      RLX);
                return PSYNE_OK;
            }
        }
    }
    uint32_t n = 0;
    return psyne__ring_read(r, out, 1, &n);
}

int psyne__ring_read(psyne__ring *r, psyne_record *out, uint32_t max_count, uint32_t *count)
{
    return r->mc ? read_mc(r, out, max_count, count) : read_sc(r, out, max_count, count);
}
