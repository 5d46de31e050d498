/* The one logging module every kxen daemon logs through. Libraries never log. */
#ifndef KXEN_LOG_H
#define KXEN_LOG_H

enum klog_level { KLOG_ERR = 0, KLOG_WARN = 1, KLOG_INFO = 2, KLOG_DEBUG = 3 };

/* ident prefixes every line; path NULL logs to stderr, else appends to that file.
 * Returns 0 or -errno (the file could not be opened; logging stays on stderr). */
int klog_init(const char *ident, enum klog_level level, const char *path);
void klog_set_level(enum klog_level level);
enum klog_level klog_get_level(void);
/* Parses "err|warn|info|debug"; returns the level or -EINVAL. */
int klog_parse_level(const char *name);
void klog_close(void);

void klog(enum klog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) klog(KLOG_ERR, __VA_ARGS__)
#define log_warn(...) klog(KLOG_WARN, __VA_ARGS__)
#define log_info(...) klog(KLOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (klog_get_level() >= KLOG_DEBUG)                                                        \
            klog(KLOG_DEBUG, __VA_ARGS__);                                                         \
    } while (0)

#endif
