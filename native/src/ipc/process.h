/*
 * process.h - is a process (still) alive? Not installed.
 *
 * A pid alone is not an identity: a dead process's pid is reused. A segment
 * records each attached process's pid together with its start time (Linux:
 * field 22 of /proc/<pid>/stat) and pid namespace, and a check compares both.
 * On Linux a pidfd is opened once per watched process and polled: it turns
 * readable when the process exits, zombie or not, and can never refer to a
 * later process with the same pid. Elsewhere kill(pid, 0) is all there is.
 */
#ifndef PSYNE_PROCESS_H
#define PSYNE_PROCESS_H

#include <stdint.h>

typedef struct psyne__process_watch {
    int fd;          /* pidfd, or -1 */
    int32_t pid;     /* the process fd watches */
    uint32_t epoch;  /* the attach slot epoch it was opened for */
} psyne__process_watch;

int32_t psyne__process_self(void);

/* Start time of pid in clock ticks after boot (Linux), 0 when unknown. */
uint64_t psyne__process_start_time(int32_t pid);

/* Identifier of this process's pid namespace (Linux: inode of
 * /proc/self/ns/pid), 0 when unknown. Pids from another namespace cannot be
 * checked from here. */
uint64_t psyne__process_pid_namespace(void);

/* 1 when the process (pid, start_time) lives, 0 when it is gone. watch
 * caches a pidfd between calls (pass NULL for a one-off check); deep also
 * compares the start time on systems without pidfd. */
int psyne__process_alive(int32_t pid, uint64_t start_time, uint32_t epoch, psyne__process_watch *watch, int deep);

void psyne__process_watch_init(psyne__process_watch *watch);
void psyne__process_watch_close(psyne__process_watch *watch);

#endif /* PSYNE_PROCESS_H */
