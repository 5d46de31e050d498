/* 2-level event scan (pure; also compiled for the host unit tests). Order follows the ABI:
 * the hypervisor sets pending bit, then selector bit, then upcall_pending; the guest takes
 * the selector first, then the pending bits, so an event raised during the scan is either seen
 * now or leaves its selector bit set for the next pass. */
#include "guest/evtchn_scan.h"

#define BITS_PER_WORD (sizeof(xen_ulong_t) * 8)

unsigned evtchn_scan_pending(xen_ulong_t *pending_sel, xen_ulong_t *pending,
                             const xen_ulong_t *mask, evtchn_scan_fn fn, void *ctx)
{
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
            fn((evtchn_port_t)(w * BITS_PER_WORD + b), ctx);
            handled++;
        }
    }
    return handled;
}
