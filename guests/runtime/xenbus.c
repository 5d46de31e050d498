/* xenbus client: requests over the store ring, replies and watch events reassembled by
 * xs_frame.c, waiting on the store event channel between ring polls. */
#include <stdbool.h>
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/io/xenbus.h>
#include <kxen/io/xs_wire.h>

#include "guest/evtchn.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/time.h"
#include "guest/xenbus.h"
#include "guest/xs_frame.h"

#define WATCH_QUEUE 256
#define MAX_WATCHES 64
#define WATCH_PATH_MAX 256
#define WATCH_TOKEN_MAX 64

static struct xenstore_domain_interface *xs_intf;
static evtchn_port_t xs_port;
static uint32_t xs_next_req_id = 1;
static int xs_broken; /* set on ring errors: the connection is not used again */
static struct xs_rx rx;
static char tx_buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];

/* The reply to the request in flight. */
static uint32_t awaited_req_id;
static bool reply_ready;
static uint32_t reply_type;
static size_t reply_len;
static char reply_buf[XENSTORE_PAYLOAD_MAX + 1];

static struct {
    char path[WATCH_PATH_MAX];
    char token[WATCH_TOKEN_MAX];
} watch_queue[WATCH_QUEUE];
static unsigned wq_head, wq_count, wq_dropped;

static struct {
    char path[WATCH_PATH_MAX];
    char token[WATCH_TOKEN_MAX];
    xenbus_watch_cb cb;
    void *ctx;
    bool used;
} watches[MAX_WATCHES];

static void xs_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data; /* waking the waiter is all that is needed: wait_until re-polls the ring */
}

int xenbus_init(void *ring, uint32_t port)
{
    if (!ring || (uintptr_t)ring % PAGE_SIZE)
        return -XEN_EINVAL;
    int rc = evtchn_bind(port, xs_event, 0);
    if (rc)
        return rc;
    xs_intf = ring;
    xs_port = port;
    return 0;
}

static void enqueue_watch(const char *payload, size_t len)
{
    const char *path, *token;
    if (xs_parse_watch_event(payload, len, &path, &token))
        return; /* malformed event: nothing to deliver */
    if (wq_count == WATCH_QUEUE) {
        wq_dropped++;
        return;
    }
    unsigned slot = (wq_head + wq_count) % WATCH_QUEUE;
    strlcpy(watch_queue[slot].path, path, WATCH_PATH_MAX);
    strlcpy(watch_queue[slot].token, token, WATCH_TOKEN_MAX);
    wq_count++;
}

/* Moves every complete message out of the ring: watch events to the queue, the awaited reply
 * to reply_buf. Returns 0 or -EIO/-EBADMSG (the connection is then marked broken). */
static int xs_pump(void)
{
    bool consumed = false;
    for (;;) {
        int rc = xs_rx_feed(&rx, xs_intf);
        if (rc < 0) {
            xs_broken = rc;
            return rc;
        }
        if (rc == 0)
            break;
        consumed = true;
        if (rx.hdr.type == XS_WATCH_EVENT) {
            enqueue_watch(rx.payload, rx.hdr.len);
        } else if (rx.hdr.req_id == awaited_req_id && !reply_ready) {
            reply_type = rx.hdr.type;
            reply_len = rx.hdr.len;
            memcpy(reply_buf, rx.payload, rx.hdr.len + 1);
            reply_ready = true;
        } /* else: a reply nobody waits for (a timed-out request): dropped */
        xs_rx_reset(&rx);
    }
    if (consumed)
        evtchn_send(xs_port); /* xenstored may be waiting for room */
    return 0;
}

static bool reply_or_broken(void *ctx)
{
    (void)ctx;
    return xs_pump() < 0 || reply_ready;
}

static bool req_room(void *ctx)
{
    (void)ctx;
    return xs_ring_req_room(xs_intf) > 0 || xs_pump() < 0;
}

/* One request/reply exchange. The reply payload is left in reply_buf/reply_len. */
static int xs_talk(uint32_t type, xenbus_transaction_t t, const char *const *parts, unsigned nparts,
                   bool last_nul)
{
    if (!xs_intf)
        return -XEN_ENODEV;
    if (xs_broken)
        return -XEN_EIO;
    uint32_t id = xs_next_req_id++;
    int len = xs_msg_build(tx_buf, sizeof(tx_buf), type, id, t, parts, nparts, last_nul);
    if (len < 0)
        return len;
    awaited_req_id = id;
    reply_ready = false;
    uint64_t deadline = monotonic_ns() + XENBUS_TIMEOUT_NS;
    for (int off = 0; off < len;) {
        int n = xs_ring_write(xs_intf, tx_buf + off, (size_t)(len - off));
        if (n < 0) {
            xs_broken = n;
            return n;
        }
        off += n;
        evtchn_send(xs_port);
        if (off < len && wait_until(req_room, 0, deadline))
            return -XEN_ETIMEDOUT;
        if (xs_broken)
            return -XEN_EIO;
    }
    int rc = wait_until(reply_or_broken, 0, deadline);
    awaited_req_id = 0;
    if (rc)
        return rc;
    if (xs_broken)
        return -XEN_EIO;
    if (reply_type == XS_ERROR)
        return xs_error_to_errno(reply_buf, reply_len);
    if (reply_type != type)
        return -XEN_EBADMSG;
    return 0;
}

int xenbus_read(xenbus_transaction_t t, const char *path, char *buf, size_t len)
{
    const char *parts[] = {path};
    int rc = xs_talk(XS_READ, t, parts, 1, true);
    if (rc)
        return rc;
    if (reply_len + 1 > len)
        return -XEN_E2BIG;
    memcpy(buf, reply_buf, reply_len);
    buf[reply_len] = '\0';
    return (int)strnlen(buf, reply_len);
}

int xenbus_write(xenbus_transaction_t t, const char *path, const char *value)
{
    const char *parts[] = {path, value};
    return xs_talk(XS_WRITE, t, parts, 2, false);
}

int xenbus_mkdir(xenbus_transaction_t t, const char *path)
{
    const char *parts[] = {path};
    return xs_talk(XS_MKDIR, t, parts, 1, true);
}

int xenbus_rm(xenbus_transaction_t t, const char *path)
{
    const char *parts[] = {path};
    return xs_talk(XS_RM, t, parts, 1, true);
}

int xenbus_directory(xenbus_transaction_t t, const char *path, char *buf, size_t len)
{
    const char *parts[] = {path};
    int rc = xs_talk(XS_DIRECTORY, t, parts, 1, true);
    if (rc)
        return rc;
    if (reply_len > len)
        return -XEN_E2BIG;
    memcpy(buf, reply_buf, reply_len);
    int count = 0;
    for (size_t i = 0; i < reply_len; i++)
        if (buf[i] == '\0')
            count++;
    /* A last name without its NUL (not what xenstored sends) still counts once terminated. */
    if (reply_len && buf[reply_len - 1] != '\0') {
        if (reply_len == len)
            return -XEN_E2BIG;
        buf[reply_len] = '\0';
        count++;
    }
    return count;
}

int xenbus_read_state(const char *path)
{
    char buf[24];
    int n = xenbus_read(XBT_NIL, path, buf, sizeof(buf));
    /* A peer that is gone shows up as ENOENT (its directory removed) or EACCES (its domain's
     * whole tree removed: a missing node under a parent we may no longer read), depending on
     * how late the read comes: both are Closed, as Xen's frontends take a state they cannot
     * read. */
    if (n == -XEN_ENOENT || n == -XEN_EACCES)
        return XenbusStateClosed;
    if (n <= 0)
        return n < 0 ? n : -XEN_EINVAL;
    unsigned long v = 0;
    for (int i = 0; i < n; i++) {
        /* A value from the store: digits only, and no wrap-around to a small number. */
        if (buf[i] < '0' || buf[i] > '9' || v > (~0UL - 9) / 10)
            return -XEN_EINVAL;
        v = v * 10 + (unsigned long)(buf[i] - '0');
    }
    return v > XenbusStateReconfigured ? XenbusStateUnknown : (int)v;
}

int xenbus_transaction_start(xenbus_transaction_t *t)
{
    const char *parts[] = {""};
    int rc = xs_talk(XS_TRANSACTION_START, XBT_NIL, parts, 1, true);
    if (rc)
        return rc;
    uint32_t id = 0;
    size_t i = 0;
    for (; i < reply_len && reply_buf[i] >= '0' && reply_buf[i] <= '9'; i++)
        id = id * 10 + (uint32_t)(reply_buf[i] - '0');
    if (i == 0 || id == 0)
        return -XEN_EBADMSG;
    *t = id;
    return 0;
}

int xenbus_transaction_end(xenbus_transaction_t t, int abort)
{
    const char *parts[] = {abort ? "F" : "T"};
    return xs_talk(XS_TRANSACTION_END, t, parts, 1, true);
}

int xenbus_watch(const char *path, const char *token, xenbus_watch_cb cb, void *ctx)
{
    if (strlen(path) >= WATCH_PATH_MAX || strlen(token) >= WATCH_TOKEN_MAX)
        return -XEN_E2BIG;
    int slot = -1;
    for (int i = 0; i < MAX_WATCHES; i++)
        if (!watches[i].used) {
            slot = i;
            break;
        }
    if (slot < 0)
        return -XEN_ENOSPC;
    const char *parts[] = {path, token};
    int rc = xs_talk(XS_WATCH, XBT_NIL, parts, 2, true);
    if (rc)
        return rc;
    strlcpy(watches[slot].path, path, WATCH_PATH_MAX);
    strlcpy(watches[slot].token, token, WATCH_TOKEN_MAX);
    watches[slot].cb = cb;
    watches[slot].ctx = ctx;
    watches[slot].used = true;
    return 0;
}

/* After a resume in a new domain xenstored knows nothing of this guest's watches (Xen's
 * xenbus resume registers them again); events already queued stay queued. */
int xenbus_resume(void)
{
    int rc = 0;
    for (int i = 0; i < MAX_WATCHES && !rc; i++) {
        if (!watches[i].used)
            continue;
        const char *parts[] = {watches[i].path, watches[i].token};
        rc = xs_talk(XS_WATCH, XBT_NIL, parts, 2, true);
    }
    return rc;
}

int xenbus_unwatch(const char *path, const char *token)
{
    const char *parts[] = {path, token};
    int rc = xs_talk(XS_UNWATCH, XBT_NIL, parts, 2, true);
    for (int i = 0; i < MAX_WATCHES; i++)
        if (watches[i].used && !strcmp(watches[i].path, path) && !strcmp(watches[i].token, token))
            watches[i].used = false;
    return rc;
}

/* The callback watching token, or -1. */
static int callback_slot(const char *token)
{
    for (int i = 0; i < MAX_WATCHES; i++)
        if (watches[i].used && watches[i].cb && !strcmp(watches[i].token, token))
            return i;
    return -1;
}

/* Runs the callback of every queued event that has one and keeps the others, in order, for
 * xenbus_read_watch. Every consumer of the queue goes through here first: an event taken by
 * read_watch for a token with a callback would be lost to the callback's owner (a frontend
 * would never hear its backend close). */
static int run_callbacks(void)
{
    int ran = 0;
    unsigned n = wq_count;
    for (unsigned k = 0; k < n; k++) {
        unsigned slot = wq_head;
        wq_head = (wq_head + 1) % WATCH_QUEUE;
        wq_count--;
        int w = callback_slot(watch_queue[slot].token);
        if (w >= 0) {
            watches[w].cb(watch_queue[slot].path, watch_queue[slot].token, watches[w].ctx);
            ran++;
        } else {
            unsigned back = (wq_head + wq_count) % WATCH_QUEUE;
            if (back != slot)
                watch_queue[back] = watch_queue[slot];
            wq_count++;
        }
    }
    return ran;
}

static bool watch_queued(void *ctx)
{
    (void)ctx;
    if (xs_pump() < 0)
        return true;
    run_callbacks();
    return wq_count > 0;
}

bool xenbus_watch_pending(void)
{
    return xs_intf && watch_queued(0);
}

int xenbus_read_watch(char *path, size_t plen, char *token, size_t tlen, uint64_t deadline_ns)
{
    if (!xs_intf)
        return -XEN_ENODEV;
    int rc = wait_until(watch_queued, 0, deadline_ns);
    if (rc)
        return rc;
    if (!wq_count)
        return xs_broken ? xs_broken : -XEN_EIO;
    strlcpy(path, watch_queue[wq_head].path, plen);
    strlcpy(token, watch_queue[wq_head].token, tlen);
    wq_head = (wq_head + 1) % WATCH_QUEUE;
    wq_count--;
    return 0;
}

int xenbus_dispatch_watches(void)
{
    if (!xs_intf || xs_pump() < 0)
        return 0;
    return run_callbacks();
}
