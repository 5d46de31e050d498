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
/* Each incarnation of a domain name starts its part of the log with a dated separator line,
 *   "=== kxen: console of domain ID (NAME) from 2026-12-04T23:14:18Z ===",
 * so that a new domain with the same name never continues the previous one's output
 * unmarked. Returns the offset just after this incarnation's separator: the one written now,
 * or, when the last separator in the file already names domid (a restarted xenconsoled
 * attaching a domain it logged before), that one. -errno on failure. */
#define CONSOLE_LOG_MARK "=== kxen: console of domain "
int64_t console_log_incarnation(int fd, unsigned domid, const char *name);
/* Appends buf, first rotating the file (*fd replaced) when it would pass max bytes.
 * Returns 0 or -errno. */
int console_log_append(int *fd, const char *path, uint64_t max, const void *buf, size_t len);

#endif
