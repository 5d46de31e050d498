/* PV devices, the part every kind shares, laid out as Xen's libxl lays them out:
 *   frontend /local/domain/<domid>/device/<kind>/<devid>            [domid:n, backend:r]
 *   backend  /local/domain/<bdomid>/backend/<kind>/<domid>/<devid>  [bdomid:n, domid:r]
 *   private  /libxl/<domid>/device/<kind>/<devid>                   [0:n] (backend keys copied,
 *            so removal never trusts what the backend domain may have rewritten)
 * Adding writes all three in the caller's transaction, both ends in state Initialising; the
 * backend daemon then takes the backend to InitWait. Removal is cooperative first (online=0,
 * Closing, wait for Closed) and forced after a timeout: Closed written, hotplug "remove" run,
 * the three directories and any empty parent removed.
 * Invariant: every key is written with its directory's permissions, so what a guest may read
 * or write never depends on xenstored's inheritance rules. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kxen/util.h"
#include "xenstore.h"

#include "kxl_device.h"

void kxl__dev_init(struct kxl_devnodes *n, const char *kind, uint16_t domid, uint16_t bdomid,
                   uint32_t devid)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->kind, sizeof(n->kind), "%s", kind);
    n->domid = domid;
    n->backend_domid = bdomid;
    n->devid = devid;
}

void kxl__dev_set(struct kxl_devnodes *n, bool backend, const char *key, const char *fmt, ...)
{
    unsigned int *nr = backend ? &n->nr_be : &n->nr_fe;
    struct kxl_devkv *kv = backend ? n->be : n->fe;
    if (*nr == KXL_DEV_MAX_KEYS)
        return;
    snprintf(kv[*nr].key, sizeof(kv[*nr].key), "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kv[*nr].val, sizeof(kv[*nr].val), fmt, ap);
    va_end(ap);
    (*nr)++;
}

void kxl__dev_set_ro(struct kxl_devnodes *n, const char *key, const char *val)
{
    kxl__dev_set(n, false, key, "%s", val);
    if (n->nr_fe && !strcmp(n->fe[n->nr_fe - 1].key, key))
        n->fe[n->nr_fe - 1].ro = true;
}

void kxl__dev_paths(const char *kind, uint16_t domid, uint16_t bdomid, uint32_t devid,
                    struct kxl_devpaths *p)
{
    snprintf(p->fe, sizeof(p->fe), "/local/domain/%u/device/%s/%u", domid, kind, devid);
    snprintf(p->be, sizeof(p->be), "/local/domain/%u/backend/%s/%u/%u", bdomid, kind, domid, devid);
    snprintf(p->lx, sizeof(p->lx), "/libxl/%u/device/%s/%u", domid, kind, devid);
}

static int xs_err(void)
{
    return -(errno ? errno : EIO);
}

static int put(struct kxl_ctx *ctx, uint32_t t, const char *dir, const char *key, const char *val,
               struct xs_permissions *perms, unsigned int np)
{
    char path[KXL_DEV_PATH_MAX + 64];
    if (key)
        snprintf(path, sizeof(path), "%s/%s", dir, key);
    else
        snprintf(path, sizeof(path), "%s", dir);
    if (!xs_write(ctx->xs, t, path, val, (unsigned int)strlen(val)) ||
        !xs_set_permissions(ctx->xs, t, path, perms, np))
        return kxl_fail(ctx, xs_err(), "writing xenstore node %s failed: %s", path,
                        strerror(errno ? errno : EIO));
    return 0;
}

int kxl__dev_write(struct kxl_ctx *ctx, uint32_t t, const struct kxl_devnodes *n)
{
    struct kxl_devpaths p;
    kxl__dev_paths(n->kind, n->domid, n->backend_domid, n->devid, &p);
    struct xs_permissions fe_perm[2] = {{.id = n->domid, .perms = XS_PERM_NONE},
                                        {.id = n->backend_domid, .perms = XS_PERM_READ}};
    struct xs_permissions be_perm[2] = {{.id = n->backend_domid, .perms = XS_PERM_NONE},
                                        {.id = n->domid, .perms = XS_PERM_READ}};
    struct xs_permissions ro_perm[2] = {{.id = n->backend_domid, .perms = XS_PERM_NONE},
                                        {.id = n->domid, .perms = XS_PERM_READ}};
    struct xs_permissions no_perm[1] = {{.id = 0, .perms = XS_PERM_NONE}};
    char lx_dom[64], lx_dev[64];
    snprintf(lx_dom, sizeof(lx_dom), "/libxl/%u", n->domid);
    snprintf(lx_dev, sizeof(lx_dev), "/libxl/%u/device", n->domid);
    xs_rm(ctx->xs, t, p.fe);
    xs_rm(ctx->xs, t, p.be);
    xs_rm(ctx->xs, t, p.lx);
    int rc = put(ctx, t, p.fe, NULL, "", fe_perm, 2);
    if (!rc)
        rc = put(ctx, t, p.fe, "backend", p.be, fe_perm, 2);
    for (unsigned int i = 0; i < n->nr_fe && !rc; i++)
        rc = put(ctx, t, p.fe, n->fe[i].key, n->fe[i].val, n->fe[i].ro ? ro_perm : fe_perm, 2);
    if (!rc)
        rc = put(ctx, t, p.be, NULL, "", be_perm, 2);
    if (!rc)
        rc = put(ctx, t, p.be, "frontend", p.fe, be_perm, 2);
    for (unsigned int i = 0; i < n->nr_be && !rc; i++)
        rc = put(ctx, t, p.be, n->be[i].key, n->be[i].val, be_perm, 2);
    if (!rc)
        rc = put(ctx, t, lx_dom, NULL, "", no_perm, 1);
    if (!rc)
        rc = put(ctx, t, lx_dev, NULL, "", no_perm, 1);
    if (!rc)
        rc = put(ctx, t, p.lx, NULL, "", no_perm, 1);
    if (!rc)
        rc = put(ctx, t, p.lx, "frontend", p.fe, no_perm, 1);
    if (!rc)
        rc = put(ctx, t, p.lx, "backend", p.be, no_perm, 1);
    for (unsigned int i = 0; i < n->nr_be && !rc; i++)
        rc = put(ctx, t, p.lx, n->be[i].key, n->be[i].val, no_perm, 1);
    return rc;
}

/* Concurrent creates and attaches all add children under /local/domain, /vm and /libxl, so
 * their transactions conflict; like Xen's libxl we retry until one goes through, here with a
 * jittered backoff (so racing toolstacks spread out) and a 20 s bound. */
int kxl__xs_txn(struct kxl_ctx *ctx, int (*fn)(struct kxl_ctx *ctx, uint32_t t, void *arg),
                void *arg)
{
    uint64_t deadline = kxen_now_ns() + 20ull * 1000000000ull;
    for (unsigned int attempt = 0;; attempt++) {
        xs_transaction_t t = xs_transaction_start(ctx->xs);
        if (t == XBT_NULL)
            return kxl_fail(ctx, xs_err(), "xenstore transaction start failed");
        int rc = fn(ctx, t, arg);
        if (rc) {
            xs_transaction_end(ctx->xs, t, true);
            return rc;
        }
        if (xs_transaction_end(ctx->xs, t, false))
            return 0;
        if (errno != EAGAIN)
            return kxl_fail(ctx, xs_err(), "xenstore transaction commit failed: %s",
                            strerror(errno));
        if (kxen_now_ns() > deadline)
            break;
        unsigned jitter = 0;
        if (getrandom(&jitter, sizeof(jitter), 0) != sizeof(jitter))
            jitter = (unsigned)kxen_now_ns();
        unsigned max_us = 500u << (attempt < 6 ? attempt : 6); /* 0.5 ms .. 32 ms */
        struct timespec ts = {0, (long)(jitter % max_us) * 1000L};
        nanosleep(&ts, NULL);
    }
    return kxl_fail(ctx, -EAGAIN, "xenstore kept reporting conflicts for 20 s");
}

/* -1 when absent or not a number. */
int kxl__xs_read_int(struct kxl_ctx *ctx, const char *dir, const char *key)
{
    char path[KXL_DEV_PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    char *v = kxl_xs_read(ctx, path);
    if (!v)
        return -1;
    char *end;
    long x = strtol(v, &end, 10);
    int r = (*v && !*end && x >= 0 && x < 1000000) ? (int)x : -1;
    free(v);
    return r;
}

int kxl__dev_wait_state(struct kxl_ctx *ctx, const char *be_path, int want, int timeout_ms,
                        int *last)
{
    uint64_t deadline = kxen_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        int st = kxl__xs_read_int(ctx, be_path, "state");
        *last = st;
        if (st == want)
            return 0;
        /* A backend that gave up (Closing/Closed while we wait for InitWait) will not come
         * back by itself. */
        if (want < 5 && st >= 5)
            return -EIO;
        if (st < 0 && want == 6)
            return 0; /* the directory is gone: closed and removed */
        if (kxen_now_ns() > deadline)
            return -ETIMEDOUT;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Removes path and then each parent that is left empty, up to (not including) stop. */
static void rm_with_empty_parents(struct kxl_ctx *ctx, uint32_t t, const char *path,
                                  const char *stop)
{
    char p[KXL_DEV_PATH_MAX];
    snprintf(p, sizeof(p), "%s", path);
    xs_rm(ctx->xs, t, p);
    for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
        *slash = '\0';
        if (strcmp(p, stop) == 0)
            break;
        unsigned int nr = 0;
        char **ents = xs_directory(ctx->xs, t, p, &nr);
        free(ents);
        if (!ents || nr)
            break;
        xs_rm(ctx->xs, t, p);
    }
}

struct rm_arg {
    const struct kxl_devpaths *p;
    uint16_t domid, bdomid;
};

static int rm_all(struct kxl_ctx *ctx, uint32_t t, void *arg)
{
    struct rm_arg *a = arg;
    char stop[64];
    snprintf(stop, sizeof(stop), "/local/domain/%u/device", a->domid);
    rm_with_empty_parents(ctx, t, a->p->fe, stop);
    snprintf(stop, sizeof(stop), "/local/domain/%u/backend", a->bdomid);
    rm_with_empty_parents(ctx, t, a->p->be, stop);
    snprintf(stop, sizeof(stop), "/libxl/%u", a->domid);
    rm_with_empty_parents(ctx, t, a->p->lx, stop);
    return 0;
}

static int be_write(struct kxl_ctx *ctx, uint32_t t, const char *be, const char *key,
                    const char *val)
{
    char path[KXL_DEV_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s", be, key);
    return kxl_xs_printf(ctx, t, path, "%s", val);
}

/* libxl's remove: online=0 and, unless already Closed, Closing, in one transaction. */
static int begin_close(struct kxl_ctx *ctx, uint32_t t, void *arg)
{
    const char *be = arg;
    char path[KXL_DEV_PATH_MAX + 16], *st;
    snprintf(path, sizeof(path), "%s/state", be);
    if (!(st = xs_read(ctx->xs, t, path, NULL)))
        return 0; /* already gone */
    bool closed = strcmp(st, "6") == 0;
    free(st);
    int rc = be_write(ctx, t, be, "online", "0");
    if (!rc && !closed)
        rc = be_write(ctx, t, be, "state", "5");
    return rc;
}

/* The forced form: Closed at once; the backend tears down without waiting for the guest. */
static int force_close(struct kxl_ctx *ctx, uint32_t t, void *arg)
{
    const char *be = arg;
    char path[KXL_DEV_PATH_MAX + 16], *st;
    snprintf(path, sizeof(path), "%s/state", be);
    if (!(st = xs_read(ctx->xs, t, path, NULL)))
        return 0;
    free(st);
    int rc = be_write(ctx, t, be, "online", "0");
    if (!rc)
        rc = be_write(ctx, t, be, "state", "6");
    return rc;
}

int kxl__dev_remove(struct kxl_ctx *ctx, const char *kind, uint16_t domid, uint32_t devid,
                    bool force, int timeout_ms)
{
    struct kxl_devpaths p;
    char lx[KXL_DEV_PATH_MAX + 16];
    kxl__dev_paths(kind, domid, 0, devid, &p);
    /* The backend path as we wrote it, not as the (maybe driver-domain) backend says. */
    snprintf(lx, sizeof(lx), "%s/backend", p.lx);
    char *be = kxl_xs_read(ctx, lx);
    if (!be)
        return kxl_fail(ctx, -ENOENT, "domain %u has no %s device %u", domid, kind, devid);
    snprintf(p.be, sizeof(p.be), "%s", be);
    free(be);
    unsigned int bdomid = 0;
    sscanf(p.be, "/local/domain/%u/", &bdomid);
    int rc = 0, last = -1;
    if (!force) {
        rc = kxl__xs_txn(ctx, begin_close, p.be);
        if (!rc)
            rc = kxl__dev_wait_state(ctx, p.be, 6, timeout_ms, &last);
        /* As libxl: a backend that does not close in time is removed by force. */
        force = rc != 0;
    }
    if (force)
        kxl__xs_txn(ctx, force_close, p.be);
    kxl__hotplug_run(ctx, p.be, kind, domid, devid, "remove");
    struct rm_arg a = {&p, domid, (uint16_t)bdomid};
    int rrc = kxl__xs_txn(ctx, rm_all, &a);
    if (rrc)
        return rrc;
    return rc == -ETIMEDOUT ? 1 : 0; /* 1: removed, but by force after the timeout */
}

int kxl__dev_list_ids(struct kxl_ctx *ctx, const char *kind, uint16_t domid, uint32_t **ids,
                      size_t *nr)
{
    char path[96];
    snprintf(path, sizeof(path), "/libxl/%u/device/%s", domid, kind);
    unsigned int n = 0;
    char **ents = xs_directory(ctx->xs, XBT_NULL, path, &n);
    *ids = calloc(n ? n : 1, sizeof(**ids));
    *nr = 0;
    if (!*ids) {
        free(ents);
        return -ENOMEM;
    }
    for (unsigned int i = 0; ents && i < n; i++) {
        char *end;
        unsigned long v = strtoul(ents[i], &end, 10);
        if (!*end && end != ents[i] && v <= UINT32_MAX)
            (*ids)[(*nr)++] = (uint32_t)v;
    }
    free(ents);
    /* ascending, as xl lists them */
    for (size_t i = 1; i < *nr; i++)
        for (size_t j = i; j > 0 && (*ids)[j - 1] > (*ids)[j]; j--) {
            uint32_t x = (*ids)[j];
            (*ids)[j] = (*ids)[j - 1];
            (*ids)[j - 1] = x;
        }
    return 0;
}

/* A driver domain going away: every backend it served says Closed first, in a node its
 * frontend may read (the removal of the driver domain's tree is not reported to a frontend
 * that cannot read the tree's root), so each client sees its device closed and keeps running;
 * dom0's copy of each device remembers the driver domain's name, so a driver domain of that
 * name built later takes the device over (device_adopt.c). */
static void close_served(struct kxl_ctx *ctx, uint16_t domid)
{
    static const char *const kinds[] = {"vif", "vbd"};
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        char dir[96];
        snprintf(dir, sizeof(dir), "/local/domain/%u/backend/%s", domid, kinds[k]);
        unsigned int nf = 0;
        char **fes = xs_directory(ctx->xs, XBT_NULL, dir, &nf);
        for (unsigned int i = 0; fes && i < nf; i++) {
            char fdir[160];
            snprintf(fdir, sizeof(fdir), "%s/%s", dir, fes[i]);
            unsigned int nd = 0;
            char **devs = xs_directory(ctx->xs, XBT_NULL, fdir, &nd);
            for (unsigned int j = 0; devs && j < nd; j++) {
                char st[sizeof(fdir) + 80];
                snprintf(st, sizeof(st), "%s/%s/state", fdir, devs[j]);
                xs_write(ctx->xs, XBT_NULL, st, "6", 1);
                kxl__devices_mark_orphans(ctx, domid, kinds[k], fes[i], devs[j]);
            }
            free(devs);
        }
        free(fes);
    }
}

int kxl_devices_destroy(struct kxl_ctx *ctx, uint16_t domid)
{
    static const char *const kinds[] = {"vif", "vbd"};
    if (!ctx->xs)
        return 0;
    close_served(ctx, domid);
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        uint32_t *ids;
        size_t nr;
        if (kxl__dev_list_ids(ctx, kinds[k], domid, &ids, &nr))
            continue;
        for (size_t i = 0; i < nr; i++)
            kxl__dev_remove(ctx, kinds[k], domid, ids[i], true, 0);
        free(ids);
    }
    char path[64];
    snprintf(path, sizeof(path), "/libxl/%u", domid);
    xs_rm(ctx->xs, XBT_NULL, path);
    return 0;
}
