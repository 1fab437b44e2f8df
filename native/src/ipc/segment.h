/*
 * segment.h - named shared-memory segments that hold a ring (ipc://name).
 * Not installed.
 *
 * A segment is the POSIX shared-memory object "/psyne-<uid>-<name>" (on
 * Linux the file /dev/shm/psyne-<uid>-<name>), created O_EXCL with mode
 * 0600. memfd_create would need the fd passed over a socket to be opened by
 * another process, so a name it is. Its bytes are the ring layout (ring.h).
 *
 * Creation, attachment and detachment hold flock(LOCK_EX) on the segment,
 * which the kernel drops if the holder dies, so a crashed process never
 * leaves it locked. The attach table in the control block lists each
 * attached handle's pid, start time and role; the last handle to close
 * removes the name. Data-path calls never take the lock.
 */
#ifndef PSYNE_SEGMENT_H
#define PSYNE_SEGMENT_H

#include "ipc/process.h"
#include "ring/ring.h"

typedef struct psyne__ipc {
    int fd;
    void *map;
    uint64_t map_bytes;
    int map_taken;                       /* psyne_channel_region_take gave the mapping away: close leaves it mapped */
    int32_t slot;                        /* this handle's attach slot */
    uint32_t slot_epoch;
    int32_t role;
    int32_t pid;
    uint64_t pid_ns;
    char name[PSYNE_IPC_NAME_MAX + 1];
    char label[PSYNE_IPC_NAME_MAX + 8];  /* "ipc://name" */
    _Atomic uint32_t checking;           /* one liveness check at a time per handle */
    _Atomic uint64_t next_check_ns;      /* coarse clock of the next liveness check */
    _Atomic uint64_t next_deep_ns;       /* ... and of the next one that reads /proc */
    psyne__process_watch watch[PSYNE_IPC_MAX_ATTACH];
} psyne__ipc;

/* Accepts "name" or "ipc://name"; copies the bare name to out (PSYNE_IPC_NAME_MAX + 1 bytes). */
psyne_status psyne__ipc_parse_name(const char *name, const char *function, char *out);

/* Creates and attaches. On success ipc->map holds the formatted region. */
psyne_status psyne__ipc_create(psyne__ipc *ipc, const char *name, const psyne_channel_options *options, int32_t role);

psyne_status psyne__ipc_open(psyne__ipc *ipc, const char *name, int32_t role);

/* Ends this handle's role (producer: consumers drain then see CLOSED once no
 * producer is left; consumer: producers see CLOSED once no consumer is left). */
void psyne__ipc_shutdown(psyne__ipc *ipc);

/* Detaches, removes the name if this was the last handle, unmaps. */
void psyne__ipc_close(psyne__ipc *ipc);

/* Checks that every other attached process lives; a dead one faults the
 * channel (gate FAULTED, fault_pid) and wakes every sleeper. Never blocks. */
void psyne__ipc_check_peers(psyne__ipc *ipc, int deep);

#endif /* PSYNE_SEGMENT_H */
