/* The daemon skeleton's process side: daemonizing behind a ready pipe, READY=1 for a service
 * manager, start-up failures carried to the parent, and signals turned into a stop request.
 *
 * Ready pipe protocol (child -> parent): one status byte (0: serving), then an optional
 * message, then end of file. End of file with no byte means the child died before it could
 * say anything; the parent then describes how it died. */
#include "kxen/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_priv.h"
#include "kxen/util.h"

void kxen_daemon_init(struct kxen_daemon *d, const char *name)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    d->lock_fd = d->pid_fd = d->ready_fd = -1;
}

int kxen_daemon_log_init(struct kxen_daemon *d, enum klog_level level, const char *path)
{
    int rc = klog_init(d->name, level, path);
    d->logs_to_file = rc == 0 && path != NULL;
    if (rc < 0)
        snprintf(d->msg, sizeof(d->msg), "cannot open log file %s: %s", path, strerror(-rc));
    return rc;
}

/* The parent's half: everything the child says until it closes its end. */
static void parent_wait(struct kxen_daemon *d, int fd)
{
    char buf[1 + sizeof(d->msg)];
    size_t got = 0;
    while (got < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    d->is_parent = true;
    d->msg[0] = '\0';
    if (got > 0) {
        d->exit_status = (unsigned char)buf[0];
        buf[got] = '\0';
        snprintf(d->msg, sizeof(d->msg), "%s", buf + 1);
        return;
    }
    /* Closed without a word: the child is gone (the pipe is close-on-exec and the child
     * never execs), so waiting for it returns at once. */
    int st = 0;
    d->exit_status = 1;
    if (waitpid(d->child, &st, 0) == d->child && WIFSIGNALED(st))
        snprintf(d->msg, sizeof(d->msg),
                 "the daemon (pid %d) was killed by signal %d before it "
                 "was ready",
                 (int)d->child, WTERMSIG(st));
    else
        snprintf(d->msg, sizeof(d->msg),
                 "the daemon (pid %d) exited with status %d before it "
                 "was ready",
                 (int)d->child, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* A daemon holds a few descriptors per guest (sockets, eventfds, memfds, images): the
 * default soft limit of 1024 would cap the host at ~100 guests while the hard limit allows
 * far more. Raising the soft limit needs no privilege. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int kxen_daemon_detach(struct kxen_daemon *d, bool no_fork)
{
    d->is_parent = false;
    raise_nofile();
    if (no_fork)
        return 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        int e = errno;
        snprintf(d->msg, sizeof(d->msg), "pipe: %s", strerror(e));
        return -e;
    }
    /* Anything buffered now would be written twice, by both processes. */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        snprintf(d->msg, sizeof(d->msg), "fork: %s", strerror(e));
        return -e;
    }
    if (pid > 0) {
        close(p[1]);
        d->child = pid;
        parent_wait(d, p[0]);
        return 0;
    }
    close(p[0]);
    d->ready_fd = p[1];
    /* A new session: the terminal's hang-up and job-control signals no longer reach us. */
    setsid();
    return 0;
}

/* Tells the service manager we serve; sd_notify's datagram, without libsystemd. */
static int notify_ready(struct kxen_daemon *d)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
        snprintf(d->msg, sizeof(d->msg), "NOTIFY_SOCKET '%s' is not a socket path", path);
        return -EINVAL;
    }
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') /* Linux abstract namespace */
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        snprintf(d->msg, sizeof(d->msg), "NOTIFY_SOCKET: %s", strerror(e));
        return -e;
    }
    static const char ready[] = "READY=1";
    ssize_t n = sendto(fd, ready, sizeof(ready) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    int e = errno;
    close(fd);
    if (n < 0) {
        snprintf(d->msg, sizeof(d->msg), "NOTIFY_SOCKET %s: %s", path, strerror(e));
        return -e;
    }
    return 0;
}

int kxen_daemon_ready(struct kxen_daemon *d, bool stderr_to_null)
{
    int rc = 0;
    if (d->ready_fd >= 0) {
        char ok = 0;
        if (write(d->ready_fd, &ok, 1) != 1) {
            rc = -errno;
            snprintf(d->msg, sizeof(d->msg), "cannot tell the parent process we are ready: %s",
                     strerror(errno));
        }
        close(d->ready_fd);
        d->ready_fd = -1;
        /* Detached: the starter's terminal is no place for our input and output. */
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            if (stderr_to_null)
                dup2(nul, 2);
            close(nul);
        }
    }
    int r = notify_ready(d);
    return rc < 0 ? rc : r;
}

bool kxen_daemon_fail(struct kxen_daemon *d, int status, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
        va_end(ap);
    }
    if (d->logs_to_file)
        log_err("%s", d->msg);
    if (d->ready_fd < 0)
        return true;
    char buf[1 + sizeof(d->msg)];
    buf[0] = (char)(status > 0 && status < 256 ? status : 1);
    size_t len = strlen(d->msg);
    memcpy(buf + 1, d->msg, len);
    int rc = kxen_write_full(d->ready_fd, buf, len + 1);
    close(d->ready_fd);
    d->ready_fd = -1;
    return rc < 0;
}

/* One set of handlers per process: the handler can only reach globals. */
static int stop_pipe[2] = {-1, -1};
static void (*stop_hook)(int sig);

static void on_stop_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(stop_pipe[1], &b, 1) < 0) {
        /* pipe full: a stop request is already pending */
    }
    if (stop_hook)
        stop_hook(sig);
    errno = saved;
}

static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};

int kxen_daemon_signals(struct kxen_daemon *d, void (*on_stop)(int sig))
{
    if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        int e = errno;
        snprintf(d->msg, sizeof(d->msg), "cannot create the signal pipe: %s", strerror(e));
        return -e;
    }
    stop_hook = on_stop;
    /* SA_RESTART: code that does not expect EINTR keeps working; poll-style waits return
     * EINTR anyway and see the pipe readable. */
    struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
        sigaddset(&sa.sa_mask, stop_signals[i]);
    for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
        if (sigaction(stop_signals[i], &sa, NULL) < 0) {
            int e = errno;
            snprintf(d->msg, sizeof(d->msg), "sigaction: %s", strerror(e));
            return -e;
        }
    /* A peer closing its socket must be an EPIPE from write(), not the end of the daemon. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int kxen_daemon_stop_fd(void)
{
    return stop_pipe[0];
}

int kxen_daemon_stop_signal(void)
{
    unsigned char b;
    if (stop_pipe[0] < 0 || read(stop_pipe[0], &b, 1) != 1)
        return 0;
    return b;
}

void kxen_daemon_cleanup(struct kxen_daemon *d)
{
    kxen_daemon_pidfiles_release(d);
    if (d->ready_fd >= 0)
        close(d->ready_fd);
    d->ready_fd = -1;
    if (stop_pipe[0] >= 0 && !d->is_parent) {
        for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
            signal(stop_signals[i], SIG_DFL);
        close(stop_pipe[0]);
        close(stop_pipe[1]);
        stop_pipe[0] = stop_pipe[1] = -1;
        stop_hook = NULL;
    }
    klog_close();
}
