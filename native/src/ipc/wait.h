/*
 * wait.h - clocks, pauses and futex wait/wake on a 32-bit word that may live
 * in shared memory. Not installed.
 *
 * Linux uses SYS_futex with FUTEX_WAIT / FUTEX_WAKE (not the _PRIVATE
 * variants: the word may be shared between processes, and the kernel keys
 * a shared futex on the mapping's inode and offset). Elsewhere a wait is a
 * short sleep and a wake does nothing; callers re-check their condition
 * after every wait, so the fallback is slower, never wrong.
 */
#ifndef PSYNE_WAIT_H
#define PSYNE_WAIT_H

#include <stdatomic.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t psyne__now_ns(void);

/* A cheap monotonic clock with a few milliseconds' resolution (Linux:
 * CLOCK_MONOTONIC_COARSE, read from the vDSO without a system call). */
uint64_t psyne__coarse_now_ns(void);

/* One spin-loop pause (x86 PAUSE, ARM YIELD). */
static inline void psyne__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* A full (StoreLoad) barrier, cheaper than MFENCE on x86-64. Used between
 * publishing and checking whether a peer sleeps, the Dekker handshake
 * with the sleeper's seq_cst increment and re-check. */
static inline void psyne__full_fence(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __asm__ __volatile__("lock; orl $0, -8(%%rsp)" ::: "memory", "cc");
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

void psyne__yield(void);

void psyne__sleep_ns(uint64_t ns);

/* Sleeps while *word == expected, at most timeout_ns. Returns when woken,
 * when the word differs, on a signal or at the timeout; the caller re-checks. */
void psyne__futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_ns);

/* Wakes every thread (in any process) sleeping on word. */
void psyne__futex_wake(_Atomic uint32_t *word);

/* 1 when futex waits really sleep until woken (Linux); 0 for the sleep fallback. */
int psyne__futex_native(void);

#endif /* PSYNE_WAIT_H */
