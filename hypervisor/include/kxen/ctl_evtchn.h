/* Payloads of the event-channel ops of kxend's control socket (ops 64..95 of kxen/ctl.h),
 * used by libxenevtchn and the toolstack. Fixed layout, little-endian, sizes multiples of 8.
 * All ops are privileged.
 *
 * The BIND_* replies carry two eventfds (SCM_RIGHTS, in this order): fds[0] = notify (kxend
 * adds 1 when the guest end sends: poll/read it), fds[1] = kick (write 1 to send to the guest
 * end). The port is closed by UNBIND or when the connection that bound it goes away. */
#ifndef KXEN_CTL_EVTCHN_H
#define KXEN_CTL_EVTCHN_H

#include <stdint.h>

#include "kxen/ctl.h"

/* BIND_INTERDOMAIN: dom0 end for <domid>:<remote_port> (unbound, offered to dom 0).
 * BIND_UNBOUND: a dom0 port unbound for <domid> (remote_port ignored).
 * BIND_VIRQ: dom0's binding of global VIRQ <virq> (domid, remote_port ignored). */
struct kxen_ctl_evtchn_bind {
    uint16_t domid;
    uint16_t pad;
    uint32_t remote_port;
    uint32_t virq;
    uint32_t pad2;
};
struct kxen_ctl_evtchn_port_rep {
    uint32_t port;
    uint32_t pad;
};

/* UNBIND: a dom0 port this connection bound. */
struct kxen_ctl_evtchn_port_arg {
    uint32_t port;
    uint32_t pad;
};

/* ALLOC_UNBOUND_FOR: a port in <domid> unbound for <remote_domid> -> kxen_ctl_evtchn_port_rep.
 * RESET: closes every port of <domid> (remote_domid ignored). */
struct kxen_ctl_evtchn_dom_arg {
    uint16_t domid;
    uint16_t remote_domid;
    uint32_t pad;
};

/* STATUS: <domid>:<port> (domid 0 = dom0's own table). */
struct kxen_ctl_evtchn_status_arg {
    uint16_t domid;
    uint16_t pad;
    uint32_t port;
};
#define KXEN_EVTCHN_STAT_CLOSED 0 /* EVTCHNSTAT_* values */
#define KXEN_EVTCHN_STAT_UNBOUND 1
#define KXEN_EVTCHN_STAT_INTERDOMAIN 2
#define KXEN_EVTCHN_STAT_VIRQ 4
#define KXEN_EVTCHN_STAT_IPI 5
struct kxen_ctl_evtchn_status_rep {
    uint32_t status;
    uint32_t vcpu;
    uint16_t remote_domid; /* unbound: who may bind; interdomain: the peer */
    uint16_t pad;
    uint32_t remote_port; /* interdomain */
    uint32_t virq;        /* virq */
    uint32_t pad2;
};

#endif
