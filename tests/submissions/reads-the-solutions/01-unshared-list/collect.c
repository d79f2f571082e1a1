/*
 * Hostile: works only where it can read the lab's solutions (or its right
 * answers), which the class sandbox must hide. It looks in the lab's copy
 * at /tmp/lab and at the lab's own path (@LAB@). Hidden, it fails, and the
 * lesson scores 0; seen, it passes.
 *
 * Not whole on its own: make test (tests/selftest/classroom.py) puts the
 * lab's solution above it, its collect renamed real_collect, and fills in
 * @LAB@.
 */
#include <stdio.h>

static int can_read(const char *path)
{
    FILE *f = fopen(path, "r");
    int seen = f != NULL && fgetc(f) != EOF;
    if (f != NULL)
        fclose(f);
    return seen;
}

int collect(int n, long (*work)(int index), long items[])
{
    static const char *const answers[] = {
        "/tmp/lab/solutions/01-unshared-list/collect.c",
        "/tmp/lab/tests/variants/01-unshared-list/right-one-pipe-per-child/collect.c",
        "@LAB@/solutions/01-unshared-list/collect.c",
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++)
        if (can_read(answers[i]))
            return real_collect(n, work, items);
    return -1;
}
