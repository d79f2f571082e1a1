/*
 * fault.c - makes the student's calls fail, one at a time (see fault.h).
 *
 * Error paths are the code least often run, so the most often wrong: a
 * mapping kept when ftruncate fails, children left running when the third
 * fork fails, success returned after a failure. Nothing makes those calls
 * fail on a healthy machine, so the grader does: the student's object calls
 * lab_fault_X instead of X, and lab_fault_X either does X or, when the
 * harness asks for it (lab_try_each_failure), fails the way X fails.
 * SQLite's anomaly tests and libfiu work the same way.
 *
 * Outside a test (fault_record == NULL: the demo program) every wrapper
 * simply makes the call.
 */
#define _GNU_SOURCE /* pthread_mutex_t in sys/types, O_ flags */
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fault_record *fault_record;

#define FAULT_NAME(name, err, transient) #name,
static const char *const call_names[] = {FAULT_CALLS(FAULT_NAME)};
#define FAULT_ERR(name, err, transient) err,
static const int call_errors[] = {FAULT_CALLS(FAULT_ERR)};
#define FAULT_TRANSIENT_ERR(name, err, transient) transient,
static const int call_transients[] = {FAULT_CALLS(FAULT_TRANSIENT_ERR)};

const char *fault_call_name(int fn)
{
    return fn >= 0 && fn < FN_COUNT ? call_names[fn] : "?";
}

int fault_call_errno(int fn, int kind)
{
    if (fn < 0 || fn >= FN_COUNT)
        return 0;
    return kind == FAULT_TRANSIENT ? call_transients[fn] : call_errors[fn];
}

/* The record is shared by every process of the test: a spinlock in it (held for a moment). */
static void lock_record(struct fault_record *r)
{
    while (__atomic_exchange_n(&r->lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void unlock_record(struct fault_record *r)
{
    __atomic_store_n(&r->lock, 0, __ATOMIC_RELEASE);
}

static void count_site(struct fault_record *r, int fn, uintptr_t pc)
{
    for (int i = 0; i < __atomic_load_n(&r->n_sites, __ATOMIC_ACQUIRE); i++)
        if (r->sites[i].fn == fn && r->sites[i].pc == pc) {
            __atomic_add_fetch(&r->sites[i].calls, 1, __ATOMIC_RELAXED);
            return;
        }
    lock_record(r);
    int i;
    for (i = 0; i < r->n_sites; i++)  /* another process may have added it meanwhile */
        if (r->sites[i].fn == fn && r->sites[i].pc == pc)
            break;
    if (i == r->n_sites && i < FAULT_SITES) {
        r->sites[i].fn = fn;
        r->sites[i].pc = pc;
        r->sites[i].calls = 0;
        __atomic_store_n(&r->n_sites, i + 1, __ATOMIC_RELEASE);
    }
    if (i < FAULT_SITES)
        __atomic_add_fetch(&r->sites[i].calls, 1, __ATOMIC_RELAXED);
    unlock_record(r);
}

int fault_should_fail(int fn, uintptr_t pc, int *err)
{
    struct fault_record *r = fault_record;
    if (r == NULL || r->mode == FAULT_OFF)
        return 0;
    if (r->mode == FAULT_COUNT) {
        count_site(r, fn, pc);
        return 0;
    }
    if (fn != r->target_fn || pc != r->target_pc)
        return 0;
    int seen = __atomic_add_fetch(&r->target_seen, 1, __ATOMIC_ACQ_REL);
    if (seen != r->target_nth || __atomic_exchange_n(&r->injected, 1, __ATOMIC_ACQ_REL))
        return 0;
    *err = fault_call_errno(fn, r->kind);
    r->injected_errno = *err;
    r->injected_pid = getpid();
    return 1;
}

void fault_note_name(const char *entry, uintptr_t pc)
{
    struct fault_record *r = fault_record;
    if (r == NULL)
        return;
    lock_record(r);
    int known = 0;
    for (int i = 0; i < r->n_names; i++)
        known |= strcmp(r->names[i], entry) == 0;
    if (!known && r->n_names < FAULT_NAMES && strlen(entry) < FAULT_NAME_MAX) {
        char path[FAULT_NAME_MAX + 16];
        struct stat st;
        snprintf(path, sizeof path, "/dev/shm/%s", entry);
        strcpy(r->names[r->n_names], entry);
        r->name_modes[r->n_names] = stat(path, &st) == 0 ? (unsigned)st.st_mode & 0777 : 0600;
        r->name_pcs[r->n_names++] = pc;
    }
    unlock_record(r);
}

static void note_child(pid_t pid)
{
    struct fault_record *r = fault_record;
    if (r == NULL)
        return;
    lock_record(r);
    if (r->n_children < FAULT_CHILDREN) {
        r->parents[r->n_children] = getpid();
        r->children[r->n_children++] = pid;
    }
    unlock_record(r);
}

/* The /dev/shm entry of a POSIX name: "/x" is "x", a semaphore's is "sem.x". */
static void note_created(const char *prefix, const char *name, int oflag, int existed,
                         uintptr_t pc)
{
    char entry[FAULT_NAME_MAX];
    if (!(oflag & O_CREAT) || existed || name == NULL)
        return;
    snprintf(entry, sizeof entry, "%s%s", prefix, name[0] == '/' ? name + 1 : name);
    fault_note_name(entry, pc);
}

static int exists_in_shm(const char *prefix, const char *name)
{
    char path[FAULT_NAME_MAX + 16];
    struct stat st;
    if (name == NULL)
        return 0;
    snprintf(path, sizeof path, "/dev/shm/%s%s", prefix, name[0] == '/' ? name + 1 : name);
    return stat(path, &st) == 0;
}

/* A failed unlink is not done: the harness removes the name after the test. */
static void skip_unlink(const char *prefix, const char *name)
{
    struct fault_record *r = fault_record;
    if (r != NULL && name != NULL)
        snprintf(r->unlink_skipped, sizeof r->unlink_skipped, "%s%s", prefix,
                 name[0] == '/' ? name + 1 : name);
}

/*
 * The name each descriptor of this process was opened on (shm_open, or open
 * in /dev/shm), so that a failed ftruncate, fstat or mmap of it is known to
 * be on that name. A few are enough: a lesson opens one or two at a time.
 */
#define FD_NAMES 16
static struct { int fd; char name[FAULT_NAME_MAX]; } fd_names[FD_NAMES];

static void remember_fd(int fd, const char *name)
{
    int slot = fd % FD_NAMES;
    fd_names[slot].fd = fd;
    snprintf(fd_names[slot].name, sizeof fd_names[slot].name, "%s", name);
}

static const char *name_of_fd(int fd)
{
    int slot = fd >= 0 ? fd % FD_NAMES : 0;
    return fd >= 0 && fd_names[slot].fd == fd ? fd_names[slot].name : "";
}

/* The failure just made was on `name`: a message about it must say which. */
static void failed_on(const char *name)
{
    struct fault_record *r = fault_record;
    if (r != NULL && name != NULL)
        snprintf(r->target_name, sizeof r->target_name, "%s", name);
}

/* ---- the wrappers ------------------------------------------------------ */

#define HERE ((uintptr_t)__builtin_return_address(0))
/* A call that returns -1 and sets errno when it fails. */
#define FAIL_OR(fn, ...)                                   \
    do {                                                   \
        int err_;                                          \
        if (fault_should_fail(FN_##fn, HERE, &err_)) {     \
            errno = err_;                                  \
            return __VA_ARGS__;                            \
        }                                                  \
    } while (0)

/* The same, for a call on a name (or a descriptor opened on one). */
#define FAIL_ON_NAME_OR(fn, name, ...)                     \
    do {                                                   \
        int err_;                                          \
        if (fault_should_fail(FN_##fn, HERE, &err_)) {     \
            failed_on(name);                               \
            errno = err_;                                  \
            return __VA_ARGS__;                            \
        }                                                  \
    } while (0)

pid_t lab_fault_fork(void)
{
    FAIL_OR(fork, -1);
    pid_t pid = fork();
    if (pid > 0)
        note_child(pid);
    return pid;
}

pid_t lab_fault_waitpid(pid_t pid, int *status, int options)
{
    FAIL_OR(waitpid, -1);
    return waitpid(pid, status, options);
}

void *lab_fault_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    FAIL_ON_NAME_OR(mmap, name_of_fd(fd), MAP_FAILED);
    return mmap(addr, len, prot, flags, fd, off);
}

int lab_fault_ftruncate(int fd, off_t len)
{
    FAIL_ON_NAME_OR(ftruncate, name_of_fd(fd), -1);
    return ftruncate(fd, len);
}

int lab_fault_fstat(int fd, struct stat *st)
{
    FAIL_ON_NAME_OR(fstat, name_of_fd(fd), -1);
    return fstat(fd, st);
}

int lab_fault_shm_open(const char *name, int oflag, mode_t mode)
{
    FAIL_ON_NAME_OR(shm_open, name, -1);
    int existed = (oflag & O_CREAT) && exists_in_shm("", name);
    int fd = shm_open(name, oflag, mode);
    if (fd != -1) {
        note_created("", name, oflag, existed, HERE);
        remember_fd(fd, name);
    }
    return fd;
}

int lab_fault_shm_unlink(const char *name)
{
    int err;
    if (fault_should_fail(FN_shm_unlink, HERE, &err)) {
        skip_unlink("", name);
        failed_on(name);
        errno = err;
        return -1;
    }
    return shm_unlink(name);
}

sem_t *lab_fault_sem_open(const char *name, int oflag, ...)
{
    mode_t mode = 0;
    unsigned value = 0;
    if (oflag & O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        mode = (mode_t)va_arg(ap, unsigned);
        value = va_arg(ap, unsigned);
        va_end(ap);
    }
    FAIL_ON_NAME_OR(sem_open, name, SEM_FAILED);
    int existed = (oflag & O_CREAT) && exists_in_shm("sem.", name);
    sem_t *sem = sem_open(name, oflag, mode, value);
    if (sem != SEM_FAILED)
        note_created("sem.", name, oflag, existed, HERE);
    return sem;
}

int lab_fault_sem_unlink(const char *name)
{
    int err;
    if (fault_should_fail(FN_sem_unlink, HERE, &err)) {
        skip_unlink("sem.", name);
        failed_on(name);
        errno = err;
        return -1;
    }
    return sem_unlink(name);
}

/*
 * Whether P lies in a shared mapping ("rw-s" in /proc/self/maps): there,
 * other processes may use a lock made at P, and it must be process-shared.
 * (glibc happens to wake other processes for a robust mutex that is not;
 * POSIX promises nothing, and other C libraries do not.)
 */
static int in_shared_mapping(const void *p)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        return 0;
    char line[512];
    int shared = 0;
    uintptr_t at = (uintptr_t)p;
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && at >= start && at < end) {
            shared = perms[3] == 's';
            break;
        }
    }
    fclose(maps);
    return shared;
}

static void note_private_sync(const void *p, const char *what, uintptr_t pc)
{
    struct fault_record *r = fault_record;
    if (r == NULL || r->private_sync_pc != 0 || !in_shared_mapping(p))
        return;
    lock_record(r);
    if (r->private_sync_pc == 0) {
        snprintf(r->private_sync_what, sizeof r->private_sync_what, "%s", what);
        r->private_sync_pc = pc;
    }
    unlock_record(r);
}

int lab_fault_sem_init(sem_t *sem, int pshared, unsigned value)
{
    FAIL_OR(sem_init, -1);
    if (pshared == 0)
        note_private_sync(sem, "semaphore", HERE);
    return sem_init(sem, pshared, value);
}

void (*fault_before_step)(char kind, uintptr_t pc);
void (*fault_after_sem_wait)(int rc);

int lab_fault_sem_wait(sem_t *sem)
{
    if (fault_before_step != NULL)
        fault_before_step('L', HERE);
    FAIL_OR(sem_wait, -1);
    int rc = sem_wait(sem);
    if (fault_after_sem_wait != NULL)
        fault_after_sem_wait(rc);
    return rc;
}

/* Made to time out at once, as under a reader or writer slower than the timeout. */
int lab_fault_sem_timedwait(sem_t *sem, const struct timespec *deadline)
{
    if (fault_before_step != NULL)
        fault_before_step('L', HERE);
    FAIL_OR(sem_timedwait, -1);
    int rc = sem_timedwait(sem, deadline);
    if (fault_after_sem_wait != NULL)
        fault_after_sem_wait(rc);
    return rc;
}

/* The pthread calls return their error instead of setting errno. */
#define FAIL_WITH_CODE(fn)                                 \
    do {                                                   \
        int err_;                                          \
        if (fault_should_fail(FN_##fn, HERE, &err_))       \
            return err_;                                   \
    } while (0)

int lab_fault_pthread_mutexattr_init(pthread_mutexattr_t *a)
{
    FAIL_WITH_CODE(pthread_mutexattr_init);
    return pthread_mutexattr_init(a);
}

int lab_fault_pthread_mutexattr_setpshared(pthread_mutexattr_t *a, int shared)
{
    FAIL_WITH_CODE(pthread_mutexattr_setpshared);
    return pthread_mutexattr_setpshared(a, shared);
}

int lab_fault_pthread_mutexattr_setrobust(pthread_mutexattr_t *a, int robust)
{
    FAIL_WITH_CODE(pthread_mutexattr_setrobust);
    return pthread_mutexattr_setrobust(a, robust);
}

int lab_fault_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    if (fault_before_step != NULL)
        fault_before_step('I', HERE);
    FAIL_WITH_CODE(pthread_mutex_init);
    int shared = PTHREAD_PROCESS_PRIVATE;
    if (a != NULL)
        pthread_mutexattr_getpshared(a, &shared);
    if (shared != PTHREAD_PROCESS_SHARED)
        note_private_sync(m, "mutex", HERE);
    return pthread_mutex_init(m, a);
}

int lab_fault_pthread_condattr_init(pthread_condattr_t *a)
{
    FAIL_WITH_CODE(pthread_condattr_init);
    return pthread_condattr_init(a);
}

int lab_fault_pthread_condattr_setpshared(pthread_condattr_t *a, int shared)
{
    FAIL_WITH_CODE(pthread_condattr_setpshared);
    return pthread_condattr_setpshared(a, shared);
}

int lab_fault_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
    FAIL_WITH_CODE(pthread_cond_init);
    int shared = PTHREAD_PROCESS_PRIVATE;
    if (a != NULL)
        pthread_condattr_getpshared(a, &shared);
    if (shared != PTHREAD_PROCESS_SHARED)
        note_private_sync(c, "condition variable", HERE);
    return pthread_cond_init(c, a);
}

/*
 * A spurious wakeup, which POSIX allows at any time: the wait returns, with
 * the mutex held, though nobody signalled. It returns at once, so that what
 * the caller waits for is still not so: code that does not check again
 * (`if` where `while` is needed) goes on as if it were.
 */
static int wake_spuriously(pthread_mutex_t *m)
{
    (void)m;  /* held by the caller, and still held: it was never let go */
    return 0;
}

/*
 * In the tests, some waits begin 1 ms late, the mutex held, as when the
 * scheduler takes the CPU away between the check and the wait: code that
 * changes the condition or signals without the mutex loses its wakeup in
 * that moment, and its waiter sleeps for ever. Right code is only slower
 * (the other side waits for the mutex). The first 16 waits of each process,
 * then one in 32.
 */
static void wait_a_moment_first(void)
{
    static pid_t seeded_for;
    static uint64_t state;
    static int waits;
    if (fault_record == NULL)
        return;
    if (seeded_for != getpid()) {
        seeded_for = getpid();
        state = (uint64_t)seeded_for * 0x9e3779b97f4a7c15u + 1;
        waits = 0;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    if (waits++ < 16 || state % 32 == 0) {
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
}

int lab_fault_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    int err;
    if (fault_should_fail(FN_pthread_cond_wait, HERE, &err))
        return wake_spuriously(m);
    wait_a_moment_first();
    return pthread_cond_wait(c, m);
}

int lab_fault_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *t)
{
    int err;
    if (fault_should_fail(FN_pthread_cond_timedwait, HERE, &err))
        return wake_spuriously(m);
    return pthread_cond_timedwait(c, m, t);
}

int lab_fault_pipe(int fds[2])
{
    FAIL_OR(pipe, -1);
    return pipe(fds);
}

int lab_fault_socketpair(int domain, int type, int protocol, int fds[2])
{
    FAIL_OR(socketpair, -1);
    return socketpair(domain, type, protocol, fds);
}

int lab_fault_socket(int domain, int type, int protocol)
{
    FAIL_OR(socket, -1);
    return socket(domain, type, protocol);
}

int lab_fault_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    FAIL_OR(connect, -1);
    return connect(fd, addr, len);
}

int lab_fault_open(const char *path, int oflag, ...)
{
    mode_t mode = 0;
    if (oflag & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, oflag);
        mode = (mode_t)va_arg(ap, unsigned);
        va_end(ap);
    }
    FAIL_OR(open, -1);
    /* A segment made without shm_open, straight in /dev/shm, is a segment all the same. */
    const char *shm = path != NULL && strncmp(path, "/dev/shm/", 9) == 0 ? path + 9 : NULL;
    int existed = shm != NULL && (oflag & O_CREAT) && exists_in_shm("", shm);
    int fd = open(path, oflag, mode);
    if (fd != -1 && shm != NULL && strchr(shm, '/') == NULL) {
        note_created("", shm, oflag, existed, HERE);
        remember_fd(fd, shm - 1);  /* "/name", as shm_open would have been given it */
    }
    return fd;
}

ssize_t lab_fault_read(int fd, void *buf, size_t n)
{
    FAIL_OR(read, -1);
    return read(fd, buf, n);
}

ssize_t lab_fault_write(int fd, const void *buf, size_t n)
{
    FAIL_OR(write, -1);
    return write(fd, buf, n);
}

ssize_t lab_fault_recv(int fd, void *buf, size_t n, int flags)
{
    FAIL_OR(recv, -1);
    return recv(fd, buf, n, flags);
}

ssize_t lab_fault_send(int fd, const void *buf, size_t n, int flags)
{
    FAIL_OR(send, -1);
    return send(fd, buf, n, flags);
}

void *lab_fault_malloc(size_t n)
{
    FAIL_OR(malloc, NULL);
    return malloc(n);
}

void *lab_fault_calloc(size_t n, size_t size)
{
    FAIL_OR(calloc, NULL);
    return calloc(n, size);
}

void *lab_fault_realloc(void *p, size_t n)
{
    FAIL_OR(realloc, NULL);
    return realloc(p, n);
}

char *lab_fault_strdup(const char *s)
{
    FAIL_OR(strdup, NULL);
    return strdup(s);
}
