/* The accelerator interface: everything that differs between /dev/kvm and Unicorn. Everything
 * above it (hypercalls, event channels, grant tables, devices, save/restore) is shared code.
 * Each accelerator (accel/soft.c, accel/kvm.c) registers one `const struct accel_ops` with
 * ACCEL_REGISTER(); accel_select() finds them by name or rank and never names one. */
#ifndef KXEND_ACCEL_H
#define KXEND_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxend/domain.h"
#include "kxend/registry.h"

struct kxend_save_ctx;

/* Special registers needed to boot, save and restore a vCPU. */
struct vcpu_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint16_t attrib; /* VMX/SVM-style access rights: type, s, dpl, p, avl, l, db, g */
};
struct vcpu_sregs {
    struct vcpu_segment cs, ds, es, fs, gs, ss, tr, ldt;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t fs_base, gs_base, kernel_gs_base;
    uint64_t apic_base;
};

/* Foreign pages one domain can have mapped at a time (grant maps): bounds the KVM memory
 * slots and Unicorn regions a guest can make kxend create. */
#define KXEN_ACCEL_MAX_FOREIGN 1024

struct accel_ops {
    const char *name;
    /* `--accel auto` tries accelerators in ascending rank and takes the first whose probe
     * returns 0 (kvm ranks before soft). */
    int auto_rank;
    /* The loader enters guests through their Xen PV entry (64-bit, start_info) instead of
     * the PVH 32-bit entry (soft: Unicorn runs no firmware-style mode switch). */
    bool pv_boot;
    /* 0 when this accelerator can run here, else -errno (e.g. -ENODEV: no /dev/kvm); > 0:
     * runs, with a limit logged by probe (kvm: no int3), so "auto" does not pick it. */
    int (*probe)(void);

    /* d->ram / d->mem_fd / d->ram_size exist; register guest memory. */
    int (*domain_init)(struct domain *d);
    void (*domain_destroy)(struct domain *d);
    int (*vcpu_init)(struct vcpu *v, const struct vcpu_boot *boot);
    void (*vcpu_destroy)(struct vcpu *v);

    /* Starts the threads that run the domain's vCPUs; stop() makes them leave guest code
     * and joins them (used by destroy, and by pause with join=false which only parks them). */
    int (*start)(struct domain *d);
    void (*stop)(struct domain *d);
    /* Make a vCPU leave guest code soon (another thread wants it to sync or park). */
    void (*kick)(struct vcpu *v);

    int (*get_regs)(struct vcpu *v, struct vcpu_regs *r);
    int (*set_regs)(struct vcpu *v, const struct vcpu_regs *r);
    int (*get_sregs)(struct vcpu *v, struct vcpu_sregs *s);
    int (*set_sregs)(struct vcpu *v, const struct vcpu_sregs *s);

    /* CPU state beyond vcpu_regs/vcpu_sregs that only this accelerator keeps (kvm: FPU/XSAVE,
     * MSRs, local APIC, pending events; kxen/ctl_save.h KXEN_SREC_KVM_VCPU), as one record
     * body for the save stream, with the vCPU's thread stopped. get returns the body's length
     * (or -ENOSPC past cap); set takes a body get wrote, after set_sregs/set_regs. NULL:
     * nothing beyond the registers (soft). */
    int (*get_cpu_state)(struct vcpu *v, void *buf, uint32_t cap);
    int (*set_cpu_state)(struct vcpu *v, const void *buf, uint32_t len);
    /* The record type get_cpu_state's body travels as. */
    uint32_t cpu_state_rec;

    /* Guest-virtual to guest-physical for the vCPU's current paging mode. NULL means
     * identity (soft: Unicorn ignores page tables). */
    int (*translate)(struct vcpu *v, uint64_t gva, uint64_t *gpa);

    /* Dirty-page logging for save and migration: enable fills d->dirty_bitmap as the guest
     * writes; collect ORs the pages written since the last call into bitmap and clears. */
    int (*dirty_log_start)(struct domain *d);
    int (*dirty_log_collect)(struct domain *d, uint64_t *bitmap);
    void (*dirty_log_stop)(struct domain *d);

    /* After the host wrote guest code (restore, loader): drop cached translations. */
    void (*flush_code)(struct domain *d);

    /* Guest-to-guest grant maps (gnttab.c): make the 4 KiB host page `host` appear at
     * guest-physical gpa of d, which lies outside d's RAM and every other mapping (the caller
     * checked). Read-only when !writable: kvm turns guest writes into MMIO exits that are
     * dropped, soft maps the page UC_PROT_READ (a write is a fault that crashes the vCPU).
     * Called on a vCPU thread of d (the hypercall's) or with d's vCPUs stopped, with calls
     * for one domain serialised by the caller. 0, -ENOSPC when no slot is left, or -errno.
     * unmap removes what map placed at gpa. */
    int (*map_foreign_page)(struct domain *d, uint64_t gpa, void *host, bool writable);
    void (*unmap_foreign_page)(struct domain *d, uint64_t gpa);

    /* Linux PVH kernels execute vmcall/vmmcall themselves. true when this accelerator sends
     * those of d to hypercall_dispatch from now on (kvm on a host whose KVM has Xen support),
     * so the builder leaves the kernel text alone; false: the builder rewrites them into the
     * hypercall port trap. Called once by the builder, before d's vCPUs exist. NULL: false. */
    bool (*linux_hypercalls)(struct domain *d);
    /* Raises port, bound to v, in v's domain's 2-level bitmaps and delivers v's upcall without
     * making v leave guest code (kvm: KVM_XEN_HVM_EVTCHN_SEND). 0 when done; < 0 when it cannot
     * now, and the caller takes the core's own path. Any thread, evtchn_lock held. NULL: never. */
    int (*evtchn_send)(struct vcpu *v, uint32_t port);

    /* The 32-byte hypercall-page entry for hypercall nr: this accelerator's call sequence
     * (eax = nr, trap, ret). hypercall_page_fill() writes one per entry when it is set. */
    void (*hypercall_entry)(unsigned nr, uint8_t entry[32]);

    /* Emulated PCs (HVM domains); NULL where this accelerator cannot run one.
     * hvm_init: called by the HVM builder once, before any vCPU exists: creates the machine's
     * interrupt controllers and timers (kvm: the in-kernel PIC, IOAPIC, LAPICs and PIT).
     * 0, or -EOPNOTSUPP with why[] filled when this accelerator or host cannot run it. */
    int (*hvm_init)(struct domain *d, char *why, size_t whylen);
    /* Sets interrupt line gsi (< KXEN_NR_GSIS) of a domain hvm_init prepared. Any thread. */
    int (*irq_line)(struct domain *d, unsigned gsi, bool level);
    /* Makes len bytes at host (page-aligned, kept alive by the caller until domain_destroy)
     * appear read-only at gpa, outside RAM: a firmware ROM. Once per domain, before start. */
    int (*map_rom)(struct domain *d, uint64_t gpa, const void *host, uint64_t len);
    /* The save stream's part of what hvm_init created (kvm: the PICs, IOAPIC and PIT), with
     * the vCPUs stopped: hvm_save appends its records (kxend/save.h; also copies in Xen's
     * layouts, KXEN_SREC_XEN_HVM), hvm_load checks and applies them after the devices have
     * driven their lines. NULL: nothing to carry. */
    int (*hvm_save)(struct domain *d, struct kxend_save_ctx *ctx);
    int (*hvm_load)(struct domain *d, struct kxend_save_ctx *ctx);
};

#define ACCEL_REGISTER(var) KXEND_REGISTER(kxend_accels, struct accel_ops, var)
KXEND_SECTION_DECLARE(kxend_accels, struct accel_ops);

/* The registered accelerator called name, or NULL. */
const struct accel_ops *accel_find(const char *name);
/* The registered names in auto order, joined by sep, into buf (truncated to len). */
void accel_names(char *buf, size_t len, const char *sep);
/* "auto" (or NULL) | a registered name -> ops whose probe accepted this host. auto takes the
 * lowest-ranked accelerator whose probe returns 0. NULL + *err: -EINVAL for an unknown name,
 * else the probe's error (for auto, the last one tried). */
const struct accel_ops *accel_select(const char *name, int *err);

/* ---- What accelerators call back into (implemented by the shared core) ---- */

/* A hypercall trapped on v: nr and args in Xen's x86-64 convention (rdi, rsi, rdx, r10, r8).
 * Returns the value for rax. May change v->state (block, shutdown): the accelerator checks it
 * after the call. Runs on v's thread. */
int64_t hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[5]);

/* Port I/O and MMIO exits routed to emulated devices (io.h). Unclaimed reads return all ones,
 * unclaimed writes are dropped (as on real hardware). */
void io_port_access(struct vcpu *v, uint16_t port, unsigned size, bool write, uint32_t *val);
void io_mmio_access(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *val);

/* CPUID as the guest must see it: the host's leaves (filtered) plus Xen's 0x40000000 range
 * (signature "XenVMMXenVMM", version, hypercall-page MSR). */
void cpuid_emulate(struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* The MSR that installs the hypercall page (named by CPUID 0x40000002 ebx). */
#define KXEN_HYPERCALL_MSR 0x40000000u
/* The port of the hypercall page's `out %eax, $port` entries (eax = hypercall number), on both
 * accelerators (kvm_priv.h's KXEN_KVM_HCALL_PORT is the same port). Unused by the PC platform. */
#define KXEN_HYPERCALL_PORT 0xe8
/* Fills the hypercall page at gpa with this accelerator's call sequence. */
int hypercall_page_fill(struct domain *d, uint64_t gpa);
/* A PV-on-HVM guest's kernel proper has started (vcpu_boot.xen_hvm): the core routes its
 * hypercall instructions to KXEN_HYPERCALL_PORT (hvm_build.c). */
void hvm_kernel_entered(struct domain *d);

/* The vCPU has nothing to run (blocked, or halted with interrupts enabled): wait for an
 * event, a timer or a kick. Returns when the vCPU should re-enter the guest or stop. */
void vcpu_wait(struct vcpu *v);

#endif
