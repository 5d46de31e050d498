/* The store as one request sees it: the main tree, or a transaction's copy-on-write view of it.
 * Permission and quota policy for node operations lives here, in one place, before either
 * backend changes anything. */
#include "xenstored.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void view_of(const struct xs_node *n, struct xs_view *v)
{
    v->exists = true;
    v->value = n->value ? n->value : "";
    v->vlen = n->vlen;
    v->perms = n->perms;
    v->nperms = n->nperms;
    v->child_bytes = n->child_bytes;
    v->gen = n->gen;
}

int xs_store_get(struct xs_ctx *c, const char *path, struct xs_view *v)
{
    memset(v, 0, sizeof(*v));
    if (c->txn)
        return xs_txn_get(c, path, v);
    struct xs_node *n = xs_tree_lookup(&c->d->tree, path);
    if (!n)
        return -ENOENT;
    view_of(n, v);
    return 0;
}

int xs_store_dir(struct xs_ctx *c, const char *path, const char **buf, size_t *len, uint64_t *gen)
{
    if (c->txn)
        return xs_txn_dir(c, path, buf, len, gen);
    struct xs_node *n = xs_tree_lookup(&c->d->tree, path);
    if (!n)
        return -ENOENT;
    *gen = n->gen;
    return xs_tree_dir(n, buf, len);
}

static bool has_perm(struct xs_ctx *c, const struct xs_view *v, unsigned want)
{
    if (c->privileged)
        return true;
    return xs_perm_for(c->domid, c->target, v->perms, v->nperms, want) == want;
}

/* parent path of p into buf; false for the root. */
static bool parent_of(const char *p, char *buf, size_t len)
{
    const char *s = strrchr(p, '/');
    if (!s || (s == p && p[1] == '\0'))
        return false;
    size_t l = s == p ? 1 : (size_t)(s - p);
    if (l >= len)
        return false;
    memcpy(buf, p, l);
    buf[l] = '\0';
    return true;
}

int xs_store_check(struct xs_ctx *c, const char *path, unsigned want, struct xs_view *v)
{
    int r = xs_store_get(c, path, v);
    if (r == 0)
        return has_perm(c, v, want) ? 0 : -EACCES;
    if (r != -ENOENT)
        return r;
    /* A missing node: whoever may not act on its nearest ancestor must not learn it is missing
     * (and may not create it). */
    char buf[XENSTORE_ABS_PATH_MAX + 2];
    struct xs_view av;
    const char *p = path;
    while (parent_of(p, buf, sizeof(buf))) {
        r = xs_store_get(c, buf, &av);
        if (r == 0)
            return has_perm(c, &av, want & (XS_PERM_READ | XS_PERM_WRITE)) ? -ENOENT : -EACCES;
        if (r != -ENOENT)
            return r;
        p = buf;
    }
    return -ENOENT;
}

/* What one node costs, as the entry-size quota counts it. */
static uint64_t entry_size(uint64_t vlen, uint64_t nperms, uint64_t child_bytes)
{
    return vlen + child_bytes + nperms * 5;
}

static bool too_big(struct xs_ctx *c, uint64_t size)
{
    return !c->privileged && size > c->d->quota.entry_size;
}

/* The caller's own domain record for quotas, or NULL when quotas do not apply. */
static struct xs_domain *quota_domain(struct xs_ctx *c)
{
    return c->privileged ? NULL : xs_domain_get(c->d, c->domid, true);
}

/* Creates path and any missing parents, each inheriting its parent's permissions; an
 * unprivileged creator owns what it creates (Xen's rule). */
static int ensure_node(struct xs_ctx *c, const char *path, bool *created)
{
    struct xs_view v;
    *created = false;
    if (xs_store_get(c, path, &v) == 0)
        return 0;
    /* Find the deepest existing ancestor, counting the nodes to create. */
    char buf[XENSTORE_ABS_PATH_MAX + 2];
    const char *p = path;
    uint32_t missing = 1;
    int r;
    for (;;) {
        if (!parent_of(p, buf, sizeof(buf)))
            return -EINVAL;
        r = xs_store_get(c, buf, &v);
        if (r == 0)
            break;
        if (r != -ENOENT)
            return r;
        missing++;
        p = buf;
    }
    /* The existing ancestor gains a child name: its record grows. */
    const char *child = path + strlen(buf) + (strlen(buf) > 1 ? 1 : 0);
    const char *child_end = strchrnul(child, '/');
    if (too_big(c, entry_size(v.vlen, v.nperms, v.child_bytes + (uint64_t)(child_end - child) + 1)))
        return -ENOSPC;
    struct xs_domain *dom = quota_domain(c);
    if (dom) {
        int delta = c->txn ? xs_txn_entry_delta(c->txn) : 0;
        if (dom->nbentry + delta + (int64_t)missing > (int64_t)c->d->quota.entry_nb)
            return -ENOSPC;
    }
    /* Create from the top: buf is the existing ancestor, v its view. */
    size_t plen = strlen(buf);
    for (;;) {
        const char *next = strchr(path + (plen == 1 ? 1 : plen + 1), '/');
        size_t nlen = next ? (size_t)(next - path) : strlen(path);
        memcpy(buf, path, nlen);
        buf[nlen] = '\0';
        struct xs_perm *perms = malloc(v.nperms * sizeof(*perms));
        if (!perms)
            return -ENOMEM;
        memcpy(perms, v.perms, v.nperms * sizeof(*perms));
        uint32_t np = v.nperms;
        if (!c->privileged)
            perms[0].domid = c->domid;
        if (c->txn) {
            r = xs_txn_create(c, buf, perms, np);
        } else {
            r = xs_tree_create(&c->d->tree, buf, perms, np, NULL);
        }
        free(perms);
        if (r)
            return r;
        if (!next)
            break;
        plen = nlen;
        if ((r = xs_store_get(c, buf, &v)))
            return r;
    }
    *created = true;
    return 0;
}

static void fire(struct xs_ctx *c, const char *path, bool recursive)
{
    if (c->txn)
        return; /* transactions fire on commit */
    struct xs_node *n = xs_tree_lookup(&c->d->tree, path);
    if (n)
        xs_watch_fire(c->d, path, recursive, n->perms, n->nperms);
}

int xs_store_write(struct xs_ctx *c, const char *path, const char *val, uint32_t len)
{
    struct xs_view v;
    if (xs_store_get(c, path, &v) == 0) {
        if (too_big(c, entry_size(len, v.nperms, v.child_bytes)))
            return -ENOSPC;
    } else if (too_big(c, entry_size(len, 1, 0))) {
        return -ENOSPC;
    }
    bool created;
    int r = ensure_node(c, path, &created);
    if (r)
        return r;
    if (c->txn) {
        r = xs_txn_set(c, path, val, len, true, NULL, 0);
    } else {
        struct xs_node *n = xs_tree_lookup(&c->d->tree, path);
        r = n ? xs_tree_set_value(&c->d->tree, n, val, len) : -ENOENT;
    }
    if (r == 0)
        fire(c, path, false);
    return r;
}

int xs_store_mkdir(struct xs_ctx *c, const char *path)
{
    bool created;
    int r = ensure_node(c, path, &created);
    if (r == 0 && created)
        fire(c, path, false);
    return r;
}

int xs_store_rm(struct xs_ctx *c, const char *path)
{
    if (strcmp(path, "/") == 0)
        return -EINVAL;
    if (c->txn)
        return xs_txn_rm(c, path);
    struct xs_node *n = xs_tree_lookup(&c->d->tree, path);
    if (!n)
        return -ENOENT;
    /* Watchers are checked against the removed node's permissions: keep a copy. */
    uint32_t np = n->nperms;
    struct xs_perm *perms = malloc(np * sizeof(*perms));
    if (!perms)
        return -ENOMEM;
    memcpy(perms, n->perms, np * sizeof(*perms));
    xs_tree_remove(&c->d->tree, n);
    xs_watch_fire(c->d, path, true, perms, np);
    free(perms);
    return 0;
}

int xs_store_set_perms(struct xs_ctx *c, const char *path, const struct xs_perm *p, uint32_t n)
{
    struct xs_view v;
    if (xs_store_get(c, path, &v) == 0 && too_big(c, entry_size(v.vlen, n, v.child_bytes)))
        return -ENOSPC;
    if (c->txn)
        return xs_txn_set(c, path, NULL, 0, false, p, n);
    struct xs_node *node = xs_tree_lookup(&c->d->tree, path);
    if (!node)
        return -ENOENT;
    /* Watchers who could read the node before the change hear about it too. */
    uint32_t np = node->nperms;
    struct xs_perm *old = malloc(np * sizeof(*old));
    if (!old)
        return -ENOMEM;
    memcpy(old, node->perms, np * sizeof(*old));
    int r = xs_tree_set_perms(&c->d->tree, node, p, n);
    if (r == 0)
        xs_watch_fire(c->d, path, false, old, np);
    free(old);
    return r;
}
