/* PV nics (vif): checks, the keys libxl's libxl__set_xenstore_nic writes (a MAC in Xen's
 * 00:16:3e range when none is given, the default bridge xenbr0, the default script that puts
 * the backend's interface on the bridge), attach, detach by index or MAC, and the device
 * list behind xl block-list / network-list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenstore.h"

#include "kxl_device.h"

#define KXL_DEFAULT_BRIDGE "xenbr0"
#define KXL_DEFAULT_VIF_SCRIPT "kxen-vif-bridge" /* next to xl */
#define KXL_DEFAULT_MTU 1500

static int vif_script(const struct kxl_vif *v, char *out, size_t len)
{
    if (v->script)
        return kxl__resolve_script(v->script, out, len);
    char bin[KXL_DEV_PATH_MAX];
    int rc = kxl__bindir(bin, sizeof(bin));
    if (rc)
        return rc;
    if (snprintf(out, len, "%s/%s", bin, KXL_DEFAULT_VIF_SCRIPT) >= (int)len)
        return -ENAMETOOLONG;
    return access(out, X_OK) < 0 ? -errno : 0;
}

int kxl__nic_check(struct kxl_ctx *ctx, const struct kxl_vif *v, const char *label)
{
    if (v->rate)
        return kxl_fail(ctx, -EOPNOTSUPP, "%s: rate= is not supported", label);
    if (v->type_ioemu)
        return kxl_fail(ctx, -EOPNOTSUPP, "%s: type=ioemu (an emulated nic) is not supported",
                        label);
    uint16_t bdomid;
    if (v->backend && kxl__resolve_backend(ctx, v->backend, &bdomid))
        return kxl_fail(ctx, -ENOENT, "%s: backend domain '%s' does not exist", label, v->backend);
    char script[KXL_DEV_PATH_MAX];
    int rc = vif_script(v, script, sizeof(script));
    if (rc)
        return kxl_fail(ctx, rc, "%s: hotplug script %s: %s", label, script, strerror(-rc));
    /* The default script puts the interface on the bridge: a bridge that is not there would
     * only fail later, inside the script. */
    if (!v->script && !v->backend) {
        const char *br = v->bridge ? v->bridge : KXL_DEFAULT_BRIDGE;
        char path[96];
        struct stat st;
        snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", br);
        if (strchr(br, '/') || stat(path, &st) < 0)
            return kxl_fail(ctx, -ENODEV, "%s: bridge %s does not exist", label, br);
    }
    return 0;
}

int kxl__vif_mac(struct kxl_ctx *ctx, const struct kxl_vif *v, uint8_t mac[6])
{
    if (v->has_mac) {
        memcpy(mac, v->mac, 6);
        return 0;
    }
    /* Xen's OUI with three random bytes, as libxl picks one. */
    mac[0] = 0x00, mac[1] = 0x16, mac[2] = 0x3e;
    if (getrandom(mac + 3, 3, 0) != 3)
        return kxl_fail(ctx, -EIO, "no random bytes for a MAC address");
    mac[3] &= 0x7f;
    return 0;
}

static void nic_label(const struct kxl_vif *v, uint32_t devid, char *out, size_t len)
{
    snprintf(out, len, "vif %u (bridge %s)", devid, v->bridge ? v->bridge : KXL_DEFAULT_BRIDGE);
}

int kxl__nic_nodes(struct kxl_ctx *ctx, const struct kxl_vif *v, uint16_t domid, uint32_t devid,
                   struct kxl_devnodes *n)
{
    uint16_t bdomid;
    int rc = kxl__resolve_backend(ctx, v->backend, &bdomid);
    if (rc)
        return rc;
    kxl__dev_init(n, "vif", domid, bdomid, devid);
    nic_label(v, devid, n->label, sizeof(n->label));
    uint8_t mac[6];
    if ((rc = kxl__vif_mac(ctx, v, mac)) < 0)
        return rc;
    char macs[18];
    snprintf(macs, sizeof(macs), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
    kxl__dev_set(n, false, "backend-id", "%u", bdomid);
    kxl__dev_set(n, false, "state", "1");
    kxl__dev_set(n, false, "handle", "%u", devid);
    kxl__dev_set(n, false, "mac", "%s", macs);
    kxl__dev_set(n, false, "trusted", "1");
    char mtu[16];
    snprintf(mtu, sizeof(mtu), "%d", KXL_DEFAULT_MTU);
    kxl__dev_set_ro(n, "mtu", mtu);
    kxl__dev_set(n, true, "frontend-id", "%u", domid);
    kxl__dev_set(n, true, "online", "1");
    kxl__dev_set(n, true, "state", "1");
    if (bdomid == 0)
        vif_script(v, n->script, sizeof(n->script));
    else if (v->script)
        snprintf(n->script, sizeof(n->script), "%s", v->script);
    if (n->script[0])
        kxl__dev_set(n, true, "script", "%s", n->script);
    kxl__dev_set(n, true, "mac", "%s", macs);
    /* A driver domain switches its vifs itself: a bridge only when one is asked for. */
    if (bdomid == 0 || v->bridge)
        kxl__dev_set(n, true, "bridge", "%s", v->bridge ? v->bridge : KXL_DEFAULT_BRIDGE);
    kxl__dev_set(n, true, "handle", "%u", devid);
    kxl__dev_set(n, true, "type", "vif");
    kxl__dev_set(n, true, "mtu", "%d", KXL_DEFAULT_MTU);
    kxl__dev_set(n, true, "hotplug-status", "%s", "");
    if (v->vifname)
        kxl__dev_set(n, true, "vifname", "%s", v->vifname);
    if (v->ip)
        kxl__dev_set(n, true, "ip", "%s", v->ip);
    return 0;
}

/* The lowest index no vif of the domain uses (libxl's next devid). */
static int next_vif_devid(struct kxl_ctx *ctx, uint16_t domid, uint32_t *devid)
{
    uint32_t *ids;
    size_t nr;
    int rc = kxl__dev_list_ids(ctx, "vif", domid, &ids, &nr);
    if (rc)
        return rc;
    uint32_t d = 0;
    for (size_t i = 0; i < nr && ids[i] == d; i++) /* ids are sorted */
        d++;
    free(ids);
    *devid = d;
    return 0;
}

int kxl_device_nic_add(struct kxl_ctx *ctx, uint16_t domid, const struct kxl_vif *v,
                       uint32_t *devid_out)
{
    uint32_t devid;
    char label[96];
    int rc = next_vif_devid(ctx, domid, &devid);
    if (rc)
        return rc;
    nic_label(v, devid, label, sizeof(label));
    if ((rc = kxl__nic_check(ctx, v, label)))
        return rc;
    struct kxl_devnodes *n = malloc(sizeof(*n));
    if (!n)
        return -ENOMEM;
    rc = kxl__nic_nodes(ctx, v, domid, devid, n);
    if (!rc)
        rc = kxl__dev_add_hot(ctx, n);
    free(n);
    if (!rc && devid_out)
        *devid_out = devid;
    return rc;
}

int kxl_device_nic_remove(struct kxl_ctx *ctx, uint16_t domid, const char *spec, bool force)
{
    char *end;
    unsigned long v = strtoul(spec, &end, 10);
    uint32_t devid = (uint32_t)v;
    if (!*spec || *end || v > UINT32_MAX) {
        /* a MAC: the vif whose private copy has it */
        struct kxl_devinfo *list;
        size_t nr;
        int rc = kxl_device_list(ctx, "vif", domid, &list, &nr);
        if (rc)
            return rc;
        bool found = false;
        for (size_t i = 0; i < nr && !found; i++)
            if (strcasecmp(list[i].mac, spec) == 0) {
                devid = list[i].devid;
                found = true;
            }
        free(list);
        if (!found)
            return kxl_fail(ctx, -ENOENT, "domain %u has no vif with index or MAC '%s'", domid,
                            spec);
    }
    return kxl__dev_remove(ctx, "vif", domid, devid, force, KXL_DEV_DESTROY_TIMEOUT_MS);
}

int kxl_device_list(struct kxl_ctx *ctx, const char *kind, uint16_t domid, struct kxl_devinfo **out,
                    size_t *nr)
{
    uint32_t *ids;
    int rc = kxl__dev_list_ids(ctx, kind, domid, &ids, nr);
    if (rc)
        return rc;
    struct kxl_devinfo *v = calloc(*nr ? *nr : 1, sizeof(*v));
    if (!v) {
        free(ids);
        return -ENOMEM;
    }
    for (size_t i = 0; i < *nr; i++) {
        struct kxl_devpaths p;
        kxl__dev_paths(kind, domid, 0, ids[i], &p);
        char key[KXL_DEV_PATH_MAX + 16];
        snprintf(key, sizeof(key), "%s/backend", p.lx);
        char *be = kxl_xs_read(ctx, key);
        snprintf(v[i].backend, sizeof(v[i].backend), "%s", be ? be : "");
        free(be);
        snprintf(key, sizeof(key), "%s/mac", p.lx);
        char *mac = kxl_xs_read(ctx, key);
        snprintf(v[i].mac, sizeof(v[i].mac), "%s", mac ? mac : "");
        free(mac);
        v[i].devid = ids[i];
        v[i].frontend_id = domid;
        v[i].backend_id = kxl__xs_read_int(ctx, p.fe, "backend-id");
        v[i].state = kxl__xs_read_int(ctx, p.fe, "state");
        v[i].evtch = kxl__xs_read_int(ctx, p.fe, "event-channel");
        v[i].rref = kxl__xs_read_int(ctx, p.fe, "ring-ref");
        v[i].rref_tx = kxl__xs_read_int(ctx, p.fe, "tx-ring-ref");
        v[i].rref_rx = kxl__xs_read_int(ctx, p.fe, "rx-ring-ref");
        v[i].be_state = v[i].backend[0] ? kxl__xs_read_int(ctx, v[i].backend, "state") : -1;
    }
    free(ids);
    *out = v;
    return 0;
}
