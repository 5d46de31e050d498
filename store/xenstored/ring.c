/* Guest ring transport: the xenstore ring page (struct xenstore_domain_interface) shared with
 * a guest, plus an event fd for its notifications. Bytes move through libkxenring's
 * consume/produce: the indices we own (req_cons, rsp_prod) are kept locally, the guest's
 * (req_prod, rsp_cons) are read once per pass and checked, and a guest whose indices claim
 * more than a ring's worth of data is disconnected. */
#include "xenstored.h"
#include "ring_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <kxen/ring_safe.h>

#include "kxen/log.h"
#include "kxen/util.h"

/* Requests we buffer before leaving the rest in the ring (the guest then waits). */
#define RING_IN_MAX (4 * (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX))

struct ring_conn {
    const struct xs_ring_backend *be;
    struct xs_ring_mapping m;
    struct event *ev;
    uint32_t req_cons, rsp_prod; /* ours: only published to the page, never read back */
    struct kxen_ring_guard req_guard, rsp_guard;
    bool in_cb, kick;
};

static struct xenstore_domain_interface *intf_of(struct ring_conn *r)
{
    return r->m.page;
}

static XENSTORE_RING_IDX peer_index(const XENSTORE_RING_IDX *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void ring_fail(struct xs_conn *c, struct ring_conn *r, uint32_t why)
{
    struct xenstore_domain_interface *intf = intf_of(r);
    char what[160];
    kxen_ring_guard_describe(r->req_guard.dead ? &r->req_guard : &r->rsp_guard, what, sizeof(what));
    log_warn("domain %u: xenstore ring %s (%s), disconnecting", c->domid,
             why == XENSTORE_ERROR_RINGIDX ? "indices are invalid" : "protocol error", what);
    __atomic_store_n(&intf->error, why, __ATOMIC_RELEASE);
    r->be->notify(r->be, &r->m);
    xs_conn_close(c);
}

/* Guest -> us. Returns bytes moved or -errno (-EPROTO: hostile indices). */
static int ring_read(struct xs_conn *c, struct ring_conn *r)
{
    struct kxen_bytering req = kxen_bytering_xs_req(intf_of(r));
    char buf[XENSTORE_RING_SIZE];
    size_t room = RING_IN_MAX - KXEN_MIN(RING_IN_MAX, evbuffer_get_length(c->in));
    ssize_t n =
        kxen_bytering_consume(&req, &r->req_cons, buf, KXEN_MIN(room, sizeof(buf)), &r->req_guard);
    if (n > 0 && evbuffer_add(c->in, buf, (size_t)n))
        return -ENOMEM;
    return (int)n;
}

/* Us -> guest. Returns bytes moved or -errno (-EPROTO: hostile indices). */
static int ring_write(struct xs_conn *c, struct ring_conn *r)
{
    struct kxen_bytering rsp = kxen_bytering_xs_rsp(intf_of(r));
    char buf[XENSTORE_RING_SIZE];
    ev_ssize_t have = evbuffer_copyout(c->out, buf, sizeof(buf));
    if (have < 0)
        return -ENOMEM;
    ssize_t n = kxen_bytering_produce(&rsp, &r->rsp_prod, buf, (size_t)have, &r->rsp_guard);
    if (n > 0)
        evbuffer_drain(c->out, (size_t)n);
    return (int)n;
}

static int ring_flush(struct xs_conn *c)
{
    struct ring_conn *r = c->transport;
    int n = ring_write(c, r);
    if (n < 0)
        return n;
    if (n > 0) {
        if (r->in_cb)
            r->kick = true;
        else
            r->be->notify(r->be, &r->m);
    }
    return 0;
}

static void ring_destroy(struct xs_conn *c)
{
    struct ring_conn *r = c->transport;
    if (r->ev)
        event_free(r->ev);
    r->be->unmap(r->be, &r->m);
    free(r);
}

/* Tell the guest why it is being disconnected (Xen's error field). */
static void ring_protocol_error(struct xs_conn *c)
{
    struct ring_conn *r = c->transport;
    __atomic_store_n(&intf_of(r)->error, XENSTORE_ERROR_PROTO, __ATOMIC_RELEASE);
    r->kick = true;
    if (!r->in_cb)
        r->be->notify(r->be, &r->m);
}

static const struct xs_conn_ops ring_ops = {"ring", ring_flush, ring_destroy, ring_protocol_error};

/* The guest asked to start over (XENSTORE_RECONNECT): drop its watches, transactions and
 * buffered bytes, reset the ring and say we are connected again. */
static void ring_reconnect(struct xs_conn *c, struct ring_conn *r)
{
    struct xenstore_domain_interface *intf = intf_of(r);
    xs_watch_remove_conn(c->d->watches, c);
    for (uint32_t i = 0; i < c->ntxns; i++)
        xs_txn_free(c->txns[i]);
    c->ntxns = 0;
    evbuffer_drain(c->in, evbuffer_get_length(c->in));
    evbuffer_drain(c->out, evbuffer_get_length(c->out));
    r->req_cons = r->rsp_prod = 0;
    memset(&r->req_guard, 0, sizeof(r->req_guard));
    memset(&r->rsp_guard, 0, sizeof(r->rsp_guard));
    intf->req_cons = intf->req_prod = intf->rsp_cons = intf->rsp_prod = 0;
    __atomic_store_n(&intf->connection, XENSTORE_CONNECTED, __ATOMIC_RELEASE);
    r->kick = true;
}

static void ring_event_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct xs_conn *c = arg;
    struct ring_conn *r = c->transport;
    uint64_t cnt;
    if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN && errno != EINTR) {
        xs_conn_close(c);
        return;
    }
    if (c->closing)
        return;
    r->in_cb = true;
    if (__atomic_load_n(&intf_of(r)->connection, __ATOMIC_ACQUIRE) == XENSTORE_RECONNECT)
        ring_reconnect(c, r);
    for (int pass = 0; pass < 64 && !c->closing; pass++) {
        int w = ring_write(c, r), rd = w < 0 ? 0 : ring_read(c, r);
        if (w < 0 || rd < 0) {
            r->in_cb = false;
            ring_fail(c, r, XENSTORE_ERROR_RINGIDX);
            return;
        }
        if (w > 0)
            r->kick = true;
        xs_conn_output_drained(c);
        xs_conn_process(c);
        if (w == 0 && rd == 0)
            break;
    }
    r->in_cb = false;
    if (r->kick) {
        r->kick = false;
        r->be->notify(r->be, &r->m);
    }
}

/* Watches m's event fd for conn (never blocking: the callback also runs when forced). */
static int ring_watch_fd(struct xs_conn *c, struct ring_conn *r)
{
    int fl = fcntl(r->m.evfd, F_GETFL);
    if (fl >= 0)
        fcntl(r->m.evfd, F_SETFL, fl | O_NONBLOCK);
    r->ev = event_new(c->d->base, r->m.evfd, EV_READ | EV_PERSIST, ring_event_cb, c);
    if (!r->ev || event_add(r->ev, NULL))
        return -ENOMEM;
    /* The guest may have queued requests before we were told about it. */
    event_active(r->ev, EV_READ, 0);
    return 0;
}

int xs_ring_conn_rebind(struct xs_conn *c, const struct xs_ring_backend *be,
                        const struct xs_ring_mapping *m)
{
    if (c->ops != &ring_ops || ((struct ring_conn *)c->transport)->be != be) {
        be->unmap(be, (struct xs_ring_mapping *)m);
        return -EINVAL;
    }
    struct ring_conn *r = c->transport;
    if (r->ev)
        event_free(r->ev);
    r->ev = NULL;
    r->be->unmap(r->be, &r->m);
    r->m = *m;
    /* Same ring page: our indices carry on from what the page says. */
    r->req_cons = peer_index(&intf_of(r)->req_cons);
    r->rsp_prod = peer_index(&intf_of(r)->rsp_prod);
    int e = ring_watch_fd(c, r);
    if (e)
        xs_conn_close(c);
    return e;
}

int xs_ring_conn_new(struct xs_daemon *d, uint32_t domid, const struct xs_ring_backend *be,
                     const struct xs_ring_mapping *m, struct xs_conn **out)
{
    struct ring_conn *r = calloc(1, sizeof(*r));
    if (!r) {
        be->unmap(be, (struct xs_ring_mapping *)m);
        return -ENOMEM;
    }
    r->be = be;
    r->m = *m;
    struct xenstore_domain_interface *intf = intf_of(r);
    /* Start from whatever the page holds; the checks above catch nonsense. */
    r->req_cons = peer_index(&intf->req_cons);
    r->rsp_prod = peer_index(&intf->rsp_prod);
    intf->server_features = XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR;
    struct xs_conn *c = xs_conn_new(d, &ring_ops, r, domid);
    if (!c) {
        be->unmap(be, &r->m);
        free(r);
        return -ENOMEM;
    }
    if (ring_watch_fd(c, r)) {
        xs_conn_free(c); /* destroy() unmaps */
        return -ENOMEM;
    }
    *out = c;
    return 0;
}
