/* Xen's platform PCI device at 00:02.0 (5853:0001, "xen-platform" model), which tells an HVM
 * Linux that PV drivers may take over: BAR0 (256 bytes of I/O: platform flags, a log port),
 * BAR1 (16 MiB prefetchable MMIO where the guest places its grant-table frames), and the
 * unplug protocol on the fixed ports 0x10-0x13 (magic 0x49d2, protocol 1): a 16-bit write of
 * a mask to 0x10 detaches the emulated disks and/or NICs through pci_bus_unplug(). Its INTA
 * is offered to kxend as the event-channel callback's line (HVM_PARAM_CALLBACK_IRQ in PCI
 * INTx form, for a guest without upcall vectors): kxend raises and lowers it, routed like any
 * PCI function's INTx.
 *
 * Invariants: the unplug mask only ever grows (a device once unplugged stays gone until the
 * domain is rebuilt); the log is collected to a newline and goes to kxend's rate-limited
 * per-domain log. BAR1 reads as zeros here: its pages are backed by whoever maps grant frames
 * there, which then answers instead of this region. Xen has no save record for it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "kxen/log.h"
#include "kxend/device.h"
#include "kxend/io.h"
#include "kxend/irq.h"
#include "pci.h"

#define PLATFORM_MAGIC 0x49d2
#define PLATFORM_PROTOCOL 1
#define PLATFORM_MMIO_SIZE (16u << 20)
#define LOG_MAX 120

struct xen_platform {
    struct pci_function fn;
    struct domain *d;
    pthread_mutex_t lock;
    uint8_t flags;
    uint16_t product;
    uint32_t build;
    unsigned unplugged;
    char log[LOG_MAX + 1];
    unsigned log_len;
    struct io_region *ports;
};

static void log_byte(struct xen_platform *p, uint8_t c)
{
    if (c != '\n' && p->log_len < LOG_MAX) {
        p->log[p->log_len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        return;
    }
    p->log[p->log_len] = '\0';
    log_dom_info(p->d->domid, "d%u platform: %s", p->d->domid, p->log);
    p->log_len = 0;
}

static uint64_t ports_read(void *opaque, uint64_t offset, unsigned size)
{
    struct xen_platform *p = opaque;
    uint64_t v = ~0ull;
    pthread_mutex_lock(&p->lock);
    if (offset == 0 && size == 2)
        v = PLATFORM_MAGIC;
    else if (offset == 0 && size == 1)
        v = p->flags;
    else if (offset == 2 && size == 1)
        v = PLATFORM_PROTOCOL;
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void ports_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct xen_platform *p = opaque;
    unsigned unplug = 0;
    pthread_mutex_lock(&p->lock);
    if (offset == 0 && size == 2) {
        unplug = (unsigned)val & ~p->unplugged;
        p->unplugged |= (unsigned)val;
    } else if (offset == 0 && size == 4) {
        p->build = (uint32_t)val;
    } else if (offset == 0 && size == 1) {
        p->flags = val & 1;
    } else if (offset == 2 && size == 2) {
        p->product = (uint16_t)val;
    } else if (offset == 2 && size == 1) {
        log_byte(p, (uint8_t)val);
    }
    pthread_mutex_unlock(&p->lock);
    if (unplug) { /* outside the lock: the hooks take their own devices' locks */
        log_dom_info(p->d->domid, "d%u: unplug of emulated devices, mask %#x", p->d->domid, unplug);
        pci_bus_unplug(p->fn.bus, unplug);
    }
}

static uint64_t bar0_read(void *opaque, uint64_t offset, unsigned size)
{
    struct xen_platform *p = opaque;
    (void)size;
    pthread_mutex_lock(&p->lock);
    uint64_t v = offset == 0 ? p->flags : 0;
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void bar0_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct xen_platform *p = opaque;
    (void)size;
    pthread_mutex_lock(&p->lock);
    if (offset == 0)
        p->flags = val & 1; /* bit 0: ROM lock, meaningless without a ROM */
    else if (offset == 8)
        log_byte(p, (uint8_t)val);
    pthread_mutex_unlock(&p->lock);
}

static uint64_t bar1_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque, (void)offset, (void)size;
    return 0;
}

static void bar1_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    (void)opaque, (void)offset, (void)size, (void)val;
}

static void callback_intx(void *opaque, bool level)
{
    struct xen_platform *p = opaque;
    pci_set_intx(&p->fn, level);
}

static const struct io_region_ops ports_ops = {"xen-platform-unplug", ports_read, ports_write};
static const struct io_region_ops bar0_ops = {"xen-platform-io", bar0_read, bar0_write};
static const struct io_region_ops bar1_ops = {"xen-platform-mmio", bar1_read, bar1_write};

static int platform_opt(void *ctx, const char *key, const char *val)
{
    (void)ctx, (void)key, (void)val;
    return -EINVAL;
}

static int platform_create(struct domain *d, const char *options, void **state)
{
    int rc = dev_opts_each(options, platform_opt, NULL);
    if (rc < 0)
        return rc;
    struct pci_bus *bus = pci_bus_of(d);
    if (!bus)
        return -ENODEV;
    struct xen_platform *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->d = d;
    pthread_mutex_init(&p->lock, NULL);
    struct pci_function *f = &p->fn;
    pci_config_init(f, 0x5853, 0x0001, 1, 0xff8000, 1);
    f->config[PCI_CFG_SUBSYS_VENDOR] = 0x53;
    f->config[PCI_CFG_SUBSYS_VENDOR + 1] = 0x58;
    f->config[PCI_CFG_SUBSYS] = 0x01;
    f->devfn = PCI_DEVFN(2, 0);
    f->opaque = p;
    f->bars[0] = (struct pci_bar){.size = 256, .io = true, .ops = &bar0_ops};
    f->bars[1] = (struct pci_bar){.size = PLATFORM_MMIO_SIZE, .prefetch = true, .ops = &bar1_ops};
    rc = io_register_port(d, 0x10, 4, &ports_ops, p, &p->ports);
    if (!rc) {
        rc = pci_function_register(bus, f);
        if (rc)
            io_region_unregister(p->ports);
    }
    if (rc) {
        pthread_mutex_destroy(&p->lock);
        free(p);
        return rc;
    }
    hvm_callback_intx_offer(d, f->devfn, callback_intx, p);
    *state = p;
    return 0;
}

static void platform_destroy(struct domain *d, void *state)
{
    struct xen_platform *p = state;
    hvm_callback_intx_offer(d, p->fn.devfn, NULL, NULL);
    io_region_unregister(p->ports);
    pci_function_unregister(&p->fn);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Saved state: the config space and the platform registers. The unplug mask is the record of
 * what the guest asked for; the IDE and NIC models carry their own unplugged state. The
 * callback (HVM_PARAM_CALLBACK_IRQ) is a domain parameter and travels with the others. */
struct platform_save {
    uint8_t config[256];
    uint32_t build, unplugged;
    uint16_t product;
    uint8_t flags;
    uint8_t pad[5];
};

static int platform_save(void *state, void *buf, uint32_t cap)
{
    struct xen_platform *p = state;
    struct platform_save s = {0};
    if (cap < sizeof(s))
        return -ENOSPC;
    pci_function_save(&p->fn, s.config);
    pthread_mutex_lock(&p->lock);
    s.build = p->build, s.unplugged = p->unplugged, s.product = p->product, s.flags = p->flags;
    pthread_mutex_unlock(&p->lock);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

static int platform_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct xen_platform *p = state;
    struct platform_save s;
    if (len != sizeof(s)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(s));
        return -EINVAL;
    }
    memcpy(&s, body, sizeof(s));
    if (s.flags > 1 || s.unplugged > 0xffff) {
        snprintf(why, whylen, "flags %#x or unplug mask %#x out of range", s.flags, s.unplugged);
        return -EINVAL;
    }
    int rc = pci_function_check(&p->fn, s.config, why, whylen);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->lock);
    p->build = s.build, p->unplugged = s.unplugged, p->product = s.product, p->flags = s.flags;
    pthread_mutex_unlock(&p->lock);
    pci_function_load(&p->fn, s.config);
    return 0;
}

static const struct device_model platform_model = {
    .name = "xen-platform",
    .order = 50,
    .create = platform_create,
    .destroy = platform_destroy,
    .save = platform_save,
    .load = platform_load,
};
DEVICE_MODEL_REGISTER(platform_model);
