/* The checked accessors for guest memory: every guest-supplied address and length passes
 * through here (bounds, wrap-around, translation), and kxend's own writes feed dirty
 * tracking. */
#include <errno.h>
#include <string.h>

#include "kxend/accel.h"
#include "kxend/guest_mem.h"
#include "kxen/util.h"

void *guest_phys_ptr(struct domain *d, uint64_t gpa, uint64_t len)
{
    if (!d->ram || gpa >= d->ram_size || len > d->ram_size - gpa)
        return NULL;
    return d->ram + gpa;
}

void guest_mark_dirty(struct domain *d, uint64_t gpa, uint64_t len)
{
    _Atomic uint64_t *bm = d->dirty_bitmap;
    if (!bm || len == 0 || gpa >= d->ram_size)
        return;
    uint64_t last = KXEN_MIN(gpa + len - 1, d->ram_size - 1) >> KXEN_PAGE_SHIFT;
    for (uint64_t pfn = gpa >> KXEN_PAGE_SHIFT; pfn <= last; pfn++)
        atomic_fetch_or(&bm[pfn / 64], 1ull << (pfn % 64));
}

int copy_from_guest_phys(struct domain *d, void *dst, uint64_t gpa, size_t len)
{
    const void *p = guest_phys_ptr(d, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}

int copy_to_guest_phys(struct domain *d, uint64_t gpa, const void *src, size_t len)
{
    void *p = guest_phys_ptr(d, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    guest_mark_dirty(d, gpa, len);
    return 0;
}

/* Walks [gva, gva+len) page by page through the accelerator's translation. */
static int copy_virt(struct vcpu *v, uint64_t gva, void *buf, size_t len, bool to_guest)
{
    struct domain *d = v->dom;
    uint8_t *b = buf;

    if (len && gva + len - 1 < gva)
        return -EFAULT; /* wraps around the address space */
    while (len) {
        uint64_t gpa = gva;
        size_t chunk = KXEN_MIN(len, (size_t)(KXEN_PAGE_SIZE - (gva & (KXEN_PAGE_SIZE - 1))));
        if (d->accel && d->accel->translate && d->accel->translate(v, gva, &gpa) < 0)
            return -EFAULT;
        int rc = to_guest ? copy_to_guest_phys(d, gpa, b, chunk)
                          : copy_from_guest_phys(d, b, gpa, chunk);
        if (rc < 0)
            return rc;
        gva += chunk;
        b += chunk;
        len -= chunk;
    }
    return 0;
}

int copy_from_guest(struct vcpu *v, void *dst, uint64_t gva, size_t len)
{
    return copy_virt(v, gva, dst, len, false);
}

int copy_to_guest(struct vcpu *v, uint64_t gva, const void *src, size_t len)
{
    return copy_virt(v, gva, (void *)src, len, true);
}
