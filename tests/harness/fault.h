/*
 * fault.h - what the harness (lab.c) and the fault injector (fault.c) share.
 *
 * The student's object file is linked with its calls to the functions that
 * can fail renamed (fork -> lab_fault_fork, ...: objcopy --redefine-sym,
 * done by tests/shmlab/build.py; the list is FAULT_CALLS there). Each such
 * call comes to fault.c, which counts it by its call site, and can make it
 * fail instead of doing it. It also writes down what the code under test
 * creates that outlives it: named segments and semaphores, child processes.
 * The record lives in a shared mapping, so that every process the code
 * forks adds to the same one.
 */
#ifndef FAULT_H
#define FAULT_H

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>

#define FAULT_SITES 96     /* call sites a scenario may use */
#define FAULT_NAMES 64     /* named objects whose creation is remembered */
#define FAULT_NAME_MAX 264  /* "sem." and a name of NAME_MAX bytes */
#define FAULT_CHILDREN 128

enum fault_mode { FAULT_OFF, FAULT_COUNT, FAULT_INJECT };

/*
 * The calls that can be made to fail: name, the errno of a failure, the
 * errno (or 0: none) of a transient one (EINTR: the call was interrupted;
 * for a condition variable, a spurious wakeup). The manager's calls fail
 * the way the manager says a failure, -1 and mgr_error(): their errno
 * here only says whether they have such a failure (for mgr_acquire, a
 * transient one is a lock not granted in time).
 */
#define FAULT_CALLS(X)                                   \
    X(fork, EAGAIN, 0)                                   \
    X(waitpid, 0, EINTR)                                 \
    X(mmap, ENOMEM, 0)                                   \
    X(ftruncate, ENOSPC, 0)                              \
    X(fstat, EIO, 0)                                     \
    X(shm_open, EMFILE, 0)                               \
    X(shm_unlink, EACCES, 0)                             \
    X(sem_open, EMFILE, 0)                               \
    X(sem_unlink, EACCES, 0)                             \
    X(sem_init, ENOSYS, 0)                               \
    X(sem_wait, 0, EINTR)                                \
    X(sem_timedwait, 0, ETIMEDOUT)                       \
    X(pthread_mutexattr_init, ENOMEM, 0)                 \
    X(pthread_mutexattr_setpshared, ENOTSUP, 0)          \
    X(pthread_mutexattr_setrobust, ENOTSUP, 0)           \
    X(pthread_mutex_init, EAGAIN, 0)                     \
    X(pthread_condattr_init, ENOMEM, 0)                  \
    X(pthread_condattr_setpshared, ENOTSUP, 0)           \
    X(pthread_cond_init, EAGAIN, 0)                      \
    X(pthread_cond_wait, 0, EINTR)                       \
    X(pthread_cond_timedwait, 0, EINTR)                  \
    X(pipe, EMFILE, 0)                                   \
    X(socketpair, EMFILE, 0)                             \
    X(socket, EMFILE, 0)                                 \
    X(connect, ECONNREFUSED, 0)                          \
    X(open, EMFILE, 0)                                   \
    X(read, EIO, EINTR)                                  \
    X(write, EIO, EINTR)                                 \
    X(recv, ECONNRESET, EINTR)                           \
    X(send, ECONNRESET, EINTR)                           \
    X(malloc, ENOMEM, 0)                                 \
    X(calloc, ENOMEM, 0)                                 \
    X(realloc, ENOMEM, 0)                                \
    X(strdup, ENOMEM, 0)                                 \
    X(mgr_connect, ECONNREFUSED, 0)                      \
    X(mgr_create, EIO, 0)                                \
    X(mgr_get, EIO, 0)                                   \
    X(mgr_set, EIO, 0)                                   \
    X(mgr_delete, EIO, 0)                                \
    X(mgr_keys, EIO, 0)                                  \
    X(mgr_len, EIO, 0)                                   \
    X(mgr_append, EIO, 0)                                \
    X(mgr_incr, EIO, 0)                                  \
    X(mgr_cas, EIO, 0)                                   \
    X(mgr_acquire, EIO, ETIMEDOUT)                       \
    X(mgr_release, EIO, 0)                               \
    X(mgr_call, EIO, 0)

#define FAULT_ENUM(name, err, transient) FN_##name,
enum fault_fn { FAULT_CALLS(FAULT_ENUM) FN_COUNT };
#undef FAULT_ENUM

/* How a call is made to fail: which error, and what kind of failure it is. */
enum fault_kind {
    FAULT_ERROR,      /* the call fails: the code must report it */
    FAULT_TRANSIENT,  /* EINTR or a spurious wakeup: retried or reported, both fine */
};

struct fault_site {
    int fn;           /* index in fault.c's table of calls */
    uintptr_t pc;     /* the return address: where in the code under test */
    int calls;        /* how many times it was called (count mode) */
};

struct fault_record {
    int lock;                          /* every process of the test shares the record */
    int mode;                          /* enum fault_mode */
    int kind;                          /* enum fault_kind: which failures to make */
    /* Count mode: the call sites seen, and how often each was called. */
    int n_sites;
    struct fault_site sites[FAULT_SITES];
    /* Inject mode: the nth call at this site fails. */
    int target_fn;
    uintptr_t target_pc;
    int target_nth;
    int target_seen;                   /* calls at the site so far */
    int injected;                      /* it happened: the call failed */
    int injected_errno;
    pid_t injected_pid;                /* the process whose call it was */
    char target_name[FAULT_NAME_MAX];  /* the name the failed call was on, if it was on one */
    char unlink_skipped[FAULT_NAME_MAX]; /* a failed shm_unlink/sem_unlink: the harness removes it */
    /* Always: what the code under test created. */
    int n_names;
    char names[FAULT_NAMES][FAULT_NAME_MAX];  /* entries of /dev/shm ("x", "sem.x") */
    uintptr_t name_pcs[FAULT_NAMES];
    unsigned name_modes[FAULT_NAMES];         /* permission bits it was made with */
    int exits_in_children;             /* processes other than the test's that called exit() */
    /* The first mutex, condition variable or semaphore the code made in memory
       that processes share without making it process-shared: where, and what. */
    uintptr_t private_sync_pc;
    char private_sync_what[24];
    int n_children;
    pid_t children[FAULT_CHILDREN];
    pid_t parents[FAULT_CHILDREN];     /* who forked each */
    /* A worker to stop (SIGSTOP, by itself) right after its first call stop_fn returns. */
    pid_t stop_pid;
    int stop_fn;
};

/* The record of the current test: NULL outside the tests (the demo program). */
extern struct fault_record *fault_record;

/* The name of call fn ("ftruncate"), and the errno of its failure of KIND (0: it has none). */
const char *fault_call_name(int fn);
int fault_call_errno(int fn, int kind);

/*
 * For the wrappers: whether this call, made from pc, is to fail (then
 * *err is the errno it fails with). Counts the call either way.
 */
int fault_should_fail(int fn, uintptr_t pc, int *err);

/* Writes down that pc created the /dev/shm entry `entry` ("x" or "sem.x"). */
void fault_note_name(const char *entry, uintptr_t pc);

/*
 * In a lesson built `kill`, die_at.c sets these, so that a call it does not
 * stand in for itself is a step too (it can die right before it): a wait
 * on a semaphore, which may be a student's lock ('L'; the messages then
 * know it holds one), and pthread_mutex_init ('I': a lock made anew while
 * others may sleep in it). Elsewhere they stay NULL.
 */
extern void (*fault_before_step)(char kind, uintptr_t pc);
extern void (*fault_after_sem_wait)(int rc);

#endif
