/* 2-level pending-bitmap scan, separated from the hypercall code so the host unit tests can
 * drive it with plain arrays. */
#ifndef GUEST_EVTCHN_SCAN_H
#define GUEST_EVTCHN_SCAN_H

#include <stdint.h>

#include <kxen/event_channel.h>
#include <kxen/xen.h>

typedef void (*evtchn_scan_fn)(evtchn_port_t port, void *ctx);

/* Takes the selector word atomically (swap with 0), and for every selected word takes the
 * pending & ~mask bits: each is cleared in pending, then fn(port) runs, lowest port first.
 * Masked pending bits stay set (the hypervisor re-raises them on unmask). A selector bit whose
 * word holds only masked bits is dropped, as in Xen's 2-level ABI. Returns ports handled. */
unsigned evtchn_scan_pending(xen_ulong_t *pending_sel, xen_ulong_t *pending,
                             const xen_ulong_t *mask, evtchn_scan_fn fn, void *ctx);

#endif
