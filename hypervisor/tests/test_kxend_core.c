/* Shared core without a running guest: guest memory bounds, CPUID leaves, the hypercall
 * table, a few hypercall families called directly on a built (not started) domain. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <kxen/arch-x86/cpuid.h>
#include <kxen/hvm/hvm_op.h>
#include <kxen/hvm/params.h>
#include <kxen/memory.h>
#include <kxen/vcpu.h>
#include <kxen/version.h>
#include <kxen/xen.h>

#include "../kxend/core.h"
#include "kxend/guest_mem.h"

#define RAM (2ull << 20)

static struct domain *d;

static void setup(void)
{
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = "core-test", .ram_bytes = RAM, .nr_vcpus = 2};
    cr_assert_eq(domain_create(&cfg, &d), 0);
}

static void teardown(void)
{
    domain_destroy(d);
    domain_put(d);
}

TestSuite(core, .init = setup, .fini = teardown);

Test(core, guest_phys_ptr_accepts_ranges_inside_ram_only)
{
    cr_assert_not_null(guest_phys_ptr(d, 0, RAM));
    cr_assert_not_null(guest_phys_ptr(d, RAM - 8, 8));
    cr_assert_null(guest_phys_ptr(d, RAM - 4, 8), "straddles the end of RAM");
    cr_assert_null(guest_phys_ptr(d, RAM, 1), "starts at the end");
    cr_assert_null(guest_phys_ptr(d, ~0ull - 2, 8), "wraps around");
    cr_assert_null(guest_phys_ptr(d, 8, ~0ull), "length wraps around");
}

Test(core, copies_fail_with_efault_outside_ram_and_mark_dirty_pages)
{
    uint8_t buf[16] = {1, 2, 3};
    cr_assert_eq(copy_to_guest_phys(d, RAM - 8, buf, 16), -EFAULT);
    cr_assert_eq(copy_from_guest_phys(d, buf, ~0ull - 4, 16), -EFAULT);
    cr_assert_eq(copy_from_guest(d->vcpus[0], buf, ~0ull - 4, 16), -EFAULT, "gva wraps");
    _Atomic uint64_t bm[(RAM >> 12) / 64] = {0};
    d->dirty_bitmap = bm;
    cr_assert_eq(copy_to_guest(d->vcpus[0], 0x3ffc, buf, 8), 0, "straddles pages 3 and 4");
    cr_assert_eq(atomic_load(&bm[0]), (1ull << 3) | (1ull << 4));
    d->dirty_bitmap = NULL;
    cr_assert_eq(memcmp(d->ram + 0x3ffc, buf, 8), 0);
}

Test(core, cpuid_reports_xen_leaves_and_the_hypervisor_bit)
{
    uint32_t r[4];
    cpuid_emulate(d->vcpus[1], XEN_CPUID_LEAF(0), 0, r);
    cr_assert_geq(r[0], XEN_CPUID_LEAF(2));
    cr_assert_eq(r[1], XEN_CPUID_SIGNATURE_EBX);
    cr_assert_eq(r[2], XEN_CPUID_SIGNATURE_ECX);
    cr_assert_eq(r[3], XEN_CPUID_SIGNATURE_EDX);
    char sig[13] = {0};
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    cr_assert_str_eq(sig, "XenVMMXenVMM");
    cpuid_emulate(d->vcpus[1], XEN_CPUID_LEAF(1), 0, r);
    cr_assert_eq(r[0], (4u << 16) | 17u);
    cpuid_emulate(d->vcpus[1], XEN_CPUID_LEAF(2), 0, r);
    cr_assert_eq(r[0], 1u, "one hypercall page");
    cr_assert_eq(r[1], KXEN_HYPERCALL_MSR);
    cpuid_emulate(d->vcpus[1], XEN_CPUID_LEAF(4), 0, r);
    cr_assert_eq(r[1], 1u, "vcpu id");
    cr_assert_eq(r[2], d->domid);
    cpuid_emulate(d->vcpus[1], XEN_CPUID_FIRST_LEAF + 0x100, 0, r);
    cr_assert_eq(r[1], 0u, "no second signature at +0x100");
    cpuid_emulate(d->vcpus[1], 1, 0, r);
    cr_assert(r[2] & (1u << 31), "hypervisor bit");
    cr_assert_not(r[2] & (1u << 5), "no VMX");
    cr_assert_eq(r[1] >> 24, 1u, "APIC id is the vCPU id");
}

Test(core, unknown_hypercalls_return_enosys)
{
    uint64_t a[5] = {0};
    unsigned unknown[] = {0, 1, 2, 14, 23, 36, 40, 55, 63, 64, 1000, 0xffffffffu};
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        cr_assert_eq(hypercall_dispatch(d->vcpus[0], unknown[i], a), -ENOSYS, "nr %u", unknown[i]);
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], ~0ull, a), -ENOSYS);
    a[0] = XENVER_version;
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_xen_version, a), 0x40011);
    a[0] = 99; /* unknown memory_op sub-command */
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_memory_op, a), -ENOSYS);
}

Test(core, hvm_params_guard_toolstack_values_and_decode_the_callback_vector)
{
    struct xen_hvm_param p = {.domid = DOMID_SELF, .index = HVM_PARAM_STORE_PFN, .value = 5};
    uint64_t gpa = 0x1000;
    memcpy(d->ram + gpa, &p, sizeof(p));
    uint64_t a[5] = {HVMOP_set_param, gpa};
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_hvm_op, a), -EPERM);
    p.index = HVM_PARAM_CALLBACK_IRQ;
    p.value = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_VECTOR, 0xf3);
    memcpy(d->ram + gpa, &p, sizeof(p));
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_hvm_op, a), 0);
    cr_assert_eq(d->vcpus[0]->upcall_vector, 0xf3);
    cr_assert_eq(d->vcpus[1]->upcall_vector, 0xf3);
    p.value = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_VECTOR, 0x05);
    memcpy(d->ram + gpa, &p, sizeof(p));
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_hvm_op, a), -EINVAL,
                 "exception vectors are refused");
    p.index = 1000;
    memcpy(d->ram + gpa, &p, sizeof(p));
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_hvm_op, a), -EINVAL);
    p.index = HVM_PARAM_CALLBACK_IRQ;
    p.domid = 0x7000; /* no such domain */
    memcpy(d->ram + gpa, &p, sizeof(p));
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_hvm_op, a), -ESRCH);
    a[1] = RAM - 4;
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_hvm_op, a), -EFAULT);
}

Test(core, memory_map_excludes_the_special_pages)
{
    d->reserved_base_pfn = (RAM >> 12) - 36;
    struct xen_memory_map m = {.nr_entries = 4};
    m.buffer.q = 0x2000;
    memcpy(d->ram + 0x1000, &m, sizeof(m));
    uint64_t a[5] = {XENMEM_memory_map, 0x1000};
    cr_assert_eq(hypercall_dispatch(d->vcpus[0], __HYPERVISOR_memory_op, a), 0);
    memcpy(&m, d->ram + 0x1000, sizeof(m));
    cr_assert_eq(m.nr_entries, 2u);
    struct kxen_e820_entry e[2];
    memcpy(e, d->ram + 0x2000, sizeof(e));
    cr_assert_eq(e[0].addr, 0);
    cr_assert_eq(e[0].size, d->reserved_base_pfn << 12);
    cr_assert_eq(e[0].type, KXEN_E820_RAM);
    cr_assert_eq(e[1].type, KXEN_E820_RESERVED);
    cr_assert_eq(e[1].addr + e[1].size, RAM);
}

Test(core, domain_names_are_validated_and_unique)
{
    cr_assert_not(domain_name_valid(""));
    cr_assert_not(domain_name_valid("a/b"));
    cr_assert_not(domain_name_valid("with space"));
    cr_assert(domain_name_valid("guest-1"));
    struct domain_config cfg = {.name = "core-test", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain *d2;
    cr_assert_eq(domain_create(&cfg, &d2), -EEXIST);
    cfg.nr_vcpus = 33;
    cfg.name = "other";
    cr_assert_eq(domain_create(&cfg, &d2), -EINVAL);
    cfg.nr_vcpus = 1;
    cfg.ram_bytes = RAM + 100;
    cr_assert_eq(domain_create(&cfg, &d2), -EINVAL, "RAM not a page multiple");
    cr_assert_eq(domain_rename(d, "bad/name"), -EINVAL);
    cr_assert_eq(domain_rename(d, "renamed"), 0);
    cr_assert_str_eq(d->name, "renamed");
}

Test(core, a_destroyed_domains_id_is_not_reused_at_once)
{
    struct domain_config cfg = {.name = "first", .ram_bytes = RAM, .nr_vcpus = 1};
    struct domain *a, *b;
    cr_assert_eq(domain_create(&cfg, &a), 0);
    uint16_t id = a->domid;
    domain_destroy(a);
    domain_put(a);
    cfg.name = "second";
    cr_assert_eq(domain_create(&cfg, &b), 0);
    cr_assert_neq(b->domid, id, "xenstored may still be releasing the old id");
    domain_destroy(b);
    domain_put(b);
}

Test(core, periodic_timer_has_xens_bounds_and_folds_missed_ticks)
{
    struct vcpu *v = d->vcpus[0];
    uint64_t period = 500000; /* 0.5 ms: below Xen's 1 ms minimum */
    memcpy(d->ram + 0x1000, &period, sizeof(period));
    uint64_t a[5] = {VCPUOP_set_periodic_timer, 0, 0x1000};
    cr_assert_eq(hypercall_dispatch(v, __HYPERVISOR_vcpu_op, a), -EINVAL);
    period = 2000000; /* 2 ms */
    memcpy(d->ram + 0x1000, &period, sizeof(period));
    cr_assert_eq(hypercall_dispatch(v, __HYPERVISOR_vcpu_op, a), 0);
    uint64_t first = v->periodic_next_ns;
    cr_assert_neq(first, 0);
    cr_assert_eq(vcpu_next_deadline(v), first);
    cr_assert_not(time_check_timers(v), "not due yet");
    struct timespec ts = {0, 7 * 1000 * 1000}; /* three ticks pass unseen */
    nanosleep(&ts, NULL);
    cr_assert(time_check_timers(v), "due");
    cr_assert_gt(v->periodic_next_ns, kxen_system_time_ns() - 1, "next tick is in the future");
    cr_assert_eq((v->periodic_next_ns - first) % period, 0, "ticks stay on the period grid");
    a[0] = VCPUOP_stop_periodic_timer;
    cr_assert_eq(hypercall_dispatch(v, __HYPERVISOR_vcpu_op, a), 0);
    cr_assert_eq(vcpu_next_deadline(v), 0);
}
