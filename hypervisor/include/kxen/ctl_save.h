/* Payloads of the save/restore ops of kxend's control socket (ops 128..159 of kxen/ctl.h),
 * and the kxen records they carry. Fixed layout, little-endian, explicit padding, sizes
 * multiples of 8. The toolstack wraps them in Xen's stream (docs/save-format.md): the
 * kxen-state blob below travels whole in a libxl EMULATOR_CONTEXT record (emulator id 0,
 * which Xen's tools skip), guest pages in libxc PAGE_DATA records. */
#ifndef KXEN_CTL_SAVE_H
#define KXEN_CTL_SAVE_H

#include <stdint.h>

#include "kxen/ctl.h"

#define KXEN_SAVE_MAGIC 0x5653584bu /* "KXSV" little-endian */
#define KXEN_SAVE_VERSION 1
#define KXEN_SAVE_NR_PARAMS 64

/* The kxen-state blob: this header, then records_len bytes of records. SAVE_BEGIN returns
 * it; RESTORE_BEGIN takes it back after struct kxen_ctl_restore. */
struct kxen_save_hdr {
    uint32_t magic;   /* KXEN_SAVE_MAGIC */
    uint32_t version; /* KXEN_SAVE_VERSION */
    char accel[16];   /* the accelerator the state was read from: "soft" | "kvm" */
    uint64_t ram_size;
    uint32_t nr_vcpus;
    uint32_t records_len;
    uint64_t store_pfn, console_pfn;
    uint64_t system_time_ns; /* the guest's clock when the state was read */
    uint32_t flags;          /* KXEN_SAVE_* */
    uint32_t tsc_khz;        /* the source host's TSC frequency (0 from older kxends) */
    uint64_t hvm_params[KXEN_SAVE_NR_PARAMS];
};

/* The guest had suspended itself (SCHEDOP_shutdown(SHUTDOWN_suspend)): its call returns 0
 * in the restored domain (Xen's "resumed in a new domain"). */
#define KXEN_SAVE_SUSPENDED (1u << 0)
/* The domain was built for a Linux PVH kernel (an in-kernel local APIC, the 0xE9 port and the
 * ACPI registers). Restore recreates those; a suspended one resumes as Xen resumes a guest
 * in a new domain: no event channel bound (the guest binds its VIRQs, IPIs and frontend
 * ports again) and no vcpu_info registered (it registers them again). */
#define KXEN_SAVE_LINUX_PVH (1u << 1)

/* One record: this header, then len bytes, then zeros up to a multiple of 8. */
struct kxen_save_rec {
    uint32_t type; /* KXEN_SREC_* */
    uint32_t instance;
    uint32_t len;
    uint32_t pad;
};

/* Record types (each subsystem's own; a loader ignores none: an unknown type is refused). */
#define KXEN_SREC_DOMAIN 1 /* struct kxen_srec_domain */
#define KXEN_SREC_VCPU 2   /* struct kxen_srec_vcpu, instance = vCPU id */
#define KXEN_SREC_EVTCHN 3 /* struct kxen_srec_evtchn_port[] (bound ports only) */
#define KXEN_SREC_GNTTAB 4 /* struct kxen_srec_gnttab */
/* struct kxen_srec_kvm_vcpu + its variable parts, instance = vCPU id: the CPU state only
 * the kvm accelerator has (FPU/XSAVE, XCRs, MSRs, debug registers, pending events, the
 * local APIC, the MP state). */
#define KXEN_SREC_KVM_VCPU 5
#define KXEN_SREC_BALLOON 16 /* struct kxen_srec_balloon_run[]: pages given back */
/* An emulated PC (HVM domains only): struct kxen_srec_hvm. */
#define KXEN_SREC_HVM 17
/* One emulated device, instance = its place in the machine's device list (creation order):
 * struct kxen_srec_device, then the model's own body (hypervisor/devices/README.md). */
#define KXEN_SREC_DEVICE 18
/* The accelerator's interrupt controllers and timer of an HVM domain (kvm: struct
 * kxen_srec_kvm_irqchip). */
#define KXEN_SREC_KVM_IRQCHIP 19
/* A copy of one of Xen's public HVM save records (xen/arch-x86/hvm/save.h), instance =
 * typecode << 16 | Xen's instance: the toolstack puts them, in typecode order, into the libxc
 * HVM_CONTEXT record for Xen's tools. kxend's restore reads the records above instead and
 * only checks these for framing. */
#define KXEN_SREC_XEN_HVM 20
#define KXEN_SREC_XEN_INSTANCE(code, inst) ((uint32_t)(code) << 16 | ((inst)&0xffffu))

struct kxen_srec_domain {
    uint64_t start_info_pfn, shared_info_pfn, gnttab_base_pfn, reserved_base_pfn;
    uint64_t hypercall_page_gpa, shared_info_gpa;
    uint64_t max_ram_size;
    uint32_t watchdog_timeout_s;
    uint32_t pad;
    uint64_t watchdog_left_ns; /* 0 = none */
};

struct kxen_srec_vcpu {
    uint64_t gpr[18]; /* struct vcpu_regs order: rax..r15, rip, rflags */
    struct kxen_srec_seg {
        uint64_t base;
        uint32_t limit;
        uint16_t selector, attrib;
    } seg[8]; /* cs, ds, es, fs, gs, ss, tr, ldt */
    uint64_t gdt_base, idt_base;
    uint32_t gdt_limit, idt_limit;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t fs_base, gs_base, kernel_gs_base, apic_base;
    uint32_t state; /* enum vcpu_state: down, runnable, blocked */
    uint32_t upcall_vector;
    uint64_t vcpu_info_gpa, runstate_gpa;
    uint64_t singleshot_left_ns; /* relative to system_time_ns, 0 = none */
    uint64_t periodic_period_ns, periodic_left_ns;
    uint32_t boot_mode, halted_noirq;
    uint64_t boot_entry, boot_rsi, boot_rbx, boot_rsp;
};

/* The kvm vCPU record: this header, then nr_msrs struct kxen_srec_msr, then fpu_len bytes of
 * KVM's XSAVE area (KVM_GET_XSAVE/XSAVE2 layout: the hardware XSAVE format) or, with
 * KXEN_KVM_FPU_LEGACY, of struct kvm_fpu. The fixed blobs are KVM's own uapi structs
 * (linux/kvm.h), stable ABI: events = struct kvm_vcpu_events, lapic = struct
 * kvm_lapic_state (the APIC register page), debugregs = struct kvm_debugregs. */
#define KXEN_KVM_HAS_XCRS (1u << 0)
#define KXEN_KVM_HAS_EVENTS (1u << 1)
#define KXEN_KVM_HAS_LAPIC (1u << 2)
#define KXEN_KVM_HAS_DEBUGREGS (1u << 3)
#define KXEN_KVM_FPU_LEGACY (1u << 4)
#define KXEN_KVM_MAX_MSRS 256
#define KXEN_KVM_MAX_FPU (64u * 1024u)
struct kxen_srec_kvm_vcpu {
    uint32_t flags; /* KXEN_KVM_* */
    uint32_t mp_state;
    uint32_t nr_msrs;
    uint32_t fpu_len;
    uint32_t tsc_khz; /* the source's guest TSC frequency (information: see save-format.md) */
    uint32_t nr_xcrs;
    struct kxen_srec_xcr {
        uint32_t xcr, pad;
        uint64_t value;
    } xcrs[4];
    uint8_t events[64];
    uint8_t debugregs[128];
    uint8_t lapic[1024];
};
struct kxen_srec_msr {
    uint32_t index, pad;
    uint64_t data;
};

#define KXEN_SREC_EVTCHN_UNBOUND 1
#define KXEN_SREC_EVTCHN_INTERDOMAIN 2
#define KXEN_SREC_EVTCHN_VIRQ 3
#define KXEN_SREC_EVTCHN_IPI 4
struct kxen_srec_evtchn_port {
    uint32_t port;
    uint8_t state; /* KXEN_SREC_EVTCHN_* */
    uint8_t host_pending;
    uint16_t remote_dom;
    uint32_t remote_port;
    uint32_t virq, virq_vcpu, notify_vcpu;
};

struct kxen_srec_balloon_run {
    uint64_t first_pfn, count;
};

#define KXEN_SREC_HVM_XEN (1u << 0) /* PV-on-HVM: the platform device and Xen's CPUID */
struct kxen_srec_hvm {
    uint32_t flags;      /* KXEN_SREC_HVM_* */
    uint32_t nr_devices; /* KXEN_SREC_DEVICE records 0 .. nr_devices - 1 follow */
    uint64_t ram_end;    /* RAM the guest may use (the special pages follow) */
};

struct kxen_srec_device {
    char model[32]; /* the model's name, NUL-terminated: the same device list is required */
};

/* KVM's own uapi structs (linux/kvm.h), stable ABI: pic[0], pic[1] = struct kvm_pic_state,
 * ioapic = struct kvm_ioapic_state (each the payload of a struct kvm_irqchip),
 * pit = struct kvm_pit_state2. */
struct kxen_srec_kvm_irqchip {
    uint8_t pic[2][512];
    uint8_t ioapic[512];
    uint8_t pit[112];
};

struct kxen_srec_gnttab {
    uint32_t frame_set; /* bit i: frames[i] is set */
    uint32_t nr_frames;
    uint64_t frames[64];
};

/* KXEN_CTL_SAVE_BEGIN (privileged): struct kxen_ctl_domid_arg. The domain must be paused or
 * shut down for suspend (-EBUSY otherwise); its vCPUs are parked while the state is read.
 * Reply: struct kxen_save_hdr + records. */

/* KXEN_CTL_RESTORE_BEGIN (privileged): struct kxen_ctl_restore + struct kxen_save_hdr +
 * records. The domain must be freshly created (DOM_BUILDING, no image loaded) with the same
 * RAM size and vCPU count, its pages already written through FOREIGN_MAP. It is left paused;
 * a refusal names the field that does not fit. */
struct kxen_ctl_restore {
    uint16_t domid;
    uint16_t pad;
    uint32_t flags;
};

/* KXEN_CTL_DOMAIN_RESUME (privileged): struct kxen_ctl_domid_arg, arg = 1 to leave it
 * paused. A domain shut down for suspend runs again, its suspend call returning 1 (Xen's
 * cancelled suspend: a checkpoint, or a migration that failed). -EINVAL for any other state. */

/* KXEN_CTL_DIRTY_LOG (privileged): START turns dirty logging on, COLLECT returns the pages
 * written since the last COLLECT (guest writes, kxend's writes, and pages dom0 or another
 * domain hold mapped writable) as a bitmap of nr_pages bits from first_pfn, STOP turns it
 * off and lifts any throttle. THROTTLE takes throttle % (0..99) of the guest's vCPU time
 * away, on top of any credit cap, until STOP: the migration's auto-converge. */
#define KXEN_DIRTY_START 1
#define KXEN_DIRTY_COLLECT 2
#define KXEN_DIRTY_STOP 3
#define KXEN_DIRTY_THROTTLE 4
#define KXEN_DIRTY_MAX_THROTTLE 99
#define KXEN_DIRTY_MAX_PAGES ((KXEN_CTL_MAX_PAYLOAD - 64u) * 8u)
struct kxen_ctl_dirty_log {
    uint16_t domid;
    uint16_t throttle; /* THROTTLE: % of the vCPUs' time taken away, 0 lifts it */
    uint32_t cmd;      /* KXEN_DIRTY_* */
    uint64_t first_pfn;
    uint64_t nr_pages; /* COLLECT: at most KXEN_DIRTY_MAX_PAGES, multiple of 64 */
};
/* COLLECT reply: struct kxen_ctl_dirty_rep + nr_pages / 8 bytes of bitmap. */
struct kxen_ctl_dirty_rep {
    uint64_t first_pfn, nr_pages;
    uint64_t nr_dirty;
};

/* KXEN_CTL_DOMAIN_TIMES (privileged): struct kxen_ctl_domid_arg. Reply: when a pause or a
 * suspend last stopped the domain's vCPUs, and when one first entered the guest after the
 * last unpause (0: not yet), in CLOCK_REALTIME ns: a migration's downtime is the destination's
 * first_entry_ns minus the source's stop_ns. */
struct kxen_ctl_domain_times {
    uint64_t stop_ns, first_entry_ns;
};

#endif
