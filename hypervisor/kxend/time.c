/* Guest time: system time (ns since kxend started, monotonic), vcpu_time_info updates with
 * the odd/even version protocol, the shared_info wall clock, singleshot timers firing
 * VIRQ_TIMER, and the domain watchdog. */
#include <stddef.h>
#include <time.h>
#include <x86intrin.h>

#include <kxen/sched.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/util.h"
#include "kxend/evtchn.h"
#include "kxend/guest_mem.h"

static uint64_t base_ns;      /* kxen_now_ns() at system time 0 */
static uint64_t wall_base_ns; /* wall clock (CLOCK_REALTIME) at system time 0 */
static uint32_t tsc_mul;
static int8_t tsc_shift;
static pthread_once_t time_once = PTHREAD_ONCE_INIT;

/* Guest TSC = host TSC on both accelerators (Unicorn reads the host counter); derive the
 * pvclock scale from a short calibration against CLOCK_MONOTONIC. */
static void calibrate(void)
{
    struct timespec rt;
    base_ns = kxen_now_ns();
    clock_gettime(CLOCK_REALTIME, &rt);
    wall_base_ns =
        (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec - (kxen_now_ns() - base_ns);

    uint64_t t0 = kxen_now_ns(), c0 = __rdtsc();
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t t1 = kxen_now_ns(), c1 = __rdtsc();
    double ns_per_tick = (double)(t1 - t0) / (double)(c1 - c0 ? c1 - c0 : 1);
    int shift = 0;
    while (ns_per_tick >= 1.0) {
        ns_per_tick /= 2;
        shift++;
    }
    while (ns_per_tick < 0.5) {
        ns_per_tick *= 2;
        shift--;
    }
    tsc_shift = (int8_t)shift;
    tsc_mul = (uint32_t)(ns_per_tick * 4294967296.0);
}

void time_init(void)
{
    pthread_once(&time_once, calibrate);
}

uint64_t kxen_system_time_ns(void)
{
    time_init();
    return kxen_now_ns() - base_ns;
}

void time_update_vcpu(struct vcpu *v)
{
    struct domain *d = v->dom;
    uint64_t gpa = vcpu_info_gpa(v);
    if (gpa == KXEN_NO_GPA)
        return;
    gpa += offsetof(struct vcpu_info, time);
    struct vcpu_time_info *t = guest_phys_ptr(d, gpa, sizeof(*t));
    if (!t)
        return;
    /* Only this vCPU's thread writes here, while the guest is not executing. */
    uint32_t ver = t->version;
    t->version = (ver | 1) + ((ver & 1) ? 2 : 0);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    t->tsc_timestamp = __rdtsc();
    t->system_time = kxen_system_time_ns();
    t->tsc_to_system_mul = tsc_mul;
    t->tsc_shift = tsc_shift;
    t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    t->version = (t->version | 1) + 1;
    guest_mark_dirty(d, gpa, sizeof(*t));

    if (v->id == 0 && d->shared_info_gpa != KXEN_NO_GPA) {
        struct shared_info *s = guest_phys_ptr(d, d->shared_info_gpa, sizeof(*s));
        if (s && s->wc_sec == 0 && s->wc_sec_hi == 0) {
            s->wc_version |= 1;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            uint64_t sec = wall_base_ns / 1000000000ull;
            s->wc_sec = (uint32_t)sec;
            s->wc_sec_hi = (uint32_t)(sec >> 32);
            s->wc_nsec = (uint32_t)(wall_base_ns % 1000000000ull);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            s->wc_version++;
            guest_mark_dirty(d, d->shared_info_gpa, sizeof(*s));
        }
    }
}

bool time_check_timers(struct vcpu *v)
{
    uint64_t now = kxen_system_time_ns();
    bool fired = false;
    uint64_t dl = atomic_load(&v->singleshot_deadline_ns);
    if (dl && now >= dl && atomic_compare_exchange_strong(&v->singleshot_deadline_ns, &dl, 0)) {
        evtchn_send_virq(v, VIRQ_TIMER);
        fired = true;
    }
    /* Periodic timer (VCPUOP_set_periodic_timer): ticks missed while the vCPU did not run are
     * folded into one, as Xen does. */
    if (v->periodic_next_ns && now >= v->periodic_next_ns && v->periodic_period_ns) {
        uint64_t missed = (now - v->periodic_next_ns) / v->periodic_period_ns;
        v->periodic_next_ns += (missed + 1) * v->periodic_period_ns;
        evtchn_send_virq(v, VIRQ_TIMER);
        fired = true;
    }
    struct domain *d = v->dom;
    if (v->id == 0 && d->watchdog_deadline_ns && now >= d->watchdog_deadline_ns) {
        d->watchdog_deadline_ns = 0;
        domain_shutdown(d, SHUTDOWN_watchdog);
    }
    return fired;
}

uint64_t vcpu_next_deadline(struct vcpu *v)
{
    uint64_t dl = atomic_load(&v->singleshot_deadline_ns);
    uint64_t cand[4] = {v->poll_deadline_ns, v->id == 0 ? v->dom->watchdog_deadline_ns : 0,
                        v->periodic_next_ns, v->callback_line_recheck_ns};
    for (int i = 0; i < 4; i++)
        if (cand[i] && (!dl || cand[i] < dl))
            dl = cand[i];
    return dl;
}
