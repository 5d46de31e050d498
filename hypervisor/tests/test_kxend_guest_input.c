/* Guest-input checks of memory_op and hvm_op that no guest test reaches: a guest acting on
 * another existing domain without privilege, argument fields past what kxend offers, and
 * vCPU and vector numbers out of range. Each call is made twice where that makes sense: once
 * refused, once with only the checked field changed and accepted, so a test fails when its
 * check is gone rather than when something else refuses the call. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <kxen/hvm/hvm_op.h>
#include <kxen/hvm/params.h>
#include <kxen/memory.h>
#include <kxen/xen.h>

#include "../kxend/core.h"

#define RAM (2ull << 20) /* 512 pages */
#define ARG_GPA 0x1000ull
#define BUF_GPA 0x2000ull
#define VICTIM_PFN 300u

static struct domain *guest, *other, *priv;

static void setup(void)
{
    kxend_accel = accel_find("soft");
    struct domain_config g = {.name = "input-guest", .ram_bytes = RAM, .nr_vcpus = 2};
    struct domain_config o = {.name = "input-other", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain_config p = {
        .name = "input-priv", .ram_bytes = RAM, .nr_vcpus = 1, .privileged = true};
    cr_assert_eq(domain_create(&g, &guest), 0);
    cr_assert_eq(domain_create(&o, &other), 0);
    cr_assert_eq(domain_create(&p, &priv), 0);
}

static void teardown(void)
{
    struct domain *all[] = {guest, other, priv};
    for (unsigned i = 0; i < 3; i++) {
        domain_destroy(all[i]);
        domain_put(all[i]);
    }
}

TestSuite(guest_input, .init = setup, .fini = teardown);

/* Hypercall nr(cmd, ARG_GPA) from caller's vCPU 0 with *arg copied to ARG_GPA first (and
 * back afterwards). */
static int64_t call(struct domain *caller, unsigned nr, uint64_t cmd, void *arg, size_t len)
{
    memcpy(caller->ram + ARG_GPA, arg, len);
    uint64_t a[5] = {cmd, ARG_GPA};
    int64_t rc = hypercall_dispatch(caller->vcpus[0], nr, a);
    memcpy(arg, caller->ram + ARG_GPA, len);
    return rc;
}

/* decrease_reservation of one page of domain `dom`, as caller. */
static int64_t give_back(struct domain *caller, domid_t dom, xen_pfn_t pfn)
{
    struct xen_memory_reservation r = {.nr_extents = 1, .extent_order = 0, .domid = dom};
    r.extent_start.q = BUF_GPA;
    memcpy(caller->ram + BUF_GPA, &pfn, sizeof(pfn));
    return call(caller, __HYPERVISOR_memory_op, XENMEM_decrease_reservation, &r, sizeof(r));
}

Test(guest_input, memory_op_on_another_existing_domain_needs_privilege)
{
    uint8_t *victim = other->ram + ((uint64_t)VICTIM_PFN << 12);
    memset(victim, 0x5a, 64);
    cr_assert_eq(give_back(guest, other->domid, VICTIM_PFN), -EPERM);
    cr_assert_eq(victim[63], 0x5a, "the other domain's page keeps its contents");
    domid_t dom = other->domid;
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_current_reservation, &dom, 2), -EPERM);
    struct xen_add_to_physmap x = {
        .domid = other->domid, .space = XENMAPSPACE_shared_info, .idx = 0, .gpfn = 7};
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)), -EPERM);
    cr_assert_neq(other->shared_info_gpa, 7ull << 12, "shared_info stays where it was");
    /* The same calls from a privileged domain act on the other one. */
    cr_assert_eq(call(priv, __HYPERVISOR_memory_op, XENMEM_current_reservation, &dom, 2),
                 (int64_t)(RAM >> 12));
    cr_assert_eq(give_back(priv, other->domid, VICTIM_PFN), 1);
    cr_assert_eq(victim[63], 0, "given back: the page reads as zeros");
}

Test(guest_input, hvm_params_of_another_existing_domain_need_privilege)
{
    struct xen_hvm_param p = {.domid = other->domid, .index = HVM_PARAM_CALLBACK_IRQ};
    p.value = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_VECTOR, 0xf3);
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p)), -EPERM);
    cr_assert_eq(other->vcpus[0]->upcall_vector, 0, "the other domain's vector is untouched");
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_get_param, &p, sizeof(p)), -EPERM);
    cr_assert_eq(call(priv, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p)), 0);
    cr_assert_eq(other->vcpus[0]->upcall_vector, 0xf3);
}

Test(guest_input, hvm_get_param_past_the_table_is_einval)
{
    struct xen_hvm_param p = {.domid = DOMID_SELF, .index = HVM_NR_PARAMS};
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_get_param, &p, sizeof(p)), -EINVAL);
    p.index = 0xffffffffu;
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_get_param, &p, sizeof(p)), -EINVAL);
    p.index = HVM_PARAM_CALLBACK_IRQ;
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_get_param, &p, sizeof(p)), 0);
}

Test(guest_input, callback_via_with_bits_past_the_vector_or_a_gsi_without_lapic_is_einval)
{
    struct xen_hvm_param p = {.domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ};
    p.value = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_VECTOR, 0xf3) | 0x100;
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p)), -EINVAL);
    cr_assert_eq(guest->vcpus[0]->upcall_vector, 0);
    p.value = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_GSI, 1);
    cr_assert(!guest->vcpus[0]->boot.lapic, "a domain built without a LAPIC");
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p)), -EINVAL,
                 "a GSI via would deliver nothing without per-vCPU vectors");
    guest->vcpus[0]->boot.lapic = true;
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p)), 0);
    p.value = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_VECTOR + 1, 1);
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p)), -EINVAL,
                 "an unknown via type");
}

Test(guest_input, upcall_vector_checks_the_vcpu_and_the_vector)
{
    struct xen_hvm_evtchn_upcall_vector u = {.vcpu = 2, .vector = 0xf3};
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &u, sizeof(u)),
                 -ENOENT, "vCPU 2 of a 2-vCPU domain");
    u.vcpu = 0xffffffffu;
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &u, sizeof(u)),
                 -ENOENT);
    u.vcpu = 1;
    u.vector = 0x0e;
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &u, sizeof(u)),
                 -EINVAL, "an exception vector");
    cr_assert_eq(guest->vcpus[1]->upcall_vector, 0);
    u.vector = 0xf3;
    cr_assert_eq(call(guest, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &u, sizeof(u)),
                 0);
    cr_assert_eq(guest->vcpus[1]->upcall_vector, 0xf3);
}

Test(guest_input, add_to_physmap_refuses_status_frames_and_shared_info_beyond_index_0)
{
    struct xen_add_to_physmap x = {
        .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = 20};
    x.idx = XENMAPIDX_grant_table_status;
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)), -EINVAL,
                 "v2 status frame 0");
    x.idx = 0;
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)), 0);
    x.space = XENMAPSPACE_shared_info;
    x.idx = 1;
    x.gpfn = 21;
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)),
                 -EINVAL);
    cr_assert_neq(guest->shared_info_gpa, 21ull << 12);
    x.idx = 0;
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)), 0);
    cr_assert_eq(guest->shared_info_gpa, 21ull << 12);
}

Test(guest_input, memory_map_into_a_buffer_too_small_is_einval_and_writes_nothing)
{
    guest->reserved_base_pfn = (RAM >> 12) - 36; /* two entries: RAM and the special pages */
    struct xen_memory_map m = {.nr_entries = 1};
    m.buffer.q = BUF_GPA;
    memset(guest->ram + BUF_GPA, 0xee, 64);
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_memory_map, &m, sizeof(m)), -EINVAL);
    cr_assert_eq(guest->ram[BUF_GPA + 24], 0xee, "nothing written past the one entry asked for");
    m.nr_entries = 2;
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_memory_map, &m, sizeof(m)), 0);
    cr_assert_eq(m.nr_entries, 2u);
}

/* Grant maps are refused below maxmem: the map must not leave that range for Linux's
 * unpopulated-alloc to claim. */
Test(guest_input, memory_map_reserves_the_range_up_to_maxmem)
{
    guest->reserved_base_pfn = (RAM >> 12) - 36;
    guest->max_ram_size = 3 * RAM;
    struct xen_memory_map m = {.nr_entries = 2};
    m.buffer.q = BUF_GPA;
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_memory_map, &m, sizeof(m)), 0);
    struct kxen_e820_entry e[2];
    memcpy(e, guest->ram + BUF_GPA, sizeof(e));
    cr_assert_eq(e[1].type, KXEN_E820_RESERVED);
    cr_assert_eq(e[1].addr, RAM - (36ull << 12));
    cr_assert_eq(e[1].addr + e[1].size, 3 * RAM);
    guest->reserved_base_pfn = 0; /* no special pages: the reserved range starts at RAM's end */
    cr_assert_eq(call(guest, __HYPERVISOR_memory_op, XENMEM_memory_map, &m, sizeof(m)), 0);
    memcpy(e, guest->ram + BUF_GPA, sizeof(e));
    cr_assert_eq(m.nr_entries, 2u);
    cr_assert_eq(e[0].size, RAM);
    cr_assert_eq(e[1].addr, RAM);
    cr_assert_eq(e[1].addr + e[1].size, 3 * RAM);
}

/* One reservation call of one extent; returns the extents done. */
static int64_t reserve(unsigned cmd, unsigned order, xen_pfn_t pfn, uint64_t start)
{
    struct xen_memory_reservation r = {.nr_extents = 1, .extent_order = order, .domid = DOMID_SELF};
    r.extent_start.q = BUF_GPA;
    memcpy(guest->ram + BUF_GPA, &pfn, sizeof(pfn));
    memcpy(guest->ram + ARG_GPA, &r, sizeof(r));
    uint64_t a[5] = {cmd | start << 6, ARG_GPA};
    return hypercall_dispatch(guest->vcpus[0], __HYPERVISOR_memory_op, a);
}

Test(guest_input, reservation_ops_check_order_start_extent_and_alignment)
{
    cr_assert_eq(reserve(XENMEM_decrease_reservation, 10, 0, 0), -EINVAL, "order 10 > 9");
    cr_assert_eq(reserve(XENMEM_decrease_reservation, 40, 0, 0), -EINVAL, "order 40");
    cr_assert_eq(reserve(XENMEM_decrease_reservation, 0, 256, 2), -EINVAL, "start 2 of 1 extent");
    cr_assert_eq(reserve(XENMEM_decrease_reservation, 0, 256, 1), 1, "start 1 of 1: done already");
    memset(guest->ram + (257ull << 12), 0x33, 16);
    cr_assert_eq(reserve(XENMEM_decrease_reservation, 1, 257, 0), 0, "an unaligned 2-page extent");
    cr_assert_eq(guest->ram[257ull << 12], 0x33, "a page of the unaligned extent was released");
    cr_assert_eq(reserve(XENMEM_decrease_reservation, 1, 256, 0), 1);
    cr_assert_eq(guest->ram[257ull << 12], 0);
    cr_assert_eq(reserve(XENMEM_decrease_reservation, 0, 1u << 20, 0), 0, "a frame past RAM");
}

Test(guest_input, populate_physmap_stays_within_the_maximum)
{
    cr_assert_eq(reserve(XENMEM_decrease_reservation, 1, 256, 0), 1);
    guest->max_ram_size = RAM - 4096; /* the toolstack lowered maxmem by one page meanwhile */
    cr_assert_eq(reserve(XENMEM_populate_physmap, 0, 256, 0), 1, "back to one page below maximum");
    cr_assert_eq(reserve(XENMEM_populate_physmap, 0, 257, 0), 0, "one more would pass it");
    guest->max_ram_size = RAM;
    cr_assert_eq(reserve(XENMEM_populate_physmap, 0, 257, 0), 1);
}
