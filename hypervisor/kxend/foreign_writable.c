/* Pages dom0 clients map writable through FOREIGN_MAP (libxenforeignmemory): kxend hands out
 * the domain's memfd and never sees the writes, so the client declares each writable mapping
 * (KXEN_CTL_FOREIGN_WRITABLE) and a dirty log counts its pages dirty at every collect while it
 * is held, and once more when it is released or its connection goes. Invariant: a page
 * written through a declared mapping is in the dirty log of the collect after the write. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/xen.h>

#include "kxen/ctl_gnttab.h"
#include "kxen/util.h"
#include "kxend/ctl_server.h"
#include "kxend/domain.h"
#include "kxend/guest_mem.h"

#define FOREIGN_MAX_HELD (1u << 22) /* pages held by all clients together */

struct held {
    const void *owner; /* the connection; NULL = free slot */
    uint64_t cookie;
    uint16_t domid;
    uint32_t count;
    uint64_t *pfns;
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *held;
static size_t held_cap, held_pages;

static void mark_pfns(uint16_t domid, const uint64_t *pfns, uint32_t n)
{
    struct domain *d = domain_get(domid);
    if (!d)
        return;
    for (uint32_t i = 0; i < n; i++)
        guest_mark_dirty(d, pfns[i] << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE);
    domain_put(d);
}

/* Drops slot h after marking its pages: whatever was written up to now gets sent. */
static void release_locked(struct held *h)
{
    mark_pfns(h->domid, h->pfns, h->count);
    held_pages -= h->count;
    free(h->pfns);
    memset(h, 0, sizeof(*h));
}

static void release_conn(void *conn)
{
    pthread_mutex_lock(&held_lock);
    for (size_t i = 0; i < held_cap; i++)
        if (held[i].owner == conn)
            release_locked(&held[i]);
    pthread_mutex_unlock(&held_lock);
}

static struct held *find_locked(const void *owner, uint64_t cookie, uint16_t domid)
{
    for (size_t i = 0; i < held_cap; i++)
        if (held[i].owner == owner && held[i].cookie == cookie && held[i].domid == domid)
            return &held[i];
    return NULL;
}

static int hold_locked(const void *owner, const struct kxen_ctl_foreign_writable *a)
{
    if (held_pages + a->count > FOREIGN_MAX_HELD)
        return -ENOSPC;
    struct held *h = find_locked(owner, a->cookie, a->domid);
    if (!h) {
        for (size_t i = 0; i < held_cap && !h; i++)
            if (!held[i].owner)
                h = &held[i];
        if (!h) {
            size_t cap = held_cap ? held_cap * 2 : 64;
            struct held *n = realloc(held, cap * sizeof(*n));
            if (!n)
                return -ENOMEM;
            memset(n + held_cap, 0, (cap - held_cap) * sizeof(*n));
            h = n + held_cap;
            held = n;
            held_cap = cap;
        }
        *h = (struct held){.owner = owner, .cookie = a->cookie, .domid = a->domid};
    }
    uint64_t *p = realloc(h->pfns, (h->count + a->count) * sizeof(*p));
    if (!p) {
        if (!h->count)
            memset(h, 0, sizeof(*h));
        return -ENOMEM;
    }
    memcpy(p + h->count, a->pfns, a->count * sizeof(*p));
    h->pfns = p;
    h->count += a->count;
    held_pages += a->count;
    mark_pfns(a->domid, a->pfns, a->count);
    return 0;
}

static int op_foreign_writable(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_foreign_writable *a = req->payload;
    (void)rep;
    if (a->domid == 0 || a->domid >= DOMID_FIRST_RESERVED)
        return -ESRCH;
    if (a->cmd == KXEN_FOREIGN_HOLD &&
        (a->count == 0 || a->count > KXEN_CTL_FOREIGN_MAX_PFNS ||
         req->len < sizeof(*a) + (uint64_t)a->count * sizeof(uint64_t)))
        return -EINVAL;
    if (a->cmd != KXEN_FOREIGN_HOLD && (a->cmd != KXEN_FOREIGN_RELEASE || a->count))
        return -EINVAL;
    ctl_conn_remove_cleanup(req->conn, release_conn, req->conn);
    int rc = ctl_conn_add_cleanup(req->conn, release_conn, req->conn);
    if (rc)
        return rc;
    pthread_mutex_lock(&held_lock);
    if (a->cmd == KXEN_FOREIGN_HOLD) {
        rc = hold_locked(req->conn, a);
    } else {
        struct held *h = find_locked(req->conn, a->cookie, a->domid);
        if (h)
            release_locked(h);
        rc = h ? 0 : -ENOENT;
    }
    pthread_mutex_unlock(&held_lock);
    return rc;
}

void foreign_writable_mark(struct domain *d)
{
    pthread_mutex_lock(&held_lock);
    for (size_t i = 0; i < held_cap; i++) {
        const struct held *h = &held[i];
        if (h->owner && h->domid == d->domid)
            for (uint32_t j = 0; j < h->count; j++)
                guest_mark_dirty(d, h->pfns[j] << KXEN_PAGE_SHIFT, KXEN_PAGE_SIZE);
    }
    pthread_mutex_unlock(&held_lock);
}

static const struct ctl_op foreign_ops[] = {
    {KXEN_CTL_FOREIGN_WRITABLE, "foreign_writable", true, sizeof(struct kxen_ctl_foreign_writable),
     op_foreign_writable},
};

static const struct ctl_op_group foreign_group = {"foreign_writable", foreign_ops,
                                                  ARRAY_SIZE(foreign_ops)};
CTL_OP_GROUP_REGISTER(foreign_group);
