/* netback's control plane: the "vif" device type of the xenbus backend core.
 * probe: the vif's port (the switch, or a tap on the Linux bridge the `bridge` key names) and
 * the feature keys Linux's netfront reads; when netback plays the hotplug script's part it
 * writes hotplug-status. connect: what Linux 6.1's netfront wrote (multi-queue-num-queues,
 * flat or queue-N/ ring refs and event channels, request-rx-copy and feature-rx-notify, which
 * are mandatory, feature-sg, the checksum keys). The switch to Connected waits for
 * hotplug-status=connected, as Linux's netback does. Every value the frontend wrote is
 * checked against what we advertised before it is used. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "netback_priv.h"

#define HOTPLUG_STATUS "hotplug-status"

void netback_config_default(struct netback_config *cfg)
{
    *cfg = (struct netback_config){
        .max_queues = 1, .hotplug_self = true, .rx_queue_len = 256, .aging_ms = 300000};
}

static struct netback *dev_nb(struct xenbus_device *dev)
{
    return xenbus_backend_priv(dev->be);
}

/* "xx:xx:xx:xx:xx:xx", hex digits only. */
static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        const char *p = s + i * 3;
        unsigned int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = p[j];
            unsigned int d = c >= '0' && c <= '9'   ? (unsigned int)(c - '0')
                             : c >= 'a' && c <= 'f' ? (unsigned int)(c - 'a' + 10)
                             : c >= 'A' && c <= 'F' ? (unsigned int)(c - 'A' + 10)
                                                    : 16u;
            if (d == 16)
                return -EINVAL;
            v = v * 16 + d;
        }
        if (p[2] != (i == 5 ? '\0' : ':'))
            return -EINVAL;
        mac[i] = (uint8_t)v;
    }
    return 0;
}

static void vif_port_deliver(void *ctx, const uint8_t *frame, size_t len, unsigned int flags)
{
    netback_vif_rx(ctx, frame, len, flags);
}

static bool hotplug_connected(struct xenbus_device *dev)
{
    char st[32];
    return xenbus_read_key(dev, XENBUS_BACKEND, HOTPLUG_STATUS, st, sizeof(st)) >= 0 &&
           strcmp(st, "connected") == 0;
}

/* The hotplug part: attach the vif to its switch or bridge. */
static int attach_port(struct xenbus_device *dev, struct netback_vif *vif)
{
    struct netback *nb = vif->nb;
    char bridge[NET_TAP_NAME_MAX + 1] = "", name[NET_TAP_NAME_MAX + 1];
    int rc = xenbus_read_key(dev, XENBUS_BACKEND, "bridge", bridge, sizeof(bridge));
    if (rc < 0 && rc != -ENOENT) {
        xenbus_dev_fatal(dev, rc, "bridge name");
        return rc;
    }
    bool shared = false;
    if (rc <= 0 && nb->cfg.shared_bridge[0] && !nb->shared_bridge_failed) {
        int mk = net_tap_bridge_make(nb->cfg.shared_bridge);
        if (mk == 0) {
            snprintf(bridge, sizeof(bridge), "%s", nb->cfg.shared_bridge);
            shared = true;
            rc = 1;
        } else {
            nb->shared_bridge_failed = true;
            if (nb->log) {
                char msg[256];
                snprintf(msg, sizeof(msg),
                         "cannot make the shared bridge %s for vifs without a bridge (%s%s): "
                         "they use this backend's own switch and reach only the vifs it serves",
                         nb->cfg.shared_bridge, strerror(-mk),
                         mk == -EPERM ? ": needs CAP_NET_ADMIN" : "");
                nb->log(nb->log_ctx, msg);
            }
        }
    }
    if (rc <= 0) { /* no bridge: the backend's own switch */
        rc = net_switch_add_port(nb->sw, vif_port_deliver, vif);
        if (rc < 0)
            xenbus_dev_fatal(dev, rc, "no free port on the switch");
        else
            vif->sw_port = rc;
        return rc < 0 ? rc : 0;
    }
    rc = xenbus_read_key(dev, XENBUS_BACKEND, "vifname", name, sizeof(name));
    if (rc == -ENOENT)
        rc = snprintf(name, sizeof(name), "vif%u.%u", dev->frontend_id, dev->devid);
    if (rc < 0 || rc >= NET_TAP_NAME_MAX) {
        xenbus_dev_fatal(dev, -EINVAL, "interface name for the vif");
        return -EINVAL;
    }
    /* A device adopted from a backend instance that died already had its script run: its new
     * tap goes on the bridge here, since no script will run again. */
    bool enslave = shared || nb->cfg.hotplug_self || hotplug_connected(dev);
    if (enslave && (rc = net_tap_bridge_check(bridge)) != 0) {
        xenbus_dev_fatal(dev, rc, "bridge %s does not exist", bridge);
        return rc;
    }
    rc = net_tap_open(&vif->tap, name, enslave ? bridge : NULL, 0);
    if (rc) {
        xenbus_dev_fatal(dev, rc, "tap %s for bridge %s", name, bridge);
        return rc;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = vif};
    rc = epoll_ctl(nb->ep_fd, EPOLL_CTL_ADD, vif->tap.fd, &ev) < 0 ? -errno : 0;
    if (rc)
        xenbus_dev_fatal(dev, rc, "polling tap %s", name);
    return rc;
}

static void detach_port(struct netback_vif *vif)
{
    if (vif->sw_port >= 0)
        net_switch_del_port(vif->nb->sw, vif->sw_port);
    vif->sw_port = -1;
    if (vif->tap.fd >= 0)
        epoll_ctl(vif->nb->ep_fd, EPOLL_CTL_DEL, vif->tap.fd, NULL);
    net_tap_close(&vif->tap);
}

static int net_probe(struct xenbus_device *dev)
{
    struct netback *nb = dev_nb(dev);
    struct netback_vif *vif = calloc(1, sizeof(*vif));
    if (!vif)
        return -ENOMEM;
    vif->nb = nb;
    vif->xdev = dev;
    vif->sw_port = -1;
    vif->tap.fd = -1;
    vif->rxq_cap = nb->cfg.rx_queue_len;
    vif->rxq = calloc(vif->rxq_cap, sizeof(*vif->rxq));
    if (!vif->rxq) {
        free(vif);
        return -ENOMEM;
    }
    dev->priv = vif;
    vif->next = nb->vifs;
    nb->vifs = vif;
    char mac[32];
    int rc = xenbus_read_key(dev, XENBUS_BACKEND, "mac", mac, sizeof(mac));
    /* Buggy toolstack: a MAC that is not six hex pairs. */
    if ((rc >= 0 && parse_mac(mac, vif->mac)) || (rc < 0 && rc != -ENOENT)) {
        xenbus_dev_fatal(dev, -EINVAL, "backend mac");
        return -EINVAL;
    }
    struct xenbus_kv kv[12];
    unsigned int n = 0;
#define KV(k, fmt, v)                                                                              \
    do {                                                                                           \
        kv[n].key = (k);                                                                           \
        snprintf(kv[n++].value, sizeof(kv[0].value), fmt, v);                                      \
    } while (0)
    KV(NETIF_KEY_FEATURE_SG, "%d", 1);
    /* GSO packets are taken and cut (gso.c) for receivers that cannot take them whole. */
    KV(NETIF_KEY_FEATURE_GSO_TCPV4, "%d", 1);
    KV(NETIF_KEY_FEATURE_GSO_TCPV6, "%d", 1);
    KV(NETIF_KEY_FEATURE_IPV6_CSUM_OFFLOAD, "%d", 1);
    KV(NETIF_KEY_FEATURE_RX_COPY, "%d", 1);
    KV("feature-rx-flip", "%d", 0);
    KV(NETIF_KEY_FEATURE_MULTICAST_CONTROL, "%d", 0);
    KV(NETIF_KEY_FEATURE_SPLIT_EVENT_CHANNELS, "%d", 1);
    KV(NETIF_KEY_MULTI_QUEUE_MAX_QUEUES, "%u", nb->cfg.max_queues);
#undef KV
    rc = xenbus_write_features(dev, kv, n);
    if (rc)
        return rc;
    rc = attach_port(dev, vif);
    /* As the hotplug scripts report it: libxl and connect read it. */
    if (nb->cfg.hotplug_self)
        xenbus_printf(dev, XENBUS_TXN_NULL, XENBUS_BACKEND, HOTPLUG_STATUS, "%s",
                      rc ? "error" : "connected");
    return rc;
}

/* What each queue of a vif that was connected carried, in one log line. */
static void log_queue_counters(struct netback_vif *vif)
{
    struct netback *nb = vif->nb;
    if (!nb->log || !vif->connected)
        return;
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "vif %u/%u disconnects:", vif->xdev->frontend_id,
                     vif->xdev->devid);
    for (unsigned int i = 0; i < vif->nr_queues && n > 0 && (size_t)n < sizeof(msg); i++)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, " queue %u took %llu frames, gave %llu;", i,
                      (unsigned long long)vif->queues[i].tx_frames,
                      (unsigned long long)vif->queues[i].rx_frames);
    nb->log(nb->log_ctx, msg);
}

static void free_queues(struct netback_vif *vif)
{
    for (unsigned int i = 0; i < vif->nr_queues; i++)
        if (vif->queues[i].vif)
            netback_queue_disconnect(&vif->queues[i]);
    free(vif->queues);
    vif->queues = NULL;
    vif->nr_queues = 0;
}

static int connect_queue(struct xenbus_device *dev, struct netback_vif *vif, unsigned int i)
{
    char prefix[24] = "", key[64];
    if (vif->nr_queues > 1)
        snprintf(prefix, sizeof(prefix), "queue-%u/", i);
    uint64_t tx_ref, rx_ref, tx_ev, rx_ev;
    bool split = true;
    const char *what = key;
    snprintf(key, sizeof(key), "%s" NETIF_KEY_TX_RING_REF, prefix);
    int rc = xenbus_scan_uint(dev, XENBUS_FRONTEND, key, UINT32_MAX, &tx_ref);
    if (!rc) {
        snprintf(key, sizeof(key), "%s" NETIF_KEY_RX_RING_REF, prefix);
        rc = xenbus_scan_uint(dev, XENBUS_FRONTEND, key, UINT32_MAX, &rx_ref);
    }
    if (!rc) {
        /* event-channel-tx/-rx first, then the single event-channel (as Linux's). */
        snprintf(key, sizeof(key), "%s" NETIF_KEY_EVENT_CHANNEL_TX, prefix);
        rc = xenbus_scan_uint(dev, XENBUS_FRONTEND, key, UINT32_MAX, &tx_ev);
        if (!rc) {
            snprintf(key, sizeof(key), "%s" NETIF_KEY_EVENT_CHANNEL_RX, prefix);
            rc = xenbus_scan_uint(dev, XENBUS_FRONTEND, key, UINT32_MAX, &rx_ev);
        } else if (rc == -ENOENT) {
            split = false;
            snprintf(key, sizeof(key), "%s" NETIF_KEY_EVENT_CHANNEL, prefix);
            rc = xenbus_scan_uint(dev, XENBUS_FRONTEND, key, UINT32_MAX, &tx_ev);
            rx_ev = tx_ev;
        }
    }
    if (rc) {
        xenbus_dev_fatal(dev, rc, "reading %s", what);
        return rc;
    }
    struct netback_queue *q = &vif->queues[i];
    q->vif = vif;
    q->idx = i;
    rc = netback_queue_connect(q, dev->frontend_id, (uint32_t)tx_ref, (uint32_t)rx_ref,
                               (uint32_t)tx_ev, (uint32_t)rx_ev, split);
    if (rc)
        xenbus_dev_fatal(dev, rc, "mapping the rings of queue %u or binding its event channels", i);
    return rc;
}

static int net_connect(struct xenbus_device *dev)
{
    struct netback_vif *vif = dev->priv;
    struct netback *nb = vif->nb;
    uint64_t nq = 1, rx_copy = 0, rx_notify = 0, sg = 0, no_csum = 0, ipv6_csum = 0, gso4 = 0,
             gso6 = 0;
    const struct xenbus_gather_uint keys[] = {
        /* Buggy or malicious guest: flags that are not 0/1. */
        {NETIF_KEY_REQUEST_RX_COPY, 1, &rx_copy, true},
        {NETIF_KEY_FEATURE_RX_NOTIFY, 1, &rx_notify, true},
        {NETIF_KEY_FEATURE_SG, 1, &sg, true},
        {NETIF_KEY_FEATURE_NO_CSUM_OFFLOAD, 1, &no_csum, true},
        {NETIF_KEY_FEATURE_IPV6_CSUM_OFFLOAD, 1, &ipv6_csum, true},
        {NETIF_KEY_FEATURE_GSO_TCPV4, 1, &gso4, true},
        {NETIF_KEY_FEATURE_GSO_TCPV6, 1, &gso6, true},
    };
    int rc =
        xenbus_scan_uint(dev, XENBUS_FRONTEND, NETIF_KEY_MULTI_QUEUE_NUM_QUEUES, UINT32_MAX, &nq);
    /* Buggy or malicious guest: no queue, more queues than advertised, or not a number. */
    if ((rc && rc != -ENOENT) || nq == 0 || nq > nb->cfg.max_queues) {
        rc = rc && rc != -ENOENT ? rc : -EINVAL;
        xenbus_dev_fatal(dev, rc, NETIF_KEY_MULTI_QUEUE_NUM_QUEUES " %llu: at most %u (%s)",
                         (unsigned long long)nq, nb->cfg.max_queues,
                         NETIF_KEY_MULTI_QUEUE_MAX_QUEUES);
        return rc;
    }
    rc = xenbus_gather(dev, XENBUS_FRONTEND, keys, sizeof(keys) / sizeof(keys[0]));
    if (rc) {
        xenbus_dev_fatal(dev, rc, "frontend feature flags");
        return rc;
    }
    /* Only the copying receive path exists (page flipping is long gone from Linux). */
    if (!rx_copy) {
        xenbus_dev_fatal(dev, -EOPNOTSUPP, "request-rx-copy is mandatory");
        return -EOPNOTSUPP;
    }
    if (!rx_notify) {
        xenbus_dev_fatal(dev, -EINVAL, "feature-rx-notify is mandatory");
        return -EINVAL;
    }
    vif->fe_sg = sg;
    vif->fe_csum = !no_csum;
    vif->fe_ipv6_csum = ipv6_csum;
    vif->fe_gso_v4 = gso4;
    vif->fe_gso_v6 = gso6;
    vif->queues = calloc(nq, sizeof(*vif->queues));
    if (!vif->queues)
        return -ENOMEM;
    vif->nr_queues = (unsigned int)nq;
    for (unsigned int i = 0; i < vif->nr_queues && !rc; i++)
        rc = connect_queue(dev, vif, i);
    if (rc) {
        free_queues(vif);
        return rc;
    }
    vif->connected = true;
    dev->connect_held = !hotplug_connected(dev);
    return 0;
}

static void net_disconnect(struct xenbus_device *dev)
{
    struct netback_vif *vif = dev->priv;
    log_queue_counters(vif);
    vif->connected = false;
    dev->connect_held = false;
    free_queues(vif);
    while (vif->rxq_len)
        free(vif->rxq[vif->rxq_head].data), vif->rxq_head = (vif->rxq_head + 1) % vif->rxq_cap,
                                            vif->rxq_len--;
}

static void net_remove(struct xenbus_device *dev)
{
    struct netback_vif *vif = dev->priv;
    if (!vif)
        return;
    net_disconnect(dev);
    detach_port(vif);
    for (struct netback_vif **pp = &vif->nb->vifs; *pp; pp = &(*pp)->next) {
        if (*pp == vif) {
            *pp = vif->next;
            break;
        }
    }
    free(vif->rxq);
    free(vif);
    dev->priv = NULL;
}

/* hotplug-status: "connected" releases a held switch to Connected; "error" closes. */
static void net_backend_key_changed(struct xenbus_device *dev, const char *key)
{
    if (strcmp(key, HOTPLUG_STATUS) != 0 || !dev->priv)
        return;
    char st[32];
    if (xenbus_read_key(dev, XENBUS_BACKEND, HOTPLUG_STATUS, st, sizeof(st)) < 0)
        return;
    if (strcmp(st, "connected") == 0 && dev->connected && dev->connect_held) {
        dev->connect_held = false;
        xenbus_switch_state(dev, XenbusStateConnected);
    } else if (strcmp(st, "error") == 0 && dev->state != XenbusStateClosed) {
        xenbus_dev_fatal(dev, -EIO, "hotplug script failed");
    }
}

static const struct xenbus_backend_ops netback_ops = {
    .type = "vif",
    .probe = net_probe,
    .connect = net_connect,
    .disconnect = net_disconnect,
    .remove = net_remove,
    .backend_key_changed = net_backend_key_changed,
};

struct netback *netback_new(struct xenbus_platform *p, const struct netback_config *cfg,
                            xenbus_log_fn log, void *log_ctx)
{
    struct netback *nb = calloc(1, sizeof(*nb));
    if (!nb)
        return NULL;
    nb->p = p;
    nb->log = log;
    nb->log_ctx = log_ctx;
    if (cfg)
        nb->cfg = *cfg;
    else
        netback_config_default(&nb->cfg);
    nb->cfg.max_queues = xenbus_clamp_queues(nb->cfg.max_queues, NETBACK_MAX_QUEUES);
    if (nb->cfg.rx_queue_len == 0)
        nb->cfg.rx_queue_len = 256;
    if (nb->cfg.aging_ms == 0)
        nb->cfg.aging_ms = 300000;
    nb->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    nb->ep_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    bool fds_ok = nb->kick_fd >= 0 && nb->ep_fd >= 0 &&
                  epoll_ctl(nb->ep_fd, EPOLL_CTL_ADD, nb->kick_fd, &ev) == 0;
    nb->sw = net_switch_new(NETBACK_MAX_PORTS, (uint64_t)nb->cfg.aging_ms * 1000000u);
    nb->xb = fds_ok && nb->sw ? xenbus_backend_new(p, &netback_ops, log, log_ctx) : NULL;
    if (!nb->xb) {
        netback_free(nb);
        return NULL;
    }
    xenbus_backend_set_priv(nb->xb, nb);
    return nb;
}

int netback_start(struct netback *nb)
{
    return xenbus_backend_start(nb->xb);
}

struct xenbus_backend *netback_xenbus(struct netback *nb)
{
    return nb->xb;
}

int netback_fd(struct netback *nb)
{
    return nb->ep_fd;
}

/* Frames from the host: a bounded number per tap and call (the loop comes back), sent to the
 * guest a batch at a time (one grant-copy call for the batch). */
static int poll_taps(struct netback *nb)
{
    int n = 0;
    for (struct netback_vif *v = nb->vifs; v; v = v->next) {
        for (int i = 0; v->tap.fd >= 0 && i < NETBACK_RING_SLOTS; i++) {
            ssize_t len = net_tap_read(&v->tap, nb->tap_buf, sizeof(nb->tap_buf));
            if (len <= 0)
                break;
            netback_vif_rx_queue(v, nb->tap_buf, (size_t)len, 0);
            n++;
            if (v->rxq_len >= NETBACK_RX_BATCH)
                netback_vif_rx_flush(v);
            if (i + 1 == NETBACK_RING_SLOTS)
                netback_kick(nb);
        }
        if (v->rxq_len)
            netback_vif_rx_flush(v);
    }
    return n;
}

int netback_poll(struct netback *nb)
{
    uint64_t cnt;
    (void)!read(nb->kick_fd, &cnt, sizeof(cnt));
    int n = xenbus_backend_poll_events(nb->xb);
    if (n < 0)
        return n;
    n += poll_taps(nb);
    netback_run_deferred(nb);
    return n;
}

void netback_get_stats(struct netback *nb, struct netback_stats *st)
{
    *st = nb->stats;
}

void netback_free(struct netback *nb)
{
    if (!nb)
        return;
    xenbus_backend_free(nb->xb);
    net_switch_free(nb->sw);
    if (nb->kick_fd >= 0)
        close(nb->kick_fd);
    if (nb->ep_fd >= 0)
        close(nb->ep_fd);
    free(nb);
}
