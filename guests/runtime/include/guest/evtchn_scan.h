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

/* The same scan for inlining, where fn is known at the call site: the guest's upcall path
 * then keeps fewer values live across the handler call, so it saves fewer registers on the
 * stack (on the soft accelerator every guest store costs ~0.1 us). Order follows the ABI:
 * the hypervisor sets pending bit, then selector bit, then upcall_pending; the guest takes
 * the selector first, then the pending bits, so an event raised during the scan is either
 * seen now or leaves its selector bit set for the next pass. */
static inline __attribute__((always_inline)) unsigned
evtchn_scan_pending_inline(xen_ulong_t *pending_sel, xen_ulong_t *pending, const xen_ulong_t *mask,
                           evtchn_scan_fn fn, void *ctx)
{
    const unsigned bits_per_word = sizeof(xen_ulong_t) * 8;
    unsigned handled = 0;
    xen_ulong_t sel = __atomic_exchange_n(pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned w = (unsigned)__builtin_ctzl(sel);
        sel &= sel - 1;
        xen_ulong_t bits = __atomic_load_n(&pending[w], __ATOMIC_SEQ_CST) &
                           ~__atomic_load_n(&mask[w], __ATOMIC_SEQ_CST);
        while (bits) {
            unsigned b = (unsigned)__builtin_ctzl(bits);
            bits &= bits - 1;
            __atomic_fetch_and(&pending[w], ~((xen_ulong_t)1 << b), __ATOMIC_SEQ_CST);
            fn((evtchn_port_t)(w * bits_per_word + b), ctx);
            handled++;
        }
    }
    return handled;
}

#endif
