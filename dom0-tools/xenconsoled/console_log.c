/* A guest's console log file (<rundir>/console/guest-NAME.log), bounded: a guest printing
 * without end must not fill the host's disk. Invariant: the file never grows past its limit
 * by more than one write; when it would, it becomes NAME.log.1 (replacing the older one) and
 * a new file starts, so the newest output is always in NAME.log and at most twice the limit
 * is kept. Files are opened without following symbolic links. A domain whose name already
 * has a log begins its part with a dated separator line (console_log_incarnation). */
#include "console_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kxen/util.h"

uint64_t console_log_limit(void)
{
    const char *s = getenv("KXEN_CONSOLE_LOG_MAX");
    if (s && *s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (*end == '\0' && v > 0)
            return v;
    }
    return CONSOLE_LOG_DEFAULT_MAX;
}

int console_log_open(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    return fd < 0 ? -errno : fd;
}

/* The current file moves to path.1 and a fresh one takes its place. On failure the old
 * file stays in use (output is kept, the bound is not). */
static void rotate(int *fd, const char *path)
{
    char old[PATH_MAX + 4];
    if (snprintf(old, sizeof(old), "%s.1", path) >= (int)sizeof(old) || rename(path, old) < 0)
        return;
    int nfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (nfd < 0)
        return;
    close(*fd);
    *fd = nfd;
}

int console_log_append(int *fd, const char *path, uint64_t max, const void *buf, size_t len)
{
    struct stat st;
    if (fstat(*fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size + len > max)
        rotate(fd, path);
    return kxen_write_full(*fd, buf, len);
}

/* The domain id the last separator in the file's tail names, its end offset in *end; -1 when
 * the tail holds none. */
static long last_mark(int fd, off_t size, off_t *end)
{
    enum { TAIL = 65536 };
    static char buf[TAIL + 1];
    off_t start = size > TAIL ? size - TAIL : 0;
    ssize_t n = pread(fd, buf, (size_t)(size - start), start);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    const char *found = NULL;
    for (const char *p = buf;
         (p = memmem(p, (size_t)(buf + n - p), CONSOLE_LOG_MARK, strlen(CONSOLE_LOG_MARK))); p++)
        if (p == buf || p[-1] == '\n')
            found = p;
    if (!found)
        return -1;
    const char *nl = memchr(found, '\n', (size_t)(buf + n - found));
    if (!nl)
        return -1;
    *end = start + (nl + 1 - buf);
    return strtol(found + strlen(CONSOLE_LOG_MARK), NULL, 10);
}

int64_t console_log_incarnation(int fd, unsigned domid, const char *name, double start_time)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size == 0)
        return 0; /* a new file: nothing to set apart */
    off_t end = 0;
    long mark = last_mark(fd, st.st_size, &end);
    if (mark == (long)domid)
        return end;
    /* No separator at all: the file is this domain's own when it was written after the
     * domain was created (a restarted xenconsoled attaching a first incarnation again);
     * older text is a previous domain's. */
    double mtime = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
    if (mark < 0 && mtime >= start_time)
        return 0;
    char last = '\n', line[256];
    if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
        last = '\n';
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int n = snprintf(line, sizeof(line), "%s%s%u (%s) from %04d-%02d-%02dT%02d:%02d:%02dZ ===\n",
                     last == '\n' ? "" : "\n", CONSOLE_LOG_MARK, domid, name, tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    int rc = kxen_write_full(fd, line, (size_t)n);
    if (rc < 0)
        return rc;
    return fstat(fd, &st) < 0 ? -errno : st.st_size;
}
