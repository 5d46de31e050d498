/* Hotplug scripts as Xen's libxl runs them (run_hotplug_scripts=1): `<script> add|remove`
 * with XENBUS_TYPE, XENBUS_PATH (backend/<kind>/<domid>/<devid>, relative to dom0's home),
 * XENBUS_BASE_PATH=backend and, for a vif, vif=<interface>; the script reports through
 * <backend>/hotplug-status ("connected") and <backend>/hotplug-error. Only backends in dom0
 * run their scripts here: a driver domain runs its own. A script that outlives its bound is
 * killed, so a hung script cannot hang xl. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kxen/util.h"
#include "xenstore.h"

#include "kxl_device.h"

static char *be_key(struct kxl_ctx *ctx, const char *be, const char *key)
{
    char path[KXL_DEV_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", be, key);
    return kxl_xs_read(ctx, path);
}

/* In the child: only the environment and exec (the xenstore connection is the parent's). */
static void child_exec(struct kxl_ctx *ctx, const char *script, const char *vif, const char *kind,
                       uint16_t domid, uint32_t devid, const char *action)
{
    char xp[KXL_DEV_PATH_MAX], bin[PATH_MAX], path[PATH_MAX * 2];
    snprintf(xp, sizeof(xp), "backend/%s/%u/%u", kind, domid, devid);
    setenv("script", script, 1);
    setenv("XENBUS_TYPE", kind, 1);
    setenv("XENBUS_PATH", xp, 1);
    setenv("XENBUS_BASE_PATH", "backend", 1);
    if (vif[0])
        setenv("vif", vif, 1);
    /* The script's xenstore-read/-write must reach this host's xenstored. */
    if (ctx->rundir[0])
        setenv("XENSTORED_RUNDIR", ctx->rundir, 0);
    if (kxl__bindir(bin, sizeof(bin)) == 0) {
        const char *old = getenv("PATH");
        snprintf(path, sizeof(path), "%s:%s", bin, old ? old : "/usr/sbin:/usr/bin:/sbin:/bin");
        setenv("PATH", path, 1);
    }
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
    }
    execl(script, script, action, (char *)NULL);
    _exit(127);
}

/* Waits for pid up to timeout_ms, killing it after; returns the wait status or -ETIMEDOUT. */
static int wait_bounded(pid_t pid, int timeout_ms)
{
    uint64_t deadline = kxen_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -errno;
        if (kxen_now_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -ETIMEDOUT;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int kxl__hotplug_run(struct kxl_ctx *ctx, const char *be, const char *kind, uint16_t domid,
                     uint32_t devid, const char *action)
{
    if (strncmp(be, "/local/domain/0/", 16) != 0)
        return 0;
    char *script = be_key(ctx, be, "script");
    if (!script || !*script) {
        free(script);
        return 0;
    }
    bool add = strcmp(action, "add") == 0;
    if (access(script, X_OK) < 0) {
        int e = errno;
        int rc = kxl_fail(ctx, -e, "hotplug script %s cannot run: %s", script, strerror(e));
        free(script);
        return rc;
    }
    char vif[32] = "";
    if (strcmp(kind, "vif") == 0) {
        char *name = be_key(ctx, be, "vifname");
        if (name)
            snprintf(vif, sizeof(vif), "%s", name);
        else
            snprintf(vif, sizeof(vif), "vif%u.%u", domid, devid);
        free(name);
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        free(script);
        return kxl_fail(ctx, -e, "fork for the hotplug script failed: %s", strerror(e));
    }
    if (pid == 0)
        child_exec(ctx, script, vif, kind, domid, devid, action);
    int status = wait_bounded(pid, KXL_HOTPLUG_TIMEOUT_MS);
    int rc = 0;
    if (add) {
        char *hs = be_key(ctx, be, "hotplug-status");
        char *he = be_key(ctx, be, "hotplug-error");
        if (status == -ETIMEDOUT)
            rc = kxl_fail(ctx, -ETIMEDOUT, "hotplug script %s add did not finish within %d s",
                          script, KXL_HOTPLUG_TIMEOUT_MS / 1000);
        else if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            int code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            if (he)
                rc = kxl_fail(ctx, -EIO, "hotplug script %s add failed: %s", script, he);
            else
                rc = kxl_fail(ctx, -EIO, "hotplug script %s add failed (exit status %d)", script,
                              code);
        } else if (!hs || strcmp(hs, "connected") != 0) {
            rc = kxl_fail(ctx, -EIO, "hotplug script %s add did not write hotplug-status=connected",
                          script);
        }
        free(hs);
        free(he);
    }
    free(script);
    return rc;
}

int kxl__dev_bring_up(struct kxl_ctx *ctx, const struct kxl_devnodes *n)
{
    struct kxl_devpaths p;
    kxl__dev_paths(n->kind, n->domid, n->backend_domid, n->devid, &p);
    /* A declared driver domain's backend comes up when that domain does (it may be paused or
     * still booting): the device waits in Initialising, as the guest's frontend does, and no
     * script runs here. Any other backend domain gets Xen's 10 s to reach InitWait. */
    if (n->backend_domid != 0) {
        char dd[64];
        snprintf(dd, sizeof(dd), "/libxl/%u/driver_domain", n->backend_domid);
        char *v = kxl_xs_read(ctx, dd);
        bool declared = v && !strcmp(v, "1");
        free(v);
        if (declared)
            return 0;
    }
    int last = -1;
    int rc = kxl__dev_wait_state(ctx, p.be, 2, KXL_DEV_INIT_TIMEOUT_MS, &last);
    if (rc == -ETIMEDOUT)
        return kxl_fail(ctx, rc,
                        "%s: the backend did not reach InitWait within %d s (state %d; is "
                        "the %s backend running in domain %u?)",
                        n->label, KXL_DEV_INIT_TIMEOUT_MS / 1000, last, n->kind, n->backend_domid);
    if (rc) {
        char *err = be_key(ctx, p.be, "error");
        kxl_fail(ctx, rc, "%s: the backend closed the device%s%s", n->label, err ? ": " : "",
                 err ? err : "");
        free(err);
        return rc;
    }
    rc = kxl__hotplug_run(ctx, p.be, n->kind, n->domid, n->devid, "add");
    if (rc) {
        char msg[KXL_ERR_LEN];
        snprintf(msg, sizeof(msg), "%s", kxl_errmsg(ctx));
        return kxl_fail(ctx, rc, "%s: %s", n->label, msg);
    }
    return 0;
}
