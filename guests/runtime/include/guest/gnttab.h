/* Grant table (v1) of this guest: frames placed with XENMEM_add_to_physmap
 * (XENMAPSPACE_grant_table) at pages of the image, entries filled in Xen's order (frame and
 * domid, barrier, then flags). Refs below GNTTAB_NR_RESERVED_ENTRIES belong to the toolstack. */
#ifndef GUEST_GNTTAB_H
#define GUEST_GNTTAB_H

#include <stdbool.h>
#include <stdint.h>

#include <kxen/grant_table.h>

/* 4096 entries: enough for a disk's rings, indirect pages and a few MiB of buffers in flight. */
#define GNTTAB_FRAMES 8
#define GNTTAB_ENTRIES (GNTTAB_FRAMES * 4096 / sizeof(grant_entry_v1_t))

int gnttab_init(void);
/* Grants domid access to our frame; *ref receives the entry. -ENOSPC when the table is
 * full, -EINVAL for a domid that is not a real domain or a frame past v1's 32 bits. */
int gnttab_grant_access(domid_t domid, unsigned long frame, bool readonly, grant_ref_t *ref);
/* Revokes a grant: -EBUSY while the peer still maps it (GTF_reading/GTF_writing), -EINVAL
 * for a ref we did not hand out. */
int gnttab_end_access(grant_ref_t ref);
/* Revokes a grant whatever its flags say: only for grants of a domain that resumed in a new
 * domain (restore, migration), where no peer maps anything yet and the GTF_reading/writing
 * bits the page carried from the old host are stale. -EINVAL for a ref we did not hand out. */
int gnttab_forget(grant_ref_t ref);
/* The entries (for tests that inspect flags). */
grant_entry_v1_t *gnttab_entries(void);

#endif
