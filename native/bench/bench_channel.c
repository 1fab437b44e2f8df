/* bench_channel.c - channel throughput and latency, each figure next to a
 * peer measured in the same run. Not part of ctest; build by hand against a
 * release build:
 *
 *   gcc -std=c11 -O2 -D_GNU_SOURCE -Inative/include native/bench/bench_channel.c \
 *       -Lbuild/native -lpsyne -lpthread -Wl,-rpath,$PWD/build/native -o build/bench_channel
 *   ./build/bench_channel [inproc|ipc|pingpong|large|all] [seconds per test, default 1]
 *
 * The machine's noise moves peer and Psyne alike; compare rows of one run.
 *
 * Threads and processes are pinned to cores 0 and 1 (sched_setaffinity).
 * Rows:
 *   inproc SPSC 64 B   msg/s with single calls and with batch calls (threads),
 *                      spin and futex policies, next to a textbook fixed-slot
 *                      SPSC queue (64-byte slots, cached indices) as the ceiling.
 *   ipc SPSC 64 B      msg/s between two processes, single and batch.
 *   ping-pong          round-trip median and p99 over ipc: spin policy next to a
 *                      raw shared-memory cache-line ping-pong; futex policy
 *                      (no spinning: sleeps at once) next to a pipe ping-pong.
 *   1 MiB messages     GB/s filled in place by one process and read (summed)
 *                      by the other, next to memcpy of 1 MiB blocks.
 * Every consumer checks the sequence numbers it receives; a wrong one aborts.
 */
#include <psyne/psyne.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds = 1.0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) fprintf(stderr, "warning: cannot pin to cpu %d\n", cpu);
}

static inline void relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

static void die(const char *what, psyne_status s)
{
    fprintf(stderr, "%s: %s: %s\n", what, psyne_status_name(s), psyne_last_error());
    exit(1);
}

#define TRY(call)                                  \
    do {                                           \
        psyne_status s_ = (call);                  \
        if (s_ != PSYNE_OK) die(#call, s_);        \
    } while (0)

static psyne_channel_options options(uint64_t capacity, int wait_policy)
{
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.capacity = capacity;
    o.wait_policy = wait_policy;
    return o;
}

static void channel_name(char *out, size_t n, const char *what)
{
    snprintf(out, n, "bench-%d-%s", (int)getpid(), what);
}

/* ---- producer / consumer loops (shared by threads and processes) ----------- */

enum { BATCH = 64, MSG = 64 };

/* Sends count 64-byte records carrying their sequence number. */
static void produce(psyne_channel *ch, uint64_t count, int batch)
{
    if (!batch) {
        for (uint64_t seq = 0; seq < count; seq++) {
            psyne_reservation r;
            while (psyne_channel_try_reserve(ch, MSG, 0, &r) != PSYNE_OK) relax();
            memcpy(r.data, &seq, 8);
            psyne_channel_commit(ch, &r, MSG, 0);
        }
        return;
    }
    uint32_t sizes[BATCH];
    psyne_reservation res[BATCH];
    for (int i = 0; i < BATCH; i++) sizes[i] = MSG;
    for (uint64_t seq = 0; seq < count;) {
        uint32_t want = count - seq < BATCH ? (uint32_t)(count - seq) : BATCH, n = 0;
        if (psyne_channel_try_reserve_batch(ch, sizes, want, 0, res, &n) != PSYNE_OK) {
            relax();
            continue;
        }
        for (uint32_t i = 0; i < n; i++, seq++) memcpy(res[i].data, &seq, 8);
        psyne_channel_commit_batch(ch, res, n);
    }
}

static void consume(psyne_channel *ch, uint64_t count, int batch)
{
    psyne_record recs[BATCH];
    for (uint64_t seq = 0; seq < count;) {
        uint32_t n = 0;
        psyne_status s = batch ? psyne_channel_try_read_batch(ch, BATCH, recs, &n) : psyne_channel_try_read(ch, &recs[0]);
        if (s != PSYNE_OK) {
            if (s != PSYNE_E_TIMEOUT) die("read", s);
            relax();
            continue;
        }
        if (!batch) n = 1;
        for (uint32_t i = 0; i < n; i++, seq++) {
            uint64_t v;
            memcpy(&v, recs[i].data, 8);
            if (v != seq) {
                fprintf(stderr, "sequence error: got %llu, expected %llu\n", (unsigned long long)v,
                        (unsigned long long)seq);
                exit(1);
            }
        }
        if (batch) psyne_channel_release_batch(ch, recs, n);
        else psyne_channel_release(ch, &recs[0]);
    }
}

/* ---- inproc ------------------------------------------------------------------ */

typedef struct thread_arg {
    psyne_channel *ch;
    uint64_t count;
    int batch;
} thread_arg;

static void *producer_thread(void *p)
{
    thread_arg *a = p;
    pin(1);
    produce(a->ch, a->count, a->batch);
    return NULL;
}

static int policy_under_test = PSYNE_WAIT_SPIN;

/* Messages per second for count messages (consumer on core 0, producer on core 1). */
static double inproc_run(uint64_t count, int batch)
{
    psyne_channel_options o = options(1u << 20, policy_under_test);
    psyne_channel *ch;
    TRY(psyne_channel_create_inproc(&o, &ch));
    pin(0);
    thread_arg a = {ch, count, batch};
    pthread_t t;
    const double t0 = now_s();
    pthread_create(&t, NULL, producer_thread, &a);
    consume(ch, count, batch);
    const double dt = now_s() - t0;
    pthread_join(t, NULL);
    psyne_channel_close(ch);
    return (double)count / dt;
}

/* Peer: the textbook SPSC queue of fixed 64-byte slots with cached indices
 * (no headers, no variable sizes, no waiting): the ceiling for this machine. */
enum { RAW_SLOTS = 1 << 14 };
typedef struct raw_queue {
    _Alignas(128) _Atomic uint64_t tail;
    uint64_t cached_head;
    _Alignas(128) _Atomic uint64_t head;
    uint64_t cached_tail;
    _Alignas(128) uint8_t slots[RAW_SLOTS][MSG];
} raw_queue;

static void *raw_producer(void *p)
{
    thread_arg *a = p;
    raw_queue *q = (raw_queue *)(void *)a->ch;
    pin(1);
    for (uint64_t seq = 0; seq < a->count; seq++) {
        const uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
        while (t - q->cached_head >= RAW_SLOTS) {
            q->cached_head = atomic_load_explicit(&q->head, memory_order_acquire);
            if (t - q->cached_head >= RAW_SLOTS) relax();
        }
        memcpy(q->slots[t % RAW_SLOTS], &seq, 8);
        atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    }
    return NULL;
}

static double raw_run(uint64_t count, int batch)
{
    (void)batch;
    raw_queue *q = aligned_alloc(128, sizeof *q);
    memset(q, 0, sizeof *q);
    pin(0);
    thread_arg a = {(psyne_channel *)(void *)q, count, 0};
    pthread_t t;
    const double t0 = now_s();
    pthread_create(&t, NULL, raw_producer, &a);
    for (uint64_t seq = 0; seq < count; seq++) {
        const uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
        while (h == q->cached_tail) {
            q->cached_tail = atomic_load_explicit(&q->tail, memory_order_acquire);
            if (h == q->cached_tail) relax();
        }
        uint64_t v;
        memcpy(&v, q->slots[h % RAW_SLOTS], 8);
        if (v != seq) exit(1);
        atomic_store_explicit(&q->head, h + 1, memory_order_release);
    }
    const double dt = now_s() - t0;
    pthread_join(t, NULL);
    free(q);
    return (double)count / dt;
}

static uint64_t calibrate(double (*run)(uint64_t, int), int batch)
{
    uint64_t n = 1u << 20;
    double rate = run(n, batch);
    return (uint64_t)(rate * seconds) + 1;
}

static double best_of(double (*run)(uint64_t, int), int batch, int rounds)
{
    const uint64_t n = calibrate(run, batch);
    double best = 0;
    for (int i = 0; i < rounds; i++) {
        double r = run(n, batch);
        if (r > best) best = r;
    }
    return best;
}

static void bench_inproc(void)
{
    printf("inproc SPSC, 64 B records, 1 MiB ring, two threads on cores 0 and 1 (best of 3)\n");
    printf("  %-48s %8.1f M msg/s\n", "raw fixed-slot SPSC queue, 1 MiB (peer)", best_of(raw_run, 0, 3) / 1e6);
    for (int policy = PSYNE_WAIT_SPIN; policy <= PSYNE_WAIT_FUTEX; policy += PSYNE_WAIT_FUTEX) {
        policy_under_test = policy;
        const char *p = policy == PSYNE_WAIT_SPIN ? "spin policy" : "futex policy (checks for sleepers)";
        printf("  single calls, %-34s %8.1f M msg/s\n", p, best_of(inproc_run, 0, 3) / 1e6);
        printf("  batch of %2d,  %-34s %8.1f M msg/s\n", BATCH, p, best_of(inproc_run, 1, 3) / 1e6);
    }
    policy_under_test = PSYNE_WAIT_SPIN;
}

/* ---- ipc throughput ---------------------------------------------------------------- */

static double ipc_run(uint64_t count, int batch)
{
    char name[64];
    channel_name(name, sizeof name, "tput");
    psyne_channel_options o = options(1u << 20, policy_under_test);
    psyne_channel *ch;
    TRY(psyne_channel_create_ipc(name, &o, PSYNE_ROLE_CONSUMER, &ch));
    pin(0);
    pid_t pid = fork();
    if (pid == 0) {
        pin(1);
        psyne_channel *p;
        TRY(psyne_channel_open_ipc(name, PSYNE_ROLE_PRODUCER, &p));
        produce(p, count, batch);
        psyne_channel_close(p);
        _exit(0);
    }
    /* Time from the first record, so the child's start-up does not count. */
    psyne_record rec;
    while (psyne_channel_try_read(ch, &rec) != PSYNE_OK) relax();
    const double t0 = now_s();
    psyne_channel_release(ch, &rec);
    psyne_record recs[BATCH];
    for (uint64_t seq = 1; seq < count;) {
        uint32_t n = 0;
        psyne_status s = batch ? psyne_channel_try_read_batch(ch, BATCH, recs, &n) : psyne_channel_try_read(ch, &recs[0]);
        if (s != PSYNE_OK) {
            relax();
            continue;
        }
        if (!batch) n = 1;
        for (uint32_t i = 0; i < n; i++, seq++) {
            uint64_t v;
            memcpy(&v, recs[i].data, 8);
            if (v != seq) {
                fprintf(stderr, "ipc sequence error\n");
                exit(1);
            }
        }
        if (batch) psyne_channel_release_batch(ch, recs, n);
        else psyne_channel_release(ch, &recs[0]);
    }
    const double dt = now_s() - t0;
    waitpid(pid, NULL, 0);
    psyne_channel_close(ch);
    return (double)(count - 1) / dt;
}

static void bench_ipc(void)
{
    printf("ipc SPSC, 64 B records, 1 MiB ring, two processes on cores 0 and 1 (best of 3)\n");
    for (int policy = PSYNE_WAIT_SPIN; policy <= PSYNE_WAIT_FUTEX; policy += PSYNE_WAIT_FUTEX) {
        policy_under_test = policy;
        const char *p = policy == PSYNE_WAIT_SPIN ? "spin policy" : "futex policy (checks for sleepers)";
        printf("  single calls, %-34s %8.1f M msg/s\n", p, best_of(ipc_run, 0, 3) / 1e6);
        printf("  batch of %2d,  %-34s %8.1f M msg/s\n", BATCH, p, best_of(ipc_run, 1, 3) / 1e6);
    }
    policy_under_test = PSYNE_WAIT_SPIN;
}

/* ---- ping-pong ---------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report_rtt(const char *what, uint64_t *rtt, uint32_t n, double *median_out)
{
    qsort(rtt, n, sizeof *rtt, cmp_u64);
    const double median = (double)rtt[n / 2], p99 = (double)rtt[(uint64_t)n * 99 / 100];
    if (what) printf("  %-34s median %8.0f ns   p99 %9.0f ns\n", what, median, p99);
    if (median_out) *median_out = median;
}

/* Raw peer: one cache line in a shared mapping, each side waits for the other's value. */
static void pingpong_raw(uint32_t rounds, uint64_t *rtt)
{
    _Atomic uint64_t *line = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    atomic_store(line, 0);
    pid_t pid = fork();
    if (pid == 0) {
        pin(1);
        for (uint64_t k = 0; k < rounds + 1000u; k++) {
            while (atomic_load_explicit(line, memory_order_acquire) != 2 * k + 1) relax();
            atomic_store_explicit(line, 2 * k + 2, memory_order_release);
        }
        _exit(0);
    }
    pin(0);
    for (uint64_t k = 0; k < rounds + 1000u; k++) {
        const uint64_t t0 = now_ns();
        atomic_store_explicit(line, 2 * k + 1, memory_order_release);
        while (atomic_load_explicit(line, memory_order_acquire) != 2 * k + 2) relax();
        if (k >= 1000) rtt[k - 1000] = now_ns() - t0;
    }
    waitpid(pid, NULL, 0);
    munmap((void *)line, 4096);
}

/* Raw peer for the sleeping case: a pipe each way, one byte per message. */
static void pingpong_pipe(uint32_t rounds, uint64_t *rtt)
{
    int ab[2], ba[2];
    if (pipe(ab) || pipe(ba)) exit(1);
    pid_t pid = fork();
    char c = 0;
    if (pid == 0) {
        pin(1);
        for (uint32_t k = 0; k < rounds + 100u; k++) {
            if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    pin(0);
    for (uint32_t k = 0; k < rounds + 100u; k++) {
        const uint64_t t0 = now_ns();
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1) exit(1);
        if (k >= 100) rtt[k - 100] = now_ns() - t0;
    }
    waitpid(pid, NULL, 0);
    close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
}

/* Psyne: two SPSC ipc channels, one each way; 64-byte messages. */
static void pingpong_psyne(uint32_t rounds, uint64_t *rtt, int wait_policy, uint32_t spin, uint32_t yield, int warm)
{
    char a_name[64], b_name[64];
    channel_name(a_name, sizeof a_name, "ping");
    channel_name(b_name, sizeof b_name, "pong");
    psyne_channel_options o = options(1u << 16, wait_policy);
    o.spin_count = spin;
    o.yield_count = yield;
    psyne_channel *ping, *pong;
    TRY(psyne_channel_create_ipc(a_name, &o, PSYNE_ROLE_PRODUCER, &ping));
    TRY(psyne_channel_create_ipc(b_name, &o, PSYNE_ROLE_CONSUMER, &pong));
    const uint32_t total = rounds + (uint32_t)warm;
    pid_t pid = fork();
    if (pid == 0) {
        pin(1);
        psyne_channel *in, *out;
        TRY(psyne_channel_open_ipc(a_name, PSYNE_ROLE_CONSUMER, &in));
        TRY(psyne_channel_open_ipc(b_name, PSYNE_ROLE_PRODUCER, &out));
        for (uint32_t k = 0; k < total; k++) {
            psyne_record rec;
            psyne_reservation r;
            TRY(psyne_channel_read(in, UINT64_MAX, &rec));
            TRY(psyne_channel_try_reserve(out, MSG, 0, &r));
            memcpy(r.data, rec.data, 8);
            psyne_channel_release(in, &rec);
            psyne_channel_commit(out, &r, MSG, 0);
        }
        psyne_channel_close(in);
        psyne_channel_close(out);
        _exit(0);
    }
    pin(0);
    for (uint64_t k = 0; k < total; k++) {
        psyne_reservation r;
        psyne_record rec;
        const uint64_t t0 = now_ns();
        TRY(psyne_channel_try_reserve(ping, MSG, 0, &r));
        memcpy(r.data, &k, 8);
        psyne_channel_commit(ping, &r, MSG, 0);
        TRY(psyne_channel_read(pong, UINT64_MAX, &rec));
        uint64_t v;
        memcpy(&v, rec.data, 8);
        psyne_channel_release(pong, &rec);
        if (v != k) {
            fprintf(stderr, "ping-pong sequence error\n");
            exit(1);
        }
        if (k >= (uint64_t)warm) rtt[k - (uint64_t)warm] = now_ns() - t0;
    }
    waitpid(pid, NULL, 0);
    psyne_channel_close(ping);
    psyne_channel_close(pong);
}

static double median_of(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            const double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* The machine's noise moves both sides of a comparison, so each pair is run
 * back to back REPS times and the ratio reported is the median of the
 * per-pair ratios; the rows show the last pair's distribution. */
enum { REPS = 5 };

static void bench_pingpong(void)
{
    const uint32_t rounds = (uint32_t)(40000 * seconds) + 1000;
    const uint32_t slow_rounds = rounds / 20 > 1000 ? rounds / 20 : 1000;
    uint64_t *rtt = malloc(sizeof(uint64_t) * rounds);
    double raw, spin, pipe_rtt, futex, ratios[REPS];
    printf("ping-pong round trip, 64 B, two processes on cores 0 and 1 (%d pairs of runs)\n", REPS);
    for (int rep = 0; rep < REPS; rep++) {
        for (int k = 0; k < 2; k++) {
            if ((k + rep) % 2 == 0) {
                pingpong_raw(rounds, rtt);
                report_rtt(rep == REPS - 1 ? "raw shared cache line (peer)" : NULL, rtt, rounds, &raw);
            } else {
                pingpong_psyne(rounds, rtt, PSYNE_WAIT_SPIN, 0, 0, 1000);
                report_rtt(rep == REPS - 1 ? "psyne ipc, spin policy" : NULL, rtt, rounds, &spin);
            }
        }
        ratios[rep] = spin / raw;
    }
    printf("  %-34s median ratio %.2fx the raw cache line\n", "", median_of(ratios, REPS));
    for (int rep = 0; rep < REPS; rep++) {
        /* Alternate which goes first, so neither always runs on a warmer machine. */
        for (int k = 0; k < 2; k++) {
            if ((k + rep) % 2 == 0) {
                pingpong_pipe(slow_rounds, rtt);
                report_rtt(rep == REPS - 1 ? "pipe (peer)" : NULL, rtt, slow_rounds, &pipe_rtt);
            } else {
                pingpong_psyne(slow_rounds, rtt, PSYNE_WAIT_FUTEX, 0, 0, 100);
                report_rtt(rep == REPS - 1 ? "psyne ipc, futex (sleeps at once)" : NULL, rtt, slow_rounds, &futex);
            }
        }
        ratios[rep] = futex / pipe_rtt;
    }
    printf("  %-34s median ratio %.2fx the pipe\n", "", median_of(ratios, REPS));
    pingpong_psyne(slow_rounds, rtt, PSYNE_WAIT_FUTEX, PSYNE_CHANNEL_DEFAULT_SPIN_COUNT,
                   PSYNE_CHANNEL_DEFAULT_YIELD_COUNT, 100);
    report_rtt("psyne ipc, futex, default spin/yield", rtt, slow_rounds, NULL);
    free(rtt);
}

/* ---- 1 MiB messages ------------------------------------------------------------------------ */

enum { LARGE = 1 << 20 };

static void fill_large(uint8_t *p, uint64_t seq)
{
    uint64_t *w = (uint64_t *)(void *)p;
    for (size_t i = 0; i < LARGE / 8; i++) w[i] = seq + i;
}

static uint64_t sum_large(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < LARGE / 8; i += 4) {
        s0 += w[i];
        s1 += w[i + 1];
        s2 += w[i + 2];
        s3 += w[i + 3];
    }
    return s0 + s1 + s2 + s3;
}

static void bench_large(void)
{
    const uint64_t ring = 16u << 20;
    printf("1 MiB messages over ipc, %llu MiB ring: filled in place by one process, summed by the other\n",
           (unsigned long long)(ring >> 20));
    /* Peer: memcpy of 1 MiB blocks, one core, source and destination rotating over the ring's size. */
    uint8_t *src = aligned_alloc(64, ring), *dst = aligned_alloc(64, ring);
    memset(src, 1, ring);
    memset(dst, 2, ring);
    pin(0);
    double best_rot = 0, best_hot = 0;
    for (int round = 0; round < 3; round++) {
        const uint64_t n = (uint64_t)(2000 * seconds);
        double t0 = now_s();
        for (uint64_t i = 0; i < n; i++) {
            const size_t off = (size_t)(i % (ring / LARGE)) * LARGE;
            memcpy(dst + off, src + off, LARGE);
        }
        double gbs = (double)n * LARGE / (now_s() - t0) / 1e9;
        if (gbs > best_rot) best_rot = gbs;
        t0 = now_s();
        for (uint64_t i = 0; i < n; i++) memcpy(dst, src, LARGE);
        gbs = (double)n * LARGE / (now_s() - t0) / 1e9;
        if (gbs > best_hot) best_hot = gbs;
    }
    printf("  %-34s %6.2f GB/s\n", "memcpy 1 MiB, over 16 MiB (peer)", best_rot);
    printf("  %-34s %6.2f GB/s\n", "memcpy 1 MiB, same block (hot)", best_hot);
    free(src);
    free(dst);

    double best = 0;
    for (int round = 0; round < 3; round++) {
        char name[64];
        channel_name(name, sizeof name, "large");
        psyne_channel_options o = options(ring, PSYNE_WAIT_SPIN);
        psyne_channel *ch;
        TRY(psyne_channel_create_ipc(name, &o, PSYNE_ROLE_CONSUMER, &ch));
        const uint64_t count = (uint64_t)(3000 * seconds);
        pid_t pid = fork();
        if (pid == 0) {
            pin(1);
            psyne_channel *p;
            TRY(psyne_channel_open_ipc(name, PSYNE_ROLE_PRODUCER, &p));
            for (uint64_t seq = 0; seq < count; seq++) {
                psyne_reservation r;
                TRY(psyne_channel_reserve(p, LARGE, 64, UINT64_MAX, &r));
                fill_large(r.data, seq);
                psyne_channel_commit(p, &r, LARGE, 0);
            }
            psyne_channel_close(p);
            _exit(0);
        }
        pin(0);
        double t0 = 0;
        const uint64_t per = (uint64_t)LARGE / 8;
        for (uint64_t seq = 0; seq < count; seq++) {
            psyne_record rec;
            TRY(psyne_channel_read(ch, UINT64_MAX, &rec));
            if (seq == 0) t0 = now_s();
            const uint64_t expect = per * seq + per * (per - 1) / 2;
            if (sum_large(rec.data) != expect) {
                fprintf(stderr, "1 MiB message %llu has wrong contents\n", (unsigned long long)seq);
                exit(1);
            }
            psyne_channel_release(ch, &rec);
        }
        const double gbs = (double)(count - 1) * LARGE / (now_s() - t0) / 1e9;
        if (gbs > best) best = gbs;
        waitpid(pid, NULL, 0);
        psyne_channel_close(ch);
    }
    printf("  %-34s %6.2f GB/s  (%.0f%% of the rotating memcpy)\n", "psyne ipc, fill + read in place", best,
           100.0 * best / best_rot);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    if (argc > 2) seconds = atof(argv[2]);
    if (psyne_init() != PSYNE_OK) die("psyne_init", PSYNE_E_INTERNAL);
    const int all = strcmp(which, "all") == 0;
    if (all || !strcmp(which, "inproc")) bench_inproc();
    if (all || !strcmp(which, "ipc")) bench_ipc();
    if (all || !strcmp(which, "pingpong")) bench_pingpong();
    if (all || !strcmp(which, "large")) bench_large();
    return 0;
}
