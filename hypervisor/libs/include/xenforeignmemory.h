/* libxenforeignmemory for kxen: maps pages of a domain's RAM (its memfd, passed once per map
 * call by kxend) into the caller. Privileged callers only. Errors: NULL or -1 with errno. */
#ifndef KXEN_XENFOREIGNMEMORY_H
#define KXEN_XENFOREIGNMEMORY_H

#include <stddef.h>
#include <stdint.h>

#include <kxen/xen.h>

struct xentoollog_logger;
typedef struct xenforeignmemory_handle xenforeignmemory_handle;

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
                                               unsigned open_flags);
int xenforeignmemory_close(xenforeignmemory_handle *fmem);
/* Maps pages frames arr[] of dom contiguously. With err, a bad frame gets err[i] = -EINVAL
 * and stays inaccessible; without err, any bad frame fails the whole call. */
void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
                           const xen_pfn_t arr[/*pages*/], int err[/*pages*/]);
/* As above at addr (a hint, or exact with flags MAP_FIXED). */
void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom, void *addr, int prot,
                            int flags, size_t pages, const xen_pfn_t arr[/*pages*/],
                            int err[/*pages*/]);
int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages);
/* From now on only domid's memory may be mapped (EPERM otherwise). */
int xenforeignmemory_restrict(xenforeignmemory_handle *fmem, domid_t domid);

#endif
