/* test_ipc.c - ipc:// channels between real processes (fork): a million
 * records in order, a 256 MiB tensor, a peer killed with SIGKILL on either
 * side, clean close, stale and foreign segments, names. */
#include "psyne/psyne.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef void (*child_fn)(const char *name, int arg, int fd);

static char names[16][64];

static const char *name_for(int i, const char *what)
{
    snprintf(names[i], sizeof names[i], "t%d-%s", (int)getpid(), what);
    return names[i];
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs fn in a child process; fd is the write end of a pipe to the parent. */
static pid_t spawn(child_fn fn, const char *name, int arg, int *read_fd)
{
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        check_failures = 0; /* the parent's, not ours */
        close(p[0]);
        fn(name, arg, p[1]);
        _exit(check_failures ? 1 : 0);
    }
    close(p[1]);
    if (read_fd) *read_fd = p[0];
    else close(p[0]);
    return pid;
}

static int wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

static int file_exists(const char *name)
{
    char path[256];
    if (psyne_ipc_segment_path(name, path, sizeof path) != PSYNE_OK) return -1;
    return access(path, F_OK) == 0;
}

static psyne_channel *create(const char *name, int kind, uint64_t capacity, int role, int wait_policy)
{
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.kind = kind;
    o.capacity = capacity;
    o.wait_policy = wait_policy;
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_create_ipc(name, &o, role, &ch));
    return ch;
}

static psyne_status send_u64(psyne_channel *ch, uint64_t a, uint64_t b, uint64_t timeout)
{
    psyne_reservation r;
    psyne_status s = psyne_channel_reserve(ch, 16, 0, timeout, &r);
    if (s != PSYNE_OK) return s;
    memcpy(r.data, &a, 8);
    memcpy((uint8_t *)r.data + 8, &b, 8);
    return psyne_channel_commit(ch, &r, 16, 1);
}

/* ---- names ---------------------------------------------------------------- */

static void test_names(void)
{
    static const char *bad[] = {"", "a/b", ".hidden", "has space", "ipc://", "x\xff", "semi;colon"};
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.capacity = 4096;
    psyne_channel *ch = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_ipc(bad[i], &o, PSYNE_ROLE_PRODUCER, &ch));
        CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_open_ipc(bad[i], PSYNE_ROLE_CONSUMER, &ch));
        CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ipc_unlink(bad[i]));
    }
    char longname[PSYNE_IPC_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname);
    longname[PSYNE_IPC_NAME_MAX + 1] = '\0';
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_ipc(longname, &o, PSYNE_ROLE_PRODUCER, &ch));
    CHECK(strstr(psyne_last_error(), "101") != NULL);
    longname[PSYNE_IPC_NAME_MAX] = '\0';
    CHECK_STATUS(PSYNE_E_NOT_FOUND, psyne_channel_open_ipc(longname, PSYNE_ROLE_CONSUMER, &ch));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_ipc(NULL, &o, PSYNE_ROLE_PRODUCER, &ch));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_ipc("ok", &o, 0, &ch));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_open_ipc("ok", 4, &ch));
    CHECK(ch == NULL);
    CHECK_STATUS(PSYNE_E_NOT_FOUND, psyne_channel_open_ipc(name_for(0, "missing"), PSYNE_ROLE_CONSUMER, &ch));
    CHECK_STATUS(PSYNE_E_NOT_FOUND, psyne_ipc_unlink(name_for(0, "missing")));
    char path[256];
    CHECK_STATUS(PSYNE_OK, psyne_ipc_segment_path("ipc://jobs", path, sizeof path));
    char expected[256];
    snprintf(expected, sizeof expected, "/dev/shm/psyne-%u-jobs", (unsigned)geteuid());
    CHECK(strcmp(path, expected) == 0);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_ipc_segment_path("jobs", path, 8));
}

/* ---- one process, two handles ------------------------------------------------ */

static void test_local(void)
{
    const char *name = name_for(1, "local");
    psyne_channel *prod = create(name, PSYNE_CHANNEL_SPSC, 4096, PSYNE_ROLE_PRODUCER, PSYNE_WAIT_FUTEX);
    psyne_channel *cons = NULL, *extra = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(name, PSYNE_ROLE_CONSUMER, &cons));
    CHECK(file_exists(name) == 1);
    struct stat st;
    char path[256];
    psyne_ipc_segment_path(name, path, sizeof path);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* The consumer's mapping is taken: close detaches but leaves it mapped, until psyne_free. */
    psyne_allocation taken;
    psyne_channel_region region;
    CHECK_STATUS(PSYNE_OK, psyne_channel_region_get(cons, &region));
    CHECK_STATUS(PSYNE_OK, psyne_channel_region_take(cons, &taken));
    CHECK(taken.data == region.base && taken.kind == PSYNE_ALLOC_KIND_PAGES);
    CHECK(taken.mapped_size >= PSYNE_SEGMENT_DATA_OFFSET + region.capacity);
    psyne_allocation again;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_region_take(cons, &again));
    CHECK(again.data == NULL);
    /* Creating it again fails while it is in use; a second SPSC producer or consumer is refused. */
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_create_ipc(name, &o, PSYNE_ROLE_PRODUCER, &extra));
    CHECK(strstr(psyne_last_error(), "in use by pid") != NULL);
    CHECK_STATUS(PSYNE_E_FULL, psyne_channel_open_ipc(name, PSYNE_ROLE_PRODUCER, &extra));
    CHECK_STATUS(PSYNE_E_FULL, psyne_channel_open_ipc(name, PSYNE_ROLE_BOTH, &extra));
    /* Roles are enforced per handle. */
    psyne_reservation r;
    psyne_record rec;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_reserve(cons, 8, 0, &r));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_channel_try_read(prod, &rec));
    CHECK_STATUS(PSYNE_OK, send_u64(prod, 1, 2, 0));
    CHECK_STATUS(PSYNE_OK, psyne_channel_read(cons, 1000000000u, &rec));
    CHECK_EQ_U64(16, rec.length);
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(cons, &rec));
    psyne_channel_info info;
    CHECK_STATUS(PSYNE_OK, psyne_channel_info_get(cons, &info));
    CHECK_EQ_U64(PSYNE_TRANSPORT_IPC, info.transport);
    CHECK_EQ_U64(2, info.attached);
    CHECK_EQ_U64((uint64_t)getpid(), (uint64_t)info.creator_pid);
    CHECK(strcmp(info.name, name) == 0);
    /* The producer closes: the consumer drains, then CLOSED; the last close removes the file. */
    CHECK_STATUS(PSYNE_OK, send_u64(prod, 3, 4, 0));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(prod));
    CHECK(file_exists(name) == 1);
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(cons, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(cons, &rec));
    CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_try_read(cons, &rec));
    CHECK(strstr(psyne_last_error(), "every producer closed") != NULL);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(cons));
    CHECK(file_exists(name) == 0);
    /* Detached and its name removed, the taken mapping still reads (and the ring drained); then freed. */
    CHECK_EQ_U64(PSYNE_SEGMENT_MAGIC, *(const uint32_t *)taken.data);
    CHECK_EQ_U64(*(const uint64_t *)((const uint8_t *)taken.data + PSYNE_SEGMENT_TAIL_OFFSET),
                 *(const uint64_t *)((const uint8_t *)taken.data + PSYNE_SEGMENT_RELEASE_HEAD_OFFSET));
    CHECK_STATUS(PSYNE_OK, psyne_free(&taken));
    CHECK(taken.data == NULL);

    /* psyne_ipc_unlink removes the name; attached handles keep working, and
     * the name can be created afresh meanwhile. */
    prod = create(name, PSYNE_CHANNEL_SPSC, 4096, PSYNE_ROLE_BOTH, PSYNE_WAIT_FUTEX);
    CHECK_STATUS(PSYNE_OK, psyne_ipc_unlink(name));
    CHECK(file_exists(name) == 0);
    CHECK_STATUS(PSYNE_OK, send_u64(prod, 7, 8, 0));
    extra = create(name, PSYNE_CHANNEL_SPSC, 8192, PSYNE_ROLE_BOTH, PSYNE_WAIT_FUTEX);
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(prod, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(prod, &rec));
    CHECK_STATUS(PSYNE_E_TIMEOUT, psyne_channel_try_read(extra, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(prod)); /* must not remove the new segment */
    CHECK(file_exists(name) == 1);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(extra));
    CHECK(file_exists(name) == 0);

    /* Up to PSYNE_IPC_MAX_ATTACH handles on one segment. */
    psyne_channel *hs[PSYNE_IPC_MAX_ATTACH];
    hs[0] = create(name, PSYNE_CHANNEL_MPMC, 4096, PSYNE_ROLE_BOTH, PSYNE_WAIT_FUTEX);
    for (int i = 1; i < PSYNE_IPC_MAX_ATTACH; i++)
        CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(name, PSYNE_ROLE_CONSUMER, &hs[i]));
    CHECK_STATUS(PSYNE_E_FULL, psyne_channel_open_ipc(name, PSYNE_ROLE_CONSUMER, &extra));
    for (int i = 0; i < PSYNE_IPC_MAX_ATTACH; i++) CHECK_STATUS(PSYNE_OK, psyne_channel_close(hs[i]));
    CHECK(file_exists(name) == 0);
}

/* Two channels whose names share a prefix do not see each other. */
static void test_prefix(void)
{
    const char *a = name_for(2, "jobs"), *b = name_for(3, "jobs2");
    psyne_channel *pa = create(a, PSYNE_CHANNEL_SPSC, 4096, PSYNE_ROLE_PRODUCER, PSYNE_WAIT_FUTEX);
    psyne_channel *pb = create(b, PSYNE_CHANNEL_SPSC, 8192, PSYNE_ROLE_PRODUCER, PSYNE_WAIT_FUTEX);
    psyne_channel *ca = NULL, *cb = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(a, PSYNE_ROLE_CONSUMER, &ca));
    CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(b, PSYNE_ROLE_CONSUMER, &cb));
    CHECK_STATUS(PSYNE_OK, send_u64(pa, 0xA, 0, 0));
    CHECK_STATUS(PSYNE_OK, send_u64(pb, 0xB, 0, 0));
    CHECK_STATUS(PSYNE_OK, send_u64(pb, 0xB2, 0, 0));
    psyne_record rec;
    uint64_t v;
    CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ca, &rec));
    memcpy(&v, rec.data, 8);
    CHECK_EQ_U64(0xA, v);
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ca, &rec));
    CHECK_STATUS(PSYNE_E_TIMEOUT, psyne_channel_try_read(ca, &rec));
    for (uint64_t want = 0xB; want <= 0xB2; want += 0xA7) {
        CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(cb, &rec));
        memcpy(&v, rec.data, 8);
        CHECK_EQ_U64(want, v);
        CHECK_STATUS(PSYNE_OK, psyne_channel_release(cb, &rec));
    }
    psyne_channel_info ia, ib;
    psyne_channel_info_get(ca, &ia);
    psyne_channel_info_get(cb, &ib);
    CHECK_EQ_U64(4096, ia.capacity);
    CHECK_EQ_U64(8192, ib.capacity);
    psyne_channel_close(pa);
    psyne_channel_close(ca);
    CHECK(file_exists(a) == 0);
    CHECK(file_exists(b) == 1);
    psyne_channel_close(pb);
    psyne_channel_close(cb);
    CHECK(file_exists(b) == 0);
}

/* ---- a million records ---------------------------------------------------------- */

enum { MILLION = 1000000, BATCH = 32 };

static void million_producer(const char *name, int arg, int fd)
{
    (void)arg;
    (void)fd;
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(name, PSYNE_ROLE_PRODUCER, &ch));
    if (!ch) return;
    uint32_t sizes[BATCH];
    psyne_reservation res[BATCH];
    for (int i = 0; i < BATCH; i++) sizes[i] = 16;
    uint64_t seq = 0;
    while (seq < MILLION) {
        uint32_t want = MILLION - seq < BATCH ? (uint32_t)(MILLION - seq) : BATCH, n = 0;
        psyne_status s = psyne_channel_reserve_batch(ch, sizes, want, 0, 5000000000ull, res, &n);
        if (s != PSYNE_OK) {
            CHECK_STATUS(PSYNE_OK, s);
            break;
        }
        for (uint32_t i = 0; i < n; i++, seq++) {
            const uint64_t inv = ~seq;
            memcpy(res[i].data, &seq, 8);
            memcpy((uint8_t *)res[i].data + 8, &inv, 8);
        }
        CHECK_STATUS(PSYNE_OK, psyne_channel_commit_batch(ch, res, n));
    }
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

static void test_million(void)
{
    const char *name = name_for(4, "million");
    psyne_channel *ch = create(name, PSYNE_CHANNEL_SPSC, 1u << 16, PSYNE_ROLE_CONSUMER, PSYNE_WAIT_FUTEX);
    if (!ch) return;
    const double t0 = now_s();
    pid_t pid = spawn(million_producer, name, 0, NULL);
    uint64_t expect = 0, bad = 0;
    psyne_record recs[64];
    for (;;) {
        uint32_t n = 0;
        psyne_status s = psyne_channel_read_batch(ch, 64, 10000000000ull, recs, &n);
        if (s == PSYNE_E_CLOSED) break;
        if (s != PSYNE_OK) {
            CHECK_STATUS(PSYNE_OK, s);
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint64_t a, b;
            memcpy(&a, recs[i].data, 8);
            memcpy(&b, (const uint8_t *)recs[i].data + 8, 8);
            bad += a != expect || b != ~expect || recs[i].length != 16;
            expect++;
        }
        psyne_channel_release_batch(ch, recs, n);
    }
    const double dt = now_s() - t0;
    CHECK_EQ_U64(MILLION, expect);
    CHECK_EQ_U64(0, bad);
    CHECK_EQ_U64(0, wait_child(pid));
    psyne_channel_stats st;
    psyne_channel_stats_get(ch, &st);
    CHECK_EQ_U64(MILLION, st.messages_read);
    printf("1M records over ipc in %.3f s (%.1f M/s), stalls %llu/%llu\n", dt, MILLION / dt / 1e6,
           (unsigned long long)st.producer_stalls, (unsigned long long)st.consumer_stalls);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
    CHECK(file_exists(name) == 0);
}

/* ---- a 256 MiB tensor ----------------------------------------------------------- */

enum { TENSOR_ROWS = 16384, TENSOR_COLS = 4096 }; /* f32: 256 MiB */

static void tensor_producer(const char *name, int arg, int fd)
{
    (void)arg;
    (void)fd;
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(name, PSYNE_ROLE_PRODUCER, &ch));
    if (!ch) return;
    psyne_tensor_header h;
    const uint64_t shape[2] = {TENSOR_ROWS, TENSOR_COLS};
    CHECK_STATUS(PSYNE_OK, psyne_tensor_header_init(&h, PSYNE_DTYPE_F32, 2, shape, PSYNE_LAYOUT_ROW_MAJOR));
    uint64_t bytes = 0;
    psyne_tensor_record_bytes(&h, &bytes);
    psyne_reservation r;
    CHECK_STATUS(PSYNE_OK, psyne_channel_reserve(ch, (uint32_t)bytes, PSYNE_TENSOR_ALIGNMENT, 5000000000ull, &r));
    memcpy(r.data, &h, sizeof h);
    /* Fill in place: the data is written where the reader will read it. */
    uint32_t *data = (uint32_t *)((uint8_t *)r.data + h.data_offset);
    const uint64_t n = h.data_bytes / 4;
    for (uint64_t i = 0; i < n; i++) data[i] = (uint32_t)(i * 2654435761u);
    uint32_t crc = 0;
    psyne_crc32c(0, data, h.data_bytes, &crc);
    CHECK_STATUS(PSYNE_OK, psyne_channel_commit(ch, &r, (uint32_t)bytes, 7));
    CHECK_STATUS(PSYNE_OK, psyne_channel_reserve(ch, 4, 0, 5000000000ull, &r));
    memcpy(r.data, &crc, 4);
    CHECK_STATUS(PSYNE_OK, psyne_channel_commit(ch, &r, 4, 8));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* The tensor travels as one record, written in place by the producer and
 * read in place by the consumer (no chunking, no copy): the ring is the next
 * power of two above 256 MiB + header, 512 MiB, reserved in /dev/shm at creation. */
static void test_tensor(void)
{
    const char *name = name_for(5, "tensor");
    struct statvfs fs;
    if (statvfs("/dev/shm", &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < (600ull << 20)) {
        printf("256 MiB tensor: skipped, /dev/shm has %llu MiB free and the 512 MiB ring needs more\n",
               (unsigned long long)((uint64_t)fs.f_bavail * fs.f_frsize >> 20));
        return;
    }
    psyne_channel *ch = create(name, PSYNE_CHANNEL_SPSC, 1u << 29, PSYNE_ROLE_CONSUMER, PSYNE_WAIT_FUTEX);
    if (!ch) return;
    const double t0 = now_s();
    pid_t pid = spawn(tensor_producer, name, 0, NULL);
    psyne_record rec, crc_rec;
    CHECK_STATUS(PSYNE_OK, psyne_channel_read(ch, 30000000000ull, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_read(ch, 30000000000ull, &crc_rec));
    if (check_failures) {
        kill(pid, SIGKILL);
        wait_child(pid);
        psyne_channel_close(ch);
        return;
    }
    const psyne_tensor_header *h = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_tensor_validate(rec.data, rec.length, &h));
    CHECK_EQ_U64(7, rec.type);
    if (h) {
        CHECK_EQ_U64(256u << 20, h->data_bytes);
        CHECK_EQ_U64(TENSOR_COLS, h->shape[1]);
        const uint8_t *data = (const uint8_t *)rec.data + h->data_offset;
        CHECK_EQ_U64(0, (uintptr_t)data % 64);
        uint32_t crc = 0, sent = 0;
        psyne_crc32c(0, data, h->data_bytes, &crc);
        memcpy(&sent, crc_rec.data, 4);
        CHECK_EQ_U64(sent, crc);
        uint32_t last;
        memcpy(&last, data + h->data_bytes - 4, 4);
        CHECK_EQ_U64((uint32_t)((h->data_bytes / 4 - 1) * 2654435761u), last);
    }
    printf("256 MiB tensor over ipc, filled in place and checked, in %.3f s\n", now_s() - t0);
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &rec));
    CHECK_STATUS(PSYNE_OK, psyne_channel_release(ch, &crc_rec));
    CHECK_EQ_U64(0, wait_child(pid));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* ---- a writer killed mid-stream ---------------------------------------------------- */

static void endless_producer(const char *name, int arg, int fd)
{
    (void)arg;
    (void)fd;
    psyne_channel *ch = NULL;
    if (psyne_channel_open_ipc(name, PSYNE_ROLE_PRODUCER, &ch) != PSYNE_OK) _exit(3);
    for (uint64_t seq = 0;; seq++)
        if (send_u64(ch, seq, ~seq, UINT64_MAX) != PSYNE_OK) _exit(4);
}

static void test_kill_writer(int wait_policy)
{
    const char *name = name_for(6, "killw");
    psyne_channel *ch = create(name, PSYNE_CHANNEL_SPSC, 1u << 16, PSYNE_ROLE_CONSUMER, wait_policy);
    if (!ch) return;
    pid_t pid = spawn(endless_producer, name, 0, NULL);
    uint64_t expect = 0, bad = 0;
    double killed_at = 0;
    psyne_status s;
    psyne_record rec;
    for (;;) {
        s = psyne_channel_read(ch, 10000000000ull, &rec);
        if (s != PSYNE_OK) break;
        uint64_t a, b;
        memcpy(&a, rec.data, 8);
        memcpy(&b, (const uint8_t *)rec.data + 8, 8);
        bad += a != expect || b != ~expect;
        expect++;
        psyne_channel_release(ch, &rec);
        if (expect == 20000) {
            kill(pid, SIGKILL);
            killed_at = now_s();
        }
    }
    const double latency = now_s() - killed_at;
    CHECK_STATUS(PSYNE_E_CLOSED, s);
    char pidtext[32];
    snprintf(pidtext, sizeof pidtext, "pid %d died", (int)pid);
    CHECK(strstr(psyne_last_error(), pidtext) != NULL);
    CHECK(expect >= 20000);
    CHECK_EQ_U64(0, bad);
    /* Every record committed before the kill was delivered. (The writer
     * counts a commit just after publishing it, so a kill in between leaves
     * the count one short.) */
    psyne_channel_stats st;
    psyne_channel_stats_get(ch, &st);
    CHECK(st.messages_read == st.messages_written || st.messages_read == st.messages_written + 1);
    CHECK_EQ_U64(expect, st.messages_read);
    CHECK(latency < 3.0); /* the contract is 1 s; a loaded machine gets slack */
    psyne_channel_info info;
    psyne_channel_info_get(ch, &info);
    CHECK_EQ_U64(PSYNE_CHANNEL_FAULTED, info.state);
    CHECK_EQ_U64((uint64_t)pid, (uint64_t)info.fault_pid);
    printf("writer killed (%s wait): reader drained %llu records, CLOSED %.0f ms after the kill\n",
           wait_policy == PSYNE_WAIT_FUTEX ? "futex" : "yield", (unsigned long long)expect, latency * 1e3);
    const int status = wait_child(pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
    CHECK(file_exists(name) == 0);
}

/* ---- a reader killed while the writer is blocked ------------------------------------ */

static void dying_consumer(const char *name, int arg, int fd)
{
    (void)arg;
    psyne_channel *ch = NULL;
    if (psyne_channel_open_ipc(name, PSYNE_ROLE_CONSUMER, &ch) != PSYNE_OK) _exit(3);
    psyne_record rec;
    for (int i = 0; i < 10; i++) {
        if (psyne_channel_read(ch, 5000000000ull, &rec) != PSYNE_OK) _exit(4);
        psyne_channel_release(ch, &rec);
    }
    sleep_ms(200); /* the writer fills the ring and blocks */
    const double t = now_s();
    if (write(fd, &t, sizeof t) != (ssize_t)sizeof t) _exit(5);
    raise(SIGKILL);
}

static void test_kill_reader(void)
{
    const char *name = name_for(7, "killr");
    psyne_channel *ch = create(name, PSYNE_CHANNEL_SPSC, 1u << 14, PSYNE_ROLE_PRODUCER, PSYNE_WAIT_FUTEX);
    if (!ch) return;
    int fd = -1;
    pid_t pid = spawn(dying_consumer, name, 0, &fd);
    psyne_status s;
    uint64_t sent = 0;
    while ((s = send_u64(ch, sent, ~sent, 10000000000ull)) == PSYNE_OK) sent++;
    const double done = now_s();
    double died = 0;
    CHECK(read(fd, &died, sizeof died) == (ssize_t)sizeof died);
    close(fd);
    CHECK_STATUS(PSYNE_E_CLOSED, s);
    char pidtext[32];
    snprintf(pidtext, sizeof pidtext, "pid %d died", (int)pid);
    CHECK(strstr(psyne_last_error(), pidtext) != NULL);
    CHECK(done - died < 3.0);
    printf("reader killed: blocked writer got CLOSED %.0f ms after the kill (%llu sent)\n", (done - died) * 1e3,
           (unsigned long long)sent);
    wait_child(pid);
    psyne_reservation r;
    CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_try_reserve(ch, 8, 0, &r));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
    CHECK(file_exists(name) == 0);
}

/* A reader that dies while the writer is not blocked: the writer's next call
 * fails once the death is seen (the ring still has room). */
static void quick_death(const char *name, int arg, int fd)
{
    (void)arg;
    (void)fd;
    psyne_channel *ch = NULL;
    if (psyne_channel_open_ipc(name, PSYNE_ROLE_CONSUMER, &ch) != PSYNE_OK) _exit(3);
    raise(SIGKILL);
}

static void test_kill_idle_reader(void)
{
    const char *name = name_for(11, "idle");
    psyne_channel *ch = create(name, PSYNE_CHANNEL_SPSC, 1u << 16, PSYNE_ROLE_PRODUCER, PSYNE_WAIT_FUTEX);
    if (!ch) return;
    pid_t pid = spawn(quick_death, name, 0, NULL);
    const int status = wait_child(pid);
    CHECK(WIFSIGNALED(status));
    const double t0 = now_s();
    psyne_status s = PSYNE_OK;
    int sent = 0;
    while (now_s() - t0 < 3.0 && (s = send_u64(ch, 1, 2, 0)) == PSYNE_OK) {
        sent++;
        sleep_ms(5);
    }
    CHECK_STATUS(PSYNE_E_CLOSED, s);
    CHECK(sent < 1000); /* the ring (64 KiB, 24-byte records) never filled */
    printf("idle reader killed: writer's next call failed after %.0f ms (%d records sent meanwhile)\n",
           (now_s() - t0) * 1e3, sent);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
    CHECK(file_exists(name) == 0);
}

/* ---- clean close, many producers --------------------------------------------------------- */

static void counted_producer(const char *name, int id, int fd)
{
    (void)fd;
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(name, PSYNE_ROLE_PRODUCER, &ch));
    if (!ch) return;
    for (uint64_t seq = 0; seq < 20000; seq++) CHECK_STATUS(PSYNE_OK, send_u64(ch, (uint64_t)id, seq, 5000000000ull));
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

static void test_mpsc_processes(void)
{
    const char *name = name_for(8, "mpsc");
    psyne_channel *ch = create(name, PSYNE_CHANNEL_MPSC, 1u << 14, PSYNE_ROLE_CONSUMER, PSYNE_WAIT_FUTEX);
    if (!ch) return;
    pid_t a = spawn(counted_producer, name, 0, NULL);
    pid_t b = spawn(counted_producer, name, 1, NULL);
    uint64_t next[2] = {0, 0}, bad = 0, total = 0;
    psyne_record rec;
    psyne_status s;
    /* Wait until both attached so a quick one closing first does not end the stream. */
    for (int i = 0; i < 500; i++) {
        psyne_channel_info info;
        psyne_channel_info_get(ch, &info);
        if (info.attached >= 3 || total) break;
        sleep_ms(2);
    }
    while ((s = psyne_channel_read(ch, 10000000000ull, &rec)) == PSYNE_OK) {
        uint64_t id, seq;
        memcpy(&id, rec.data, 8);
        memcpy(&seq, (const uint8_t *)rec.data + 8, 8);
        if (id > 1 || seq != next[id]) bad++;
        else next[id]++;
        total++;
        psyne_channel_release(ch, &rec);
        if (total == 40000) break;
    }
    CHECK_EQ_U64(0, bad);
    CHECK_EQ_U64(20000, next[0]);
    CHECK_EQ_U64(20000, next[1]);
    CHECK_EQ_U64(0, wait_child(a));
    CHECK_EQ_U64(0, wait_child(b));
    /* Both producers closed cleanly: CLOSED, not a fault. */
    CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_read(ch, 2000000000u, &rec));
    CHECK(strstr(psyne_last_error(), "every producer closed") != NULL);
    psyne_channel_info info;
    psyne_channel_info_get(ch, &info);
    CHECK_EQ_U64(PSYNE_CHANNEL_CLOSED, info.state);
    CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
}

/* ---- stale segments ---------------------------------------------------------------------- */

static void crashing_creator(const char *name, int records, int fd)
{
    (void)fd;
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.capacity = 4096;
    psyne_channel *ch = NULL;
    if (psyne_channel_create_ipc(name, &o, PSYNE_ROLE_PRODUCER, &ch) != PSYNE_OK) _exit(3);
    for (int i = 0; i < records; i++)
        if (send_u64(ch, (uint64_t)i, 0, 0) != PSYNE_OK) _exit(4);
    raise(SIGKILL);
}

static void test_stale(void)
{
    const char *name = name_for(9, "stale");
    /* A creator that crashed: the segment opens faulted, what it committed is delivered, then CLOSED. */
    pid_t pid = spawn(crashing_creator, name, 3, NULL);
    const int status = wait_child(pid);
    CHECK(WIFSIGNALED(status));
    CHECK(file_exists(name) == 1);
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(name, PSYNE_ROLE_CONSUMER, &ch));
    if (ch) {
        psyne_channel_info info;
        psyne_channel_info_get(ch, &info);
        CHECK_EQ_U64(PSYNE_CHANNEL_FAULTED, info.state);
        CHECK_EQ_U64((uint64_t)pid, (uint64_t)info.fault_pid);
        psyne_record rec;
        for (uint64_t i = 0; i < 3; i++) {
            CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(ch, &rec));
            uint64_t v = 99;
            memcpy(&v, rec.data, 8);
            CHECK_EQ_U64(i, v);
            psyne_channel_release(ch, &rec);
        }
        CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_read(ch, UINT64_MAX, &rec));
        char pidtext[32];
        snprintf(pidtext, sizeof pidtext, "pid %d died", (int)pid);
        CHECK(strstr(psyne_last_error(), pidtext) != NULL);
        psyne_reservation r;
        psyne_channel *late = NULL;
        CHECK_STATUS(PSYNE_OK, psyne_channel_open_ipc(name, PSYNE_ROLE_PRODUCER, &late));
        if (late) {
            CHECK_STATUS(PSYNE_E_CLOSED, psyne_channel_try_reserve(late, 8, 0, &r));
            psyne_channel_close(late);
        }
        CHECK_STATUS(PSYNE_OK, psyne_channel_close(ch));
    }
    CHECK(file_exists(name) == 0);

    /* Creating over a dead creator's segment replaces it. */
    pid = spawn(crashing_creator, name, 2, NULL);
    wait_child(pid);
    CHECK(file_exists(name) == 1);
    psyne_channel *prod = create(name, PSYNE_CHANNEL_SPSC, 8192, PSYNE_ROLE_BOTH, PSYNE_WAIT_FUTEX);
    if (prod) {
        psyne_channel_info info;
        psyne_channel_info_get(prod, &info);
        CHECK_EQ_U64(PSYNE_CHANNEL_OPEN, info.state);
        CHECK_EQ_U64(8192, info.capacity);
        CHECK_EQ_U64((uint64_t)getpid(), (uint64_t)info.creator_pid);
        psyne_record rec;
        CHECK_STATUS(PSYNE_E_TIMEOUT, psyne_channel_try_read(prod, &rec)); /* nothing of the old one */
        CHECK_STATUS(PSYNE_OK, send_u64(prod, 5, 6, 0));
        CHECK_STATUS(PSYNE_OK, psyne_channel_try_read(prod, &rec));
        psyne_channel_release(prod, &rec);
        psyne_channel_close(prod);
    }
    CHECK(file_exists(name) == 0);
}

/* ---- foreign, corrupt and newer segments ---------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t n, int mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(write(fd, data, n) == (ssize_t)n);
    fchmod(fd, (mode_t)mode);
    close(fd);
}

static void expect_format(const char *name, const char *fragment)
{
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_channel_open_ipc(name, PSYNE_ROLE_CONSUMER, &ch));
    if (!strstr(psyne_last_error(), fragment)) {
        fprintf(stderr, "expected '%s' in: %s\n", fragment, psyne_last_error());
        check_failures++;
    }
    CHECK(ch == NULL);
}

static void test_foreign(void)
{
    const char *name = name_for(10, "foreign");
    char path[256];
    psyne_ipc_segment_path(name, path, sizeof path);
    uint8_t garbage[8192];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)(i * 37 + 11);
    write_file(path, garbage, sizeof garbage, 0600);
    expect_format(name, "not the psyne segment magic");
    psyne_channel_options o;
    psyne_channel_options_init(&o);
    o.capacity = 4096;
    psyne_channel *ch = NULL;
    CHECK_STATUS(PSYNE_E_FORMAT, psyne_channel_create_ipc(name, &o, PSYNE_ROLE_PRODUCER, &ch));
    CHECK(file_exists(name) == 1); /* not ours to delete */
    write_file(path, garbage, 10, 0600);
    expect_format(name, "too short");
    CHECK_STATUS(PSYNE_OK, psyne_ipc_unlink(name));
    CHECK(file_exists(name) == 0);

    /* A real segment, then its header edited in place. */
    psyne_channel *live = create(name, PSYNE_CHANNEL_SPSC, 4096, PSYNE_ROLE_PRODUCER, PSYNE_WAIT_FUTEX);
    if (!live) return;
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    uint8_t *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(map != MAP_FAILED);
    if (map != MAP_FAILED) {
        uint8_t saved[128];
        memcpy(saved, map, 128);
        const uint16_t v3 = 3;
        memcpy(map + 4, &v3, 2);
        uint32_t crc = 0;
        psyne_crc32c(0, map, 124, &crc);
        memcpy(map + 124, &crc, 4);
        expect_format(name, "has layout version 3, this library reads version 1");
        memcpy(map, saved, 128);
        map[20] ^= 1; /* capacity changed, checksum stale */
        expect_format(name, "checksum");
        memcpy(map, saved, 128);
        munmap(map, 4096);
    }
    /* Others may not read it. */
    fchmod(fd, 0644);
    expect_format(name, "mode 0644");
    fchmod(fd, 0600);
    if (ftruncate(fd, 2048) == 0) expect_format(name, "truncated");
    close(fd);
    psyne_channel_close(live);
    CHECK(file_exists(name) == 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    TEST_INIT();
    test_names();
    test_local();
    test_prefix();
    test_million();
    test_tensor();
    test_kill_writer(PSYNE_WAIT_FUTEX);
    test_kill_writer(PSYNE_WAIT_YIELD);
    test_kill_reader();
    test_kill_idle_reader();
    test_mpsc_processes();
    test_stale();
    test_foreign();
    TEST_DONE();
}
