/* libxenstore connection layer: opening the daemon socket (or xenbus device), framing
 * messages, matching replies to requests, and queueing watch events, thread-safely. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xs_internal.h"

/* The xenbus device a guest kernel offers; XENSTORED_PATH overrides it, as in Xen. */
static const char *xs_domain_dev(void)
{
    const char *s = getenv("XENSTORED_PATH");
    if (s && *s)
        return s;
    if (access("/dev/xen/xenbus", F_OK) == 0)
        return "/dev/xen/xenbus";
    return "/proc/xen/xenbus";
}

static int xs_connect_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* A path naming a socket is the daemon; anything else is a xenbus-like device. */
static struct xs_handle *xs_get_handle(const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return NULL;
    int fd = S_ISSOCK(st.st_mode) ? xs_connect_socket(path) : open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct xs_handle *h = calloc(1, sizeof(*h));
    if (!h) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    h->fd = fd;
    h->is_socket = S_ISSOCK(st.st_mode);
    h->event_pipe[0] = h->event_pipe[1] = -1;
    h->stop_pipe[0] = h->stop_pipe[1] = -1;
    h->events_tail = &h->events_head;
    h->next_req_id = 1;
    pthread_mutex_init(&h->request_lock, NULL);
    pthread_mutex_init(&h->state_lock, NULL);
    pthread_cond_init(&h->reply_cond, NULL);
    pthread_cond_init(&h->event_cond, NULL);
    return h;
}

struct xs_handle *xs_open(unsigned long flags)
{
    const char *sock = xs_daemon_socket();
    struct xs_handle *h = sock ? xs_get_handle(sock) : NULL;
    int sock_errno = sock ? errno : ENAMETOOLONG;
    if (!h && !(flags & XS_OPEN_SOCKETONLY)) {
        h = xs_get_handle(xs_domain_dev());
        if (!h) /* on a host without a xenbus device, the socket's error is the one to tell */
            errno = sock_errno;
    }
    if (h && (flags & XS_UNWATCH_FILTER))
        h->unwatch_filter = true;
    return h;
}

struct xs_handle *xs_daemon_open(void)
{
    return xs_open(0);
}

struct xs_handle *xs_domain_open(void)
{
    return xs_open(0);
}

struct xs_handle *xs_daemon_open_readonly(void)
{
    return xs_open(XS_OPEN_READONLY);
}

/* Frees everything but touches no thread: safe in a forked child too. */
static void xs_free_handle(struct xs_handle *h)
{
    struct xs_event *e = h->events_head;
    while (e) {
        struct xs_event *next = e->next;
        free(e->vec);
        free(e);
        e = next;
    }
    free(h->reply_body);
    for (int i = 0; i < 2; i++) {
        if (h->event_pipe[i] >= 0)
            close(h->event_pipe[i]);
        if (h->stop_pipe[i] >= 0)
            close(h->stop_pipe[i]);
    }
    if (h->fd >= 0)
        close(h->fd);
    free(h);
}

void xs_close(struct xs_handle *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->state_lock);
    bool running = h->reader_running;
    pthread_mutex_unlock(&h->state_lock);
    if (running) {
        /* Wake the reader: end-of-file on a socket; a device cannot be shut down, so the
         * reader also polls a stop pipe (no pthread_cancel: it could strike mid-update). */
        if (h->is_socket) {
            shutdown(h->fd, SHUT_RDWR);
        } else {
            char c = 0;
            if (write(h->stop_pipe[1], &c, 1) != 1) {
                /* A fresh pipe with room for one byte: cannot fail. */
            }
        }
        pthread_join(h->reader, NULL);
    }
    pthread_mutex_destroy(&h->request_lock);
    pthread_mutex_destroy(&h->state_lock);
    pthread_cond_destroy(&h->reply_cond);
    pthread_cond_destroy(&h->event_cond);
    xs_free_handle(h);
}

void xs_daemon_close(struct xs_handle *h)
{
    xs_close(h);
}

void xs_daemon_destroy_postfork(struct xs_handle *h)
{
    if (h)
        xs_free_handle(h);
}

/* stop_fd >= 0: give up with -ECONNRESET once it becomes readable (device reader thread). */
static int xs_read_exact(int fd, int stop_fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        if (stop_fd >= 0) {
            struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
                                    {.fd = stop_fd, .events = POLLIN}};
            if (poll(pfd, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                return -errno;
            }
            if (pfd[1].revents)
                return -ECONNRESET;
        }
        ssize_t n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one whole message. The daemon is a peer: its length is checked before allocating. */
static int xs_read_message(int fd, int stop_fd, struct xsd_sockmsg *hdr, char **body)
{
    int rc = xs_read_exact(fd, stop_fd, hdr, sizeof(*hdr));
    if (rc)
        return rc;
    if (hdr->len > XENSTORE_PAYLOAD_MAX)
        return -E2BIG;
    char *b = malloc(hdr->len + 1);
    if (!b)
        return -ENOMEM;
    rc = xs_read_exact(fd, stop_fd, b, hdr->len);
    if (rc) {
        free(b);
        return rc;
    }
    b[hdr->len] = '\0';
    *body = b;
    return 0;
}

/* Turns an event body "path\0token\0" into one malloc'd vector. */
static struct xs_event *xs_event_from_body(const char *body, unsigned int len)
{
    unsigned int num = xs_count_strings(body, len);
    if (num < 2)
        return NULL;
    struct xs_event *e = malloc(sizeof(*e));
    char **vec = malloc(sizeof(char *) * num + len);
    if (!e || !vec) {
        free(e);
        free(vec);
        return NULL;
    }
    char *strings = (char *)(vec + num);
    memcpy(strings, body, len);
    for (unsigned int i = 0; i < num; i++) {
        vec[i] = strings;
        strings += strlen(strings) + 1;
    }
    e->next = NULL;
    e->vec = vec;
    e->num = num;
    return e;
}

/* Caller holds state_lock. Keeps "one byte in the pipe while events are queued". */
static void xs_queue_event(struct xs_handle *h, struct xs_event *e)
{
    if (!h->events_head && h->event_pipe[1] >= 0) {
        char c = 0;
        if (write(h->event_pipe[1], &c, 1) != 1) {
            /* A pipe holding at most one byte cannot be full. */
        }
    }
    *h->events_tail = e;
    h->events_tail = &e->next;
    pthread_cond_broadcast(&h->event_cond);
}

/* Caller holds state_lock. */
static void xs_mark_dead(struct xs_handle *h, int err)
{
    if (!h->dead_errno)
        h->dead_errno = err;
    pthread_cond_broadcast(&h->reply_cond);
    pthread_cond_broadcast(&h->event_cond);
    if (h->event_pipe[1] >= 0 && !h->events_head) {
        char c = 0;
        if (write(h->event_pipe[1], &c, 1) != 1) {
            /* Pollers are woken either way once the fd is closed. */
        }
    }
}

/* Routes one incoming message: events to the queue, anything else to the reply slot.
 * Caller holds state_lock. Returns 0 or a negative errno for a protocol violation. */
static int xs_dispatch(struct xs_handle *h, struct xsd_sockmsg *hdr, char *body)
{
    if (hdr->type == XS_WATCH_EVENT) {
        struct xs_event *e = xs_event_from_body(body, hdr->len);
        free(body);
        if (!e)
            return -EBADMSG;
        xs_queue_event(h, e);
        return 0;
    }
    if (h->reply_body) { /* a second reply to one request */
        free(body);
        return -EBADMSG;
    }
    h->reply_hdr = *hdr;
    h->reply_body = body;
    pthread_cond_broadcast(&h->reply_cond);
    return 0;
}

static void *xs_reader_main(void *arg)
{
    struct xs_handle *h = arg;
    for (;;) {
        struct xsd_sockmsg hdr;
        char *body;
        int rc = xs_read_message(h->fd, h->stop_pipe[0], &hdr, &body);
        pthread_mutex_lock(&h->state_lock);
        if (rc == 0)
            rc = xs_dispatch(h, &hdr, body);
        if (rc)
            xs_mark_dead(h, -rc);
        pthread_mutex_unlock(&h->state_lock);
        if (rc)
            return NULL;
    }
}

int xs_start_reader(struct xs_handle *h)
{
    int rc = 0;
    /* request_lock excludes a requester reading the socket itself meanwhile. */
    pthread_mutex_lock(&h->request_lock);
    pthread_mutex_lock(&h->state_lock);
    if (!h->reader_running && !h->is_socket && h->stop_pipe[0] < 0 &&
        pipe2(h->stop_pipe, O_CLOEXEC) != 0)
        rc = -errno;
    if (!h->reader_running && rc == 0) {
        rc = -pthread_create(&h->reader, NULL, xs_reader_main, h);
        h->reader_running = rc == 0;
    }
    pthread_mutex_unlock(&h->state_lock);
    pthread_mutex_unlock(&h->request_lock);
    return rc;
}

static int xs_send_all(int fd, struct iovec *iov, unsigned int nr)
{
    while (nr) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = nr};
        /* MSG_NOSIGNAL: a vanished daemon must not kill the application with SIGPIPE. */
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = writev(fd, iov, (int)nr);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (nr && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            nr--;
        }
        if (nr) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* The errno a daemon error name stands for; unknown names map to EINVAL as in Xen. */
static int xs_errno_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (strcmp(name, xsd_errors[i].errstring) == 0)
            return xsd_errors[i].errnum;
    return EINVAL;
}

#define XS_MAX_IOV 8

/* Waits for the reply to the request in flight; caller holds request_lock. */
static int xs_wait_reply(struct xs_handle *h, struct xsd_sockmsg *hdr, char **body)
{
    pthread_mutex_lock(&h->state_lock);
    for (;;) {
        if (h->reply_body) {
            *hdr = h->reply_hdr;
            *body = h->reply_body;
            h->reply_body = NULL;
            pthread_mutex_unlock(&h->state_lock);
            return 0;
        }
        if (h->dead_errno) {
            int e = h->dead_errno;
            pthread_mutex_unlock(&h->state_lock);
            return -e;
        }
        if (h->reader_running) {
            pthread_cond_wait(&h->reply_cond, &h->state_lock);
            continue;
        }
        /* No reader thread yet: read the socket ourselves, queueing any events. */
        pthread_mutex_unlock(&h->state_lock);
        struct xsd_sockmsg in;
        char *b;
        int rc = xs_read_message(h->fd, -1, &in, &b);
        pthread_mutex_lock(&h->state_lock);
        if (rc == 0)
            rc = xs_dispatch(h, &in, b);
        if (rc)
            xs_mark_dead(h, -rc);
    }
}

void *xs_talkv(struct xs_handle *h, uint32_t tx, enum xsd_sockmsg_type type,
               const struct iovec *iov, unsigned int nr, unsigned int *len)
{
    struct iovec out[XS_MAX_IOV + 1];
    struct xsd_sockmsg req = {.type = type, .tx_id = tx};
    if (!h || nr > XS_MAX_IOV) {
        errno = EINVAL;
        return NULL;
    }
    size_t total = 0;
    for (unsigned int i = 0; i < nr; i++) {
        total += iov[i].iov_len;
        out[i + 1] = iov[i];
    }
    if (total > XENSTORE_PAYLOAD_MAX) {
        errno = E2BIG;
        return NULL;
    }
    req.len = (uint32_t)total;
    out[0].iov_base = &req;
    out[0].iov_len = sizeof(req);

    pthread_mutex_lock(&h->request_lock);
    pthread_mutex_lock(&h->state_lock);
    int rc = -h->dead_errno;
    req.req_id = h->next_req_id++;
    pthread_mutex_unlock(&h->state_lock);
    if (rc == 0) {
        rc = xs_send_all(h->fd, out, nr + 1);
        if (rc) {
            pthread_mutex_lock(&h->state_lock);
            xs_mark_dead(h, -rc);
            pthread_mutex_unlock(&h->state_lock);
        }
    }
    struct xsd_sockmsg hdr;
    char *body = NULL;
    if (rc == 0)
        rc = xs_wait_reply(h, &hdr, &body);
    pthread_mutex_unlock(&h->request_lock);
    if (rc) {
        errno = -rc;
        return NULL;
    }
    if (hdr.type == XS_ERROR) {
        errno = xs_errno_from_name(body);
        free(body);
        return NULL;
    }
    if (hdr.type != (uint32_t)type || hdr.req_id != req.req_id) {
        free(body);
        errno = EBADMSG;
        return NULL;
    }
    if (len)
        *len = hdr.len;
    return body;
}

/* The answer to request req_id of type: 0, the errno of an error reply, or -EBADMSG for a
 * reply that is not its answer (the connection is then out of step: marked dead). */
static int xs_batch_reply(struct xs_handle *h, enum xsd_sockmsg_type type, uint32_t req_id,
                          int *err)
{
    struct xsd_sockmsg hdr;
    char *body = NULL;
    int rc = xs_wait_reply(h, &hdr, &body);
    if (rc)
        return rc;
    if (hdr.req_id != req_id || (hdr.type != XS_ERROR && hdr.type != (uint32_t)type)) {
        free(body);
        pthread_mutex_lock(&h->state_lock);
        xs_mark_dead(h, EBADMSG);
        pthread_mutex_unlock(&h->state_lock);
        return -EBADMSG;
    }
    *err = hdr.type == XS_ERROR ? xs_errno_from_name(body) : 0;
    free(body);
    return 0;
}

/* Requests per sendmsg: three iovecs each, well inside IOV_MAX. Their replies to requests
 * that change the store are a few bytes each, so the daemon never waits for this side to
 * read while it is still sending (the socket buffer holds them all). */
#define XS_BATCH_SEND 128

int xs_talk_batch(struct xs_handle *h, uint32_t tx, const enum xsd_sockmsg_type *types,
                  const struct iovec *reqs, unsigned int nr, int *errs)
{
    struct xsd_sockmsg hdrs[XS_BATCH_SEND];
    struct iovec out[3 * XS_BATCH_SEND];
    pthread_mutex_lock(&h->request_lock);
    pthread_mutex_lock(&h->state_lock);
    int rc = -h->dead_errno;
    /* The reader thread holds one reply at a time (xs_dispatch): with it, one by one. */
    unsigned int group = h->reader_running ? 1 : XS_BATCH_SEND;
    pthread_mutex_unlock(&h->state_lock);
    for (unsigned int first = 0; rc == 0 && first < nr; first += group) {
        unsigned int n = nr - first < group ? nr - first : group;
        pthread_mutex_lock(&h->state_lock);
        for (unsigned int i = 0; i < n; i++) {
            const struct iovec *r = &reqs[2 * (first + i)];
            hdrs[i] = (struct xsd_sockmsg){.type = types[first + i],
                                           .req_id = h->next_req_id++,
                                           .tx_id = tx,
                                           .len = (uint32_t)(r[0].iov_len + r[1].iov_len)};
            out[3 * i] = (struct iovec){.iov_base = &hdrs[i], .iov_len = sizeof(hdrs[i])};
            out[3 * i + 1] = r[0];
            out[3 * i + 2] = r[1];
        }
        pthread_mutex_unlock(&h->state_lock);
        if ((rc = xs_send_all(h->fd, out, 3 * n))) {
            pthread_mutex_lock(&h->state_lock);
            xs_mark_dead(h, -rc);
            pthread_mutex_unlock(&h->state_lock);
            break;
        }
        for (unsigned int i = 0; i < n && rc == 0; i++)
            rc = xs_batch_reply(h, types[first + i], hdrs[i].req_id, &errs[first + i]);
    }
    pthread_mutex_unlock(&h->request_lock);
    return rc;
}

char **xs_pop_event(struct xs_handle *h, unsigned int *num, bool wait)
{
    pthread_mutex_lock(&h->state_lock);
    while (!h->events_head) {
        int err = h->dead_errno ? h->dead_errno : (!wait ? EAGAIN : 0);
        if (err) {
            pthread_mutex_unlock(&h->state_lock);
            errno = err;
            return NULL;
        }
        if (!h->reader_running) {
            pthread_mutex_unlock(&h->state_lock);
            int rc = xs_start_reader(h);
            if (rc) {
                errno = -rc;
                return NULL;
            }
            pthread_mutex_lock(&h->state_lock);
            continue;
        }
        pthread_cond_wait(&h->event_cond, &h->state_lock);
    }
    struct xs_event *e = h->events_head;
    h->events_head = e->next;
    if (!h->events_head) {
        h->events_tail = &h->events_head;
        if (h->event_pipe[0] >= 0) {
            char c;
            if (read(h->event_pipe[0], &c, 1) != 1) {
                /* Non-blocking: nothing to drain after a dead-connection wake-up. */
            }
        }
    }
    pthread_mutex_unlock(&h->state_lock);
    char **vec = e->vec;
    if (num)
        *num = e->num;
    free(e);
    return vec;
}

void xs_filter_events(struct xs_handle *h, const char *path, const char *token)
{
    pthread_mutex_lock(&h->state_lock);
    bool had = h->events_head != NULL;
    struct xs_event **pp = &h->events_head;
    h->events_tail = &h->events_head;
    while (*pp) {
        struct xs_event *e = *pp;
        if (strcmp(e->vec[XS_WATCH_TOKEN], token) == 0 &&
            xs_path_is_subpath(path, e->vec[XS_WATCH_PATH])) {
            *pp = e->next;
            free(e->vec);
            free(e);
            continue;
        }
        pp = &e->next;
        h->events_tail = pp;
    }
    if (had && !h->events_head && h->event_pipe[0] >= 0) {
        char c;
        if (read(h->event_pipe[0], &c, 1) != 1) {
            /* Nothing to drain. */
        }
    }
    pthread_mutex_unlock(&h->state_lock);
}

int xs_fileno(struct xs_handle *h)
{
    if (!h) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&h->state_lock);
    if (h->event_pipe[0] < 0) {
        if (pipe2(h->event_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
            int e = errno;
            h->event_pipe[0] = h->event_pipe[1] = -1;
            pthread_mutex_unlock(&h->state_lock);
            errno = e;
            return -1;
        }
        if (h->events_head || h->dead_errno) {
            char c = 0;
            if (write(h->event_pipe[1], &c, 1) != 1) {
                /* Fresh pipe: cannot fail. */
            }
        }
    }
    int fd = h->event_pipe[0];
    pthread_mutex_unlock(&h->state_lock);
    return fd;
}
