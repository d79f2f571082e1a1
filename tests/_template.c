/*
 * Lesson NN, <title>: the tests.
 *
 * Say what the tests look for and why each check cannot pass by luck. For
 * a race, say how it is made reliable and write the measured rates here:
 * `make stress LESSON=NN RUNS=200` (starter caught k/200, solution passed
 * k/200, seconds per run).
 *
 * Each failure message says what was observed and what it means in the
 * lesson's terms, never a bare assertion.
 */
#include "lab.h"
#include "thing.h"

START_TEST(the_thing_is_done)
{
    int rc = thing_do(3);
    if (rc != 0)
        lab_fail("thing_do(3) returned %d, not 0: what that means in the lesson's terms", rc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("NN-slug");
    lab_add(s, the_thing_is_done);
    return lab_main(s);
}
