/* __HYPERVISOR_memory_op: add_to_physmap (shared_info, grant frames), memory_map,
 * reservations, maximum_ram_page, and ballooning (decrease_reservation/populate_physmap
 * within the domain's RAM, bounded by its maximum). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/memory.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/util.h"
#include "kxend/gnttab.h"
#include "kxend/guest_mem.h"
#include "kxend/hypercall.h"

#define MAX_EXTENT_ORDER 9

/* DOMID_SELF or the caller's own id; another domain only for privileged callers. Returns a
 * referenced domain or NULL with *err set. */
static struct domain *target_domain(struct vcpu *v, uint16_t domid, int *err)
{
    if (domid == DOMID_SELF || domid == v->dom->domid) {
        atomic_fetch_add(&v->dom->refs, 1);
        return v->dom;
    }
    /* Xen's order: an unknown domain is -ESRCH, a known one without privilege -EPERM. dom0
     * (the host) exists but has no guest memory kxend could act on. */
    if (domid == 0) {
        *err = -EPERM;
        return NULL;
    }
    struct domain *d = domain_get(domid);
    if (!d) {
        *err = -ESRCH;
        return NULL;
    }
    if (!v->dom->privileged) {
        domain_put(d);
        *err = -EPERM;
        return NULL;
    }
    return d;
}

static uint64_t usable_end(struct domain *d)
{
    uint64_t end = d->reserved_base_pfn << KXEN_PAGE_SHIFT;
    return end && end < d->ram_size ? end : d->ram_size;
}

static int64_t move_shared_info(struct domain *d, uint64_t gpfn)
{
    uint64_t gpa = gpfn << KXEN_PAGE_SHIFT;
    if (gpfn >= (d->ram_size >> KXEN_PAGE_SHIFT))
        return -EINVAL;
    if (gpa == d->shared_info_gpa)
        return 0;
    /* RAM pages cannot be remapped under a memfd, so the page's content moves instead: the
     * guest sees the same shared_info at its new frame. */
    uint8_t page[KXEN_PAGE_SIZE];
    memset(page, 0, sizeof(page));
    if (d->shared_info_gpa != KXEN_NO_GPA)
        copy_from_guest_phys(d, page, d->shared_info_gpa, sizeof(page));
    if (copy_to_guest_phys(d, gpa, page, sizeof(page)))
        return -EINVAL;
    d->shared_info_gpa = gpa;
    d->shared_info_pfn = gpfn;
    return 0;
}

/* A grant frame the guest places outside its RAM (Linux puts its grant frames in a free gap
 * of the physical address space, above RAM): the frame keeps its home in the region the
 * loader reserved, where backends find it, and the accelerator maps that same page at the
 * frame the guest asked for too. */
static int64_t grant_frame_outside_ram(struct domain *d, unsigned idx, uint64_t gpfn)
{
    if (!d->accel->map_foreign_page || !d->gnttab_base_pfn ||
        gpfn > (UINT64_MAX >> KXEN_PAGE_SHIFT))
        return -EINVAL;
    uint64_t home = d->gnttab_base_pfn + idx;
    void *host = guest_phys_ptr(d, home << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE);
    if (!host)
        return -EINVAL;
    int rc = d->accel->map_foreign_page(d, gpfn << KXEN_PAGE_SHIFT, host, true);
    if (rc < 0 && rc != -EEXIST)
        return rc;
    return gnttab_set_frame(d, idx, home);
}

static int64_t add_to_physmap(struct vcpu *v, uint64_t arg)
{
    struct xen_add_to_physmap x;
    int err = 0;
    if (copy_from_guest(v, &x, arg, sizeof(x)))
        return -EFAULT;
    struct domain *d = target_domain(v, x.domid, &err);
    if (!d)
        return err;
    int64_t rc;
    switch (x.space) {
    case XENMAPSPACE_shared_info:
        rc = x.idx == 0 ? move_shared_info(d, x.gpfn) : -EINVAL;
        break;
    case XENMAPSPACE_grant_table:
        if (x.idx & XENMAPIDX_grant_table_status)
            rc = -EINVAL; /* v1 only: no status frames */
        else if (x.idx >= KXEN_GNTTAB_MAX_FRAMES)
            rc = -EINVAL;
        else if (x.gpfn >= (d->ram_size >> KXEN_PAGE_SHIFT))
            rc = d->vcpus[0]->boot.lapic ? grant_frame_outside_ram(d, (unsigned)x.idx, x.gpfn)
                                         : -EINVAL;
        else
            rc = gnttab_set_frame(d, (unsigned)x.idx, x.gpfn);
        break;
    default:
        rc = -ENOSYS;
        break;
    }
    domain_put(d);
    return rc;
}

static int64_t memory_map(struct vcpu *v, uint64_t arg)
{
    struct xen_memory_map m;
    struct domain *d = v->dom;
    if (copy_from_guest(v, &m, arg, sizeof(m)))
        return -EFAULT;
    struct kxen_e820_entry e[2];
    unsigned n = 0;
    uint64_t end = usable_end(d);
    /* Reserved up to maxmem too, as in the PVH loader's map: RAM never grows into it and
     * grant maps are refused there, while Linux claims the first range its e820 leaves
     * undescribed for the pages it maps grants into (unpopulated-alloc). */
    pthread_mutex_lock(&d->lock);
    uint64_t top = KXEN_MAX(d->ram_size, d->max_ram_size);
    pthread_mutex_unlock(&d->lock);
    e[n++] = (struct kxen_e820_entry){0, end, KXEN_E820_RAM};
    if (end < top)
        e[n++] = (struct kxen_e820_entry){end, top - end, KXEN_E820_RESERVED};
    if (m.nr_entries < n)
        return -EINVAL;
    if (copy_to_guest(v, xen_guest_handle_addr(m.buffer), e, n * sizeof(e[0])))
        return -EFAULT;
    m.nr_entries = n;
    return copy_to_guest(v, arg, &m, sizeof(m));
}

static int64_t reservation_query(struct vcpu *v, uint64_t arg, bool maximum)
{
    domid_t domid;
    int err = 0;
    if (copy_from_guest(v, &domid, arg, sizeof(domid)))
        return -EFAULT;
    struct domain *d = target_domain(v, domid, &err);
    if (!d)
        return err;
    pthread_mutex_lock(&d->lock);
    int64_t pages = maximum ? (int64_t)(d->max_ram_size >> KXEN_PAGE_SHIFT)
                            : (int64_t)((d->ram_size >> KXEN_PAGE_SHIFT) - d->nr_ballooned);
    pthread_mutex_unlock(&d->lock);
    domain_put(d);
    return pages;
}

/* Ballooning, as Xen's balloon drivers use it: decrease_reservation gives pages back (kxend
 * punches them out of the memfd, so the host gets the memory back; they read as zeros) and
 * populate_physmap asks for them again, as long as the domain stays within its maximum
 * (xl mem-max). Only pages given back can be populated: RAM never grows past the memfd.
 * increase_reservation has no free machine frames to hand out and does nothing. Called with
 * d->lock held; returns true when the page was handled. */
static bool balloon_page(struct domain *d, unsigned cmd, uint64_t pfn)
{
    uint64_t bit = 1ull << (pfn % 64), *word = &d->ballooned[pfn / 64];
    if (cmd == XENMEM_decrease_reservation) {
        if (fallocate(d->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)(pfn << KXEN_PAGE_SHIFT), (off_t)KXEN_PAGE_SIZE) < 0)
            return false;
        if (!(*word & bit)) {
            *word |= bit;
            d->nr_ballooned++;
        }
        return true;
    }
    if (!(*word & bit))
        return true; /* never given back: it is there already */
    uint64_t held = d->ram_size - (d->nr_ballooned << KXEN_PAGE_SHIFT);
    if (held + KXEN_PAGE_SIZE > d->max_ram_size)
        return false; /* over the maximum the toolstack set */
    *word &= ~bit;
    d->nr_ballooned--;
    return true;
}

/* Returns the number of extents done, as Xen. */
static int64_t reservation_op(struct vcpu *v, unsigned cmd, uint64_t arg, uint64_t start)
{
    struct xen_memory_reservation r;
    int err = 0;
    if (copy_from_guest(v, &r, arg, sizeof(r)))
        return -EFAULT;
    if (r.extent_order > MAX_EXTENT_ORDER)
        return -EINVAL;
    struct domain *d = target_domain(v, r.domid, &err);
    if (!d)
        return err;
    uint64_t ext = xen_guest_handle_addr(r.extent_start);
    uint64_t pages = 1ull << r.extent_order;
    if (start > r.nr_extents) {
        domain_put(d);
        return -EINVAL;
    }
    int64_t done = (int64_t)start;
    pthread_mutex_lock(&d->lock);
    if (!d->ballooned && cmd != XENMEM_increase_reservation)
        d->ballooned = calloc((d->ram_size >> KXEN_PAGE_SHIFT) / 64 + 1, sizeof(uint64_t));
    for (; d->ballooned && (uint64_t)done < r.nr_extents; done++) {
        xen_pfn_t pfn;
        if (cmd == XENMEM_increase_reservation)
            break;
        if (copy_from_guest(v, &pfn, ext + (uint64_t)done * sizeof(pfn), sizeof(pfn)))
            break;
        uint64_t limit = usable_end(d) >> KXEN_PAGE_SHIFT;
        /* Buggy or malicious guest: a frame outside its usable RAM. */
        if (pfn & (pages - 1) || pfn >= limit || pages > limit - pfn) /* no wrap past 2^64 */
            break;
        uint64_t i = 0;
        while (i < pages && balloon_page(d, cmd, pfn + i))
            i++;
        if (i < pages)
            break;
    }
    pthread_mutex_unlock(&d->lock);
    domain_put(d);
    return done;
}

static int64_t do_memory_op(struct vcpu *v, const uint64_t a[5])
{
    /* Low 6 bits: the command; above: the start extent of a continued reservation call
     * (Xen's encoding). kxend finishes every call at once but honours a start extent. */
    unsigned cmd = (unsigned)(a[0] & 0x3f);
    uint64_t start = a[0] >> 6;
    switch (cmd) {
    case XENMEM_add_to_physmap:
        return add_to_physmap(v, a[1]);
    case XENMEM_memory_map:
        return memory_map(v, a[1]);
    case XENMEM_current_reservation:
        return reservation_query(v, a[1], false);
    case XENMEM_maximum_reservation:
        return reservation_query(v, a[1], true);
    case XENMEM_maximum_ram_page:
        return (int64_t)(v->dom->ram_size >> KXEN_PAGE_SHIFT) - 1;
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
        return reservation_op(v, cmd, a[1], start);
    case XENMEM_maximum_gpfn:
        return (int64_t)(v->dom->ram_size >> KXEN_PAGE_SHIFT) - 1;
    default:
        return -ENOSYS;
    }
}

static const struct hypercall_family hc_memory_op = {__HYPERVISOR_memory_op, "memory_op",
                                                     do_memory_op};
HYPERCALL_REGISTER(hc_memory_op);
