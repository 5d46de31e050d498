/* xl save as Xen's libxl does it: suspend the guest (its own suspend when it advertises
 * control/feature-suspend, else a pause: guests without PV drivers are suspended by the
 * toolstack), write the image to a temporary name, rename it into place only once it is
 * complete, then destroy the domain, or resume it for a checkpoint. A failure before the
 * rename resumes the domain and removes the temporary file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kxen/sched.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/util.h"
#include "kxl_internal.h"
#include "kxl_save.h"
#include "stream_io.h"
#include "xenstore.h"

/* Xen's libxl gives a guest 60 s to answer control/shutdown = "suspend": Linux freezes its
 * tasks and quiesces its frontends first, which takes seconds on a slow host. */
#define KXL_SUSPEND_WAIT_MS 60000

/* Waits up to ms for domain domid to suspend: 0 once it has, -ETIMEDOUT, or another negative
 * errno with the reason recorded (gone, or shut down for another reason). Polled finely: from
 * the guest's suspend call on, every microsecond is downtime. */
static int wait_suspended(struct kxl_ctx *ctx, uint16_t domid, uint64_t ms)
{
    for (uint64_t t0 = kxen_now_ns();;) {
        struct kxl_dominfo di;
        int rc = kxl_hv_getinfo(ctx, domid, false, &di);
        if (rc < 0)
            return kxl_fail(ctx, rc, "domain %u went away while suspending", domid);
        if (di.flags & KXEN_DOMINFO_SHUTDOWN) {
            if (di.shutdown_reason == SHUTDOWN_suspend)
                return 0;
            return kxl_fail(ctx, -ECANCELED,
                            "domain %u shut down (reason %u) instead of "
                            "suspending",
                            domid, di.shutdown_reason);
        }
        if (kxen_now_ns() - t0 >= ms * 1000000ull)
            return -ETIMEDOUT;
        struct timespec ts = {0, 100 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Takes back control/shutdown = "suspend" (path) in one transaction, so a guest that reads the
 * node and clears it in its own transaction (as Linux does) either took the request before or
 * never sees it: 1 taken back, 0 the guest had taken it (the node no longer says "suspend"),
 * or a negative errno. */
static int withdraw_request(struct kxl_ctx *ctx, const char *path)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        xs_transaction_t t = xs_transaction_start(ctx->xs);
        if (t == XBT_NULL)
            return -(errno ? errno : EIO);
        unsigned len;
        char *v = xs_read(ctx->xs, t, path, &len);
        bool pending = v && !strcmp(v, "suspend");
        free(v);
        int rc = pending ? kxl_xs_printf(ctx, t, path, "%s", "") : 0;
        if (rc < 0) {
            xs_transaction_end(ctx->xs, t, true);
            return rc;
        }
        if (xs_transaction_end(ctx->xs, t, false))
            return pending ? 1 : 0;
        if (errno != EAGAIN)
            return -(errno ? errno : EIO);
    }
    return -EAGAIN;
}

int kxl__suspend(struct kxl_ctx *ctx, uint16_t domid, unsigned timeout_s, bool *cooperative)
{
    char p[96];
    snprintf(p, sizeof(p), "/local/domain/%u/control/feature-suspend", domid);
    char *feat = ctx->xs ? kxl_xs_read(ctx, p) : NULL;
    *cooperative = feat && !strcmp(feat, "1");
    free(feat);
    if (!*cooperative) {
        int rc = kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_PAUSE, domid, 0);
        return rc < 0 ? kxl_fail(ctx, rc, "pausing domain %u failed: %s", domid, strerror(-rc)) : 0;
    }
    uint64_t wait_ms = timeout_s ? (uint64_t)timeout_s * 1000 : KXL_SUSPEND_WAIT_MS;
    snprintf(p, sizeof(p), "/local/domain/%u/control/shutdown", domid);
    int rc = kxl_xs_printf(ctx, XBT_NULL, p, "suspend");
    if (rc < 0)
        return kxl_fail(ctx, rc, "writing %s failed: %s", p, strerror(-rc));
    if ((rc = wait_suspended(ctx, domid, wait_ms)) != -ETIMEDOUT)
        return rc;
    /* Given up. A guest that took the request suspends however late (Linux acknowledges at
     * once, then freezes its tasks and quiesces its devices, which takes long under load) and
     * would stay suspended here with nobody to resume it: it is given Xen's full 60 s more,
     * and a suspend that comes is cancelled (its suspend call returns 1), so the domain runs
     * on. A request taken back was never seen; a suspend that raced the taking back is
     * cancelled all the same. */
    int taken = withdraw_request(ctx, p);
    rc = wait_suspended(ctx, domid, taken == 1 ? 0 : KXL_SUSPEND_WAIT_MS);
    if (rc == 0) {
        if ((rc = kxl__resume(ctx, domid, true)) < 0)
            return rc;
        return kxl_fail(ctx, -ETIMEDOUT,
                        "domain %u suspended only after xl stopped waiting (%llu s): its suspend "
                        "was cancelled, it runs on",
                        domid, (unsigned long long)(wait_ms / 1000));
    }
    if (rc != -ETIMEDOUT)
        return rc;
    if (taken == 1)
        return kxl_fail(ctx, -ETIMEDOUT,
                        "domain %u did not suspend within %llu s (control/shutdown "
                        "= \"suspend\" unanswered, taken back)",
                        domid, (unsigned long long)(wait_ms / 1000));
    return kxl_fail(ctx, -ETIMEDOUT,
                    "domain %u took the suspend request but did not suspend within %llu s "
                    "(should it suspend later, it stays suspended)",
                    domid, (unsigned long long)((wait_ms + KXL_SUSPEND_WAIT_MS) / 1000));
}

int kxl__resume(struct kxl_ctx *ctx, uint16_t domid, bool cooperative)
{
    int rc = cooperative ? kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_RESUME, domid, 0)
                         : kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_UNPAUSE, domid, 0);
    return rc < 0
               ? kxl_fail(ctx, rc, "resuming domain %u failed: %s", domid, kxl_hv_reason(ctx, rc))
               : 0;
}

int kxl__resume_paused(struct kxl_ctx *ctx, uint16_t domid)
{
    int rc = kxl_hv_domid_op(ctx, KXEN_CTL_DOMAIN_RESUME, domid, 1);
    return rc < 0 ? kxl_fail(ctx, rc, "resuming domain %u paused failed: %s", domid,
                             kxl_hv_reason(ctx, rc))
                  : 0;
}

static int open_temp(const char *path, char *tmp, size_t len)
{
    if (snprintf(tmp, len, "%s.tmp-XXXXXX", path) >= (int)len)
        return -ENAMETOOLONG;
    int fd = mkostemp(tmp, O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int kxl_domain_save(struct kxl_ctx *ctx, uint16_t domid, const char *path, const char *config_text,
                    unsigned flags, struct kxl_save_stats *st)
{
    struct kxl_save_stats local = {0};
    st = st ? st : &local;
    memset(st, 0, sizeof(*st));
    if (domid == 0)
        return kxl_fail(ctx, -EPERM, "Domain-0 cannot be saved");
    struct kxl_dominfo di;
    int rc = kxl_hv_getinfo(ctx, domid, false, &di);
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u does not exist", domid);
    char *own_cfg = NULL;
    if (!config_text && (rc = kxl_domain_config_text(ctx, domid, &own_cfg)) < 0)
        return rc;
    if (config_text && (rc = kxl__config_keep_macs(ctx, domid, config_text, &own_cfg)) < 0)
        return rc;
    if (own_cfg)
        config_text = NULL;
    char tmp[PATH_MAX];
    int fd = open_temp(path, tmp, sizeof(tmp));
    if (fd < 0) {
        free(own_cfg);
        return kxl_fail(ctx, fd, "cannot create %s: %s", path, strerror(-fd));
    }
    bool coop = false;
    uint64_t t0 = kxen_now_ns();
    struct kxl_swriter *w = NULL;
    if ((rc = kxl__suspend(ctx, domid, 0, &coop)) < 0)
        goto fail;
    if ((rc = kxl_swriter_open(fd, true, &w)) < 0) {
        kxl_fail(ctx, rc, "out of memory");
        goto resume;
    }
    rc = kxl__write_domain(ctx, domid, w, config_text ? config_text : own_cfg, st);
    st->stream_bytes = kxl_swriter_bytes(w);
    int crc = kxl_swriter_close(w);
    if (!rc && crc)
        rc = kxl_fail(ctx, crc, "writing %s failed: %s", path, strerror(-crc));
    if (!rc && fsync(fd) < 0)
        rc = kxl_fail(ctx, -errno, "writing %s failed: %s", path, strerror(errno));
    if (!rc && rename(tmp, path) < 0)
        rc = kxl_fail(ctx, -errno, "renaming %s to %s failed: %s", tmp, path, strerror(errno));
    if (rc)
        goto resume;
    close(fd);
    free(own_cfg);
    st->downtime_ns = kxen_now_ns() - t0;
    /* -p as Xen's xl: the suspend is cancelled, the domain stays paused. */
    if (flags & KXL_SAVE_PAUSED)
        return coop ? kxl__resume_paused(ctx, domid) : 0;
    if (flags & KXL_SAVE_CHECKPOINT)
        return kxl__resume(ctx, domid, coop);
    return kxl_domain_destroy(ctx, domid);
resume:
    kxl__resume(ctx, domid, coop);
fail:
    close(fd);
    unlink(tmp);
    free(own_cfg);
    return rc;
}
