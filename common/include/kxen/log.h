/* The one logging module every kxen daemon logs through. Libraries never log. */
#ifndef KXEN_LOG_H
#define KXEN_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum klog_level { KLOG_ERR = 0, KLOG_WARN = 1, KLOG_INFO = 2, KLOG_DEBUG = 3 };

/* ident prefixes every line; path NULL logs to stderr, else appends to that file.
 * Returns 0 or -errno (the file could not be opened; logging stays on stderr). */
int klog_init(const char *ident, enum klog_level level, const char *path);
void klog_set_level(enum klog_level level);
enum klog_level klog_get_level(void);
/* Parses "err|warn|info|debug"; returns the level or -EINVAL. */
int klog_parse_level(const char *name);
void klog_close(void);

/* A log that is a regular file rotates to FILE.1 past $KXEN_LOG_MAX bytes (default below). */
#define KLOG_DEFAULT_MAX (16ull << 20)
uint64_t klog_limit(void);

/* Where logs and core dumps go (docs/paths.md): $KXEN_LOG_DIR / $KXEN_DUMP_DIR when set; else,
 * with $KXEN_RUNDIR set or for a user other than root, the run dir (dumps in <rundir>/dump);
 * else root's persistent places, Xen's: /var/log/xen and /var/lib/xen/dump. */
#define KXEN_ROOT_LOG_DIR "/var/log/xen"
#define KXEN_ROOT_DUMP_DIR "/var/lib/xen/dump"
int kxen_log_dir(const char *rundir, char *out, size_t len);
int kxen_dump_dir(const char *rundir, char *out, size_t len);

void klog(enum klog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vklog(enum klog_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Lines a guest can trigger (a refused hypercall, a bad grant, a broken ring) go through
 * klog_dom: a token bucket per domain lets KLOG_DOM_BURST lines through at once and then one
 * per KLOG_DOM_INTERVAL_MS; the rest are counted and reported as "dN: M messages suppressed"
 * before the domain's next line. A guest can thus never fill the host's disk with the log. */
#define KLOG_DOM_BURST 10
#define KLOG_DOM_INTERVAL_MS 500
void klog_dom(enum klog_level level, unsigned domid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Forgets a domain's bucket (the domain is gone; its id may be reused), reporting what it
 * still had suppressed. */
void klog_dom_forget(unsigned domid);

#define log_err(...) klog(KLOG_ERR, __VA_ARGS__)
#define log_warn(...) klog(KLOG_WARN, __VA_ARGS__)
#define log_info(...) klog(KLOG_INFO, __VA_ARGS__)
#define log_dom_err(domid, ...) klog_dom(KLOG_ERR, domid, __VA_ARGS__)
#define log_dom_warn(domid, ...) klog_dom(KLOG_WARN, domid, __VA_ARGS__)
#define log_dom_info(domid, ...) klog_dom(KLOG_INFO, domid, __VA_ARGS__)
#define log_dom_debug(domid, ...)                                                                  \
    do {                                                                                           \
        if (klog_get_level() >= KLOG_DEBUG)                                                        \
            klog_dom(KLOG_DEBUG, domid, __VA_ARGS__);                                              \
    } while (0)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (klog_get_level() >= KLOG_DEBUG)                                                        \
            klog(KLOG_DEBUG, __VA_ARGS__);                                                         \
    } while (0)

#endif
