/* __HYPERVISOR_sched_op (yield, block, poll, shutdown and its variants, watchdog),
 * __HYPERVISOR_set_timer_op, and the shared blocking logic the accelerators use. */
#include <errno.h>
#include <stddef.h>

#include <kxen/sched.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/util.h"
#include "kxend/evtchn.h"
#include "kxend/guest_mem.h"
#include "kxend/hypercall.h"

#define POLL_MAX_PORTS 128

/* Xen enables event delivery when a vCPU blocks (clears evtchn_upcall_mask). */
static void enable_event_delivery(struct vcpu *v)
{
    uint64_t gpa = vcpu_info_gpa(v);
    if (gpa == KXEN_NO_GPA)
        return;
    uint8_t zero = 0;
    copy_to_guest_phys(v->dom, gpa + offsetof(struct vcpu_info, evtchn_upcall_mask), &zero, 1);
}

static bool any_poll_port_pending(struct vcpu *v)
{
    for (unsigned i = 0; i < v->poll_nr_ports; i++) {
        uint32_t port;
        if (copy_from_guest(v, &port, v->poll_ports_gpa + 4ull * i, sizeof(port)))
            continue;
        if (port < NR_EVENT_CHANNELS && evtchn_port_is_pending(v->dom, port))
            return true;
    }
    return false;
}

bool vcpu_runnable_check(struct vcpu *v)
{
    int st = atomic_load(&v->state);
    if (st == VCPU_RUNNABLE)
        return true;
    if (st != VCPU_BLOCKED || v->halted_noirq)
        return false; /* hlt with interrupts off: only destroy ends it (no NMIs here) */
    bool timer = time_check_timers(v);
    bool pending = evtchn_sync(v);
    bool wake;
    if (v->poll_nr_ports || v->poll_deadline_ns) {
        wake = any_poll_port_pending(v) ||
               (v->poll_deadline_ns && kxen_system_time_ns() >= v->poll_deadline_ns);
    } else {
        wake = pending || timer;
    }
    if (wake) {
        v->poll_nr_ports = 0;
        v->poll_deadline_ns = 0;
        v->halted_noirq = false;
        int expect = VCPU_BLOCKED;
        atomic_compare_exchange_strong(&v->state, &expect, VCPU_RUNNABLE);
        vcpu_runstate_set(v, 0 /* RUNSTATE_running */);
    }
    return wake;
}

void vcpu_wait(struct vcpu *v)
{
    for (;;) {
        int dst = atomic_load(&v->dom->state);
        /* A paused domain's vCPU goes back to its accelerator's loop, which parks it where a
         * stop (destroy, save) can join it; it comes back here, still blocked, on unpause. */
        if (atomic_load(&v->state) == VCPU_STOPPED || dst == DOM_DYING || dst == DOM_SHUTDOWN ||
            dst == DOM_PAUSED)
            return;
        if (vcpu_runnable_check(v))
            return;
        pthread_mutex_lock(&v->wait_lock);
        if (!atomic_load(&v->kicked)) {
            uint64_t dl = vcpu_next_deadline(v);
            if (dl) {
                uint64_t now = kxen_system_time_ns();
                uint64_t wait = dl > now ? dl - now : 0;
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                uint64_t ns = (uint64_t)ts.tv_nsec + wait;
                ts.tv_sec += (time_t)(ns / 1000000000ull);
                ts.tv_nsec = (long)(ns % 1000000000ull);
                if (wait)
                    pthread_cond_timedwait(&v->wait_cond, &v->wait_lock, &ts);
            } else {
                pthread_cond_wait(&v->wait_cond, &v->wait_lock);
            }
        }
        atomic_store(&v->kicked, false);
        pthread_mutex_unlock(&v->wait_lock);
    }
}

static int64_t sched_block(struct vcpu *v)
{
    enable_event_delivery(v);
    v->poll_nr_ports = 0;
    v->poll_deadline_ns = 0;
    atomic_store(&v->state, VCPU_BLOCKED);
    vcpu_runstate_set(v, 2 /* RUNSTATE_blocked */);
    return 0;
}

static int64_t sched_poll(struct vcpu *v, uint64_t arg)
{
    struct sched_poll p;
    if (copy_from_guest(v, &p, arg, sizeof(p)))
        return -EFAULT;
    if (p.nr_ports > POLL_MAX_PORTS)
        return -EINVAL;
    uint64_t ports = xen_guest_handle_addr(p.ports);
    for (unsigned i = 0; i < p.nr_ports; i++) {
        uint32_t port;
        if (copy_from_guest(v, &port, ports + 4ull * i, sizeof(port)))
            return -EFAULT;
        if (port >= NR_EVENT_CHANNELS)
            return -EINVAL;
        if (evtchn_port_is_pending(v->dom, port))
            return 0;
    }
    uint64_t dl = p.timeout ? domain_time_to_host(v->dom, p.timeout) : 0;
    if (dl && dl <= kxen_system_time_ns())
        return 0;
    v->poll_ports_gpa = ports;
    v->poll_nr_ports = p.nr_ports;
    v->poll_deadline_ns = dl;
    if (!p.nr_ports && !p.timeout)
        v->poll_deadline_ns = ~0ull - 1; /* nothing can wake it but destroy: as Xen */
    atomic_store(&v->state, VCPU_BLOCKED);
    vcpu_runstate_set(v, 2);
    return 0;
}

static int64_t sched_watchdog(struct vcpu *v, uint64_t arg)
{
    struct sched_watchdog w;
    struct domain *d = v->dom;
    if (copy_from_guest(v, &w, arg, sizeof(w)))
        return -EFAULT;
    if (w.id > 1)
        return -EINVAL;
    if (w.id == 0) {
        if (w.timeout == 0)
            return -EINVAL;
        if (d->watchdog_timeout_s)
            return -EEXIST;
        d->watchdog_timeout_s = w.timeout;
        d->watchdog_deadline_ns = kxen_system_time_ns() + w.timeout * 1000000000ull;
        return 1;
    }
    if (!d->watchdog_timeout_s)
        return -EINVAL;
    if (w.timeout == 0) {
        d->watchdog_timeout_s = 0;
        d->watchdog_deadline_ns = 0;
        return 0;
    }
    d->watchdog_timeout_s = w.timeout;
    d->watchdog_deadline_ns = kxen_system_time_ns() + w.timeout * 1000000000ull;
    return 0;
}

static int64_t do_sched_op(struct vcpu *v, const uint64_t a[5])
{
    switch (a[0]) {
    case SCHEDOP_yield:
        atomic_store(&v->kicked, true); /* let the accelerator run something else */
        return 0;
    case SCHEDOP_block:
        return sched_block(v);
    case SCHEDOP_poll:
        return sched_poll(v, a[1]);
    case SCHEDOP_shutdown:
    case SCHEDOP_shutdown_code: {
        struct sched_shutdown s;
        if (copy_from_guest(v, &s, a[1], sizeof(s)))
            return -EFAULT;
        if (s.reason > SHUTDOWN_MAX)
            return -EINVAL;
        if (a[0] == SCHEDOP_shutdown_code) {
            v->dom->shutdown_reason = s.reason;
            return 0;
        }
        domain_shutdown(v->dom, s.reason);
        return 0;
    }
    case SCHEDOP_remote_shutdown: {
        struct sched_remote_shutdown r;
        if (copy_from_guest(v, &r, a[1], sizeof(r)))
            return -EFAULT;
        /* Xen's order: unknown domain -ESRCH, then the privilege check. dom0 is the host:
         * it exists, and no guest may shut it down. */
        if (r.domain_id == 0)
            return -EPERM;
        struct domain *t = domain_get(r.domain_id);
        if (!t)
            return -ESRCH;
        int64_t rc = 0;
        if (!v->dom->privileged)
            rc = -EPERM;
        else if (r.reason > SHUTDOWN_MAX)
            rc = -EINVAL;
        else
            domain_shutdown(t, r.reason);
        domain_put(t);
        return rc;
    }
    case SCHEDOP_watchdog:
        return sched_watchdog(v, a[1]);
    default:
        return -ENOSYS;
    }
}

static const struct hypercall_family hc_sched_op = {__HYPERVISOR_sched_op, "sched_op", do_sched_op};
HYPERCALL_REGISTER(hc_sched_op);

/* set_timer_op(timeout_abs_ns): 0 cancels; a past time fires at once (as Xen for PV). */
static int64_t do_set_timer_op(struct vcpu *v, const uint64_t a[5])
{
    uint64_t t = a[0] ? domain_time_to_host(v->dom, a[0]) : 0;
    if (t == 0) {
        atomic_store(&v->singleshot_deadline_ns, 0);
        return 0;
    }
    uint64_t now = kxen_system_time_ns();
    atomic_store(&v->singleshot_deadline_ns, t > now ? t : now ? now : 1);
    return 0;
}

static const struct hypercall_family hc_set_timer_op = {__HYPERVISOR_set_timer_op, "set_timer_op",
                                                        do_set_timer_op};
HYPERCALL_REGISTER(hc_set_timer_op);
