/* The kvm accelerator's grant maps (accel_ops.map_foreign_page): one KVM memory slot per
 * foreign page, slots KXEN_KVM_FOREIGN_SLOT0.. (slot 0 is the domain's RAM). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kxen/log.h"
#include "kvm_priv.h"

int kvm_map_foreign_page(struct domain *d, uint64_t gpa, void *host, bool writable)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    unsigned i = 0;
    while (i < KXEN_ACCEL_MAX_FOREIGN && kd->foreign_gpa[i])
        i++;
    if (i == KXEN_ACCEL_MAX_FOREIGN)
        return -ENOSPC;
    /* Read-only: KVM turns writes into MMIO exits, which io_mmio_access drops. */
    struct kvm_userspace_memory_region r = {
        .slot = KXEN_KVM_FOREIGN_SLOT0 + i,
        .flags = writable ? 0 : KVM_MEM_READONLY,
        .guest_phys_addr = gpa,
        .memory_size = KXEN_PAGE_SIZE,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    if (ioctl(kd->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return -errno;
    kd->foreign_gpa[i] = gpa;
    return 0;
}

void kvm_unmap_foreign_page(struct domain *d, uint64_t gpa)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    for (unsigned i = 0; i < KXEN_ACCEL_MAX_FOREIGN; i++) {
        if (!gpa || kd->foreign_gpa[i] != gpa)
            continue;
        /* Size 0 deletes the slot; KVM zaps the guest's mappings of it before returning. */
        struct kvm_userspace_memory_region r = {.slot = KXEN_KVM_FOREIGN_SLOT0 + i,
                                                .guest_phys_addr = gpa};
        if (ioctl(kd->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
            log_err("kvm: dom%u: removing the grant slot at %#llx: %s", d->domid,
                    (unsigned long long)gpa, strerror(errno));
        kd->foreign_gpa[i] = 0;
    }
}
