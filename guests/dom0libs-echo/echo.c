/* dom0libs-echo: the guest side of the dom0-library system test and the event-channel /
 * grant benchmark. Modes (command line):
 *   (empty)            serve dom0: unbound port for dom 0, every event echoed back; one page
 *                      granted to dom 0 (writable, filled with "kxen-grant-page") and one
 *                      read-only; prints "ECHO port=P ref=R roref=Q pfn=F" on the hv console.
 *   serve=D            the same for domain D (guest<->guest).
 *   ping=D:P:N         binds D's port P, sends N events one at a time waiting for each echo,
 *                      prints "PING n=N ns=T" (total system time) and powers off.
 *   pingpoll=D:P:N     the same with interrupts off: events are found by scanning after
 *                      SCHEDOP_block returns, never through the callback vector.
 * Whatever the mode, it then waits for ever (the test destroys it). */
#include <stdbool.h>
#include <stdint.h>

#include "guest/evtchn.h"
#include "guest/gnttab.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/time.h"

#include <kxen/sched.h>

static volatile uint64_t events;
static evtchn_port_t echo_port;
static uint8_t shared_page[4096] __attribute__((aligned(4096)));
static uint8_t ro_page[4096] __attribute__((aligned(4096)));

static void echo_event(evtchn_port_t port, void *data)
{
    (void)data;
    events++;
    evtchn_send(port);
}

static void count_event(evtchn_port_t port, void *data)
{
    (void)port, (void)data;
    events++;
}

static bool events_reached(void *ctx)
{
    return events >= *(uint64_t *)ctx;
}

/* Parses a decimal number at *s, advancing it. */
static unsigned long parse_num(const char **s)
{
    unsigned long v = 0;
    while (**s >= '0' && **s <= '9')
        v = v * 10 + (unsigned long)(*(*s)++ - '0');
    return v;
}

static int serve(domid_t peer)
{
    int rc = evtchn_alloc_unbound(peer, &echo_port);
    if (rc == 0)
        rc = evtchn_bind(echo_port, echo_event, 0);
    grant_ref_t ref = 0, roref = 0;
    const char pattern[] = "kxen-grant-page";
    memcpy(shared_page, pattern, sizeof(pattern));
    memcpy(ro_page, "read-only-page", 15);
    unsigned long pfn = (unsigned long)(uintptr_t)shared_page >> 12;
    if (rc == 0)
        rc = gnttab_grant_access(peer, pfn, false, &ref);
    if (rc == 0)
        rc = gnttab_grant_access(peer, (unsigned long)(uintptr_t)ro_page >> 12, true, &roref);
    if (rc) {
        hv_printf("ECHO setup failed: %d\n", rc);
        return rc;
    }
    hv_printf("ECHO port=%u ref=%u roref=%u pfn=%lu\n", echo_port, ref, roref, pfn);
    uint64_t never = UINT64_MAX;
    for (;;)
        wait_until(events_reached, &never, 0);
}

/* Interrupts stay off: block, then scan (Xen's block returns when an event is pending). */
static int wait_polling(uint64_t want, uint64_t deadline_ns)
{
    while (events < want) {
        WRITE_ONCE(evtchn_vcpu_info->evtchn_upcall_mask, 1);
        evtchn_do_upcall();
        if (events >= want)
            break;
        if (monotonic_ns() >= deadline_ns)
            return -110;
        timer_set_deadline(monotonic_ns() + WAIT_BACKSTOP_NS);
        if (!READ_ONCE(evtchn_vcpu_info->evtchn_upcall_pending))
            HYPERVISOR_sched_op(SCHEDOP_block, 0);
    }
    return 0;
}

static int ping(const char *arg, bool polling)
{
    domid_t peer = (domid_t)parse_num(&arg);
    if (*arg++ != ':')
        return -22;
    evtchn_port_t remote = (evtchn_port_t)parse_num(&arg);
    if (*arg++ != ':')
        return -22;
    unsigned long n = parse_num(&arg);
    struct evtchn_bind_interdomain bi = {.remote_dom = peer, .remote_port = remote};
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi);
    if (rc == 0)
        rc = evtchn_bind(bi.local_port, count_event, 0);
    if (rc) {
        hv_printf("PING bind failed: %ld\n", rc);
        return (int)rc;
    }
    sleep_ns(1000000); /* let the bind-time event come and go */
    if (polling)
        local_irq_disable();
    uint64_t want = events;
    uint64_t t0 = monotonic_ns();
    for (unsigned long i = 0; i < n; i++) {
        want++;
        evtchn_send(bi.local_port);
        int rc2 = polling ? wait_polling(want, monotonic_ns() + 2000000000ull)
                          : wait_until(events_reached, &want, monotonic_ns() + 2000000000ull);
        if (rc2) {
            hv_printf("PING timeout after %lu\n", i);
            return -110;
        }
        want = events;
    }
    hv_printf("PING n=%lu ns=%lu\n", n, (unsigned long)(monotonic_ns() - t0));
    return 0;
}

int main(void)
{
    const char *c = boot_info.cmdline;
    if (strncmp(c, "ping=", 5) == 0)
        return ping(c + 5, false);
    if (strncmp(c, "pingpoll=", 9) == 0)
        return ping(c + 9, true);
    domid_t peer = 0;
    if (strncmp(c, "serve=", 6) == 0) {
        c += 6;
        peer = (domid_t)parse_num(&c);
    }
    return serve(peer);
}
