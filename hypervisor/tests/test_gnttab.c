/* Grant tables: setup/query/version, Xen's GTF flag protocol for dom0 maps, grant copy with
 * every validation, on fake domains. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "kxend/gnttab.h"
#include "test_evtchn_fake_domain.h"

static struct domain *a, *b;

#define DATA_PFN 20 /* a page of b's that b grants */
#define DEST_PFN 21 /* a page of a's */

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

TestSuite(gnttab, .init = setup, .fini = teardown);

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
    st.frame_list.p = (void *)(uintptr_t)0x3000; /* guest address of the list */
    cr_assert_eq(gt(d, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
    cr_assert_eq(st.status, GNTST_okay);
    entry(d, ref)->frame = (uint32_t)pfn;
    entry(d, ref)->domid = to;
    entry(d, ref)->flags = GTF_permit_access | extra;
}

Test(gnttab, setup_table_returns_reserved_frames_and_query_size_counts_them)
{
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 2};
    st.frame_list.p = (void *)(uintptr_t)0x3000;
    cr_assert_eq(gt(a, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
    cr_assert_eq(st.status, GNTST_okay);
    uint64_t *list = fake_gpa(a, 0x3000);
    cr_assert_eq(list[0], FAKE_GNTTAB_BASE_PFN);
    cr_assert_eq(list[1], FAKE_GNTTAB_BASE_PFN + 1);
    struct gnttab_query_size q = {.dom = DOMID_SELF};
    cr_assert_eq(gt(a, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
    cr_assert_eq(q.nr_frames, 2);
    cr_assert_eq(q.max_nr_frames, KXEN_GNTTAB_MAX_FRAMES);
    st.nr_frames = KXEN_GNTTAB_MAX_FRAMES + 1;
    cr_assert_eq(gt(a, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
    cr_assert_eq(st.status, GNTST_general_error);
    st = (struct gnttab_setup_table){.dom = 2, .nr_frames = 1};
    cr_assert_eq(gt(a, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
    cr_assert_eq(st.status, GNTST_permission_denied);
    cr_assert_eq(gt(a, GNTTABOP_setup_table, &st, sizeof(st), 2), -EINVAL);
}

Test(gnttab, frames_named_by_add_to_physmap_are_used)
{
    cr_assert_eq(gnttab_set_frame(a, 0, 30), 0);
    cr_assert_eq(gnttab_set_frame(a, KXEN_GNTTAB_MAX_FRAMES, 31), -EINVAL);
    cr_assert_eq(gnttab_set_frame(a, 1, FAKE_RAM_PAGES), -EINVAL, "outside RAM");
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 1};
    st.frame_list.p = (void *)(uintptr_t)0x3000;
    gt(a, GNTTABOP_setup_table, &st, sizeof(st), 1);
    cr_assert_eq(*(uint64_t *)fake_gpa(a, 0x3000), 30);
}

Test(gnttab, set_version_only_1)
{
    struct gnttab_set_version v = {.version = 1};
    cr_assert_eq(gt(a, GNTTABOP_set_version, &v, sizeof(v), 1), 0);
    v.version = 2;
    cr_assert_eq(gt(a, GNTTABOP_set_version, &v, sizeof(v), 1), -ENOSYS);
    cr_assert_eq(v.version, 1);
    v.version = 3;
    cr_assert_eq(gt(a, GNTTABOP_set_version, &v, sizeof(v), 1), -EINVAL);
    struct gnttab_get_version g = {.dom = DOMID_SELF};
    cr_assert_eq(gt(a, GNTTABOP_get_version, &g, sizeof(g), 1), 0);
    cr_assert_eq(g.version, 1);
    cr_assert_eq(gt(a, GNTTABOP_transfer, &g, sizeof(g), 1), -ENOSYS);
}

Test(gnttab, dom0_map_sets_in_use_flags_and_unmap_clears_them)
{
    grant(b, 10, 0, DATA_PFN, 0);
    int owner = 0;
    uint32_t h1, h2;
    uint64_t off;
    cr_assert_eq(gnttab_dom0_map(2, 10, false, &owner, &h1, &off), GNTST_okay);
    cr_assert_eq(off, DATA_PFN * 4096ull);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_reading | GTF_writing);
    cr_assert_eq(gnttab_dom0_map(2, 10, true, &owner, &h2, &off), GNTST_okay);
    cr_assert_eq(gnttab_dom0_unmap(h1, &owner), GNTST_okay);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_reading, "writer gone, reader left");
    int other = 0;
    cr_assert_eq(gnttab_dom0_unmap(h2, &other), GNTST_bad_handle);
    cr_assert_eq(gnttab_dom0_unmap(h2, &owner), GNTST_okay);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
    cr_assert_eq(gnttab_dom0_unmap(h2, &owner), GNTST_bad_handle, "already unmapped");
}

Test(gnttab, dom0_map_refuses_what_was_not_granted_to_it)
{
    grant(b, 10, 5, DATA_PFN, 0); /* granted to d5, not dom0 */
    grant(b, 11, 0, DATA_PFN, GTF_readonly);
    grant(b, 12, 0, FAKE_RAM_PAGES + 3, 0); /* frame outside b's RAM */
    entry(b, 13)->flags = 0;                /* revoked */
    int owner = 0;
    uint32_t h;
    uint64_t off;
    cr_assert_eq(gnttab_dom0_map(2, 10, true, &owner, &h, &off), GNTST_general_error);
    cr_assert_eq(gnttab_dom0_map(2, 11, false, &owner, &h, &off), GNTST_general_error);
    cr_assert_eq(entry(b, 11)->flags, GTF_permit_access | GTF_readonly, "flags untouched");
    cr_assert_eq(gnttab_dom0_map(2, 11, true, &owner, &h, &off), GNTST_okay);
    cr_assert_eq(gnttab_dom0_map(2, 12, true, &owner, &h, &off), GNTST_bad_page);
    cr_assert_eq(gnttab_dom0_map(2, 13, true, &owner, &h, &off), GNTST_general_error);
    cr_assert_eq(gnttab_dom0_map(2, 512, true, &owner, &h, &off), GNTST_bad_gntref);
    cr_assert_eq(gnttab_dom0_map(9, 1, true, &owner, &h, &off), GNTST_bad_domain);
    gnttab_dom0_unmap_all(&owner);
    cr_assert_eq(entry(b, 11)->flags, GTF_permit_access | GTF_readonly);
}

static struct gnttab_copy copy_from_b(uint32_t ref, uint16_t soff, uint16_t doff, uint16_t len)
{
    struct gnttab_copy c = {.len = len, .flags = GNTCOPY_source_gref};
    c.source.u.ref = ref;
    c.source.domid = 2;
    c.source.offset = soff;
    c.dest.u.gmfn = DEST_PFN;
    c.dest.domid = DOMID_SELF;
    c.dest.offset = doff;
    return c;
}

Test(gnttab, guest_copy_moves_bytes_and_leaves_flags_clear)
{
    grant(b, 10, 1, DATA_PFN, GTF_readonly);
    memcpy(fake_gpa(b, DATA_PFN * 4096ull + 100), "granted bytes", 13);
    struct gnttab_copy c = copy_from_b(10, 100, 7, 13);
    cr_assert_eq(gt(a, GNTTABOP_copy, &c, sizeof(c), 1), 0);
    cr_assert_eq(c.status, GNTST_okay);
    cr_assert_arr_eq(fake_gpa(a, DEST_PFN * 4096ull + 7), "granted bytes", 13);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_readonly);
}

Test(gnttab, guest_copy_validates_every_field)
{
    grant(b, 10, 1, DATA_PFN, GTF_readonly);
    grant(b, 11, 3, DATA_PFN, 0);
    struct gnttab_copy c[6] = {
        copy_from_b(10, 4000, 0, 200), /* crosses the source page */
        copy_from_b(10, 0, 4095, 2),   /* crosses the destination page */
        copy_from_b(11, 0, 0, 8),      /* granted to d3 */
        copy_from_b(600, 0, 0, 8),     /* beyond the table */
        copy_from_b(10, 0, 0, 8),      copy_from_b(10, 0, 0, 8),
    };
    c[4].source.domid = 9;             /* no such domain */
    c[5].dest.u.gmfn = FAKE_RAM_PAGES; /* own frame outside RAM */
    cr_assert_eq(gt(a, GNTTABOP_copy, c, sizeof(c), 6), 0);
    cr_assert_eq(c[0].status, GNTST_bad_copy_arg);
    cr_assert_eq(c[1].status, GNTST_bad_copy_arg);
    cr_assert_eq(c[2].status, GNTST_general_error);
    cr_assert_eq(c[3].status, GNTST_bad_gntref);
    cr_assert_eq(c[4].status, GNTST_bad_domain);
    cr_assert_eq(c[5].status, GNTST_bad_page);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_readonly, "no pin leaked");
}

Test(gnttab, guest_copy_into_a_readonly_grant_is_refused)
{
    grant(b, 10, 1, DATA_PFN, GTF_readonly);
    struct gnttab_copy c = {.len = 4, .flags = GNTCOPY_dest_gref};
    c.source.u.gmfn = DEST_PFN;
    c.source.domid = DOMID_SELF;
    c.dest.u.ref = 10;
    c.dest.domid = 2;
    cr_assert_eq(gt(a, GNTTABOP_copy, &c, sizeof(c), 1), 0);
    cr_assert_eq(c.status, GNTST_general_error);
    c.source.domid = 2; /* a raw frame of another domain: privileged callers only */
    c.flags = 0;
    cr_assert_eq(gt(a, GNTTABOP_copy, &c, sizeof(c), 1), 0);
    cr_assert_eq(c.status, GNTST_permission_denied);
}

Test(gnttab, guest_map_checks_host_addr_and_grant_before_mapping)
{
    grant(b, 10, 1, DATA_PFN, 0);
    /* host_addr inside the mapper's RAM: refused, the granter's entry untouched. */
    struct gnttab_map_grant_ref m = {
        .ref = 10, .dom = 2, .flags = GNTMAP_host_map, .host_addr = 0x1000};
    cr_assert_eq(gt(a, GNTTABOP_map_grant_ref, &m, sizeof(m), 1), 0);
    cr_assert_eq(m.status, GNTST_general_error);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
    /* Outside RAM but a ref granted to someone else, or past the table. */
    grant(b, 11, 3, DATA_PFN, 0);
    m = (struct gnttab_map_grant_ref){
        .ref = 11, .dom = 2, .flags = GNTMAP_host_map, .host_addr = 0x80000000};
    cr_assert_eq(gt(a, GNTTABOP_map_grant_ref, &m, sizeof(m), 1), 0);
    cr_assert_eq(m.status, GNTST_general_error);
    cr_assert_eq(entry(b, 11)->flags, GTF_permit_access);
    m.ref = 100000;
    cr_assert_eq(gt(a, GNTTABOP_map_grant_ref, &m, sizeof(m), 1), 0);
    cr_assert_eq(m.status, GNTST_bad_gntref);
    m = (struct gnttab_map_grant_ref){
        .ref = 10, .dom = 2, .flags = GNTMAP_device_map, .host_addr = 0x80000000};
    cr_assert_eq(gt(a, GNTTABOP_map_grant_ref, &m, sizeof(m), 1), 0);
    cr_assert_eq(m.status, GNTST_general_error);
    struct gnttab_unmap_grant_ref u = {.handle = 0};
    cr_assert_eq(gt(a, GNTTABOP_unmap_grant_ref, &u, sizeof(u), 1), 0);
    cr_assert_eq(u.status, GNTST_bad_handle);
}

Test(gnttab, bad_batch_pointer_is_efault)
{
    uint64_t args[5] = {GNTTABOP_copy, a->ram_size - 8, 1, 0, 0};
    cr_assert_eq(gnttab_hypercall.fn(a->vcpus[0], args), -EFAULT);
}

Test(gnttab, dom0_copy_both_directions)
{
    grant(b, 10, 0, DATA_PFN, 0);
    char buf[16] = "from dom0";
    cr_assert_eq(gnttab_dom0_copy(2, 10, 50, 10, true, buf), GNTST_okay);
    cr_assert_str_eq((char *)fake_gpa(b, DATA_PFN * 4096ull + 50), "from dom0");
    char back[16] = {0};
    cr_assert_eq(gnttab_dom0_copy(2, 10, 50, 10, false, back), GNTST_okay);
    cr_assert_str_eq(back, "from dom0");
    cr_assert_eq(gnttab_dom0_copy(2, 10, 4090, 10, false, back), GNTST_bad_copy_arg);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
}

Test(gnttab, seeded_reserved_entry_grants_to_the_backend)
{
    cr_assert_eq(gnttab_seed_reserved(b, GNTTAB_RESERVED_XENSTORE, 0, DATA_PFN), 0);
    cr_assert_eq(entry(b, 1)->flags, GTF_permit_access);
    cr_assert_eq(entry(b, 1)->domid, 0);
    cr_assert_eq(entry(b, 1)->frame, DATA_PFN);
    cr_assert_eq(gnttab_seed_reserved(b, 8, 0, DATA_PFN), -EINVAL);
}
