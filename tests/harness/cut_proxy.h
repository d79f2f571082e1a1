/*
 * cut_proxy.h - a TCP proxy that breaks connections on purpose, for the
 * lessons whose manager is reached over a network (cut_proxy.c).
 *
 * It stands between the clients and a TCP manager and passes the frames
 * on, both ways. Now and then it cuts a connection, closing it both ways:
 * either before it passes a request on (the request never ran), or after
 * the manager has answered it (it ran, and only the answer is lost: the
 * client cannot tell which). The handshake that proves the authkey is
 * never cut. It can also take the network down for a while: an outage, in
 * which every connection is cut and every new one closed at once.
 */
#ifndef CUT_PROXY_H
#define CUT_PROXY_H

#include <sys/types.h>

struct cut_proxy_counts;  /* shared with the proxy's process */

struct cut_proxy {
    pid_t pid;                        /* the proxy's process */
    char address[64];                 /* where clients connect: "tcp:<host>:<port>" */
    int port;
    struct cut_proxy_counts *counts;
};

/*
 * Starts a proxy listening on host (an IPv4 address, any free port) that
 * passes connections on to target ("tcp:<host>:<port>"), cutting about one
 * request in `one_in` (half of the cuts before the request runs, half
 * after; 0: none). 0, or -1 having said why on stderr.
 */
int cut_proxy_start(struct cut_proxy *p, const char *host, const char *target, int one_in);

/* An outage of `ms` milliseconds, from now: every connection cut, every new one closed. */
void cut_proxy_outage(struct cut_proxy *p, int ms);

struct cut_proxy_seen {
    long connections;   /* connections accepted and passed on */
    long refused;       /* connections closed at once, in an outage */
    long requests;      /* requests passed on to the manager */
    long cut_before;    /* connections cut before their request ran */
    long cut_after;     /* connections cut after their request ran, its answer lost */
    long open;          /* connections open now */
    long attempts;      /* connections made to it: accepted or refused */
};

/* What the proxy has done so far. */
struct cut_proxy_seen cut_proxy_seen(const struct cut_proxy *p);

/*
 * When the i-th attempt to connect (from 0, accepted or refused) was made,
 * in seconds of CLOCK_MONOTONIC; -1 for one not made yet, or too long ago
 * (the last thousand are kept).
 */
double cut_proxy_attempt_time(const struct cut_proxy *p, long i);

/*
 * The clients' names of the requests sent to be run at most once
 * (["once", client, [], number, request]: mgr_request_id, or by hand), each name
 * once, in the order first seen: how many (the first CUT_PROXY_NAMES are
 * kept), and the ith (its bytes, not NUL-terminated, and *len; NULL past
 * the end).
 */
#define CUT_PROXY_NAMES 4096
#define CUT_PROXY_NAME_MAX 64
long cut_proxy_names(const struct cut_proxy *p);
const char *cut_proxy_name(const struct cut_proxy *p, long i, size_t *len);

/* Stops it and reaps it. */
void cut_proxy_stop(struct cut_proxy *p);

#endif
