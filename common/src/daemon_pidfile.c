/* The daemon skeleton's pid files: the instance lock <dir>/<name>.pid and an optional -F copy.
 *
 * Invariant: a file is opened with O_NOFOLLOW (a symlink planted in the run directory cannot
 * redirect the write), flock'ed before anything is written to it, and unlinked only by the
 * process whose pid it holds, before that process lets go of the lock. flock belongs to the
 * open file description, so a daemonized child keeps the lock its parent took. */
#include "kxen/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_priv.h"

/* The pid a live holder wrote, for the refusal message; 0 when unreadable. */
static long pid_in(int fd)
{
    char buf[24];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

/* Opens and locks path. A holder that unlinks the file (its clean exit) between our open()
 * and our flock() would leave us locking a file nobody else can find: compare the locked
 * inode with the one the path names now, and start again when they differ. */
static int lock_one(struct kxen_daemon *d, const char *path, int *out_fd)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
        if (fd < 0) {
            int e = errno;
            snprintf(d->msg, sizeof(d->msg), "%s: %s", path,
                     e == ELOOP ? "is a symbolic link: refusing to use it as a pid file"
                                : strerror(e));
            return -e;
        }
        struct stat locked, named;
        if (fstat(fd, &locked) < 0 || !S_ISREG(locked.st_mode)) {
            close(fd);
            snprintf(d->msg, sizeof(d->msg), "%s: not a regular file: refusing it as a pid file",
                     path);
            return -EINVAL;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            long pid = e == EWOULDBLOCK ? pid_in(fd) : 0;
            close(fd);
            if (e != EWOULDBLOCK) {
                snprintf(d->msg, sizeof(d->msg), "%s: cannot lock: %s", path, strerror(e));
                return -e;
            }
            if (pid > 0)
                snprintf(d->msg, sizeof(d->msg),
                         "%s: another %s already runs in this run directory (pid %ld)", path,
                         d->name, pid);
            else
                snprintf(d->msg, sizeof(d->msg),
                         "%s: another %s already runs in this run directory", path, d->name);
            return -EEXIST;
        }
        if (stat(path, &named) == 0 && named.st_dev == locked.st_dev &&
            named.st_ino == locked.st_ino) {
            /* A dead instance's pid must not be read as ours before we write it. */
            if (ftruncate(fd, 0) < 0) {
                int e = errno;
                close(fd);
                snprintf(d->msg, sizeof(d->msg), "%s: %s", path, strerror(e));
                return -e;
            }
            *out_fd = fd;
            return 0;
        }
        close(fd);
    }
    snprintf(d->msg, sizeof(d->msg), "%s: the pid file keeps being replaced", path);
    return -EAGAIN;
}

int kxen_daemon_lock(struct kxen_daemon *d, const char *dir, const char *pid_file)
{
    if (snprintf(d->lock_path, sizeof(d->lock_path), "%s/%s.pid", dir, d->name) >=
            (int)sizeof(d->lock_path) ||
        (pid_file &&
         snprintf(d->pid_path, sizeof(d->pid_path), "%s", pid_file) >= (int)sizeof(d->pid_path))) {
        snprintf(d->msg, sizeof(d->msg), "pid file path too long");
        d->lock_path[0] = d->pid_path[0] = '\0';
        return -ENAMETOOLONG;
    }
    int rc = lock_one(d, d->lock_path, &d->lock_fd);
    if (rc < 0) {
        d->lock_path[0] = d->pid_path[0] = '\0';
        return rc;
    }
    /* -F naming the lock file itself (as kxen-services does) is the common case: one file. */
    struct stat a, b;
    if (!pid_file || (stat(pid_file, &b) == 0 && fstat(d->lock_fd, &a) == 0 &&
                      a.st_dev == b.st_dev && a.st_ino == b.st_ino)) {
        d->pid_path[0] = '\0';
        return 0;
    }
    rc = lock_one(d, d->pid_path, &d->pid_fd);
    if (rc < 0) {
        /* Ours since the lock above and still empty: nobody else's file to keep. */
        unlink(d->lock_path);
        close(d->lock_fd);
        d->lock_fd = -1;
        d->lock_path[0] = d->pid_path[0] = '\0';
    }
    return rc;
}

static int write_pid_fd(int fd, pid_t pid)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
    if (ftruncate(fd, 0) < 0)
        return -errno;
    if (pwrite(fd, buf, (size_t)n, 0) != n)
        return errno ? -errno : -EIO;
    return 0;
}

int kxen_daemon_write_pid(struct kxen_daemon *d)
{
    pid_t me = getpid();
    int rc = 0;
    if (d->lock_fd >= 0 && (rc = write_pid_fd(d->lock_fd, me)) < 0) {
        snprintf(d->msg, sizeof(d->msg), "cannot write pid file %s: %s", d->lock_path,
                 strerror(-rc));
        return rc;
    }
    d->owner = me;
    if (d->pid_fd >= 0 && (rc = write_pid_fd(d->pid_fd, me)) < 0) {
        snprintf(d->msg, sizeof(d->msg), "cannot write pid file %s: %s", d->pid_path,
                 strerror(-rc));
        return rc;
    }
    return 0;
}

/* Called by kxen_daemon_cleanup(): unlink first, unlock after, so that a successor never
 * sees our file unlocked (lock_one() checks it locked the file the path names). */
void kxen_daemon_pidfiles_release(struct kxen_daemon *d)
{
    bool owner = d->owner != 0 && d->owner == getpid();
    if (owner && d->pid_fd >= 0 && d->pid_path[0])
        unlink(d->pid_path);
    if (owner && d->lock_fd >= 0 && d->lock_path[0])
        unlink(d->lock_path);
    if (d->pid_fd >= 0)
        close(d->pid_fd);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    d->pid_fd = d->lock_fd = -1;
}
