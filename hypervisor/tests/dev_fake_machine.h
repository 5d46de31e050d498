/* The device models' fake machine, shared by the unit tests and the fuzz target: a domain
 * with plain RAM, an I/O space that dispatches like io.c (the first byte decides, unclaimed
 * reads all ones), interrupt lines that record their level and rising edges, and a recorded
 * shutdown request. Single-threaded callers only (model threads may call the interrupt and
 * guest-memory functions). */
#ifndef DEV_FAKE_MACHINE_H
#define DEV_FAKE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "kxend/device.h"
#include "kxend/domain.h"
#include "kxend/io.h"

#define FAKE_RAM_SIZE (1u << 20)

extern struct domain fake_dom;
extern bool fake_irq_level[32];
extern unsigned fake_irq_rises[32];
extern int fake_shutdown_reason; /* -1 = none asked */

/* Fresh domain (zeroed RAM), no regions, lines low. */
void fake_machine_reset(void);
/* Regions still claimed (a destroyed model must leave none). */
unsigned fake_io_count(void);

uint32_t pin(uint16_t port, unsigned size);
void pout(uint16_t port, unsigned size, uint32_t val);
uint64_t mmio_rd(uint64_t addr, unsigned size);
void mmio_wr(uint64_t addr, unsigned size, uint64_t val);

/* PCI configuration through 0xCF8/0xCFC. */
uint32_t pci_cfg_rd(unsigned devfn, unsigned reg, unsigned size);
void pci_cfg_wr(unsigned devfn, unsigned reg, unsigned size, uint32_t val);

#endif
