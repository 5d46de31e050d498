/* evstorm: two guests exchange thousands of events over one interdomain channel and count
 * every one (regression test for event delivery on soft under fast traffic). Command line:
 *   "a PEER ROUNDS"  allocates the port for domain PEER and starts each round;
 *   "b PEER ROUNDS"  finds that port (bind_interdomain to PEER's ports 1..63) and answers.
 * Each round is one event each way; the side that waits alternates between spinning with
 * interrupts on (the upcall must preempt the spin), blocking (SCHEDOP_block through
 * wait_until) and polling with interrupts off. A lost event ends in a timeout, a doubled one
 * in a count mismatch. */
#include <stdint.h>

#include <kxen/event_channel.h>
#include <kxen/sched.h>

#include "guest/evtchn.h"
#include "guest/hypercall.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/tap.h"
#include "guest/time.h"

#define MS 1000000ull
#define ROUND_TIMEOUT_NS (5000 * MS)

static volatile uint64_t received;
static evtchn_port_t port;

static void on_event(evtchn_port_t p, void *data)
{
    (void)p;
    (void)data;
    received++;
}

static const char *parse_num(const char *s, unsigned long *out)
{
    while (*s == ' ')
        s++;
    unsigned long v = 0;
    const char *start = s;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long)(*s++ - '0');
    *out = v;
    return s == start ? 0 : s;
}

static bool reached(void *ctx)
{
    return received >= *(uint64_t *)ctx;
}

/* Waits until `received` reaches target, in the way picked by the round number. */
static int wait_events(uint64_t target, unsigned long round)
{
    uint64_t deadline = monotonic_ns() + ROUND_TIMEOUT_NS;
    switch (round % 3) {
    case 0: /* spin, interrupts on: the callback vector preempts the loop */
        while (received < target)
            if (monotonic_ns() > deadline)
                return -1;
        return 0;
    case 1: /* block */
        return wait_until(reached, &target, deadline);
    default: /* poll with interrupts off, run the handlers by hand */
        local_irq_disable();
        while (received < target) {
            evtchn_do_upcall();
            if (monotonic_ns() > deadline)
                break;
        }
        local_irq_enable();
        return received >= target ? 0 : -1;
    }
}

static long bind_peer(domid_t peer)
{
    uint64_t deadline = monotonic_ns() + ROUND_TIMEOUT_NS;
    do {
        for (evtchn_port_t p = 1; p < 64; p++) {
            struct evtchn_bind_interdomain op = {.remote_dom = peer, .remote_port = p};
            if (HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op) == 0) {
                port = op.local_port;
                return 0;
            }
        }
        sleep_ns(MS);
    } while (monotonic_ns() < deadline);
    return -1;
}

int main(void)
{
    const char *c = boot_info.cmdline;
    char role = c[0];
    unsigned long peer = 0, rounds = 0;
    c = (role == 'a' || role == 'b') ? parse_num(c + 1, &peer) : 0;
    c = c ? parse_num(c, &rounds) : 0;
    if (!c || !rounds) {
        tap_check(false, "evstorm: command line \"a|b PEER ROUNDS\" (got \"%s\")",
                  boot_info.cmdline);
        tap_finish();
        guest_shutdown(SHUTDOWN_crash);
    }
    long rc;
    if (role == 'a') {
        rc = evtchn_alloc_unbound((domid_t)peer, &port);
        tap_rc(rc, 0, "evstorm a: EVTCHNOP_alloc_unbound for domain %lu", peer);
    } else {
        rc = bind_peer((domid_t)peer);
        tap_rc(rc, 0, "evstorm b: EVTCHNOP_bind_interdomain to domain %lu", peer);
    }
    /* As on Xen, bind_interdomain leaves the new local port pending (so no notification sent
     * before the bind is lost): that one is not part of the exchange. */
    if (rc == 0 && role == 'b')
        evtchn_clear_pending(port);
    if (rc == 0)
        rc = evtchn_bind(port, on_event, 0);

    /* b says hello once bound (a cannot send before); then a sends first in each round. */
    unsigned long done = 0;
    uint64_t t0 = monotonic_ns();
    if (rc == 0 && role == 'b')
        evtchn_send(port);
    for (unsigned long i = 0; rc == 0 && i < rounds; i++) {
        /* a: b's hello or answer i; b: a's send i. Then pass the turn. */
        if (wait_events(i + 1, i) < 0)
            break;
        evtchn_send(port);
        done++;
    }
    /* a's last wait: the answer to its final send. */
    if (rc == 0 && role == 'a' && done == rounds && wait_events(rounds + 1, rounds) < 0)
        done--;
    if (role == 'b')
        sleep_ns(100 * MS); /* a late extra event to b would show in its count */
    uint64_t want = role == 'a' ? rounds + 1 : rounds;
    tap_check(done == rounds && received == want,
              "evstorm %c: %lu rounds with spinning, blocking and polling waits, every event "
              "counted (%lu events, want %lu, %lu us)",
              role, done, (unsigned long)received, (unsigned long)want,
              (unsigned long)((monotonic_ns() - t0) / 1000));
    tap_finish();
    guest_shutdown(SHUTDOWN_poweroff);
}
