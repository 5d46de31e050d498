/* kxend: the per-host hypervisor daemon. Parses options, picks the accelerator, starts
 * through the daemon skeleton (kxen/daemon.h: one kxend per run dir, ready pipe, signals),
 * serves the control socket until SIGTERM/SIGINT/SIGHUP or a shutdown request, then destroys
 * every domain and exits. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "kxen/ctl.h"
#include "kxen/daemon.h"
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
            "             [--log-level err|warn|info|debug] [--log-file FILE] [--overcommit]\n"
            "  --overcommit: accept domains whose RAM does not fit in free host memory\n"
            "                (also KXEN_OVERCOMMIT=1); the OOM killer may then end kxend\n",
            names);
}

static struct kxen_daemon daemon_state;
static bool logs_to_file;

/* Runs in the signal handler: ctl_server_stop() only sets a flag and writes an eventfd. */
static void on_stop(int sig)
{
    (void)sig;
    ctl_server_stop();
}

/* A start-up failure reaches whoever started kxend (stderr, or the parent waiting on the
 * ready pipe) and the log file. fmt NULL: the skeleton's own message. */
static int startup_failed(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int startup_failed(int status, const char *fmt, ...)
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
    if (kxen_daemon_fail(d, status, NULL))
        fprintf(stderr, "kxend: %s\n", d->msg);
    return status;
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
        {"overcommit", no_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool no_fork = false;
    const char *accel_name = "auto", *pidfile = NULL, *log_file = NULL;
    int level = KLOG_INFO, c;

    const char *oc = getenv("KXEN_OVERCOMMIT");
    domain_overcommit = oc && strcmp(oc, "1") == 0;
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
        case 'O':
            domain_overcommit = true;
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

    char rundir[256], sock[256];
    int rc = kxen_rundir(rundir, sizeof(rundir));
    if (rc == 0)
        rc = kxen_rundir_create();
    if (rc == 0)
        rc = kxen_rundir_path(sock, sizeof(sock), KXEN_CTL_SOCKET_NAME);
    if (rc < 0) {
        fprintf(stderr, "kxend: run directory %s: %s\n", rundir, kxen_rundir_strerror(rc));
        return 1;
    }

    struct kxen_daemon *d = &daemon_state;
    kxen_daemon_init(d, "kxend");
    logs_to_file = log_file != NULL;
    if (kxen_daemon_log_init(d, (enum klog_level)level, log_file) < 0) {
        fprintf(stderr, "kxend: %s\n", d->msg);
        return 1;
    }

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

    /* Checks before daemonizing, so that refusals reach the caller's terminal directly; the
     * lock comes before the socket, which ctl_server_init() replaces. */
    if (kxen_daemon_lock(d, rundir, pidfile) < 0) {
        startup_failed(1, NULL);
        kxen_daemon_cleanup(d);
        return 1;
    }
    if (kxen_daemon_detach(d, no_fork) < 0) {
        startup_failed(1, NULL);
        kxen_daemon_cleanup(d);
        return 1;
    }
    if (d->is_parent) {
        if (d->exit_status)
            fprintf(stderr, "kxend: %s\n", d->msg);
        return d->exit_status;
    }
    time_init();
    char idfile[300];
    snprintf(idfile, sizeof(idfile), "%s/kxend.domid", rundir);
    int last_id = domain_ids_restore(idfile);
    if (last_id > 0)
        log_warn("a previous kxend ended without stopping its domains (last id %d): their "
                 "state may remain in xenstored and xenconsoled; new ids start after it",
                 last_id);
    else if (last_id < 0)
        log_warn("cannot use %s: %s", idfile, strerror(-last_id));

    if ((rc = kxen_daemon_write_pid(d)) < 0) {
        rc = startup_failed(1, NULL);
        goto out;
    }
    if ((rc = ctl_server_init(sock)) < 0) {
        rc = startup_failed(1, "cannot set up %s: %s",
                            rc == -ENAMETOOLONG ? "the socket path" : sock, strerror(-rc));
        goto out;
    }
    if (kxen_daemon_signals(d, on_stop) < 0) {
        rc = startup_failed(1, NULL);
        goto out;
    }
    log_info("kxend %d serving %s with the %s accelerator", (int)getpid(), sock, kxend_accel->name);
    console_hv_printf("(XEN) kxend started, accelerator %s\n", kxend_accel->name);
    if (kxen_daemon_ready(d, logs_to_file) < 0)
        log_warn("%s", d->msg);

    rc = ctl_server_run() < 0 ? 1 : 0;
    log_info("kxend stopping: destroying every domain");
out:
    ctl_server_fini();
    domain_destroy_all();
    domain_ids_forget();
    console_global_free();
    kxen_daemon_cleanup(d);
    return rc;
}
