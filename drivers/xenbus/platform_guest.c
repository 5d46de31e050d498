/* The guest platform: the ops of platform.h over the guest runtime (a driver domain). Event
 * handlers run in the callback vector and only set a port's bit; the backend's loop takes
 * fired ports with evtchn_pending. Watch events are read from the runtime's queue and sorted
 * by token tag into per-platform queues. Grant maps go into a window above RAM, handed out in
 * contiguous runs of pages (a multi-ref map is one range, as the interface promises).
 * Invariants: a port belongs to at most one platform; a page of the window is either free or
 * holds exactly one grant map whose handle is kept for its unmap. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/event_channel.h>
#include <kxen/grant_table.h>
#include <kxen/io/xs_wire.h>

#include "guest/evtchn.h"
#include "guest/hypercall.h"
#include "guest/runtime.h"
#include "guest/xenbus.h"

#include "platform_guest.h"

#define NR_PORTS EVTCHN_2L_NR_CHANNELS
#define WATCH_Q 256
#define WPATH_MAX 256
#define WTOKEN_MAX 64
#define TAG_MAX 8
#define COPY_BATCH 32

struct watch_ev {
    char path[WPATH_MAX];
    char token[WTOKEN_MAX];
};

struct guest_platform {
    struct xenbus_platform base;
    char tag[TAG_MAX];
    struct watch_ev q[WATCH_Q];
    unsigned int q_head, q_len, q_dropped;
};

static struct guest_platform *platforms[XENBUS_GUEST_MAX_PLATFORMS];
static struct guest_platform *port_owner[NR_PORTS];
static volatile unsigned long fired[NR_PORTS / (8 * sizeof(unsigned long))];
static uint32_t map_handle[XENBUS_GUEST_MAP_PAGES];
static uint16_t map_run[XENBUS_GUEST_MAP_PAGES]; /* at a run's first page: its length; else 0 */
static bool map_used[XENBUS_GUEST_MAP_PAGES];
static unsigned int nr_mapped;

static struct guest_platform *gp(struct xenbus_platform *p)
{
    return (struct guest_platform *)p;
}

/* ---- Event channels --------------------------------------------------------------------- */

static void port_fired(evtchn_port_t port, void *data)
{
    (void)data;
    __atomic_fetch_or(&fired[port / (8 * sizeof(unsigned long))],
                      1ul << (port % (8 * sizeof(unsigned long))), __ATOMIC_SEQ_CST);
}

static int g_bind(struct xenbus_platform *p, uint32_t domid, uint32_t remote_port)
{
    struct evtchn_bind_interdomain b = {.remote_dom = (domid_t)domid, .remote_port = remote_port};
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &b);
    if (rc)
        return (int)rc;
    if (b.local_port >= NR_PORTS) {
        evtchn_close(b.local_port);
        return -EINVAL;
    }
    port_owner[b.local_port] = gp(p);
    rc = evtchn_bind(b.local_port, port_fired, NULL);
    if (rc) {
        port_owner[b.local_port] = NULL;
        evtchn_close(b.local_port);
        return (int)rc;
    }
    return (int)b.local_port;
}

static int g_unbind(struct xenbus_platform *p, uint32_t port)
{
    if (port >= NR_PORTS || port_owner[port] != gp(p))
        return -EINVAL;
    evtchn_unbind(port);
    port_owner[port] = NULL;
    __atomic_fetch_and(&fired[port / (8 * sizeof(unsigned long))],
                       ~(1ul << (port % (8 * sizeof(unsigned long)))), __ATOMIC_SEQ_CST);
    return evtchn_close(port);
}

static int g_notify(struct xenbus_platform *p, uint32_t port)
{
    (void)p;
    return evtchn_send(port);
}

static int g_evtchn_fd(struct xenbus_platform *p)
{
    (void)p;
    return -ENOSYS; /* no descriptors: the driver domain's loop asks xenbus_platform_guest_pending
                     */
}

static int g_pending(struct xenbus_platform *p)
{
    const unsigned int bits = 8 * sizeof(unsigned long);
    for (unsigned int w = 0; w < NR_PORTS / bits; w++) {
        unsigned long word = fired[w];
        while (word) {
            unsigned int b = (unsigned int)__builtin_ctzl(word);
            word &= word - 1;
            uint32_t port = w * bits + b;
            if (port_owner[port] != gp(p))
                continue;
            __atomic_fetch_and(&fired[w], ~(1ul << b), __ATOMIC_SEQ_CST);
            return (int)port;
        }
    }
    return -EAGAIN;
}

static int g_unmask(struct xenbus_platform *p, uint32_t port)
{
    (void)p;
    (void)port; /* the runtime unmasks after port_fired ran; the bit stays until taken */
    return 0;
}

/* ---- Grants ----------------------------------------------------------------------------- */

static uint64_t slot_addr(unsigned int s)
{
    return XENBUS_GUEST_MAP_BASE + (uint64_t)s * 4096u;
}

static int run_alloc(uint32_t count)
{
    unsigned int run = 0;
    for (unsigned int s = 0; s < XENBUS_GUEST_MAP_PAGES; s++) {
        run = map_used[s] ? 0 : run + 1;
        if (run == count)
            return (int)(s + 1 - count);
    }
    return -ENOSPC;
}

static void unmap_pages(unsigned int first, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        unsigned int s = first + i;
        if (!map_used[s])
            continue;
        struct gnttab_unmap_grant_ref op = {.host_addr = slot_addr(s), .handle = map_handle[s]};
        HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
        map_used[s] = false;
        nr_mapped--;
    }
    map_run[first] = 0;
}

static int g_map(struct xenbus_platform *p, uint32_t domid, uint32_t count, const uint32_t *refs,
                 bool readonly, void **addr)
{
    (void)p;
    if (count == 0 || count > 64)
        return -EINVAL;
    int first = run_alloc(count);
    if (first < 0)
        return first;
    for (uint32_t i = 0; i < count; i++) {
        unsigned int s = (unsigned int)first + i;
        struct gnttab_map_grant_ref op = {.host_addr = slot_addr(s),
                                          .flags =
                                              GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0),
                                          .ref = refs[i],
                                          .dom = (domid_t)domid};
        long rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
        if (rc || op.status != GNTST_okay) {
            map_run[first] = (uint16_t)count;
            unmap_pages((unsigned int)first, i);
            return op.status == GNTST_no_device_space ? -ENOSPC : -EFAULT;
        }
        map_used[s] = true;
        map_handle[s] = op.handle;
        nr_mapped++;
    }
    map_run[first] = (uint16_t)count;
    *addr = (void *)(uintptr_t)slot_addr((unsigned int)first);
    return 0;
}

static int g_unmap(struct xenbus_platform *p, void *addr, uint32_t count)
{
    (void)p;
    uint64_t a = (uint64_t)(uintptr_t)addr;
    if (a < XENBUS_GUEST_MAP_BASE || (a & 4095))
        return -EINVAL;
    uint64_t s = (a - XENBUS_GUEST_MAP_BASE) / 4096u;
    if (s >= XENBUS_GUEST_MAP_PAGES || map_run[s] != count)
        return -EINVAL;
    unmap_pages((unsigned int)s, count);
    return 0;
}

unsigned int xenbus_platform_guest_mapped(void)
{
    return nr_mapped;
}

/* One local piece: the guest is identity mapped, so its frame is its address >> 12. */
static void copy_local(struct gnttab_copy_ptr *ptr, const uint8_t *local)
{
    ptr->u.gmfn = (uintptr_t)local >> 12;
    ptr->domid = DOMID_SELF;
    ptr->offset = (uint16_t)((uintptr_t)local & 4095);
}

static int run_copies(struct gnttab_copy *ops, unsigned int *owner, unsigned int n,
                      struct xenbus_gnttab_copy *segs)
{
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_copy, ops, n);
    for (unsigned int i = 0; i < n; i++) {
        int16_t st = rc ? GNTST_general_error : ops[i].status;
        if (st != GNTST_okay)
            segs[owner[i]].status = st;
    }
    return rc ? (int)rc : 0;
}

/* Each segment is one copy, or two where the local side crosses a page (a copy's both
 * sides must stay inside one page). */
static int g_copy(struct xenbus_platform *p, uint32_t count, struct xenbus_gnttab_copy *segs)
{
    (void)p;
    struct gnttab_copy ops[COPY_BATCH];
    unsigned int owner[COPY_BATCH];
    unsigned int n = 0;
    int rc = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct xenbus_gnttab_copy *s = &segs[i];
        s->status = GNTST_okay;
        if ((uint32_t)s->offset + s->len > 4096u) {
            s->status = GNTST_bad_copy_arg;
            continue;
        }
        uint16_t done = 0;
        while (done < s->len) {
            const uint8_t *local = (const uint8_t *)s->local + done;
            uint16_t piece = (uint16_t)(4096u - ((uintptr_t)local & 4095));
            if (piece > s->len - done)
                piece = (uint16_t)(s->len - done);
            struct gnttab_copy *op = &ops[n];
            memset(op, 0, sizeof(*op));
            struct gnttab_copy_ptr *grant = s->to_grant ? &op->dest : &op->source;
            grant->u.ref = s->ref;
            grant->domid = (domid_t)s->domid;
            grant->offset = (uint16_t)(s->offset + done);
            copy_local(s->to_grant ? &op->source : &op->dest, local);
            op->len = piece;
            op->flags = s->to_grant ? GNTCOPY_dest_gref : GNTCOPY_source_gref;
            owner[n++] = i;
            done = (uint16_t)(done + piece);
            if (n == COPY_BATCH) {
                int r = run_copies(ops, owner, n, segs);
                rc = rc ? rc : r;
                n = 0;
            }
        }
    }
    if (n) {
        int r = run_copies(ops, owner, n, segs);
        rc = rc ? rc : r;
    }
    return rc;
}

/* ---- Xenstore --------------------------------------------------------------------------- */

static int g_read(struct xenbus_platform *p, xenbus_txn_t t, const char *path, char *buf,
                  size_t len)
{
    (void)p;
    int rc = xenbus_read(t, path, buf, len);
    return rc == -E2BIG ? -EOVERFLOW : rc;
}

static int g_write(struct xenbus_platform *p, xenbus_txn_t t, const char *path, const char *val)
{
    (void)p;
    return xenbus_write(t, path, val);
}

static int g_mkdir(struct xenbus_platform *p, xenbus_txn_t t, const char *path)
{
    (void)p;
    return xenbus_mkdir(t, path);
}

static int g_rm(struct xenbus_platform *p, xenbus_txn_t t, const char *path)
{
    (void)p;
    return xenbus_rm(t, path);
}

static int g_directory(struct xenbus_platform *p, xenbus_txn_t t, const char *path, char ***entries,
                       unsigned int *n)
{
    (void)p;
    static char buf[XENSTORE_PAYLOAD_MAX + 1];
    int cnt = xenbus_directory(t, path, buf, sizeof(buf) - 1);
    if (cnt < 0)
        return cnt == -E2BIG ? -EOVERFLOW : cnt;
    size_t bytes = 0;
    for (int i = 0; i < cnt; i++)
        bytes += strlen(buf + bytes) + 1;
    /* One block: the pointers, then the names they point at (freed at once by the caller). */
    char **e = malloc((size_t)cnt * sizeof(char *) + bytes + 1);
    if (!e)
        return -ENOMEM;
    char *names = (char *)(e + cnt);
    memcpy(names, buf, bytes);
    for (int i = 0, off = 0; i < cnt; i++) {
        e[i] = names + off;
        off += (int)strlen(names + off) + 1;
    }
    *entries = e;
    *n = (unsigned int)cnt;
    return 0;
}

static int g_set_perms(struct xenbus_platform *p, xenbus_txn_t t, const char *path,
                       const struct xenbus_perm *perms, unsigned int n)
{
    (void)p;
    (void)t;
    (void)path;
    (void)perms;
    (void)n;
    return -EOPNOTSUPP; /* the toolstack sets a device's permissions, never its backend */
}

static int tagged(const struct guest_platform *g, const char *token, char *out, size_t len)
{
    int n = snprintf(out, len, "%s|%s", g->tag, token);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int g_watch(struct xenbus_platform *p, const char *path, const char *token)
{
    char tok[WTOKEN_MAX];
    int rc = tagged(gp(p), token, tok, sizeof(tok));
    return rc ? rc : xenbus_watch(path, tok, NULL, NULL);
}

static int g_unwatch(struct xenbus_platform *p, const char *path, const char *token)
{
    char tok[WTOKEN_MAX];
    int rc = tagged(gp(p), token, tok, sizeof(tok));
    return rc ? rc : xenbus_unwatch(path, tok);
}

static int g_watch_fd(struct xenbus_platform *p)
{
    (void)p;
    return -ENOSYS;
}

/* Moves every event the runtime queued to the queue of the platform its tag names. */
static void sort_watches(void)
{
    char path[WPATH_MAX], token[WTOKEN_MAX];
    while (xenbus_read_watch(path, sizeof(path), token, sizeof(token), 1) == 0) {
        const char *bar = strchr(token, '|');
        for (unsigned int i = 0; bar && i < XENBUS_GUEST_MAX_PLATFORMS; i++) {
            struct guest_platform *g = platforms[i];
            size_t tl = g ? strlen(g->tag) : 0;
            if (!g || (size_t)(bar - token) != tl || strncmp(token, g->tag, tl))
                continue;
            if (g->q_len == WATCH_Q) {
                g->q_dropped++;
                break;
            }
            struct watch_ev *ev = &g->q[(g->q_head + g->q_len++) % WATCH_Q];
            strlcpy(ev->path, path, sizeof(ev->path));
            strlcpy(ev->token, bar + 1, sizeof(ev->token));
            break;
        }
    }
}

static int g_read_watch(struct xenbus_platform *p, char *path, size_t path_len, char *token,
                        size_t token_len)
{
    struct guest_platform *g = gp(p);
    sort_watches();
    if (!g->q_len)
        return 0;
    struct watch_ev *ev = &g->q[g->q_head];
    g->q_head = (g->q_head + 1) % WATCH_Q;
    g->q_len--;
    if (strlen(ev->path) >= path_len || strlen(ev->token) >= token_len)
        return -EOVERFLOW;
    strlcpy(path, ev->path, path_len);
    strlcpy(token, ev->token, token_len);
    return 1;
}

static int g_txn_start(struct xenbus_platform *p, xenbus_txn_t *t)
{
    (void)p;
    xenbus_transaction_t x;
    int rc = xenbus_transaction_start(&x);
    if (!rc)
        *t = x;
    return rc;
}

static int g_txn_end(struct xenbus_platform *p, xenbus_txn_t t, bool abort)
{
    (void)p;
    return xenbus_transaction_end(t, abort);
}

bool xenbus_platform_guest_pending(void)
{
    for (unsigned int w = 0; w < NR_PORTS / (8 * sizeof(unsigned long)); w++)
        if (fired[w])
            return true;
    for (unsigned int i = 0; i < XENBUS_GUEST_MAX_PLATFORMS; i++)
        if (platforms[i] && platforms[i]->q_len)
            return true;
    return false;
}

static void g_destroy(struct xenbus_platform *p)
{
    for (unsigned int port = 0; port < NR_PORTS; port++)
        if (port_owner[port] == gp(p))
            g_unbind(p, port);
    for (unsigned int i = 0; i < XENBUS_GUEST_MAX_PLATFORMS; i++)
        if (platforms[i] == gp(p))
            platforms[i] = NULL;
    free(p);
}

static const struct xenbus_platform_ops guest_ops = {
    .evtchn_bind_interdomain = g_bind,
    .evtchn_unbind = g_unbind,
    .evtchn_notify = g_notify,
    .evtchn_fd = g_evtchn_fd,
    .evtchn_pending = g_pending,
    .evtchn_unmask = g_unmask,
    .gnttab_map = g_map,
    .gnttab_unmap = g_unmap,
    .gnttab_copy = g_copy,
    .xs_read = g_read,
    .xs_write = g_write,
    .xs_mkdir = g_mkdir,
    .xs_rm = g_rm,
    .xs_directory = g_directory,
    .xs_set_perms = g_set_perms,
    .xs_watch = g_watch,
    .xs_unwatch = g_unwatch,
    .xs_watch_fd = g_watch_fd,
    .xs_read_watch = g_read_watch,
    .xs_transaction_start = g_txn_start,
    .xs_transaction_end = g_txn_end,
    .destroy = g_destroy,
};

struct xenbus_platform *xenbus_platform_guest_open(const char *tag)
{
    int self = xen_self_domid();
    if (self < 0 || !tag || !*tag || strlen(tag) >= TAG_MAX || strchr(tag, '|')) {
        errno = self < 0 ? -self : EINVAL;
        return NULL;
    }
    unsigned int slot = 0;
    while (slot < XENBUS_GUEST_MAX_PLATFORMS && platforms[slot])
        slot++;
    struct guest_platform *g = slot < XENBUS_GUEST_MAX_PLATFORMS ? calloc(1, sizeof(*g)) : NULL;
    if (!g) {
        errno = ENOMEM;
        return NULL;
    }
    g->base.ops = &guest_ops;
    g->base.self_domid = (uint32_t)self;
    strlcpy(g->tag, tag, sizeof(g->tag));
    platforms[slot] = g;
    return &g->base;
}
