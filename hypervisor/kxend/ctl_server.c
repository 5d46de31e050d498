/* kxend's control socket server: one thread polls the listening socket and every client;
 * each message is one request (header + payload + SCM_RIGHTS fds), dispatched by op through
 * the op groups, answered with one reply. Malformed input gets an error reply or closes that
 * connection; it never stops the server. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/ctl_server.h"

/* Unprivileged clients share this many connections. Privileged callers (root and kxend's own
 * user: the toolstack, one monitor per domain holding two) have no count cap, only the fd
 * limit, so that neither other users nor many domains can lock the toolstack out. */
#define MAX_UNPRIVILEGED 192
#define MAX_CLEANUPS 64
/* How long the (single) server thread waits for a client to make room for its reply. A
 * client that never reads its replies would otherwise block the server for every client. */
#define REPLY_SEND_WAIT_MS 200

struct cleanup {
    void (*fn)(void *);
    void *arg;
};

struct ctl_conn {
    int fd;
    pid_t pid;
    uid_t uid;
    bool privileged;
    struct cleanup *cleanups;
    unsigned nr_cleanups, cap_cleanups;
    pthread_mutex_t send_lock; /* replies (server thread) vs events (any thread) */
};

static int listen_fd = -1, wake_fd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct ctl_conn **conns; /* grown as clients arrive */
static unsigned nr_conns, cap_conns;
static uid_t my_uid;
static _Atomic bool stopping;
static uint8_t *rx_buf, *tx_buf;

#define BUF_SIZE (sizeof(struct kxen_ctl_hdr) + KXEN_CTL_MAX_PAYLOAD)

int ctl_op_groups_check(const struct ctl_op_group *const *groups, size_t nr_groups)
{
    for (size_t g = 0; g < nr_groups; g++)
        for (unsigned i = 0; i < groups[g]->nr_ops; i++)
            for (size_t h = g; h < nr_groups; h++)
                for (unsigned j = h == g ? i + 1 : 0; j < groups[h]->nr_ops; j++) {
                    const struct ctl_op *a = &groups[g]->ops[i], *b = &groups[h]->ops[j];
                    if (a->op != b->op)
                        continue;
                    log_err("control op %u registered twice: %s (group %s) and %s (group %s)",
                            a->op, a->name, groups[g]->name, b->name, groups[h]->name);
                    return -EEXIST;
                }
    return 0;
}

static int groups_rc;

static void groups_check_once(void)
{
    groups_rc =
        ctl_op_groups_check(__start_kxend_ctl_groups, KXEND_SECTION_COUNT(kxend_ctl_groups));
}

int ctl_op_groups_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, groups_check_once);
    return groups_rc;
}

const struct ctl_op *ctl_find_op(uint32_t op)
{
    for (KXEND_FOREACH(kxend_ctl_groups, struct ctl_op_group, g))
        for (unsigned i = 0; i < (*g)->nr_ops; i++)
            if ((*g)->ops[i].op == op)
                return &(*g)->ops[i];
    return NULL;
}

int ctl_refuse(struct ctl_reply *rep, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
    va_end(ap);
    return rc;
}

int ctl_server_init(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int rc = ctl_op_groups_init();
    if (rc < 0)
        return rc;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    strcpy(sock_path, path);
    my_uid = geteuid();
    rx_buf = aligned_alloc(16, BUF_SIZE);
    tx_buf = aligned_alloc(16, BUF_SIZE);
    if (!rx_buf || !tx_buf)
        return -ENOMEM;
    listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd < 0)
        return -errno;
    unlink(path); /* stale socket: the pid-file lock proved no kxend owns it */
    mode_t old = umask(0077);
    rc = bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(listen_fd, 64) < 0)
        return -errno;
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0)
        return -errno;
    return 0;
}

void ctl_server_stop(void)
{
    uint64_t one = 1;
    atomic_store(&stopping, true);
    if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0) {
        /* counter full: the server is already woken */
    }
}

int ctl_conn_add_cleanup(struct ctl_conn *conn, void (*fn)(void *arg), void *arg)
{
    if (conn->nr_cleanups == conn->cap_cleanups) {
        if (conn->cap_cleanups >= 4096)
            return -ENOSPC;
        unsigned nc = conn->cap_cleanups ? conn->cap_cleanups * 2 : 8;
        struct cleanup *n = realloc(conn->cleanups, nc * sizeof(*n));
        if (!n)
            return -ENOMEM;
        conn->cleanups = n;
        conn->cap_cleanups = nc;
    }
    conn->cleanups[conn->nr_cleanups++] = (struct cleanup){fn, arg};
    return 0;
}

void ctl_conn_remove_cleanup(struct ctl_conn *conn, void (*fn)(void *arg), void *arg)
{
    for (unsigned i = 0; i < conn->nr_cleanups; i++) {
        if (conn->cleanups[i].fn == fn && conn->cleanups[i].arg == arg) {
            conn->cleanups[i] = conn->cleanups[--conn->nr_cleanups];
            return;
        }
    }
}

int ctl_conn_send_event(struct ctl_conn *conn, uint32_t op, const void *payload, uint32_t len)
{
    uint8_t buf[sizeof(struct kxen_ctl_hdr) + 256];
    if (len > 256)
        return -EINVAL;
    struct kxen_ctl_hdr h = {.op = op, .seq = 0, .rc = 0, .len = len};
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), payload, len);
    pthread_mutex_lock(&conn->send_lock);
    ssize_t n = send(conn->fd, buf, sizeof(h) + len, MSG_DONTWAIT | MSG_NOSIGNAL);
    pthread_mutex_unlock(&conn->send_lock);
    return n < 0 ? -errno : 0;
}

bool ctl_conn_privileged(const struct ctl_conn *conn)
{
    return conn->privileged;
}

static void conn_close(unsigned idx)
{
    struct ctl_conn *c = conns[idx];
    domain_events_unsubscribe(c);
    /* Cleanups may run in any order; each releases what it registered for. */
    while (c->nr_cleanups) {
        struct cleanup cl = c->cleanups[--c->nr_cleanups];
        cl.fn(cl.arg);
    }
    free(c->cleanups);
    close(c->fd);
    pthread_mutex_destroy(&c->send_lock);
    free(c);
    conns[idx] = conns[--nr_conns];
}

static void conn_accept(void)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0) {
        log_warn("control: refusing a connection (no peer credentials)");
        close(fd);
        return;
    }
    bool privileged = cr.uid == 0 || cr.uid == my_uid;
    unsigned unprivileged = 0;
    for (unsigned i = 0; i < nr_conns; i++)
        unprivileged += !conns[i]->privileged;
    if (!privileged && unprivileged >= MAX_UNPRIVILEGED) {
        log_warn("control: refusing a connection from uid %u: too many unprivileged clients",
                 (unsigned)cr.uid);
        close(fd);
        return;
    }
    if (nr_conns == cap_conns) {
        unsigned cap = cap_conns ? cap_conns * 2 : 64;
        struct ctl_conn **nc = realloc(conns, cap * sizeof(*nc));
        if (!nc) {
            close(fd);
            return;
        }
        conns = nc;
        cap_conns = cap;
    }
    struct ctl_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->pid = cr.pid;
    c->uid = cr.uid;
    c->privileged = privileged;
    pthread_mutex_init(&c->send_lock, NULL);
    conns[nr_conns++] = c;
    log_debug("control: client pid %d uid %u connected%s", (int)cr.pid, (unsigned)cr.uid,
              c->privileged ? " (privileged)" : "");
}

static int send_reply(struct ctl_conn *c, const struct kxen_ctl_hdr *req, int rc,
                      const struct ctl_reply *rep)
{
    struct kxen_ctl_hdr h = {.op = req->op, .seq = req->seq, .rc = rc, .len = rep ? rep->len : 0};
    struct iovec iov[2] = {{&h, sizeof(h)}, {rep ? rep->payload : NULL, h.len}};
    union {
        char buf[CMSG_SPACE(sizeof(int) * KXEN_CTL_MAX_FDS)];
        struct cmsghdr align;
    } cm;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = h.len ? 2 : 1};
    if (rep && rep->nfds) {
        memset(&cm, 0, sizeof(cm));
        mh.msg_control = cm.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * rep->nfds);
        struct cmsghdr *cmh = CMSG_FIRSTHDR(&mh);
        cmh->cmsg_level = SOL_SOCKET;
        cmh->cmsg_type = SCM_RIGHTS;
        cmh->cmsg_len = CMSG_LEN(sizeof(int) * rep->nfds);
        memcpy(CMSG_DATA(cmh), rep->fds, sizeof(int) * rep->nfds);
    }
    pthread_mutex_lock(&c->send_lock);
    ssize_t n;
    bool waited = false;
    for (;;) {
        n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || waited)
            break;
        /* The client's queue is full: give it a bounded moment, then drop it. */
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        waited = true;
        if (poll(&pfd, 1, REPLY_SEND_WAIT_MS) <= 0) {
            errno = EAGAIN;
            break;
        }
    }
    int err = n < 0 ? errno : 0;
    pthread_mutex_unlock(&c->send_lock);
    if (err == EAGAIN)
        log_warn("control: pid %d does not read its replies: closing", (int)c->pid);
    return -err;
}

/* Handles one message; returns false when the connection must close. */
static bool conn_handle(struct ctl_conn *c)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * KXEN_CTL_MAX_FDS)];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {rx_buf, BUF_SIZE};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    int fds[KXEN_CTL_MAX_FDS];
    unsigned nfds = 0;

    ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    for (struct cmsghdr *cmh = CMSG_FIRSTHDR(&mh); cmh; cmh = CMSG_NXTHDR(&mh, cmh)) {
        if (cmh->cmsg_level != SOL_SOCKET || cmh->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned cnt = (unsigned)((cmh->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *p = (int *)CMSG_DATA(cmh);
        for (unsigned i = 0; i < cnt; i++) {
            if (nfds < KXEN_CTL_MAX_FDS)
                fds[nfds++] = p[i];
            else
                close(p[i]);
        }
    }
    bool keep = true;
    struct kxen_ctl_hdr h;
    if (n == 0) {
        keep = false;
    } else if ((size_t)n < sizeof(h) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        log_warn("control: pid %d sent a malformed message (%zd bytes%s): closing", (int)c->pid, n,
                 (mh.msg_flags & MSG_TRUNC) ? ", truncated" : "");
        keep = false;
    } else {
        memcpy(&h, rx_buf, sizeof(h));
        struct ctl_reply rep = {.payload = tx_buf, .len = 0, .nfds = 0};
        int rc;
        const struct ctl_op *op = ctl_find_op(h.op);
        if (h.len != (size_t)n - sizeof(h) || h.rc != 0) {
            rc = -EINVAL; /* header disagrees with the message */
        } else if (!op || !op->fn) {
            rc = -ENOSYS;
        } else if (op->privileged && !c->privileged) {
            rc = -EPERM;
        } else if (h.len < op->min_len) {
            rc = -EINVAL;
        } else {
            struct ctl_request req = {.conn = c,
                                      .op = h.op,
                                      .payload = rx_buf + sizeof(h),
                                      .len = h.len,
                                      .fds = fds,
                                      .nfds = nfds,
                                      .privileged = c->privileged,
                                      .pid = c->pid,
                                      .uid = c->uid};
            rc = op->fn(&req, &rep);
            if (rc > 0)
                rc = 0;
            if (rep.len > KXEN_CTL_MAX_PAYLOAD || rep.nfds > KXEN_CTL_MAX_FDS) {
                log_err("control: op %s produced an oversized reply", op->name);
                rep.len = 0;
                rep.nfds = 0;
                rc = -EIO;
            }
        }
        if (rc < 0 && rep.nfds) {
            for (unsigned i = 0; i < rep.nfds; i++)
                close(rep.fds[i]);
            rep.nfds = 0;
        }
        if (rc < 0)
            rep.len = 0;
        if (rc < 0 && rep.reason[0]) {
            /* The reason is the refusal's payload; the caller prints it. */
            log_warn("control: %s for pid %d refused: %s", op ? op->name : "?", (int)c->pid,
                     rep.reason);
            rep.len = (uint32_t)strlen(rep.reason) + 1;
            memcpy(rep.payload, rep.reason, rep.len);
        }
        if (send_reply(c, &h, rc, &rep) < 0)
            keep = false;
        for (unsigned i = 0; i < rep.nfds; i++)
            close(rep.fds[i]);
    }
    /* Descriptors the handler did not take (left != -1) are closed here. */
    for (unsigned i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return keep;
}

int ctl_server_run(void)
{
    struct pollfd *pfd = NULL;
    unsigned cap_pfd = 0;
    while (!atomic_load(&stopping)) {
        if (cap_pfd < nr_conns + 2) {
            struct pollfd *np = realloc(pfd, (cap_conns + 2) * sizeof(*np));
            if (!np) {
                free(pfd);
                return -ENOMEM;
            }
            pfd = np;
            cap_pfd = cap_conns + 2;
        }
        pfd[0] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
        unsigned n = nr_conns;
        for (unsigned i = 0; i < n; i++)
            pfd[2 + i] = (struct pollfd){.fd = conns[i]->fd, .events = POLLIN};
        int rc = poll(pfd, n + 2, -1);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            free(pfd);
            return rc;
        }
        if (pfd[1].revents)
            break;
        /* Walk backwards: conn_close moves the last connection into the freed slot. */
        for (unsigned i = n; i-- > 0;) {
            if (!pfd[2 + i].revents)
                continue;
            if (!(pfd[2 + i].revents & POLLIN) || !conn_handle(conns[i]))
                conn_close(i);
        }
        if (pfd[0].revents & POLLIN)
            conn_accept();
    }
    free(pfd);
    return 0;
}

void ctl_server_fini(void)
{
    while (nr_conns)
        conn_close(nr_conns - 1);
    free(conns);
    conns = NULL;
    cap_conns = 0;
    if (listen_fd >= 0) {
        close(listen_fd);
        unlink(sock_path);
    }
    if (wake_fd >= 0)
        close(wake_fd);
    listen_fd = wake_fd = -1;
    free(rx_buf);
    free(tx_buf);
    rx_buf = tx_buf = NULL;
}
