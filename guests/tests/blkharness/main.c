/* blk-harness: a minimal dom0 block backend for the block system tests: writes the vbd
 * layout a toolstack writes (Linux's libxl device_disk_add keys, state Initialising on both
 * sides) for each DOMID:DEVID:IMAGE:MODE argument, runs drivers/block's blkback on the dom0
 * platform until SIGTERM/SIGINT, and prints "blk-harness: ready" once the keys are written.
 *   blk-harness [-p PIDFILE] DOMID:DEVID:IMAGE:w|r ...
 *   blk-harness -d DOMID:DEVID     (asks the backend to detach: online=0, state=Closing) */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../drivers/block/blkback.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void log_line(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "blk-harness: %s\n", msg);
}

struct disk {
    unsigned long domid, devid;
    char image[512];
    char mode; /* 'w' or 'r' */
};

static int parse_disk(const char *arg, struct disk *d)
{
    char mode = 0;
    int n = 0;
    if (sscanf(arg, "%lu:%lu:%511[^:]:%c%n", &d->domid, &d->devid, d->image, &mode, &n) != 4 ||
        arg[n] || (mode != 'w' && mode != 'r'))
        return -EINVAL;
    d->mode = mode;
    return 0;
}

static int put(struct xenbus_platform *p, xenbus_txn_t t, const char *dir, const char *key,
               const char *val)
{
    char path[768];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    return p->ops->xs_write(p, t, path, val);
}

/* One transaction: the backend directory (dom0's, readable by the guest) and the frontend
 * directory (the guest's). */
static int write_layout(struct xenbus_platform *p, const struct disk *d)
{
    char be[256], fe[256], v[64];
    snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%lu/%lu", d->domid, d->devid);
    snprintf(fe, sizeof(fe), "/local/domain/%lu/device/vbd/%lu", d->domid, d->devid);
    for (int attempt = 0; attempt < 16; attempt++) {
        xenbus_txn_t t;
        int rc = p->ops->xs_transaction_start(p, &t);
        if (rc)
            return rc;
        struct xenbus_perm be_perms[] = {{0, XENBUS_PERM_NONE}, {d->domid, XENBUS_PERM_READ}};
        struct xenbus_perm fe_perms[] = {{d->domid, XENBUS_PERM_NONE}, {0, XENBUS_PERM_READ}};
        rc = p->ops->xs_mkdir(p, t, be);
        rc = rc ?: p->ops->xs_set_perms(p, t, be, be_perms, 2);
        rc = rc ?: put(p, t, be, "frontend", fe);
        snprintf(v, sizeof(v), "%lu", d->domid);
        rc = rc ?: put(p, t, be, "frontend-id", v);
        rc = rc ?: put(p, t, be, "online", "1");
        rc = rc ?: put(p, t, be, "removable", "0");
        rc = rc ?: put(p, t, be, "bootable", "1");
        rc = rc ?: put(p, t, be, "dev", "xvda");
        rc = rc ?: put(p, t, be, "type", "file");
        rc = rc ?: put(p, t, be, "mode", d->mode == 'w' ? "w" : "r");
        rc = rc ?: put(p, t, be, "device-type", "disk");
        rc = rc ?: put(p, t, be, "discard-enable", "1");
        rc = rc ?: put(p, t, be, "params", d->image);
        rc = rc ?: put(p, t, be, "state", "1");
        rc = rc ?: p->ops->xs_mkdir(p, t, fe);
        rc = rc ?: p->ops->xs_set_perms(p, t, fe, fe_perms, 2);
        rc = rc ?: put(p, t, fe, "backend", be);
        rc = rc ?: put(p, t, fe, "backend-id", "0");
        snprintf(v, sizeof(v), "%lu", d->devid);
        rc = rc ?: put(p, t, fe, "virtual-device", v);
        rc = rc ?: put(p, t, fe, "device-type", "disk");
        rc = rc ?: put(p, t, fe, "state", "1");
        if (rc) {
            p->ops->xs_transaction_end(p, t, true);
            return rc;
        }
        rc = p->ops->xs_transaction_end(p, t, false);
        if (rc != -EAGAIN)
            return rc;
    }
    return -EAGAIN;
}

static int detach(struct xenbus_platform *p, const char *arg)
{
    unsigned long domid, devid;
    if (sscanf(arg, "%lu:%lu", &domid, &devid) != 2)
        return -EINVAL;
    char be[256];
    snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%lu/%lu", domid, devid);
    int rc = put(p, XENBUS_TXN_NULL, be, "online", "0");
    return rc ?: put(p, XENBUS_TXN_NULL, be, "state", "5");
}

static int serve(struct xenbus_platform *p, struct disk *disks, int n)
{
    struct blkback_config cfg;
    blkback_config_default(&cfg);
    struct blkback *bb = blkback_new(p, &cfg, log_line, NULL);
    if (!bb)
        return -ENOMEM;
    int rc = blkback_start(bb);
    for (int i = 0; !rc && i < n; i++)
        rc = write_layout(p, &disks[i]);
    if (rc) {
        blkback_free(bb);
        return rc;
    }
    printf("blk-harness: ready\n");
    fflush(stdout);
    while (!stop) {
        struct pollfd fds[] = {{p->ops->evtchn_fd(p), POLLIN, 0},
                               {p->ops->xs_watch_fd(p), POLLIN, 0},
                               {blkback_completion_fd(bb), POLLIN, 0}};
        if (poll(fds, 3, 100) < 0 && errno != EINTR)
            break;
        /* kxend or xenstored went away (services stopped): nothing left to serve. */
        if ((fds[0].revents | fds[1].revents) & (POLLHUP | POLLERR | POLLNVAL)) {
            fprintf(stderr, "blk-harness: the event channel or xenstore connection closed\n");
            break;
        }
        rc = blkback_poll(bb);
        if (rc < 0)
            fprintf(stderr, "blk-harness: poll: %s\n", strerror(-rc));
    }
    blkback_free(bb);
    return 0;
}

int main(int argc, char **argv)
{
    const char *pidfile = NULL;
    int first = 1;
    if (argc > 2 && !strcmp(argv[1], "-p")) {
        pidfile = argv[2];
        first = 3;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: blk-harness [-p PIDFILE] DOMID:DEVID:IMAGE:w|r ...\n"
                        "       blk-harness -d DOMID:DEVID\n");
        return 2;
    }
    struct xenbus_platform *p = xenbus_platform_dom0_open();
    if (!p) {
        perror("blk-harness: dom0 platform");
        return 1;
    }
    int rc;
    if (!strcmp(argv[first], "-d") && argc == first + 2) {
        rc = detach(p, argv[first + 1]);
    } else {
        int n = argc - first;
        struct disk *disks = calloc((size_t)n, sizeof(*disks));
        rc = disks ? 0 : -ENOMEM;
        for (int i = 0; !rc && i < n; i++)
            if ((rc = parse_disk(argv[first + i], &disks[i])))
                fprintf(stderr, "blk-harness: bad disk '%s'\n", argv[first + i]);
        if (!rc && pidfile) {
            FILE *f = fopen(pidfile, "w");
            if (f) {
                fprintf(f, "%d\n", (int)getpid());
                fclose(f);
            }
        }
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        if (!rc)
            rc = serve(p, disks, n);
        free(disks);
    }
    xenbus_platform_destroy(p);
    if (rc)
        fprintf(stderr, "blk-harness: %s\n", strerror(-rc));
    return rc ? 1 : 0;
}
