/* dom0's grant maps: a handle per (owner, domain, ref) pinned for dom0, whose page dom0 maps
 * from the granter's memfd at the offset returned. Owners (control connections) drop all
 * theirs when they go (gnttab_dom0_unmap_all).
 *
 * Invariants: a handle is used only by the owner that mapped it; free slots form a list, so a
 * map or unmap never scans the table under gnttab_lock; one granter's grants hold at most
 * GNTTAB_DOM0_MAX_MAPS_PER_DOMAIN slots, so backends serving a guest that makes them map
 * without end (a hostile frontend's in-flight requests) cannot take every other guest's. */
#include <stdlib.h>
#include <string.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "gnttab_internal.h"
#include "kxen/log.h"
#include "kxend/guest_mem.h"

#define GNTTAB_DOM0_MAX_MAPS (1u << 20)
#define GNTTAB_DOM0_MAX_MAPS_PER_DOMAIN 65536u
#define NO_SLOT UINT32_MAX

/* dom0's mappings: handle = index. */
struct gnttab_dom0_map {
    const void *owner; /* NULL = free slot */
    uint64_t serial;
    uint16_t domid;
    bool readonly;
    uint32_t ref; /* a free slot: the next free one (NO_SLOT ends the list) */
};

static struct gnttab_dom0_map *dom0_maps;
static uint32_t dom0_maps_cap;
static uint32_t dom0_maps_free = NO_SLOT;

/* A free slot, growing the table when none is left; NO_SLOT when it is full. */
static uint32_t slot_alloc_locked(void)
{
    if (dom0_maps_free == NO_SLOT) {
        uint32_t cap = dom0_maps_cap ? dom0_maps_cap * 2 : 256;
        struct gnttab_dom0_map *m =
            cap <= GNTTAB_DOM0_MAX_MAPS ? realloc(dom0_maps, cap * sizeof(*m)) : NULL;
        if (!m)
            return NO_SLOT;
        memset(m + dom0_maps_cap, 0, (cap - dom0_maps_cap) * sizeof(*m));
        for (uint32_t h = dom0_maps_cap; h < cap; h++)
            m[h].ref = h + 1 < cap ? h + 1 : NO_SLOT;
        dom0_maps_free = dom0_maps_cap;
        dom0_maps = m;
        dom0_maps_cap = cap;
    }
    uint32_t h = dom0_maps_free;
    dom0_maps_free = dom0_maps[h].ref;
    return h;
}

static void slot_free_locked(uint32_t h)
{
    memset(&dom0_maps[h], 0, sizeof(dom0_maps[h]));
    dom0_maps[h].ref = dom0_maps_free;
    dom0_maps_free = h;
}

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
    int st = gt ? GNTST_okay : GNTST_bad_domain;
    if (st == GNTST_okay && gt->dom0_maps >= GNTTAB_DOM0_MAX_MAPS_PER_DOMAIN) {
        log_dom_warn(domid, "gnttab: dom0 holds %u maps of d%u's grants: map of ref %u refused",
                     gt->dom0_maps, domid, ref);
        st = GNTST_no_space;
    }
    uint32_t h = st == GNTST_okay ? slot_alloc_locked() : NO_SLOT;
    if (st == GNTST_okay && h == NO_SLOT)
        st = GNTST_no_space;
    uint64_t gpa = 0;
    if (st == GNTST_okay)
        st = gnttab_pin_locked(gt, ref, 0, readonly, &gpa);
    if (st == GNTST_okay) {
        dom0_maps[h] = (struct gnttab_dom0_map){
            .owner = owner, .serial = gt->serial, .domid = domid, .readonly = readonly, .ref = ref};
        gt->dom0_maps++;
        *handle = h;
        /* The memfd backs RAM from guest-physical 0, so the offset is the host offset. */
        *memfd_offset = (uint64_t)((uint8_t *)guest_phys_ptr(d, gpa, KXEN_PAGE_SIZE) - d->ram);
    } else if (h != NO_SLOT) {
        slot_free_locked(h);
    }
    pthread_mutex_unlock(&gnttab_lock);
    domain_put(d);
    return st;
}

static void dom0_unmap_locked(uint32_t h)
{
    struct gnttab_dom0_map *m = &dom0_maps[h];
    struct domain *d = domain_get(m->domid);
    /* A destroyed granter (or a new domain with its id) has no pins of ours to drop. */
    if (d && d->gnttab && d->gnttab->serial == m->serial) {
        /* As Xen: a writable map marks its page dirty when it goes, so a page dom0 wrote and
         * let go of between two dirty collects is still sent again. */
        const uint64_t *e = m->readonly ? NULL : gnttab_entry_ptr(d->gnttab, m->ref);
        if (e) /* grant_entry_v1: flags 16, domid 16, frame 32 */
            guest_mark_dirty(d, (*e >> 32) << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE);
        gnttab_unpin_locked(d->gnttab, m->ref, m->readonly);
        d->gnttab->dom0_maps--;
    }
    if (d)
        domain_put(d);
    slot_free_locked(h);
}

int gnttab_dom0_unmap(uint32_t handle, const void *owner)
{
    pthread_mutex_lock(&gnttab_lock);
    int st = GNTST_bad_handle;
    if (handle < dom0_maps_cap && owner && dom0_maps[handle].owner == owner) {
        dom0_unmap_locked(handle);
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
            dom0_unmap_locked(h);
    pthread_mutex_unlock(&gnttab_lock);
}
