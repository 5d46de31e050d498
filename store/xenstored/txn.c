/* Transactions: optimistic, with snapshot isolation and no tree copies. A transaction keeps
 * one entry per path it touched: what it observed in the main tree (existence and generation)
 * and, once it changes a node, its own copy of that node only. Reading a node the main tree
 * changed after the transaction started dooms it; commit re-checks every observation and
 * answers EAGAIN on any difference, else replays the changed nodes into the tree. */
#include "xenstored.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tent {
    char *path;
    struct tent *hnext;
    bool observed, main_existed; /* the main tree's state when first looked at */
    uint64_t main_gen;
    bool mod;    /* the transaction owns this node's state from now on */
    bool exists; /* (mod) node exists in the transaction's view */
    bool fresh;  /* (mod) created in the transaction: the tree's old subtree is gone */
    bool val_set, perms_set;
    char *value;
    uint32_t vlen;
    struct xs_perm *perms;
    uint32_t nperms;
    bool has_kids; /* kids below is the child list (else the tree's list is still right) */
    char **kids;
    uint32_t nkids, capkids;
    uint32_t kid_bytes;
    char *dirbuf;
    size_t dirlen;
    bool dirvalid;
    uint64_t gen;
    uint64_t seq; /* when it was created or first changed: replay keeps creation order */
    struct tent *lnext, *lprev; /* on the transaction's list of changed, existing nodes */
    bool live;
};

struct xs_txn {
    struct xs_daemon *d;
    uint32_t id;
    uint64_t start_gen;
    bool doomed;
    struct tent **htab;
    uint32_t hsize, n;
    uint32_t nshadow; /* entries that hide tree nodes below them (removed or fresh) */
    int entry_delta;  /* nodes created for the caller's domain */
    uint64_t local_gen;
    uint64_t seq;
    uint64_t copied;   /* bytes of copies this transaction made */
    struct tent *live; /* changed nodes that exist: what a removal may have to hide */
    uint64_t *account; /* the connection's total over its open transactions */
};

static uint32_t path_hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

struct xs_txn *xs_txn_new(struct xs_daemon *d, uint32_t id, uint64_t *account)
{
    struct xs_txn *tx = calloc(1, sizeof(*tx));
    if (!tx)
        return NULL;
    tx->d = d;
    tx->id = id;
    tx->start_gen = d->tree.gen;
    tx->account = account;
    tx->hsize = 64;
    tx->htab = calloc(tx->hsize, sizeof(*tx->htab));
    if (!tx->htab) {
        free(tx);
        return NULL;
    }
    return tx;
}

static void kids_free(struct tent *e)
{
    for (uint32_t i = 0; i < e->nkids; i++)
        free(e->kids[i]);
    free(e->kids);
    e->kids = NULL;
    e->nkids = e->capkids = e->kid_bytes = 0;
    e->has_kids = false;
    free(e->dirbuf);
    e->dirbuf = NULL;
    e->dirvalid = false;
}

static void tent_clear(struct tent *e)
{
    free(e->value);
    free(e->perms);
    e->value = NULL;
    e->perms = NULL;
    e->vlen = e->nperms = 0;
    kids_free(e);
}

void xs_txn_free(struct xs_txn *tx)
{
    if (!tx)
        return;
    for (uint32_t b = 0; b < tx->hsize; b++) {
        struct tent *e = tx->htab[b];
        while (e) {
            struct tent *next = e->hnext;
            tent_clear(e);
            free(e->path);
            free(e);
            e = next;
        }
    }
    free(tx->htab);
    if (tx->account)
        *tx->account -= tx->copied;
    free(tx);
}

uint32_t xs_txn_id(const struct xs_txn *tx)
{
    return tx->id;
}
uint32_t xs_txn_nodes(const struct xs_txn *tx)
{
    return tx->n;
}
int xs_txn_entry_delta(const struct xs_txn *tx)
{
    return tx->entry_delta;
}

static struct tent *find(struct xs_txn *tx, const char *path)
{
    for (struct tent *e = tx->htab[path_hash(path) & (tx->hsize - 1)]; e; e = e->hnext)
        if (strcmp(e->path, path) == 0)
            return e;
    return NULL;
}

/* Charges n bytes of copies to the transaction; a domain whose open transactions would hold
 * more than its transaction-memory quota gets ENOSPC instead. */
static int budget(struct xs_ctx *c, uint64_t n)
{
    struct xs_txn *tx = c->txn;
    uint64_t held = tx->account ? *tx->account : tx->copied;
    if (!c->privileged && held + n > c->d->quota.trans_memory)
        return -ENOSPC;
    tx->copied += n;
    if (tx->account)
        *tx->account += n;
    return 0;
}

static void grow(struct xs_txn *tx)
{
    uint32_t size = tx->hsize * 2;
    struct tent **tab = calloc(size, sizeof(*tab));
    if (!tab)
        return; /* keep the smaller table: slower, still correct */
    for (uint32_t b = 0; b < tx->hsize; b++) {
        struct tent *e = tx->htab[b];
        while (e) {
            struct tent *next = e->hnext;
            uint32_t nb = path_hash(e->path) & (size - 1);
            e->hnext = tab[nb];
            tab[nb] = e;
            e = next;
        }
    }
    free(tx->htab);
    tx->htab = tab;
    tx->hsize = size;
}

/* The entry for path, created if needed; -ENOSPC past the transaction-nodes quota. */
static int get_entry(struct xs_ctx *c, const char *path, struct tent **out)
{
    struct xs_txn *tx = c->txn;
    struct tent *e = find(tx, path);
    if (!e) {
        if (!c->privileged && tx->n >= c->d->quota.trans_nodes)
            return -ENOSPC;
        int r = budget(c, sizeof(*e) + strlen(path) + 1);
        if (r)
            return r;
        e = calloc(1, sizeof(*e));
        if (!e || !(e->path = strdup(path))) {
            free(e);
            return -ENOMEM;
        }
        if (tx->n >= tx->hsize * 2)
            grow(tx);
        uint32_t b = path_hash(path) & (tx->hsize - 1);
        e->hnext = tx->htab[b];
        tx->htab[b] = e;
        tx->n++;
    }
    *out = e;
    return 0;
}

/* True if one of path's ancestors was removed or re-created in the transaction. */
static bool shadowed(struct xs_txn *tx, const char *path)
{
    if (!tx->nshadow)
        return false;
    char buf[XENSTORE_ABS_PATH_MAX + 2];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        return false;
    memcpy(buf, path, len + 1);
    for (;;) {
        char *s = strrchr(buf, '/');
        if (!s || s == buf)
            break;
        *s = '\0';
        struct tent *a = find(tx, buf);
        if (a && a->mod && (!a->exists || a->fresh))
            return true;
    }
    return false;
}

static int copy_perms(struct xs_ctx *c, struct tent *e, const struct xs_perm *p, uint32_t n);
static int copy_value(struct xs_ctx *c, struct tent *e, const char *v, uint32_t len);

/* The list of changed, existing entries lets a removal find the changed nodes below it
 * without scanning every node the transaction looked at. */
static void live_add(struct xs_txn *tx, struct tent *e)
{
    if (e->live)
        return;
    e->live = true;
    e->lprev = NULL;
    e->lnext = tx->live;
    if (tx->live)
        tx->live->lprev = e;
    tx->live = e;
}

static void live_del(struct xs_txn *tx, struct tent *e)
{
    if (!e->live)
        return;
    e->live = false;
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        tx->live = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
}

static void view_of_entry(struct xs_ctx *c, struct tent *e, struct xs_view *v)
{
    if (e->has_kids) {
        v->child_bytes = e->kid_bytes;
    } else {
        struct xs_node *n = xs_tree_lookup(&c->d->tree, e->path);
        v->child_bytes = n ? n->child_bytes : 0;
    }
    v->exists = true;
    v->value = e->value ? e->value : "";
    v->vlen = e->vlen;
    v->perms = e->perms;
    v->nperms = e->nperms;
    v->gen = e->gen;
}

int xs_txn_get(struct xs_ctx *c, const char *path, struct xs_view *v)
{
    struct xs_txn *tx = c->txn;
    struct tent *e = find(tx, path);
    if (e && e->mod) {
        if (!e->exists)
            return -ENOENT;
        view_of_entry(c, e, v);
        return 0;
    }
    if (shadowed(tx, path))
        return -ENOENT;
    struct xs_node *n = xs_tree_lookup(&c->d->tree, path);
    if (!e) {
        int r = get_entry(c, path, &e);
        if (r)
            return r;
    }
    if (!e->observed) {
        /* The first look is the transaction's snapshot of this node: later reads in the
         * transaction see this copy even if another connection changes the node. */
        int r;
        if (n && ((r = copy_value(c, e, n->value ? n->value : "", n->vlen)) ||
                  (r = copy_perms(c, e, n->perms, n->nperms))))
            return r;
        e->observed = true;
        e->main_existed = n != NULL;
        e->main_gen = n ? n->gen : 0;
    }
    /* Changed since we started: this transaction can no longer commit. */
    if ((n && n->gen > tx->start_gen) || (n != NULL) != e->main_existed)
        tx->doomed = true;
    if (!e->main_existed)
        return -ENOENT;
    view_of_entry(c, e, v);
    v->gen = e->main_gen;
    return 0;
}

static int copy_perms(struct xs_ctx *c, struct tent *e, const struct xs_perm *p, uint32_t n)
{
    int r = budget(c, n * sizeof(*p));
    if (r)
        return r;
    struct xs_perm *cp = malloc(n * sizeof(*cp));
    if (!cp)
        return -ENOMEM;
    memcpy(cp, p, n * sizeof(*cp));
    free(e->perms);
    e->perms = cp;
    e->nperms = n;
    return 0;
}

static int copy_value(struct xs_ctx *c, struct tent *e, const char *v, uint32_t len)
{
    int r = budget(c, len);
    if (r)
        return r;
    char *cp = malloc(len ? len : 1);
    if (!cp)
        return -ENOMEM;
    memcpy(cp, v, len);
    free(e->value);
    e->value = cp;
    e->vlen = len;
    return 0;
}

/* Takes a private copy of an existing node. */
static int ensure_mod(struct xs_ctx *c, const char *path, struct tent **out)
{
    struct xs_view v;
    int r = xs_txn_get(c, path, &v);
    if (r)
        return r;
    struct tent *e = find(c->txn, path);
    if (!e->mod) {
        /* Its snapshot (taken by xs_txn_get) becomes the transaction's own copy. */
        e->mod = e->exists = true;
        live_add(c->txn, e);
        e->gen = v.gen;
        e->seq = ++c->txn->seq;
    }
    *out = e;
    return 0;
}

static int kids_materialize(struct xs_ctx *c, struct tent *e)
{
    if (e->has_kids)
        return 0;
    struct xs_node *n = xs_tree_lookup(&c->d->tree, e->path);
    uint32_t cnt = n ? n->nchildren : 0;
    int r = budget(c, (n ? n->child_bytes : 0) + (uint64_t)cnt * sizeof(char *));
    if (r)
        return r;
    e->kids = calloc(cnt ? cnt : 1, sizeof(char *));
    if (!e->kids)
        return -ENOMEM;
    e->capkids = cnt ? cnt : 1;
    if (n)
        for (struct xs_node *k = n->first; k; k = k->next) {
            if (!(e->kids[e->nkids++] = strdup(k->name)))
                return -ENOMEM;
            e->kid_bytes += (uint32_t)strlen(k->name) + 1;
        }
    e->has_kids = true;
    return 0;
}

static void touch(struct xs_txn *tx, struct tent *e)
{
    e->gen = (1ull << 63) | ++tx->local_gen;
    e->dirvalid = false;
}

static int kids_add(struct xs_ctx *c, const char *path, const char *name)
{
    struct tent *p;
    int r = ensure_mod(c, path, &p);
    if (r || (r = kids_materialize(c, p)))
        return r;
    if ((r = budget(c, strlen(name) + 1 + 2 * sizeof(char *))))
        return r;
    if (p->nkids == p->capkids) {
        uint32_t cap = p->capkids ? p->capkids * 2 : 8;
        char **k = realloc(p->kids, cap * sizeof(char *));
        if (!k)
            return -ENOMEM;
        p->kids = k;
        p->capkids = cap;
    }
    if (!(p->kids[p->nkids] = strdup(name)))
        return -ENOMEM;
    p->nkids++;
    p->kid_bytes += (uint32_t)strlen(name) + 1;
    touch(c->txn, p);
    return 0;
}

static int kids_del(struct xs_ctx *c, const char *path, const char *name)
{
    struct tent *p;
    int r = ensure_mod(c, path, &p);
    if (r || (r = kids_materialize(c, p)))
        return r;
    for (uint32_t i = 0; i < p->nkids; i++) {
        if (strcmp(p->kids[i], name) == 0) {
            p->kid_bytes -= (uint32_t)strlen(name) + 1;
            free(p->kids[i]);
            memmove(&p->kids[i], &p->kids[i + 1], (p->nkids - i - 1) * sizeof(char *));
            p->nkids--;
            break;
        }
    }
    touch(c->txn, p);
    return 0;
}

static int split(const char *path, char *parent, size_t len, const char **name)
{
    const char *s = strrchr(path, '/');
    if (!s || !s[1])
        return -EINVAL;
    size_t l = s == path ? 1 : (size_t)(s - path);
    if (l >= len)
        return -EINVAL;
    memcpy(parent, path, l);
    parent[l] = '\0';
    *name = s + 1;
    return 0;
}

int xs_txn_create(struct xs_ctx *c, const char *path, const struct xs_perm *p, uint32_t n)
{
    char parent[XENSTORE_ABS_PATH_MAX + 2];
    const char *name;
    struct tent *e;
    int r = split(path, parent, sizeof(parent), &name);
    if (r || (r = get_entry(c, path, &e)))
        return r;
    tent_clear(e);
    if (!e->mod || e->exists || !e->fresh)
        c->txn->nshadow++;
    e->mod = e->exists = e->fresh = true;
    live_add(c->txn, e);
    e->val_set = e->perms_set = true;
    e->seq = ++c->txn->seq;
    if ((r = copy_perms(c, e, p, n)) || (r = copy_value(c, e, "", 0)))
        return r;
    e->has_kids = true;
    touch(c->txn, e);
    if (p[0].domid == c->domid)
        c->txn->entry_delta++;
    return kids_add(c, parent, name);
}

int xs_txn_set(struct xs_ctx *c, const char *path, const char *val, uint32_t len, bool set_val,
               const struct xs_perm *p, uint32_t n)
{
    struct tent *e;
    int r = ensure_mod(c, path, &e);
    if (r)
        return r;
    if (set_val) {
        if ((r = copy_value(c, e, val, len)))
            return r;
        e->val_set = true;
    }
    if (p) {
        if ((r = copy_perms(c, e, p, n)))
            return r;
        e->perms_set = true;
    }
    touch(c->txn, e);
    return 0;
}

int xs_txn_rm(struct xs_ctx *c, const char *path)
{
    char parent[XENSTORE_ABS_PATH_MAX + 2];
    const char *name;
    struct xs_view v;
    int r = split(path, parent, sizeof(parent), &name);
    if (r || (r = xs_txn_get(c, path, &v)))
        return r;
    struct tent *e = find(c->txn, path);
    /* Entries below the removed node describe nodes that no longer exist. */
    size_t plen = strlen(path);
    for (struct tent *d = c->txn->live, *next; d; d = next) {
        next = d->lnext;
        if (strncmp(d->path, path, plen) == 0 && d->path[plen] == '/') {
            tent_clear(d);
            d->exists = false;
            live_del(c->txn, d);
            c->txn->nshadow++;
        }
    }
    live_del(c->txn, e);
    tent_clear(e);
    if (!e->mod || e->exists || e->fresh)
        c->txn->nshadow++;
    e->mod = true;
    e->seq = ++c->txn->seq;
    e->exists = e->fresh = false;
    e->val_set = e->perms_set = false;
    return kids_del(c, parent, name);
}

int xs_txn_dir(struct xs_ctx *c, const char *path, const char **buf, size_t *len, uint64_t *gen)
{
    struct xs_view v;
    int r = xs_txn_get(c, path, &v);
    if (r)
        return r;
    struct tent *e = find(c->txn, path);
    *gen = v.gen;
    /* The listing is part of the snapshot too: copy it on first use (listing costs as much). */
    if (!e->has_kids && (r = kids_materialize(c, e)))
        return r;
    if (!e->dirvalid) {
        size_t total = 0;
        for (uint32_t i = 0; i < e->nkids; i++)
            total += strlen(e->kids[i]) + 1;
        if ((r = budget(c, total)))
            return r;
        char *s = malloc(total ? total : 1), *p = s;
        if (!s)
            return -ENOMEM;
        for (uint32_t i = 0; i < e->nkids; i++) {
            size_t l = strlen(e->kids[i]) + 1;
            memcpy(p, e->kids[i], l);
            p += l;
        }
        free(e->dirbuf);
        e->dirbuf = s;
        e->dirlen = total;
        e->dirvalid = true;
    }
    *buf = e->dirbuf;
    *len = e->dirlen;
    return 0;
}

static size_t depth(const char *p)
{
    size_t d = 0;
    for (; *p; p++)
        d += *p == '/';
    return d;
}

static int by_depth(const void *a, const void *b)
{
    const struct tent *ea = *(struct tent *const *)a, *eb = *(struct tent *const *)b;
    size_t da = depth(ea->path), db = depth(eb->path);
    if (da != db)
        return da < db ? -1 : 1;
    return ea->seq < eb->seq ? -1 : ea->seq > eb->seq;
}

static bool validate(struct xs_txn *tx)
{
    if (tx->doomed)
        return false;
    for (uint32_t b = 0; b < tx->hsize; b++)
        for (struct tent *e = tx->htab[b]; e; e = e->hnext) {
            if (!e->observed)
                continue;
            struct xs_node *n = xs_tree_lookup(&tx->d->tree, e->path);
            if ((n != NULL) != e->main_existed || (n && n->gen != e->main_gen))
                return false;
        }
    return true;
}

/* Replays one changed node into the main tree and fires its watches. */
static void apply(struct xs_daemon *d, struct tent *e)
{
    struct xs_tree *t = &d->tree;
    struct xs_node *n = xs_tree_lookup(t, e->path);
    if (!e->exists) {
        if (!n)
            return;
        struct xs_perm *p = malloc(n->nperms * sizeof(*p));
        uint32_t np = n->nperms;
        if (p)
            memcpy(p, n->perms, np * sizeof(*p));
        xs_tree_remove(t, n);
        xs_watch_fire(d, e->path, true, p, p ? np : 0);
        free(p);
        return;
    }
    if (!n) {
        if (xs_tree_create(t, e->path, e->perms, e->nperms, &n))
            return;
    } else if (e->fresh) {
        xs_tree_remove_children(t, n);
    }
    if (e->val_set)
        xs_tree_set_value(t, n, e->value, e->vlen);
    if (e->perms_set)
        xs_tree_set_perms(t, n, e->perms, e->nperms);
    if (e->val_set || e->perms_set || e->fresh)
        xs_watch_fire(d, e->path, false, n->perms, n->nperms);
}

int xs_txn_end(struct xs_ctx *c, struct xs_txn *tx, bool commit)
{
    int r = 0;
    if (commit && !validate(tx))
        r = -EAGAIN;
    if (commit && r == 0) {
        struct tent **mods = malloc((tx->n ? tx->n : 1) * sizeof(*mods));
        if (!mods) {
            xs_txn_free(tx);
            return -ENOMEM;
        }
        uint32_t nm = 0;
        for (uint32_t b = 0; b < tx->hsize; b++)
            for (struct tent *e = tx->htab[b]; e; e = e->hnext)
                if (e->mod)
                    mods[nm++] = e;
        /* Parents before children: a re-created node clears its old subtree first. */
        qsort(mods, nm, sizeof(*mods), by_depth);
        for (uint32_t i = 0; i < nm; i++)
            apply(c->d, mods[i]);
        free(mods);
    }
    xs_txn_free(tx);
    return r;
}
