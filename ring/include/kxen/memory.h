/* Memory operations: HYPERVISOR_memory_op(cmd, arg). Xen's numbers and layouts (checked by
 * ring/tests); kxen's text. */
#ifndef KXEN_MEMORY_H
#define KXEN_MEMORY_H

#include <kxen/xen.h>

#define XENMEM_increase_reservation 0 /* struct xen_memory_reservation */
#define XENMEM_decrease_reservation 1 /* struct xen_memory_reservation */
#define XENMEM_maximum_ram_page 2     /* arg unused; returns the highest frame */
#define XENMEM_current_reservation 3  /* domid_t *; returns pages */
#define XENMEM_maximum_reservation 4  /* domid_t *; returns pages */
#define XENMEM_machphys_mfn_list 5
#define XENMEM_populate_physmap 6    /* struct xen_memory_reservation */
#define XENMEM_add_to_physmap 7      /* struct xen_add_to_physmap */
#define XENMEM_memory_map 9          /* struct xen_memory_map: the caller's own map */
#define XENMEM_machine_memory_map 10 /* struct xen_memory_map: the host map (privileged) */
#define XENMEM_exchange 11
#define XENMEM_machphys_mapping 12
#define XENMEM_set_memory_map 13
#define XENMEM_maximum_gpfn 14
#define XENMEM_remove_from_physmap 15 /* struct xen_remove_from_physmap */
#define XENMEM_add_to_physmap_batch 23
#define XENMEM_machphys_compat_mfn_list 25

/* mem_flags of xen_memory_reservation */
#define XENMEMF_address_bits(x) (x)
#define XENMEMF_get_address_bits(x) ((x)&0xffu)
#define XENMEMF_node(x) (((x) + 1) << 8)
#define XENMEMF_get_node(x) ((((x) >> 8) - 1) & 0xffu)
#define XENMEMF_populate_on_demand (1 << 16)
#define XENMEMF_exact_node_request (1 << 17)
#define XENMEMF_exact_node(n) (XENMEMF_node(n) | XENMEMF_exact_node_request)
#define XENMEMF_vnode (1 << 18)

/* nr_extents extents of 2^extent_order pages each; extent_start lists their first frames (in
 * for decrease/populate, out for increase). Returns how many extents were done. */
struct xen_memory_reservation {
    XEN_GUEST_HANDLE(xen_pfn_t) extent_start;
    xen_ulong_t nr_extents;
    unsigned int extent_order;
    unsigned int mem_flags; /* XENMEMF_* */
    domid_t domid;
};
typedef struct xen_memory_reservation xen_memory_reservation_t;
DEFINE_XEN_GUEST_HANDLE(xen_memory_reservation_t);

struct xen_memory_exchange {
    struct xen_memory_reservation in;
    struct xen_memory_reservation out;
    xen_ulong_t nr_exchanged;
};
typedef struct xen_memory_exchange xen_memory_exchange_t;

struct xen_memory_domain {
    domid_t domid;
};

struct xen_machphys_mapping {
    xen_ulong_t v_start, v_end;
    xen_ulong_t max_mfn;
};
typedef struct xen_machphys_mapping xen_machphys_mapping_t;

/* What add_to_physmap places at gpfn. */
#define XENMAPSPACE_shared_info 0 /* idx must be 0 */
#define XENMAPSPACE_grant_table 1 /* idx = grant frame (| XENMAPIDX_grant_table_status) */
#define XENMAPSPACE_gmfn 2        /* idx = another gpfn of the caller: move it */
#define XENMAPSPACE_gmfn_range 3
#define XENMAPSPACE_gmfn_foreign 4
#define XENMAPSPACE_dev_mmio 5

struct xen_add_to_physmap {
    domid_t domid;
    uint16_t size; /* for XENMAPSPACE_gmfn_range */
    unsigned int space;
#define XENMAPIDX_grant_table_status 0x80000000
    xen_ulong_t idx;
    xen_pfn_t gpfn;
};
typedef struct xen_add_to_physmap xen_add_to_physmap_t;
DEFINE_XEN_GUEST_HANDLE(xen_add_to_physmap_t);

struct xen_add_to_physmap_batch {
    domid_t domid;
    uint16_t space;
    uint16_t size;
    union xen_add_to_physmap_batch_extra {
        domid_t foreign_domid;
        uint16_t res0;
    } u;
    XEN_GUEST_HANDLE(xen_ulong_t) idxs;
    XEN_GUEST_HANDLE(xen_pfn_t) gpfns;
    XEN_GUEST_HANDLE(int) errs;
};
typedef struct xen_add_to_physmap_batch xen_add_to_physmap_batch_t;

struct xen_remove_from_physmap {
    domid_t domid;
    xen_pfn_t gpfn;
};
typedef struct xen_remove_from_physmap xen_remove_from_physmap_t;

/* In: nr_entries = room in buffer; out: entries written. buffer holds E820-style entries of
 * 20 bytes each: u64 addr, u64 size, u32 type (KXEN_E820_* below). */
struct xen_memory_map {
    unsigned int nr_entries;
    XEN_GUEST_HANDLE(void) buffer;
};
typedef struct xen_memory_map xen_memory_map_t;
DEFINE_XEN_GUEST_HANDLE(xen_memory_map_t);

struct xen_foreign_memory_map {
    domid_t domid;
    struct xen_memory_map map;
};
typedef struct xen_foreign_memory_map xen_foreign_memory_map_t;

/* The E820 entry XENMEM_memory_map fills (packed: 20 bytes, as the BIOS interface). */
struct kxen_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));
#define KXEN_E820_RAM 1
#define KXEN_E820_RESERVED 2
#define KXEN_E820_ACPI 3
#define KXEN_E820_NVS 4
#define KXEN_E820_UNUSABLE 5

#endif
