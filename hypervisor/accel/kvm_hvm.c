/* The kvm accelerator's emulated-PC support (HVM domains): KVM's in-kernel interrupt
 * controllers (two 8259s with their ELCR, the IOAPIC at 0xfec00000, a LAPIC per vCPU) and
 * PIT (i8254 with the port 0x61 gate), interrupt lines through KVM_IRQ_LINE, and the
 * firmware ROM as a read-only memory slot. PV and PVH domains never reach this file: their
 * upcalls stay with kvm_run.c's KVM_INTERRUPT injection, which an in-kernel PIC would refuse;
 * a PV-on-HVM guest's upcalls are MSIs to its LAPIC (kvm_irqchip_upcall), as a PVH Linux's.
 * A PV-on-HVM kernel is loaded by firmware or decompresses itself, so nobody can route its
 * hypercall instructions before it runs: its first write of GS_BASE (Linux's startup_64 sets
 * the per-CPU base before any hypercall; neither SeaBIOS, syslinux nor Linux's decompressor
 * writes it) exits to kxend, which then patches the kernel in RAM and drops the trap.
 * Invariant: hvm_init runs before the first KVM_CREATE_VCPU (KVM requires the irqchip first,
 * and creates each vCPU's LAPIC with it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kxen/log.h"
#include "kvm_priv.h"

/* The slot after the grant-map slots. */
#define KXEN_KVM_ROM_SLOT (KXEN_KVM_FOREIGN_SLOT0 + KXEN_ACCEL_MAX_FOREIGN)

int kvm_hvm_init(struct domain *d, char *why, size_t whylen)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    if (ioctl(kd->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        int rc = -errno;
        snprintf(why, whylen, "KVM_CREATE_IRQCHIP: %s", strerror(-rc));
        return rc;
    }
    /* Without KVM_PIT_SPEAKER_DUMMY the PIT also serves port 0x61, whose bit 5 (channel 2
     * output) SeaBIOS polls to calibrate the TSC. */
    struct kvm_pit_config pit = {.flags = 0};
    if (ioctl(kd->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        int rc = -errno;
        snprintf(why, whylen, "KVM_CREATE_PIT2: %s", strerror(-rc));
        return rc;
    }
    /* Missed PIT ticks are dropped, not re-injected one by one: when the host is slow (a
     * nested VM under load) the backlog of re-injected ticks can take all of the guest's time
     * in its timer interrupt, and a plain-PC Linux calibrating its delay loop never got past
     * early boot. Linux keeps time from its clocksource, not from the tick count. */
    struct kvm_reinject_control rc_pit = {.pit_reinject = 0};
    if (ioctl(kvm_dom_of(d)->vm_fd, KVM_REINJECT_CONTROL, &rc_pit) < 0)
        log_warn("kvm: dom%u: KVM_REINJECT_CONTROL (PIT ticks dropped when missed): %s", d->domid,
                 strerror(errno));
    /* Every vCPU gets an in-kernel LAPIC with the irqchip: upcalls go to it as MSIs. */
    kvm_dom_of(d)->lapic = true;
    return 0;
}

#define KVM_MSR_GS_BASE 0xc0000101u

int kvm_hvm_trap_kernel_entry(struct domain *d)
{
    return kvm_set_msr_filter(kvm_dom_of(d), KVM_MSR_GS_BASE);
}

/* The write the filter stopped is done here (host-initiated writes bypass the filter), then
 * the trap goes: later GS_BASE writes (every vCPU's, every context switch's swapgs users) stay
 * in KVM. False when the exit is not the trapped write. */
bool kvm_hvm_kernel_entry(struct vcpu *v)
{
    struct kvm_run *run = kvm_vcpu_of(v)->run;
    if (run->msr.index != KVM_MSR_GS_BASE || !v->dom->hvm)
        return false;
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = {.hdr.nmsrs = 1, .e = {.index = KVM_MSR_GS_BASE, .data = run->msr.data}};
    if (ioctl(kvm_vcpu_of(v)->fd, KVM_SET_MSRS, &m) != 1) {
        log_warn("kvm: dom%u vcpu%u: GS_BASE %#llx: %s", v->dom->domid, v->id,
                 (unsigned long long)run->msr.data, strerror(errno));
        run->msr.error = 1;
        return true;
    }
    run->msr.error = 0;
    hvm_kernel_entered(v->dom);
    int rc = kvm_set_msr_filter(kvm_dom_of(v->dom), 0);
    if (rc < 0)
        log_warn("kvm: dom%u: dropping the GS_BASE trap: %s", v->dom->domid, strerror(-rc));
    return true;
}

int kvm_hvm_irq_line(struct domain *d, unsigned gsi, bool level)
{
    struct kvm_irq_level l = {.irq = gsi, .level = level};
    return ioctl(kvm_dom_of(d)->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int kvm_hvm_map_rom(struct domain *d, uint64_t gpa, const void *host, uint64_t len)
{
    struct kvm_userspace_memory_region r = {
        .slot = KXEN_KVM_ROM_SLOT,
        .flags = KVM_MEM_READONLY, /* writes come back as MMIO exits, which io.c drops */
        .guest_phys_addr = gpa,
        .memory_size = len,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    if (gpa < d->ram_size)
        return -EINVAL;
    if (ioctl(kvm_dom_of(d)->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
        int rc = -errno;
        log_err("kvm: dom%u: ROM slot at %#llx: %s", d->domid, (unsigned long long)gpa,
                strerror(-rc));
        return rc;
    }
    return 0;
}
