/* Event channels for guests: the shared_info page, the callback vector, per-port handlers and
 * wrappers for the EVTCHNOP_* hypercalls. Ports are 2-level ABI ports (< 4096). */
#ifndef GUEST_EVTCHN_H
#define GUEST_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include <kxen/event_channel.h>
#include <kxen/xen.h>

typedef void (*evtchn_handler_t)(evtchn_port_t port, void *data);

extern struct shared_info *HYPERVISOR_shared_info;
/* This vCPU's vcpu_info: in shared_info until evtchn_register_vcpu_info() moves it. */
extern struct vcpu_info *evtchn_vcpu_info;

/* Maps shared_info (XENMEM_add_to_physmap at a page of the image) and registers the callback
 * vector (HVM_PARAM_CALLBACK_IRQ, type vector). Every port starts masked. */
int evtchn_init(void);
/* VCPUOP_register_vcpu_info: moves vcpu_info to (page, offset) and follows it. */
int evtchn_register_vcpu_info(void *page, unsigned offset);

/* Runs handler for every event on port, then unmasks it. Returns -EINVAL for a port outside
 * the 2-level range, -EBUSY when one is bound already. */
int evtchn_bind(evtchn_port_t port, evtchn_handler_t handler, void *data);
/* Masks port and forgets its handler (the port stays open: see evtchn_close). */
void evtchn_unbind(evtchn_port_t port);

void evtchn_mask(evtchn_port_t port);
/* EVTCHNOP_unmask: the hypervisor re-raises the upcall when the port is pending. */
int evtchn_unmask(evtchn_port_t port);
bool evtchn_is_pending(evtchn_port_t port);
void evtchn_clear_pending(evtchn_port_t port);

int evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port);
int evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port);
int evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t *port);
int evtchn_bind_vcpu(evtchn_port_t port, uint32_t vcpu);
int evtchn_send(evtchn_port_t port);
int evtchn_close(evtchn_port_t port);
int evtchn_status(domid_t dom, evtchn_port_t port, struct evtchn_status *out);

/* The callback vector's handler; also called directly to process pending events while
 * interrupts are off (see time.c's wait loop). Returns the number of handlers run. */
unsigned evtchn_do_upcall(void);
/* Entry from the callback vector (traps.c): counts the upcall, then evtchn_do_upcall(). */
void evtchn_callback_vector(void);
/* Upcalls delivered through the vector so far. */
extern volatile uint64_t evtchn_upcall_count;

#endif
