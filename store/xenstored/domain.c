/* Domains: per-domain accounting for quotas, introduction and release, and the defaults of
 * the quotas (Xen's C xenstored values). */
#include "xenstored.h"
#include "ring_backend.h"
#include "kxen/log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void xs_quota_defaults(struct xs_quota *q)
{
    q->entry_nb = 1000;
    q->entry_size = 2048;
    q->watch_nb = 128;
    q->transaction = 10;
    q->perm_nb = 5;
    q->path_max = XENSTORE_REL_PATH_MAX;
    q->trans_nodes = 1024;
    q->trans_memory = 1u << 20;
    q->outstanding = 20;
}

static const struct {
    const char *name;
    size_t off;
} quota_names[] = {
    {"entry-nb", offsetof(struct xs_quota, entry_nb)},
    {"entry-size", offsetof(struct xs_quota, entry_size)},
    {"watch-nb", offsetof(struct xs_quota, watch_nb)},
    {"transaction", offsetof(struct xs_quota, transaction)},
    {"perm-nb", offsetof(struct xs_quota, perm_nb)},
    {"path-max", offsetof(struct xs_quota, path_max)},
    {"transaction-nodes", offsetof(struct xs_quota, trans_nodes)},
    {"transaction-memory", offsetof(struct xs_quota, trans_memory)},
    {"outstanding", offsetof(struct xs_quota, outstanding)},
};

bool xs_quota_known(const char *name)
{
    for (size_t i = 0; i < sizeof(quota_names) / sizeof(quota_names[0]); i++)
        if (strcmp(name, quota_names[i].name) == 0)
            return true;
    return false;
}

int xs_quota_set(struct xs_quota *q, const char *name, const char *value)
{
    char *end;
    if (!value || !*value)
        return -EINVAL;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (*end || errno || v == 0 || v > UINT32_MAX || value[0] == '-')
        return -EINVAL;
    for (size_t i = 0; i < sizeof(quota_names) / sizeof(quota_names[0]); i++)
        if (strcmp(name, quota_names[i].name) == 0) {
            *(uint32_t *)((char *)q + quota_names[i].off) = (uint32_t)v;
            return 0;
        }
    return -EINVAL;
}

int xs_quota_format(const struct xs_quota *q, char *buf, size_t len)
{
    size_t used = 0;
    for (size_t i = 0; i < sizeof(quota_names) / sizeof(quota_names[0]); i++) {
        int r = snprintf(buf + used, len - used, "%-18s %u\n", quota_names[i].name,
                         *(const uint32_t *)((const char *)q + quota_names[i].off));
        if (r < 0 || (size_t)r >= len - used)
            return -E2BIG;
        used += (size_t)r;
    }
    return 0;
}

struct xs_domain *xs_domain_get(struct xs_daemon *d, uint32_t domid, bool create)
{
    uint32_t b = domid & (d->domtab_size - 1);
    for (struct xs_domain *x = d->domtab[b]; x; x = x->hnext)
        if (x->domid == domid)
            return x;
    if (!create)
        return NULL;
    struct xs_domain *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->domid = domid;
    x->target = XS_NO_TARGET;
    x->hnext = d->domtab[b];
    d->domtab[b] = x;
    return x;
}

static void domain_forget(struct xs_daemon *d, struct xs_domain *dom)
{
    struct xs_domain **pp = &d->domtab[dom->domid & (d->domtab_size - 1)];
    while (*pp != dom)
        pp = &(*pp)->hnext;
    *pp = dom->hnext;
    free(dom);
}

void xs_domain_account(void *daemon, uint32_t domid, int delta)
{
    struct xs_daemon *d = daemon;
    if (domid == 0)
        return; /* dom0 has no quota */
    struct xs_domain *dom = xs_domain_get(d, domid, true);
    if (!dom)
        return;
    dom->nbentry += delta;
    if (dom->nbentry <= 0 && !dom->introduced && !dom->conn)
        domain_forget(d, dom);
}

void xenstored_set_ring_backend(struct xs_daemon *d, const struct xs_ring_backend *be)
{
    d->ring_backend = be;
}

/* The backend's domain-exception event (one daemon per process uses a backend with one). */
static struct event *exc_ev;

/* What the toolstack removes when it destroys a domain: /local/domain/N, the /vm path it
 * names, its backends' directories in every backend domain and /libxl/N. A domain the
 * hypervisor no longer has never comes back (kxend never reuses an id), and when it went
 * without its toolstack (kxend died, or a builder was killed half-way) nobody else is left
 * to: a later domain must not find a dead one's nodes, secrets or devices there. */
static void remove_domain_nodes(struct xs_daemon *d, uint32_t domid)
{
    struct xs_ctx c = {d, NULL, NULL, 0, XS_NO_TARGET, true};
    char p[XENSTORE_ABS_PATH_MAX + 1];
    snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
    struct xs_node *vm = xs_tree_lookup(&d->tree, p);
    char vm_path[64] = "";
    if (vm && vm->vlen > 4 && vm->vlen < sizeof(vm_path) && memcmp(vm->value, "/vm/", 4) == 0 &&
        !memchr(vm->value, '\0', vm->vlen)) {
        memcpy(vm_path, vm->value, vm->vlen);
        vm_path[vm->vlen] = '\0';
    }
    snprintf(p, sizeof(p), "/local/domain/%u", domid);
    xs_store_rm(&c, p);
    if (vm_path[0] && !strchr(vm_path + 4, '/'))
        xs_store_rm(&c, vm_path);
    snprintf(p, sizeof(p), "/libxl/%u", domid);
    xs_store_rm(&c, p);
    struct xs_node *doms = xs_tree_lookup(&d->tree, "/local/domain");
    for (struct xs_node *b = doms ? doms->first : NULL; b; b = b->next) {
        struct xs_node *be = xs_tree_child(b, "backend", 7);
        for (struct xs_node *k = be ? be->first : NULL; k; k = k->next)
            if (snprintf(p, sizeof(p), "/local/domain/%s/backend/%s/%u", b->name, k->name, domid) <
                (int)sizeof(p))
                xs_store_rm(&c, p); /* removes only below k: the walk goes on */
    }
}

static uint32_t *grow_ids(uint32_t *ids, unsigned *cap)
{
    unsigned nc = *cap ? 2 * *cap : 16;
    uint32_t *grown = realloc(ids, nc * sizeof(*ids));
    if (!grown)
        return NULL; /* the caller keeps ids; the rest waits for the next event */
    *cap = nc;
    return grown;
}

/* The hypervisor died and every domain with it (docs/reliability.md): each introduced
 * domain is released and its nodes removed, then the backend reconnects lazily. */
static void release_lost_domains(struct xs_daemon *d)
{
    const struct xs_ring_backend *be = d->ring_backend;
    unsigned n = 0, cap = 0;
    uint32_t *ids = NULL;
    for (uint32_t b = 0; b < d->domtab_size; b++)
        for (struct xs_domain *x = d->domtab[b]; x; x = x->hnext) {
            if (!x->introduced)
                continue;
            uint32_t *grown = n < cap ? ids : grow_ids(ids, &cap);
            if (!grown)
                break;
            ids = grown;
            ids[n++] = x->domid;
        }
    log_warn("kxend went away, and its domains with it: releasing %u domains", n);
    for (unsigned i = 0; i < n; i++) {
        xs_domain_release(d, ids[i]);
        remove_domain_nodes(d, ids[i]);
    }
    free(ids);
    be->hv_reset(be);
}

void xs_domain_check_exc(struct xs_daemon *d)
{
    const struct xs_ring_backend *be = d->ring_backend;
    if (be && be->hv_lost && be->hv_reset && be->hv_lost(be)) {
        release_lost_domains(d);
        return;
    }
    if (!be || !be->domain_down)
        return;
    bool fire = false;
    unsigned n = 0, cap = 0;
    uint32_t *gone = NULL;
    for (uint32_t b = 0; b < d->domtab_size; b++)
        for (struct xs_domain *x = d->domtab[b]; x; x = x->hnext) {
            if (!x->introduced)
                continue;
            int down = be->domain_down(be, x->domid);
            if (down == 2) {
                uint32_t *g = n < cap ? gone : grow_ids(gone, &cap);
                if (g) {
                    gone = g;
                    gone[n++] = x->domid;
                }
            } else if (down == 1 && !x->shutdown) {
                x->shutdown = true; /* once per transition; XS_RESUME clears it */
                fire = true;
            }
        }
    /* As Xen's xenstored, a domain the hypervisor no longer has loses its connection (and
     * the mapping that kept its RAM alive) at once; its nodes go too (see above). */
    for (unsigned i = 0; i < n; i++) {
        xs_domain_release(d, gone[i]);
        remove_domain_nodes(d, gone[i]);
    }
    free(gone);
    if (fire)
        xs_watch_fire(d, "@releaseDomain", false, NULL, 0);
}

static void exc_event_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0) {
        /* EAGAIN: already drained; the check below is idempotent anyway */
    }
    xs_domain_check_exc(arg);
}

/* Subscribes to domain exceptions once the backend is up (its first map() succeeded). */
static void exc_watch_start(struct xs_daemon *d)
{
    const struct xs_ring_backend *be = d->ring_backend;
    if (exc_ev || !be || !be->exc_fd || !d->base)
        return;
    int fd = be->exc_fd(be);
    if (fd < 0)
        return; /* shutdowns are then seen at XS_RELEASE only, as before */
    exc_ev = event_new(d->base, fd, EV_READ | EV_PERSIST, exc_event_cb, d);
    if (exc_ev && event_add(exc_ev, NULL)) {
        event_free(exc_ev);
        exc_ev = NULL;
    }
}

int xs_domain_introduce(struct xs_daemon *d, uint32_t domid, uint64_t gfn, uint32_t port)
{
    if (domid == 0)
        return 0; /* dom0 is always known: its clients use the socket */
    const struct xs_ring_backend *be = d->ring_backend;
    if (be && be->hv_lost && be->hv_reset && be->hv_lost(be))
        release_lost_domains(d); /* before the forwarder's wake-up reached us */
    struct xs_domain *dom = xs_domain_get(d, domid, false);
    if (dom && dom->introduced) {
        /* Xen lets the toolstack re-introduce the same ring (after a resume, possibly with a
         * new event channel): the connection, its watches and transactions stay. Another
         * ring for a live domain is refused. */
        if (dom->gfn != gfn)
            return -EINVAL;
        if (d->ring_backend && (port != dom->port || !dom->conn)) {
            struct xs_ring_mapping m;
            int r = d->ring_backend->map(d->ring_backend, domid, gfn, port, &m);
            if (r)
                return r;
            if (dom->conn)
                r = xs_ring_conn_rebind(dom->conn, d->ring_backend, &m);
            else
                r = xs_ring_conn_new(d, domid, d->ring_backend, &m, &dom->conn);
            if (r)
                return r;
        }
        dom->port = port;
        return 0;
    }
    struct xs_conn *conn = NULL;
    if (d->ring_backend) {
        struct xs_ring_mapping m;
        int r = d->ring_backend->map(d->ring_backend, domid, gfn, port, &m);
        if (r)
            return r;
        if ((r = xs_ring_conn_new(d, domid, d->ring_backend, &m, &conn)))
            return r;
    }
    dom = xs_domain_get(d, domid, true);
    if (!dom) {
        if (conn)
            xs_conn_free(conn);
        return -ENOMEM;
    }
    dom->introduced = true;
    dom->shutdown = false;
    dom->gfn = gfn;
    dom->port = port;
    dom->conn = conn;
    if (conn)
        exc_watch_start(d);
    xs_watch_fire(d, "@introduceDomain", false, NULL, 0);
    return 0;
}

int xs_domain_release(struct xs_daemon *d, uint32_t domid)
{
    if (domid == 0)
        return -EINVAL;
    struct xs_domain *dom = xs_domain_get(d, domid, false);
    if (!dom || !dom->introduced)
        return -ENOENT;
    if (dom->conn) {
        struct xs_conn *c = dom->conn;
        dom->conn = NULL;
        xs_conn_close(c);
    }
    dom->introduced = false;
    /* Domains that had this one as their target lose that privilege. */
    for (uint32_t b = 0; b < d->domtab_size; b++)
        for (struct xs_domain *x = d->domtab[b]; x; x = x->hnext)
            if (x->target == domid)
                x->target = XS_NO_TARGET;
    /* What the released domain still owns goes to dom0, so its quota record can go and a
     * later domain with the same id does not inherit the count. */
    xs_tree_chown_all(&d->tree, domid, 0);
    dom = xs_domain_get(d, domid, false);
    if (dom && dom->nbentry <= 0 && !dom->conn)
        domain_forget(d, dom);
    xs_watch_fire(d, "@releaseDomain", false, NULL, 0);
    return 0;
}

void xs_domains_free(struct xs_daemon *d)
{
    if (exc_ev) {
        event_free(exc_ev);
        exc_ev = NULL;
    }
    for (uint32_t b = 0; b < d->domtab_size; b++) {
        struct xs_domain *x = d->domtab[b];
        while (x) {
            struct xs_domain *next = x->hnext;
            free(x);
            x = next;
        }
        d->domtab[b] = NULL;
    }
}
