/*
 * segmgr.c - lesson 06, the segment manager: the fixed version.
 *
 * Nothing a process does can run after it is killed with SIGKILL, so the
 * unlinking cannot be left to the program itself. segmgr_start forks a
 * tracker: a small process whose one job is to remember names and unlink
 * them at the end. Every process of the program tells it, one message
 * each, the names it is about to make:
 *
 *     "+/name"   a segment of this name is being made: unlink it at the end
 *     "-/name"   it could not be made after all: forget it (once)
 *     "!"        shutdown: unlink them all now
 *
 * How the tracker learns that the end has come, whatever the end was: its
 * line to the program is a socket pair, and the program's end is inherited
 * by every process forked from the program; the kernel closes it in each
 * of them when it ends, even by SIGKILL. When the last is closed, the
 * tracker reads end-of-file. (A program run with exec cannot use the
 * manager, so it does not keep the line: SOCK_CLOEXEC.)
 *
 * The signals that end a program from its terminal (SIGINT, SIGTERM...)
 * reach every process of its group, the tracker included, which must
 * outlive them: it ignores them, and they are blocked from before the fork
 * until it does, so that one sent in between cannot end it either.
 *
 * The socket pair is of kind SOCK_SEQPACKET, so each message arrives whole
 * and on its own, even when several workers send at once; a send to a
 * tracker that is gone fails with EPIPE (MSG_NOSIGNAL), it does not kill.
 */
#define _GNU_SOURCE /* close_range */
#include "segmgr.h"
#include "errors.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct segmgr {
    pid_t owner;    /* the process that started it: the one that may shut it down */
    pid_t tracker;
    int fd;         /* the program's end of the line to the tracker */
};

/* ---- the tracker -------------------------------------------------------- */

struct names {
    char **at;
    size_t n, max;
};

static int try_add(struct names *names, const char *name)
{
    if (names->n == names->max) {
        size_t max = names->max ? 2 * names->max : 16;
        char **at = realloc(names->at, max * sizeof *at);
        if (at == NULL)
            return -1;
        names->at = at;
        names->max = max;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return -1;
    names->at[names->n++] = copy;
    return 0;
}

/*
 * The tracker cannot refuse a name: the program makes the segment whatever
 * the tracker does. So, out of memory, it does not forget the name; it
 * says so and tries again for a while (others free memory meanwhile).
 */
static void add(struct names *names, const char *name)
{
    for (int tries = 0; try_add(names, name) == -1; tries++) {
        fprintf(stderr, "segmgr tracker: out of memory for %s (realloc, strdup)%s\n", name,
                tries == 100 ? ": it will not be unlinked" : ", trying again");
        if (tries == 100)
            return;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
}

/* Forgets one of the name's entries: two processes may have tried the same name. */
static void forget(struct names *names, const char *name)
{
    for (size_t i = 0; i < names->n; i++) {
        if (strcmp(names->at[i], name) == 0) {
            free(names->at[i]);
            names->at[i] = names->at[--names->n];
            return;
        }
    }
}

/* Sends one message whole; a signal in the middle (EINTR) is no reason to give up. */
static int answer(int fd, const char *msg)
{
    ssize_t sent;
    while ((sent = send(fd, msg, strlen(msg), MSG_NOSIGNAL)) == -1 && errno == EINTR)
        ;
    return sent == (ssize_t)strlen(msg) ? 0 : -1;
}

/* The tracker's whole life: take names until told to stop, or until every sender has ended. */
static void track(int in)
{
    struct names names = {NULL, 0, 0};
    char msg[NAME_MAX + 2];
    ssize_t len;
    int told_to_stop = 0;
    int errors = 0;
    /* 0, end-of-file: every process of the program has ended. */
    while (!told_to_stop && (len = recv(in, msg, sizeof msg - 1, 0)) != 0) {
        /*
         * An error is not the end: only end-of-file says that every process
         * of the program has ended. Stopping here would leave unknown every
         * name sent afterwards; so it listens again (EINTR: at once; another
         * error: it says so, and gives up only if it stays).
         */
        if (len == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("segmgr tracker: recv");
            if (++errors == 10)
                break;
            continue;
        }
        errors = 0;
        msg[len] = '\0';
        if (msg[0] == '+')
            add(&names, msg + 1);
        else if (msg[0] == '-')
            forget(&names, msg + 1);
        else if (msg[0] == '!')
            told_to_stop = 1;
    }
    int failed = 0;
    for (size_t i = 0; i < names.n; i++) {
        /* Gone already (unlinked by hand) is fine: it is gone. */
        if (shm_unlink(names.at[i]) == -1 && errno != ENOENT) {
            warn_errno("segmgr tracker: shm_unlink(\"%s\")", names.at[i]);
            failed = 1;
        }
        free(names.at[i]);
    }
    free(names.at);
    if (told_to_stop && answer(in, failed ? "failed" : "done") == -1)  /* shutdown waits for it */
        warn_errno("segmgr tracker: send (the answer to segmgr_shutdown)");
    close(in);
    /* _exit, not exit: the atexit handlers and stdio buffers are the program's, copied. */
    _exit(failed ? EXIT_FAILURE : EXIT_SUCCESS);
}

static const int endings[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

struct segmgr *segmgr_start(void)
{
    struct segmgr *m = malloc(sizeof *m);
    if (m == NULL) {
        fprintf(stderr, "segmgr_start: out of memory\n");
        return NULL;
    }
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) == -1) {
        warn_errno("segmgr_start: socketpair");
        free(m);
        return NULL;
    }
    sigset_t block, old;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++)
        sigaddset(&block, endings[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid == 0) {
        /* Ignored, then unblocked: one that came in between is dropped. */
        for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++)
            signal(endings[i], SIG_IGN);
        sigprocmask(SIG_SETMASK, &old, NULL);
        /* It keeps only its own end: holding the program's (or any other
         * manager's), it would wait for itself to end. */
        close(ends[1]);
        close_range(3, ends[0] - 1, 0);
        close_range(ends[0] + 1, ~0U, 0);
        free(m);
        track(ends[0]);
    }
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid == -1) {
        warn_err(saved, "segmgr_start: fork");
        close(ends[0]);
        close(ends[1]);
        free(m);
        return NULL;
    }
    close(ends[0]);
    m->owner = getpid();
    m->tracker = pid;
    m->fd = ends[1];
    return m;
}

/* ---- telling the tracker ------------------------------------------------ */

static int tell(struct segmgr *m, char what, const char *name)
{
    char msg[NAME_MAX + 2];
    snprintf(msg, sizeof msg, "%c%s", what, name);
    if (answer(m->fd, msg) == -1) {
        warn_errno("segmgr: send to the tracker about \"%s\"", name);
        return -1;
    }
    return 0;
}

static int valid_name(const char *name)
{
    if (name != NULL && name[0] == '/' && name[1] != '\0' && strlen(name) <= NAME_MAX &&
        strchr(name + 1, '/') == NULL)
        return 1;
    fprintf(stderr, "segmgr: \"%s\" is not a segment name: it must be '/' and then up to "
            "%d bytes without another '/'\n", name ? name : "(null)", NAME_MAX - 1);
    return 0;
}

/* ---- segments ----------------------------------------------------------- */

int segmgr_create(struct segmgr *m, const char *name, size_t size, struct segment *s)
{
    if (!valid_name(name))
        return -1;
    if (size == 0 || size > SEGMGR_MAX_SIZE) {
        fprintf(stderr, "segmgr_create(\"%s\"): size %zu is not between 1 and %zu\n", name,
                size, SEGMGR_MAX_SIZE);
        return -1;
    }
    /* First the name, then the segment: killed in between, nothing is left unknown. */
    if (tell(m, '+', name) == -1)
        return -1;
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        tell(m, '-', name);  /* not ours, if somebody else has it: never unlink it */
        return -1;
    }
    if (ftruncate(fd, (off_t)size) == -1) {
        warn_errno("ftruncate(\"%s\", %zu)", name, size);
        goto undo;
    }
    void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        warn_errno("mmap(\"%s\", %zu)", name, size);
        goto undo;
    }
    close(fd);
    s->addr = addr;
    s->size = size;
    return 0;
undo:
    close(fd);
    shm_unlink(name);
    tell(m, '-', name);
    return -1;
}

int segmgr_attach(struct segmgr *m, const char *name, struct segment *s)
{
    (void)m;  /* attaching tells the tracker nothing: the segment is not ours to unlink */
    if (!valid_name(name))
        return -1;
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == -1) {
        warn_errno("fstat(\"%s\")", name);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        fprintf(stderr, "segmgr_attach(\"%s\"): the segment has size 0\n", name);
        close(fd);
        return -1;
    }
    void *addr = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        warn_errno("mmap(\"%s\", %lld)", name, (long long)st.st_size);
        close(fd);
        return -1;
    }
    close(fd);
    s->addr = addr;
    s->size = (size_t)st.st_size;
    return 0;
}

int segmgr_detach(struct segment *s)
{
    if (munmap(s->addr, s->size) == -1) {
        warn_errno("munmap(segment, %zu)", s->size);
        return -1;
    }
    s->addr = NULL;
    s->size = 0;
    return 0;
}

int segmgr_shutdown(struct segmgr *m)
{
    if (getpid() != m->owner) {
        fprintf(stderr, "segmgr_shutdown: only the process that started the manager (%d) may "
                "shut it down; a worker simply ends\n", (int)m->owner);
        return -1;
    }
    int rc = tell(m, '!', "");
    char said[16] = "";
    ssize_t got = 0;
    while (rc == 0 && (got = recv(m->fd, said, sizeof said - 1, 0)) == -1 && errno == EINTR)
        ;
    if (rc == 0 && got <= 0) {
        if (got == 0)
            fprintf(stderr, "segmgr_shutdown: recv: the tracker (pid %d) ended without an "
                    "answer\n", (int)m->tracker);
        else
            warn_errno("segmgr_shutdown: recv (the tracker's answer, pid %d)", (int)m->tracker);
        rc = -1;
    } else if (rc == 0 && strcmp(said, "done") != 0) {
        fprintf(stderr, "segmgr_shutdown: the tracker could not unlink every segment (see "
                "its messages above)\n");
        rc = -1;
    }
    close(m->fd);
    /* ECHILD: the program ignores SIGCHLD, and the kernel reaped the tracker itself. */
    int waited;
    while ((waited = waitpid(m->tracker, NULL, 0)) == -1 && errno == EINTR)
        ;
    if (waited == -1 && errno != ECHILD) {
        warn_errno("segmgr_shutdown: waitpid(tracker %d)", (int)m->tracker);
        rc = -1;
    }
    free(m);
    return rc;
}
