/*
 * segment.c - create, open, attach, detach and remove ipc segments (segment.h).
 */
#include "ipc/segment.h"

#include "ipc/wait.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#  include <fcntl.h>
#  include <sys/file.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <unistd.h>
#  define PSYNE_HAVE_SHM 1
#else
#  define PSYNE_HAVE_SHM 0
#endif

#define RLX memory_order_relaxed
#define ACQ memory_order_acquire
#define REL memory_order_release
#define SEQ memory_order_seq_cst

enum { STALE_RETRIES = 3, EMPTY_WAIT_MS = 500 };

/* ---- names ------------------------------------------------------------------ */

psyne_status psyne__ipc_parse_name(const char *name, const char *function, char *out)
{
    if (!name) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: name must not be NULL", function);
    const char *bare = strncmp(name, "ipc://", 6) == 0 ? name + 6 : name;
    const size_t n = strlen(bare);
    if (n == 0 || n > PSYNE_IPC_NAME_MAX)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "%s: ipc name '%.120s' is %zu bytes long; names are 1 to %d bytes of [A-Za-z0-9._-]",
                           function, name, n, (int)PSYNE_IPC_NAME_MAX);
    if (bare[0] == '.')
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "%s: ipc name '%s' must not start with '.'", function, bare);
    for (size_t i = 0; i < n; i++) {
        const unsigned char ch = (unsigned char)bare[i];
        const int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                       ch == '_' || ch == '-';
        if (!ok)
            return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                               "%s: ipc name '%.120s' has the character 0x%02x at offset %zu; names use only "
                               "[A-Za-z0-9._-]",
                               function, bare, (unsigned)ch, i);
    }
    memcpy(out, bare, n + 1);
    return PSYNE_OK;
}

#if PSYNE_HAVE_SHM

static void shm_name(const char *bare, char *out, size_t size)
{
    snprintf(out, size, "/psyne-%u-%s", (unsigned)geteuid(), bare);
}

psyne_status psyne_ipc_segment_path(const char *name, char *out, uint32_t capacity)
{
    psyne__clear_error();
    char bare[PSYNE_IPC_NAME_MAX + 1];
    psyne_status s = psyne__ipc_parse_name(name, "psyne_ipc_segment_path", bare);
    if (s != PSYNE_OK) return s;
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_ipc_segment_path: out must not be NULL");
    char shm[PSYNE_IPC_NAME_MAX + 32];
    shm_name(bare, shm, sizeof shm);
#  if defined(__linux__)
    const int n = snprintf(out, capacity, "/dev/shm%s", shm);
#  else
    const int n = snprintf(out, capacity, "%s", shm);
#  endif
    if (n < 0 || (uint32_t)n >= capacity)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_ipc_segment_path: the path needs %d bytes, capacity is %u",
                           n + 1, (unsigned)capacity);
    return PSYNE_OK;
}

psyne_status psyne_ipc_unlink(const char *name)
{
    psyne__clear_error();
    char bare[PSYNE_IPC_NAME_MAX + 1], shm[PSYNE_IPC_NAME_MAX + 32];
    psyne_status s = psyne__ipc_parse_name(name, "psyne_ipc_unlink", bare);
    if (s != PSYNE_OK) return s;
    shm_name(bare, shm, sizeof shm);
    if (shm_unlink(shm) != 0) {
        if (errno == ENOENT) return psyne__fail(PSYNE_E_NOT_FOUND, "psyne_ipc_unlink: no segment 'ipc://%s'", bare);
        return psyne__fail(PSYNE_E_IO, "psyne_ipc_unlink: cannot remove segment 'ipc://%s' (%s): %s", bare, shm,
                           strerror(errno));
    }
    return PSYNE_OK;
}

/* ---- locking ------------------------------------------------------------------ */

static void lock_fd(int fd)
{
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
    }
}

static void unlock_fd(int fd)
{
    flock(fd, LOCK_UN);
}

/* ---- attach table (the caller holds the lock) ---------------------------------- */

static ring_ctl *ctl_of(const psyne__ipc *ipc)
{
    return (ring_ctl *)ipc->map;
}

/* Undoes a slot's role in the producer/consumer counts and the gate. */
static void drop_role(ring_ctl *c, int32_t role)
{
    if (role & PSYNE_ROLE_PRODUCER) {
        if (atomic_fetch_sub_explicit(&c->producers, 1, SEQ) == 1)
            atomic_fetch_or_explicit(&c->gate, GATE_WRITE_CLOSED, SEQ);
    }
    if (role & PSYNE_ROLE_CONSUMER) {
        if (atomic_fetch_sub_explicit(&c->consumers, 1, SEQ) == 1)
            atomic_fetch_or_explicit(&c->gate, GATE_READ_CLOSED, SEQ);
    }
}

/* Frees the slots of processes that died (each faults the channel). */
static void sweep_dead(psyne__ipc *ipc)
{
    ring_ctl *c = ctl_of(ipc);
    for (int i = 0; i < PSYNE_IPC_MAX_ATTACH; i++) {
        ring_attach_slot *sl = &c->slots[i];
        const uint32_t st = atomic_load_explicit(&sl->state, ACQ);
        if (st != SLOT_ACTIVE && st != SLOT_SHUT) continue;
        const int32_t pid = atomic_load_explicit(&sl->pid, RLX);
        const uint64_t ns = atomic_load_explicit(&sl->pid_ns, RLX);
        if (pid == ipc->pid && ns == ipc->pid_ns) continue;
        if (ns && ipc->pid_ns && ns != ipc->pid_ns) continue; /* another pid namespace: cannot tell */
        if (psyne__process_alive(pid, atomic_load_explicit(&sl->start_time, RLX), 0, NULL, 1)) continue;
        psyne__ring_fault(c, FAULT_PEER_DIED, pid);
        if (st == SLOT_ACTIVE) drop_role(c, atomic_load_explicit(&sl->role, RLX));
        atomic_store_explicit(&sl->state, SLOT_FREE, REL);
        atomic_fetch_sub_explicit(&c->attached, 1, SEQ);
    }
}

static psyne_status attach(psyne__ipc *ipc, int32_t role)
{
    ring_ctl *c = ctl_of(ipc);
    sweep_dead(ipc);
    const int sp = c->st.kind == PSYNE_CHANNEL_SPSC || c->st.kind == PSYNE_CHANNEL_SPMC;
    const int sc = c->st.kind == PSYNE_CHANNEL_SPSC || c->st.kind == PSYNE_CHANNEL_MPSC;
    int free_slot = -1;
    for (int i = 0; i < PSYNE_IPC_MAX_ATTACH; i++) {
        ring_attach_slot *sl = &c->slots[i];
        const uint32_t st = atomic_load_explicit(&sl->state, ACQ);
        if (st == SLOT_FREE) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (st != SLOT_ACTIVE) continue;
        const int32_t other = atomic_load_explicit(&sl->role, RLX);
        const int producer_clash = sp && (role & other & PSYNE_ROLE_PRODUCER);
        const int consumer_clash = sc && (role & other & PSYNE_ROLE_CONSUMER);
        if (producer_clash || consumer_clash) {
            const char *side = producer_clash ? "producer" : "consumer";
            return psyne__fail(PSYNE_E_FULL,
                               "channel '%s' is single-%s and pid %d is attached as its %s; close that handle "
                               "first, or create the channel with a multi-%s kind",
                               ipc->label, side, (int)atomic_load_explicit(&sl->pid, RLX), side, side);
        }
    }
    if (free_slot < 0)
        return psyne__fail(PSYNE_E_FULL, "channel '%s' already has %d handles attached, the most a segment takes",
                           ipc->label, (int)PSYNE_IPC_MAX_ATTACH);
    ring_attach_slot *sl = &c->slots[free_slot];
    const uint32_t epoch = atomic_fetch_add_explicit(&c->attach_epoch, 1, SEQ) + 1;
    atomic_store_explicit(&sl->role, role, RLX);
    atomic_store_explicit(&sl->pid, ipc->pid, RLX);
    atomic_store_explicit(&sl->epoch, epoch, RLX);
    atomic_store_explicit(&sl->start_time, psyne__process_start_time(ipc->pid), RLX);
    atomic_store_explicit(&sl->pid_ns, ipc->pid_ns, RLX);
    atomic_store_explicit(&sl->heartbeat, 0, RLX);
    atomic_store_explicit(&sl->state, SLOT_ACTIVE, REL);
    atomic_fetch_add_explicit(&c->attached, 1, SEQ);
    if (role & PSYNE_ROLE_PRODUCER) {
        atomic_fetch_add_explicit(&c->producers, 1, SEQ);
        atomic_fetch_add_explicit(&c->producers_ever, 1, SEQ);
        atomic_fetch_and_explicit(&c->gate, ~(uint32_t)GATE_WRITE_CLOSED, SEQ);
    }
    if (role & PSYNE_ROLE_CONSUMER) {
        atomic_fetch_add_explicit(&c->consumers, 1, SEQ);
        atomic_fetch_add_explicit(&c->consumers_ever, 1, SEQ);
        atomic_fetch_and_explicit(&c->gate, ~(uint32_t)GATE_READ_CLOSED, SEQ);
    }
    ipc->slot = free_slot;
    ipc->slot_epoch = epoch;
    ipc->role = role;
    return PSYNE_OK;
}

/* ---- create / open ------------------------------------------------------------- */

static void ipc_init(psyne__ipc *ipc, const char *bare)
{
    memset(ipc, 0, sizeof *ipc);
    ipc->fd = -1;
    ipc->slot = -1;
    ipc->pid = psyne__process_self();
    ipc->pid_ns = psyne__process_pid_namespace();
    snprintf(ipc->name, sizeof ipc->name, "%s", bare);
    snprintf(ipc->label, sizeof ipc->label, "ipc://%s", bare);
    for (int i = 0; i < PSYNE_IPC_MAX_ATTACH; i++) psyne__process_watch_init(&ipc->watch[i]);
}

static void ipc_release(psyne__ipc *ipc)
{
    if (ipc->map && !ipc->map_taken) munmap(ipc->map, (size_t)ipc->map_bytes);
    if (ipc->fd >= 0) close(ipc->fd);
    for (int i = 0; i < PSYNE_IPC_MAX_ATTACH; i++) psyne__process_watch_close(&ipc->watch[i]);
    ipc->map = NULL;
    ipc->fd = -1;
}

/* The file must be ours and private: a segment is mode 0600 and owned by its user. */
static psyne_status check_file(const psyne__ipc *ipc, const struct stat *st)
{
    if (st->st_uid != geteuid())
        return psyne__fail(PSYNE_E_FORMAT, "segment '%s' is owned by uid %u, not by this user (uid %u): refusing it",
                           ipc->label, (unsigned)st->st_uid, (unsigned)geteuid());
    if (st->st_mode & 077)
        return psyne__fail(PSYNE_E_FORMAT,
                           "segment '%s' has mode 0%o; psyne segments are 0600: refusing one others may read or write",
                           ipc->label, (unsigned)(st->st_mode & 0777));
    return PSYNE_OK;
}

enum { OPEN_OK = 0, OPEN_RETRY = 1 };

/* With the lock held on an existing segment's fd: validates it and maps it.
 * Returns OPEN_RETRY when the segment was removed under us. */
static int map_existing(psyne__ipc *ipc, psyne_status *status)
{
    struct stat st;
    /* A creator that has not sized the file yet holds no lock before shm_open
     * returns to it; give it a moment before calling the file broken. */
    for (int waited = 0;; waited++) {
        if (fstat(ipc->fd, &st) != 0) {
            *status = psyne__fail(PSYNE_E_IO, "segment '%s': fstat failed: %s", ipc->label, strerror(errno));
            return OPEN_OK;
        }
        if (st.st_size > 0 || waited >= EMPTY_WAIT_MS) break;
        unlock_fd(ipc->fd);
        psyne__sleep_ns(1000000u);
        lock_fd(ipc->fd);
    }
    *status = check_file(ipc, &st);
    if (*status != PSYNE_OK) return OPEN_OK;
    ring_static head;
    memset(&head, 0, sizeof head);
    const uint64_t size = (uint64_t)st.st_size;
    if (size >= sizeof head && pread(ipc->fd, &head, sizeof head, 0) != (ssize_t)sizeof head) {
        *status = psyne__fail(PSYNE_E_IO, "segment '%s': cannot read its header: %s", ipc->label, strerror(errno));
        return OPEN_OK;
    }
    *status = psyne__ring_static_validate(&head, size, ipc->label);
    if (*status != PSYNE_OK) return OPEN_OK;
    void *map = mmap(NULL, (size_t)head.segment_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ipc->fd, 0);
    if (map == MAP_FAILED) {
        *status = psyne__fail(PSYNE_E_OUT_OF_MEMORY, "segment '%s': cannot map %llu bytes: %s", ipc->label,
                              (unsigned long long)head.segment_bytes, strerror(errno));
        return OPEN_OK;
    }
    /* Validate what is mapped too: the bytes may have changed since pread. */
    *status = psyne__ring_static_validate(map, size, ipc->label);
    if (*status != PSYNE_OK) {
        munmap(map, (size_t)head.segment_bytes);
        return OPEN_OK;
    }
    ipc->map = map;
    ipc->map_bytes = head.segment_bytes;
    const uint32_t state = atomic_load_explicit(&ctl_of(ipc)->state, ACQ);
    if (state == SEG_STATE_REMOVED) return OPEN_RETRY;
    if (state != SEG_STATE_READY) {
        *status = psyne__fail(PSYNE_E_FORMAT,
                              "segment '%s' was never completed: its creator (pid %d) stopped while creating it; "
                              "remove it with psyne_ipc_unlink",
                              ipc->label, (int)((ring_ctl *)map)->st.creator_pid);
        return OPEN_OK;
    }
    return OPEN_OK;
}

psyne_status psyne__ipc_open(psyne__ipc *ipc, const char *name, int32_t role)
{
    char bare[PSYNE_IPC_NAME_MAX + 1], shm[PSYNE_IPC_NAME_MAX + 32];
    psyne_status s = psyne__ipc_parse_name(name, "psyne_channel_open_ipc", bare);
    if (s != PSYNE_OK) return s;
    ipc_init(ipc, bare);
    shm_name(bare, shm, sizeof shm);
    for (int attempt = 0;; attempt++) {
        ipc->fd = shm_open(shm, O_RDWR | O_CLOEXEC, 0600);
        if (ipc->fd < 0) {
            if (errno == ENOENT)
                return psyne__fail(PSYNE_E_NOT_FOUND, "no segment '%s' (shared-memory object %s): create it first",
                                   ipc->label, shm);
            return psyne__fail(PSYNE_E_IO, "cannot open segment '%s' (%s): %s", ipc->label, shm, strerror(errno));
        }
        lock_fd(ipc->fd);
        int r = map_existing(ipc, &s);
        if (r == OPEN_RETRY && attempt < STALE_RETRIES) {
            unlock_fd(ipc->fd);
            ipc_release(ipc);
            continue;
        }
        if (r == OPEN_RETRY) s = psyne__fail(PSYNE_E_NOT_FOUND, "segment '%s' is being removed", ipc->label);
        if (s == PSYNE_OK) s = attach(ipc, role);
        unlock_fd(ipc->fd);
        if (s != PSYNE_OK) ipc_release(ipc);
        return s;
    }
}

/* An existing segment blocks create. If every process that used it is gone
 * (or it was left half-created), remove it and report OPEN_RETRY. */
static int remove_if_stale(psyne__ipc *ipc, const char *shm, psyne_status *status)
{
    ipc->fd = shm_open(shm, O_RDWR | O_CLOEXEC, 0600);
    if (ipc->fd < 0) {
        if (errno == ENOENT) return OPEN_RETRY; /* removed meanwhile */
        *status = psyne__fail(PSYNE_E_IO, "segment '%s' exists but cannot be opened (%s): %s", ipc->label, shm,
                              strerror(errno));
        return OPEN_OK;
    }
    lock_fd(ipc->fd);
    struct stat st;
    int stale = 0;
    if (fstat(ipc->fd, &st) == 0 && check_file(ipc, &st) == PSYNE_OK && st.st_size == 0) {
        /* Empty: its creator died before sizing it, unless it is sizing it right now. */
        unlock_fd(ipc->fd);
        psyne__sleep_ns((uint64_t)EMPTY_WAIT_MS * 1000000u);
        lock_fd(ipc->fd);
        stale = fstat(ipc->fd, &st) == 0 && st.st_size == 0;
        if (!stale) {
            unlock_fd(ipc->fd);
            ipc_release(ipc);
            return OPEN_RETRY;
        }
    } else {
        int r = map_existing(ipc, status);
        if (r == OPEN_RETRY) {
            unlock_fd(ipc->fd);
            ipc_release(ipc);
            return OPEN_RETRY;
        }
        if (*status != PSYNE_OK) {
            /* Half-created by a dead creator: stale. Anything else is not ours to delete. */
            ring_static head;
            const int32_t creator = pread(ipc->fd, &head, sizeof head, 0) == (ssize_t)sizeof head &&
                                            head.magic == PSYNE_SEGMENT_MAGIC
                                        ? head.creator_pid
                                        : 0;
            const int half_created = creator > 0 && ipc->map &&
                                     atomic_load_explicit(&ctl_of(ipc)->state, ACQ) == SEG_STATE_INITIALIZING &&
                                     !psyne__process_alive(creator, head.creator_start, 0, NULL, 1);
            if (!half_created) {
                unlock_fd(ipc->fd);
                ipc_release(ipc);
                return OPEN_OK;
            }
            stale = 1;
        } else {
            sweep_dead(ipc);
            ring_ctl *c = ctl_of(ipc);
            if (atomic_load_explicit(&c->attached, ACQ) == 0) {
                stale = 1;
            } else {
                int32_t user = 0;
                for (int i = 0; i < PSYNE_IPC_MAX_ATTACH && !user; i++) {
                    const uint32_t sst = atomic_load_explicit(&c->slots[i].state, ACQ);
                    if (sst == SLOT_ACTIVE || sst == SLOT_SHUT) user = atomic_load_explicit(&c->slots[i].pid, RLX);
                }
                *status = psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                                      "segment '%s' already exists and is in use by pid %d: open it with "
                                      "psyne_channel_open_ipc, or pick another name",
                                      ipc->label, (int)user);
                unlock_fd(ipc->fd);
                ipc_release(ipc);
                return OPEN_OK;
            }
        }
    }
    if (stale) {
        if (ipc->map) atomic_store_explicit(&ctl_of(ipc)->state, SEG_STATE_REMOVED, SEQ);
        shm_unlink(shm);
        *status = PSYNE_OK;
    }
    unlock_fd(ipc->fd);
    ipc_release(ipc);
    return OPEN_RETRY;
}

psyne_status psyne__ipc_create(psyne__ipc *ipc, const char *name, const psyne_channel_options *o, int32_t role)
{
    char bare[PSYNE_IPC_NAME_MAX + 1], shm[PSYNE_IPC_NAME_MAX + 32];
    psyne_status s = psyne__ipc_parse_name(name, "psyne_channel_create_ipc", bare);
    if (s != PSYNE_OK) return s;
    ipc_init(ipc, bare);
    shm_name(bare, shm, sizeof shm);
    const uint64_t bytes = PSYNE_SEGMENT_DATA_OFFSET + o->capacity;
    for (int attempt = 0;; attempt++) {
        ipc->fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (ipc->fd < 0) {
            if (errno != EEXIST)
                return psyne__fail(PSYNE_E_IO, "cannot create segment '%s' (%s): %s", ipc->label, shm, strerror(errno));
            if (attempt >= STALE_RETRIES)
                return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                                   "segment '%s' keeps being re-created by another process; pick another name",
                                   ipc->label);
            s = PSYNE_OK;
            remove_if_stale(ipc, shm, &s);
            if (s != PSYNE_OK) return s;
            continue;
        }
        break;
    }
    lock_fd(ipc->fd);
    psyne_status result = PSYNE_OK;
    int space = 0;
    if (fchmod(ipc->fd, 0600) != 0 || ftruncate(ipc->fd, (off_t)bytes) != 0) {
        result = psyne__fail(errno == ENOSPC || errno == EFBIG ? PSYNE_E_OUT_OF_MEMORY : PSYNE_E_IO,
                             "cannot size segment '%s' to %llu bytes: %s", ipc->label, (unsigned long long)bytes,
                             strerror(errno));
#  if defined(__linux__)
    } else if ((space = posix_fallocate(ipc->fd, 0, (off_t)bytes)) == ENOSPC || space == EFBIG) {
        /* tmpfs hands out pages on first touch; a full /dev/shm would then
         * kill the writer with SIGBUS in the middle of a record. Reserve them now. */
        result = psyne__fail(PSYNE_E_OUT_OF_MEMORY,
                             "cannot reserve %llu bytes of shared memory for segment '%s': %s (the shared-memory "
                             "file system, /dev/shm, is too small); use a smaller capacity or enlarge /dev/shm",
                             (unsigned long long)bytes, ipc->label, strerror(space));
#  endif
    } else {
        void *map = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ipc->fd, 0);
        if (map == MAP_FAILED) {
            result = psyne__fail(PSYNE_E_OUT_OF_MEMORY, "cannot map segment '%s' (%llu bytes): %s", ipc->label,
                                 (unsigned long long)bytes, strerror(errno));
        } else {
            ipc->map = map;
            ipc->map_bytes = bytes;
#  if defined(MADV_HUGEPAGE)
            if (o->flags & PSYNE_CHANNEL_HUGE_PAGES) madvise(map, (size_t)bytes, MADV_HUGEPAGE);
#  endif
            /* The file starts zeroed, which is what an empty ring must read as. */
            psyne__ring_format(map, o, SEG_FLAG_IPC | ((o->flags & PSYNE_CHANNEL_HUGE_PAGES) ? SEG_FLAG_HUGE_PAGES : 0),
                               ipc->pid, psyne__process_start_time(ipc->pid));
            result = attach(ipc, role);
            if (result == PSYNE_OK) atomic_store_explicit(&ctl_of(ipc)->state, SEG_STATE_READY, SEQ);
        }
    }
    if (result != PSYNE_OK) {
        shm_unlink(shm);
        unlock_fd(ipc->fd);
        ipc_release(ipc);
        return result;
    }
    unlock_fd(ipc->fd);
    return PSYNE_OK;
}

/* ---- shutdown / close -------------------------------------------------------------- */

void psyne__ipc_shutdown(psyne__ipc *ipc)
{
    if (!ipc->map || ipc->slot < 0) return;
    ring_ctl *c = ctl_of(ipc);
    lock_fd(ipc->fd);
    ring_attach_slot *sl = &c->slots[ipc->slot];
    uint32_t active = SLOT_ACTIVE;
    if (atomic_load_explicit(&sl->epoch, RLX) == ipc->slot_epoch &&
        atomic_compare_exchange_strong_explicit(&sl->state, &active, SLOT_SHUT, SEQ, SEQ))
        drop_role(c, ipc->role);
    unlock_fd(ipc->fd);
}

void psyne__ipc_close(psyne__ipc *ipc)
{
    if (!ipc->map) {
        ipc_release(ipc);
        return;
    }
    ring_ctl *c = ctl_of(ipc);
    lock_fd(ipc->fd);
    if (ipc->slot >= 0) {
        ring_attach_slot *sl = &c->slots[ipc->slot];
        const uint32_t st = atomic_load_explicit(&sl->state, ACQ);
        if (atomic_load_explicit(&sl->epoch, RLX) == ipc->slot_epoch && (st == SLOT_ACTIVE || st == SLOT_SHUT)) {
            if (st == SLOT_ACTIVE) drop_role(c, ipc->role);
            atomic_store_explicit(&sl->state, SLOT_FREE, REL);
            atomic_fetch_sub_explicit(&c->attached, 1, SEQ);
        }
    }
    sweep_dead(ipc);
    psyne__ring_wake_all(&(psyne__ring){.ctl = c});
    if (atomic_load_explicit(&c->attached, ACQ) == 0) {
        /* The last user removes the name, if the name still means this file. */
        char shm[PSYNE_IPC_NAME_MAX + 32];
        shm_name(ipc->name, shm, sizeof shm);
        atomic_store_explicit(&c->state, SEG_STATE_REMOVED, SEQ);
        int other = shm_open(shm, O_RDONLY | O_CLOEXEC, 0);
        if (other >= 0) {
            struct stat a, b;
            if (fstat(other, &a) == 0 && fstat(ipc->fd, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                shm_unlink(shm);
            close(other);
        }
    }
    unlock_fd(ipc->fd);
    ipc_release(ipc);
}

/* ---- liveness ---------------------------------------------------------------------- */

void psyne__ipc_check_peers(psyne__ipc *ipc, int deep)
{
    if (atomic_exchange_explicit(&ipc->checking, 1, ACQ)) return; /* another thread of this handle is at it */
    ring_ctl *c = ctl_of(ipc);
    if (ipc->slot >= 0) atomic_fetch_add_explicit(&c->slots[ipc->slot].heartbeat, 1, RLX);
    for (int i = 0; i < PSYNE_IPC_MAX_ATTACH; i++) {
        if (i == ipc->slot) continue;
        ring_attach_slot *sl = &c->slots[i];
        const uint32_t st = atomic_load_explicit(&sl->state, ACQ);
        if (st != SLOT_ACTIVE && st != SLOT_SHUT) continue;
        const uint32_t epoch = atomic_load_explicit(&sl->epoch, RLX);
        const int32_t pid = atomic_load_explicit(&sl->pid, RLX);
        const uint64_t start = atomic_load_explicit(&sl->start_time, RLX);
        const uint64_t ns = atomic_load_explicit(&sl->pid_ns, RLX);
        atomic_thread_fence(ACQ);
        /* The slot may have been re-taken while we read it: only a stable read counts. */
        if (atomic_load_explicit(&sl->state, RLX) != st || atomic_load_explicit(&sl->epoch, RLX) != epoch) continue;
        if (pid == ipc->pid && ns == ipc->pid_ns) continue;
        if (ns && ipc->pid_ns && ns != ipc->pid_ns) continue;
        if (!psyne__process_alive(pid, start, epoch, &ipc->watch[i], deep)) {
            if (atomic_load_explicit(&sl->epoch, RLX) == epoch) psyne__ring_fault(c, FAULT_PEER_DIED, pid);
        }
    }
    atomic_store_explicit(&ipc->checking, 0, REL);
}

#else /* no POSIX shared memory */

psyne_status psyne__ipc_create(psyne__ipc *ipc, const char *name, const psyne_channel_options *o, int32_t role)
{
    (void)ipc; (void)name; (void)o; (void)role;
    return psyne__fail(PSYNE_E_UNSUPPORTED, "psyne_channel_create_ipc: ipc channels need POSIX shared memory");
}
psyne_status psyne__ipc_open(psyne__ipc *ipc, const char *name, int32_t role)
{
    (void)ipc; (void)name; (void)role;
    return psyne__fail(PSYNE_E_UNSUPPORTED, "psyne_channel_open_ipc: ipc channels need POSIX shared memory");
}
void psyne__ipc_shutdown(psyne__ipc *ipc) { (void)ipc; }
void psyne__ipc_close(psyne__ipc *ipc) { (void)ipc; }
void psyne__ipc_check_peers(psyne__ipc *ipc, int deep) { (void)ipc; (void)deep; }
psyne_status psyne_ipc_unlink(const char *name)
{
    (void)name;
    psyne__clear_error();
    return psyne__fail(PSYNE_E_UNSUPPORTED, "psyne_ipc_unlink: ipc channels need POSIX shared memory");
}
psyne_status psyne_ipc_segment_path(const char *name, char *out, uint32_t capacity)
{
    (void)name; (void)out; (void)capacity;
    psyne__clear_error();
    return psyne__fail(PSYNE_E_UNSUPPORTED, "psyne_ipc_segment_path: ipc channels need POSIX shared memory");
}

#endif
