/* Client side of kxend's control socket: connect, one request/reply at a time matched by
 * seq, descriptors by SCM_RIGHTS, asynchronous event messages for subscribers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/util.h"

struct kxen_ctl {
    int fd;
    uint32_t seq;
    pthread_mutex_t lock;
    uint8_t *buf;                     /* one message: header + KXEN_CTL_MAX_PAYLOAD */
    char reason[KXEN_CTL_REASON_MAX]; /* the last refusal's reason, "" when it gave none */
};

#define MSG_CAP (sizeof(struct kxen_ctl_hdr) + KXEN_CTL_MAX_PAYLOAD)

int kxen_ctl_open(const char *rundir, struct kxen_ctl **out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char dir[sizeof(sa.sun_path)];
    int rc;

    *out = NULL;
    if (rundir) {
        if (strlen(rundir) >= sizeof(dir))
            return -ENAMETOOLONG;
        strcpy(dir, rundir);
    } else if ((rc = kxen_rundir(dir, sizeof(dir))) < 0) {
        return rc;
    }
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, KXEN_CTL_SOCKET_NAME) >=
        sizeof(sa.sun_path))
        return -ENAMETOOLONG;

    struct kxen_ctl *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->buf = malloc(MSG_CAP);
    if (!c->buf) {
        free(c);
        return -ENOMEM;
    }
    c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        if (c->fd >= 0)
            close(c->fd);
        free(c->buf);
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void kxen_ctl_close(struct kxen_ctl *c)
{
    if (!c)
        return;
    close(c->fd);
    pthread_mutex_destroy(&c->lock);
    free(c->buf);
    free(c);
}

int kxen_ctl_fd(const struct kxen_ctl *c)
{
    return c->fd;
}

static int send_msg(int fd, const struct kxen_ctl_hdr *h, const void *payload, const int *fds,
                    unsigned nfds)
{
    struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)payload, h->len}};
    union {
        char buf[CMSG_SPACE(sizeof(int) * KXEN_CTL_MAX_FDS)];
        struct cmsghdr align;
    } cm;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = h->len ? 2 : 1};

    if (nfds > KXEN_CTL_MAX_FDS)
        return -EINVAL;
    if (nfds) {
        memset(&cm, 0, sizeof(cm));
        mh.msg_control = cm.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cmh = CMSG_FIRSTHDR(&mh);
        cmh->cmsg_level = SOL_SOCKET;
        cmh->cmsg_type = SCM_RIGHTS;
        cmh->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmh), fds, sizeof(int) * nfds);
    }
    for (;;) {
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n >= 0)
            return 0;
        if (errno != EINTR)
            return errno == ECONNRESET ? -EPIPE : -errno;
    }
}

/* Receives one message into c->buf; fds into fds_out (closed when fds_out is NULL). Returns
 * the message length or -errno. */
static ssize_t recv_msg(struct kxen_ctl *c, int *fds_out, unsigned *nfds_out)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * KXEN_CTL_MAX_FDS)];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {c->buf, MSG_CAP};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    ssize_t n;

    if (nfds_out)
        *nfds_out = 0;
    do {
        n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == ECONNRESET ? -EPIPE : -errno;
    for (struct cmsghdr *cmh = CMSG_FIRSTHDR(&mh); cmh; cmh = CMSG_NXTHDR(&mh, cmh)) {
        if (cmh->cmsg_level != SOL_SOCKET || cmh->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned cnt = (cmh->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *p = (int *)CMSG_DATA(cmh);
        for (unsigned i = 0; i < cnt; i++) {
            if (fds_out && nfds_out && *nfds_out < KXEN_CTL_MAX_FDS)
                fds_out[(*nfds_out)++] = p[i];
            else
                close(p[i]);
        }
    }
    if (n == 0)
        return -EPIPE;
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        return -EPROTO;
    return n;
}

static void close_fds(int *fds, unsigned *n)
{
    for (unsigned i = 0; i < *n; i++)
        close(fds[i]);
    *n = 0;
}

int kxen_ctl_call(struct kxen_ctl *c, uint32_t op, const void *req, uint32_t req_len,
                  const int *fds, unsigned nfds, void *rep, uint32_t rep_cap, uint32_t *rep_len,
                  int *rep_fds, unsigned *rep_nfds)
{
    int tmp_fds[KXEN_CTL_MAX_FDS];
    unsigned tmp_n = 0;
    int rc;

    if (rep_len)
        *rep_len = 0;
    if (rep_nfds)
        *rep_nfds = 0;
    if (req_len > KXEN_CTL_MAX_PAYLOAD || (req_len && !req))
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    c->reason[0] = 0;
    if (++c->seq == 0)
        c->seq = 1; /* seq 0 marks asynchronous messages */
    struct kxen_ctl_hdr h = {.op = op, .seq = c->seq, .rc = 0, .len = req_len};
    rc = send_msg(c->fd, &h, req, fds, nfds);
    while (rc == 0) {
        ssize_t n = recv_msg(c, tmp_fds, &tmp_n);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        struct kxen_ctl_hdr rh;
        if ((size_t)n < sizeof(rh)) {
            close_fds(tmp_fds, &tmp_n);
            rc = -EPROTO;
            break;
        }
        memcpy(&rh, c->buf, sizeof(rh));
        if (rh.seq != c->seq || rh.op != op) {
            close_fds(tmp_fds, &tmp_n); /* an event or a stale reply: not ours */
            continue;
        }
        if (rh.len != (size_t)n - sizeof(rh) || rh.rc > 0) {
            close_fds(tmp_fds, &tmp_n);
            rc = -EPROTO;
            break;
        }
        if (rh.rc < 0 && rh.len) {
            /* A refusal's payload is its reason (text, NUL-terminated by us). */
            size_t n_r = rh.len < sizeof(c->reason) ? rh.len : sizeof(c->reason) - 1;
            memcpy(c->reason, c->buf + sizeof(rh), n_r);
            c->reason[n_r] = 0;
            close_fds(tmp_fds, &tmp_n);
            rc = rh.rc;
            break;
        }
        if (rh.len > rep_cap) {
            close_fds(tmp_fds, &tmp_n);
            rc = rh.rc < 0 ? rh.rc : -EMSGSIZE;
            break;
        }
        if (rh.len)
            memcpy(rep, c->buf + sizeof(rh), rh.len);
        if (rep_len)
            *rep_len = rh.len;
        if (rep_fds && rep_nfds) {
            memcpy(rep_fds, tmp_fds, tmp_n * sizeof(int));
            *rep_nfds = tmp_n;
        } else {
            close_fds(tmp_fds, &tmp_n);
        }
        rc = rh.rc;
        break;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

const char *kxen_ctl_reason(const struct kxen_ctl *c)
{
    return c ? c->reason : "";
}

int kxen_ctl_simple(struct kxen_ctl *c, uint32_t op, const void *req, uint32_t req_len, void *rep,
                    uint32_t rep_cap, uint32_t *rep_len)
{
    return kxen_ctl_call(c, op, req, req_len, NULL, 0, rep, rep_cap, rep_len, NULL, NULL);
}

int kxen_ctl_recv_event(struct kxen_ctl *c, int timeout_ms, uint32_t *op, void *buf, uint32_t cap,
                        uint32_t *len)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int rc;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        rc = poll(&pfd, 1, timeout_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            rc = -errno;
            break;
        }
        if (rc == 0) {
            rc = -ETIMEDOUT;
            break;
        }
        ssize_t n = recv_msg(c, NULL, NULL);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        struct kxen_ctl_hdr h;
        if ((size_t)n < sizeof(h)) {
            rc = -EPROTO;
            break;
        }
        memcpy(&h, c->buf, sizeof(h));
        if (h.seq != 0 || h.len != (size_t)n - sizeof(h))
            continue; /* a late reply, not an event */
        if (h.len > cap) {
            rc = -EMSGSIZE;
            break;
        }
        memcpy(buf, c->buf + sizeof(h), h.len);
        *op = h.op;
        if (len)
            *len = h.len;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}
