/* Line-buffered, thread-safe logging: one write(2) per line so lines from threads never mix.
 * The log file is never opened through a symbolic link. Lines start with the time in ISO 8601
 * UTC, so that logs of several daemons and days merge and sort. A log that is a regular file
 * (the --log-file, or the file a starter redirected stderr to) is bounded: past its limit it
 * becomes FILE.1 (replacing the older one) and a new FILE starts, so at most twice the limit
 * is kept. The log locations are one rule (kxen_log_dir, docs/paths.md). */
#include "kxen/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum klog_level log_level = KLOG_INFO;
static char log_ident[32] = "kxen";

static const char *const level_names[] = {"err", "warn", "info", "debug"};
static pthread_mutex_t rotate_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t klog_limit(void)
{
    const char *s = getenv("KXEN_LOG_MAX");
    if (s && *s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (*end == '\0' && v > 0)
            return v;
    }
    return KLOG_DEFAULT_MAX;
}

/* Moves the log file to FILE.1 and puts a new FILE in place of log_fd (and of stdout and
 * stderr when they are the same file, so stray output follows). Found through /proc: the
 * file may be a redirection the daemon never named. Best effort: on failure the old file
 * stays in use. */
static void rotate(uint64_t max)
{
    pthread_mutex_lock(&rotate_lock);
    struct stat st, other;
    char link[64], path[PATH_MAX], old[PATH_MAX + 2];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", log_fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (fstat(log_fd, &st) < 0 || (uint64_t)st.st_size < max || n <= 0)
        goto out;
    path[n] = '\0';
    if (path[0] != '/' || snprintf(old, sizeof(old), "%s.1", path) >= (int)sizeof(old) ||
        rename(path, old) < 0)
        goto out;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        goto out;
    for (int std = 1; std <= 2; std++)
        if (std != log_fd && fstat(std, &other) == 0 && other.st_dev == st.st_dev &&
            other.st_ino == st.st_ino)
            dup2(fd, std);
    if (log_fd > 2) {
        dup3(fd, log_fd, O_CLOEXEC);
        close(fd);
    } else {
        dup2(fd, log_fd);
        close(fd);
    }
out:
    pthread_mutex_unlock(&rotate_lock);
}

int kxen_log_dir(const char *rundir, char *out, size_t len)
{
    const char *env = getenv("KXEN_LOG_DIR");
    const char *dir = env && *env                               ? env
                      : getenv("KXEN_RUNDIR") || geteuid() != 0 ? rundir
                                                                : KXEN_ROOT_LOG_DIR;
    int n = snprintf(out, len, "%s", dir);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int kxen_dump_dir(const char *rundir, char *out, size_t len)
{
    const char *env = getenv("KXEN_DUMP_DIR");
    int n = env && *env ? snprintf(out, len, "%s", env)
            : getenv("KXEN_RUNDIR") || geteuid() != 0
                ? snprintf(out, len, "%s/dump", rundir)
                : snprintf(out, len, "%s", KXEN_ROOT_DUMP_DIR);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int klog_init(const char *ident, enum klog_level level, const char *path)
{
    if (ident)
        snprintf(log_ident, sizeof(log_ident), "%s", ident);
    log_level = level;
    if (!path)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -errno;
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void klog_set_level(enum klog_level level)
{
    log_level = level;
}
enum klog_level klog_get_level(void)
{
    return log_level;
}

int klog_parse_level(const char *name)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    return -EINVAL;
}

void klog_close(void)
{
    if (log_fd > 2)
        close(log_fd);
    log_fd = 2;
}

void klog(enum klog_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vklog(level, fmt, ap);
    va_end(ap);
}

void vklog(enum klog_level level, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    int saved = errno;
    char line[1024];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), log_ident, (int)getpid(), level_names[level]);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n';
    struct stat st;
    uint64_t max = klog_limit();
    if (fstat(log_fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size + len > max)
        rotate(max);
    ssize_t r = write(log_fd, line, len);
    (void)r;
    errno = saved;
}
