/* The dom0 platform: Xen's dom0 libraries as kxen provides them (hypervisor/libs) and
 * libxenstore. A thin translation: -1/errno and NULL/errno become negative errnos, and every
 * string that comes back from xenstore is bounded before it is copied out. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "platform.h"

struct dom0_platform {
    struct xenbus_platform base;
    xenevtchn_handle *xce;
    xengnttab_handle *xgt;
    struct xs_handle *xs;
};

static struct dom0_platform *d0(struct xenbus_platform *p)
{
    return (struct dom0_platform *)p;
}

static int neg_errno(void)
{
    return errno ? -errno : -EIO;
}

static int d0_bind(struct xenbus_platform *p, uint32_t domid, uint32_t remote_port)
{
    int port = xenevtchn_bind_interdomain(d0(p)->xce, domid, remote_port);
    return port < 0 ? neg_errno() : port;
}

static int d0_unbind(struct xenbus_platform *p, uint32_t port)
{
    return xenevtchn_unbind(d0(p)->xce, port) < 0 ? neg_errno() : 0;
}

static int d0_notify(struct xenbus_platform *p, uint32_t port)
{
    return xenevtchn_notify(d0(p)->xce, port) < 0 ? neg_errno() : 0;
}

static int d0_evtchn_fd(struct xenbus_platform *p)
{
    return xenevtchn_fd(d0(p)->xce);
}

static int d0_pending(struct xenbus_platform *p)
{
    /* xenevtchn_pending blocks: ask the fd first so the event loop never stalls. */
    struct pollfd pfd = {.fd = xenevtchn_fd(d0(p)->xce), .events = POLLIN};
    if (poll(&pfd, 1, 0) <= 0)
        return -EAGAIN;
    int port = xenevtchn_pending(d0(p)->xce);
    return port < 0 ? neg_errno() : port;
}

static int d0_unmask(struct xenbus_platform *p, uint32_t port)
{
    return xenevtchn_unmask(d0(p)->xce, port) < 0 ? neg_errno() : 0;
}

static int d0_map(struct xenbus_platform *p, uint32_t domid, uint32_t count, const uint32_t *refs,
                  bool readonly, void **addr)
{
    int prot = readonly ? PROT_READ : PROT_READ | PROT_WRITE;
    void *a = xengnttab_map_domain_grant_refs(d0(p)->xgt, count, domid, (uint32_t *)refs, prot);
    if (!a)
        return neg_errno();
    *addr = a;
    return 0;
}

static int d0_unmap(struct xenbus_platform *p, void *addr, uint32_t count)
{
    return xengnttab_unmap(d0(p)->xgt, addr, count) < 0 ? neg_errno() : 0;
}

static int d0_copy(struct xenbus_platform *p, uint32_t count, struct xenbus_gnttab_copy *segs)
{
    xengnttab_grant_copy_segment_t *g = calloc(count ? count : 1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    for (uint32_t i = 0; i < count; i++) {
        union xengnttab_copy_ptr foreign = {
            .foreign = {segs[i].ref, segs[i].offset, (uint16_t)segs[i].domid}};
        union xengnttab_copy_ptr local = {.virt = segs[i].local};
        g[i].source = segs[i].to_grant ? local : foreign;
        g[i].dest = segs[i].to_grant ? foreign : local;
        g[i].len = segs[i].len;
        g[i].flags = segs[i].to_grant ? GNTCOPY_dest_gref : GNTCOPY_source_gref;
    }
    int rc = xengnttab_grant_copy(d0(p)->xgt, count, g) < 0 ? neg_errno() : 0;
    for (uint32_t i = 0; i < count; i++)
        segs[i].status = rc ? GNTST_general_error : g[i].status;
    free(g);
    return rc;
}

static int d0_read(struct xenbus_platform *p, xenbus_txn_t t, const char *path, char *buf,
                   size_t len)
{
    unsigned int n = 0;
    char *v = xs_read(d0(p)->xs, t, path, &n);
    if (!v)
        return neg_errno();
    int rc = -EOVERFLOW;
    if (n < len && n < (1u << 20)) {
        memcpy(buf, v, n);
        buf[n] = '\0';
        rc = (int)n;
    }
    free(v);
    return rc;
}

static int d0_write(struct xenbus_platform *p, xenbus_txn_t t, const char *path, const char *val)
{
    return xs_write(d0(p)->xs, t, path, val, strlen(val)) ? 0 : neg_errno();
}

static int d0_mkdir(struct xenbus_platform *p, xenbus_txn_t t, const char *path)
{
    return xs_mkdir(d0(p)->xs, t, path) ? 0 : neg_errno();
}

static int d0_rm(struct xenbus_platform *p, xenbus_txn_t t, const char *path)
{
    return xs_rm(d0(p)->xs, t, path) ? 0 : neg_errno();
}

static int d0_directory(struct xenbus_platform *p, xenbus_txn_t t, const char *path,
                        char ***entries, unsigned int *n)
{
    char **e = xs_directory(d0(p)->xs, t, path, n);
    if (!e)
        return neg_errno();
    *entries = e;
    return 0;
}

static int d0_set_perms(struct xenbus_platform *p, xenbus_txn_t t, const char *path,
                        const struct xenbus_perm *perms, unsigned int n)
{
    struct xs_permissions xp[16];
    if (n == 0 || n > 16)
        return -EINVAL;
    for (unsigned int i = 0; i < n; i++)
        xp[i] = (struct xs_permissions){.id = perms[i].domid, .perms = perms[i].perms};
    return xs_set_permissions(d0(p)->xs, t, path, xp, n) ? 0 : neg_errno();
}

static int d0_watch(struct xenbus_platform *p, const char *path, const char *token)
{
    return xs_watch(d0(p)->xs, path, token) ? 0 : neg_errno();
}

static int d0_unwatch(struct xenbus_platform *p, const char *path, const char *token)
{
    return xs_unwatch(d0(p)->xs, path, token) ? 0 : neg_errno();
}

static int d0_watch_fd(struct xenbus_platform *p)
{
    return xs_fileno(d0(p)->xs);
}

static int d0_read_watch(struct xenbus_platform *p, char *path, size_t path_len, char *token,
                         size_t token_len)
{
    char **v = xs_check_watch(d0(p)->xs);
    if (!v)
        return errno == EAGAIN ? 0 : neg_errno();
    int rc = -EOVERFLOW;
    size_t pl = strlen(v[XS_WATCH_PATH]), tl = strlen(v[XS_WATCH_TOKEN]);
    if (pl < path_len && tl < token_len) {
        memcpy(path, v[XS_WATCH_PATH], pl + 1);
        memcpy(token, v[XS_WATCH_TOKEN], tl + 1);
        rc = 1;
    }
    free(v);
    return rc;
}

static int d0_txn_start(struct xenbus_platform *p, xenbus_txn_t *t)
{
    xs_transaction_t x = xs_transaction_start(d0(p)->xs);
    if (x == XBT_NULL)
        return neg_errno();
    *t = x;
    return 0;
}

static int d0_txn_end(struct xenbus_platform *p, xenbus_txn_t t, bool abort)
{
    return xs_transaction_end(d0(p)->xs, t, abort) ? 0 : neg_errno();
}

static void d0_destroy(struct xenbus_platform *p)
{
    struct dom0_platform *d = d0(p);
    if (d->xs)
        xs_close(d->xs);
    if (d->xgt)
        xengnttab_close(d->xgt);
    if (d->xce)
        xenevtchn_close(d->xce);
    free(d);
}

static const struct xenbus_platform_ops dom0_ops = {
    .evtchn_bind_interdomain = d0_bind,
    .evtchn_unbind = d0_unbind,
    .evtchn_notify = d0_notify,
    .evtchn_fd = d0_evtchn_fd,
    .evtchn_pending = d0_pending,
    .evtchn_unmask = d0_unmask,
    .gnttab_map = d0_map,
    .gnttab_unmap = d0_unmap,
    .gnttab_copy = d0_copy,
    .xs_read = d0_read,
    .xs_write = d0_write,
    .xs_mkdir = d0_mkdir,
    .xs_rm = d0_rm,
    .xs_directory = d0_directory,
    .xs_set_perms = d0_set_perms,
    .xs_watch = d0_watch,
    .xs_unwatch = d0_unwatch,
    .xs_watch_fd = d0_watch_fd,
    .xs_read_watch = d0_read_watch,
    .xs_transaction_start = d0_txn_start,
    .xs_transaction_end = d0_txn_end,
    .destroy = d0_destroy,
};

struct xenbus_platform *xenbus_platform_dom0_open(void)
{
    struct dom0_platform *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->base.ops = &dom0_ops;
    d->base.self_domid = 0;
    d->xce = xenevtchn_open(NULL, 0);
    d->xgt = d->xce ? xengnttab_open(NULL, 0) : NULL;
    d->xs = d->xgt ? xs_open(0) : NULL;
    if (!d->xs) {
        int e = errno;
        d0_destroy(&d->base);
        errno = e;
        return NULL;
    }
    return &d->base;
}
