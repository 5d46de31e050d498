/* From either entry path to main(): hypercall page, boot information, events, timers, grants,
 * consoles. See include/guest/runtime.h for the contract. */
#include <stdarg.h>
#include <stdint.h>

#include <kxen/arch-x86/cpuid.h>
#include <kxen/errno.h>
#include <kxen/hvm/params.h>
#include <kxen/hvm/start_info.h>
#include <kxen/memory.h>
#include <kxen/sched.h>
#include <kxen/xen.h>

#include "guest/console.h"
#include "guest/evtchn.h"
#include "guest/gnttab.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/time.h"
#include "guest/xenbus.h"

struct boot_info boot_info;

void guest_start(int kind, uintptr_t info);

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

/* Last resort before any hypercall works: QEMU's debug console port, then stop. Used only when
 * no Xen-compatible hypervisor is present (kxend never sees these writes). */
__attribute__((noreturn)) static void early_fail(const char *msg)
{
    for (const char *p = "kxen guest: "; *p; p++)
        outb(0xe9, (uint8_t)*p);
    for (; *msg; msg++)
        outb(0xe9, (uint8_t)*msg);
    outb(0xe9, '\n');
    outb(0xf4, 0x10); /* QEMU isa-debug-exit, if present: exit status 0x21 */
    for (;;)
        __asm__ volatile("cli; hlt");
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* Base leaf carrying "XenVMMXenVMM", scanning as Linux does; 0 when absent. */
static uint32_t xen_cpuid_base(void)
{
    for (uint32_t base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000;
         base += 0x100) {
        uint32_t a, b, c, d;
        cpuid(base, &a, &b, &c, &d);
        if (b == XEN_CPUID_SIGNATURE_EBX && c == XEN_CPUID_SIGNATURE_ECX &&
            d == XEN_CPUID_SIGNATURE_EDX && a - base >= 2)
            return base;
    }
    return 0;
}

static int boot_kind;

int xen_self_domid(void)
{
    uint32_t base = xen_cpuid_base();
    if (!base)
        return -XEN_ENODEV;
    uint32_t a, b, c, d, max;
    cpuid(base, &max, &b, &c, &d);
    if (max < base + 4)
        return -XEN_ENODEV;
    cpuid(base + 4, &a, &b, &c, &d);
    return (a & XEN_HVM_CPUID_DOMID_PRESENT) ? (int)(c & 0xffff) : -XEN_ENODEV;
}

int hypercall_page_install(void)
{
    if (boot_kind == BOOT_KIND_PVH) {
        uint32_t base = xen_cpuid_base();
        if (!base)
            return -XEN_ENODEV;
        uint32_t pages, msr, c, d;
        cpuid(base + 2, &pages, &msr, &c, &d);
        if (pages < 1)
            return -XEN_ENODEV;
        uint64_t gpa = (uintptr_t)hypercall_page; /* page index 0 in the low bits */
        __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)gpa), "d"((uint32_t)(gpa >> 32))
                         : "memory");
    }
    /* The page starts as int3 (boot.S); whoever fills it must have replaced the first stub. */
    return (uint8_t)READ_ONCE(hypercall_page[0]) == 0xcc ? -XEN_ENOEXEC : 0;
}

extern char __image_start[], __image_end[];

/* The one check for a ring frame the hypervisor hands us (store, console): not 0, below the
 * 40-bit guest-physical limit, and not a page of our own image. Not checked against the
 * memory map: Xen's builders may place these pages in ranges the map lists as reserved. */
static bool boot_ring_pfn_ok(uint64_t pfn)
{
    uint64_t addr = pfn << PAGE_SHIFT;
    if (pfn == 0 || pfn >= (1ULL << (40 - PAGE_SHIFT)))
        return false;
    return addr + PAGE_SIZE <= (uintptr_t)__image_start || addr >= (uintptr_t)__image_end;
}

static void memmap_add(uint64_t addr, uint64_t size, uint32_t type)
{
    if (boot_info.nr_memmap < BOOT_MAX_MEMMAP)
        boot_info.memmap[boot_info.nr_memmap++] = (struct boot_memmap_entry){addr, size, type};
    if (type == KXEN_E820_RAM)
        boot_info.nr_pages += size >> PAGE_SHIFT;
}

/* PV: everything from start_info (copied once), the map from XENMEM_memory_map. */
static void boot_info_from_pv(const struct start_info *si_guest)
{
    struct start_info si;
    memcpy(&si, si_guest, sizeof(si));
    if (memcmp(si.magic, "xen-", 4) != 0)
        guest_panic("boot: start_info at %p has no \"xen-\" magic", (const void *)si_guest);
    boot_info.accel_path = "pv-entry (soft)";
    si.cmd_line[MAX_GUEST_CMDLINE - 1] = 0;
    strlcpy(boot_info.cmdline, (const char *)si.cmd_line, sizeof(boot_info.cmdline));
    boot_info.store_pfn = si.store_mfn;
    boot_info.store_evtchn = si.store_evtchn;
    boot_info.console_pfn = si.console.domU.mfn;
    boot_info.console_evtchn = si.console.domU.evtchn;

    static struct kxen_e820_entry map[BOOT_MAX_MEMMAP];
    struct xen_memory_map mm = {.nr_entries = BOOT_MAX_MEMMAP};
    set_xen_guest_handle(mm.buffer, map);
    long rc = HYPERVISOR_memory_op(XENMEM_memory_map, &mm);
    if (rc == 0 && mm.nr_entries > 0 && mm.nr_entries <= BOOT_MAX_MEMMAP) {
        boot_info.memmap_source = BOOT_MEMMAP_HYPERCALL;
        for (unsigned i = 0; i < mm.nr_entries; i++)
            memmap_add(map[i].addr, map[i].size, map[i].type);
    } else {
        boot_info.memmap_source = BOOT_MEMMAP_NR_PAGES;
        memmap_add(0, si.nr_pages << PAGE_SHIFT, KXEN_E820_RAM);
    }
    if (si.nr_pages) /* the builder's count wins over the sum of the map */
        boot_info.nr_pages = si.nr_pages;
}

static uint64_t hvm_param(uint32_t index)
{
    struct xen_hvm_param p = {.domid = DOMID_SELF, .index = index};
    long rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
    return rc ? 0 : p.value;
}

/* PVH: command line and map from hvm_start_info (copied once), rings from HVM params. */
static void boot_info_from_pvh(const struct hvm_start_info *hsi_guest)
{
    struct hvm_start_info hsi;
    memcpy(&hsi, hsi_guest, sizeof(hsi));
    if (hsi.magic != XEN_HVM_START_MAGIC_VALUE)
        guest_panic("boot: hvm_start_info at %p has magic 0x%x, expected 0x%x",
                    (const void *)hsi_guest, hsi.magic, XEN_HVM_START_MAGIC_VALUE);
    boot_info.accel_path = "pvh-entry (kvm)";
    if (hsi.cmdline_paddr) {
        /* bounded: the string is not trusted to be terminated */
        const char *src = (const char *)(uintptr_t)hsi.cmdline_paddr;
        size_t n = strnlen(src, sizeof(boot_info.cmdline) - 1);
        memcpy(boot_info.cmdline, src, n);
        boot_info.cmdline[n] = 0;
    }
    boot_info.memmap_source = BOOT_MEMMAP_PVH;
    if (hsi.version >= 1 && hsi.memmap_paddr) {
        const struct hvm_memmap_table_entry *e =
            (const struct hvm_memmap_table_entry *)(uintptr_t)hsi.memmap_paddr;
        for (uint32_t i = 0; i < hsi.memmap_entries && i < BOOT_MAX_MEMMAP; i++) {
            struct hvm_memmap_table_entry copy;
            memcpy(&copy, &e[i], sizeof(copy));
            memmap_add(copy.addr, copy.size, copy.type);
        }
    }
    boot_info.store_pfn = hvm_param(HVM_PARAM_STORE_PFN);
    boot_info.store_evtchn = (uint32_t)hvm_param(HVM_PARAM_STORE_EVTCHN);
    boot_info.console_pfn = hvm_param(HVM_PARAM_CONSOLE_PFN);
    boot_info.console_evtchn = (uint32_t)hvm_param(HVM_PARAM_CONSOLE_EVTCHN);
}

__attribute__((noreturn)) void guest_shutdown(unsigned reason)
{
    struct sched_shutdown s = {.reason = reason};
    for (;;) {
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
        __asm__ volatile("cli; hlt");
    }
}

__attribute__((noreturn)) void guest_panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = guest_vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    size_t len = n < (int)sizeof(buf) - 1 ? (size_t)n : sizeof(buf) - 2;
    buf[len++] = '\n';
    xen_console_write("PANIC: ", 7);
    xen_console_write(buf, len);
    guest_shutdown(SHUTDOWN_crash);
}

void guest_start(int kind, uintptr_t info)
{
    boot_kind = kind;
    traps_init();
    int rc = hypercall_page_install();
    if (rc == -XEN_ENODEV)
        early_fail("no Xen hypervisor (no \"XenVMMXenVMM\" CPUID leaf)");
    if (rc)
        early_fail("hypercall page not filled by the hypervisor");

    boot_info.kind = kind;
    if (kind == BOOT_KIND_PV)
        boot_info_from_pv((const struct start_info *)info);
    else
        boot_info_from_pvh((const struct hvm_start_info *)info);

    rc = evtchn_init();
    if (rc)
        guest_panic("boot: event channel setup failed (%d)", rc);
    rc = timer_init();
    if (rc)
        guest_panic("boot: VIRQ_TIMER binding failed (%d)", rc);
    rc = gnttab_init();
    if (rc)
        hv_printf("boot: warning: grant table setup failed (%d); grants unavailable\n", rc);
    /* A ring without an event channel is not connected (a builder run without xenstored or
     * xenconsoled): not an error, just nothing to use. */
    if (boot_info.console_evtchn == 0)
        boot_info.console_pfn = 0;
    if (boot_info.store_evtchn == 0)
        boot_info.store_pfn = 0;
    if (boot_info.console_pfn && !boot_ring_pfn_ok(boot_info.console_pfn)) {
        hv_printf("boot: warning: console pfn 0x%lx is not a usable RAM page; no PV console\n",
                  (unsigned long)boot_info.console_pfn);
        boot_info.console_pfn = 0;
    }
    if (boot_info.store_pfn && !boot_ring_pfn_ok(boot_info.store_pfn)) {
        hv_printf("boot: warning: store pfn 0x%lx is not a usable RAM page; no xenstore\n",
                  (unsigned long)boot_info.store_pfn);
        boot_info.store_pfn = 0;
    }
    if (boot_info.console_pfn) {
        rc = pvcons_init((void *)(uintptr_t)(boot_info.console_pfn << PAGE_SHIFT),
                         boot_info.console_evtchn);
        if (rc)
            hv_printf("boot: warning: PV console setup failed (%d)\n", rc);
    }
    if (boot_info.store_pfn) {
        rc = xenbus_init((void *)(uintptr_t)(boot_info.store_pfn << PAGE_SHIFT),
                         boot_info.store_evtchn);
        if (rc)
            hv_printf("boot: warning: xenstore ring setup failed (%d)\n", rc);
    }
    local_irq_enable();
    rc = main();
    guest_shutdown(rc == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}
