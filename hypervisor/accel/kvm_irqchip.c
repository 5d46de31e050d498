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

/* The LAPIC keeps one bit per vector, so sending again while the vector is still pending is
 * harmless; Linux's handler loops until evtchn_upcall_pending stays clear, so an extra
 * delivery finds nothing and returns. Sending on every entry while an upcall is wanted is
 * therefore both simple and loss-free. The APIC id is the vCPU id (KVM's default, and the
 * initial APIC id CPUID reports). */
void kvm_irqchip_upcall(struct vcpu *v, bool want)
{
    if (!want || !v->upcall_vector)
        return;
    struct kvm_msi msi = {
        .address_lo = KVM_MSI_ADDR_BASE | ((uint32_t)v->id << 12),
        .data = v->upcall_vector,
    };
    if (ioctl(kvm_dom_of(v->dom)->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
        log_warn("kvm: dom%u vcpu%u: KVM_SIGNAL_MSI vector %#x: %s", v->dom->domid, v->id,
                 v->upcall_vector, strerror(errno));
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
