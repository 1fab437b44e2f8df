/*
 * wait.c - clocks, yields, sleeps and futex wait/wake (see wait.h).
 */
#include "ipc/wait.h"

#include <errno.h>
#include <time.h>

#if defined(__linux__)
#  include <limits.h>
#  include <linux/futex.h>
#  include <sched.h>
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
