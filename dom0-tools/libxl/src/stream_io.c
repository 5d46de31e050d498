/* Stream byte layer (stream_io.h). The writer gathers the stream in chunks of CHUNK bytes;
 * once it holds one chunk per core it deflates them in parallel, each into a gzip member of
 * its own, and writes the members in order: the output is byte-for-byte what a sequential
 * writer of the same members produces, whatever the thread timing. The reader is zlib's
 * gzread, which follows member boundaries and reads a file without a gzip header as it is. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "stream_io.h"

#define CHUNK (1u << 20)
#define MAX_THREADS 16

struct chunk {
    uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_len;
    int rc;
};

struct kxl_swriter {
    int fd;
    bool compress, framed;
    int err;
    unsigned nr_slots, used;
    struct chunk slots[MAX_THREADS];
    uint64_t bytes;
};

int kxl_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *deflate_chunk(void *arg)
{
    struct chunk *c = arg;
    z_stream z = {0};
    /* windowBits 15 + 16: a gzip member (header, CRC-32, length trailer). */
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        c->rc = -ENOMEM;
        return NULL;
    }
    z.next_in = c->in;
    z.avail_in = (uInt)c->in_len;
    z.next_out = c->out;
    z.avail_out = (uInt)deflateBound(&z, c->in_len);
    c->rc = deflate(&z, Z_FINISH) == Z_STREAM_END ? 0 : -EIO;
    c->out_len = z.total_out;
    deflateEnd(&z);
    return NULL;
}

static int flush_slots(struct kxl_swriter *w)
{
    if (!w->used)
        return 0;
    pthread_t th[MAX_THREADS];
    bool started[MAX_THREADS] = {0};
    for (unsigned i = 1; i < w->used; i++)
        started[i] = pthread_create(&th[i], NULL, deflate_chunk, &w->slots[i]) == 0;
    deflate_chunk(&w->slots[0]);
    for (unsigned i = 1; i < w->used; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            deflate_chunk(&w->slots[i]);
    }
    int rc = 0;
    for (unsigned i = 0; i < w->used && !rc; i++) {
        uint32_t len = (uint32_t)w->slots[i].out_len;
        rc = w->slots[i].rc;
        if (!rc && w->framed)
            rc = kxl_write_all(w->fd, &len, sizeof(len));
        if (!rc)
            rc = kxl_write_all(w->fd, w->slots[i].out, len);
    }
    for (unsigned i = 0; i < w->used; i++)
        w->slots[i].in_len = 0;
    w->used = 0;
    return rc;
}

int kxl_swriter_open(int fd, bool compress, struct kxl_swriter **out)
{
    return kxl_swriter_open_framed(fd, compress, false, out);
}

int kxl_swriter_open_framed(int fd, bool compress, bool framed, struct kxl_swriter **out)
{
    struct kxl_swriter *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->fd = fd;
    w->compress = compress || framed;
    w->framed = framed;
    compress = w->compress;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    w->nr_slots = compress ? (n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n) : 0;
    for (unsigned i = 0; i < w->nr_slots; i++) {
        w->slots[i].in = malloc(CHUNK);
        w->slots[i].out = malloc(CHUNK + CHUNK / 8 + 1024); /* above deflateBound(CHUNK) */
        if (!w->slots[i].in || !w->slots[i].out) {
            w->err = -ENOMEM;
            kxl_swriter_close(w);
            return -ENOMEM;
        }
    }
    *out = w;
    return 0;
}

int kxl_swriter_write(struct kxl_swriter *w, const void *buf, size_t len)
{
    if (w->err)
        return w->err;
    w->bytes += len;
    if (!w->compress)
        return w->err = kxl_write_all(w->fd, buf, len);
    const uint8_t *p = buf;
    while (len) {
        struct chunk *c = &w->slots[w->used];
        size_t n = CHUNK - c->in_len < len ? CHUNK - c->in_len : len;
        memcpy(c->in + c->in_len, p, n);
        c->in_len += n;
        p += n;
        len -= n;
        if (c->in_len == CHUNK && ++w->used == w->nr_slots && (w->err = flush_slots(w)))
            return w->err;
    }
    return 0;
}

int kxl_swriter_flush(struct kxl_swriter *w)
{
    if (w->err || !w->compress)
        return w->err;
    if (w->used < w->nr_slots && w->slots[w->used].in_len)
        w->used++;
    return w->err = flush_slots(w);
}

int kxl_swriter_close(struct kxl_swriter *w)
{
    if (!w->err && w->compress) {
        if (w->used < w->nr_slots && w->slots[w->used].in_len)
            w->used++;
        w->err = flush_slots(w);
        uint32_t end = 0;
        if (!w->err && w->framed)
            w->err = kxl_write_all(w->fd, &end, sizeof(end));
    }
    int rc = w->err;
    for (unsigned i = 0; i < w->nr_slots; i++) {
        free(w->slots[i].in);
        free(w->slots[i].out);
    }
    free(w);
    return rc;
}

uint64_t kxl_swriter_bytes(const struct kxl_swriter *w)
{
    return w->bytes;
}

struct kxl_sreader {
    gzFile gz; /* plain or gzip files; NULL for a framed stream */
    int fd;
    uint8_t *in, *out; /* framed: the current member and what it inflated to */
    size_t out_len, out_pos;
    bool ended;
    int timeout_ms; /* framed: longest wait for the next byte, -1 = none */
};

int kxl_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;
    while (len) {
        if (timeout_ms >= 0) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int pr = poll(&pfd, 1, timeout_ms);
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr <= 0)
                return pr < 0 ? -errno : -ETIMEDOUT;
        }
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The next member of a framed stream: 0, 1 at the end frame, or -errno. */
static int next_member(struct kxl_sreader *r)
{
    uint32_t len;
    int rc = kxl_read_all(r->fd, &len, sizeof(len), r->timeout_ms);
    if (rc)
        return rc;
    if (len == 0) {
        r->ended = true;
        return 1;
    }
    if (len > CHUNK + CHUNK / 8 + 1024)
        return -EBADMSG;
    if ((rc = kxl_read_all(r->fd, r->in, len, r->timeout_ms)))
        return rc;
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return -ENOMEM;
    z.next_in = r->in;
    z.avail_in = len;
    z.next_out = r->out;
    z.avail_out = CHUNK;
    int zr = inflate(&z, Z_FINISH);
    r->out_len = z.total_out;
    r->out_pos = 0;
    inflateEnd(&z);
    return zr == Z_STREAM_END && z.avail_in == 0 ? 0 : -EBADMSG;
}

int kxl_sreader_open_framed(int fd, struct kxl_sreader **out)
{
    struct kxl_sreader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->fd = fd;
    r->timeout_ms = -1;
    r->in = malloc(CHUNK + CHUNK / 8 + 1024);
    r->out = malloc(CHUNK);
    if (!r->in || !r->out) {
        kxl_sreader_close(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

void kxl_sreader_set_timeout(struct kxl_sreader *r, int timeout_ms)
{
    r->timeout_ms = timeout_ms;
}

static int framed_read(struct kxl_sreader *r, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        if (r->out_pos == r->out_len) {
            int rc = r->ended ? 1 : next_member(r);
            if (rc)
                return rc == 1 ? (got ? -EPIPE : -ENODATA) : rc;
            continue;
        }
        size_t n = r->out_len - r->out_pos < len - got ? r->out_len - r->out_pos : len - got;
        memcpy(buf + got, r->out + r->out_pos, n);
        r->out_pos += n;
        got += n;
    }
    return 0;
}

int kxl_sreader_open(int fd, struct kxl_sreader **out)
{
    struct kxl_sreader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    int d = dup(fd);
    if (d < 0 || !(r->gz = gzdopen(d, "rb"))) {
        if (d >= 0)
            close(d);
        free(r);
        return -ENOMEM;
    }
    gzbuffer(r->gz, 1u << 18);
    *out = r;
    return 0;
}

int kxl_sreader_read(struct kxl_sreader *r, void *buf, size_t len)
{
    if (!r->gz)
        return framed_read(r, buf, len);
    size_t got = 0;
    while (got < len) {
        unsigned want = len - got > (1u << 30) ? (1u << 30) : (unsigned)(len - got);
        int n = gzread(r->gz, (uint8_t *)buf + got, want);
        if (n < 0) {
            int zerr;
            gzerror(r->gz, &zerr);
            return zerr == Z_ERRNO ? -EIO : zerr == Z_BUF_ERROR ? -EPIPE : -EBADMSG;
        }
        if (n == 0) {
            int zerr;
            gzerror(r->gz, &zerr);
            if (zerr == Z_BUF_ERROR)
                return -EPIPE; /* the gzip member was cut */
            return got ? -EPIPE : -ENODATA;
        }
        got += (size_t)n;
    }
    return 0;
}

int kxl_sreader_at_end(struct kxl_sreader *r)
{
    if (!r->gz) {
        while (!r->ended && r->out_pos == r->out_len) {
            int rc = next_member(r);
            if (rc < 0)
                return rc;
        }
        return r->out_pos == r->out_len;
    }
    int c = gzgetc(r->gz);
    if (c < 0) {
        int zerr;
        gzerror(r->gz, &zerr);
        return zerr == Z_OK ? 1 : -EBADMSG;
    }
    gzungetc(c, r->gz);
    return 0;
}

void kxl_sreader_close(struct kxl_sreader *r)
{
    if (r) {
        if (r->gz)
            gzclose(r->gz);
        free(r->in);
        free(r->out);
        free(r);
    }
}
