/* Watches, indexed by path: a change to P looks up the watches on P and on each of its
 * parents (O(depth) lookups), whatever the number of watches. Only removals also scan for
 * watches below the removed node, which fire with their own path (Xen's rule). */
#include "xenstored.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xs_watch {
    char *path; /* absolute, or "@..." */
    char *token;
    bool relative;
    struct xs_conn *conn;
    struct xs_watch *hnext;
    struct xs_watch *next, *prev; /* all watches */
};

struct xs_watches {
    struct xs_watch **htab;
    uint32_t hsize, n;
    struct xs_watch *all;
};

static uint32_t path_hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

struct xs_watches *xs_watches_new(void)
{
    struct xs_watches *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->hsize = 256;
    w->htab = calloc(w->hsize, sizeof(*w->htab));
    if (!w->htab) {
        free(w);
        return NULL;
    }
    return w;
}

static void watch_unlink(struct xs_watches *w, struct xs_watch *x)
{
    struct xs_watch **pp = &w->htab[path_hash(x->path) & (w->hsize - 1)];
    while (*pp != x)
        pp = &(*pp)->hnext;
    *pp = x->hnext;
    if (x->prev)
        x->prev->next = x->next;
    else
        w->all = x->next;
    if (x->next)
        x->next->prev = x->prev;
    w->n--;
    if (x->conn)
        x->conn->nwatches--;
    free(x->path);
    free(x->token);
    free(x);
}

void xs_watches_free(struct xs_watches *w)
{
    if (!w)
        return;
    while (w->all)
        watch_unlink(w, w->all);
    free(w->htab);
    free(w);
}

static void rehash(struct xs_watches *w)
{
    uint32_t size = w->hsize * 2;
    struct xs_watch **tab = calloc(size, sizeof(*tab));
    if (!tab)
        return;
    for (struct xs_watch *x = w->all; x; x = x->next) {
        uint32_t b = path_hash(x->path) & (size - 1);
        x->hnext = tab[b];
        tab[b] = x;
    }
    free(w->htab);
    w->htab = tab;
    w->hsize = size;
}

int xs_watch_add(struct xs_watches *w, struct xs_conn *conn, const char *abs_path,
                 const char *token, bool relative)
{
    for (struct xs_watch *x = w->htab[path_hash(abs_path) & (w->hsize - 1)]; x; x = x->hnext)
        if (x->conn == conn && strcmp(x->path, abs_path) == 0 && strcmp(x->token, token) == 0)
            return -EEXIST;
    struct xs_watch *x = calloc(1, sizeof(*x));
    if (!x || !(x->path = strdup(abs_path)) || !(x->token = strdup(token))) {
        if (x)
            free(x->path);
        free(x);
        return -ENOMEM;
    }
    x->relative = relative;
    x->conn = conn;
    if (w->n + 1 > w->hsize * 2)
        rehash(w);
    uint32_t b = path_hash(abs_path) & (w->hsize - 1);
    x->hnext = w->htab[b];
    w->htab[b] = x;
    x->next = w->all;
    if (w->all)
        w->all->prev = x;
    w->all = x;
    w->n++;
    if (conn)
        conn->nwatches++;
    return 0;
}

int xs_watch_remove(struct xs_watches *w, struct xs_conn *conn, const char *abs_path,
                    const char *token)
{
    for (struct xs_watch *x = w->htab[path_hash(abs_path) & (w->hsize - 1)]; x; x = x->hnext)
        if (x->conn == conn && strcmp(x->path, abs_path) == 0 && strcmp(x->token, token) == 0) {
            watch_unlink(w, x);
            return 0;
        }
    return -ENOENT;
}

void xs_watch_remove_conn(struct xs_watches *w, struct xs_conn *conn)
{
    struct xs_watch *x = w->all;
    while (x) {
        struct xs_watch *next = x->next;
        if (x->conn == conn)
            watch_unlink(w, x);
        x = next;
    }
}

void xs_watch_send(struct xs_conn *conn, const char *abs_path, bool relative, const char *token)
{
    const char *p = abs_path;
    if (relative) {
        /* Relative watches report paths relative to the domain's home, as registered. */
        char home[32];
        int l = snprintf(home, sizeof(home), "/local/domain/%u/", conn->domid);
        if (strncmp(p, home, (size_t)l) == 0)
            p += l;
    }
    xs_conn_send(conn, XS_WATCH_EVENT, 0, 0, p, strlen(p) + 1, token, strlen(token) + 1);
}

static bool may_see(struct xs_conn *conn, const struct xs_perm *perms, uint32_t np)
{
    if (xs_conn_privileged(conn))
        return true;
    if (!perms || !np)
        return false;
    struct xs_domain *dom = xs_domain_get(conn->d, conn->domid, false);
    uint32_t target = dom ? dom->target : XS_NO_TARGET;
    return xs_perm_for(conn->domid, target, perms, np, XS_PERM_READ) == XS_PERM_READ;
}

static void fire_exact(struct xs_daemon *d, const char *key, const char *event_path,
                       const struct xs_perm *perms, uint32_t np)
{
    struct xs_watches *w = d->watches;
    for (struct xs_watch *x = w->htab[path_hash(key) & (w->hsize - 1)]; x; x = x->hnext)
        if (strcmp(x->path, key) == 0 && x->conn && !x->conn->closing &&
            may_see(x->conn, perms, np))
            xs_watch_send(x->conn, event_path, x->relative, x->token);
}

void xs_watch_fire(struct xs_daemon *d, const char *path, bool recursive,
                   const struct xs_perm *perms, uint32_t np)
{
    struct xs_watches *w = d->watches;
    if (!w || !w->n)
        return;
    xs_trace(d, "fire %s%s", path, recursive ? " (subtree)" : "");
    if (xs_path_is_special(path)) {
        int i = strcmp(path, "@introduceDomain") == 0 ? 0 : 1;
        fire_exact(d, path, path, d->special_perms[i], d->special_nperms[i]);
        return;
    }
    char buf[XENSTORE_ABS_PATH_MAX + 2];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        return;
    memcpy(buf, path, len + 1);
    for (;;) {
        fire_exact(d, buf, path, perms, np);
        char *s = strrchr(buf, '/');
        if (!s || (s == buf && buf[1] == '\0'))
            break;
        if (s == buf)
            s[1] = '\0';
        else
            *s = '\0';
    }
    if (!recursive)
        return;
    for (struct xs_watch *x = w->all; x; x = x->next)
        if (x->path[0] == '/' && strcmp(x->path, path) != 0 && xs_path_is_child(x->path, path) &&
            x->conn && !x->conn->closing && may_see(x->conn, perms, np))
            xs_watch_send(x->conn, x->path, x->relative, x->token);
}
