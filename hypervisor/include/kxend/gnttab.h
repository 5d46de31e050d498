/* Grant tables (kxend/gnttab*.c): v1 entries in guest RAM frames the guest names, map/unmap
 * and copy with Xen's flag protocol, dom0 access through the control socket (ctl_gnttab.c).
 *
 * Locking: one gnttab lock (private to the gnttab files) guards every domain's frame list, pin
 * counts and dom0's map handles. Flags in a granter's entries are changed with cmpxchg on the
 * entry (Xen's protocol). On the soft accelerator a guest's own `lock cmpxchg` is not atomic
 * against host threads (docs/soft-accel.md), so a map racing the granter's revoke has a window
 * there; kvm has none. */
#ifndef KXEND_GNTTAB_H
#define KXEND_GNTTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "kxend/domain.h"
#include "kxend/hypercall.h"

#define KXEN_GNTTAB_MAX_FRAMES 32
#define KXEN_GNTTAB_ENTRIES_PER_FRAME 512u /* 4096 / sizeof(grant_entry_v1) */

int gnttab_domain_init(struct domain *d);
void gnttab_domain_destroy(struct domain *d);
/* XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx, gpfn): frame idx of d's grant table is
 * now the guest page gpfn. Returns 0 or -EINVAL (idx too large / gpfn outside RAM). */
int gnttab_set_frame(struct domain *d, unsigned idx, uint64_t gpfn);
/* Toolstack seeding of reserved entries (GNTTAB_RESERVED_CONSOLE/XENSTORE) to dom0. */
int gnttab_seed_reserved(struct domain *d, unsigned ref, uint16_t backend_domid, uint64_t gfn);

/* ---- dom0 (host processes) access, used by ctl_gnttab.c. Results are GNTST_* codes. ---- */
/* Validates <domid>:<ref> for dom0, sets GTF_reading (and GTF_writing unless readonly) and
 * returns a handle and the granted page's offset in the domain's memfd. */
int gnttab_dom0_map(uint16_t domid, uint32_t ref, bool readonly, const void *owner,
                    uint32_t *handle, uint64_t *memfd_offset);
/* GNTST_bad_handle when the handle is not owner's. */
int gnttab_dom0_unmap(uint32_t handle, const void *owner);
void gnttab_dom0_unmap_all(const void *owner);
/* One grant copy segment for dom0: the gref side is <domid>:<ref>+offset, the local side is
 * buf (kxend memory). to_guest: buf -> grant (needs a writable grant). */
int gnttab_dom0_copy(uint16_t domid, uint32_t ref, uint16_t offset, uint16_t len, bool to_guest,
                     void *buf);
/* Both sides granted to dom0 (GNTCOPY_source_gref | GNTCOPY_dest_gref). */
int gnttab_dom0_copy_gref(uint16_t sdom, uint32_t sref, uint16_t soff, uint16_t ddom, uint32_t dref,
                          uint16_t doff, uint16_t len);

/* __HYPERVISOR_grant_table_op (registered; named here for the unit tests). */
extern const struct hypercall_family gnttab_hypercall;

/* Marks dirty (guest_mark_dirty) every page of d that dom0 or another domain holds mapped
 * writable through a grant. */
void gnttab_mark_writable(struct domain *d);

#endif
