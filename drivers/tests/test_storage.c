/* Both storage engines (io_uring and the worker pool) on a temporary raw image: data written
 * is read back, flush succeeds, discard punches a hole, many requests complete in flight. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../block/storage.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int completed;

static void on_done(struct storage_io *io)
{
    (void)io;
    pthread_mutex_lock(&lock);
    completed++;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
}

static void wait_for(int n)
{
    pthread_mutex_lock(&lock);
    while (completed < n)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static const char *const engine_name[] = {"uring", "pool"};

static struct storage *open_engine(int engine, char *path, bool ro)
{
    strcpy(path, "/tmp/kxen-storage-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, 1 << 20), 0);
    close(fd);
    struct storage *s = NULL;
    int rc = engine == 0 ? storage_open_uring(path, ro, &s) : storage_open_pool(path, ro, 3, &s);
    cr_assert_eq(rc, 0, "%s: %s", engine_name[engine], strerror(-rc));
    completed = 0;
    return s;
}

static void run(struct storage *s, struct storage_io *io, int *n)
{
    io->done = on_done;
    cr_assert_eq(storage_submit(s, io), 0);
    wait_for(++*n);
    cr_assert_eq(io->result, 0, "%s", strerror(-io->result));
}

ParameterizedTestParameters(storage, each_engine_writes_reads_flushes_and_discards)
{
    static int engines[] = {0, 1}; /* io_uring, worker pool */
    return cr_make_param_array(int, engines, 2);
}

ParameterizedTest(int *engine, storage, each_engine_writes_reads_flushes_and_discards)
{
    char path[64];
    struct storage *s = open_engine(*engine, path, false);
    cr_assert_eq(s->size_bytes, 1 << 20);
    static char a[8192] __attribute__((aligned(4096))), b[8192] __attribute__((aligned(4096)));
    memset(a, 'k', sizeof(a));
    struct iovec iov[2] = {{a, 4096}, {a + 4096, 4096}};
    int n = 0;
    struct storage_io w = {.op = STORAGE_WRITE, .offset = 65536, .iov = iov, .iovcnt = 2};
    run(s, &w, &n);
    struct storage_io f = {.op = STORAGE_FLUSH};
    run(s, &f, &n);
    /* Unaligned (512-byte) request: the page-cache path. */
    struct iovec riov = {b + 512, 1024};
    struct storage_io r = {.op = STORAGE_READ, .offset = 65536 + 512, .iov = &riov, .iovcnt = 1};
    run(s, &r, &n);
    cr_assert_eq(memcmp(b + 512, a, 1024), 0);
    struct storage_io d = {.op = STORAGE_DISCARD, .offset = 65536, .len = 8192};
    run(s, &d, &n);
    struct iovec fiov = {b, 8192};
    struct storage_io r2 = {.op = STORAGE_READ, .offset = 65536, .iov = &fiov, .iovcnt = 1};
    run(s, &r2, &n);
    for (int i = 0; i < 8192; i++)
        cr_assert_eq(b[i], 0);
    storage_close(s);
    unlink(path);
}

ParameterizedTestParameters(storage, each_engine_completes_many_requests_in_flight)
{
    static int engines[] = {0, 1}; /* io_uring, worker pool */
    return cr_make_param_array(int, engines, 2);
}

ParameterizedTest(int *engine, storage, each_engine_completes_many_requests_in_flight)
{
    char path[64];
    struct storage *s = open_engine(*engine, path, false);
    enum { N = 128 };
    static char bufs[N][4096] __attribute__((aligned(4096)));
    static struct iovec iov[N];
    static struct storage_io io[N];
    for (int i = 0; i < N; i++) {
        memset(bufs[i], i, 4096);
        iov[i] = (struct iovec){bufs[i], 4096};
        io[i] = (struct storage_io){.op = STORAGE_WRITE,
                                    .offset = (uint64_t)i * 4096,
                                    .iov = &iov[i],
                                    .iovcnt = 1,
                                    .done = on_done};
        cr_assert_eq(storage_submit(s, &io[i]), 0);
    }
    wait_for(N);
    storage_close(s); /* nothing in flight may outlive close */
    int fd = open(path, O_RDONLY);
    for (int i = 0; i < N; i++) {
        unsigned char c;
        cr_assert_eq(io[i].result, 0);
        cr_assert_eq(pread(fd, &c, 1, (off_t)i * 4096 + 99), 1);
        cr_assert_eq(c, i);
    }
    close(fd);
    unlink(path);
}

Test(storage, a_read_only_image_is_opened_read_only)
{
    char path[64];
    struct storage *s = open_engine(1, path, true);
    cr_assert(s->readonly);
    cr_assert_not(s->can_discard);
    storage_close(s);
    unlink(path);
}

Test(storage, a_missing_image_is_an_error)
{
    struct storage *s;
    cr_assert_eq(storage_open("/nonexistent/kxen-image", false, 1, &s), -ENOENT);
}
