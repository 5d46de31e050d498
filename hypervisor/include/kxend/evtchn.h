/* Event channels (evtchn.c): per-domain port tables, the 2-level pending/mask ABI in
 * shared_info, interdomain/virq/ipi/unbound bindings, and dom0 ends backed by eventfds.
 *
 * Locking: one evtchn lock (private to evtchn.c) guards every port table, dom0's
 * included, so interdomain binds never need two locks. It is taken inside d->lock when a
 * caller holds that, never the other way round. */
#ifndef KXEND_EVTCHN_H
#define KXEND_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include "kxend/domain.h"
#include "kxend/hypercall.h"

/* 2-level ABI on x86-64: 64 words of 64 bits. */
#define KXEN_EVTCHN_NR_PORTS 4096u

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

/* ---- dom0 (host processes) ends, used by ctl_evtchn.c ----
 * dom0 is domid 0: a port table of its own in kxend. Each bound dom0 port carries two eventfds:
 * notify_fd (kxend writes it when the guest end sends; the client polls/reads it) and kick_fd
 * (the client writes it to send; kxend's poller thread reads it and raises the guest end). */
struct evtchn_dom0_fds {
    int notify_fd; /* dup'ed for the caller, which owns (and closes) it */
    int kick_fd;
};
/* Each returns 0 with *port and fds set, or -errno (Xen's codes: -ESRCH no such domain,
 * -EINVAL port not unbound for dom0, -EEXIST virq bound, -ENOSPC table full). owner (the
 * client connection) is the only one that may close the port. */
int evtchn_dom0_bind_interdomain(uint16_t remote_dom, uint32_t remote_port, const void *owner,
                                 uint32_t *port, struct evtchn_dom0_fds *fds);
int evtchn_dom0_bind_unbound(uint16_t remote_dom, const void *owner, uint32_t *port,
                             struct evtchn_dom0_fds *fds);
int evtchn_dom0_bind_virq(unsigned virq, const void *owner, uint32_t *port,
                          struct evtchn_dom0_fds *fds);
/* Closes a dom0 port owner bound (-ENOTCONN when it is not bound by owner). */
int evtchn_dom0_close(uint32_t port, const void *owner);
/* Closes every dom0 port owner bound (the client went away). */
void evtchn_dom0_close_all(const void *owner);
/* Raises a global VIRQ (VIRQ_DOM_EXC, ...) on dom0's binding, if any. Any thread. */
void evtchn_dom0_send_virq(unsigned virq);

/* For an accelerator's vCPU thread of d: an epoll fd to wait in while every vCPU is idle (-1
 * if none). It holds the kick eventfds of the dom0 ports bound to d, ahead of the dom0
 * poller, so a dom0 process's notify wakes this thread directly. The caller may add its own
 * fds with data.u64 = EVTCHN_WAIT_OWN and passes every other event to evtchn_dom0_kicks()
 * (which takes the evtchn lock and may kick d's vCPUs). Valid until the domain's subsystems
 * are destroyed, after the accelerator stopped. */
#define EVTCHN_WAIT_OWN UINT64_MAX
struct epoll_event;
int evtchn_wait_fd(struct domain *d);
void evtchn_dom0_kicks(const struct epoll_event *ev, int n);

/* Notifies of dom0 ports raised on the calling thread between evtchn_dom0_defer_begin() and
 * evtchn_dom0_defer_flush() are held and written at the flush (once a port). An accelerator
 * whose vCPU thread runs guest code in stretches brackets each stretch with them: the dom0
 * process then wakes when the vCPU leaves guest code (typically to block), not while it still
 * runs, so the answering kick finds the thread idle in evtchn_wait_fd() instead of costing a
 * hop through the poller. The caller bounds a stretch that holds notifies
 * (evtchn_dom0_deferred() > 0) to a few microseconds of guest code. Never hold a stretch open
 * across a wait for dom0. */
void evtchn_dom0_defer_begin(void);
unsigned evtchn_dom0_deferred(void);
void evtchn_dom0_defer_flush(void);

/* Toolstack operations on a domain's table (privileged callers only: no check here). */
int evtchn_alloc_unbound_for(uint16_t dom, uint16_t remote_dom, uint32_t *port);
struct evtchn_status;
int evtchn_get_status(uint16_t dom, uint32_t port, struct evtchn_status *st);
int evtchn_reset_domain(uint16_t dom);

/* __HYPERVISOR_event_channel_op (registered; named here for the unit tests). */
extern const struct hypercall_family evtchn_hypercall;

#endif
