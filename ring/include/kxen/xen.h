/* kxen guest ABI, core part: hypercall numbers, domain ids, the shared_info page, the PV start
 * info page and guest handles. x86-64 only.
 *
 * Names, numbers and byte layouts are Xen's (the guest-visible ABI that kxen promises to keep);
 * ring/tests/test_abi_conformance checks every one against Debian's /usr/include/xen. The text
 * is kxen's own. Usable from hosted code (kxend, dom0 tools) and from freestanding guest code:
 * it needs only <stdint.h>. Never include it together with Xen's own headers in one file. */
#ifndef KXEN_XEN_H
#define KXEN_XEN_H

#include <stdint.h>

/* ---- Guest handles ----------------------------------------------------------------------
 * A hypercall argument that points into guest memory. Always 8 bytes, as in Xen. The guest
 * fills it with set_xen_guest_handle(); the hypervisor side reads .q, a *guest* address that
 * must be translated and bounds-checked, never dereferenced as a host pointer. */
#define __DEFINE_XEN_GUEST_HANDLE(name, type)                                                      \
    typedef union {                                                                                \
        type *p;                                                                                   \
        uint64_t q;                                                                                \
    } __guest_handle_##name;                                                                       \
    typedef union {                                                                                \
        const type *p;                                                                             \
        uint64_t q;                                                                                \
    } __guest_handle_const_##name
#define DEFINE_XEN_GUEST_HANDLE(name) __DEFINE_XEN_GUEST_HANDLE(name, name)
#define XEN_GUEST_HANDLE(name) __guest_handle_##name
#define XEN_GUEST_HANDLE_PARAM(name) XEN_GUEST_HANDLE(name)
/* Clears the whole 8 bytes first so that the handle is well defined on any pointer width. */
#define set_xen_guest_handle(hnd, val)                                                             \
    do {                                                                                           \
        (hnd).q = 0;                                                                               \
        (hnd).p = (val);                                                                           \
    } while (0)
/* Guest address held in a handle (hypervisor side). */
#define xen_guest_handle_addr(hnd) ((hnd).q)

typedef unsigned long xen_pfn_t;   /* a guest frame number */
typedef unsigned long xen_ulong_t; /* a register-wide hypercall value */
typedef uint16_t domid_t;

DEFINE_XEN_GUEST_HANDLE(char);
__DEFINE_XEN_GUEST_HANDLE(uchar, unsigned char);
DEFINE_XEN_GUEST_HANDLE(int);
__DEFINE_XEN_GUEST_HANDLE(uint, unsigned int);
DEFINE_XEN_GUEST_HANDLE(long);
__DEFINE_XEN_GUEST_HANDLE(ulong, unsigned long);
DEFINE_XEN_GUEST_HANDLE(void);
DEFINE_XEN_GUEST_HANDLE(uint64_t);
DEFINE_XEN_GUEST_HANDLE(xen_pfn_t);
DEFINE_XEN_GUEST_HANDLE(xen_ulong_t);

/* ---- Hypercall numbers (rax; arguments in rdi, rsi, rdx, r10, r8) ------------------------ */
#define __HYPERVISOR_set_trap_table 0
#define __HYPERVISOR_mmu_update 1
#define __HYPERVISOR_set_gdt 2
#define __HYPERVISOR_stack_switch 3
#define __HYPERVISOR_set_callbacks 4
#define __HYPERVISOR_fpu_taskswitch 5
#define __HYPERVISOR_sched_op_compat 6
#define __HYPERVISOR_platform_op 7
#define __HYPERVISOR_set_debugreg 8
#define __HYPERVISOR_get_debugreg 9
#define __HYPERVISOR_update_descriptor 10
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_multicall 13
#define __HYPERVISOR_update_va_mapping 14
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_event_channel_op_compat 16
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_console_io 18
#define __HYPERVISOR_physdev_op_compat 19
#define __HYPERVISOR_grant_table_op 20
#define __HYPERVISOR_vm_assist 21
#define __HYPERVISOR_update_va_mapping_otherdomain 22
#define __HYPERVISOR_iret 23
#define __HYPERVISOR_vcpu_op 24
#define __HYPERVISOR_set_segment_base 25
#define __HYPERVISOR_mmuext_op 26
#define __HYPERVISOR_xsm_op 27
#define __HYPERVISOR_nmi_op 28
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_callback_op 30
#define __HYPERVISOR_xenoprof_op 31
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_physdev_op 33
#define __HYPERVISOR_hvm_op 34
#define __HYPERVISOR_sysctl 35
#define __HYPERVISOR_domctl 36
#define __HYPERVISOR_kexec_op 37
#define __HYPERVISOR_tmem_op 38
#define __HYPERVISOR_argo_op 39
#define __HYPERVISOR_xenpmu_op 40
#define __HYPERVISOR_dm_op 41
#define __HYPERVISOR_hypfs_op 42
#define __HYPERVISOR_arch_0 48
#define __HYPERVISOR_arch_1 49
#define __HYPERVISOR_arch_2 50
#define __HYPERVISOR_arch_3 51
#define __HYPERVISOR_arch_4 52
#define __HYPERVISOR_arch_5 53
#define __HYPERVISOR_arch_6 54
#define __HYPERVISOR_arch_7 55
/* One hypercall page holds 4096 / 32 = 128 entry stubs of 32 bytes each. */
#define KXEN_HYPERCALL_STUB_SIZE 32

/* ---- Virtual IRQs bound with EVTCHNOP_bind_virq ----------------------------------------- */
#define VIRQ_TIMER 0      /* per vCPU: timer expired */
#define VIRQ_DEBUG 1      /* per vCPU: dump debug state */
#define VIRQ_CONSOLE 2    /* global, dom0: emergency console input */
#define VIRQ_DOM_EXC 3    /* global, dom0: a domain changed state (e.g. shut down) */
#define VIRQ_TBUF 4       /* global, dom0: trace records */
#define VIRQ_DEBUGGER 6   /* global, dom0: a domain paused for a debugger */
#define VIRQ_XENOPROF 7   /* per vCPU */
#define VIRQ_CON_RING 8   /* global, dom0: hypervisor console ring has data */
#define VIRQ_PCPU_STATE 9 /* global, dom0 */
#define VIRQ_MEM_EVENT 10 /* global, dom0 */
#define VIRQ_ARGO 11      /* global */
#define VIRQ_ENOMEM 12    /* global, dom0 */
#define VIRQ_XENPMU 13    /* per vCPU */
#define VIRQ_ARCH_0 16
#define VIRQ_ARCH_1 17
#define VIRQ_ARCH_2 18
#define VIRQ_ARCH_3 19
#define VIRQ_ARCH_4 20
#define VIRQ_ARCH_5 21
#define VIRQ_ARCH_6 22
#define VIRQ_ARCH_7 23
#define NR_VIRQS 24

/* ---- console_io(cmd, count, buf) -------------------------------------------------------- */
#define CONSOLEIO_write 0
#define CONSOLEIO_read 1

/* ---- vm_assist(cmd, type) --------------------------------------------------------------- */
#define VMASST_CMD_enable 0
#define VMASST_CMD_disable 1
#define VMASST_TYPE_writable_pagetables 2
#define VMASST_TYPE_runstate_update_flag 5

/* ---- Domain ids ------------------------------------------------------------------------- */
#define DOMID_FIRST_RESERVED 0x7FF0U /* ids from here up are not real domains */
#define DOMID_SELF 0x7FF0U           /* "the calling domain" */
#define DOMID_IO 0x7FF1U
#define DOMID_XEN 0x7FF2U
#define DOMID_COW 0x7FF3U
#define DOMID_INVALID 0x7FF4U
#define DOMID_IDLE 0x7FFFU
#define DOMID_MASK 0x7FFFU

/* ---- multicall(entries, nr) ------------------------------------------------------------- */
struct multicall_entry {
    xen_ulong_t op, result;
    xen_ulong_t args[6];
};
typedef struct multicall_entry multicall_entry_t;
DEFINE_XEN_GUEST_HANDLE(multicall_entry_t);

/* ---- Event channels, 2-level ABI -------------------------------------------------------- */
/* One pending bit and one mask bit per port in shared_info: 64 words of 64 bits. */
#define EVTCHN_2L_NR_CHANNELS (sizeof(xen_ulong_t) * sizeof(xen_ulong_t) * 64)
#define NR_EVENT_CHANNELS EVTCHN_2L_NR_CHANNELS

/* ---- Time, per vCPU (pvclock) -----------------------------------------------------------
 * The hypervisor bumps version to odd before an update and to even after it; a reader retries
 * while version is odd or changed. system_time(now) = system_time + scale(tsc - tsc_timestamp)
 * where scale shifts by tsc_shift then multiplies by tsc_to_system_mul / 2^32. */
struct vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp; /* TSC when the fields below were sampled */
    uint64_t system_time;   /* ns since the domain booted, at tsc_timestamp */
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags; /* XEN_PVCLOCK_* */
    uint8_t pad1[2];
}; /* 32 bytes */
typedef struct vcpu_time_info vcpu_time_info_t;
DEFINE_XEN_GUEST_HANDLE(vcpu_time_info_t);
#define XEN_PVCLOCK_TSC_STABLE_BIT (1 << 0)
#define XEN_PVCLOCK_GUEST_STOPPED (1 << 1)

/* x86-64 specific part of vcpu_info. */
struct arch_vcpu_info {
    unsigned long cr2; /* fault address of the last page fault (PV) */
    unsigned long pad;
};
typedef struct arch_vcpu_info arch_vcpu_info_t;

/* Per-vCPU event delivery state. To raise an upcall the hypervisor sets the port's pending bit,
 * then the word's bit in evtchn_pending_sel, then evtchn_upcall_pending; the guest clears them
 * in the reverse order. evtchn_upcall_mask blocks upcalls (PV guests' "interrupt flag"). */
struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    xen_ulong_t evtchn_pending_sel;
    struct arch_vcpu_info arch;
    struct vcpu_time_info time;
}; /* 64 bytes */
typedef struct vcpu_info vcpu_info_t;

/* x86 specific part of shared_info. */
struct arch_shared_info {
    unsigned long max_pfn; /* highest guest frame + 1 (PV) */
    xen_pfn_t pfn_to_mfn_frame_list_list;
    unsigned long nmi_reason;
    unsigned long p2m_cr3;
    unsigned long p2m_vaddr;
    unsigned long p2m_generation;
};
typedef struct arch_shared_info arch_shared_info_t;

#define XEN_LEGACY_MAX_VCPUS 32

/* The shared_info page: one per domain, mapped by the guest with
 * XENMEM_add_to_physmap(XENMAPSPACE_shared_info) or given by start_info (PV). */
struct shared_info {
    struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
    xen_ulong_t evtchn_pending[sizeof(xen_ulong_t) * 8];
    xen_ulong_t evtchn_mask[sizeof(xen_ulong_t) * 8];
    /* Wall clock at system time 0 (same odd/even version protocol as vcpu_time_info). */
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
    uint32_t wc_sec_hi;
    struct arch_shared_info arch;
};
typedef struct shared_info shared_info_t;

/* ---- PV start info (the page rsi points to at a PV guest's 64-bit entry) ---------------- */
#define KXEN_PV_START_MAGIC "xen-3.0-x86_64" /* what start_info.magic starts with */
#define MAX_GUEST_CMDLINE 1024
struct start_info {
    char magic[32]; /* "xen-<version>-<platform>", NUL-padded */
    unsigned long nr_pages;
    unsigned long shared_info; /* guest address of the shared_info page */
    uint32_t flags;            /* SIF_* */
    xen_pfn_t store_mfn;       /* xenstore ring frame */
    uint32_t store_evtchn;
    union {
        struct {
            xen_pfn_t mfn; /* console ring frame */
            uint32_t evtchn;
        } domU;
        struct {
            uint32_t info_off;
            uint32_t info_size;
        } dom0;
    } console;
    /* Filled on first boot only, not on resume. */
    unsigned long pt_base;      /* virtual address of the boot page tables */
    unsigned long nr_pt_frames; /* number of frames of those page tables */
    unsigned long mfn_list;     /* virtual address of the frame list */
    unsigned long mod_start;    /* virtual address (or pfn, SIF_MOD_START_PFN) of the module */
    unsigned long mod_len;      /* module size in bytes */
    int8_t cmd_line[MAX_GUEST_CMDLINE];
    unsigned long first_p2m_pfn;
    unsigned long nr_p2m_frames;
};
typedef struct start_info start_info_t;

#define SIF_PRIVILEGED (1 << 0)
#define SIF_INITDOMAIN (1 << 1)
#define SIF_MULTIBOOT_MOD (1 << 2)
#define SIF_MOD_START_PFN (1 << 3)
#define SIF_VIRT_P2M_4TOOLS (1 << 4)
#define SIF_PM_MASK (0xFF << 8)

#endif
