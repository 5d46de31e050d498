/* Line-buffered, thread-safe logging: one write(2) per line so lines from threads never mix.
 * The log file is never opened through a symbolic link (it lives in the run directory). */
#include "kxen/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum klog_level log_level = KLOG_INFO;
static char log_ident[32] = "kxen";

static const char *const level_names[] = {"err", "warn", "info", "debug"};

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
    localtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s[%d] %s: ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (long)(tv.tv_usec / 1000), log_ident, (int)getpid(),
                     level_names[level]);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n';
    ssize_t r = write(log_fd, line, len);
    (void)r;
    errno = saved;
}
