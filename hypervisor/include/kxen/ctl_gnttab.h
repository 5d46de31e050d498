/* Payloads of the memory and grant ops of kxend's control socket (ops 96..127 of kxen/ctl.h),
 * used by libxengnttab, libxenforeignmemory and the toolstack. Fixed layout, little-endian,
 * sizes multiples of 8. All ops are privileged. Per-entry results are GNTST_* codes. */
#ifndef KXEN_CTL_GNTTAB_H
#define KXEN_CTL_GNTTAB_H

#include <stdint.h>

#include "kxen/ctl.h"

/* FOREIGN_MAP: <domid>'s RAM. Reply: kxen_ctl_foreign_map_rep + fds[0] = the domain's memfd
 * (guest-physical address = offset in the memfd). */
struct kxen_ctl_foreign_map {
    uint16_t domid;
    uint16_t pad[3];
};
struct kxen_ctl_foreign_map_rep {
    uint64_t ram_size; /* bytes mappable from offset 0 */
};

/* GNTTAB_MAP: count refs of <domid> granted to dom 0. All or nothing: when one fails, none
 * stays mapped and every status says what happened (GNTST_okay for the undone ones, rc 0).
 * Reply: kxen_ctl_gnttab_map_rep with count entries. mem_ino (st_ino of the domain's memfd)
 * lets a client check that its cached memfd (FOREIGN_MAP) is still this domain's RAM. */
#define KXEN_CTL_GNTTAB_MAX_BATCH 1024u
#define KXEN_CTL_GNTMAP_READONLY (1u << 0)
struct kxen_ctl_gnttab_map {
    uint16_t domid;
    uint16_t pad;
    uint32_t count; /* 1 .. KXEN_CTL_GNTTAB_MAX_BATCH */
    uint32_t flags; /* KXEN_CTL_GNTMAP_* */
    uint32_t pad2;
    uint32_t refs[]; /* count, padded to 8 bytes */
};
struct kxen_ctl_gnttab_map_ent {
    uint64_t offset; /* of the granted page in the domain's memfd */
    uint32_t handle;
    int16_t status; /* GNTST_* */
    uint16_t pad;
};
struct kxen_ctl_gnttab_map_rep {
    uint64_t mem_ino;
    struct kxen_ctl_gnttab_map_ent ents[];
};

/* GNTTAB_UNMAP: count handles this connection mapped. rc -EINVAL if one was not (the others
 * are still unmapped). */
struct kxen_ctl_gnttab_unmap {
    uint32_t count; /* 1 .. KXEN_CTL_GNTTAB_MAX_BATCH */
    uint32_t pad;
    uint32_t handles[];
};

/* GNTTAB_COPY: count segments, then the bytes of every segment whose source is local (flags
 * GNTCOPY_dest_gref only), in segment order. Reply: count int16_t statuses padded to 8 bytes,
 * then the bytes of every successful segment whose destination is local (GNTCOPY_source_gref
 * only), in order (a failed one contributes no bytes). flags must name at least one gref.
 * With KXEN_CTL_GNTCOPY_SHARED in the header's flags no data crosses the socket: segment i's
 * local bytes are in slot i (4 KiB) of the connection's copy buffer, a memfd of
 * KXEN_CTL_GNTCOPY_BUF_SIZE bytes sealed against shrinking (F_SEAL_SHRINK), sent as the one
 * descriptor of the first such request and kept by kxend until the connection closes (a later
 * descriptor replaces it). count <= KXEN_CTL_GNTCOPY_SLOTS; the reply is the statuses only. */
#define KXEN_CTL_GNTCOPY_SHARED (1u << 0)
#define KXEN_CTL_GNTCOPY_SLOTS 256u
#define KXEN_CTL_GNTCOPY_BUF_SIZE (KXEN_CTL_GNTCOPY_SLOTS * 4096u)
struct kxen_ctl_gnttab_copy_seg {
    uint32_t source_ref;
    uint32_t dest_ref;
    uint16_t source_domid;
    uint16_t dest_domid;
    uint16_t source_offset;
    uint16_t dest_offset;
    uint16_t len;
    uint16_t flags; /* GNTCOPY_source_gref | GNTCOPY_dest_gref */
    uint32_t pad;
};
struct kxen_ctl_gnttab_copy {
    uint32_t count; /* 1 .. KXEN_CTL_GNTTAB_MAX_BATCH */
    uint32_t flags; /* KXEN_CTL_GNTCOPY_SHARED or 0 */
    struct kxen_ctl_gnttab_copy_seg segs[];
};

/* GNTTAB_GRANT_FOREIGN: toolstack seeding of reserved entry <ref> (0 console, 1 xenstore) of
 * <domid>: frame <gfn> granted to <backend_domid>. */
struct kxen_ctl_gnttab_grant_foreign {
    uint16_t domid;
    uint16_t backend_domid;
    uint32_t ref;
    uint64_t gfn;
};

/* FOREIGN_WRITABLE: the client maps (HOLD) or has unmapped (RELEASE) these pages of <domid>
 * writable through its FOREIGN_MAP memfd. kxend cannot see such writes, so a dirty log counts
 * every held page dirty at each collect, and once more at its release (and when the
 * connection goes). A mapping is named by the client's cookie (its address); HOLD with the
 * same cookie adds pages, RELEASE drops them all. */
#define KXEN_FOREIGN_HOLD 1
#define KXEN_FOREIGN_RELEASE 2
#define KXEN_CTL_FOREIGN_MAX_PFNS 16384u
struct kxen_ctl_foreign_writable {
    uint16_t domid;
    uint16_t pad;
    uint32_t cmd;   /* KXEN_FOREIGN_* */
    uint32_t count; /* HOLD: 1 .. KXEN_CTL_FOREIGN_MAX_PFNS pfns follow; RELEASE: 0 */
    uint32_t pad2;
    uint64_t cookie;
    uint64_t pfns[];
};

#endif
