/* An emulated PC in the save stream: the machine (KXEN_SREC_HVM), one KXEN_SREC_DEVICE record
 * per device instance in creation order (the model's own body after its name), the
 * accelerator's interrupt controllers and timer, and copies in Xen's public layouts
 * (KXEN_SREC_XEN_HVM) for the libxc HVM_CONTEXT record.
 *
 * Invariants: a restore needs the same machine: the toolstack builds the new domain with
 * HVM_BUILD's restore mode and the same device list before RESTORE_BEGIN, so record i belongs
 * to device i, of the same model. The devices load before the interrupt controllers: a model
 * drives its lines as its state says, then the controllers take the saved pending and
 * in-service bits over that. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvm_internal.h"
#include "kxend/accel.h"
#include "kxend/save.h"
#include "kxend/subsys.h"

/* Room for one device's record: the largest model body (IDE: two sector buffers). */
#define DEV_REC_MAX (64u * 1024u)
#define DEV_HDR sizeof(struct kxen_srec_device)

static int save_xen_records(const struct hvm_device *dev, uint8_t *buf, struct kxend_save_ctx *ctx)
{
    if (!dev->model->save_xen)
        return 0;
    for (unsigned nr = 0;; nr++) {
        uint16_t code = 0;
        int len = dev->model->save_xen(dev->state, nr, &code, buf, DEV_REC_MAX);
        if (len == -ENOENT)
            return 0;
        if (len < 0)
            return len;
        int rc = kxend_save_put(ctx, KXEN_SREC_XEN_HVM, KXEN_SREC_XEN_INSTANCE(code, 0), buf,
                                (uint32_t)len);
        if (rc < 0)
            return rc;
    }
}

static int hvm_save(struct domain *d, struct kxend_save_ctx *ctx)
{
    struct hvm_domain *h = d->hvm;
    if (!h)
        return 0;
    struct kxen_srec_hvm r = {.flags = h->xen ? KXEN_SREC_HVM_XEN : 0,
                              .nr_devices = (uint32_t)h->nr_devs,
                              .ram_end = h->ram_end};
    int rc = kxend_save_put(ctx, KXEN_SREC_HVM, 0, &r, sizeof(r));
    uint8_t *buf = rc < 0 ? NULL : malloc(DEV_REC_MAX);
    if (rc == 0 && !buf)
        rc = -ENOMEM;
    for (size_t i = 0; i < h->nr_devs && rc == 0; i++) {
        const struct hvm_device *dev = &h->devs[i];
        struct kxen_srec_device hdr = {{0}};
        strncpy(hdr.model, dev->model->name, sizeof(hdr.model) - 1);
        memcpy(buf, &hdr, DEV_HDR);
        int len = dev->model->save
                      ? dev->model->save(dev->state, buf + DEV_HDR, DEV_REC_MAX - (uint32_t)DEV_HDR)
                      : 0;
        rc = len < 0 ? len
                     : kxend_save_put(ctx, KXEN_SREC_DEVICE, (uint32_t)i, buf,
                                      (uint32_t)(DEV_HDR + (uint32_t)len));
        if (rc == 0)
            rc = save_xen_records(dev, buf, ctx);
    }
    free(buf);
    if (rc == 0 && d->accel->hvm_save)
        rc = d->accel->hvm_save(d, ctx);
    return rc;
}

static int device_load(struct kxend_save_ctx *ctx, size_t i, const struct hvm_device *dev,
                       uint8_t *buf)
{
    const char *name = dev->model->name;
    int len = kxend_save_get(ctx, KXEN_SREC_DEVICE, (uint32_t)i, buf, DEV_REC_MAX);
    if (len == -ENOENT)
        return kxend_load_refuse(ctx, "the image has no state for device %zu (%s)", i, name);
    if (len < (int)DEV_HDR || len > (int)DEV_REC_MAX)
        return kxend_load_refuse(ctx, "device record %zu (%s) has a bad length %d", i, name, len);
    struct kxen_srec_device hdr;
    memcpy(&hdr, buf, DEV_HDR);
    if (!memchr(hdr.model, 0, sizeof(hdr.model)) || strcmp(hdr.model, name))
        return kxend_load_refuse(ctx,
                                 "device record %zu is of model '%.31s', the new domain's "
                                 "device %zu is %s",
                                 i, hdr.model, i, name);
    uint32_t body = (uint32_t)len - (uint32_t)DEV_HDR;
    if (!dev->model->load)
        return body ? kxend_load_refuse(ctx, "device record %zu (%s): the model keeps no state", i,
                                        name)
                    : 0;
    char why[160] = "";
    int rc = dev->model->load(dev->state, buf + DEV_HDR, body, why, sizeof(why));
    if (rc < 0)
        return kxend_load_refuse(ctx, "device record %zu (%s): %s", i, name,
                                 why[0] ? why : strerror(-rc));
    return 0;
}

static int hvm_load(struct domain *d, struct kxend_save_ctx *ctx)
{
    struct hvm_domain *h = d->hvm;
    struct kxen_srec_hvm r;
    int len = kxend_save_get(ctx, KXEN_SREC_HVM, 0, &r, sizeof(r));
    if (!h)
        return len == -ENOENT ? 0
                              : kxend_load_refuse(ctx, "the image holds an emulated PC (HVM "
                                                       "record) and the new domain is not one");
    if (len == -ENOENT)
        return kxend_load_refuse(ctx, "the new domain is an emulated PC and the image has no "
                                      "HVM record (it was saved from a PV or PVH domain)");
    if (len != (int)sizeof(r))
        return kxend_load_refuse(ctx, "HVM record: length %d, expected %zu", len, sizeof(r));
    if ((r.flags & ~KXEN_SREC_HVM_XEN) || !(r.flags & KXEN_SREC_HVM_XEN) != !h->xen)
        return kxend_load_refuse(ctx,
                                 "HVM record: flags %#x do not match the new domain's "
                                 "(xen_platform_pci = %d)",
                                 r.flags, h->xen);
    if (r.ram_end != h->ram_end)
        return kxend_load_refuse(ctx, "HVM record: ram_end %#llx, the new domain's is %#llx",
                                 (unsigned long long)r.ram_end, (unsigned long long)h->ram_end);
    if (r.nr_devices != h->nr_devs)
        return kxend_load_refuse(ctx, "HVM record: nr_devices %u, the new domain has %zu",
                                 r.nr_devices, h->nr_devs);
    uint8_t *buf = malloc(DEV_REC_MAX);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < h->nr_devs && rc == 0; i++)
        rc = device_load(ctx, i, &h->devs[i], buf);
    free(buf);
    if (rc == 0 && d->accel->hvm_load)
        rc = d->accel->hvm_load(d, ctx);
    return rc;
}

static const struct domain_subsys hvm_save_subsys = {
    .name = "hvm-state",
    .order = SUBSYS_ORDER_DEVICE + 1,
    .save = hvm_save,
    .load = hvm_load,
};
DOMAIN_SUBSYS_REGISTER(hvm_save_subsys);

void hvm_restore_boot(struct domain *d, struct vcpu_boot *boot)
{
    /* The interrupt controllers exist since HVM_BUILD (hvm_init); Xen's CPUID leaves, the
     * hypercall routing and the LAPIC flag follow the platform device, as at the first build.
     * The LAPIC flag is what a PV-on-HVM Linux's resume relies on: VCPUOP_up of its secondary
     * vCPUs (xen_vcpu_restore), the GSI callback via it writes after its upcall vectors,
     * its grant frames placed in the platform device's BAR, and the LINUX_PVH flag of the
     * next save (a migration after a restore). */
    if (d->hvm) {
        boot->xen_hvm = d->hvm->xen;
        boot->lapic = d->hvm->xen;
    }
}
