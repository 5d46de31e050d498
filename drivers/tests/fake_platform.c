/* The fake platform (see fake_platform.h). Xenstore keeps a flat list of nodes; a parent exists
 * while it has a child, as in xenstored. A watch fires for changes at or below its path, and
 * once when it is registered, as Xen's does. */
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_platform.h"

#define PAGE 4096u
#define MAX_NODES 1024
#define MAX_WATCHES 64
#define MAX_EVENTS 4096
#define MAX_GRANTS 4096
#define MAX_PORTS 256
#define MAX_TXN_OPS 64

struct node {
    char *path, *val;
};
struct watch {
    char path[256], token[64];
};
struct event {
    char path[256], token[64];
};
struct txn_op {
    bool rm;
    char *path, *val;
};
struct port {
    bool used, bound;
    uint32_t local; /* backend side */
    unsigned int notified;
};
struct grant {
    bool valid, readonly;
    unsigned int page;
};

struct fake_platform {
    struct xenbus_platform base;
    struct node nodes[MAX_NODES];
    unsigned int nr_nodes;
    struct watch watches[MAX_WATCHES];
    unsigned int nr_watches;
    struct event events[MAX_EVENTS];
    unsigned int ev_head, ev_tail;
    uint32_t next_txn;
    struct txn_op ops[MAX_TXN_OPS];
    unsigned int nr_ops;
    int fail_commits;
    struct port ports[MAX_PORTS]; /* index: frontend port */
    uint32_t pending[MAX_PORTS];
    unsigned int nr_pending;
    uint32_t next_local;
    int memfd;
    char *guest; /* the frontend's view of its pages */
    unsigned int next_page;
    struct grant grants[MAX_GRANTS];
    uint32_t next_gref;
    unsigned int mapped;
    unsigned int copy_calls;
};

static struct fake_platform *fp_of(struct xenbus_platform *p)
{
    return (struct fake_platform *)p;
}

/* ---- Xenstore -------------------------------------------------------------------------------- */

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memmove(dst, src, n);
    dst[n] = '\0';
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void fire(struct fake_platform *fp, const char *path)
{
    for (unsigned int i = 0; i < fp->nr_watches; i++) {
        /* at or below the watch, or a parent of it (removal of the parent) */
        if (!under(path, fp->watches[i].path) && !under(fp->watches[i].path, path))
            continue;
        if (fp->ev_tail - fp->ev_head >= MAX_EVENTS)
            abort();
        struct event *e = &fp->events[fp->ev_tail++ % MAX_EVENTS];
        copy_str(e->path, sizeof(e->path), path);
        copy_str(e->token, sizeof(e->token), fp->watches[i].token);
    }
}

static struct node *find(struct fake_platform *fp, const char *path)
{
    for (unsigned int i = 0; i < fp->nr_nodes; i++)
        if (strcmp(fp->nodes[i].path, path) == 0)
            return &fp->nodes[i];
    return NULL;
}

static bool exists(struct fake_platform *fp, const char *path)
{
    for (unsigned int i = 0; i < fp->nr_nodes; i++)
        if (under(fp->nodes[i].path, path))
            return true;
    return false;
}

static void do_write(struct fake_platform *fp, const char *path, const char *val)
{
    struct node *n = find(fp, path);
    if (!n) {
        if (fp->nr_nodes == MAX_NODES)
            abort();
        n = &fp->nodes[fp->nr_nodes++];
        n->path = strdup(path);
        n->val = NULL;
    }
    free(n->val);
    n->val = strdup(val);
    fire(fp, path);
}

static void do_rm(struct fake_platform *fp, const char *path)
{
    for (unsigned int i = 0; i < fp->nr_nodes;) {
        if (under(fp->nodes[i].path, path)) {
            free(fp->nodes[i].path);
            free(fp->nodes[i].val);
            fp->nodes[i] = fp->nodes[--fp->nr_nodes];
        } else {
            i++;
        }
    }
    fire(fp, path);
}

int fake_xs_write(struct fake_platform *fp, const char *path, const char *val)
{
    do_write(fp, path, val);
    return 0;
}

int fake_xs_read(struct fake_platform *fp, const char *path, char *buf, size_t len)
{
    return fp->base.ops->xs_read(&fp->base, 0, path, buf, len);
}

int fake_xs_rm(struct fake_platform *fp, const char *path)
{
    do_rm(fp, path);
    return 0;
}

void fake_xs_fail_commits(struct fake_platform *fp, int n)
{
    fp->fail_commits = n;
}

unsigned int fake_xs_nr_watches(struct fake_platform *fp)
{
    return fp->nr_watches;
}

static int xs_read(struct xenbus_platform *p, xenbus_txn_t t, const char *path, char *buf,
                   size_t len)
{
    (void)t;
    struct node *n = find(fp_of(p), path);
    const char *v = n ? n->val : exists(fp_of(p), path) ? "" : NULL;
    if (!v)
        return -ENOENT;
    size_t l = strlen(v);
    if (l >= len)
        return -EOVERFLOW;
    memcpy(buf, v, l + 1);
    return (int)l;
}

static int txn_queue(struct fake_platform *fp, bool rm, const char *path, const char *val)
{
    if (fp->nr_ops == MAX_TXN_OPS)
        return -ENOSPC;
    fp->ops[fp->nr_ops++] = (struct txn_op){rm, strdup(path), val ? strdup(val) : NULL};
    return 0;
}

static int xs_write(struct xenbus_platform *p, xenbus_txn_t t, const char *path, const char *val)
{
    if (t)
        return txn_queue(fp_of(p), false, path, val);
    do_write(fp_of(p), path, val);
    return 0;
}

static int xs_mkdir(struct xenbus_platform *p, xenbus_txn_t t, const char *path)
{
    return exists(fp_of(p), path) ? 0 : xs_write(p, t, path, "");
}

static int xs_rm(struct xenbus_platform *p, xenbus_txn_t t, const char *path)
{
    if (t)
        return txn_queue(fp_of(p), true, path, NULL);
    do_rm(fp_of(p), path);
    return 0;
}

static int xs_directory(struct xenbus_platform *p, xenbus_txn_t t, const char *path,
                        char ***entries, unsigned int *n)
{
    (void)t;
    struct fake_platform *fp = fp_of(p);
    if (!exists(fp, path))
        return -ENOENT;
    char **out = calloc(MAX_NODES + 1, sizeof(char *) + 64);
    char *strs = (char *)(out + MAX_NODES + 1);
    unsigned int cnt = 0;
    size_t pl = strlen(path);
    for (unsigned int i = 0; i < fp->nr_nodes; i++) {
        const char *np = fp->nodes[i].path;
        if (!under(np, path) || np[pl] != '/')
            continue;
        char child[64];
        size_t cl = strcspn(np + pl + 1, "/");
        snprintf(child, sizeof(child), "%.*s", (int)cl, np + pl + 1);
        bool dup = false;
        for (unsigned int j = 0; j < cnt && !dup; j++)
            dup = strcmp(out[j], child) == 0;
        if (!dup) {
            out[cnt] = strs + cnt * 64;
            strcpy(out[cnt++], child);
        }
    }
    *entries = out;
    *n = cnt;
    return 0;
}

static int xs_set_perms(struct xenbus_platform *p, xenbus_txn_t t, const char *path,
                        const struct xenbus_perm *perms, unsigned int n)
{
    (void)p, (void)t, (void)path, (void)perms, (void)n;
    return 0;
}

static int xs_watch(struct xenbus_platform *p, const char *path, const char *token)
{
    struct fake_platform *fp = fp_of(p);
    if (fp->nr_watches == MAX_WATCHES)
        return -ENOSPC;
    struct watch *w = &fp->watches[fp->nr_watches++];
    snprintf(w->path, sizeof(w->path), "%s", path);
    snprintf(w->token, sizeof(w->token), "%s", token);
    struct event *e = &fp->events[fp->ev_tail++ % MAX_EVENTS];
    snprintf(e->path, sizeof(e->path), "%s", path);
    snprintf(e->token, sizeof(e->token), "%s", token);
    return 0;
}

static int xs_unwatch(struct xenbus_platform *p, const char *path, const char *token)
{
    struct fake_platform *fp = fp_of(p);
    for (unsigned int i = 0; i < fp->nr_watches; i++) {
        if (!strcmp(fp->watches[i].path, path) && !strcmp(fp->watches[i].token, token)) {
            fp->watches[i] = fp->watches[--fp->nr_watches];
            /* As XS_UNWATCH_FILTER: queued events of that watch are dropped. */
            for (unsigned int j = fp->ev_head; j != fp->ev_tail; j++) {
                struct event *e = &fp->events[j % MAX_EVENTS];
                if (!strcmp(e->token, token))
                    e->token[0] = '\0';
            }
            return 0;
        }
    }
    return -ENOENT;
}

static int xs_watch_fd(struct xenbus_platform *p)
{
    (void)p;
    return -1;
}

static int xs_read_watch(struct xenbus_platform *p, char *path, size_t path_len, char *token,
                         size_t token_len)
{
    struct fake_platform *fp = fp_of(p);
    while (fp->ev_head != fp->ev_tail) {
        struct event *e = &fp->events[fp->ev_head++ % MAX_EVENTS];
        if (!e->token[0])
            continue;
        snprintf(path, path_len, "%s", e->path);
        snprintf(token, token_len, "%s", e->token);
        return 1;
    }
    return 0;
}

static int xs_txn_start(struct xenbus_platform *p, xenbus_txn_t *t)
{
    *t = ++fp_of(p)->next_txn;
    return 0;
}

static int xs_txn_end(struct xenbus_platform *p, xenbus_txn_t t, bool abort)
{
    (void)t;
    struct fake_platform *fp = fp_of(p);
    bool commit = !abort && fp->fail_commits <= 0;
    if (!abort && fp->fail_commits > 0)
        fp->fail_commits--;
    for (unsigned int i = 0; i < fp->nr_ops; i++) {
        if (commit && fp->ops[i].rm)
            do_rm(fp, fp->ops[i].path);
        else if (commit)
            do_write(fp, fp->ops[i].path, fp->ops[i].val);
        free(fp->ops[i].path);
        free(fp->ops[i].val);
    }
    fp->nr_ops = 0;
    return abort || commit ? 0 : -EAGAIN;
}

/* ---- Event channels -------------------------------------------------------------------------- */

uint32_t fake_evtchn_alloc_unbound(struct fake_platform *fp)
{
    for (uint32_t i = 1; i < MAX_PORTS; i++) {
        if (!fp->ports[i].used) {
            fp->ports[i] = (struct port){.used = true};
            return i;
        }
    }
    abort();
}

void fake_evtchn_notify_from_frontend(struct fake_platform *fp, uint32_t fe_port)
{
    if (fe_port < MAX_PORTS && fp->ports[fe_port].bound && fp->nr_pending < MAX_PORTS)
        fp->pending[fp->nr_pending++] = fp->ports[fe_port].local;
}

unsigned int fake_evtchn_notified(struct fake_platform *fp, uint32_t fe_port)
{
    return fe_port < MAX_PORTS ? fp->ports[fe_port].notified : 0;
}

unsigned int fake_evtchn_nr_bound(struct fake_platform *fp)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < MAX_PORTS; i++)
        n += fp->ports[i].bound;
    return n;
}

static int ev_bind(struct xenbus_platform *p, uint32_t domid, uint32_t remote)
{
    (void)domid;
    struct fake_platform *fp = fp_of(p);
    if (remote == 0 || remote >= MAX_PORTS || !fp->ports[remote].used || fp->ports[remote].bound)
        return -EINVAL;
    fp->ports[remote].bound = true;
    fp->ports[remote].local = ++fp->next_local + 1000;
    return (int)fp->ports[remote].local;
}

static struct port *by_local(struct fake_platform *fp, uint32_t local)
{
    for (unsigned int i = 0; i < MAX_PORTS; i++)
        if (fp->ports[i].bound && fp->ports[i].local == local)
            return &fp->ports[i];
    return NULL;
}

static int ev_unbind(struct xenbus_platform *p, uint32_t port)
{
    struct port *pt = by_local(fp_of(p), port);
    if (!pt)
        return -ENOENT;
    pt->bound = false;
    return 0;
}

static int ev_notify(struct xenbus_platform *p, uint32_t port)
{
    struct port *pt = by_local(fp_of(p), port);
    if (!pt)
        return -ENOENT;
    pt->notified++;
    return 0;
}

static int ev_fd(struct xenbus_platform *p)
{
    (void)p;
    return -1;
}

static int ev_pending(struct xenbus_platform *p)
{
    struct fake_platform *fp = fp_of(p);
    if (fp->nr_pending == 0)
        return -EAGAIN;
    uint32_t port = fp->pending[0];
    memmove(fp->pending, fp->pending + 1, --fp->nr_pending * sizeof(fp->pending[0]));
    return (int)port;
}

static int ev_unmask(struct xenbus_platform *p, uint32_t port)
{
    (void)p, (void)port;
    return 0;
}

/* ---- Grants ---------------------------------------------------------------------------------- */

unsigned int fake_alloc_page(struct fake_platform *fp)
{
    if (fp->next_page == FAKE_GUEST_PAGES)
        abort();
    return fp->next_page++;
}

void *fake_page(struct fake_platform *fp, unsigned int page)
{
    return fp->guest + (size_t)page * PAGE;
}

uint32_t fake_grant(struct fake_platform *fp, unsigned int page, bool readonly)
{
    uint32_t g = fp->next_gref++;
    if (g >= MAX_GRANTS)
        abort();
    fp->grants[g] = (struct grant){true, readonly, page};
    return g;
}

void fake_revoke(struct fake_platform *fp, uint32_t gref)
{
    if (gref < MAX_GRANTS)
        fp->grants[gref].valid = false;
}

unsigned int fake_gnttab_nr_mapped(struct fake_platform *fp)
{
    return fp->mapped;
}

unsigned int fake_gnttab_nr_copy_calls(struct fake_platform *fp)
{
    return fp->copy_calls;
}

static int gt_map(struct xenbus_platform *p, uint32_t domid, uint32_t count, const uint32_t *refs,
                  bool readonly, void **addr)
{
    (void)domid;
    struct fake_platform *fp = fp_of(p);
    if (count == 0 || count > 4096)
        return -EINVAL;
    for (uint32_t i = 0; i < count; i++) {
        if (refs[i] >= MAX_GRANTS || !fp->grants[refs[i]].valid)
            return -EINVAL; /* GNTST_bad_gntref */
        if (fp->grants[refs[i]].readonly && !readonly)
            return -EPERM;
    }
    char *area = mmap(NULL, (size_t)count * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        return -errno;
    int prot = readonly ? PROT_READ : PROT_READ | PROT_WRITE;
    for (uint32_t i = 0; i < count; i++) {
        off_t off = (off_t)fp->grants[refs[i]].page * PAGE;
        if (mmap(area + (size_t)i * PAGE, PAGE, prot, MAP_SHARED | MAP_FIXED, fp->memfd, off) ==
            MAP_FAILED)
            abort();
    }
    fp->mapped += count;
    *addr = area;
    return 0;
}

static int gt_unmap(struct xenbus_platform *p, void *addr, uint32_t count)
{
    struct fake_platform *fp = fp_of(p);
    if (count > fp->mapped || munmap(addr, (size_t)count * PAGE) < 0)
        return -EINVAL;
    fp->mapped -= count;
    return 0;
}

static int gt_copy(struct xenbus_platform *p, uint32_t count, struct xenbus_gnttab_copy *segs)
{
    struct fake_platform *fp = fp_of(p);
    fp->copy_calls++;
    for (uint32_t i = 0; i < count; i++) {
        struct xenbus_gnttab_copy *s = &segs[i];
        if (s->ref >= MAX_GRANTS || !fp->grants[s->ref].valid || s->offset + s->len > PAGE ||
            (s->to_grant && fp->grants[s->ref].readonly)) {
            s->status = -1;
            continue;
        }
        char *page = fake_page(fp, fp->grants[s->ref].page) + s->offset;
        memcpy(s->to_grant ? page : s->local, s->to_grant ? s->local : page, s->len);
        s->status = 0;
    }
    return 0;
}

static void fake_destroy(struct xenbus_platform *p)
{
    struct fake_platform *fp = fp_of(p);
    for (unsigned int i = 0; i < fp->nr_nodes; i++) {
        free(fp->nodes[i].path);
        free(fp->nodes[i].val);
    }
    munmap(fp->guest, (size_t)FAKE_GUEST_PAGES * PAGE);
    close(fp->memfd);
    free(fp);
}

static const struct xenbus_platform_ops fake_ops = {
    .evtchn_bind_interdomain = ev_bind,
    .evtchn_unbind = ev_unbind,
    .evtchn_notify = ev_notify,
    .evtchn_fd = ev_fd,
    .evtchn_pending = ev_pending,
    .evtchn_unmask = ev_unmask,
    .gnttab_map = gt_map,
    .gnttab_unmap = gt_unmap,
    .gnttab_copy = gt_copy,
    .xs_read = xs_read,
    .xs_write = xs_write,
    .xs_mkdir = xs_mkdir,
    .xs_rm = xs_rm,
    .xs_directory = xs_directory,
    .xs_set_perms = xs_set_perms,
    .xs_watch = xs_watch,
    .xs_unwatch = xs_unwatch,
    .xs_watch_fd = xs_watch_fd,
    .xs_read_watch = xs_read_watch,
    .xs_transaction_start = xs_txn_start,
    .xs_transaction_end = xs_txn_end,
    .destroy = fake_destroy,
};

struct fake_platform *fake_platform_new(uint32_t self_domid)
{
    struct fake_platform *fp = calloc(1, sizeof(*fp));
    if (!fp)
        abort();
    fp->base.ops = &fake_ops;
    fp->base.self_domid = self_domid;
    fp->memfd = memfd_create("fake-guest", MFD_CLOEXEC);
    if (fp->memfd < 0 || ftruncate(fp->memfd, (off_t)FAKE_GUEST_PAGES * PAGE) < 0)
        abort();
    fp->guest = mmap(NULL, (size_t)FAKE_GUEST_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fp->memfd, 0);
    if (fp->guest == MAP_FAILED)
        abort();
    fp->next_gref = 8; /* low refs are reserved in Xen */
    return fp;
}

struct xenbus_platform *fake_platform_base(struct fake_platform *fp)
{
    return &fp->base;
}

void fake_xs_printf(struct fake_platform *fp, const char *dir, const char *key, const char *fmt,
                    ...)
{
    char path[256], val[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    fake_xs_write(fp, path, val);
}
