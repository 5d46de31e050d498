/* Grant tables, v1. Entries live in the granter's RAM: each use reads the entry once into a
 * local copy, checks it, then sets the in-use flags with a cmpxchg on the (flags, domid) word
 * so that a concurrent revoke by the granter either wins or sees the flags (Xen's protocol).
 * Pin counts stay host-side; the flags are cleared when the last user of an entry goes. */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/accel.h"
#include "kxend/gnttab.h"
#include "kxend/guest_mem.h"
#include "kxend/subsys.h"

#define GNTTAB_MAX_ENTRIES (KXEN_GNTTAB_MAX_FRAMES * KXEN_GNTTAB_ENTRIES_PER_FRAME)
#define GNTTAB_DOM0_MAX_MAPS 65536u

struct gnttab_active {
    uint16_t pins;    /* maps and in-flight copies holding GTF_reading */
    uint16_t writers; /* those holding GTF_writing */
};

/* A grant of another domain mapped into this (HVM/PVH) domain's physical space: handle =
 * index. `host` is kxend's own MAP_SHARED mapping of the granter's memfd page, so the
 * mapper's view stays that page (never memory reused by another domain) even after the
 * granter is gone, until the mapper unmaps or dies. */
struct gnttab_guest_map {
    void *host;      /* NULL = free */
    uint64_t gpa;    /* host_addr in the mapper */
    uint64_t serial; /* the granter's gnttab serial */
    uint16_t domid;
    bool readonly;
    uint32_t ref;
};

/* host_addr must lie above RAM (and maxmem) and outside the local APIC/IOAPIC/firmware hole
 * under 4 GiB; below 2^39 so every guest paging mode reaches it. */
#define GNTTAB_MMIO_HOLE_START 0xfec00000ull
#define GNTTAB_MMIO_HOLE_END 0x100000000ull
#define GNTTAB_MAP_ADDR_LIMIT (1ull << 39)

struct gnttab_domain {
    struct domain *d;
    uint64_t serial; /* tells a re-created domain with the same id from the old one */
    uint64_t frames[KXEN_GNTTAB_MAX_FRAMES];
    uint32_t frame_set; /* bit i: frames[i] is a guest page */
    unsigned nr_frames; /* highest set frame + 1 */
    struct gnttab_active active[GNTTAB_MAX_ENTRIES];
    struct gnttab_guest_map maps[KXEN_ACCEL_MAX_FOREIGN]; /* grants this domain mapped */
};

/* dom0's mappings: handle = index. */
struct gnttab_dom0_map {
    const void *owner; /* NULL = free slot */
    uint64_t serial;
    uint16_t domid;
    bool readonly;
    uint32_t ref;
};

static pthread_mutex_t gnttab_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gnttab_serial;
static struct gnttab_dom0_map *dom0_maps;
static uint32_t dom0_maps_cap;
static uint32_t dom0_maps_free_hint; /* no free slot below this index */

/* ---- validation helpers ---- */

static int ref_check(const struct gnttab_domain *gt, uint32_t ref)
{
    if (ref >= gt->nr_frames * KXEN_GNTTAB_ENTRIES_PER_FRAME ||
        !(gt->frame_set & (1u << (ref / KXEN_GNTTAB_ENTRIES_PER_FRAME))))
        return GNTST_bad_gntref;
    return GNTST_okay;
}

/* A copy or map stays inside one page. */
static int span_check(uint32_t offset, uint32_t len)
{
    return offset >= KXEN_PAGE_SIZE || len > KXEN_PAGE_SIZE - offset ? GNTST_bad_copy_arg
                                                                     : GNTST_okay;
}

/* The (flags, domid, frame) entry in guest RAM; NULL if its frame left RAM. */
static uint64_t *entry_ptr(struct gnttab_domain *gt, uint32_t ref)
{
    uint64_t gpa = (gt->frames[ref / KXEN_GNTTAB_ENTRIES_PER_FRAME] << KXEN_PAGE_SHIFT) +
                   (ref % KXEN_GNTTAB_ENTRIES_PER_FRAME) * sizeof(struct grant_entry_v1);
    return guest_phys_ptr(gt->d, gpa, sizeof(struct grant_entry_v1));
}

/* ---- the flag protocol (gnttab_lock held) ---- */

/* Pins <gt>:<ref> for domain `grantee`: checks the granter's entry and sets GTF_reading
 * (+GTF_writing). Returns GNTST_okay with the frame's gpa, else a GNTST_* code. */
static int pin_locked(struct gnttab_domain *gt, uint32_t ref, uint16_t grantee, bool readonly,
                      uint64_t *gpa)
{
    int st = ref_check(gt, ref);
    if (st)
        return st;
    uint64_t *e = entry_ptr(gt, ref);
    if (!e)
        return GNTST_bad_gntref;
    uint32_t *word = (uint32_t *)e; /* flags | domid << 16, little-endian */
    for (int tries = 0; tries < 16; tries++) {
        uint64_t local = __atomic_load_n(e, __ATOMIC_SEQ_CST); /* read once */
        uint16_t flags = (uint16_t)local, domid = (uint16_t)(local >> 16);
        uint32_t frame = (uint32_t)(local >> 32);
        if ((flags & GTF_type_mask) != GTF_permit_access || domid != grantee) {
            log_debug("gnttab: d%u ref %u: not granted to d%u (flags %#x dom %u)", gt->d->domid,
                      ref, grantee, flags, domid);
            return GNTST_general_error;
        }
        if (!readonly && (flags & GTF_readonly)) {
            log_debug("gnttab: d%u ref %u: write use of a read-only grant", gt->d->domid, ref);
            return GNTST_general_error;
        }
        uint64_t fgpa = (uint64_t)frame << KXEN_PAGE_SHIFT;
        if (!guest_phys_ptr(gt->d, fgpa, KXEN_PAGE_SIZE))
            return GNTST_bad_page;
        uint32_t old = (uint32_t)local;
        uint32_t new = old | GTF_reading | (readonly ? 0 : GTF_writing);
        if (__atomic_compare_exchange_n(word, &old, new, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            struct gnttab_active *a = &gt->active[ref];
            a->pins++;
            if (!readonly)
                a->writers++;
            guest_mark_dirty(gt->d, (uint64_t)((uint8_t *)e - gt->d->ram), sizeof(*e));
            *gpa = fgpa;
            return GNTST_okay;
        }
        /* The granter changed the entry meanwhile: look again. */
    }
    return GNTST_eagain;
}

static void unpin_locked(struct gnttab_domain *gt, uint32_t ref, bool readonly)
{
    if (ref_check(gt, ref))
        return;
    struct gnttab_active *a = &gt->active[ref];
    uint16_t clear = 0;
    if (!readonly && a->writers && --a->writers == 0)
        clear |= GTF_writing;
    if (a->pins && --a->pins == 0)
        clear |= GTF_reading | GTF_writing;
    uint64_t *e = entry_ptr(gt, ref);
    if (clear && e) {
        __atomic_fetch_and((uint16_t *)e, (uint16_t)~clear, __ATOMIC_SEQ_CST);
        guest_mark_dirty(gt->d, (uint64_t)((uint8_t *)e - gt->d->ram), sizeof(*e));
    }
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

static void guest_unmap_locked(struct domain *mapper, struct gnttab_guest_map *m);

void gnttab_domain_destroy(struct domain *d)
{
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = d->gnttab;
    /* The vCPUs are stopped (domain.c): drop the grants this domain still maps, so their
     * granters see the in-use flags go. The accelerator's slots go with its domain. */
    for (unsigned i = 0; gt && i < KXEN_ACCEL_MAX_FOREIGN; i++)
        if (gt->maps[i].host)
            guest_unmap_locked(NULL, &gt->maps[i]);
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
static int ensure_frames_locked(struct gnttab_domain *gt, unsigned nr)
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
    int rc = gt ? ensure_frames_locked(gt, 1) : -ESRCH;
    uint64_t *e = rc == 0 ? entry_ptr(gt, ref) : NULL;
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

/* ---- copy ---- */

/* One side of a copy: pinned grant of another domain, or a frame of the caller itself. */
struct copy_side {
    struct domain *ref;       /* reference held on a granter */
    struct gnttab_domain *gt; /* pinned: unpin with gref/readonly */
    uint32_t gref;
    bool readonly;
    uint8_t *ptr;
};

static void side_release_locked(struct copy_side *s)
{
    if (s->gt)
        unpin_locked(s->gt, s->gref, s->readonly);
    s->gt = NULL;
}

static void side_put(struct copy_side *s)
{
    if (s->ref)
        domain_put(s->ref);
    s->ref = NULL;
}

/* Resolves a gref side granted by domid to `grantee` (domain_get outside the lock). */
static int side_get_gref(struct copy_side *s, uint16_t domid, uint32_t gref, uint16_t offset,
                         uint16_t grantee, bool readonly)
{
    memset(s, 0, sizeof(*s));
    if (domid >= DOMID_FIRST_RESERVED || !(s->ref = domain_get(domid)))
        return GNTST_bad_domain;
    s->gref = gref;
    s->readonly = readonly;
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = s->ref->gnttab;
    uint64_t gpa = 0;
    int st = gt ? pin_locked(gt, gref, grantee, readonly, &gpa) : GNTST_bad_domain;
    if (st == GNTST_okay) {
        s->gt = gt;
        s->ptr = guest_phys_ptr(s->ref, gpa + offset, 1);
    }
    pthread_mutex_unlock(&gnttab_lock);
    if (st == GNTST_okay && !s->ptr) {
        pthread_mutex_lock(&gnttab_lock);
        side_release_locked(s);
        pthread_mutex_unlock(&gnttab_lock);
        st = GNTST_bad_page;
    }
    return st;
}

static void side_done(struct copy_side *s, uint16_t len)
{
    if (s->gt && !s->readonly)
        guest_mark_dirty(s->ref, (uint64_t)(s->ptr - s->ref->ram), len);
    pthread_mutex_lock(&gnttab_lock);
    if (s->ref && s->ref->gnttab == s->gt) /* granter may have been destroyed meanwhile */
        side_release_locked(s);
    pthread_mutex_unlock(&gnttab_lock);
    side_put(s);
}

/* GNTTABOP_copy for a guest caller c. */
static int16_t copy_one(struct domain *c, const struct gnttab_copy *op)
{
    if (op->flags & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref))
        return GNTST_bad_copy_arg;
    if (span_check(op->source.offset, op->len) || span_check(op->dest.offset, op->len))
        return GNTST_bad_copy_arg;
    struct copy_side s[2];
    const struct gnttab_copy_ptr *p[2] = {&op->source, &op->dest};
    bool gref[2] = {op->flags & GNTCOPY_source_gref, op->flags & GNTCOPY_dest_gref};
    int st = GNTST_okay;
    int done = 0;
    for (; done < 2 && st == GNTST_okay; done++) {
        uint16_t domid = p[done]->domid == DOMID_SELF ? c->domid : p[done]->domid;
        if (gref[done]) {
            st = side_get_gref(&s[done], domid, p[done]->u.ref, p[done]->offset, c->domid,
                               done == 0);
            if (st)
                side_put(&s[done]);
            continue;
        }
        /* A raw frame: the caller's own, unless it is privileged (as Xen's toolstack). */
        memset(&s[done], 0, sizeof(s[done]));
        if (domid != c->domid && !c->privileged) {
            st = GNTST_permission_denied;
            continue;
        }
        if (domid != c->domid && !(s[done].ref = domain_get(domid))) {
            st = GNTST_bad_domain;
            continue;
        }
        struct domain *owner = s[done].ref ? s[done].ref : c;
        uint64_t gmfn = p[done]->u.gmfn;
        s[done].ptr = gmfn > (UINT64_MAX >> KXEN_PAGE_SHIFT)
                          ? NULL
                          : guest_phys_ptr(owner, (gmfn << KXEN_PAGE_SHIFT) + p[done]->offset,
                                           op->len ? op->len : 1);
        if (!s[done].ptr) {
            side_put(&s[done]);
            st = GNTST_bad_page;
        }
    }
    if (st == GNTST_okay) {
        memmove(s[1].ptr, s[0].ptr, op->len);
        if (!s[1].gt) {
            struct domain *owner = s[1].ref ? s[1].ref : c;
            guest_mark_dirty(owner, (uint64_t)(s[1].ptr - owner->ram), op->len);
        }
    }
    /* Release the sides acquired (all of them on success, those before the failing one
     * otherwise: the failing side released itself). */
    int acquired = st == GNTST_okay ? 2 : done - 1;
    for (int i = 0; i < acquired; i++)
        side_done(&s[i], st == GNTST_okay ? op->len : 0);
    return (int16_t)st;
}

int gnttab_dom0_copy(uint16_t domid, uint32_t ref, uint16_t offset, uint16_t len, bool to_guest,
                     void *buf)
{
    if (span_check(offset, len))
        return GNTST_bad_copy_arg;
    struct copy_side s;
    int st = side_get_gref(&s, domid, ref, offset, 0, !to_guest);
    if (st) {
        side_put(&s);
        return st;
    }
    if (to_guest)
        memcpy(s.ptr, buf, len);
    else
        memcpy(buf, s.ptr, len);
    side_done(&s, len);
    return GNTST_okay;
}

int gnttab_dom0_copy_gref(uint16_t sdom, uint32_t sref, uint16_t soff, uint16_t ddom, uint32_t dref,
                          uint16_t doff, uint16_t len)
{
    if (span_check(soff, len) || span_check(doff, len))
        return GNTST_bad_copy_arg;
    struct copy_side s, d;
    int st = side_get_gref(&s, sdom, sref, soff, 0, true);
    if (st) {
        side_put(&s);
        return st;
    }
    st = side_get_gref(&d, ddom, dref, doff, 0, false);
    if (st == GNTST_okay) {
        memmove(d.ptr, s.ptr, len);
        side_done(&d, len);
    } else {
        side_put(&d);
    }
    side_done(&s, len);
    return st;
}

/* ---- dom0 maps ---- */

int gnttab_dom0_map(uint16_t domid, uint32_t ref, bool readonly, const void *owner,
                    uint32_t *handle, uint64_t *memfd_offset)
{
    if (domid == 0 || domid >= DOMID_FIRST_RESERVED || !owner)
        return GNTST_bad_domain;
    struct domain *d = domain_get(domid);
    if (!d)
        return GNTST_bad_domain;
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = d->gnttab;
    uint32_t h = dom0_maps_free_hint;
    while (h < dom0_maps_cap && dom0_maps[h].owner)
        h++;
    int st = gt ? GNTST_okay : GNTST_bad_domain;
    if (st == GNTST_okay && h == dom0_maps_cap) {
        uint32_t cap = dom0_maps_cap ? dom0_maps_cap * 2 : 256;
        struct gnttab_dom0_map *m =
            cap <= GNTTAB_DOM0_MAX_MAPS ? realloc(dom0_maps, cap * sizeof(*m)) : NULL;
        if (!m) {
            st = GNTST_no_space;
        } else {
            memset(m + dom0_maps_cap, 0, (cap - dom0_maps_cap) * sizeof(*m));
            dom0_maps = m;
            dom0_maps_cap = cap;
        }
    }
    uint64_t gpa = 0;
    if (st == GNTST_okay)
        st = pin_locked(gt, ref, 0, readonly, &gpa);
    if (st == GNTST_okay) {
        dom0_maps[h] = (struct gnttab_dom0_map){
            .owner = owner, .serial = gt->serial, .domid = domid, .readonly = readonly, .ref = ref};
        *handle = h;
        dom0_maps_free_hint = h + 1;
        /* The memfd backs RAM from guest-physical 0, so the offset is the host offset. */
        *memfd_offset = (uint64_t)((uint8_t *)guest_phys_ptr(d, gpa, KXEN_PAGE_SIZE) - d->ram);
    }
    pthread_mutex_unlock(&gnttab_lock);
    domain_put(d);
    return st;
}

static void dom0_unmap_locked(struct gnttab_dom0_map *m)
{
    struct domain *d = domain_get(m->domid);
    /* A destroyed granter (or a new domain with its id) has no pins of ours to drop. */
    if (d && d->gnttab && d->gnttab->serial == m->serial)
        unpin_locked(d->gnttab, m->ref, m->readonly);
    if (d)
        domain_put(d);
    memset(m, 0, sizeof(*m));
    uint32_t h = (uint32_t)(m - dom0_maps);
    if (h < dom0_maps_free_hint)
        dom0_maps_free_hint = h;
}

int gnttab_dom0_unmap(uint32_t handle, const void *owner)
{
    pthread_mutex_lock(&gnttab_lock);
    int st = GNTST_bad_handle;
    if (handle < dom0_maps_cap && owner && dom0_maps[handle].owner == owner) {
        dom0_unmap_locked(&dom0_maps[handle]);
        st = GNTST_okay;
    }
    pthread_mutex_unlock(&gnttab_lock);
    return st;
}

void gnttab_dom0_unmap_all(const void *owner)
{
    pthread_mutex_lock(&gnttab_lock);
    for (uint32_t h = 0; h < dom0_maps_cap; h++)
        if (owner && dom0_maps[h].owner == owner)
            dom0_unmap_locked(&dom0_maps[h]);
    pthread_mutex_unlock(&gnttab_lock);
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
        log_debug("gnttab: d%u setup_table: %u frames > %u", v->dom->domid, op.nr_frames,
                  KXEN_GNTTAB_MAX_FRAMES);
        op.status = GNTST_general_error;
    }
    if (op.status == GNTST_okay) {
        pthread_mutex_lock(&gnttab_lock);
        if (!d->gnttab || ensure_frames_locked(d->gnttab, op.nr_frames))
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
        op.status = copy_one(v->dom, &op);
        if (copy_to_guest(v, addr + offsetof(struct gnttab_copy, status), &op.status,
                          sizeof(op.status)))
            return -EFAULT;
    }
    return 0;
}

/* ---- guest maps (GNTMAP_host_map into the mapper's physical space) ---- */

/* host_addr of a map: page-aligned, outside the mapper's RAM (special pages included: they
 * sit at the top of RAM) and the MMIO hole, not already holding a grant. */
static int16_t map_addr_check(struct domain *d, const struct gnttab_domain *gt, uint64_t gpa)
{
    uint64_t ram_end = KXEN_MAX(d->ram_size, d->max_ram_size);
    const char *why = NULL;
    if (gpa & (KXEN_PAGE_SIZE - 1))
        why = "is not page-aligned";
    else if (gpa < ram_end)
        why = "lies inside the domain's RAM";
    else if (gpa >= GNTTAB_MMIO_HOLE_START && gpa < GNTTAB_MMIO_HOLE_END)
        why = "lies in the APIC/firmware hole under 4 GiB";
    else if (gpa >= GNTTAB_MAP_ADDR_LIMIT)
        why = "is above 2^39";
    for (unsigned i = 0; !why && i < KXEN_ACCEL_MAX_FOREIGN; i++)
        if (gt->maps[i].host && gt->maps[i].gpa == gpa)
            why = "already holds a grant mapping";
    if (!why)
        return GNTST_okay;
    log_warn("gnttab: d%u map_grant_ref: host_addr %#llx %s: refused", d->domid,
             (unsigned long long)gpa, why);
    return GNTST_general_error;
}

/* Drops one guest map: mapper's accelerator slot (NULL mapper = its vCPUs are gone), kxend's
 * page mapping, the granter's pin (if that granter still exists). gnttab_lock held. */
static void guest_unmap_locked(struct domain *mapper, struct gnttab_guest_map *m)
{
    if (mapper && mapper->accel->unmap_foreign_page)
        mapper->accel->unmap_foreign_page(mapper, m->gpa);
    munmap(m->host, KXEN_PAGE_SIZE);
    struct domain *g = domain_get(m->domid);
    if (g && g->gnttab && g->gnttab->serial == m->serial)
        unpin_locked(g->gnttab, m->ref, m->readonly);
    if (g)
        domain_put(g);
    memset(m, 0, sizeof(*m));
}

static int16_t map_one(struct domain *c, struct gnttab_map_grant_ref *op)
{
    struct gnttab_domain *gt = c->gnttab;
    if (!gt)
        return GNTST_general_error;
    if (!(op->flags & GNTMAP_host_map) ||
        (op->flags & (GNTMAP_device_map | GNTMAP_application_map | GNTMAP_contains_pte))) {
        log_warn("gnttab: d%u map_grant_ref: flags %#x: only GNTMAP_host_map [| readonly] "
                 "into the physical address space is offered",
                 c->domid, op->flags);
        return GNTST_general_error;
    }
    bool readonly = op->flags & GNTMAP_readonly;
    uint16_t domid = op->dom == DOMID_SELF ? c->domid : op->dom;
    if (domid >= DOMID_FIRST_RESERVED)
        return GNTST_bad_domain;
    int16_t st = map_addr_check(c, gt, op->host_addr);
    if (st)
        return st;
    unsigned h = 0;
    while (h < KXEN_ACCEL_MAX_FOREIGN && gt->maps[h].host)
        h++;
    if (h == KXEN_ACCEL_MAX_FOREIGN)
        return GNTST_no_device_space;
    struct domain *g = domain_get(domid);
    if (!g)
        return GNTST_bad_domain;
    uint64_t gpa = 0;
    st = g->gnttab ? pin_locked(g->gnttab, op->ref, c->domid, readonly, &gpa) : GNTST_bad_domain;
    bool pinned = st == GNTST_okay;
    void *host = MAP_FAILED;
    if (st == GNTST_okay && (!c->accel || !c->accel->map_foreign_page))
        st = GNTST_general_error; /* no accelerator (unit tests' fake domains) */
    if (st == GNTST_okay) {
        /* Our own mapping of the granter's memfd page (memfd offset = gpa). */
        host = mmap(NULL, KXEN_PAGE_SIZE, PROT_READ | (readonly ? 0 : PROT_WRITE), MAP_SHARED,
                    g->mem_fd, (off_t)gpa);
        if (host == MAP_FAILED) {
            log_warn("gnttab: d%u map of d%u ref %u: mmap: %s", c->domid, domid, op->ref,
                     strerror(errno));
            st = GNTST_general_error;
        }
    }
    if (st == GNTST_okay) {
        int rc = c->accel->map_foreign_page(c, op->host_addr, host, !readonly);
        if (rc) {
            log_warn("gnttab: d%u map of d%u ref %u at %#llx: accelerator: %s", c->domid, domid,
                     op->ref, (unsigned long long)op->host_addr, strerror(-rc));
            st = rc == -ENOSPC ? GNTST_no_device_space : GNTST_general_error;
            munmap(host, KXEN_PAGE_SIZE);
        }
    }
    if (st == GNTST_okay) {
        gt->maps[h] = (struct gnttab_guest_map){.host = host,
                                                .gpa = op->host_addr,
                                                .serial = g->gnttab->serial,
                                                .domid = domid,
                                                .readonly = readonly,
                                                .ref = op->ref};
        op->handle = h;
        op->dev_bus_addr = 0;
    } else if (pinned) {
        unpin_locked(g->gnttab, op->ref, readonly);
    }
    domain_put(g);
    return st;
}

/* GNTTABOP_map_grant_ref from a guest (HVM/PVH semantics): host_addr is a guest-physical
 * address of the caller, outside its RAM, where the granter's page appears. */
static int64_t op_map(struct vcpu *v, uint64_t uop, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        struct gnttab_map_grant_ref op;
        uint64_t addr = uop + (uint64_t)i * sizeof(op);
        if (copy_from_guest(v, &op, addr, sizeof(op)))
            return -EFAULT;
        pthread_mutex_lock(&gnttab_lock);
        op.status = map_one(v->dom, &op);
        pthread_mutex_unlock(&gnttab_lock);
        if (op.status != GNTST_okay)
            op.handle = ~0u;
        if (copy_to_guest(v, addr, &op, sizeof(op))) {
            /* The caller cannot learn the handle: do not leave the map behind. */
            if (op.status == GNTST_okay) {
                pthread_mutex_lock(&gnttab_lock);
                guest_unmap_locked(v->dom, &v->dom->gnttab->maps[op.handle]);
                pthread_mutex_unlock(&gnttab_lock);
            }
            return -EFAULT;
        }
    }
    return 0;
}

static int16_t unmap_one(struct domain *c, const struct gnttab_unmap_grant_ref *op)
{
    struct gnttab_domain *gt = c->gnttab;
    if (!gt || op->handle >= KXEN_ACCEL_MAX_FOREIGN || !gt->maps[op->handle].host)
        return GNTST_bad_handle;
    struct gnttab_guest_map *m = &gt->maps[op->handle];
    if (op->host_addr != m->gpa) {
        log_warn("gnttab: d%u unmap handle %u: host_addr %#llx is not where it maps (%#llx)",
                 c->domid, op->handle, (unsigned long long)op->host_addr,
                 (unsigned long long)m->gpa);
        return GNTST_general_error;
    }
    guest_unmap_locked(c, m);
    return GNTST_okay;
}

static int64_t op_unmap(struct vcpu *v, uint64_t uop, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        struct gnttab_unmap_grant_ref op;
        uint64_t addr = uop + (uint64_t)i * sizeof(op);
        if (copy_from_guest(v, &op, addr, sizeof(op)))
            return -EFAULT;
        pthread_mutex_lock(&gnttab_lock);
        op.status = unmap_one(v->dom, &op);
        pthread_mutex_unlock(&gnttab_lock);
        if (copy_to_guest(v, addr, &op, sizeof(op)))
            return -EFAULT;
    }
    return 0;
}

static int64_t (*const gnttab_ops[])(struct vcpu *v, uint64_t uop, uint32_t count) = {
    [GNTTABOP_map_grant_ref] = op_map,       [GNTTABOP_unmap_grant_ref] = op_unmap,
    [GNTTABOP_setup_table] = op_setup_table, [GNTTABOP_copy] = op_copy,
    [GNTTABOP_query_size] = op_query_size,   [GNTTABOP_set_version] = op_set_version,
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
