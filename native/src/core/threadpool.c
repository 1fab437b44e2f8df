/*
 * threadpool.c - the persistent worker pool behind psyne__parallel_for and
 * psyne_threads_set/get (see threadpool.h for the contract).
 *
 * Publication: the job owner fills pool.job, resets the chunk counter and the
 * finished count, opens the gate, then bumps a 64-bit ticket (generation << 32 | participants)
 * with release semantics under pool.lock and broadcasts pool.wake. Workers
 * spin on the ticket for a short while (back-to-back kernel calls, such as
 * token-by-token decoding, then never pay a futex wake-up) before sleeping on
 * the condition variable. A worker whose index is not below the participant
 * count of a ticket skips it without touching pool.job, so the owner may
 * rewrite pool.job once every worker that joined has finished.
 *
 * Joining: a worker takes part only if it joins through pool.gate
 * (generation << 32 | OPEN | joined) while the gate of its ticket is open.
 * The owner runs chunks itself and, when none is left, closes the gate: a
 * worker that had not woken by then (descheduled on a busy machine) is not
 * waited for; it finds the gate closed and goes back to sleep without
 * touching pool.job. The owner waits only for the workers that joined: each
 * counts itself in pool.finished, the last one (seeing the gate closed)
 * signals pool.done. The acq_rel increments and the owner's acquire loads
 * make the workers' writes visible to it.
 */
#include "core/threadpool.h"

#include "core/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#if PSYNE_X86_64
#  include <emmintrin.h>
#  define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#  define CPU_RELAX() __asm__ __volatile__("yield")
#else
#  define CPU_RELAX() ((void)0)
#endif

/* About 20-100 us of polling, depending on the CPU's pause latency: long
 * enough to bridge the gap between consecutive kernel calls, short enough not
 * to hold a core that other work could use. */
enum { SPIN_ITERATIONS = 1 << 12 };
enum { MAX_WORKERS = PSYNE_THREADS_MAX - 1 };
#define GATE_OPEN ((uint64_t)1 << 31)
#define GATE_COUNT(g) ((uint32_t)((g) & (GATE_OPEN - 1)))

/* A worker joins the job of generation gen if its gate is still open. */
static int join_job(uint32_t gen);

typedef struct pool_job {
    psyne__parallel_fn fn;
    void *context;
    uint32_t count;
    uint32_t grain;
    uint32_t chunks;
} pool_job;

static struct {
    pthread_mutex_t run_lock;   /* held by the owner of the current job */
    pthread_mutex_t lock;       /* guards sleeping on wake/done */
    pthread_cond_t wake;
    pthread_cond_t done;
    _Atomic uint64_t ticket;    /* generation << 32 | participants */
    atomic_uint next_chunk;
    _Atomic uint64_t gate;      /* generation << 32 | GATE_OPEN | workers joined */
    atomic_uint finished;       /* joined workers that are done */
    pool_job job;               /* written by the owner while no participant reads it */
    uint32_t started;           /* workers created; guarded by run_lock */
    uint32_t generation;        /* guarded by run_lock */
} pool = {
    .run_lock = PTHREAD_MUTEX_INITIALIZER,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

static atomic_uint requested_threads; /* 0: the default */
static atomic_uint default_threads;   /* 0 until first asked */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

typedef struct worker_start {
    uint32_t index;
    uint32_t generation; /* the generation current when the worker was created */
} worker_start;

static worker_start worker_starts[MAX_WORKERS];

static uint32_t online_cpus(void)
{
    uint32_t n = atomic_load_explicit(&default_threads, memory_order_relaxed);
    if (n) return n;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online < 1 ? 1u : online > PSYNE_THREADS_MAX ? (uint32_t)PSYNE_THREADS_MAX : (uint32_t)online;
    atomic_store_explicit(&default_threads, n, memory_order_relaxed);
    return n;
}

uint32_t psyne_threads_get(void)
{
    uint32_t n = atomic_load_explicit(&requested_threads, memory_order_relaxed);
    return n ? n : online_cpus();
}

psyne_status psyne_threads_set(uint32_t count)
{
    psyne__clear_error();
    if (count > PSYNE_THREADS_MAX)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT,
                           "psyne_threads_set: %u threads requested, at most PSYNE_THREADS_MAX (%d) are supported; "
                           "pass 0 for the default (%u online CPUs)",
                           (unsigned)count, (int)PSYNE_THREADS_MAX, (unsigned)online_cpus());
    atomic_store_explicit(&requested_threads, count, memory_order_relaxed);
    return PSYNE_OK;
}

static void run_chunks(const pool_job *job)
{
    for (;;) {
        uint32_t chunk = atomic_fetch_add_explicit(&pool.next_chunk, 1, memory_order_relaxed);
        if (chunk >= job->chunks) return;
        uint64_t begin = (uint64_t)chunk * job->grain;
        uint64_t end = begin + job->grain;
        if (end > job->count) end = job->count;
        job->fn(job->context, (uint32_t)begin, (uint32_t)end);
    }
}

static void *worker_main(void *arg)
{
    const worker_start *start = arg;
    const uint32_t index = start->index;
    uint32_t seen = start->generation;
    for (;;) {
        uint64_t ticket = atomic_load_explicit(&pool.ticket, memory_order_acquire);
        for (int spin = 0; (uint32_t)(ticket >> 32) == seen && spin < SPIN_ITERATIONS; spin++) {
            CPU_RELAX();
            ticket = atomic_load_explicit(&pool.ticket, memory_order_acquire);
        }
        if ((uint32_t)(ticket >> 32) == seen) {
            pthread_mutex_lock(&pool.lock);
            while ((uint32_t)((ticket = atomic_load_explicit(&pool.ticket, memory_order_acquire)) >> 32) == seen)
                pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = (uint32_t)(ticket >> 32);
        if (index >= (uint32_t)ticket) continue; /* not needed for this job */
        if (!join_job(seen)) continue;            /* too late: the owner has done it all */
        pool_job job = pool.job;
        run_chunks(&job);
        uint32_t done = atomic_fetch_add_explicit(&pool.finished, 1, memory_order_acq_rel) + 1;
        uint64_t gate = atomic_load_explicit(&pool.gate, memory_order_acquire);
        if (!(gate & GATE_OPEN) && done == GATE_COUNT(gate)) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

static int join_job(uint32_t gen)
{
    uint64_t gate = atomic_load_explicit(&pool.gate, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(gate >> 32) != gen || !(gate & GATE_OPEN))
            return 0;
        if (atomic_compare_exchange_weak_explicit(&pool.gate, &gate, gate + 1, memory_order_acq_rel, memory_order_acquire))
            return 1;
    }
}

/* The owner: no worker may join any more; returns how many did. */
static uint32_t close_gate(void)
{
    uint64_t gate = atomic_fetch_and_explicit(&pool.gate, ~GATE_OPEN, memory_order_acq_rel);
    return GATE_COUNT(gate);
}

/* A forked child has none of the parent's workers: start from scratch. */
static void reset_after_fork(void)
{
    pthread_mutex_t fresh_mutex = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    pool.run_lock = fresh_mutex;
    pool.lock = fresh_mutex;
    pool.wake = fresh_cond;
    pool.done = fresh_cond;
    pool.started = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, reset_after_fork);
}

/* Called with run_lock held. Returns how many workers exist (maybe fewer than wanted). */
static uint32_t ensure_workers(uint32_t wanted)
{
    pthread_once(&atfork_once, register_atfork);
    while (pool.started < wanted) {
        worker_start *start = &worker_starts[pool.started];
        start->index = pool.started;
        start->generation = pool.generation;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0) break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        int rc = pthread_create(&thread, &attr, worker_main, start);
        pthread_attr_destroy(&attr);
        if (rc != 0) break; /* run with the workers we have */
        pool.started++;
    }
    return pool.started;
}

void psyne__parallel_for(uint32_t count, uint32_t grain, psyne__parallel_fn fn, void *context)
{
    if (count == 0) return;
    if (grain == 0) grain = 1;
    const uint32_t chunks = (count - 1) / grain + 1;
    const uint32_t threads = psyne_threads_get();
    if (threads <= 1 || chunks <= 1 || pthread_mutex_trylock(&pool.run_lock) != 0) {
        fn(context, 0, count);
        return;
    }
    uint32_t participants = threads - 1;
    if (participants > chunks - 1) participants = chunks - 1;
    if (participants > MAX_WORKERS) participants = MAX_WORKERS;
    uint32_t available = ensure_workers(participants);
    if (participants > available) participants = available;
    if (participants == 0) {
        pthread_mutex_unlock(&pool.run_lock);
        fn(context, 0, count);
        return;
    }

    pool.job = (pool_job){.fn = fn, .context = context, .count = count, .grain = grain, .chunks = chunks};
    atomic_store_explicit(&pool.next_chunk, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.finished, 0, memory_order_relaxed);
    pthread_mutex_lock(&pool.lock);
    pool.generation++;
    atomic_store_explicit(&pool.gate, ((uint64_t)pool.generation << 32) | GATE_OPEN, memory_order_release);
    atomic_store_explicit(&pool.ticket, ((uint64_t)pool.generation << 32) | participants, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    run_chunks(&pool.job);

    /* Every chunk is taken: wait only for the workers that joined, not for one
     * the scheduler has not woken yet (it will find the gate closed). */
    const uint32_t joined = close_gate();
    for (int spin = 0; atomic_load_explicit(&pool.finished, memory_order_acquire) != joined && spin < SPIN_ITERATIONS; spin++)
        CPU_RELAX();
    if (atomic_load_explicit(&pool.finished, memory_order_acquire) != joined) {
        pthread_mutex_lock(&pool.lock);
        while (atomic_load_explicit(&pool.finished, memory_order_acquire) != joined)
            pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.run_lock);
}
