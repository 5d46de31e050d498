/* The main node tree. Each node keeps its children in an insertion-ordered list (listings keep
 * the order writers created them in) plus a per-node hash table, so lookups are O(1) per path
 * component and removing or listing a 20k-child directory is linear, never quadratic. */
#include "xenstored.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t name_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static struct xs_node *node_alloc(const char *name, size_t len)
{
    struct xs_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->name = strndup(name, len);
    if (!n->name) {
        free(n);
        return NULL;
    }
    return n;
}

static void node_free(struct xs_node *n)
{
    free(n->name);
    free(n->value);
    free(n->perms);
    free(n->htab);
    free(n->dircache);
    free(n);
}

int xs_tree_init(struct xs_tree *t)
{
    memset(t, 0, sizeof(*t));
    t->root = node_alloc("", 0);
    if (!t->root)
        return -ENOMEM;
    /* The root belongs to dom0 and nobody else may read it unless dom0 says so. */
    struct xs_perm p = {0, XS_PERM_NONE};
    return xs_tree_set_perms(t, t->root, &p, 1);
}

static void subtree_free(struct xs_tree *t, struct xs_node *n)
{
    /* Iterative post-order walk: deep trees must not overflow the stack. */
    struct xs_node *cur = n;
    for (;;) {
        while (cur->first)
            cur = cur->first;
        struct xs_node *parent = cur->parent, *next = cur->next;
        if (t->account && cur->nperms)
            t->account(t->account_opaque, cur->perms[0].domid, -1);
        t->nnodes--;
        bool last = cur == n;
        node_free(cur);
        if (last)
            return;
        if (next) {
            next->prev = NULL;
            parent->first = next;
            cur = next;
        } else {
            parent->first = parent->last = NULL;
            cur = parent;
        }
    }
}

void xs_tree_free(struct xs_tree *t)
{
    if (!t->root)
        return;
    t->account = NULL;
    subtree_free(t, t->root);
    t->root = NULL;
}

struct xs_node *xs_tree_child(struct xs_node *n, const char *name, size_t len)
{
    if (!n->htab)
        return NULL;
    for (struct xs_node *c = n->htab[name_hash(name, len) & (n->hsize - 1)]; c; c = c->hnext)
        if (strncmp(c->name, name, len) == 0 && c->name[len] == '\0')
            return c;
    return NULL;
}

struct xs_node *xs_tree_lookup(struct xs_tree *t, const char *path)
{
    if (path[0] != '/')
        return NULL;
    struct xs_node *n = t->root;
    const char *p = path + 1;
    while (*p && n) {
        const char *e = strchrnul(p, '/');
        n = xs_tree_child(n, p, (size_t)(e - p));
        p = *e ? e + 1 : e;
    }
    return n;
}

static int htab_grow(struct xs_node *n)
{
    uint32_t size = n->hsize ? n->hsize * 2 : 8;
    struct xs_node **tab = calloc(size, sizeof(*tab));
    if (!tab)
        return -ENOMEM;
    for (struct xs_node *c = n->first; c; c = c->next) {
        uint32_t b = name_hash(c->name, strlen(c->name)) & (size - 1);
        c->hnext = tab[b];
        tab[b] = c;
    }
    free(n->htab);
    n->htab = tab;
    n->hsize = size;
    return 0;
}

static void touch(struct xs_tree *t, struct xs_node *n)
{
    n->gen = ++t->gen;
}

int xs_tree_create(struct xs_tree *t, const char *path, const struct xs_perm *p, uint32_t np,
                   struct xs_node **out)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash[1] == '\0')
        return -EINVAL;
    struct xs_node *parent;
    if (slash == path) {
        parent = t->root;
    } else {
        char *pp = strndup(path, (size_t)(slash - path));
        if (!pp)
            return -ENOMEM;
        parent = xs_tree_lookup(t, pp);
        free(pp);
    }
    if (!parent)
        return -ENOENT;
    const char *name = slash + 1;
    size_t len = strlen(name);
    if (xs_tree_child(parent, name, len))
        return -EEXIST;
    if (parent->nchildren + 1 > parent->hsize * 2 && htab_grow(parent))
        return -ENOMEM;
    struct xs_node *n = node_alloc(name, len);
    if (!n)
        return -ENOMEM;
    if (xs_tree_set_perms(t, n, p, np)) {
        node_free(n);
        return -ENOMEM;
    }
    n->parent = parent;
    n->prev = parent->last;
    if (parent->last)
        parent->last->next = n;
    else
        parent->first = n;
    parent->last = n;
    uint32_t b = name_hash(name, len) & (parent->hsize - 1);
    n->hnext = parent->htab[b];
    parent->htab[b] = n;
    parent->nchildren++;
    parent->child_bytes += (uint32_t)len + 1;
    touch(t, parent);
    touch(t, n);
    t->nnodes++;
    if (t->account)
        t->account(t->account_opaque, p[0].domid, +1);
    if (out)
        *out = n;
    return 0;
}

int xs_tree_set_value(struct xs_tree *t, struct xs_node *n, const char *v, uint32_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, v, len);
    free(n->value);
    n->value = copy;
    n->vlen = len;
    touch(t, n);
    return 0;
}

int xs_tree_set_perms(struct xs_tree *t, struct xs_node *n, const struct xs_perm *p, uint32_t np)
{
    if (np == 0)
        return -EINVAL;
    struct xs_perm *copy = malloc(np * sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    memcpy(copy, p, np * sizeof(*copy));
    /* Ownership moves the node's accounting; only nodes in the tree are accounted. */
    if (n->nperms && n->parent && t->account && n->perms[0].domid != p[0].domid) {
        t->account(t->account_opaque, n->perms[0].domid, -1);
        t->account(t->account_opaque, p[0].domid, +1);
    }
    free(n->perms);
    n->perms = copy;
    n->nperms = np;
    touch(t, n);
    return 0;
}

static void unlink_child(struct xs_node *n)
{
    struct xs_node *parent = n->parent;
    size_t len = strlen(n->name);
    struct xs_node **pp = &parent->htab[name_hash(n->name, len) & (parent->hsize - 1)];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    if (n->prev)
        n->prev->next = n->next;
    else
        parent->first = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        parent->last = n->prev;
    n->prev = n->next = NULL;
    parent->nchildren--;
    parent->child_bytes -= (uint32_t)len + 1;
}

void xs_tree_remove(struct xs_tree *t, struct xs_node *n)
{
    if (!n->parent)
        return;
    struct xs_node *parent = n->parent;
    unlink_child(n);
    touch(t, parent);
    subtree_free(t, n);
}

void xs_tree_remove_children(struct xs_tree *t, struct xs_node *n)
{
    while (n->first) {
        struct xs_node *c = n->first;
        unlink_child(c);
        subtree_free(t, c);
    }
    touch(t, n);
}

int xs_tree_dir(struct xs_node *n, const char **buf, size_t *len)
{
    if (!n->dircache || n->dircache_gen != n->gen) {
        char *s = malloc(n->child_bytes ? n->child_bytes : 1), *p = s;
        if (!s)
            return -ENOMEM;
        for (struct xs_node *c = n->first; c; c = c->next) {
            size_t l = strlen(c->name) + 1;
            memcpy(p, c->name, l);
            p += l;
        }
        free(n->dircache);
        n->dircache = s;
        n->dircache_gen = n->gen;
    }
    *buf = n->dircache;
    *len = n->child_bytes;
    return 0;
}

int xs_tree_path(const struct xs_node *n, char *buf, size_t len)
{
    if (!n->parent)
        return len >= 2 ? (buf[0] = '/', buf[1] = 0, 0) : -ENAMETOOLONG;
    size_t need = 0;
    for (const struct xs_node *c = n; c->parent; c = c->parent)
        need += strlen(c->name) + 1;
    if (need + 1 > len)
        return -ENAMETOOLONG;
    buf[need] = '\0';
    for (const struct xs_node *c = n; c->parent; c = c->parent) {
        size_t l = strlen(c->name);
        need -= l;
        memcpy(buf + need, c->name, l);
        buf[--need] = '/';
    }
    return 0;
}

struct xs_node *xs_tree_next(struct xs_node *n)
{
    if (n->first)
        return n->first;
    while (n && !n->next)
        n = n->parent;
    return n ? n->next : NULL;
}

void xs_tree_chown_all(struct xs_tree *t, uint32_t from, uint32_t to)
{
    /* Iterative pre-order walk over the whole tree: only on domain release. */
    struct xs_node *n = t->root;
    while (n) {
        if (n->nperms && n->perms[0].domid == from && n->parent) {
            struct xs_perm *p = malloc(n->nperms * sizeof(*p));
            if (p) {
                memcpy(p, n->perms, n->nperms * sizeof(*p));
                p[0].domid = to;
                xs_tree_set_perms(t, n, p, n->nperms);
                free(p);
            }
        }
        n = xs_tree_next(n);
    }
}
