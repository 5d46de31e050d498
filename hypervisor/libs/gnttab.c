/* libxengnttab over kxend: kxend pins the grants and answers with offsets into the granting
 * domain's memfd; the memfd is fetched once per domain (FOREIGN_MAP) and re-fetched when
 * kxend reports another inode (the domain id was re-used). Pages are mmapped MAP_FIXED into a
 * reserved area so a multi-ref map is one contiguous range, as with Xen's gntdev. Grant copies
 * move their bytes through a copy buffer shared with kxend (a sealed memfd, one per handle):
 * one round trip per batch and two host memcpys per segment, no data on the socket. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_gnttab.h"
#include "xengnttab.h"

#define GNT_PAGE 4096u

struct gnt_memfd {
    uint16_t domid;
    int fd;
    uint64_t ino;
};

struct gnt_mapping {
    struct gnt_mapping *next;
    void *addr;
    uint32_t count;
    uint32_t handles[];
};

struct xengntdev_handle {
    struct kxen_ctl *ctl;
    pthread_mutex_t lock;
    struct gnt_memfd *fds;
    unsigned nfds;
    struct gnt_mapping *maps;
    uint64_t mapped, max_grants;
    /* Grant copies: request and reply messages, and the buffer shared with kxend
     * (copy_fd is sent with the first copy, then closed), all made at the first copy. */
    uint8_t *copy_req, *copy_rep, *copy_buf;
    int copy_fd;
    bool copy_buf_sent;
};

static void *fail_ptr(int err)
{
    errno = err;
    return NULL;
}

static int fail(int err)
{
    errno = err;
    return -1;
}

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    (void)logger, (void)open_flags;
    xengnttab_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    int rc = kxen_ctl_open(NULL, &h->ctl);
    if (rc) {
        free(h);
        return fail_ptr(-rc);
    }
    pthread_mutex_init(&h->lock, NULL);
    h->max_grants = UINT64_MAX;
    h->copy_fd = -1;
    return h;
}

int xengnttab_close(xengnttab_handle *xgt)
{
    if (!xgt)
        return 0;
    for (unsigned i = 0; i < xgt->nfds; i++)
        close(xgt->fds[i].fd);
    free(xgt->fds);
    while (xgt->maps) {
        struct gnt_mapping *m = xgt->maps;
        xgt->maps = m->next;
        free(m);
    }
    kxen_ctl_close(xgt->ctl);
    pthread_mutex_destroy(&xgt->lock);
    free(xgt->copy_req);
    free(xgt->copy_rep);
    if (xgt->copy_buf)
        munmap(xgt->copy_buf, KXEN_CTL_GNTCOPY_BUF_SIZE);
    if (xgt->copy_fd >= 0)
        close(xgt->copy_fd);
    free(xgt);
    return 0;
}

/* The domain's memfd whose inode is ino (lock held); fetched again if ours is stale. */
static int memfd_for(xengnttab_handle *h, uint16_t domid, uint64_t ino)
{
    struct gnt_memfd *m = NULL;
    for (unsigned i = 0; i < h->nfds; i++)
        if (h->fds[i].domid == domid)
            m = &h->fds[i];
    if (m && m->ino == ino)
        return m->fd;
    struct kxen_ctl_foreign_map req = {.domid = domid};
    struct kxen_ctl_foreign_map_rep rep;
    int fds[KXEN_CTL_MAX_FDS];
    unsigned nfds = 0;
    int rc = kxen_ctl_call(h->ctl, KXEN_CTL_FOREIGN_MAP, &req, sizeof(req), NULL, 0, &rep,
                           sizeof(rep), NULL, fds, &nfds);
    if (rc == 0 && nfds != 1)
        rc = -EPROTO;
    for (unsigned i = 1; i < nfds; i++)
        close(fds[i]);
    if (rc)
        return rc;
    struct stat st;
    if (fstat(fds[0], &st) < 0 || st.st_ino != ino) {
        close(fds[0]);
        return -ESTALE; /* the domain changed under us: let the caller retry */
    }
    if (!m) {
        struct gnt_memfd *n = realloc(h->fds, (h->nfds + 1) * sizeof(*n));
        if (!n) {
            close(fds[0]);
            return -ENOMEM;
        }
        h->fds = n;
        m = &h->fds[h->nfds++];
        m->domid = domid;
    } else {
        close(m->fd);
    }
    m->fd = fds[0];
    m->ino = ino;
    return m->fd;
}

static void unmap_handles(xengnttab_handle *h, const uint32_t *handles, uint32_t count)
{
    size_t len = sizeof(struct kxen_ctl_gnttab_unmap) + count * sizeof(uint32_t);
    struct kxen_ctl_gnttab_unmap *req = calloc(1, len);
    if (!req)
        return;
    req->count = count;
    memcpy(req->handles, handles, count * sizeof(uint32_t));
    kxen_ctl_simple(h->ctl, KXEN_CTL_GNTTAB_UNMAP, req, (uint32_t)len, NULL, 0, NULL);
    free(req);
}

/* Maps refs[0..n) of one domain at addr: one request, then one mmap per page. */
static int map_run(xengnttab_handle *h, uint16_t domid, const uint32_t *refs, uint32_t n, bool ro,
                   uint8_t *addr, uint32_t *handles)
{
    size_t qlen = sizeof(struct kxen_ctl_gnttab_map) + ((n * sizeof(uint32_t) + 7) & ~7ul);
    size_t plen =
        sizeof(struct kxen_ctl_gnttab_map_rep) + n * sizeof(struct kxen_ctl_gnttab_map_ent);
    struct kxen_ctl_gnttab_map *req = calloc(1, qlen);
    struct kxen_ctl_gnttab_map_rep *rep = calloc(1, plen);
    int rc = -ENOMEM;
    if (!req || !rep)
        goto out;
    req->domid = domid;
    req->count = n;
    req->flags = ro ? KXEN_CTL_GNTMAP_READONLY : 0;
    memcpy(req->refs, refs, n * sizeof(uint32_t));
    uint32_t len = 0;
    rc = kxen_ctl_simple(h->ctl, KXEN_CTL_GNTTAB_MAP, req, (uint32_t)qlen, rep, (uint32_t)plen,
                         &len);
    if (rc == 0 && len < plen)
        rc = -EPROTO;
    if (rc)
        goto out;
    for (uint32_t i = 0; i < n; i++)
        if (rep->ents[i].status != GNTST_okay) {
            /* kxend already undid the others; map gntdev's answer for a bad grant */
            rc = rep->ents[i].status == GNTST_bad_domain ? -ESRCH : -EINVAL;
            goto out;
        }
    for (uint32_t i = 0; i < n; i++)
        handles[i] = rep->ents[i].handle;
    int fd = memfd_for(h, domid, rep->mem_ino);
    rc = fd < 0 ? fd : 0;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        if (mmap(addr + (size_t)i * GNT_PAGE, GNT_PAGE, ro ? PROT_READ : PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_FIXED, fd, (off_t)rep->ents[i].offset) == MAP_FAILED)
            rc = -errno;
    if (rc)
        unmap_handles(h, handles, n);
out:
    free(req);
    free(rep);
    return rc;
}

void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t *domids,
                               uint32_t *refs, int prot)
{
    if (count == 0 || !(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE)))
        return fail_ptr(EINVAL);
    bool ro = !(prot & PROT_WRITE);
    struct gnt_mapping *m = calloc(1, sizeof(*m) + count * sizeof(uint32_t));
    if (!m)
        return NULL;
    uint8_t *addr = mmap(NULL, (size_t)count * GNT_PAGE, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (addr == MAP_FAILED) {
        free(m);
        return NULL;
    }
    pthread_mutex_lock(&xgt->lock);
    int rc = xgt->mapped + count > xgt->max_grants ? -ENOSPC : 0;
    uint32_t done = 0;
    while (rc == 0 && done < count) {
        /* Runs of one domain, at most one request's worth, go together. */
        uint32_t n = 1;
        while (done + n < count && n < KXEN_CTL_GNTTAB_MAX_BATCH &&
               domids[done + n] == domids[done])
            n++;
        if (domids[done] > UINT16_MAX)
            rc = -EINVAL;
        else
            rc = map_run(xgt, (uint16_t)domids[done], refs + done, n, ro,
                         addr + (size_t)done * GNT_PAGE, m->handles + done);
        if (rc == -ESTALE) /* domain re-created between map and memfd fetch: once more */
            rc = map_run(xgt, (uint16_t)domids[done], refs + done, n, ro,
                         addr + (size_t)done * GNT_PAGE, m->handles + done);
        if (rc == 0)
            done += n;
    }
    if (rc) {
        if (done)
            unmap_handles(xgt, m->handles, done);
        pthread_mutex_unlock(&xgt->lock);
        munmap(addr, (size_t)count * GNT_PAGE);
        free(m);
        return fail_ptr(-rc);
    }
    m->addr = addr;
    m->count = count;
    m->next = xgt->maps;
    xgt->maps = m;
    xgt->mapped += count;
    pthread_mutex_unlock(&xgt->lock);
    return addr;
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot)
{
    return xengnttab_map_grant_refs(xgt, 1, &domid, &ref, prot);
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t domid,
                                      uint32_t *refs, int prot)
{
    uint32_t *domids = malloc((count ? count : 1) * sizeof(uint32_t));
    if (!domids)
        return NULL;
    for (uint32_t i = 0; i < count; i++)
        domids[i] = domid;
    void *p = xengnttab_map_grant_refs(xgt, count, domids, refs, prot);
    int err = errno;
    free(domids);
    errno = err;
    return p;
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
    pthread_mutex_lock(&xgt->lock);
    struct gnt_mapping **pp = &xgt->maps;
    while (*pp && ((*pp)->addr != start_address || (*pp)->count != count))
        pp = &(*pp)->next;
    struct gnt_mapping *m = *pp;
    if (!m) {
        pthread_mutex_unlock(&xgt->lock);
        return fail(EINVAL);
    }
    *pp = m->next;
    xgt->mapped -= count;
    /* Pages go before the pins: kxend must never see the grant free while we still map it. */
    munmap(start_address, (size_t)count * GNT_PAGE);
    for (uint32_t i = 0; i < count; i += KXEN_CTL_GNTTAB_MAX_BATCH)
        unmap_handles(xgt, m->handles + i,
                      count - i < KXEN_CTL_GNTTAB_MAX_BATCH ? count - i
                                                            : KXEN_CTL_GNTTAB_MAX_BATCH);
    pthread_mutex_unlock(&xgt->lock);
    free(m);
    return 0;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
    pthread_mutex_lock(&xgt->lock);
    xgt->max_grants = nr_grants;
    pthread_mutex_unlock(&xgt->lock);
    return 0;
}

/* ---- grant copy: segments and inline data in one request per batch ---- */

#define COPY_REP_CAP (KXEN_CTL_GNTCOPY_SLOTS * sizeof(int16_t)) /* the statuses */

/* The buffer kxend shares for copies: a memfd sealed against resizing (kxend maps it and
 * must never see it shrink). Lock held. */
static int copy_buf_setup(xengnttab_handle *h)
{
    if (h->copy_buf)
        return 0;
    int fd = memfd_create("kxen-gntcopy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    void *p = MAP_FAILED;
    if (ftruncate(fd, KXEN_CTL_GNTCOPY_BUF_SIZE) == 0 &&
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
        p = mmap(NULL, KXEN_CTL_GNTCOPY_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    h->copy_buf = p;
    h->copy_fd = fd;
    return 0;
}

/* One batch (n <= KXEN_CTL_GNTCOPY_SLOTS): local bytes go through slot i of the buffer. */
static int copy_batch(xengnttab_handle *h, uint32_t n, xengnttab_grant_copy_segment_t *segs)
{
    struct kxen_ctl_gnttab_copy *req = (struct kxen_ctl_gnttab_copy *)h->copy_req;
    memset(req, 0, sizeof(*req) + n * sizeof(req->segs[0]));
    req->count = n;
    req->flags = KXEN_CTL_GNTCOPY_SHARED;
    for (uint32_t i = 0; i < n; i++) {
        const xengnttab_grant_copy_segment_t *s = &segs[i];
        struct kxen_ctl_gnttab_copy_seg *q = &req->segs[i];
        q->len = s->len;
        q->flags = s->flags;
        if (s->flags & GNTCOPY_source_gref) {
            q->source_ref = s->source.foreign.ref;
            q->source_domid = s->source.foreign.domid;
            q->source_offset = s->source.foreign.offset;
        }
        if (s->flags & GNTCOPY_dest_gref) {
            q->dest_ref = s->dest.foreign.ref;
            q->dest_domid = s->dest.foreign.domid;
            q->dest_offset = s->dest.foreign.offset;
        }
        if (s->flags == GNTCOPY_dest_gref)
            memcpy(h->copy_buf + (size_t)i * GNT_PAGE, s->source.virt, s->len);
    }
    uint32_t len = 0;
    bool send_fd = !h->copy_buf_sent;
    int rc = kxen_ctl_call(
        h->ctl, KXEN_CTL_GNTTAB_COPY, req, (uint32_t)(sizeof(*req) + n * sizeof(req->segs[0])),
        send_fd ? &h->copy_fd : NULL, send_fd ? 1 : 0, h->copy_rep, COPY_REP_CAP, &len, NULL, NULL);
    if (rc)
        return rc;
    if (send_fd) { /* kxend keeps its mapping for the life of this connection */
        h->copy_buf_sent = true;
        close(h->copy_fd);
        h->copy_fd = -1;
    }
    if (len < n * sizeof(int16_t))
        return -EPROTO;
    const int16_t *status = (const int16_t *)h->copy_rep;
    for (uint32_t i = 0; i < n; i++) {
        segs[i].status = status[i];
        if (segs[i].flags == GNTCOPY_source_gref && status[i] == GNTST_okay)
            memcpy(segs[i].dest.virt, h->copy_buf + (size_t)i * GNT_PAGE, segs[i].len);
    }
    return 0;
}

int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
                         xengnttab_grant_copy_segment_t *segs)
{
    for (uint32_t i = 0; i < count; i++)
        if (!(segs[i].flags & (GNTCOPY_source_gref | GNTCOPY_dest_gref)) ||
            (segs[i].flags & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref)) || segs[i].len > GNT_PAGE)
            return fail(EINVAL);
    pthread_mutex_lock(&xgt->lock);
    if (!xgt->copy_req)
        xgt->copy_req = malloc(sizeof(struct kxen_ctl_gnttab_copy) +
                               KXEN_CTL_GNTCOPY_SLOTS * sizeof(struct kxen_ctl_gnttab_copy_seg));
    if (!xgt->copy_rep)
        xgt->copy_rep = malloc(COPY_REP_CAP);
    int rc = xgt->copy_req && xgt->copy_rep ? copy_buf_setup(xgt) : -ENOMEM;
    for (uint32_t i = 0; i < count && rc == 0;) {
        uint32_t n = count - i < KXEN_CTL_GNTCOPY_SLOTS ? count - i : KXEN_CTL_GNTCOPY_SLOTS;
        rc = copy_batch(xgt, n, segs + i);
        i += n;
    }
    pthread_mutex_unlock(&xgt->lock);
    return rc ? fail(-rc) : 0;
}
