/* Two-process stress: millions of requests through one kxen ring, backend consuming through
 * libkxenring, eventfd notifications with req_event/rsp_event hold-off. Content and order are
 * checked on both sides; a lost wake-up shows up as a side sleeping 5 s without notification. */
#include <criterion/criterion.h>

#include "pump.h"

static void pump_window(uint64_t n, unsigned batch, unsigned window, enum pump_wait wait)
{
    struct pump_cfg c = {
        .n = n, .batch = batch, .window = window, .wait = wait, .timeout_ms = 5000};
    struct pump_result r;
    int rc = pump_run(&c, &r);
    cr_assert_eq(rc, 0, "%s", r.error);
    cr_assert_eq(r.done, n);
    cr_log_info("%llu requests, batch %u: %.2f s, %llu+%llu notifications", (unsigned long long)n,
                batch, r.secs, (unsigned long long)r.req_kicks, (unsigned long long)r.rsp_kicks);
    if (wait == PUMP_EVENTFD)
        cr_assert_gt(r.req_kicks, 0, "the backend must have been woken at least once");
}

static void pump(uint64_t n, unsigned batch, enum pump_wait wait)
{
    pump_window(n, batch, 0, wait);
}

/* One request in flight: every exchange needs a wake-up in each direction, so any hole in the
 * hold-off protocol stalls a side at once. */
Test(ring_stress, ping_pong_every_exchange_wakes_both_sides)
{
    pump_window(100000, 1, 1, PUMP_EVENTFD);
}
Test(ring_stress, millions_of_requests_batch_1_eventfd_in_order_no_lost_wakeups)
{
    pump(3000000, 1, PUMP_EVENTFD);
}
Test(ring_stress, millions_of_requests_batch_8_eventfd_in_order_no_lost_wakeups)
{
    pump(3000000, 8, PUMP_EVENTFD);
}
Test(ring_stress, millions_of_requests_batch_32_eventfd_in_order_no_lost_wakeups)
{
    pump(3000000, 32, PUMP_EVENTFD);
}
Test(ring_stress, polling_exchange_in_order)
{
    pump(50000, 8, PUMP_POLL);
}
