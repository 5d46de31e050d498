/* Internals shared by evtchn.c (guest ports, the 2-level ABI) and evtchn_dom0.c (dom0
 * ends, the eventfd poller). Everything here is guarded by evtchn_lock. */
#ifndef KXEND_EVTCHN_INTERNAL_H
#define KXEND_EVTCHN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <kxen/xen.h>

#include "kxend/evtchn.h"

enum evtchn_state { ECS_FREE, ECS_UNBOUND, ECS_INTERDOMAIN, ECS_VIRQ, ECS_IPI };

struct evtchn_domain;

struct evtchn_port {
    uint8_t state;              /* enum evtchn_state */
    uint16_t remote_dom;        /* unbound: who may bind; interdomain: the peer */
    uint32_t remote_port;       /* interdomain */
    struct evtchn_domain *peer; /* interdomain: valid while bound (peers unbind us first) */
    uint32_t virq, virq_vcpu;   /* virq: which and the vCPU table it sits in */
    _Atomic uint32_t notify_vcpu;
    uint32_t gen;           /* bumped at every free: stale dom0 events are dropped */
    int notify_fd, kick_fd; /* dom0 ports only, else -1 */
    const void *owner;      /* dom0 ports: the client connection that bound it */
};

struct evtchn_domain {
    uint16_t domid;
    struct domain *d; /* NULL for dom0 */
    int kick_epfd;    /* guests: kick eventfds of the dom0 ports bound here (evtchn_wait_fd) */
    _Atomic uint64_t host_pending[KXEN_EVTCHN_NR_PORTS / 64];
    uint32_t virq_port[KXEN_MAX_VCPUS][NR_VIRQS];
    struct evtchn_port ports[KXEN_EVTCHN_NR_PORTS];
};

extern pthread_mutex_t evtchn_lock;
extern struct evtchn_domain evtchn_dom0_tab; /* domid 0: the host's processes */
extern int evtchn_dom0_epoll_fd;             /* kick eventfds of dom0 ports */

int evtchn_port_check(uint32_t port);
bool evtchn_virq_is_global(unsigned virq);
/* evtchn_lock held, any thread: marks port pending (guest) or writes its eventfd (dom0). */
void evtchn_raise_locked(struct evtchn_domain *tab, uint32_t port);
int evtchn_port_alloc(struct evtchn_domain *tab, uint32_t *port);
/* self: the domain's own vCPU when called on its thread (its shared_info bit is cleared). */
void evtchn_port_free(struct evtchn_domain *tab, uint32_t port, struct vcpu *self);
int evtchn_close_locked(struct evtchn_domain *tab, uint32_t port, struct vcpu *self);
/* A dom0 port that just became interdomain (or got its eventfds): its kick eventfd goes into
 * the peer's kick_epfd ahead of the poller's set, so an idle vCPU thread of the peer takes
 * the kick itself. Undone by evtchn_dom0_unsteer_locked when either end closes. */
void evtchn_dom0_steer_locked(uint32_t dom0_port);
void evtchn_dom0_unsteer_locked(struct evtchn_domain *guest, const struct evtchn_port *dom0_p);
int evtchn_bind_interdomain_locked(struct evtchn_domain *lt, struct evtchn_domain *rt,
                                   uint32_t rport, uint32_t *lport_out);

#endif
