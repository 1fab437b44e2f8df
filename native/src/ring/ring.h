/*
 * ring.h - the message ring: its memory layout (one layout for the heap and
 * for shared memory) and the lock-free operations over it. Not installed.
 *
 * Everything in the region is position-independent: cursors are 64-bit byte
 * positions that only grow (the index in the data area is position & mask),
 * never pointers, so two processes may map the region at different
 * addresses. docs/wire-format.md describes the bytes; this file is the code
 * side of that page.
 *
 * The region:
 *   [0, 128)       static header, immutable after creation, CRC32C-checked
 *   [128, 256)     state line: lifecycle, gate bits, fault, attachment counts
 *   [256, 384)     producer line: tail (+ producer counters)
 *   [384, 512)     consumer line: head (+ consumer counters)
 *   [512, 640)     release line: release_head (consumers write, producers read)
 *   [640, 768)     wait line: futex words and sleeper counts (slow path only)
 *   [768, 896)     slow-path counters: drops, rejects, stalls
 *   [1024, 2048)   attach table (ipc): PSYNE_IPC_MAX_ATTACH slots of 64 bytes
 *   [4096, 4096 + capacity)  ring data
 * Lines written by different sides are 128 bytes apart (adjacent-line
 * prefetchers fetch pairs of 64-byte lines).
 *
 * Records: an 8-byte header word at a position that is a multiple of 8, then
 * skip * 8 bytes of alignment padding, then the payload; the record's span is
 * align8(8 + 8 * skip + length). A record never crosses the end of the data
 * area: a PADDING record fills the rest of the lap instead.
 *
 * Invariants the algorithms keep:
 *   release_head <= head <= tail <= release_head + capacity - 8
 *   Every header slot a consumer may read next reads 0 until it is
 *   published. Single-producer variants write 0 to the slot after each
 *   record they reserve ("zero ahead"); it is free space because a record
 *   always leaves 8 bytes between its end and release_head + capacity.
 *   Multi-producer variants cannot (the next slot may already belong to
 *   another producer), so there the consumers zero what they release: free
 *   space is all zeros.
 *   Records may be released out of order. A record released while earlier
 *   ones are still held becomes a RELEASED marker carrying its span until
 *   release_head moves over it (with several consumers, every release does).
 */
#ifndef PSYNE_RING_H
#define PSYNE_RING_H

#include "core/internal.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__STDC_NO_ATOMICS__) && (ATOMIC_LLONG_LOCK_FREE != 2 || ATOMIC_INT_LOCK_FREE != 2)
#  error "libpsyne's ring needs lock-free 32- and 64-bit atomics (they are shared between processes)"
#endif

/* ---- record header word ------------------------------------------------ */

enum {
    RING_FLAG_COMMITTED = PSYNE_RECORD_FLAG_COMMITTED, /* a published record or padding */
    RING_FLAG_PADDING = PSYNE_RECORD_FLAG_PADDING,     /* consumers skip it */
    RING_FLAG_RELEASED = PSYNE_RECORD_FLAG_RELEASED,   /* a released record's marker: the low 32 bits hold its span */
    RING_FLAGS_KNOWN = 0x07,
    RING_MAX_SKIP = PSYNE_RECORD_MAX_SKIP, /* (PSYNE_RECORD_MAX_ALIGNMENT - 8) / 8 */
    RING_SLACK = 8                                        /* the header slot kept free after the last record */
};

static inline uint64_t ring_header(uint32_t length, uint16_t type, uint32_t flags, uint32_t skip)
{
    return (uint64_t)length | ((uint64_t)type << 32) | ((uint64_t)flags << 48) | ((uint64_t)skip << 56);
}
static inline uint32_t ring_h_length(uint64_t h) { return (uint32_t)h; }
static inline uint16_t ring_h_type(uint64_t h) { return (uint16_t)(h >> 32); }
static inline uint32_t ring_h_flags(uint64_t h) { return (uint32_t)(h >> 48) & 0xFF; }
static inline uint32_t ring_h_skip(uint64_t h) { return (uint32_t)(h >> 56); }
static inline uint64_t ring_marker(uint64_t span) { return span | ((uint64_t)RING_FLAG_RELEASED << 48); }
static inline bool ring_is_marker(uint64_t h) { return (h >> 32) == ((uint64_t)RING_FLAG_RELEASED << 16); }
static inline uint64_t ring_align8(uint64_t v) { return (v + 7) & ~(uint64_t)7; }

_Static_assert(RING_MAX_SKIP == (PSYNE_RECORD_MAX_ALIGNMENT - 8) / 8, "skip covers the largest alignment");

/* ---- the region -------------------------------------------------------- */

enum {
    RING_STATIC_BYTES = 128,
    RING_CRC_OFFSET = 124,
    RING_ATTACH_OFFSET = 1024,
    RING_ATTACH_SLOT_BYTES = 64,
    SEG_FLAG_IPC = 1u << 0,
    SEG_FLAG_HUGE_PAGES = 1u << 1
};

/* Lifecycle (state line). */
enum { SEG_STATE_INITIALIZING = 0, SEG_STATE_READY = 1, SEG_STATE_REMOVED = 2 };

/* Gate bits: why data-path calls stop. Read on the producers' fast path, so
 * the line holding them is written only when something ends. */
enum {
    GATE_WRITE_CLOSED = 1u << 0, /* no producer is left (inproc: shut down): consumers drain, then CLOSED */
    GATE_READ_CLOSED = 1u << 1,  /* no consumer is left: producers get CLOSED */
    GATE_FAULTED = 1u << 2       /* a process died or the ring is corrupt: producers CLOSED, consumers drain */
};

enum { FAULT_NONE = 0, FAULT_PEER_DIED = 1, FAULT_CORRUPT = 2 };

/* Attach slot states. */
enum { SLOT_FREE = 0, SLOT_ACTIVE = 1, SLOT_SHUT = 2 }; /* a dead process's slot is freed */

typedef struct ring_static {
    uint32_t magic;             /* 0   PSYNE_SEGMENT_MAGIC */
    uint16_t layout_version;    /* 4   PSYNE_SEGMENT_LAYOUT_VERSION */
    uint16_t static_bytes;      /* 6   RING_STATIC_BYTES */
    uint32_t flags;             /* 8   SEG_FLAG_* */
    uint32_t kind;              /* 12  psyne_channel_kind */
    uint64_t capacity;          /* 16 */
    uint64_t data_offset;       /* 24  PSYNE_SEGMENT_DATA_OFFSET */
    uint64_t segment_bytes;     /* 32  data_offset + capacity */
    uint32_t full_policy;       /* 40 */
    uint32_t wait_policy;       /* 44 */
    uint32_t spin_count;        /* 48 */
    uint32_t yield_count;       /* 52 */
    int32_t creator_pid;        /* 56 */
    uint32_t max_attach;        /* 60  PSYNE_IPC_MAX_ATTACH */
    uint64_t creator_start;     /* 64  process start time (Linux: clock ticks after boot), 0 if unknown */
    uint64_t created_unix_ns;   /* 72 */
    uint8_t reserved[44];       /* 80 */
    uint32_t header_crc;        /* 124 CRC32C of bytes [0, 124) */
} ring_static;

typedef struct ring_attach_slot {
    _Atomic uint32_t state;       /* SLOT_*; written last when a slot is taken (release) */
    _Atomic int32_t role;         /* psyne_channel_role */
    _Atomic int32_t pid;
    _Atomic uint32_t epoch;       /* attach_epoch when taken: tells a reused slot from the old one */
    _Atomic uint64_t start_time;  /* the process's start time, 0 if unknown */
    _Atomic uint64_t pid_ns;      /* its pid namespace, 0 if unknown */
    _Atomic uint64_t heartbeat;   /* bumped by the owner on every liveness check */
    uint8_t reserved[24];
} ring_attach_slot;

typedef struct ring_ctl {
    ring_static st;                                  /* 0 */
    /* state line, 128 */
    _Alignas(128) _Atomic uint32_t state;
    _Atomic uint32_t gate;
    _Atomic int32_t fault_pid;
    _Atomic uint32_t fault;
    _Atomic uint32_t producers;                      /* attached producer handles not shut down */
    _Atomic uint32_t consumers;
    _Atomic uint32_t producers_ever;
    _Atomic uint32_t consumers_ever;
    _Atomic uint32_t attach_epoch;
    _Atomic uint32_t attached;                       /* active slots */
    /* producer line, 256 */
    _Alignas(128) _Atomic uint64_t tail;
    _Atomic uint64_t messages_written;
    _Atomic uint64_t bytes_written;
    /* consumer line, 384 */
    _Alignas(128) _Atomic uint64_t head;
    _Atomic uint64_t messages_read;
    _Atomic uint64_t bytes_read;
    /* release line, 512 (bit 0: an MC consumer is advancing it) */
    _Alignas(128) _Atomic uint64_t release_head;
    /* wait line, 640 */
    _Alignas(128) _Atomic uint32_t data_futex;       /* bumped when records are published and a reader sleeps */
    _Atomic uint32_t readers_waiting;
    _Atomic uint32_t space_futex;                    /* bumped when space is released and a writer sleeps */
    _Atomic uint32_t writers_waiting;
    /* slow-path counters, 768 */
    _Alignas(128) _Atomic uint64_t drops;
    _Atomic uint64_t rejects;
    _Atomic uint64_t producer_stalls;
    _Atomic uint64_t consumer_stalls;
    uint8_t reserved_counters[224];
    /* attach table, 1024 */
    ring_attach_slot slots[PSYNE_IPC_MAX_ATTACH];
} ring_ctl;

_Static_assert(sizeof(ring_static) == RING_STATIC_BYTES, "static header is 128 bytes");
_Static_assert(offsetof(ring_static, header_crc) == RING_CRC_OFFSET, "crc is the last word");
_Static_assert(offsetof(ring_ctl, state) == 128, "state line");
_Static_assert(offsetof(ring_ctl, tail) == 256, "producer line");
_Static_assert(offsetof(ring_ctl, head) == 384, "consumer line");
_Static_assert(offsetof(ring_ctl, release_head) == 512, "release line");
_Static_assert(offsetof(ring_ctl, data_futex) == 640, "wait line");
_Static_assert(offsetof(ring_ctl, drops) == 768, "counters");
_Static_assert(offsetof(ring_ctl, slots) == RING_ATTACH_OFFSET, "attach table");
_Static_assert(sizeof(ring_attach_slot) == RING_ATTACH_SLOT_BYTES, "slot size");
_Static_assert(offsetof(ring_ctl, gate) == PSYNE_SEGMENT_GATE_OFFSET, "public offsets (psyne_channel.h)");
_Static_assert(offsetof(ring_ctl, tail) == PSYNE_SEGMENT_TAIL_OFFSET, "public offsets");
_Static_assert(offsetof(ring_ctl, messages_written) == PSYNE_SEGMENT_MESSAGES_WRITTEN_OFFSET, "public offsets");
_Static_assert(offsetof(ring_ctl, bytes_written) == PSYNE_SEGMENT_BYTES_WRITTEN_OFFSET, "public offsets");
_Static_assert(offsetof(ring_ctl, head) == PSYNE_SEGMENT_HEAD_OFFSET, "public offsets");
_Static_assert(offsetof(ring_ctl, messages_read) == PSYNE_SEGMENT_MESSAGES_READ_OFFSET, "public offsets");
_Static_assert(offsetof(ring_ctl, bytes_read) == PSYNE_SEGMENT_BYTES_READ_OFFSET, "public offsets");
_Static_assert(offsetof(ring_ctl, release_head) == PSYNE_SEGMENT_RELEASE_HEAD_OFFSET, "public offsets");
_Static_assert(offsetof(ring_ctl, readers_waiting) == PSYNE_SEGMENT_READERS_WAITING_OFFSET, "public offsets");
_Static_assert(offsetof(ring_ctl, writers_waiting) == PSYNE_SEGMENT_WRITERS_WAITING_OFFSET, "public offsets");
_Static_assert(sizeof(ring_ctl) <= PSYNE_SEGMENT_DATA_OFFSET, "control block fits before the data");

/* A process-local view of a region. */
typedef struct psyne__ring {
    ring_ctl *ctl;
    uint8_t *data;
    uint64_t capacity;
    uint64_t mask;
    uint32_t kind;
    bool mp;        /* several producers: claim by CAS, consumers zero what they release */
    bool mc;        /* several consumers: claim by CAS, release through markers */
    bool wake;      /* the wait policy may sleep: publishers check for sleepers */
    bool fence;     /* ...after a full fence: this process cannot rely on the sleepers' membarrier (ipc/wait.h) */
    const char *label; /* "inproc" or "ipc://name", for messages */
} psyne__ring;

/* Producer-local state a single producer keeps between calls. */
typedef struct psyne__ring_producer {
    uint64_t cached_release;  /* last release_head seen: the "cached opposite position" */
} psyne__ring_producer;

/* Internal outcomes besides psyne_status values. */
enum {
    RING_EMPTY = 100, /* nothing published */
    RING_BUSY = 101   /* a lap of padding skipped and no record yet: call again */
};

/* Fills the static header and zeroes the rest of the control block and the
 * data. region holds PSYNE_SEGMENT_DATA_OFFSET + capacity bytes. */
void psyne__ring_format(void *region, const psyne_channel_options *options, uint32_t flags, int32_t creator_pid,
                        uint64_t creator_start);

/* CRC32C of the static header's first 124 bytes. */
uint32_t psyne__ring_static_crc(const ring_static *st);

/* Checks a static header read from a file of file_bytes (label names it in
 * messages). PSYNE_E_FORMAT with a message when anything is off. */
psyne_status psyne__ring_static_validate(const void *bytes, uint64_t file_bytes, const char *label);

/* Makes a view over a formatted region (whose static header is valid). */
void psyne__ring_view(psyne__ring *ring, void *region, const char *label);

/* The largest payload for a payload alignment (8..PSYNE_RECORD_MAX_ALIGNMENT). */
uint64_t psyne__ring_max_payload(uint64_t capacity, uint32_t alignment);

/* Data path. None of these waits or sets an error message for the expected
 * outcomes (PSYNE_E_FULL, RING_EMPTY); they do for bad arguments and for
 * corruption (PSYNE_E_FORMAT, after which the caller faults the channel). */
int psyne__ring_reserve(psyne__ring *ring, psyne__ring_producer *prod, const uint32_t *sizes, uint32_t count,
                        uint32_t alignment, psyne_reservation *out, uint32_t *reserved);
psyne_status psyne__ring_commit(psyne__ring *ring, const psyne_reservation *res, uint32_t count, int use_fields,
                                uint32_t length, uint16_t type, int abort);
int psyne__ring_read(psyne__ring *ring, psyne_record *out, uint32_t max_count, uint32_t *count);
psyne_status psyne__ring_release(psyne__ring *ring, const psyne_record *records, uint32_t count);

/* Single-record versions: the common case in a few instructions, anything
 * else handed to the general functions above (same results). */
int psyne__ring_reserve_one(psyne__ring *ring, psyne__ring_producer *prod, uint32_t size, uint32_t alignment,
                            psyne_reservation *out);
psyne_status psyne__ring_commit_one(psyne__ring *ring, const psyne_reservation *res, uint32_t length, uint16_t type);
int psyne__ring_read_one(psyne__ring *ring, psyne_record *out);
psyne_status psyne__ring_release_one(psyne__ring *ring, const psyne_record *record);

/* Wakes sleepers of both kinds (bumps both futex words). */
void psyne__ring_wake_all(psyne__ring *ring);

/* Wakes the sleepers of one side (consumers: the data word; else the space word). */
void psyne__ring_wake_side(psyne__ring *ring, bool consumers);

/* Marks the channel faulted (sticky: FAULT_PEER_DIED with the dead pid, or
 * FAULT_CORRUPT) and wakes every sleeper. The first fault wins. */
void psyne__ring_fault(ring_ctl *ctl, uint32_t reason, int32_t pid);

/* Bytes reserved or not yet released. */
uint64_t psyne__ring_used(const psyne__ring *ring);

#endif /* PSYNE_RING_H */
