/* The driver domain's C library: just what the backend cores (drivers/) call, over the guest
 * runtime. The heap is a static arena carved into power-of-two blocks, one free list per size
 * (a backend allocates few sizes over and over: requests, packets); an eventfd is a counter
 * and an epoll set a list of them. Single-threaded: event handlers never call in here.
 * Invariant: every block handed out is 16-byte aligned and carries its size class in the
 * 16 bytes before it, so free and realloc need no search. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "guest/printf.h"
#include "guest/time.h"

#include "ddom.h"

int errno;

/* ---- Heap ------------------------------------------------------------------------------- */
#define HEAP_MIN_SHIFT 5
#define HEAP_MAX_SHIFT 26 /* one block of 64 MiB at most */
#define HEAP_HDR 16

static uint8_t heap[DDOM_HEAP_BYTES] __attribute__((aligned(4096)));
static size_t heap_top;
static void *free_list[HEAP_MAX_SHIFT + 1];

size_t ddom_heap_used(void)
{
    return heap_top;
}

void *malloc(size_t n)
{
    unsigned int shift = HEAP_MIN_SHIFT;
    while (shift <= HEAP_MAX_SHIFT && ((size_t)1 << shift) < n + HEAP_HDR)
        shift++;
    if (shift > HEAP_MAX_SHIFT) {
        errno = ENOMEM;
        return NULL;
    }
    uint8_t *blk = free_list[shift];
    if (blk) {
        free_list[shift] = *(void **)(blk + HEAP_HDR);
    } else {
        size_t sz = (size_t)1 << shift;
        /* Big blocks start on a page, so a page-sized buffer never straddles two. */
        size_t align = sz >= 4096 ? 4096 : 16;
        size_t at = (heap_top + HEAP_HDR + align - 1) / align * align - HEAP_HDR;
        if (at + sz > sizeof(heap)) {
            errno = ENOMEM;
            return NULL;
        }
        blk = heap + at;
        heap_top = at + sz;
    }
    *(uint32_t *)blk = shift;
    return blk + HEAP_HDR;
}

void free(void *p)
{
    if (!p)
        return;
    uint8_t *blk = (uint8_t *)p - HEAP_HDR;
    unsigned int shift = *(uint32_t *)blk;
    *(void **)p = free_list[shift];
    free_list[shift] = blk;
}

void *calloc(size_t nmemb, size_t n)
{
    if (n && nmemb > SIZE_MAX / n) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(nmemb * n);
    if (p)
        memset(p, 0, nmemb * n);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    size_t have = ((size_t)1 << *(uint32_t *)((uint8_t *)p - HEAP_HDR)) - HEAP_HDR;
    if (n <= have)
        return p;
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, have);
        free(p);
    }
    return q;
}

/* ---- Strings ------------------------------------------------------------------------------ */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    return guest_vsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = guest_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}

char *strstr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncmp(hay, needle, n))
            return (char *)hay;
    return n ? NULL : (char *)hay;
}

size_t strcspn(const char *s, const char *reject)
{
    size_t i = 0;
    while (s[i] && !strchr(reject, s[i]))
        i++;
    return i;
}

char *strerror(int err)
{
    static char buf[24];
    switch (err) {
    case ENOENT:
        return "No such file or directory";
    case EIO:
        return "Input/output error";
    case ENOMEM:
        return "Out of memory";
    case EACCES:
        return "Permission denied";
    case EBUSY:
        return "Device or resource busy";
    case EINVAL:
        return "Invalid argument";
    case ENOSPC:
        return "No space left on device";
    case EROFS:
        return "Read-only file system";
    case EOVERFLOW:
        return "Value too large";
    case EOPNOTSUPP:
        return "Operation not supported";
    case ETIMEDOUT:
        return "Timed out";
    case EPROTO:
        return "Protocol error";
    default:
        snprintf(buf, sizeof(buf), "error %d", err);
        return buf;
    }
}

/* ---- Time ------------------------------------------------------------------------------- */
int clock_gettime(clockid_t clk, struct timespec *ts)
{
    (void)clk;
    uint64_t ns = monotonic_ns();
    ts->tv_sec = (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
    return 0;
}

/* ---- Descriptors: eventfds and epoll sets -------------------------------------------------- */
#define NR_FDS 32
#define FD_FREE 0
#define FD_EVENT 1
#define FD_EPOLL 2
#define EPOLL_MAX 64

struct ddom_fd {
    int kind;        /* FD_* */
    uint64_t count;  /* FD_EVENT */
    unsigned int nr; /* FD_EPOLL: members */
    int member[EPOLL_MAX];
    epoll_data_t data[EPOLL_MAX];
};
static struct ddom_fd fds[NR_FDS];

static int fd_alloc(int kind)
{
    for (int i = 3; i < NR_FDS; i++) {
        if (fds[i].kind == FD_FREE) {
            memset(&fds[i], 0, sizeof(fds[i]));
            fds[i].kind = kind;
            return i;
        }
    }
    errno = EMFILE;
    return -1;
}

static struct ddom_fd *fd_get(int fd, int kind)
{
    if (fd < 0 || fd >= NR_FDS || fds[fd].kind != kind) {
        errno = EBADF;
        return NULL;
    }
    return &fds[fd];
}

bool ddom_fds_ready(void)
{
    for (int i = 0; i < NR_FDS; i++)
        if (fds[i].kind == FD_EVENT && fds[i].count)
            return true;
    return false;
}

int eventfd(unsigned int initval, int flags)
{
    (void)flags;
    int fd = fd_alloc(FD_EVENT);
    if (fd >= 0)
        fds[fd].count = initval;
    return fd;
}

ssize_t read(int fd, void *buf, size_t n)
{
    struct ddom_fd *f = fd_get(fd, FD_EVENT);
    if (!f || n < sizeof(uint64_t)) {
        errno = f ? EINVAL : errno;
        return -1;
    }
    if (!f->count) {
        errno = EAGAIN;
        return -1;
    }
    memcpy(buf, &f->count, sizeof(f->count));
    f->count = 0;
    return sizeof(uint64_t);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    struct ddom_fd *f = fd_get(fd, FD_EVENT);
    uint64_t v;
    if (!f || n < sizeof(v)) {
        errno = f ? EINVAL : errno;
        return -1;
    }
    memcpy(&v, buf, sizeof(v));
    f->count += v;
    return sizeof(v);
}

int close(int fd)
{
    if (fd < 0 || fd >= NR_FDS || fds[fd].kind == FD_FREE) {
        errno = EBADF;
        return -1;
    }
    fds[fd].kind = FD_FREE;
    return 0;
}

int epoll_create1(int flags)
{
    (void)flags;
    return fd_alloc(FD_EPOLL);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    struct ddom_fd *e = fd_get(epfd, FD_EPOLL);
    if (!e || !fd_get(fd, FD_EVENT))
        return -1;
    unsigned int i = 0;
    while (i < e->nr && e->member[i] != fd)
        i++;
    if (op == EPOLL_CTL_DEL) {
        if (i < e->nr) {
            e->member[i] = e->member[e->nr - 1];
            e->data[i] = e->data[--e->nr];
        }
        return 0;
    }
    if (i == e->nr) {
        if (e->nr == EPOLL_MAX) {
            errno = ENOSPC;
            return -1;
        }
        e->nr++;
    }
    e->member[i] = fd;
    e->data[i] = ev->data;
    return 0;
}

int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
    (void)timeout;
    struct ddom_fd *e = fd_get(epfd, FD_EPOLL);
    if (!e)
        return -1;
    int n = 0;
    for (unsigned int i = 0; i < e->nr && n < max; i++)
        if (fds[e->member[i]].count)
            evs[n++] = (struct epoll_event){.events = EPOLLIN, .data = e->data[i]};
    return n;
}

int poll(struct pollfd *p, unsigned long n, int timeout)
{
    (void)timeout;
    int ready = 0;
    for (unsigned long i = 0; i < n; i++) {
        struct ddom_fd *f = fd_get(p[i].fd, FD_EVENT);
        p[i].revents = f && f->count ? POLLIN : 0;
        ready += p[i].revents != 0;
    }
    return ready;
}
