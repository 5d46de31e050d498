/* The build guard: a process that outlives an xl building a domain (create, restore,
 * migrate-receive, and the domain monitor's restart) and, if that xl dies before it finished
 * (SIGKILL, Ctrl-C, a dropped ssh session), tears down what the build had made, as `xl
 * destroy` would (docs/migration.md, "A killed receiver"). The guard keeps no copy of xl's
 * kxend and xenstored connections (a command forks it before it connects, the monitor with
 * its own open: the guard closes every inherited descriptor but its socket and the stdio):
 * kxend's own cleanup of a builder's domain waits for the builder's connection to close. xl
 * reports over a socket pair the domain its build started (the build hook) and releases the
 * guard once there is nothing to guard (the build failed and undid itself, or its domain is
 * the one that counts). Invariant: the guard acts only when the connection closes without a
 * release, and only on the domain (id and uuid) the build reported. It keeps xl's stdin and
 * stdout until it is done, so a migration's sender sees the connection close only once the
 * destination is clean. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xl.h"

enum { GUARD_ARM = 1, GUARD_RELEASE = 2 };

/* One datagram each (SOCK_SEQPACKET): arrives whole or not at all. */
struct guard_msg {
    uint8_t op;
    uint8_t pad;
    uint16_t domid;
    uint8_t uuid[16];
};

static int guard_fd = -1;
static pid_t guard_owner;             /* the xl whose build is guarded (not its forked monitor) */
static xl_say_fn *guard_say = xl_err; /* where the guard reports what it did */

static void guard_send(const struct guard_msg *m)
{
    /* MSG_NOSIGNAL: a guard that died must not take xl with it (SIGPIPE). */
    if (guard_fd >= 0 && getpid() == guard_owner &&
        send(guard_fd, m, sizeof(*m), MSG_NOSIGNAL) != (ssize_t)sizeof(*m)) {
        /* the guard is gone: nobody is left to tell */
    }
}

void xl_guard_release(void)
{
    if (guard_fd < 0 || getpid() != guard_owner)
        return;
    struct guard_msg m = {.op = GUARD_RELEASE};
    guard_send(&m);
    close(guard_fd);
    guard_fd = -1;
}

static void on_build(void *opaque, enum kxl_build_event ev, uint16_t domid, const uint8_t *uuid)
{
    (void)opaque;
    if (ev == KXL_BUILD_KEPT) {
        xl_guard_release();
        return;
    }
    struct guard_msg m = {.op = GUARD_ARM, .domid = domid};
    memcpy(m.uuid, uuid, sizeof(m.uuid));
    guard_send(&m);
}

/* Everything but fd and the stdio: a copy of xl's kxend connection would keep it open after xl
 * died, and kxend would never see the builder go. */
static void close_inherited(int fd)
{
    if (fd > 3)
        close_range(3, (unsigned)fd - 1, 0);
    close_range(fd < 3 ? 3 : (unsigned)fd + 1, ~0u, 0);
}

/* The guard's side: waits for xl's word; on the connection's end without a release, tears down
 * the domain it was told about. Never returns. */
static void guard_run(int fd, const char *who)
{
    close_inherited(fd);
    /* Not in xl's session: a Ctrl-C or hangup that kills xl must leave its guard. */
    setsid();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    struct guard_msg m, armed = {0};
    for (;;) {
        ssize_t n = read(fd, &m, sizeof(m));
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(m))
            break; /* xl is gone */
        if (m.op == GUARD_RELEASE)
            _exit(0);
        if (m.op == GUARD_ARM)
            armed = m;
    }
    if (armed.op != GUARD_ARM)
        _exit(0);
    struct kxl_ctx *ctx;
    char err[KXL_ERR_LEN];
    if (kxl_ctx_open(0, &ctx, err, sizeof(err)) < 0) {
        guard_say("%s died while building domain %u, and its guard cannot tear it down: %s", who,
                  armed.domid, err);
        _exit(1);
    }
    int rc = kxl_domain_destroy_orphan(ctx, armed.domid, armed.uuid);
    if (rc < 0)
        guard_say("%s died while building domain %u: tearing it down failed: %s", who, armed.domid,
                  kxl_errmsg(ctx));
    else if (rc > 0)
        guard_say("%s died before it finished domain %u: its guard tore the domain down", who,
                  armed.domid);
    kxl_ctx_close(ctx);
    _exit(rc < 0);
}

void xl_guard_start(const char *who, xl_say_fn *say)
{
    static bool at_exit;
    int p[2];
    guard_say = say ? say : xl_err;
    if (guard_fd < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) == 0) {
        /* Twice forked: the guard is nobody's child to reap once xl goes on or exits. */
        pid_t mid = fork();
        if (mid == 0) {
            close(p[1]);
            if (fork() == 0)
                guard_run(p[0], who);
            _exit(0);
        }
        close(p[0]);
        if (mid > 0) {
            waitpid(mid, NULL, 0);
            guard_fd = p[1];
            guard_owner = getpid();
            if (!at_exit) /* an xl that exits by itself cleaned up itself */
                at_exit = atexit(xl_guard_release) == 0;
        } else {
            close(p[1]);
        }
    }
    if (guard_fd < 0)
        guard_say("no build guard (%s): if xl is killed during the build, what it built stays",
                  strerror(errno));
}

void xl_guard_watch(struct kxl_ctx *ctx)
{
    if (guard_fd >= 0)
        kxl_set_build_hook(ctx, on_build, NULL);
}

int xl_guard_open_ctx(const char *who)
{
    xl_guard_start(who, NULL);
    if (xl_open_ctx() < 0)
        return -1;
    xl_guard_watch(xl_ctx);
    return 0;
}
