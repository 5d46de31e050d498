/* The PCI bus of an HVM machine (bus 0 only, configuration mechanism #1): a registry of PCI
 * functions that the models on the bus fill, each with its 256-byte configuration space.
 *
 * The registry implements the standard header for every function: read-only identity,
 * writable bits given per byte by wmask, BARs that the guest sizes (writing all ones reads back
 * the size mask) and moves (the region follows through io_region_move, claimed only while the
 * command register enables its space and the BAR holds an address), and INTx: a function's
 * pin is wire-ORed into PIRQ link (slot + pin - 1) & 3 (the PIIX3 "barber's pole") and the
 * link's route (set by the PIIX3 model) names the GSI raised through domain_irq_set_level().
 *
 * Locking: the bus lock guards configuration accesses; INTx state has a lock of its own so a
 * BAR callback may raise its interrupt while a configuration write is moving its region. */
#ifndef KXEND_DEVICES_PCI_H
#define KXEND_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "kxend/domain.h"
#include "kxend/io.h"

#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | (fn)))
#define PCI_CFG_VENDOR 0x00
#define PCI_CFG_DEVICE 0x02
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_STATUS 0x06
#define PCI_CFG_REVISION 0x08
#define PCI_CFG_CLASS_PROG 0x09
#define PCI_CFG_HEADER_TYPE 0x0e
#define PCI_CFG_BAR0 0x10
#define PCI_CFG_SUBSYS_VENDOR 0x2c
#define PCI_CFG_SUBSYS 0x2e
#define PCI_CFG_INT_LINE 0x3c
#define PCI_CFG_INT_PIN 0x3d
#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_CMD_INTX_DISABLE 0x400
#define PCI_STATUS_INTX 0x8
#define PCI_NR_BARS 6

struct pci_bus;
struct pci_function;

struct pci_bar {
    uint32_t size; /* power of two (I/O >= 4, MMIO >= 16); 0 = no BAR */
    bool io;
    bool prefetch;
    const struct io_region_ops *ops; /* called with the function's opaque */
    struct io_region *region;        /* claimed while mapped */
};

struct pci_function {
    uint8_t devfn;
    uint8_t config[256];
    uint8_t wmask[256]; /* guest-writable bits beyond the standard header's */
    struct pci_bar bars[PCI_NR_BARS];
    void *opaque;
    /* Optional: after the registry applied a configuration write (the new bytes are in
     * config[]); called with the bus lock held. */
    void (*config_written)(struct pci_function *f, unsigned off, unsigned size);
    /* Optional: the unplug protocol (devices.h UNPLUG_*); called with no bus lock held. */
    void (*unplug)(struct pci_function *f, unsigned mask);
    /* Set by the registry. */
    struct pci_bus *bus;
    bool intx_level;
};

/* The bus of d (created by the pci-host model), or NULL. */
struct pci_bus *pci_bus_of(struct domain *d);
struct domain *pci_bus_domain(struct pci_bus *bus);

/* Fills the identity bytes of a type-0 header. */
void pci_config_init(struct pci_function *f, uint16_t vendor, uint16_t device, uint8_t revision,
                     uint32_t class_prog, uint8_t int_pin);

/* Puts f at its devfn: 0, -EEXIST (taken), -EINVAL (bad BAR size). f stays the caller's and
 * must stay valid until pci_function_unregister(), which releases its BARs' regions and lowers
 * its INTx; no other thread of the model may raise the INTx during or after it. */
int pci_function_register(struct pci_bus *bus, struct pci_function *f);
void pci_function_unregister(struct pci_function *f);

/* A function's INTx line (ignored while its command register disables INTx). */
void pci_set_intx(struct pci_function *f, bool level);

/* The PIIX3's PIRQ route registers (value as in config 0x60-0x63: bit 7 = off, else IRQ). */
void pci_bus_set_link_route(struct pci_bus *bus, unsigned link, uint8_t route);

/* Save/restore of a function's configuration space, for its model's save/load hooks.
 * pci_function_save copies it out. pci_function_check tests a saved copy (from a file)
 * against f: the bytes the guest cannot write must be f's own, and each BAR's low bits must
 * be what its size and kind give; 0, or -EINVAL with why naming the byte. pci_function_load
 * applies a checked copy: the writable bytes, the BARs (their regions follow, as after a
 * guest's write) and the model's config_written hook over the whole space. */
void pci_function_save(struct pci_function *f, uint8_t config[256]);
int pci_function_check(const struct pci_function *f, const uint8_t config[256], char *why,
                       size_t whylen);
void pci_function_load(struct pci_function *f, const uint8_t config[256]);

/* Passes an unplug mask to every function on the bus that has an unplug hook. */
void pci_bus_unplug(struct pci_bus *bus, unsigned mask);

#endif
