/* The daemon's state: tree, watches, domains, quotas; created and torn down as one. */
#include "xenstored.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kxen/log.h"
#include "kxen/util.h"

int xs_daemon_init(struct xs_daemon *d, struct event_base *base)
{
    memset(d, 0, sizeof(*d));
    d->base = base;
    xs_quota_defaults(&d->quota);
    d->domtab_size = 256;
    d->domtab = calloc(d->domtab_size, sizeof(*d->domtab));
    d->watches = xs_watches_new();
    int r = xs_tree_init(&d->tree);
    if (!d->domtab || !d->watches || r) {
        xs_daemon_fini(d);
        return -ENOMEM;
    }
    d->tree.account = xs_domain_account;
    d->tree.account_opaque = d;
    /* Only dom0 may watch the special nodes until it grants others access. */
    for (int i = 0; i < 2; i++) {
        d->special_perms[i][0] = (struct xs_perm){0, XS_PERM_NONE};
        d->special_nperms[i] = 1;
    }
    /* Xen's stores start with /local/domain and /tool: toolstacks expect them. */
    struct xs_perm p = {0, XS_PERM_NONE};
    if (xs_tree_create(&d->tree, "/local", &p, 1, NULL) ||
        xs_tree_create(&d->tree, "/local/domain", &p, 1, NULL) ||
        xs_tree_create(&d->tree, "/tool", &p, 1, NULL)) {
        xs_daemon_fini(d);
        return -ENOMEM;
    }
    return 0;
}

void xs_daemon_fini(struct xs_daemon *d)
{
    while (d->conns)
        xs_conn_free(d->conns);
    free(d->pending);
    d->pending = NULL;
    xs_watches_free(d->watches);
    d->watches = NULL;
    d->tree.account = NULL;
    xs_tree_free(&d->tree);
    if (d->domtab)
        xs_domains_free(d);
    free(d->domtab);
    d->domtab = NULL;
}

void xs_trace(struct xs_daemon *d, const char *fmt, ...)
{
    if (!d->trace_on && klog_get_level() < KLOG_DEBUG)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (d->trace && d->trace_on) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(d->trace, "%lld.%06ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, line);
        fflush(d->trace);
    } else {
        log_debug("%s", line);
    }
}

struct owner_count {
    uint32_t domid;
    int64_t n;
};

static int count_owner(struct owner_count **arr, size_t *n, size_t *cap, uint32_t domid)
{
    for (size_t i = 0; i < *n; i++)
        if ((*arr)[i].domid == domid) {
            (*arr)[i].n++;
            return 0;
        }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct owner_count *a = realloc(*arr, nc * sizeof(*a));
        if (!a)
            return -ENOMEM;
        *arr = a;
        *cap = nc;
    }
    (*arr)[(*n)++] = (struct owner_count){domid, 1};
    return 0;
}

int xs_daemon_check(struct xs_daemon *d, char *msg, size_t len)
{
    /* Walks the whole tree: every link, count and hash entry, and each domain's node count
     * against the nodes it really owns. */
    struct owner_count *owners = NULL;
    size_t nown = 0, capown = 0;
    uint64_t nodes = 0;
    int r = 0;
    char path[XENSTORE_ABS_PATH_MAX + 2];
    struct xs_node *n = d->tree.root;
    while (n && r == 0) {
        uint32_t kids = 0, bytes = 0;
        for (struct xs_node *c = n->first; c; c = c->next) {
            kids++;
            bytes += (uint32_t)strlen(c->name) + 1;
            if (c->parent != n || xs_tree_child(n, c->name, strlen(c->name)) != c ||
                (c->next && c->next->prev != c)) {
                xs_tree_path(c, path, sizeof(path));
                snprintf(msg, len, "bad links at %s", path);
                r = -EIO;
            }
        }
        if (r == 0 && (kids != n->nchildren || bytes != n->child_bytes || n->nperms == 0)) {
            xs_tree_path(n, path, sizeof(path));
            snprintf(msg, len, "bad counts at %s: %u children (%u recorded), %u bytes (%u)", path,
                     kids, n->nchildren, bytes, n->child_bytes);
            r = -EIO;
        }
        if (n->parent) {
            nodes++;
            if (r == 0 && n->perms[0].domid != 0 &&
                count_owner(&owners, &nown, &capown, n->perms[0].domid))
                r = -ENOMEM;
        }
        n = xs_tree_next(n);
    }
    if (r == 0 && nodes != d->tree.nnodes) {
        snprintf(msg, len, "%llu nodes in the tree, %llu recorded", (unsigned long long)nodes,
                 (unsigned long long)d->tree.nnodes);
        r = -EIO;
    }
    for (size_t i = 0; r == 0 && i < nown; i++) {
        struct xs_domain *dom = xs_domain_get(d, owners[i].domid, false);
        if (!dom || dom->nbentry != owners[i].n) {
            snprintf(msg, len, "domain %u owns %lld nodes, %d recorded", owners[i].domid,
                     (long long)owners[i].n, dom ? dom->nbentry : 0);
            r = -EIO;
        }
    }
    for (uint32_t b = 0; r == 0 && b < d->domtab_size; b++)
        for (struct xs_domain *x = d->domtab[b]; x && r == 0; x = x->hnext) {
            bool found = false;
            for (size_t i = 0; i < nown; i++)
                found |= owners[i].domid == x->domid;
            if (!found && x->nbentry != 0) {
                snprintf(msg, len, "domain %u owns no nodes, %d recorded", x->domid, x->nbentry);
                r = -EIO;
            }
        }
    free(owners);
    if (r == 0)
        snprintf(msg, len, "OK: %llu nodes", (unsigned long long)nodes + 1);
    return r;
}
