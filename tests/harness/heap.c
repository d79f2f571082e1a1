/*
 * heap.c - counts the blocks of heap memory in use, for the harness's
 * check that an error path frees what it allocated (lab.c).
 *
 * Every object of a test program is linked with --wrap=malloc (and free,
 * calloc, realloc, strdup, strndup): their calls come here, are counted,
 * and go on to the C library. Only the program's own calls are counted,
 * not the C library's inside itself. A count of blocks, not bytes: the
 * allocator's caches of freed blocks do not move it.
 */
#include <stddef.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
long lab_heap_blocks(void);

static long blocks;  /* this process's: fork copies it, as it copies the heap */

long lab_heap_blocks(void)
{
    return blocks;
}

static void *counted(void *p)
{
    if (p != NULL)
        blocks++;
    return p;
}

void *__wrap_malloc(size_t n) { return counted(__real_malloc(n)); }
void *__wrap_calloc(size_t n, size_t size) { return counted(__real_calloc(n, size)); }
char *__wrap_strdup(const char *s) { return counted(__real_strdup(s)); }
char *__wrap_strndup(const char *s, size_t n) { return counted(__real_strndup(s, n)); }

void *__wrap_realloc(void *p, size_t n)
{
    void *q = __real_realloc(p, n);
    if (p == NULL && q != NULL)
        blocks++;        /* as malloc */
    return q;            /* else the block moved or grew: still one (realloc(p, 0) aside) */
}

void __wrap_free(void *p)
{
    if (p != NULL)
        blocks--;
    __real_free(p);
}
