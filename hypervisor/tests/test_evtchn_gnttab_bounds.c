/* Bounds of guest-supplied numbers in the event-channel and grant-table hypercalls that index
 * kxend's arrays or are narrowed on the way in: vCPU numbers far past the last vCPU, a batch
 * count above 32 bits, unknown grant-copy flags. Each refused call has an accepted twin. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <kxen/event_channel.h>
#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "kxend/evtchn.h"
#include "kxend/gnttab.h"
#include "test_evtchn_fake_domain.h"

#define DATA_PFN 20 /* a page of b's that b grants to a */
#define DEST_PFN 21 /* a page of a's */

static struct domain *a, *b;

static void setup(void)
{
    a = fake_domain_create(1, 2, false);
    b = fake_domain_create(2, 1, false);
}

static void teardown(void)
{
    fake_domain_destroy(a);
    fake_domain_destroy(b);
}

TestSuite(bounds, .init = setup, .fini = teardown);

static int64_t ec(unsigned cmd, void *arg, size_t size)
{
    return fake_hypercall(&evtchn_hypercall, a->vcpus[0], cmd, arg, size, 0);
}

Test(bounds, vcpu_numbers_far_past_the_last_vcpu_are_enoent)
{
    const uint32_t far[] = {2, 1000, 0x7fffffffu, 0xffffffffu};
    for (unsigned i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
        struct evtchn_bind_ipi ipi = {.vcpu = far[i]};
        cr_assert_eq(ec(EVTCHNOP_bind_ipi, &ipi, sizeof(ipi)), -ENOENT, "bind_ipi vCPU %u", far[i]);
        struct evtchn_bind_virq virq = {.virq = VIRQ_TIMER, .vcpu = far[i]};
        cr_assert_eq(ec(EVTCHNOP_bind_virq, &virq, sizeof(virq)), -ENOENT, "bind_virq vCPU %u",
                     far[i]);
    }
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = 0};
    cr_assert_eq(ec(EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    struct evtchn_bind_vcpu bv = {.port = au.port, .vcpu = 0xffffffffu};
    cr_assert_eq(ec(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -ENOENT);
    bv.vcpu = 1;
    cr_assert_eq(ec(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    struct evtchn_bind_ipi ipi = {.vcpu = 1};
    cr_assert_eq(ec(EVTCHNOP_bind_ipi, &ipi, sizeof(ipi)), 0);
}

Test(bounds, a_grant_batch_count_above_32_bits_is_einval)
{
    struct gnttab_query_size q = {.dom = DOMID_SELF};
    memcpy(fake_gpa(a, FAKE_ARGS_GPA), &q, sizeof(q));
    uint64_t args[5] = {GNTTABOP_query_size, FAKE_ARGS_GPA, (1ull << 32) | 1, 0, 0};
    cr_assert_eq(gnttab_hypercall.fn(a->vcpus[0], args), -EINVAL, "not taken as a count of 1");
    args[2] = 1;
    cr_assert_eq(gnttab_hypercall.fn(a->vcpus[0], args), 0);
}

/* b grants DATA_PFN to a at ref 10; a copies 8 bytes of it with flags. */
static int16_t copy_with_flags(uint16_t flags)
{
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 1};
    st.frame_list.p = (void *)(uintptr_t)0x3000;
    cr_assert_eq(
        fake_hypercall(&gnttab_hypercall, b->vcpus[0], GNTTABOP_setup_table, &st, sizeof(st), 1),
        0);
    struct grant_entry_v1 *e =
        (struct grant_entry_v1 *)fake_gpa(b, FAKE_GNTTAB_BASE_PFN * 4096ull) + 10;
    e->frame = DATA_PFN;
    e->domid = a->domid;
    e->flags = GTF_permit_access;
    struct gnttab_copy c = {.flags = flags, .len = 8};
    c.source.u.ref = 10;
    c.source.domid = b->domid;
    c.dest.u.gmfn = DEST_PFN;
    c.dest.domid = DOMID_SELF;
    cr_assert_eq(fake_hypercall(&gnttab_hypercall, a->vcpus[0], GNTTABOP_copy, &c, sizeof(c), 1),
                 0);
    return c.status;
}

Test(bounds, grant_copy_flags_other_than_the_two_gref_bits_are_refused)
{
    cr_assert_eq(copy_with_flags(GNTCOPY_source_gref | 0x4), GNTST_bad_copy_arg);
    cr_assert_eq(copy_with_flags(GNTCOPY_source_gref | 0x8000), GNTST_bad_copy_arg);
    cr_assert_eq(copy_with_flags(GNTCOPY_source_gref), GNTST_okay);
}

/* dom0's ports belong to host processes (closed through their handles): even a privileged
 * guest cannot reset them. */
Test(bounds, evtchn_reset_of_dom0_is_refused_even_to_a_privileged_guest)
{
    struct domain *p = fake_domain_create(3, 1, true);
    struct evtchn_reset r = {.dom = 0};
    cr_assert_eq(fake_hypercall(&evtchn_hypercall, p->vcpus[0], EVTCHNOP_reset, &r, sizeof(r), 0),
                 -EINVAL);
    cr_assert_eq(ec(EVTCHNOP_reset, &r, sizeof(r)), -EPERM, "and an unprivileged one gets EPERM");
    r.dom = b->domid;
    cr_assert_eq(fake_hypercall(&evtchn_hypercall, p->vcpus[0], EVTCHNOP_reset, &r, sizeof(r), 0),
                 0, "another guest's ports it may reset");
    fake_domain_destroy(p);
}
