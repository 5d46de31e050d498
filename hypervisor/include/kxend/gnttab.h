/* Grant tables (grant_table.c): v1 entries in guest RAM frames the guest names, map/unmap and
 * copy with Xen's flag protocol, dom0 access through the control socket. */
#ifndef KXEND_GNTTAB_H
#define KXEND_GNTTAB_H

#include <stdint.h>

#include "kxend/domain.h"
#include "kxend/hypercall.h"

#define KXEN_GNTTAB_MAX_FRAMES 32

int gnttab_domain_init(struct domain *d);
void gnttab_domain_destroy(struct domain *d);
/* XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx, gpfn): frame idx of d's grant table is
 * now the guest page gpfn. Returns 0 or -EINVAL (idx too large / gpfn outside RAM). */
int gnttab_set_frame(struct domain *d, unsigned idx, uint64_t gpfn);
/* Toolstack seeding of reserved entries (GNTTAB_RESERVED_CONSOLE/XENSTORE) to dom0. */
int gnttab_seed_reserved(struct domain *d, unsigned ref, uint16_t backend_domid, uint64_t gfn);

HYPERCALL_FAMILY(hc_grant_table_op);

#endif
