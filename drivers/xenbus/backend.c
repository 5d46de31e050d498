/* The xenbus backend core: watches, device instances and the state machine (see backend.h).
 *
 * Invariants: a device is in the list exactly while its frontend-state watch is registered;
 * ops->disconnect runs only after a successful ops->connect (dev->connected); ops->remove runs
 * once, at teardown, and nothing touches the device afterwards. Our own writes to <be>/state
 * come back as watch events: they are recognised because they equal dev->state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

#define BE_TOKEN "be"
#define FE_TOKEN_PREFIX "fe/"
/* A frontend that goes Closed and then Initialising again makes the backend probe and publish
 * once more each time. A driver domain's restart, a resume or a migration reconnects a device
 * once; a frontend that does it more than RECONNECT_MAX times within RECONNECT_WINDOW_NS is in
 * a loop (or hostile) and has the device refused, so it cannot keep the backend busy. */
#define RECONNECT_MAX 8u
#define RECONNECT_WINDOW_NS (60ull * 1000000000ull)
/* Domain ids a frontend may have (DOMID_FIRST_RESERVED is 0x7ff0). */
#define XENBUS_MAX_DOMID 0x7fefu

struct dev_node {
    struct dev_node *next;
    struct xenbus_device dev;
};

struct xenbus_backend {
    struct xenbus_platform *p;
    const struct xenbus_backend_ops *ops;
    xenbus_log_fn log;
    void *log_ctx;
    char base[XENBUS_PATH_MAX];  /* /local/domain/<self>/backend/<type> */
    char watch[XENBUS_PATH_MAX]; /* base, or base/<fid> when limited to one frontend */
    bool limited;                /* only the devices of frontend only_fid */
    uint32_t only_fid;
    bool watching;
    void *priv;
    struct dev_node *devs;
    unsigned int nr_devs;
};

/* Formats a path of at most XENBUS_PATH_MAX bytes; -ENAMETOOLONG rather than truncating. */
static int path_fmt(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int path_fmt(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, XENBUS_PATH_MAX, fmt, ap);
    va_end(ap);
    return n < 0 || n >= XENBUS_PATH_MAX ? -ENAMETOOLONG : 0;
}

static void be_log(struct xenbus_backend *be, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void be_log(struct xenbus_backend *be, const char *fmt, ...)
{
    if (!be->log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    be->log(be->log_ctx, msg);
}

struct xenbus_platform *xenbus_backend_platform(struct xenbus_backend *be)
{
    return be->p;
}

void xenbus_backend_set_priv(struct xenbus_backend *be, void *priv)
{
    be->priv = priv;
}

void *xenbus_backend_priv(struct xenbus_backend *be)
{
    return be->priv;
}

unsigned int xenbus_backend_nr_devices(struct xenbus_backend *be)
{
    return be->nr_devs;
}

struct xenbus_device *xenbus_backend_find(struct xenbus_backend *be, uint32_t frontend_id,
                                          uint32_t devid)
{
    for (struct dev_node *n = be->devs; n; n = n->next)
        if (n->dev.frontend_id == frontend_id && n->dev.devid == devid)
            return &n->dev;
    return NULL;
}

static void fe_token(const struct xenbus_device *dev, char *tok, size_t len)
{
    if (snprintf(tok, len, FE_TOKEN_PREFIX "%u/%u", dev->frontend_id, dev->devid) < 0)
        tok[0] = '\0';
}

static void fe_state_path(const struct xenbus_device *dev, char *path)
{
    /* fe_path was bounded to leave room for "/state" when the device was created. */
    path_fmt(path, "%s/state", dev->fe_path);
}

/* ---- State ---------------------------------------------------------------------------------- */

struct state_txn {
    struct xenbus_platform *p;
    const char *path, *val;
};

/* Writes the state only where the node still exists: a device whose directory the toolstack
 * removed must not have it recreated by a late state write. */
static int switch_state_body(xenbus_txn_t t, void *arg)
{
    const struct state_txn *s = arg;
    char buf[16];
    int rc = s->p->ops->xs_read(s->p, t, s->path, buf, sizeof(buf));
    if (rc < 0 && rc != -EOVERFLOW)
        return rc;
    return s->p->ops->xs_write(s->p, t, s->path, s->val);
}

int xenbus_switch_state(struct xenbus_device *dev, enum xenbus_state state)
{
    char path[XENBUS_PATH_MAX], val[4];
    if (path_fmt(path, "%s/state", dev->be_path))
        return -ENAMETOOLONG;
    snprintf(val, sizeof(val), "%d", (int)state & 0xf);
    dev->state = state;
    struct state_txn s = {dev->be->p, path, val};
    return xenbus_transact(s.p, switch_state_body, &s);
}

static void dev_disconnect(struct xenbus_device *dev)
{
    if (dev->connected) {
        dev->connected = false;
        dev->be->ops->disconnect(dev);
    }
}

void xenbus_dev_log(struct xenbus_device *dev, const char *fmt, ...)
{
    if (dev->failed)
        return;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    be_log(dev->be, "%s: %s", dev->name, msg);
}

void xenbus_dev_fatal(struct xenbus_device *dev, int err, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err < 0 ? -err : err));
    if (!dev->failed) {
        be_log(dev->be, "%s: %s", dev->name, msg);
        dev->failed = true;
        xenbus_printf(dev, XENBUS_TXN_NULL, XENBUS_BACKEND, "error", "%d %s", -err, msg);
    }
    dev_disconnect(dev);
    if (dev->state != XenbusStateClosed)
        xenbus_switch_state(dev, XenbusStateClosed);
}

/* ---- Device lifecycle ----------------------------------------------------------------------- */

static void dev_teardown(struct xenbus_backend *be, struct xenbus_device *dev)
{
    for (struct dev_node **pp = &be->devs; *pp; pp = &(*pp)->next) {
        if (&(*pp)->dev != dev)
            continue;
        struct dev_node *n = *pp;
        *pp = n->next;
        be->nr_devs--;
        char path[XENBUS_PATH_MAX], tok[XENBUS_NAME_MAX];
        fe_state_path(dev, path);
        fe_token(dev, tok, sizeof(tok));
        be->p->ops->xs_unwatch(be->p, path, tok);
        dev_disconnect(dev);
        if (be->ops->remove)
            be->ops->remove(dev);
        free(n);
        return;
    }
}

static bool dev_online(struct xenbus_device *dev)
{
    uint64_t online = 0;
    /* As Linux's xenbus: a missing or malformed `online` means offline. */
    if (xenbus_scan_uint(dev, XENBUS_BACKEND, "online", 1, &online))
        return false;
    return online == 1;
}

/* The toolstack wrote <be>/frontend; it must name a directory of that frontend domain. */
static int read_frontend(struct xenbus_backend *be, struct xenbus_device *dev)
{
    char path[XENBUS_PATH_MAX], prefix[64];
    if (path_fmt(path, "%s/frontend", dev->be_path))
        return -ENAMETOOLONG;
    /* Leave room for "/state" and a key below the frontend directory. */
    int rc = be->p->ops->xs_read(be->p, XENBUS_TXN_NULL, path, dev->fe_path, XENBUS_PATH_MAX - 64);
    if (rc < 0)
        return rc;
    snprintf(prefix, sizeof(prefix), "/local/domain/%u/", dev->frontend_id);
    if (strncmp(dev->fe_path, prefix, strlen(prefix)) != 0 || strstr(dev->fe_path, "..") ||
        strstr(dev->fe_path, "//") || dev->fe_path[rc - 1] == '/')
        return -EINVAL;
    uint64_t id;
    rc = xenbus_scan_uint(dev, XENBUS_BACKEND, "frontend-id", XENBUS_MAX_DOMID, &id);
    if (rc == 0 && id != dev->frontend_id)
        rc = -EINVAL;
    return rc;
}

static void dev_create(struct xenbus_backend *be, uint32_t fid, uint32_t devid)
{
    if (be->limited && fid != be->only_fid)
        return; /* another backend process serves that frontend */
    struct dev_node *n = calloc(1, sizeof(*n));
    if (!n) {
        be_log(be, "%s-%u-%u: out of memory", be->ops->type, fid, devid);
        return;
    }
    struct xenbus_device *dev = &n->dev;
    dev->be = be;
    dev->frontend_id = fid;
    dev->devid = devid;
    dev->state = XenbusStateInitialising;
    dev->fe_state = XenbusStateUnknown;
    snprintf(dev->name, sizeof(dev->name), "%s-%u-%u", be->ops->type, fid, devid);
    int rc = path_fmt(dev->be_path, "%s/%u/%u", be->base, fid, devid);
    uint64_t st = XenbusStateUnknown;
    if (!rc)
        rc = xenbus_scan_uint(dev, XENBUS_BACKEND, "state", XenbusStateReconfigured, &st);
    /* A new device (the toolstack wrote Initialising) is probed, and so is an online one
     * that a previous backend instance had taken to InitWait or Connected (a restarted
     * backend adopts it: probe, InitWait, then the frontend's Connected state makes it map
     * the rings again from the frontend's keys). A directory in any other state is one going
     * away after we closed it, whose late events must not bring it back. */
    bool adopt =
        !rc && dev_online(dev) &&
        (st == XenbusStateInitWait || st == XenbusStateInitialised || st == XenbusStateConnected);
    if (!rc && (st == XenbusStateInitialising || adopt))
        rc = read_frontend(be, dev);
    else
        rc = -ENOENT;
    if (rc == -ENOENT) { /* not new, or the toolstack has not finished writing it */
        free(n);
        return;
    }
    n->next = be->devs;
    be->devs = n;
    be->nr_devs++;
    if (rc) {
        dev->fe_path[0] = '\0';
        xenbus_dev_fatal(dev, rc, "reading frontend path");
        return; /* stays listed (Closed) until the toolstack removes it */
    }
    char path[XENBUS_PATH_MAX], tok[XENBUS_NAME_MAX];
    fe_state_path(dev, path);
    fe_token(dev, tok, sizeof(tok));
    rc = be->p->ops->xs_watch(be->p, path, tok);
    if (rc) {
        xenbus_dev_fatal(dev, rc, "watching %s", path);
        return;
    }
    rc = be->ops->probe ? be->ops->probe(dev) : 0;
    if (rc) {
        xenbus_dev_fatal(dev, rc, "probe");
        return;
    }
    xenbus_switch_state(dev, XenbusStateInitWait);
}

/* ---- The state machine ---------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Counts one reconnect of the frontend; false (and the device refused, Closed with `error`,
 * logged once) past the limit. */
static bool reconnect_allowed(struct xenbus_device *dev)
{
    uint64_t now = now_ns();
    if (!dev->reconnects || now - dev->reconnect_window_ns > RECONNECT_WINDOW_NS) {
        dev->reconnect_window_ns = now;
        dev->reconnects = 0;
    }
    /* Buggy or malicious frontend: reconnecting in a loop. */
    if (++dev->reconnects > RECONNECT_MAX) {
        xenbus_dev_fatal(dev, -EBUSY,
                         "refused: the frontend reconnected more than %u times in %llu s",
                         RECONNECT_MAX, RECONNECT_WINDOW_NS / 1000000000ull);
        return false;
    }
    return true;
}

static void frontend_changed(struct xenbus_backend *be, struct xenbus_device *dev)
{
    uint64_t st;
    int rc = xenbus_scan_uint(dev, XENBUS_FRONTEND, "state", XenbusStateReconfigured, &st);
    if (rc == -ENOENT)
        st = XenbusStateUnknown; /* the frontend vanished: treat as Closed */
    else if (rc) {
        xenbus_dev_fatal(dev, rc, "reading frontend state");
        return;
    }
    dev->fe_state = (enum xenbus_state)st;
    switch (dev->fe_state) {
    case XenbusStateInitialising:
        if (dev->state == XenbusStateClosed && !dev->failed && reconnect_allowed(dev))
            xenbus_switch_state(dev, XenbusStateInitWait);
        break;
    case XenbusStateInitialised:
    case XenbusStateConnected:
        /* Two quick frontend writes may show up as one event: connect from InitWait only
         * (and once, when the device holds the switch to Connected). */
        if (dev->state != XenbusStateInitWait || dev->connected)
            break;
        rc = be->ops->connect(dev);
        if (rc) {
            xenbus_dev_fatal(dev, rc, "connecting to the frontend");
            break;
        }
        dev->connected = true;
        if (!dev->connect_held)
            xenbus_switch_state(dev, XenbusStateConnected);
        break;
    case XenbusStateClosing:
        dev_disconnect(dev);
        if (dev->state != XenbusStateClosed)
            xenbus_switch_state(dev, XenbusStateClosing);
        break;
    case XenbusStateUnknown:
    case XenbusStateClosed:
        dev_disconnect(dev);
        if (dev->state != XenbusStateClosed)
            xenbus_switch_state(dev, XenbusStateClosed);
        if (!dev_online(dev))
            dev_teardown(be, dev); /* the last use of dev */
        break;
    default:
        break;
    }
}

/* The toolstack detaches with online=0 and state=Closing (or Closed to force). */
static void backend_changed(struct xenbus_backend *be, struct xenbus_device *dev)
{
    char probe[8];
    if (xenbus_read_key(dev, XENBUS_BACKEND, "frontend", probe, sizeof(probe)) == -ENOENT) {
        dev_teardown(be, dev); /* the directory is gone */
        return;
    }
    uint64_t st;
    if (dev_online(dev) ||
        xenbus_scan_uint(dev, XENBUS_BACKEND, "state", XenbusStateReconfigured, &st))
        return;
    if (st == (uint64_t)dev->state)
        return; /* our own write */
    if (st == XenbusStateClosing) {
        dev_disconnect(dev);
        dev->state = XenbusStateClosing;
        if (dev->fe_state == XenbusStateClosed || dev->fe_state == XenbusStateUnknown) {
            xenbus_switch_state(dev, XenbusStateClosed);
            dev_teardown(be, dev);
        }
    } else if (st == XenbusStateClosed) {
        dev->state = XenbusStateClosed;
        dev_teardown(be, dev);
    }
}

/* <base>/<fid>/<devid>[/...]: returns 0 with ids, 1 for a shorter path, -EINVAL otherwise. */
static int parse_dev_path(struct xenbus_backend *be, const char *path, uint32_t *fid,
                          uint32_t *devid, const char **rest)
{
    size_t bl = strlen(be->base);
    if (strncmp(path, be->base, bl) != 0 || (path[bl] != '/' && path[bl] != '\0'))
        return -EINVAL;
    if (path[bl] == '\0')
        return 1;
    char comp[2][16];
    const char *s = path + bl + 1;
    for (int i = 0; i < 2; i++) {
        size_t n = strcspn(s, "/");
        if (n == 0 || n >= sizeof(comp[i]))
            return -EINVAL;
        memcpy(comp[i], s, n);
        comp[i][n] = '\0';
        s += n;
        if (i == 0) {
            if (*s == '\0')
                return 1;
            s++;
        }
    }
    uint64_t a, b;
    if (xenbus_parse_uint(comp[0], XENBUS_MAX_DOMID, &a) ||
        xenbus_parse_uint(comp[1], UINT32_MAX, &b))
        return -EINVAL;
    *fid = (uint32_t)a;
    *devid = (uint32_t)b;
    *rest = *s == '/' ? s + 1 : s;
    return 0;
}

/* Probes every <fid>/<devid> directory and drops devices whose directory is gone. */
static void rescan(struct xenbus_backend *be)
{
    struct xenbus_platform *p = be->p;
    for (struct dev_node *n = be->devs, *next; n; n = next) {
        next = n->next;
        backend_changed(be, &n->dev);
    }
    char **doms;
    unsigned int nd;
    if (p->ops->xs_directory(p, XENBUS_TXN_NULL, be->base, &doms, &nd))
        return;
    for (unsigned int i = 0; i < nd; i++) {
        char path[XENBUS_PATH_MAX];
        char **ids;
        unsigned int ni;
        uint64_t fid;
        if (xenbus_parse_uint(doms[i], XENBUS_MAX_DOMID, &fid) ||
            (be->limited && fid != be->only_fid))
            continue;
        if (path_fmt(path, "%s/%s", be->base, doms[i]) ||
            p->ops->xs_directory(p, XENBUS_TXN_NULL, path, &ids, &ni))
            continue;
        for (unsigned int j = 0; j < ni; j++) {
            uint64_t devid;
            if (!xenbus_parse_uint(ids[j], UINT32_MAX, &devid) &&
                !xenbus_backend_find(be, (uint32_t)fid, (uint32_t)devid))
                dev_create(be, (uint32_t)fid, (uint32_t)devid);
        }
        free(ids);
    }
    free(doms);
}

void xenbus_backend_handle_watch(struct xenbus_backend *be, const char *path, const char *token)
{
    if (strcmp(token, BE_TOKEN) == 0) {
        uint32_t fid, devid;
        const char *rest;
        int rc = parse_dev_path(be, path, &fid, &devid, &rest);
        if (rc == 1) {
            rescan(be);
            return;
        }
        if (rc)
            return;
        struct xenbus_device *dev = xenbus_backend_find(be, fid, devid);
        if (!dev)
            dev_create(be, fid, devid);
        else if (*rest == '\0' || !strcmp(rest, "state") || !strcmp(rest, "online") ||
                 !strcmp(rest, "frontend"))
            backend_changed(be, dev);
        else if (be->ops->backend_key_changed)
            be->ops->backend_key_changed(dev, rest);
        return;
    }
    if (strncmp(token, FE_TOKEN_PREFIX, strlen(FE_TOKEN_PREFIX)) == 0) {
        for (struct dev_node *n = be->devs; n; n = n->next) {
            char tok[XENBUS_NAME_MAX];
            fe_token(&n->dev, tok, sizeof(tok));
            if (strcmp(tok, token) == 0) {
                frontend_changed(be, &n->dev);
                return;
            }
        }
    }
}

int xenbus_backend_poll_events(struct xenbus_backend *be)
{
    int rc = xenbus_backend_poll(be);
    if (rc < 0)
        return rc;
    int fired = xenbus_evtchn_dispatch(be->p);
    return fired < 0 ? fired : rc + fired;
}

unsigned int xenbus_clamp_queues(unsigned int queues, unsigned int max)
{
    return queues == 0 ? 1 : queues > max ? max : queues;
}

int xenbus_backend_poll(struct xenbus_backend *be)
{
    int handled = 0;
    for (;;) {
        char path[XENBUS_PATH_MAX + 64], token[64];
        int rc = be->p->ops->xs_read_watch(be->p, path, sizeof(path), token, sizeof(token));
        if (rc == -EOVERFLOW)
            continue; /* longer than any path we watch for: not ours */
        if (rc <= 0)
            return rc < 0 ? rc : handled;
        xenbus_backend_handle_watch(be, path, token);
        handled++;
    }
}

struct xenbus_backend *xenbus_backend_new(struct xenbus_platform *p,
                                          const struct xenbus_backend_ops *ops, xenbus_log_fn log,
                                          void *log_ctx)
{
    if (!p || !ops || !ops->type || !ops->connect || !ops->disconnect)
        return NULL;
    struct xenbus_backend *be = calloc(1, sizeof(*be));
    if (!be)
        return NULL;
    be->p = p;
    be->ops = ops;
    be->log = log;
    be->log_ctx = log_ctx;
    snprintf(be->base, sizeof(be->base), "/local/domain/%u/backend/%s", p->self_domid, ops->type);
    memcpy(be->watch, be->base, sizeof(be->watch));
    return be;
}

int xenbus_backend_limit_frontend(struct xenbus_backend *be, uint32_t frontend_id)
{
    if (be->watching || frontend_id > XENBUS_MAX_DOMID)
        return -EINVAL;
    be->limited = true;
    be->only_fid = frontend_id;
    return path_fmt(be->watch, "%s/%u", be->base, frontend_id);
}

int xenbus_backend_start(struct xenbus_backend *be)
{
    int rc = be->p->ops->xs_watch(be->p, be->watch, BE_TOKEN);
    if (rc)
        return rc;
    be->watching = true;
    rescan(be);
    return 0;
}

void xenbus_backend_free(struct xenbus_backend *be)
{
    if (!be)
        return;
    while (be->devs)
        dev_teardown(be, &be->devs->dev);
    if (be->watching)
        be->p->ops->xs_unwatch(be->p, be->watch, BE_TOKEN);
    free(be);
}
