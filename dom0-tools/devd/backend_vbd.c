/* blkback as a devd backend type: Linux 6.1's defaults (blkback_config_default), the image
 * named by each device's `params` opened by blkback's own storage engines. */
#include "../../drivers/block/blkback.h"
#include "devd.h"

static void *vbd_new(struct xenbus_platform *p, xenbus_log_fn log, void *log_ctx)
{
    struct blkback_config cfg;
    blkback_config_default(&cfg);
    return blkback_new(p, &cfg, log, log_ctx);
}

static struct xenbus_backend *vbd_xenbus(void *be)
{
    return blkback_xenbus(be);
}

static int vbd_start(void *be)
{
    return blkback_start(be);
}

static int vbd_fds(void *be, int *fds, unsigned int max)
{
    if (max < 1)
        return 0;
    fds[0] = blkback_completion_fd(be);
    return fds[0] >= 0 ? 1 : 0;
}

static int vbd_poll(void *be)
{
    return blkback_poll(be);
}

static void vbd_free(void *be)
{
    blkback_free(be);
}

static const struct devd_backend_type vbd_type = {
    .type = "vbd",
    .new = vbd_new,
    .xenbus = vbd_xenbus,
    .start = vbd_start,
    .fds = vbd_fds,
    .poll = vbd_poll,
    .free = vbd_free,
};
DEVD_BACKEND_REGISTER(vbd_type);
