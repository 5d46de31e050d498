/* libxenevtchn for kxen: Xen's dom0 event-channel API over kxend's control socket. Each bound
 * port is a pair of eventfds (kxend -> us, us -> kxend); xenevtchn_fd() is an epoll fd that is
 * readable while some bound, unmasked port has fired. No socket message per event.
 * Errors: -1 with errno, as Xen's library. */
#ifndef KXEN_XENEVTCHN_H
#define KXEN_XENEVTCHN_H

#include <stdint.h>

#include <kxen/event_channel.h>

typedef int xenevtchn_port_or_error_t;
typedef struct xenevtchn_handle xenevtchn_handle;
struct xentoollog_logger;

/* Open flag: do not set close-on-exec on the handle's descriptors. */
#define XENEVTCHN_NO_CLOEXEC (1 << 0)

/* logger is accepted and ignored (the library never prints). NULL + errno on failure
 * (ENOENT / ECONNREFUSED: no kxend; EPERM: not a privileged caller, at first bind). */
xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags);
int xenevtchn_close(xenevtchn_handle *xce);
/* Pollable (POLLIN) while a port is pending; then call xenevtchn_pending(). */
int xenevtchn_fd(xenevtchn_handle *xce);
int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port);
xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid);
xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
                                                     evtchn_port_t remote_port);
xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq);
int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port);
/* The next port that fired (blocks until one does, as Xen's); it stays masked until
 * xenevtchn_unmask(). */
xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce);
int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port);
/* From now on the handle may only bind ports of domid (EPERM otherwise). */
int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid);

#endif
