/* Interrupt lines of an emulated machine. Device models (UART, IDE, NIC, PCI INTx through the
 * PIIX3 PIRQ routing, ...) raise and lower global system interrupt lines here and never talk to
 * an accelerator: the accelerator behind d routes the line to its interrupt controllers (kvm:
 * the in-kernel PIC and IOAPIC; soft: kxend's own emulation, where it has one).
 *
 * Lines are level-triggered as the models see them: an edge-triggered ISA device pulses (1 then
 * 0). A domain that has no emulated interrupt controller (a PV or PVH guest) refuses with
 * -ENODEV, so a model placed in the wrong kind of domain fails at its first interrupt with a
 * clear error instead of losing it silently. */
#ifndef KXEND_IRQ_H
#define KXEND_IRQ_H

#include <stdbool.h>

#include "kxend/domain.h"

/* ISA lines 0..15 are GSIs 0..15; PCI INTx lines arrive at the GSIs the PIRQ routing names. */
#define KXEN_NR_GSIS 24u

/* Sets line gsi of d to level. 0, -EINVAL (gsi >= KXEN_NR_GSIS), -ENODEV (d has no emulated
 * interrupt controller), or the accelerator's error. Callable from any vCPU or device thread. */
int domain_irq_set_level(struct domain *d, unsigned gsi, bool level);

/* The Xen platform device's model offers its INTx as the event-channel callback's line (for
 * HVM_PARAM_CALLBACK_IRQ in PCI INTx form naming devfn); set NULL to withdraw it. Called from
 * the model's create() and destroy(), while no vCPU runs. -ENODEV on a non-HVM domain. */
int hvm_callback_intx_offer(struct domain *d, unsigned devfn, void (*set)(void *opaque, bool level),
                            void *opaque);

/* An edge: raises and lowers gsi. */
static inline int domain_irq_pulse(struct domain *d, unsigned gsi)
{
    int rc = domain_irq_set_level(d, gsi, true);
    return rc < 0 ? rc : domain_irq_set_level(d, gsi, false);
}

#endif
