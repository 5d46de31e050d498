/* Devices whose driver domain went away and came back. When a driver domain is destroyed,
 * dom0's private copy of every device it served (/libxl/<client>/device/<kind>/<devid>) is
 * marked with the driver domain's name (backend-name); when a driver domain of that name is
 * built again, each marked device gets a new backend directory in it (Initialising, the keys
 * from dom0's copy), and its frontend is pointed at it (backend, backend-id, and the read
 * permission moved from the old driver domain to the new one). The client's frontend, waiting
 * in Initialising, then connects to the new backend: the client is never restarted.
 * Invariant: only dom0's copy is trusted (a driver domain may have rewritten its own backend
 * directories before it died); one device that cannot be adopted is left alone, the others
 * are still adopted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxen/util.h"
#include "xenstore.h"

#include "kxl_device.h"

static const char *const kinds[] = {"vif", "vbd"};

/* The keys of dom0's copy that are about the copy itself, not the backend. */
static bool own_key(const char *key)
{
    return !strcmp(key, "frontend") || !strcmp(key, "backend") || !strcmp(key, "backend-name");
}

void kxl__devices_mark_orphans(struct kxl_ctx *ctx, uint16_t ddomid, const char *kind,
                               const char *client, const char *devid)
{
    char path[160], dd[64], want[KXL_DEV_PATH_MAX];
    snprintf(dd, sizeof(dd), "/libxl/%u/driver_domain", ddomid);
    char *declared = kxl_xs_read(ctx, dd);
    bool is_dd = declared && !strcmp(declared, "1");
    free(declared);
    snprintf(dd, sizeof(dd), "/local/domain/%u/name", ddomid);
    char *name = is_dd ? kxl_xs_read(ctx, dd) : NULL;
    snprintf(path, sizeof(path), "/libxl/%s/device/%s/%s/backend", client, kind, devid);
    char *be = name ? kxl_xs_read(ctx, path) : NULL;
    /* The driver domain names the devices it served by the directories in its own tree, which
     * it may have made up: only a device whose record (dom0's) names exactly that directory,
     * of that kind, client and devid, is marked. */
    snprintf(want, sizeof(want), "/local/domain/%u/backend/%s/%s/%s", ddomid, kind, client, devid);
    if (be && !strcmp(be, want)) {
        snprintf(path, sizeof(path), "/libxl/%s/device/%s/%s/backend-name", client, kind, devid);
        xs_write(ctx->xs, XBT_NULL, path, name, (unsigned int)strlen(name));
    }
    free(be);
    free(name);
}

/* Every permission entry naming from names to instead, on path and below it. */
static int move_perms(struct kxl_ctx *ctx, uint32_t t, const char *path, uint16_t from, uint16_t to,
                      int depth)
{
    unsigned int np = 0;
    struct xs_permissions *p = xs_get_permissions(ctx->xs, t, path, &np);
    if (!p)
        return -(errno ? errno : EIO);
    for (unsigned int i = 0; i < np; i++)
        if (p[i].id == from)
            p[i].id = to;
    bool ok = xs_set_permissions(ctx->xs, t, path, p, np);
    free(p);
    if (!ok)
        return -(errno ? errno : EIO);
    unsigned int n = 0;
    char **ents = depth > 0 ? xs_directory(ctx->xs, t, path, &n) : NULL;
    int rc = 0;
    for (unsigned int i = 0; ents && i < n && !rc; i++) {
        char child[KXL_DEV_PATH_MAX + 64];
        snprintf(child, sizeof(child), "%s/%s", path, ents[i]);
        rc = move_perms(ctx, t, child, from, to, depth - 1);
    }
    free(ents);
    return rc;
}

struct adopt {
    const char *lx; /* dom0's copy */
    const char *kind;
    uint16_t client, ddomid;
    uint32_t devid;
};

static int put(struct kxl_ctx *ctx, uint32_t t, const char *path, const char *val,
               struct xs_permissions *perms)
{
    if (!xs_write(ctx->xs, t, path, val, (unsigned int)strlen(val)) ||
        !xs_set_permissions(ctx->xs, t, path, perms, 2))
        return -(errno ? errno : EIO);
    return 0;
}

static int adopt_one(struct kxl_ctx *ctx, uint32_t t, void *arg)
{
    const struct adopt *a = arg;
    struct kxl_devpaths p;
    char path[KXL_DEV_PATH_MAX + 64];
    kxl__dev_paths(a->kind, a->client, a->ddomid, a->devid, &p);
    snprintf(path, sizeof(path), "%s/backend-id", p.fe);
    char *old = xs_read(ctx->xs, t, path, NULL);
    if (!old)
        return -ENOENT; /* the client is gone, or its device was removed */
    char *end;
    unsigned long from = strtoul(old, &end, 10);
    bool bad = *end || end == old || from >= 0x7ff0;
    free(old);
    /* The dead driver domain, from dom0's record of the device. The frontend's backend-id
     * must still name it: a device that names another backend by now is not taken over, and
     * no other domain's permission on the frontend is moved. */
    snprintf(path, sizeof(path), "%s/backend", a->lx);
    char *rec = bad ? NULL : xs_read(ctx->xs, t, path, NULL);
    unsigned int rec_id = 0;
    bad = !rec || sscanf(rec, "/local/domain/%u/", &rec_id) != 1 || rec_id != from;
    free(rec);
    if (bad)
        return -EINVAL;
    struct xs_permissions be_perm[2] = {{.id = a->ddomid, .perms = XS_PERM_NONE},
                                        {.id = a->client, .perms = XS_PERM_READ}};
    xs_rm(ctx->xs, t, p.be);
    int rc = put(ctx, t, p.be, "", be_perm);
    snprintf(path, sizeof(path), "%s/frontend", p.be);
    if (!rc)
        rc = put(ctx, t, path, p.fe, be_perm);
    unsigned int n = 0;
    char **keys = rc ? NULL : xs_directory(ctx->xs, t, a->lx, &n);
    for (unsigned int i = 0; keys && i < n && !rc; i++) {
        if (own_key(keys[i]))
            continue;
        char src[KXL_DEV_PATH_MAX + 64];
        snprintf(src, sizeof(src), "%s/%s", a->lx, keys[i]);
        char *v = xs_read(ctx->xs, t, src, NULL);
        /* A fresh backend: Initialising and online, whatever the copy last said. */
        const char *val = !strcmp(keys[i], "state") ? "1" : !strcmp(keys[i], "online") ? "1" : v;
        snprintf(path, sizeof(path), "%s/%s", p.be, keys[i]);
        rc = val ? put(ctx, t, path, val, be_perm) : -EIO;
        free(v);
    }
    free(keys);
    /* The frontend: read by the new driver domain instead of the old one, then repointed. */
    if (!rc)
        rc = move_perms(ctx, t, p.fe, (uint16_t)from, a->ddomid, 2);
    snprintf(path, sizeof(path), "%s/backend", p.fe);
    if (!rc && !xs_write(ctx->xs, t, path, p.be, (unsigned int)strlen(p.be)))
        rc = -(errno ? errno : EIO);
    char id[16];
    snprintf(id, sizeof(id), "%u", a->ddomid);
    snprintf(path, sizeof(path), "%s/backend-id", p.fe);
    if (!rc && !xs_write(ctx->xs, t, path, id, (unsigned int)strlen(id)))
        rc = -(errno ? errno : EIO);
    snprintf(path, sizeof(path), "%s/backend", a->lx);
    if (!rc && !xs_write(ctx->xs, t, path, p.be, (unsigned int)strlen(p.be)))
        rc = -(errno ? errno : EIO);
    snprintf(path, sizeof(path), "%s/backend-name", a->lx);
    if (!rc)
        xs_rm(ctx->xs, t, path);
    return rc;
}

/* The devices of one client marked with name. */
static unsigned adopt_client(struct kxl_ctx *ctx, uint16_t ddomid, const char *name,
                             uint16_t client)
{
    unsigned adopted = 0;
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        uint32_t *ids;
        size_t nr;
        if (kxl__dev_list_ids(ctx, kinds[k], client, &ids, &nr))
            continue;
        for (size_t i = 0; i < nr; i++) {
            char lx[KXL_DEV_PATH_MAX], path[KXL_DEV_PATH_MAX + 16];
            snprintf(lx, sizeof(lx), "/libxl/%u/device/%s/%u", client, kinds[k], ids[i]);
            snprintf(path, sizeof(path), "%s/backend-name", lx);
            char *marked = kxl_xs_read(ctx, path);
            bool ours = marked && !strcmp(marked, name);
            free(marked);
            struct adopt a = {lx, kinds[k], client, ddomid, ids[i]};
            if (ours && kxl__xs_txn(ctx, adopt_one, &a) == 0)
                adopted++;
        }
        free(ids);
    }
    return adopted;
}

int kxl__devices_adopt(struct kxl_ctx *ctx, uint16_t ddomid, const char *name)
{
    if (!ctx->xs || !name || !*name)
        return 0;
    unsigned int n = 0;
    char **doms = xs_directory(ctx->xs, XBT_NULL, "/libxl", &n);
    int adopted = 0;
    for (unsigned int i = 0; doms && i < n; i++) {
        char *end;
        unsigned long client = strtoul(doms[i], &end, 10);
        if (*end || end == doms[i] || client == ddomid || client >= 0x7ff0)
            continue;
        adopted += (int)adopt_client(ctx, ddomid, name, (uint16_t)client);
    }
    free(doms);
    return adopted;
}
