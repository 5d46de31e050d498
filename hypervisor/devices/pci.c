/* PCI bus 0 of an HVM machine: configuration mechanism #1 (0xCF8 address, 0xCFC-0xCFF data),
 * the function registry with BAR sizing and moving, INTx routing through the four PIIX3 PIRQ
 * links, and the i440FX host bridge at 00:00.0 ("pci-host" model, created first).
 *
 * Invariants: a BAR's region is claimed exactly while its space is enabled in the command
 * register and the BAR holds a non-zero address that does not collide with another region;
 * a GSI is raised exactly while some asserted, enabled INTx is wired to a link routed to it.
 * The PCI_LINK and PCI_IRQ state is kept in Xen's save records (struct hvm_hw_pci_link,
 * struct hvm_hw_pci_irqs). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>
#include <xen/hvm/save.h>

#include "devices.h"
#include "kxend/device.h"
#include "kxend/irq.h"
#include "pci.h"

#define PCI_NR_DEVFN 256
#define PCI_LINK_OFF 0x80 /* route bit 7: the link is not routed */
#define ISA_NR_IRQS 16

struct pci_bus {
    struct domain *d;
    pthread_mutex_t lock; /* cfg_addr and the function table */
    uint32_t cfg_addr;
    struct pci_function *fn[PCI_NR_DEVFN];
    struct io_region *addr_region, *data_region;
    struct pci_function host; /* 00:00.0 */

    pthread_mutex_t irq_lock; /* everything below */
    struct hvm_hw_pci_irqs irqs;
    struct hvm_hw_pci_link link;
    unsigned link_asserted[4];
    bool gsi_raised[ISA_NR_IRQS];
    struct pci_bus *next;
};

/* The buses of every domain; a domain has at most one. */
static pthread_mutex_t buses_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pci_bus *buses;

struct pci_bus *pci_bus_of(struct domain *d)
{
    pthread_mutex_lock(&buses_lock);
    struct pci_bus *b = buses;
    while (b && b->d != d)
        b = b->next;
    pthread_mutex_unlock(&buses_lock);
    return b;
}

struct domain *pci_bus_domain(struct pci_bus *bus)
{
    return bus->d;
}

void pci_config_init(struct pci_function *f, uint16_t vendor, uint16_t device, uint8_t revision,
                     uint32_t class_prog, uint8_t int_pin)
{
    memset(f->config, 0, sizeof(f->config));
    f->config[PCI_CFG_VENDOR] = vendor & 0xff;
    f->config[PCI_CFG_VENDOR + 1] = vendor >> 8;
    f->config[PCI_CFG_DEVICE] = device & 0xff;
    f->config[PCI_CFG_DEVICE + 1] = device >> 8;
    f->config[PCI_CFG_REVISION] = revision;
    f->config[PCI_CFG_CLASS_PROG] = class_prog & 0xff;
    f->config[PCI_CFG_CLASS_PROG + 1] = (class_prog >> 8) & 0xff;
    f->config[PCI_CFG_CLASS_PROG + 2] = (class_prog >> 16) & 0xff;
    f->config[PCI_CFG_INT_PIN] = int_pin;
}

static uint32_t cfg_get_bytes(const uint8_t *config, unsigned off)
{
    return (uint32_t)config[off] | (uint32_t)config[off + 1] << 8 |
           (uint32_t)config[off + 2] << 16 | (uint32_t)config[off + 3] << 24;
}

static uint32_t cfg_get(const struct pci_function *f, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)f->config[off + i] << (8 * i);
    return v;
}

/* ---- INTx ---------------------------------------------------------------------------------*/

static unsigned intx_link(const struct pci_function *f)
{
    unsigned slot = f->devfn >> 3, pin = f->config[PCI_CFG_INT_PIN];
    return (slot + pin - 1) & 3;
}

static bool intx_effective(const struct pci_function *f)
{
    return f->intx_level && !(cfg_get(f, PCI_CFG_COMMAND, 2) & PCI_CMD_INTX_DISABLE);
}

/* Brings one GSI to the OR of the links routed to it. Called with irq_lock held. */
static void gsi_sync(struct pci_bus *bus, uint8_t route)
{
    if (route & PCI_LINK_OFF || route >= ISA_NR_IRQS)
        return;
    bool level = false;
    for (unsigned l = 0; l < 4; l++)
        if (bus->link.route[l] == route && bus->link_asserted[l])
            level = true;
    if (level != bus->gsi_raised[route]) {
        bus->gsi_raised[route] = level;
        domain_irq_set_level(bus->d, route, level);
    }
}

/* Records f's effective level in the PCI_IRQ bitmap and its link's count. irq_lock held. */
static void intx_update(struct pci_function *f, bool level)
{
    struct pci_bus *bus = f->bus;
    if (!f->config[PCI_CFG_INT_PIN])
        return; /* no INTx pin (the host bridge): nothing to route */
    unsigned bit = (f->devfn >> 3) * 4 + (f->config[PCI_CFG_INT_PIN] - 1);
    uint64_t *word = &bus->irqs.pad[bit / 64];
    bool was = (*word >> (bit % 64)) & 1;
    if (was == level)
        return;
    *word ^= 1ull << (bit % 64);
    unsigned link = intx_link(f);
    bus->link_asserted[link] += level ? 1 : -1u;
    gsi_sync(bus, bus->link.route[link]);
}

void pci_set_intx(struct pci_function *f, bool level)
{
    struct pci_bus *bus = f->bus;
    if (!bus || !f->config[PCI_CFG_INT_PIN])
        return;
    pthread_mutex_lock(&bus->irq_lock);
    f->intx_level = level;
    uint16_t status = cfg_get(f, PCI_CFG_STATUS, 2);
    status = level ? status | PCI_STATUS_INTX : status & ~PCI_STATUS_INTX;
    f->config[PCI_CFG_STATUS] = status & 0xff;
    intx_update(f, intx_effective(f));
    pthread_mutex_unlock(&bus->irq_lock);
}

void pci_bus_set_link_route(struct pci_bus *bus, unsigned link, uint8_t route)
{
    if (link >= 4)
        return;
    /* Only the ISA IRQs a PIIX3 can route; anything else reads back but routes nowhere. */
    pthread_mutex_lock(&bus->irq_lock);
    uint8_t old = bus->link.route[link];
    bus->link.route[link] = route;
    gsi_sync(bus, old);
    gsi_sync(bus, route);
    pthread_mutex_unlock(&bus->irq_lock);
}

/* ---- BARs ---------------------------------------------------------------------------------*/

static uint64_t bar_address(const struct pci_function *f, unsigned i)
{
    uint32_t v = cfg_get(f, PCI_CFG_BAR0 + 4 * i, 4);
    return f->bars[i].io ? (v & ~3u) : (v & ~15u);
}

/* Claims, moves or releases BAR i's region to match the config space. Called with the bus
 * lock held; never from one of the BAR's own callbacks (configuration goes through 0xCFC). */
static void bar_sync(struct pci_function *f, unsigned i)
{
    struct pci_bar *bar = &f->bars[i];
    if (!bar->size)
        return;
    uint16_t cmd = cfg_get(f, PCI_CFG_COMMAND, 2);
    uint64_t addr = bar_address(f, i);
    bool on = (cmd & (bar->io ? PCI_CMD_IO : PCI_CMD_MEM)) && addr &&
              (addr & ~(uint64_t)(bar->size - 1)) == addr;
    /* Sizing writes all ones: the address then ends at the top of the space, not mapped. */
    if (bar->io && addr + bar->size > IO_PORT_SPACE_SIZE)
        on = false;
    if (!on) {
        io_region_unregister(bar->region);
        bar->region = NULL;
        return;
    }
    if (bar->region) {
        if (io_region_base(bar->region) != addr && io_region_move(bar->region, addr) < 0) {
            io_region_unregister(bar->region); /* collides: unreachable, as on a bad BIOS */
            bar->region = NULL;
        }
        return;
    }
    struct domain *d = f->bus->d;
    if (bar->io)
        io_register_port(d, addr, bar->size, bar->ops, f->opaque, &bar->region);
    else
        io_register_mmio(d, addr, bar->size, bar->ops, f->opaque, &bar->region);
}

static void bar_write(struct pci_function *f, unsigned i, uint32_t val)
{
    struct pci_bar *bar = &f->bars[i];
    uint32_t v = 0;
    if (bar->size)
        v = bar->io ? ((val & ~(bar->size - 1)) | 1)
                    : ((val & ~(bar->size - 1)) | (bar->prefetch ? 8 : 0));
    for (unsigned b = 0; b < 4; b++)
        f->config[PCI_CFG_BAR0 + 4 * i + b] = (v >> (8 * b)) & 0xff;
    bar_sync(f, i);
}

/* ---- Configuration space ------------------------------------------------------------------*/

/* Standard header bits a guest may write besides the BARs: command (I/O, memory, bus master,
 * INTx disable), cache line size, latency timer, interrupt line. */
static uint8_t std_wmask(unsigned off)
{
    switch (off) {
    case PCI_CFG_COMMAND:
        return PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER;
    case PCI_CFG_COMMAND + 1:
        return PCI_CMD_INTX_DISABLE >> 8;
    case 0x0c:
    case 0x0d:
    case PCI_CFG_INT_LINE:
        return 0xff;
    default:
        return 0;
    }
}

static void cfg_write(struct pci_function *f, unsigned off, unsigned size, uint32_t val)
{
    if (off >= PCI_CFG_BAR0 && off < PCI_CFG_BAR0 + 4 * PCI_NR_BARS) {
        unsigned i = (off - PCI_CFG_BAR0) / 4, shift = 8 * (off & 3);
        uint32_t mask = (size == 4 ? ~0u : ((1u << (8 * size)) - 1)) << shift;
        uint32_t cur = cfg_get(f, PCI_CFG_BAR0 + 4 * i, 4);
        bar_write(f, i, (cur & ~mask) | ((val << shift) & mask));
        return;
    }
    uint16_t old_cmd = cfg_get(f, PCI_CFG_COMMAND, 2);
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        uint8_t m = std_wmask(o) | f->wmask[o], b = (val >> (8 * i)) & 0xff;
        f->config[o] = (f->config[o] & ~m) | (b & m);
    }
    uint16_t cmd = cfg_get(f, PCI_CFG_COMMAND, 2);
    if (cmd != old_cmd) {
        for (unsigned i = 0; i < PCI_NR_BARS; i++)
            bar_sync(f, i);
        pthread_mutex_lock(&f->bus->irq_lock);
        intx_update(f, intx_effective(f));
        pthread_mutex_unlock(&f->bus->irq_lock);
    }
    if (f->config_written)
        f->config_written(f, off, size);
}

/* The function addressed by cfg_addr and the register offset of an access at data port byte
 * port_off; NULL for a disabled address, another bus or an empty slot. */
static struct pci_function *cfg_target(struct pci_bus *bus, uint64_t port_off, unsigned *reg)
{
    uint32_t a = bus->cfg_addr;
    if (!(a & 0x80000000u) || ((a >> 16) & 0xff))
        return NULL;
    *reg = (a & 0xfc) + (unsigned)port_off;
    return bus->fn[(a >> 8) & 0xff];
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_bus *bus = opaque;
    uint32_t v = ~0u;
    unsigned reg;
    if (offset + size > 4) /* Buggy guest: an access across the end of the data window. */
        return v;
    pthread_mutex_lock(&bus->lock);
    struct pci_function *f = cfg_target(bus, offset, &reg);
    if (f)
        v = cfg_get(f, reg, size);
    pthread_mutex_unlock(&bus->lock);
    return v;
}

static void data_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct pci_bus *bus = opaque;
    unsigned reg;
    if (offset + size > 4)
        return;
    pthread_mutex_lock(&bus->lock);
    struct pci_function *f = cfg_target(bus, offset, &reg);
    if (f)
        cfg_write(f, reg, size, (uint32_t)val);
    pthread_mutex_unlock(&bus->lock);
}

/* 0xCF8: only a 32-bit access is the address register (bytes go to other ISA decoders). */
static uint64_t addr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_bus *bus = opaque;
    if (offset || size != 4)
        return ~0ull;
    pthread_mutex_lock(&bus->lock);
    uint32_t v = bus->cfg_addr;
    pthread_mutex_unlock(&bus->lock);
    return v;
}

static void addr_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct pci_bus *bus = opaque;
    if (offset || size != 4)
        return;
    pthread_mutex_lock(&bus->lock);
    bus->cfg_addr = (uint32_t)val & 0x80fffffcu;
    pthread_mutex_unlock(&bus->lock);
}

static const struct io_region_ops addr_ops = {"pci-cfg-addr", addr_read, addr_write};
static const struct io_region_ops data_ops = {"pci-cfg-data", data_read, data_write};

/* ---- Registry -----------------------------------------------------------------------------*/

int pci_function_register(struct pci_bus *bus, struct pci_function *f)
{
    for (unsigned i = 0; i < PCI_NR_BARS; i++) {
        uint32_t s = f->bars[i].size;
        if (s && ((s & (s - 1)) || s < (f->bars[i].io ? 4u : 16u) || !f->bars[i].ops))
            return -EINVAL;
        f->bars[i].region = NULL;
    }
    pthread_mutex_lock(&bus->lock);
    if (bus->fn[f->devfn]) {
        pthread_mutex_unlock(&bus->lock);
        return -EEXIST;
    }
    f->bus = bus;
    f->intx_level = false;
    for (unsigned i = 0; i < PCI_NR_BARS; i++)
        bar_write(f, i, 0);
    bus->fn[f->devfn] = f;
    pthread_mutex_unlock(&bus->lock);
    return 0;
}

void pci_function_unregister(struct pci_function *f)
{
    struct pci_bus *bus = f->bus;
    if (!bus)
        return;
    pthread_mutex_lock(&bus->lock);
    if (bus->fn[f->devfn] == f)
        bus->fn[f->devfn] = NULL;
    for (unsigned i = 0; i < PCI_NR_BARS; i++) {
        io_region_unregister(f->bars[i].region);
        f->bars[i].region = NULL;
    }
    pthread_mutex_unlock(&bus->lock);
    /* Last: a BAR callback that was still running may have raised the line again. */
    pci_set_intx(f, false);
    f->bus = NULL;
}

void pci_bus_unplug(struct pci_bus *bus, unsigned mask)
{
    struct pci_function *hit[PCI_NR_DEVFN];
    unsigned n = 0;
    pthread_mutex_lock(&bus->lock);
    for (unsigned i = 0; i < PCI_NR_DEVFN; i++)
        if (bus->fn[i] && bus->fn[i]->unplug)
            hit[n++] = bus->fn[i];
    pthread_mutex_unlock(&bus->lock);
    /* Outside the bus lock: a hook may unregister its own function. Models are destroyed only
     * after every vCPU stopped, so the functions collected stay valid. */
    for (unsigned i = 0; i < n; i++)
        hit[i]->unplug(hit[i], mask);
}

/* ---- Save and restore ---------------------------------------------------------------------*/

void pci_function_save(struct pci_function *f, uint8_t config[256])
{
    struct pci_bus *bus = f->bus;
    if (bus)
        pthread_mutex_lock(&bus->lock);
    memcpy(config, f->config, 256);
    if (bus)
        pthread_mutex_unlock(&bus->lock);
}

static bool is_bar_byte(unsigned off)
{
    return off >= PCI_CFG_BAR0 && off < PCI_CFG_BAR0 + 4 * PCI_NR_BARS;
}

int pci_function_check(const struct pci_function *f, const uint8_t config[256], char *why,
                       size_t whylen)
{
    for (unsigned o = 0; o < 256; o++) {
        uint8_t ro = (uint8_t) ~(std_wmask(o) | f->wmask[o]);
        /* The status register's INTx bit follows the model's line, which its load sets. */
        if (is_bar_byte(o) || o == PCI_CFG_STATUS)
            continue;
        if ((config[o] ^ f->config[o]) & ro) {
            snprintf(why, whylen, "PCI config byte %#x is %#x, read-only bits of %#x", o, config[o],
                     f->config[o]);
            return -EINVAL;
        }
    }
    for (unsigned i = 0; i < PCI_NR_BARS; i++) {
        const struct pci_bar *bar = &f->bars[i];
        uint32_t v = cfg_get_bytes(config, PCI_CFG_BAR0 + 4 * i);
        uint32_t low = bar->io ? 1u : (bar->prefetch ? 8u : 0u);
        /* Buggy or corrupt image: a BAR no guest write could have produced. */
        if ((!bar->size && v) || (bar->size && (v & (bar->size - 1)) != low)) {
            snprintf(why, whylen, "PCI BAR%u is %#x, not a value a %u-byte %s BAR takes", i, v,
                     bar->size, bar->io ? "I/O" : "memory");
            return -EINVAL;
        }
    }
    return 0;
}

void pci_function_load(struct pci_function *f, const uint8_t config[256])
{
    struct pci_bus *bus = f->bus;
    if (!bus)
        return;
    pthread_mutex_lock(&bus->lock);
    for (unsigned o = 0; o < 256; o++) {
        uint8_t m = std_wmask(o) | f->wmask[o];
        if (!is_bar_byte(o))
            f->config[o] = (f->config[o] & ~m) | (config[o] & m);
    }
    for (unsigned i = 0; i < PCI_NR_BARS; i++)
        bar_write(f, i, cfg_get_bytes(config, PCI_CFG_BAR0 + 4 * i));
    pthread_mutex_lock(&bus->irq_lock);
    intx_update(f, intx_effective(f));
    pthread_mutex_unlock(&bus->irq_lock);
    if (f->config_written)
        f->config_written(f, 0, 256);
    pthread_mutex_unlock(&bus->lock);
}

/* The host bridge's instance: the address register and the i440FX's config space. The
 * routes and INTx wires are the PIIX3's and each function's, loaded with them. */
struct host_save {
    uint32_t cfg_addr, pad;
    uint8_t config[256];
};

static int host_save(void *state, void *buf, uint32_t cap)
{
    struct pci_bus *bus = state;
    struct host_save h = {0};
    if (cap < sizeof(h))
        return -ENOSPC;
    pthread_mutex_lock(&bus->lock);
    h.cfg_addr = bus->cfg_addr;
    pthread_mutex_unlock(&bus->lock);
    pci_function_save(&bus->host, h.config);
    memcpy(buf, &h, sizeof(h));
    return sizeof(h);
}

static int host_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct pci_bus *bus = state;
    struct host_save h;
    if (len != sizeof(h)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(h));
        return -EINVAL;
    }
    memcpy(&h, body, sizeof(h));
    if (h.cfg_addr & ~0x80fffffcu) {
        snprintf(why, whylen, "cfg_addr %#x has bits the address register does not keep",
                 h.cfg_addr);
        return -EINVAL;
    }
    int rc = pci_function_check(&bus->host, h.config, why, whylen);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&bus->lock);
    bus->cfg_addr = h.cfg_addr;
    pthread_mutex_unlock(&bus->lock);
    pci_function_load(&bus->host, h.config);
    return 0;
}

/* Xen's PCI_IRQ and PCI_LINK records, as this bus keeps them. */
static int host_save_xen(void *state, unsigned nr, uint16_t *code, void *buf, uint32_t cap)
{
    struct pci_bus *bus = state;
    size_t len = nr == 0 ? sizeof(bus->irqs) : sizeof(bus->link);
    if (nr > 1)
        return -ENOENT;
    if (cap < len)
        return -ENOSPC;
    pthread_mutex_lock(&bus->irq_lock);
    memcpy(buf, nr == 0 ? (const void *)&bus->irqs : (const void *)&bus->link, len);
    pthread_mutex_unlock(&bus->irq_lock);
    *code = nr == 0 ? HVM_SAVE_CODE(PCI_IRQ) : HVM_SAVE_CODE(PCI_LINK);
    return (int)len;
}

/* ---- The "pci-host" model: the bus and the i440FX at 00:00.0 ------------------------------*/

static void bus_free(struct pci_bus *bus)
{
    io_region_unregister(bus->addr_region);
    io_region_unregister(bus->data_region);
    pthread_mutex_destroy(&bus->lock);
    pthread_mutex_destroy(&bus->irq_lock);
    free(bus);
}

static int host_opt(void *ctx, const char *key, const char *val)
{
    (void)ctx, (void)key, (void)val;
    return -EINVAL;
}

static int host_create(struct domain *d, const char *options, void **state)
{
    int rc = dev_opts_each(options, host_opt, NULL);
    if (rc < 0)
        return rc;
    if (pci_bus_of(d))
        return -EEXIST;
    struct pci_bus *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return -ENOMEM;
    bus->d = d;
    pthread_mutex_init(&bus->lock, NULL);
    pthread_mutex_init(&bus->irq_lock, NULL);
    for (unsigned l = 0; l < 4; l++)
        bus->link.route[l] = PCI_LINK_OFF;
    rc = io_register_port(d, 0xcf8, 1, &addr_ops, bus, &bus->addr_region);
    if (!rc)
        rc = io_register_port(d, 0xcfc, 4, &data_ops, bus, &bus->data_region);
    if (rc) {
        bus_free(bus);
        return rc;
    }
    /* i440FX PMC: the PAM registers (0x59-0x5f) and SMRAM (0x72) are writable no-ops, as the
     * BIOS shadow RAM is plain RAM here; subsystem 1af4:1100 is what firmware looks for. */
    pci_config_init(&bus->host, 0x8086, 0x1237, 0x02, 0x060000, 0);
    bus->host.config[PCI_CFG_SUBSYS_VENDOR] = 0xf4;
    bus->host.config[PCI_CFG_SUBSYS_VENDOR + 1] = 0x1a;
    bus->host.config[PCI_CFG_SUBSYS] = 0x00;
    bus->host.config[PCI_CFG_SUBSYS + 1] = 0x11;
    memset(&bus->host.wmask[0x59], 0xff, 7);
    bus->host.wmask[0x72] = 0xff;
    bus->host.devfn = PCI_DEVFN(0, 0);
    pci_function_register(bus, &bus->host);
    pthread_mutex_lock(&buses_lock);
    bus->next = buses;
    buses = bus;
    pthread_mutex_unlock(&buses_lock);
    *state = bus;
    return 0;
}

static void host_destroy(struct domain *d, void *state)
{
    (void)d;
    struct pci_bus *bus = state;
    pthread_mutex_lock(&buses_lock);
    for (struct pci_bus **p = &buses; *p; p = &(*p)->next)
        if (*p == bus) {
            *p = bus->next;
            break;
        }
    pthread_mutex_unlock(&buses_lock);
    pci_function_unregister(&bus->host);
    bus_free(bus);
}

static const struct device_model pci_host_model = {
    .name = "pci-host",
    .order = 10,
    .create = host_create,
    .destroy = host_destroy,
    .save = host_save,
    .load = host_load,
    .save_xen = host_save_xen,
};
DEVICE_MODEL_REGISTER(pci_host_model);
