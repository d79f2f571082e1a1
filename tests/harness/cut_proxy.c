/*
 * cut_proxy.c - a TCP proxy that breaks connections on purpose (cut_proxy.h).
 *
 * One process, one poll loop. Each client connection is a pair: the
 * client's socket and the proxy's own connection to the manager. Bytes are
 * passed on frame by frame (a frame is a 4-byte big-endian length and its
 * payload, docs/manager-protocol.md), so that the proxy knows which frame
 * is a request and which the answer to it: the manager answers in order.
 */
#define _GNU_SOURCE /* close_range */
#include "cut_proxy.h"
#include "value.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMES 1024            /* connection attempts whose times are kept: the last ones */

struct cut_proxy_counts {
    _Atomic long connections, refused, requests, cut_before, cut_after, open;
    _Atomic int one_in;
    _Atomic long long outage_until_ms;
    _Atomic long attempts;
    _Atomic long long attempt_ms[TIMES];
    /* The clients' names of requests run at most once, each once: only the proxy writes. */
    _Atomic long names;
    struct { uint8_t len; char bytes[CUT_PROXY_NAME_MAX]; } name[CUT_PROXY_NAMES];
};

#define NAME_SLOTS (2 * CUT_PROXY_NAMES)  /* the proxy's own table of the names seen */

#define PAIRS 256             /* connections at once; more are closed at once */
#define FRAME_LIMIT (2u << 20) /* a frame longer than the manager's is not the manager's */
/* The handshake, never cut: the manager's challenge and its welcome, the client's answer. */
#define SERVER_HANDSHAKE 2
#define CLIENT_HANDSHAKE 1

struct side {
    int fd;
    uint8_t *buf;             /* what was read from fd and not yet passed on */
    size_t len;
    long frames;              /* whole frames passed on from this side */
};

struct pair {
    struct side client, server;
    long cut_answer;          /* the manager's frame to drop, cutting; 0: none */
};

/* Where each name seen is kept, by its hash: its number + 1, 0 for a free slot. */
struct names_seen {
    long slot[NAME_SLOTS];
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* A TCP address "tcp:<ipv4>:<port>" as a sockaddr; -1 if it is not one. */
static int parse_address(const char *address, struct sockaddr_in *sa)
{
    char host[32];
    int port;
    if (sscanf(address, "tcp:%31[0-9.]:%d", host, &port) != 2 || port <= 0 || port > 65535)
        return -1;
    *sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void close_pair(struct pair *p, struct cut_proxy_counts *n)
{
    close(p->client.fd);
    close(p->server.fd);
    free(p->client.buf);
    free(p->server.buf);
    p->client = p->server = (struct side){.fd = -1};
    atomic_fetch_sub(&n->open, 1);
}

/* Reads what there is; 0, or -1 when the peer has gone. */
static int fill(struct side *s)
{
    uint8_t chunk[65536];
    ssize_t got = read(s->fd, chunk, sizeof chunk);
    if (got == 0 || (got == -1 && errno != EINTR && errno != EAGAIN))
        return -1;
    if (got <= 0)
        return 0;
    uint8_t *more = realloc(s->buf, s->len + (size_t)got);
    if (more == NULL)
        return -1;
    memcpy(more + s->len, chunk, (size_t)got);
    s->buf = more;
    s->len += (size_t)got;
    return 0;
}

/* The length of the first whole frame in s, or 0 if it is not whole yet; -1: not a frame. */
static long long whole_frame(const struct side *s)
{
    if (s->len < 4)
        return 0;
    uint32_t n = (uint32_t)s->buf[0] << 24 | (uint32_t)s->buf[1] << 16 |
                 (uint32_t)s->buf[2] << 8 | s->buf[3];
    if (n > FRAME_LIMIT)
        return -1;
    return s->len >= 4 + (size_t)n ? 4 + (long long)n : 0;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Keeps the client's name of a request ["once", client, ...], if it is new and there is room. */
static void note_name(const uint8_t *frame, size_t len, struct cut_proxy_counts *n,
                      struct names_seen *seen)
{
    size_t used;
    char err[128];
    struct value *v = value_decode(frame, len, &used, err, sizeof err);
    if (v == NULL)
        return;
    const struct value *client = v->type == V_LIST && v->u.list.len >= 2 ? v->u.list.items[1] : NULL;
    const struct value *op = client != NULL ? v->u.list.items[0] : NULL;
    if (op != NULL && op->type == V_BYTES && op->u.bytes.len == 4 &&
        memcmp(op->u.bytes.data, "once", 4) == 0 && client->type == V_BYTES &&
        client->u.bytes.len >= 1 && client->u.bytes.len <= CUT_PROXY_NAME_MAX) {
        uint32_t h = 2166136261u;  /* FNV-1a */
        for (uint32_t i = 0; i < client->u.bytes.len; i++)
            h = (h ^ (uint8_t)client->u.bytes.data[i]) * 16777619u;
        long k = atomic_load(&n->names);
        for (uint32_t at = h % NAME_SLOTS;; at = (at + 1) % NAME_SLOTS) {
            long i = seen->slot[at] - 1;
            if (i < 0) {
                if (k < CUT_PROXY_NAMES) {
                    n->name[k].len = (uint8_t)client->u.bytes.len;
                    memcpy(n->name[k].bytes, client->u.bytes.data, client->u.bytes.len);
                    seen->slot[at] = k + 1;
                    atomic_store(&n->names, k + 1);  /* the name first: a reader never sees it half */
                }
                break;
            }
            if (n->name[i].len == client->u.bytes.len &&
                memcmp(n->name[i].bytes, client->u.bytes.data, client->u.bytes.len) == 0)
                break;
        }
    }
    value_free(v);
}

/*
 * Passes on the whole frames from one side to the other, cutting as told.
 * 0, or -1 when the pair is to be closed (a cut, or a side gone).
 */
static int pass_on(struct pair *p, struct side *from, struct side *to, int from_client,
                   struct cut_proxy_counts *n, uint64_t *random, struct names_seen *seen)
{
    long long len;
    while ((len = whole_frame(from)) > 0) {
        long frame = from->frames + 1;
        if (from_client && frame > CLIENT_HANDSHAKE) {   /* a request */
            int one_in = atomic_load(&n->one_in);
            uint64_t r = one_in > 0 ? next_random(random) % (uint64_t)(2 * one_in) : 2;
            if (r == 0) {
                atomic_fetch_add(&n->cut_before, 1);
                return -1;
            }
            atomic_fetch_add(&n->requests, 1);
            note_name(from->buf + 4, (size_t)len - 4, n, seen);
            /* Its answer: the manager's frames after the handshake, in order. */
            if (r == 1 && p->cut_answer == 0)
                p->cut_answer = SERVER_HANDSHAKE + (frame - CLIENT_HANDSHAKE);
        }
        if (!from_client && frame == p->cut_answer) {
            atomic_fetch_add(&n->cut_after, 1);
            return -1;
        }
        if (send_all(to->fd, from->buf, (size_t)len) == -1)
            return -1;
        memmove(from->buf, from->buf + len, from->len - (size_t)len);
        from->len -= (size_t)len;
        from->frames = frame;
    }
    return len < 0 ? -1 : 0;
}

static void accept_one(int listener, const struct sockaddr_in *target, struct pair *pairs,
                       struct cut_proxy_counts *n)
{
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd == -1)
        return;
    long k = atomic_load(&n->attempts);
    atomic_store(&n->attempt_ms[k % TIMES], now_ms());
    atomic_store(&n->attempts, k + 1);   /* the time first: a reader never sees a stale one */
    if (now_ms() < atomic_load(&n->outage_until_ms)) {
        atomic_fetch_add(&n->refused, 1);
        close(fd);
        return;
    }
    struct pair *free_pair = NULL;
    for (int i = 0; i < PAIRS && free_pair == NULL; i++)
        if (pairs[i].client.fd == -1)
            free_pair = &pairs[i];
    int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (free_pair == NULL || up == -1 ||
        connect(up, (const struct sockaddr *)target, sizeof *target) == -1) {
        fprintf(stderr, "cut_proxy: cannot pass a connection on: %s\n",
                free_pair == NULL ? "too many at once" : strerror(errno));
        close(fd);
        if (up != -1)
            close(up);
        return;
    }
    *free_pair = (struct pair){.client = {.fd = fd}, .server = {.fd = up}};
    atomic_fetch_add(&n->connections, 1);
    atomic_fetch_add(&n->open, 1);
}

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static void serve(int listener, const struct sockaddr_in *target, struct cut_proxy_counts *n)
{
    static struct pair pairs[PAIRS];
    static struct names_seen seen;
    struct pollfd fds[1 + 2 * PAIRS];
    uint64_t random = (uint64_t)getpid() * 0x9e3779b97f4a7c15u ^ (uint64_t)now_ms();
    for (int i = 0; i < PAIRS; i++)
        pairs[i].client.fd = pairs[i].server.fd = -1;
    while (!stopping) {
        int outage = now_ms() < atomic_load(&n->outage_until_ms);
        fds[0] = (struct pollfd){.fd = listener, .events = POLLIN};
        for (int i = 0; i < PAIRS; i++) {
            if (outage && pairs[i].client.fd != -1)
                close_pair(&pairs[i], n);
            fds[1 + 2 * i] = (struct pollfd){.fd = pairs[i].client.fd, .events = POLLIN};
            fds[2 + 2 * i] = (struct pollfd){.fd = pairs[i].server.fd, .events = POLLIN};
        }
        /* 10 ms at most: an outage asked for by the test starts without a wait. */
        if (poll(fds, 1 + 2 * PAIRS, 10) == -1 && errno != EINTR) {
            perror("cut_proxy: poll");
            return;
        }
        for (int i = 0; i < PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (p->client.fd == -1)
                continue;
            int gone = 0;
            if (fds[1 + 2 * i].revents)
                gone = fill(&p->client) == -1 ||
                       pass_on(p, &p->client, &p->server, 1, n, &random, &seen) == -1;
            if (!gone && fds[2 + 2 * i].revents)
                gone = fill(&p->server) == -1 ||
                       pass_on(p, &p->server, &p->client, 0, n, &random, &seen) == -1;
            if (gone)
                close_pair(p, n);
        }
        if (fds[0].revents & POLLIN)
            accept_one(listener, target, pairs, n);
    }
    for (int i = 0; i < PAIRS; i++)
        if (pairs[i].client.fd != -1)
            close_pair(&pairs[i], n);
}

int cut_proxy_start(struct cut_proxy *p, const char *host, const char *target, int one_in)
{
    struct sockaddr_in to, at = {.sin_family = AF_INET};
    socklen_t at_len = sizeof at;
    memset(p, 0, sizeof *p);
    if (parse_address(target, &to) == -1 || inet_pton(AF_INET, host, &at.sin_addr) != 1) {
        fprintf(stderr, "cut_proxy: '%s' or '%s' is not an IPv4 address\n", target, host);
        return -1;
    }
    p->counts = mmap(NULL, sizeof *p->counts, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p->counts == MAP_FAILED) {
        perror("cut_proxy: mmap(the counts)");
        p->counts = NULL;
        return -1;
    }
    atomic_store(&p->counts->one_in, one_in);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1 || bind(fd, (struct sockaddr *)&at, sizeof at) == -1 || listen(fd, 128) == -1 ||
        getsockname(fd, (struct sockaddr *)&at, &at_len) == -1) {
        fprintf(stderr, "cut_proxy: listen on %s: %s\n", host, strerror(errno));
        goto fail;
    }
    p->port = ntohs(at.sin_port);
    snprintf(p->address, sizeof p->address, "tcp:%s:%d", host, p->port);
    p->pid = fork();
    if (p->pid == -1) {
        perror("cut_proxy: fork");
        goto fail;
    }
    if (p->pid == 0) {
        /* Only its listener: a copy of the test's pipes would keep them open. */
        if (dup2(fd, 3) == -1 || close_range(4, ~0U, 0) == -1)
            _exit(1);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        struct sigaction sa = {.sa_handler = on_term};
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        serve(3, &to, p->counts);
        _exit(0);
    }
    close(fd);
    return 0;
fail:
    if (fd != -1)
        close(fd);
    munmap(p->counts, sizeof *p->counts);
    p->counts = NULL;
    return -1;
}

void cut_proxy_outage(struct cut_proxy *p, int ms)
{
    atomic_store(&p->counts->outage_until_ms, now_ms() + ms);
}

struct cut_proxy_seen cut_proxy_seen(const struct cut_proxy *p)
{
    struct cut_proxy_counts *n = p->counts;
    return (struct cut_proxy_seen){
        atomic_load(&n->connections), atomic_load(&n->refused), atomic_load(&n->requests),
        atomic_load(&n->cut_before), atomic_load(&n->cut_after), atomic_load(&n->open),
        atomic_load(&n->attempts),
    };
}

double cut_proxy_attempt_time(const struct cut_proxy *p, long i)
{
    struct cut_proxy_counts *n = p->counts;
    long k = atomic_load(&n->attempts);
    if (i < 0 || i >= k || i < k - TIMES + 1)
        return -1;
    return (double)atomic_load(&n->attempt_ms[i % TIMES]) / 1000;
}

long cut_proxy_names(const struct cut_proxy *p)
{
    return atomic_load(&p->counts->names);
}

const char *cut_proxy_name(const struct cut_proxy *p, long i, size_t *len)
{
    if (i < 0 || i >= cut_proxy_names(p))
        return NULL;
    *len = p->counts->name[i].len;
    return p->counts->name[i].bytes;
}

void cut_proxy_stop(struct cut_proxy *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
            continue;
        p->pid = 0;
    }
    if (p->counts != NULL)
        munmap(p->counts, sizeof *p->counts);
    p->counts = NULL;
}
