/*
 * channel.c - the public psyne_channel API over the ring (ring.c), the
 * shared segment (ipc/segment.c) and the waits (ipc/wait.c).
 *
 * The data-path calls check the gate word (one load of a line that is only
 * written when something ends), run the ring operation, and only when that
 * cannot complete look at why: closed, faulted, a dead peer. Blocking calls
 * retry the try-operation through the channel's wait policy: spin, yield,
 * then sleep on a futex word in slices of at most PSYNE_IPC_WAIT_SLICE_MS,
 * checking the peer processes, the deadline and wake_all between slices.
 */
#include "ring/ring.h"

#include "ipc/segment.h"
#include "ipc/wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#  include <malloc.h>
#endif

#define RLX memory_order_relaxed
#define ACQ memory_order_acquire
#define REL memory_order_release
#define SEQ memory_order_seq_cst

/* Internal outcomes of one attempt: nothing to do now; and (reads) padding
 * was skipped but no record reached yet, so try again without sleeping. */
enum { WOULD_BLOCK = 110, BUSY_RETRY = 111 };

struct psyne_channel {
    psyne__ring ring;
    int32_t transport;
    int32_t role;
    uint32_t full_policy;
    uint32_t wait_policy;
    uint32_t spin_count;
    uint32_t yield_count;
    psyne_allocation region;     /* inproc: the ring */
    char label[PSYNE_IPC_NAME_MAX + 8];
    _Atomic uint32_t interrupt;  /* bumped by wake_all */
    _Atomic uint32_t shut;       /* psyne_channel_shutdown was called on this handle */
    psyne__ipc ipc;
    /* The single producer's private state, on a line of its own. */
    _Alignas(128) psyne__ring_producer prod;
    uint8_t pad[128 - sizeof(psyne__ring_producer)];
};

/* ---- options ------------------------------------------------------------------ */

psyne_status psyne_channel_options_init(psyne_channel_options *out)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_options_init: out must not be NULL");
    memset(out, 0, sizeof *out);
    out->kind = PSYNE_CHANNEL_SPSC;
    out->full_policy = PSYNE_FULL_BLOCK;
    out->wait_policy = PSYNE_WAIT_FUTEX;
    out->spin_count = PSYNE_CHANNEL_DEFAULT_SPIN_COUNT;
    out->yield_count = PSYNE_CHANNEL_DEFAULT_YIELD_COUNT;
    out->capacity = PSYNE_CHANNEL_DEFAULT_CAPACITY;
    return PSYNE_OK;
}

static psyne_status check_options(const psyne_channel_options *o, const char *fn)
{
    if (!o) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: options must not be NULL", fn);
    if (o->kind < PSYNE_CHANNEL_SPSC || o->kind > PSYNE_CHANNEL_MPMC)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: kind %d is not a psyne_channel_kind (0..3)", fn, (int)o->kind);
    if (o->full_policy < PSYNE_FULL_BLOCK || o->full_policy > PSYNE_FULL_FAIL)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: full_policy %d is not a psyne_full_policy (0..2)", fn,
                           (int)o->full_policy);
    if (o->wait_policy < PSYNE_WAIT_SPIN || o->wait_policy > PSYNE_WAIT_FUTEX)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: wait_policy %d is not a psyne_wait_policy (0..2)", fn,
                           (int)o->wait_policy);
    if (o->capacity < PSYNE_CHANNEL_MIN_CAPACITY || o->capacity > PSYNE_CHANNEL_MAX_CAPACITY ||
        (o->capacity & (o->capacity - 1)))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: capacity %llu must be a power of two from %d to %d bytes", fn,
                           (unsigned long long)o->capacity, (int)PSYNE_CHANNEL_MIN_CAPACITY,
                           (int)PSYNE_CHANNEL_MAX_CAPACITY);
    if (o->flags & ~(uint32_t)PSYNE_CHANNEL_HUGE_PAGES)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: unknown flags 0x%x", fn, (unsigned)o->flags);
    if (o->reserved[0] || o->reserved[1])
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: reserved fields must be 0 (start from psyne_channel_options_init)",
                           fn);
    return PSYNE_OK;
}

/* ---- creation ------------------------------------------------------------------- */

/* The handle is allocated with the C library directly: psyne_free would
 * clear the thread's error message on the failure paths that free it. */
static psyne_status new_handle(psyne_channel **out)
{
    void *p = NULL;
#if defined(_WIN32)
    p = _aligned_malloc(sizeof(psyne_channel), 128);
#else
    if (posix_memalign(&p, 128, sizeof(psyne_channel)) != 0) p = NULL;
#endif
    if (!p) return psyne__fail(PSYNE_E_OUT_OF_MEMORY, "cannot allocate a channel handle");
    memset(p, 0, sizeof(psyne_channel));
    psyne_channel *ch = p;
    ch->ipc.fd = -1;
    *out = ch;
    return PSYNE_OK;
}

static void free_handle(psyne_channel *ch)
{
#if defined(_WIN32)
    _aligned_free(ch);
#else
    free(ch);
#endif
}

static void bind_ring(psyne_channel *ch, void *region)
{
    psyne__ring_view(&ch->ring, region, ch->label);
    const ring_static *st = &ch->ring.ctl->st;
    ch->full_policy = st->full_policy;
    ch->wait_policy = st->wait_policy;
    ch->spin_count = st->spin_count;
    ch->yield_count = st->yield_count;
#if !defined(__linux__)
    /* No futex: the sleep phase polls, so publishers need not look for sleepers. */
    ch->ring.wake = false;
#endif
}

psyne_status psyne_channel_create_inproc(const psyne_channel_options *options, psyne_channel **out)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_create_inproc: out must not be NULL");
    *out = NULL;
    psyne_status s = check_options(options, "psyne_channel_create_inproc");
    if (s != PSYNE_OK) return s;
    psyne_channel *ch = NULL;
    if ((s = new_handle(&ch)) != PSYNE_OK) return s;
    const uint32_t flags = (options->flags & PSYNE_CHANNEL_HUGE_PAGES) ? PSYNE_ALLOC_HUGE_PAGES : 0;
    s = psyne_alloc(PSYNE_SEGMENT_DATA_OFFSET + options->capacity, 4096, flags | PSYNE_ALLOC_ZERO, &ch->region);
    if (s != PSYNE_OK) {
        free_handle(ch);
        return s;
    }
    snprintf(ch->label, sizeof ch->label, "inproc");
    psyne__ring_format(ch->region.data, options, (flags ? SEG_FLAG_HUGE_PAGES : 0), psyne__process_self(), 0);
    bind_ring(ch, ch->region.data);
    ring_ctl *c = ch->ring.ctl;
    atomic_store_explicit(&c->producers, 1, RLX);
    atomic_store_explicit(&c->consumers, 1, RLX);
    atomic_store_explicit(&c->attached, 1, RLX);
    atomic_store_explicit(&c->state, SEG_STATE_READY, SEQ);
    ch->transport = PSYNE_TRANSPORT_INPROC;
    ch->role = PSYNE_ROLE_BOTH;
    *out = ch;
    return PSYNE_OK;
}

static psyne_status check_role(int32_t role, const char *fn)
{
    if (role < PSYNE_ROLE_PRODUCER || role > PSYNE_ROLE_BOTH)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "%s: role %d is not a psyne_channel_role (1 producer, 2 consumer, 3 both)", fn, (int)role);
    return PSYNE_OK;
}

static void init_ipc_handle(psyne_channel *ch)
{
    snprintf(ch->label, sizeof ch->label, "%s", ch->ipc.label);
    bind_ring(ch, ch->ipc.map);
    ch->transport = PSYNE_TRANSPORT_IPC;
    ch->role = ch->ipc.role;
    const uint64_t now = psyne__coarse_now_ns();
    atomic_store_explicit(&ch->ipc.next_check_ns, now + PSYNE_IPC_LIVENESS_INTERVAL_MS * 1000000ull, RLX);
    atomic_store_explicit(&ch->ipc.next_deep_ns, now + 1000000000ull, RLX);
}

psyne_status psyne_channel_create_ipc(const char *name, const psyne_channel_options *options, int32_t role,
                                      psyne_channel **out)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_create_ipc: out must not be NULL");
    *out = NULL;
    psyne_status s = check_options(options, "psyne_channel_create_ipc");
    if (s == PSYNE_OK) s = check_role(role, "psyne_channel_create_ipc");
    if (s != PSYNE_OK) return s;
    psyne_channel *ch = NULL;
    if ((s = new_handle(&ch)) != PSYNE_OK) return s;
    s = psyne__ipc_create(&ch->ipc, name, options, role);
    if (s != PSYNE_OK) {
        free_handle(ch);
        return s;
    }
    init_ipc_handle(ch);
    *out = ch;
    return PSYNE_OK;
}

psyne_status psyne_channel_open_ipc(const char *name, int32_t role, psyne_channel **out)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_open_ipc: out must not be NULL");
    *out = NULL;
    psyne_status s = check_role(role, "psyne_channel_open_ipc");
    if (s != PSYNE_OK) return s;
    psyne_channel *ch = NULL;
    if ((s = new_handle(&ch)) != PSYNE_OK) return s;
    s = psyne__ipc_open(&ch->ipc, name, role);
    if (s != PSYNE_OK) {
        free_handle(ch);
        return s;
    }
    init_ipc_handle(ch);
    *out = ch;
    return PSYNE_OK;
}

/* ---- lifecycle --------------------------------------------------------------------- */

psyne_status psyne_channel_shutdown(psyne_channel *ch)
{
    psyne__clear_error();
    if (!ch) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_shutdown: channel must not be NULL");
    if (atomic_exchange_explicit(&ch->shut, 1, SEQ) == 0) {
        if (ch->transport == PSYNE_TRANSPORT_IPC) psyne__ipc_shutdown(&ch->ipc);
        else atomic_fetch_or_explicit(&ch->ring.ctl->gate, GATE_WRITE_CLOSED, SEQ);
    }
    psyne__ring_wake_all(&ch->ring);
    return PSYNE_OK;
}

psyne_status psyne_channel_wake_all(psyne_channel *ch)
{
    psyne__clear_error();
    if (!ch) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_wake_all: channel must not be NULL");
    atomic_fetch_add_explicit(&ch->interrupt, 1, SEQ);
    psyne__ring_wake_all(&ch->ring);
    return PSYNE_OK;
}

psyne_status psyne_channel_close(psyne_channel *ch)
{
    psyne__clear_error();
    if (!ch) return PSYNE_OK;
    if (ch->transport == PSYNE_TRANSPORT_IPC) {
        psyne__ipc_close(&ch->ipc); /* detaches (ending its role) and wakes the peers */
    } else {
        psyne_free(&ch->region);
    }
    free_handle(ch);
    return PSYNE_OK;
}

/* ---- why a call cannot go on ---------------------------------------------------------- */

/* The expected "not now" outcomes of the try calls happen in polling loops,
 * where formatting a message each time would cost more than the call. Their
 * message is a constant, written only when the thread's message differs. */
static psyne_status fail_constant(psyne_status status, const char *message)
{
    return psyne__fail_static(status, message);
}

static psyne_status closed_error(psyne_channel *ch, int producer)
{
    ring_ctl *c = ch->ring.ctl;
    const uint32_t gate = atomic_load_explicit(&c->gate, ACQ);
    if (gate & GATE_FAULTED) {
        const uint32_t fault = atomic_load_explicit(&c->fault, ACQ);
        if (fault == FAULT_PEER_DIED)
            return psyne__fail(PSYNE_E_CLOSED,
                               "channel '%s': peer process pid %d died (killed or crashed); the channel is faulted%s",
                               ch->label, (int)atomic_load_explicit(&c->fault_pid, ACQ),
                               producer ? "" : " and every record committed before it was delivered");
        return psyne__fail(PSYNE_E_CLOSED, "channel '%s' is faulted: its ring was found corrupt", ch->label);
    }
    if (atomic_load_explicit(&ch->shut, ACQ))
        return psyne__fail(PSYNE_E_CLOSED, "channel '%s': this handle was shut down", ch->label);
    if (producer && (gate & GATE_READ_CLOSED))
        return psyne__fail(PSYNE_E_CLOSED, "channel '%s': every consumer closed the channel", ch->label);
    if (ch->transport == PSYNE_TRANSPORT_INPROC)
        return psyne__fail(PSYNE_E_CLOSED, "channel '%s' was shut down%s", ch->label,
                           producer ? "" : " and every committed record was delivered");
    return psyne__fail(PSYNE_E_CLOSED, "channel '%s': every producer closed the channel%s", ch->label,
                       producer ? "" : " and every committed record was delivered");
}

/* ipc: checks the peer processes at most every PSYNE_IPC_LIVENESS_INTERVAL_MS
 * (reading /proc at most every second). A coarse clock read costs no system call. */
static inline void maybe_check_peers(psyne_channel *ch, int force)
{
    if (ch->transport != PSYNE_TRANSPORT_IPC) return;
    const uint64_t now = psyne__coarse_now_ns();
    if (!force && now < atomic_load_explicit(&ch->ipc.next_check_ns, RLX)) return;
    atomic_store_explicit(&ch->ipc.next_check_ns, now + PSYNE_IPC_LIVENESS_INTERVAL_MS * 1000000ull, RLX);
    int deep = 0;
    if (now >= atomic_load_explicit(&ch->ipc.next_deep_ns, RLX)) {
        atomic_store_explicit(&ch->ipc.next_deep_ns, now + 1000000000ull, RLX);
        deep = 1;
    }
    psyne__ipc_check_peers(&ch->ipc, deep);
}

static psyne_status on_corrupt(psyne_channel *ch, psyne_status s)
{
    if (s == PSYNE_E_FORMAT) psyne__ring_fault(ch->ring.ctl, FAULT_CORRUPT, psyne__process_self());
    return s;
}

/* ---- producer side ----------------------------------------------------------------------- */

static inline psyne_status check_reserve_args(psyne_channel *ch, const uint32_t *sizes, uint32_t count,
                                              uint32_t *alignment, const void *out, const char *fn)
{
    if (PSYNE_UNLIKELY(!ch || !sizes || !out || count == 0))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: channel, sizes and out must not be NULL and count not 0", fn);
    uint32_t a = *alignment;
    if (a < PSYNE_RECORD_ALIGNMENT) {
        if (PSYNE_UNLIKELY(a & (a - 1)))
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: alignment %u is not a power of two", fn, (unsigned)a);
        a = PSYNE_RECORD_ALIGNMENT;
    } else if (PSYNE_UNLIKELY((a & (a - 1)) || a > PSYNE_RECORD_MAX_ALIGNMENT)) {
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: alignment %u must be a power of two up to %d", fn,
                           (unsigned)a, (int)PSYNE_RECORD_MAX_ALIGNMENT);
    }
    *alignment = a;
    if (PSYNE_UNLIKELY(!(ch->role & PSYNE_ROLE_PRODUCER)))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: channel '%s' was opened as a consumer only", fn, ch->label);
    const uint64_t max = psyne__ring_max_payload(ch->ring.capacity, a);
    for (uint32_t i = 0; i < count; i++) {
        if (PSYNE_UNLIKELY(sizes[i] > max))
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                               "%s: a record of %u bytes (payload alignment %u) is larger than channel '%s' can ever "
                               "hold: its ring of %llu bytes takes records of at most %llu bytes; create the channel "
                               "with a larger capacity or send the data in chunks",
                               fn, (unsigned)sizes[i], (unsigned)a, ch->label, (unsigned long long)ch->ring.capacity,
                               (unsigned long long)max);
    }
    return PSYNE_OK;
}

/* One attempt; WOULD_BLOCK when the ring is full. */
static inline int reserve_once(psyne_channel *ch, const uint32_t *sizes, uint32_t count, uint32_t alignment,
                               psyne_reservation *out, uint32_t *reserved)
{
    if (PSYNE_UNLIKELY(atomic_load_explicit(&ch->ring.ctl->gate, ACQ) | atomic_load_explicit(&ch->shut, RLX)))
        return closed_error(ch, 1);
    maybe_check_peers(ch, 0);
    int s;
    if (count == 1) {
        s = psyne__ring_reserve_one(&ch->ring, &ch->prod, sizes[0], alignment, out);
        *reserved = s == PSYNE_OK;
    } else {
        s = psyne__ring_reserve(&ch->ring, &ch->prod, sizes, count, alignment, out, reserved);
    }
    return s == PSYNE_E_FULL ? WOULD_BLOCK : s;
}

/* What a full ring means under the channel's policy. */
static psyne_status full_outcome(psyne_channel *ch, uint32_t size, int waited)
{
    ring_ctl *c = ch->ring.ctl;
    if (ch->full_policy == PSYNE_FULL_DROP) {
        atomic_fetch_add_explicit(&c->drops, 1, RLX);
        return psyne__fail(PSYNE_E_FULL, "channel '%s' is full: the %u-byte record was dropped (drop policy, counted)",
                           ch->label, (unsigned)size);
    }
    if (ch->full_policy == PSYNE_FULL_FAIL) {
        atomic_fetch_add_explicit(&c->rejects, 1, RLX);
        return psyne__fail(PSYNE_E_FULL, "channel '%s' is full: no room for a %u-byte record (fail policy)", ch->label,
                           (unsigned)size);
    }
    if (waited) return PSYNE_E_TIMEOUT;
    return fail_constant(PSYNE_E_FULL, "the channel is full: no room for the record now (try again, or wait "
                                       "with psyne_channel_reserve)");
}

typedef struct wait_ctx {
    psyne_channel *ch;
    const uint32_t *sizes;
    uint32_t count;
    uint32_t alignment;
    psyne_reservation *res;
    uint32_t *n;
    psyne_record *rec;
} wait_ctx;

static int try_reserve_step(wait_ctx *w)
{
    return reserve_once(w->ch, w->sizes, w->count, w->alignment, w->res, w->n);
}

static int try_read_step(wait_ctx *w);

/* Retries step under the wait policy until it stops saying WOULD_BLOCK, the
 * deadline passes, or wake_all is called. consumer picks the futex word. */
static int wait_for(psyne_channel *ch, int (*step)(wait_ctx *), wait_ctx *w, uint64_t timeout_ns, int consumer,
                    int *interrupted)
{
    int s = step(w);
    if ((s != WOULD_BLOCK && s != BUSY_RETRY) || timeout_ns == 0) return s == BUSY_RETRY ? WOULD_BLOCK : s;
    ring_ctl *c = ch->ring.ctl;
    const uint64_t start = psyne__now_ns();
    const uint64_t deadline = timeout_ns > UINT64_MAX - start ? UINT64_MAX : start + timeout_ns;
    const uint32_t epoch = atomic_load_explicit(&ch->interrupt, ACQ);
    const uint32_t policy = ch->wait_policy;
    /* Spin: the peer is probably a few hundred nanoseconds from publishing. */
    for (uint32_t i = 0; policy == PSYNE_WAIT_SPIN || i < ch->spin_count; i++) {
        psyne__cpu_relax();
        if ((s = step(w)) != WOULD_BLOCK && s != BUSY_RETRY) return s;
        if ((i & 1023) == 1023) {
            if (atomic_load_explicit(&ch->interrupt, ACQ) != epoch) return *interrupted = 1, WOULD_BLOCK;
            if (psyne__now_ns() >= deadline) return WOULD_BLOCK;
        }
    }
    for (uint32_t i = 0; policy == PSYNE_WAIT_YIELD || i < ch->yield_count; i++) {
        psyne__yield();
        if ((s = step(w)) != WOULD_BLOCK && s != BUSY_RETRY) return s;
        if (atomic_load_explicit(&ch->interrupt, ACQ) != epoch) return *interrupted = 1, WOULD_BLOCK;
        if ((i & 15) == 15 && psyne__now_ns() >= deadline) return WOULD_BLOCK;
    }
    /* Sleep. Announce it (seq_cst), make the barrier of the asymmetric
     * handshake (ipc/wait.h: publishers that skip their fence rely on it),
     * re-check, then sleep on the word the other side bumps when it
     * publishes and sees a sleeper. */
    _Atomic uint32_t *word = consumer ? &c->data_futex : &c->space_futex;
    _Atomic uint32_t *waiters = consumer ? &c->readers_waiting : &c->writers_waiting;
    int slept = 0;
    for (;;) {
        const uint32_t seq = atomic_load_explicit(word, ACQ);
        atomic_fetch_add_explicit(waiters, 1, SEQ);
        const int fenced = psyne__asym_fence_heavy();
        s = step(w);
        if (s == WOULD_BLOCK || s == BUSY_RETRY) {
            const uint64_t now = psyne__now_ns();
            if (atomic_load_explicit(&ch->interrupt, ACQ) != epoch) {
                *interrupted = 1;
            } else if (now < deadline && s == BUSY_RETRY) {
                atomic_fetch_sub_explicit(waiters, 1, SEQ);
                continue; /* progress without a record: no sleep */
            } else if (now < deadline) {
                uint64_t slice = deadline - now;
                if (slice > PSYNE_IPC_WAIT_SLICE_MS * 1000000ull) slice = PSYNE_IPC_WAIT_SLICE_MS * 1000000ull;
                /* Without the barrier a publisher that skipped its fence may miss us: sleep briefly. */
                if (!fenced && slice > PSYNE_ASYM_FALLBACK_SLICE_NS) slice = PSYNE_ASYM_FALLBACK_SLICE_NS;
                if (!slept) {
                    slept = 1;
                    atomic_fetch_add_explicit(consumer ? &c->consumer_stalls : &c->producer_stalls, 1, RLX);
                }
                psyne__futex_wait(word, seq, slice);
                atomic_fetch_sub_explicit(waiters, 1, SEQ);
                maybe_check_peers(ch, 0);
                continue;
            }
        }
        atomic_fetch_sub_explicit(waiters, 1, SEQ);
        return s == BUSY_RETRY ? WOULD_BLOCK : s;
    }
}

static psyne_status reserve_common(psyne_channel *ch, const uint32_t *sizes, uint32_t count, uint32_t alignment,
                                   uint64_t timeout_ns, psyne_reservation *out, uint32_t *reserved, int blocking,
                                   const char *fn)
{
    uint32_t n = 0;
    psyne_status s = check_reserve_args(ch, sizes, count, &alignment, out, fn);
    if (PSYNE_UNLIKELY(s != PSYNE_OK)) return s;
    int r;
    int interrupted = 0;
    if (blocking && ch->full_policy == PSYNE_FULL_BLOCK) {
        wait_ctx w = {.ch = ch, .sizes = sizes, .count = count, .alignment = alignment, .res = out, .n = &n};
        r = wait_for(ch, try_reserve_step, &w, timeout_ns, 0, &interrupted);
    } else {
        r = reserve_once(ch, sizes, count, alignment, out, &n);
    }
    if (reserved) *reserved = n;
    if (PSYNE_LIKELY(r == PSYNE_OK)) return PSYNE_OK;
    if (r == WOULD_BLOCK) {
        if (interrupted)
            return psyne__fail(PSYNE_E_TIMEOUT, "%s: channel '%s': woken by psyne_channel_wake_all", fn, ch->label);
        if (blocking && ch->full_policy == PSYNE_FULL_BLOCK) {
            return psyne__fail(PSYNE_E_TIMEOUT, "%s: channel '%s' stayed full for %llu ns: no room for a %u-byte record",
                               fn, ch->label, (unsigned long long)timeout_ns, (unsigned)sizes[0]);
        }
        return full_outcome(ch, sizes[0], 0);
    }
    return on_corrupt(ch, (psyne_status)r);
}

psyne_status psyne_channel_try_reserve(psyne_channel *ch, uint32_t size, uint32_t alignment, psyne_reservation *out)
{
    /* Fast path: a valid call on an open channel with room. Everything else,
     * full included, goes through reserve_common for its policy and message. */
    const uint32_t a = alignment < PSYNE_RECORD_ALIGNMENT ? PSYNE_RECORD_ALIGNMENT : alignment;
    if (PSYNE_LIKELY(ch && out && !(alignment & (alignment - 1)) && a <= PSYNE_RECORD_MAX_ALIGNMENT &&
                     (ch->role & PSYNE_ROLE_PRODUCER) &&
                     size <= ch->ring.capacity - RING_SLACK - a /* psyne__ring_max_payload */ &&
                     !(atomic_load_explicit(&ch->ring.ctl->gate, ACQ) | atomic_load_explicit(&ch->shut, RLX)))) {
        maybe_check_peers(ch, 0);
        if (PSYNE_LIKELY(psyne__ring_reserve_one(&ch->ring, &ch->prod, size, a, out) == PSYNE_OK)) return PSYNE_OK;
    }
    return reserve_common(ch, &size, 1, alignment, 0, out, NULL, 0, "psyne_channel_try_reserve");
}

psyne_status psyne_channel_reserve(psyne_channel *ch, uint32_t size, uint32_t alignment, uint64_t timeout_ns,
                                   psyne_reservation *out)
{
    psyne__clear_error();
    return reserve_common(ch, &size, 1, alignment, timeout_ns, out, NULL, 1, "psyne_channel_reserve");
}

psyne_status psyne_channel_try_reserve_batch(psyne_channel *ch, const uint32_t *sizes, uint32_t count,
                                             uint32_t alignment, psyne_reservation *out, uint32_t *reserved)
{
    if (PSYNE_UNLIKELY(!reserved))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_try_reserve_batch: reserved must not be NULL");
    return reserve_common(ch, sizes, count, alignment, 0, out, reserved, 0, "psyne_channel_try_reserve_batch");
}

psyne_status psyne_channel_reserve_batch(psyne_channel *ch, const uint32_t *sizes, uint32_t count, uint32_t alignment,
                                         uint64_t timeout_ns, psyne_reservation *out, uint32_t *reserved)
{
    psyne__clear_error();
    if (!reserved)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_reserve_batch: reserved must not be NULL");
    return reserve_common(ch, sizes, count, alignment, timeout_ns, out, reserved, 1, "psyne_channel_reserve_batch");
}

psyne_status psyne_channel_commit(psyne_channel *ch, const psyne_reservation *reservation, uint32_t length,
                                  uint16_t type)
{
    if (PSYNE_UNLIKELY(!ch || !reservation))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_commit: channel and reservation must not be NULL");
    return psyne__ring_commit_one(&ch->ring, reservation, length, type);
}

psyne_status psyne_channel_abort(psyne_channel *ch, const psyne_reservation *reservation)
{
    if (PSYNE_UNLIKELY(!ch || !reservation))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_abort: channel and reservation must not be NULL");
    return psyne__ring_commit(&ch->ring, reservation, 1, 0, 0, 0, 1);
}

psyne_status psyne_channel_commit_batch(psyne_channel *ch, const psyne_reservation *reservations, uint32_t count)
{
    if (PSYNE_UNLIKELY(!ch || (!reservations && count)))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_channel_commit_batch: channel and reservations must not be NULL");
    if (count == 0) return PSYNE_OK;
    return psyne__ring_commit(&ch->ring, reservations, count, 1, 0, 0, 0);
}

/* ---- consumer side ------------------------------------------------------------------------ */

/* One attempt; WOULD_BLOCK when nothing is ready and the channel is open. */
static int read_once(psyne_channel *ch, psyne_record *out, uint32_t max_count, uint32_t *count)
{
    int s;
    if (max_count == 1) {
        s = psyne__ring_read_one(&ch->ring, out);
        *count = s == PSYNE_OK;
    } else {
        s = psyne__ring_read(&ch->ring, out, max_count, count);
    }
    if (PSYNE_LIKELY(s == PSYNE_OK)) return s;
    if (s == RING_BUSY) return BUSY_RETRY;
    if (s != RING_EMPTY) return s;
    /* Empty. Closed or faulted only once drained: the gate is read first, then
     * the ring again, so a record published before the gate closed is seen. */
    maybe_check_peers(ch, 0);
    const uint32_t gate = atomic_load_explicit(&ch->ring.ctl->gate, ACQ);
    if ((gate & (GATE_WRITE_CLOSED | GATE_FAULTED)) || atomic_load_explicit(&ch->shut, ACQ)) {
        s = psyne__ring_read(&ch->ring, out, max_count, count);
        if (s == RING_EMPTY) return closed_error(ch, 0);
        return s == RING_BUSY ? BUSY_RETRY : s;
    }
    return WOULD_BLOCK;
}

static int try_read_step(wait_ctx *w)
{
    return read_once(w->ch, w->rec, w->count, w->n);
}

static psyne_status read_common(psyne_channel *ch, uint32_t max_count, uint64_t timeout_ns, psyne_record *out,
                                uint32_t *count, int blocking, const char *fn)
{
    if (PSYNE_UNLIKELY(!ch || !out || max_count == 0))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: channel and out must not be NULL and max_count not 0", fn);
    if (PSYNE_UNLIKELY(!(ch->role & PSYNE_ROLE_CONSUMER)))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: channel '%s' was opened as a producer only", fn, ch->label);
    uint32_t n = 0;
    int interrupted = 0;
    int r;
    if (blocking) {
        wait_ctx w = {.ch = ch, .count = max_count, .n = &n, .rec = out};
        r = wait_for(ch, try_read_step, &w, timeout_ns, 1, &interrupted);
    } else {
        r = read_once(ch, out, max_count, &n);
    }
    if (count) *count = n;
    if (PSYNE_LIKELY(r == PSYNE_OK)) return PSYNE_OK;
    if (r == WOULD_BLOCK || r == BUSY_RETRY) {
        if (interrupted)
            return psyne__fail(PSYNE_E_TIMEOUT, "%s: channel '%s': woken by psyne_channel_wake_all", fn, ch->label);
        if (blocking && timeout_ns)
            return psyne__fail(PSYNE_E_TIMEOUT, "%s: channel '%s': no record within %llu ns", fn, ch->label,
                               (unsigned long long)timeout_ns);
        return fail_constant(PSYNE_E_TIMEOUT, "no record is ready (the channel is empty)");
    }
    return on_corrupt(ch, (psyne_status)r);
}

psyne_status psyne_channel_try_read(psyne_channel *ch, psyne_record *out)
{
    if (PSYNE_LIKELY(ch && out && (ch->role & PSYNE_ROLE_CONSUMER)) &&
        PSYNE_LIKELY(psyne__ring_read_one(&ch->ring, out) == PSYNE_OK))
        return PSYNE_OK;
    return read_common(ch, 1, 0, out, NULL, 0, "psyne_channel_try_read");
}

psyne_status psyne_channel_read(psyne_channel *ch, uint64_t timeout_ns, psyne_record *out)
{
    psyne__clear_error();
    return read_common(ch, 1, timeout_ns, out, NULL, 1, "psyne_channel_read");
}

psyne_status psyne_channel_try_read_batch(psyne_channel *ch, uint32_t max_count, psyne_record *out, uint32_t *count)
{
    if (PSYNE_UNLIKELY(!count))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_try_read_batch: count must not be NULL");
    return read_common(ch, max_count, 0, out, count, 0, "psyne_channel_try_read_batch");
}

psyne_status psyne_channel_read_batch(psyne_channel *ch, uint32_t max_count, uint64_t timeout_ns, psyne_record *out,
                                      uint32_t *count)
{
    psyne__clear_error();
    if (!count) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_read_batch: count must not be NULL");
    return read_common(ch, max_count, timeout_ns, out, count, 1, "psyne_channel_read_batch");
}

psyne_status psyne_channel_release(psyne_channel *ch, const psyne_record *record)
{
    if (PSYNE_UNLIKELY(!ch || !record))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_release: channel and record must not be NULL");
    const psyne_status s = psyne__ring_release_one(&ch->ring, record);
    return PSYNE_LIKELY(s == PSYNE_OK) ? s : on_corrupt(ch, s);
}

psyne_status psyne_channel_release_batch(psyne_channel *ch, const psyne_record *records, uint32_t count)
{
    if (PSYNE_UNLIKELY(!ch || (!records && count)))
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_release_batch: channel and records must not be NULL");
    if (count == 0) return PSYNE_OK;
    return on_corrupt(ch, psyne__ring_release(&ch->ring, records, count));
}

/* ---- the region, for data paths outside libpsyne ------------------------------------------------ */

psyne_status psyne_channel_region_get(psyne_channel *ch, psyne_channel_region *out)
{
    psyne__clear_error();
    if (!ch || !out)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_region_get: channel and out must not be NULL");
    memset(out, 0, sizeof *out);
    out->base = (uint8_t *)ch->ring.ctl;
    out->capacity = ch->ring.capacity;
    out->kind = (int32_t)ch->ring.kind;
    out->flags = (ch->ring.wake ? (uint32_t)PSYNE_REGION_WAKE : 0u) | (ch->ring.fence ? (uint32_t)PSYNE_REGION_FENCE : 0u);
    return PSYNE_OK;
}

psyne_status psyne_channel_region_take(psyne_channel *ch, psyne_allocation *out)
{
    psyne__clear_error();
    if (!ch || !out)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_region_take: channel and out must not be NULL");
    memset(out, 0, sizeof *out);
    if (ch->transport == PSYNE_TRANSPORT_IPC) {
        if (!ch->ipc.map || ch->ipc.map_taken)
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_region_take: the mapping of %s was taken already",
                               ch->label);
        /* The whole mapping, as psyne_free unmaps a PAGES allocation; close still detaches. */
        out->data = ch->ipc.map;
        out->size = (size_t)ch->ipc.map_bytes;
        out->mapped_size = (size_t)ch->ipc.map_bytes;
        out->kind = PSYNE_ALLOC_KIND_PAGES;
        out->alignment = (uint32_t)PSYNE_SEGMENT_DATA_OFFSET;
        ch->ipc.map_taken = 1;
        return PSYNE_OK;
    }
    if (!ch->region.data)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_region_take: the region was taken already");
    *out = ch->region;
    memset(&ch->region, 0, sizeof ch->region); /* close frees a cleared allocation as nothing */
    return PSYNE_OK;
}

psyne_status psyne_channel_wake(psyne_channel *ch, int32_t consumers)
{
    psyne__clear_error();
    if (!ch) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_wake: channel must not be NULL");
    psyne__ring_wake_side(&ch->ring, consumers != 0);
    return PSYNE_OK;
}

/* ---- observation ------------------------------------------------------------------------------ */

psyne_status psyne_channel_stats_get(psyne_channel *ch, psyne_channel_stats *out)
{
    psyne__clear_error();
    if (!ch || !out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_stats_get: channel and out must not be NULL");
    const ring_ctl *c = ch->ring.ctl;
    memset(out, 0, sizeof *out);
    out->messages_written = atomic_load_explicit(&c->messages_written, RLX);
    out->bytes_written = atomic_load_explicit(&c->bytes_written, RLX);
    out->messages_read = atomic_load_explicit(&c->messages_read, RLX);
    out->bytes_read = atomic_load_explicit(&c->bytes_read, RLX);
    out->drops = atomic_load_explicit(&c->drops, RLX);
    out->rejects = atomic_load_explicit(&c->rejects, RLX);
    out->producer_stalls = atomic_load_explicit(&c->producer_stalls, RLX);
    out->consumer_stalls = atomic_load_explicit(&c->consumer_stalls, RLX);
    out->used_bytes = psyne__ring_used(&ch->ring);
    out->capacity = ch->ring.capacity;
    return PSYNE_OK;
}

psyne_status psyne_channel_info_get(psyne_channel *ch, psyne_channel_info *out)
{
    psyne__clear_error();
    if (!ch || !out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_channel_info_get: channel and out must not be NULL");
    const ring_ctl *c = ch->ring.ctl;
    memset(out, 0, sizeof *out);
    out->capacity = ch->ring.capacity;
    out->max_payload = (uint32_t)psyne__ring_max_payload(ch->ring.capacity, PSYNE_RECORD_ALIGNMENT);
    out->kind = (int32_t)c->st.kind;
    out->full_policy = (int32_t)ch->full_policy;
    out->wait_policy = (int32_t)ch->wait_policy;
    out->spin_count = ch->spin_count;
    out->yield_count = ch->yield_count;
    out->transport = ch->transport;
    out->role = ch->role;
    const uint32_t gate = atomic_load_explicit(&c->gate, ACQ);
    if (gate & GATE_FAULTED) out->state = PSYNE_CHANNEL_FAULTED;
    else if (atomic_load_explicit(&ch->shut, ACQ) || (gate & (GATE_WRITE_CLOSED | GATE_READ_CLOSED)))
        out->state = PSYNE_CHANNEL_CLOSED;
    else out->state = PSYNE_CHANNEL_OPEN;
    out->fault_pid = atomic_load_explicit(&c->fault, ACQ) == FAULT_PEER_DIED ? atomic_load_explicit(&c->fault_pid, ACQ) : 0;
    out->creator_pid = c->st.creator_pid;
    out->attached = atomic_load_explicit(&c->attached, ACQ);
    if (ch->transport == PSYNE_TRANSPORT_IPC) {
        out->alloc_kind = -1;
        snprintf(out->name, sizeof out->name, "%s", ch->ipc.name);
    } else {
        out->alloc_kind = ch->region.kind;
    }
    return PSYNE_OK;
}
