/*
 * server.h - the manager's server loop (server.c). manager_start() forks a
 * process that calls it; nothing else does.
 */
#ifndef SERVER_H
#define SERVER_H

/*
 * Serves clients on listen_fd until SIGTERM or SIGHUP (sent by
 * manager_shutdown, or by the kernel when the parent dies), then removes
 * socket_path and dir and returns.
 */
void server_run(int listen_fd, const char *socket_path, const char *dir);

#endif
