/* PVH boot: the 32-bit entry (XEN_ELFNOTE_PHYS32_ENTRY) is entered in flat protected mode,
 * paging off, with %ebx = guest physical address of a struct hvm_start_info. Xen's layouts
 * (checked by ring/tests); kxen's text. All addresses are guest physical; version 1 has the
 * memory map fields. */
#ifndef KXEN_HVM_START_INFO_H
#define KXEN_HVM_START_INFO_H

#include <stdint.h>

#define XEN_HVM_START_MAGIC_VALUE 0x336ec578

/* hvm_memmap_table_entry.type (same codes as E820) */
#define XEN_HVM_MEMMAP_TYPE_RAM 1
#define XEN_HVM_MEMMAP_TYPE_RESERVED 2
#define XEN_HVM_MEMMAP_TYPE_ACPI 3
#define XEN_HVM_MEMMAP_TYPE_NVS 4
#define XEN_HVM_MEMMAP_TYPE_UNUSABLE 5
#define XEN_HVM_MEMMAP_TYPE_DISABLED 6
#define XEN_HVM_MEMMAP_TYPE_PMEM 7

struct hvm_start_info {
    uint32_t magic;   /* XEN_HVM_START_MAGIC_VALUE */
    uint32_t version; /* 0 or 1 */
    uint32_t flags;   /* SIF_* */
    uint32_t nr_modules;
    uint64_t modlist_paddr;  /* array of nr_modules struct hvm_modlist_entry */
    uint64_t cmdline_paddr;  /* NUL-terminated command line, 0 = none */
    uint64_t rsdp_paddr;     /* ACPI RSDP, 0 = none */
    uint64_t memmap_paddr;   /* version >= 1: array of struct hvm_memmap_table_entry */
    uint32_t memmap_entries; /* version >= 1 */
    uint32_t reserved;       /* must be 0 */
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type; /* XEN_HVM_MEMMAP_TYPE_* */
    uint32_t reserved;
};

#endif
