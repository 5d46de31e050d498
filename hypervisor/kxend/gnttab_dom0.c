/* dom0's grant maps: a handle per (owner, domain, ref) pinned for dom0, whose page dom0 maps
 * from the granter's memfd at the offset returned. Owners (control connections) drop all
 * theirs when they go (gnttab_dom0_unmap_all). */
#include <stdlib.h>
#include <string.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "gnttab_internal.h"
#include "kxend/guest_mem.h"

#define GNTTAB_DOM0_MAX_MAPS 65536u

/* dom0's mappings: handle = index. */
struct gnttab_dom0_map {
    const void *owner; /* NULL = free slot */
    uint64_t serial;
    uint16_t domid;
    bool readonly;
    uint32_t ref;
};

static struct gnttab_dom0_map *dom0_maps;
static uint32_t dom0_maps_cap;
static uint32_t dom0_maps_free_hint; /* no free slot below this index */

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
        st = gnttab_pin_locked(gt, ref, 0, readonly, &gpa);
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
    if (d && d->gnttab && d->gnttab->serial == m->serial) {
        /* What dom0 wrote while it held the page (a disk read into a granted buffer) is in
         * no dirty log: a save or migration round that runs after the unmap must still send
         * the page. gnttab_dom0_mark_mapped covers the pages still mapped. */
        const uint64_t *e = m->readonly ? NULL : gnttab_entry_ptr(d->gnttab, m->ref);
        if (e) /* grant_entry_v1: flags 16, domid 16, frame 32 */
            guest_mark_dirty(d, (*e >> 32) << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE);
        gnttab_unpin_locked(d->gnttab, m->ref, m->readonly);
    }
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

/* dom0 writes the pages it holds mapped writable whenever it likes (a backend's ring, a read
 * into a granted buffer), past every dirty log: a save or migration round counts them dirty
 * for as long as they stay mapped. */
void gnttab_dom0_mark_mapped(struct domain *d)
{
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = d->gnttab;
    for (uint32_t h = 0; gt && h < dom0_maps_cap; h++) {
        const struct gnttab_dom0_map *m = &dom0_maps[h];
        if (!m->owner || m->readonly || m->domid != d->domid || m->serial != gt->serial)
            continue;
        const uint64_t *e = gnttab_entry_ptr(gt, m->ref);
        if (e) /* grant_entry_v1: flags 16, domid 16, frame 32 */
            guest_mark_dirty(d, (*e >> 32) << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE);
    }
    pthread_mutex_unlock(&gnttab_lock);
}
