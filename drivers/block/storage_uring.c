/* The io_uring engine (liburing): the event loop submits, one reaper thread waits for
 * completions and calls `done`. liburing allows one submitting and one completing thread on
 * the same ring, which is exactly this split. A request the ring cannot take (submission queue
 * full) or that io_uring cannot express (BLKDISCARD on a block device) runs synchronously on
 * the submitting thread; a short transfer is finished synchronously by the reaper. close()
 * waits for every request in flight, then stops the reaper with a sentinel no-op. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "storage.h"

#define URING_ENTRIES 256

struct uring {
    struct storage base;
    struct storage_image img;
    struct io_uring ring;
    pthread_t reaper;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned long inflight;
};

static bool direct_ok(const struct storage_image *img, const struct storage_io *io)
{
    uint64_t a = img->direct_align - 1;
    if (img->direct_fd < 0 || (io->offset & a))
        return false;
    for (int i = 0; i < io->iovcnt; i++)
        if (((uintptr_t)io->iov[i].iov_base & a) || (io->iov[i].iov_len & a))
            return false;
    return true;
}

static uint64_t io_bytes(const struct storage_io *io)
{
    uint64_t n = 0;
    for (int i = 0; i < io->iovcnt; i++)
        n += io->iov[i].iov_len;
    return n;
}

static void finish(struct uring *u, struct storage_io *io)
{
    io->done(io);
    pthread_mutex_lock(&u->lock);
    if (--u->inflight == 0)
        pthread_cond_broadcast(&u->idle);
    pthread_mutex_unlock(&u->lock);
}

/* A short read or write: the remainder, synchronously (rare: end of a regular file). */
static int complete_short(struct uring *u, struct storage_io *io, uint64_t moved)
{
    struct storage_io rest = *io;
    struct iovec iov[64];
    int n = 0;
    uint64_t skip = moved;
    for (int i = 0; i < io->iovcnt; i++) {
        if (skip >= io->iov[i].iov_len) {
            skip -= io->iov[i].iov_len;
            continue;
        }
        if (n == 64)
            return -EIO;
        iov[n].iov_base = (char *)io->iov[i].iov_base + skip;
        iov[n++].iov_len = io->iov[i].iov_len - skip;
        skip = 0;
    }
    rest.iov = iov;
    rest.iovcnt = n;
    rest.offset = io->offset + moved;
    return storage_image_run(&u->img, &rest);
}

static void *reaper(void *arg)
{
    struct uring *u = arg;
    for (;;) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_wait_cqe(&u->ring, &cqe);
        if (rc == -EINTR)
            continue;
        if (rc < 0)
            break;
        struct storage_io *io = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&u->ring, cqe);
        if (!io)
            break; /* the sentinel of close() */
        if (res == -EINVAL && (io->op == STORAGE_READ || io->op == STORAGE_WRITE) &&
            direct_ok(&u->img, io))
            io->result = storage_image_run(&u->img, io); /* O_DIRECT refused: buffered */
        else if (res < 0)
            io->result = res;
        else if ((io->op == STORAGE_READ || io->op == STORAGE_WRITE) &&
                 (uint64_t)res < io_bytes(io))
            io->result = res == 0 ? -EIO : complete_short(u, io, (uint64_t)res);
        else
            io->result = 0;
        finish(u, io);
    }
    return NULL;
}

static int uring_submit(struct storage *s, struct storage_io *io)
{
    struct uring *u = (struct uring *)s;
    pthread_mutex_lock(&u->lock);
    u->inflight++;
    pthread_mutex_unlock(&u->lock);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    /* Synchronous: no free entry, BLKDISCARD, or a write-then-flush (never sent by Linux's
     * blkfront; not worth a linked pair of entries). */
    if (!sqe || (io->op == STORAGE_DISCARD && u->img.is_blockdev) || io->flush_after) {
        io->result = storage_image_run(&u->img, io);
        finish(u, io);
        return 0;
    }
    int fd = direct_ok(&u->img, io) ? u->img.direct_fd : u->img.fd;
    switch (io->op) {
    case STORAGE_READ:
        io_uring_prep_readv(sqe, fd, io->iov, (unsigned)io->iovcnt, io->offset);
        break;
    case STORAGE_WRITE:
        io_uring_prep_writev(sqe, fd, io->iov, (unsigned)io->iovcnt, io->offset);
        break;
    case STORAGE_FLUSH:
        io_uring_prep_fsync(sqe, u->img.fd, IORING_FSYNC_DATASYNC);
        break;
    case STORAGE_DISCARD:
        io_uring_prep_fallocate(sqe, u->img.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                io->offset, io->len);
        break;
    }
    io_uring_sqe_set_data(sqe, io);
    /* Once prepared the entry belongs to the ring: a submit that fails for a moment is
     * retried, and an entry still queued goes with the next submit (close() submits too). */
    for (int i = 0; i < 100; i++) {
        int rc = io_uring_submit(&u->ring);
        if (rc >= 0 || (rc != -EINTR && rc != -EAGAIN && rc != -EBUSY))
            break;
        sched_yield();
    }
    return 0;
}

static int uring_run(struct storage *s, struct storage_io *io)
{
    return storage_image_run(&((struct uring *)s)->img, io);
}

static void uring_close(struct storage *s)
{
    struct uring *u = (struct uring *)s;
    pthread_mutex_lock(&u->lock);
    while (u->inflight)
        pthread_cond_wait(&u->idle, &u->lock);
    pthread_mutex_unlock(&u->lock);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (sqe) {
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, NULL);
        io_uring_submit(&u->ring);
    }
    pthread_join(u->reaper, NULL);
    io_uring_queue_exit(&u->ring);
    storage_image_close(&u->img);
    pthread_cond_destroy(&u->idle);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static const struct storage_ops uring_ops = {
    .submit = uring_submit, .run = uring_run, .close = uring_close};

int storage_open_uring(const char *path, bool readonly, struct storage **out)
{
    struct uring *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    int rc = io_uring_queue_init(URING_ENTRIES, &u->ring, 0);
    if (rc < 0) { /* no io_uring here (old kernel, seccomp): the caller falls back */
        free(u);
        return rc;
    }
    rc = storage_image_open(path, readonly, &u->img, &u->base);
    if (rc) {
        io_uring_queue_exit(&u->ring);
        free(u);
        return rc;
    }
    u->base.ops = &uring_ops;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->idle, NULL);
    if (pthread_create(&u->reaper, NULL, reaper, u) != 0) {
        io_uring_queue_exit(&u->ring);
        storage_image_close(&u->img);
        free(u);
        return -EAGAIN;
    }
    *out = &u->base;
    return 0;
}
