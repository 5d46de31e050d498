/* Registration: the checks that turn two parts claiming one number into a start-up error
 * (hypercall table, control ops), the parts kxend registers, and device-model lookup with a
 * model only this test binary registers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <kxen/xen.h>

#include "../kxend/core.h"
#include "kxend/ctl_server.h"
#include "kxend/device.h"
#include "kxend/hypercall.h"
#include "kxend/subsys.h"

static int64_t nop_hypercall(struct vcpu *v, const uint64_t args[5])
{
    (void)v;
    (void)args;
    return 0;
}

static const struct hypercall_family fam_a = {3, "family_a", nop_hypercall};
static const struct hypercall_family fam_b = {7, "family_b", nop_hypercall};
static const struct hypercall_family fam_a_again = {3, "family_a_again", nop_hypercall};
static const struct hypercall_family fam_too_big = {16, "family_too_big", nop_hypercall};

Test(registry, hypercall_table_places_each_family_at_its_number)
{
    const struct hypercall_family *fams[] = {&fam_a, &fam_b};
    const struct hypercall_family *tbl[16];
    cr_assert_eq(hypercall_table_build(fams, 2, tbl, 16), 0);
    cr_assert_eq(tbl[3], &fam_a);
    cr_assert_eq(tbl[7], &fam_b);
    for (unsigned i = 0; i < 16; i++)
        if (i != 3 && i != 7)
            cr_assert_null(tbl[i]);
}

Test(registry, two_hypercall_families_with_one_number_are_refused)
{
    const struct hypercall_family *fams[] = {&fam_a, &fam_b, &fam_a_again};
    const struct hypercall_family *tbl[16];
    cr_assert_eq(hypercall_table_build(fams, 3, tbl, 16), -EEXIST);
}

Test(registry, a_hypercall_number_outside_the_table_is_refused)
{
    const struct hypercall_family *fams[] = {&fam_a, &fam_too_big};
    const struct hypercall_family *tbl[16];
    cr_assert_eq(hypercall_table_build(fams, 2, tbl, 16), -ERANGE);
}

Test(registry, kxends_own_hypercall_families_do_not_conflict)
{
    cr_assert_eq(hypercall_table_init(), 0);
    cr_assert_str_eq(hypercall_name(__HYPERVISOR_event_channel_op), "event_channel_op");
    cr_assert_str_eq(hypercall_name(__HYPERVISOR_grant_table_op), "grant_table_op");
    cr_assert_str_eq(hypercall_name(__HYPERVISOR_sched_op), "sched_op");
    cr_assert_null(hypercall_name(KXEN_NR_HYPERCALLS));
}

static const struct ctl_op ops_x[] = {{10, "x10", false, 0, NULL}, {11, "x11", false, 0, NULL}};
static const struct ctl_op ops_y[] = {{20, "y20", false, 0, NULL}, {21, "y21", false, 0, NULL}};
static const struct ctl_op ops_z[] = {{30, "z30", false, 0, NULL}, {11, "z11", false, 0, NULL}};
static const struct ctl_op ops_dup[] = {{40, "d40", false, 0, NULL},
                                        {40, "d40bis", false, 0, NULL}};
static const struct ctl_op_group group_x = {"x", ops_x, 2};
static const struct ctl_op_group group_y = {"y", ops_y, 2};
static const struct ctl_op_group group_z = {"z", ops_z, 2};
static const struct ctl_op_group group_dup = {"dup", ops_dup, 2};

Test(registry, control_op_groups_with_distinct_numbers_pass)
{
    const struct ctl_op_group *groups[] = {&group_x, &group_y};
    cr_assert_eq(ctl_op_groups_check(groups, 2), 0);
}

Test(registry, overlapping_control_op_groups_are_refused)
{
    const struct ctl_op_group *groups[] = {&group_x, &group_y, &group_z};
    cr_assert_eq(ctl_op_groups_check(groups, 3), -EEXIST);
}

Test(registry, one_op_number_twice_in_a_group_is_refused)
{
    const struct ctl_op_group *groups[] = {&group_dup};
    cr_assert_eq(ctl_op_groups_check(groups, 1), -EEXIST);
}

Test(registry, kxends_own_control_ops_do_not_overlap)
{
    cr_assert_eq(ctl_op_groups_init(), 0);
    cr_assert_not_null(ctl_find_op(KXEN_CTL_DOMAIN_CREATE));
}

Test(registry, accelerators_are_found_by_name_and_kvm_ranks_before_soft)
{
    const struct accel_ops *kvm = accel_find("kvm"), *soft = accel_find("soft");
    cr_assert_not_null(kvm);
    cr_assert_not_null(soft);
    cr_assert_lt(kvm->auto_rank, soft->auto_rank);
    cr_assert_null(accel_find("nosuch"));
    int err;
    cr_assert_null(accel_select("nosuch", &err));
    cr_assert_eq(err, -EINVAL);
    char names[64];
    accel_names(names, sizeof(names), "|");
    cr_assert_str_eq(names, "kvm|soft");
}

Test(registry, event_channels_come_before_grant_tables)
{
    size_t n, evtchn = SIZE_MAX, gnttab = SIZE_MAX;
    const struct domain_subsys *const *s = domain_subsys_sorted(&n);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(s[i]->name, "evtchn"))
            evtchn = i;
        if (!strcmp(s[i]->name, "gnttab"))
            gnttab = i;
    }
    cr_assert_lt(evtchn, gnttab);
    cr_assert_lt(gnttab, n);
}

/* A model only this binary links: the daemon registers no fake device. */
static int test_model_create(struct domain *d, const char *options, void **state)
{
    (void)d;
    *state = (void *)options;
    return 0;
}

static const struct device_model test_model = {
    .name = "registry-test-model",
    .order = 5,
    .create = test_model_create,
};
DEVICE_MODEL_REGISTER(test_model);

Test(registry, device_models_are_found_by_name)
{
    const struct device_model *m = device_model_find("registry-test-model");
    cr_assert_eq(m, &test_model);
    void *state = NULL;
    cr_assert_eq(m->create(NULL, "irq=4", &state), 0);
    cr_assert_str_eq(state, "irq=4");
}

Test(registry, unknown_device_models_are_not_found)
{
    cr_assert_null(device_model_find("registry-test"));
    cr_assert_null(device_model_find(""));
    cr_assert_null(device_model_find(NULL));
}
