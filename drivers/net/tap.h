/* A host tap device attached to a Linux bridge: the port a vif uses when the toolstack's
 * `bridge` key names a bridge. The tap is created non-blocking without packet information
 * (IFF_TAP | IFF_NO_PI), given the host-side MAC fe:ff:ff:ff:ff:ff (as Xen's vif scripts do,
 * so the bridge never takes the guest's address as its own), brought up and enslaved with
 * SIOCBRADDIF. A bridge that does not exist is -ENODEV before any tap is made. */
#ifndef KXEN_DRIVERS_NET_TAP_H
#define KXEN_DRIVERS_NET_TAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_TAP_NAME_MAX 16 /* IFNAMSIZ */

struct net_tap {
    int fd;
    char name[NET_TAP_NAME_MAX];
    char bridge[NET_TAP_NAME_MAX];
};

/* 0 if bridge names an existing Linux bridge, -ENODEV if not, -EINVAL for a bad name. */
int net_tap_bridge_check(const char *bridge);
/* Creates tap `name` (mtu 0: leave the default) on bridge, or on no bridge when bridge is
 * NULL (a hotplug script enslaves it later). Returns 0 or -errno. */
int net_tap_open(struct net_tap *t, const char *name, const char *bridge, unsigned int mtu);
/* Removes it from the bridge and destroys it. */
void net_tap_close(struct net_tap *t);
/* One frame each way. read returns the length, 0 when nothing is queued, or -errno. */
ssize_t net_tap_read(struct net_tap *t, void *buf, size_t len);
int net_tap_write(struct net_tap *t, const void *frame, size_t len);

/* Fills a checksum that a frontend left blank (NETTXF_csum_blank): TCP or UDP over IPv4 or
 * IPv6 without extension headers. Everything is bounds-checked against len; a frame this
 * cannot parse is left unchanged and -EINVAL returned. */
int net_csum_fill(uint8_t *frame, size_t len);

#endif
