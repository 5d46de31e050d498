/* Guest-to-guest grant maps (GNTMAP_host_map into the mapper's physical space, HVM/PVH
 * semantics): the granter's page appears at a guest-physical address of the mapper outside
 * its RAM, through the accelerator's map_foreign_page. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "gnttab_internal.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/guest_mem.h"

/* host_addr must lie above RAM (and maxmem) and outside the local APIC/IOAPIC/firmware hole
 * under 4 GiB; below 2^39 so every guest paging mode reaches it. */
#define GNTTAB_MMIO_HOLE_START 0xfec00000ull
#define GNTTAB_MMIO_HOLE_END 0x100000000ull
#define GNTTAB_MAP_ADDR_LIMIT (1ull << 39)

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
    log_dom_warn(d->domid, "gnttab: d%u map_grant_ref: host_addr %#llx %s: refused", d->domid,
                 (unsigned long long)gpa, why);
    return GNTST_general_error;
}

/* Drops one guest map: mapper's accelerator slot (NULL mapper = its vCPUs are gone), kxend's
 * page mapping, the granter's pin (if that granter still exists). gnttab_lock held. */
void gnttab_guest_unmap_locked(struct domain *mapper, struct gnttab_guest_map *m)
{
    if (mapper && mapper->accel->unmap_foreign_page)
        mapper->accel->unmap_foreign_page(mapper, m->gpa);
    munmap(m->host, KXEN_PAGE_SIZE);
    struct domain *g = domain_get(m->domid);
    if (g && g->gnttab && g->gnttab->serial == m->serial)
        gnttab_unpin_locked(g->gnttab, m->ref, m->readonly);
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
        log_dom_warn(c->domid,
                     "gnttab: d%u map_grant_ref: flags %#x: only GNTMAP_host_map [| readonly] "
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
    st = g->gnttab ? gnttab_pin_locked(g->gnttab, op->ref, c->domid, readonly, &gpa)
                   : GNTST_bad_domain;
    bool pinned = st == GNTST_okay;
    void *host = MAP_FAILED;
    if (st == GNTST_okay && (!c->accel || !c->accel->map_foreign_page))
        st = GNTST_general_error; /* no accelerator (unit tests' fake domains) */
    if (st == GNTST_okay) {
        /* Our own mapping of the granter's memfd page (memfd offset = gpa). */
        host = mmap(NULL, KXEN_PAGE_SIZE, PROT_READ | (readonly ? 0 : PROT_WRITE), MAP_SHARED,
                    g->mem_fd, (off_t)gpa);
        if (host == MAP_FAILED) {
            log_dom_warn(c->domid, "gnttab: d%u map of d%u ref %u: mmap: %s", c->domid, domid,
                         op->ref, strerror(errno));
            st = GNTST_general_error;
        }
    }
    if (st == GNTST_okay) {
        int rc = c->accel->map_foreign_page(c, op->host_addr, host, !readonly);
        if (rc) {
            log_dom_warn(c->domid, "gnttab: d%u map of d%u ref %u at %#llx: accelerator: %s",
                         c->domid, domid, op->ref, (unsigned long long)op->host_addr,
                         strerror(-rc));
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
        gnttab_unpin_locked(g->gnttab, op->ref, readonly);
    }
    domain_put(g);
    return st;
}

/* GNTTABOP_map_grant_ref from a guest (HVM/PVH semantics): host_addr is a guest-physical
 * address of the caller, outside its RAM, where the granter's page appears. */
int64_t gnttab_op_map(struct vcpu *v, uint64_t uop, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        struct gnttab_map_grant_ref op;
        uint64_t addr = uop + (uint64_t)i * sizeof(op);
        if (copy_from_guest(v, &op, addr, sizeof(op)))
            return -EFAULT;
        pthread_mutex_lock(&gnttab_lock);
        op.status = map_one(v->dom, &op);
        void *host = op.status == GNTST_okay ? v->dom->gnttab->maps[op.handle].host : NULL;
        pthread_mutex_unlock(&gnttab_lock);
        if (op.status != GNTST_okay)
            op.handle = ~0u;
        if (copy_to_guest(v, addr, &op, sizeof(op))) {
            /* The caller cannot learn the handle: do not leave the map behind. Another vCPU
             * may have unmapped that handle meanwhile (and mapped something else there):
             * drop the slot only while it still holds this map. */
            pthread_mutex_lock(&gnttab_lock);
            struct gnttab_guest_map *m = host ? &v->dom->gnttab->maps[op.handle] : NULL;
            if (m && m->host == host && m->gpa == op.host_addr)
                gnttab_guest_unmap_locked(v->dom, m);
            pthread_mutex_unlock(&gnttab_lock);
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
        log_dom_warn(
            c->domid, "gnttab: d%u unmap handle %u: host_addr %#llx is not where it maps (%#llx)",
            c->domid, op->handle, (unsigned long long)op->host_addr, (unsigned long long)m->gpa);
        return GNTST_general_error;
    }
    gnttab_guest_unmap_locked(c, m);
    return GNTST_okay;
}

int64_t gnttab_op_unmap(struct vcpu *v, uint64_t uop, uint32_t count)
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
