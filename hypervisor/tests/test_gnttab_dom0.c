/* Grant maps and copies from the two callers kxend does not trust with its own state: dom0
 * processes (gnttab_dom0.c over the control socket; one owner per connection) and guests that
 * map other guests' grants (driver domains, gnttab_map.c). Counts that must not wrap, a table
 * one granter cannot fill, handles only their owner unmaps, a granter that dies under its
 * maps, copies into read-only grants and over overlapping bytes, a map whose handle cannot be
 * returned. On fake domains (test_evtchn_fake_domain.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "kxend/accel.h"
#include "kxend/gnttab.h"
#include "test_evtchn_fake_domain.h"

static struct domain *a, *b;

#define DATA_PFN 20          /* a page of b's that b grants */
#define OWN_PFN 21           /* a page of a's */
#define SCRATCH_GPA 0x4000   /* a second argument page, for calls made "meanwhile" */
#define MAP_GPA 0x80000000u  /* above a's RAM: where a maps grants */
#define PIN_LIMIT UINT16_MAX /* users of one grant at once */
#define DOM0_MAPS_PER_DOMAIN 65536u

static void setup(void)
{
    a = fake_domain_create(1, 1, false);
    b = fake_domain_create(2, 1, false);
}

static void teardown(void)
{
    fake_domain_destroy(a);
    fake_domain_destroy(b);
}

TestSuite(gnttab_hostile, .init = setup, .fini = teardown);

static int64_t gt(struct domain *d, unsigned cmd, void *arg, size_t size, unsigned count)
{
    return fake_hypercall(&gnttab_hypercall, d->vcpus[0], cmd, arg, size, count);
}

static struct grant_entry_v1 *entry(struct domain *d, uint32_t ref)
{
    return (struct grant_entry_v1 *)fake_gpa(d, FAKE_GNTTAB_BASE_PFN * 4096ull) + ref;
}

/* d takes its table from the reserved frames and grants `pfn` to `to` at ref. */
static void grant(struct domain *d, uint32_t ref, uint16_t to, uint64_t pfn, uint16_t extra)
{
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 1};
    st.frame_list.p = (void *)(uintptr_t)0x3000;
    cr_assert_eq(gt(d, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
    cr_assert_eq(st.status, GNTST_okay);
    entry(d, ref)->frame = (uint32_t)pfn;
    entry(d, ref)->domid = to;
    entry(d, ref)->flags = GTF_permit_access | extra;
}

static int dom0_map(uint16_t domid, uint32_t ref, bool ro, const void *owner, uint32_t *h)
{
    uint64_t off;
    return gnttab_dom0_map(domid, ref, ro, owner, h, &off);
}

/* ---- dom0's maps ---- */

Test(gnttab_hostile, dom0_maps_of_one_ref_stop_before_the_pin_count_wraps)
{
    grant(b, 10, 0, DATA_PFN, 0);
    int owner;
    uint32_t h;
    for (unsigned i = 0; i < PIN_LIMIT; i++)
        cr_assert_eq(dom0_map(2, 10, true, &owner, &h), GNTST_okay, "map %u", i);
    cr_assert_eq(dom0_map(2, 10, true, &owner, &h), GNTST_no_space,
                 "the user that would wrap the count is refused");
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_reading);
    gnttab_dom0_unmap_all(&owner);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access, "the last unmap clears the flags");
}

Test(gnttab_hostile, dom0_maps_of_one_granter_are_bounded_and_other_granters_still_map)
{
    grant(b, 10, 0, DATA_PFN, 0);
    grant(b, 11, 0, DATA_PFN, 0);
    grant(a, 10, 0, OWN_PFN, 0);
    int owner;
    uint32_t h, first = 0;
    for (unsigned i = 0; i < DOM0_MAPS_PER_DOMAIN; i++) {
        cr_assert_eq(dom0_map(2, 10 + i % 2, true, &owner, &h), GNTST_okay, "map %u", i);
        if (i == 0)
            first = h;
    }
    cr_assert_eq(dom0_map(2, 10, true, &owner, &h), GNTST_no_space, "one map past the bound");
    cr_assert_eq(dom0_map(1, 10, true, &owner, &h), GNTST_okay, "another granter still maps");
    cr_assert_eq(gnttab_dom0_unmap(first, &owner), GNTST_okay);
    cr_assert_eq(dom0_map(2, 10, true, &owner, &h), GNTST_okay, "room again after an unmap");
    gnttab_dom0_unmap_all(&owner);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
    cr_assert_eq(entry(b, 11)->flags, GTF_permit_access);
    cr_assert_eq(entry(a, 10)->flags, GTF_permit_access);
}

Test(gnttab_hostile, an_owner_going_away_drops_only_its_own_maps)
{
    grant(b, 10, 0, DATA_PFN, 0);
    int gone, stays;
    uint32_t h1, h2;
    cr_assert_eq(dom0_map(2, 10, false, &gone, &h1), GNTST_okay);
    cr_assert_eq(dom0_map(2, 10, false, &stays, &h2), GNTST_okay);
    gnttab_dom0_unmap_all(&gone);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_reading | GTF_writing,
                 "the other owner's map still holds the page");
    cr_assert_eq(gnttab_dom0_unmap(h1, &gone), GNTST_bad_handle, "already dropped");
    cr_assert_eq(gnttab_dom0_unmap(h2, &stays), GNTST_okay);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
}

Test(gnttab_hostile, a_dom0_handle_is_unmapped_once_and_only_by_its_owner)
{
    grant(b, 10, 0, DATA_PFN, 0);
    int first, second;
    uint32_t h, again;
    cr_assert_eq(gnttab_dom0_unmap(~0u, &first), GNTST_bad_handle, "a handle past the table");
    cr_assert_eq(dom0_map(2, 10, true, &first, &h), GNTST_okay);
    cr_assert_eq(gnttab_dom0_unmap(h, NULL), GNTST_bad_handle, "no owner");
    cr_assert_eq(gnttab_dom0_unmap(h, &first), GNTST_okay);
    cr_assert_eq(gnttab_dom0_unmap(h, &first), GNTST_bad_handle, "a second unmap");
    /* The slot is free: another owner may get the same handle, which stays its own. */
    cr_assert_eq(dom0_map(2, 10, true, &second, &again), GNTST_okay);
    cr_assert_eq(gnttab_dom0_unmap(again, &first), GNTST_bad_handle, "not the owner's map");
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_reading);
    cr_assert_eq(gnttab_dom0_unmap(again, &second), GNTST_okay);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
}

Test(gnttab_hostile, a_granter_destroyed_under_dom0_maps_leaves_its_successor_alone)
{
    grant(b, 10, 0, DATA_PFN, 0);
    int owner;
    uint32_t old, h;
    cr_assert_eq(dom0_map(2, 10, false, &owner, &old), GNTST_okay);
    fake_domain_destroy(b);
    b = fake_domain_create(2, 1, false); /* the same id, a new grant table */
    grant(b, 10, 0, DATA_PFN, 0);
    cr_assert_eq(dom0_map(2, 10, false, &owner, &h), GNTST_okay);
    cr_assert_eq(gnttab_dom0_unmap(old, &owner), GNTST_okay, "the dead granter's handle goes");
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_reading | GTF_writing,
                 "the new domain's pins are not the old map's");
    cr_assert_eq(gnttab_dom0_unmap(h, &owner), GNTST_okay);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
}

/* ---- copies ---- */

Test(gnttab_hostile, dom0_copies_into_a_readonly_grant_or_across_a_page_are_refused)
{
    grant(b, 10, 0, DATA_PFN, GTF_readonly);
    grant(b, 11, 0, DATA_PFN, 0);
    char buf[16] = "dom0";
    cr_assert_eq(gnttab_dom0_copy(2, 10, 0, 4, true, buf), GNTST_general_error);
    cr_assert_eq(gnttab_dom0_copy(2, 10, 0, 4, false, buf), GNTST_okay, "reading it is fine");
    cr_assert_eq(gnttab_dom0_copy_gref(2, 11, 0, 2, 10, 0, 4), GNTST_general_error,
                 "a grant-to-grant copy into it too");
    cr_assert_eq(gnttab_dom0_copy_gref(2, 11, 4095, 2, 11, 0, 2), GNTST_bad_copy_arg);
    cr_assert_eq(gnttab_dom0_copy_gref(2, 11, 0, 2, 11, 4090, 10), GNTST_bad_copy_arg);
    cr_assert_eq(gnttab_dom0_copy_gref(2, 11, 4096, 2, 11, 0, 0), GNTST_bad_copy_arg);
    cr_assert_eq(gnttab_dom0_copy(2, 11, 4096, 0, false, buf), GNTST_bad_copy_arg);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_readonly, "no pin left behind");
    cr_assert_eq(entry(b, 11)->flags, GTF_permit_access);
}

Test(gnttab_hostile, copies_whose_source_and_destination_overlap_move_the_bytes)
{
    grant(b, 11, 0, DATA_PFN, 0);
    uint8_t *page = fake_gpa(b, DATA_PFN * 4096ull);
    for (unsigned i = 0; i < 256; i++)
        page[i] = (uint8_t)i;
    cr_assert_eq(gnttab_dom0_copy_gref(2, 11, 0, 2, 11, 8, 200), GNTST_okay);
    for (unsigned i = 0; i < 200; i++)
        cr_assert_eq(page[8 + i], (uint8_t)i, "byte %u", i);
    cr_assert_eq(entry(b, 11)->flags, GTF_permit_access);
    /* A guest copying between two overlapping ranges of its own frame. */
    uint8_t *own = fake_gpa(a, OWN_PFN * 4096ull);
    for (unsigned i = 0; i < 256; i++)
        own[i] = (uint8_t)i;
    struct gnttab_copy c = {.len = 200};
    c.source.u.gmfn = OWN_PFN;
    c.source.domid = DOMID_SELF;
    c.source.offset = 8;
    c.dest.u.gmfn = OWN_PFN;
    c.dest.domid = DOMID_SELF;
    cr_assert_eq(gt(a, GNTTABOP_copy, &c, sizeof(c), 1), 0);
    cr_assert_eq(c.status, GNTST_okay);
    for (unsigned i = 0; i < 200; i++)
        cr_assert_eq(own[i], (uint8_t)(i + 8), "byte %u", i);
}

/* ---- guest maps (a driver domain's) ---- */

static int16_t guest_map(uint32_t ref, uint64_t addr, uint32_t *handle)
{
    struct gnttab_map_grant_ref m = {
        .ref = ref, .dom = 2, .flags = GNTMAP_host_map, .host_addr = addr};
    cr_assert_eq(gt(a, GNTTABOP_map_grant_ref, &m, sizeof(m), 1), 0);
    *handle = m.handle;
    return m.status;
}

static int16_t guest_unmap(uint32_t handle, uint64_t addr)
{
    struct gnttab_unmap_grant_ref u = {.host_addr = addr, .handle = handle};
    cr_assert_eq(gt(a, GNTTABOP_unmap_grant_ref, &u, sizeof(u), 1), 0);
    return u.status;
}

Test(gnttab_hostile, guest_maps_are_bounded_placed_once_and_unmapped_once)
{
    grant(b, 10, 1, DATA_PFN, 0);
    uint32_t h, first = 0;
    for (unsigned i = 0; i < KXEN_ACCEL_MAX_FOREIGN; i++) {
        cr_assert_eq(guest_map(10, MAP_GPA + i * 4096ull, &h), GNTST_okay, "map %u", i);
        if (i == 0)
            first = h;
    }
    cr_assert_eq(fake_foreign_mapped(a), KXEN_ACCEL_MAX_FOREIGN);
    cr_assert_eq(guest_map(10, MAP_GPA + KXEN_ACCEL_MAX_FOREIGN * 4096ull, &h),
                 GNTST_no_device_space, "one map past the slots");
    cr_assert_eq(h, ~0u);
    cr_assert_eq(guest_unmap(first, MAP_GPA + 4096), GNTST_general_error, "not where it maps");
    cr_assert_eq(guest_unmap(KXEN_ACCEL_MAX_FOREIGN, MAP_GPA), GNTST_bad_handle);
    cr_assert_eq(guest_unmap(first, MAP_GPA), GNTST_okay);
    cr_assert_eq(guest_unmap(first, MAP_GPA), GNTST_bad_handle, "a second unmap");
    cr_assert_eq(guest_map(10, MAP_GPA + 4096, &h), GNTST_general_error,
                 "an address that already holds a grant");
    cr_assert_eq(fake_foreign_unmapped(a), 1);
    fake_domain_destroy(a); /* the mapper dies holding 1023 maps */
    a = fake_domain_create(1, 1, false);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access, "its maps went with it");
}

static uint32_t meanwhile_handle;

/* Another vCPU of the mapper, between the map and the write of its result: it unmaps the new
 * handle (guessed) and maps b's ref 11 elsewhere, which takes the freed slot. */
static void other_vcpu_unmaps_and_maps_again(void)
{
    struct gnttab_unmap_grant_ref u = {.host_addr = MAP_GPA, .handle = 0};
    memcpy(fake_gpa(a, SCRATCH_GPA), &u, sizeof(u));
    uint64_t args[5] = {GNTTABOP_unmap_grant_ref, SCRATCH_GPA, 1, 0, 0};
    cr_assert_eq(gnttab_hypercall.fn(a->vcpus[0], args), 0);
    struct gnttab_map_grant_ref m = {
        .ref = 11, .dom = 2, .flags = GNTMAP_host_map, .host_addr = MAP_GPA + 4096};
    memcpy(fake_gpa(a, SCRATCH_GPA), &m, sizeof(m));
    args[0] = GNTTABOP_map_grant_ref;
    cr_assert_eq(gnttab_hypercall.fn(a->vcpus[0], args), 0);
    memcpy(&m, fake_gpa(a, SCRATCH_GPA), sizeof(m));
    cr_assert_eq(m.status, GNTST_okay);
    meanwhile_handle = m.handle;
}

static void nothing_meanwhile(void) {}

Test(gnttab_hostile, a_guest_map_whose_handle_cannot_be_returned_is_undone_and_only_it)
{
    grant(b, 10, 1, DATA_PFN, 0);
    grant(b, 11, 1, DATA_PFN + 1, 0);
    struct gnttab_map_grant_ref m = {
        .ref = 10, .dom = 2, .flags = GNTMAP_host_map, .host_addr = MAP_GPA};
    fake_fail_next_copy_to_guest(nothing_meanwhile);
    cr_assert_eq(gt(a, GNTTABOP_map_grant_ref, &m, sizeof(m), 1), -EFAULT);
    cr_assert_eq(fake_foreign_unmapped(a), 1, "the map was undone");
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);

    m = (struct gnttab_map_grant_ref){
        .ref = 10, .dom = 2, .flags = GNTMAP_host_map, .host_addr = MAP_GPA};
    fake_fail_next_copy_to_guest(other_vcpu_unmaps_and_maps_again);
    cr_assert_eq(gt(a, GNTTABOP_map_grant_ref, &m, sizeof(m), 1), -EFAULT);
    cr_assert_eq(meanwhile_handle, 0u, "the other map took the same slot");
    cr_assert_eq(fake_foreign_unmapped(a), 2, "only the other vCPU's unmap");
    cr_assert_eq(entry(b, 11)->flags, GTF_permit_access | GTF_reading | GTF_writing,
                 "the other vCPU's map is still there");
    cr_assert_eq(guest_unmap(meanwhile_handle, MAP_GPA + 4096), GNTST_okay);
    cr_assert_eq(entry(b, 11)->flags, GTF_permit_access);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
}
