/* The learning switch (see switch.h). The forwarding database is an open-addressed table
 * probed over a bounded run, so learning and lookup cost at most FDB_PROBE steps whatever a
 * guest sends; a guest flooding random source MACs only evicts old entries. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "switch.h"

#define FDB_PROBE 8
#define ETH_HLEN 14

struct fdb_entry {
    uint8_t mac[6];
    bool used;
    int port;
    uint64_t seen_ns;
};

struct sw_port {
    bool used;
    net_deliver_fn deliver;
    void *ctx;
};

struct net_switch {
    uint64_t aging_ns;
    unsigned int max_ports, nr_ports;
    struct sw_port *ports;
    struct fdb_entry fdb[NET_SWITCH_FDB_SIZE];
};

struct net_switch *net_switch_new(unsigned int max_ports, uint64_t aging_ns)
{
    if (max_ports == 0)
        return NULL;
    struct net_switch *sw = calloc(1, sizeof(*sw));
    if (!sw)
        return NULL;
    sw->ports = calloc(max_ports, sizeof(*sw->ports));
    if (!sw->ports) {
        free(sw);
        return NULL;
    }
    sw->max_ports = max_ports;
    sw->aging_ns = aging_ns;
    return sw;
}

void net_switch_free(struct net_switch *sw)
{
    if (!sw)
        return;
    free(sw->ports);
    free(sw);
}

unsigned int net_switch_nr_ports(struct net_switch *sw)
{
    return sw->nr_ports;
}

int net_switch_add_port(struct net_switch *sw, net_deliver_fn deliver, void *ctx)
{
    if (!deliver)
        return -EINVAL;
    for (unsigned int i = 0; i < sw->max_ports; i++) {
        if (!sw->ports[i].used) {
            sw->ports[i] = (struct sw_port){true, deliver, ctx};
            sw->nr_ports++;
            return (int)i;
        }
    }
    return -ENOSPC;
}

static bool port_valid(struct net_switch *sw, int port)
{
    return port >= 0 && (unsigned int)port < sw->max_ports && sw->ports[port].used;
}

void net_switch_del_port(struct net_switch *sw, int port)
{
    if (!port_valid(sw, port))
        return;
    sw->ports[port].used = false;
    sw->nr_ports--;
    for (unsigned int i = 0; i < NET_SWITCH_FDB_SIZE; i++)
        if (sw->fdb[i].used && sw->fdb[i].port == port)
            sw->fdb[i].used = false;
}

static unsigned int mac_hash(const uint8_t mac[6])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 6; i++)
        h = (h ^ mac[i]) * 16777619u;
    return h % NET_SWITCH_FDB_SIZE;
}

static bool fresh(const struct net_switch *sw, const struct fdb_entry *e, uint64_t now_ns)
{
    return e->used && now_ns - e->seen_ns < sw->aging_ns;
}

static struct fdb_entry *fdb_find(struct net_switch *sw, const uint8_t mac[6], uint64_t now_ns)
{
    unsigned int h = mac_hash(mac);
    for (unsigned int i = 0; i < FDB_PROBE; i++) {
        struct fdb_entry *e = &sw->fdb[(h + i) % NET_SWITCH_FDB_SIZE];
        if (fresh(sw, e, now_ns) && memcmp(e->mac, mac, 6) == 0)
            return e;
    }
    return NULL;
}

static void fdb_learn(struct net_switch *sw, const uint8_t mac[6], int port, uint64_t now_ns)
{
    if (mac[0] & 1)
        return; /* a group address is never a source */
    struct fdb_entry *e = fdb_find(sw, mac, now_ns);
    if (!e) {
        unsigned int h = mac_hash(mac);
        for (unsigned int i = 0; i < FDB_PROBE; i++) {
            struct fdb_entry *c = &sw->fdb[(h + i) % NET_SWITCH_FDB_SIZE];
            if (!fresh(sw, c, now_ns)) {
                e = c;
                break;
            }
            if (!e || c->seen_ns < e->seen_ns)
                e = c;
        }
        memcpy(e->mac, mac, 6);
        e->used = true;
    }
    e->port = port; /* a MAC that moved is learnt on its new port */
    e->seen_ns = now_ns;
}

int net_switch_lookup(struct net_switch *sw, const uint8_t mac[6], uint64_t now_ns)
{
    struct fdb_entry *e = fdb_find(sw, mac, now_ns);
    return e ? e->port : -ENOENT;
}

unsigned int net_switch_input(struct net_switch *sw, int port, const uint8_t *frame, size_t len,
                              unsigned int flags, uint64_t now_ns)
{
    if (!port_valid(sw, port) || len < ETH_HLEN)
        return 0;
    const uint8_t *dst = frame, *src = frame + 6;
    fdb_learn(sw, src, port, now_ns);
    struct fdb_entry *e = (dst[0] & 1) ? NULL : fdb_find(sw, dst, now_ns);
    if (e) {
        if (e->port == port || !port_valid(sw, e->port))
            return 0; /* the destination is behind the port it came from */
        sw->ports[e->port].deliver(sw->ports[e->port].ctx, frame, len, flags);
        return 1;
    }
    unsigned int n = 0;
    /* A deliver callback may not add or remove ports, so the walk is stable. */
    for (unsigned int i = 0; i < sw->max_ports; i++) {
        if (!sw->ports[i].used || (int)i == port)
            continue;
        sw->ports[i].deliver(sw->ports[i].ctx, frame, len, flags);
        n++;
    }
    return n;
}
