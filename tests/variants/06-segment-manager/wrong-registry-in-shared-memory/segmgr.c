/*
 * Wrong fix: the list of names moves to shared memory, under a
 * process-shared mutex, so segments made by workers are unlinked at
 * shutdown too. But nobody unlinks anything if the program never reaches
 * its shutdown: killed, interrupted or terminated, it leaks them all.
 */
#include "segmgr.h"
#include "errors.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAMES 256

struct segmgr {
    pthread_mutex_t lock;   /* process-shared */
    pid_t owner;
    size_t n;
    char names[MAX_NAMES][NAME_MAX + 1];
};

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
    pthread_mutex_init(&m->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    m->owner = getpid();
    return m;
}

int segmgr_create(struct segmgr *m, const char *name, size_t size, struct segment *s)
{
    if (name == NULL || name[0] != '/' || strchr(name + 1, '/') != NULL ||
        strlen(name) > NAME_MAX || size == 0 || size > SEGMGR_MAX_SIZE) {
        fprintf(stderr, "segmgr_create: bad name or size\n");
        return -1;
    }
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        return -1;
    }
    void *addr = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == 0)
        addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    pthread_mutex_lock(&m->lock);
    int full = m->n == MAX_NAMES;
    if (addr != MAP_FAILED && !full)
        snprintf(m->names[m->n++], NAME_MAX + 1, "%s", name);
    pthread_mutex_unlock(&m->lock);
    if (addr == MAP_FAILED || full) {
        fprintf(stderr, "segmgr_create(\"%s\"): failed\n", name);
        if (addr != MAP_FAILED)
            munmap(addr, size);
        shm_unlink(name);
        return -1;
    }
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
    for (size_t i = 0; i < m->n; i++)
        shm_unlink(m->names[i]);
    pthread_mutex_destroy(&m->lock);
    munmap(m, sizeof *m);
    return 0;
}
