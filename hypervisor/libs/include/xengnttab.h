/* libxengnttab for kxen: Xen's dom0 grant-mapping API over kxend's control socket. kxend
 * validates each grant and sets its in-use flags; the library maps the granting domain's memfd
 * at the returned offsets. Grant copy is one batched request executed by kxend.
 * Errors: NULL or -1 with errno, as Xen's library. */
#ifndef KXEN_XENGNTTAB_H
#define KXEN_XENGNTTAB_H

#include <stdint.h>

#include <kxen/event_channel.h>
#include <kxen/grant_table.h>

struct xentoollog_logger;
typedef struct xengntdev_handle xengnttab_handle;

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags);
/* Unmaps nothing by itself: kxend drops this handle's grant pins when it closes, the pages
 * stay mapped in this process until xengnttab_unmap/munmap. */
int xengnttab_close(xengnttab_handle *xgt);

/* prot: PROT_READ, optionally | PROT_WRITE (a read-only map needs only a read-only grant). */
void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot);
void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t *domids,
                               uint32_t *refs, int prot);
void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t domid,
                                      uint32_t *refs, int prot);
/* start_address and count exactly as a map returned them. */
int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count);
/* Most grants this handle may have mapped at once (default: unlimited). */
int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants);

struct xengnttab_grant_copy_segment {
    union xengnttab_copy_ptr {
        void *virt;
        struct {
            uint32_t ref;
            uint16_t offset;
            uint16_t domid;
        } foreign;
    } source, dest;
    uint16_t len;
    uint16_t flags; /* GNTCOPY_source_gref and/or GNTCOPY_dest_gref */
    int16_t status; /* out: GNTST_* */
};
typedef struct xengnttab_grant_copy_segment xengnttab_grant_copy_segment_t;

/* 0 when every segment was tried (see each status), -1 + errno when the request failed. */
int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
                         xengnttab_grant_copy_segment_t *segs);

#endif
