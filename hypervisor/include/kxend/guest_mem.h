/* The one way kxend touches guest memory. Every guest-supplied address and length goes
 * through these helpers; a reviewer can grep for raw guest pointers and find none. */
#ifndef KXEND_GUEST_MEM_H
#define KXEND_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "kxend/domain.h"

/* Host pointer for guest-physical [gpa, gpa+len) when it lies wholly inside the domain's RAM
 * (no wrap-around), else NULL. */
void *guest_phys_ptr(struct domain *d, uint64_t gpa, uint64_t len);

/* Copies between kxend and guest-virtual addresses of the vCPU (translated through the
 * accelerator, page by page). Return 0 or -EFAULT (Xen's error for a bad guest buffer). */
int copy_from_guest(struct vcpu *v, void *dst, uint64_t gva, size_t len);
int copy_to_guest(struct vcpu *v, uint64_t gva, const void *src, size_t len);
/* Same with guest-physical addresses (domain builder, devices, grant copy). */
int copy_from_guest_phys(struct domain *d, void *dst, uint64_t gpa, size_t len);
int copy_to_guest_phys(struct domain *d, uint64_t gpa, const void *src, size_t len);

/* Records kxend's own writes for dirty tracking (copy_to_* call it already). */
void guest_mark_dirty(struct domain *d, uint64_t gpa, uint64_t len);

/* Marks dirty every page of d that a dom0 client declared mapped writable through its
 * foreign mapping (KXEN_CTL_FOREIGN_WRITABLE; foreign_writable.c). */
void foreign_writable_mark(struct domain *d);

#endif
