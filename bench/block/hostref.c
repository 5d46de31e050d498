/* blk_hostref: the host side of bench/block. The same work the guest's `blktest mode=bench`
 * does, done with pread/pwrite on the image file: sequential 1 MiB writes and reads over the
 * whole file with SEQDEPTH requests in flight (one thread each, default 4, at most 32), and 4 KiB
 * random reads at queue depth 1 and 32. O_DIRECT, as blkback opens the image when the file system
 * allows it (its requests here are all 4 KiB-aligned); buffered when O_DIRECT is refused (then said
 * so). Prints one "blkbench NAME VALUE UNIT" row per figure, in the guest's format. blk_hostref
 * FILE [OPS [SEQDEPTH]] */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BYTES (1u << 20)
#define SEQ_DEPTH 4
#define MAX_DEPTH 32
#define RAND_BYTES 4096u

struct job {
    int fd;
    bool write;
    uint64_t size;
    unsigned index, depth;
    uint64_t ops;
    uint64_t seed;
    uint64_t done;
    int err;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Chunks index, index + depth, ...: depth threads keep depth requests in flight. */
static void *seq_worker(void *arg)
{
    struct job *j = arg;
    char *buf = aligned_alloc(4096, SEQ_BYTES);
    if (!buf) {
        j->err = ENOMEM;
        return NULL;
    }
    memset(buf, 0x5a, SEQ_BYTES);
    for (uint64_t off = (uint64_t)j->index * SEQ_BYTES; off < j->size;
         off += (uint64_t)j->depth * SEQ_BYTES) {
        size_t len = j->size - off < SEQ_BYTES ? (size_t)(j->size - off) : SEQ_BYTES;
        ssize_t r =
            j->write ? pwrite(j->fd, buf, len, (off_t)off) : pread(j->fd, buf, len, (off_t)off);
        if (r != (ssize_t)len) {
            j->err = r < 0 ? errno : EIO;
            break;
        }
        j->done += len;
    }
    free(buf);
    return NULL;
}

static void *rand_worker(void *arg)
{
    struct job *j = arg;
    char *buf = aligned_alloc(4096, RAND_BYTES);
    if (!buf) {
        j->err = ENOMEM;
        return NULL;
    }
    uint64_t x = j->seed | 1, pages = j->size / RAND_BYTES;
    for (uint64_t i = 0; i < j->ops; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (pread(j->fd, buf, RAND_BYTES, (off_t)((x % pages) * RAND_BYTES)) != RAND_BYTES) {
            j->err = EIO;
            break;
        }
        j->done++;
    }
    free(buf);
    return NULL;
}

/* Runs depth workers; returns the elapsed ns, or 0 when one failed. */
static uint64_t run(void *(*fn)(void *), struct job *jobs, unsigned depth)
{
    pthread_t t[32];
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < depth; i++)
        if (pthread_create(&t[i], NULL, fn, &jobs[i]))
            return 0;
    for (unsigned i = 0; i < depth; i++)
        pthread_join(t[i], NULL);
    uint64_t ns = now_ns() - t0 + 1;
    for (unsigned i = 0; i < depth; i++)
        if (jobs[i].err) {
            fprintf(stderr, "blk_hostref: %s\n", strerror(jobs[i].err));
            return 0;
        }
    return ns;
}

static void seq(int fd, uint64_t size, unsigned depth, bool write, const char *name)
{
    struct job jobs[MAX_DEPTH] = {0};
    for (unsigned i = 0; i < depth; i++)
        jobs[i] = (struct job){.fd = fd, .write = write, .size = size, .index = i, .depth = depth};
    uint64_t ns = run(seq_worker, jobs, depth);
    if (write)
        fdatasync(fd);
    uint64_t bytes = 0;
    for (unsigned i = 0; i < depth; i++)
        bytes += jobs[i].done;
    printf("blkbench %s %llu KB/s rc=%d\n", name,
           ns ? (unsigned long long)(bytes * 1000000ull / ns * 1000 / 1024) : 0ull, ns ? 0 : -1);
}

static void randread(int fd, uint64_t size, unsigned depth, uint64_t ops)
{
    struct job jobs[MAX_DEPTH] = {0};
    for (unsigned i = 0; i < depth; i++)
        jobs[i] = (struct job){
            .fd = fd, .size = size, .ops = ops / depth, .seed = 88172645463325252ull + i};
    uint64_t ns = run(rand_worker, jobs, depth);
    uint64_t n = 0;
    for (unsigned i = 0; i < depth; i++)
        n += jobs[i].done;
    printf("blkbench randread_qd%u %llu IOPS rc=%d\n", depth,
           ns ? (unsigned long long)(n * 1000000000ull / ns) : 0ull, ns ? 0 : -1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: blk_hostref FILE [OPS [SEQDEPTH]]\n");
        return 2;
    }
    uint64_t ops = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000;
    unsigned long depth = argc > 3 ? strtoul(argv[3], NULL, 10) : SEQ_DEPTH;
    if (depth == 0 || depth > MAX_DEPTH)
        depth = MAX_DEPTH;
    int fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0 && errno == EINVAL) {
        fprintf(stderr, "blk_hostref: O_DIRECT refused here: buffered I/O\n");
        fd = open(argv[1], O_RDWR);
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || st.st_size < (off_t)SEQ_BYTES) {
        fprintf(stderr, "blk_hostref: %s: cannot use it\n", argv[1]);
        return 1;
    }
    uint64_t size = (uint64_t)st.st_size;
    seq(fd, size, (unsigned)depth, true, "seqwrite_1m");
    seq(fd, size, (unsigned)depth, false, "seqread_1m");
    randread(fd, size, 1, ops);
    randread(fd, size, 32, ops);
    close(fd);
    return 0;
}
