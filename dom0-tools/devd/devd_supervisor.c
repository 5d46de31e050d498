/* The devd supervisor: which frontend domains have backend devices here, and one worker
 * process for each (devd.h).
 *
 * Invariants: at most one live worker per frontend domain, started by exec'ing this program
 * with --worker (a fresh process: no state shared with the supervisor or another worker); a
 * worker that dies while its domain still has devices is started again after a back-off that
 * grows while it keeps dying (so a guest that crashes its backend in a loop costs one fork
 * per few seconds, not a busy loop); a domain whose devices are all gone has its worker
 * stopped. <rundir>/devd-d<domid>.pid names each live worker (for tests and operators).
 * The supervisor watches only backend directories, which dom0 owns: no guest can write there,
 * so no guest can keep the supervisor busy. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "kxen/log.h"
#include "kxen/util.h"
#include "xenstore.h"

#include "devd_supervisor.h"

#define MAX_WORKERS 1024
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STABLE_MS 10000 /* a worker that lived this long restarts at once */
#define STOP_WAIT_MS 5000

struct worker {
    uint32_t fid;
    pid_t pid; /* 0: not running */
    bool wanted;
    unsigned int restarts;
    unsigned int backoff_ms;
    uint64_t started_ns;
    uint64_t restart_at_ns; /* when not running and wanted: start at this time */
};

static struct {
    struct devd_supervisor_cfg cfg;
    struct xs_handle *xs;
    struct event_base *base;
    struct event *xs_ev, *chld_ev, *timer_ev, *listen_ev;
    int listen_fd;
    struct worker w[MAX_WORKERS];
    unsigned int nr;
    bool lost_store; /* xenstored went away: we stop */
} S = {.listen_fd = -1};

static void pid_file_path(uint32_t fid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/devd-d%u.pid", S.cfg.rundir, fid);
}

static struct worker *find_worker(uint32_t fid)
{
    for (unsigned int i = 0; i < S.nr; i++)
        if (S.w[i].fid == fid)
            return &S.w[i];
    return NULL;
}

static int spawn(struct worker *w)
{
    char fid[16];
    snprintf(fid, sizeof(fid), "%u", w->fid);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        const char *argv[12];
        int n = 0;
        argv[n++] = S.cfg.self_exe;
        argv[n++] = "--worker";
        argv[n++] = fid;
        argv[n++] = "--rundir";
        argv[n++] = S.cfg.rundir;
        argv[n++] = "--log-level";
        argv[n++] = S.cfg.log_level;
        if (S.cfg.log_file) {
            argv[n++] = "--log-file";
            argv[n++] = S.cfg.log_file;
        }
        argv[n] = NULL;
        /* The child must not run the supervisor's signal handlers before exec. */
        signal(SIGTERM, SIG_DFL);
        execv(S.cfg.self_exe, (char *const *)argv);
        _exit(127);
    }
    w->pid = pid;
    w->started_ns = kxen_now_ns();
    char path[PATH_MAX];
    pid_file_path(w->fid, path, sizeof(path));
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d\n", (int)pid);
        fclose(f);
    }
    log_info("domain %u: worker started (pid %d)", w->fid, (int)pid);
    return 0;
}

static void arm_timer(void)
{
    uint64_t now = kxen_now_ns(), next = 0;
    for (unsigned int i = 0; i < S.nr; i++) {
        struct worker *w = &S.w[i];
        if (w->wanted && !w->pid && (!next || w->restart_at_ns < next))
            next = w->restart_at_ns;
    }
    if (!next)
        return;
    uint64_t d = next > now ? next - now : 0;
    struct timeval tv = {(time_t)(d / 1000000000ull), (suseconds_t)(d % 1000000000ull / 1000)};
    evtimer_add(S.timer_ev, &tv);
}

/* Starts what is due, stops what is no longer wanted, forgets stopped unwanted workers. */
static void reconcile(void)
{
    uint64_t now = kxen_now_ns();
    for (unsigned int i = 0; i < S.nr;) {
        struct worker *w = &S.w[i];
        if (w->wanted && !w->pid && w->restart_at_ns <= now && spawn(w) < 0)
            w->restart_at_ns = now + (uint64_t)BACKOFF_MAX_MS * 1000000ull;
        if (!w->wanted && w->pid)
            kill(w->pid, SIGTERM);
        if (!w->wanted && !w->pid)
            S.w[i] = S.w[--S.nr];
        else
            i++;
    }
    arm_timer();
}

/* Marks every domain that has a directory under one of the registered types as wanted. */
static void rescan(void)
{
    for (unsigned int i = 0; i < S.nr; i++)
        S.w[i].wanted = false;
    for (DEVD_FOREACH_BACKEND(t)) {
        char path[128];
        unsigned int n = 0;
        snprintf(path, sizeof(path), "/local/domain/%u/backend/%s", S.cfg.self_domid, (*t)->type);
        char **doms = xs_directory(S.xs, XBT_NULL, path, &n);
        for (unsigned int i = 0; doms && i < n; i++) {
            char *end;
            unsigned long fid = strtoul(doms[i], &end, 10);
            if (*end || end == doms[i] || fid >= 0x7ff0)
                continue;
            struct worker *w = find_worker((uint32_t)fid);
            if (!w && S.nr < MAX_WORKERS) {
                w = &S.w[S.nr++];
                *w = (struct worker){.fid = (uint32_t)fid, .backoff_ms = BACKOFF_MIN_MS};
            }
            if (w)
                w->wanted = true;
        }
        free(doms);
    }
    reconcile();
}

static void on_xenstore(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    char **ev;
    bool any = false;
    while ((ev = xs_check_watch(S.xs)) != NULL) {
        any = true;
        free(ev);
    }
    /* A dead connection stays readable: polling it again would spin. Without xenstored no
     * device can be followed, and a new xenstored starts empty (docs/reliability.md). */
    if (errno != EAGAIN && !S.lost_store) {
        log_err("lost the connection to xenstored (%s): stopping; backends can no longer "
                "follow devices (restart the services: kxen-services restart)",
                strerror(errno));
        S.lost_store = true;
        event_base_loopbreak(S.base);
        return;
    }
    if (any)
        rescan();
}

bool devd_supervisor_lost_store(void)
{
    return S.lost_store;
}

static void on_child(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned int i = 0; i < S.nr; i++) {
            struct worker *w = &S.w[i];
            if (w->pid != pid)
                continue;
            w->pid = 0;
            char path[PATH_MAX];
            pid_file_path(w->fid, path, sizeof(path));
            unlink(path);
            if (!w->wanted)
                break;
            uint64_t now = kxen_now_ns();
            if (now - w->started_ns > (uint64_t)STABLE_MS * 1000000ull)
                w->backoff_ms = BACKOFF_MIN_MS;
            w->restarts++;
            w->restart_at_ns = now + (uint64_t)w->backoff_ms * 1000000ull;
            if (WIFSIGNALED(status))
                log_warn("domain %u: worker %d killed by signal %d; restarting in %u ms", w->fid,
                         (int)pid, WTERMSIG(status), w->backoff_ms);
            else
                log_warn("domain %u: worker %d exited with status %d; restarting in %u ms", w->fid,
                         (int)pid, WEXITSTATUS(status), w->backoff_ms);
            w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
            break;
        }
    }
    /* The domain may have lost its devices while the worker was down. */
    rescan();
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    reconcile();
}

/* The socket only says "devd runs" (the embedded start waits for it to answer). */
static void on_listen(evutil_socket_t fd, short what, void *arg)
{
    (void)what, (void)arg;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0)
        close(c);
}

static int listen_socket(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/devd.sock", S.cfg.rundir) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    chmod(sa.sun_path, 0600);
    return fd;
}

int devd_supervisor_setup(struct event_base *base, const struct devd_supervisor_cfg *cfg, char *err,
                          size_t errlen)
{
    S.cfg = *cfg;
    S.base = base;
    S.xs = xs_open(0);
    if (!S.xs) {
        snprintf(err, errlen, "cannot connect to xenstored: %s", strerror(errno));
        return -EIO;
    }
    for (DEVD_FOREACH_BACKEND(t)) {
        char path[128];
        snprintf(path, sizeof(path), "/local/domain/%u/backend/%s", cfg->self_domid, (*t)->type);
        if (!xs_watch(S.xs, path, "devd")) {
            snprintf(err, errlen, "cannot watch %s: %s", path, strerror(errno));
            return -EIO;
        }
    }
    S.listen_fd = listen_socket();
    if (S.listen_fd < 0) {
        snprintf(err, errlen, "cannot listen on %s/devd.sock: %s", cfg->rundir,
                 strerror(-S.listen_fd));
        return S.listen_fd;
    }
    S.xs_ev = event_new(base, xs_fileno(S.xs), EV_READ | EV_PERSIST, on_xenstore, NULL);
    S.chld_ev = evsignal_new(base, SIGCHLD, on_child, NULL);
    S.timer_ev = evtimer_new(base, on_timer, NULL);
    S.listen_ev = event_new(base, S.listen_fd, EV_READ | EV_PERSIST, on_listen, NULL);
    if (!S.xs_ev || !S.chld_ev || !S.timer_ev || !S.listen_ev || event_add(S.xs_ev, NULL) < 0 ||
        event_add(S.chld_ev, NULL) < 0 || event_add(S.listen_ev, NULL) < 0) {
        snprintf(err, errlen, "cannot set up the event loop");
        return -ENOMEM;
    }
    rescan();
    return 0;
}

static unsigned int nr_running(void)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < S.nr; i++)
        n += S.w[i].pid != 0;
    return n;
}

void devd_supervisor_stop(void)
{
    for (unsigned int i = 0; i < S.nr; i++)
        if (S.w[i].pid)
            kill(S.w[i].pid, SIGTERM);
    for (int waited = 0; nr_running() && waited < STOP_WAIT_MS; waited += 10) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        for (unsigned int i = 0; pid > 0 && i < S.nr; i++)
            if (S.w[i].pid == pid) {
                S.w[i].pid = 0;
                char path[PATH_MAX];
                pid_file_path(S.w[i].fid, path, sizeof(path));
                unlink(path);
            }
        if (pid <= 0)
            usleep(10000);
    }
    for (unsigned int i = 0; i < S.nr; i++)
        if (S.w[i].pid) {
            log_warn("domain %u: worker %d ignored SIGTERM: killing it", S.w[i].fid,
                     (int)S.w[i].pid);
            kill(S.w[i].pid, SIGKILL);
            waitpid(S.w[i].pid, NULL, 0);
        }
    struct event *evs[] = {S.xs_ev, S.chld_ev, S.timer_ev, S.listen_ev};
    for (size_t i = 0; i < ARRAY_SIZE(evs); i++)
        if (evs[i])
            event_free(evs[i]);
    if (S.listen_fd >= 0) {
        char sp[PATH_MAX];
        snprintf(sp, sizeof(sp), "%s/devd.sock", S.cfg.rundir);
        unlink(sp);
        close(S.listen_fd);
    }
    if (S.xs)
        xs_close(S.xs);
}
