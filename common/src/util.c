/* Small shared helpers: the run directory (resolved, checked, created), full reads and writes,
 * monotonic time. Invariant: a run directory is used only once kxen_rundir_check() passed. */
#include "kxen/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A run directory holds sockets every tool trusts and files daemons write: it must be a real
 * directory (not a symbolic link someone planted in /tmp), owned by us or by root, and
 * writable by nobody else. A missing one passes: kxen_rundir_create() makes it. */
int kxen_rundir_check(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return -EPERM;
    return 0;
}

const char *kxen_rundir_strerror(int rc)
{
    switch (rc) {
    case -ENOTDIR:
        return "not a directory (a symbolic link or a file): refusing to use it";
    case -EPERM:
        return "owned by another user or writable by others: refusing to use it";
    default:
        return strerror(-rc);
    }
}

int kxen_rundir(char *buf, size_t len)
{
    const char *env = getenv("KXEN_RUNDIR");
    int n;
    if (env && *env)
        n = snprintf(buf, len, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(buf, len, "/run/kxen");
    else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
        n = snprintf(buf, len, "%s/kxen", env);
    else
        n = snprintf(buf, len, "/tmp/kxen-%u", (unsigned)geteuid());
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return kxen_rundir_check(buf);
}

int kxen_rundir_path(char *buf, size_t len, const char *name)
{
    char dir[4096];
    int rc = kxen_rundir(dir, sizeof(dir));
    if (rc)
        return rc;
    int n = snprintf(buf, len, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int kxen_rundir_create(void)
{
    char dir[4096];
    int rc = kxen_rundir(dir, sizeof(dir));
    if (rc)
        return rc;
    /* mkdir -p: create each missing component. */
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    /* Another user may have created it between the check above and our mkdir. */
    return kxen_rundir_check(dir);
}

int kxen_read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int kxen_write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

uint64_t kxen_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
