/* The PIIX3 PCI-to-ISA bridge at 00:01.0 (8086:7000, "piix3" model): the PIRQA-D route
 * registers (config 0x60-0x63, each an ISA IRQ or bit 7 for "not routed") that decide which
 * GSI a PCI INTx link raises, and the ELCR (ports 0x4D0/0x4D1, one edge/level bit per ISA IRQ).
 *
 * Options pirqa= .. pirqd= preset a route at power-on, as a firmware leaves it (the routes
 * kxend's ACPI \_PRT names for a directly booted guest); unset, a link powers on unrouted.
 *
 * Invariant: the bus's link routes (pci.c, Xen's struct hvm_hw_pci_link) always equal config
 * 0x60-0x63. The ELCR is a register the firmware programs; with kvm's in-kernel PIC the
 * kernel answers 0x4D0/0x4D1 itself and this copy is not reached. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "kxend/device.h"
#include "pci.h"

#define PIIX3_PIRQ_ROUTE 0x60
/* IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered on a PIIX. */
#define ELCR_MASK0 0xf8
#define ELCR_MASK1 0xde

struct piix3 {
    struct pci_function fn;
    pthread_mutex_t lock;
    uint8_t elcr[2];
    struct io_region *elcr_region;
};

static void piix3_config_written(struct pci_function *f, unsigned off, unsigned size)
{
    for (unsigned o = off; o < off + size; o++)
        if (o >= PIIX3_PIRQ_ROUTE && o < PIIX3_PIRQ_ROUTE + 4)
            pci_bus_set_link_route(f->bus, o - PIIX3_PIRQ_ROUTE, f->config[o]);
}

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix3 *p = opaque;
    pthread_mutex_lock(&p->lock);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)(offset + i < 2 ? p->elcr[offset + i] : 0xff) << (8 * i);
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct piix3 *p = opaque;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < size && offset + i < 2; i++)
        p->elcr[offset + i] = (val >> (8 * i)) & (offset + i ? ELCR_MASK1 : ELCR_MASK0);
    pthread_mutex_unlock(&p->lock);
}

static const struct io_region_ops elcr_ops = {"piix3-elcr", elcr_read, elcr_write};

/* routes[i]: PIRQ i's power-on route register (bit 7: not routed). */
static int piix3_opt(void *ctx, const char *key, const char *val)
{
    uint8_t *routes = ctx;
    uint64_t irq;
    if (strncmp(key, "pirq", 4) || key[4] < 'a' || key[4] > 'd' || key[5])
        return -EINVAL;
    /* An ISA IRQ a PIIX3 can route (3-7, 9-12, 14, 15). */
    int rc = dev_opt_u64(val, 15, &irq);
    if (rc == 0 && (irq < 3 || irq == 8 || irq == 13))
        rc = -EINVAL;
    if (rc == 0)
        routes[key[4] - 'a'] = (uint8_t)irq;
    return rc;
}

static int piix3_create(struct domain *d, const char *options, void **state)
{
    uint8_t routes[4] = {0x80, 0x80, 0x80, 0x80};
    int rc = dev_opts_each(options, piix3_opt, routes);
    if (rc < 0)
        return rc;
    struct pci_bus *bus = pci_bus_of(d);
    if (!bus)
        return -ENODEV;
    struct piix3 *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    pci_config_init(&p->fn, 0x8086, 0x7000, 0, 0x060100, 0);
    p->fn.config[PCI_CFG_HEADER_TYPE] = 0x80; /* multi-function: IDE is 00:01.1 */
    for (unsigned i = 0; i < 4; i++) {
        p->fn.config[PIIX3_PIRQ_ROUTE + i] = routes[i];
        p->fn.wmask[PIIX3_PIRQ_ROUTE + i] = 0x8f;
    }
    p->fn.devfn = PCI_DEVFN(1, 0);
    p->fn.opaque = p;
    p->fn.config_written = piix3_config_written;
    rc = io_register_port(d, 0x4d0, 2, &elcr_ops, p, &p->elcr_region);
    if (!rc)
        rc = pci_function_register(bus, &p->fn);
    if (rc) {
        io_region_unregister(p->elcr_region);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return rc;
    }
    for (unsigned i = 0; i < 4; i++)
        pci_bus_set_link_route(bus, i, routes[i]);
    *state = p;
    return 0;
}

static void piix3_destroy(struct domain *d, void *state)
{
    (void)d;
    struct piix3 *p = state;
    pci_function_unregister(&p->fn);
    io_region_unregister(p->elcr_region);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Saved state: the config space (the PIRQ routes with it) and the ELCR copy. */
struct piix3_save {
    uint8_t config[256];
    uint8_t elcr[2];
    uint8_t pad[6];
};

static int piix3_save(void *state, void *buf, uint32_t cap)
{
    struct piix3 *p = state;
    struct piix3_save s = {0};
    if (cap < sizeof(s))
        return -ENOSPC;
    pci_function_save(&p->fn, s.config);
    pthread_mutex_lock(&p->lock);
    memcpy(s.elcr, p->elcr, 2);
    pthread_mutex_unlock(&p->lock);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

static int piix3_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct piix3 *p = state;
    struct piix3_save s;
    if (len != sizeof(s)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(s));
        return -EINVAL;
    }
    memcpy(&s, body, sizeof(s));
    if ((s.elcr[0] & ~ELCR_MASK0) || (s.elcr[1] & ~ELCR_MASK1)) {
        snprintf(why, whylen, "ELCR %#x/%#x marks always-edge IRQs level", s.elcr[0], s.elcr[1]);
        return -EINVAL;
    }
    int rc = pci_function_check(&p->fn, s.config, why, whylen);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->lock);
    memcpy(p->elcr, s.elcr, 2);
    pthread_mutex_unlock(&p->lock);
    pci_function_load(&p->fn, s.config); /* config_written applies the routes */
    return 0;
}

static const struct device_model piix3_model = {
    .name = "piix3",
    .order = 20,
    .create = piix3_create,
    .destroy = piix3_destroy,
    .save = piix3_save,
    .load = piix3_load,
};
DEVICE_MODEL_REGISTER(piix3_model);
