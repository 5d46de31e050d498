/* __HYPERVISOR_vcpu_op: vcpu_info placement, singleshot timer, runstate, is_up/up/down. */
#include <errno.h>
#include <string.h>

#include <kxen/vcpu.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxend/guest_mem.h"
#include "kxend/hypercall.h"

static void runstate_fill(struct vcpu *v, struct vcpu_runstate_info *r)
{
    uint64_t now = kxen_system_time_ns();
    memset(r, 0, sizeof(*r));
    r->state = v->runstate;
    r->state_entry_time = v->runstate_entry_ns;
    memcpy(r->time, v->runstate_time, sizeof(r->time));
    if (v->runstate >= 0 && v->runstate < 4)
        r->time[v->runstate] += now - v->runstate_entry_ns;
}

void vcpu_runstate_set(struct vcpu *v, int runstate)
{
    uint64_t now = kxen_system_time_ns();
    if (v->runstate >= 0 && v->runstate < 4)
        v->runstate_time[v->runstate] += now - v->runstate_entry_ns;
    v->runstate = runstate;
    v->runstate_entry_ns = now;
    if (v->runstate_gpa != KXEN_NO_GPA) {
        struct vcpu_runstate_info r;
        runstate_fill(v, &r);
        copy_to_guest_phys(v->dom, v->runstate_gpa, &r, sizeof(r));
    }
}

static int64_t register_vcpu_info(struct vcpu *v, struct vcpu *t, uint64_t arg)
{
    struct vcpu_register_vcpu_info r;
    if (copy_from_guest(v, &r, arg, sizeof(r)))
        return -EFAULT;
    if (r.offset > KXEN_PAGE_SIZE - sizeof(struct vcpu_info) || r.rsvd)
        return -EINVAL;
    if (t->vcpu_info_gpa != KXEN_NO_GPA)
        return -EINVAL;  /* once per vCPU, as Xen */
    if (r.mfn >= (t->dom->ram_size >> KXEN_PAGE_SHIFT))
        return -EINVAL;
    uint64_t gpa = (r.mfn << KXEN_PAGE_SHIFT) + r.offset;
    struct vcpu_info cur;
    memset(&cur, 0, sizeof(cur));
    uint64_t old = vcpu_info_gpa(t);
    if (old != KXEN_NO_GPA)
        copy_from_guest_phys(t->dom, &cur, old, sizeof(cur));
    else
        cur.evtchn_upcall_mask = 0;
    if (copy_to_guest_phys(t->dom, gpa, &cur, sizeof(cur)))
        return -EINVAL;
    t->vcpu_info_gpa = gpa;
    atomic_store(&t->kicked, true);  /* resync pending bits into the new location */
    return 0;
}

static int64_t do_vcpu_op(struct vcpu *v, const uint64_t a[5])
{
    struct domain *d = v->dom;
    uint64_t id = a[1], arg = a[2];
    if (id >= d->nr_vcpus)
        return -ENOENT;
    struct vcpu *t = d->vcpus[id];

    switch (a[0]) {
    case VCPUOP_register_vcpu_info:
        return register_vcpu_info(v, t, arg);
    case VCPUOP_set_singleshot_timer: {
        struct vcpu_set_singleshot_timer s;
        if (t != v)
            return -EINVAL;
        if (copy_from_guest(v, &s, arg, sizeof(s)))
            return -EFAULT;
        uint64_t now = kxen_system_time_ns();
        if ((s.flags & VCPU_SSHOTTMR_future) && s.timeout_abs_ns < now)
            return -ETIME;
        atomic_store(&v->singleshot_deadline_ns, s.timeout_abs_ns > now ? s.timeout_abs_ns
                                                                         : (now ? now : 1));
        return 0;
    }
    case VCPUOP_stop_singleshot_timer:
        if (t != v)
            return -EINVAL;
        atomic_store(&v->singleshot_deadline_ns, 0);
        return 0;
    case VCPUOP_set_periodic_timer: {
        struct vcpu_set_periodic_timer s;
        if (copy_from_guest(v, &s, arg, sizeof(s)))
            return -EFAULT;
        if (s.period_ns < 1000000ull || s.period_ns > (1ull << 62))
            return -EINVAL;  /* Xen's bounds: at least 1 ms */
        t->periodic_period_ns = s.period_ns;
        t->periodic_next_ns = kxen_system_time_ns() + s.period_ns;
        if (t != v)
            vcpu_kick(t);
        return 0;
    }
    case VCPUOP_stop_periodic_timer:
        t->periodic_period_ns = 0;
        t->periodic_next_ns = 0;
        return 0;
    case VCPUOP_get_runstate_info: {
        struct vcpu_runstate_info r;
        runstate_fill(t, &r);
        return copy_to_guest(v, arg, &r, sizeof(r));
    }
    case VCPUOP_register_runstate_memory_area: {
        struct vcpu_register_runstate_memory_area m;
        if (copy_from_guest(v, &m, arg, sizeof(m)))
            return -EFAULT;
        if (m.addr.p == 0) {
            t->runstate_gpa = KXEN_NO_GPA;
            return 0;
        }
        if (!guest_phys_ptr(d, m.addr.p, sizeof(struct vcpu_runstate_info)))
            return -EFAULT;
        t->runstate_gpa = m.addr.p;
        struct vcpu_runstate_info r;
        runstate_fill(t, &r);
        copy_to_guest_phys(d, m.addr.p, &r, sizeof(r));
        return 0;
    }
    case VCPUOP_is_up:
        return atomic_load(&t->state) != VCPU_DOWN;
    case VCPUOP_up:
        /* Secondary vCPUs need a context (VCPUOP_initialise), which kxend does not take. */
        return atomic_load(&t->state) == VCPU_DOWN ? -EINVAL : 0;
    case VCPUOP_get_physid:
        return -EINVAL;
    default:
        return -ENOSYS;
    }
}

const struct hypercall_family hc_vcpu_op = { __HYPERVISOR_vcpu_op, "vcpu_op", do_vcpu_op };
