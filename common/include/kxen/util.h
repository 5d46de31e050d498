/* Small helpers shared by every part of kxen. */
#ifndef KXEN_UTIL_H
#define KXEN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif
#define KXEN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KXEN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define KXEN_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The value of one hexadecimal digit (either case), or -1. Header-only: libraries that link
 * nothing of common/ use it too. */
static inline int kxen_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Resolves the host's run directory: $KXEN_RUNDIR, else /run/kxen for root, else
 * $XDG_RUNTIME_DIR/kxen, else /tmp/kxen-<uid>, and checks it when it exists
 * (kxen_rundir_check). Returns 0, -ENAMETOOLONG, or the check's error (buf then holds the
 * refused path). */
int kxen_rundir(char *buf, size_t len);
/* kxen_rundir() + "/" + name. Returns 0 or kxen_rundir()'s error. */
int kxen_rundir_path(char *buf, size_t len, const char *name);
/* Creates the run directory (mode 0700 when it is new) and checks it. Returns 0 or -errno. */
int kxen_rundir_create(void);
/* 0 when dir is missing, or is a real directory (not a symbolic link) owned by the caller or
 * by root and writable by nobody else; -ENOTDIR or -EPERM otherwise (another user could plant
 * sockets or links in it). */
int kxen_rundir_check(const char *dir);
/* A sentence for the run-directory errors above ("owned by another user ..."). */
const char *kxen_rundir_strerror(int rc);

/* Full read/write on a fd, retrying on EINTR and short transfers. Return 0 or -errno
 * (-EPIPE for end of file during read_full). */
int kxen_read_full(int fd, void *buf, size_t len);
int kxen_write_full(int fd, const void *buf, size_t len);

/* Monotonic time in nanoseconds. */
uint64_t kxen_now_ns(void);

#endif
