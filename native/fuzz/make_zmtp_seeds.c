/* make_zmtp_seeds.c - writes a few ZMTP 3.1 sessions, as a peer would send
 * them, into a directory as the seed corpus of fuzz_zmtp:
 * ./make_zmtp_seeds DIR. Each file starts with fuzz_zmtp's option byte. */
#include <psyne/psyne.h>

#include <stdio.h>
#include <string.h>

typedef struct seed {
    uint8_t b[1024];
    size_t n;
} seed;

static void put(seed *s, const void *p, size_t n)
{
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void put8(seed *s, uint8_t v)
{
    s->b[s->n++] = v;
}

static void put_be(seed *s, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) put8(s, (uint8_t)(v >> (8 * i)));
}

/* A frame header for size bytes, long when it must be or when asked. */
static void frame(seed *s, uint8_t flags, size_t size, int long_form)
{
    if (long_form || size > 255) {
        put8(s, flags | PSYNE_ZMTP_FLAG_LONG);
        put_be(s, size, 8);
    } else {
        put8(s, flags);
        put8(s, (uint8_t)size);
    }
}

static void property(seed *s, const char *name, const char *value)
{
    put8(s, (uint8_t)strlen(name));
    put(s, name, strlen(name));
    put_be(s, strlen(value), 4);
    put(s, value, strlen(value));
}

/* A command frame holding a name and prepared data. */
static void command(seed *s, const char *name, const seed *data)
{
    frame(s, PSYNE_ZMTP_FLAG_COMMAND, 1 + strlen(name) + data->n, 0);
    put8(s, (uint8_t)strlen(name));
    put(s, name, strlen(name));
    put(s, data->b, data->n);
}

static void greeting(seed *s, uint32_t mechanism, uint32_t as_server)
{
    psyne_zmtp_greeting_write(s->b + s->n, sizeof s->b - s->n, mechanism, as_server);
    s->n += PSYNE_ZMTP_GREETING_SIZE;
}

static int save(const char *dir, const char *name, const seed *s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s->b, 1, s->n, f) != s->n) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f) fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    int failed = 0;
    seed s, d;

    /* NULL handshake from a DEALER, then a two-part message and a long frame. */
    s.n = 0;
    put8(&s, 16); /* greeting first, no size limit, one frame per call */
    greeting(&s, PSYNE_ZMTP_MECHANISM_NULL, 0);
    d.n = 0;
    property(&d, "Socket-Type", "DEALER");
    property(&d, "Identity", "");
    command(&s, "READY", &d);
    frame(&s, PSYNE_ZMTP_FLAG_MORE, 0, 0);
    frame(&s, 0, 5, 0);
    put(&s, "hello", 5);
    frame(&s, 0, 300, 0);
    memset(s.b + s.n, 'x', 300);
    s.n += 300;
    failed |= save(argv[1], "null_dealer_session", &s);

    /* PLAIN client: HELLO, then READY from a SUB with SUBSCRIBE, PING and PONG. */
    s.n = 0;
    put8(&s, 16 | 4 | 2); /* greeting, two frames per call, 256-byte limit */
    greeting(&s, PSYNE_ZMTP_MECHANISM_PLAIN, 0);
    d.n = 0;
    put8(&d, 5);
    put(&d, "admin", 5);
    put8(&d, 6);
    put(&d, "secret", 6);
    command(&s, "HELLO", &d);
    d.n = 0;
    property(&d, "Socket-Type", "SUB");
    property(&d, "User-Id", "admin");
    command(&s, "INITIATE", &d);
    d.n = 0;
    put(&d, "topic", 5);
    command(&s, "SUBSCRIBE", &d);
    d.n = 0;
    put_be(&d, 300, 2);
    put(&d, "ctx", 3);
    command(&s, "PING", &d);
    d.n = 0;
    put(&d, "ctx", 3);
    command(&s, "PONG", &d);
    failed |= save(argv[1], "plain_sub_session", &s);

    /* A PLAIN server's WELCOME and READY, and an ERROR. */
    s.n = 0;
    put8(&s, 16 | 12);
    greeting(&s, PSYNE_ZMTP_MECHANISM_PLAIN, 1);
    d.n = 0;
    command(&s, "WELCOME", &d);
    property(&d, "Socket-Type", "ROUTER");
    command(&s, "READY", &d);
    d.n = 0;
    put8(&d, 6);
    put(&d, "denied", 6);
    command(&s, "ERROR", &d);
    failed |= save(argv[1], "plain_server_session", &s);

    /* Frames only: long frames with small sizes, a long command, a cut frame. */
    s.n = 0;
    put8(&s, 0);
    frame(&s, PSYNE_ZMTP_FLAG_MORE, 3, 1);
    put(&s, "abc", 3);
    d.n = 0;
    property(&d, "Socket-Type", "PAIR");
    command(&s, "READY", &d);
    frame(&s, 0, 200, 0);
    put(&s, "partial", 7);
    failed |= save(argv[1], "frames_cut", &s);

    /* PING data and PLAIN HELLO bodies on their own (fuzzed raw too). */
    s.n = 0;
    put8(&s, 1);
    put8(&s, 4);
    put(&s, "PING", 4);
    put_be(&s, 10, 2);
    put(&s, "0123456789abcdef", 16);
    failed |= save(argv[1], "ping_command", &s);
    return failed;
}
