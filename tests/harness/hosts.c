/*
 * hosts.c - worker processes on hosts of their own (hosts.h).
 *
 * The child makes its own network namespace (unshare), and the test, still
 * in the first one, runs
 *     ip link add shl<pid> type veth peer name eth0 netns <pid>
 * which makes a cable with one end, eth0, already inside the child's
 * namespace. Each end gets an address of a /30 of its own, picked from
 * the child's pid in 100.64.0.0/10 (shared address space, never routed on
 * the Internet), so that runs side by side never share one; the child
 * brings its end up, and talks over it. When the child ends, its
 * namespace goes, eth0 with it, and so does the other end.
 */
#define _GNU_SOURCE /* unshare, setns */
#include "hosts.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs `ip` with args; 0 if it succeeded. Quiet: its failure is the fallback's reason. */
static int run_ip(char *const args[])
{
    posix_spawn_file_actions_t quiet;
    pid_t pid;
    int status;
    if (posix_spawn_file_actions_init(&quiet) != 0)
        return -1;
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    int err = posix_spawnp(&pid, "ip", &quiet, NULL, args, environ);
    posix_spawn_file_actions_destroy(&quiet);
    if (err != 0)
        return -1;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The /30 of pid: the test's end is .1 of it, the child's .2. */
static void addresses(pid_t pid, char test_end[24], char child_end[24])
{
    uint32_t base = (100u << 24 | 64u << 16) + ((uint32_t)pid % (1u << 20)) * 4;
    for (int end = 1; end <= 2; end++) {
        uint32_t a = base + (uint32_t)end;
        snprintf(end == 1 ? test_end : child_end, 24, "%u.%u.%u.%u/30", a >> 24,
                 a >> 16 & 255, a >> 8 & 255, a & 255);
    }
}

static void say_loopback_once(const char *why)
{
    static int said;
    if (!said++)
        fprintf(stderr, "lab: no host of its own for a worker (%s): it uses the test's "
                "host, over loopback\n", why);
}

/* Which it was, said once: a failure's stderr then tells how its workers ran. */
static void say_hosts_once(void)
{
    static int said;
    if (!said++)
        fprintf(stderr, "lab: each worker on a host of its own (a network namespace, joined "
                "to the test's by a veth cable)\n");
}

/* In the test: the cable to the child, once the child has its namespace. */
static int make_cable(pid_t child)
{
    char name[16], pid[16], test_end[24], child_end[24];
    snprintf(name, sizeof name, "shl%d", (int)child);
    snprintf(pid, sizeof pid, "%d", (int)child);
    addresses(child, test_end, child_end);
    char *add[] = {"ip", "link", "add", name, "type", "veth", "peer", "name", "eth0",
                   "netns", pid, NULL};
    char *address[] = {"ip", "address", "add", test_end, "dev", name, NULL};
    char *up[] = {"ip", "link", "set", name, "up", NULL};
    return run_ip(add) == 0 && run_ip(address) == 0 && run_ip(up) == 0 ? 0 : -1;
}

/* In the child: its end of the cable up, and its loopback. */
static int bring_up(void)
{
    char test_end[24], child_end[24];
    addresses(getpid(), test_end, child_end);
    char *address[] = {"ip", "address", "add", child_end, "dev", "eth0", NULL};
    char *up[] = {"ip", "link", "set", "eth0", "up", NULL};
    char *lo[] = {"ip", "link", "set", "lo", "up", NULL};
    return run_ip(address) == 0 && run_ip(up) == 0 && run_ip(lo) == 0 ? 0 : -1;
}

/*
 * In the child: process ids of its own, as on another machine, where a
 * worker's pid may well be another worker's too (a name made of a pid is
 * then no name). The child stays outside, as the test's child, and only
 * relays: it makes a pid namespace, whose first process (its pid 1) does
 * nothing but wait, and returns in that one's child, the worker. Killing
 * the relay ends them all: the first process is sent SIGKILL when its
 * parent dies, and the namespace's other processes go with it. The worker
 * is not the namespace's pid 1, which signals without a handler do not
 * reach (a worker killed by SIGPIPE must still be). Where no namespace
 * can be made, the worker is the child itself.
 */
static void relay_status(int from, pid_t first)
{
    int status, ended;
    ssize_t got = read(from, &status, sizeof status);
    /* Reaped here: the test reaps what its children leave, and calls it a zombie. */
    while (waitpid(first, &ended, 0) == -1 && errno == EINTR)
        continue;
    if (got != (ssize_t)sizeof status)
        _exit(125);
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        sigset_t sig;
        sigemptyset(&sig);
        sigaddset(&sig, WTERMSIG(status));
        sigprocmask(SIG_UNBLOCK, &sig, NULL);
        raise(WTERMSIG(status));
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 125);
}

static void own_process_ids(const char *name)
{
    /* Its own name too: a name made of the host's name and a pid is as good as on
       machines of their own. Without that, no pids of its own either. */
    char host[32];
    if (name != NULL)
        snprintf(host, sizeof host, "%s", name);
    else
        snprintf(host, sizeof host, "host-%d", (int)getpid());
    if (unshare(CLONE_NEWUTS) == -1 || sethostname(host, strlen(host)) == -1)
        return;
    int up[2];
    if (pipe(up) == -1)
        return;
    if (unshare(CLONE_NEWPID) == -1) {
        close(up[0]);
        close(up[1]);
        return;
    }
    pid_t first = fork();
    if (first == -1)
        _exit(125);
    if (first > 0) {            /* the relay */
        close(up[1]);
        relay_status(up[0], first);
    }
    close(up[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pid_t worker = fork();      /* pid 2 in the namespace */
    if (worker == -1)
        _exit(125);
    if (worker == 0) {
        close(up[1]);
        return;
    }
    int status;
    while (waitpid(worker, &status, 0) == -1)
        if (errno != EINTR)
            _exit(125);
    if (write(up[1], &status, sizeof status) != (ssize_t)sizeof status)
        _exit(125);
    _exit(0);
}

pid_t lab_host_fork(char server[16])
{
    return lab_host_fork_named(server, NULL);
}

pid_t lab_host_fork_named(char server[16], const char *name)
{
    int to_child[2], to_test[2];
    if (pipe(to_child) == -1 || pipe(to_test) == -1)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return -1;
    if (pid == 0) {
        close(to_child[1]);
        close(to_test[0]);
        int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        char mine = home != -1 && unshare(CLONE_NEWNET) == 0 ? 'N' : 'L', cable = 'F';
        if (write(to_test[1], &mine, 1) != 1 ||
            (mine == 'N' && read(to_child[0], &cable, 1) != 1))
            _exit(125);
        close(to_child[0]);
        close(to_test[1]);
        if (mine == 'N' && cable == 'G' && bring_up() == 0) {
            char test_end[24], child_end[24];
            addresses(getpid(), test_end, child_end);
            snprintf(server, 16, "%.*s", (int)(strchr(test_end, '/') - test_end), test_end);
        } else {
            if (mine == 'N' && setns(home, CLONE_NEWNET) == -1)
                _exit(125);   /* in a namespace with no way out: nothing can work */
            snprintf(server, 16, "127.0.0.1");
        }
        if (home != -1)
            close(home);
        own_process_ids(name);
        return 0;
    }
    close(to_child[0]);
    close(to_test[1]);
    char theirs = 'L', cable = 'F';
    if (read(to_test[0], &theirs, 1) == 1 && theirs == 'N') {
        cable = make_cable(pid) == 0 ? 'G' : 'F';
        if (write(to_child[1], &cable, 1) != 1)
            perror("lab_host_fork: write");
    }
    if (cable != 'G')
        say_loopback_once(theirs != 'N' ? "unshare(CLONE_NEWNET) is not allowed here"
                                        : "`ip` could not make its cable");
    else
        say_hosts_once();
    close(to_child[1]);
    close(to_test[0]);
    return pid;
}
