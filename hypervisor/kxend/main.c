/* kxend: the per-host hypervisor daemon. Parses options, takes the run directory's pid-file
 * lock (one kxend per run dir), picks the accelerator, serves the control socket until
 * SIGTERM/SIGINT or a shutdown request, then destroys every domain and exits. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "kxen/ctl.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/ctl_server.h"
#include "kxend/hypercall.h"

static void usage(FILE *f)
{
    char names[128];
    accel_names(names, sizeof(names), "|");
    fprintf(f,
            "usage: kxend [-N|--no-fork] [--accel auto|%s] [--rundir DIR] [-F PIDFILE]\n"
            "             [--log-level err|warn|info|debug] [--log-file FILE]\n",
            names);
}

static void on_signal(int sig)
{
    (void)sig;
    ctl_server_stop();
}

/* Creates and locks the pid file; -EEXIST when another kxend holds it. */
static int pidfile_lock(const char *path, int *out_fd)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK ? -EEXIST : -e;
    }
    *out_fd = fd;
    return 0;
}

static int pidfile_write(int fd)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        return -errno;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-fork", no_argument, NULL, 'N'},
        {"accel", required_argument, NULL, 'a'},
        {"rundir", required_argument, NULL, 'r'},
        {"pidfile", required_argument, NULL, 'F'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-file", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool no_fork = false;
    const char *accel_name = "auto", *pidfile = NULL, *log_file = NULL;
    int level = KLOG_INFO, c;

    while ((c = getopt_long(argc, argv, "NF:h", opts, NULL)) != -1) {
        switch (c) {
        case 'N':
            no_fork = true;
            break;
        case 'a':
            accel_name = optarg;
            break;
        case 'r':
            if (setenv("KXEN_RUNDIR", optarg, 1) < 0)
                return 1;
            break;
        case 'F':
            pidfile = optarg;
            break;
        case 'l':
            if ((level = klog_parse_level(optarg)) < 0) {
                fprintf(stderr, "kxend: unknown log level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'L':
            log_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    char rundir[256], sock[256], pidpath[256];
    int rc = kxen_rundir(rundir, sizeof(rundir));
    if (rc == 0)
        rc = kxen_rundir_create();
    if (rc == 0)
        rc = kxen_rundir_path(sock, sizeof(sock), KXEN_CTL_SOCKET_NAME);
    if (rc == 0 && !pidfile)
        rc = kxen_rundir_path(pidpath, sizeof(pidpath), "kxend.pid");
    if (rc < 0) {
        fprintf(stderr, "kxend: run directory: %s\n", strerror(-rc));
        return 1;
    }
    if (pidfile)
        snprintf(pidpath, sizeof(pidpath), "%s", pidfile);

    /* Conflicting registrations (two parts claiming one number) are logged by the checks. */
    if (hypercall_table_init() < 0 || ctl_op_groups_init() < 0) {
        fprintf(stderr, "kxend: conflicting registrations in this build\n");
        return 1;
    }

    int err;
    kxend_accel = accel_select(accel_name, &err);
    if (!kxend_accel) {
        char names[128];
        accel_names(names, sizeof(names), ", ");
        fprintf(stderr, "kxend: accelerator '%s' unusable: %s%s%s\n", accel_name,
                err == -EINVAL ? "unknown name (auto, " : strerror(-err),
                err == -EINVAL ? names : "", err == -EINVAL ? ")" : "");
        return 1;
    }

    int pid_fd = -1;
    if ((rc = pidfile_lock(pidpath, &pid_fd)) < 0) {
        fprintf(stderr, "kxend: %s: %s\n", pidpath,
                rc == -EEXIST ? "another kxend already runs in this run directory" : strerror(-rc));
        return 1;
    }

    /* Daemonize after the checks so that errors reach the caller's terminal; the parent
     * exits once the child's socket listens (a pipe carries the verdict). */
    int ready[2] = {-1, -1};
    if (!no_fork) {
        if (pipe2(ready, O_CLOEXEC) < 0)
            return 1;
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid > 0) {
            char ok = 0;
            close(ready[1]);
            ssize_t n = read(ready[0], &ok, 1);
            return n == 1 && ok == 1 ? 0 : 1;
        }
        close(ready[0]);
        setsid();
        /* The lock belongs to the open file description: the child keeps it. */
    }
    klog_init("kxend", (enum klog_level)level, log_file);
    time_init();

    if ((rc = pidfile_write(pid_fd)) < 0 || (rc = ctl_server_init(sock)) < 0) {
        log_err("cannot set up %s: %s", rc == -ENAMETOOLONG ? "the socket path" : sock,
                strerror(-rc));
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_info("kxend %d serving %s with the %s accelerator", (int)getpid(), sock, kxend_accel->name);
    console_hv_printf("(XEN) kxend started, accelerator %s\n", kxend_accel->name);
    if (!no_fork) {
        char ok = 1;
        if (write(ready[1], &ok, 1) != 1)
            log_warn("could not notify the parent process");
        close(ready[1]);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            if (log_file)
                dup2(devnull, 2);
            close(devnull);
        }
    }

    rc = ctl_server_run();
    log_info("kxend stopping: destroying every domain");
    ctl_server_fini();
    domain_destroy_all();
    console_global_free();
    unlink(pidpath);
    close(pid_fd);
    klog_close();
    return rc < 0 ? 1 : 0;
}
