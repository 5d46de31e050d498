/* State shared by the kvm accelerator's files (kvm.c: VM and vCPU setup, registers, dirty
 * log; kvm_probe.c: whether this host can run it; kvm_run.c: the vCPU threads and exit
 * handling). Private to hypervisor/accel/kvm*.c. */
#ifndef KXEND_ACCEL_KVM_PRIV_H
#define KXEND_ACCEL_KVM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxend/accel.h"
#include "kxend/domain.h"

/* The port the hypercall page traps through: `out %eax, $KXEN_KVM_HCALL_PORT` with the
 * hypercall number in eax. An 8-bit immediate port keeps rdx (third argument) intact. 0xe8
 * is not used by the PC platform, the Bochs debug port (0xe9) or Linux's io_delay (0x80). */
#define KXEN_KVM_HCALL_PORT 0xe8
#define KXEN_KVM_MEM_SLOT 0
#define KXEN_KVM_FOREIGN_SLOT0 1 /* slots 1..KXEN_ACCEL_MAX_FOREIGN: grant maps */
/* Placed just under 4 GiB as other VMMs do; only used by Intel hosts (real-mode TSS). */
#define KXEN_KVM_TSS_ADDR 0xfffbd000ull
#define KXEN_KVM_IDENT_MAP_ADDR 0xfffbc000ull
/* probe(): how long a one-instruction test guest may take to exit (TCG-nested is slow). */
#define KXEN_KVM_PROBE_TIMEOUT_S 2
/* probe(): KVM runs guests but cannot deliver a guest's int3 (nested PVM). Positive, so
 * accel_select() skips kvm for "auto" (wants 0) but still lets `--accel kvm` use it (< 0 only
 * fails). */
#define KXEN_KVM_PROBE_LIMITED 1

/* The registered ops (kvm.c); named for tests/kvm-under-tcg, which drives them directly. */
extern const struct accel_ops accel_kvm_ops;

/* One foreign page's memory slot: registered at gpa (0 = never; gpa 0 is RAM, never
 * foreign) over the host page hva, live while a map holds it, parked between maps. */
struct kvm_foreign_slot {
    uint64_t gpa;
    void *hva;
    bool writable;
    bool live;
};

struct kvm_dom {
    int sys_fd; /* /dev/kvm */
    int vm_fd;
    int run_size;                       /* KVM_GET_VCPU_MMAP_SIZE */
    bool sync_regs;                     /* KVM_CAP_SYNC_REGS: registers travel in kvm_run */
    const struct kvm_cpuid2 *supported; /* KVM_GET_SUPPORTED_CPUID (kvm.c: one per kxend) */
    uint32_t slot_flags;                /* KVM_MEM_LOG_DIRTY_PAGES while logging */
    /* Foreign (grant) pages: slot KXEN_KVM_FOREIGN_SLOT0 + i (kvm_foreign.c). */
    struct kvm_foreign_slot foreign[KXEN_ACCEL_MAX_FOREIGN];
    bool lapic; /* in-kernel local APIC (kvm_irqchip.c), from vcpu_boot.lapic */
    /* KVM's Xen support (kvm_xen.c): xen = vmcall/vmmcall exit as KVM_EXIT_XEN; xen_evtchn =
     * sends go through KVM_XEN_HVM_EVTCHN_SEND. xen_shinfo_gpa is the shared_info KVM
     * knows (KVM_XEN_UNSET: none usable), xen_shinfo_tried the last one it was told. */
    bool xen, xen_evtchn;
    pthread_mutex_t xen_lock;
    _Atomic uint64_t xen_shinfo_gpa, xen_shinfo_tried;
    _Atomic bool xen_sent; /* the first KVM delivery is logged */
    /* Hypercalls (nr < 64) and sub-ops (< 64) answered -ENOSYS, logged once per domain: the
     * Xen interfaces a guest tried that kxend lacks. */
    _Atomic uint64_t enosys_seen[64];
    _Atomic bool stopping; /* stop(): vCPU threads leave and are joined */
    bool started;
};

struct kvm_vcpu {
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
    _Atomic bool thread_running; /* false once the loop returned (shutdown, crash, stop) */
    pthread_mutex_t park_lock;   /* guards thread_started and parking */
    pthread_cond_t park_cond;    /* CLOCK_MONOTONIC; broadcast by kicks */
    /* What KVM's Xen support was told for this vCPU (kvm_xen.c): the vcpu_info address and
     * upcall vector it uses (KVM_XEN_UNSET / 0: none), read by senders on any thread; the
     * *_tried values, last asked for, only by the vCPU's own thread. */
    _Atomic uint64_t xen_vcpu_info_gpa;
    _Atomic unsigned xen_vector;
    uint64_t xen_vcpu_info_tried;
    unsigned xen_vector_tried;
    /* The LAPIC upcall (kvm_irqchip.c, own thread only): pending since (0: not pending),
     * reported to the log in this pending spell, MSIs KVM refused. */
    uint64_t upcall_since_ns;
    bool upcall_reported;
    uint64_t upcall_dropped;
};

static inline struct kvm_dom *kvm_dom_of(struct domain *d)
{
    return d->accel_priv;
}
static inline struct kvm_vcpu *kvm_vcpu_of(struct vcpu *v)
{
    return v->accel_priv;
}

/* kvm_foreign.c */
int kvm_map_foreign_page(struct domain *d, uint64_t gpa, void *host, bool writable);
void kvm_unmap_foreign_page(struct domain *d, uint64_t gpa);
/* Unmaps the slots' host pages (the VM is gone). */
void kvm_foreign_release(struct kvm_dom *kd);

/* kvm_run.c */
int kvm_accel_start(struct domain *d);
void kvm_accel_stop(struct domain *d);
void kvm_accel_kick(struct vcpu *v);
void kvm_hypercall_entry(unsigned nr, uint8_t entry[32]);
/* A trapped hypercall's result for rax: hypercall_dispatch, -EPERM (Xen's value) when the
 * guest was not at CPL 0, and the first -ENOSYS per hypercall and sub-op logged. */
int64_t kvm_hypercall_call(struct vcpu *v, bool cpl0, uint64_t nr, const uint64_t args[5]);
/* The signal that interrupts KVM_RUN (its do-nothing handler is installed once). */
int kvm_kick_signal(void);
void kvm_kick_signal_install(void);

/* kvm_hvm.c: the emulated-PC ops (accel.h hvm_init, irq_line, map_rom). */
int kvm_hvm_init(struct domain *d, char *why, size_t whylen);
/* The MSR filter (kvm.c): writes of the hypercall MSR, and of extra_msr when not 0, exit. */
int kvm_set_msr_filter(struct kvm_dom *kd, uint32_t extra_msr);
/* PV-on-HVM (kvm_hvm.c): the guest kernel's first GS_BASE write exits to kxend, which then
 * routes its hypercalls (hvm_kernel_entered) and lets later writes stay in KVM. */
int kvm_hvm_trap_kernel_entry(struct domain *d);
bool kvm_hvm_kernel_entry(struct vcpu *v);
int kvm_hvm_irq_line(struct domain *d, unsigned gsi, bool level);
int kvm_hvm_map_rom(struct domain *d, uint64_t gpa, const void *host, uint64_t len);
/* kvm_hvm_state.c: the PICs, IOAPIC and PIT in the save stream (accel.h hvm_save/load). */
int kvm_hvm_save(struct domain *d, struct kxend_save_ctx *ctx);
int kvm_hvm_load(struct domain *d, struct kxend_save_ctx *ctx);

/* kvm_irqchip.c: the in-kernel local APIC for guests that drive one (Linux PVH). */
int kvm_irqchip_lapic_create(struct domain *d);
int kvm_irqchip_vcpu_init(struct vcpu *v);
/* Sends the upcall vector as an MSI while one is wanted; returns when the vCPU's thread must
 * look again (kxen_system_time_ns; 0: nothing pending). */
uint64_t kvm_irqchip_upcall(struct vcpu *v, bool want);
bool kvm_irqchip_vcpu_started(struct vcpu *v);

/* kvm_xen.c: KVM's own Xen support for Linux PVH domains (accel.h linux_hypercalls and
 * evtchn_send); vcpu_init prepares a vCPU's state, vcpu_sync tells KVM the vCPU's current
 * vcpu_info and vector (its own thread, before each entry), handle_exit answers KVM_EXIT_XEN
 * (false: not a hypercall exit). */
bool kvm_xen_linux_hypercalls(struct domain *d);
bool kvm_xen_evtchn_enabled(struct domain *d);
int kvm_xen_evtchn_send(struct vcpu *v, uint32_t port);
void kvm_xen_vcpu_init(struct vcpu *v);
void kvm_xen_vcpu_sync(struct vcpu *v);
bool kvm_xen_handle_exit(struct vcpu *v);

/* kvm_state.c: the accelerator's get/set_cpu_state (KXEN_SREC_KVM_VCPU records). */
int kvm_get_cpu_state(struct vcpu *v, void *buf, uint32_t cap);
int kvm_set_cpu_state(struct vcpu *v, const void *buf, uint32_t len);

/* kvm_probe.c: /dev/kvm opened and its API version checked (fd or -errno); the accelerator's
 * probe. */
int kvm_open_system(void);
int kvm_probe(void);

/* kvm.c: a condition variable on CLOCK_MONOTONIC (timed waits immune to clock changes), and
 * a flat 4 GiB segment (base 0, 32-bit, present, DPL 0) of the given selector and type. */
void kvm_cond_init_monotonic(pthread_cond_t *c);
void kvm_seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type);

/* kvm.c: register access that knows about the kvm_run sync area. */
int kvm_vcpu_get_regs(struct vcpu *v, struct vcpu_regs *r);
int kvm_vcpu_set_regs(struct vcpu *v, const struct vcpu_regs *r);

/* The layout of the core's structs as one object file saw them at compile time. In a tree
 * where headers change while builds run, an object compiled against an older
 * kxend/domain.h can end up newer than the header and is then never rebuilt: the vCPU thread
 * writes cpu_time_ns where the rest of the program reads something else. Test programs
 * compare their own value with kvm_accel_layout_id() to name that case. */
#define KXEN_KVM_LAYOUT_ID                                                                         \
    ((uint64_t)sizeof(struct vcpu) << 48 ^ (uint64_t)sizeof(struct domain) << 32 ^                 \
     (uint64_t)offsetof(struct vcpu, cpu_time_ns) << 16 ^                                          \
     (uint64_t)offsetof(struct vcpu, wait_lock) << 8 ^ (uint64_t)sizeof(struct accel_ops))
uint64_t kvm_accel_layout_id(void);

#endif
