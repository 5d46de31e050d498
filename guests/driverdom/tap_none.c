/* A driver domain has no host network stack: a vif whose `bridge` key names a bridge cannot
 * be served here (netback reports the device failed); vifs without one are switch ports. */
#include <errno.h>

#include "../../drivers/net/tap.h"

int net_tap_bridge_check(const char *bridge)
{
    (void)bridge;
    return -ENODEV;
}

int net_tap_bridge_make(const char *bridge)
{
    (void)bridge;
    return -ENODEV;
}

int net_tap_open(struct net_tap *t, const char *name, const char *bridge, unsigned int mtu)
{
    (void)name;
    (void)bridge;
    (void)mtu;
    t->fd = -1;
    return -EOPNOTSUPP;
}

void net_tap_close(struct net_tap *t)
{
    t->fd = -1;
}

ssize_t net_tap_read(struct net_tap *t, void *buf, size_t len)
{
    (void)t;
    (void)buf;
    (void)len;
    return 0;
}

int net_tap_write(struct net_tap *t, const void *frame, size_t len)
{
    (void)t;
    (void)frame;
    (void)len;
    return -EOPNOTSUPP;
}

int net_tap_write_gso(struct net_tap *t, uint8_t *frame, size_t len, const struct net_gso_info *gi)
{
    (void)t;
    (void)frame;
    (void)len;
    (void)gi;
    return -EOPNOTSUPP;
}
