/*
 * psyne_net.h - socket I/O helpers for the C# socket layer: gathered writes
 * and scattered reads, which .NET's span-based Socket calls cannot make. Included by psyne.h; do not include it on its own.
 */
#ifndef PSYNE_NET_H
#define PSYNE_NET_H

#ifdef __cplusplus
extern "C" {
#endif

/* Writes first[0..first_len) then second[0..second_len) to the connected
 * stream socket fd (a blocking one) with gathered writes (sendmsg, one call
 * when the kernel takes it all), so a frame's header and its payload leave in
 * one system call and one segment, and neither is copied in user space.
 * Retries interrupted and short writes until everything is written; never
 * raises SIGPIPE. *written is the number of bytes written, also on failure.
 * PSYNE_E_IO (the errno text in psyne_last_error) when the connection fails;
 * PSYNE_E_UNSUPPORTED where the platform has no sendmsg. */
PSYNE_API psyne_status psyne_net_send2(intptr_t fd, const void *first, size_t first_len, const void *second,
                                       size_t second_len, size_t *written);

/* Reads once from the connected stream socket fd into first[0..first_len),
 * and what arrives beyond it into second[0..second_len) (recvmsg with two
 * buffers): the end of a large frame's payload and the next frame's header
 * in one system call. Retries interrupted calls. *received is the number of
 * bytes read, 0 at the end of the stream. PSYNE_E_TIMEOUT when the socket's
 * receive timeout passed with nothing read; PSYNE_E_IO when the connection
 * fails; PSYNE_E_UNSUPPORTED where the platform has no recvmsg. */
PSYNE_API psyne_status psyne_net_recv2(intptr_t fd, void *first, size_t first_len, void *second, size_t second_len,
                                       size_t *received);

#ifdef __cplusplus
}
#endif

#endif /* PSYNE_NET_H */
