/*
 * collect.c - lesson 01, the unshared list. This is the file you edit.
 *
 * Each child appends its item to a list; after the children are started,
 * the parent copies the list out. Run `make run LESSON=01` and look at what
 * the parent finds.
 */
#include "collect.h"
#include "errors.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static long list[COLLECT_MAX];  /* the list the children append to */
static int length;

int collect(int n, long (*work)(int index), long items[])
{
    if (n < 0 || n > COLLECT_MAX)
        return -1;

    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == -1) {
            warn_errno("fork");
            return -1;
        }
        if (pid == 0) {
            list[length++] = work(i);
            _exit(EXIT_SUCCESS);
        }
    }

    wait(NULL);  /* let the children finish */

    for (int i = 0; i < length; i++)
        items[i] = list[i];
    return 0;
}
