/*
 * threadpool.h - the one place libpsyne runs work on several threads.
 *
 * A small persistent pool of pthreads, created lazily on the first parallel
 * call and parked (spin briefly, then sleep on a condition variable) between
 * calls. The calling thread always takes part. Work is a range [0, count)
 * cut into chunks of `grain` items that threads claim in order with one
 * atomic increment each, so neighbouring chunks (neighbouring rows of a
 * matrix) run close together in time and load stays balanced.
 *
 * One job runs at a time: a call that finds the pool busy (another thread's
 * job, or a nested call from inside a job) runs its whole range inline on the
 * calling thread instead of waiting, so it can never deadlock. With a thread
 * count of 1, or a single chunk, the range runs inline with no
 * synchronisation at all. The public knobs are psyne_threads_set/get.
 */
#ifndef PSYNE_THREADPOOL_H
#define PSYNE_THREADPOOL_H

#include <stdint.h>

/* Processes items [begin, end). Must not fail: report errors through context. */
typedef void (*psyne__parallel_fn)(void *context, uint32_t begin, uint32_t end);

/* Calls fn over consecutive chunks covering [0, count), each grain items (the
 * last may be shorter), on up to psyne_threads_get() threads including the
 * caller, and returns when every chunk is done; the work's writes are then
 * visible to the caller. grain 0 is taken as 1. Never fails: when workers
 * cannot be started it runs with those it has, down to the caller alone. */
void psyne__parallel_for(uint32_t count, uint32_t grain, psyne__parallel_fn fn, void *context);

#endif /* PSYNE_THREADPOOL_H */
