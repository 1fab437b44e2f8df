/* test_net.c - psyne_net_recv2 scatters one read over two buffers; psyne_net_send2: a header and a payload leave in order, whole,
 * through a socketpair, including writes larger than the socket buffer (so
 * the call must finish short writes), and a broken peer is PSYNE_E_IO. */
#include "psyne/psyne.h"
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct reader_args {
    int fd;
    size_t expect;
    unsigned char *out;
} reader_args;

static void *read_all(void *p)
{
    reader_args *a = p;
    size_t got = 0;
    while (got < a->expect) {
        ssize_t n = read(a->fd, a->out + got, a->expect - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    a->expect = got;
    return NULL;
}

static void test_header_and_payload_arrive_whole(size_t payload_len)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    unsigned char header[9] = {2, 0, 0, 0, 0, 0, 0, 0, 0};
    unsigned char *payload = malloc(payload_len);
    unsigned char *back = malloc(payload_len + sizeof header);
    for (size_t i = 0; i < payload_len; i++)
        payload[i] = (unsigned char)(i * 31 + 7);
    reader_args args = {sv[1], payload_len + sizeof header, back};
    pthread_t reader;
    CHECK(pthread_create(&reader, NULL, read_all, &args) == 0);
    size_t written = 0;
    CHECK_STATUS(PSYNE_OK, psyne_net_send2(sv[0], header, sizeof header, payload, payload_len, &written));
    CHECK_EQ_U64(payload_len + sizeof header, written);
    pthread_join(reader, NULL);
    CHECK_EQ_U64(payload_len + sizeof header, args.expect);
    CHECK(memcmp(back, header, sizeof header) == 0);
    CHECK(memcmp(back + sizeof header, payload, payload_len) == 0);
    close(sv[0]);
    close(sv[1]);
    free(payload);
    free(back);
}

static void test_closed_peer_is_an_io_error(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    unsigned char byte = 1;
    size_t written = 99;
    /* No SIGPIPE: the process survives and gets a status. */
    CHECK_STATUS(PSYNE_E_IO, psyne_net_send2(sv[0], &byte, 1, &byte, 1, &written));
    CHECK_EQ_U64(0, written);
    close(sv[0]);
}

static void test_bad_arguments(void)
{
    size_t written;
    unsigned char byte = 0;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_net_send2(0, NULL, 1, &byte, 1, &written));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_net_send2(-1, &byte, 1, &byte, 1, &written));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_net_send2(0, &byte, 1, &byte, 1, NULL));
}

static void test_scattered_read_fills_first_then_second(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    unsigned char data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (unsigned char)i;
    CHECK(write(sv[0], data, sizeof data) == (ssize_t)sizeof data);
    unsigned char a[30], b[100];
    size_t received = 0;
    CHECK_STATUS(PSYNE_OK, psyne_net_recv2(sv[1], a, sizeof a, b, sizeof b, &received));
    CHECK_EQ_U64(100, received);
    CHECK(memcmp(a, data, 30) == 0);
    CHECK(memcmp(b, data + 30, 70) == 0);
    close(sv[0]);
    CHECK_STATUS(PSYNE_OK, psyne_net_recv2(sv[1], a, sizeof a, b, sizeof b, &received));
    CHECK_EQ_U64(0, received); /* the end of the stream */
    close(sv[1]);
}

int main(void)
{
    test_scattered_read_fills_first_then_second();
    test_header_and_payload_arrive_whole(0);
    test_header_and_payload_arrive_whole(100);
    test_header_and_payload_arrive_whole(8u << 20); /* far beyond a socket buffer: short writes */
    test_closed_peer_is_an_io_error();
    test_bad_arguments();
    if (check_failures)
        fprintf(stderr, "%d check(s) failed\n", check_failures);
    return check_failures ? 1 : 0;
}
