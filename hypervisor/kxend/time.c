/* Guest time: system time (ns since kxend started, monotonic), vcpu_time_info updates with
 * the odd/even version protocol, the shared_info wall clock, singleshot timers firing
 * VIRQ_TIMER, and the domain watchdog.
 * Invariant: kxend keeps every deadline on its own clock; a domain's clock differs from it by
 * the domain's time_offset_ns (non-zero only after a restore, so the guest's time never goes
 * back when it lands on a younger kxend), applied where the guest reads a time or hands one
 * in. */
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
static uint32_t tsc_mul, tsc_khz;
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
    tsc_khz = (uint32_t)((double)(c1 - c0) * 1e6 / (double)(t1 - t0 ? t1 - t0 : 1));
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

uint32_t kxen_tsc_khz(void)
{
    time_init();
    return tsc_khz;
}

uint64_t domain_time_ns(const struct domain *d)
{
    return kxen_system_time_ns() + (uint64_t)atomic_load(&d->time_offset_ns);
}

uint64_t domain_time_to_host(const struct domain *d, uint64_t tg)
{
    int64_t off = atomic_load(&d->time_offset_ns);
    /* A time before this kxend's start is already past: the earliest deadline there is. */
    return off > 0 && tg <= (uint64_t)off ? 1 : tg - (uint64_t)off;
}

/* The wall clock at the domain's system time 0, into its shared_info (version protocol). */
static void write_wallclock(struct domain *d, struct shared_info *s)
{
    uint64_t wc = wall_base_ns - (uint64_t)atomic_load(&d->time_offset_ns);
    s->wc_version |= 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint64_t sec = wc / 1000000000ull;
    s->wc_sec = (uint32_t)sec;
    s->wc_sec_hi = (uint32_t)(sec >> 32);
    s->wc_nsec = (uint32_t)(wc % 1000000000ull);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    s->wc_version++;
    guest_mark_dirty(d, d->shared_info_gpa, sizeof(*s));
}

void time_restore(struct domain *d, uint64_t guest_now_ns)
{
    if (!d->clock_by_accel)
        atomic_store(&d->time_offset_ns, (int64_t)(guest_now_ns - kxen_system_time_ns()));
    struct shared_info *s = d->shared_info_gpa != KXEN_NO_GPA
                                ? guest_phys_ptr(d, d->shared_info_gpa, sizeof(*s))
                                : NULL;
    if (s)
        write_wallclock(d, s);
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
    t->system_time = domain_time_ns(d);
    t->tsc_to_system_mul = tsc_mul;
    t->tsc_shift = tsc_shift;
    t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    t->version = (t->version | 1) + 1;
    guest_mark_dirty(d, gpa, sizeof(*t));

    if (v->id == 0 && d->shared_info_gpa != KXEN_NO_GPA) {
        struct shared_info *s = guest_phys_ptr(d, d->shared_info_gpa, sizeof(*s));
        if (s && s->wc_sec == 0 && s->wc_sec_hi == 0)
            write_wallclock(d, s);
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
