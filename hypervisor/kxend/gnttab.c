/* Grant tables, v1. Entries live in the granter's RAM: each use reads the entry once into a
 * local copy, checks it, then sets the in-use flags with a cmpxchg on the (flags, domid) word
 * so that a concurrent revoke by the granter either wins or sees the flags (Xen's protocol).
 * Pin counts stay host-side; the flags are cleared when the last user of an entry goes.
 * This file: that protocol, frames, the per-domain state and the GNTTABOP_* dispatch; copies,
 * dom0's maps and guest maps are in gnttab_copy.c, gnttab_dom0.c and gnttab_map.c. */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "gnttab_internal.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/guest_mem.h"
#include "kxend/subsys.h"

pthread_mutex_t gnttab_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gnttab_serial;

/* ---- validation helpers ---- */

int gnttab_ref_check(const struct gnttab_domain *gt, uint32_t ref)
{
    if (ref >= gt->nr_frames * KXEN_GNTTAB_ENTRIES_PER_FRAME ||
        !(gt->frame_set & (1u << (ref / KXEN_GNTTAB_ENTRIES_PER_FRAME))))
        return GNTST_bad_gntref;
    return GNTST_okay;
}

/* A copy or map stays inside one page. */
int gnttab_span_check(uint32_t offset, uint32_t len)
{
    return offset >= KXEN_PAGE_SIZE || len > KXEN_PAGE_SIZE - offset ? GNTST_bad_copy_arg
                                                                     : GNTST_okay;
}

/* The (flags, domid, frame) entry in guest RAM; NULL if its frame left RAM. */
uint64_t *gnttab_entry_ptr(struct gnttab_domain *gt, uint32_t ref)
{
    uint64_t gpa = (gt->frames[ref / KXEN_GNTTAB_ENTRIES_PER_FRAME] << KXEN_PAGE_SHIFT) +
                   (ref % KXEN_GNTTAB_ENTRIES_PER_FRAME) * sizeof(struct grant_entry_v1);
    return guest_phys_ptr(gt->d, gpa, sizeof(struct grant_entry_v1));
}

/* ---- the flag protocol (gnttab_lock held) ---- */

/* Pins <gt>:<ref> for domain `grantee`: checks the granter's entry and sets GTF_reading
 * (+GTF_writing). Returns GNTST_okay with the frame's gpa, else a GNTST_* code. */
int gnttab_pin_locked(struct gnttab_domain *gt, uint32_t ref, uint16_t grantee, bool readonly,
                      uint64_t *gpa)
{
    int st = gnttab_ref_check(gt, ref);
    if (st)
        return st;
    uint64_t *e = gnttab_entry_ptr(gt, ref);
    if (!e)
        return GNTST_bad_gntref;
    uint32_t *word = (uint32_t *)e; /* flags | domid << 16, little-endian */
    for (int tries = 0; tries < 16; tries++) {
        uint64_t local = __atomic_load_n(e, __ATOMIC_SEQ_CST); /* read once */
        uint16_t flags = (uint16_t)local, domid = (uint16_t)(local >> 16);
        uint32_t frame = (uint32_t)(local >> 32);
        if ((flags & GTF_type_mask) != GTF_permit_access || domid != grantee) {
            log_dom_debug(gt->d->domid, "gnttab: d%u ref %u: not granted to d%u (flags %#x dom %u)",
                          gt->d->domid, ref, grantee, flags, domid);
            return GNTST_general_error;
        }
        if (!readonly && (flags & GTF_readonly)) {
            log_dom_debug(gt->d->domid, "gnttab: d%u ref %u: write use of a read-only grant",
                          gt->d->domid, ref);
            return GNTST_general_error;
        }
        uint64_t fgpa = (uint64_t)frame << KXEN_PAGE_SHIFT;
        if (!guest_phys_ptr(gt->d, fgpa, KXEN_PAGE_SIZE))
            return GNTST_bad_page;
        /* A count that wrapped to 0 would let the next unpin clear the in-use flags while
         * every other user still holds the page: the granter could then reuse it. Writers
         * never outnumber pins, so this bounds both. */
        if (gt->active[ref].pins == UINT16_MAX) {
            log_dom_warn(gt->d->domid, "gnttab: d%u ref %u: %u users at once: refused",
                         gt->d->domid, ref, UINT16_MAX);
            return GNTST_no_space;
        }
        uint32_t old = (uint32_t)local;
        uint32_t new = old | GTF_reading | (readonly ? 0 : GTF_writing);
        if (__atomic_compare_exchange_n(word, &old, new, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            struct gnttab_active *a = &gt->active[ref];
            a->pins++;
            if (!readonly) {
                a->writers++;
                a->frame = frame;
            }
            guest_mark_dirty(gt->d, (uint64_t)((uint8_t *)e - gt->d->ram), sizeof(*e));
            *gpa = fgpa;
            return GNTST_okay;
        }
        /* The granter changed the entry meanwhile: look again. */
    }
    return GNTST_eagain;
}

void gnttab_unpin_locked(struct gnttab_domain *gt, uint32_t ref, bool readonly)
{
    if (gnttab_ref_check(gt, ref))
        return;
    struct gnttab_active *a = &gt->active[ref];
    uint16_t clear = 0;
    /* A writable map (dom0's or a guest's) may have written the page up to this moment, and
     * a dirty collect may have come since the last write: the unmap counts as a write. */
    if (!readonly && a->writers)
        guest_mark_dirty(gt->d, (uint64_t)a->frame << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE);
    if (!readonly && a->writers && --a->writers == 0)
        clear |= GTF_writing;
    if (a->pins && --a->pins == 0)
        clear |= GTF_reading | GTF_writing;
    uint64_t *e = gnttab_entry_ptr(gt, ref);
    if (clear && e) {
        __atomic_fetch_and((uint16_t *)e, (uint16_t)~clear, __ATOMIC_SEQ_CST);
        guest_mark_dirty(gt->d, (uint64_t)((uint8_t *)e - gt->d->ram), sizeof(*e));
    }
}

/* Whoever holds a grant mapped writable (dom0's backends, another guest) writes the page
 * whenever it likes, past every dirty log: a save or migration round counts it dirty for as
 * long as the pin lasts (the unpin marks it once more). */
void gnttab_mark_writable(struct domain *d)
{
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = d->gnttab;
    for (uint32_t ref = 0; gt && ref < GNTTAB_MAX_ENTRIES; ref++)
        if (gt->active[ref].writers)
            guest_mark_dirty(d, (uint64_t)gt->active[ref].frame << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE);
    pthread_mutex_unlock(&gnttab_lock);
}

/* ---- domain lifecycle and frames ---- */

int gnttab_domain_init(struct domain *d)
{
    struct gnttab_domain *gt = calloc(1, sizeof(*gt));
    if (!gt)
        return -ENOMEM;
    gt->d = d;
    pthread_mutex_lock(&gnttab_lock);
    gt->serial = ++gnttab_serial;
    d->gnttab = gt;
    pthread_mutex_unlock(&gnttab_lock);
    return 0;
}

void gnttab_domain_destroy(struct domain *d)
{
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = d->gnttab;
    /* The vCPUs are stopped (domain.c): drop the grants this domain still maps, so their
     * granters see the in-use flags go. The accelerator's slots go with its domain. */
    for (unsigned i = 0; gt && i < KXEN_ACCEL_MAX_FOREIGN; i++)
        if (gt->maps[i].host)
            gnttab_guest_unmap_locked(NULL, &gt->maps[i]);
    d->gnttab = NULL;
    pthread_mutex_unlock(&gnttab_lock);
    /* dom0 maps of this domain keep the memfd pages; their handles are dropped at unmap. */
    free(gt);
}

/* After event channels; device backends (higher orders) may rely on a domain's grants. */
static const struct domain_subsys gnttab_subsys = {
    .name = "gnttab",
    .order = SUBSYS_ORDER_MEMORY,
    .init = gnttab_domain_init,
    .destroy = gnttab_domain_destroy,
};
DOMAIN_SUBSYS_REGISTER(gnttab_subsys);

static int set_frame_locked(struct gnttab_domain *gt, unsigned idx, uint64_t gpfn)
{
    if (idx >= KXEN_GNTTAB_MAX_FRAMES || gpfn > (UINT64_MAX >> KXEN_PAGE_SHIFT) ||
        !guest_phys_ptr(gt->d, gpfn << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE))
        return -EINVAL;
    gt->frames[idx] = gpfn;
    gt->frame_set |= 1u << idx;
    if (idx + 1 > gt->nr_frames)
        gt->nr_frames = idx + 1;
    return 0;
}

int gnttab_set_frame(struct domain *d, unsigned idx, uint64_t gpfn)
{
    pthread_mutex_lock(&gnttab_lock);
    int rc = d->gnttab ? set_frame_locked(d->gnttab, idx, gpfn) : -ESRCH;
    pthread_mutex_unlock(&gnttab_lock);
    return rc;
}

/* Frames a guest did not name itself come from the region the loader reserved. */
static int gnttab_ensure_frames_locked(struct gnttab_domain *gt, unsigned nr)
{
    for (unsigned i = 0; i < nr; i++) {
        if (gt->frame_set & (1u << i))
            continue;
        if (!gt->d->gnttab_base_pfn)
            return -ENOMEM;
        int rc = set_frame_locked(gt, i, gt->d->gnttab_base_pfn + i);
        if (rc)
            return rc;
    }
    return 0;
}

int gnttab_seed_reserved(struct domain *d, unsigned ref, uint16_t backend_domid, uint64_t gfn)
{
    if (ref >= GNTTAB_NR_RESERVED_ENTRIES || gfn > UINT32_MAX)
        return -EINVAL;
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = d->gnttab;
    int rc = gt ? gnttab_ensure_frames_locked(gt, 1) : -ESRCH;
    uint64_t *e = rc == 0 ? gnttab_entry_ptr(gt, ref) : NULL;
    if (rc == 0 && !e)
        rc = -EINVAL;
    if (rc == 0) {
        /* Frame and domid first, flags last: a reader never sees a half-made grant. */
        struct grant_entry_v1 *ge = (struct grant_entry_v1 *)e;
        ge->frame = (uint32_t)gfn;
        ge->domid = backend_domid;
        __atomic_store_n(&ge->flags, (uint16_t)GTF_permit_access, __ATOMIC_RELEASE);
        guest_mark_dirty(d, (uint64_t)((uint8_t *)e - d->ram), sizeof(*e));
    }
    pthread_mutex_unlock(&gnttab_lock);
    return rc;
}

/* ---- the hypercall ---- */

/* Resolves the domain an op names: the caller, or another one if the caller is privileged. */
static int16_t op_domain(struct domain *c, uint16_t domid, struct domain **out)
{
    *out = NULL;
    if (domid == DOMID_SELF || domid == c->domid)
        return GNTST_okay;
    if (!c->privileged)
        return GNTST_permission_denied;
    if (domid >= DOMID_FIRST_RESERVED || !(*out = domain_get(domid)))
        return GNTST_bad_domain;
    return GNTST_okay;
}

static int64_t op_setup_table(struct vcpu *v, uint64_t uop, uint32_t count)
{
    if (count != 1)
        return -EINVAL;
    struct gnttab_setup_table op;
    if (copy_from_guest(v, &op, uop, sizeof(op)))
        return -EFAULT;
    struct domain *other;
    op.status = op_domain(v->dom, op.dom, &other);
    struct domain *d = other ? other : v->dom;
    uint64_t frames[KXEN_GNTTAB_MAX_FRAMES];
    if (op.status == GNTST_okay && op.nr_frames > KXEN_GNTTAB_MAX_FRAMES) {
        log_dom_debug(v->dom->domid, "gnttab: d%u setup_table: %u frames > %u", v->dom->domid,
                      op.nr_frames, KXEN_GNTTAB_MAX_FRAMES);
        op.status = GNTST_general_error;
    }
    if (op.status == GNTST_okay) {
        pthread_mutex_lock(&gnttab_lock);
        if (!d->gnttab || gnttab_ensure_frames_locked(d->gnttab, op.nr_frames))
            op.status = GNTST_general_error;
        else
            memcpy(frames, d->gnttab->frames, op.nr_frames * sizeof(frames[0]));
        pthread_mutex_unlock(&gnttab_lock);
    }
    if (other)
        domain_put(other);
    if (op.status == GNTST_okay && op.nr_frames &&
        copy_to_guest(v, (uint64_t)(uintptr_t)op.frame_list.p, frames,
                      op.nr_frames * sizeof(frames[0])))
        return -EFAULT;
    return copy_to_guest(v, uop, &op, sizeof(op)) ? -EFAULT : 0;
}

static int64_t op_query_size(struct vcpu *v, uint64_t uop, uint32_t count)
{
    if (count != 1)
        return -EINVAL;
    struct gnttab_query_size op;
    if (copy_from_guest(v, &op, uop, sizeof(op)))
        return -EFAULT;
    struct domain *other;
    op.status = op_domain(v->dom, op.dom, &other);
    struct domain *d = other ? other : v->dom;
    if (op.status == GNTST_okay) {
        pthread_mutex_lock(&gnttab_lock);
        op.nr_frames = d->gnttab ? d->gnttab->nr_frames : 0;
        op.max_nr_frames = KXEN_GNTTAB_MAX_FRAMES;
        pthread_mutex_unlock(&gnttab_lock);
    }
    if (other)
        domain_put(other);
    return copy_to_guest(v, uop, &op, sizeof(op)) ? -EFAULT : 0;
}

static int64_t op_set_version(struct vcpu *v, uint64_t uop, uint32_t count)
{
    if (count != 1)
        return -EINVAL;
    struct gnttab_set_version op;
    if (copy_from_guest(v, &op, uop, sizeof(op)))
        return -EFAULT;
    int64_t rc = op.version == 1 ? 0 : op.version == 2 ? -ENOSYS : -EINVAL;
    op.version = 1; /* the version in force, reported whatever was asked */
    if (copy_to_guest(v, uop, &op, sizeof(op)))
        return -EFAULT;
    return rc;
}

static int64_t op_get_version(struct vcpu *v, uint64_t uop, uint32_t count)
{
    if (count != 1)
        return -EINVAL;
    struct gnttab_get_version op;
    if (copy_from_guest(v, &op, uop, sizeof(op)))
        return -EFAULT;
    struct domain *other;
    int16_t st = op_domain(v->dom, op.dom, &other);
    if (other)
        domain_put(other);
    if (st == GNTST_permission_denied)
        return -EPERM;
    if (st)
        return -ESRCH;
    op.version = 1;
    return copy_to_guest(v, uop, &op, sizeof(op)) ? -EFAULT : 0;
}

static int64_t op_copy(struct vcpu *v, uint64_t uop, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        struct gnttab_copy op;
        uint64_t addr = uop + (uint64_t)i * sizeof(op);
        if (copy_from_guest(v, &op, addr, sizeof(op)))
            return -EFAULT;
        op.status = gnttab_copy_one(v->dom, &op);
        if (copy_to_guest(v, addr + offsetof(struct gnttab_copy, status), &op.status,
                          sizeof(op.status)))
            return -EFAULT;
    }
    return 0;
}

static int64_t (*const gnttab_ops[])(struct vcpu *v, uint64_t uop, uint32_t count) = {
    [GNTTABOP_map_grant_ref] = gnttab_op_map, [GNTTABOP_unmap_grant_ref] = gnttab_op_unmap,
    [GNTTABOP_setup_table] = op_setup_table,  [GNTTABOP_copy] = op_copy,
    [GNTTABOP_query_size] = op_query_size,    [GNTTABOP_set_version] = op_set_version,
    [GNTTABOP_get_version] = op_get_version,
};

static int64_t hc_gnttab(struct vcpu *v, const uint64_t args[5])
{
    uint64_t cmd = args[0];
    if (cmd >= ARRAY_SIZE(gnttab_ops) || !gnttab_ops[cmd])
        return -ENOSYS; /* transfer, v2 status frames, swap, cache flush: not offered */
    if (args[2] > UINT32_MAX)
        return -EINVAL;
    return gnttab_ops[cmd](v, args[1], (uint32_t)args[2]);
}

const struct hypercall_family gnttab_hypercall = {
    .nr = __HYPERVISOR_grant_table_op,
    .name = "grant_table_op",
    .fn = hc_gnttab,
};
HYPERCALL_REGISTER(gnttab_hypercall);
