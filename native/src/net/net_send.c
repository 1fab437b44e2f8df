/* Gathered writes and scattered reads for the socket layer: a ZMTP frame header and its payload
 * in one sendmsg(), so a large frame costs one system call and is never
 * copied in user space (.NET's span-based Socket.Send takes one buffer). */
#include "psyne/psyne.h"
#include "../core/internal.h"

#if defined(__linux__) || defined(__APPLE__)
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is set on the socket instead */
#endif

PSYNE_API psyne_status psyne_net_send2(intptr_t fd, const void *first, size_t first_len, const void *second,
                                       size_t second_len, size_t *written)
{
    if (written == NULL || (first == NULL && first_len != 0) || (second == NULL && second_len != 0) || fd < 0)
        return psyne__fail_static(PSYNE_E_INVALID_ARGUMENT, "psyne_net_send2: a NULL pointer with a length, or a negative descriptor");
    *written = 0;
    size_t total = first_len + second_len;
    while (*written < total) {
        size_t done = *written;
        struct iovec iov[2];
        int count = 0;
        if (done < first_len) {
            iov[count].iov_base = (void *)((const char *)first + done);
            iov[count].iov_len = first_len - done;
            count++;
            done = 0;
        } else {
            done -= first_len;
        }
        if (second_len > done) {
            iov[count].iov_base = (void *)((const char *)second + done);
            iov[count].iov_len = second_len - done;
            count++;
        }
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)count;
        ssize_t n = sendmsg((int)fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue; /* the runtime's signals interrupt blocking calls */
            int e = errno;
            return psyne__fail(PSYNE_E_IO, "sendmsg failed after %zu of %zu bytes: %s", *written, total, strerror(e));
        }
        *written += (size_t)n;
    }
    return PSYNE_OK;
}

PSYNE_API psyne_status psyne_net_recv2(intptr_t fd, void *first, size_t first_len, void *second, size_t second_len,
                                       size_t *received)
{
    if (received == NULL || (first == NULL && first_len != 0) || (second == NULL && second_len != 0) || fd < 0)
        return psyne__fail_static(PSYNE_E_INVALID_ARGUMENT, "psyne_net_recv2: a NULL pointer with a length, or a negative descriptor");
    *received = 0;
    struct iovec iov[2] = {{first, first_len}, {second, second_len}};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    for (;;) {
        ssize_t n = recvmsg((int)fd, &msg, 0);
        if (n >= 0) {
            *received = (size_t)n;
            return PSYNE_OK;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return psyne__fail_static(PSYNE_E_TIMEOUT, "recvmsg: the receive timeout passed");
        int e = errno;
        return psyne__fail(PSYNE_E_IO, "recvmsg failed: %s", strerror(e));
    }
}

#else

PSYNE_API psyne_status psyne_net_recv2(intptr_t fd, void *first, size_t first_len, void *second, size_t second_len,
                                       size_t *received)
{
    (void)fd; (void)first; (void)first_len; (void)second; (void)second_len;
    if (received != NULL)
        *received = 0;
    return psyne__fail_static(PSYNE_E_UNSUPPORTED, "psyne_net_recv2: no recvmsg on this platform");
}

PSYNE_API psyne_status psyne_net_send2(intptr_t fd, const void *first, size_t first_len, const void *second,
                                       size_t second_len, size_t *written)
{
    (void)fd; (void)first; (void)first_len; (void)second; (void)second_len;
    if (written != NULL)
        *written = 0;
    return psyne__fail_static(PSYNE_E_UNSUPPORTED, "psyne_net_send2: no sendmsg on this platform");
}

#endif
