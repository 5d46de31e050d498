/* PV disks (vbd): the checks a disk spec must pass before any domain exists, the backend and
 * frontend keys libxl's device_disk_add writes, attach, detach and the list xl prints.
 * kxen's blkback opens the image named by `params` itself, raw files and block devices, so
 * only those are accepted; no default block script runs (one given with script= does). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenstore.h"

#include "kxl_device.h"

/* Xen's hotplug scripts live here; a relative script= names one of them. */
#define KXL_XEN_SCRIPT_DIR "/etc/xen/scripts"

int kxl__resolve_backend(struct kxl_ctx *ctx, const char *name, uint16_t *domid)
{
    if (!name || !strcmp(name, "0") || !strcmp(name, "Domain-0")) {
        *domid = 0;
        return 0;
    }
    if (kxl_domain_lookup(ctx, name, domid) < 0)
        return kxl_fail(ctx, -ENOENT, "backend domain '%s' does not exist", name);
    return 0;
}

int kxl__resolve_script(const char *script, char *out, size_t len)
{
    if (script[0] == '/')
        snprintf(out, len, "%s", script);
    else
        snprintf(out, len, "%s/%s", KXL_XEN_SCRIPT_DIR, script);
    return access(out, X_OK) < 0 ? -errno : 0;
}

static void disk_label(const struct kxl_disk *d, char *out, size_t len)
{
    snprintf(out, len, "disk %s (%s)", d->vdev, d->target ? d->target : "empty cdrom");
}

int kxl__disk_check(struct kxl_ctx *ctx, const struct kxl_disk *d, const char *label)
{
    char lbl[96];
    if (!label) {
        disk_label(d, lbl, sizeof(lbl));
        label = lbl;
    }
    if (d->backendtype == KXL_DISK_BT_QDISK || d->backendtype == KXL_DISK_BT_TAP)
        return kxl_fail(ctx, -EOPNOTSUPP,
                        "%s: backendtype=%s is not supported (kxen's blkback serves phy disks)",
                        label, d->backendtype == KXL_DISK_BT_QDISK ? "qdisk" : "tap");
    uint16_t bdomid;
    if (d->backend && kxl__resolve_backend(ctx, d->backend, &bdomid))
        return kxl_fail(ctx, -ENOENT, "%s: backend domain '%s' does not exist", label, d->backend);
    if (d->format != KXL_DISK_RAW && d->format != KXL_DISK_EMPTY)
        return kxl_fail(ctx, -EOPNOTSUPP, "%s: only raw images are supported", label);
    if (d->script) {
        char path[KXL_DEV_PATH_MAX];
        int rc = kxl__resolve_script(d->script, path, sizeof(path));
        if (rc)
            return kxl_fail(ctx, rc, "%s: hotplug script %s: %s", label, path, strerror(-rc));
    }
    if (!d->target || !*d->target || d->backend)
        return 0; /* an empty cdrom; or the image lives in the backend domain */
    /* The backend opens the image when the guest connects: refuse now what it would
     * refuse then, while refusing costs nothing. */
    int fd = open(d->target, (d->readwrite ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return kxl_fail(ctx, -e, "%s: cannot open %s for %s: %s", label, d->target,
                        d->readwrite ? "reading and writing" : "reading", strerror(e));
    }
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    close(fd);
    if (!rc && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        rc =
            kxl_fail(ctx, -EINVAL, "%s: %s is neither a file nor a block device", label, d->target);
    return rc;
}

int kxl__disk_nodes(struct kxl_ctx *ctx, const struct kxl_disk *d, uint16_t domid,
                    struct kxl_devnodes *n)
{
    uint16_t bdomid;
    int rc = kxl__resolve_backend(ctx, d->backend, &bdomid);
    if (rc)
        return rc;
    kxl__dev_init(n, "vbd", domid, bdomid, d->virtual_dev);
    disk_label(d, n->label, sizeof(n->label));
    const char *devtype = d->cdrom ? "cdrom" : "disk";
    kxl__dev_set(n, false, "backend-id", "%u", bdomid);
    kxl__dev_set(n, false, "state", "1");
    kxl__dev_set(n, false, "virtual-device", "%u", d->virtual_dev);
    kxl__dev_set(n, false, "device-type", "%s", devtype);
    kxl__dev_set(n, false, "trusted", "1");
    kxl__dev_set(n, true, "frontend-id", "%u", domid);
    kxl__dev_set(n, true, "online", "1");
    kxl__dev_set(n, true, "removable", "%d", d->cdrom ? 1 : 0);
    kxl__dev_set(n, true, "bootable", "1");
    kxl__dev_set(n, true, "state", "1");
    kxl__dev_set(n, true, "dev", "%s", d->vdev);
    kxl__dev_set(n, true, "type", "phy");
    kxl__dev_set(n, true, "mode", "%s", d->readwrite ? "w" : "r");
    kxl__dev_set(n, true, "device-type", "%s", devtype);
    kxl__dev_set(n, true, "discard-enable", "%d", d->no_discard ? 0 : 1);
    kxl__dev_set(n, true, "specification", "xen");
    kxl__dev_set(n, true, "params", "%s", d->target ? d->target : "");
    if (d->direct_io_safe)
        kxl__dev_set(n, true, "direct-io-safe", "1");
    if (d->script) {
        kxl__resolve_script(d->script, n->script, sizeof(n->script));
        kxl__dev_set(n, true, "script", "%s", n->script);
    }
    return 0;
}

static int write_one(struct kxl_ctx *ctx, uint32_t t, void *arg)
{
    return kxl__dev_write(ctx, t, arg);
}

/* Adds a device hot: written in its own transaction, brought up, removed again on failure. */
int kxl__dev_add_hot(struct kxl_ctx *ctx, struct kxl_devnodes *n)
{
    struct kxl_devpaths p;
    kxl__dev_paths(n->kind, n->domid, n->backend_domid, n->devid, &p);
    char *exists = kxl_xs_read(ctx, p.lx);
    if (exists) {
        free(exists);
        return kxl_fail(ctx, -EEXIST, "%s: domain %u already has %s device %u", n->label, n->domid,
                        n->kind, n->devid);
    }
    int rc = kxl__xs_txn(ctx, write_one, n);
    if (!rc)
        rc = kxl__dev_bring_up(ctx, n);
    if (rc) {
        char msg[KXL_ERR_LEN];
        snprintf(msg, sizeof(msg), "%s", kxl_errmsg(ctx));
        kxl__dev_remove(ctx, n->kind, n->domid, n->devid, true, 0);
        kxl_fail(ctx, rc, "%s", msg);
    }
    return rc;
}

int kxl_device_disk_add(struct kxl_ctx *ctx, uint16_t domid, const struct kxl_disk *d)
{
    struct kxl_devnodes *n = malloc(sizeof(*n));
    if (!n)
        return -ENOMEM;
    int rc = kxl__disk_check(ctx, d, NULL);
    if (!rc)
        rc = kxl__disk_nodes(ctx, d, domid, n);
    if (!rc)
        rc = kxl__dev_add_hot(ctx, n);
    free(n);
    return rc;
}

/* A vdev name (xvdb) or a device number (51728). */
static int disk_devid(struct kxl_ctx *ctx, const char *spec, uint32_t *devid)
{
    char *end;
    unsigned long v = strtoul(spec, &end, 10);
    if (*spec && !*end && v <= UINT32_MAX) {
        *devid = (uint32_t)v;
        return 0;
    }
    struct kxl_disk d;
    char why[160], s[96];
    snprintf(s, sizeof(s), "vdev=%s,target=/", spec);
    if (kxl_parse_disk_spec(s, &d, why, sizeof(why)) < 0)
        return kxl_fail(ctx, -EINVAL, "'%s' is not a vdev or a device number", spec);
    *devid = d.virtual_dev;
    kxl_disk_free(&d);
    return 0;
}

int kxl_device_disk_remove(struct kxl_ctx *ctx, uint16_t domid, const char *spec, bool force)
{
    uint32_t devid;
    int rc = disk_devid(ctx, spec, &devid);
    if (rc)
        return rc;
    return kxl__dev_remove(ctx, "vbd", domid, devid, force, KXL_DEV_DESTROY_TIMEOUT_MS);
}
