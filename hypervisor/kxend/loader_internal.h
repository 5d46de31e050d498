/* Loader-private helpers shared by the domain builder's files (loader*.c): the refusal
 * formatter and the overflow-free range check every untrusted offset goes through. */
#ifndef KXEND_LOADER_INTERNAL_H
#define KXEND_LOADER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxend/gnttab.h"

/* Writes the reason into msg (when there is room) and returns rc. */
int loader_fail(char *msg, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* [off, off+len) inside a buffer of size total, without overflow. */
static inline bool loader_in_range(uint64_t off, uint64_t len, size_t total)
{
    return off <= total && len <= total - off;
}

struct domain;

/* Special pages, from the top of RAM down: start info, shared_info, store ring, console ring,
 * then the grant frames. */
#define LOADER_SPECIAL_PAGES (4u + KXEN_GNTTAB_MAX_FRAMES)

/* Zeroes the special pages from pfn base up and records them in d (and its store and
 * console HVM params, with their event channels), in the order above; PV, PVH and HVM
 * domains alike (an HVM guest has no start_info and places its own shared_info, but the
 * page stays reserved). */
void loader_place_special_pages(struct domain *d, uint64_t base, uint32_t store_evtchn,
                                uint32_t console_evtchn);

/* Reads the ramdisk open on fd (a regular file, whole) into guest RAM at the first page
 * boundary at or above image_end, refusing one that would reach limit (the special pages). */
int loader_ramdisk_load(struct domain *d, int fd, uint64_t image_end, uint64_t limit, uint64_t *gpa,
                        uint64_t *size, char *msg, size_t msglen);

/* PVH: writes hvm_start_info (version 1), the memory map (RAM from 0 up to ram_end, then
 * the special pages and whatever lies below maxmem reserved), the module list (the ramdisk
 * as module 0, if any), the command line and the ACPI RSDP's address (0: none) into the one
 * page at pg. */
void loader_pvh_start_info(struct domain *d, uint64_t pg, uint64_t ram_end, const char *cmdline,
                           uint64_t ramdisk_gpa, uint64_t ramdisk_size, uint64_t rsdp);

/* Linux PVH (loader_pvh.c): rewrites the kernel's two hypercall instructions, VMMCALL in
 * xen_hypercall_amd and VMCALL in xen_hypercall_intel, found by pattern in the loaded image
 * [lo, hi), into kxen's port trap. Returns how many were rewritten (0 when the kernel has
 * none, e.g. one that still fills a hypercall page). */
unsigned loader_pvh_patch_hypercalls(struct domain *d, uint64_t lo, uint64_t hi);
/* Linux PVH: the domain's hypercall transport, decided once at build time and logged (kxend.log
 * and `xl dmesg`): the accelerator's own (accel_ops.linux_hypercalls: KVM's Xen intercept)
 * when it has one, else the rewrite above. */
void loader_pvh_hypercalls(struct domain *d, uint64_t lo, uint64_t hi);

/* Linux PVH: port 0xE9 (xen_raw_printk and earlyprintk=xen when console_io fails) goes into
 * the domain's hypervisor console, read with `xl dmesg`. 0 or a negative errno. */
int loader_pvh_debug_port(struct domain *d);

/* Linux PVH (loader_acpi.c): RSDP, XSDT, FADT (hardware-reduced), DSDT (\_S5) and a MADT
 * listing nr_vcpus local APICs, in the legacy BIOS area. Returns the RSDP's address, 0 when
 * they cannot be written. loader_pvh_acpi_ports claims the FADT's sleep and reset registers
 * (power off and reboot). */
uint64_t loader_pvh_acpi_tables(struct domain *d, unsigned nr_vcpus);
int loader_pvh_acpi_ports(struct domain *d);

#endif
