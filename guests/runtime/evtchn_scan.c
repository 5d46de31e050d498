/* 2-level event scan (pure; also compiled for the host unit tests): the out-of-line form of
 * evtchn_scan_pending_inline() (guest/evtchn_scan.h, which says the order it follows). */
#include "guest/evtchn_scan.h"

unsigned evtchn_scan_pending(xen_ulong_t *pending_sel, xen_ulong_t *pending,
                             const xen_ulong_t *mask, evtchn_scan_fn fn, void *ctx)
{
    return evtchn_scan_pending_inline(pending_sel, pending, mask, fn, ctx);
}
