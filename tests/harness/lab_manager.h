/*
 * lab_manager.h - the harness's help for the lessons built `manager`: a
 * manager of its own for each run of a scenario, and the schedules their
 * tests try the student's code in (lab_manager.c).
 *
 * The lesson's code is "an operation": one call, made on a connection of
 * its own, as one worker would make it. The helpers run it in processes of
 * their own and say what happened; the lesson's test says what that means.
 */
#ifndef LAB_MANAGER_H
#define LAB_MANAGER_H

#include <sys/types.h>

#include "manager.h"

struct lab_mgr_op {
    int (*run)(struct mgr *x, void *arg);  /* the lesson's call: 0, or -1 having said why */
    void *arg;
};

/* ---- A scenario's own manager (lab_try_each_failure and _interruption) ---- */

/*
 * A scenario runs in a process of its own, and the harness ends whatever
 * processes a run leaves: the test's manager cannot serve it. This starts
 * one for the run and returns the scenario's own connection to it (to set
 * up and to look with). lab_scenario_fail stops it first, so that only the
 * reason is reported.
 */
struct mgr *lab_scenario_begin(void);
struct mgr *lab_scenario_connect(void);
const char *lab_scenario_address(void);
void lab_scenario_end(struct mgr *probe);
void lab_scenario_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Whether the grader's one failure of this run has happened (later calls are real). */
int lab_failure_happened(void);

/* Whether the call the grader failed was mgr_release (then a lock stays held). */
int lab_release_was_failed(void);

/* ---- Another connection ---------------------------------------------------- */

/*
 * Runs op on a connection of its own, in a process of its own, for at most
 * `seconds`: NULL if it returned 0 in time, else what happened ("waited 3 s
 * in vain", "returned -1", "was killed by signal 11 ..."). A lock that
 * another connection kept makes it wait in vain.
 */
const char *lab_mgr_blocked(const char *address, const struct lab_mgr_op *op, double seconds);

/*
 * In a test: runs op in a process of its own that keeps its connection open after op
 * returns, until lab_mgr_let_go: a lock op kept is still held meanwhile, as
 * it would be by a worker that goes on working. Returns 0 with op's result
 * in *rc, or -1 if the process ended without op returning (its wait status
 * in *status, the process reaped).
 */
struct lab_mgr_held {
    pid_t pid;
    int hold_fd;  /* closed by lab_mgr_let_go: the process then ends */
};
int lab_mgr_hold(const char *address, const struct lab_mgr_op *op, struct lab_mgr_held *h,
                 int *rc, int *status);
void lab_mgr_let_go(struct lab_mgr_held *h);

/*
 * In a scenario: starts op in a worker of its own and stops it (SIGSTOP) in the pause
 * after its first read from the manager (tests/harness/amplify_manager.c):
 * if op takes a lock, it holds it now, between its read and its write
 * back. A waker lets it go again after resume_ms, so that code that waits
 * for the lock gets it. p->stopped is 0 if op finished before it read.
 */
struct lab_mgr_paused {
    pid_t pid, waker;
    int stopped;
    int ended;
    int status;
};
void lab_mgr_pause_in_read(const char *address, const struct lab_mgr_op *op, int resume_ms,
                           struct lab_mgr_paused *p);

/*
 * The same, stopped instead right after its first call fn returns (FN_mgr_create,
 * FN_mgr_release... of fault.h): between two of its requests, where another
 * worker's may land.
 */
void lab_mgr_stop_after(const char *address, const struct lab_mgr_op *op, int fn,
                        int resume_ms, struct lab_mgr_paused *p);

/* Lets the paused worker go and waits for it; returns 1 if its op returned 0. */
int lab_mgr_paused_end(struct lab_mgr_paused *p);

/*
 * In a test: stops `first` right after its first mgr_create (where a lock is
 * made) while `second` runs from start to end, then lets the first go. Fails
 * the test, speaking of `what` ("deposit"), unless both returned 0: what the
 * second did at its end (deleting the lock it made, say) must not break the
 * first. The test then checks that both landed.
 */
void lab_mgr_begin_while_another_ends(const char *address, const struct lab_mgr_op *first,
                                      const struct lab_mgr_op *second, const char *what);

#endif
