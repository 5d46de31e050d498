/* netback as a devd backend type, under Xen's hotplug contract: each vif with a `bridge` key
 * gets a tap named vifname or vif<domid>.<devid>, which the vif's hotplug script (by default
 * kxen-vif-bridge) puts on the bridge before it writes hotplug-status=connected; a vif whose
 * `bridge` is empty joins netback's learning switch. One queue. */
#include "../../drivers/net/netback.h"
#include "devd.h"

static void *vif_new(struct xenbus_platform *p, xenbus_log_fn log, void *log_ctx)
{
    struct netback_config cfg;
    netback_config_default(&cfg);
    cfg.hotplug_self = false;
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
