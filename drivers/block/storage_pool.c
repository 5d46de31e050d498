/* The worker-pool engine: a FIFO of submitted requests served by a few threads, each running
 * one request synchronously (storage_file.c). Many requests are in flight at once, one per
 * worker in the kernel and the rest queued. close() waits for the queue to drain: no `done`
 * callback runs after close returns. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "storage.h"

#define POOL_MAX_WORKERS 32

struct pool {
    struct storage base;
    struct storage_image img;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct storage_io *head, *tail;
    bool stopping;
    unsigned int nr_threads;
    pthread_t threads[POOL_MAX_WORKERS];
};

static void *worker(void *arg)
{
    struct pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        if (!p->head)
            break; /* stopping and drained */
        struct storage_io *io = p->head;
        p->head = io->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        io->result = storage_image_run(&p->img, io);
        io->done(io);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int pool_submit(struct storage *s, struct storage_io *io)
{
    struct pool *p = (struct pool *)s;
    io->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = io;
    else
        p->head = io;
    p->tail = io;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static int pool_run(struct storage *s, struct storage_io *io)
{
    return storage_image_run(&((struct pool *)s)->img, io);
}

static void pool_close(struct storage *s)
{
    struct pool *p = (struct pool *)s;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned int i = 0; i < p->nr_threads; i++)
        pthread_join(p->threads[i], NULL);
    storage_image_close(&p->img);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static const struct storage_ops pool_ops = {
    .submit = pool_submit, .run = pool_run, .close = pool_close};

int storage_open_pool(const char *path, bool readonly, unsigned int nr_workers,
                      struct storage **out)
{
    if (nr_workers == 0)
        nr_workers = 4;
    if (nr_workers > POOL_MAX_WORKERS)
        nr_workers = POOL_MAX_WORKERS;
    struct pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int rc = storage_image_open(path, readonly, &p->img, &p->base);
    if (rc) {
        free(p);
        return rc;
    }
    p->base.ops = &pool_ops;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    for (unsigned int i = 0; i < nr_workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
            break;
        p->nr_threads++;
    }
    if (p->nr_threads == 0) {
        pool_close(&p->base);
        return -EAGAIN;
    }
    *out = &p->base;
    return 0;
}

int storage_open(const char *path, bool readonly, unsigned int nr_workers, struct storage **out)
{
    int rc = storage_open_uring(path, readonly, out);
    if (rc == -ENOSYS || rc == -EPERM || rc == -ENOMEM || rc == -EINVAL)
        rc = storage_open_pool(path, readonly, nr_workers, out);
    return rc;
}
