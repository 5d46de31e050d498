/* Bounded console log files (console_log.c). */
#ifndef XENCONSOLED_CONSOLE_LOG_H
#define XENCONSOLED_CONSOLE_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Per guest: NAME.log up to this size, then NAME.log.1 holds the previous one. */
#define CONSOLE_LOG_DEFAULT_MAX (16ull << 20)

/* $KXEN_CONSOLE_LOG_MAX (bytes) when set, else CONSOLE_LOG_DEFAULT_MAX. */
uint64_t console_log_limit(void);
/* Opens (creates) path for appending, never through a symbolic link: fd or -errno. */
int console_log_open(const char *path);
/* Appends buf, first rotating the file (*fd replaced) when it would pass max bytes.
 * Returns 0 or -errno. */
int console_log_append(int *fd, const char *path, uint64_t max, const void *buf, size_t len);

#endif
