/*
 * psyne_channel.h - zero-copy channels: the message ring (inproc) and the
 * shared-memory transport (ipc), plus the tensor message header.
 *
 * Included by psyne.h after the core types; do not include it on its own.
 * docs/wire-format.md describes every byte this header's types and the
 * shared segment put in memory. The same rules as psyne.h hold: every call
 * returns a psyne_status, outputs go through pointers, bad input is reported
 * with a thread-local message (psyne_last_error) and never aborts.
 *
 * The model (Aeron log buffer, LMAX ring):
 *   - A channel is a ring of variable-size records in one memory region: the
 *     process heap (inproc) or a shared segment (ipc). A producer reserves
 *     space, fills it in place and commits it; a consumer reads a committed
 *     record in place and releases it. Nothing is copied.
 *   - A record's 8-byte header (length, type, flags) is written last with a
 *     store-release, and read with a load-acquire, so a consumer never sees a
 *     half-written record. Payloads are 8-byte aligned, or aligned to what
 *     the reserve asked for (64 for tensor data; up to
 *     PSYNE_RECORD_MAX_ALIGNMENT).
 *   - Records are delivered in the order they were reserved. A reservation
 *     that is never committed (or aborted) holds back every record after it.
 *
 * Variants (psyne_channel_kind) and which calls may run concurrently:
 *   SPSC  one thread reserves/commits, one thread reads/releases.
 *   MPSC  any number of threads (and processes) reserve/commit; one reads/releases.
 *   SPMC  one thread reserves/commits; any number read/release. Each record
 *         goes to exactly one consumer.
 *   MPMC  any number on both sides.
 * "One thread" means one at a time: calls on one side must not overlap.
 * psyne_channel_stats_get, psyne_channel_info_get, psyne_channel_wake_all and
 * psyne_channel_shutdown may be called from any thread at any time.
 * psyne_channel_close must be the last call on a handle: no other call on
 * that handle may be running or start later. To release threads blocked in a
 * handle before closing it, call psyne_channel_shutdown (or wake_all) first.
 *
 * Statuses the data-path calls return besides PSYNE_OK:
 *   PSYNE_E_TIMEOUT   nothing ready within the timeout (a try is a wait of
 *                     zero: an empty ring gives PSYNE_E_TIMEOUT), or a blocked
 *                     call was released by psyne_channel_wake_all.
 *   PSYNE_E_FULL      no room now (try_reserve), or the full policy is Drop
 *                     (the record is dropped and counted) or Fail.
 *   PSYNE_E_CLOSED    the channel was shut down, or its peer closed or died
 *                     (a consumer gets every committed record first).
 *   PSYNE_E_INVALID_ARGUMENT  a bad argument: a record larger than the ring,
 *                     a token that is not outstanding, a null pointer.
 *   PSYNE_E_FORMAT    a record header or cursor in the ring is corrupt (a
 *                     peer wrote outside its record); the channel is faulted.
 *
 * Cost: the try_, commit and release calls (PSYNE_HOT) are a few loads and
 * stores on the ring's cache lines. They never block and allocate nothing;
 * they make a system call only to wake a peer that sleeps (FUTEX_WAKE) and,
 * on ipc channels, at most every PSYNE_IPC_LIVENESS_INTERVAL_MS to check
 * that the peer processes live (a poll of a pidfd, or kill(pid, 0)). Their
 * "not now" outcomes (PSYNE_E_TIMEOUT from an empty try_read, PSYNE_E_FULL
 * from try_reserve) set a short constant message, so polling stays cheap.
 * Blocking calls spin, yield, then sleep per the channel's psyne_wait_policy.
 * In MPSC and MPMC rings a release also writes zeros over the record (free
 * space must read as zero where several producers claim it), a memset of
 * the record's size; SPSC and SPMC releases write nothing into the ring.
 *
 * Processes: an ipc handle belongs to the process that opened it (a forked
 * child opens its own). Every attached process is watched; one that dies
 * (or exits without closing) faults the channel: producers get
 * PSYNE_E_CLOSED at once, consumers after reading every committed record.
 *
 * Timeouts are in nanoseconds: 0 tries once, UINT64_MAX waits forever (a
 * blocked call still returns when the channel closes, the peer dies or
 * psyne_channel_wake_all is called).
 */
#ifndef PSYNE_CHANNEL_H
#define PSYNE_CHANNEL_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants --------------------------------------------------------- */

enum {
    /* Smallest and largest ring (data region) in bytes; the capacity is a power of two. */
    PSYNE_CHANNEL_MIN_CAPACITY = 4096,
    PSYNE_CHANNEL_MAX_CAPACITY = 1 << 30,
    PSYNE_CHANNEL_DEFAULT_CAPACITY = 1 << 20,
    /* Defaults of psyne_channel_options_init. */
    PSYNE_CHANNEL_DEFAULT_SPIN_COUNT = 2000,
    PSYNE_CHANNEL_DEFAULT_YIELD_COUNT = 50,
    /* Every record starts with this header; records start at multiples of PSYNE_RECORD_ALIGNMENT. */
    PSYNE_RECORD_HEADER_BYTES = 8,
    PSYNE_RECORD_ALIGNMENT = 8,
    /* Largest payload alignment a reserve may ask for (a power of two). */
    PSYNE_RECORD_MAX_ALIGNMENT = 1024,
    /* Payload alignment for tensor data (psyne_tensor_header). */
    PSYNE_TENSOR_ALIGNMENT = 64,
    /* The largest payload a channel of capacity C takes with payload alignment
     * A (8 <= A): C - 2 * PSYNE_RECORD_HEADER_BYTES - (A - 8). One header
     * belongs to the record, the other is the slot the next record's header
     * takes. psyne_channel_info_get reports it for A = 8. */

    /* The shared segment (docs/wire-format.md). */
    PSYNE_SEGMENT_MAGIC = 0x43595350,      /* the bytes 'P' 'S' 'Y' 'C' read as a little-endian uint32 */
    PSYNE_SEGMENT_LAYOUT_VERSION = 1,      /* the only layout this library reads and writes */
    PSYNE_SEGMENT_DATA_OFFSET = 4096,      /* the ring data starts here; the control block is before it */
    PSYNE_IPC_NAME_MAX = 100,              /* longest ipc name, in bytes */
    PSYNE_IPC_MAX_ATTACH = 16,             /* handles (across all processes) attached to one segment at once */
    PSYNE_IPC_LIVENESS_INTERVAL_MS = 50,   /* how often a handle checks that its peers live */
    PSYNE_IPC_WAIT_SLICE_MS = 50,          /* longest single sleep of a blocked call, between liveness checks */

    /* Byte offsets of the words a single-producer / single-consumer data path
     * touches in a channel's control block (docs/wire-format.md, section 1),
     * for code that implements that path on the layout itself
     * (psyne_channel_region_get). */
    PSYNE_SEGMENT_GATE_OFFSET = 132,             /* u32: non-zero once anything ended (closed, faulted) */
    PSYNE_SEGMENT_TAIL_OFFSET = 256,             /* u64 cursors and counters */
    PSYNE_SEGMENT_MESSAGES_WRITTEN_OFFSET = 264,
    PSYNE_SEGMENT_BYTES_WRITTEN_OFFSET = 272,
    PSYNE_SEGMENT_HEAD_OFFSET = 384,
    PSYNE_SEGMENT_MESSAGES_READ_OFFSET = 392,
    PSYNE_SEGMENT_BYTES_READ_OFFSET = 400,
    PSYNE_SEGMENT_RELEASE_HEAD_OFFSET = 512,
    PSYNE_SEGMENT_READERS_WAITING_OFFSET = 644,  /* u32 sleeper counts */
    PSYNE_SEGMENT_WRITERS_WAITING_OFFSET = 652,
    /* Record header word (u64): length in bits 0..31, type 32..47, flags 48..55, skip 56..63. */
    PSYNE_RECORD_FLAG_COMMITTED = 1,
    PSYNE_RECORD_FLAG_PADDING = 2,
    PSYNE_RECORD_FLAG_RELEASED = 4,
    PSYNE_RECORD_MAX_SKIP = 127                  /* alignment padding after the header, in 8-byte units */
};

/* ---- types ------------------------------------------------------------- */

/* A channel endpoint. Opaque; free with psyne_channel_close. An inproc handle
 * is shared by every thread that uses the channel; an ipc handle is one
 * process's attachment to a shared segment. */
typedef struct psyne_channel psyne_channel;

typedef enum psyne_channel_kind {
    PSYNE_CHANNEL_SPSC = 0, /* single producer, single consumer */
    PSYNE_CHANNEL_MPSC = 1, /* multiple producers, single consumer */
    PSYNE_CHANNEL_SPMC = 2, /* single producer, multiple consumers (each record to one) */
    PSYNE_CHANNEL_MPMC = 3  /* multiple producers, multiple consumers */
} psyne_channel_kind;

/* What a blocking call does while it waits. Each phase re-checks the ring;
 * producers and consumers make a system call to wake a peer only when the
 * peer announced that it sleeps, so a peer that keeps up costs no system call. */
typedef enum psyne_wait_policy {
    PSYNE_WAIT_SPIN = 0,  /* busy-poll with a pause instruction; lowest latency, burns a core */
    PSYNE_WAIT_YIELD = 1, /* spin_count polls, then sched_yield between polls */
    PSYNE_WAIT_FUTEX = 2  /* spin, yield_count yields, then sleep on a futex word in the
                             shared header (Linux; a short-sleep backoff elsewhere) */
} psyne_wait_policy;

/* What a producer gets when the ring has no room for its record. */
typedef enum psyne_full_policy {
    PSYNE_FULL_BLOCK = 0, /* psyne_channel_reserve waits (up to its timeout); try_reserve gives PSYNE_E_FULL */
    PSYNE_FULL_DROP = 1,  /* PSYNE_E_FULL at once; the record is counted in psyne_channel_stats.drops */
    PSYNE_FULL_FAIL = 2   /* PSYNE_E_FULL at once; counted in psyne_channel_stats.rejects */
} psyne_full_policy;

/* Which side(s) an ipc handle takes. Peer liveness and "closed" are judged per role. */
typedef enum psyne_channel_role {
    PSYNE_ROLE_PRODUCER = 1,
    PSYNE_ROLE_CONSUMER = 2,
    PSYNE_ROLE_BOTH = 3 /* inproc handles are always BOTH */
} psyne_channel_role;

typedef enum psyne_channel_flags {
    PSYNE_CHANNEL_HUGE_PAGES = 1 << 0 /* inproc: back the ring with huge pages where the system allows */
} psyne_channel_flags;

typedef enum psyne_channel_transport {
    PSYNE_TRANSPORT_INPROC = 0,
    PSYNE_TRANSPORT_IPC = 1
} psyne_channel_transport;

typedef enum psyne_channel_state {
    PSYNE_CHANNEL_OPEN = 0,
    PSYNE_CHANNEL_CLOSED = 1,  /* shut down, or every peer closed cleanly */
    PSYNE_CHANNEL_FAULTED = 2  /* a peer process died or the ring is corrupt; see fault_pid */
} psyne_channel_state;

/* Channel settings. Start from psyne_channel_options_init. */
typedef struct psyne_channel_options {
    int32_t kind;          /* psyne_channel_kind */
    int32_t full_policy;   /* psyne_full_policy */
    int32_t wait_policy;   /* psyne_wait_policy */
    uint32_t spin_count;   /* polls before the next phase (YIELD, FUTEX) */
    uint32_t yield_count;  /* sched_yield calls before sleeping (FUTEX) */
    uint32_t flags;        /* psyne_channel_flags */
    uint64_t capacity;     /* bytes of ring data: a power of two in [MIN, MAX]_CAPACITY */
    uint64_t reserved[2];  /* must be 0 */
} psyne_channel_options;

/* Space a producer may fill. The payload is written at data; nothing is
 * visible to consumers before psyne_channel_commit. */
typedef struct psyne_reservation {
    void *data;         /* capacity writable bytes, aligned as requested */
    uint32_t capacity;  /* bytes reserved (the size asked for) */
    uint32_t length;    /* commit_batch only: bytes to commit; reserve sets it to capacity */
    uint16_t type;      /* commit_batch only: the record type; reserve sets it to 0 */
    uint16_t reserved0;
    uint32_t reserved1;
    uint64_t token;     /* identifies the reservation; pass it back unchanged */
} psyne_reservation;

/* A committed record. data stays valid and unchanged until the record is
 * released; then the space may be reused at once. */
typedef struct psyne_record {
    const void *data;   /* length payload bytes, aligned as the producer asked */
    uint32_t length;
    uint16_t type;      /* the producer's record type */
    uint16_t reserved0;
    uint64_t token;     /* identifies the record; pass it back unchanged to release */
} psyne_record;

/* Counters, shared by every handle of a channel (ipc: by every process).
 * Each is updated just after the operation it counts, so a snapshot taken
 * meanwhile (or after a producer died mid-commit) may lag by a record. */
typedef struct psyne_channel_stats {
    uint64_t messages_written; /* records committed (aborted reservations not counted) */
    uint64_t bytes_written;    /* payload bytes committed */
    uint64_t messages_read;    /* records handed to consumers */
    uint64_t bytes_read;       /* payload bytes handed to consumers */
    uint64_t drops;            /* records refused under PSYNE_FULL_DROP */
    uint64_t rejects;          /* PSYNE_E_FULL returned under PSYNE_FULL_FAIL */
    uint64_t producer_stalls;  /* blocking reserve calls that slept (futex or backoff sleep) */
    uint64_t consumer_stalls;  /* blocking read calls that slept */
    uint64_t used_bytes;       /* ring bytes reserved or unreleased now (a snapshot) */
    uint64_t capacity;         /* ring data bytes */
} psyne_channel_stats;

/* What a handle is attached to. */
typedef struct psyne_channel_info {
    uint64_t capacity;       /* ring data bytes */
    uint32_t max_payload;    /* largest payload with the default alignment (8) */
    int32_t kind;            /* psyne_channel_kind */
    int32_t full_policy;     /* psyne_full_policy */
    int32_t wait_policy;     /* psyne_wait_policy */
    uint32_t spin_count;
    uint32_t yield_count;
    int32_t transport;       /* psyne_channel_transport */
    int32_t role;            /* psyne_channel_role of this handle */
    int32_t state;           /* psyne_channel_state now */
    int32_t fault_pid;       /* FAULTED by a dead process: its pid; else 0 */
    int32_t creator_pid;     /* the process that created the channel */
    uint32_t attached;       /* ipc: handles attached now (every process); inproc: 1 */
    int32_t alloc_kind;      /* inproc: psyne_alloc_kind of the ring; ipc: -1 */
    uint32_t reserved0;
    char name[104];          /* ipc: the name (NUL-terminated); inproc: "" */
} psyne_channel_info;

/* ---- channels ---------------------------------------------------------- */

/* Defaults: SPSC, PSYNE_CHANNEL_DEFAULT_CAPACITY, PSYNE_FULL_BLOCK,
 * PSYNE_WAIT_FUTEX with the default spin and yield counts, no flags. */
PSYNE_API psyne_status psyne_channel_options_init(psyne_channel_options *out);

/* Creates a channel in this process's heap (psyne_alloc). Every thread of the
 * process uses the same handle. Allocates capacity + 4 KiB once. */
PSYNE_API psyne_status psyne_channel_create_inproc(const psyne_channel_options *options, psyne_channel **out);

/* Creates the shared segment for ipc://name (shm_open "/psyne-<uid>-<name>",
 * mode 0600, O_EXCL) and attaches to it with role. Names are 1 to
 * PSYNE_IPC_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '.'.
 * A segment of that name left by processes that all died is replaced; one in
 * use by a live process gives PSYNE_E_INVALID_ARGUMENT naming its pid; a file
 * that is not a psyne segment gives PSYNE_E_FORMAT (psyne_ipc_unlink removes it). */
PSYNE_API psyne_status psyne_channel_create_ipc(const char *name, const psyne_channel_options *options, int32_t role,
                                                psyne_channel **out);

/* Attaches to an existing segment with role. PSYNE_E_NOT_FOUND when none
 * exists; PSYNE_E_FORMAT when the file is not a segment this library reads
 * (wrong magic, layout version, checksum or sizes); PSYNE_E_FULL when
 * PSYNE_IPC_MAX_ATTACH handles are attached, or the role is taken on a
 * single-producer/-consumer side by a live process. A segment whose
 * processes all died opens FAULTED: a consumer drains what was committed,
 * then gets PSYNE_E_CLOSED. */
PSYNE_API psyne_status psyne_channel_open_ipc(const char *name, int32_t role, psyne_channel **out);

/* Shuts the channel down as psyne_channel_shutdown does (inproc: for every
 * user; ipc: for this handle's role, and the segment is removed when its last
 * handle closes), then frees the handle. channel may be NULL. Must not run
 * concurrently with any other call on the handle. */
PSYNE_API psyne_status psyne_channel_close(psyne_channel *channel);

/* Ends the channel for writing: inproc, or an ipc handle whose role includes
 * PRODUCER: reserves fail with PSYNE_E_CLOSED, consumers read what was
 * committed, then get PSYNE_E_CLOSED. An ipc consumer-only handle: producers
 * get PSYNE_E_CLOSED when no consumer is left. Wakes every blocked call.
 * The handle stays valid (close it later). Thread-safe, idempotent. */
PSYNE_API psyne_status psyne_channel_shutdown(psyne_channel *channel);

/* Makes every call blocked in this handle return PSYNE_E_TIMEOUT now (the
 * channel is unchanged); calls that start later wait normally. For managed
 * cancellation: register wake_all on the token. Thread-safe. */
PSYNE_API psyne_status psyne_channel_wake_all(psyne_channel *channel);

/* Reserves size bytes (0 allowed) with the payload aligned to alignment (0
 * means 8; else a power of two up to PSYNE_RECORD_MAX_ALIGNMENT). Never
 * waits: PSYNE_E_FULL when there is no room now (counted as a drop or reject
 * under those policies). A size larger than the ring can ever hold gives
 * PSYNE_E_INVALID_ARGUMENT naming both sizes. */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_try_reserve(psyne_channel *channel, uint32_t size, uint32_t alignment,
                                                           psyne_reservation *out);

/* As try_reserve, but under PSYNE_FULL_BLOCK waits up to timeout_ns for room
 * (PSYNE_E_TIMEOUT after). Drop and Fail never wait. */
PSYNE_API psyne_status psyne_channel_reserve(psyne_channel *channel, uint32_t size, uint32_t alignment,
                                             uint64_t timeout_ns, psyne_reservation *out);

/* Publishes a reservation as a record of length bytes (length <= capacity;
 * the rest of the reservation is given back) and type. Wakes a sleeping
 * consumer. Each reservation is committed or aborted exactly once. */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_commit(psyne_channel *channel, const psyne_reservation *reservation,
                                                      uint32_t length, uint16_t type);

/* Gives a reservation back unpublished (consumers never see it). */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_abort(psyne_channel *channel, const psyne_reservation *reservation);

/* Takes the next committed record, or PSYNE_E_TIMEOUT when none is ready.
 * After a shutdown or a dead peer, PSYNE_E_CLOSED once the ring is drained. */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_try_read(psyne_channel *channel, psyne_record *out);

/* As try_read, waiting up to timeout_ns. */
PSYNE_API psyne_status psyne_channel_read(psyne_channel *channel, uint64_t timeout_ns, psyne_record *out);

/* Gives a record's space back to producers. Records may be released in any
 * order; space is reused in ring order, once every earlier record is released. */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_release(psyne_channel *channel, const psyne_record *record);

/* Batch calls: one cursor update, one wake-up check and one counter update
 * for the whole batch. */

/* Reserves count records of sizes[i] bytes, all with the same alignment, in
 * ring order: as many as fit now (at least 1, else PSYNE_E_FULL), written to
 * out[0 .. *reserved). A batch never wraps around the ring halfway through
 * unless it has to, and then fewer may be reserved. */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_try_reserve_batch(psyne_channel *channel, const uint32_t *sizes,
                                                                 uint32_t count, uint32_t alignment,
                                                                 psyne_reservation *out, uint32_t *reserved);

/* As try_reserve_batch, waiting up to timeout_ns until at least one fits. */
PSYNE_API psyne_status psyne_channel_reserve_batch(psyne_channel *channel, const uint32_t *sizes, uint32_t count,
                                                   uint32_t alignment, uint64_t timeout_ns,
                                                   psyne_reservation *out, uint32_t *reserved);

/* Commits count reservations, each with its own length and type fields. */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_commit_batch(psyne_channel *channel,
                                                            const psyne_reservation *reservations, uint32_t count);

/* Takes up to max_count committed records (at least 1, else PSYNE_E_TIMEOUT
 * or PSYNE_E_CLOSED as try_read) into out[0 .. *count). */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_try_read_batch(psyne_channel *channel, uint32_t max_count,
                                                              psyne_record *out, uint32_t *count);

/* As try_read_batch, waiting up to timeout_ns for the first record. */
PSYNE_API psyne_status psyne_channel_read_batch(psyne_channel *channel, uint32_t max_count, uint64_t timeout_ns,
                                                psyne_record *out, uint32_t *count);

/* Releases count records. */
PSYNE_API PSYNE_HOT psyne_status psyne_channel_release_batch(psyne_channel *channel, const psyne_record *records,
                                                             uint32_t count);

/* Counters (a consistent-enough snapshot: each field is read atomically). */
PSYNE_API psyne_status psyne_channel_stats_get(psyne_channel *channel, psyne_channel_stats *out);

PSYNE_API psyne_status psyne_channel_info_get(psyne_channel *channel, psyne_channel_info *out);

/* Where a channel's region lies in this process, for code that implements
 * the SPSC data path on the documented layout itself (Psyne's .NET binding
 * does, to save the call per operation). Such code must keep every rule of
 * docs/wire-format.md: single producer and single consumer, zero ahead, the
 * header published last with release semantics, the bounds checks, and the
 * wake-up handshake given by flags. Anything unusual (padding, a wrap, a full
 * or empty ring, an out-of-order release, a closed gate) goes through the
 * calls above. The pointer stays valid until psyne_channel_close. */
typedef struct psyne_channel_region {
    uint8_t *base;      /* the control block; the ring data starts at base + PSYNE_SEGMENT_DATA_OFFSET */
    uint64_t capacity;  /* bytes of ring data, a power of two */
    int32_t kind;       /* psyne_channel_kind */
    uint32_t flags;     /* PSYNE_REGION_* */
} psyne_channel_region;

enum {
    /* After publishing a record or releasing space, a publisher loads the
     * sleeper count of the other side (readers_waiting after a commit,
     * writers_waiting after a release) and calls psyne_channel_wake when it
     * is not 0. Set for the futex wait policy on Linux. */
    PSYNE_REGION_WAKE = 1,
    /* ...with a full fence between the publishing store and that load. When
     * clear (this process is registered for membarrier, whose barrier the
     * sleepers make), a compiler barrier is enough. */
    PSYNE_REGION_FENCE = 2
};

PSYNE_API psyne_status psyne_channel_region_get(psyne_channel *channel, psyne_channel_region *out);

/* Hands the memory of a channel's region to the caller: the heap block of an
 * inproc channel, or this handle's whole mapping of an ipc segment.
 * psyne_channel_close then leaves it allocated (an ipc handle still detaches
 * and closes its file), and the caller frees it with psyne_free once none of
 * its own code can still touch it. A data path outside libpsyne can then run
 * without telling the closer when it is inside a call (Psyne's .NET binding
 * frees the region when the garbage collector finds no call can reach it).
 * The region stays where psyne_channel_region_get said.
 * PSYNE_E_INVALID_ARGUMENT if the region was taken already. */
PSYNE_API psyne_status psyne_channel_region_take(psyne_channel *channel, psyne_allocation *out);

/* Wakes the sleepers of one side: consumers (which wait for records) when
 * consumers is non-zero, else producers (which wait for space). For data
 * paths outside libpsyne that found a sleeper count non-zero; costs a system
 * call. */
PSYNE_API psyne_status psyne_channel_wake(psyne_channel *channel, int32_t consumers);

/* ---- ipc segments ------------------------------------------------------ */

/* Removes the segment ipc://name (whatever its contents) so that the name can
 * be created afresh. Processes still attached keep their mapping. Use it for
 * a segment a crashed process left behind. PSYNE_E_NOT_FOUND if none. */
PSYNE_API psyne_status psyne_ipc_unlink(const char *name);

/* Writes the file system path of ipc://name ("/dev/shm/psyne-<uid>-<name>" on
 * Linux), NUL-terminated, to out (capacity bytes). For tools and tests. */
PSYNE_API psyne_status psyne_ipc_segment_path(const char *name, char *out, uint32_t capacity);

/* ---- tensor messages --------------------------------------------------- */
/*
 * A tensor record's payload is a psyne_tensor_header (PSYNE_TENSOR_HEADER_BYTES,
 * little-endian) followed by its data at data_offset (a multiple of 64 from the
 * header). Reserve the record with alignment PSYNE_TENSOR_ALIGNMENT so the data
 * is 64-byte aligned in memory. Dense tensors: strides are in elements, never
 * negative; the data holds every element the shape and strides address.
 * Packed ternary (PSYNE_DTYPE_TERNARY2) is laid out as libpsyne's packed
 * ternary matrices: 2 bits per weight, the last dimension padded to blocks of
 * PSYNE_TENSOR_TERNARY_BLOCK_ELEMENTS weights of PSYNE_TENSOR_TERNARY_BLOCK_BYTES
 * bytes; its strides are 0. CSR tensors (flag PSYNE_TENSOR_CSR) are rank 2:
 * indptr (rows + 1 indices), indices (nnz) and values (nnz elements), each at
 * its own 64-byte aligned offset inside the data.
 */

enum {
    PSYNE_TENSOR_MAGIC = 0x4E545350,  /* the bytes 'P' 'S' 'T' 'N' read as a little-endian uint32 */
    PSYNE_TENSOR_VERSION = 1,         /* the only version this library reads and writes */
    PSYNE_TENSOR_HEADER_BYTES = 256,
    PSYNE_TENSOR_MAX_RANK = 8,
    PSYNE_TENSOR_TERNARY_BLOCK_ELEMENTS = 256,
    PSYNE_TENSOR_TERNARY_BLOCK_BYTES = 64
};

typedef enum psyne_dtype {
    PSYNE_DTYPE_INVALID = 0,
    PSYNE_DTYPE_F32 = 1,
    PSYNE_DTYPE_F16 = 2,      /* IEEE 754 binary16 */
    PSYNE_DTYPE_BF16 = 3,     /* bfloat16 */
    PSYNE_DTYPE_F64 = 4,
    PSYNE_DTYPE_I8 = 5,
    PSYNE_DTYPE_U8 = 6,
    PSYNE_DTYPE_I32 = 7,
    PSYNE_DTYPE_I64 = 8,
    PSYNE_DTYPE_TERNARY2 = 9  /* packed ternary weights, 2 bits each (see above) */
} psyne_dtype;

/* What the axes mean. Strides decide where elements are; the layout names
 * the axis order (NCHW: shape is [N, C, H, W]; NHWC: [N, H, W, C]). */
typedef enum psyne_tensor_layout {
    PSYNE_LAYOUT_ROW_MAJOR = 0, /* C order: the last index varies fastest */
    PSYNE_LAYOUT_COL_MAJOR = 1, /* Fortran order: the first index varies fastest */
    PSYNE_LAYOUT_NCHW = 2,      /* rank 4, row-major strides */
    PSYNE_LAYOUT_NHWC = 3,      /* rank 4, row-major strides */
    PSYNE_LAYOUT_STRIDED = 4    /* any non-negative strides (a view) */
} psyne_tensor_layout;

typedef enum psyne_tensor_flags {
    PSYNE_TENSOR_QUANTIZED = 1 << 0, /* real = scale * (stored - zero_point) */
    PSYNE_TENSOR_CSR = 1 << 1        /* compressed sparse rows: nnz and the three offsets are set */
} psyne_tensor_flags;

/* PSYNE_TENSOR_HEADER_BYTES bytes; every field little-endian; docs/wire-format.md. */
typedef struct psyne_tensor_header {
    uint32_t magic;          /* PSYNE_TENSOR_MAGIC */
    uint16_t version;        /* PSYNE_TENSOR_VERSION */
    uint16_t header_bytes;   /* PSYNE_TENSOR_HEADER_BYTES */
    uint8_t dtype;           /* psyne_dtype of the elements (CSR: of the values) */
    uint8_t rank;            /* 0 (a scalar) to PSYNE_TENSOR_MAX_RANK */
    uint8_t layout;          /* psyne_tensor_layout */
    uint8_t flags;           /* psyne_tensor_flags */
    uint8_t index_dtype;     /* CSR: PSYNE_DTYPE_I32 or PSYNE_DTYPE_I64; else 0 */
    uint8_t reserved0[3];    /* 0 */
    uint64_t shape[8];       /* shape[0 .. rank); the rest 0. Zero-size dimensions are allowed */
    int64_t strides[8];      /* in elements, strides[0 .. rank); the rest 0 */
    double scale;            /* QUANTIZED: finite and non-zero; else 0 */
    int64_t zero_point;      /* QUANTIZED: the stored value of real 0; else 0 */
    uint64_t data_offset;    /* bytes from the header's first byte to the data; a multiple of 64 */
    uint64_t data_bytes;     /* bytes of data; the record is exactly data_offset + data_bytes long */
    uint64_t nnz;            /* CSR: stored entries; else 0 */
    uint64_t indptr_offset;  /* CSR: from the header's first byte; multiples of 64; else 0 */
    uint64_t indices_offset;
    uint64_t values_offset;
    uint8_t reserved1[48];   /* 0 */
} psyne_tensor_header;

/* Fills a dense tensor header: strides for the layout (row-major for
 * ROW_MAJOR, NCHW, NHWC and STRIDED; column-major for COL_MAJOR; 0 for
 * TERNARY2), data_offset = PSYNE_TENSOR_HEADER_BYTES and data_bytes.
 * PSYNE_E_INVALID_ARGUMENT for an unknown dtype or layout, a rank over 8, a
 * layout whose rank does not match, or a size that overflows 64 bits. The
 * record to reserve is psyne_tensor_record_bytes. Set scale and zero_point
 * (and the QUANTIZED flag) afterwards if the values are quantised. */
PSYNE_API psyne_status psyne_tensor_header_init(psyne_tensor_header *out, int32_t dtype, uint32_t rank,
                                                const uint64_t *shape, int32_t layout);

/* Fills a CSR header for a rows x cols matrix with nnz entries of dtype and
 * indices of index_dtype (PSYNE_DTYPE_I32 or PSYNE_DTYPE_I64). */
PSYNE_API psyne_status psyne_tensor_header_init_csr(psyne_tensor_header *out, int32_t dtype, int32_t index_dtype,
                                                    uint64_t rows, uint64_t cols, uint64_t nnz);

/* data_offset + data_bytes: the record length for this header. */
PSYNE_API psyne_status psyne_tensor_record_bytes(const psyne_tensor_header *header, uint64_t *out);

/* Checks a received tensor record of length bytes and points *out at its
 * header. Every field is checked against the record's bounds before use:
 * PSYNE_E_FORMAT (with what was expected and found) for a wrong magic or
 * version, an unknown dtype/layout/flag, a rank over 8, a shape whose size
 * overflows, strides that address bytes outside the data, a data_offset not a
 * multiple of 64, a data length that disagrees with the record length, CSR
 * arrays that overlap or fall outside the data, or non-zero reserved bytes.
 * PSYNE_E_INVALID_ARGUMENT for a NULL pointer or a record not 8-byte aligned.
 * Reads only the header (not the CSR arrays' contents). */
PSYNE_API psyne_status psyne_tensor_validate(const void *record, size_t length, const psyne_tensor_header **out);

/* Bytes per element of dtype (TERNARY2: 0, it is sub-byte). 0 for an unknown dtype. */
PSYNE_API PSYNE_HOT uint32_t psyne_dtype_size(int32_t dtype);

/* "f32", "f16", "bf16", "f64", "i8", "u8", "i32", "i64", "ternary2"; "invalid" otherwise. Static storage. */
PSYNE_API const char *psyne_dtype_name(int32_t dtype);

#ifdef __cplusplus
}
#endif

#endif /* PSYNE_CHANNEL_H */
