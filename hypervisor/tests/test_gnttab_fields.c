/* The grant-table fields a caller names that the other tests do not reach: domain ids (another
 * domain, a reserved one, dom0), a frame list or frame number outside RAM or past the address
 * space, map flags and addresses kxend does not offer. Each refusal has an accepted twin that
 * differs in the checked field only, so a test fails when its check is gone rather than when
 * something else refuses the call. On fake domains (test_evtchn_fake_domain.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "kxend/gnttab.h"
#include "test_evtchn_fake_domain.h"

static struct domain *a, *b, *priv;

#define DATA_PFN 20
#define OWN_PFN 21
#define MAP_GPA 0x80000000ull /* above a's RAM */

static void setup(void)
{
    a = fake_domain_create(1, 1, false);
    b = fake_domain_create(2, 1, false);
    priv = fake_domain_create(3, 1, true);
}

static void teardown(void)
{
    fake_domain_destroy(a);
    fake_domain_destroy(b);
    fake_domain_destroy(priv);
}

TestSuite(gnttab_fields, .init = setup, .fini = teardown);

static int64_t gt(struct domain *d, unsigned cmd, void *arg, size_t size, unsigned count)
{
    return fake_hypercall(&gnttab_hypercall, d->vcpus[0], cmd, arg, size, count);
}

static struct grant_entry_v1 *entry(struct domain *d, uint32_t ref)
{
    return (struct grant_entry_v1 *)fake_gpa(d, FAKE_GNTTAB_BASE_PFN * 4096ull) + ref;
}

static void grant(struct domain *d, uint32_t ref, uint16_t to, uint64_t pfn, uint16_t extra)
{
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 1};
    st.frame_list.p = (void *)(uintptr_t)0x3000;
    cr_assert_eq(gt(d, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
    entry(d, ref)->frame = (uint32_t)pfn;
    entry(d, ref)->domid = to;
    entry(d, ref)->flags = GTF_permit_access | extra;
}

static int16_t query_size_of(struct domain *caller, uint16_t dom)
{
    struct gnttab_query_size q = {.dom = dom};
    cr_assert_eq(gt(caller, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
    return q.status;
}

static int64_t get_version_of(struct domain *caller, uint16_t dom)
{
    struct gnttab_get_version g = {.dom = dom};
    return gt(caller, GNTTABOP_get_version, &g, sizeof(g), 1);
}

Test(gnttab_fields, another_domain_is_named_only_by_a_privileged_caller_and_must_exist)
{
    cr_assert_eq(query_size_of(a, 2), GNTST_permission_denied);
    cr_assert_eq(query_size_of(priv, 9), GNTST_bad_domain, "no such domain");
    cr_assert_eq(query_size_of(priv, DOMID_IO), GNTST_bad_domain, "a reserved id");
    cr_assert_eq(query_size_of(priv, 2), GNTST_okay);
    cr_assert_eq(get_version_of(a, 2), -EPERM);
    cr_assert_eq(get_version_of(priv, 9), -ESRCH);
    cr_assert_eq(get_version_of(priv, 2), 0);
}

Test(gnttab_fields, a_setup_table_frame_list_outside_ram_is_efault)
{
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 2};
    st.frame_list.p = (void *)(uintptr_t)(a->ram_size - 8); /* the second frame past RAM */
    cr_assert_eq(gt(a, GNTTABOP_setup_table, &st, sizeof(st), 1), -EFAULT);
    st.frame_list.p = (void *)(uintptr_t)(a->ram_size - 16);
    cr_assert_eq(gt(a, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
    cr_assert_eq(st.status, GNTST_okay);
}

Test(gnttab_fields, a_table_frame_whose_address_wraps_onto_ram_is_refused)
{
    cr_assert_eq(gnttab_set_frame(a, 0, (1ull << 52) + 30), -EINVAL);
    cr_assert_eq(gnttab_set_frame(a, 0, 30), 0);
}

Test(gnttab_fields, a_seeded_reserved_entry_takes_only_a_32_bit_frame)
{
    cr_assert_eq(gnttab_seed_reserved(b, GNTTAB_RESERVED_XENSTORE, 0, 1ull << 32), -EINVAL);
    cr_assert_eq(entry(b, GNTTAB_RESERVED_XENSTORE)->flags, 0, "nothing granted");
    cr_assert_eq(gnttab_seed_reserved(b, GNTTAB_RESERVED_XENSTORE, 0, UINT32_MAX), 0);
    cr_assert_eq(entry(b, GNTTAB_RESERVED_XENSTORE)->frame, UINT32_MAX);
}

static int16_t copy_status(struct domain *caller, struct gnttab_copy c)
{
    cr_assert_eq(gt(caller, GNTTABOP_copy, &c, sizeof(c), 1), 0);
    return c.status;
}

/* a copies 8 bytes of b's ref 10 into its own OWN_PFN. */
static struct gnttab_copy from_b(void)
{
    struct gnttab_copy c = {.len = 8, .flags = GNTCOPY_source_gref};
    c.source.u.ref = 10;
    c.source.domid = 2;
    c.dest.u.gmfn = OWN_PFN;
    c.dest.domid = DOMID_SELF;
    return c;
}

Test(gnttab_fields, a_guest_copy_names_a_real_domain_and_a_frame_inside_ram)
{
    grant(b, 10, 1, DATA_PFN, GTF_readonly);
    struct gnttab_copy c = from_b();
    c.source.domid = DOMID_IO;
    cr_assert_eq(copy_status(a, c), GNTST_bad_domain, "a reserved granter");
    c = from_b();
    c.dest.u.gmfn = (1ull << 52) + OWN_PFN;
    cr_assert_eq(copy_status(a, c), GNTST_bad_page, "a frame whose address wraps onto RAM");
    c.dest.u.gmfn = 1ull << 40;
    cr_assert_eq(copy_status(a, c), GNTST_bad_page, "a frame far past RAM");
    cr_assert_eq(copy_status(a, from_b()), GNTST_okay);
    /* A privileged caller may name another domain's raw frame, of a domain that exists. */
    struct gnttab_copy raw = {.len = 8};
    raw.source.u.gmfn = DATA_PFN;
    raw.source.domid = 9;
    raw.dest.u.gmfn = OWN_PFN;
    raw.dest.domid = DOMID_SELF;
    cr_assert_eq(copy_status(priv, raw), GNTST_bad_domain);
    raw.source.domid = 2;
    cr_assert_eq(copy_status(priv, raw), GNTST_okay);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access | GTF_readonly, "no pin left behind");
}

static int16_t map_status(struct gnttab_map_grant_ref m)
{
    cr_assert_eq(gt(a, GNTTABOP_map_grant_ref, &m, sizeof(m), 1), 0);
    if (m.status == GNTST_okay) {
        struct gnttab_unmap_grant_ref u = {.host_addr = m.host_addr, .handle = m.handle};
        cr_assert_eq(gt(a, GNTTABOP_unmap_grant_ref, &u, sizeof(u), 1), 0);
        cr_assert_eq(u.status, GNTST_okay);
    }
    return m.status;
}

static struct gnttab_map_grant_ref map_of_b(uint32_t flags, uint64_t addr)
{
    return (struct gnttab_map_grant_ref){.ref = 10, .dom = 2, .flags = flags, .host_addr = addr};
}

Test(gnttab_fields, a_guest_map_needs_host_map_flags_a_real_domain_and_a_free_address)
{
    grant(b, 10, 1, DATA_PFN, 0);
    grant(b, 11, 1, DATA_PFN, GTF_readonly);
    const uint32_t hm = GNTMAP_host_map;
    cr_assert_eq(map_status(map_of_b(0, MAP_GPA)), GNTST_general_error, "no host_map");
    cr_assert_eq(map_status(map_of_b(GNTMAP_readonly, MAP_GPA)), GNTST_general_error);
    cr_assert_eq(map_status(map_of_b(hm | GNTMAP_contains_pte, MAP_GPA)), GNTST_general_error);
    cr_assert_eq(map_status(map_of_b(hm | GNTMAP_application_map, MAP_GPA)), GNTST_general_error);
    struct gnttab_map_grant_ref m = map_of_b(hm, MAP_GPA);
    m.dom = DOMID_IO;
    cr_assert_eq(map_status(m), GNTST_bad_domain, "a reserved granter");
    m.dom = 9;
    cr_assert_eq(map_status(m), GNTST_bad_domain, "no such granter");
    cr_assert_eq(map_status(map_of_b(hm, MAP_GPA + 8)), GNTST_general_error, "unaligned");
    cr_assert_eq(map_status(map_of_b(hm, 0xfec00000ull)), GNTST_general_error, "APIC hole");
    cr_assert_eq(map_status(map_of_b(hm, 0xfffff000ull)), GNTST_general_error, "firmware");
    cr_assert_eq(map_status(map_of_b(hm, 1ull << 39)), GNTST_general_error, "past 2^39");
    cr_assert_eq(map_status(map_of_b(hm, 0x100000000ull)), GNTST_okay, "just past the hole");
    cr_assert_eq(map_status(map_of_b(hm, (1ull << 39) - 4096)), GNTST_okay, "the last page");
    m = map_of_b(hm, MAP_GPA);
    m.ref = 11;
    cr_assert_eq(map_status(m), GNTST_general_error, "writable map of a read-only grant");
    m.flags = hm | GNTMAP_readonly;
    cr_assert_eq(map_status(m), GNTST_okay);
    cr_assert_eq(map_status(map_of_b(hm, MAP_GPA)), GNTST_okay);
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access, "every accepted map was unmapped");
}

Test(gnttab_fields, a_dom0_map_names_a_guest_and_an_owner)
{
    grant(b, 10, 0, DATA_PFN, 0);
    int owner;
    uint32_t h;
    uint64_t off;
    cr_assert_eq(gnttab_dom0_map(0, 10, true, &owner, &h, &off), GNTST_bad_domain, "dom0");
    cr_assert_eq(gnttab_dom0_map(DOMID_FIRST_RESERVED, 10, true, &owner, &h, &off),
                 GNTST_bad_domain);
    cr_assert_eq(gnttab_dom0_map(2, 10, true, NULL, &h, &off), GNTST_bad_domain, "no owner");
    cr_assert_eq(entry(b, 10)->flags, GTF_permit_access);
    cr_assert_eq(gnttab_dom0_map(2, 10, true, &owner, &h, &off), GNTST_okay);
    cr_assert_eq(gnttab_dom0_unmap(h, &owner), GNTST_okay);
}
