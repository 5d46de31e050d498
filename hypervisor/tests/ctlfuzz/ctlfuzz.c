/* kxen-ctlfuzz: random and mutated messages to kxend's control socket.
 *
 *   kxen-ctlfuzz [--socket PATH] [--seed N] [--secs S] [--unpriv UID] [--deaf-check]
 *                [--hog SECS] [--image ELF]
 *
 * Sends, for S seconds: mutated requests of every op (and unknown ones) with random lengths,
 * header fields that disagree with the message, truncated and oversized payloads, huge
 * counts, descriptors of every kind with SCM_RIGHTS (up to 10, more than kxend takes), empty
 * and short messages, disconnects right after a request, bursts of connections, and requests
 * whose replies are never read. Each reply must come within 3 s, echo the request's op and
 * seq, and follow kxend's rules where the outcome is certain (unknown op -ENOSYS, length
 * mismatch or rc != 0 -EINVAL, privileged op from an unprivileged caller -EPERM). With
 * --unpriv the process drops to that uid first (it must start as root). Domains it manages to
 * create are destroyed at the end; it never asks the daemon to shut down.
 * --image ELF: DOMAIN_LOAD requests often carry that guest image (with a command line for
 * hcfuzz), so the domains created during the run boot and their vCPUs run while other
 * requests pause, unpause, shut down, rename and destroy them.
 * --hog SECS instead holds as many connections as kxend accepts (up to 400) for SECS seconds
 * and prints how many it got (the caller checks that others are still served meanwhile).
 * --deaf-check instead fills one connection's queue with unread replies, then checks that a
 * second connection is still answered (HELLO) within 3 s.
 * Prints one summary line; exit 0 when kxend kept every rule, 1 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "kxen/ctl.h"
#include "kxen/ctl_domain.h"
#include "kxen/util.h"

#define REPLY_TIMEOUT_MS 3000
#define MAX_OWN_DOMAINS 256

static char sock_path[108];
static uint64_t rng;
static bool privileged;
static unsigned long sent, replies, closed_by_kxend, violations, fds_sent, bursts, unread;
static unsigned nr_own_domains; /* creates answered with success */
static unsigned nr_loaded;      /* loads answered with success (guests booted) */
static uint16_t pool[16];       /* ids of domains we created: later ops aim at them */
static unsigned pool_n;
static const char *image_path; /* --image: a real guest to load into them */
static uint32_t next_seq = 1;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}
static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}
static bool chance(unsigned pct)
{
    return below(100) < pct;
}

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ctlfuzz: VIOLATION: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    violations++;
}

static int conn_open(void)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* A descriptor of some kind to pass with SCM_RIGHTS (the caller closes it). */
static int make_fd(void)
{
    int p[2], fd = -1;
    switch (below(14)) {
    case 0:
        return open("/dev/null", O_RDWR | O_CLOEXEC);
    case 1:
        return open("/dev/zero", O_RDONLY | O_CLOEXEC);
    case 2:
    case 3:
        if (pipe2(p, O_CLOEXEC) < 0)
            return -1;
        close(p[below(2)]);
        return p[0] >= 0 && fcntl(p[0], F_GETFD) >= 0 ? p[0] : p[1];
    case 4:
        return eventfd(0, EFD_CLOEXEC);
    case 5: /* memfd: empty, small garbage, a fake ELF header, just past the image limit */
    case 6:
        fd = memfd_create("ctlfuzz", MFD_CLOEXEC);
        if (fd >= 0) {
            uint8_t buf[256];
            for (size_t i = 0; i < sizeof(buf); i++)
                buf[i] = (uint8_t)rnd();
            if (chance(50))
                memcpy(buf,
                       "\x7f"
                       "ELF\x02\x01\x01",
                       7);
            switch (below(4)) {
            case 0:
                break;
            case 1:
                kxen_write_full(fd, buf, below(sizeof(buf)) + 1);
                break;
            case 2:
                kxen_write_full(fd, buf, sizeof(buf));
                if (ftruncate(fd, 4096 * (off_t)below(64))) {
                }
                break;
            default:
                if (ftruncate(fd, (64 << 20) + 1)) {
                }
                break;
            }
        }
        return fd;
    case 7:
        return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    case 8:
        return open("/proc/self/exe", O_PATH | O_CLOEXEC);
    case 9:
        return open("/proc/self/exe", O_RDONLY | O_CLOEXEC); /* an ELF kxend refuses */
    case 10:
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
            return -1;
        close(p[1]);
        return p[0];
    case 11:
        return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    case 12:
        return epoll_create1(EPOLL_CLOEXEC);
    default:
        return conn_open(); /* another connection to kxend itself */
    }
}

/* The payload size for an op: its struct (as kxend expects) or a mutation of it. */
static size_t op_size(uint32_t op)
{
    static const size_t sizes[] = {0, 1, 4, 8, 16, 24, 32, 40, 48, 64, 96, 128, 136, 256, 1100};
    if (op == KXEN_CTL_DOMAIN_LOAD && chance(70))
        return sizeof(struct kxen_ctl_domain_load);
    if (op == KXEN_CTL_DOMAIN_CREATE && chance(50))
        return sizeof(struct kxen_ctl_domain_create);
    if (chance(15))
        return below(4096);
    if (chance(3))
        return KXEN_CTL_MAX_PAYLOAD - below(2);
    return sizes[below(ARRAY_SIZE(sizes))];
}

/* Structured garbage: small ids, interesting integers, names, zeros. */
static void fill(uint8_t *p, size_t len, uint32_t op)
{
    memset(p, 0, len);
    for (size_t off = 0; off + 8 <= len; off += 8) {
        uint64_t v;
        switch (below(10)) {
        case 0:
            v = below(8);
            break; /* domids, ports, vcpus */
        case 1:
            v = ~0ull;
            break;
        case 2:
            v = 1ull << below(64);
            break;
        case 3:
            v = (uint64_t) - (int64_t)below(4096);
            break;
        case 4:
            v = 0x7ff0 + below(16);
            break; /* reserved domids */
        case 5:
            v = rnd();
            break;
        default:
            v = 0;
            break;
        }
        memcpy(p + off, &v, 8);
    }
    if (op == KXEN_CTL_DOMAIN_CREATE && len >= sizeof(struct kxen_ctl_domain_create) &&
        chance(70)) {
        /* a plausible create, so later ops meet a live domain (destroyed at the end) */
        struct kxen_ctl_domain_create *c = (void *)p;
        snprintf(c->name, sizeof(c->name), "cf%llu", (unsigned long long)below(1000000));
        c->memory_kb = chance(80) ? 1024 * (1 + below(16)) : rnd();
        c->nr_vcpus = (uint32_t)(chance(80) ? 1 + below(4) : rnd());
        c->domid = (uint16_t)(chance(80) ? 0 : below(40));
    }
    /* Most payloads start with a domid: often one of the domains we created (they may be
     * running the --image guest), so lifecycle ops race with live vCPUs. */
    if (len >= 2 && pool_n && chance(50)) {
        uint16_t id = pool[below(pool_n)];
        memcpy(p, &id, 2);
    }
    if (op == KXEN_CTL_DOMAIN_LOAD && len >= sizeof(struct kxen_ctl_domain_load) && chance(70)) {
        struct kxen_ctl_domain_load *l = (void *)p;
        l->flags = chance(80) ? 0 : (uint32_t)rnd();
        l->store_evtchn = (uint32_t)(chance(70) ? 0 : below(8));
        l->console_evtchn = (uint32_t)(chance(70) ? 0 : below(8));
        snprintf(l->cmdline, sizeof(l->cmdline), "seed=%llu secs=1",
                 (unsigned long long)below(1000));
    }
    if (op == KXEN_CTL_DOMAIN_RENAME && len >= 8 && chance(50))
        snprintf((char *)p + 4, len - 4, "cfr%llu", (unsigned long long)below(100));
}

static uint32_t pick_op(void)
{
    static const uint32_t ops[] = {1,  2,  3,   4,   5,   6,   7,   8,   9,   10, 11, 12,
                                   13, 14, 15,  64,  65,  66,  67,  68,  69,  70, 96, 97,
                                   98, 99, 100, 128, 129, 130, 192, 193, 194, 195};
    if (chance(85))
        return ops[below(ARRAY_SIZE(ops))];
    if (chance(50))
        return (uint32_t)below(200);
    return (uint32_t)rnd();
}

static void note_domain(uint32_t op, const struct kxen_ctl_hdr *h, const uint8_t *payload,
                        size_t len)
{
    if (op != KXEN_CTL_DOMAIN_CREATE || h->rc != 0 || len < sizeof(struct kxen_ctl_domid_rep))
        return;
    nr_own_domains++;
    const struct kxen_ctl_domid_rep *r = (const void *)payload;
    pool[pool_n < ARRAY_SIZE(pool) ? pool_n++ : below(ARRAY_SIZE(pool))] = r->domid;
}

/* Waits for the reply to (op, seq), skipping asynchronous events. Returns 1 for a reply
 * (rc in *rc), 0 when kxend closed the connection, -1 on a timeout (a violation). */
static int await_reply(int fd, uint32_t op, uint32_t seq, int32_t *rc)
{
    static uint8_t buf[sizeof(struct kxen_ctl_hdr) + KXEN_CTL_MAX_PAYLOAD + 64];
    uint64_t deadline = kxen_now_ns() + REPLY_TIMEOUT_MS * 1000000ull;
    for (;;) {
        uint64_t now = kxen_now_ns();
        if (now >= deadline)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
            continue;
        union {
            char b[CMSG_SPACE(sizeof(int) * 16)];
            struct cmsghdr align;
        } cm;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof(cm.b)};
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            return 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                for (int *p = (int *)CMSG_DATA(c); (char *)p < (char *)c + c->cmsg_len; p++)
                    close(*p);
        struct kxen_ctl_hdr h;
        if ((size_t)n < sizeof(h)) {
            violation("a %zd-byte reply (shorter than the header) to op %u", n, op);
            return 0;
        }
        memcpy(&h, buf, sizeof(h));
        if (h.op == KXEN_CTL_EVENT_DOMAIN && h.seq == 0)
            continue;
        if (h.op != op || h.seq != seq || h.len != (size_t)n - sizeof(h))
            violation("reply op %u seq %u len %u (%zd bytes) to request op %u seq %u", h.op, h.seq,
                      h.len, n, op, seq);
        note_domain(op, &h, buf + sizeof(h), (size_t)n - sizeof(h));
        *rc = h.rc;
        return 1;
    }
}

static int send_msg(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
    struct iovec iov = {(void *)buf, len};
    union {
        char b[CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } cm;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        memset(&cm, 0, sizeof(cm));
        mh.msg_control = cm.b;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    return n < 0 ? -errno : 0;
}

/* One mutated request on *fd; reconnects when kxend closed it. */
static void one_request(int *fd)
{
    static uint8_t msg[sizeof(struct kxen_ctl_hdr) + KXEN_CTL_MAX_PAYLOAD + 4096];
    uint32_t op = pick_op();
    if (op == KXEN_CTL_SHUTDOWN_DAEMON)
        op = KXEN_CTL_HELLO; /* the one request that legitimately ends the daemon */
    size_t len = op_size(op);
    struct kxen_ctl_hdr h = {.op = op, .seq = next_seq++, .rc = 0, .len = (uint32_t)len};
    bool bad_len = chance(10), bad_rc = chance(5);
    if (bad_len)
        h.len = chance(50) ? (uint32_t)rnd() : (uint32_t)len + 1 + (uint32_t)below(8);
    if (bad_rc)
        h.rc = (int32_t)(rnd() | 1);
    memcpy(msg, &h, sizeof(h));
    fill(msg + sizeof(h), len, op);
    int fds[10];
    unsigned nfds = chance(20) ? (unsigned)below(11) : op == KXEN_CTL_DOMAIN_LOAD ? 1 : 0;
    for (unsigned i = 0; i < nfds; i++)
        if ((fds[i] = make_fd()) < 0)
            nfds = i;
    if (op == KXEN_CTL_DOMAIN_LOAD && image_path && nfds == 1 && chance(70)) {
        close(fds[0]);
        if ((fds[0] = open(image_path, O_RDONLY | O_CLOEXEC)) < 0)
            nfds = 0;
    }
    int rc = send_msg(*fd, msg, sizeof(h) + len, fds, nfds);
    fds_sent += nfds;
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
    if (rc < 0) {
        close(*fd);
        *fd = conn_open();
        return;
    }
    sent++;
    if (chance(3)) { /* disconnect mid-request */
        close(*fd);
        *fd = conn_open();
        return;
    }
    int32_t reply_rc = 0;
    int r = await_reply(*fd, op, h.seq, &reply_rc);
    if (r < 0) {
        violation("no reply within %d ms to op %u (len %zu, %u fds)", REPLY_TIMEOUT_MS, op, len,
                  nfds);
    } else if (r == 0) {
        closed_by_kxend++;
    } else {
        replies++;
        nr_loaded += op == KXEN_CTL_DOMAIN_LOAD && reply_rc == 0;
        bool known = false;
        for (uint32_t k = 1; k <= 16; k++)
            known |= op == k;
        known |= (op >= 64 && op <= 70) || (op >= 96 && op <= 100);
        if (bad_len || bad_rc) {
            if (reply_rc != -EINVAL)
                violation("op %u with a header that disagrees (len %u for %zu, rc %d) got %d", op,
                          h.len, len, h.rc, reply_rc);
        } else if (op > 200 && reply_rc != -ENOSYS) {
            violation("unknown op %u got %d, not -ENOSYS", op, reply_rc);
        } else if (known && op != KXEN_CTL_HELLO && op != KXEN_CTL_DOMAIN_GETINFO &&
                   op != KXEN_CTL_VCPU_GETINFO && !privileged && reply_rc != -EPERM) {
            violation("privileged op %u from an unprivileged caller got %d, not -EPERM", op,
                      reply_rc);
        }
    }
    if (*fd < 0)
        *fd = conn_open();
}

/* Messages kxend must drop the connection for (or refuse): empty, shorter than the header,
 * larger than the largest payload. */
static void malformed(void)
{
    int fd = conn_open();
    if (fd < 0)
        return;
    static uint8_t big[sizeof(struct kxen_ctl_hdr) + KXEN_CTL_MAX_PAYLOAD + 4096];
    size_t len;
    switch (below(3)) {
    case 0:
        len = 0;
        break;
    case 1:
        len = 1 + below(sizeof(struct kxen_ctl_hdr) - 1);
        break;
    default:
        len = sizeof(big) - below(2048);
        break;
    }
    for (size_t i = 0; i < len && i < 64; i++)
        big[i] = (uint8_t)rnd();
    if (send_msg(fd, big, len, NULL, 0) == 0) {
        sent++;
        int32_t rc;
        /* no reply is due: the connection closes (or, for an empty message, stays) */
        if (await_reply(fd, 0xffffffffu, 0, &rc) > 0)
            violation("a reply to a %zu-byte malformed message", len);
    }
    close(fd);
}

/* Many connections at once, each with a request; some closed before the reply. */
static void burst(void)
{
    int fds[96];
    unsigned n = 16 + (unsigned)below(80);
    bursts++;
    for (unsigned i = 0; i < n; i++) {
        fds[i] = conn_open();
        if (fds[i] < 0) {
            n = i;
            break;
        }
        struct kxen_ctl_hdr h = {.op = KXEN_CTL_HELLO, .seq = next_seq++};
        if (send_msg(fds[i], &h, sizeof(h), NULL, 0) == 0)
            sent++;
    }
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
}

/* A client that asks and never reads: its replies pile up in its socket. kxend must not
 * wait for it (the other clients keep being served, checked by the caller's probe). */
static int deaf = -1;
static void deaf_client(void)
{
    if (deaf >= 0) {
        close(deaf);
        deaf = -1;
        return;
    }
    deaf = conn_open();
    if (deaf < 0)
        return;
    unread++;
    for (int i = 0; i < 4096; i++) {
        struct {
            struct kxen_ctl_hdr h;
            struct kxen_ctl_domid_arg a;
        } m = {{.op = KXEN_CTL_DOMAIN_GETINFO, .seq = next_seq++, .len = sizeof(m.a)},
               {.domid = 0, .arg = 1}};
        if (send_msg(deaf, &m, sizeof(m), NULL, 0) < 0)
            break;
        sent++;
    }
}

/* The deterministic form of deaf_client(): a full queue must not stall the others. */
static int deaf_check(void)
{
    int d = conn_open(), fd;
    if (d < 0)
        return 2;
    unsigned n = 0;
    for (; n < 100000; n++) {
        struct {
            struct kxen_ctl_hdr h;
            struct kxen_ctl_console_req r;
        } m = {{.op = privileged ? KXEN_CTL_CONSOLE_READ : KXEN_CTL_HELLO,
                .seq = next_seq++,
                .len = privileged ? sizeof(m.r) : 0},
               {.domid = KXEN_CTL_DOMID_HV}};
        if (send_msg(d, &m, sizeof(m.h) + m.h.len, NULL, 0) < 0)
            break;
    }
    usleep(300000); /* kxend works through what it could read */
    uint64_t t0 = kxen_now_ns();
    int32_t rc = -1;
    int r = -1;
    if ((fd = conn_open()) >= 0) {
        struct kxen_ctl_hdr h = {.op = KXEN_CTL_HELLO, .seq = next_seq++};
        if (send_msg(fd, &h, sizeof(h), NULL, 0) == 0)
            r = await_reply(fd, h.op, h.seq, &rc);
        close(fd);
    }
    printf("ctlfuzz: deaf client queued %u requests; another client's hello: %s in %llu ms\n", n,
           r > 0 && rc == 0 ? "answered" : "NOT answered",
           (unsigned long long)((kxen_now_ns() - t0) / 1000000));
    close(d);
    return r > 0 && rc == 0 ? 0 : 1;
}

static int hog(unsigned long secs)
{
    static int fds[400];
    unsigned n = 0, accepted = 0;
    for (; n < ARRAY_SIZE(fds); n++)
        if ((fds[n] = conn_open()) < 0)
            break;
    /* kxend refuses by closing after accept: count the ones that answer a hello */
    for (unsigned i = 0; i < n; i++) {
        struct kxen_ctl_hdr h = {.op = KXEN_CTL_HELLO, .seq = next_seq++};
        int32_t rc;
        if (send_msg(fds[i], &h, sizeof(h), NULL, 0) == 0 &&
            await_reply(fds[i], h.op, h.seq, &rc) > 0)
            accepted++;
    }
    printf("ctlfuzz: holding %u connections (%u served)\n", n, accepted);
    fflush(stdout);
    sleep((unsigned)secs);
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
    return 0;
}

/* The domain ids that exist now, through GETINFO NEXT (unprivileged). Returns the count. */
static unsigned list_domains(uint16_t *ids, unsigned max)
{
    static uint8_t buf[sizeof(struct kxen_ctl_hdr) + KXEN_CTL_MAX_PAYLOAD];
    int fd = conn_open();
    unsigned n = 0;
    uint32_t next = 1;
    while (fd >= 0 && n < max && next < 0x7ff0) {
        struct {
            struct kxen_ctl_hdr h;
            struct kxen_ctl_domid_arg a;
        } m = {{.op = KXEN_CTL_DOMAIN_GETINFO, .seq = next_seq++, .len = sizeof(m.a)},
               {.domid = (uint16_t)next, .arg = KXEN_CTL_GETINFO_NEXT}};
        if (send_msg(fd, &m, sizeof(m), NULL, 0) < 0)
            break;
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        struct kxen_ctl_hdr h;
        if (r < (ssize_t)(sizeof(h) + sizeof(struct kxen_ctl_domain_info)))
            break;
        memcpy(&h, buf, sizeof(h));
        if (h.rc != 0)
            break;
        const struct kxen_ctl_domain_info *d = (const void *)(buf + sizeof(h));
        ids[n++] = d->domid;
        next = (uint32_t)d->domid + 1;
    }
    if (fd >= 0)
        close(fd);
    return n;
}

/* Every domain created during the run (replies seen or lost to a disconnect) is destroyed. */
static void destroy_new_domains(const uint16_t *before, unsigned nr_before)
{
    uint16_t now[MAX_OWN_DOMAINS];
    unsigned n = list_domains(now, MAX_OWN_DOMAINS);
    int fd = conn_open();
    if (fd < 0)
        return;
    for (unsigned i = 0; i < n; i++) {
        bool old = false;
        for (unsigned j = 0; j < nr_before; j++)
            old |= before[j] == now[i];
        if (old)
            continue;
        struct {
            struct kxen_ctl_hdr h;
            struct kxen_ctl_domid_arg a;
        } m = {{.op = KXEN_CTL_DOMAIN_DESTROY, .seq = next_seq++, .len = sizeof(m.a)},
               {.domid = now[i]}};
        int32_t rc;
        if (send_msg(fd, &m, sizeof(m), NULL, 0) == 0)
            await_reply(fd, m.h.op, m.h.seq, &rc);
    }
    close(fd);
}

static int usage(void)
{
    fprintf(stderr, "usage: kxen-ctlfuzz [--socket PATH] [--seed N] [--secs S] [--unpriv UID] "
                    "[--deaf-check] [--hog SECS] [--image ELF]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *rundir = getenv("KXEN_RUNDIR");
    unsigned long seed = 1, secs = 3;
    long unpriv = -1;
    snprintf(sock_path, sizeof(sock_path), "%s/%s", rundir ? rundir : ".", KXEN_CTL_SOCKET_NAME);
    bool deaf_only = false;
    unsigned long hog_secs = 0;
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--deaf-check")) {
            deaf_only = true;
            i--;
        } else if (i + 1 >= argc) {
            return usage();
        } else if (!strcmp(argv[i], "--socket"))
            snprintf(sock_path, sizeof(sock_path), "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--secs"))
            secs = strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--image"))
            image_path = argv[i + 1];
        else if (!strcmp(argv[i], "--hog"))
            hog_secs = strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--unpriv"))
            unpriv = strtol(argv[i + 1], NULL, 0);
        else
            return usage();
    }
    if (unpriv >= 0 &&
        (setgroups(0, NULL) < 0 || setgid((gid_t)unpriv) < 0 || setuid((uid_t)unpriv) < 0)) {
        perror("ctlfuzz: dropping privileges");
        return 2;
    }
    privileged = geteuid() == 0; /* kxend runs as root in the tests */
    rng = seed * 0x9e3779b97f4a7c15ull | 1;
    signal(SIGPIPE, SIG_IGN);
    if (deaf_only)
        return deaf_check();
    if (hog_secs)
        return hog(hog_secs);
    int fd = conn_open();
    if (fd < 0) {
        fprintf(stderr, "ctlfuzz: connect %s: %s\n", sock_path, strerror(-fd));
        return 2;
    }
    uint16_t before[MAX_OWN_DOMAINS];
    unsigned nr_before = list_domains(before, MAX_OWN_DOMAINS);
    uint64_t end = kxen_now_ns() + secs * 1000000000ull;
    while (kxen_now_ns() < end) {
        unsigned r = (unsigned)below(1000);
        if (r < 900)
            one_request(&fd);
        else if (r < 960)
            malformed();
        else if (r < 985)
            burst();
        else
            deaf_client();
        if (fd < 0 && (fd = conn_open()) < 0) {
            violation("cannot reconnect: %s", strerror(-fd));
            break;
        }
    }
    if (deaf >= 0)
        close(deaf);
    close(fd);
    if (privileged)
        destroy_new_domains(before, nr_before);
    printf("ctlfuzz: seed=%lu %s sent=%lu replies=%lu closed_by_kxend=%lu fds_sent=%lu "
           "bursts=%lu deaf_clients=%lu domains_created=%u guests_loaded=%u violations=%lu\n",
           seed, privileged ? "privileged" : "unprivileged", sent, replies, closed_by_kxend,
           fds_sent, bursts, unread, nr_own_domains, nr_loaded, violations);
    return violations ? 1 : 0;
}
