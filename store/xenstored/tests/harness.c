#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

/* Watch events th_call skipped, per connection (tests use few connections). */
#define TH_MAX_EVENTS 256
struct th_cap {
    struct xs_conn *c;
    struct evbuffer *wire; /* what the transport "sent" */
    bool hold;             /* a peer that does not read */
    struct th_msg *ev[TH_MAX_EVENTS];
    unsigned nev;
};
static struct th_cap caps[16];

static struct th_cap *cap_of(struct xs_conn *c)
{
    for (unsigned i = 0; i < 16; i++)
        if (caps[i].c == c)
            return &caps[i];
    for (unsigned i = 0; i < 16; i++)
        if (!caps[i].c) {
            caps[i].c = c;
            return &caps[i];
        }
    abort();
}

static int cap_flush(struct xs_conn *c)
{
    struct th_cap *k = cap_of(c);
    if (!k->hold)
        evbuffer_add_buffer(k->wire, c->out);
    return 0;
}

void th_hold(struct xs_conn *c, bool hold)
{
    cap_of(c)->hold = hold;
    if (!hold)
        xs_conn_output_drained(c);
}

static void cap_destroy(struct xs_conn *c)
{
    struct th_cap *k = cap_of(c);
    for (unsigned i = 0; i < k->nev; i++)
        free(k->ev[i]);
    evbuffer_free(k->wire);
    memset(k, 0, sizeof(*k));
}

static const struct xs_conn_ops cap_ops = {"capture", cap_flush, cap_destroy, NULL};

void th_init(struct th *t)
{
    t->base = event_base_new();
    if (!t->base || xs_daemon_init(&t->d, t->base))
        abort();
}

void th_fini(struct th *t)
{
    xs_daemon_fini(&t->d);
    event_base_free(t->base);
    libevent_global_shutdown();
}

struct xs_conn *th_conn(struct th *t, uint32_t domid)
{
    struct xs_conn *c = xs_conn_new(&t->d, &cap_ops, NULL, domid);
    if (!c)
        abort();
    cap_of(c)->wire = evbuffer_new();
    return c;
}

void th_feed(struct xs_conn *c, const void *buf, size_t len)
{
    evbuffer_add(c->in, buf, len);
    xs_conn_process(c);
}

void th_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx, const void *p,
             size_t len)
{
    struct xsd_sockmsg h = {type, req_id, tx, (uint32_t)len};
    evbuffer_add(c->in, &h, sizeof(h));
    evbuffer_add(c->in, p, len);
    xs_conn_process(c);
}

bool th_pop(struct xs_conn *c, struct th_msg *m)
{
    struct evbuffer *w = cap_of(c)->wire;
    if (evbuffer_copyout(w, &m->h, sizeof(m->h)) != (ssize_t)sizeof(m->h))
        return false;
    if (m->h.len > XENSTORE_PAYLOAD_MAX || evbuffer_get_length(w) < sizeof(m->h) + m->h.len)
        abort();
    evbuffer_drain(w, sizeof(m->h));
    evbuffer_remove(w, m->body, m->h.len);
    m->body[m->h.len] = '\0';
    return true;
}

static uint32_t next_req = 100;

uint32_t th_call(struct xs_conn *c, uint32_t type, uint32_t tx, const void *p, size_t len,
                 struct th_msg *reply)
{
    uint32_t id = next_req++;
    th_send(c, type, id, tx, p, len);
    struct th_cap *k = cap_of(c);
    while (th_pop(c, reply)) {
        if (reply->h.type == XS_WATCH_EVENT) {
            if (k->nev < TH_MAX_EVENTS) {
                k->ev[k->nev] = malloc(sizeof(*reply));
                memcpy(k->ev[k->nev++], reply, sizeof(*reply));
            }
            continue;
        }
        if (reply->h.req_id != id)
            abort(); /* replies must echo req_id */
        return reply->h.type;
    }
    return XS_INVALID;
}

bool th_event(struct xs_conn *c, char *path, size_t plen, char *token, size_t tlen)
{
    struct th_cap *k = cap_of(c);
    struct th_msg m, *src = NULL;
    if (k->nev) {
        src = k->ev[0];
        memmove(&k->ev[0], &k->ev[1], (k->nev - 1) * sizeof(k->ev[0]));
        k->nev--;
        m = *src;
        free(src);
    } else {
        for (;;) {
            if (!th_pop(c, &m))
                return false;
            if (m.h.type == XS_WATCH_EVENT)
                break;
        }
    }
    snprintf(path, plen, "%s", m.body);
    snprintf(token, tlen, "%s", m.body + strlen(m.body) + 1);
    return true;
}

int th_errno(const struct th_msg *m)
{
    if (m->h.type != XS_ERROR)
        return 0;
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (strcmp(m->body, xsd_errors[i].errstring) == 0)
            return -xsd_errors[i].errnum;
    return -1000;
}

int th_write(struct xs_conn *c, uint32_t tx, const char *path, const char *val)
{
    char buf[XENSTORE_PAYLOAD_MAX];
    size_t pl = strlen(path) + 1, vl = strlen(val);
    memcpy(buf, path, pl);
    memcpy(buf + pl, val, vl);
    struct th_msg m;
    th_call(c, XS_WRITE, tx, buf, pl + vl, &m);
    return th_errno(&m);
}

int th_read(struct xs_conn *c, uint32_t tx, const char *path, char *out, size_t len)
{
    struct th_msg m;
    th_call(c, XS_READ, tx, path, strlen(path) + 1, &m);
    if (m.h.type == XS_READ && out)
        snprintf(out, len, "%s", m.body);
    return th_errno(&m);
}

int th_simple(struct xs_conn *c, uint32_t type, uint32_t tx, const char *arg)
{
    struct th_msg m;
    th_call(c, type, tx, arg, strlen(arg) + 1, &m);
    return th_errno(&m);
}

int th_2args(struct xs_conn *c, uint32_t type, uint32_t tx, const char *a, const char *b)
{
    char buf[XENSTORE_PAYLOAD_MAX];
    size_t al = strlen(a) + 1, bl = strlen(b) + 1;
    memcpy(buf, a, al);
    memcpy(buf + al, b, bl);
    struct th_msg m;
    th_call(c, type, tx, buf, al + bl, &m);
    return th_errno(&m);
}

int th_txn_start(struct xs_conn *c, uint32_t *tx)
{
    struct th_msg m;
    th_call(c, XS_TRANSACTION_START, 0, "", 1, &m);
    if (m.h.type == XS_TRANSACTION_START)
        *tx = (uint32_t)strtoul(m.body, NULL, 10);
    return th_errno(&m);
}
