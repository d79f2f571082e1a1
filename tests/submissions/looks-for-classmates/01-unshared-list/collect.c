/*
 * Hostile: looks everywhere a sandbox could leak for what it must not see,
 * and works only if it finds nothing. It walks the whole file system it is
 * shown (not /proc, /sys or /dev but /dev/shm) for a classmate's collect.c
 * (anywhere but its own submission and the lab's starter), the lab's
 * answers (solutions/, tests/variants/, tests/submissions/, .git, the lesson
 * texts) and the secrets make test leaves in the grader's /tmp, /dev/shm
 * and class (names holding "shmlab-secret"); and it looks at the root and
 * the working directory of every process it can see (another sandbox's?),
 * and at every descriptor it was started with (one of the grader's?).
 * Whatever it finds goes to stderr, and the lesson scores 0.
 *
 * Not whole on its own: make test (tests/selftest/classroom.py) puts the
 * lab's solution above it, its collect renamed real_collect.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int seen;

static void saw(const char *what, const char *path)
{
    fprintf(stderr, "looks-for-classmates: %s: %s\n", what, path);
    seen = 1;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void look_at(const char *path, const char *name)
{
    if (strstr(name, "shmlab-secret") != NULL)
        saw("a secret of the grader's", path);
    else if (strcmp(name, "collect.c") == 0 && !starts(path, "/tmp/grading/") &&
             !starts(path, "/tmp/lab/starter/"))
        saw("someone else's collect.c", path);
    else if (starts(path, "/tmp/lab/") &&
             (strcmp(name, "solutions") == 0 || strcmp(name, "variants") == 0 ||
              strcmp(name, "submissions") == 0 || strcmp(name, ".git") == 0 ||
              (strlen(name) > 3 && strcmp(name + strlen(name) - 3, ".md") == 0)))
        saw("the lab's answers", path);
}

/* Every name under DIR, links not followed, until something is seen. */
static void walk(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while (!seen && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
                     e->d_name) >= (int)sizeof path)
            continue;
        look_at(path, e->d_name);
        struct stat st;
        if (!seen && lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
            strcmp(path, "/proc") != 0 && strcmp(path, "/sys") != 0 &&
            (strcmp(path, "/dev") != 0))
            walk(path);
    }
    closedir(d);
}

/* Another sandbox's root or a directory outside the sandbox, through /proc. */
static void look_at_processes(void)
{
    struct stat root, theirs;
    DIR *proc = opendir("/proc");
    if (proc == NULL || stat("/", &root) == -1) {
        if (proc != NULL)
            closedir(proc);
        return;
    }
    struct dirent *e;
    while ((e = readdir(proc)) != NULL && !seen) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[PATH_MAX], cwd[PATH_MAX];
        snprintf(path, sizeof path, "/proc/%s/root/", e->d_name);
        if (stat(path, &theirs) == 0 &&
            (theirs.st_dev != root.st_dev || theirs.st_ino != root.st_ino))
            saw("another root", path);
        snprintf(path, sizeof path, "/proc/%s/cwd", e->d_name);
        ssize_t n = readlink(path, cwd, sizeof cwd - 1);
        if (n > 0) {
            cwd[n] = '\0';
            if (!starts(cwd, "/tmp"))
                saw("a process working outside the sandbox", cwd);
        }
    }
    closedir(proc);
}

/* A descriptor of a file outside the sandbox, left open by whoever started it. */
static void look_at_descriptors(void)
{
    for (int fd = 3; fd < 1024 && !seen; fd++) {
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (target[0] == '/' && !starts(target, "/tmp/") && !starts(target, "/dev/") &&
            !starts(target, "/proc/") && !starts(target, "/memfd:"))
            saw("a file left open", target);
    }
}

/* What it found, looked for once a sandbox (kept beside the results file). */
static int found_anything(void)
{
    const char *results = getenv("LAB_RESULTS");
    char memo[PATH_MAX] = "";
    if (results != NULL && strrchr(results, '/') != NULL)
        snprintf(memo, sizeof memo, "%.*s/looked", (int)(strrchr(results, '/') - results),
                 results);
    FILE *f = memo[0] ? fopen(memo, "r") : NULL;
    if (f != NULL) {
        int c = fgetc(f);
        fclose(f);
        return c == '1';
    }
    look_at_descriptors();
    if (!seen)
        look_at_processes();
    if (!seen)
        walk("/dev/shm");
    if (!seen)
        walk("/");
    if (memo[0] && (f = fopen(memo, "w")) != NULL) {
        fputc(seen ? '1' : '0', f);
        fclose(f);
    }
    return seen;
}

int collect(int n, long (*work)(int index), long items[])
{
    if (found_anything())
        return -1;
    return real_collect(n, work, items);
}
