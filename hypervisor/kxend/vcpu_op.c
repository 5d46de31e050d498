/* __HYPERVISOR_vcpu_op: vcpu_info placement, singleshot timer, runstate, and secondary vCPUs
 * (initialise/up/down/is_up with HVM-style contexts). */
#include <errno.h>
#include <string.h>

#include <kxen/hvm/hvm_vcpu.h>
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
    r->state_entry_time = v->runstate_entry_ns + (uint64_t)atomic_load(&v->dom->time_offset_ns);
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
        return -EINVAL; /* once per vCPU, as Xen */
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
    atomic_store(&t->kicked, true); /* resync pending bits into the new location */
    /* The new location's time info, as Xen refreshes it here: a secondary vCPU registered by
     * vCPU 0 before it starts (Linux's CPU bring-up) may run its first clock reads without
     * an exit to kxend (an HVM AP starts inside KVM on SIPI), and must not read the zeros
     * of a vcpu_info that never ran. Only while the vCPU is down: a running vCPU's own
     * thread keeps it. */
    if (t == v || atomic_load(&t->state) == VCPU_DOWN)
        time_update_vcpu(t);
    return 0;
}

#define CR0_PE 0x1ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
/* Segment access rights in vcpu_sregs' VMX layout (type, S, DPL, P, AVL, L, D/B, G). */
#define AR_CODE64 0xa09bu /* execute/read accessed, S, P, L, G */
#define AR_DATA 0xc093u   /* read/write accessed, S, P, D/B, G */
#define AR_TSS64 0x008bu  /* busy 64-bit TSS, P */

/* Xen's context ARs use the SVM layout (AVL/L/D/B/G in bits 8..11): move them to 12..15. */
static uint16_t ar_from_svm(uint16_t ar)
{
    return (uint16_t)((ar & 0xffu) | (ar & 0xf00u) << 4);
}

static bool seg_ok(uint16_t ar, bool code)
{
    if (!(ar & 0x80))
        return !code; /* not present: only data segments may be null */
    return (ar & 0x10) && !!(ar & 0x8) == code;
}

/* Validates a vcpu_hvm_context as Xen does for HVM/PVH vCPUs and turns it into registers. */
static int64_t context_to_regs(struct domain *d, const struct vcpu_hvm_context *c,
                               struct vcpu_regs *r, struct vcpu_sregs *s)
{
    memset(r, 0, sizeof(*r));
    memset(s, 0, sizeof(*s));
    if (c->mode == VCPU_HVM_MODE_64B) {
        const struct vcpu_hvm_x86_64 *x = &c->cpu_regs.x86_64;
        if (!(x->cr0 & CR0_PE) || !(x->cr0 & CR0_PG) || !(x->cr4 & CR4_PAE) ||
            (x->efer & (EFER_LME | EFER_LMA)) != (EFER_LME | EFER_LMA))
            return -EINVAL; /* 64-bit mode needs paging, PAE and long mode on */
        if ((uint64_t)((int64_t)(x->rip << 16) >> 16) != x->rip || x->cr3 >= d->ram_size)
            return -EINVAL; /* non-canonical entry or page tables outside RAM */
        *r = (struct vcpu_regs){.rax = x->rax,
                                .rbx = x->rbx,
                                .rcx = x->rcx,
                                .rdx = x->rdx,
                                .rsi = x->rsi,
                                .rdi = x->rdi,
                                .rsp = x->rsp,
                                .rbp = x->rbp,
                                .rip = x->rip,
                                .rflags = x->rflags | 0x2};
        s->cr0 = x->cr0, s->cr3 = x->cr3, s->cr4 = x->cr4, s->efer = x->efer;
        struct vcpu_segment flat = {.limit = 0xffffffffu, .attrib = AR_DATA};
        s->ds = s->es = s->ss = s->fs = s->gs = flat;
        s->cs = (struct vcpu_segment){.limit = 0xffffffffu, .attrib = AR_CODE64};
    } else if (c->mode == VCPU_HVM_MODE_32B) {
        const struct vcpu_hvm_x86_32 *x = &c->cpu_regs.x86_32;
        if (!(x->cr0 & CR0_PE) || !seg_ok(x->cs_ar, true) || !seg_ok(x->ds_ar, false) ||
            !seg_ok(x->ss_ar, false) || !seg_ok(x->es_ar, false) || (x->cs_ar & 0x200))
            return -EINVAL; /* protected mode with a present code segment, no long mode */
        if ((x->cr0 & CR0_PG) && x->cr3 >= d->ram_size)
            return -EINVAL;
        *r = (struct vcpu_regs){.rax = x->eax,
                                .rbx = x->ebx,
                                .rcx = x->ecx,
                                .rdx = x->edx,
                                .rsi = x->esi,
                                .rdi = x->edi,
                                .rsp = x->esp,
                                .rbp = x->ebp,
                                .rip = x->eip,
                                .rflags = x->eflags | 0x2};
        s->cr0 = x->cr0, s->cr3 = x->cr3, s->cr4 = x->cr4, s->efer = x->efer & ~EFER_LMA;
        s->cs = (struct vcpu_segment){x->cs_base, x->cs_limit, 0, ar_from_svm(x->cs_ar)};
        s->ds = (struct vcpu_segment){x->ds_base, x->ds_limit, 0, ar_from_svm(x->ds_ar)};
        s->ss = (struct vcpu_segment){x->ss_base, x->ss_limit, 0, ar_from_svm(x->ss_ar)};
        s->es = (struct vcpu_segment){x->es_base, x->es_limit, 0, ar_from_svm(x->es_ar)};
        s->fs = s->gs = s->ds;
    } else {
        return -EINVAL;
    }
    s->tr = (struct vcpu_segment){.limit = 0x67, .attrib = AR_TSS64};
    return 0;
}

/* VCPUOP_initialise: the context of a vCPU that was never initialised. The vCPU stays down
 * until VCPUOP_up. */
static int64_t vcpu_initialise(struct vcpu *v, struct vcpu *t, uint64_t arg)
{
    struct domain *d = v->dom;
    struct vcpu_hvm_context c;
    struct vcpu_regs r;
    struct vcpu_sregs s;
    if (copy_from_guest(v, &c, arg, sizeof(c)))
        return -EFAULT;
    int64_t rc = context_to_regs(d, &c, &r, &s);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&d->lock);
    if (t->boot_set || atomic_load(&t->state) != VCPU_DOWN) {
        pthread_mutex_unlock(&d->lock);
        return -EEXIST; /* vCPU 0, or a vCPU initialised before */
    }
    rc = d->accel->set_sregs(t, &s);
    if (rc == 0)
        rc = d->accel->set_regs(t, &r);
    if (rc == 0)
        t->boot_set = true;
    pthread_mutex_unlock(&d->lock);
    return rc == -EOPNOTSUPP ? -EOPNOTSUPP : rc < 0 ? -EINVAL : 0;
}

/* VCPUOP_up: an initialised vCPU starts (or resumes after VCPUOP_down). */
static int64_t vcpu_up(struct vcpu *t)
{
    struct domain *d = t->dom;
    pthread_mutex_lock(&d->lock);
    int64_t rc = 0;
    /* A LAPIC domain's vCPUs get their context from INIT/SIPI inside KVM, never from
     * VCPUOP_initialise: Linux takes one down and up again around a resume. */
    if (!t->boot_set && !d->vcpus[0]->boot.lapic) {
        rc = -EINVAL; /* no context yet */
    } else {
        int expect = VCPU_DOWN;
        if (atomic_compare_exchange_strong(&t->state, &expect, VCPU_RUNNABLE))
            vcpu_runstate_set(t, 1 /* RUNSTATE_runnable */);
    }
    pthread_mutex_unlock(&d->lock);
    if (rc == 0)
        vcpu_kick(t);
    return rc;
}

/* VCPUOP_down: the vCPU stops where it is; VCPUOP_up resumes it. */
static int64_t vcpu_down(struct vcpu *t)
{
    struct domain *d = t->dom;
    pthread_mutex_lock(&d->lock);
    int st = atomic_load(&t->state);
    if (st == VCPU_RUNNABLE || st == VCPU_BLOCKED) {
        atomic_store(&t->state, VCPU_DOWN);
        vcpu_runstate_set(t, 3 /* RUNSTATE_offline */);
    }
    pthread_mutex_unlock(&d->lock);
    vcpu_kick(t);
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
        uint64_t now = kxen_system_time_ns(), dl = domain_time_to_host(v->dom, s.timeout_abs_ns);
        if ((s.flags & VCPU_SSHOTTMR_future) && dl < now)
            return -ETIME;
        atomic_store(&v->singleshot_deadline_ns, dl > now ? dl : (now ? now : 1));
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
            return -EINVAL; /* Xen's bounds: at least 1 ms */
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
        /* Xen takes a virtual address (Linux passes its per-cpu variable's): translated once
         * through the calling vCPU's page tables, as the guest's kernel mappings of its own
         * RAM do not move. Identity-mapped guests get their address back unchanged. */
        uint64_t gpa = m.addr.p;
        if (d->accel && d->accel->translate && d->accel->translate(v, m.addr.p, &gpa) < 0)
            return -EFAULT;
        if ((gpa & (KXEN_PAGE_SIZE - 1)) + sizeof(struct vcpu_runstate_info) > KXEN_PAGE_SIZE ||
            !guest_phys_ptr(d, gpa, sizeof(struct vcpu_runstate_info)))
            return -EFAULT;
        t->runstate_gpa = gpa;
        struct vcpu_runstate_info r;
        runstate_fill(t, &r);
        copy_to_guest_phys(d, gpa, &r, sizeof(r));
        return 0;
    }
    case VCPUOP_initialise:
        return vcpu_initialise(v, t, arg);
    case VCPUOP_is_up:
        return atomic_load(&t->state) != VCPU_DOWN;
    case VCPUOP_up:
        return vcpu_up(t);
    case VCPUOP_down:
        return vcpu_down(t);
    case VCPUOP_get_physid:
        return -EINVAL;
    default:
        return -ENOSYS;
    }
}

static const struct hypercall_family hc_vcpu_op = {__HYPERVISOR_vcpu_op, "vcpu_op", do_vcpu_op};
HYPERCALL_REGISTER(hc_vcpu_op);
