/* The kvm accelerator's local APIC for PVH guests that drive one themselves (Linux: x2APIC,
 * INIT/SIPI bring-up of secondary vCPUs, EOI of the upcall vector). KVM's split irqchip puts
 * one LAPIC per vCPU in the kernel and nothing else (no PIC, IOAPIC or PIT), which is what a
 * Xen PVH domU has. Event-channel upcalls then reach a vCPU as an MSI carrying its callback
 * vector, so the LAPIC queues them and the guest EOIs them.
 *
 * kxen's own small guests set up no LAPIC: they keep KVM_INTERRUPT injection (kvm_run.c).
 * The choice is per domain, from what the domain builder loaded (vcpu_boot.lapic).
 * Invariant: the split irqchip is created once per VM, before its first vCPU; a domain either
 * has it for all its vCPUs or for none. Emulated-hardware (HVM) domains build their own
 * interrupt controllers elsewhere; nothing here is shared with them. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kxen/log.h"
#include "kvm_priv.h"

/* GSI routes KVM reserves for the (absent) userspace IOAPIC; 24 as on a PC. */
#define KVM_IRQCHIP_SPLIT_ROUTES 24
#define KVM_MSI_ADDR_BASE 0xfee00000u
#define KVM_MSR_MTRR_DEF_TYPE 0x2ff
/* MTRRs enabled (E), fixed ranges enabled (FE), default type write-back: Xen starts PVH
 * domUs this way; with KVM's reset value 0 Linux turns MTRRs and PAT off. */
#define KVM_MTRR_DEF_WB 0xc06

int kvm_irqchip_lapic_create(struct domain *d)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    if (kd->lapic)
        return 0;
    struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {KVM_IRQCHIP_SPLIT_ROUTES}};
    if (ioctl(kd->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
        int rc = -errno;
        log_err("kvm: dom%u: split irqchip (in-kernel local APIC): %s", d->domid, strerror(-rc));
        return rc;
    }
    kd->lapic = true;
    return 0;
}

int kvm_irqchip_vcpu_init(struct vcpu *v)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = {.hdr.nmsrs = 1, .e = {.index = KVM_MSR_MTRR_DEF_TYPE, .data = KVM_MTRR_DEF_WB}};
    if (ioctl(kvm_vcpu_of(v)->fd, KVM_SET_MSRS, &m) != 1)
        log_warn("kvm: dom%u vcpu%u: cannot enable MTRRs (write-back default)", v->dom->domid,
                 v->id);
    return 0;
}

/* An upcall still pending after this long is sent again: KVM drops an MSI the guest's LAPIC
 * cannot take (software-disabled during early boot or CPU bring-up, KVM_SIGNAL_MSI then
 * answers 0), and a vCPU halted inside KVM would otherwise wait for an unrelated exit. Xen
 * re-checks evtchn_upcall_pending on every entry for the same reason. */
#define KVM_UPCALL_RESEND_NS (10 * 1000 * 1000ull)
/* Pending this long (evtchn_upcall_pending set, evtchn_upcall_mask clear): the vCPU's
 * interrupt state goes to the log once per spell, a stuck guest's evidence: is the vector in
 * IRR or in ISR, is IF clear, where does the guest run, did KVM drop the MSIs. */
#define KVM_UPCALL_STUCK_NS (3 * 1000 * 1000 * 1000ull)
#define KVM_LAPIC_TPR 0x80
#define KVM_LAPIC_ISR 0x100
#define KVM_LAPIC_IRR 0x200
#define KVM_LAPIC_SVR 0xf0
#define KVM_LAPIC_SVR_ENABLE 0x100u

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned off)
{
    uint32_t r;
    memcpy(&r, l->regs + off, sizeof(r));
    return r;
}

static bool lapic_bit(const struct kvm_lapic_state *l, unsigned base, unsigned vec)
{
    return (lapic_reg(l, base + (vec / 32) * 0x10) >> (vec % 32)) & 1;
}

static void upcall_report(struct vcpu *v, uint64_t pending_ns)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    struct kvm_regs r;
    struct kvm_lapic_state l;
    memset(&r, 0, sizeof(r));
    memset(&l, 0, sizeof(l));
    ioctl(kv->fd, KVM_GET_REGS, &r);
    ioctl(kv->fd, KVM_GET_LAPIC, &l);
    unsigned vec = v->upcall_vector, isr_top = 0;
    for (unsigned i = 256; i-- > 16;)
        if (lapic_bit(&l, KVM_LAPIC_ISR, i)) {
            isr_top = i;
            break;
        }
    log_dom_warn(v->dom->domid,
                 "kvm: dom%u vcpu%u: upcall pending for %llu ms: vector %#x in IRR %d ISR %d "
                 "(highest ISR %#x), LAPIC %s, TPR %#x, RIP %#llx IF %d, %llu MSI(s) dropped by "
                 "KVM",
                 v->dom->domid, v->id, (unsigned long long)(pending_ns / 1000000), vec,
                 lapic_bit(&l, KVM_LAPIC_IRR, vec), lapic_bit(&l, KVM_LAPIC_ISR, vec), isr_top,
                 lapic_reg(&l, KVM_LAPIC_SVR) & KVM_LAPIC_SVR_ENABLE ? "enabled" : "disabled",
                 lapic_reg(&l, KVM_LAPIC_TPR), (unsigned long long)r.rip,
                 (int)((r.rflags >> 9) & 1), (unsigned long long)kv->upcall_dropped);
}

/* The LAPIC keeps one bit per vector, so sending again while the vector is still pending is
 * harmless; Linux's handler loops until evtchn_upcall_pending stays clear, so an extra
 * delivery finds nothing and returns. Sending on every entry while an upcall is wanted is
 * therefore both simple and loss-free. The APIC id is the vCPU id (KVM's default, and the
 * initial APIC id CPUID reports). */
uint64_t kvm_irqchip_upcall(struct vcpu *v, bool want)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    if (!want || !v->upcall_vector) {
        kv->upcall_since_ns = 0;
        kv->upcall_reported = false;
        return 0;
    }
    uint64_t now = kxen_system_time_ns();
    if (!kv->upcall_since_ns)
        kv->upcall_since_ns = now;
    struct kvm_msi msi = {
        .address_lo = KVM_MSI_ADDR_BASE | ((uint32_t)v->id << 12),
        .data = v->upcall_vector,
    };
    int rc = ioctl(kvm_dom_of(v->dom)->vm_fd, KVM_SIGNAL_MSI, &msi);
    if (rc < 0)
        log_dom_warn(v->dom->domid, "kvm: dom%u vcpu%u: KVM_SIGNAL_MSI vector %#x: %s",
                     v->dom->domid, v->id, v->upcall_vector, strerror(errno));
    else if (rc == 0)
        kv->upcall_dropped++; /* the LAPIC refused it: resent below */
    if (!kv->upcall_reported && now - kv->upcall_since_ns >= KVM_UPCALL_STUCK_NS) {
        kv->upcall_reported = true;
        upcall_report(v, now - kv->upcall_since_ns);
    }
    return now + KVM_UPCALL_RESEND_NS;
}

/* A secondary vCPU of a LAPIC domain waits inside KVM for INIT/SIPI; it is online for the
 * core once KVM says it runs. */
bool kvm_irqchip_vcpu_started(struct vcpu *v)
{
    struct kvm_mp_state mp;
    if (ioctl(kvm_vcpu_of(v)->fd, KVM_GET_MP_STATE, &mp) < 0)
        return false;
    return mp.mp_state == KVM_MP_STATE_RUNNABLE || mp.mp_state == KVM_MP_STATE_HALTED;
}
