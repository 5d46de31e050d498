/* kxen-devd (what `xl devd` runs): the daemon skeleton around the supervisor, or, with
 * --worker DOMID, one worker (devd.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "kxen/daemon.h"
#include "kxen/daemon_event.h"
#include "kxen/log.h"
#include "kxen/util.h"

#include "devd_supervisor.h"

static struct kxen_daemon daemon_state;
static bool logs_to_file;

static void startup_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void startup_failed(const char *fmt, ...)
{
    struct kxen_daemon *d = &daemon_state;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
        va_end(ap);
    }
    if (logs_to_file)
        log_err("%s", d->msg);
    if (kxen_daemon_fail(d, 1, NULL))
        fprintf(stderr, "kxen-devd: %s\n", d->msg);
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: kxen-devd [-N] [--rundir DIR] [-F PIDFILE] [--log-level L] "
               "[--log-file FILE]\n");
}

static int supervise(bool no_fork, const char *pidfile, const char *level_name, const char *logfile,
                     const char *rundir)
{
    struct kxen_daemon *dm = &daemon_state;
    if (kxen_daemon_lock(dm, rundir, pidfile) < 0 || kxen_daemon_detach(dm, no_fork) < 0) {
        startup_failed(NULL);
        kxen_daemon_cleanup(dm);
        return 1;
    }
    if (dm->is_parent) {
        if (dm->exit_status)
            fprintf(stderr, "kxen-devd: %s\n", dm->msg);
        return dm->exit_status;
    }
    int rc = 1;
    char exe[PATH_MAX], err[512];
    struct kxen_daemon_stop stop = {0};
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    struct event_base *base = event_base_new();
    if (n < 0 || !base) {
        startup_failed("cannot find itself or create the event loop");
        goto out;
    }
    exe[n] = '\0';
    if (kxen_daemon_signals(dm, NULL) < 0 || kxen_daemon_stop_watch(&stop, base) < 0) {
        startup_failed(NULL);
        goto out;
    }
    struct devd_supervisor_cfg cfg = {.self_exe = exe,
                                      .rundir = rundir,
                                      .log_level = level_name,
                                      .log_file = logfile,
                                      .self_domid = 0};
    if (devd_supervisor_setup(base, &cfg, err, sizeof(err)) < 0) {
        startup_failed("%s", err);
        goto out;
    }
    if (kxen_daemon_write_pid(dm) < 0) {
        startup_failed(NULL);
        goto out;
    }
    if (kxen_daemon_ready(dm, logs_to_file) < 0)
        log_warn("%s", dm->msg);
    size_t nr = 0;
    for (DEVD_FOREACH_BACKEND(t))
        nr++;
    log_info("serving %zu backend type(s) for the domains of %s", nr, rundir);
    rc = event_base_dispatch(base) < 0 || devd_supervisor_lost_store() ? 1 : 0;
    if (stop.signal)
        log_info("signal %d: stopping", stop.signal);
out:
    devd_supervisor_stop();
    kxen_daemon_stop_unwatch(&stop);
    if (base)
        event_base_free(base);
    libevent_global_shutdown();
    kxen_daemon_cleanup(dm);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-fork", no_argument, NULL, 'N'},        {"rundir", required_argument, NULL, 'R'},
        {"pid-file", required_argument, NULL, 'F'}, {"log-level", required_argument, NULL, 'L'},
        {"log-file", required_argument, NULL, 'O'}, {"worker", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    bool no_fork = false;
    const char *pidfile = NULL, *logfile = NULL, *level_name = "info";
    long worker = -1;
    int level = KLOG_INFO, opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "NF:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'N':
            no_fork = true;
            break;
        case 'R':
            setenv("KXEN_RUNDIR", optarg, 1);
            break;
        case 'F':
            pidfile = optarg;
            break;
        case 'O':
            logfile = optarg;
            break;
        case 'L':
            if ((level = klog_parse_level(optarg)) < 0) {
                fprintf(stderr, "kxen-devd: unknown log level '%s'\n", optarg);
                return 2;
            }
            level_name = optarg;
            break;
        case 'W':
            worker = strtol(optarg, &end, 10);
            if (*end || worker < 0 || worker >= 0x7ff0) {
                fprintf(stderr, "kxen-devd: invalid worker domain '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    char rundir[PATH_MAX];
    int rdr = kxen_rundir(rundir, sizeof(rundir));
    if (rdr == 0)
        rdr = kxen_rundir_create();
    if (rdr < 0) {
        fprintf(stderr, "kxen-devd: run directory %s: %s\n", rundir, kxen_rundir_strerror(rdr));
        return 1;
    }
    setenv("XENSTORED_RUNDIR", rundir, 0);
    struct kxen_daemon *dm = &daemon_state;
    kxen_daemon_init(dm, "kxen-devd");
    logs_to_file = logfile != NULL;
    if (kxen_daemon_log_init(dm, level, logfile) < 0) {
        fprintf(stderr, "kxen-devd: %s\n", dm->msg);
        return 1;
    }
    if (worker >= 0) {
        int rc = devd_worker_main((uint32_t)worker);
        klog_close();
        return rc;
    }
    return supervise(no_fork, pidfile, level_name, logfile, rundir);
}
