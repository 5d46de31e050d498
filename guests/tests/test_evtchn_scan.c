/* 2-level pending-bitmap scan: order, masking and clearing, on plain arrays. */
#include <criterion/criterion.h>
#include <string.h>

#include "guest/evtchn_scan.h"

struct seen {
    evtchn_port_t ports[64];
    unsigned n;
};

static void record(evtchn_port_t port, void *ctx)
{
    struct seen *s = ctx;
    s->ports[s->n++] = port;
}

static xen_ulong_t pending[64], mask[64], sel;

static void raise_port(evtchn_port_t p)
{
    pending[p / 64] |= 1UL << (p % 64);
    sel |= 1UL << (p / 64);
}

static void reset(void)
{
    memset(pending, 0, sizeof(pending));
    memset(mask, 0, sizeof(mask));
    sel = 0;
}

Test(guest_evtchn_scan, delivers_every_pending_port_lowest_first_and_clears_it)
{
    reset();
    raise_port(3);
    raise_port(1);
    raise_port(64);
    raise_port(4095);
    struct seen s = {0};
    cr_assert_eq(evtchn_scan_pending(&sel, pending, mask, record, &s), 4);
    cr_assert_eq(s.n, 4);
    cr_assert_eq(s.ports[0], 1);
    cr_assert_eq(s.ports[1], 3);
    cr_assert_eq(s.ports[2], 64);
    cr_assert_eq(s.ports[3], 4095);
    cr_assert_eq(sel, 0);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(pending[i], 0);
}

Test(guest_evtchn_scan, masked_port_stays_pending_and_is_not_delivered)
{
    reset();
    raise_port(5);
    raise_port(6);
    mask[0] = 1UL << 5;
    struct seen s = {0};
    cr_assert_eq(evtchn_scan_pending(&sel, pending, mask, record, &s), 1);
    cr_assert_eq(s.ports[0], 6);
    cr_assert_eq(pending[0], 1UL << 5);
    /* after unmask the hypervisor sets the selector again: the port is then delivered */
    mask[0] = 0;
    sel = 1;
    s.n = 0;
    cr_assert_eq(evtchn_scan_pending(&sel, pending, mask, record, &s), 1);
    cr_assert_eq(s.ports[0], 5);
    cr_assert_eq(pending[0], 0);
}

Test(guest_evtchn_scan, pending_bits_without_selector_wait_for_the_selector)
{
    reset();
    pending[2] = 1; /* port 128 pending, but its selector bit not yet set */
    struct seen s = {0};
    cr_assert_eq(evtchn_scan_pending(&sel, pending, mask, record, &s), 0);
    cr_assert_eq(pending[2], 1);
}

static xen_ulong_t *g_pending;
static void raise_during_scan(evtchn_port_t port, void *ctx)
{
    struct seen *s = ctx;
    s->ports[s->n++] = port;
    if (port == 2) { /* an event raised while handling: new selector bit for the next pass */
        g_pending[1] |= 1;
        sel |= 2;
    }
}

Test(guest_evtchn_scan, event_raised_during_a_scan_is_left_for_the_next_pass)
{
    reset();
    g_pending = pending;
    raise_port(2);
    struct seen s = {0};
    cr_assert_eq(evtchn_scan_pending(&sel, pending, mask, raise_during_scan, &s), 1);
    cr_assert_eq(sel, 2);
    cr_assert_eq(evtchn_scan_pending(&sel, pending, mask, raise_during_scan, &s), 1);
    cr_assert_eq(s.ports[1], 64);
}
