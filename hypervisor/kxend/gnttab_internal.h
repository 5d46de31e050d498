/* Internals shared by the grant-table files: gnttab.c (the flag protocol, frames, domain
 * lifecycle, GNTTABOP_* dispatch), gnttab_copy.c (copies for guests and dom0), gnttab_dom0.c
 * (dom0's mappings) and gnttab_map.c (guest-to-guest maps). Private to hypervisor/kxend.
 *
 * Locking: gnttab_lock guards every domain's struct gnttab_domain (frames, pins, maps) and
 * dom0's map table; *_locked functions expect it held. */
#ifndef KXEND_GNTTAB_INTERNAL_H
#define KXEND_GNTTAB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <kxen/grant_table.h>

#include "kxend/accel.h"
#include "kxend/domain.h"
#include "kxend/gnttab.h"

#define GNTTAB_MAX_ENTRIES (KXEN_GNTTAB_MAX_FRAMES * KXEN_GNTTAB_ENTRIES_PER_FRAME)

struct gnttab_active {
    uint16_t pins;    /* maps and in-flight copies holding GTF_reading */
    uint16_t writers; /* those holding GTF_writing */
    uint32_t frame;   /* the frame the latest writable pin got: dirty while writers > 0 */
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

struct gnttab_domain {
    struct domain *d;
    uint64_t serial; /* tells a re-created domain with the same id from the old one */
    uint64_t frames[KXEN_GNTTAB_MAX_FRAMES];
    uint32_t frame_set; /* bit i: frames[i] is a guest page */
    unsigned nr_frames; /* highest set frame + 1 */
    struct gnttab_active active[GNTTAB_MAX_ENTRIES];
    struct gnttab_guest_map maps[KXEN_ACCEL_MAX_FOREIGN]; /* grants this domain mapped */
    uint32_t dom0_maps; /* dom0's maps of this domain's grants (gnttab_dom0.c) */
};

extern pthread_mutex_t gnttab_lock;

/* GNTST_okay when ref lies in a frame the granter set up, else GNTST_bad_gntref. */
int gnttab_ref_check(const struct gnttab_domain *gt, uint32_t ref);
/* A copy or map stays inside one page: GNTST_okay or GNTST_bad_copy_arg. */
int gnttab_span_check(uint32_t offset, uint32_t len);
/* The (flags, domid, frame) entry in guest RAM; NULL if its frame left RAM. */
uint64_t *gnttab_entry_ptr(struct gnttab_domain *gt, uint32_t ref);
/* Pins <gt>:<ref> for domain `grantee` (GTF_reading, +GTF_writing): GNTST_okay with the
 * granted frame's gpa, else a GNTST_* code. */
int gnttab_pin_locked(struct gnttab_domain *gt, uint32_t ref, uint16_t grantee, bool readonly,
                      uint64_t *gpa);
void gnttab_unpin_locked(struct gnttab_domain *gt, uint32_t ref, bool readonly);

/* gnttab_copy.c: one GNTTABOP_copy entry for guest caller c; a GNTST_* code. */
struct gnttab_copy;
int16_t gnttab_copy_one(struct domain *c, const struct gnttab_copy *op);

/* gnttab_map.c: GNTTABOP_map_grant_ref / unmap_grant_ref, and dropping one guest map
 * (mapper NULL: its vCPUs are gone, its accelerator slots go with it). */
int64_t gnttab_op_map(struct vcpu *v, uint64_t uop, uint32_t count);
int64_t gnttab_op_unmap(struct vcpu *v, uint64_t uop, uint32_t count);
void gnttab_guest_unmap_locked(struct domain *mapper, struct gnttab_guest_map *m);

#endif
