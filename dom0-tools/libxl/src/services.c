/* The embedded service start: the first xl command of a host starts kxend, xenstored,
 * xenconsoled and kxen-devd (the backend daemon) in the run dir (from the directory xl itself lives
 * in, or $KXEN_BINDIR), each with a pid file <name>.pid and its log <name>.log, and waits until its
 * socket answers. A lock file serialises concurrent xl commands. Stopping is kxen-services' job
 * (dom0-tools/services). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kxen/log.h"
#include "kxen/util.h"
#include "xenstore.h"

#include "kxl_device.h"
#include "kxl_internal.h"

#define SERVICE_START_TIMEOUT_MS 20000 /* sanitizer builds start slowly on a busy host */

struct service {
    const char *name;
    const char *socket; /* relative to the run dir; NULL: xenstored's, by the one rule */
};

/* Start order; stop runs it backwards. */
static const struct service services[] = {
    {"kxend", "kxend.sock"},
    {"xenstored", NULL},
    {"xenconsoled", "xenconsoled.sock"},
    {"kxen-devd", "devd.sock"},
};

/* A service's socket: in the run dir, except xenstored's, which follows libxenstore's rule
 * ($XENSTORED_PATH, $XENSTORED_RUNDIR/socket, else <run dir>/socket: docs/paths.md) so that
 * xl waits where its clients will connect. */
static const char *service_socket(const char *rundir, const char *name, char *buf, size_t len)
{
    const char *xs = name ? NULL : xs_daemon_socket();
    if (!name && !xs)
        return NULL;
    if ((size_t)snprintf(buf, len, "%s%s%s", xs ? "" : rundir, xs ? "" : "/", xs ? xs : name) >=
        len)
        return NULL;
    return buf;
}

static int socket_answers(const char *rundir, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!service_socket(rundir, name, sa.sun_path, sizeof(sa.sun_path)))
        return 0;
    /* kxend speaks SOCK_SEQPACKET, the others SOCK_STREAM: try the right one. */
    int type = name && strcmp(name, "kxend.sock") == 0 ? SOCK_SEQPACKET : SOCK_STREAM;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

int kxl_service_answers(const char *rundir, const char *sock)
{
    return socket_answers(rundir, sock);
}

int kxl__bindir(char *buf, size_t len)
{
    const char *env = getenv("KXEN_BINDIR");
    if (env) {
        snprintf(buf, len, "%s", env);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        return -errno;
    exe[n] = '\0';
    snprintf(buf, len, "%s", dirname(exe));
    return 0;
}

/* Double fork so the daemon is never our zombie; its pid comes back through a pipe. */
static int spawn(const char *rundir, const char *bin, const struct service *s, pid_t *pid_out)
{
    char exe[PATH_MAX], pidf[PATH_MAX], logf[PATH_MAX], logdir[PATH_MAX], dumpdir[PATH_MAX];
    if (kxen_log_dir(rundir, logdir, sizeof(logdir)) < 0 ||
        kxen_dump_dir(rundir, dumpdir, sizeof(dumpdir)) < 0 ||
        snprintf(exe, sizeof(exe), "%s/%s", bin, s->name) >= (int)sizeof(exe) ||
        snprintf(pidf, sizeof(pidf), "%s/%s.pid", rundir, s->name) >= (int)sizeof(pidf) ||
        snprintf(logf, sizeof(logf), "%s/%s.log", logdir, s->name) >= (int)sizeof(logf))
        return -ENAMETOOLONG;
    /* root's persistent log directory (/var/log/xen) may not exist yet. */
    if (mkdir(logdir, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (access(exe, X_OK) < 0)
        return -errno;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    pid_t child = fork();
    if (child < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -errno;
    }
    if (child == 0) {
        setsid();
        pid_t gc = fork();
        if (gc != 0) {
            if (write(pfd[1], &gc, sizeof(gc)) < 0)
                _exit(1);
            _exit(0);
        }
        int devnull = open("/dev/null", O_RDONLY);
        int log = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0644);
        if (devnull >= 0)
            dup2(devnull, 0);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        setenv("KXEN_RUNDIR", rundir, 1);
        /* The daemon must keep the locations decided here (KXEN_RUNDIR now being set). */
        setenv("KXEN_LOG_DIR", logdir, 1);
        setenv("KXEN_DUMP_DIR", dumpdir, 1);
        /* xenstored listens, and its clients connect, by the one rule (service_socket). */
        char xs_sock[PATH_MAX];
        const char *xs = service_socket(rundir, NULL, xs_sock, sizeof(xs_sock));
        const char *accel = getenv("KXEN_ACCEL");
        if (strcmp(s->name, "kxend") == 0) {
            if (accel)
                execl(exe, exe, "-N", "--rundir", rundir, "-F", pidf, "--accel", accel,
                      (char *)NULL);
            execl(exe, exe, "-N", "--rundir", rundir, "-F", pidf, (char *)NULL);
        } else if (strcmp(s->name, "xenstored") == 0) {
            execl(exe, exe, "-N", "-F", pidf, "--socket", xs ? xs : "", (char *)NULL);
        } else {
            execl(exe, exe, "-N", "--rundir", rundir, "-F", pidf, (char *)NULL);
        }
        _exit(127);
    }
    close(pfd[1]);
    pid_t gc = 0;
    ssize_t r = read(pfd[0], &gc, sizeof(gc));
    close(pfd[0]);
    waitpid(child, NULL, 0);
    if (r != sizeof(gc) || gc <= 0)
        return -ECHILD;
    *pid_out = gc;
    return 0;
}

static void log_tail(const char *rundir, const char *name, char *out, size_t outlen)
{
    char path[PATH_MAX + 64], dir[PATH_MAX];
    char buf[400];
    out[0] = '\0';
    if (kxen_log_dir(rundir, dir, sizeof(dir)) < 0)
        return;
    snprintf(path, sizeof(path), "%s/%s.log", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    out[0] = '\0';
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, start);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    char *last = strrchr(buf, '\n');
    if (snprintf(out, outlen, "%s", last ? last + 1 : buf) >= (int)outlen && outlen > 4)
        strcpy(out + outlen - 4, "...");
}

static int ensure_one(const char *rundir, const char *bin, const struct service *s, char *err,
                      size_t errlen)
{
    if (socket_answers(rundir, s->socket))
        return 0;
    pid_t pid = 0;
    int rc = spawn(rundir, bin, s, &pid);
    if (rc < 0) {
        snprintf(err, errlen, "cannot start %s/%s: %s", bin, s->name, strerror(-rc));
        return rc;
    }
    for (int waited = 0; waited < SERVICE_START_TIMEOUT_MS; waited += 10) {
        if (socket_answers(rundir, s->socket))
            return 0;
        if (kill(pid, 0) < 0) {
            char tail[300];
            log_tail(rundir, s->name, tail, sizeof(tail));
            char dir[PATH_MAX];
            if (kxen_log_dir(rundir, dir, sizeof(dir)) < 0)
                snprintf(dir, sizeof(dir), "%s", rundir);
            snprintf(err, errlen, "%s exited during start-up (see %s/%s.log): %s", s->name, dir,
                     s->name, tail);
            return -ECHILD;
        }
        usleep(10000);
    }
    char path[PATH_MAX];
    snprintf(err, errlen, "%s did not answer on %s within %d s", s->name,
             service_socket(rundir, s->socket, path, sizeof(path)) ? path : "(path too long)",
             SERVICE_START_TIMEOUT_MS / 1000);
    return -ETIMEDOUT;
}

static int lock_rundir(const char *rundir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/services.lock", rundir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int kxl_services_ensure(const char *rundir, char *err, size_t errlen)
{
    return kxl_services_ensure_ex(rundir, NULL, err, errlen);
}

/* A daemon that stops cleanly removes its pid file: one left behind names a daemon that died
 * (killed or crashed). Returns its pid, or 0. */
static long dead_pid(const char *rundir, const char *name)
{
    char path[PATH_MAX], buf[24];
    snprintf(path, sizeof(path), "%s/%s.pid", rundir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    long pid = strtol(buf, NULL, 10);
    return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH ? pid : 0;
}

int kxl_services_ensure_ex(const char *rundir, unsigned *started, char *err, size_t errlen)
{
    return kxl__services_ensure(rundir, started, NULL, 0, err, errlen);
}

int kxl__services_ensure(const char *rundir, unsigned *started, char *gone, size_t gonelen,
                         char *err, size_t errlen)
{
    int all = 1;
    if (started)
        *started = 0;
    if (gone && gonelen)
        gone[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(services); i++)
        all &= socket_answers(rundir, services[i].socket);
    if (all)
        return 0;
    if (mkdir(rundir, 0700) < 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "cannot create run directory %s: %s", rundir, strerror(e));
        return -e;
    }
    /* Someone else may have created it since the caller resolved it. */
    int crc = kxen_rundir_check(rundir);
    if (crc < 0) {
        snprintf(err, errlen, "run directory %s: %s", rundir, kxen_rundir_strerror(crc));
        return crc;
    }
    char bin[PATH_MAX];
    int rc = kxl__bindir(bin, sizeof(bin));
    if (rc < 0) {
        snprintf(err, errlen, "cannot find the kxen programs: %s", strerror(-rc));
        return rc;
    }
    int lock = lock_rundir(rundir);
    if (lock < 0) {
        snprintf(err, errlen, "cannot lock %s/services.lock: %s", rundir, strerror(-lock));
        return lock;
    }
    for (size_t i = 0; i < ARRAY_SIZE(services) && rc == 0; i++) {
        bool was_up = socket_answers(rundir, services[i].socket);
        long pid = was_up ? 0 : dead_pid(rundir, services[i].name);
        if (pid && gone && gonelen) {
            size_t used = strlen(gone);
            snprintf(gone + used, gonelen - used, "%s%s (pid %ld)", used ? ", " : "",
                     services[i].name, pid);
        }
        rc = ensure_one(rundir, bin, &services[i], err, errlen);
        if (rc == 0 && !was_up && started)
            (*started)++;
    }
    close(lock);
    return rc;
}
