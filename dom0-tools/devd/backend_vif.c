/* netback as a devd backend type, under Xen's hotplug contract: each vif with a `bridge` key
 * gets a tap named vifname or vif<domid>.<devid>, which the vif's hotplug script (by default
 * kxen-vif-bridge) puts on the bridge before it writes hotplug-status=connected; a vif whose
 * `bridge` is empty gets a tap that netback itself puts on kxsw<backend domid>, a bridge
 * shared by every worker (made on first use; netback's own switch where it cannot be made). As many
 * queues as host CPUs, as Linux's netback offers; KXEN_DEVD_TAP_GSO=1 in devd's environment hands
 * guests' TCP super-frames to the host stack whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../drivers/net/netback.h"
#include "devd.h"

static void *vif_new(struct xenbus_platform *p, xenbus_log_fn log, void *log_ctx)
{
    struct netback_config cfg;
    netback_config_default(&cfg);
    cfg.hotplug_self = false;
    /* As Linux's netback: as many queues as the host has CPUs (netback clamps it). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.max_queues = cpus > 0 ? (unsigned int)cpus : 1;
    /* Super-frames to the host stack whole (the kernel cuts them) instead of cut here. */
    const char *gso = getenv("KXEN_DEVD_TAP_GSO");
    cfg.tap_gso = gso && strcmp(gso, "1") == 0;
    /* Every worker serves one guest: a vif with no bridge joins the bridge all of them share
     * (kxsw<backend domid>) rather than a switch of its worker's own. */
    snprintf(cfg.shared_bridge, sizeof(cfg.shared_bridge), "kxsw%u", p->self_domid);
    return netback_new(p, &cfg, log, log_ctx);
}

static struct xenbus_backend *vif_xenbus(void *be)
{
    return netback_xenbus(be);
}

static int vif_start(void *be)
{
    return netback_start(be);
}

static int vif_fds(void *be, int *fds, unsigned int max)
{
    if (max < 1)
        return 0;
    fds[0] = netback_fd(be);
    return 1;
}

static int vif_poll(void *be)
{
    return netback_poll(be);
}

static void vif_free(void *be)
{
    netback_free(be);
}

static const struct devd_backend_type vif_type = {
    .type = "vif",
    .new = vif_new,
    .xenbus = vif_xenbus,
    .start = vif_start,
    .fds = vif_fds,
    .poll = vif_poll,
    .free = vif_free,
};
DEVD_BACKEND_REGISTER(vif_type);
