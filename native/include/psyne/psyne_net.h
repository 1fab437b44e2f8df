/*
 * psyne_net.h - socket I/O helpers for the C# socket layer, where .NET has no
 * single call for it. Included by psyne.h; do not include it on its own.
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

#ifdef __cplusplus
}
#endif

#endif /* PSYNE_NET_H */
