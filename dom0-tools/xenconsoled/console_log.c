/* A guest's console log file (<rundir>/console/guest-NAME.log), bounded: a guest printing
 * without end must not fill the host's disk. Invariant: the file never grows past its limit
 * by more than one write; when it would, it becomes NAME.log.1 (replacing the older one) and
 * a new file starts, so the newest output is always in NAME.log and at most twice the limit
 * is kept. Files are opened without following symbolic links. */
#include "console_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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
