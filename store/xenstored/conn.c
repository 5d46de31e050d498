/* Connections: a transport moves bytes (unix socket, guest ring) through struct xs_conn_ops;
 * this layer frames xenstore messages out of the received bytes, hands complete requests to
 * the protocol in arrival order and queues replies and watch events. */
#include "xenstored.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "kxen/util.h"

/* A peer that stops reading loses its connection rather than our memory. */
#define XS_CONN_OUT_MAX (16u << 20)

struct conn_extra {
    struct event *reaper;
    uint64_t sent, queued; /* bytes handed to the transport / queued so far */
    uint64_t *reply_end;   /* end offsets (in queued bytes) of unsent replies, a FIFO */
    uint32_t rhead, rcount, rcap;
    int busy;
    bool flush_pending; /* in d->pending: flushed once the current request is answered */
};

static struct conn_extra *extra(struct xs_conn *c)
{
    return (struct conn_extra *)(c + 1);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    xs_conn_free(arg);
}

struct xs_conn *xs_conn_new(struct xs_daemon *d, const struct xs_conn_ops *ops, void *transport,
                            uint32_t domid)
{
    struct xs_conn *c = calloc(1, sizeof(*c) + sizeof(struct conn_extra));
    if (!c)
        return NULL;
    c->d = d;
    c->ops = ops;
    c->transport = transport;
    c->domid = domid;
    c->next_txid = 1;
    c->id = ++d->next_conn_id;
    c->in = evbuffer_new();
    c->out = evbuffer_new();
    extra(c)->reaper = event_new(d->base, -1, 0, reap_cb, c);
    if (!c->in || !c->out || !extra(c)->reaper) {
        if (c->in)
            evbuffer_free(c->in);
        if (c->out)
            evbuffer_free(c->out);
        if (extra(c)->reaper)
            event_free(extra(c)->reaper);
        free(c);
        return NULL;
    }
    c->next = d->conns;
    if (d->conns)
        d->conns->prev = c;
    d->conns = c;
    return c;
}

bool xs_conn_privileged(const struct xs_conn *conn)
{
    return conn->domid == 0;
}

struct xs_ctx xs_conn_ctx(struct xs_conn *conn, struct xs_txn *tx)
{
    struct xs_ctx c = {conn->d, conn, tx, conn->domid, XS_NO_TARGET, xs_conn_privileged(conn)};
    if (!c.privileged) {
        struct xs_domain *dom = xs_domain_get(conn->d, conn->domid, false);
        if (dom)
            c.target = dom->target;
    }
    return c;
}

void xs_conn_free(struct xs_conn *c)
{
    struct xs_daemon *d = c->d;
    if (c->prev)
        c->prev->next = c->next;
    else if (d->conns == c)
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (extra(c)->flush_pending)
        for (uint32_t i = 0; i < d->npending; i++)
            if (d->pending[i] == c)
                d->pending[i] = d->pending[--d->npending];
    xs_watch_remove_conn(d->watches, c);
    for (uint32_t i = 0; i < c->ntxns; i++)
        xs_txn_free(c->txns[i]);
    free(c->txns);
    struct xs_domain *dom = c->domid ? xs_domain_get(d, c->domid, false) : NULL;
    if (dom && dom->conn == c)
        dom->conn = NULL;
    if (c->ops && c->ops->destroy)
        c->ops->destroy(c);
    evbuffer_free(c->in);
    evbuffer_free(c->out);
    event_free(extra(c)->reaper);
    free(extra(c)->reply_end);
    free(c);
}

void xs_conn_close(struct xs_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    /* Freed from the event loop, never under a caller that may still hold the pointer. */
    event_active(extra(c)->reaper, 0, 0);
}

static void conn_flush(struct xs_conn *c)
{
    struct conn_extra *x = extra(c);
    size_t before = evbuffer_get_length(c->out);
    if (before && c->ops->flush && c->ops->flush(c) < 0) {
        xs_conn_close(c);
        return;
    }
    /* Whatever left the buffer counts, by this flush or by a transport that wrote on its
     * own (a ring's event callback): else replies it wrote stay "unsent" and the peer is
     * stalled by its outstanding quota for good. */
    x->sent = x->queued - evbuffer_get_length(c->out);
    while (x->rcount && x->reply_end[x->rhead] <= x->sent) {
        x->rhead = (x->rhead + 1) % x->rcap;
        x->rcount--;
    }
    if (evbuffer_get_length(c->out) > XS_CONN_OUT_MAX) {
        xs_trace(c->d, "conn %llu: peer stopped reading, closing", (unsigned long long)c->id);
        xs_conn_close(c);
    }
}

static void note_reply(struct xs_conn *c)
{
    struct conn_extra *x = extra(c);
    if (xs_conn_privileged(c))
        return; /* only unprivileged peers have an outstanding-requests quota */
    if (x->rcount == x->rcap) {
        uint32_t cap = x->rcap ? x->rcap * 2 : 32;
        uint64_t *n = malloc(cap * sizeof(*n));
        if (!n)
            return;
        for (uint32_t i = 0; i < x->rcount; i++)
            n[i] = x->reply_end[(x->rhead + i) % x->rcap];
        free(x->reply_end);
        x->reply_end = n;
        x->rcap = cap;
        x->rhead = 0;
    }
    x->reply_end[(x->rhead + x->rcount) % x->rcap] = x->queued;
    x->rcount++;
}

static int pending_add(struct xs_daemon *d, struct xs_conn *c)
{
    if (d->npending == d->cappending) {
        uint32_t cap = d->cappending ? d->cappending * 2 : 16;
        struct xs_conn **p = realloc(d->pending, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        d->pending = p;
        d->cappending = cap;
    }
    d->pending[d->npending++] = c;
    return 0;
}

static void pending_flush(struct xs_daemon *d)
{
    /* Flushing can queue nothing new (no request runs), but stay robust to it. */
    while (d->npending) {
        struct xs_conn *c = d->pending[--d->npending];
        extra(c)->flush_pending = false;
        if (!c->closing)
            conn_flush(c);
    }
}

void xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *a,
                  size_t alen, const void *b, size_t blen)
{
    if (c->closing)
        return;
    struct xsd_sockmsg h = {type, req_id, tx_id, (uint32_t)(alen + blen)};
    if (alen + blen > XENSTORE_PAYLOAD_MAX) {
        /* Only replies can get here oversized (a listing): Xen's answer is E2BIG. */
        const char *e = "E2BIG";
        h.type = XS_ERROR;
        h.len = 6;
        a = e;
        alen = 6;
        blen = 0;
    }
    if (evbuffer_add(c->out, &h, sizeof(h)) || (alen && evbuffer_add(c->out, a, alen)) ||
        (blen && evbuffer_add(c->out, b, blen))) {
        xs_conn_close(c);
        return;
    }
    xs_trace(c->d, "OUT conn %llu type %u req %u tx %u len %u%s%.*s", (unsigned long long)c->id,
             h.type, h.req_id, h.tx_id, h.len,
             h.type == XS_ERROR || h.type == XS_WATCH_EVENT ? " " : "",
             h.type == XS_ERROR || h.type == XS_WATCH_EVENT ? (int)KXEN_MIN(alen, 128) : 0,
             (const char *)a);
    extra(c)->queued += sizeof(h) + h.len;
    if (type != XS_WATCH_EVENT)
        note_reply(c);
    if (extra(c)->busy)
        return; /* flushed when its own requests are done */
    if (c->d->handling) {
        /* Another connection's request caused this (a watch event): its reply goes out
         * first, as Xen's daemon does, then everything it triggered. */
        if (!extra(c)->flush_pending && pending_add(c->d, c) == 0)
            extra(c)->flush_pending = true;
        if (extra(c)->flush_pending)
            return;
    }
    conn_flush(c);
}

static bool stalled(struct xs_conn *c)
{
    return !xs_conn_privileged(c) && extra(c)->rcount >= c->d->quota.outstanding;
}

void xs_conn_process(struct xs_conn *c)
{
    struct conn_extra *x = extra(c);
    char *buf = NULL;
    x->busy++;
    c->d->handling++;
    while (!c->closing && !stalled(c)) {
        struct xsd_sockmsg h;
        if (evbuffer_copyout(c->in, &h, sizeof(h)) != (ssize_t)sizeof(h))
            break;
        if (h.len > XENSTORE_PAYLOAD_MAX) {
            /* No way to resynchronise with a peer that lies about lengths. */
            xs_trace(c->d, "conn %llu: payload length %u too large, closing",
                     (unsigned long long)c->id, h.len);
            if (c->ops->protocol_error)
                c->ops->protocol_error(c);
            xs_conn_close(c);
            break;
        }
        if (evbuffer_get_length(c->in) < sizeof(h) + h.len)
            break;
        if (!buf && !(buf = malloc(XENSTORE_PAYLOAD_MAX + 1))) {
            xs_conn_close(c);
            break;
        }
        evbuffer_drain(c->in, sizeof(h));
        evbuffer_remove(c->in, buf, h.len);
        buf[h.len] = '\0';
        c->d->stats_requests++;
        xs_proto_handle(c, &h, buf);
    }
    free(buf);
    x->busy--;
    if (!c->closing)
        conn_flush(c);
    if (--c->d->handling == 0)
        pending_flush(c->d);
}

void xs_conn_output_drained(struct xs_conn *c)
{
    bool was = stalled(c);
    conn_flush(c);
    if (was && !stalled(c) && !c->closing)
        xs_conn_process(c);
}
