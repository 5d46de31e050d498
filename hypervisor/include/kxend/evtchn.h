/* Event channels (event_channel.c): per-domain port tables, the 2-level pending/mask ABI in
 * shared_info, interdomain/virq/ipi/unbound bindings, and dom0 ends backed by eventfds. */
#ifndef KXEND_EVTCHN_H
#define KXEND_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include "kxend/domain.h"
#include "kxend/hypercall.h"

int evtchn_domain_init(struct domain *d);
/* Closes every port (remote ends see their peer go: ports become unbound as in Xen). */
void evtchn_domain_destroy(struct domain *d);

/* Marks port pending for the domain from any thread: host-side, then kicks the target vCPU;
 * the bit reaches shared_info in evtchn_sync(). */
void evtchn_raise(struct domain *d, uint32_t port);
/* Sends the VIRQ (e.g. VIRQ_TIMER) bound on vCPU v, if bound. Any thread. */
void evtchn_send_virq(struct vcpu *v, unsigned virq);
/* Vcpu thread only: applies host-pending bits to shared_info/vcpu_info (2-level ABI rules:
 * masked ports stay pending without an upcall). Returns true when v has an upcall pending
 * (vcpu_info.evtchn_upcall_pending set and not masked). */
bool evtchn_sync(struct vcpu *v);
/* SCHEDOP_poll helper: is the port pending in shared_info? Vcpu thread only. */
bool evtchn_port_is_pending(struct domain *d, uint32_t port);

HYPERCALL_FAMILY(hc_event_channel_op);

#endif
