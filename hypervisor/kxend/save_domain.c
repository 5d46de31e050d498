/* The core's own records in the save stream: the domain's special pages and watchdog
 * (KXEN_SREC_DOMAIN) and each vCPU's registers, event-delivery settings and timers
 * (KXEN_SREC_VCPU) through the accelerator's get/set ops. Timers travel as time left
 * relative to the header's system time, so a restore keeps the guest's deadlines whatever
 * the new host's clock reads. */
#include <errno.h>
#include <string.h>

#include "core.h"
#include "kxend/save.h"
#include "kxend/subsys.h"

static uint64_t left(uint64_t deadline, uint64_t now)
{
    if (!deadline)
        return 0;
    return deadline > now ? deadline - now : 1;
}

static uint64_t deadline(uint64_t left_ns, uint64_t now)
{
    return left_ns ? now + left_ns : 0;
}

static void seg_out(struct kxen_srec_seg *o, const struct vcpu_segment *s)
{
    *o = (struct kxen_srec_seg){s->base, s->limit, s->selector, s->attrib};
}

static void seg_in(struct vcpu_segment *s, const struct kxen_srec_seg *o)
{
    *s = (struct vcpu_segment){o->base, o->limit, o->selector, o->attrib};
}

static int vcpu_save(struct vcpu *v, uint64_t now, struct kxen_srec_vcpu *r)
{
    struct vcpu_regs g;
    struct vcpu_sregs s;
    memset(r, 0, sizeof(*r));
    int st = atomic_load(&v->state);
    r->state = st == VCPU_DOWN ? VCPU_DOWN : st == VCPU_BLOCKED ? VCPU_BLOCKED : VCPU_RUNNABLE;
    r->boot_mode = v->boot.mode;
    r->boot_entry = v->boot.entry, r->boot_rsi = v->boot.rsi;
    r->boot_rbx = v->boot.rbx, r->boot_rsp = v->boot.rsp;
    r->upcall_vector = v->upcall_vector;
    r->vcpu_info_gpa = v->vcpu_info_gpa;
    r->runstate_gpa = v->runstate_gpa;
    r->singleshot_left_ns = left(atomic_load(&v->singleshot_deadline_ns), now);
    r->periodic_period_ns = v->periodic_period_ns;
    r->periodic_left_ns = left(v->periodic_next_ns, now);
    r->halted_noirq = v->halted_noirq;
    if (st == VCPU_DOWN && !v->accel_priv)
        return 0;
    int rc = v->dom->accel->get_regs(v, &g);
    if (rc == -EAGAIN && st == VCPU_DOWN)
        return 0; /* never ran: its engine does not exist yet */
    if (rc < 0 || (rc = v->dom->accel->get_sregs(v, &s)) < 0)
        return rc;
    memcpy(r->gpr, &g, sizeof(r->gpr));
    const struct vcpu_segment *segs[8] = {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt};
    for (int i = 0; i < 8; i++)
        seg_out(&r->seg[i], segs[i]);
    r->gdt_base = s.gdt_base, r->gdt_limit = s.gdt_limit;
    r->idt_base = s.idt_base, r->idt_limit = s.idt_limit;
    r->cr0 = s.cr0, r->cr2 = s.cr2, r->cr3 = s.cr3, r->cr4 = s.cr4, r->cr8 = s.cr8;
    r->efer = s.efer, r->fs_base = s.fs_base, r->gs_base = s.gs_base;
    r->kernel_gs_base = s.kernel_gs_base, r->apic_base = s.apic_base;
    return 0;
}

static int core_save(struct domain *d, struct kxend_save_ctx *ctx)
{
    /* The header holds the guest's time; the deadlines are on kxend's clock. */
    uint64_t now = domain_time_to_host(d, kxend_save_hdr(ctx)->system_time_ns);
    struct kxen_srec_domain dr = {
        .start_info_pfn = d->start_info_pfn,
        .shared_info_pfn = d->shared_info_pfn,
        .gnttab_base_pfn = d->gnttab_base_pfn,
        .reserved_base_pfn = d->reserved_base_pfn,
        .hypercall_page_gpa = d->hypercall_page_gpa,
        .shared_info_gpa = d->shared_info_gpa,
        .max_ram_size = d->max_ram_size,
        .watchdog_timeout_s = d->watchdog_timeout_s,
        .watchdog_left_ns = left(d->watchdog_deadline_ns, now),
    };
    int rc = kxend_save_put(ctx, KXEN_SREC_DOMAIN, 0, &dr, sizeof(dr));
    for (unsigned i = 0; i < d->nr_vcpus && rc == 0; i++) {
        struct kxen_srec_vcpu vr;
        if ((rc = vcpu_save(d->vcpus[i], now, &vr)) == 0)
            rc = kxend_save_put(ctx, KXEN_SREC_VCPU, i, &vr, sizeof(vr));
    }
    return rc;
}

static int vcpu_load(struct vcpu *v, uint64_t now, const struct kxen_srec_vcpu *r, bool resumed,
                     bool rebinds)
{
    if (r->state != VCPU_DOWN && r->state != VCPU_RUNNABLE && r->state != VCPU_BLOCKED)
        return -EINVAL;
    v->upcall_vector = (uint8_t)r->upcall_vector;
    /* Linux registers each online vCPU's vcpu_info again after a resume, and a second
     * registration is refused (Xen allows one per vCPU): the new domain has none yet. */
    v->vcpu_info_gpa = rebinds ? KXEN_NO_GPA : r->vcpu_info_gpa;
    v->runstate_gpa = r->runstate_gpa;
    atomic_store(&v->singleshot_deadline_ns, deadline(r->singleshot_left_ns, now));
    v->periodic_period_ns = r->periodic_period_ns;
    v->periodic_next_ns = deadline(r->periodic_left_ns, now);
    v->halted_noirq = r->halted_noirq;
    atomic_store(&v->state, (int)r->state);
    if (r->state == VCPU_DOWN && !r->cr0 && !r->efer)
        return 0; /* never ran on the source: nothing to set */
    struct vcpu_regs g;
    struct vcpu_sregs s = {0};
    memcpy(&g, r->gpr, sizeof(g));
    if (resumed && v->id == 0)
        g.rax = 0; /* SCHEDOP_shutdown(SHUTDOWN_suspend) returns 0: resumed in a new domain */
    struct vcpu_segment *segs[8] = {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt};
    for (int i = 0; i < 8; i++)
        seg_in(segs[i], &r->seg[i]);
    s.gdt_base = r->gdt_base, s.gdt_limit = (uint16_t)r->gdt_limit;
    s.idt_base = r->idt_base, s.idt_limit = (uint16_t)r->idt_limit;
    s.cr0 = r->cr0, s.cr2 = r->cr2, s.cr3 = r->cr3, s.cr4 = r->cr4, s.cr8 = r->cr8;
    s.efer = r->efer, s.fs_base = r->fs_base, s.gs_base = r->gs_base;
    s.kernel_gs_base = r->kernel_gs_base, s.apic_base = r->apic_base;
    int rc = v->dom->accel->set_sregs(v, &s);
    return rc < 0 ? rc : v->dom->accel->set_regs(v, &g);
}

static int core_load(struct domain *d, struct kxend_save_ctx *ctx)
{
    uint64_t now = kxen_system_time_ns();
    struct kxen_srec_domain dr;
    if (kxend_save_get(ctx, KXEN_SREC_DOMAIN, 0, &dr, sizeof(dr)) != sizeof(dr))
        return -EINVAL;
    d->start_info_pfn = dr.start_info_pfn;
    d->shared_info_pfn = dr.shared_info_pfn;
    d->gnttab_base_pfn = dr.gnttab_base_pfn;
    d->reserved_base_pfn = dr.reserved_base_pfn;
    d->hypercall_page_gpa = dr.hypercall_page_gpa;
    d->shared_info_gpa = dr.shared_info_gpa;
    d->watchdog_timeout_s = dr.watchdog_timeout_s;
    d->watchdog_deadline_ns = deadline(dr.watchdog_left_ns, now);
    time_restore(d, kxend_save_hdr(ctx)->system_time_ns);
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct kxen_srec_vcpu vr;
        if (kxend_save_get(ctx, KXEN_SREC_VCPU, i, &vr, sizeof(vr)) != sizeof(vr))
            return -EINVAL;
        int rc = vcpu_load(d->vcpus[i], now, &vr, kxend_save_hdr(ctx)->flags & KXEN_SAVE_SUSPENDED,
                           kxend_save_guest_rebinds(ctx));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Runs after every other subsystem saved (its order is the highest) and loads last, so the
 * vCPUs see the event channels and grant frames they were saved with. */
static const struct domain_subsys core_save_subsys = {
    .name = "vcpu",
    .order = SUBSYS_ORDER_LATE + 9,
    .save = core_save,
    .load = core_load,
};
DOMAIN_SUBSYS_REGISTER(core_save_subsys);
