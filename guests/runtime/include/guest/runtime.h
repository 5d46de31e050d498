/* The runtime's entry contract: the boot code normalizes both entry paths into struct
 * boot_info, initializes traps, the hypercall page, events, timers, grants and the console,
 * enables interrupts and calls the guest program's main(). Returning from main() powers the
 * domain off (reason SHUTDOWN_poweroff when it returns 0, SHUTDOWN_crash otherwise). */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/boot_kind.h"

#define BOOT_MAX_MEMMAP 32
#define BOOT_CMDLINE_MAX 1024

struct boot_memmap_entry {
    uint64_t addr, size;
    uint32_t type; /* E820 type: 1 = RAM */
};

struct boot_info {
    int kind;               /* BOOT_KIND_PV or BOOT_KIND_PVH */
    const char *accel_path; /* "pv-entry (soft)" or "pvh-entry (kvm)" */
    char cmdline[BOOT_CMDLINE_MAX];
    struct boot_memmap_entry memmap[BOOT_MAX_MEMMAP];
    unsigned nr_memmap;
    uint64_t nr_pages;  /* RAM pages (from start_info or summed from the map) */
    uint64_t store_pfn; /* 0 = no xenstore ring */
    uint32_t store_evtchn;
    uint64_t console_pfn; /* 0 = no PV console */
    uint32_t console_evtchn;
    int memmap_source; /* where the map came from, see BOOT_MEMMAP_* */
};
#define BOOT_MEMMAP_HYPERCALL 0 /* XENMEM_memory_map */
#define BOOT_MEMMAP_NR_PAGES 1  /* start_info.nr_pages fallback */
#define BOOT_MEMMAP_PVH 2       /* hvm_start_info memmap */

extern struct boot_info boot_info;

/* The guest program. */
int main(void);

/* This domain's id from CPUID leaf base+4 (XEN_HVM_CPUID_DOMID_PRESENT), or -ENODEV. */
int xen_self_domid(void);

/* SCHEDOP_shutdown with reason; does not return. */
__attribute__((noreturn)) void guest_shutdown(unsigned reason);
/* Prints the message on the hypervisor console and shuts down with SHUTDOWN_crash. */
__attribute__((noreturn, format(printf, 1, 2))) void guest_panic(const char *fmt, ...);

static inline void local_irq_disable(void)
{
    __asm__ volatile("cli" ::: "memory");
}
static inline void local_irq_enable(void)
{
    __asm__ volatile("sti" ::: "memory");
}
static inline unsigned long local_save_flags(void)
{
    unsigned long f;
    __asm__ volatile("pushfq; popq %0" : "=r"(f)::"memory");
    return f;
}

/* Installed by traps.c: IDT with exception handlers and the event callback vector. */
#define EVTCHN_CALLBACK_VECTOR 0xf3
void traps_init(void);
/* Loads the IDT traps_init() filled on this vCPU (secondary vCPUs, smp.c). */
void traps_load(void);

#endif
