/* An HVM domain's emulated device instances: the toolstack's device list, created one by one
 * (DEVICE_ADD) in the order it sends them, and destroyed in reverse order with the domain, so
 * a model may rely on every device created before it (a PCI function on its host bridge) for
 * its whole life. As the SUBSYS_ORDER_DEVICE subsystem this runs after the vCPUs have stopped
 * and before the I/O dispatch is torn down: a model's destroy still unregisters its regions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvm_internal.h"
#include "kxen/log.h"
#include "kxend/subsys.h"

static int add(struct domain *d, const struct device_model *model, const char *options,
               const int *fds, unsigned nfds)
{
    struct hvm_domain *h = d->hvm;
    if (!h)
        return -ENODEV;
    if (nfds > KXEN_CTL_MAX_FDS)
        return -EINVAL;
    /* device.h: lower orders exist first. Refused rather than reordered, since the models
     * already created may have claimed what this one expects to find. */
    if (h->nr_devs && h->devs[h->nr_devs - 1].model->order > model->order)
        return -EINVAL;
    if (h->nr_devs == h->cap_devs) {
        size_t cap = h->cap_devs ? 2 * h->cap_devs : 8;
        struct hvm_device *n = realloc(h->devs, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        h->devs = n;
        h->cap_devs = cap;
    }
    void *state = NULL;
    int rc = model->create(d, options, &state);
    if (rc < 0)
        return rc;
    struct hvm_device *dev = &h->devs[h->nr_devs++];
    *dev = (struct hvm_device){.model = model, .state = state, .nfds = nfds};
    if (nfds)
        memcpy(dev->fds, fds, nfds * sizeof(*fds));
    log_info("domain %u: device %s created (%s)", d->domid, model->name,
             options && *options ? options : "no options");
    return 0;
}

static void close_fds(const int *fds, unsigned nfds)
{
    for (unsigned i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int hvm_device_add(struct domain *d, const struct device_model *model, const char *options,
                   const int *fds, unsigned nfds)
{
    int rc = add(d, model, options, fds, nfds);
    if (rc < 0)
        close_fds(fds, nfds);
    return rc;
}

int hvm_device_trigger(struct domain *d, unsigned trigger)
{
    struct hvm_domain *h = d->hvm;
    if (!h)
        return -EINVAL;
    for (size_t i = 0; i < h->nr_devs; i++) {
        const struct hvm_device *dev = &h->devs[i];
        int rc = dev->model->trigger ? dev->model->trigger(d, dev->state, trigger) : -EOPNOTSUPP;
        if (rc != -EOPNOTSUPP)
            return rc;
    }
    return -EOPNOTSUPP;
}

static void hvm_subsys_destroy(struct domain *d)
{
    struct hvm_domain *h = d->hvm;
    if (!h)
        return;
    while (h->nr_devs > 0) {
        struct hvm_device *dev = &h->devs[--h->nr_devs];
        if (dev->model->destroy)
            dev->model->destroy(d, dev->state);
        close_fds(dev->fds, dev->nfds);
    }
    hvm_domain_free(d);
}

static const struct domain_subsys hvm_subsys = {
    .name = "hvm",
    .order = SUBSYS_ORDER_DEVICE,
    .destroy = hvm_subsys_destroy,
};
DOMAIN_SUBSYS_REGISTER(hvm_subsys);
