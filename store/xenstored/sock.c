/* Unix socket transport: every client of the socket is dom0 (as with Xen's xenstored). */
#include "xenstored.h"
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "kxen/log.h"

/* One read takes at most this much: a whole largest message (header and payload) and then
 * some, so a peer pipelining small requests is served several per wake-up. */
#define SOCK_READ_CHUNK 16384

struct sock_conn {
    int fd;
    struct event *rd, *wr;
};

struct xs_listener {
    struct xs_daemon *d;
    int fd;
    struct event *ev;
    struct event *pause; /* re-arms ev after running out of file descriptors */
    char path[108];
};

static int sock_flush(struct xs_conn *c)
{
    struct sock_conn *s = c->transport;
    while (evbuffer_get_length(c->out)) {
        int n = evbuffer_write(c->out, s->fd);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            return -errno;
        }
        if (n == 0)
            break;
    }
    if (evbuffer_get_length(c->out))
        event_add(s->wr, NULL);
    else
        event_del(s->wr);
    return 0;
}

static void sock_destroy(struct xs_conn *c)
{
    struct sock_conn *s = c->transport;
    event_free(s->rd);
    event_free(s->wr);
    close(s->fd);
    free(s);
}

static const struct xs_conn_ops sock_ops = {"socket", sock_flush, sock_destroy, NULL};

static void sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct xs_conn *c = arg;
    if (c->closing)
        return;
    /* Straight into the input buffer's own memory with one recv: evbuffer_read would first
     * ask the kernel how much is queued (ioctl FIONREAD), a syscall per request. Room for one
     * largest message; anything beyond it stays queued and epoll reports it again. */
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(c->in, SOCK_READ_CHUNK, &v, 1) < 1) {
        log_warn("conn %llu: out of memory for input, closing", (unsigned long long)c->id);
        xs_conn_close(c);
        return;
    }
    ssize_t n = recv(fd, v.iov_base, v.iov_len, 0);
    if (n > 0) {
        v.iov_len = (size_t)n;
        if (evbuffer_commit_space(c->in, &v, 1)) {
            xs_conn_close(c);
            return;
        }
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        xs_trace(c->d, "conn %llu: socket closed", (unsigned long long)c->id);
        xs_conn_close(c);
        return;
    }
    xs_conn_process(c);
}

static void sock_write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xs_conn *c = arg;
    if (!c->closing)
        xs_conn_output_drained(c);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    struct xs_listener *l = arg;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
            return;
        log_warn("accept on %s: %s", l->path, strerror(errno));
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* The pending connection stays readable: stop listening for a moment instead
             * of spinning on it; clients already connected carry on. */
            struct timeval pause = {0, 100 * 1000};
            event_del(l->ev);
            event_add(l->pause, &pause);
        }
        return;
    }
    struct sock_conn *s = calloc(1, sizeof(*s));
    struct xs_conn *c = s ? xs_conn_new(l->d, &sock_ops, s, 0) : NULL;
    if (!c) {
        free(s);
        close(fd);
        log_warn("out of memory for a new connection");
        return;
    }
    s->fd = fd;
    s->rd = event_new(l->d->base, fd, EV_READ | EV_PERSIST, sock_read_cb, c);
    s->wr = event_new(l->d->base, fd, EV_WRITE, sock_write_cb, c);
    if (!s->rd || !s->wr || event_add(s->rd, NULL)) {
        c->ops = NULL;
        if (s->rd)
            event_free(s->rd);
        if (s->wr)
            event_free(s->wr);
        xs_conn_free(c);
        close(fd);
        free(s);
        return;
    }
    xs_trace(l->d, "conn %llu: new socket client", (unsigned long long)c->id);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xs_listener *l = arg;
    event_add(l->ev, NULL);
}

int xs_listener_open(struct xs_daemon *d, const char *path, struct xs_listener **out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    struct xs_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->d = d;
    strcpy(l->path, path);
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        free(l);
        return -errno;
    }
    /* A socket file left by a daemon that died is replaced; a live daemon is not. */
    if (connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(l->fd);
        free(l);
        return -EADDRINUSE;
    }
    unlink(path);
    mode_t old = umask(077);
    int r = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r || listen(l->fd, 128)) {
        r = -errno;
        close(l->fd);
        free(l);
        return r;
    }
    l->ev = event_new(d->base, l->fd, EV_READ | EV_PERSIST, accept_cb, l);
    l->pause = evtimer_new(d->base, resume_cb, l);
    if (!l->ev || !l->pause || event_add(l->ev, NULL)) {
        xs_listener_close(l);
        return -ENOMEM;
    }
    *out = l;
    return 0;
}

void xs_listener_close(struct xs_listener *l)
{
    if (!l)
        return;
    if (l->ev)
        event_free(l->ev);
    if (l->pause)
        event_free(l->pause);
    close(l->fd);
    unlink(l->path);
    free(l);
}
