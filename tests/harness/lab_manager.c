/*
 * lab_manager.c - a scenario's own manager, and the schedules the manager
 * lessons' tests try the student's code in (see lab_manager.h).
 */
#define _GNU_SOURCE /* SYS_nanosleep */
#include "lab_manager.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "lab.h"

static struct manager scenario_manager;  /* one per scenario process */

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

/* ---- A scenario's own manager ---------------------------------------------- */

void lab_scenario_fail(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (scenario_manager.pid > 0 && scenario_manager.owner == getpid())
        manager_shutdown(&scenario_manager);
    lab_worker_fail("%s", text);
}

const char *lab_scenario_address(void)
{
    return scenario_manager.address;
}

struct mgr *lab_scenario_connect(void)
{
    struct mgr *x = mgr_connect(scenario_manager.address);
    if (x == NULL)
        lab_scenario_fail("mgr_connect to the manager failed (the lab's side: not your code)");
    return x;
}

struct mgr *lab_scenario_begin(void)
{
    if (manager_start(&scenario_manager) == -1)
        lab_worker_fail("manager_start failed (the lab's side: see stderr)");
    return lab_scenario_connect();
}

void lab_scenario_end(struct mgr *probe)
{
    mgr_close(probe);
    if (manager_shutdown(&scenario_manager) == -1)
        lab_worker_fail("manager_shutdown failed (the lab's side: see stderr)");
}

int lab_failure_happened(void)
{
    return fault_record != NULL && fault_record->injected;
}

int lab_release_was_failed(void)
{
    return lab_failure_happened() && fault_record->target_fn == FN_mgr_release;
}

/* ---- Another connection ------------------------------------------------------ */

/* Exit statuses of the processes below: op returned 0 or -1; no connection (the lab's side). */
enum { OP_RETURNED_0 = 0, OP_RETURNED_MINUS_1 = 1, NO_CONNECTION = 100 };

/* In a new process: connects, runs op, and ends with what it returned (-1: no process). */
static pid_t start_op(const char *address, const struct lab_mgr_op *op, int stop_after)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (stop_after >= 0 && fault_record != NULL) {  /* see fault_manager.c */
            fault_record->stop_fn = stop_after;
            fault_record->stop_pid = getpid();
        }
        struct mgr *x = mgr_connect(address);
        if (x == NULL)
            _exit(NO_CONNECTION);
        int rc = op->run(x, op->arg);
        mgr_close(x);
        _exit(rc == 0 ? OP_RETURNED_0 : OP_RETURNED_MINUS_1);
    }
    return pid;
}

static const char *describe_end(int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == OP_RETURNED_MINUS_1)
        return "returned -1";
    if (WIFEXITED(status) && WEXITSTATUS(status) == NO_CONNECTION)
        return "could not connect (the lab's side)";
    return lab_describe_status(status);
}

const char *lab_mgr_blocked(const char *address, const struct lab_mgr_op *op, double seconds)
{
    static char text[160];
    pid_t pid = start_op(address, op, -1);
    if (pid == -1) {
        snprintf(text, sizeof text, "could not start: fork: %s (the lab's side)",
                 strerror(errno));
        return text;
    }
    int status;
    for (long waited_ms = 0; waitpid(pid, &status, WNOHANG) == 0; waited_ms++) {
        if (waited_ms >= (long)(seconds * 1000)) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(text, sizeof text, "waited %g s in vain", seconds);
            return text;
        }
        sleep_us(1000);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == OP_RETURNED_0)
        return NULL;
    snprintf(text, sizeof text, "%s", describe_end(status));
    return text;
}

int lab_mgr_hold(const char *address, const struct lab_mgr_op *op, struct lab_mgr_held *h,
                 int *rc, int *status)
{
    int result[2], hold[2];
    if (pipe(result) == -1)
        lab_fail("pipe (the lab's side): %s", strerror(errno));
    if (pipe(hold) == -1)
        lab_fail("pipe (the lab's side): %s", strerror(errno));
    fflush(NULL);
    h->pid = fork();
    if (h->pid == -1)
        lab_fail("fork (the lab's side): %s", strerror(errno));
    if (h->pid == 0) {
        close(result[0]);
        close(hold[1]);
        struct mgr *x = mgr_connect(address);
        if (x == NULL)
            _exit(NO_CONNECTION);
        int got = op->run(x, op->arg);
        (void)!write(result[1], &got, sizeof got);
        char byte;
        (void)!read(hold[0], &byte, 1);  /* until lab_mgr_let_go closes the other end */
        mgr_close(x);
        _exit(0);
    }
    close(result[1]);
    close(hold[0]);
    h->hold_fd = hold[1];
    ssize_t n = read(result[0], rc, sizeof *rc);
    close(result[0]);
    if (n == (ssize_t)sizeof *rc)
        return 0;
    close(h->hold_fd);
    waitpid(h->pid, status, 0);
    return -1;
}

void lab_mgr_let_go(struct lab_mgr_held *h)
{
    close(h->hold_fd);
    waitpid(h->pid, NULL, 0);
}

/* ---- A worker paused in the middle of its operation -------------------------- */

/* Whether pid sleeps in nanosleep: here, the pause after a read from the manager. */
static int in_read_pause(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    long nr = -1;
    int ok = fscanf(f, "%ld", &nr) == 1;
    fclose(f);
    return ok && (nr == SYS_nanosleep || nr == SYS_clock_nanosleep);
}

/* Starts op in a worker; returns once it is stopped (where `stop_after` says) or has ended. */
static void start_and_stop(const char *address, const struct lab_mgr_op *op, int stop_after,
                           struct lab_mgr_paused *p)
{
    memset(p, 0, sizeof *p);
    p->waker = -1;
    p->pid = start_op(address, op, stop_after);
    if (p->pid == -1)
        lab_scenario_fail("fork for a worker (the lab's side): %s", strerror(errno));
    while (!p->stopped && !p->ended) {
        pid_t got = waitpid(p->pid, &p->status, WNOHANG | WUNTRACED);
        if (got == p->pid && WIFSTOPPED(p->status))
            p->stopped = 1;  /* it stopped itself after its call stop_after */
        else if (got == p->pid)
            p->ended = 1;
        else if (stop_after < 0 && in_read_pause(p->pid)) {
            kill(p->pid, SIGSTOP);
            waitpid(p->pid, &p->status, WUNTRACED);
            p->stopped = 1;
        } else
            sleep_us(100);
    }
}

/* A waker lets a stopped worker go again after resume_ms. */
static void start_waker(struct lab_mgr_paused *p, int resume_ms)
{
    if (!p->stopped)
        return;
    p->waker = fork();
    if (p->waker == -1) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        lab_scenario_fail("fork for the waker (the lab's side): %s", strerror(errno));
    }
    if (p->waker == 0) {
        sleep_us(resume_ms * 1000L);
        kill(p->pid, SIGCONT);
        _exit(0);
    }
}

void lab_mgr_pause_in_read(const char *address, const struct lab_mgr_op *op, int resume_ms,
                           struct lab_mgr_paused *p)
{
    start_and_stop(address, op, -1, p);
    start_waker(p, resume_ms);
}

void lab_mgr_stop_after(const char *address, const struct lab_mgr_op *op, int fn,
                        int resume_ms, struct lab_mgr_paused *p)
{
    start_and_stop(address, op, fn, p);
    start_waker(p, resume_ms);
}

int lab_mgr_paused_end(struct lab_mgr_paused *p)
{
    if (p->stopped) {
        kill(p->pid, SIGCONT);
        kill(p->waker, SIGKILL);
        waitpid(p->waker, NULL, 0);
        waitpid(p->pid, &p->status, 0);
    }
    return WIFEXITED(p->status) && WEXITSTATUS(p->status) == OP_RETURNED_0;
}

void lab_mgr_begin_while_another_ends(const char *address, const struct lab_mgr_op *first,
                                      const struct lab_mgr_op *second, const char *what)
{
    enum { RESUME_MS = 300, SECOND_SECONDS = 5 };
    struct lab_mgr_paused paused;
    lab_mgr_stop_after(address, first, FN_mgr_create, RESUME_MS, &paused);
    const char *why = lab_mgr_blocked(address, second, SECOND_SECONDS);
    int first_ok = lab_mgr_paused_end(&paused);
    if (why != NULL)
        lab_fail("while a %s was stopped right after its first mgr_create, another %s %s",
                 what, what, why);
    if (!first_ok)
        lab_fail("a %s was stopped right after its first mgr_create while another ran from "
                 "start to end; then it %s (see stderr): what the other did in between "
                 "(deleting the lock?) broke it. A lock every worker shares is made once, by "
                 "whoever comes first, and stays", what,
                 WIFEXITED(paused.status) && WEXITSTATUS(paused.status) == 1
                     ? "returned -1" : lab_describe_status(paused.status));
}
