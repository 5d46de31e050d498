/* Event channel operations: HYPERVISOR_event_channel_op(cmd, arg). Xen's numbers and layouts
 * (checked by ring/tests); kxen's text. A port is an index into the 2-level pending/mask bitmaps
 * of shared_info; 0 is never a valid bound port. */
#ifndef KXEN_EVENT_CHANNEL_H
#define KXEN_EVENT_CHANNEL_H

#include <kxen/xen.h>

#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_bind_pirq 2
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_bind_vcpu 8
#define EVTCHNOP_unmask 9
#define EVTCHNOP_reset 10
#define EVTCHNOP_init_control 11
#define EVTCHNOP_expand_array 12
#define EVTCHNOP_set_priority 13

typedef uint32_t evtchn_port_t;
DEFINE_XEN_GUEST_HANDLE(evtchn_port_t);

/* New port in <dom>, unbound, that <remote_dom> may later bind to. Out: port. */
struct evtchn_alloc_unbound {
    domid_t dom, remote_dom;
    evtchn_port_t port;
};
typedef struct evtchn_alloc_unbound evtchn_alloc_unbound_t;

/* Connect a new local port to <remote_dom>:<remote_port> (which must be unbound and offered to
 * the caller). Out: local_port. */
struct evtchn_bind_interdomain {
    domid_t remote_dom;
    evtchn_port_t remote_port;
    evtchn_port_t local_port;
};
typedef struct evtchn_bind_interdomain evtchn_bind_interdomain_t;

/* Bind VIRQ_<virq> on <vcpu> to a new port. Out: port. */
struct evtchn_bind_virq {
    uint32_t virq;
    uint32_t vcpu;
    evtchn_port_t port;
};
typedef struct evtchn_bind_virq evtchn_bind_virq_t;

struct evtchn_bind_pirq {
    uint32_t pirq;
#define BIND_PIRQ__WILL_SHARE 1
    uint32_t flags;
    evtchn_port_t port;
};
typedef struct evtchn_bind_pirq evtchn_bind_pirq_t;

/* New port that notifies the caller's own <vcpu>. Out: port. */
struct evtchn_bind_ipi {
    uint32_t vcpu;
    evtchn_port_t port;
};
typedef struct evtchn_bind_ipi evtchn_bind_ipi_t;

struct evtchn_close {
    evtchn_port_t port;
};
typedef struct evtchn_close evtchn_close_t;

struct evtchn_send {
    evtchn_port_t port;
};
typedef struct evtchn_send evtchn_send_t;

/* State of <dom>:<port>. */
struct evtchn_status {
    domid_t dom;
    evtchn_port_t port;
#define EVTCHNSTAT_closed 0
#define EVTCHNSTAT_unbound 1
#define EVTCHNSTAT_interdomain 2
#define EVTCHNSTAT_pirq 3
#define EVTCHNSTAT_virq 4
#define EVTCHNSTAT_ipi 5
    uint32_t status;
    uint32_t vcpu; /* vCPU the port notifies */
    union {
        struct {
            domid_t dom;
        } unbound; /* who may bind */
        struct {
            domid_t dom;
            evtchn_port_t port;
        } interdomain; /* the other end */
        uint32_t pirq;
        uint32_t virq;
    } u;
};
typedef struct evtchn_status evtchn_status_t;

/* Deliver <port> to <vcpu> from now on. */
struct evtchn_bind_vcpu {
    evtchn_port_t port;
    uint32_t vcpu;
};
typedef struct evtchn_bind_vcpu evtchn_bind_vcpu_t;

/* Clear the mask bit; if the port is pending, the upcall is raised again. */
struct evtchn_unmask {
    evtchn_port_t port;
};
typedef struct evtchn_unmask evtchn_unmask_t;

/* Close every port of <dom>. */
struct evtchn_reset {
    domid_t dom;
};
typedef struct evtchn_reset evtchn_reset_t;

/* FIFO ABI (optional; kxen implements the 2-level ABI). */
struct evtchn_init_control {
    uint64_t control_gfn;
    uint32_t offset;
    uint32_t vcpu;
    uint8_t link_bits;
    uint8_t _pad[7];
};
typedef struct evtchn_init_control evtchn_init_control_t;

struct evtchn_expand_array {
    uint64_t array_gfn;
};
typedef struct evtchn_expand_array evtchn_expand_array_t;

struct evtchn_set_priority {
    evtchn_port_t port;
    uint32_t priority;
};
typedef struct evtchn_set_priority evtchn_set_priority_t;

/* Argument of the old __HYPERVISOR_event_channel_op_compat: command plus union. */
struct evtchn_op {
    uint32_t cmd;
    union {
        evtchn_alloc_unbound_t alloc_unbound;
        evtchn_bind_interdomain_t bind_interdomain;
        evtchn_bind_virq_t bind_virq;
        evtchn_bind_pirq_t bind_pirq;
        evtchn_bind_ipi_t bind_ipi;
        evtchn_close_t close;
        evtchn_send_t send;
        evtchn_status_t status;
        evtchn_bind_vcpu_t bind_vcpu;
        evtchn_unmask_t unmask;
    } u;
};
typedef struct evtchn_op evtchn_op_t;

#endif
