/*
 * A correct alternative with one pipe for every child: each child writes
 * its index and item as one record, smaller than PIPE_BUF, so that records
 * of children writing at once never interleave; the parent reads records
 * until every child has closed the pipe, puts each item in its slot, and
 * then waits for every child by its pid.
 */
#include "collect.h"
#include "errors.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct record {
    int index;
    long item;
};

/* Reads one whole record; 1, or 0 at end-of-file, or -1 (said on stderr). */
static int read_record(int fd, struct record *r)
{
    size_t have = 0;
    while (have < sizeof *r) {
        ssize_t got = read(fd, (char *)r + have, sizeof *r - have);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1) {
            warn_errno("read (the children's pipe)");
            return -1;
        }
        if (got == 0) {
            if (have != 0)
                fprintf(stderr, "collect: a record on the pipe was cut short\n");
            return have == 0 ? 0 : -1;
        }
        have += (size_t)got;
    }
    return 1;
}

int collect(int n, long (*work)(int index), long items[])
{
    if (n < 0 || n > COLLECT_MAX) {
        fprintf(stderr, "collect: %d children asked for; 0 to %d allowed\n", n, COLLECT_MAX);
        return -1;
    }
    if (n == 0)
        return 0;
    int p[2];
    if (pipe(p) == -1) {
        warn_errno("pipe");
        return -1;
    }
    pid_t pids[COLLECT_MAX];
    int started = 0, failed = 0;
    for (; started < n; started++) {
        pid_t pid = fork();
        if (pid == -1) {
            warn_errno("fork (child %d)", started);
            failed = 1;
            break;
        }
        if (pid == 0) {
            close(p[0]);
            struct record r = {started, work(started)};
            ssize_t put;
            do
                put = write(p[1], &r, sizeof r);  /* one write, < PIPE_BUF: atomic */
            while (put == -1 && errno == EINTR);
            if (put != (ssize_t)sizeof r) {
                warn_errno("write (child %d's item)", started);
                _exit(1);
            }
            _exit(0);
        }
        pids[started] = pid;
    }
    close(p[1]);  /* now end-of-file comes when the last child has ended */

    static char arrived[COLLECT_MAX];
    static long got[COLLECT_MAX];
    memset(arrived, 0, sizeof arrived);
    struct record r;
    int more;
    while ((more = read_record(p[0], &r)) == 1)
        if (r.index >= 0 && r.index < started) {
            arrived[r.index] = 1;
            got[r.index] = r.item;
        }
    if (more == -1)
        failed = 1;
    close(p[0]);

    for (int i = 0; i < started; i++) {
        int status;
        pid_t done;
        do
            done = waitpid(pids[i], &status, 0);
        while (done == -1 && errno == EINTR);
        if (done == -1) {
            warn_errno("waitpid(child %d)", i);
            failed = 1;
        } else if (WIFSIGNALED(status)) {
            fprintf(stderr, "collect: child %d was killed by signal %d (%s)\n", i,
                    WTERMSIG(status), strsignal(WTERMSIG(status)));
            failed = 1;
        } else if (WEXITSTATUS(status) != 0) {
            fprintf(stderr, "collect: child %d exited with status %d\n", i, WEXITSTATUS(status));
            failed = 1;
        } else if (!arrived[i]) {
            fprintf(stderr, "collect: child %d ended without sending its item\n", i);
            failed = 1;
        } else {
            items[i] = got[i];
        }
    }
    return failed ? -1 : 0;
}
