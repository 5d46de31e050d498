/* Host scheduling of vCPUs, the control ops behind `xl vcpu-pin` and `xl sched-credit`.
 *
 * kxen has no scheduler of its own: vCPUs run on host threads, so Xen's knobs map onto the
 * host's (docs/xl.md, "Host scheduling"):
 * - affinity: sched_setaffinity() of the thread that runs the vCPU;
 * - credit weight (1..65535, 256 normal): the thread's nice value, one nice step per factor
 *   1.25 of weight (the ratio CFS gives one nice step), clamped to -20..19. Nice values below
 *   the current one need CAP_SYS_NICE, so an unprivileged kxend only ever lowers priority;
 * - credit cap (% of one host CPU for the whole domain, 0 = none): a duty cycle per vCPU;
 *   a vCPU that ran more than its share (cap / vCPUs) of the wall time since its window
 *   opened waits before its next entry until it is back within it. A migration's throttle
 *   (KXEN_DIRTY_THROTTLE, docs/migration.md) takes its share of the time through the same
 *   duty cycle; the stricter of the two applies.
 * Invariant: the control thread only records the wish and bumps sched_gen; affinity and nice
 * apply to the calling thread, so the vCPU's own thread applies them in
 * sched_vcpu_before_entry(). */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "kxen/ctl_domain.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/ctl_server.h"

#define CAP_WINDOW_NS 100000000ull /* 100 ms */
#define CAP_STEP_NS 20000000ull    /* longest single wait */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int weight_to_nice(unsigned weight)
{
    if (weight == 0)
        weight = KXEN_SCHED_WEIGHT_DEFAULT;
    double steps = log((double)weight / KXEN_SCHED_WEIGHT_DEFAULT) / log(1.25);
    int nice = -(int)lround(steps);
    return nice < -20 ? -20 : nice > 19 ? 19 : nice;
}

static void apply_affinity(struct vcpu *v)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (unsigned cpu = 0; cpu < 64 * KXEN_CTL_CPUMAP_WORDS && cpu < CPU_SETSIZE; cpu++)
        if (v->affinity[cpu / 64] & (1ull << (cpu % 64)))
            CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0)
        klog_dom(KLOG_WARN, v->dom->domid, "domain %u: vcpu %u: host affinity not applied: %s",
                 v->dom->domid, v->id, strerror(errno));
}

/* The domain's cap in % of one host CPU: the credit cap, lowered by a migration throttle of
 * t% to (100 - t)% of every vCPU. 0: none. */
static unsigned effective_cap(struct domain *d)
{
    unsigned cap = atomic_load(&d->sched_cap), t = atomic_load(&d->migrate_throttle);
    if (!t)
        return cap;
    unsigned nr = d->nr_vcpus ? d->nr_vcpus : 1, tcap = (100 - KXEN_MIN(t, 99u)) * nr;
    return cap && cap < tcap ? cap : tcap;
}

void sched_vcpu_before_entry(struct vcpu *v)
{
    unsigned gen = atomic_load(&v->sched_gen);
    if (gen != v->sched_seen) {
        v->sched_seen = gen;
        apply_affinity(v);
        int nice = weight_to_nice(atomic_load(&v->dom->sched_weight));
        if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) < 0)
            klog_dom(KLOG_WARN, v->dom->domid, "domain %u: vcpu %u: nice %d not applied: %s",
                     v->dom->domid, v->id, nice, strerror(errno));
    }
    /* After the affinity: setting it on this thread moved it already. */
    atomic_store(&v->host_cpu, sched_getcpu() + 1);
    unsigned cap = effective_cap(v->dom);
    if (!cap) {
        v->cap_period_start_ns = 0;
        return;
    }
    /* The duty cycle: guest time since the window opened may use cap/nr_vcpus % of the wall
     * time; a vCPU over it waits the difference (in steps, so pause and destroy still get
     * through). Accelerators run a vCPU in slices of up to 50 ms, so the wait follows the
     * slice rather than a fixed window. A window without debt closes after 100 ms, so idle
     * time is not banked as credit. */
    uint64_t now = mono_ns(), used = atomic_load(&v->cpu_time_ns);
    if (!v->cap_period_start_ns || used < v->cap_period_cpu_ns) {
        v->cap_period_start_ns = now;
        v->cap_period_cpu_ns = used;
        return;
    }
    unsigned nr = v->dom->nr_vcpus ? v->dom->nr_vcpus : 1;
    uint64_t need = (used - v->cap_period_cpu_ns) * 100 * nr / cap;
    uint64_t wall = now - v->cap_period_start_ns;
    while (need > wall && atomic_load(&v->dom->state) == DOM_RUNNING &&
           atomic_load(&v->state) != VCPU_STOPPED) {
        uint64_t step = KXEN_MIN(need - wall, CAP_STEP_NS);
        struct timespec ts = {.tv_sec = (time_t)(step / 1000000000ull),
                              .tv_nsec = (long)(step % 1000000000ull)};
        nanosleep(&ts, NULL);
        wall = mono_ns() - v->cap_period_start_ns;
    }
    if (need <= wall && wall >= CAP_WINDOW_NS) {
        v->cap_period_start_ns = mono_ns();
        v->cap_period_cpu_ns = used;
    }
}

/* The domain and vCPU a vCPU-addressed request names, referenced; NULL with *rc. */
static struct domain *req_vcpu(const struct ctl_request *req, uint32_t vcpu, struct ctl_reply *rep,
                               int *rc)
{
    uint16_t domid;
    memcpy(&domid, req->payload, sizeof(domid));
    struct domain *d = domid >= 1 && domid <= KXEN_MAX_DOMID ? domain_get(domid) : NULL;
    if (!d) {
        *rc = ctl_refuse(rep, -ESRCH, "domain %u does not exist", domid);
        return NULL;
    }
    if (vcpu >= d->nr_vcpus) {
        *rc = ctl_refuse(rep, -EINVAL, "vcpu %u: domain %u has vcpus 0..%u", vcpu, domid,
                         d->nr_vcpus - 1);
        domain_put(d);
        return NULL;
    }
    *rc = 0;
    return d;
}

static void bump_all(struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        atomic_fetch_add(&d->vcpus[i]->sched_gen, 1);
        vcpu_kick(d->vcpus[i]);
    }
}

static int op_setaffinity(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_vcpu_affinity a;
    int rc;
    memcpy(&a, req->payload, sizeof(a));
    struct domain *d = req_vcpu(req, a.vcpu, rep, &rc);
    if (!d)
        return rc;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    bool any = false;
    for (long cpu = 0; cpu < ncpu && cpu < 64 * KXEN_CTL_CPUMAP_WORDS; cpu++)
        any |= (a.cpumap[cpu / 64] >> (cpu % 64)) & 1;
    if (!any) {
        rc = ctl_refuse(rep, -EINVAL,
                        "vcpu %u of domain %u: no host CPU in the map (the host "
                        "has CPUs 0..%ld)",
                        a.vcpu, d->domid, ncpu - 1);
    } else {
        struct vcpu *v = d->vcpus[a.vcpu];
        pthread_mutex_lock(&d->lock);
        memcpy(v->affinity, a.cpumap, sizeof(v->affinity));
        pthread_mutex_unlock(&d->lock);
        /* The weight rides on the same generation: a first pin keeps nice 0 at weight 0. */
        atomic_fetch_add(&v->sched_gen, 1);
        vcpu_kick(v);
        klog_dom(KLOG_INFO, d->domid, "domain %u: vcpu %u: host affinity %#llx", d->domid, a.vcpu,
                 (unsigned long long)a.cpumap[0]);
    }
    domain_put(d);
    return rc;
}

static int op_getaffinity(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_vcpu_req a;
    int rc;
    memcpy(&a, req->payload, sizeof(a));
    struct domain *d = req_vcpu(req, a.vcpu, rep, &rc);
    if (!d)
        return rc;
    struct kxen_ctl_vcpu_affinity *r = rep->payload;
    memset(r, 0, sizeof(*r));
    r->domid = d->domid;
    r->vcpu = a.vcpu;
    struct vcpu *v = d->vcpus[a.vcpu];
    pthread_mutex_lock(&d->lock);
    if (atomic_load(&v->sched_gen) &&
        !(v->affinity[0] == 0 && v->affinity[1] == 0 && v->affinity[2] == 0 && v->affinity[3] == 0))
        memcpy(r->cpumap, v->affinity, sizeof(r->cpumap));
    else
        memset(r->cpumap, 0xff, sizeof(r->cpumap));
    pthread_mutex_unlock(&d->lock);
    r->host_cpu = atomic_load(&v->host_cpu) - 1;
    rep->len = sizeof(*r);
    domain_put(d);
    return 0;
}

static int op_credit_set(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_sched_credit a;
    int rc;
    memcpy(&a, req->payload, sizeof(a));
    struct domain *d = req_vcpu(req, 0, rep, &rc);
    if (!d)
        return rc;
    if (a.weight > KXEN_SCHED_WEIGHT_MAX)
        rc = ctl_refuse(rep, -EINVAL, "weight %u: Xen's credit weights are 1..%u", a.weight,
                        KXEN_SCHED_WEIGHT_MAX);
    else if (a.cap != KXEN_SCHED_CAP_KEEP && a.cap > 100 * d->nr_vcpus)
        rc = ctl_refuse(rep, -EINVAL, "cap %u: domain %u has %u vcpus, at most %u%%", a.cap,
                        d->domid, d->nr_vcpus, 100 * d->nr_vcpus);
    if (rc == 0) {
        /* Pinned vCPUs keep their map; the others keep "any CPU". */
        for (unsigned i = 0; i < d->nr_vcpus; i++)
            if (!atomic_load(&d->vcpus[i]->sched_gen))
                memset(d->vcpus[i]->affinity, 0xff, sizeof(d->vcpus[i]->affinity));
        if (a.weight)
            atomic_store(&d->sched_weight, a.weight);
        if (a.cap != KXEN_SCHED_CAP_KEEP)
            atomic_store(&d->sched_cap, a.cap);
        bump_all(d);
        klog_dom(KLOG_INFO, d->domid, "domain %u: credit weight %u (nice %d), cap %u%%", d->domid,
                 atomic_load(&d->sched_weight) ? atomic_load(&d->sched_weight)
                                               : KXEN_SCHED_WEIGHT_DEFAULT,
                 weight_to_nice(atomic_load(&d->sched_weight)), atomic_load(&d->sched_cap));
    }
    domain_put(d);
    return rc;
}

static int op_credit_get(struct ctl_request *req, struct ctl_reply *rep)
{
    int rc;
    struct domain *d = req_vcpu(req, 0, rep, &rc);
    if (!d)
        return rc;
    struct kxen_ctl_sched_credit *r = rep->payload;
    memset(r, 0, sizeof(*r));
    r->domid = d->domid;
    unsigned w = atomic_load(&d->sched_weight);
    r->weight = w ? w : KXEN_SCHED_WEIGHT_DEFAULT;
    r->cap = atomic_load(&d->sched_cap);
    r->nice = weight_to_nice(w);
    rep->len = sizeof(*r);
    domain_put(d);
    return 0;
}

static const struct ctl_op sched_ops[] = {
    {KXEN_CTL_VCPU_SETAFFINITY, "vcpu_setaffinity", true, sizeof(struct kxen_ctl_vcpu_affinity),
     op_setaffinity},
    {KXEN_CTL_VCPU_GETAFFINITY, "vcpu_getaffinity", false, sizeof(struct kxen_ctl_vcpu_req),
     op_getaffinity},
    {KXEN_CTL_SCHED_CREDIT_SET, "sched_credit_set", true, sizeof(struct kxen_ctl_sched_credit),
     op_credit_set},
    {KXEN_CTL_SCHED_CREDIT_GET, "sched_credit_get", false, sizeof(struct kxen_ctl_domid_arg),
     op_credit_get},
};

static const struct ctl_op_group ctl_sched_group = {"sched", sched_ops, ARRAY_SIZE(sched_ops)};
CTL_OP_GROUP_REGISTER(ctl_sched_group);
