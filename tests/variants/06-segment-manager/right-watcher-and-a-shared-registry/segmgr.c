/*
 * A correct alternative: the list of names in shared memory, under a
 * robust process-shared mutex (a worker killed while holding it does not
 * block the others), and a watcher process that leaves the program's
 * process group (so a Ctrl-C does not reach it) and waits on a pipe: at
 * "!" (shutdown) or end-of-file (every process of the program has ended),
 * it unlinks every name in the list. The name is listed before the segment
 * is made, and taken off again if it cannot be made.
 */
#include "segmgr.h"
#include "errors.h"

#include <fcntl.h>
#include <limits.h>
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAMES 256

struct segmgr {
    pthread_mutex_t lock;   /* process-shared */
    pid_t owner;
    pid_t watcher;
    int fd;                 /* the pipe's write end */
    size_t n;
    char names[MAX_NAMES][NAME_MAX + 1];
};

static void lock(struct segmgr *m)
{
    if (pthread_mutex_lock(&m->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&m->lock);
}

static void watch(struct segmgr *m, int in)
{
    setpgid(0, 0);
    char c;
    while (read(in, &c, 1) == 1 && c != '!')
        ;
    lock(m);
    for (size_t i = 0; i < m->n; i++)
        shm_unlink(m->names[i]);
    m->n = 0;
    pthread_mutex_unlock(&m->lock);
    _exit(0);
}

struct segmgr *segmgr_start(void)
{
    struct segmgr *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        warn_errno("segmgr_start: mmap");
        return NULL;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&m->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    m->owner = getpid();
    int ends[2];
    if (pipe(ends) == -1) {
        warn_errno("segmgr_start: pipe");
        munmap(m, sizeof *m);
        return NULL;
    }
    pid_t pid = fork();  /* not into m->watcher: the child would write 0 there, in shared memory */
    if (pid == -1) {
        warn_errno("segmgr_start: fork");
        close(ends[0]);
        close(ends[1]);
        munmap(m, sizeof *m);
        return NULL;
    }
    if (pid == 0) {
        close(ends[1]);
        watch(m, ends[0]);
    }
    close(ends[0]);
    m->watcher = pid;
    m->fd = ends[1];
    return m;
}

int segmgr_create(struct segmgr *m, const char *name, size_t size, struct segment *s)
{
    if (name == NULL || name[0] != '/' || strchr(name + 1, '/') != NULL ||
        strlen(name) > NAME_MAX || size == 0 || size > SEGMGR_MAX_SIZE) {
        fprintf(stderr, "segmgr_create: bad name or size\n");
        return -1;
    }
    lock(m);
    int full = m->n == MAX_NAMES;
    size_t slot = m->n;
    if (!full)
        snprintf(m->names[m->n++], NAME_MAX + 1, "%s", name);
    pthread_mutex_unlock(&m->lock);
    if (full) {
        fprintf(stderr, "segmgr_create(\"%s\"): too many segments\n", name);
        return -1;
    }
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    void *addr = MAP_FAILED;
    if (fd != -1 && ftruncate(fd, (off_t)size) == 0)
        addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        warn_errno("making \"%s\"", name);
        if (fd != -1) {
            close(fd);
            shm_unlink(name);
        }
        lock(m);  /* take the name off the list: it is not ours */
        for (size_t i = slot; i < m->n; i++)
            if (strcmp(m->names[i], name) == 0) {
                memcpy(m->names[i], m->names[--m->n], NAME_MAX + 1);
                break;
            }
        pthread_mutex_unlock(&m->lock);
        return -1;
    }
    close(fd);
    s->addr = addr;
    s->size = size;
    return 0;
}

int segmgr_attach(struct segmgr *m, const char *name, struct segment *s)
{
    (void)m;
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        return -1;
    }
    struct stat st;
    void *addr = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        addr = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (addr == MAP_FAILED) {
        fprintf(stderr, "segmgr_attach(\"%s\"): failed\n", name);
        return -1;
    }
    s->addr = addr;
    s->size = (size_t)st.st_size;
    return 0;
}

int segmgr_detach(struct segment *s)
{
    if (munmap(s->addr, s->size) == -1) {
        warn_errno("munmap");
        return -1;
    }
    return 0;
}

int segmgr_shutdown(struct segmgr *m)
{
    if (getpid() != m->owner) {
        fprintf(stderr, "segmgr_shutdown: not the owner\n");
        return -1;
    }
    int rc = 0;
    if (write(m->fd, "!", 1) != 1)
        rc = -1;
    close(m->fd);
    if (waitpid(m->watcher, NULL, 0) == -1)
        rc = -1;
    pthread_mutex_destroy(&m->lock);
    munmap(m, sizeof *m);
    return rc;
}
