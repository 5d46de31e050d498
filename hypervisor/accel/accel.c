/* Accelerator selection and the hypercall page both accelerators share. */
#include <errno.h>
#include <string.h>

#include <kxen/xen.h>

#include "kxend/accel.h"
#include "kxend/guest_mem.h"

const struct accel_ops *accel_select(const char *name, int *err)
{
    const struct accel_ops *kvm = &accel_kvm_ops, *soft = &accel_soft_ops;
    int rc;

    *err = 0;
    if (!name || !strcmp(name, "auto")) {
        if (kvm->probe && kvm->probe() == 0)
            return kvm;
        if ((rc = soft->probe()) == 0)
            return soft;
        *err = rc;
        return NULL;
    }
    const struct accel_ops *a = !strcmp(name, "kvm") ? kvm : !strcmp(name, "soft") ? soft : NULL;
    if (!a) {
        *err = -EINVAL;
        return NULL;
    }
    if (!a->probe) {
        *err = -ENODEV;
        return NULL;
    }
    if ((rc = a->probe()) < 0) {
        *err = rc;
        return NULL;
    }
    return a;
}

/* One 32-byte stub per hypercall number: `mov $nr, %eax; vmcall; ret`. vmcall traps with an
 * exact RIP on Unicorn (UC_HOOK_INSN_INVALID) and exits to the VMM under KVM; the rest of each
 * stub is int3 so a stray jump into the page faults loudly. */
int hypercall_page_fill(struct domain *d, uint64_t gpa)
{
    uint8_t page[4096];
    if (gpa & 0xfff)
        return -EINVAL;
    memset(page, 0xcc, sizeof(page));
    for (unsigned nr = 0; nr < sizeof(page) / KXEN_HYPERCALL_STUB_SIZE; nr++) {
        uint8_t *p = page + nr * KXEN_HYPERCALL_STUB_SIZE;
        if (d->accel && d->accel->hypercall_entry) { /* kvm: its own trap (kvm_run.c) */
            d->accel->hypercall_entry(nr, p);
            continue;
        }
        p[0] = 0xb8; /* mov $imm32, %eax */
        memcpy(p + 1, &nr, 4);
        p[5] = 0x0f; /* vmcall */
        p[6] = 0x01;
        p[7] = 0xc1;
        p[8] = 0xc3; /* ret */
    }
    int rc = copy_to_guest_phys(d, gpa, page, sizeof(page));
    if (rc == 0)
        d->hypercall_page_gpa = gpa;
    return rc;
}
