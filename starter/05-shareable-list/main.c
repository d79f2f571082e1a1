/*
 * main.c - lesson 05 demo: Python's ShareableList example, in C. One
 * process makes a list of five items (a string, an int, a double, a bool
 * and none); another program, started with exec and knowing only the
 * name, attaches, prints every item, and writes a new string and a new
 * int; the creator prints the list again, detaches and unlinks it.
 *
 * Usage: demo              (the creator)
 *        demo read NAME    (the other program; the creator runs it)
 */
#include "slist.h"
#include "errors.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void print_list(const char *who, const struct slist *l)
{
    for (size_t i = 0; i < l->len; i++) {
        struct slist_item it;
        if (slist_get(l, i, &it) == -1)
            continue;
        printf("%s: [%zu] ", who, i);
        switch (it.kind) {
        case SLIST_NONE: printf("none\n"); break;
        case SLIST_INT: printf("int %" PRId64 "\n", it.i); break;
        case SLIST_DOUBLE: printf("double %g\n", it.d); break;
        case SLIST_BOOL: printf("bool %s\n", it.b ? "true" : "false"); break;
        case SLIST_STRING:
            printf("string of %zu bytes at %p: ", it.len, (void *)it.s);
            fflush(stdout);  /* what was printed stays printed if the next line crashes */
            printf("\"%.*s\"\n", (int)it.len, it.s);
            break;
        }
        fflush(stdout);
    }
}

static int reader(const char *name)
{
    struct slist l;
    if (slist_attach(&l, name) == -1)
        return EXIT_FAILURE;
    print_list("reader", &l);
    static const char news[] = "hello from the other program";
    struct slist_item s = {.kind = SLIST_STRING, .s = news, .len = sizeof news - 1};
    struct slist_item n = {.kind = SLIST_INT, .i = 43};
    if (slist_set(&l, 0, &s) == -1 || slist_set(&l, 1, &n) == -1)
        return EXIT_FAILURE;
    return slist_detach(&l) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char *argv[])
{
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return reader(argv[2]);

    char name[64], greeting[32];
    snprintf(name, sizeof name, "/shmlab-demo-%d", (int)getpid());
    snprintf(greeting, sizeof greeting, "howdy from %d", (int)getpid());
    struct slist_item items[] = {
        {.kind = SLIST_STRING, .s = greeting, .len = strlen(greeting), .capacity = 32},
        {.kind = SLIST_INT, .i = 42},
        {.kind = SLIST_DOUBLE, .d = 3.5},
        {.kind = SLIST_BOOL, .b = true},
        {.kind = SLIST_NONE},
    };
    struct slist l;
    if (slist_create(&l, name, items, sizeof items / sizeof items[0]) == -1)
        return EXIT_FAILURE;
    print_list("creator", &l);

    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0) {
        /* This program's own file, by its real path (which valgrind, too, can run). */
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n == -1)
            die_errno("readlink(\"/proc/self/exe\")");
        self[n] = '\0';
        execl(self, argv[0], "read", name, (char *)NULL);
        die_errno("execl(\"%s\")", self);
    }
    int status;
    if (waitpid(pid, &status, 0) == -1)
        die_errno("waitpid");
    if (WIFSIGNALED(status))
        printf("creator: the reader was killed by signal %d (%s)\n", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    print_list("creator", &l);
    slist_detach(&l);
    slist_unlink(name);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
