/* The per-domain monitor `xl create` leaves behind (as Xen's xl does): it follows kxend's
 * domain events and, when the guest stops, runs the config's on_poweroff / on_reboot /
 * on_crash / on_watchdog action. Restart rebuilds the domain from the same config (same
 * name and uuid, a new domain id), under a build guard as xl create's build. It ends when the
 * domain is gone for good. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kxen/ctl_client.h"
#include "kxen/log.h"
#include "kxen/ctl_domain.h"
#include "kxen/sched.h"

#include "xl.h"

static void mlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mlog(const char *fmt, ...)
{
    /* Through the daemons' log module: ISO 8601 UTC lines, and xl-<name>.log (our stderr)
     * rotates past KXEN_LOG_MAX as their logs do. */
    va_list ap;
    va_start(ap, fmt);
    vklog(KLOG_INFO, fmt, ap);
    va_end(ap);
}

static const char *reason_name(unsigned r)
{
    static const char *names[] = {"poweroff", "reboot",   "suspend",
                                  "crash",    "watchdog", "soft_reset"};
    return r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

static enum kxl_action action_for(const struct kxl_domain_config *dc, unsigned reason)
{
    switch (reason) {
    case SHUTDOWN_poweroff:
        return dc->on_poweroff;
    case SHUTDOWN_reboot:
        return dc->on_reboot;
    case SHUTDOWN_watchdog:
        return dc->on_watchdog;
    case SHUTDOWN_soft_reset:
        return KXL_ACTION_RESTART;
    default:
        return dc->on_crash;
    }
}

/* mkdir -p, the last component 0700 (dumps hold guest memory). */
static int make_dirs(char *dir)
{
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            int rc = mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : 0;
            *p = '/';
            if (rc < 0)
                return rc;
        }
    return mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* coredump-*: the RAM goes to <dump dir>/<name> before the domain is destroyed, the dump dir
 * being Xen's /var/lib/xen/dump for root, else <rundir>/dump (kxen_dump_dir(),
 * docs/paths.md); a failed dump is logged and the action goes on. */
static void dump_core(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, uint16_t domid)
{
    char dir[PATH_MAX], path[PATH_MAX + 80];
    if (kxen_dump_dir(kxl_rundir(ctx), dir, sizeof(dir)) < 0)
        snprintf(dir, sizeof(dir), "%s/dump", kxl_rundir(ctx));
    if (make_dirs(dir) < 0) {
        mlog("cannot create %s: %s; no core dump", dir, strerror(errno));
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, dc->name);
    if (kxl_domain_core_dump(ctx, domid, path) < 0)
        mlog("%s", kxl_errmsg(ctx));
    else
        mlog("domain %u (%s): core dumped to %s", domid, dc->name, path);
}

/* The restart's build, guarded as xl create's is (build_guard.c): a monitor killed before the
 * new domain is finished leaves nothing of it. */
static int create_guarded(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, uint16_t *domid)
{
    char who[96];
    snprintf(who, sizeof(who), "xl-monitor restarting %s", dc->name);
    xl_guard_start(who, mlog);
    xl_guard_watch(ctx);
    int rc = kxl_domain_create(ctx, dc, false, domid);
    xl_guard_release();
    return rc;
}

/* Returns 1 when the monitor should keep following *domid (restarted), 0 when done. */
static int handle_shutdown(struct kxl_ctx *ctx, struct kxl_domain_config *dc, uint16_t *domid,
                           unsigned reason)
{
    enum kxl_action a = action_for(dc, reason);
    mlog("domain %u (%s) shut down, reason %s: action %s", *domid, dc->name, reason_name(reason),
         kxl_action_name(a));
    if (a == KXL_ACTION_COREDUMP_DESTROY || a == KXL_ACTION_COREDUMP_RESTART)
        dump_core(ctx, dc, *domid);
    switch (a) {
    case KXL_ACTION_PRESERVE:
        return 0;
    case KXL_ACTION_DESTROY:
    case KXL_ACTION_COREDUMP_DESTROY:
        if (kxl_domain_destroy(ctx, *domid) < 0)
            mlog("destroy failed: %s", kxl_errmsg(ctx));
        return 0;
    case KXL_ACTION_RENAME_RESTART: {
        char old[80];
        snprintf(old, sizeof(old), "%.40s-old%u", dc->name, *domid);
        if (kxl_domain_rename(ctx, *domid, old) < 0) {
            mlog("rename to %s failed: %s; destroying instead", old, kxl_errmsg(ctx));
            kxl_domain_destroy(ctx, *domid);
        }
        break;
    }
    default: /* restart, coredump-restart, soft-reset */
        if (kxl_domain_destroy(ctx, *domid) < 0) {
            mlog("destroy before restart failed: %s", kxl_errmsg(ctx));
            return 0;
        }
        break;
    }
    /* xl config-update: the restart takes the stored config (once). */
    struct kxl_domain_config upd;
    int urc = xl_config_update_take(kxl_rundir(ctx), dc->name, &upd);
    if (urc == 0) {
        mlog("restarting %s with the config xl config-update stored", dc->name);
        kxl_domain_config_free(dc);
        *dc = upd;
    } else if (urc != -ENOENT) {
        mlog("the config stored by xl config-update is unusable (%s): keeping the old one",
             strerror(-urc));
    }
    uint16_t nd;
    if (create_guarded(ctx, dc, &nd) < 0) {
        mlog("restart of %s failed: %s", dc->name, kxl_errmsg(ctx));
        return 0;
    }
    mlog("domain %s restarted with id %u", dc->name, nd);
    *domid = nd;
    return 1;
}

int xl_monitor_run(struct kxl_domain_config *dc, uint16_t domid)
{
    klog_init("xl-monitor", KLOG_INFO, NULL);
    struct kxl_ctx *ctx;
    struct kxen_ctl *ev;
    char err[KXL_ERR_LEN];
    int rc = kxl_ctx_open(0, &ctx, err, sizeof(err));
    if (rc < 0) {
        mlog("%s", err);
        return rc;
    }
    rc = kxen_ctl_open(kxl_rundir(ctx), &ev);
    if (rc == 0)
        rc = kxen_ctl_simple(ev, KXEN_CTL_EVENTS_SUBSCRIBE, NULL, 0, NULL, 0, NULL);
    if (rc < 0) {
        mlog("cannot subscribe to kxend's domain events: %s", strerror(-rc));
        if (ev)
            kxen_ctl_close(ev);
        kxl_ctx_close(ctx);
        return rc;
    }
    mlog("following domain %u (%s)", domid, dc->name);
    bool was_suspended = false;
    for (;;) {
        /* State first: the domain may have stopped before we subscribed, and kxend drops
         * events on a full socket. */
        struct kxl_dominfo di;
        if (kxl_domain_info(ctx, domid, &di) < 0) {
            mlog("domain %u is gone", domid);
            break;
        }
        bool suspended = false;
        if ((di.flags & KXEN_DOMINFO_SHUTDOWN) && di.shutdown_reason == SHUTDOWN_suspend) {
            /* A save or migration owns the domain now: it either runs again (xl save -c, a
             * failed migration), and is followed on, or goes away. */
            if (!was_suspended)
                mlog("domain %u (%s) suspended: following it until it resumes or goes", domid,
                     dc->name);
            suspended = true;
        } else if (di.flags & KXEN_DOMINFO_SHUTDOWN) {
            if (handle_shutdown(ctx, dc, &domid, di.shutdown_reason))
                continue;
            break;
        } else if (was_suspended) {
            mlog("domain %u (%s) resumed", domid, dc->name);
        }
        was_suspended = suspended;
        uint32_t op, len;
        struct kxen_ctl_domain_event e;
        rc = kxen_ctl_recv_event(ev, 1000, &op, &e, sizeof(e), &len);
        if (rc == -ETIMEDOUT || rc == -EMSGSIZE)
            continue;
        if (rc < 0) {
            mlog("kxend went away (%s): stopping", strerror(-rc));
            break;
        }
        /* Any event for our domain makes the loop re-read its state. */
    }
    kxen_ctl_close(ev);
    kxl_ctx_close(ctx);
    return 0;
}
