/*
 * main.c - lesson 03 demo: a writer process sends N messages (0, 1, ...
 * N-1, then -1 to end) to a reader process. What does the reader get, and
 * what does the waiting cost it?
 *
 * Usage: demo [messages]    (default 1000)
 */
#include "channel.h"
#include "errors.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define GIVE_UP_SECONDS 3

static void gave_up(int sig)
{
    (void)sig;
    static const char msg[] = "reader: no new message for 3 s; giving up (did the loop that "
                              "waits ever read the shared value again?)\n";
    ssize_t ignored = write(STDOUT_FILENO, msg, sizeof msg - 1);  /* nothing to do if it fails */
    (void)ignored;
    _exit(EXIT_FAILURE);
}

static void writer(struct channel *ch, int n)
{
    struct message m;
    for (int v = 0; v <= n; v++) {
        m.value = v < n ? v : CHANNEL_END;
        for (int i = 0; i < CHANNEL_ITEMS; i++)
            m.array[i] = m.value;
        if (channel_publish(ch, &m) == -1)
            _exit(EXIT_FAILURE);
    }
    _exit(EXIT_SUCCESS);
}

static void reader(struct channel *ch, int n)
{
    int arrived = 0, in_order = 1, torn = 0, expected = 0;
    struct message m;
    signal(SIGALRM, gave_up);
    for (;;) {
        alarm(GIVE_UP_SECONDS);
        if (channel_receive(ch, &m) == -1)
            _exit(EXIT_FAILURE);
        for (int i = 0; i < CHANNEL_ITEMS; i++)
            if (m.array[i] != m.value) {
                torn++;
                break;
            }
        if (m.value == CHANNEL_END)
            break;
        arrived++;
        in_order &= m.value == expected++;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("reader: %d of %d messages arrived%s; %d torn (a mix of two messages); "
           "CPU used: %ld ms\n", arrived, n, in_order ? ", in order" : ", NOT in order", torn,
           ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
               ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000);
    fflush(stdout);  /* _exit does not flush stdio */
    _exit(arrived == n && in_order && torn == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

int main(int argc, char *argv[])
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    if (n < 1) {
        fprintf(stderr, "usage: %s [messages]\n", argv[0]);
        return EXIT_FAILURE;
    }
    struct channel *ch = channel_create();
    if (ch == NULL)
        return EXIT_FAILURE;
    fflush(stdout);
    pid_t r = fork();
    if (r == -1)
        die_errno("fork (reader)");
    if (r == 0)
        reader(ch, n);
    pid_t w = fork();
    if (w == -1)
        die_errno("fork (writer)");
    if (w == 0)
        writer(ch, n);

    int rs, ws;
    if (waitpid(w, &ws, 0) == -1 || waitpid(r, &rs, 0) == -1)
        die_errno("waitpid");
    channel_destroy(ch);
    return WIFEXITED(rs) && WEXITSTATUS(rs) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
