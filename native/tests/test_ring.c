/* test_ring.c - the message ring through the inproc channel API, one thread
 * at a time: record shapes, wrap-around, full policies, timeouts, release
 * order, shutdown, misuse and corruption. test_ring_stress.c runs it with
 * threads. */
#include "psyne/psyne.h"
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static const int kinds[] = {PSYNE_CHANNEL_SPSC, PSYNE_CHANNEL_MPSC, PSYNE_CHANNEL_SPMC, PSYNE_CHANNEL_MPMC};
static const char *kind_names[] = {"spsc", "mpsc", "spmc", "mpmc"};

static psyne_channel *make(int kind, uint64_t capacity, int full_policy, int wait_policy)
{
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.kind = kind;
    o.capacity = capacity;
    o.full_policy = full_policy;
    o.wait_policy = wait_policy;
    o.spin_count = 100;
    o.yield_count = 4;
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_create_inproc(&o, &ch));
    return ch;
}

static void fill(void *p, uint32_t n, uint32_t seed)
{
    uint8_t *b = p;
    for (uint32_t i = 0; i < n; i++) b[i] = (uint8_t)(seed * 131u + i * 7u);
}

static int verify(const void *p, uint32_t n, uint32_t seed)
{
    const uint8_t *b = p;
    for (uint32_t i = 0; i < n; i++)
        if (b[i] != (uint8_t)(seed * 131u + i * 7u)) return 0;
    return 1;
}

static psyne_status send(psyne_channel *ch, uint32_t size, uint32_t align, uint16_t type, uint32_t seed)
{
    psyne_reservation r;
    psyne_status s = psyne_channel_try_reserve(ch, size, align, &r);
    if (s != PSYNE_OK) return s;
    fill(r.data, size, seed);
    return psyne_channel_commit(ch, &r, size, type);
}

static void test_options(void)
{
    psyne_channel_options o;
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_options_init(&o));
    CHECK_EQ_U64(PSYNE_CHANNEL_SPSC, o.kind);
    CHECK_EQ_U64(PSYNE_CHANNEL_DEFAULT_CAPACITY, o.capacity);
    o.capacity = 5000;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_inproc(&o, &ch));
    CHECK(strstr(psyne_last_error(), "5000") != NULL);
    o.capacity = 2048;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_inproc(&o, &ch));
    o.capacity = 4096;
    o.kind = 7;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_inproc(&o, &ch));
    o.kind = 0;
    o.full_policy = -1;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_inproc(&o, &ch));
    o.full_policy = 0;
    o.reserved[1] = 1;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_inproc(&o, &ch));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_inproc(NULL, &ch));
    CHECK(ch == NULL);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(NULL));

    o.reserved[1] = 0;
    o.flags = PSYNE_CHANNEL_HUGE_PAGES;
    o.capacity = 1u << 21;
    CHECK_STATUS(PSYNE_OK, psyne_channel_create_inproc(&o, &ch));
    psyne_channel_info info;
    CHECK_STATUS(PSYNE_OK, psyne_channel_info_get(ch, &info));
    CHECK_EQ_U64(1u << 21, info.capacity);
    CHECK_EQ_U64((1u << 21) - 16, info.max_payload);
    CHECK_EQ_U64(PSYNE_TRANSPORT_INPROC, info.transport);
    CHECK_EQ_U64(PSYNE_ROLE_BOTH, info.role);
    CHECK_EQ_U64(PSYNE_CHANNEL_OPEN, info.state);
    CHECK(info.alloc_kind != PSYNE_ALLOC_KIND_HEAP);
    CHECK_STATUS(PSYNE_OK, send(ch, 100, 0, 1, 1));
    psyne_record rec;
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    CHECK(verify(rec.data, 100, 1));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* Zero-length records, types, 64-byte alignment, short commits, abort. */
static void test_shapes(int kind)
{
    psyne_channel *ch = make(kind, 4096, PSYNE_FULL_FAIL, PSYNE_WAIT_FUTEX);
    psyne_record rec;
    CHECK_STATUS(PSYNE_E_TIMEOUT, psyne_channel_try_read(ch, &rec));
    CHECK_STATUS(PSYNE_E_TIMEOUT, psyne_channel_read(ch, 1000000, &rec));

    CHECK_STATUS(PSYNE_OK, send(ch, 0, 0, 0, 0));
    CHECK_STATUS(PSYNE_OK, send(ch, 0, 64, 0xFFFF, 0));
    CHECK_STATUS(PSYNE_OK, send(ch, 3, 64, 7, 9));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    CHECK_EQ_U64(0, rec.length);
    CHECK_EQ_U64(0, rec.type);
    CHECK_EQ_U64(0, (uintptr_t)rec.data % 8);
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    CHECK_EQ_U64(0, rec.length);
    CHECK_EQ_U64(0xFFFF, rec.type);
    CHECK_EQ_U64(0, (uintptr_t)rec.data % 64);
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    CHECK_EQ_U64(3, rec.length);
    CHECK_EQ_U64(7, rec.type);
    CHECK_EQ_U64(0, (uintptr_t)rec.data % 64);
    CHECK(verify(rec.data, 3, 9));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));

    /* Every alignment up to the maximum. */
    for (uint32_t a = 1; a <= PSYNE_RECORD_MAX_ALIGNMENT; a *= 2) {
        psyne_reservation r;
        CHECK_STATUS(PSYNE_OK, psyne_channel_try_reserve(ch, 10, a, &r));
        CHECK_EQ_U64(0, (uintptr_t)r.data % (a < 8 ? 8 : a));
        CHECK_STATUS(PSYNE_OK, psyne_channel_commit(ch, &r, 10, (uint16_t)a));
        CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
        CHECK_EQ_U64(a, rec.type);
        CHECK(rec.data == r.data);
        CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    }
    psyne_reservation r;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve(ch, 10, 48, &r));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve(ch, 10, 2048, &r));

    /* Commit fewer bytes than reserved: the rest comes back. */
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_reserve(ch, 1000, 0, &r));
    fill(r.data, 17, 5);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_commit(ch, &r, 1001, 1));
    CHECK_STATUS(PSYNE_OK, psyne_channel_commit(ch, &r, 17, 2));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_commit(ch, &r, 17, 2)); /* twice */
    /* Abort: consumers never see it. */
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_reserve(ch, 200, 64, &r));
    CHECK_STATUS(PSYNE_OK, psyne_channel_abort(ch, &r));
    CHECK_STATUS(PSYNE_OK, send(ch, 5, 0, 3, 6));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    CHECK_EQ_U64(17, rec.length);
    CHECK_EQ_U64(2, rec.type);
    CHECK(verify(rec.data, 17, 5));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_release(ch, &rec)); /* twice */
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    CHECK_EQ_U64(5, rec.length);
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    CHECK_STATUS(PSYNE_E_TIMEOUT, psyne_channel_try_read(ch, &rec));

    /* A forged reservation or record is refused, not followed. */
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_reserve(ch, 8, 0, &r));
    psyne_reservation bad = r;
    bad.data = (uint8_t *)bad.data + 4096 * 4;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_commit(ch, &bad, 8, 0));
    bad = r;
    bad.capacity = 1u << 30;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_commit(ch, &bad, 8, 0));
    CHECK_STATUS(PSYNE_OK, psyne_channel_commit(ch, &r, 8, 0));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    psyne_record forged = rec;
    forged.token += 8;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_release(ch, &forged));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));

    psyne_channel_stats st;
    CHECK_STATUS(PSYNE_OK, psyne_channel_stats_get(ch, &st));
    CHECK_EQ_U64(st.messages_written, st.messages_read);
    CHECK_EQ_U64(st.bytes_written, st.bytes_read);
    CHECK_EQ_U64(0, st.used_bytes);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* The largest record fills the ring exactly; one byte more is refused with both sizes named. */
static void test_sizes(int kind)
{
    psyne_channel *ch = make(kind, 4096, PSYNE_FULL_FAIL, PSYNE_WAIT_FUTEX);
    psyne_channel_info info;
    CHECK_STATUS(PSYNE_OK, psyne_channel_info_get(ch, &info));
    CHECK_EQ_U64(4096 - 16, info.max_payload);
    psyne_reservation r;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve(ch, info.max_payload + 1, 0, &r));
    CHECK(strstr(psyne_last_error(), "4081") != NULL && strstr(psyne_last_error(), "4080") != NULL &&
          strstr(psyne_last_error(), "4096") != NULL);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve(ch, 4096 - 72 + 1, 64, &r));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve(ch, UINT32_MAX, 0, &r));

    psyne_record rec;
    for (int round = 0; round < 3; round++) {
        /* Move the tail off index 0 first (round 1, 2): the big record must pad and wait for the pad to drain. */
        if (round) {
            CHECK_STATUS(PSYNE_OK, send(ch, (uint32_t)(round * 1000), 0, 0, 0));
            CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
            CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
        }
        const uint32_t align = round == 2 ? 64 : 8;
        const uint32_t max = align == 64 ? 4096 - 72 : info.max_payload;
        psyne_status s = psyne_channel_try_reserve(ch, max, align, &r);
        if (round) {
            CHECK_STATUS(PSYNE_E_FULL, s);
            CHECK_STATUS(PSYNE_E_TIMEOUT, psyne_channel_try_read(ch, &rec)); /* consumes the padding */
            CHECK_STATUS(PSYNE_OK, psyne_channel_try_reserve(ch, max, align, &r));
        } else {
            CHECK_STATUS(PSYNE_OK, s);
        }
        fill(r.data, max, 77);
        CHECK_STATUS(PSYNE_E_FULL, send(ch, 0, 0, 0, 0)); /* nothing else fits, not even an empty record */
        CHECK_STATUS(PSYNE_OK, psyne_channel_commit(ch, &r, max, 1));
        CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
        CHECK_EQ_U64(max, rec.length);
        CHECK(verify(rec.data, max, 77));
        CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    }
    psyne_channel_stats st;
    CHECK_STATUS(PSYNE_OK, psyne_channel_stats_get(ch, &st));
    CHECK_EQ_U64(5, st.rejects); /* two big records waiting for their padding, three empty ones (fail policy) */
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* FIFO order and contents through many laps with sizes that force padding. */
static void test_wrap(int kind)
{
    psyne_channel *ch = make(kind, 4096, PSYNE_FULL_FAIL, PSYNE_WAIT_FUTEX);
    uint32_t sent = 0, got = 0;
    uint32_t lcg = 12345;
    psyne_record recs[16];
    for (int step = 0; step < 4000; step++) {
        lcg = lcg * 1664525u + 1013904223u;
        const uint32_t size = (lcg >> 8) % 601;
        const uint32_t align = (lcg & 1) ? 64 : 8;
        psyne_status s = send(ch, size, align, (uint16_t)sent, sent);
        if (s == PSYNE_OK) {
            sent++;
        } else {
            CHECK_STATUS(PSYNE_E_FULL, s);
        }
        if ((lcg >> 4) % 3 == 0 || s != PSYNE_OK) {
            uint32_t n = 0;
            s = psyne_channel_try_read_batch(ch, 16, recs, &n);
            if (s == PSYNE_E_TIMEOUT) continue;
            CHECK_STATUS(PSYNE_OK, s);
            for (uint32_t i = 0; i < n; i++) {
                CHECK_EQ_U64((uint16_t)got, recs[i].type);
                CHECK(verify(recs[i].data, recs[i].length, got));
                got++;
            }
            /* Release in reverse: space comes back only once the first is released. */
            for (uint32_t i = n; i-- > 0;) CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &recs[i]));
        }
    }
    psyne_record rec;
    while (psyne_channel_try_read(ch, &rec) == PSYNE_OK) {
        CHECK_EQ_U64((uint16_t)got, rec.type);
        got++;
        CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    }
    CHECK_EQ_U64(sent, got);
    CHECK(sent > 1000);
    psyne_channel_stats st;
    CHECK_STATUS(PSYNE_OK, psyne_channel_stats_get(ch, &st));
    CHECK_EQ_U64(sent, st.messages_written);
    CHECK_EQ_U64(sent, st.messages_read);
    CHECK_EQ_U64(0, st.used_bytes);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* Out-of-order release holds space until the earliest record is released. */
static void test_release_order(int kind)
{
    psyne_channel *ch = make(kind, 4096, PSYNE_FULL_FAIL, PSYNE_WAIT_FUTEX);
    psyne_record a, b;
    CHECK_STATUS(PSYNE_OK, send(ch, 2000, 0, 1, 1));
    CHECK_STATUS(PSYNE_OK, send(ch, 1000, 0, 2, 2));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &a));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &b));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &b));
    CHECK_STATUS(PSYNE_E_FULL, send(ch, 1500, 0, 3, 3)); /* b's space is not reusable before a's */
    CHECK(verify(a.data, 2000, 1));                      /* a is intact */
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &a));
    CHECK_STATUS(PSYNE_OK, send(ch, 1500, 0, 3, 3));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &a));
    CHECK(verify(a.data, 1500, 3));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &a));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* Drop and Fail answer at once and count; Block waits, times out and counts a stall. */
static void test_policies(void)
{
    for (int policy = PSYNE_FULL_BLOCK; policy <= PSYNE_FULL_FAIL; policy++) {
        psyne_channel *ch = make(PSYNE_CHANNEL_SPSC, 4096, policy, PSYNE_WAIT_FUTEX);
        int sent = 0;
        while (send(ch, 500, 0, 0, 0) == PSYNE_OK) sent++;
        CHECK_EQ_U64(7, sent); /* 7 * 512 + 8 <= 4096 */
        psyne_reservation r;
        CHECK_STATUS(PSYNE_E_FULL, psyne_channel_try_reserve(ch, 500, 0, &r));
        psyne_status s = psyne_channel_reserve(ch, 500, 0, 20000000, &r);
        const int named = strstr(psyne_last_error(), policy == PSYNE_FULL_BLOCK ? "stayed full"
                                                     : policy == PSYNE_FULL_DROP ? "dropped" : "fail policy") != NULL;
        CHECK(named);
        psyne_channel_stats st;
        CHECK_STATUS(PSYNE_OK, psyne_channel_stats_get(ch, &st));
        if (policy == PSYNE_FULL_BLOCK) {
            CHECK_STATUS(PSYNE_E_TIMEOUT, s);
            CHECK_EQ_U64(1, st.producer_stalls);
            CHECK_EQ_U64(0, st.drops);
            CHECK_EQ_U64(0, st.rejects);
            CHECK_STATUS(PSYNE_E_TIMEOUT, psyne_channel_reserve(ch, 500, 0, 0, &r));
        } else if (policy == PSYNE_FULL_DROP) {
            CHECK_STATUS(PSYNE_E_FULL, s);
            CHECK_EQ_U64(3, st.drops); /* the loop's last try, the try and the blocking call */
            CHECK_EQ_U64(0, st.rejects);
            CHECK_EQ_U64(0, st.producer_stalls);
        } else {
            CHECK_STATUS(PSYNE_E_FULL, s);
            CHECK_EQ_U64(3, st.rejects);
            CHECK_EQ_U64(0, st.drops);
        }
        CHECK_EQ_U64(7, st.messages_written);
        CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
    }
}

/* Blocked calls: released by a commit, by wake_all, and by shutdown. */
typedef struct blocked {
    psyne_channel *ch;
    int reader;
    psyne_status status;
    psyne_record rec;
} blocked;

static void *blocked_main(void *arg)
{
    blocked *b = arg;
    if (b->reader) {
        b->status = psyne_channel_read(b->ch, UINT64_MAX, &b->rec);
    } else {
        psyne_reservation r;
        b->status = psyne_channel_reserve(b->ch, 2080, 0, UINT64_MAX, &r);
        if (b->status == PSYNE_OK) psyne_channel_commit(b->ch, &r, 1, 0);
    }
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_blocking(int wait_policy)
{
    psyne_channel *ch = make(PSYNE_CHANNEL_SPSC, 4096, PSYNE_FULL_BLOCK, wait_policy);
    pthread_t t;
    blocked b = {.ch = ch, .reader = 1};
    /* Woken by a commit. */
    pthread_create(&t, NULL, blocked_main, &b);
    sleep_ms(30);
    CHECK_STATUS(PSYNE_OK, send(ch, 4, 0, 42, 1));
    pthread_join(t, NULL);
    CHECK_STATUS(PSYNE_OK, b.status);
    CHECK_EQ_U64(42, b.rec.type);
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &b.rec));
    /* Released by wake_all with PSYNE_E_TIMEOUT. */
    pthread_create(&t, NULL, blocked_main, &b);
    sleep_ms(30);
    CHECK_STATUS(PSYNE_OK, psyne_channel_wake_all(ch));
    pthread_join(t, NULL);
    CHECK_STATUS(PSYNE_E_TIMEOUT, b.status);
    /* A writer blocked on a full ring, woken by a release. The ring holds
     * records 8 + 2000 and 8 + 2080 bytes long exactly when the second ends
     * the lap, so the writer needs no padding once the first is released. */
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
    ch = make(PSYNE_CHANNEL_SPSC, 4096, PSYNE_FULL_BLOCK, wait_policy);
    psyne_record rec;
    CHECK_STATUS(PSYNE_OK, send(ch, 2000, 0, 1, 1));
    blocked w = {.ch = ch, .reader = 0};
    pthread_create(&t, NULL, blocked_main, &w);
    sleep_ms(30);
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    pthread_join(t, NULL);
    CHECK_STATUS(PSYNE_OK, w.status);
    /* Blocked writer released by wake_all, then by shutdown (CLOSED). */
    pthread_create(&t, NULL, blocked_main, &w);
    sleep_ms(30);
    CHECK_STATUS(PSYNE_OK, psyne_channel_wake_all(ch));
    pthread_join(t, NULL);
    CHECK_STATUS(PSYNE_E_TIMEOUT, w.status);
    pthread_create(&t, NULL, blocked_main, &w);
    sleep_ms(30);
    CHECK_STATUS(PSYNE_OK, psyne_channel_shutdown(ch));
    pthread_join(t, NULL);
    CHECK_STATUS(PSYNE_E_CLOSED, w.status);
    /* After shutdown: the committed record is still delivered, then CLOSED. */
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    CHECK_EQ_U64(1, rec.length);
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_try_read(ch, &rec));
    CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_read(ch, UINT64_MAX, &rec));
    psyne_reservation r;
    CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_try_reserve(ch, 1, 0, &r));
    CHECK_STATUS(PSYNE_OK, psyne_channel_shutdown(ch)); /* idempotent */
    psyne_channel_info info;
    CHECK_STATUS(PSYNE_OK, psyne_channel_info_get(ch, &info));
    CHECK_EQ_U64(PSYNE_CHANNEL_CLOSED, info.state);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* A header overwritten in the ring is caught, not followed, and faults the channel. */
static void test_corruption(int kind)
{
    psyne_channel *ch = make(kind, 4096, PSYNE_FULL_FAIL, PSYNE_WAIT_FUTEX);
    psyne_record rec;
    CHECK_STATUS(PSYNE_OK, send(ch, 16, 0, 1, 1));
    CHECK_STATUS(PSYNE_OK, send(ch, 16, 0, 2, 2));
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
    /* The next header sits right after this record: claim a 1 GiB length. */
    uint64_t evil = 0x3FFFFFFFull | (1ull << 48);
    memcpy((uint8_t *)rec.data + 16, &evil, 8);
    psyne_record next;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_channel_try_read(ch, &next));
    CHECK(strstr(psyne_last_error(), "corrupt") != NULL);
    psyne_channel_info info;
    CHECK_STATUS(PSYNE_OK, psyne_channel_info_get(ch, &info));
    CHECK_EQ_U64(PSYNE_CHANNEL_FAULTED, info.state);
    psyne_reservation r;
    CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_try_reserve(ch, 1, 0, &r));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

static void test_misuse(void)
{
    psyne_channel *ch = make(PSYNE_CHANNEL_SPSC, 4096, PSYNE_FULL_BLOCK, PSYNE_WAIT_FUTEX);
    psyne_reservation r;
    psyne_record rec;
    uint32_t n;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve(NULL, 1, 0, &r));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve(ch, 1, 0, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_commit(ch, NULL, 1, 0));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_read(ch, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_release(NULL, &rec));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_read_batch(ch, 0, &rec, &n));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve_batch(ch, NULL, 1, 0, &r, &n));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_stats_get(ch, NULL));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_wake_all(NULL));
    CHECK_STATUS(PSYNE_OK, psyne_channel_commit_batch(ch, NULL, 0));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release_batch(ch, NULL, 0));
    /* Batch: sizes of their own, fields for commit. */
    const uint32_t sizes[4] = {0, 10, 100, 1000};
    psyne_reservation rs[4];
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_reserve_batch(ch, sizes, 4, 64, rs, &n));
    CHECK_EQ_U64(4, n);
    for (uint32_t i = 0; i < n; i++) {
        CHECK_EQ_U64(sizes[i], rs[i].capacity);
        CHECK_EQ_U64(sizes[i], rs[i].length);
        CHECK_EQ_U64(0, (uintptr_t)rs[i].data % 64);
        fill(rs[i].data, sizes[i], i);
        rs[i].type = (uint16_t)(100 + i);
    }
    rs[3].length = 999;
    CHECK_STATUS(PSYNE_OK, psyne_channel_commit_batch(ch, rs, 4));
    psyne_record out[8];
    CHECK_STATUS(PSYNE_OK, psyne_channel_read_batch(ch, 8, 1000000, out, &n));
    CHECK_EQ_U64(4, n);
    for (uint32_t i = 0; i < n; i++) {
        CHECK_EQ_U64(100 + i, out[i].type);
        CHECK_EQ_U64(i == 3 ? 999 : sizes[i], out[i].length);
        CHECK(verify(out[i].data, out[i].length, i));
    }
    CHECK_STATUS(PSYNE_OK, psyne_channel_release_batch(ch, out, n));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* psyne_channel_region_take: the ring's memory outlives the handle and is the caller's to free. */
static void test_region_take(void)
{
    psyne_channel *ch = make(PSYNE_CHANNEL_SPSC, 4096, PSYNE_FULL_BLOCK, PSYNE_WAIT_FUTEX);
    psyne_channel_region region;
    psyne_allocation taken, again;
    CHECK_STATUS(PSYNE_OK, psyne_channel_region_get(ch, &region));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_region_take(NULL, &taken));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_region_take(ch, NULL));
    CHECK_STATUS(PSYNE_OK, psyne_channel_region_take(ch, &taken));
    CHECK(taken.data == (void *)region.base);
    CHECK(taken.size >= PSYNE_SEGMENT_DATA_OFFSET + 4096u);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_region_take(ch, &again));
    CHECK(again.data == NULL);
    /* The channel goes on working on the same bytes until it closes. */
    psyne_record rec;
    for (uint32_t i = 0; i < 200; i++) {
        CHECK_STATUS(PSYNE_OK, send(ch, 100, 0, 1, i));
        CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
        CHECK(verify(rec.data, 100, i));
        CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    }
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
    /* Closed, the handle left the ring alone (ASan would see a double free or a use after free). */
    CHECK_EQ_U64(PSYNE_SEGMENT_MAGIC, *(const uint32_t *)taken.data);
    CHECK_STATUS(PSYNE_OK, psyne_free(&taken));
}

int main(void)
{
    TEST_INIT();
    test_options();
    for (int k = 0; k < 4; k++) {
        const int before = check_failures;
        test_shapes(kinds[k]);
        test_sizes(kinds[k]);
        test_wrap(kinds[k]);
        test_release_order(kinds[k]);
        test_corruption(kinds[k]);
        if (check_failures != before) fprintf(stderr, "  (failures above: kind %s)\n", kind_names[k]);
    }
    test_policies();
    test_blocking(PSYNE_WAIT_FUTEX);
    test_blocking(PSYNE_WAIT_YIELD);
    test_blocking(PSYNE_WAIT_SPIN);
    test_misuse();
    test_region_take();
    TEST_DONE();
}
