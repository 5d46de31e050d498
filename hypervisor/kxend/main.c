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

/* Runs in the signal handler: ctl_server_stop() only sets a flag and writes an eventfd. */
static void on_stop(int sig)
{
    (void)sig;
    ctl_server_stop();
}

enum { OPT_ACCEL = 0x200, OPT_OVERCOMMIT };

static int kxend_option(int val, const char *arg, void *ctx)
{
    switch (val) {
    case OPT_ACCEL:
        *(const char **)ctx = arg;
        return 0;
    case OPT_OVERCOMMIT:
        domain_overcommit = true;
        return 0;
    default:
        return -EINVAL;
    }
}

int main(int argc, char **argv)
{
    static const struct option extra[] = {
        {"accel", required_argument, NULL, OPT_ACCEL},
        {"overcommit", no_argument, NULL, OPT_OVERCOMMIT},
        {NULL, 0, NULL, 0},
    };
    const char *accel_name = "auto";
    struct kxen_daemon *d = &daemon_state;
    struct kxen_daemon_opts o;
    kxen_daemon_init(d, "kxend");
    const char *oc = getenv("KXEN_OVERCOMMIT");
    domain_overcommit = oc && strcmp(oc, "1") == 0;
    int rc = kxen_daemon_parse_args(d, argc, argv, extra, kxend_option, &accel_name, &o);
    if (rc == KXEN_DAEMON_ARGS_HELP) {
        usage(stdout);
        return 0;
    }
    if (rc < 0) {
        if (d->msg[0])
            fprintf(stderr, "kxend: %s\n", d->msg);
        usage(stderr);
        return 2;
    }

    char rundir[256], sock[256];
    rc = kxen_rundir(rundir, sizeof(rundir));
    if (rc == 0)
        rc = kxen_rundir_create();
    if (rc == 0)
        rc = kxen_rundir_path(sock, sizeof(sock), KXEN_CTL_SOCKET_NAME);
    if (rc < 0) {
        fprintf(stderr, "kxend: run directory %s: %s\n", rundir, kxen_rundir_strerror(rc));
        return 1;
    }

    if (kxen_daemon_log_init(d, (enum klog_level)o.level, o.log_file) < 0) {
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
    if (kxen_daemon_lock(d, rundir, o.pid_file) < 0) {
        KXEN_DAEMON_FAIL(d, 1, NULL);
        kxen_daemon_cleanup(d);
        return 1;
    }
    if (kxen_daemon_detach(d, o.no_fork) < 0) {
        KXEN_DAEMON_FAIL(d, 1, NULL);
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
        rc = KXEN_DAEMON_FAIL(d, 1, NULL);
        goto out;
    }
    if ((rc = ctl_server_init(sock)) < 0) {
        rc = KXEN_DAEMON_FAIL(d, 1, "cannot set up %s: %s",
                              rc == -ENAMETOOLONG ? "the socket path" : sock, strerror(-rc));
        goto out;
    }
    if (kxen_daemon_signals(d, on_stop) < 0) {
        rc = KXEN_DAEMON_FAIL(d, 1, NULL);
        goto out;
    }
    log_info("kxend %d serving %s with the %s accelerator", (int)getpid(), sock, kxend_accel->name);
    console_hv_printf("(XEN) kxend started, accelerator %s\n", kxend_accel->name);
    if (kxen_daemon_ready(d, d->logs_to_file) < 0)
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
