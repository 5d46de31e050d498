/* Control-socket ops 96..127: guest memory and grants for dom0 processes (libxengnttab,
 * libxenforeignmemory, the toolstack). A map validates the grants and pins them; the client
 * then mmaps the domain's memfd (FOREIGN_MAP, fetched once) at the returned offsets. Maps a
 * connection holds are dropped when it goes away. A copy's local bytes travel inline in the
 * messages, or through a copy buffer the client shares once per connection (a sealed memfd
 * kxend maps): then each grant is pinned for one memcpy between guest RAM and that buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "kxen/ctl_gnttab.h"
#include "kxend/ctl_server.h"
#include "kxend/domain.h"
#include "kxend/gnttab.h"

#define PAD8(n) (((n) + 7u) & ~7u)

/* One cleanup entry per connection (remove-then-add keeps it single): it drops every map the
 * connection still holds when the client goes away. */
static void dom0_maps_cleanup(void *conn)
{
    gnttab_dom0_unmap_all(conn);
}

static int ctl_foreign_map(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_foreign_map *a = req->payload;
    if (a->domid == 0 || a->domid >= DOMID_FIRST_RESERVED)
        return -ESRCH;
    struct domain *d = domain_get(a->domid);
    if (!d)
        return -ESRCH;
    int fd = d->mem_fd >= 0 ? fcntl(d->mem_fd, F_DUPFD_CLOEXEC, 0) : -1;
    uint64_t size = d->ram_size;
    domain_put(d);
    if (fd < 0)
        return -EIO;
    struct kxen_ctl_foreign_map_rep *out = rep->payload;
    memset(out, 0, sizeof(*out));
    out->ram_size = size;
    rep->len = sizeof(*out);
    rep->fds[0] = fd;
    rep->nfds = 1;
    return 0;
}

static int ctl_gnttab_map(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_gnttab_map *a = req->payload;
    if (a->count == 0 || a->count > KXEN_CTL_GNTTAB_MAX_BATCH ||
        req->len < sizeof(*a) + a->count * sizeof(uint32_t) ||
        (a->flags & ~KXEN_CTL_GNTMAP_READONLY))
        return -EINVAL;
    bool ro = a->flags & KXEN_CTL_GNTMAP_READONLY;
    struct kxen_ctl_gnttab_map_rep *r = rep->payload;
    struct kxen_ctl_gnttab_map_ent *out = r->ents;
    memset(r, 0, sizeof(*r) + a->count * sizeof(*out));
    struct domain *d = domain_get(a->domid);
    struct stat stbuf;
    if (d && d->mem_fd >= 0 && fstat(d->mem_fd, &stbuf) == 0)
        r->mem_ino = stbuf.st_ino;
    if (d)
        domain_put(d);
    ctl_conn_remove_cleanup(req->conn, dom0_maps_cleanup, req->conn);
    int rc = ctl_conn_add_cleanup(req->conn, dom0_maps_cleanup, req->conn);
    if (rc)
        return rc;
    uint32_t i;
    bool failed = false;
    for (i = 0; i < a->count && !failed; i++) {
        out[i].status = (int16_t)gnttab_dom0_map(a->domid, a->refs[i], ro, req->conn,
                                                 &out[i].handle, &out[i].offset);
        failed = out[i].status != GNTST_okay;
    }
    if (failed) {
        /* All or nothing, as a gntdev map of several refs. */
        for (uint32_t j = 0; j + 1 < i; j++) {
            gnttab_dom0_unmap(out[j].handle, req->conn);
            out[j].handle = ~0u;
        }
        out[i - 1].handle = ~0u;
        for (; i < a->count; i++)
            out[i].handle = ~0u;
    }
    rep->len = sizeof(*r) + a->count * sizeof(*out);
    return 0;
}

static int ctl_gnttab_unmap(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_gnttab_unmap *a = req->payload;
    (void)rep;
    if (a->count == 0 || a->count > KXEN_CTL_GNTTAB_MAX_BATCH ||
        req->len < sizeof(*a) + a->count * sizeof(uint32_t))
        return -EINVAL;
    int rc = 0;
    for (uint32_t i = 0; i < a->count; i++) {
        if (gnttab_dom0_unmap(a->handles[i], req->conn) != GNTST_okay)
            rc = -EINVAL;
    }
    return rc;
}

/* ---- shared copy buffers: one per connection that sent one ---- */

#define COPY_BUF_CONNS 64

static pthread_mutex_t copy_buf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const void *conn;
    uint8_t *map;
} copy_bufs[COPY_BUF_CONNS];

static void copy_buf_drop(void *conn)
{
    pthread_mutex_lock(&copy_buf_lock);
    for (unsigned i = 0; i < COPY_BUF_CONNS; i++)
        if (copy_bufs[i].conn == conn) {
            munmap(copy_bufs[i].map, KXEN_CTL_GNTCOPY_BUF_SIZE);
            copy_bufs[i].conn = NULL;
            copy_bufs[i].map = NULL;
        }
    pthread_mutex_unlock(&copy_buf_lock);
}

/* Maps the client's copy buffer. The client owns the memfd: it must be sealed against
 * shrinking, or a truncate would turn kxend's next copy into SIGBUS. */
static uint8_t *copy_buf_map(int fd)
{
    struct stat st;
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) < 0 ||
        (uint64_t)st.st_size < KXEN_CTL_GNTCOPY_BUF_SIZE)
        return NULL;
    void *p = mmap(NULL, KXEN_CTL_GNTCOPY_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The connection's copy buffer: the descriptor sent with this request (which replaces an older
 * one), else the one kept. NULL when there is none or it is unusable. */
static uint8_t *copy_buf_for(struct ctl_request *req)
{
    uint8_t *fresh = req->nfds == 1 ? copy_buf_map(req->fds[0]) : NULL;
    if (req->nfds > 1 || (req->nfds == 1 && !fresh))
        return NULL;
    if (fresh) {
        copy_buf_drop(req->conn);
        ctl_conn_remove_cleanup(req->conn, copy_buf_drop, req->conn);
        if (ctl_conn_add_cleanup(req->conn, copy_buf_drop, req->conn)) {
            munmap(fresh, KXEN_CTL_GNTCOPY_BUF_SIZE);
            return NULL;
        }
    }
    uint8_t *map = NULL;
    pthread_mutex_lock(&copy_buf_lock);
    for (unsigned i = 0; i < COPY_BUF_CONNS && !map; i++) {
        if (fresh && !copy_bufs[i].conn) {
            copy_bufs[i].conn = req->conn;
            copy_bufs[i].map = map = fresh;
        } else if (!fresh && copy_bufs[i].conn == req->conn) {
            map = copy_bufs[i].map;
        }
    }
    pthread_mutex_unlock(&copy_buf_lock);
    if (fresh && !map)
        munmap(fresh, KXEN_CTL_GNTCOPY_BUF_SIZE); /* every slot taken */
    return map;
}

/* GNTTAB_COPY with KXEN_CTL_GNTCOPY_SHARED: every segment's local side is its buffer slot. */
static int ctl_gnttab_copy_shared(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_gnttab_copy *a = req->payload;
    if (a->count == 0 || a->count > KXEN_CTL_GNTCOPY_SLOTS ||
        req->len != sizeof(*a) + a->count * sizeof(a->segs[0]) ||
        (a->flags & ~KXEN_CTL_GNTCOPY_SHARED))
        return -EINVAL;
    for (uint32_t i = 0; i < a->count; i++) {
        uint16_t f = a->segs[i].flags;
        if (!(f & (GNTCOPY_source_gref | GNTCOPY_dest_gref)) ||
            (f & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref)) || a->segs[i].len > 4096)
            return -EINVAL;
    }
    uint8_t *buf = copy_buf_for(req);
    if (!buf)
        return -EINVAL;
    int16_t *status = rep->payload;
    memset(rep->payload, 0, PAD8(a->count * sizeof(int16_t)));
    for (uint32_t i = 0; i < a->count; i++) {
        const struct kxen_ctl_gnttab_copy_seg *s = &a->segs[i];
        uint8_t *slot = buf + (size_t)i * 4096;
        if (s->flags == (GNTCOPY_source_gref | GNTCOPY_dest_gref))
            status[i] =
                (int16_t)gnttab_dom0_copy_gref(s->source_domid, s->source_ref, s->source_offset,
                                               s->dest_domid, s->dest_ref, s->dest_offset, s->len);
        else if (s->flags == GNTCOPY_dest_gref)
            status[i] = (int16_t)gnttab_dom0_copy(s->dest_domid, s->dest_ref, s->dest_offset,
                                                  s->len, true, slot);
        else
            status[i] = (int16_t)gnttab_dom0_copy(s->source_domid, s->source_ref, s->source_offset,
                                                  s->len, false, slot);
    }
    rep->len = PAD8(a->count * sizeof(int16_t));
    return 0;
}

/* Checks the whole batch (counts, flags, inline data size) before copying anything. */
static int copy_batch_check(const struct ctl_request *req, const struct kxen_ctl_gnttab_copy *a,
                            uint64_t *out_bytes)
{
    if (a->count == 0 || a->count > KXEN_CTL_GNTTAB_MAX_BATCH ||
        req->len < sizeof(*a) + (uint64_t)a->count * sizeof(a->segs[0]))
        return -EINVAL;
    uint64_t in = 0, out = 0;
    for (uint32_t i = 0; i < a->count; i++) {
        uint16_t f = a->segs[i].flags;
        if (!(f & (GNTCOPY_source_gref | GNTCOPY_dest_gref)) ||
            (f & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref)) || a->segs[i].len > 4096)
            return -EINVAL;
        if (f == GNTCOPY_dest_gref)
            in += a->segs[i].len;
        else if (f == GNTCOPY_source_gref)
            out += a->segs[i].len;
    }
    if (req->len != sizeof(*a) + a->count * sizeof(a->segs[0]) + in ||
        PAD8(a->count * sizeof(int16_t)) + out > KXEN_CTL_MAX_PAYLOAD)
        return -EINVAL;
    *out_bytes = out;
    return 0;
}

static int ctl_gnttab_copy(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_gnttab_copy *a = req->payload;
    if (a->flags & KXEN_CTL_GNTCOPY_SHARED)
        return ctl_gnttab_copy_shared(req, rep);
    if (a->flags)
        return -EINVAL;
    uint64_t out_bytes;
    int rc = copy_batch_check(req, a, &out_bytes);
    if (rc)
        return rc;
    const uint8_t *in = (const uint8_t *)&a->segs[a->count];
    int16_t *status = rep->payload;
    uint8_t *out = (uint8_t *)rep->payload + PAD8(a->count * sizeof(int16_t));
    memset(rep->payload, 0, PAD8(a->count * sizeof(int16_t)));
    for (uint32_t i = 0; i < a->count; i++) {
        const struct kxen_ctl_gnttab_copy_seg *s = &a->segs[i];
        if (s->flags == (GNTCOPY_source_gref | GNTCOPY_dest_gref)) {
            status[i] =
                (int16_t)gnttab_dom0_copy_gref(s->source_domid, s->source_ref, s->source_offset,
                                               s->dest_domid, s->dest_ref, s->dest_offset, s->len);
        } else if (s->flags == GNTCOPY_dest_gref) {
            status[i] = (int16_t)gnttab_dom0_copy(s->dest_domid, s->dest_ref, s->dest_offset,
                                                  s->len, true, (void *)in);
            in += s->len;
        } else {
            status[i] = (int16_t)gnttab_dom0_copy(s->source_domid, s->source_ref, s->source_offset,
                                                  s->len, false, out);
            if (status[i] == GNTST_okay)
                out += s->len;
        }
    }
    rep->len = (uint32_t)(out - (uint8_t *)rep->payload);
    return 0;
}

static int ctl_grant_foreign(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_gnttab_grant_foreign *a = req->payload;
    (void)rep;
    if (a->domid == 0 || a->domid >= DOMID_FIRST_RESERVED ||
        a->backend_domid >= DOMID_FIRST_RESERVED)
        return -ESRCH;
    struct domain *d = domain_get(a->domid);
    if (!d)
        return -ESRCH;
    int rc = gnttab_seed_reserved(d, a->ref, a->backend_domid, a->gfn);
    domain_put(d);
    return rc;
}

static const struct ctl_op gnttab_ctl_ops[] = {
    {KXEN_CTL_FOREIGN_MAP, "foreign_map", true, sizeof(struct kxen_ctl_foreign_map),
     ctl_foreign_map},
    {KXEN_CTL_GNTTAB_MAP, "gnttab_map", true, sizeof(struct kxen_ctl_gnttab_map), ctl_gnttab_map},
    {KXEN_CTL_GNTTAB_UNMAP, "gnttab_unmap", true, sizeof(struct kxen_ctl_gnttab_unmap),
     ctl_gnttab_unmap},
    {KXEN_CTL_GNTTAB_COPY, "gnttab_copy", true, sizeof(struct kxen_ctl_gnttab_copy),
     ctl_gnttab_copy},
    {KXEN_CTL_GNTTAB_GRANT_FOREIGN, "gnttab_grant_foreign", true,
     sizeof(struct kxen_ctl_gnttab_grant_foreign), ctl_grant_foreign},
};

static const struct ctl_op_group ctl_gnttab_group = {
    .name = "gnttab",
    .ops = gnttab_ctl_ops,
    .nr_ops = sizeof(gnttab_ctl_ops) / sizeof(gnttab_ctl_ops[0]),
};
CTL_OP_GROUP_REGISTER(ctl_gnttab_group);
