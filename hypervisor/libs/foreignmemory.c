/* libxenforeignmemory over kxend: each map asks kxend for the domain's memfd (privileged
 * callers only), maps the requested frames MAP_FIXED into one reserved range, and drops the
 * descriptor (the mappings keep the memory). Frames are guest-physical page numbers. A
 * writable map is declared to kxend before it exists and released after it is gone
 * (FOREIGN_WRITABLE), so a save or migration's dirty log sends what it wrote. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_gnttab.h"
#include "xenforeignmemory.h"

#define FMEM_PAGE 4096ul

/* A writable map declared to kxend: released at unmap. */
struct writable {
    struct writable *next;
    void *base;
    uint16_t domid;
};

struct xenforeignmemory_handle {
    struct kxen_ctl *ctl;
    int restrict_domid; /* -1 = any */
    struct writable *writable;
};

static void *fail_ptr(int err)
{
    errno = err;
    return NULL;
}

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
                                               unsigned open_flags)
{
    (void)logger, (void)open_flags;
    xenforeignmemory_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->restrict_domid = -1;
    int rc = kxen_ctl_open(NULL, &h->ctl);
    if (rc) {
        free(h);
        return fail_ptr(-rc);
    }
    return h;
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
    if (fmem) {
        while (fmem->writable) { /* closing the connection releases them in kxend */
            struct writable *w = fmem->writable;
            fmem->writable = w->next;
            free(w);
        }
        kxen_ctl_close(fmem->ctl);
        free(fmem);
    }
    return 0;
}

static int writable_op(xenforeignmemory_handle *fmem, uint16_t domid, uint32_t cmd, void *base,
                       const xen_pfn_t *arr, size_t pages)
{
    size_t most = KXEN_CTL_FOREIGN_MAX_PFNS;
    struct kxen_ctl_foreign_writable *a = calloc(1, sizeof(*a) + most * sizeof(uint64_t));
    if (!a)
        return -ENOMEM;
    int rc = 0;
    size_t done = 0;
    do { /* RELEASE once; HOLD in batches */
        size_t n = pages - done < most ? pages - done : most;
        *a = (struct kxen_ctl_foreign_writable){
            .domid = domid, .cmd = cmd, .count = (uint32_t)n, .cookie = (uintptr_t)base};
        for (size_t i = 0; i < n; i++)
            a->pfns[i] = arr[done + i];
        rc = kxen_ctl_simple(fmem->ctl, KXEN_CTL_FOREIGN_WRITABLE, a,
                             (uint32_t)(sizeof(*a) + n * sizeof(uint64_t)), NULL, 0, NULL);
        done += n;
    } while (rc == 0 && done < pages);
    free(a);
    return rc;
}

void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom, void *addr, int prot,
                            int flags, size_t pages, const xen_pfn_t arr[], int err[])
{
    if (pages == 0 || pages > SIZE_MAX / FMEM_PAGE || dom > UINT16_MAX || (flags & ~MAP_FIXED) ||
        (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)))
        return fail_ptr(EINVAL);
    if (fmem->restrict_domid >= 0 && (uint32_t)fmem->restrict_domid != dom)
        return fail_ptr(EPERM);
    struct kxen_ctl_foreign_map req = {.domid = (uint16_t)dom};
    struct kxen_ctl_foreign_map_rep rep;
    int fds[KXEN_CTL_MAX_FDS];
    unsigned nfds = 0;
    uint32_t len = 0;
    int rc = kxen_ctl_call(fmem->ctl, KXEN_CTL_FOREIGN_MAP, &req, sizeof(req), NULL, 0, &rep,
                           sizeof(rep), &len, fds, &nfds);
    if (rc == 0 && (nfds != 1 || len < sizeof(rep)))
        rc = -EPROTO;
    for (unsigned i = rc == 0 ? 1 : 0; i < nfds; i++)
        close(fds[i]);
    if (rc)
        return fail_ptr(-rc);
    int fd = fds[0];
    uint8_t *base = mmap(addr, pages * FMEM_PAGE, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (flags & MAP_FIXED), -1, 0);
    if (base == MAP_FAILED) {
        rc = -errno;
        close(fd);
        return fail_ptr(-rc);
    }
    struct writable *w = NULL;
    if (prot & PROT_WRITE) {
        w = calloc(1, sizeof(*w));
        rc = w ? writable_op(fmem, (uint16_t)dom, KXEN_FOREIGN_HOLD, base, arr, pages) : -ENOMEM;
        if (rc) {
            free(w);
            munmap(base, pages * FMEM_PAGE);
            close(fd);
            return fail_ptr(-rc);
        }
        *w = (struct writable){fmem->writable, base, (uint16_t)dom};
        fmem->writable = w;
    }
    for (size_t i = 0; i < pages; i++) {
        int e = 0;
        if (arr[i] >= rep.ram_size / FMEM_PAGE)
            e = -EINVAL; /* not a frame of this domain's RAM */
        else if (mmap(base + i * FMEM_PAGE, FMEM_PAGE, prot, MAP_SHARED | MAP_FIXED, fd,
                      (off_t)(arr[i] * FMEM_PAGE)) == MAP_FAILED)
            e = -errno;
        if (err)
            err[i] = e;
        if (e && !err) {
            rc = e;
            break;
        }
    }
    close(fd);
    /* With err[], a partly bad map still succeeds (the bad pages stay PROT_NONE), as Xen's. */
    if (rc) {
        xenforeignmemory_unmap(fmem, base, pages);
        return fail_ptr(-rc);
    }
    return base;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
                           const xen_pfn_t arr[], int err[])
{
    return xenforeignmemory_map2(fmem, dom, NULL, prot, 0, pages, arr, err);
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages)
{
    int rc = munmap(addr, pages * FMEM_PAGE);
    /* After the unmap: kxend marks the pages once more, past the last write. Callers unmap
     * with a NULL handle once their kxend died (its handle closed): nothing to release. */
    for (struct writable **p = fmem ? &fmem->writable : NULL; p && *p; p = &(*p)->next) {
        if ((*p)->base != addr)
            continue;
        struct writable *w = *p;
        *p = w->next;
        writable_op(fmem, w->domid, KXEN_FOREIGN_RELEASE, addr, NULL, 0);
        free(w);
        break;
    }
    return rc;
}

int xenforeignmemory_restrict(xenforeignmemory_handle *fmem, domid_t domid)
{
    if (domid >= DOMID_FIRST_RESERVED) {
        errno = EINVAL;
        return -1;
    }
    if (fmem->restrict_domid >= 0 && fmem->restrict_domid != domid) {
        errno = EPERM;
        return -1;
    }
    fmem->restrict_domid = domid;
    return 0;
}
