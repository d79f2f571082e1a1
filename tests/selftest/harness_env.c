/*
 * harness_env.c - a tiny suite for make test's checks of what the harness
 * reads from its environment (LAB_LIST, LAB_PROGRESS, LAB_STDERR_DIR), and
 * of a suite stopped at its deadline (the fifth test hangs, asked to).
 *
 * Each test that speaks on stderr says which test it is, so that a check can
 * tell whether a line landed in the file of the test that printed it. One
 * test's name has capital letters: the list must give names as written.
 */
#include "lab.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(first_speaks)
{
    fprintf(stderr, "said by test 1\n");
}
END_TEST

START_TEST(Second_Speaks_Then_Fails)
{
    fprintf(stderr, "said by test 2\n");
    lab_fail("failed on purpose, after speaking");
}
END_TEST

START_TEST(third_says_nothing)
{
}
END_TEST

/* A child of the test writes through the stderr it inherited: the test's file. */
START_TEST(fourth_speaks_through_a_child)
{
    pid_t pid = fork();
    if (pid == 0) {
        fprintf(stderr, "said by test 4's child\n");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}
END_TEST

/* With LAB_ENV_HANG set, waits for ever: a suite stopped in the middle of it. */
START_TEST(fifth_hangs_when_asked)
{
    while (getenv("LAB_ENV_HANG") != NULL)
        pause();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("harness-env");
    lab_add(s, first_speaks);
    lab_add(s, Second_Speaks_Then_Fails);
    lab_add(s, third_says_nothing);
    lab_add(s, fourth_speaks_through_a_child);
    lab_add(s, fifth_hangs_when_asked);
    return lab_main(s);
}
