/* kxend's domain and vCPU objects: the contract between the core, the accelerators and the
 * hypercall families. Owned by the kxend core; other files reach state through these fields
 * and the functions declared here.
 *
 * Threading rules (docs/soft-accel.md, kept on both accelerators so one code path serves both):
 * - Guest code of a domain runs on accelerator-owned threads (soft: one thread for all vCPUs of
 *   the domain, round robin; kvm: one thread per vCPU).
 * - Hypercalls run on the calling vCPU's thread and may write guest memory directly.
 * - Any other thread (control socket, dom0 eventfd poller, another domain's vCPU) that needs to
 *   change guest-shared words (event-channel pending bits, vcpu_info, grant flags it owns) does
 *   not write them: it records the change host-side (e.g. evtchn_raise() sets a host-pending
 *   bit) and calls vcpu_kick(); the vCPU thread applies it in domain_sync_before_entry() before
 *   it next enters the guest.
 */
#ifndef KXEND_DOMAIN_H
#define KXEND_DOMAIN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define KXEN_PAGE_SHIFT 12
#define KXEN_PAGE_SIZE 4096ull
#define KXEN_MAX_VCPUS 32     /* XEN_LEGACY_MAX_VCPUS: every vcpu_info fits shared_info */
#define KXEN_MAX_DOMID 0x7fef /* DOMID_FIRST_RESERVED - 1 */
#define KXEN_HVM_NR_PARAMS 64

struct accel_ops;
struct evtchn_domain; /* evtchn.c */
struct gnttab_domain; /* gnttab.c */
struct hvm_domain;    /* hvm_build.c */
struct io_domain;     /* io.c */

enum vcpu_state {
    VCPU_DOWN, /* not brought up (secondary vCPUs before VCPUOP_up) */
    VCPU_RUNNABLE,
    VCPU_BLOCKED, /* SCHEDOP_block / poll: waits for an event or its timer */
    VCPU_STOPPED, /* domain shut down or being destroyed */
};

enum domain_state {
    DOM_BUILDING, /* created, image being loaded; vCPUs not started */
    DOM_RUNNING,
    DOM_PAUSED,
    DOM_SHUTDOWN, /* guest asked (SCHEDOP_shutdown); reason in shutdown_reason */
    DOM_DYING,
};

/* Boot register state chosen by the loader, applied by the accelerator. */
enum vcpu_boot_mode {
    VCPU_BOOT_LONG64, /* Xen PV-style: 64-bit, flat, rsi = start_info gpa (soft) */
    VCPU_BOOT_PROT32, /* PVH: 32-bit protected mode, paging off, ebx = hvm_start_info gpa */
    VCPU_BOOT_REAL16, /* HVM: reset state, real mode (emulated-hardware guests) */
};

struct vcpu_boot {
    enum vcpu_boot_mode mode;
    uint64_t entry;    /* guest-physical entry point */
    uint64_t rsi, rbx; /* start-info pointers per mode */
    uint64_t rsp;
    /* The guest drives a local APIC itself (Linux PVH: x2APIC, INIT/SIPI, EOI of the upcall
     * vector): the accelerator gives it one and delivers upcalls through it. */
    bool lapic;
    /* An emulated PC that uses Xen's interface (PV-on-HVM): CPUID shows Xen's leaves and the
     * accelerator routes its kernel's hypercall instructions to kxend once that kernel runs
     * (hvm_kernel_entered). */
    bool xen_hvm;
};

/* Why a vCPU left guest code, counted per vCPU by the accelerator (xl vcpu-exits): a port
 * access (soft: each IN/OUT hook), an MMIO access, a hypercall (either entry), a halt, and
 * everything else (interrupt windows, signals, the soft ticker's stops, exceptions). */
enum vcpu_exit_kind {
    VCPU_EXIT_IO,
    VCPU_EXIT_MMIO,
    VCPU_EXIT_HYPERCALL,
    VCPU_EXIT_HALT,
    VCPU_EXIT_OTHER,
    VCPU_EXIT_KINDS,
};

/* General registers, as every accelerator can read and write them. */
struct vcpu_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

struct vcpu {
    struct domain *dom;
    unsigned id;
    _Atomic int state; /* enum vcpu_state */
    void *accel_priv;  /* the accelerator's per-vCPU state */

    /* Event delivery (2-level ABI). vcpu_info lives in guest RAM: in shared_info until the
     * guest moves it with VCPUOP_register_vcpu_info. ~0 = not mapped yet. */
    uint64_t vcpu_info_gpa;
    uint8_t upcall_vector; /* HVM_PARAM_CALLBACK_IRQ vector, 0 = none */
    _Atomic bool kicked;   /* another thread wants this vCPU to sync and re-check */
    /* An HVM vCPU 0 whose upcall holds an interrupt line raised (hvm_op.c): when to look
     * again whether the guest cleared it (system time; 0 = no line raised). Own thread. */
    uint64_t callback_line_recheck_ns;

    /* Timers: absolute system time in ns (vcpu_time_info clock), 0 = none. */
    _Atomic uint64_t singleshot_deadline_ns;
    uint64_t periodic_period_ns;
    uint64_t periodic_next_ns; /* next periodic tick (system time), 0 = timer off */
    uint64_t runstate_gpa;     /* VCPUOP_register_runstate_memory_area, ~0 = none */
    uint64_t runstate_time[4]; /* ns spent in RUNSTATE_running/runnable/blocked/offline */
    uint64_t runstate_entry_ns;
    int runstate;
    uint64_t poll_deadline_ns; /* SCHEDOP_poll timeout */
    uint64_t poll_ports_gpa;   /* SCHEDOP_poll ports array (guest address), count below */
    unsigned poll_nr_ports;

    pthread_mutex_t wait_lock; /* guards waiting on wait_cond (blocked/paused vCPUs) */
    pthread_cond_t wait_cond;

    /* Boot state from the loader (applied at start), guest run time, and "halted with
     * interrupts off" (only a kick for destroy ends it). */
    struct vcpu_boot boot;
    bool boot_set;
    _Atomic uint64_t cpu_time_ns;
    bool halted_noirq;

    /* Host scheduling the administrator chose (ctl_sched.c: xl vcpu-pin, sched-credit). The
     * control thread writes the wish and bumps sched_gen; the vCPU's own thread applies it
     * before its next entry (an affinity or nice value only sticks on the calling thread). */
    uint64_t affinity[4];       /* host CPUs 0..255 the vCPU may run on (once sched_gen > 0) */
    _Atomic unsigned sched_gen; /* bumped on every change; 0: never set (any CPU, nice 0) */
    unsigned sched_seen;        /* the generation this thread applied */
    _Atomic int host_cpu;       /* 1 + host CPU of the last entry, 0 before the first */
    uint64_t cap_period_start_ns, cap_period_cpu_ns; /* the cap's duty-cycle window */

    /* Written only by the vCPU's own thread, read by the control thread (relaxed: a count). */
    _Atomic uint64_t exits[VCPU_EXIT_KINDS];
};

/* On the vCPU's thread: one more exit of this kind (no locked add: the thread is the only
 * writer). */
static inline void vcpu_count_exit(struct vcpu *v, enum vcpu_exit_kind kind)
{
    uint64_t n = atomic_load_explicit(&v->exits[kind], memory_order_relaxed);
    atomic_store_explicit(&v->exits[kind], n + 1, memory_order_relaxed);
}

struct domain {
    uint16_t domid;
    char name[64];
    uint8_t uuid[16];
    uint32_t ssidref;
    bool privileged; /* driver domains / the control domain's guests: may map */
    uint16_t target; /* domain this one is device model for, or DOMID_INVALID */

    /* Guest RAM: one memfd, mapped MAP_SHARED in kxend; dom0 processes map the same memfd. */
    int mem_fd;
    uint8_t *ram;
    uint64_t ram_size;     /* bytes, multiple of the page size */
    uint64_t max_ram_size; /* maxmem */
    /* Dirty tracking for save/migrate: one bit per page, set by guest writes (accelerator)
     * and by kxend's own writes through guest_mem.c. NULL when tracking is off. */
    _Atomic uint64_t *dirty_bitmap;
    /* Migration downtime as the guest sees it (CLOCK_REALTIME ns, comparable between the
     * hosts' kxends): when a pause or suspend last stopped its vCPUs, and the first vCPU
     * entry after the last unpause (stamp_entry armed by the unpause). */
    _Atomic uint64_t stop_ns, first_entry_ns;
    _Atomic bool stamp_entry;
    /* Ballooning (memory_op.c): one bit per page the guest gave back with
     * XENMEM_decrease_reservation (a hole in the memfd until populate_physmap returns it),
     * and their count; the domain holds ram_size - nr_ballooned pages. Under lock. */
    uint64_t *ballooned;
    uint64_t nr_ballooned;

    /* Xen's credit scheduler parameters as the host maps them (ctl_sched.c). */
    _Atomic unsigned sched_weight; /* 1..65535 (0: Xen's default 256): the threads' nice */
    _Atomic unsigned sched_cap;    /* % of one host CPU per vCPU, 0 = no cap: a duty cycle */
    /* % of the guest's time a migration takes away (KXEN_DIRTY_THROTTLE, 0 = none): joins
     * sched_cap's duty cycle while the dirty log is on, so a guest that dirties memory faster
     * than it is sent slows down until the pre-copy converges. */
    _Atomic unsigned migrate_throttle;
    /* The guest's system time minus kxend's (time.c): 0 for a domain built here; a restored
     * one goes on from the time it was saved at, whatever this kxend's age. */
    _Atomic int64_t time_offset_ns;
    /* The accelerator writes the guest's pvclock itself (KVM's Xen support): its clock is the
     * accelerator's, so a restore keeps time_offset_ns at 0 (the offset would apply to the
     * guest's timeouts but not to the clock it reads them from, and every timer would fire
     * late by the time the domain spent saved). */
    bool clock_by_accel;

    const struct accel_ops *accel;
    void *accel_priv;

    pthread_mutex_t lock;     /* domain state, params, evtchn and gnttab tables */
    _Atomic int state;        /* enum domain_state */
    unsigned shutdown_reason; /* SHUTDOWN_* when state == DOM_SHUTDOWN */
    uint64_t create_time_ns;

    /* The special pages the domain builder places (guest pfns; 0 = none). */
    uint64_t start_info_pfn, shared_info_pfn, store_pfn, console_pfn;
    /* KXEN_GNTTAB_MAX_FRAMES pages reserved for grant frames a PV-entry guest gets from
     * GNTTABOP_setup_table without naming them itself (excluded from the memory map). */
    uint64_t gnttab_base_pfn;
    /* First pfn of the special-page region the loader placed at the top of RAM (excluded
     * from the memory map the guest sees); ram_size >> 12 when none. */
    uint64_t reserved_base_pfn;
    uint64_t hypercall_page_gpa; /* soft: filled by the builder; kvm: by the MSR write */
    uint64_t hvm_params[KXEN_HVM_NR_PARAMS];
    uint64_t shared_info_gpa; /* where shared_info lives in guest RAM now */

    struct evtchn_domain *evtchn;
    struct gnttab_domain *gnttab;
    struct io_domain *io; /* emulated port and MMIO regions (io.h) */
    /* An emulated PC (HVM): firmware, device instances. NULL for PV and PVH domains; set by
     * the HVM builder before any vCPU exists and kept until the domain is freed. */
    struct hvm_domain *hvm;

    /* Hypervisor console (console_io writes): a ring kept for `xl dmesg`. */
    char *console_buf;
    size_t console_len, console_cap;
    uint64_t watchdog_deadline_ns; /* SCHEDOP_watchdog (one per domain), 0 = none */
    uint32_t watchdog_timeout_s;
    uint64_t console_total; /* bytes ever written (console_buf keeps the newest) */
    uint64_t console_floor; /* bytes before this offset were cleared */
    pthread_mutex_t console_lock;

    unsigned nr_vcpus;
    struct vcpu *vcpus[KXEN_MAX_VCPUS];

    /* Reference count: the domain table holds one; dom0 mappings and in-flight control
     * requests hold others. Freed when it drops to zero after destroy. */
    _Atomic int refs;
};

/* Domain table (domain.c). Lookups return a referenced domain; drop with domain_put(). */
struct domain *domain_get(uint16_t domid);
void domain_put(struct domain *d);

/* Wakes a vCPU from guest code or from waiting so it re-checks events, timers and state. */
void vcpu_kick(struct vcpu *v);
void domain_kick_all(struct domain *d);

/* Run on a vCPU thread before each guest entry: applies host-side pending changes
 * (event-channel bits raised by other threads, expired timers) to guest-shared memory.
 * Returns true when an upcall should be delivered to this vCPU. */
bool domain_sync_before_entry(struct vcpu *v);

/* The guest asked to stop (SCHEDOP_shutdown / remote shutdown). */
void domain_shutdown(struct domain *d, unsigned reason);

/* kxend's system time (ns since it started): the clock of every deadline it keeps, and the
 * guests' clock in vcpu_time_info plus each domain's time_offset_ns. */
uint64_t kxen_system_time_ns(void);
/* The system time domain d sees (kxen_system_time_ns plus its offset). */
uint64_t domain_time_ns(const struct domain *d);
/* Guest time tg on kxend's clock (a guest's absolute timeout), and back. */
uint64_t domain_time_to_host(const struct domain *d, uint64_t tg);
/* The host TSC frequency in kHz (the calibration of the pvclock scale). */
uint32_t kxen_tsc_khz(void);
/* A restored domain's clock goes on from guest_now_ns (the saved time); its shared_info wall
 * clock is set again so that it plus the system time still gives the real time. */
void time_restore(struct domain *d, uint64_t guest_now_ns);

#endif
