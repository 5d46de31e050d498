/* Accelerator selection over the registered accelerators, and the hypercall page every
 * accelerator shares. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <kxen/xen.h>

#include "kxend/accel.h"
#include "kxend/guest_mem.h"

const struct accel_ops *accel_find(const char *name)
{
    for (KXEND_FOREACH(kxend_accels, struct accel_ops, a))
        if (!strcmp((*a)->name, name))
            return *a;
    return NULL;
}

/* The registered accelerator that follows `after` in (rank, name) order; the first for NULL.
 * A walk rather than a sort: there are only a few accelerators. */
static const struct accel_ops *next_by_rank(const struct accel_ops *after)
{
    const struct accel_ops *best = NULL;
    for (KXEND_FOREACH(kxend_accels, struct accel_ops, it)) {
        const struct accel_ops *a = *it;
        bool later = !after || a->auto_rank > after->auto_rank ||
                     (a->auto_rank == after->auto_rank && strcmp(a->name, after->name) > 0);
        bool better = !best || a->auto_rank < best->auto_rank ||
                      (a->auto_rank == best->auto_rank && strcmp(a->name, best->name) < 0);
        if (later && better)
            best = a;
    }
    return best;
}

void accel_names(char *buf, size_t len, const char *sep)
{
    size_t n = 0;
    if (len)
        buf[0] = '\0';
    for (const struct accel_ops *a = next_by_rank(NULL); a && n < len; a = next_by_rank(a))
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? sep : "", a->name);
}

const struct accel_ops *accel_select(const char *name, int *err)
{
    int rc;

    *err = 0;
    if (!name || !strcmp(name, "auto")) {
        *err = -ENODEV;
        for (const struct accel_ops *a = next_by_rank(NULL); a; a = next_by_rank(a)) {
            if (!a->probe)
                continue;
            if ((rc = a->probe()) == 0) {
                *err = 0;
                return a;
            }
            *err = rc > 0 ? -ENODEV : rc;
        }
        return NULL;
    }
    const struct accel_ops *a = accel_find(name);
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
