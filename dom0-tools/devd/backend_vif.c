/* netback as a devd backend type: one queue, netback attaching each vif itself (to the
 * backend's learning switch, or as a tap on the Linux bridge its `bridge` key names) and
 * reporting hotplug-status as a hotplug script would; a vif-bridge script run afterwards
 * finds the tap already on its bridge. */
#include "../../drivers/net/netback.h"
#include "devd.h"

static void *vif_new(struct xenbus_platform *p, xenbus_log_fn log, void *log_ctx)
{
    struct netback_config cfg;
    netback_config_default(&cfg);
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

/* netback's own descriptors (its kick eventfd and the taps), without the platform's, which
 * the worker polls already. */
static int vif_fds(void *be, int *fds, unsigned int max)
{
    struct xenbus_platform *p = xenbus_backend_platform(netback_xenbus(be));
    int all[DEVD_MAX_FDS + 2];
    int n = netback_fds(be, all, DEVD_MAX_FDS + 2), k = 0;
    for (int i = 0; i < n && (unsigned int)k < max; i++)
        if (all[i] != p->ops->evtchn_fd(p) && all[i] != p->ops->xs_watch_fd(p))
            fds[k++] = all[i];
    return k;
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
