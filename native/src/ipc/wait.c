/*
 * wait.c - clocks, yields, sleeps and futex wait/wake (see wait.h).
 */
#include "ipc/wait.h"

#include <errno.h>
#include <time.h>

#if defined(__linux__)
#  include <limits.h>
#  include <linux/futex.h>
#  include <linux/membarrier.h>
#  include <pthread.h>
#  include <sched.h>
#  include <stdatomic.h>
#  include <stdlib.h>
#  include <string.h>
#  include <sys/syscall.h>
#  include <unistd.h>
#  define PSYNE_HAVE_FUTEX 1
#elif defined(_WIN32)
#  include <windows.h>
#  define PSYNE_HAVE_FUTEX 0
#else
#  include <sched.h>
#  define PSYNE_HAVE_FUTEX 0
#endif

#if !defined(_WIN32)
static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

uint64_t psyne__now_ns(void)
{
#if defined(_WIN32)
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (uint64_t)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
#else
    return clock_ns(CLOCK_MONOTONIC);
#endif
}

uint64_t psyne__coarse_now_ns(void)
{
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
    return clock_ns(CLOCK_MONOTONIC_COARSE);
#else
    return psyne__now_ns();
#endif
}

void psyne__yield(void)
{
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
}

void psyne__sleep_ns(uint64_t ns)
{
#if defined(_WIN32)
    Sleep((DWORD)(ns / 1000000u ? ns / 1000000u : 1));
#else
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
#endif
}

int psyne__futex_native(void)
{
    return PSYNE_HAVE_FUTEX;
}

void psyne__futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
#if PSYNE_HAVE_FUTEX
    struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
    /* FUTEX_WAIT takes a relative CLOCK_MONOTONIC timeout. EAGAIN (the word
     * changed), EINTR and ETIMEDOUT all mean: re-check. */
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, &ts, NULL, 0);
#else
    /* No futex: a short sleep; the caller re-checks the ring and its deadline. */
    if (atomic_load_explicit(word, memory_order_acquire) != expected) return;
    psyne__sleep_ns(timeout_ns < 200000u ? timeout_ns : 200000u);
#endif
}

void psyne__futex_wake(_Atomic uint32_t *word)
{
#if PSYNE_HAVE_FUTEX
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

/* ---- asymmetric fences (see wait.h) ------------------------------------------ */

#if defined(__linux__) && defined(SYS_membarrier)
enum { ASYM_KNOWN = 1, ASYM_REGISTERED = 2, ASYM_CAN_ISSUE = 4 };
static _Atomic int asym_state; /* ASYM_* bits; 0 until first asked */
static pthread_once_t asym_atfork_once = PTHREAD_ONCE_INIT;

static int membarrier(int cmd)
{
    return (int)syscall(SYS_membarrier, cmd, 0u, 0);
}

static int asym_probe(void)
{
    const char *env = getenv("PSYNE_ASYM_FENCE");
    if (env && strcmp(env, "0") == 0) return ASYM_KNOWN; /* the symmetric protocol only */
    const int supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || !(supported & MEMBARRIER_CMD_GLOBAL_EXPEDITED)) return ASYM_KNOWN;
    int state = ASYM_KNOWN | ASYM_CAN_ISSUE;
    if ((supported & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) &&
        membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0)
        state |= ASYM_REGISTERED;
    return state;
}

/* A forked child has a new address space: register it again (or learn that
 * it cannot) before any of its publishers skips a fence. */
static void asym_after_fork(void)
{
    if (atomic_load_explicit(&asym_state, memory_order_relaxed) != 0)
        atomic_store_explicit(&asym_state, asym_probe(), memory_order_relaxed);
}

static void asym_register_atfork(void)
{
    pthread_atfork(NULL, NULL, asym_after_fork);
}

static int asym_get(void)
{
    int state = atomic_load_explicit(&asym_state, memory_order_acquire);
    if (state == 0) {
        pthread_once(&asym_atfork_once, asym_register_atfork);
        state = asym_probe(); /* idempotent: a race registers twice */
        atomic_store_explicit(&asym_state, state, memory_order_release);
    }
    return state;
}

int psyne__asym_fence_ready(void)
{
    return (asym_get() & ASYM_REGISTERED) != 0;
}

int psyne__asym_fence_heavy(void)
{
    atomic_thread_fence(memory_order_seq_cst); /* the symmetric half, for publishers that fence */
    if (!(asym_get() & ASYM_CAN_ISSUE)) return 1; /* no process here can have skipped its fence */
    return membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0;
}
#else
int psyne__asym_fence_ready(void)
{
    return 0;
}

int psyne__asym_fence_heavy(void)
{
    atomic_thread_fence(memory_order_seq_cst);
    return 1;
}
#endif
