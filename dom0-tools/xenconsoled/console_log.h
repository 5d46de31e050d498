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
/* A new domain whose name already has a log (a previous domain's output) starts its part with
 * a dated separator line,
 *   "=== kxen: console of domain ID (NAME) from 2026-12-04T23:14:18Z ===",
 * so that it never continues the previous one's output unmarked; the first domain of a name
 * starts a new file without one. Returns the offset where this domain's part begins: 0 for
 * a new file, just after the separator written now, or, for a restarted xenconsoled
 * attaching the domain again, just after its own separator (the last one in the file names
 * domid), or 0 when the file has none and was written after start_time (the domain's
 * creation, seconds since the epoch; 0 when unknown). -errno on failure. */
#define CONSOLE_LOG_MARK "=== kxen: console of domain "
int64_t console_log_incarnation(int fd, unsigned domid, const char *name, double start_time);
/* Appends buf, first rotating the file (*fd replaced) when it would pass max bytes.
 * Returns 0 or -errno. */
int console_log_append(int *fd, const char *path, uint64_t max, const void *buf, size_t len);

#endif
