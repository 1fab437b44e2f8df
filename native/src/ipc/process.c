/*
 * process.c - process identity and liveness (see process.h).
 */
#include "ipc/process.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#  include <fcntl.h>
#  include <signal.h>
#  include <sys/stat.h>
#  include <sys/types.h>
#  include <unistd.h>
#  define PSYNE_POSIX 1
#else
#  define PSYNE_POSIX 0
#endif

#if defined(__linux__)
#  include <poll.h>
#  include <sys/syscall.h>
#endif

#if defined(__linux__) && defined(SYS_pidfd_open)
#  define PSYNE_HAVE_PIDFD 1
#else
#  define PSYNE_HAVE_PIDFD 0
#endif

int32_t psyne__process_self(void)
{
#if PSYNE_POSIX
    return (int32_t)getpid();
#else
    return 0;
#endif
}

#if defined(__linux__)
/* Reads /proc/<pid>/stat: the state letter (field 3) and start time (field 22).
 * Returns 0 on success. The command name (field 2) may hold spaces and
 * parentheses, so parsing starts after the last ')'. */
static int read_proc_stat(int32_t pid, char *state, uint64_t *start_time)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ') return -1;
    p += 2;
    *state = *p;
    /* Fields 3 .. 22: skip 19 spaces from the state letter to reach field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) return -1;
        p++;
    }
    unsigned long long v = 0;
    if (sscanf(p, "%llu", &v) != 1) return -1;
    *start_time = v;
    return 0;
}
#endif

uint64_t psyne__process_start_time(int32_t pid)
{
#if defined(__linux__)
    char state;
    uint64_t start = 0;
    if (read_proc_stat(pid, &state, &start) != 0) return 0;
    return start;
#else
    (void)pid;
    return 0;
#endif
}

uint64_t psyne__process_pid_namespace(void)
{
#if defined(__linux__)
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) != 0) return 0;
    return (uint64_t)st.st_ino;
#else
    return 0;
#endif
}

void psyne__process_watch_init(psyne__process_watch *w)
{
    w->fd = -1;
    w->pid = 0;
    w->epoch = 0;
}

void psyne__process_watch_close(psyne__process_watch *w)
{
#if PSYNE_POSIX
    if (w->fd >= 0) close(w->fd);
#endif
    psyne__process_watch_init(w);
}

/* kill(pid, 0) plus, on Linux, the zombie state and the start time. */
static int alive_without_pidfd(int32_t pid, uint64_t start_time, int deep)
{
#if PSYNE_POSIX
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
#  if defined(__linux__)
    if (deep) {
        char state;
        uint64_t start = 0;
        if (read_proc_stat(pid, &state, &start) != 0) return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
        if (state == 'Z' || state == 'X') return 0;
        if (start_time && start != start_time) return 0;
    }
#  else
    (void)start_time;
    (void)deep;
#  endif
    return 1;
#else
    (void)pid;
    (void)start_time;
    (void)deep;
    return 1;
#endif
}

int psyne__process_alive(int32_t pid, uint64_t start_time, uint32_t epoch, psyne__process_watch *w, int deep)
{
    if (pid <= 0) return 0;
#if PSYNE_HAVE_PIDFD
    if (w) {
        if (w->fd < 0 || w->pid != pid || w->epoch != epoch) {
            psyne__process_watch_close(w);
            int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
            if (fd < 0) {
                if (errno == ESRCH) return 0;
                return alive_without_pidfd(pid, start_time, 1); /* no pidfd support (ENOSYS) or no fds left */
            }
            /* The pidfd is for whatever process has this pid now: make sure it is ours. */
            char state;
            uint64_t start = 0;
            if (read_proc_stat(pid, &state, &start) == 0 && start_time && start != start_time) {
                close(fd);
                return 0;
            }
            fcntl(fd, F_SETFD, FD_CLOEXEC);
            w->fd = fd;
            w->pid = pid;
            w->epoch = epoch;
        }
        struct pollfd p = {.fd = w->fd, .events = POLLIN};
        int r = poll(&p, 1, 0);
        if (r > 0 && (p.revents & (POLLIN | POLLHUP))) return 0; /* exited (a zombie counts as dead) */
        return 1;
    }
#else
    (void)epoch;
    (void)w;
#endif
    return alive_without_pidfd(pid, start_time, deep);
}
