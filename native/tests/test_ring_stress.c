/* test_ring_stress.c - every channel kind with real threads: each producer's
 * records arrive exactly once, in order per producer, with their contents
 * intact, through small rings that wrap constantly (sizes 0..600 bytes,
 * 8- and 64-byte alignment, single and batch calls, out-of-order release). */
#include "psyne/psyne.h"
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

enum { MAX_THREADS = 4, MAX_BATCH = 6 };

typedef struct config {
    const char *name;
    int kind;
    uint64_t capacity;
    int producers;
    int consumers;
    int wait_policy;
    uint32_t per_producer;
} config;

typedef struct shared {
    const config *cfg;
    psyne_channel *ch;
    _Atomic uint8_t *seen[MAX_THREADS]; /* per producer, per sequence number */
    _Atomic int failures;
    _Atomic uint64_t received;
} shared;

typedef struct worker {
    shared *sh;
    int id;
} worker;

static uint32_t mix(uint32_t a, uint32_t b)
{
    uint32_t h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u);
    h ^= h >> 15;
    h *= 0x85EBCA77u;
    h ^= h >> 13;
    return h;
}

/* Records with seq % 64 == 63 are short (0..7 bytes) and carry their
 * sequence number in the type; the others are 8..600 bytes and carry it in
 * the payload. */
static int is_short(uint32_t seq)
{
    return seq % 64 == 63;
}

static uint32_t size_for(int p, uint32_t seq)
{
    return is_short(seq) ? (seq / 64) % 8 : 8 + mix((uint32_t)p, seq) % 593;
}

static uint16_t type_for(int p, uint32_t seq)
{
    return (uint16_t)(((unsigned)p << 12) | (is_short(seq) ? (seq >> 6) & 0xFFF : seq & 0xFFF));
}

static uint8_t pattern(int p, uint32_t seq, uint32_t i)
{
    return (uint8_t)(mix((uint32_t)p * 7919u + seq, i >> 2) >> ((i & 3) * 8));
}

static void write_payload(uint8_t *d, int p, uint32_t seq, uint32_t len)
{
    uint32_t i = 0;
    if (!is_short(seq)) {
        memcpy(d, &seq, 4);
        uint32_t pid = (uint32_t)p;
        memcpy(d + 4, &pid, 4);
        i = 8;
    }
    for (; i < len; i++) d[i] = pattern(p, seq, i);
}

static void fail(shared *sh, const char *what, int p, uint32_t seq)
{
    if (atomic_fetch_add(&sh->failures, 1) < 10)
        fprintf(stderr, "[%s] %s (producer %d, seq %u)\n", sh->cfg->name, what, p, (unsigned)seq);
}

static void *producer_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    const int p = w->id;
    uint32_t lcg = 0x1234u + (uint32_t)p * 977u;
    uint32_t seq = 0;
    psyne_reservation res[MAX_BATCH];
    uint32_t sizes[MAX_BATCH];
    while (seq < sh->cfg->per_producer) {
        lcg = lcg * 1664525u + 1013904223u;
        uint32_t want = 1 + (lcg >> 24) % MAX_BATCH;
        if (want > sh->cfg->per_producer - seq) want = sh->cfg->per_producer - seq;
        for (uint32_t i = 0; i < want; i++) sizes[i] = size_for(p, seq + i);
        const uint32_t align = (lcg >> 8) & 1 ? 64 : 8;
        uint32_t n = 0;
        psyne_status s;
        if ((lcg >> 9) & 1) {
            s = psyne_channel_reserve_batch(sh->ch, sizes, want, align, 1000000000u, res, &n);
        } else {
            s = psyne_channel_reserve(sh->ch, sizes[0], align, 1000000000u, &res[0]);
            n = s == PSYNE_OK;
        }
        if (s == PSYNE_E_TIMEOUT) continue;
        if (s != PSYNE_OK) {
            fail(sh, psyne_last_error(), p, seq);
            return NULL;
        }
        for (uint32_t i = 0; i < n; i++) {
            if ((uintptr_t)res[i].data % align) fail(sh, "reservation misaligned", p, seq + i);
            write_payload(res[i].data, p, seq + i, sizes[i]);
            res[i].type = type_for(p, seq + i);
        }
        if ((lcg >> 10) & 1) {
            s = psyne_channel_commit_batch(sh->ch, res, n);
        } else {
            s = PSYNE_OK;
            for (uint32_t i = 0; i < n && s == PSYNE_OK; i++)
                s = psyne_channel_commit(sh->ch, &res[i], sizes[i], res[i].type);
        }
        if (s != PSYNE_OK) fail(sh, psyne_last_error(), p, seq);
        seq += n;
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    uint32_t lcg = 0x9876u + (uint32_t)w->id * 31u;
    int64_t last[MAX_THREADS];
    for (int i = 0; i < MAX_THREADS; i++) last[i] = -1;
    const int single = sh->cfg->consumers == 1;
    psyne_record recs[8];
    for (;;) {
        lcg = lcg * 1664525u + 1013904223u;
        const uint32_t max = 1 + (lcg >> 24) % 8;
        uint32_t n = 0;
        psyne_status s;
        if (max == 1) {
            s = psyne_channel_read(sh->ch, 1000000000u, &recs[0]);
            n = s == PSYNE_OK;
        } else {
            s = psyne_channel_read_batch(sh->ch, max, 1000000000u, recs, &n);
        }
        if (s == PSYNE_E_CLOSED) break;
        if (s == PSYNE_E_TIMEOUT) continue;
        if (s != PSYNE_OK) {
            fail(sh, psyne_last_error(), -1, 0);
            break;
        }
        for (uint32_t k = 0; k < n; k++) {
            const psyne_record *r = &recs[k];
            const int p = r->type >> 12;
            const uint8_t *d = r->data;
            if (p >= sh->cfg->producers) {
                fail(sh, "unknown producer in type", p, 0);
                continue;
            }
            uint32_t seq;
            if (r->length >= 8) {
                uint32_t pid;
                memcpy(&seq, d, 4);
                memcpy(&pid, d + 4, 4);
                if (pid != (uint32_t)p || is_short(seq) || (r->type & 0xFFF) != (seq & 0xFFF)) {
                    fail(sh, "payload header does not match the type", p, seq);
                    continue;
                }
            } else {
                seq = ((uint32_t)(r->type & 0xFFF) << 6) | 63;
            }
            if (seq >= sh->cfg->per_producer || r->length != size_for(p, seq)) {
                fail(sh, "wrong length or sequence out of range", p, seq);
                continue;
            }
            for (uint32_t i = is_short(seq) ? 0 : 8; i < r->length; i++)
                if (d[i] != pattern(p, seq, i)) {
                    fail(sh, "payload corrupted", p, seq);
                    break;
                }
            if ((int64_t)seq <= last[p] || (single && (int64_t)seq != last[p] + 1)) fail(sh, "out of order", p, seq);
            last[p] = seq;
            if (atomic_exchange(&sh->seen[p][seq], 1)) fail(sh, "delivered twice", p, seq);
        }
        atomic_fetch_add(&sh->received, n);
        /* Release in a shuffled order now and then: space must come back only in ring order. */
        if ((lcg >> 7) & 1) {
            for (uint32_t k = n; k-- > 0;)
                if (psyne_channel_release(sh->ch, &recs[k]) != PSYNE_OK) fail(sh, psyne_last_error(), -1, 0);
        } else if (psyne_channel_release_batch(sh->ch, recs, n) != PSYNE_OK) {
            fail(sh, psyne_last_error(), -1, 0);
        }
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run(const config *cfg)
{
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.kind = cfg->kind;
    o.capacity = cfg->capacity;
    o.wait_policy = cfg->wait_policy;
    o.spin_count = 200;
    o.yield_count = 8;
    shared sh = {.cfg = cfg};
    CHECK_STATUS(PSYNE_OK, psyne_channel_create_inproc(&o, &sh.ch));
    if (!sh.ch) return;
    for (int p = 0; p < cfg->producers; p++) sh.seen[p] = calloc(cfg->per_producer, 1);
    pthread_t threads[2 * MAX_THREADS];
    worker workers[2 * MAX_THREADS];
    const double t0 = now_s();
    for (int c = 0; c < cfg->consumers; c++) {
        workers[c] = (worker){&sh, c};
        pthread_create(&threads[c], NULL, consumer_main, &workers[c]);
    }
    for (int p = 0; p < cfg->producers; p++) {
        workers[MAX_THREADS + p] = (worker){&sh, p};
        pthread_create(&threads[MAX_THREADS + p], NULL, producer_main, &workers[MAX_THREADS + p]);
    }
    for (int p = 0; p < cfg->producers; p++) pthread_join(threads[MAX_THREADS + p], NULL);
    CHECK_STATUS(PSYNE_OK, psyne_channel_shutdown(sh.ch));
    for (int c = 0; c < cfg->consumers; c++) pthread_join(threads[c], NULL);
    const double elapsed = now_s() - t0;
    const uint64_t total = (uint64_t)cfg->producers * cfg->per_producer;
    CHECK_EQ_U64(0, atomic_load(&sh.failures));
    CHECK_EQ_U64(total, atomic_load(&sh.received));
    for (int p = 0; p < cfg->producers; p++) {
        uint32_t missing = 0;
        for (uint32_t s = 0; s < cfg->per_producer; s++) missing += !sh.seen[p][s];
        CHECK_EQ_U64(0, missing);
        free((void *)sh.seen[p]);
    }
    psyne_channel_stats st;
    CHECK_STATUS(PSYNE_OK, psyne_channel_stats_get(sh.ch, &st));
    CHECK_EQ_U64(total, st.messages_written);
    CHECK_EQ_U64(total, st.messages_read);
    CHECK_EQ_U64(st.bytes_written, st.bytes_read);
    CHECK_EQ_U64(0, st.used_bytes);
    printf("%-22s %7llu records in %.3f s (%.2f M/s), stalls %llu/%llu\n", cfg->name, (unsigned long long)total,
           elapsed, (double)total / elapsed / 1e6, (unsigned long long)st.producer_stalls,
           (unsigned long long)st.consumer_stalls);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(sh.ch));
}

/* ---- wake-ups ------------------------------------------------------------------
 * Two threads bounce one record through two channels whose waits sleep at
 * once (no spinning, no yielding), so every read sleeps on the futex and every
 * commit and release must see the sleeper. A missed wake-up is not lost for
 * ever (a sleep lasts at most PSYNE_IPC_WAIT_SLICE_MS), so it shows as a round
 * trip of a whole slice; the test counts those. Round trips here take tens of
 * microseconds; a scheduler delay of a whole slice is rare, so a few are
 * tolerated and a protocol that misses wake-ups (hundreds) is not. */

enum { PING_ROUNDS = 3000 };

typedef struct ping_pair {
    psyne_channel *to, *from;
    _Atomic int failures;
} ping_pair;

static void *echo_main(void *p)
{
    ping_pair *pp = p;
    for (uint32_t i = 0; i < PING_ROUNDS; i++) {
        psyne_record rec;
        if (psyne_channel_read(pp->to, 10000000000ull, &rec) != PSYNE_OK) {
            atomic_fetch_add(&pp->failures, 1);
            return NULL;
        }
        uint32_t v;
        memcpy(&v, rec.data, 4);
        if (v != i) atomic_fetch_add(&pp->failures, 1);
        psyne_reservation r;
        /* Reserve before releasing: the producer side sleeps on space too (4 KiB rings fill up). */
        if (psyne_channel_reserve(pp->from, 4, 0, 10000000000ull, &r) != PSYNE_OK) {
            atomic_fetch_add(&pp->failures, 1);
            return NULL;
        }
        memcpy(r.data, &v, 4);
        psyne_channel_release(pp->to, &rec);
        psyne_channel_commit(pp->from, &r, 4, 0);
    }
    return NULL;
}

static void run_wakeups(void)
{
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.capacity = 4096;
    o.spin_count = 0;
    o.yield_count = 0;
    ping_pair pp = {0};
    CHECK_STATUS(PSYNE_OK, psyne_channel_create_inproc(&o, &pp.to));
    CHECK_STATUS(PSYNE_OK, psyne_channel_create_inproc(&o, &pp.from));
    if (!pp.to || !pp.from) return;
    pthread_t echo;
    pthread_create(&echo, NULL, echo_main, &pp);
    int slow = 0;
    double worst = 0;
    const double t0 = now_s();
    for (uint32_t i = 0; i < PING_ROUNDS; i++) {
        const double start = now_s();
        psyne_reservation r;
        CHECK_STATUS(PSYNE_OK, psyne_channel_reserve(pp.to, 4, 0, 10000000000ull, &r));
        memcpy(r.data, &i, 4);
        CHECK_STATUS(PSYNE_OK, psyne_channel_commit(pp.to, &r, 4, 0));
        psyne_record rec;
        psyne_status s = psyne_channel_read(pp.from, 10000000000ull, &rec);
        CHECK_STATUS(PSYNE_OK, s);
        if (s != PSYNE_OK) break;
        uint32_t v;
        memcpy(&v, rec.data, 4);
        CHECK_EQ_U64(i, v);
        CHECK_STATUS(PSYNE_OK, psyne_channel_release(pp.from, &rec));
        const double rt = now_s() - start;
        if (rt > worst) worst = rt;
        if (rt >= 0.8 * PSYNE_IPC_WAIT_SLICE_MS / 1000.0) slow++;
    }
    pthread_join(echo, NULL);
    CHECK_EQ_U64(0, atomic_load(&pp.failures));
    psyne_channel_stats st;
    CHECK_STATUS(PSYNE_OK, psyne_channel_stats_get(pp.to, &st));
    printf("wake-ups: %d round trips sleeping at once in %.3f s, worst %.3f ms, %d of a whole wait slice, "
           "consumer sleeps %llu\n",
           PING_ROUNDS, now_s() - t0, worst * 1e3, slow, (unsigned long long)st.consumer_stalls);
    CHECK(slow <= 3);
    CHECK(st.consumer_stalls > 0);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(pp.to));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(pp.from));
}

int main(void)
{
    TEST_INIT();
    run_wakeups();
    static const config configs[] = {
        {"spsc 4k futex", PSYNE_CHANNEL_SPSC, 4096, 1, 1, PSYNE_WAIT_FUTEX, 80000},
        {"spsc 64k yield", PSYNE_CHANNEL_SPSC, 65536, 1, 1, PSYNE_WAIT_YIELD, 80000},
        {"mpsc 4k futex 3p", PSYNE_CHANNEL_MPSC, 4096, 3, 1, PSYNE_WAIT_FUTEX, 25000},
        {"spmc 4k futex 3c", PSYNE_CHANNEL_SPMC, 4096, 1, 3, PSYNE_WAIT_FUTEX, 60000},
        {"mpmc 4k futex 3p3c", PSYNE_CHANNEL_MPMC, 4096, 3, 3, PSYNE_WAIT_FUTEX, 20000},
        {"mpmc 64k yield 2p2c", PSYNE_CHANNEL_MPMC, 65536, 2, 2, PSYNE_WAIT_YIELD, 30000},
    };
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) run(&configs[i]);
    TEST_DONE();
}
