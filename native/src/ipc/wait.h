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

/* The asymmetric handshake between a publisher and a sleeper.
 *
 * A publisher stores a record header (or a cursor) and then loads the
 * sleeper count; a sleeper increments the count and then re-checks the ring.
 * Each side needs StoreLoad order between its store and its load, or both
 * may miss the other (a lost wake-up). The symmetric way is a full fence on
 * both sides, which costs the publisher a store-buffer drain on every record
 * (it waits for the header's cache line to come back from the consumer that
 * polls it). Instead the sleeper, which is about to make a system call
 * anyway, makes the barrier for both: membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)
 * runs a full barrier on every CPU that runs a thread of a registered
 * process (and a thread that is not running passed one when it was switched
 * out), so each publisher's header store is visible to the re-check, or its
 * later load of the count sees the increment. Publishers then need only a
 * compiler barrier, but only in a process that registered.
 *
 * psyne__asym_fence_ready() registers this process (once; again in a forked
 * child) and says whether its publishers may skip the fence: 1 on Linux with
 * membarrier's global expedited command, 0 elsewhere or when
 * PSYNE_ASYM_FENCE=0 is set (tests use it to cover both protocols).
 * psyne__asym_fence_heavy() is the sleeper's barrier (a full fence, then
 * membarrier where the kernel has it): 1 when done; 0 when membarrier failed
 * although the kernel offers it (then a publisher that skipped its fence may
 * miss this sleeper, which must cap its sleep at PSYNE_ASYM_FALLBACK_SLICE_NS).
 * Every process attached to one ring must see the same PSYNE_ASYM_FENCE. */
int psyne__asym_fence_ready(void);
int psyne__asym_fence_heavy(void);

/* The longest futex sleep of a sleeper whose membarrier failed. */
#define PSYNE_ASYM_FALLBACK_SLICE_NS 1000000ull

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
