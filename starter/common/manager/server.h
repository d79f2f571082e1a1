/*
 * server.h - the manager's server loop (server.c). manager_start() forks a
 * process that calls it; nothing else does.
 */
#ifndef SERVER_H
#define SERVER_H

/*
 * Serves clients on listen_fd (a Unix socket) and, if tcp_fd is not -1, on
 * tcp_fd, whose clients must first prove they know the authkey; until
 * SIGTERM or SIGHUP (sent by manager_shutdown, or by the kernel when the
 * parent dies). Then removes socket_path and dir and returns.
 */
#include <stddef.h>
void server_run(int listen_fd, int tcp_fd, const char *socket_path, const char *dir,
                const void *authkey, size_t authkey_len);

/*
 * For the fuzzer (tests/fuzz-manager.c): hands the bytes after the first
 * to the request handler as if one client had sent them (a TCP client that
 * must first answer the challenge, if the first byte is odd), runs every
 * request that arrived, then forgets everything. Returns the number of reply
 * bytes produced.
 */
#include <stddef.h>
#include <stdint.h>
size_t server_feed(const uint8_t *data, size_t len);

#endif
