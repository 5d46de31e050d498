/* pvclock time, the VIRQ_TIMER singleshot timer and the blocking wait loop. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/hvm/hvm_op.h>
#include <kxen/sched.h>
#include <kxen/vcpu.h>

#include "guest/evtchn.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/runtime.h"
#include "guest/time.h"

static evtchn_port_t timer_port;
volatile uint64_t timer_fired_count;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

uint64_t monotonic_ns(void)
{
    const struct vcpu_time_info *t = &evtchn_vcpu_info->time;
    uint32_t version, mul;
    uint64_t tsc_ts, sys, tsc;
    int8_t shift;
    do {
        version = READ_ONCE(t->version);
        rmb();
        tsc_ts = READ_ONCE(t->tsc_timestamp);
        sys = READ_ONCE(t->system_time);
        mul = READ_ONCE(t->tsc_to_system_mul);
        shift = READ_ONCE(t->tsc_shift);
        tsc = rdtsc();
        rmb();
    } while ((version & 1) || version != READ_ONCE(t->version));
    if (mul == 0) {
        /* No pvclock published: ask the hypervisor. */
        struct xen_hvm_get_time gt = {0};
        if (HYPERVISOR_hvm_op(HVMOP_get_time, &gt) == 0)
            return gt.now;
        return sys;
    }
    uint64_t delta = tsc - tsc_ts;
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return sys + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

static void timer_handler(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    timer_fired_count++;
}

int timer_init(void)
{
    int rc = evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port);
    if (rc)
        return rc;
    return evtchn_bind(timer_port, timer_handler, 0);
}

int timer_set_deadline(uint64_t abs_ns)
{
    struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = abs_ns, .flags = 0};
    return (int)HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
}

int wait_until(bool (*cond)(void *ctx), void *ctx, uint64_t deadline_ns)
{
    struct vcpu_info *vi;
    for (;;) {
        local_irq_disable();
        vi = evtchn_vcpu_info;
        WRITE_ONCE(vi->evtchn_upcall_mask, 1);
        mb();
        evtchn_do_upcall();
        if (cond && cond(ctx))
            break;
        uint64_t now = monotonic_ns();
        if (deadline_ns && now >= deadline_ns) {
            WRITE_ONCE(vi->evtchn_upcall_mask, 0);
            local_irq_enable();
            return -XEN_ETIMEDOUT;
        }
        uint64_t wake = now + WAIT_BACKSTOP_NS;
        if (deadline_ns && deadline_ns < wake)
            wake = deadline_ns;
        /* set_timer_op arms the calling vCPU's own timer (VCPUOP_set_singleshot_timer names
         * vCPU 0, which a secondary vCPU may not arm) and is a hypercall that never blocks:
         * on soft it takes the cheap entry, not the one that leaves guest code. */
        HYPERVISOR_set_timer_op(wake);
        /* An event that arrived after the scan has set upcall_pending: block would return at
         * once, but skip the call when we can already see it. */
        if (!READ_ONCE(vi->evtchn_upcall_pending))
            HYPERVISOR_sched_op(SCHEDOP_block, 0);
        WRITE_ONCE(vi->evtchn_upcall_mask, 0);
        local_irq_enable();
    }
    WRITE_ONCE(vi->evtchn_upcall_mask, 0);
    local_irq_enable();
    return 0;
}

void sleep_ns(uint64_t ns)
{
    wait_until(0, 0, monotonic_ns() + ns);
}
