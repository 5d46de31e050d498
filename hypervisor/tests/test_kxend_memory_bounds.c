/* The end-of-RAM bound of the reservation hypercalls (XENMEM_decrease_reservation,
 * XENMEM_populate_physmap): an extent must lie wholly below the domain's usable RAM. The
 * interesting case is an extent that is aligned and starts below the end but runs past it:
 * neither the alignment nor the start check catches it, only the length check does. Decreasing
 * such an extent would punch out the special pages above usable RAM (xenstore, console). */
#include <criterion/criterion.h>
#include <string.h>

#include <kxen/memory.h>
#include <kxen/xen.h>

#include "../kxend/core.h"

#define RAM (2ull << 20) /* 512 pages */
#define LIMIT 476u       /* usable RAM ends here; special pages above, as the loader leaves */
#define ARG_GPA 0x1000ull
#define EXTENTS_GPA 0x2000ull

static struct domain *d;

static void setup(void)
{
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = "membound-test", .ram_bytes = RAM, .nr_vcpus = 1};
    cr_assert_eq(domain_create(&cfg, &d), 0);
    d->reserved_base_pfn = LIMIT;
}

static void teardown(void)
{
    domain_destroy(d);
    domain_put(d);
}

TestSuite(memory_bounds, .init = setup, .fini = teardown);

/* One extent of 2^order pages at pfn through memory_op(cmd); returns the extents done. */
static int64_t one_extent(unsigned cmd, xen_pfn_t pfn, unsigned order)
{
    struct xen_memory_reservation r = {.nr_extents = 1, .extent_order = order, .domid = DOMID_SELF};
    r.extent_start.q = EXTENTS_GPA;
    memcpy(d->ram + ARG_GPA, &r, sizeof(r));
    memcpy(d->ram + EXTENTS_GPA, &pfn, sizeof(pfn));
    uint64_t a[5] = {cmd, ARG_GPA};
    return hypercall_dispatch(d->vcpus[0], __HYPERVISOR_memory_op, a);
}

Test(memory_bounds, an_aligned_extent_that_ends_at_the_limit_is_accepted)
{
    /* 464 + 8 = 472 <= 476, and 472 + 4 = 476 exactly. */
    cr_assert_eq(one_extent(XENMEM_populate_physmap, 464, 3), 1);
    cr_assert_eq(one_extent(XENMEM_populate_physmap, 472, 2), 1);
}

Test(memory_bounds, an_aligned_extent_starting_below_the_limit_and_ending_past_it_is_refused)
{
    /* 472 is a multiple of 8 and below 476, but 472 + 8 = 480 crosses the end. */
    cr_assert_eq(one_extent(XENMEM_populate_physmap, 472, 3), 0);

    /* decrease would punch the pages out: the page below the limit and the special page above
     * it must both keep their contents. */
    uint8_t *below = d->ram + (473ull << 12), *above = d->ram + (477ull << 12);
    memset(below, 0xa5, 16);
    memset(above, 0x5a, 16);
    cr_assert_eq(one_extent(XENMEM_decrease_reservation, 472, 3), 0);
    cr_assert_eq(below[0], 0xa5, "a page of the refused extent was released");
    cr_assert_eq(above[15], 0x5a, "a special page above usable RAM was released");

    /* The same extent one alignment step lower fits and is released. */
    memset(d->ram + (464ull << 12), 0x77, 16);
    cr_assert_eq(one_extent(XENMEM_decrease_reservation, 464, 3), 1);
    cr_assert_eq(d->ram[464ull << 12], 0, "a released page reads back as zeros");
}
