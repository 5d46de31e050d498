/* The PVH memory map the loader hands a guest in hvm_start_info: usable RAM, then one
 * reserved range over the special pages and up to maxmem. Linux (5.0 on) takes its e820
 * from this map and places the pages it maps grants into (unpopulated-alloc) in the first
 * range the map leaves out, so everything kxend refuses grant maps in must be in it. */
#include <criterion/criterion.h>
#include <string.h>

#include <kxen/hvm/start_info.h>

#include "../kxend/core.h"
#include "../kxend/loader_internal.h"

#define RAM (4ull << 20)
#define PAGE_GPA 0x1000ull

static struct hvm_memmap_table_entry map_of(uint64_t max_ram, unsigned i, unsigned *entries)
{
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {
        .name = "pvh-map", .ram_bytes = RAM, .max_ram_bytes = max_ram, .nr_vcpus = 1};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    uint64_t ram_end = RAM - ((uint64_t)LOADER_SPECIAL_PAGES << 12);
    loader_pvh_start_info(d, PAGE_GPA, ram_end, "", 0, 0, 0);
    struct hvm_start_info hs;
    memcpy(&hs, d->ram + PAGE_GPA, sizeof(hs));
    struct hvm_memmap_table_entry e;
    memcpy(&e, d->ram + hs.memmap_paddr + i * sizeof(e), sizeof(e));
    *entries = hs.memmap_entries;
    domain_destroy(d);
    domain_put(d);
    return e;
}

Test(pvh_memmap, ram_then_the_special_pages_reserved_up_to_the_end_of_ram)
{
    unsigned n;
    struct hvm_memmap_table_entry ram = map_of(0, 0, &n), rsv = map_of(0, 1, &n);
    cr_assert_eq(n, 2u);
    cr_assert_eq(ram.type, XEN_HVM_MEMMAP_TYPE_RAM);
    cr_assert_eq(ram.addr, 0);
    cr_assert_eq(rsv.type, XEN_HVM_MEMMAP_TYPE_RESERVED);
    cr_assert_eq(rsv.addr, ram.size);
    cr_assert_eq(rsv.addr + rsv.size, RAM);
}

Test(pvh_memmap, with_maxmem_above_memory_the_reserved_range_reaches_maxmem)
{
    unsigned n;
    struct hvm_memmap_table_entry ram = map_of(3 * RAM, 0, &n), rsv = map_of(3 * RAM, 1, &n);
    cr_assert_eq(n, 2u);
    cr_assert_eq(rsv.addr, ram.size);
    cr_assert_eq(rsv.addr + rsv.size, 3 * RAM, "grant maps are refused below maxmem");
}
