/*
 * errors.h - the lab's one error helper, shared by every lesson.
 *
 * After the error functions of The Linux Programming Interface: a failed
 * call is reported on one line that names the call and the object it was
 * about, then the reason, e.g.
 *     shm_open("/shmlab-counter"): Permission denied
 *
 * Library code (the files you edit) reports and returns an error to its
 * caller; only a program's main() may die.
 */
#ifndef ERRORS_H
#define ERRORS_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints "<what>: <reason>" for the error number err. */
static inline void warn_err(int err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* In one write: the lines of processes failing at once must not mix. */
    fprintf(stderr, "%s: %s\n", what, strerror(err));
}

/* For calls that set errno and return -1 (most system calls). */
#define warn_errno(...) warn_err(errno, __VA_ARGS__)

/* For main() only: report and exit. */
#define die_errno(...) (warn_errno(__VA_ARGS__), exit(EXIT_FAILURE))

#endif
